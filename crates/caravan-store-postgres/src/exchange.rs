//! [`ExchangeStore`] on PostgreSQL, behaving exactly like the SQLite reference.
//!
//! Why it is shaped this way: the outbox row is committed before the first send; the
//! inbox's `UNIQUE (from_party, message_id)` is the duplicate eliminator, used through
//! `INSERT ... ON CONFLICT DO NOTHING` followed by a read in the same transaction, so two
//! racing deliveries (even from two node processes on one database) leave one row and the
//! loser reads the winner's. With the default `synchronous_commit` every method's commit
//! is on disk before it returns.

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
use postgres::types::ToSql;
use postgres::{GenericClient, Row};

use crate::{PgStore, other};

const OUTBOX_COLUMNS: &str = columns::OUTBOX;
const INBOX_COLUMNS: &str = columns::INBOX;
const PARTNER_COLUMNS: &str = columns::PARTNER;

fn opt_uint(v: Option<i64>, what: &str) -> Result<Option<u64>, StoreError> {
    v.map(|v| uint(v, what)).transpose()
}

/// One PostgreSQL result row, read through the shared decoders.
pub(crate) struct PgRow<'a>(pub(crate) &'a Row);

impl PgRow<'_> {
    fn get<'r, T: postgres::types::FromSql<'r>>(&'r self, i: usize) -> Result<T, StoreError> {
        self.0.try_get(i).map_err(other("read exchange column"))
    }
}

impl Columns for PgRow<'_> {
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

/// The converted values among a message's facts: (created_at, expires_at) and the
/// header digest.
fn fact_values(f: &MessageFacts) -> Result<([i64; 2], Vec<u8>), StoreError> {
    Ok((
        [
            int(f.created_at, "created_at")?,
            int(f.expires_at, "expires_at")?,
        ],
        f.hdr_sha256.to_vec(),
    ))
}

/// The first ten parameters of an outbox or inbox insert: the message facts.
fn fact_params<'a>(
    f: &'a MessageFacts,
    times: &'a [i64; 2],
    hdr: &'a Vec<u8>,
) -> [&'a (dyn ToSql + Sync); 10] {
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
        hdr,
    ]
}

fn outbound_row(row: &Row) -> Result<OutboundRow, StoreError> {
    columns::outbound_row(&PgRow(row))
}

fn inbound_row(row: &Row) -> Result<InboundRow, StoreError> {
    columns::inbound_row(&PgRow(row))
}

fn rows<T>(
    conn: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    map: fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    conn.query(sql, params)
        .map_err(other("run query"))?
        .iter()
        .map(map)
        .collect()
}

fn one<T>(rows: Vec<T>) -> Result<T, StoreError> {
    rows.into_iter().next().ok_or(StoreError::NotFound)
}

fn partner_row(conn: &mut impl GenericClient, row: &Row) -> Result<PartnerRecord, StoreError> {
    let g = |e| other("read partner")(e);
    let agreement_id: String = row.try_get(0).map_err(g)?;
    let party: String = row.try_get(1).map_err(g)?;
    let mut keys = Vec::new();
    for k in conn
        .query(
            "SELECT purpose, kid, public, not_before, not_after, revoked_at
             FROM exchange_partner_keys WHERE agreement_id = $1 AND party = $2
             ORDER BY purpose, not_before, kid",
            &[&agreement_id, &party],
        )
        .map_err(other("read partner keys"))?
    {
        let g = |e| other("read partner key")(e);
        keys.push(PartnerKey {
            purpose: k.try_get(0).map_err(g)?,
            kid: k.try_get(1).map_err(g)?,
            public: k.try_get(2).map_err(g)?,
            not_before: uint(k.try_get(3).map_err(g)?, "not_before")?,
            not_after: opt_uint(k.try_get(4).map_err(g)?, "not_after")?,
            revoked_at: opt_uint(k.try_get(5).map_err(g)?, "revoked_at")?,
        });
    }
    Ok(PartnerRecord {
        name: row.try_get(2).map_err(g)?,
        endpoint: row.try_get(3).map_err(g)?,
        tls_ca_der: row.try_get(4).map_err(g)?,
        root_key: row.try_get(5).map_err(g)?,
        manifest_version: uint(row.try_get(6).map_err(g)?, "manifest version")?,
        status: row.try_get(7).map_err(g)?,
        assurance: row.try_get(8).map_err(g)?,
        updated_at: uint(row.try_get(9).map_err(g)?, "updated_at")?,
        log_vkey: row.try_get(10).map_err(g)?,
        agreement_id,
        party,
        keys,
    })
}

/// Moves one pending outbox row; `NotFound` if absent, `Other` if not in the needed state.
fn update_state(
    conn: &mut impl GenericClient,
    message_id: &str,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<(), StoreError> {
    if conn.execute(sql, params).map_err(other("update outbox"))? == 1 {
        return Ok(());
    }
    let state = conn
        .query_opt(
            "SELECT state FROM exchange_outbox WHERE message_id = $1",
            &[&message_id],
        )
        .map_err(other("read outbox state"))?;
    match state {
        None => Err(StoreError::NotFound),
        Some(row) => {
            let state: String = row.try_get(0).map_err(other("read outbox state"))?;
            Err(StoreError::Other(format!(
                "outbox message {message_id} is {state}, not in the state this change needs"
            )))
        }
    }
}

fn inbox_exists(
    conn: &mut impl GenericClient,
    from: &str,
    message_id: &str,
) -> Result<(), StoreError> {
    conn.query_opt(
        "SELECT seq FROM exchange_inbox WHERE from_party = $1 AND message_id = $2",
        &[&from, &message_id],
    )
    .map_err(other("look up inbound"))?
    .map(|_| ())
    .ok_or(StoreError::NotFound)
}

impl ExchangeStore for PgStore {
    fn put_partner(&self, p: &PartnerRecord) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let mut tx = conn.transaction().map_err(other("begin partner"))?;
        tx.execute(
            "DELETE FROM exchange_partner_keys WHERE agreement_id = $1 AND party = $2",
            &[&p.agreement_id, &p.party],
        )
        .map_err(other("replace partner keys"))?;
        tx.execute(
            &format!(
                "INSERT INTO exchange_partners ({PARTNER_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (agreement_id, party) DO UPDATE SET name = EXCLUDED.name,
                   endpoint = EXCLUDED.endpoint, tls_ca_der = EXCLUDED.tls_ca_der,
                   root_key = EXCLUDED.root_key, manifest_version = EXCLUDED.manifest_version,
                   status = EXCLUDED.status, assurance = EXCLUDED.assurance,
                   updated_at = EXCLUDED.updated_at, log_vkey = EXCLUDED.log_vkey"
            ),
            &[
                &p.agreement_id,
                &p.party,
                &p.name,
                &p.endpoint,
                &p.tls_ca_der,
                &p.root_key,
                &int(p.manifest_version, "manifest version")?,
                &p.status,
                &p.assurance,
                &int(p.updated_at, "updated_at")?,
                &p.log_vkey,
            ],
        )
        .map_err(other("store partner"))?;
        for k in &p.keys {
            tx.execute(
                "INSERT INTO exchange_partner_keys
                 (agreement_id, party, purpose, kid, public, not_before, not_after, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &p.agreement_id,
                    &p.party,
                    &k.purpose,
                    &k.kid,
                    &k.public,
                    &int(k.not_before, "not_before")?,
                    &k.not_after.map(|v| int(v, "not_after")).transpose()?,
                    &k.revoked_at.map(|v| int(v, "revoked_at")).transpose()?,
                ],
            )
            .map_err(other("store partner key"))?;
        }
        tx.commit().map_err(other("commit partner"))
    }

    fn partner(&self, agreement_id: &str, party: &str) -> Result<PartnerRecord, StoreError> {
        let mut conn = self.lock()?;
        let row = conn
            .query_opt(
                &format!(
                    "SELECT {PARTNER_COLUMNS} FROM exchange_partners
                     WHERE agreement_id = $1 AND party = $2"
                ),
                &[&agreement_id, &party],
            )
            .map_err(other("read partner"))?
            .ok_or(StoreError::NotFound)?;
        partner_row(&mut *conn, &row)
    }

    fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError> {
        let mut conn = self.lock()?;
        let found = conn
            .query(
                &format!(
                    "SELECT {PARTNER_COLUMNS} FROM exchange_partners ORDER BY agreement_id, party"
                ),
                &[],
            )
            .map_err(other("read partners"))?;
        found.iter().map(|r| partner_row(&mut *conn, r)).collect()
    }

    fn enqueue_outbound(&self, r: &OutboundRecord, now: u64) -> Result<i64, StoreError> {
        On(&mut *self.lock()?).enqueue_outbound(r, now)
    }

    fn due_outbound(&self, now: u64, limit: u32) -> Result<Vec<OutboundRow>, StoreError> {
        let mut conn = self.lock()?;
        rows(
            &mut *conn,
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM exchange_outbox o
                 WHERE o.state = 'pending' AND o.next_attempt_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM exchange_outbox p
                     WHERE p.to_party = o.to_party AND p.conversation_id = o.conversation_id
                       AND p.state = 'pending' AND p.seq < o.seq)
                 ORDER BY o.seq LIMIT $2"
            ),
            &[&int(now, "now")?, &i64::from(limit)],
            outbound_row,
        )
    }

    fn conversation_head(
        &self,
        to_party: &str,
        conversation_id: &str,
    ) -> Result<Option<OutboundRow>, StoreError> {
        let mut conn = self.lock()?;
        Ok(rows(
            &mut *conn,
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM exchange_outbox
                 WHERE to_party = $1 AND conversation_id = $2 AND state = 'pending'
                 ORDER BY seq LIMIT 1"
            ),
            &[&to_party, &conversation_id],
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
        On(&mut *self.lock()?).outbound_attempted(message_id, attempts, next_attempt_at, error)
    }

    fn outbound_delivered(
        &self,
        message_id: &str,
        receipt: &[u8],
        receipt_salt: &[u8; 32],
        at: u64,
    ) -> Result<(), StoreError> {
        On(&mut *self.lock()?).outbound_delivered(message_id, receipt, receipt_salt, at)
    }

    fn outbound_dead(&self, message_id: &str, reason: &str, at: u64) -> Result<(), StoreError> {
        On(&mut *self.lock()?).outbound_dead(message_id, reason, at)
    }

    fn outbound_retry(&self, message_id: &str, now: u64) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        update_state(
            &mut *conn,
            message_id,
            "UPDATE exchange_outbox SET state = 'pending', attempts = 0, next_attempt_at = $2
             WHERE message_id = $1 AND state = 'dead_letter'",
            &[&message_id, &int(now, "now")?],
        )
    }

    fn outbound_logged(&self, message_id: &str, log_index: u64) -> Result<(), StoreError> {
        On(&mut *self.lock()?).outbound_logged(message_id, log_index)
    }

    fn outbound(&self, message_id: &str) -> Result<OutboundRow, StoreError> {
        let mut conn = self.lock()?;
        one(rows(
            &mut *conn,
            &format!("SELECT {OUTBOX_COLUMNS} FROM exchange_outbox WHERE message_id = $1"),
            &[&message_id],
            outbound_row,
        )?)
    }

    fn list_outbound(
        &self,
        state: Option<OutboundState>,
        limit: u32,
    ) -> Result<Vec<OutboundRow>, StoreError> {
        let mut conn = self.lock()?;
        rows(
            &mut *conn,
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM exchange_outbox
                 WHERE $1::TEXT IS NULL OR state = $1 ORDER BY seq DESC LIMIT $2"
            ),
            &[&state.map(OutboundState::as_str), &i64::from(limit)],
            outbound_row,
        )
    }

    fn accept_inbound(&self, r: &InboundRecord) -> Result<InboundAccept, StoreError> {
        let mut conn = self.lock()?;
        let mut tx = conn.transaction().map_err(other("begin inbound"))?;
        let accepted = On(&mut tx).accept_inbound(r)?;
        tx.commit().map_err(other("commit inbound"))?;
        Ok(accepted)
    }

    fn exchange_batch(&self, writes: &[ExchangeWrite]) -> Result<Vec<WriteResult>, StoreError> {
        let mut conn = self.lock()?;
        let mut tx = conn.transaction().map_err(other("begin exchange batch"))?;
        let mut results = Vec::with_capacity(writes.len());
        for write in writes {
            let mut sp = tx.transaction().map_err(other("savepoint"))?;
            let result = apply(&mut On(&mut sp), write);
            if result.is_ok() {
                sp.commit().map_err(other("release savepoint"))?;
            } else {
                sp.rollback().map_err(other("roll back savepoint"))?;
            }
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
        // All or nothing, so no savepoints: the first refused write ends the batch, and
        // dropping the transaction rolls back whatever it had written.
        let mut tx = conn
            .transaction()
            .map_err(other("begin logged exchange batch"))?;
        let mut results = Vec::with_capacity(writes.len());
        for write in writes {
            let result = apply(&mut On(&mut tx), write);
            if !LoggedBatch::fresh(&result) {
                return Ok(LoggedBatch::Refused);
            }
            results.push(result);
        }
        let appended = crate::log::append_batch_in(&mut tx, log)?;
        tx.commit().map_err(other("commit logged exchange batch"))?;
        Ok(LoggedBatch::Committed(results, appended))
    }

    fn inbound_logged(
        &self,
        from_party: &str,
        message_id: &str,
        log_index: u64,
    ) -> Result<(), StoreError> {
        On(&mut *self.lock()?).inbound_logged(from_party, message_id, log_index)
    }

    fn inbound_receipted(
        &self,
        from_party: &str,
        message_id: &str,
        receipt: &[u8],
        receipt_salt: &[u8; 32],
    ) -> Result<(), StoreError> {
        On(&mut *self.lock()?).inbound_receipted(from_party, message_id, receipt, receipt_salt)
    }

    fn inbound(&self, from_party: &str, message_id: &str) -> Result<InboundRow, StoreError> {
        let mut conn = self.lock()?;
        one(rows(
            &mut *conn,
            &format!(
                "SELECT {INBOX_COLUMNS} FROM exchange_inbox
                 WHERE from_party = $1 AND message_id = $2"
            ),
            &[&from_party, &message_id],
            inbound_row,
        )?)
    }

    fn pending_inbound(
        &self,
        service: &str,
        action: &str,
        limit: u32,
    ) -> Result<Vec<InboundRow>, StoreError> {
        let mut conn = self.lock()?;
        rows(
            &mut *conn,
            &format!(
                "SELECT {INBOX_COLUMNS} FROM exchange_inbox
                 WHERE service = $1 AND action = $2 AND NOT handed_over
                 ORDER BY seq LIMIT $3"
            ),
            &[&service, &action, &i64::from(limit)],
            inbound_row,
        )
    }

    fn inbound_handed_over(&self, seqs: &[i64]) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        conn.execute(
            "UPDATE exchange_inbox SET handed_over = TRUE WHERE seq = ANY($1)",
            &[&seqs],
        )
        .map_err(other("hand over"))?;
        Ok(())
    }

    fn list_inbound(&self, limit: u32) -> Result<Vec<InboundRow>, StoreError> {
        let mut conn = self.lock()?;
        rows(
            &mut *conn,
            &format!("SELECT {INBOX_COLUMNS} FROM exchange_inbox ORDER BY seq DESC LIMIT $1"),
            &[&i64::from(limit)],
            inbound_row,
        )
    }

    fn exchange_counts(&self) -> Result<ExchangeCounts, StoreError> {
        let mut conn = self.lock()?;
        let row = conn
            .query_one(
                "SELECT
                   (SELECT COUNT(*) FROM exchange_outbox WHERE state = 'pending'),
                   (SELECT COUNT(*) FROM exchange_outbox WHERE state = 'delivered'),
                   (SELECT COUNT(*) FROM exchange_outbox WHERE state = 'dead_letter'),
                   (SELECT COUNT(*) FROM exchange_inbox),
                   (SELECT COUNT(*) FROM exchange_inbox WHERE handed_over)",
                &[],
            )
            .map_err(other("count exchange"))?;
        let n = |i: usize| -> Result<u64, StoreError> {
            uint(row.try_get(i).map_err(other("read count"))?, "count")
        };
        Ok(ExchangeCounts {
            pending: n(0)?,
            delivered: n(1)?,
            dead_letter: n(2)?,
            inbox: n(3)?,
            handed_over: n(4)?,
        })
    }
}

/// The exchange's writes on one client, transaction or savepoint.
struct On<'a, C: GenericClient>(&'a mut C);

impl<C: GenericClient> ExchangeWrites for On<'_, C> {
    fn accept_inbound(&mut self, r: &InboundRecord) -> Result<InboundAccept, StoreError> {
        let conn = &mut *self.0;
        let f = &r.facts;
        let (times, hdr) = fact_values(f)?;
        let inserted = conn
            .query_opt(
                "INSERT INTO exchange_inbox (message_id, agreement_id, from_party, to_party,
                   conversation_id, service, action, created_at, expires_at, hdr_sha256, wire,
                   salts, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (from_party, message_id) DO NOTHING RETURNING seq",
                &[
                    fact_params(f, &times, &hdr).as_slice(),
                    &[&r.wire, &r.salts, &int(r.received_at, "received_at")?],
                ]
                .concat(),
            )
            .map_err(other("store inbound message"))?;
        if let Some(row) = inserted {
            let seq: i64 = row.try_get(0).map_err(other("read inbox seq"))?;
            return Ok(InboundAccept::Inserted(InboundRow {
                seq,
                record: r.clone(),
                log_index: None,
                receipt: None,
                receipt_salt: None,
                handed_over: false,
            }));
        }
        let existing = one(rows(
            conn,
            &format!(
                "SELECT {INBOX_COLUMNS} FROM exchange_inbox
                 WHERE from_party = $1 AND message_id = $2"
            ),
            &[&f.from_party, &f.message_id],
            inbound_row,
        )?)?;
        if existing.record.facts.hdr_sha256 == f.hdr_sha256 {
            return Ok(InboundAccept::Duplicate(existing));
        }
        Err(StoreError::Conflict(Conflict::MessageIdReused {
            from: f.from_party.clone(),
            message_id: f.message_id.clone(),
        }))
    }

    fn enqueue_outbound(&mut self, r: &OutboundRecord, now: u64) -> Result<i64, StoreError> {
        let conn = &mut *self.0;
        let f = &r.facts;
        let (times, hdr) = fact_values(f)?;
        let inserted = conn
            .query_opt(
                "INSERT INTO exchange_outbox (message_id, agreement_id, from_party, to_party,
                   conversation_id, service, action, created_at, expires_at, hdr_sha256, wire,
                   salts, log_index, state, attempts, next_attempt_at, log_entry)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', 0, $14, $15)
                 ON CONFLICT (message_id) DO NOTHING RETURNING seq",
                &[
                    fact_params(f, &times, &hdr).as_slice(),
                    &[
                        &r.wire,
                        &r.salts,
                        &r.log_index.map(|v| int(v, "log index")).transpose()?,
                        &int(now, "now")?,
                        &r.log_entry,
                    ],
                ]
                .concat(),
            )
            .map_err(other("store outbound message"))?;
        match inserted {
            Some(row) => row.try_get(0).map_err(other("read outbox seq")),
            None => Err(StoreError::Conflict(Conflict::MessageIdReused {
                from: f.from_party.clone(),
                message_id: f.message_id.clone(),
            })),
        }
    }

    fn outbound_attempted(
        &mut self,
        message_id: &str,
        attempts: u32,
        next_attempt_at: u64,
        error: &str,
    ) -> Result<(), StoreError> {
        let conn = &mut *self.0;
        update_state(
            conn,
            message_id,
            "UPDATE exchange_outbox SET attempts = $2, next_attempt_at = $3, last_error = $4
             WHERE message_id = $1 AND state = 'pending'",
            &[
                &message_id,
                &i64::from(attempts),
                &int(next_attempt_at, "next attempt")?,
                &error,
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
        let conn = &mut *self.0;
        let stored = conn
            .query_opt(
                "SELECT receipt FROM exchange_outbox WHERE message_id = $1 AND state = 'delivered'",
                &[&message_id],
            )
            .map_err(other("read outbox receipt"))?;
        if let Some(row) = stored {
            let stored: Option<Vec<u8>> = row.try_get(0).map_err(other("read receipt"))?;
            if stored.as_deref() == Some(receipt) {
                return Ok(());
            }
        }
        update_state(
            conn,
            message_id,
            "UPDATE exchange_outbox SET state = 'delivered', receipt = $2, delivered_at = $3,
               last_error = NULL, receipt_salt = $4
             WHERE message_id = $1 AND state = 'pending'",
            &[
                &message_id,
                &receipt,
                &int(at, "delivered at")?,
                &receipt_salt.as_slice(),
            ],
        )
    }

    fn outbound_dead(&mut self, message_id: &str, reason: &str, at: u64) -> Result<(), StoreError> {
        let conn = &mut *self.0;
        update_state(
            conn,
            message_id,
            "UPDATE exchange_outbox SET state = 'dead_letter', last_error = $2,
               next_attempt_at = $3
             WHERE message_id = $1 AND state = 'pending'",
            &[&message_id, &reason, &int(at, "dead at")?],
        )
    }

    fn outbound_logged(&mut self, message_id: &str, log_index: u64) -> Result<(), StoreError> {
        let conn = &mut *self.0;
        let changed = conn
            .execute(
                "UPDATE exchange_outbox SET log_index = $2 WHERE message_id = $1",
                &[&message_id, &int(log_index, "log index")?],
            )
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
        let conn = &mut *self.0;
        let changed = conn
            .execute(
                "UPDATE exchange_inbox SET log_index = $3
                 WHERE from_party = $1 AND message_id = $2 AND log_index IS NULL",
                &[&from_party, &message_id, &int(log_index, "log index")?],
            )
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
        let conn = &mut *self.0;
        let changed = conn
            .execute(
                "UPDATE exchange_inbox SET receipt = $3, receipt_salt = $4
                 WHERE from_party = $1 AND message_id = $2 AND receipt IS NULL",
                &[&from_party, &message_id, &receipt, &receipt_salt.as_slice()],
            )
            .map_err(other("store receipt"))?;
        if changed == 0 {
            inbox_exists(conn, from_party, message_id)?;
        }
        Ok(())
    }
}
