//! `caravan screen load|run|hits|decide`: screening inside the node, against the lists and
//! declarations in its store (screening spec §1, §8), and the demo's screening stage.
//!
//! Why this is the edge and not the engine: reading files and the store, reading the
//! clock, fanning work out over threads and writing audit rows are IO; `caravan-screen`
//! stays pure. Each user action is one store transaction: a list load stores the version,
//! its entries, its delta and the delta re-screen's hits at once (a refused file writes
//! nothing, so the previous version stays active); a run stores its parties and hits at
//! once; a disposition is appended with its hit's new status at once. Each is audited as
//! the local operator (`cli:<OS user>`).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use caravan_screen::delta::{ListDelta, diff, rescreen};
use caravan_screen::disposition::{DeclaredParty, check_reason};
use caravan_screen::index::ScreenIndex;
use caravan_screen::model::{ListVersion, ScreeningList, hex};
use caravan_screen::parse::{ftm, lookout_csv, ofac_csv, un_xml};
use caravan_screen::score::ScoreConfig;
use caravan_screen::screen::{Hit, ScreenedParty, Screener};
use caravan_screen::stored::{entry_to_json, explanation_json, list_from_stored, round4};
use caravan_store::Store;
use caravan_store::access::{AuditEvent, AuditOutcome};
use caravan_store::screen::{
    Change, Decision, DispositionRecord, HitFilter, HitRecord, HitRow, HitStatus, ListLoad,
    LoadSummary, PartyFacts, RunSummary, ScreenRunRecord, StoredEntry,
};
use caravan_web::auth::now_ms;

use crate::backend::open_store;
use crate::cli::{ScreenDecideArgs, ScreenHitsArgs, ScreenLoadArgs, ScreenRunArgs};

/// The list formats a node loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// OFAC SDN legacy CSV (`sdn.csv`, with `alt.csv` and `add.csv` beside it).
    Ofac,
    /// UN Security Council consolidated XML.
    Un,
    /// OpenSanctions FollowTheMoney JSON lines.
    Ftm,
    /// Caravan lookout CSV.
    Lookout,
}

impl Source {
    /// Parses `--source`.
    pub(crate) fn parse(text: &str) -> anyhow::Result<Source> {
        Ok(match text {
            "ofac" => Source::Ofac,
            "un" => Source::Un,
            "ftm" => Source::Ftm,
            "lookout" => Source::Lookout,
            other => bail!("--source {other:?}: one of ofac, un, ftm, lookout"),
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Source::Ofac => "ofac",
            Source::Un => "un",
            Source::Ftm => "ftm",
            Source::Lookout => "lookout",
        }
    }

    /// The format a file name implies, as `caravan screen lists` reads it.
    fn infer(path: &Path) -> anyhow::Result<Source> {
        let name = file_name(path);
        Ok(if name == "sdn.csv" {
            Source::Ofac
        } else if name.ends_with(".xml") {
            Source::Un
        } else if name.ends_with(".json") || name.ends_with(".jsonl") {
            Source::Ftm
        } else if name.ends_with(".csv") {
            Source::Lookout
        } else {
            bail!(
                "{}: cannot tell the list format from the name; give --source ofac|un|ftm|lookout",
                path.display()
            )
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Parses one list file in `source`'s format. Nothing is stored: a refusal names its code
/// (`LIST_TRUNCATED`, `LIST_WRONG_FORMAT`, …) and the active version stays as it is.
pub(crate) fn parse_list(path: &Path, source: Source) -> anyhow::Result<ScreeningList> {
    let fetched_at = super::now().map_or_else(|| "unknown".to_owned(), |t| t.to_rfc3339());
    let bytes = read(path)?;
    let parsed = match source {
        Source::Ofac => {
            let sibling = |file: &str| -> anyhow::Result<Option<Vec<u8>>> {
                let beside = path.with_file_name(file);
                beside.exists().then(|| read(&beside)).transpose()
            };
            let (alt, add) = (sibling("alt.csv")?, sibling("add.csv")?);
            ofac_csv::parse(&bytes, alt.as_deref(), add.as_deref(), &fetched_at)
        }
        Source::Un => un_xml::parse(&bytes, &fetched_at),
        Source::Ftm => {
            let name = file_name(path);
            let list_id = name.split('.').next().unwrap_or("opensanctions").to_owned();
            ftm::parse(&bytes, &list_id, &fetched_at)
        }
        Source::Lookout => lookout_csv::parse(&bytes, &fetched_at),
    };
    parsed.with_context(|| {
        format!(
            "{} refused; nothing was stored and the active version is unchanged",
            path.display()
        )
    })
}

/// The local operator as the audit trail names them.
pub(super) fn operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Writes one allowed action of `account` to the audit trail.
pub(super) fn audit(
    store: &dyn Store,
    account: &str,
    action: &str,
    object: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    store
        .append_audit(&AuditEvent {
            at: now_ms(),
            account: account.to_owned(),
            role: "operator".to_owned(),
            action: action.to_owned(),
            object: object.to_owned(),
            outcome: AuditOutcome::Allowed,
            code: None,
            detail: detail.to_string(),
        })
        .context("write the audit trail")?;
    Ok(())
}

pub(super) fn now() -> u64 {
    u64::try_from(now_ms()).unwrap_or(0)
}

/// A stored party as the screener takes it, with its key and digest.
fn declared(facts: &PartyFacts) -> DeclaredParty {
    DeclaredParty {
        role: facts.role.clone(),
        name: facts.name.clone(),
        country: facts.country.clone(),
        id_scheme: facts.id_scheme.clone(),
        id_value: facts.id_value.clone(),
    }
}

fn facts(party: &DeclaredParty) -> PartyFacts {
    PartyFacts {
        party_key: party.key(),
        digest: party.digest(),
        role: party.role.clone(),
        name: party.name.clone(),
        country: party.country.clone(),
        id_scheme: party.id_scheme.clone(),
        id_value: party.id_value.clone(),
    }
}

fn hit_record(party: &PartyFacts, hit: &Hit, config: &ScoreConfig) -> anyhow::Result<HitRecord> {
    let mut entry_hash = [0u8; 32];
    let bytes = (0..hit.entry_content_hash.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hit.entry_content_hash[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .context("a hit's entry hash is not hex")?;
    if bytes.len() != 32 {
        bail!("a hit's entry hash is not 32 bytes");
    }
    entry_hash.copy_from_slice(&bytes);
    Ok(HitRecord {
        party_key: party.party_key.clone(),
        party_digest: party.digest,
        list_id: hit.list_id.clone(),
        entry_id: hit.entry_id.clone(),
        entry_hash,
        matched_name: hit.matched_name.clone(),
        score: round4(hit.score),
        band: hit.band.as_str().to_owned(),
        explanation: explanation_json(hit, config).to_string(),
    })
}

/// Screens parties on every core; hits per party, in party order.
fn screen_all(screener: &Screener, parties: &[ScreenedParty]) -> Vec<Vec<Hit>> {
    let n_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = parties.len().div_ceil(n_threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = parties
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut scratch = screener.index.scratch();
                    part.iter()
                        .map(|p| screener.screen(p, &mut scratch).unwrap_or_default())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// What loading one list version did.
pub(crate) struct LoadReport {
    /// The version's list id.
    pub list_id: String,
    /// `None` when the same bytes were already the active version.
    pub stored: Option<(ListDelta, LoadSummary)>,
}

/// Stores `list` as the new active version of its list: the delta against the active one,
/// every known party re-screened against the added and changed entries only, in one
/// transaction.
pub(crate) fn load_list(
    store: &dyn Store,
    list: &ScreeningList,
    source: Source,
    config: &ScoreConfig,
) -> anyhow::Result<LoadReport> {
    let list_id = list.version.list_id.clone();
    let active = store.screen_active_list(&list_id)?;
    if let Some((version, _)) = &active
        && version.digest == list.version.sha256
    {
        return Ok(LoadReport {
            list_id,
            stored: None,
        });
    }
    let (expected_active, old) = match &active {
        Some((version, entries)) => {
            let meta = ListVersion {
                list_id: version.list_id.clone(),
                publisher_date: version.publisher_date.clone(),
                fetched_at: version.loaded_at.to_string(),
                sha256: version.digest,
                n_entries: entries.len(),
            };
            let old = list_from_stored(
                meta,
                entries.iter().map(|e| (e.body.as_str(), &e.content_hash)),
            )
            .with_context(|| format!("reading stored list {list_id}"))?;
            (Some(version.id), old)
        }
        None => (
            None,
            ScreeningList {
                version: list.version.clone(),
                entries: Vec::new(),
            },
        ),
    };
    let delta = diff(&old, list);
    let known = store.screen_known_parties()?;
    let parties: Vec<ScreenedParty> = known.iter().map(|p| declared(p).to_screened()).collect();
    let found = rescreen(&parties, list, &delta, config);
    let mut hits = Vec::new();
    for (party, party_hits) in known.iter().zip(&found) {
        for hit in party_hits {
            hits.push(hit_record(party, hit, config)?);
        }
    }
    let mut changes: Vec<(String, Change)> = Vec::new();
    changes.extend(delta.added.iter().map(|id| (id.clone(), Change::Added)));
    changes.extend(delta.changed.iter().map(|id| (id.clone(), Change::Changed)));
    changes.extend(delta.removed.iter().map(|id| (id.clone(), Change::Removed)));
    let load = ListLoad {
        list_id: list_id.clone(),
        source: source.as_str().to_owned(),
        publisher_date: list.version.publisher_date.clone(),
        digest: list.version.sha256,
        loaded_at: now(),
        expected_active,
        entries: list
            .entries
            .iter()
            .map(|e| StoredEntry {
                entry_id: e.entry_id.clone(),
                content_hash: e.content_hash,
                kind: e.kind.as_str().to_owned(),
                primary_name: e.primary_name().to_owned(),
                body: entry_to_json(e),
            })
            .collect(),
        changes,
        hits,
    };
    let summary = store
        .screen_load_list(&load)
        .with_context(|| format!("store list {list_id}"))?;
    Ok(LoadReport {
        list_id,
        stored: Some((delta, summary)),
    })
}

/// What a run of stored parties did.
pub(crate) struct RunReport {
    /// Distinct parties on the stored declarations.
    pub declared: usize,
    /// The store's summary.
    pub summary: RunSummary,
}

/// Screens the parties of the stored declarations against the active lists: the new and
/// changed ones, or with `all` every one (after a change of scorer or thresholds).
pub(crate) fn run_parties(
    store: &dyn Store,
    all: bool,
    config: &ScoreConfig,
) -> anyhow::Result<RunReport> {
    let lists = caravan_web::screen::active_lists(store)?;
    if lists.is_empty() {
        bail!("no screening list is loaded; run `caravan screen load --list <file>` first");
    }
    let screener = Screener::new(ScreenIndex::build(&lists), config.clone());
    let known: HashMap<String, [u8; 32]> = store
        .screen_known_parties()?
        .into_iter()
        .map(|p| (p.party_key, p.digest))
        .collect();
    // Latest declaration first, so each key takes its most recent facts.
    let mut seen = HashSet::new();
    let mut current = Vec::new();
    for row in store.screen_declared_parties()? {
        let party = DeclaredParty {
            role: row.role,
            name: row.name,
            country: row.country,
            id_scheme: row.id_scheme,
            id_value: row.id_value,
        };
        if seen.insert(party.key()) {
            current.push(facts(&party));
        }
    }
    let declared_count = current.len();
    let to_screen: Vec<PartyFacts> = current
        .into_iter()
        .filter(|p| all || known.get(&p.party_key) != Some(&p.digest))
        .collect();
    let parties: Vec<ScreenedParty> = to_screen
        .iter()
        .map(|p| declared(p).to_screened())
        .collect();
    let found = screen_all(&screener, &parties);
    let mut hits = Vec::new();
    for (party, party_hits) in to_screen.iter().zip(&found) {
        for hit in party_hits {
            hits.push(hit_record(party, hit, config)?);
        }
    }
    let summary = store.screen_record_run(&ScreenRunRecord {
        screened_at: now(),
        parties: to_screen,
        hits,
    })?;
    Ok(RunReport {
        declared: declared_count,
        summary,
    })
}

/// `caravan screen load`.
pub(super) fn load(config: Option<&Path>, args: &ScreenLoadArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config)?;
    let source = match &args.source {
        Some(text) => Source::parse(text)?,
        None => Source::infer(&args.list)?,
    };
    let list = parse_list(&args.list, source)?;
    let store = open_store(&config.store)?;
    let report = load_list(store.as_ref(), &list, source, &ScoreConfig::default())?;
    print_load(&report, &list);
    audit(
        store.as_ref(),
        &operator(),
        "screen.list.load",
        &report.list_id,
        load_detail(&report, &list),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn load_detail(report: &LoadReport, list: &ScreeningList) -> serde_json::Value {
    match &report.stored {
        None => serde_json::json!({ "sha256": hex(&list.version.sha256), "unchanged": true }),
        Some((delta, summary)) => serde_json::json!({
            "sha256": hex(&list.version.sha256),
            "version_id": summary.version_id,
            "entries": list.entries.len(),
            "added": delta.added.len(),
            "changed": delta.changed.len(),
            "removed": delta.removed.len(),
            "hits_open": summary.open,
            "hits_suppressed": summary.suppressed,
            "hits_closed": summary.closed,
            "hits_delisted": summary.delisted,
        }),
    }
}

fn print_load(report: &LoadReport, list: &ScreeningList) {
    match &report.stored {
        None => println!(
            "{}: sha256:{} is already the active version; nothing stored",
            report.list_id,
            &hex(&list.version.sha256)[..16]
        ),
        Some((delta, summary)) => println!(
            "{}: version {} active ({} entries, sha256:{}); delta {} added, {} changed, {} removed; \
             re-screen: {} open, {} suppressed, {} closed, {} delisted",
            report.list_id,
            summary.version_id,
            list.entries.len(),
            &hex(&list.version.sha256)[..16],
            delta.added.len(),
            delta.changed.len(),
            delta.removed.len(),
            summary.open,
            summary.suppressed,
            summary.closed,
            summary.delisted
        ),
    }
}

/// `caravan screen run`.
pub(super) fn run(config: Option<&Path>, args: &ScreenRunArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config)?;
    let store = open_store(&config.store)?;
    let report = run_parties(store.as_ref(), args.all, &ScoreConfig::default())?;
    print_run(&report);
    audit(
        store.as_ref(),
        &operator(),
        "screen.run",
        if args.all { "all" } else { "changed" },
        run_detail(&report),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn run_detail(report: &RunReport) -> serde_json::Value {
    let s = &report.summary;
    serde_json::json!({
        "declared_parties": report.declared,
        "screened": s.parties,
        "open": s.open,
        "suppressed": s.suppressed,
        "true_match": s.true_match,
        "closed": s.closed,
    })
}

fn print_run(report: &RunReport) {
    let s = &report.summary;
    println!(
        "{} distinct parties declared, {} screened: hits {} open, {} suppressed (known false \
         positives), {} confirmed true matches; {} no longer found, closed",
        report.declared, s.parties, s.open, s.suppressed, s.true_match, s.closed
    );
}

fn print_hit_line(hit: &HitRow) {
    println!(
        "{:>6}  {:<14} {:.2} {:<12} {:<3} {:<36} -> {}/{} {:?}",
        hit.id,
        hit.status.as_str(),
        hit.hit.score,
        hit.hit.band,
        hit.party_role,
        truncate(&hit.party_name, 36),
        hit.hit.list_id,
        hit.hit.entry_id,
        hit.hit.matched_name
    );
}

fn truncate(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(n - 1).collect();
        out.push('…');
        out
    }
}

/// `caravan screen hits`.
pub(super) fn hits(config: Option<&Path>, args: &ScreenHitsArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config)?;
    let store = open_store(&config.store)?;
    let statuses = if args.open {
        vec![HitStatus::Open]
    } else {
        Vec::new()
    };
    let rows = store.screen_hits(&HitFilter {
        statuses,
        party_key: None,
        limit: args.limit,
        offset: 0,
    })?;
    if rows.is_empty() {
        println!("no hits");
    }
    for hit in &rows {
        print_hit_line(hit);
        if args.explain {
            print_explanation(&hit.hit.explanation);
        }
    }
    audit(
        store.as_ref(),
        &operator(),
        "screen.hits.view",
        if args.open { "open" } else { "all" },
        serde_json::json!({ "rows": rows.len() }),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn print_explanation(explanation: &str) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(explanation) else {
        return;
    };
    let lines = |field: &str| -> Vec<String> {
        value[field]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| match i {
                        serde_json::Value::String(s) => s.clone(),
                        other => format!(
                            "{} {:+.2}",
                            other["what"].as_str().unwrap_or(""),
                            other["effect"].as_f64().unwrap_or(0.0)
                        ),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for (label, field) in [
        ("tokens", "tokens"),
        ("for", "evidence_for"),
        ("against", "evidence_against"),
    ] {
        for (n, line) in lines(field).iter().enumerate() {
            let label = if n == 0 { label } else { "" };
            println!("          {label:<8} {line}");
        }
    }
}

/// `caravan screen decide`.
pub(super) fn decide(config: Option<&Path>, args: &ScreenDecideArgs) -> anyhow::Result<ExitCode> {
    let decision = match (args.true_match, args.false_positive) {
        (true, false) => Decision::TrueMatch,
        (false, true) => Decision::FalsePositive,
        _ => bail!("give exactly one of --true-match and --false-positive"),
    };
    let (reason, note) = check_reason(&args.reason, args.note.as_deref().unwrap_or(""))
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let config = super::load_config(config)?;
    let store = open_store(&config.store)?;
    let account = args.account.clone().unwrap_or_else(operator);
    let hit = record_decision(
        store.as_ref(),
        args.hit,
        decision,
        reason.as_str(),
        &note,
        &account,
    )?;
    print_hit_line(&hit);
    Ok(ExitCode::SUCCESS)
}

/// Appends a disposition and audits it.
fn record_decision(
    store: &dyn Store,
    hit_id: i64,
    decision: Decision,
    reason: &str,
    note: &str,
    account: &str,
) -> anyhow::Result<HitRow> {
    let hit = match store.screen_decide(&DispositionRecord {
        hit_id,
        decision,
        reason: reason.to_owned(),
        note: note.to_owned(),
        account: account.to_owned(),
        decided_at: now(),
    }) {
        Err(caravan_store::StoreError::NotFound) => bail!("no screening hit {hit_id}"),
        other => other?,
    };
    audit(
        store,
        account,
        "screen.hit.disposition",
        &hit_id.to_string(),
        serde_json::json!({
            "decision": decision.as_str(),
            "reason": reason,
            "note": note,
            "party_digest": hex(&hit.hit.party_digest),
            "entry_hash": hex(&hit.hit.entry_hash),
            "status": hit.status.as_str(),
        }),
    )?;
    Ok(hit)
}

/// One row of a lookout list the demo writes: entry id, name, kind, name kind, country.
type LookoutRow = [String; 5];

/// The corridor's compiled sanctions sample as Caravan lookout rows.
fn sample_rows() -> anyhow::Result<Vec<LookoutRow>> {
    let mut rows = Vec::new();
    let mut sample = csv::Reader::from_reader(caravan_corridor::sanctions_sample_csv().as_bytes());
    for record in sample.records() {
        let record = record.context("the compiled sanctions sample")?;
        let kind = if record.get(2) == Some("individual") {
            "person"
        } else {
            "organization"
        };
        rows.push([
            record[0].to_owned(),
            record[1].to_owned(),
            kind.to_owned(),
            "primary".to_owned(),
            String::new(),
        ]);
    }
    Ok(rows)
}

/// Parses lookout rows as the list `corridor-sdn-sample`, through the real parser.
fn lookout_list(rows: &[LookoutRow]) -> anyhow::Result<ScreeningList> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "list_id",
        "entry_id",
        "name",
        "entry_kind",
        "name_kind",
        "country",
    ])?;
    for [entry, name, kind, name_kind, country] in rows {
        out.write_record(["corridor-sdn-sample", entry, name, kind, name_kind, country])?;
    }
    let bytes = out.into_inner()?;
    let fetched_at = super::now().map_or_else(|| "unknown".to_owned(), |t| t.to_rfc3339());
    lookout_csv::parse(&bytes, &fetched_at).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The demo's screening stage, on both nodes' stores. The corridor's sanctions sample,
/// plus one national lookout entry that resembles an innocent trader of the corridor but
/// names a different country, is loaded as a list version; the stored parties of both
/// corridor sides are screened and hits shown with their explanations; the officer clears
/// the look-alike as a false positive and a full re-run shows it suppressed; then a changed
/// list version (the look-alike entry gains an alias, one sanctioned entry is removed) is
/// loaded, and the delta re-screen reopens the cleared hit and delists the removed one.
pub(super) fn demo_stage(
    stores: &[Arc<dyn Store>],
    names: &[&str],
    truth: &[caravan_corridor::TruthRow],
) -> anyhow::Result<()> {
    let config = ScoreConfig::default();
    let planted: HashSet<String> = truth
        .iter()
        .filter_map(|t| t.watchlist_party.as_ref())
        .filter_map(|p| p.split_once(':').map(|(ent, _)| ent.to_owned()))
        .collect();
    let sample = sample_rows()?;
    println!(
        "  screening: the corridor's sanctions sample ({} entries) and one look-alike lookout \
         entry loaded into each store; the stored parties of each side screened",
        sample.len()
    );
    for (store, node) in stores.iter().zip(names) {
        let store = store.as_ref();
        // The look-alike: the first innocent two-word trader with a country, listed as
        // residing elsewhere.
        let flagged: HashSet<String> = sample.iter().map(|r| r[1].to_lowercase()).collect();
        let Some(innocent) = store.screen_declared_parties()?.into_iter().find(|p| {
            p.name.split_whitespace().count() >= 2
                && p.country.is_some()
                && !flagged.contains(&p.name.to_lowercase())
        }) else {
            bail!("{node}: no declared party to build the demo look-alike from");
        };
        let elsewhere = if innocent.country.as_deref() == Some("IR") {
            "SY"
        } else {
            "IR"
        };
        let mut rows = sample.clone();
        rows.push([
            "LOOKOUT-1".to_owned(),
            innocent.name.clone(),
            "organization".to_owned(),
            "primary".to_owned(),
            elsewhere.to_owned(),
        ]);
        load_list(store, &lookout_list(&rows)?, Source::Lookout, &config)?;
        let report = run_parties(store, false, &config)?;
        let open = store.screen_hits(&HitFilter {
            statuses: vec![HitStatus::Open],
            limit: 10_000,
            ..HitFilter::default()
        })?;
        let on_planted = open
            .iter()
            .filter(|h| planted.contains(&h.hit.entry_id))
            .count();
        println!(
            "  screening {node}: {} distinct parties screened, {} open hits ({on_planted} on \
             sanctioned parties the corridor planted)",
            report.declared,
            open.len()
        );
        // Re-spelt planted hits first: they are the point of screening.
        let mut shown: Vec<&HitRow> = open
            .iter()
            .filter(|h| planted.contains(&h.hit.entry_id))
            .collect();
        shown.sort_by(|a, b| a.hit.score.total_cmp(&b.hit.score).then(a.id.cmp(&b.id)));
        let look_alike = open.iter().find(|h| h.hit.entry_id == "LOOKOUT-1");
        for hit in shown.iter().take(1).copied().chain(look_alike) {
            print_hit_line(hit);
            print_explanation(&hit.hit.explanation);
        }
        let Some(cleared) = look_alike else {
            println!("  screening {node}: the look-alike raised no hit");
            continue;
        };
        let account = "demo-analyst";
        record_decision(
            store,
            cleared.id,
            Decision::FalsePositive,
            "different_country",
            "demo: our trader, not the listed entity",
            account,
        )?;
        let rerun = run_parties(store, true, &config)?;
        println!(
            "  screening {node}: hit {} cleared as a false positive by {account}; full re-run of \
             {} parties: {} suppressed, {} open; the hit is now {}",
            cleared.id,
            rerun.summary.parties,
            rerun.summary.suppressed,
            rerun.summary.open,
            store.screen_hit(cleared.id)?.status.as_str()
        );
        // Version 2: the look-alike gains an alias (changed), one hit sanctioned entry is
        // removed.
        let removed = shown.first().map(|h| h.hit.entry_id.clone());
        let mut v2: Vec<LookoutRow> = rows
            .into_iter()
            .filter(|r| Some(&r[0]) != removed.as_ref())
            .collect();
        v2.push([
            "LOOKOUT-1".to_owned(),
            format!("{} HOLDING", innocent.name),
            "organization".to_owned(),
            "alias".to_owned(),
            String::new(),
        ]);
        let report = load_list(store, &lookout_list(&v2)?, Source::Lookout, &config)?;
        if let Some((delta, summary)) = &report.stored {
            println!(
                "  screening {node}: list version {} (delta {} added, {} changed, {} removed): \
                 {} known parties re-screened against the {} added or changed entries only: {} \
                 open, {} suppressed, {} closed, {} delisted; the cleared hit is now {} (its \
                 entry changed)",
                summary.version_id,
                delta.added.len(),
                delta.changed.len(),
                delta.removed.len(),
                store.screen_known_parties()?.len(),
                delta.added.len() + delta.changed.len(),
                summary.open,
                summary.suppressed,
                summary.closed,
                summary.delisted,
                store.screen_hit(cleared.id)?.status.as_str()
            );
        }
    }
    Ok(())
}
