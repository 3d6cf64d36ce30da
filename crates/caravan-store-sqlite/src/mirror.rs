//! [`MirrorStore`] on SQLite: a mirror run, its links, findings and aggregates in the
//! node's one file.
//!
//! Why it is shaped this way: a run is reviewed and quoted to the partner long after it
//! was computed, so it is written whole in one `BEGIN IMMEDIATE` transaction; a crash or
//! a refused row leaves no half run. Finding rows point at link rows by store id, which
//! the insert learns as it goes (`last_insert_rowid`), so the caller only numbers links
//! by position.

use caravan_store::StoreError;
use caravan_store::log::columns::{int, uint};
use caravan_store::mirror::{
    LinkFilter, LinkPage, MirrorFindingRow, MirrorGap, MirrorLinkRow, MirrorRunRow, MirrorStore,
    NewMirrorFinding, NewMirrorLink, NewMirrorRun, check_run, filter_clause, flags_column,
    parse_flags,
};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params, params_from_iter};

use crate::{SqliteStore, other};

const RUN_COLUMNS: &str =
    "id, created_at, exports_source, imports_source, summary, links, findings";
const LINK_COLUMNS: &str = "id, run_id, seq, direction, tier, cardinality, confidence, hs6, \
     export_lrns, import_lrns, log_gap, score, flags, evidence, discrepancy, exports, imports";
const FINDING_COLUMNS: &str =
    "id, run_id, link_id, link_seq, kind, score, hs6, declarations, detail";
const GAP_COLUMNS: &str = "group_by, direction, key, links, unmatched_exports, \
     unmatched_imports, export_fob, import_fob, gap, weighted_gap, median_log_gap, \
     unmatched_export_value";

fn count(v: i64, what: &str) -> rusqlite::Result<u64> {
    u64::try_from(v).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Integer,
            format!("negative {what}").into(),
        )
    })
}

fn run_row(r: &Row<'_>) -> rusqlite::Result<MirrorRunRow> {
    Ok(MirrorRunRow {
        id: r.get(0)?,
        created_at: count(r.get(1)?, "created_at")?,
        exports_source: r.get(2)?,
        imports_source: r.get(3)?,
        summary: r.get(4)?,
        links: count(r.get(5)?, "links")?,
        findings: count(r.get(6)?, "findings")?,
    })
}

fn link_row(r: &Row<'_>) -> rusqlite::Result<MirrorLinkRow> {
    let seq: i64 = r.get(2)?;
    let flags: String = r.get(12)?;
    Ok(MirrorLinkRow {
        id: r.get(0)?,
        run_id: r.get(1)?,
        seq: count(seq, "seq")? as u32,
        link: NewMirrorLink {
            direction: r.get(3)?,
            tier: r.get(4)?,
            cardinality: r.get(5)?,
            confidence: r.get(6)?,
            hs6: r.get(7)?,
            export_lrns: r.get(8)?,
            import_lrns: r.get(9)?,
            log_gap: r.get(10)?,
            score: r.get(11)?,
            flags: parse_flags(&flags),
            evidence: r.get(13)?,
            discrepancy: r.get(14)?,
            exports: r.get(15)?,
            imports: r.get(16)?,
        },
    })
}

fn finding_row(r: &Row<'_>) -> rusqlite::Result<MirrorFindingRow> {
    let link_seq: i64 = r.get(3)?;
    Ok(MirrorFindingRow {
        id: r.get(0)?,
        run_id: r.get(1)?,
        link_id: r.get(2)?,
        finding: NewMirrorFinding {
            link_seq: count(link_seq, "link_seq")? as u32,
            kind: r.get(4)?,
            score: r.get(5)?,
            hs6: r.get(6)?,
            declarations: r.get(7)?,
            detail: r.get(8)?,
        },
    })
}

fn gap_row(r: &Row<'_>) -> rusqlite::Result<MirrorGap> {
    Ok(MirrorGap {
        group_by: r.get(0)?,
        direction: r.get(1)?,
        key: r.get(2)?,
        links: count(r.get(3)?, "links")?,
        unmatched_exports: count(r.get(4)?, "unmatched_exports")?,
        unmatched_imports: count(r.get(5)?, "unmatched_imports")?,
        export_fob: r.get(6)?,
        import_fob: r.get(7)?,
        gap: r.get(8)?,
        weighted_gap: r.get(9)?,
        median_log_gap: r.get(10)?,
        unmatched_export_value: r.get(11)?,
    })
}

/// `NotFound` unless the run exists.
fn run_exists(conn: &rusqlite::Connection, run_id: i64) -> Result<(), StoreError> {
    conn.query_row("SELECT id FROM mirror_runs WHERE id = ?1", [run_id], |r| {
        r.get::<_, i64>(0)
    })
    .optional()
    .map_err(other("read mirror run"))?
    .map(|_| ())
    .ok_or(StoreError::NotFound)
}

impl MirrorStore for SqliteStore {
    fn put_mirror_run(&self, run: &NewMirrorRun) -> Result<i64, StoreError> {
        check_run(run)?;
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin mirror run"))?;
        tx.execute(
            "INSERT INTO mirror_runs (created_at, exports_source, imports_source, summary, links, findings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                int(run.created_at, "created_at")?,
                run.exports_source,
                run.imports_source,
                run.summary,
                run.links.len() as i64,
                run.findings.len() as i64
            ],
        )
        .map_err(other("store mirror run"))?;
        let run_id = tx.last_insert_rowid();
        let mut link_ids = Vec::with_capacity(run.links.len());
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO mirror_links (run_id, seq, direction, tier, cardinality, confidence,
                       hs6, export_lrns, import_lrns, log_gap, score, flags, evidence, discrepancy,
                       exports, imports)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                )
                .map_err(other("prepare mirror link insert"))?;
            for (seq, l) in run.links.iter().enumerate() {
                insert
                    .execute(params![
                        run_id,
                        seq as i64,
                        l.direction,
                        l.tier,
                        l.cardinality,
                        l.confidence,
                        l.hs6,
                        l.export_lrns,
                        l.import_lrns,
                        l.log_gap,
                        l.score,
                        flags_column(&l.flags),
                        l.evidence,
                        l.discrepancy,
                        l.exports,
                        l.imports
                    ])
                    .map_err(other("store mirror link"))?;
                link_ids.push(tx.last_insert_rowid());
            }
            let mut insert = tx
                .prepare(
                    "INSERT INTO mirror_findings (run_id, link_id, link_seq, kind, score, hs6,
                       declarations, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(other("prepare mirror finding insert"))?;
            for f in &run.findings {
                insert
                    .execute(params![
                        run_id,
                        link_ids[f.link_seq as usize],
                        i64::from(f.link_seq),
                        f.kind,
                        f.score,
                        f.hs6,
                        f.declarations,
                        f.detail
                    ])
                    .map_err(other("store mirror finding"))?;
            }
            let mut insert = tx
                .prepare(&format!(
                    "INSERT INTO mirror_gaps (run_id, {GAP_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ))
                .map_err(other("prepare mirror gap insert"))?;
            for g in &run.gaps {
                insert
                    .execute(params![
                        run_id,
                        g.group_by,
                        g.direction,
                        g.key,
                        int(g.links, "links")?,
                        int(g.unmatched_exports, "unmatched_exports")?,
                        int(g.unmatched_imports, "unmatched_imports")?,
                        g.export_fob,
                        g.import_fob,
                        g.gap,
                        g.weighted_gap,
                        g.median_log_gap,
                        g.unmatched_export_value
                    ])
                    .map_err(other("store mirror gap"))?;
            }
        }
        tx.commit().map_err(other("commit mirror run"))?;
        Ok(run_id)
    }

    fn mirror_runs(&self, limit: u32, offset: u32) -> Result<Vec<MirrorRunRow>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM mirror_runs ORDER BY id DESC LIMIT ?1 OFFSET ?2"
            ))
            .map_err(other("prepare mirror runs"))?;
        let rows = stmt
            .query_map(params![i64::from(limit), i64::from(offset)], run_row)
            .map_err(other("list mirror runs"))?;
        rows.collect::<Result<_, _>>()
            .map_err(other("read mirror run"))
    }

    fn mirror_run(&self, id: i64) -> Result<MirrorRunRow, StoreError> {
        let conn = self.lock()?;
        conn.query_row(
            &format!("SELECT {RUN_COLUMNS} FROM mirror_runs WHERE id = ?1"),
            [id],
            run_row,
        )
        .optional()
        .map_err(other("read mirror run"))?
        .ok_or(StoreError::NotFound)
    }

    fn mirror_links(
        &self,
        run_id: i64,
        filter: &LinkFilter,
        limit: u32,
        offset: u32,
    ) -> Result<LinkPage, StoreError> {
        let conn = self.lock()?;
        run_exists(&conn, run_id)?;
        let (clause, values) = filter_clause(filter, 2, |n| format!("?{n}"));
        let mut args: Vec<Value> = vec![Value::Integer(run_id)];
        args.extend(values.into_iter().map(Value::Text));
        let total: i64 = conn
            .query_row(
                &format!("SELECT COUNT(*) FROM mirror_links WHERE run_id = ?1{clause}"),
                params_from_iter(args.iter()),
                |r| r.get(0),
            )
            .map_err(other("count mirror links"))?;
        let n = args.len();
        args.push(Value::Integer(i64::from(limit)));
        args.push(Value::Integer(i64::from(offset)));
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {LINK_COLUMNS} FROM mirror_links WHERE run_id = ?1{clause}
                 ORDER BY score DESC, seq LIMIT ?{} OFFSET ?{}",
                n + 1,
                n + 2
            ))
            .map_err(other("prepare mirror links"))?;
        let links = stmt
            .query_map(params_from_iter(args.iter()), link_row)
            .map_err(other("list mirror links"))?
            .collect::<Result<_, _>>()
            .map_err(other("read mirror link"))?;
        Ok(LinkPage {
            links,
            total: uint(total, "link count")?,
        })
    }

    fn mirror_link(&self, id: i64) -> Result<MirrorLinkRow, StoreError> {
        let conn = self.lock()?;
        conn.query_row(
            &format!("SELECT {LINK_COLUMNS} FROM mirror_links WHERE id = ?1"),
            [id],
            link_row,
        )
        .optional()
        .map_err(other("read mirror link"))?
        .ok_or(StoreError::NotFound)
    }

    fn mirror_link_findings(&self, link_id: i64) -> Result<Vec<MirrorFindingRow>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {FINDING_COLUMNS} FROM mirror_findings WHERE link_id = ?1
                 ORDER BY score DESC, id"
            ))
            .map_err(other("prepare mirror findings"))?;
        stmt.query_map([link_id], finding_row)
            .map_err(other("list mirror findings"))?
            .collect::<Result<_, _>>()
            .map_err(other("read mirror finding"))
    }

    fn mirror_finding(&self, id: i64) -> Result<MirrorFindingRow, StoreError> {
        let conn = self.lock()?;
        conn.query_row(
            &format!("SELECT {FINDING_COLUMNS} FROM mirror_findings WHERE id = ?1"),
            [id],
            finding_row,
        )
        .optional()
        .map_err(other("read mirror finding"))?
        .ok_or(StoreError::NotFound)
    }

    fn mirror_gaps(&self, run_id: i64, group_by: &str) -> Result<Vec<MirrorGap>, StoreError> {
        let conn = self.lock()?;
        run_exists(&conn, run_id)?;
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {GAP_COLUMNS} FROM mirror_gaps WHERE run_id = ?1 AND group_by = ?2
                 ORDER BY direction, key"
            ))
            .map_err(other("prepare mirror gaps"))?;
        stmt.query_map(params![run_id, group_by], gap_row)
            .map_err(other("list mirror gaps"))?
            .collect::<Result<_, _>>()
            .map_err(other("read mirror gap"))
    }

    fn mirror_inputs(
        &self,
        provenance: &str,
        direction: &str,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare(
                "SELECT id, document FROM declarations
                 WHERE provenance = ?1 AND direction = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
            )
            .map_err(other("prepare mirror inputs"))?;
        stmt.query_map(
            params![provenance, direction, after_id, i64::from(limit)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(other("list mirror inputs"))?
        .collect::<Result<_, _>>()
        .map_err(other("read mirror input"))
    }
}
