//! [`ScreenStore`] on SQLite: list versions, parties, hits and dispositions in the node's
//! one file.
//!
//! Why it is shaped this way: every workflow step is one `BEGIN IMMEDIATE` transaction, so
//! a list load (version, entries, delta, re-screen hits, the switch of the active version)
//! or a screening run is visible whole or not at all, and a refused or interrupted load
//! leaves the previous version active. The rules of which status a hit takes live in
//! `caravan_store::screen::apply`; this module only says how SQLite reads and writes rows.

use caravan_store::Conflict;
use caravan_store::StoreError;
use caravan_store::screen::columns::{self, Columns, change, ms, prior, status};
use caravan_store::screen::{
    Change, DeclaredPartyRow, DispositionRecord, DispositionRow, HitFilter, HitRecord, HitRow,
    HitStatus, HitWriter, ListLoad, ListVersionRow, LoadSummary, PartyFacts, PriorDecision,
    ResolutionBatch, ResolutionMergeRow, ResolutionRecordRow, RunSummary, ScreenRunRecord,
    ScreenStore, StoredEntry, apply,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params, params_from_iter};

use crate::{SqliteStore, other};

struct SqlRow<'a, 'b>(&'a Row<'b>);

impl Columns for SqlRow<'_, '_> {
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.0.get(i).map_err(other("read screening column"))
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.0.get(i).map_err(other("read screening column"))
    }
    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.0.get(i).map_err(other("read screening column"))
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        self.0.get(i).map_err(other("read screening column"))
    }
    fn float(&self, i: usize) -> Result<f64, StoreError> {
        self.0.get(i).map_err(other("read screening column"))
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.0.get(i).map_err(other("read screening column"))
    }
    fn flag(&self, i: usize) -> Result<bool, StoreError> {
        self.0.get(i).map_err(other("read screening column"))
    }
}

fn rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&SqlRow<'_, '_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(other("prepare screening query"))?;
    let mut result = stmt.query(params).map_err(other("run screening query"))?;
    let mut out = Vec::new();
    while let Some(row) = result.next().map_err(other("read screening row"))? {
        out.push(map(&SqlRow(row))?);
    }
    Ok(out)
}

fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<usize, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .map_err(other("write screening row"))
}

/// The writes of one open transaction.
struct Tx<'a>(&'a Connection);

impl HitWriter for Tx<'_> {
    fn active_version(&mut self, list_id: &str) -> Result<Option<i64>, StoreError> {
        self.0
            .query_row(
                "SELECT id FROM screen_list_versions WHERE list_id = ?1 AND active = 1",
                [list_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(other("read active list version"))
    }

    fn find_hit(
        &mut self,
        party_key: &str,
        list_id: &str,
        entry_id: &str,
    ) -> Result<Option<(i64, HitStatus, Option<PriorDecision>)>, StoreError> {
        let found = rows(
            self.0,
            "SELECT id, status, decision, decided_party_digest, decided_entry_hash
             FROM screen_hits WHERE party_key = ?1 AND list_id = ?2 AND entry_id = ?3",
            params![party_key, list_id, entry_id],
            |r| {
                let decided = (
                    r.opt_text(2)?,
                    r.0.get(3).map_err(other("read hit"))?,
                    r.0.get(4).map_err(other("read hit"))?,
                );
                Ok((
                    r.int(0)?,
                    status(r.text(1)?)?,
                    prior(decided.0, decided.1, decided.2)?,
                ))
            },
        )?;
        Ok(found.into_iter().next())
    }

    fn insert_hit(
        &mut self,
        hit: &HitRecord,
        version_id: i64,
        status: HitStatus,
        now: u64,
    ) -> Result<(), StoreError> {
        let now = ms(now)?;
        exec(
            self.0,
            "INSERT INTO screen_hits (party_key, party_digest, list_id, entry_id, version_id,
                entry_hash, matched_name, score, band, explanation, status, first_seen_at,
                updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
            params![
                hit.party_key,
                &hit.party_digest[..],
                hit.list_id,
                hit.entry_id,
                version_id,
                &hit.entry_hash[..],
                hit.matched_name,
                hit.score,
                hit.band,
                hit.explanation,
                status.as_str(),
                now
            ],
        )?;
        Ok(())
    }

    fn update_hit(
        &mut self,
        id: i64,
        hit: &HitRecord,
        version_id: i64,
        status: HitStatus,
        now: u64,
    ) -> Result<(), StoreError> {
        exec(
            self.0,
            "UPDATE screen_hits SET party_digest = ?2, version_id = ?3, entry_hash = ?4,
                matched_name = ?5, score = ?6, band = ?7, explanation = ?8, status = ?9,
                updated_at = ?10
             WHERE id = ?1",
            params![
                id,
                &hit.party_digest[..],
                version_id,
                &hit.entry_hash[..],
                hit.matched_name,
                hit.score,
                hit.band,
                hit.explanation,
                status.as_str(),
                ms(now)?
            ],
        )?;
        Ok(())
    }

    fn party_hits(
        &mut self,
        party_key: &str,
    ) -> Result<Vec<(i64, String, String, HitStatus)>, StoreError> {
        rows(
            self.0,
            "SELECT id, list_id, entry_id, status FROM screen_hits WHERE party_key = ?1
             ORDER BY id",
            [party_key],
            |r| Ok((r.int(0)?, r.text(1)?, r.text(2)?, status(r.text(3)?)?)),
        )
    }

    fn entry_hits(
        &mut self,
        list_id: &str,
        entry_id: &str,
    ) -> Result<Vec<(i64, HitStatus, i64)>, StoreError> {
        rows(
            self.0,
            "SELECT id, status, version_id FROM screen_hits WHERE list_id = ?1 AND entry_id = ?2
             ORDER BY id",
            [list_id, entry_id],
            |r| Ok((r.int(0)?, status(r.text(1)?)?, r.int(2)?)),
        )
    }

    fn set_status(&mut self, id: i64, status: HitStatus, now: u64) -> Result<(), StoreError> {
        exec(
            self.0,
            "UPDATE screen_hits SET status = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, status.as_str(), ms(now)?],
        )?;
        Ok(())
    }
}

fn version_rows(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<ListVersionRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM screen_list_versions {filter} ORDER BY id DESC",
        columns::VERSION
    );
    rows(conn, &sql, params, |r| columns::list_version_row(r))
}

fn hit_rows(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<HitRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM screen_hits h JOIN screen_parties p ON p.party_key = h.party_key {filter}",
        columns::HIT
    );
    rows(conn, &sql, params, |r| columns::hit_row(r))
}

fn record_run(
    conn: &Connection,
    kind: &str,
    version_id: Option<i64>,
    ran_at: u64,
    counts: [u64; 5],
) -> Result<(), StoreError> {
    let [parties, open, suppressed, closed, delisted] = counts.map(|c| c as i64);
    exec(
        conn,
        "INSERT INTO screen_runs (kind, version_id, ran_at, n_parties, n_open, n_suppressed,
            n_closed, n_delisted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            kind,
            version_id,
            ms(ran_at)?,
            parties,
            open,
            suppressed,
            closed,
            delisted
        ],
    )?;
    Ok(())
}

impl ScreenStore for SqliteStore {
    fn screen_list_versions(&self) -> Result<Vec<ListVersionRow>, StoreError> {
        let conn = self.lock()?;
        version_rows(&conn, "", [])
    }

    fn screen_active_list(
        &self,
        list_id: &str,
    ) -> Result<Option<(ListVersionRow, Vec<StoredEntry>)>, StoreError> {
        let conn = self.lock()?;
        let Some(version) = version_rows(&conn, "WHERE list_id = ?1 AND active = 1", [list_id])?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let entries = rows(
            &conn,
            "SELECT entry_id, content_hash, kind, primary_name, body FROM screen_list_entries
             WHERE version_id = ?1 ORDER BY entry_id",
            [version.id],
            |r| {
                Ok(StoredEntry {
                    entry_id: r.text(0)?,
                    content_hash: columns::digest(r.blob(1)?, "content hash")?,
                    kind: r.text(2)?,
                    primary_name: r.text(3)?,
                    body: r.text(4)?,
                })
            },
        )?;
        Ok(Some((version, entries)))
    }

    fn screen_list_changes(&self, version_id: i64) -> Result<Vec<(String, Change)>, StoreError> {
        let conn = self.lock()?;
        rows(
            &conn,
            "SELECT entry_id, change FROM screen_list_changes WHERE version_id = ?1
             ORDER BY entry_id",
            [version_id],
            |r| Ok((r.text(0)?, change(&r.text(1)?)?)),
        )
    }

    fn screen_load_list(&self, load: &ListLoad) -> Result<LoadSummary, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin list load"))?;
        let active = Tx(&tx).active_version(&load.list_id)?;
        if active != load.expected_active {
            return Err(StoreError::Other(format!(
                "screening list {:?}: the active version moved while this load was computed; \
                 nothing was written, load again",
                load.list_id
            )));
        }
        if let Some(active) = active {
            exec(
                &tx,
                "UPDATE screen_list_versions SET active = 0 WHERE id = ?1",
                [active],
            )?;
        }
        let count = |want: Change| load.changes.iter().filter(|c| c.1 == want).count() as i64;
        exec(
            &tx,
            "INSERT INTO screen_list_versions (list_id, source, publisher_date, digest, loaded_at,
                n_entries, active, previous_id, n_added, n_changed, n_removed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10)",
            params![
                load.list_id,
                load.source,
                load.publisher_date,
                &load.digest[..],
                ms(load.loaded_at)?,
                load.entries.len() as i64,
                active,
                count(Change::Added),
                count(Change::Changed),
                count(Change::Removed),
            ],
        )?;
        let version_id = tx.last_insert_rowid();
        for entry in &load.entries {
            exec(
                &tx,
                "INSERT INTO screen_list_entries (version_id, entry_id, content_hash, kind,
                    primary_name, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    version_id,
                    entry.entry_id,
                    &entry.content_hash[..],
                    entry.kind,
                    entry.primary_name,
                    entry.body
                ],
            )?;
        }
        for (entry_id, change) in &load.changes {
            exec(
                &tx,
                "INSERT INTO screen_list_changes (version_id, entry_id, change)
                 VALUES (?1, ?2, ?3)",
                params![version_id, entry_id, change.as_str()],
            )?;
        }
        let summary = apply::load(
            &mut Tx(&tx),
            &load.list_id,
            version_id,
            &load.changes,
            &load.hits,
            load.loaded_at,
        )?;
        let n_parties: i64 = tx
            .query_row("SELECT COUNT(*) FROM screen_parties", [], |r| r.get(0))
            .map_err(other("count screened parties"))?;
        record_run(
            &tx,
            "delta",
            Some(version_id),
            load.loaded_at,
            [
                n_parties as u64,
                summary.open,
                summary.suppressed,
                summary.closed,
                summary.delisted,
            ],
        )?;
        tx.commit().map_err(other("commit list load"))?;
        Ok(summary)
    }

    fn screen_declared_parties(&self) -> Result<Vec<DeclaredPartyRow>, StoreError> {
        let conn = self.lock()?;
        let mut out = rows(
            &conn,
            "SELECT role, name, country, id_scheme, id_value, MAX(declaration_id) FROM parties
             WHERE name IS NOT NULL AND name <> ''
             GROUP BY role, name, country, id_scheme, id_value",
            [],
            |r| {
                Ok(DeclaredPartyRow {
                    role: r.text(0)?,
                    name: r.text(1)?,
                    country: r.opt_text(2)?,
                    id_scheme: r.opt_text(3)?,
                    id_value: r.opt_text(4)?,
                    last_declaration_id: r.int(5)?,
                })
            },
        )?;
        caravan_store::screen::sort_declared(&mut out);
        Ok(out)
    }

    fn screen_known_parties(&self) -> Result<Vec<PartyFacts>, StoreError> {
        let conn = self.lock()?;
        rows(
            &conn,
            "SELECT party_key, digest, role, name, country, id_scheme, id_value
             FROM screen_parties",
            [],
            |r| {
                Ok(PartyFacts {
                    party_key: r.text(0)?,
                    digest: columns::digest(r.blob(1)?, "party digest")?,
                    role: r.text(2)?,
                    name: r.text(3)?,
                    country: r.opt_text(4)?,
                    id_scheme: r.opt_text(5)?,
                    id_value: r.opt_text(6)?,
                })
            },
        )
        .map(|mut parties| {
            parties.sort_by(|a, b| a.party_key.cmp(&b.party_key));
            parties
        })
    }

    fn screen_record_run(&self, run: &ScreenRunRecord) -> Result<RunSummary, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin screening run"))?;
        let now = ms(run.screened_at)?;
        for party in &run.parties {
            exec(
                &tx,
                "INSERT INTO screen_parties (party_key, digest, role, name, country, id_scheme,
                    id_value, screened_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (party_key) DO UPDATE SET digest = excluded.digest,
                    role = excluded.role, name = excluded.name, country = excluded.country,
                    id_scheme = excluded.id_scheme, id_value = excluded.id_value,
                    screened_at = excluded.screened_at",
                params![
                    party.party_key,
                    &party.digest[..],
                    party.role,
                    party.name,
                    party.country,
                    party.id_scheme,
                    party.id_value,
                    now
                ],
            )?;
        }
        let keys: Vec<&str> = run.parties.iter().map(|p| p.party_key.as_str()).collect();
        let summary = apply::run(&mut Tx(&tx), &keys, &run.hits, run.screened_at)?;
        record_run(
            &tx,
            "parties",
            None,
            run.screened_at,
            [
                summary.parties,
                summary.open,
                summary.suppressed,
                summary.closed,
                0,
            ],
        )?;
        tx.commit().map_err(other("commit screening run"))?;
        Ok(summary)
    }

    fn screen_hits(&self, filter: &HitFilter) -> Result<Vec<HitRow>, StoreError> {
        let conn = self.lock()?;
        let mut clauses = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if !filter.statuses.is_empty() {
            let marks: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| {
                    values.push(Value::Text(s.as_str().to_owned()));
                    format!("?{}", values.len())
                })
                .collect();
            clauses.push(format!("h.status IN ({})", marks.join(", ")));
        }
        if let Some(key) = &filter.party_key {
            values.push(Value::Text(key.clone()));
            clauses.push(format!("h.party_key = ?{}", values.len()));
        }
        let mut sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        values.push(Value::Integer(i64::from(filter.limit)));
        values.push(Value::Integer(i64::from(filter.offset)));
        sql.push_str(&format!(
            " ORDER BY h.score DESC, h.id LIMIT ?{} OFFSET ?{}",
            values.len() - 1,
            values.len()
        ));
        hit_rows(&conn, &sql, params_from_iter(values))
    }

    fn screen_hit(&self, id: i64) -> Result<HitRow, StoreError> {
        let conn = self.lock()?;
        hit_rows(&conn, "WHERE h.id = ?1", [id])?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound)
    }

    fn screen_decide(&self, record: &DispositionRecord) -> Result<HitRow, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin disposition"))?;
        let digests: Option<(Vec<u8>, Vec<u8>)> = tx
            .query_row(
                "SELECT party_digest, entry_hash FROM screen_hits WHERE id = ?1",
                [record.hit_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(other("read hit"))?;
        let Some((party_digest, entry_hash)) = digests else {
            return Err(StoreError::NotFound);
        };
        let now = ms(record.decided_at)?;
        exec(
            &tx,
            "INSERT INTO screen_dispositions (hit_id, decision, reason, note, account, decided_at,
                party_digest, entry_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                record.hit_id,
                record.decision.as_str(),
                record.reason,
                record.note,
                record.account,
                now,
                party_digest,
                entry_hash
            ],
        )?;
        exec(
            &tx,
            "UPDATE screen_hits SET status = ?2, decision = ?3, decided_party_digest = party_digest,
                decided_entry_hash = entry_hash, updated_at = ?4 WHERE id = ?1",
            params![
                record.hit_id,
                record.decision.status().as_str(),
                record.decision.as_str(),
                now
            ],
        )?;
        let hit = hit_rows(&tx, "WHERE h.id = ?1", [record.hit_id])?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound)?;
        tx.commit().map_err(other("commit disposition"))?;
        Ok(hit)
    }

    fn screen_dispositions(&self, hit_id: i64) -> Result<Vec<DispositionRow>, StoreError> {
        let conn = self.lock()?;
        rows(
            &conn,
            &format!(
                "SELECT {} FROM screen_dispositions WHERE hit_id = ?1 ORDER BY id",
                columns::DISPOSITION
            ),
            [hit_id],
            |r| columns::disposition_row(r),
        )
    }

    fn screen_resolution_records(&self) -> Result<Vec<ResolutionRecordRow>, StoreError> {
        let conn = self.lock()?;
        rows(
            &conn,
            &format!(
                "SELECT {} FROM screen_resolution_records ORDER BY batch, record_id",
                columns::RESOLUTION_RECORD
            ),
            [],
            |r| columns::resolution_record(r),
        )
    }

    fn screen_resolution_merges(&self) -> Result<Vec<ResolutionMergeRow>, StoreError> {
        let conn = self.lock()?;
        rows(
            &conn,
            &format!(
                "SELECT {} FROM screen_resolution_merges ORDER BY batch, absorbed",
                columns::RESOLUTION_MERGE
            ),
            [],
            |r| columns::resolution_merge(r),
        )
    }

    fn screen_record_resolution(&self, batch: &ResolutionBatch) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin resolution batch"))?;
        let next: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(batch) + 1, 0) FROM screen_resolution_batches",
                [],
                |r| r.get(0),
            )
            .map_err(other("read resolution batches"))?;
        if next != i64::from(batch.batch) {
            return Err(StoreError::Conflict(Conflict::StaleWrite {
                what: "resolution batch".into(),
                id: batch.batch.to_string(),
            }));
        }
        exec(
            &tx,
            "INSERT INTO screen_resolution_batches (batch, resolved_at, n_records, n_clusters,
                n_merges, model) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                batch.batch,
                ms(batch.resolved_at)?,
                batch.records.len() as i64,
                batch.n_clusters as i64,
                batch.merges.len() as i64,
                batch.model
            ],
        )?;
        for r in &batch.records {
            exec(
                &tx,
                "INSERT INTO screen_resolution_records (record_id, batch, name, country,
                    id_scheme, id_value, cluster_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    r.record_id,
                    batch.batch,
                    r.name,
                    r.country,
                    r.id_scheme,
                    r.id_value,
                    r.cluster_id
                ],
            )?;
        }
        for (record_id, cluster) in &batch.reassigned {
            let n = exec(
                &tx,
                "UPDATE screen_resolution_records SET cluster_id = ?2 WHERE record_id = ?1",
                params![record_id, cluster],
            )?;
            if n != 1 {
                return Err(StoreError::NotFound);
            }
        }
        for m in &batch.merges {
            exec(
                &tx,
                "INSERT INTO screen_resolution_merges (batch, kept, absorbed, via_a, via_b,
                    weight) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![m.batch, m.kept, m.absorbed, m.via.0, m.via.1, m.weight],
            )?;
        }
        tx.commit().map_err(other("commit resolution batch"))
    }

    fn screen_cluster(&self, cluster_id: u32) -> Result<Vec<ResolutionRecordRow>, StoreError> {
        let conn = self.lock()?;
        rows(
            &conn,
            &format!(
                "SELECT {} FROM screen_resolution_records WHERE cluster_id = ?1
                 ORDER BY record_id",
                columns::RESOLUTION_RECORD
            ),
            [cluster_id],
            |r| columns::resolution_record(r),
        )
    }
}
