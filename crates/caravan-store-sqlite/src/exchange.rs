//! [`ExchangeStore`] on SQLite: partner registry, outbox and inbox in the node's one file.
//!
//! Why it is shaped this way: every promise of the exchange is a transaction here. The
//! outbox row is written (fsynced, WAL + `synchronous = FULL`) before the first send, so
//! a crash never loses a message the layer above was told about. The inbox's
//! `UNIQUE (from_party, message_id)` is the duplicate eliminator: the insert and the
//! duplicate read run in one `BEGIN IMMEDIATE` transaction, so two deliveries of the same
//! message can never both be inserted. Hand-over is a flag, so a consumer that crashes
//! before acknowledging gets the message again and one that acknowledged never does.

use caravan_store::exchange::apply;
use caravan_store::exchange::columns::{self, Columns};
use caravan_store::exchange::{
    ExchangeCounts, ExchangeStore, ExchangeWrite, ExchangeWrites, InboundAccept, InboundRecord,
    InboundRow, LoggedBatch, MessageFacts, OutboundRecord, OutboundRow, OutboundState, PartnerKey,
    PartnerRecord, WriteResult,
};
use caravan_store::log::LogBatch;
use caravan_store::log::columns::{int, uint};
use caravan_store::{Conflict, StoreError};
use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params, params_from_iter};

use crate::{SqliteStore, other};

const OUTBOX_COLUMNS: &str = columns::OUTBOX;
const INBOX_COLUMNS: &str = columns::INBOX;

fn opt_uint(v: Option<i64>, what: &str) -> Result<Option<u64>, StoreError> {
    v.map(|v| uint(v, what)).transpose()
}

/// One SQLite result row, read through the shared decoders.
pub(crate) struct SqlRow<'a, 'b>(pub(crate) &'a Row<'b>);

impl SqlRow<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, i: usize) -> Result<T, StoreError> {
        self.0.get(i).map_err(other("read exchange column"))
    }
}

impl Columns for SqlRow<'_, '_> {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.get(i)
    }
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.get(i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        self.get(i)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.get(i)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(i)
    }
    fn flag(&self, i: usize) -> Result<bool, StoreError> {
        self.get(i)
    }
}

/// The first ten parameters of an outbox or inbox insert: the message facts, with the
/// times already converted.
fn fact_params<'a>(f: &'a MessageFacts, times: &'a [i64; 2]) -> [&'a dyn ToSql; 10] {
    [
        &f.message_id,
        &f.agreement_id,
        &f.from_party,
        &f.to_party,
        &f.conversation_id,
        &f.service,
        &f.action,
        &times[0],
        &times[1],
        &f.hdr_sha256,
    ]
}

fn outbound_row(row: &Row<'_>) -> Result<OutboundRow, StoreError> {
    columns::outbound_row(&SqlRow(row))
}

fn inbound_row(row: &Row<'_>) -> Result<InboundRow, StoreError> {
    columns::inbound_row(&SqlRow(row))
}

fn query_rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(other("prepare query"))?;
    let mut rows = stmt.query(params).map_err(other("run query"))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(other("read row"))? {
        out.push(map(row)?);
    }
    Ok(out)
}

fn one<T>(rows: Vec<T>) -> Result<T, StoreError> {
    rows.into_iter().next().ok_or(StoreError::NotFound)
}

fn partner_keys(
    conn: &Connection,
    agreement: &str,
    party: &str,
) -> Result<Vec<PartnerKey>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT purpose, kid, public, not_before, not_after, revoked_at
             FROM exchange_partner_keys WHERE agreement_id = ?1 AND party = ?2
             ORDER BY purpose, not_before, kid",
        )
        .map_err(other("prepare partner keys"))?;
    let mut rows = stmt
        .query([agreement, party])
        .map_err(other("read partner keys"))?;
    let mut keys = Vec::new();
    while let Some(row) = rows.next().map_err(other("read partner key"))? {
        let g = |e| other("read partner key")(e);
        keys.push(PartnerKey {
            purpose: row.get(0).map_err(g)?,
            kid: row.get(1).map_err(g)?,
            public: row.get(2).map_err(g)?,
            not_before: uint(row.get(3).map_err(g)?, "not_before")?,
            not_after: opt_uint(row.get(4).map_err(g)?, "not_after")?,
            revoked_at: opt_uint(row.get(5).map_err(g)?, "revoked_at")?,
        });
    }
    Ok(keys)
}

fn partner_row(conn: &Connection, row: &Row<'_>) -> Result<PartnerRecord, StoreError> {
    let g = |e| other("read partner")(e);
    let agreement_id: String = row.get(0).map_err(g)?;
    let party: String = row.get(1).map_err(g)?;
    let keys = partner_keys(conn, &agreement_id, &party)?;
    Ok(PartnerRecord {
        name: row.get(2).map_err(g)?,
        endpoint: row.get(3).map_err(g)?,
        tls_ca_der: row.get(4).map_err(g)?,
        root_key: row.get(5).map_err(g)?,
        manifest_version: uint(row.get(6).map_err(g)?, "manifest version")?,
        status: row.get(7).map_err(g)?,
        assurance: row.get(8).map_err(g)?,
        updated_at: uint(row.get(9).map_err(g)?, "updated_at")?,
        log_vkey: row.get(10).map_err(g)?,
        agreement_id,
        party,
        keys,
    })
}

const PARTNER_COLUMNS: &str = columns::PARTNER;

/// Moves one outbox row out of the state `sql` requires; `NotFound` if absent, `Other`
/// naming the state it is in if that is not the one required.
fn update_state(
    conn: &Connection,
    message_id: &str,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(sql)
        .and_then(|mut s| s.execute(p))
        .map_err(other("update outbox"))?;
    if changed == 1 {
        return Ok(());
    }
    let state: Option<String> = conn
        .query_row(
            "SELECT state FROM exchange_outbox WHERE message_id = ?1",
            [message_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(other("read outbox state"))?;
    match state {
        None => Err(StoreError::NotFound),
        Some(state) => Err(StoreError::Other(format!(
            "outbox message {message_id} is {state}, not in the state this change needs"
        ))),
    }
}

impl ExchangeStore for SqliteStore {
    fn put_partner(&self, p: &PartnerRecord) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin partner"))?;
        tx.execute(
            "DELETE FROM exchange_partner_keys WHERE agreement_id = ?1 AND party = ?2",
            [&p.agreement_id, &p.party],
        )
        .map_err(other("replace partner keys"))?;
        tx.execute(
            &format!(
                "INSERT OR REPLACE INTO exchange_partners ({PARTNER_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ),
            params![
                p.agreement_id,
                p.party,
                p.name,
                p.endpoint,
                p.tls_ca_der,
                p.root_key,
                int(p.manifest_version, "manifest version")?,
                p.status,
                p.assurance,
                int(p.updated_at, "updated_at")?,
                p.log_vkey,
            ],
        )
        .map_err(other("store partner"))?;
        for k in &p.keys {
            tx.execute(
                "INSERT INTO exchange_partner_keys
                 (agreement_id, party, purpose, kid, public, not_before, not_after, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    p.agreement_id,
                    p.party,
                    k.purpose,
                    k.kid,
                    k.public,
                    int(k.not_before, "not_before")?,
                    k.not_after.map(|v| int(v, "not_after")).transpose()?,
                    k.revoked_at.map(|v| int(v, "revoked_at")).transpose()?,
                ],
            )
            .map_err(other("store partner key"))?;
        }
        tx.commit().map_err(other("commit partner"))
    }

    fn partner(&self, agreement_id: &str, party: &str) -> Result<PartnerRecord, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {PARTNER_COLUMNS} FROM exchange_partners
                 WHERE agreement_id = ?1 AND party = ?2"
            ))
            .map_err(other("prepare partner"))?;
        let mut rows = stmt
            .query([agreement_id, party])
            .map_err(other("read partner"))?;
        match rows.next().map_err(other("read partner"))? {
            Some(row) => partner_row(&conn, row),
            None => Err(StoreError::NotFound),
        }
    }

    fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {PARTNER_COLUMNS} FROM exchange_partners ORDER BY agreement_id, party"
            ))
            .map_err(other("prepare partners"))?;
        let mut rows = stmt.query([]).map_err(other("read partners"))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(other("read partner"))? {
            out.push(partner_row(&conn, row)?);
        }
        Ok(out)
    }

    fn enqueue_outbound(&self, r: &OutboundRecord, now: u64) -> Result<i64, StoreError> {
        On(&*self.lock()?).enqueue_outbound(r, now)
    }

    fn due_outbound(&self, now: u64, limit: u32) -> Result<Vec<OutboundRow>, StoreError> {
        let conn = self.lock()?;
        query_rows(
            &conn,
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM exchange_outbox o
                 WHERE o.state = 'pending' AND o.next_attempt_at <= ?1
                   AND NOT EXISTS (SELECT 1 FROM exchange_outbox p
                     WHERE p.to_party = o.to_party AND p.conversation_id = o.conversation_id
                       AND p.state = 'pending' AND p.seq < o.seq)
                 ORDER BY o.seq LIMIT ?2"
            ),
            params![int(now, "now")?, limit],
            outbound_row,
        )
    }

    fn conversation_head(
        &self,
        to_party: &str,
        conversation_id: &str,
    ) -> Result<Option<OutboundRow>, StoreError> {
        let conn = self.read_lock()?;
        Ok(query_rows(
            &conn,
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM exchange_outbox
                 WHERE to_party = ?1 AND conversation_id = ?2 AND state = 'pending'
                 ORDER BY seq LIMIT 1"
            ),
            [to_party, conversation_id],
            outbound_row,
        )?
        .pop())
    }

    fn outbound_attempted(
        &self,
        message_id: &str,
        attempts: u32,
        next_attempt_at: u64,
        error: &str,
    ) -> Result<(), StoreError> {
        On(&*self.lock()?).outbound_attempted(message_id, attempts, next_attempt_at, error)
    }

    fn outbound_delivered(
        &self,
        message_id: &str,
        receipt: &[u8],
        receipt_salt: &[u8; 32],
        at: u64,
    ) -> Result<(), StoreError> {
        On(&*self.lock()?).outbound_delivered(message_id, receipt, receipt_salt, at)
    }

    fn outbound_dead(&self, message_id: &str, reason: &str, at: u64) -> Result<(), StoreError> {
        On(&*self.lock()?).outbound_dead(message_id, reason, at)
    }

    fn outbound_retry(&self, message_id: &str, now: u64) -> Result<(), StoreError> {
        let conn = self.lock()?;
        update_state(
            &conn,
            message_id,
            "UPDATE exchange_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2
             WHERE message_id = ?1 AND state = 'dead_letter'",
            params![message_id, int(now, "now")?],
        )
    }

    fn outbound_logged(&self, message_id: &str, log_index: u64) -> Result<(), StoreError> {
        On(&*self.lock()?).outbound_logged(message_id, log_index)
    }

    fn outbound(&self, message_id: &str) -> Result<OutboundRow, StoreError> {
        let conn = self.lock()?;
        one(query_rows(
            &conn,
            &format!("SELECT {OUTBOX_COLUMNS} FROM exchange_outbox WHERE message_id = ?1"),
            [message_id],
            outbound_row,
        )?)
    }

    fn list_outbound(
        &self,
        state: Option<OutboundState>,
        limit: u32,
    ) -> Result<Vec<OutboundRow>, StoreError> {
        let conn = self.lock()?;
        query_rows(
            &conn,
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM exchange_outbox
                 WHERE ?1 IS NULL OR state = ?1 ORDER BY seq DESC LIMIT ?2"
            ),
            params![state.map(OutboundState::as_str), limit],
            outbound_row,
        )
    }

    fn accept_inbound(&self, r: &InboundRecord) -> Result<InboundAccept, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin inbound"))?;
        let accepted = On(&tx).accept_inbound(r)?;
        if matches!(accepted, InboundAccept::Inserted(_)) {
            tx.commit().map_err(other("commit inbound"))?;
        }
        Ok(accepted)
    }

    fn exchange_batch(&self, writes: &[ExchangeWrite]) -> Result<Vec<WriteResult>, StoreError> {
        let mut conn = self.lock()?;
        // Each write's savepoint keeps a statement journal of the pages it changes; past
        // 64 KiB (four 16 KiB pages) SQLite spills it to a temp file, created and deleted
        // per batch, which cost more CPU than the batch's SQL. In memory it is a buffer.
        // A no-op when already set.
        conn.execute_batch("PRAGMA temp_store = MEMORY")
            .map_err(other("set temp_store"))?;
        let mut tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin exchange batch"))?;
        if let [write] = writes {
            // A lone write needs no savepoint: refused, the transaction rolls back whole.
            let result = apply(&mut On(&tx), write);
            if result.is_ok() {
                tx.commit().map_err(other("commit exchange batch"))?;
            }
            return Ok(vec![result]);
        }
        let mut results = Vec::with_capacity(writes.len());
        for write in writes {
            let sp = tx.savepoint().map_err(other("savepoint"))?;
            let result = apply(&mut On(&sp), write);
            if result.is_ok() {
                sp.commit().map_err(other("release savepoint"))?;
            }
            // A refused write's savepoint rolls back when dropped.
            results.push(result);
        }
        tx.commit().map_err(other("commit exchange batch"))?;
        Ok(results)
    }

    fn exchange_batch_logged(
        &self,
        writes: &[ExchangeWrite],
        log: &LogBatch<'_>,
    ) -> Result<LoggedBatch, StoreError> {
        let mut conn = self.lock()?;
        conn.execute_batch("PRAGMA temp_store = MEMORY")
            .map_err(other("set temp_store"))?;
        // All or nothing, so no savepoints: the first refused write ends the batch, and
        // dropping the transaction rolls back whatever it had written.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin logged exchange batch"))?;
        let mut results = Vec::with_capacity(writes.len());
        for write in writes {
            let result = apply(&mut On(&tx), write);
            if !LoggedBatch::fresh(&result) {
                return Ok(LoggedBatch::Refused);
            }
            results.push(result);
        }
        let appended = crate::log::append_batch_in(&tx, log)?;
        tx.commit().map_err(other("commit logged exchange batch"))?;
        Ok(LoggedBatch::Committed(results, appended))
    }

    fn inbound_logged(
        &self,
        from_party: &str,
        message_id: &str,
        log_index: u64,
    ) -> Result<(), StoreError> {
        On(&*self.lock()?).inbound_logged(from_party, message_id, log_index)
    }

    fn inbound_receipted(
        &self,
        from_party: &str,
        message_id: &str,
        receipt: &[u8],
        receipt_salt: &[u8; 32],
    ) -> Result<(), StoreError> {
        On(&*self.lock()?).inbound_receipted(from_party, message_id, receipt, receipt_salt)
    }

    fn inbound(&self, from_party: &str, message_id: &str) -> Result<InboundRow, StoreError> {
        let conn = self.read_lock()?;
        one(query_rows(
            &conn,
            &format!(
                "SELECT {INBOX_COLUMNS} FROM exchange_inbox WHERE from_party = ?1 AND message_id = ?2"
            ),
            [from_party, message_id],
            inbound_row,
        )?)
    }

    fn pending_inbound(
        &self,
        service: &str,
        action: &str,
        limit: u32,
    ) -> Result<Vec<InboundRow>, StoreError> {
        let conn = self.lock()?;
        query_rows(
            &conn,
            &format!(
                "SELECT {INBOX_COLUMNS} FROM exchange_inbox
                 WHERE service = ?1 AND action = ?2 AND handed_over = 0
                 ORDER BY seq LIMIT ?3"
            ),
            params![service, action, limit],
            inbound_row,
        )
    }

    fn inbound_handed_over(&self, seqs: &[i64]) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(other("begin hand-over"))?;
        for seq in seqs {
            tx.prepare_cached("UPDATE exchange_inbox SET handed_over = 1 WHERE seq = ?1")
                .and_then(|mut s| s.execute([seq]))
                .map_err(other("hand over"))?;
        }
        tx.commit().map_err(other("commit hand-over"))
    }

    fn list_inbound(&self, limit: u32) -> Result<Vec<InboundRow>, StoreError> {
        let conn = self.lock()?;
        query_rows(
            &conn,
            &format!("SELECT {INBOX_COLUMNS} FROM exchange_inbox ORDER BY seq DESC LIMIT ?1"),
            [limit],
            inbound_row,
        )
    }

    fn exchange_counts(&self) -> Result<ExchangeCounts, StoreError> {
        let conn = self.lock()?;
        let count = |sql: &str| -> Result<u64, StoreError> {
            let n: i64 = conn
                .query_row(sql, [], |r| r.get(0))
                .map_err(other("count exchange"))?;
            uint(n, "count")
        };
        Ok(ExchangeCounts {
            pending: count("SELECT COUNT(*) FROM exchange_outbox WHERE state = 'pending'")?,
            delivered: count("SELECT COUNT(*) FROM exchange_outbox WHERE state = 'delivered'")?,
            dead_letter: count("SELECT COUNT(*) FROM exchange_outbox WHERE state = 'dead_letter'")?,
            inbox: count("SELECT COUNT(*) FROM exchange_inbox")?,
            handed_over: count("SELECT COUNT(*) FROM exchange_inbox WHERE handed_over = 1")?,
        })
    }
}

/// `NotFound` unless the inbox holds `(from, message_id)`.
fn inbox_exists(conn: &Connection, from: &str, message_id: &str) -> Result<(), StoreError> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT seq FROM exchange_inbox WHERE from_party = ?1 AND message_id = ?2",
            [from, message_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(other("look up inbound"))?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

/// The exchange's writes on one connection, transaction or savepoint.
struct On<'a>(&'a Connection);

impl ExchangeWrites for On<'_> {
    fn accept_inbound(&mut self, r: &InboundRecord) -> Result<InboundAccept, StoreError> {
        let conn = self.0;
        let f = &r.facts;
        let (created, expires) = (
            int(f.created_at, "created_at")?,
            int(f.expires_at, "expires_at")?,
        );
        let received = int(r.received_at, "received_at")?;
        let existing = query_rows(
            conn,
            &format!(
                "SELECT {INBOX_COLUMNS} FROM exchange_inbox WHERE from_party = ?1 AND message_id = ?2"
            ),
            [&f.from_party, &f.message_id],
            inbound_row,
        )?;
        if let Some(row) = existing.into_iter().next() {
            if row.record.facts.hdr_sha256 == f.hdr_sha256 {
                return Ok(InboundAccept::Duplicate(row));
            }
            return Err(StoreError::Conflict(Conflict::MessageIdReused {
                from: f.from_party.clone(),
                message_id: f.message_id.clone(),
            }));
        }
        conn.prepare_cached(
            "INSERT INTO exchange_inbox (message_id, agreement_id, from_party, to_party,
               conversation_id, service, action, created_at, expires_at, hdr_sha256, wire, salts,
               received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .and_then(|mut s| {
            let rest: [&dyn ToSql; 3] = [&r.wire, &r.salts, &received];
            s.execute(params_from_iter(
                fact_params(f, &[created, expires]).into_iter().chain(rest),
            ))
        })
        .map_err(other("store inbound message"))?;
        let seq = conn.last_insert_rowid();
        Ok(InboundAccept::Inserted(InboundRow {
            seq,
            record: r.clone(),
            log_index: None,
            receipt: None,
            receipt_salt: None,
            handed_over: false,
        }))
    }

    fn enqueue_outbound(&mut self, r: &OutboundRecord, now: u64) -> Result<i64, StoreError> {
        let conn = self.0;
        let f = &r.facts;
        let (created, expires) = (
            int(f.created_at, "created_at")?,
            int(f.expires_at, "expires_at")?,
        );
        let log_index = r.log_index.map(|v| int(v, "log index")).transpose()?;
        let now = int(now, "now")?;
        let inserted = conn
            .prepare_cached(
                "INSERT INTO exchange_outbox (message_id, agreement_id, from_party, to_party,
                   conversation_id, service, action, created_at, expires_at, hdr_sha256, wire,
                   salts, log_index, state, attempts, next_attempt_at, log_entry)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'pending', 0, ?14, ?15)
                 ON CONFLICT (message_id) DO NOTHING",
            )
            .and_then(|mut s| {
                let rest: [&dyn ToSql; 5] = [&r.wire, &r.salts, &log_index, &now, &r.log_entry];
                s.execute(params_from_iter(
                    fact_params(f, &[created, expires]).into_iter().chain(rest),
                ))
            })
            .map_err(other("store outbound message"))?;
        if inserted == 0 {
            return Err(StoreError::Conflict(Conflict::MessageIdReused {
                from: f.from_party.clone(),
                message_id: f.message_id.clone(),
            }));
        }
        Ok(conn.last_insert_rowid())
    }

    fn outbound_attempted(
        &mut self,
        message_id: &str,
        attempts: u32,
        next_attempt_at: u64,
        error: &str,
    ) -> Result<(), StoreError> {
        let conn = self.0;
        update_state(
            conn,
            message_id,
            "UPDATE exchange_outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4
             WHERE message_id = ?1 AND state = 'pending'",
            params![
                message_id,
                attempts,
                int(next_attempt_at, "next attempt")?,
                error
            ],
        )
    }

    fn outbound_delivered(
        &mut self,
        message_id: &str,
        receipt: &[u8],
        receipt_salt: &[u8; 32],
        at: u64,
    ) -> Result<(), StoreError> {
        let conn = self.0;
        let stored: Option<Option<Vec<u8>>> = conn
            .query_row(
                "SELECT receipt FROM exchange_outbox WHERE message_id = ?1 AND state = 'delivered'",
                [message_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(other("read outbox receipt"))?;
        if stored.flatten().as_deref() == Some(receipt) {
            return Ok(());
        }
        update_state(
            conn,
            message_id,
            "UPDATE exchange_outbox SET state = 'delivered', receipt = ?2, delivered_at = ?3,
               last_error = NULL, receipt_salt = ?4
             WHERE message_id = ?1 AND state = 'pending'",
            params![
                message_id,
                receipt,
                int(at, "delivered at")?,
                receipt_salt.as_slice()
            ],
        )
    }

    fn outbound_dead(&mut self, message_id: &str, reason: &str, at: u64) -> Result<(), StoreError> {
        let conn = self.0;
        update_state(
            conn,
            message_id,
            "UPDATE exchange_outbox SET state = 'dead_letter', last_error = ?2, next_attempt_at = ?3
             WHERE message_id = ?1 AND state = 'pending'",
            params![message_id, reason, int(at, "dead at")?],
        )
    }

    fn outbound_logged(&mut self, message_id: &str, log_index: u64) -> Result<(), StoreError> {
        let conn = self.0;
        let log_index = int(log_index, "log index")?;
        let changed = conn
            .prepare_cached("UPDATE exchange_outbox SET log_index = ?2 WHERE message_id = ?1")
            .and_then(|mut s| s.execute(params![message_id, log_index]))
            .map_err(other("record outbound log index"))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn inbound_logged(
        &mut self,
        from_party: &str,
        message_id: &str,
        log_index: u64,
    ) -> Result<(), StoreError> {
        let conn = self.0;
        let log_index = int(log_index, "log index")?;
        let changed = conn
            .prepare_cached(
                "UPDATE exchange_inbox SET log_index = ?3
                 WHERE from_party = ?1 AND message_id = ?2 AND log_index IS NULL",
            )
            .and_then(|mut s| s.execute(params![from_party, message_id, log_index]))
            .map_err(other("record inbound log index"))?;
        if changed == 0 {
            inbox_exists(conn, from_party, message_id)?;
        }
        Ok(())
    }

    fn inbound_receipted(
        &mut self,
        from_party: &str,
        message_id: &str,
        receipt: &[u8],
        receipt_salt: &[u8; 32],
    ) -> Result<(), StoreError> {
        let conn = self.0;
        let changed = conn
            .prepare_cached(
                "UPDATE exchange_inbox SET receipt = ?3, receipt_salt = ?4
                 WHERE from_party = ?1 AND message_id = ?2 AND receipt IS NULL",
            )
            .and_then(|mut s| {
                s.execute(params![
                    from_party,
                    message_id,
                    receipt,
                    receipt_salt.as_slice()
                ])
            })
            .map_err(other("store receipt"))?;
        if changed == 0 {
            inbox_exists(conn, from_party, message_id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;

    fn record(message_id: &str) -> InboundRecord {
        InboundRecord {
            facts: MessageFacts {
                message_id: message_id.into(),
                agreement_id: "us-uz".into(),
                from_party: "UZ".into(),
                to_party: "US".into(),
                conversation_id: "c".into(),
                service: "caravan:cmaa/v1".into(),
                action: "Spontaneous.Inform".into(),
                created_at: 1,
                expires_at: 2,
                hdr_sha256: [7; 32],
            },
            wire: vec![1, 2, 3],
            salts: vec![0; 64],
            received_at: 1,
        }
    }

    #[test]
    fn the_message_path_reads_committed_rows_without_waiting_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("node.sqlite")).unwrap();
        // The writer is inside a transaction that has stored a message but not committed
        // (as during a group commit's fsync). A duplicate check on the same thread would
        // deadlock on the writer's connection; on the reader it answers at once, and
        // sees only committed rows.
        let writer = store.lock().unwrap();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        On(&writer).accept_inbound(&record("m-1")).unwrap();
        assert!(matches!(
            store.inbound("UZ", "m-1"),
            Err(StoreError::NotFound)
        ));
        assert!(store.conversation_head("US", "c").unwrap().is_none());
        writer.execute_batch("COMMIT").unwrap();
        drop(writer);
        // Once committed, the next read sees it.
        let row = store.inbound("UZ", "m-1").unwrap();
        assert_eq!(row.record, record("m-1"));
        // An in-memory store has one connection and reads through it.
        let memory = SqliteStore::in_memory().unwrap();
        assert!(memory.reader.is_none());
        memory.accept_inbound(&record("m-2")).unwrap();
        assert_eq!(memory.inbound("UZ", "m-2").unwrap().record, record("m-2"));
    }
}
