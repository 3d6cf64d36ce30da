//! Mirror matching at the node's edge: stored runs (`GET /api/v1/mirror/runs`), a run's
//! links filtered by pattern, HS and direction (`GET /api/v1/mirror/runs/{id}/links`), one
//! link with both sides' declarations and its discrepancies (`GET
//! /api/v1/mirror/links/{id}`), the mirror-gap aggregates (`GET /api/v1/mirror/gaps`), and
//! the analyst's pages: the table of links with their flags (`/ui/mirror`) and the
//! drill-down, export and import declarations side by side with the differences marked
//! (`/ui/mirror/links/{id}`).
//!
//! Why shaped so: runs are computed by `caravan mirror link` (or the demo) and stored
//! whole; this module only reads them, so a page never recomputes a linkage. Every view
//! shows partner data, so every one needs `RunAnalytics` and is audited with what was
//! shown. Query values are checked here and refused with `invalid_query` (400) naming the
//! parameter, so no input reaches the store unchecked and none answers 5xx.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use caravan_assistance::roles::Capability;
use caravan_mirror::findings::FindingKind;
use caravan_store::mirror::{LinkFilter, MirrorFindingRow, MirrorGap, MirrorLinkRow, MirrorRunRow};
use caravan_store::{Store, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::{ApiError, AppState, ErrorCode};

#[derive(Clone)]
struct MirrorState {
    store: Arc<dyn Store>,
    node_name: Arc<str>,
}

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    let state = MirrorState {
        store: state.store.clone(),
        node_name: state.node_name.clone(),
    };
    Router::new()
        .route("/api/v1/mirror/runs", get(api_runs))
        .route("/api/v1/mirror/runs/{id}/links", get(api_links))
        .route("/api/v1/mirror/links/{id}", get(api_link))
        .route("/api/v1/mirror/gaps", get(api_gaps))
        .route("/ui/mirror", get(page_links))
        .route("/ui/mirror/links/{id}", get(page_link))
        .with_state(state)
}

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::custom(StatusCode::BAD_REQUEST, "invalid_query", message)
}

fn not_found(what: &'static str) -> ApiError {
    ApiError::custom(StatusCode::NOT_FOUND, "not_found", what)
}

fn store_error(err: StoreError, missing: &'static str) -> ApiError {
    match err {
        StoreError::NotFound => not_found(missing),
        other => ApiError::new(ErrorCode::StoreUnavailable, other.to_string()),
    }
}

async fn blocking<T: Send + 'static>(
    missing: &'static str,
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
        .map_err(|err| store_error(err, missing))
}

/// A positive store id from a path segment.
fn parse_id(raw: &str, what: &'static str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| invalid(format!("{what} must be a positive whole number")))
}

fn parse_bounded(
    raw: Option<&str>,
    name: &'static str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ApiError> {
    match raw {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|v| range.contains(v))
            .ok_or_else(|| {
                invalid(format!(
                    "{name} must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ))
            }),
    }
}

/// Filters and paging of a links query, as sent.
#[derive(Debug, Default, Deserialize)]
struct LinksQuery {
    pattern: Option<String>,
    hs: Option<String>,
    direction: Option<String>,
    flagged: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    run: Option<String>,
    page: Option<String>,
}

/// A checked links query.
#[derive(Debug, Clone, PartialEq)]
struct LinksParams {
    filter: LinkFilter,
    limit: u32,
    offset: u32,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn check_direction(raw: &str) -> Result<String, ApiError> {
    let ok = raw.len() == 5
        && raw.as_bytes()[2] == b'-'
        && raw
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 2 || b.is_ascii_uppercase());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid(
            "direction must be exporter-importer as ISO 3166 alpha-2 codes, like US-UZ",
        ))
    }
}

fn links_params(q: &LinksQuery, page_size: Option<u32>) -> Result<LinksParams, ApiError> {
    let pattern = match nonempty(&q.pattern) {
        None => None,
        Some(p) => Some(
            FindingKind::parse(p)
                .ok_or_else(|| {
                    invalid(format!(
                        "pattern must be one of: {}",
                        FindingKind::ALL.map(FindingKind::as_str).join(", ")
                    ))
                })?
                .as_str()
                .to_owned(),
        ),
    };
    let hs = match nonempty(&q.hs) {
        None => None,
        Some(h) if (2..=6).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_digit()) => {
            Some(h.to_owned())
        }
        Some(_) => return Err(invalid("hs must be 2 to 6 digits of an HS code")),
    };
    let direction = nonempty(&q.direction).map(check_direction).transpose()?;
    let flagged_only = match nonempty(&q.flagged) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid("flagged must be true or false")),
    };
    let (limit, offset) = match page_size {
        None => (
            parse_bounded(q.limit.as_deref(), "limit", 50, 1..=500)?,
            parse_bounded(q.offset.as_deref(), "offset", 0, 0..=10_000_000)?,
        ),
        Some(size) => {
            let page = parse_bounded(q.page.as_deref(), "page", 1, 1..=100_000)?;
            (size, (page - 1) * size)
        }
    };
    Ok(LinksParams {
        filter: LinkFilter {
            pattern,
            hs,
            direction,
            flagged_only,
        },
        limit,
        offset,
    })
}

fn parse_json(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or(Value::Null)
}

fn run_json(r: &MirrorRunRow) -> Value {
    json!({
        "id": r.id,
        "created_at": r.created_at,
        "exports_source": r.exports_source,
        "imports_source": r.imports_source,
        "links": r.links,
        "findings": r.findings,
        "summary": parse_json(&r.summary),
    })
}

fn link_summary_json(l: &MirrorLinkRow) -> Value {
    json!({
        "id": l.id,
        "run": l.run_id,
        "seq": l.seq,
        "direction": l.link.direction,
        "tier": l.link.tier,
        "cardinality": l.link.cardinality,
        "confidence": l.link.confidence,
        "hs6": l.link.hs6,
        "export_lrns": split_lrns(&l.link.export_lrns),
        "import_lrns": split_lrns(&l.link.import_lrns),
        "log_gap": l.link.log_gap,
        "score": l.link.score,
        "flags": l.link.flags,
    })
}

fn finding_json(f: &MirrorFindingRow) -> Value {
    json!({
        "id": f.id,
        "kind": f.finding.kind,
        "score": f.finding.score,
        "hs6": f.finding.hs6,
        "declarations": parse_json(&f.finding.declarations),
        "detail": f.finding.detail,
    })
}

fn link_json(l: &MirrorLinkRow, findings: &[MirrorFindingRow]) -> Value {
    let mut v = link_summary_json(l);
    if let Value::Object(map) = &mut v {
        map.insert("evidence".into(), parse_json(&l.link.evidence));
        map.insert("discrepancy".into(), parse_json(&l.link.discrepancy));
        map.insert("exports".into(), parse_json(&l.link.exports));
        map.insert("imports".into(), parse_json(&l.link.imports));
        map.insert(
            "findings".into(),
            Value::from(findings.iter().map(finding_json).collect::<Vec<_>>()),
        );
    }
    v
}

fn gap_json(g: &MirrorGap) -> Value {
    json!({
        "direction": g.direction,
        "key": g.key,
        "links": g.links,
        "unmatched_exports": g.unmatched_exports,
        "unmatched_imports": g.unmatched_imports,
        "export_fob": g.export_fob,
        "import_fob": g.import_fob,
        "gap": g.gap,
        "weighted_gap": g.weighted_gap,
        "median_log_gap": g.median_log_gap,
        "unmatched_export_value": g.unmatched_export_value,
    })
}

fn split_lrns(joined: &str) -> Vec<&str> {
    joined.split(';').filter(|s| !s.is_empty()).collect()
}

#[derive(Debug, Default, Deserialize)]
struct RunsQuery {
    limit: Option<String>,
    offset: Option<String>,
}

async fn api_runs(
    State(state): State<MirrorState>,
    principal: Principal,
    Query(q): Query<RunsQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = parse_bounded(q.limit.as_deref(), "limit", 20, 1..=200)?;
    let offset = parse_bounded(q.offset.as_deref(), "offset", 0, 0..=1_000_000)?;
    principal
        .require(Capability::RunAnalytics, "mirror.runs.view", "runs")
        .await?;
    let store = state.store.clone();
    let runs = blocking("no such run", move || store.mirror_runs(limit, offset)).await?;
    principal
        .audit(
            "mirror.runs.view",
            "runs",
            json!({ "runs": runs.iter().map(|r| r.id).collect::<Vec<_>>() }),
        )
        .await?;
    Ok(Json(
        json!({ "runs": runs.iter().map(run_json).collect::<Vec<_>>() }),
    ))
}

/// One page of a run's links, after the permission check, audited.
async fn load_links(
    state: &MirrorState,
    principal: &Principal,
    run: i64,
    params: LinksParams,
) -> Result<(MirrorRunRow, caravan_store::mirror::LinkPage), ApiError> {
    let object = format!("run:{run}");
    principal
        .require(Capability::RunAnalytics, "mirror.links.view", &object)
        .await?;
    let store = state.store.clone();
    let filter = params.filter.clone();
    let (run_row, page) = blocking("no such mirror run", move || {
        let run_row = store.mirror_run(run)?;
        let page = store.mirror_links(run, &filter, params.limit, params.offset)?;
        Ok((run_row, page))
    })
    .await?;
    principal
        .audit(
            "mirror.links.view",
            &object,
            json!({
                "pattern": params.filter.pattern,
                "hs": params.filter.hs,
                "direction": params.filter.direction,
                "offset": params.offset,
                "links": page.links.iter().map(|l| l.id).collect::<Vec<_>>(),
            }),
        )
        .await?;
    Ok((run_row, page))
}

async fn api_links(
    State(state): State<MirrorState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<LinksQuery>,
) -> Result<Json<Value>, ApiError> {
    let run = parse_id(&id, "the run id")?;
    let params = links_params(&q, None)?;
    let (limit, offset) = (params.limit, params.offset);
    let (run_row, page) = load_links(&state, &principal, run, params).await?;
    Ok(Json(json!({
        "run": run_json(&run_row),
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "links": page.links.iter().map(link_summary_json).collect::<Vec<_>>(),
    })))
}

/// One link and its findings, after the permission check, audited.
async fn load_link(
    state: &MirrorState,
    principal: &Principal,
    raw_id: &str,
) -> Result<(MirrorLinkRow, Vec<MirrorFindingRow>), ApiError> {
    let id = parse_id(raw_id, "the link id")?;
    let object = format!("link:{id}");
    principal
        .require(Capability::RunAnalytics, "mirror.link.view", &object)
        .await?;
    let store = state.store.clone();
    let (link, findings) = blocking("no such mirror link", move || {
        let link = store.mirror_link(id)?;
        let findings = store.mirror_link_findings(id)?;
        Ok((link, findings))
    })
    .await?;
    principal
        .audit(
            "mirror.link.view",
            &object,
            json!({
                "run": link.run_id,
                "export_lrns": split_lrns(&link.link.export_lrns),
                "import_lrns": split_lrns(&link.link.import_lrns),
            }),
        )
        .await?;
    Ok((link, findings))
}

async fn api_link(
    State(state): State<MirrorState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (link, findings) = load_link(&state, &principal, &id).await?;
    Ok(Json(link_json(&link, &findings)))
}

#[derive(Debug, Default, Deserialize)]
struct GapsQuery {
    run: Option<String>,
    by: Option<String>,
}

async fn api_gaps(
    State(state): State<MirrorState>,
    principal: Principal,
    Query(q): Query<GapsQuery>,
) -> Result<Json<Value>, ApiError> {
    let run = nonempty(&q.run).map(|r| parse_id(r, "run")).transpose()?;
    let by = match nonempty(&q.by).unwrap_or("partner") {
        b @ ("partner" | "chapter" | "hs6" | "month") => b.to_owned(),
        _ => return Err(invalid("by must be partner, chapter, hs6 or month")),
    };
    principal
        .require(Capability::RunAnalytics, "mirror.gaps.view", "gaps")
        .await?;
    let store = state.store.clone();
    let group = by.clone();
    let (run_id, rows) = blocking("no such mirror run", move || {
        let run_id = match run {
            Some(r) => r,
            None => store
                .mirror_runs(1, 0)?
                .first()
                .map(|r| r.id)
                .ok_or(StoreError::NotFound)?,
        };
        Ok((run_id, store.mirror_gaps(run_id, &group)?))
    })
    .await?;
    principal
        .audit(
            "mirror.gaps.view",
            &format!("run:{run_id}"),
            json!({ "by": by, "rows": rows.len() }),
        )
        .await?;
    Ok(Json(json!({
        "run": run_id,
        "by": by,
        "rows": rows.iter().map(gap_json).collect::<Vec<_>>(),
    })))
}

fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => ApiError::new(ErrorCode::Internal, err.to_string()).into_response(),
    }
}

/// One row of the links table as the page shows it.
struct LinkLine {
    id: i64,
    direction: String,
    tier: String,
    cardinality: String,
    confidence: String,
    hs6: String,
    exports: String,
    imports: String,
    log_gap: String,
    score: String,
    flags: Vec<String>,
}

#[derive(Template)]
#[template(path = "mirror/links.html")]
struct LinksPage<'a> {
    node_name: &'a str,
    run: Option<RunLine>,
    runs: Vec<RunLine>,
    lines: Vec<LinkLine>,
    total: u64,
    first: u64,
    last: u64,
    page: u32,
    previous: Option<String>,
    next: Option<String>,
    kinds: Vec<&'static str>,
    pattern: String,
    hs: String,
    direction: String,
    flagged: bool,
    /// Trade flow by month and gaps by HS chapter, as SVG charts (`crate::chart`).
    charts: Vec<String>,
}

struct RunLine {
    id: i64,
    created: String,
    sources: String,
    links: u64,
    findings: u64,
}

fn run_line(r: &MirrorRunRow) -> RunLine {
    let created = chrono_ms(r.created_at);
    RunLine {
        id: r.id,
        created,
        sources: format!(
            "exports {} · imports {}",
            r.exports_source, r.imports_source
        ),
        links: r.links,
        findings: r.findings,
    }
}

/// `YYYY-MM-DD HH:MM UTC` of a Unix-millisecond time, without a date library.
fn chrono_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{d:02} {h:02}:{m:02} UTC")
}

fn query_string(pairs: &[(&str, String)]) -> String {
    let encode = |v: &str| -> String {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

const PAGE_SIZE: u32 = 50;

async fn page_links(
    State(state): State<MirrorState>,
    principal: Principal,
    Query(q): Query<LinksQuery>,
) -> Result<Response, ApiError> {
    let params = links_params(&q, Some(PAGE_SIZE))?;
    let run = nonempty(&q.run).map(|r| parse_id(r, "run")).transpose()?;
    principal
        .require(Capability::RunAnalytics, "mirror.runs.view", "runs")
        .await?;
    let store = state.store.clone();
    let runs = blocking("no such run", move || store.mirror_runs(20, 0)).await?;
    let run = run.or_else(|| runs.first().map(|r| r.id));
    let page_no = params.offset / PAGE_SIZE + 1;
    let filter = params.filter.clone();
    let (run_row, page) = match run {
        Some(run) => {
            let (r, p) = load_links(&state, &principal, run, params).await?;
            (Some(r), Some(p))
        }
        None => (None, None),
    };
    let total = page.as_ref().map_or(0, |p| p.total);
    let shown = page.as_ref().map_or(0, |p| p.links.len()) as u64;
    let first = if shown == 0 {
        0
    } else {
        u64::from((page_no - 1) * PAGE_SIZE) + 1
    };
    let link_to = |n: u32| {
        format!(
            "/ui/mirror?{}",
            query_string(&[
                ("run", run.map(|r| r.to_string()).unwrap_or_default()),
                ("pattern", filter.pattern.clone().unwrap_or_default()),
                ("hs", filter.hs.clone().unwrap_or_default()),
                ("direction", filter.direction.clone().unwrap_or_default()),
                (
                    "flagged",
                    if filter.flagged_only {
                        "true".into()
                    } else {
                        String::new()
                    }
                ),
                ("page", n.to_string()),
            ])
        )
    };
    let lines = page
        .as_ref()
        .map(|p| {
            p.links
                .iter()
                .map(|l| LinkLine {
                    id: l.id,
                    direction: l.link.direction.clone(),
                    tier: l.link.tier.replace('_', " "),
                    cardinality: l.link.cardinality.clone(),
                    confidence: l
                        .link
                        .confidence
                        .map(|c| format!("{c:.3}"))
                        .unwrap_or_default(),
                    hs6: l.link.hs6.clone().unwrap_or_default(),
                    exports: split_lrns(&l.link.export_lrns).join(", "),
                    imports: split_lrns(&l.link.import_lrns).join(", "),
                    log_gap: l
                        .link
                        .log_gap
                        .map(|g| format!("{g:+.3}"))
                        .unwrap_or_default(),
                    score: if l.link.flags.is_empty() {
                        String::new()
                    } else {
                        format!("{:.2}", l.link.score)
                    },
                    flags: l.link.flags.iter().map(|f| f.replace('_', " ")).collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let charts = match run {
        Some(run) => gap_charts(&state, &principal, run).await?,
        None => Vec::new(),
    };
    Ok(render(&LinksPage {
        charts,
        node_name: &state.node_name,
        run: run_row.as_ref().map(run_line),
        runs: runs.iter().map(run_line).collect(),
        lines,
        total,
        first,
        last: first + shown.saturating_sub(1),
        page: page_no,
        previous: (page_no > 1).then(|| link_to(page_no - 1)),
        next: (u64::from(page_no * PAGE_SIZE) < total).then(|| link_to(page_no + 1)),
        kinds: FindingKind::ALL.map(FindingKind::as_str).to_vec(),
        pattern: filter.pattern.unwrap_or_default(),
        hs: filter.hs.unwrap_or_default(),
        direction: filter.direction.unwrap_or_default(),
        flagged: filter.flagged_only,
    }))
}

/// The run's trade flow by month (each direction's export FOB and CIF/FOB-adjusted import
/// FOB) and its value gaps by HS chapter (the 20 largest in absolute value), as charts.
async fn gap_charts(
    state: &MirrorState,
    principal: &Principal,
    run: i64,
) -> Result<Vec<String>, ApiError> {
    use crate::chart::{Bar, BarChart, Labels, LineChart, Series, bar_chart, line_chart};
    let store = state.store.clone();
    let (months, chapters) = blocking("no such mirror run", move || {
        Ok((
            store.mirror_gaps(run, "month")?,
            store.mirror_gaps(run, "chapter")?,
        ))
    })
    .await?;
    principal
        .audit(
            "mirror.gaps.view",
            &format!("run:{run}"),
            json!({ "by": ["month", "chapter"], "page": "ui" }),
        )
        .await?;
    // "YYYY-MM" as the first day of the month, Unix ms.
    let month_ms = |key: &str| {
        chrono::NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis() as f64)
    };
    let mut series: Vec<Series> = Vec::new();
    let mut directions: Vec<&str> = months.iter().map(|g| g.direction.as_str()).collect();
    directions.sort_unstable();
    directions.dedup();
    for direction in directions {
        let mut exports = Vec::new();
        let mut imports = Vec::new();
        for g in months.iter().filter(|g| g.direction == direction) {
            if let Some(x) = month_ms(&g.key) {
                exports.push((x, g.export_fob));
                imports.push((x, g.import_fob));
            }
        }
        exports.sort_by(|a, b| a.0.total_cmp(&b.0));
        imports.sort_by(|a, b| a.0.total_cmp(&b.0));
        series.push(Series {
            label: crate::i18n::t1("chart-exports-fob", "direction", direction),
            points: exports,
        });
        series.push(Series {
            label: crate::i18n::t1("chart-imports-fob", "direction", direction),
            points: imports,
        });
    }
    let month_label = |ms: f64| {
        chrono::DateTime::from_timestamp_millis(ms as i64)
            .map(|t| t.format("%Y-%m").to_string())
            .unwrap_or_default()
    };
    let mut by_chapter: BTreeMap<String, f64> = BTreeMap::new();
    for g in &chapters {
        *by_chapter.entry(g.key.clone()).or_default() += g.gap;
    }
    let mut bars: Vec<Bar> = by_chapter
        .into_iter()
        .map(|(chapter, gap)| Bar {
            label: chapter,
            value: gap,
            reference: None,
        })
        .collect();
    bars.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    bars.truncate(20);
    bars.sort_by(|a, b| a.label.cmp(&b.label));
    let mut charts = Vec::new();
    if !series.is_empty() {
        charts.push(line_chart(&LineChart {
            labels: Labels {
                id: "trade-flow",
                title: crate::i18n::t("chart-flow-title"),
                description: crate::i18n::t("chart-flow-description"),
                x_label: crate::i18n::t("chart-month"),
                y_label: crate::i18n::t("chart-value-base"),
            },
            series,
            x_format: &month_label,
        }));
    }
    if !bars.is_empty() {
        charts.push(bar_chart(&BarChart {
            labels: Labels {
                id: "gaps-by-chapter",
                title: crate::i18n::t("chart-gaps-title"),
                description: crate::i18n::t("chart-gaps-description"),
                x_label: crate::i18n::t("chart-hs-chapter"),
                y_label: crate::i18n::t("chart-gap-base"),
            },
            reference_label: None,
            bars,
        }));
    }
    Ok(charts)
}

/// One compared field of the drill-down: each side's value and whether they differ.
struct Compared {
    field: &'static str,
    export: String,
    import: String,
    differs: bool,
}

/// Distinct non-empty strings of `key` over legs (top-level) or their items.
fn strings(legs: &Value, key: &str, items: bool) -> Vec<String> {
    let mut out = BTreeSet::new();
    let mut take = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => {
            out.insert(s.clone());
        }
        Value::Array(a) => {
            for s in a.iter().filter_map(Value::as_str).filter(|s| !s.is_empty()) {
                out.insert(s.to_owned());
            }
        }
        _ => {}
    };
    for leg in legs.as_array().into_iter().flatten() {
        if items {
            for item in leg["items"].as_array().into_iter().flatten() {
                take(&item[key]);
            }
        } else {
            take(&leg[key]);
        }
    }
    out.into_iter().collect()
}

/// Sum of a numeric item field over legs; `None` when no item states it.
fn item_sum(legs: &Value, key: &str) -> Option<f64> {
    let values: Vec<f64> = legs
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|leg| leg["items"].as_array().into_iter().flatten())
        .filter_map(|item| item[key].as_f64())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// Party names on the two sides match when every name on one side has a counterpart on
/// the other at the mirror engine's own name similarity (legal forms, case, spacing and
/// transliteration do not count as differences).
fn names_match(x: &[String], m: &[String]) -> bool {
    use caravan_mirror::similarity::{NameSimilarity, TokenSimilarity};
    const SAME_NAME: f64 = 0.85;
    let names = TokenSimilarity;
    let (x, m): (Vec<String>, Vec<String>) = (
        x.iter().map(|n| names.normalise(n)).collect(),
        m.iter().map(|n| names.normalise(n)).collect(),
    );
    let covered = |a: &[String], b: &[String]| {
        a.iter()
            .all(|p| b.iter().any(|q| names.similarity(p, q) >= SAME_NAME))
    };
    covered(&x, &m) && covered(&m, &x)
}

/// Fields of the two sides compared. Reference numbers and dates always differ between
/// administrations, so they are shown but never marked; codes and names are marked when
/// both sides state them and they differ; totals when they differ by more than 2 %.
fn compare(exports: &Value, imports: &Value) -> Vec<Compared> {
    let mut rows = Vec::new();
    let mut text = |field: &'static str, key: &str, items: bool, marked: bool, names: bool| {
        let (x, m) = (strings(exports, key, items), strings(imports, key, items));
        let differs = marked
            && !x.is_empty()
            && !m.is_empty()
            && if names { !names_match(&x, &m) } else { x != m };
        rows.push(Compared {
            field,
            export: x.join(", "),
            import: m.join(", "),
            differs,
        });
    };
    text("Declaration (LRN)", "lrn", false, false, false);
    text("MRN", "mrn", false, false, false);
    text("Date", "date", false, false, false);
    text("Transport mode", "mode", false, true, false);
    text("UCR", "ucr", false, true, false);
    text(
        "Transport documents",
        "transport_documents",
        false,
        true,
        false,
    );
    text("Containers", "containers", false, true, false);
    text("Invoice", "invoice", false, true, false);
    text("Exporter / seller", "exporter", false, true, true);
    text("Importer", "importer", false, true, true);
    text("Consignee", "consignee", false, true, true);
    text("Dispatch country", "dispatch", false, true, false);
    text("Destination country", "destination", false, true, false);
    text("Routing", "routing", false, true, false);
    text("HS6", "hs6", true, true, false);
    text("Origin", "origin", true, true, false);
    text("Currency", "currency", true, false, false);
    for (field, key) in [
        ("Net mass (kg)", "net_mass"),
        ("Gross mass (kg)", "gross_mass"),
        ("Packages", "packages"),
        ("Invoice value (declared currency)", "value"),
    ] {
        let (x, m) = (item_sum(exports, key), item_sum(imports, key));
        let differs = match (x, m) {
            (Some(x), Some(m)) => (x - m).abs() > 0.02 * x.abs().max(m.abs()),
            _ => false,
        };
        let show = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
        rows.push(Compared {
            field,
            export: show(x),
            import: show(m),
            differs,
        });
    }
    rows
}

/// A named value of the discrepancy or the evidence, as text.
struct Fact {
    name: String,
    value: String,
}

fn facts(v: &Value) -> Vec<Fact> {
    let show = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n
            .as_f64()
            .map(|f| {
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{f:.0}")
                } else {
                    format!("{f:.4}")
                }
            })
            .unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    };
    match v {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| k.as_str() != "issues" && k.as_str() != "hs")
            .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
            .map(|(k, v)| Fact {
                name: k.replace('_', " "),
                value: match v {
                    Value::Array(a) => a.iter().map(show).collect::<Vec<_>>().join(", "),
                    other => show(other),
                },
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[derive(Template)]
#[template(path = "mirror/link.html")]
struct LinkPage<'a> {
    node_name: &'a str,
    id: i64,
    run: i64,
    direction: String,
    tier: String,
    cardinality: String,
    confidence: String,
    compared: Vec<Compared>,
    discrepancy: Vec<Fact>,
    hs: Vec<Fact>,
    issues: Vec<Fact>,
    evidence: Vec<Fact>,
    findings: Vec<(i64, String, String, String)>,
}

async fn page_link(
    State(state): State<MirrorState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (link, findings) = load_link(&state, &principal, &id).await?;
    let exports = parse_json(&link.link.exports);
    let imports = parse_json(&link.link.imports);
    let discrepancy = parse_json(&link.link.discrepancy);
    let hs = discrepancy["hs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| Fact {
            name: format!(
                "{} → {}",
                h["export_hs6"].as_str().unwrap_or(""),
                h["import_hs6"].as_str().unwrap_or("")
            ),
            value: format!(
                "{} digits in common{}",
                h["common_digits"],
                if h["lower_duty_sibling"] == Value::Bool(true) {
                    "; shifted into a lower-duty sibling"
                } else {
                    ""
                }
            ),
        })
        .collect();
    let issues = discrepancy["issues"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| Fact {
            name: format!(
                "{} {}",
                i["declaration"]["lrn"].as_str().unwrap_or(""),
                i["code"].as_str().unwrap_or("")
            ),
            value: i["message"].as_str().unwrap_or("").to_owned(),
        })
        .collect();
    let evidence = parse_json(&link.link.evidence)
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let mut f = facts(e);
            let kind = f
                .iter()
                .position(|x| x.name == "type")
                .map(|p| f.remove(p).value)
                .unwrap_or_default();
            Fact {
                name: kind.replace('_', " "),
                value: f
                    .iter()
                    .map(|x| format!("{} {}", x.name, x.value))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })
        .collect();
    Ok(render(&LinkPage {
        node_name: &state.node_name,
        id: link.id,
        run: link.run_id,
        direction: link.link.direction.clone(),
        tier: link.link.tier.replace('_', " "),
        cardinality: link.link.cardinality.clone(),
        confidence: link
            .link
            .confidence
            .map(|c| format!("{c:.3}"))
            .unwrap_or_else(|| "no counterpart".into()),
        compared: compare(&exports, &imports),
        discrepancy: facts(&discrepancy),
        hs,
        issues,
        evidence,
        findings: findings
            .iter()
            .map(|f| {
                (
                    f.id,
                    f.finding.kind.replace('_', " "),
                    format!("{:.2}", f.finding.score),
                    f.finding.detail.clone(),
                )
            })
            .collect(),
    }))
}

/// The OpenAPI 3.1 fragment of this module's API.
pub fn openapi() -> Value {
    let ok = |schema: &str| json!({ "description": "OK", "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
    let errors = |not_found: bool| {
        let mut r = json!({
            "400": { "$ref": "#/components/responses/BadRequest" },
            "401": { "$ref": "#/components/responses/Unauthenticated" },
            "403": { "$ref": "#/components/responses/Forbidden" },
            "503": { "$ref": "#/components/responses/Unavailable" },
        });
        if not_found {
            r["404"] = json!({ "$ref": "#/components/responses/NotFound" });
        }
        r
    };
    let with = |ok_schema: &str, not_found: bool| {
        let mut r = errors(not_found);
        r["200"] = ok(ok_schema);
        r
    };
    let param = |name: &str, location: &str, description: &str, schema: Value| json!({ "name": name, "in": location, "required": location == "path", "description": description, "schema": schema });
    let number = json!({ "type": "number" });
    let opt_number = json!({ "type": ["number", "null"] });
    let opt_string = json!({ "type": ["string", "null"] });
    let kinds: Vec<&str> = FindingKind::ALL.map(FindingKind::as_str).to_vec();
    let link_summary_props = json!({
        "id": { "type": "integer" },
        "run": { "type": "integer" },
        "seq": { "type": "integer" },
        "direction": { "type": "string", "description": "Exporter-importer, e.g. US-UZ" },
        "tier": { "type": "string", "description": "shared_reference, transport_reference, commercial_reference, fuzzy, unmatched_export or unmatched_import" },
        "cardinality": { "type": "string" },
        "confidence": opt_number,
        "hs6": opt_string,
        "export_lrns": { "type": "array", "items": { "type": "string" } },
        "import_lrns": { "type": "array", "items": { "type": "string" } },
        "log_gap": opt_number,
        "score": number,
        "flags": { "type": "array", "items": { "type": "string", "enum": kinds } },
    });
    let mut link_props = link_summary_props.clone();
    for (k, v) in [
        (
            "evidence",
            json!({ "type": "array", "items": { "type": "object" }, "description": "Shared keys, field similarities, date gap and quantities behind the link" }),
        ),
        (
            "discrepancy",
            json!({ "type": ["object", "null"], "description": "Values after CIF/FOB adjustment and conversion, quantities, HS, origin, parties, route and per-record data issues; null for an unmatched leg" }),
        ),
        (
            "exports",
            json!({ "type": "array", "items": { "type": "object" }, "description": "The export declarations as the run saw them" }),
        ),
        (
            "imports",
            json!({ "type": "array", "items": { "type": "object" }, "description": "The import declarations as the run saw them" }),
        ),
        (
            "findings",
            json!({ "type": "array", "items": { "$ref": "#/components/schemas/MirrorFinding" } }),
        ),
    ] {
        link_props[k] = v;
    }
    json!({
        "paths": {
            "/api/v1/mirror/runs": { "get": {
                "summary": "Stored mirror-matching runs, newest first",
                "tags": ["mirror"],
                "parameters": [
                    param("limit", "query", "1 to 200 (default 20)", json!({ "type": "integer", "minimum": 1, "maximum": 200 })),
                    param("offset", "query", "0 to 1,000,000", json!({ "type": "integer", "minimum": 0, "maximum": 1_000_000 })),
                ],
                "responses": with("MirrorRuns", false),
            }},
            "/api/v1/mirror/runs/{id}/links": { "get": {
                "summary": "A run's links and unmatched legs, highest finding score first",
                "tags": ["mirror"],
                "parameters": [
                    param("id", "path", "Run id", json!({ "type": "integer", "minimum": 1 })),
                    param("pattern", "query", "Only links with a finding of this kind", json!({ "type": "string", "enum": kinds })),
                    param("hs", "query", "Only links whose HS6 starts with these 2 to 6 digits", json!({ "type": "string", "pattern": "^[0-9]{2,6}$" })),
                    param("direction", "query", "Only this direction", json!({ "type": "string", "pattern": "^[A-Z]{2}-[A-Z]{2}$" })),
                    param("flagged", "query", "Only links with at least one finding", json!({ "type": "string", "enum": ["true", "false"] })),
                    param("limit", "query", "1 to 500 (default 50)", json!({ "type": "integer", "minimum": 1, "maximum": 500 })),
                    param("offset", "query", "0 to 10,000,000", json!({ "type": "integer", "minimum": 0, "maximum": 10_000_000 })),
                ],
                "responses": with("MirrorLinkPage", true),
            }},
            "/api/v1/mirror/links/{id}": { "get": {
                "summary": "One link: both sides' declarations, its discrepancies, evidence and findings",
                "tags": ["mirror"],
                "parameters": [ param("id", "path", "Link id", json!({ "type": "integer", "minimum": 1 })) ],
                "responses": with("MirrorLink", true),
            }},
            "/api/v1/mirror/gaps": { "get": {
                "summary": "Mirror gaps (GFI quantity-weighted) of a run by partner, HS chapter, HS6 or month",
                "tags": ["mirror"],
                "parameters": [
                    param("run", "query", "Run id (default: the newest run)", json!({ "type": "integer", "minimum": 1 })),
                    param("by", "query", "Grouping (default partner)", json!({ "type": "string", "enum": ["partner", "chapter", "hs6", "month"] })),
                ],
                "responses": with("MirrorGaps", true),
            }},
        },
        "components": { "schemas": {
            "MirrorRun": { "type": "object", "required": ["id", "created_at", "links", "findings"], "properties": {
                "id": { "type": "integer" },
                "created_at": { "type": "integer", "description": "Unix milliseconds" },
                "exports_source": { "type": "string" },
                "imports_source": { "type": "string" },
                "links": { "type": "integer" },
                "findings": { "type": "integer" },
                "summary": { "type": ["object", "null"], "description": "Per-direction counts and the comparison currency" },
            }},
            "MirrorRuns": { "type": "object", "required": ["runs"], "properties": {
                "runs": { "type": "array", "items": { "$ref": "#/components/schemas/MirrorRun" } },
            }},
            "MirrorLinkSummary": { "type": "object", "required": ["id", "run", "direction", "tier", "score", "flags"], "properties": link_summary_props },
            "MirrorLinkPage": { "type": "object", "required": ["run", "total", "links"], "properties": {
                "run": { "$ref": "#/components/schemas/MirrorRun" },
                "total": { "type": "integer" },
                "limit": { "type": "integer" },
                "offset": { "type": "integer" },
                "links": { "type": "array", "items": { "$ref": "#/components/schemas/MirrorLinkSummary" } },
            }},
            "MirrorFinding": { "type": "object", "required": ["id", "kind", "score"], "properties": {
                "id": { "type": "integer", "description": "Pass to `caravan mirror share --finding`" },
                "kind": { "type": "string", "enum": kinds },
                "score": number,
                "hs6": opt_string,
                "declarations": { "type": ["array", "null"], "items": { "type": "object" } },
                "detail": { "type": "string" },
            }},
            "MirrorLink": { "type": "object", "required": ["id", "run", "direction", "tier", "exports", "imports", "findings"], "properties": link_props },
            "MirrorGapRow": { "type": "object", "properties": {
                "direction": { "type": "string" },
                "key": { "type": "string", "description": "Chapter, HS6 or month (YYYY-MM); empty by partner" },
                "links": { "type": "integer" },
                "unmatched_exports": { "type": "integer" },
                "unmatched_imports": { "type": "integer" },
                "export_fob": number,
                "import_fob": number,
                "gap": number,
                "weighted_gap": number,
                "median_log_gap": number,
                "unmatched_export_value": number,
            }},
            "MirrorGaps": { "type": "object", "required": ["run", "by", "rows"], "properties": {
                "run": { "type": "integer" },
                "by": { "type": "string" },
                "rows": { "type": "array", "items": { "$ref": "#/components/schemas/MirrorGapRow" } },
            }},
        }},
    })
}

#[cfg(test)]
mod tests {
    use super::{LinksQuery, chrono_ms, compare, links_params};
    use serde_json::json;

    #[test]
    fn civil_dates_of_unix_milliseconds() {
        assert_eq!(chrono_ms(0), "1970-01-01 00:00 UTC");
        assert_eq!(chrono_ms(1_709_251_199_000), "2024-02-29 23:59 UTC");
        assert_eq!(chrono_ms(1_735_689_600_000), "2025-01-01 00:00 UTC");
    }

    #[test]
    fn query_values_are_checked() {
        let q = |pattern: &str, hs: &str, direction: &str| LinksQuery {
            pattern: Some(pattern.into()),
            hs: Some(hs.into()),
            direction: Some(direction.into()),
            ..LinksQuery::default()
        };
        let ok = links_params(&q("undervaluation", "6109", "US-UZ"), None).unwrap();
        assert_eq!(ok.filter.pattern.as_deref(), Some("undervaluation"));
        assert_eq!((ok.limit, ok.offset), (50, 0));
        for bad in [
            q("valuation", "", ""),
            q("", "6", ""),
            q("", "6109101", ""),
            q("", "61%", ""),
            q("", "", "us-uz"),
            q("", "", "USA-UZ"),
        ] {
            assert_eq!(
                links_params(&bad, None).unwrap_err().code(),
                "invalid_query"
            );
        }
        let paged = LinksQuery {
            page: Some("3".into()),
            ..LinksQuery::default()
        };
        let p = links_params(&paged, Some(50)).unwrap();
        assert_eq!((p.limit, p.offset), (50, 100));
    }

    #[test]
    fn comparison_marks_changed_codes_and_totals_but_not_references() {
        let x = json!([{ "lrn": "EX-1", "date": "2024-03-01", "exporter": "Samarqand Tekstil MChJ",
            "items": [{ "hs6": "520512", "origin": "UZ", "net_mass": 1000.0 }] }]);
        let m = json!([{ "lrn": "IM-9", "date": "2024-03-20", "exporter": "SAMARQAND  TEKSTIL mchj",
            "items": [{ "hs6": "520511", "origin": "CN", "net_mass": 990.0 }, { "hs6": "520511", "net_mass": 300.0 }] }]);
        let rows = compare(&x, &m);
        let row = |f: &str| rows.iter().find(|r| r.field == f).unwrap();
        assert!(!row("Declaration (LRN)").differs);
        assert!(!row("Date").differs);
        assert!(!row("Exporter / seller").differs);
        assert!(row("HS6").differs);
        assert!(row("Origin").differs);
        assert!(row("Net mass (kg)").differs);
        assert_eq!(row("Net mass (kg)").import, "1290.00");
        assert!(!row("Containers").differs);
    }
}
