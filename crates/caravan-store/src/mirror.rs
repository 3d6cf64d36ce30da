//! What mirror matching needs from storage: a stored run with its links, findings and
//! mirror-gap aggregates (`spec/analytics.md`, mirror matching; issue 7).
//!
//! Why at this level: an analyst reviews a run long after it was computed, and a
//! finding sent to the partner must quote exactly what the run saw. So a run is stored
//! whole, in one transaction ([`MirrorStore::put_mirror_run`]): either every link,
//! finding and aggregate of it is visible or none is. Each link row carries its own
//! snapshot of the declarations it joins (as JSON written by the caller), so the
//! side-by-side view works even when the partner's declarations came from a file and
//! were never stored here. The store does not parse that JSON; it keeps the columns the
//! API filters on (pattern, HS6, direction) as plain columns. Times are Unix
//! milliseconds chosen by the caller.

use crate::StoreError;

/// A run as handed to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMirrorRun {
    /// When the run was computed (ms).
    pub created_at: u64,
    /// Where the export side came from (`node`, a file name, a store URL).
    pub exports_source: String,
    /// Where the import side came from.
    pub imports_source: String,
    /// Settings and per-direction counts, as JSON.
    pub summary: String,
    /// Links and unmatched legs, in run order (`seq` is the position).
    pub links: Vec<NewMirrorLink>,
    /// Findings; `link_seq` points into `links`.
    pub findings: Vec<NewMirrorFinding>,
    /// Aggregate rows.
    pub gaps: Vec<MirrorGap>,
}

/// One link (or one unmatched leg, tier `unmatched_export` / `unmatched_import`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMirrorLink {
    /// Direction label, exporter then importer (`US-UZ`).
    pub direction: String,
    /// `exact_ucr`, `fuzzy`, …, `unmatched_export`, `unmatched_import`.
    pub tier: String,
    /// `1:1`, `1:n`, `n:1`, `n:m`, or empty for an unmatched leg.
    pub cardinality: String,
    /// Link confidence in `[0, 1]`; `None` for an unmatched leg.
    pub confidence: Option<f64>,
    /// Headline HS6 (the first export item's, else the import's).
    pub hs6: Option<String>,
    /// Export-side LRNs, `;`-joined, for search and listing.
    pub export_lrns: String,
    /// Import-side LRNs, `;`-joined.
    pub import_lrns: String,
    /// Log value gap g, when both values are known.
    pub log_gap: Option<f64>,
    /// Highest score of the link's findings (0 without findings); the table's order.
    pub score: f64,
    /// Finding kinds on this link, distinct, sorted.
    pub flags: Vec<String>,
    /// The evidence for the link, as JSON.
    pub evidence: String,
    /// The discrepancy computed on it, as JSON.
    pub discrepancy: String,
    /// Snapshot of the export declarations, as JSON.
    pub exports: String,
    /// Snapshot of the import declarations, as JSON.
    pub imports: String,
}

/// One finding of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMirrorFinding {
    /// Position of its link (or unmatched leg) in [`NewMirrorRun::links`].
    pub link_seq: u32,
    /// Finding kind (`undervaluation`, …).
    pub kind: String,
    /// Score in `[0, 1]`.
    pub score: f64,
    /// Headline HS6.
    pub hs6: Option<String>,
    /// Declarations involved, as JSON (`[{reporter, declarant, lrn}]`).
    pub declarations: String,
    /// What fired, in words.
    pub detail: String,
}

/// One aggregate row (`group_by` is `partner`, `chapter`, `hs6` or `month`).
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorGap {
    /// Grouping.
    pub group_by: String,
    /// Direction label.
    pub direction: String,
    /// Group key (empty for `partner`).
    pub key: String,
    /// Links with a value gap.
    pub links: u64,
    /// Export legs without an import.
    pub unmatched_exports: u64,
    /// Import legs without an export.
    pub unmatched_imports: u64,
    /// Σ export FOB.
    pub export_fob: f64,
    /// Σ import FOB after CIF/FOB adjustment.
    pub import_fob: f64,
    /// Σ (import FOB − export FOB).
    pub gap: f64,
    /// Σ GFI quantity-weighted gap.
    pub weighted_gap: f64,
    /// Median log gap.
    pub median_log_gap: f64,
    /// Σ value of unmatched exports.
    pub unmatched_export_value: f64,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorRunRow {
    /// Run id.
    pub id: i64,
    /// When it was computed (ms).
    pub created_at: u64,
    /// Export side's source.
    pub exports_source: String,
    /// Import side's source.
    pub imports_source: String,
    /// Settings and counts (JSON).
    pub summary: String,
    /// Links and unmatched legs stored.
    pub links: u64,
    /// Findings stored.
    pub findings: u64,
}

/// A stored link.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorLinkRow {
    /// Link id, unique in the store.
    pub id: i64,
    /// Run.
    pub run_id: i64,
    /// Position in the run.
    pub seq: u32,
    /// The link as stored.
    pub link: NewMirrorLink,
}

/// A stored finding.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorFindingRow {
    /// Finding id, unique in the store.
    pub id: i64,
    /// Run.
    pub run_id: i64,
    /// Id of the link (or unmatched leg) it is anchored on.
    pub link_id: i64,
    /// The finding as stored.
    pub finding: NewMirrorFinding,
}

/// Filters of [`MirrorStore::mirror_links`]; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkFilter {
    /// Links carrying a finding of this kind.
    pub pattern: Option<String>,
    /// Links whose headline HS6 starts with this (2, 4 or 6 digits).
    pub hs: Option<String>,
    /// Links of this direction (`US-UZ`).
    pub direction: Option<String>,
    /// Only links with at least one finding.
    pub flagged_only: bool,
}

/// One page of links and the number of links matching the filter.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkPage {
    /// Matching links, highest score first, then run order.
    pub links: Vec<MirrorLinkRow>,
    /// Matching links in all pages.
    pub total: u64,
}

/// Mirror runs: store one whole, read it back for review.
pub trait MirrorStore: Send + Sync {
    /// Stores a run with all its links, findings and aggregates in one transaction and
    /// returns its id. A finding whose `link_seq` is outside the run is refused
    /// (`StoreError::Other`) and nothing is written.
    fn put_mirror_run(&self, run: &NewMirrorRun) -> Result<i64, StoreError>;

    /// Runs, newest first.
    fn mirror_runs(&self, limit: u32, offset: u32) -> Result<Vec<MirrorRunRow>, StoreError>;

    /// One run, or `NotFound`.
    fn mirror_run(&self, id: i64) -> Result<MirrorRunRow, StoreError>;

    /// A page of a run's links; `NotFound` when the run does not exist.
    fn mirror_links(
        &self,
        run_id: i64,
        filter: &LinkFilter,
        limit: u32,
        offset: u32,
    ) -> Result<LinkPage, StoreError>;

    /// One link by id, or `NotFound`.
    fn mirror_link(&self, id: i64) -> Result<MirrorLinkRow, StoreError>;

    /// The findings anchored on a link, highest score first.
    fn mirror_link_findings(&self, link_id: i64) -> Result<Vec<MirrorFindingRow>, StoreError>;

    /// One finding by id, or `NotFound`.
    fn mirror_finding(&self, id: i64) -> Result<MirrorFindingRow, StoreError>;

    /// A run's aggregate rows for one grouping, by direction and key; `NotFound` when
    /// the run does not exist.
    fn mirror_gaps(&self, run_id: i64, group_by: &str) -> Result<Vec<MirrorGap>, StoreError>;

    /// The input of node-mode matching: canonical documents of the stored declarations
    /// of one provenance (`local` filings, or `partner` data received by bulk exchange)
    /// and direction (`import`, `export`), with store id above `after_id`, ascending, at
    /// most `limit`. Paging by id never skips or repeats a row while ingests go on.
    fn mirror_inputs(
        &self,
        provenance: &str,
        direction: &str,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;
}

/// Checks what every backend refuses before writing anything.
pub fn check_run(run: &NewMirrorRun) -> Result<(), StoreError> {
    let n = run.links.len();
    if let Some(f) = run.findings.iter().find(|f| f.link_seq as usize >= n) {
        return Err(StoreError::Other(format!(
            "mirror finding points at link {} of a run with {n} links",
            f.link_seq
        )));
    }
    if let Some(g) = run
        .gaps
        .iter()
        .find(|g| !["partner", "chapter", "hs6", "month"].contains(&g.group_by.as_str()))
    {
        return Err(StoreError::Other(format!(
            "mirror gap grouping {:?} is not partner, chapter, hs6 or month",
            g.group_by
        )));
    }
    Ok(())
}

/// Stored form of [`NewMirrorLink::flags`]: `,a,b,` so that one `LIKE '%,kind,%'` finds
/// a kind exactly and never a kind that merely contains it.
pub fn flags_column(flags: &[String]) -> String {
    if flags.is_empty() {
        String::new()
    } else {
        format!(",{},", flags.join(","))
    }
}

/// The `AND …` conditions (after `run_id = <first placeholder − 1>`) and their text
/// parameters for a link filter; `placeholder(n)` spells the n-th bind parameter in the
/// backend's dialect (`?n` or `$n`). Kinds and HS prefixes match literally (`LIKE`
/// wildcards in them are escaped, with `ESCAPE '\'`).
pub fn filter_clause(
    filter: &LinkFilter,
    first: usize,
    placeholder: impl Fn(usize) -> String,
) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    if let Some(pattern) = &filter.pattern {
        values.push(format!("%,{}", like_prefix(&format!("{pattern},"))));
        let p = placeholder(first + values.len() - 1);
        sql.push_str(&format!(" AND flags LIKE {p} ESCAPE '\\'"));
    }
    if let Some(hs) = &filter.hs {
        values.push(like_prefix(hs));
        let p = placeholder(first + values.len() - 1);
        sql.push_str(&format!(" AND hs6 LIKE {p} ESCAPE '\\'"));
    }
    if let Some(direction) = &filter.direction {
        values.push(direction.clone());
        let p = placeholder(first + values.len() - 1);
        sql.push_str(&format!(" AND direction = {p}"));
    }
    if filter.flagged_only {
        sql.push_str(" AND flags <> ''");
    }
    (sql, values)
}

/// Reads [`flags_column`] back.
pub fn parse_flags(column: &str) -> Vec<String> {
    column
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `LIKE` pattern for a literal prefix: `%`, `_` and the escape character are escaped
/// with `\` (both backends are told `ESCAPE '\'`).
pub fn like_prefix(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len() + 1);
    for c in literal.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::{flags_column, like_prefix, parse_flags};

    #[test]
    fn flags_round_trip_and_delimit() {
        let flags = vec!["party_change".to_owned(), "undervaluation".to_owned()];
        let column = flags_column(&flags);
        assert_eq!(column, ",party_change,undervaluation,");
        assert_eq!(parse_flags(&column), flags);
        assert_eq!(flags_column(&[]), "");
        assert!(parse_flags("").is_empty());
    }

    #[test]
    fn like_prefix_escapes_wildcards() {
        assert_eq!(like_prefix("8703"), "8703%");
        assert_eq!(like_prefix("8_%\\"), "8\\_\\%\\\\%");
    }
}
