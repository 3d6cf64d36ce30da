//! [`ScreenStore`] on PostgreSQL, behaving exactly like the SQLite reference.
//!
//! Why it is shaped this way: every workflow step is one transaction, so a list load
//! (version, entries, delta, re-screen hits, the switch of the active version) or a
//! screening run is visible whole or not at all, and a refused or interrupted load leaves
//! the previous version active. Screening writes first take a transaction-scoped advisory
//! lock per schema, so two loads of one list cannot both compute against the same active
//! version and two runs cannot interleave their hit upserts (SQLite gets the same from its
//! single writer). The rules of which status a hit takes live in
//! `caravan_store::screen::apply`; this module only says how PostgreSQL reads and writes.

use caravan_store::Conflict;
use caravan_store::StoreError;
use caravan_store::screen::columns::{self, Columns, change, ms, prior, status};
use caravan_store::screen::{
    Change, DeclaredPartyRow, DispositionRecord, DispositionRow, HitFilter, HitRecord, HitRow,
    HitStatus, HitWriter, ListLoad, ListVersionRow, LoadSummary, PartyFacts, PriorDecision,
    ResolutionBatch, ResolutionMergeRow, ResolutionRecordRow, RunSummary, ScreenRunRecord,
    ScreenStore, StoredEntry, apply,
};
use postgres::types::ToSql;
use postgres::{GenericClient, Row, Transaction};

use crate::{PgStore, other};

/// First argument of the screening advisory lock ("CAR" + 6); the second is the schema.
const LOCK_SCREEN: i32 = 0x4341_5206;

struct PgRow<'a>(&'a Row);

impl PgRow<'_> {
    fn get<'r, T: postgres::types::FromSql<'r>>(&'r self, i: usize) -> Result<T, StoreError> {
        self.0.try_get(i).map_err(other("read screening column"))
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
    fn float(&self, i: usize) -> Result<f64, StoreError> {
        self.get(i)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.get(i)
    }
    fn flag(&self, i: usize) -> Result<bool, StoreError> {
        self.get(i)
    }
}

fn rows<T>(
    client: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    map: impl Fn(&PgRow<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    client
        .query(sql, params)
        .map_err(other("run screening query"))?
        .iter()
        .map(|row| map(&PgRow(row)))
        .collect()
}

fn exec(
    client: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    client
        .execute(sql, params)
        .map_err(other("write screening row"))
}

/// Begins a screening write: a transaction holding the schema's screening lock.
fn begin<'a>(client: &'a mut postgres::Client, what: &str) -> Result<Transaction<'a>, StoreError> {
    let mut tx = client.transaction().map_err(other(what))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&LOCK_SCREEN],
    )
    .map_err(other("take the screening lock"))?;
    Ok(tx)
}

/// The writes of one open transaction.
struct Tx<'a, 'b>(&'a mut Transaction<'b>);

impl HitWriter for Tx<'_, '_> {
    fn active_version(&mut self, list_id: &str) -> Result<Option<i64>, StoreError> {
        let found = rows(
            self.0,
            "SELECT id FROM screen_list_versions WHERE list_id = $1 AND active",
            &[&list_id],
            |r| r.int(0),
        )?;
        Ok(found.into_iter().next())
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
             FROM screen_hits WHERE party_key = $1 AND list_id = $2 AND entry_id = $3",
            &[&party_key, &list_id, &entry_id],
            |r| {
                Ok((
                    r.int(0)?,
                    status(r.text(1)?)?,
                    prior(r.opt_text(2)?, r.get(3)?, r.get(4)?)?,
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            &[
                &hit.party_key,
                &&hit.party_digest[..],
                &hit.list_id,
                &hit.entry_id,
                &version_id,
                &&hit.entry_hash[..],
                &hit.matched_name,
                &hit.score,
                &hit.band,
                &hit.explanation,
                &status.as_str(),
                &now,
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
            "UPDATE screen_hits SET party_digest = $2, version_id = $3, entry_hash = $4,
                matched_name = $5, score = $6, band = $7, explanation = $8, status = $9,
                updated_at = $10
             WHERE id = $1",
            &[
                &id,
                &&hit.party_digest[..],
                &version_id,
                &&hit.entry_hash[..],
                &hit.matched_name,
                &hit.score,
                &hit.band,
                &hit.explanation,
                &status.as_str(),
                &ms(now)?,
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
            "SELECT id, list_id, entry_id, status FROM screen_hits WHERE party_key = $1
             ORDER BY id",
            &[&party_key],
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
            "SELECT id, status, version_id FROM screen_hits WHERE list_id = $1 AND entry_id = $2
             ORDER BY id",
            &[&list_id, &entry_id],
            |r| Ok((r.int(0)?, status(r.text(1)?)?, r.int(2)?)),
        )
    }

    fn set_status(&mut self, id: i64, status: HitStatus, now: u64) -> Result<(), StoreError> {
        exec(
            self.0,
            "UPDATE screen_hits SET status = $2, updated_at = $3 WHERE id = $1",
            &[&id, &status.as_str(), &ms(now)?],
        )?;
        Ok(())
    }
}

fn version_rows(
    client: &mut impl GenericClient,
    filter: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<ListVersionRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM screen_list_versions {filter} ORDER BY id DESC",
        columns::VERSION
    );
    rows(client, &sql, params, |r| columns::list_version_row(r))
}

fn hit_rows(
    client: &mut impl GenericClient,
    filter: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<HitRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM screen_hits h JOIN screen_parties p ON p.party_key = h.party_key {filter}",
        columns::HIT
    );
    rows(client, &sql, params, |r| columns::hit_row(r))
}

fn record_run(
    client: &mut impl GenericClient,
    kind: &str,
    version_id: Option<i64>,
    ran_at: u64,
    counts: [u64; 5],
) -> Result<(), StoreError> {
    let [parties, open, suppressed, closed, delisted] = counts.map(|c| c as i64);
    exec(
        client,
        "INSERT INTO screen_runs (kind, version_id, ran_at, n_parties, n_open, n_suppressed,
            n_closed, n_delisted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &kind,
            &version_id,
            &ms(ran_at)?,
            &parties,
            &open,
            &suppressed,
            &closed,
            &delisted,
        ],
    )?;
    Ok(())
}

impl ScreenStore for PgStore {
    fn screen_list_versions(&self) -> Result<Vec<ListVersionRow>, StoreError> {
        let mut conn = self.lock()?;
        version_rows(&mut *conn, "", &[])
    }

    fn screen_active_list(
        &self,
        list_id: &str,
    ) -> Result<Option<(ListVersionRow, Vec<StoredEntry>)>, StoreError> {
        let mut conn = self.lock()?;
        let Some(version) = version_rows(&mut *conn, "WHERE list_id = $1 AND active", &[&list_id])?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let entries = rows(
            &mut *conn,
            "SELECT entry_id, content_hash, kind, primary_name, body FROM screen_list_entries
             WHERE version_id = $1 ORDER BY entry_id COLLATE \"C\"",
            &[&version.id],
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
        let mut conn = self.lock()?;
        rows(
            &mut *conn,
            "SELECT entry_id, change FROM screen_list_changes WHERE version_id = $1
             ORDER BY entry_id COLLATE \"C\"",
            &[&version_id],
            |r| Ok((r.text(0)?, change(&r.text(1)?)?)),
        )
    }

    fn screen_load_list(&self, load: &ListLoad) -> Result<LoadSummary, StoreError> {
        let mut conn = self.lock()?;
        let mut tx = begin(&mut conn, "begin list load")?;
        let active = Tx(&mut tx).active_version(&load.list_id)?;
        if active != load.expected_active {
            return Err(StoreError::Other(format!(
                "screening list {:?}: the active version moved while this load was computed; \
                 nothing was written, load again",
                load.list_id
            )));
        }
        if let Some(active) = active {
            exec(
                &mut tx,
                "UPDATE screen_list_versions SET active = FALSE WHERE id = $1",
                &[&active],
            )?;
        }
        let count = |want: Change| load.changes.iter().filter(|c| c.1 == want).count() as i64;
        let version_id = rows(
            &mut tx,
            "INSERT INTO screen_list_versions (list_id, source, publisher_date, digest, loaded_at,
                n_entries, active, previous_id, n_added, n_changed, n_removed)
             VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, $8, $9, $10) RETURNING id",
            &[
                &load.list_id,
                &load.source,
                &load.publisher_date,
                &&load.digest[..],
                &ms(load.loaded_at)?,
                &(load.entries.len() as i64),
                &active,
                &count(Change::Added),
                &count(Change::Changed),
                &count(Change::Removed),
            ],
            |r| r.int(0),
        )?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Other("no id returned for the list version".into()))?;
        let insert_entry = tx
            .prepare(
                "INSERT INTO screen_list_entries (version_id, entry_id, content_hash, kind,
                    primary_name, body) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .map_err(other("prepare entry insert"))?;
        for entry in &load.entries {
            tx.execute(
                &insert_entry,
                &[
                    &version_id,
                    &entry.entry_id,
                    &&entry.content_hash[..],
                    &entry.kind,
                    &entry.primary_name,
                    &entry.body,
                ],
            )
            .map_err(other("insert list entry"))?;
        }
        for (entry_id, change) in &load.changes {
            exec(
                &mut tx,
                "INSERT INTO screen_list_changes (version_id, entry_id, change)
                 VALUES ($1, $2, $3)",
                &[&version_id, entry_id, &change.as_str()],
            )?;
        }
        let summary = apply::load(
            &mut Tx(&mut tx),
            &load.list_id,
            version_id,
            &load.changes,
            &load.hits,
            load.loaded_at,
        )?;
        let n_parties = rows(&mut tx, "SELECT COUNT(*) FROM screen_parties", &[], |r| {
            r.int(0)
        })?
        .into_iter()
        .next()
        .unwrap_or(0);
        record_run(
            &mut tx,
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
        let mut conn = self.lock()?;
        let mut out = rows(
            &mut *conn,
            "SELECT role, name, country, id_scheme, id_value, MAX(declaration_id) FROM parties
             WHERE name IS NOT NULL AND name <> ''
             GROUP BY role, name, country, id_scheme, id_value",
            &[],
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
        let mut conn = self.lock()?;
        let mut parties = rows(
            &mut *conn,
            "SELECT party_key, digest, role, name, country, id_scheme, id_value
             FROM screen_parties",
            &[],
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
        )?;
        parties.sort_by(|a, b| a.party_key.cmp(&b.party_key));
        Ok(parties)
    }

    fn screen_record_run(&self, run: &ScreenRunRecord) -> Result<RunSummary, StoreError> {
        let mut conn = self.lock()?;
        let mut tx = begin(&mut conn, "begin screening run")?;
        let now = ms(run.screened_at)?;
        let upsert = tx
            .prepare(
                "INSERT INTO screen_parties (party_key, digest, role, name, country, id_scheme,
                    id_value, screened_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (party_key) DO UPDATE SET digest = excluded.digest,
                    role = excluded.role, name = excluded.name, country = excluded.country,
                    id_scheme = excluded.id_scheme, id_value = excluded.id_value,
                    screened_at = excluded.screened_at",
            )
            .map_err(other("prepare party upsert"))?;
        for party in &run.parties {
            tx.execute(
                &upsert,
                &[
                    &party.party_key,
                    &&party.digest[..],
                    &party.role,
                    &party.name,
                    &party.country,
                    &party.id_scheme,
                    &party.id_value,
                    &now,
                ],
            )
            .map_err(other("upsert screened party"))?;
        }
        let keys: Vec<&str> = run.parties.iter().map(|p| p.party_key.as_str()).collect();
        let summary = apply::run(&mut Tx(&mut tx), &keys, &run.hits, run.screened_at)?;
        record_run(
            &mut tx,
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
        let mut conn = self.lock()?;
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        let limit = i64::from(filter.limit);
        let offset = i64::from(filter.offset);
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        let mut clauses = Vec::new();
        if !statuses.is_empty() {
            params.push(&statuses);
            clauses.push(format!("h.status = ANY(${})", params.len()));
        }
        if let Some(key) = &filter.party_key {
            params.push(key);
            clauses.push(format!("h.party_key = ${}", params.len()));
        }
        let mut sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        params.push(&limit);
        params.push(&offset);
        sql.push_str(&format!(
            " ORDER BY h.score DESC, h.id LIMIT ${} OFFSET ${}",
            params.len() - 1,
            params.len()
        ));
        hit_rows(&mut *conn, &sql, &params)
    }

    fn screen_hit(&self, id: i64) -> Result<HitRow, StoreError> {
        let mut conn = self.lock()?;
        hit_rows(&mut *conn, "WHERE h.id = $1", &[&id])?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound)
    }

    fn screen_decide(&self, record: &DispositionRecord) -> Result<HitRow, StoreError> {
        let mut conn = self.lock()?;
        let mut tx = begin(&mut conn, "begin disposition")?;
        let found = rows(
            &mut tx,
            "SELECT party_digest, entry_hash FROM screen_hits WHERE id = $1",
            &[&record.hit_id],
            |r| Ok((r.blob(0)?, r.blob(1)?)),
        )?;
        let Some((party_digest, entry_hash)) = found.into_iter().next() else {
            return Err(StoreError::NotFound);
        };
        let now = ms(record.decided_at)?;
        exec(
            &mut tx,
            "INSERT INTO screen_dispositions (hit_id, decision, reason, note, account, decided_at,
                party_digest, entry_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &record.hit_id,
                &record.decision.as_str(),
                &record.reason,
                &record.note,
                &record.account,
                &now,
                &party_digest,
                &entry_hash,
            ],
        )?;
        exec(
            &mut tx,
            "UPDATE screen_hits SET status = $2, decision = $3, decided_party_digest = party_digest,
                decided_entry_hash = entry_hash, updated_at = $4 WHERE id = $1",
            &[
                &record.hit_id,
                &record.decision.status().as_str(),
                &record.decision.as_str(),
                &now,
            ],
        )?;
        let hit = hit_rows(&mut tx, "WHERE h.id = $1", &[&record.hit_id])?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound)?;
        tx.commit().map_err(other("commit disposition"))?;
        Ok(hit)
    }

    fn screen_dispositions(&self, hit_id: i64) -> Result<Vec<DispositionRow>, StoreError> {
        let mut conn = self.lock()?;
        rows(
            &mut *conn,
            &format!(
                "SELECT {} FROM screen_dispositions WHERE hit_id = $1 ORDER BY id",
                columns::DISPOSITION
            ),
            &[&hit_id],
            |r| columns::disposition_row(r),
        )
    }

    fn screen_resolution_records(&self) -> Result<Vec<ResolutionRecordRow>, StoreError> {
        let mut conn = self.lock()?;
        rows(
            &mut *conn,
            &format!(
                "SELECT {} FROM screen_resolution_records ORDER BY batch, record_id COLLATE \"C\"",
                columns::RESOLUTION_RECORD
            ),
            &[],
            |r| columns::resolution_record(r),
        )
    }

    fn screen_resolution_merges(&self) -> Result<Vec<ResolutionMergeRow>, StoreError> {
        let mut conn = self.lock()?;
        rows(
            &mut *conn,
            &format!(
                "SELECT {} FROM screen_resolution_merges ORDER BY batch, absorbed",
                columns::RESOLUTION_MERGE
            ),
            &[],
            |r| columns::resolution_merge(r),
        )
    }

    fn screen_record_resolution(&self, batch: &ResolutionBatch) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let mut tx = begin(&mut conn, "begin resolution batch")?;
        let next: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(batch) + 1, 0) FROM screen_resolution_batches",
                &[],
            )
            .map_err(other("read resolution batches"))?
            .get(0);
        if next != i64::from(batch.batch) {
            return Err(StoreError::Conflict(Conflict::StaleWrite {
                what: "resolution batch".into(),
                id: batch.batch.to_string(),
            }));
        }
        let number = i64::from(batch.batch);
        exec(
            &mut tx,
            "INSERT INTO screen_resolution_batches (batch, resolved_at, n_records, n_clusters,
                n_merges, model) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &number,
                &ms(batch.resolved_at)?,
                &(batch.records.len() as i64),
                &(batch.n_clusters as i64),
                &(batch.merges.len() as i64),
                &batch.model,
            ],
        )?;
        for r in &batch.records {
            exec(
                &mut tx,
                "INSERT INTO screen_resolution_records (record_id, batch, name, country,
                    id_scheme, id_value, cluster_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &r.record_id,
                    &number,
                    &r.name,
                    &r.country,
                    &r.id_scheme,
                    &r.id_value,
                    &i64::from(r.cluster_id),
                ],
            )?;
        }
        for (record_id, cluster) in &batch.reassigned {
            let n = exec(
                &mut tx,
                "UPDATE screen_resolution_records SET cluster_id = $2 WHERE record_id = $1",
                &[record_id, &i64::from(*cluster)],
            )?;
            if n != 1 {
                return Err(StoreError::NotFound);
            }
        }
        for m in &batch.merges {
            exec(
                &mut tx,
                "INSERT INTO screen_resolution_merges (batch, kept, absorbed, via_a, via_b,
                    weight) VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &i64::from(m.batch),
                    &i64::from(m.kept),
                    &i64::from(m.absorbed),
                    &m.via.0,
                    &m.via.1,
                    &m.weight,
                ],
            )?;
        }
        tx.commit().map_err(other("commit resolution batch"))
    }

    fn screen_cluster(&self, cluster_id: u32) -> Result<Vec<ResolutionRecordRow>, StoreError> {
        let mut conn = self.lock()?;
        rows(
            &mut *conn,
            &format!(
                "SELECT {} FROM screen_resolution_records WHERE cluster_id = $1
                 ORDER BY record_id COLLATE \"C\"",
                columns::RESOLUTION_RECORD
            ),
            &[&i64::from(cluster_id)],
            |r| columns::resolution_record(r),
        )
    }
}
