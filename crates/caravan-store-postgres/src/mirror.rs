//! [`MirrorStore`] on PostgreSQL, behaving exactly like the SQLite reference.
//!
//! Why it is shaped this way: a run is written whole in one transaction, so a refused
//! row or a lost connection leaves no half run; finding rows learn their link's store id
//! from `RETURNING id` as the links go in. Filters are bound parameters, with `LIKE`
//! wildcards in user input escaped, as in SQLite.

use caravan_store::StoreError;
use caravan_store::log::columns::{int, uint};
use caravan_store::mirror::{
    LinkFilter, LinkPage, MirrorFindingRow, MirrorGap, MirrorLinkRow, MirrorRunRow, MirrorStore,
    NewMirrorFinding, NewMirrorLink, NewMirrorRun, check_run, filter_clause, flags_column,
    parse_flags,
};
use postgres::Row;
use postgres::types::ToSql;

use crate::{PgStore, other};

const RUN_COLUMNS: &str =
    "id, created_at, exports_source, imports_source, summary, links, findings";
const LINK_COLUMNS: &str = "id, run_id, seq, direction, tier, cardinality, confidence, hs6, \
     export_lrns, import_lrns, log_gap, score, flags, evidence, discrepancy, exports, imports";
const FINDING_COLUMNS: &str =
    "id, run_id, link_id, link_seq, kind, score, hs6, declarations, detail";
const GAP_COLUMNS: &str = "group_by, direction, key, links, unmatched_exports, \
     unmatched_imports, export_fob, import_fob, gap, weighted_gap, median_log_gap, \
     unmatched_export_value";

fn get<'r, T: postgres::types::FromSql<'r>>(row: &'r Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i).map_err(other("read mirror column"))
}

fn seq_of(row: &Row, i: usize, what: &str) -> Result<u32, StoreError> {
    let v: i64 = get(row, i)?;
    u32::try_from(v).map_err(|_| StoreError::Other(format!("stored {what} {v} is out of range")))
}

fn run_row(r: &Row) -> Result<MirrorRunRow, StoreError> {
    Ok(MirrorRunRow {
        id: get(r, 0)?,
        created_at: uint(get(r, 1)?, "created_at")?,
        exports_source: get(r, 2)?,
        imports_source: get(r, 3)?,
        summary: get(r, 4)?,
        links: uint(get(r, 5)?, "links")?,
        findings: uint(get(r, 6)?, "findings")?,
    })
}

fn link_row(r: &Row) -> Result<MirrorLinkRow, StoreError> {
    let flags: String = get(r, 12)?;
    Ok(MirrorLinkRow {
        id: get(r, 0)?,
        run_id: get(r, 1)?,
        seq: seq_of(r, 2, "seq")?,
        link: NewMirrorLink {
            direction: get(r, 3)?,
            tier: get(r, 4)?,
            cardinality: get(r, 5)?,
            confidence: get(r, 6)?,
            hs6: get(r, 7)?,
            export_lrns: get(r, 8)?,
            import_lrns: get(r, 9)?,
            log_gap: get(r, 10)?,
            score: get(r, 11)?,
            flags: parse_flags(&flags),
            evidence: get(r, 13)?,
            discrepancy: get(r, 14)?,
            exports: get(r, 15)?,
            imports: get(r, 16)?,
        },
    })
}

fn finding_row(r: &Row) -> Result<MirrorFindingRow, StoreError> {
    Ok(MirrorFindingRow {
        id: get(r, 0)?,
        run_id: get(r, 1)?,
        link_id: get(r, 2)?,
        finding: NewMirrorFinding {
            link_seq: seq_of(r, 3, "link_seq")?,
            kind: get(r, 4)?,
            score: get(r, 5)?,
            hs6: get(r, 6)?,
            declarations: get(r, 7)?,
            detail: get(r, 8)?,
        },
    })
}

fn gap_row(r: &Row) -> Result<MirrorGap, StoreError> {
    Ok(MirrorGap {
        group_by: get(r, 0)?,
        direction: get(r, 1)?,
        key: get(r, 2)?,
        links: uint(get(r, 3)?, "links")?,
        unmatched_exports: uint(get(r, 4)?, "unmatched_exports")?,
        unmatched_imports: uint(get(r, 5)?, "unmatched_imports")?,
        export_fob: get(r, 6)?,
        import_fob: get(r, 7)?,
        gap: get(r, 8)?,
        weighted_gap: get(r, 9)?,
        median_log_gap: get(r, 10)?,
        unmatched_export_value: get(r, 11)?,
    })
}

impl PgStore {
    fn mirror_run_exists(&self, run_id: i64) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        conn.query_opt("SELECT id FROM mirror_runs WHERE id = $1", &[&run_id])
            .map_err(other("read mirror run"))?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }
}

impl MirrorStore for PgStore {
    fn put_mirror_run(&self, run: &NewMirrorRun) -> Result<i64, StoreError> {
        check_run(run)?;
        let mut conn = self.lock()?;
        let mut tx = conn.transaction().map_err(other("begin mirror run"))?;
        let (links, findings) = (run.links.len() as i64, run.findings.len() as i64);
        let row = tx
            .query_one(
                "INSERT INTO mirror_runs (created_at, exports_source, imports_source, summary, links, findings)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &int(run.created_at, "created_at")?,
                    &run.exports_source,
                    &run.imports_source,
                    &run.summary,
                    &links,
                    &findings,
                ],
            )
            .map_err(other("store mirror run"))?;
        let run_id: i64 = get(&row, 0)?;
        let insert = tx
            .prepare(
                "INSERT INTO mirror_links (run_id, seq, direction, tier, cardinality, confidence,
                   hs6, export_lrns, import_lrns, log_gap, score, flags, evidence, discrepancy,
                   exports, imports)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                 RETURNING id",
            )
            .map_err(other("prepare mirror link insert"))?;
        let mut link_ids = Vec::with_capacity(run.links.len());
        for (seq, l) in run.links.iter().enumerate() {
            let seq = seq as i64;
            let flags = flags_column(&l.flags);
            let row = tx
                .query_one(
                    &insert,
                    &[
                        &run_id,
                        &seq,
                        &l.direction,
                        &l.tier,
                        &l.cardinality,
                        &l.confidence,
                        &l.hs6,
                        &l.export_lrns,
                        &l.import_lrns,
                        &l.log_gap,
                        &l.score,
                        &flags,
                        &l.evidence,
                        &l.discrepancy,
                        &l.exports,
                        &l.imports,
                    ],
                )
                .map_err(other("store mirror link"))?;
            link_ids.push(get::<i64>(&row, 0)?);
        }
        let insert = tx
            .prepare(
                "INSERT INTO mirror_findings (run_id, link_id, link_seq, kind, score, hs6,
                   declarations, detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .map_err(other("prepare mirror finding insert"))?;
        for f in &run.findings {
            let link_seq = i64::from(f.link_seq);
            tx.execute(
                &insert,
                &[
                    &run_id,
                    &link_ids[f.link_seq as usize],
                    &link_seq,
                    &f.kind,
                    &f.score,
                    &f.hs6,
                    &f.declarations,
                    &f.detail,
                ],
            )
            .map_err(other("store mirror finding"))?;
        }
        let insert = tx
            .prepare(&format!(
                "INSERT INTO mirror_gaps (run_id, {GAP_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ))
            .map_err(other("prepare mirror gap insert"))?;
        for g in &run.gaps {
            let counts = [
                int(g.links, "links")?,
                int(g.unmatched_exports, "unmatched_exports")?,
                int(g.unmatched_imports, "unmatched_imports")?,
            ];
            tx.execute(
                &insert,
                &[
                    &run_id,
                    &g.group_by,
                    &g.direction,
                    &g.key,
                    &counts[0],
                    &counts[1],
                    &counts[2],
                    &g.export_fob,
                    &g.import_fob,
                    &g.gap,
                    &g.weighted_gap,
                    &g.median_log_gap,
                    &g.unmatched_export_value,
                ],
            )
            .map_err(other("store mirror gap"))?;
        }
        tx.commit().map_err(other("commit mirror run"))?;
        Ok(run_id)
    }

    fn mirror_runs(&self, limit: u32, offset: u32) -> Result<Vec<MirrorRunRow>, StoreError> {
        let mut conn = self.lock()?;
        let (limit, offset) = (i64::from(limit), i64::from(offset));
        conn.query(
            &format!("SELECT {RUN_COLUMNS} FROM mirror_runs ORDER BY id DESC LIMIT $1 OFFSET $2"),
            &[&limit, &offset],
        )
        .map_err(other("list mirror runs"))?
        .iter()
        .map(run_row)
        .collect()
    }

    fn mirror_run(&self, id: i64) -> Result<MirrorRunRow, StoreError> {
        let mut conn = self.lock()?;
        let row = conn
            .query_opt(
                &format!("SELECT {RUN_COLUMNS} FROM mirror_runs WHERE id = $1"),
                &[&id],
            )
            .map_err(other("read mirror run"))?
            .ok_or(StoreError::NotFound)?;
        run_row(&row)
    }

    fn mirror_links(
        &self,
        run_id: i64,
        filter: &LinkFilter,
        limit: u32,
        offset: u32,
    ) -> Result<LinkPage, StoreError> {
        self.mirror_run_exists(run_id)?;
        let (clause, values) = filter_clause(filter, 2, |n| format!("${n}"));
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&run_id];
        args.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
        let mut conn = self.lock()?;
        let total: i64 = get(
            &conn
                .query_one(
                    &format!("SELECT COUNT(*) FROM mirror_links WHERE run_id = $1{clause}"),
                    &args,
                )
                .map_err(other("count mirror links"))?,
            0,
        )?;
        let (limit, offset) = (i64::from(limit), i64::from(offset));
        let n = args.len();
        args.push(&limit);
        args.push(&offset);
        let links = conn
            .query(
                &format!(
                    "SELECT {LINK_COLUMNS} FROM mirror_links WHERE run_id = $1{clause}
                     ORDER BY score DESC, seq LIMIT ${} OFFSET ${}",
                    n + 1,
                    n + 2
                ),
                &args,
            )
            .map_err(other("list mirror links"))?
            .iter()
            .map(link_row)
            .collect::<Result<_, _>>()?;
        Ok(LinkPage {
            links,
            total: uint(total, "link count")?,
        })
    }

    fn mirror_link(&self, id: i64) -> Result<MirrorLinkRow, StoreError> {
        let mut conn = self.lock()?;
        let row = conn
            .query_opt(
                &format!("SELECT {LINK_COLUMNS} FROM mirror_links WHERE id = $1"),
                &[&id],
            )
            .map_err(other("read mirror link"))?
            .ok_or(StoreError::NotFound)?;
        link_row(&row)
    }

    fn mirror_link_findings(&self, link_id: i64) -> Result<Vec<MirrorFindingRow>, StoreError> {
        let mut conn = self.lock()?;
        conn.query(
            &format!(
                "SELECT {FINDING_COLUMNS} FROM mirror_findings WHERE link_id = $1
                 ORDER BY score DESC, id"
            ),
            &[&link_id],
        )
        .map_err(other("list mirror findings"))?
        .iter()
        .map(finding_row)
        .collect()
    }

    fn mirror_finding(&self, id: i64) -> Result<MirrorFindingRow, StoreError> {
        let mut conn = self.lock()?;
        let row = conn
            .query_opt(
                &format!("SELECT {FINDING_COLUMNS} FROM mirror_findings WHERE id = $1"),
                &[&id],
            )
            .map_err(other("read mirror finding"))?
            .ok_or(StoreError::NotFound)?;
        finding_row(&row)
    }

    fn mirror_gaps(&self, run_id: i64, group_by: &str) -> Result<Vec<MirrorGap>, StoreError> {
        self.mirror_run_exists(run_id)?;
        let mut conn = self.lock()?;
        conn.query(
            &format!(
                "SELECT {GAP_COLUMNS} FROM mirror_gaps WHERE run_id = $1 AND group_by = $2
                 ORDER BY direction COLLATE \"C\", key COLLATE \"C\""
            ),
            &[&run_id, &group_by],
        )
        .map_err(other("list mirror gaps"))?
        .iter()
        .map(gap_row)
        .collect()
    }

    fn mirror_inputs(
        &self,
        provenance: &str,
        direction: &str,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let mut conn = self.lock()?;
        let limit = i64::from(limit);
        conn.query(
            "SELECT id, document FROM declarations
             WHERE provenance = $1 AND direction = $2 AND id > $3 ORDER BY id LIMIT $4",
            &[&provenance, &direction, &after_id, &limit],
        )
        .map_err(other("list mirror inputs"))?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
        .collect()
    }
}
