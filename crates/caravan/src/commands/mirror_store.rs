//! Mirror matching inside the node: `caravan mirror link --exports node --imports
//! <file|node>` reads the node's own stored exports and the partner's imports received
//! by bulk exchange, and stores the run (links, findings, gaps) for the API and the
//! analyst's page; `caravan mirror report --format parquet` writes the Parquet tables;
//! `caravan mirror share --finding <id>` sends a stored finding to the partner as
//! spontaneous information; and the demo stores its run in the US node.
//!
//! Why the run is stored with snapshots: a link is reviewed, and a finding quoted to the
//! partner, long after the run; each stored link carries the declarations' key fields as
//! the run saw them (JSON built here), so the side-by-side view and the message body do
//! not depend on the partner's declarations still being at hand. Declarations in the
//! node are told apart by their stored provenance (`local` filings, `partner` data), not
//! by guessing from their content.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use caravan_assistance::agreement::Purpose;
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_domain::declaration::validate::{ValidationContext, validate};
use caravan_ingest::pipeline::Format;
use caravan_mirror::aggregate::{GroupBy, gaps, tariff_elasticity};
use caravan_mirror::analysis::Analysis;
use caravan_mirror::discrepancy::Discrepancy;
use caravan_mirror::export::parquet_tables;
use caravan_mirror::findings::{RISK_INDICATOR_CAVEAT, Unit};
use caravan_mirror::leg::{Leg, LegRef};
use caravan_mirror::link::Evidence;
use caravan_mirror::parquet::{WriteOptions, write};
use caravan_mirror::rates::Rates;
use caravan_store::Store;
use caravan_store::mirror::{
    MirrorFindingRow, MirrorGap, MirrorLinkRow, NewMirrorFinding, NewMirrorLink, NewMirrorRun,
};
use serde_json::{Value, json};

use crate::cli::MirrorShareArgs;

/// Groupings stored and exported.
const GROUPINGS: [GroupBy; 4] = [
    GroupBy::Partner,
    GroupBy::Chapter,
    GroupBy::Hs6,
    GroupBy::Month,
];

/// Legs of the declarations of one provenance and direction stored in the node, as
/// declarations of `country`. Records that fail validation are named, not dropped
/// silently.
pub(crate) fn node_legs(
    store: &dyn Store,
    provenance: &str,
    direction: &str,
    country: &str,
) -> anyhow::Result<Vec<Leg>> {
    const PAGE: u32 = 1_000;
    let ctx = ValidationContext::partner(country);
    let mut legs = Vec::new();
    let mut rejected = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .mirror_inputs(provenance, direction, after, PAGE)
            .with_context(|| format!("list stored {provenance} {direction} declarations"))?;
        for (id, document) in &page {
            after = *id;
            for record in Format::CaravanJson.reader(document.as_slice()) {
                let record = record.with_context(|| format!("parse stored declaration {id}"))?;
                match validate(&record.draft, &ctx) {
                    Ok(v) => legs.extend(Leg::from_declaration(country, &v.declaration)),
                    Err(_) => rejected.push(record.draft.header.lrn),
                }
            }
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    print_rejected(
        &format!("node: stored {provenance} {direction} declarations as {country} data"),
        &rejected,
    );
    Ok(legs)
}

/// Names (up to ten) the records of `source` that failed validation and were left out.
pub(crate) fn print_rejected(source: &str, rejected: &[String]) {
    if rejected.is_empty() {
        return;
    }
    eprintln!(
        "{source}: {} declarations fail validation and are left out of mirror matching: {}",
        rejected.len(),
        rejected
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn leg_ref(r: &LegRef) -> Value {
    json!({ "reporter": r.reporter, "declarant": r.declarant, "lrn": r.lrn })
}

/// The key fields of a declaration as the run saw them.
fn leg_snapshot(leg: &Leg) -> Value {
    json!({
        "reporter": leg.reference.reporter,
        "declarant": leg.reference.declarant,
        "lrn": leg.reference.lrn,
        "mrn": leg.mrn,
        "flow": leg.flow.as_str(),
        "partner": leg.partner,
        "date": leg.date.map(|d| d.to_string()),
        "accepted": leg.accepted.map(|d| d.to_string()),
        "mode": leg.mode.as_str(),
        "ucr": leg.ucr,
        "transport_documents": leg.transport_docs,
        "containers": leg.containers,
        "invoice": leg.invoice,
        "previous_documents": leg.previous_docs,
        "exporter": leg.exporter_name,
        "importer": leg.importer_name,
        "consignee": leg.consignee_name,
        "routing": leg.routing,
        "dispatch": leg.dispatch,
        "destination": leg.destination,
        "freight": leg.freight.as_ref().map(|(amount, currency)| json!({"amount": amount, "currency": currency})),
        "items": leg.items.iter().map(|i| json!({
            "sequence": i.sequence,
            "hs6": i.hs6,
            "origin": i.origin,
            "net_mass": i.net_mass,
            "gross_mass": i.gross_mass,
            "quantity": i.quantity.as_ref().map(|(q, unit)| json!({"value": q, "unit": unit})),
            "packages": i.packages,
            "value": i.value,
            "customs_value": i.customs_value,
            "currency": i.currency,
        })).collect::<Vec<_>>(),
    })
}

fn evidence_json(evidence: &[Evidence]) -> Value {
    Value::Array(
        evidence
            .iter()
            .map(|e| match e {
                Evidence::SharedKey { kind, value } => {
                    json!({ "type": "shared_key", "kind": kind, "value": value })
                }
                Evidence::Similarity { field, value } => {
                    json!({ "type": "similarity", "field": field, "value": value })
                }
                Evidence::DateGap(days) => json!({ "type": "date_gap", "days": days }),
                Evidence::Quantities {
                    export_net,
                    import_net,
                    adds_up,
                } => json!({
                    "type": "quantities",
                    "export_net_kg": export_net,
                    "import_net_kg": import_net,
                    "adds_up": adds_up,
                }),
            })
            .collect(),
    )
}

/// A number JSON can carry (`null` for NaN or infinity, which JSON has no word for).
fn num(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite()).map_or(Value::Null, Value::from)
}

fn discrepancy_json(d: &Discrepancy) -> Value {
    json!({
        "export_fob": num(d.export_fob),
        "import_cif": num(d.import_cif),
        "cif_factor": num(d.cif_factor),
        "factor_source": d.factor_source.map(|f| f.as_str()),
        "import_fob": num(d.import_fob),
        "log_gap": num(d.log_gap),
        "quantity_agreement": num(d.quantity_agreement),
        "weighted_gap": num(d.weighted_gap),
        "unit_value_gap_kg": num(d.unit_value_gap_kg),
        "net_mass_gap": num(d.net_mass_gap),
        "gross_mass_gap": num(d.gross_mass_gap),
        "quantity_gap": num(d.quantity_gap),
        "packages_gap": num(d.packages_gap),
        "hs": d.hs.iter().map(|h| json!({
            "export_hs6": h.export_hs6,
            "import_hs6": h.import_hs6,
            "common_digits": h.common_digits,
            "export_code_duty": num(h.export_code_duty),
            "import_code_duty": num(h.import_code_duty),
            "lower_duty_sibling": h.lower_duty_sibling(),
        })).collect::<Vec<_>>(),
        "export_origins": d.export_origins,
        "import_origins": d.import_origins,
        "origin_changed": d.origin_changed(),
        "export_routing": d.export_routing,
        "import_routing": d.import_routing,
        "route_added": d.route_added(),
        "exporter_similarity": num(d.exporter_similarity),
        "importer_similarity": num(d.importer_similarity),
        "date_gap_days": d.date_gap_days,
        "outside_window": d.outside_window,
        "duty_at_risk": num(d.duty_at_risk),
        "issues": d.issues.iter().map(|i| json!({
            "declaration": leg_ref(&i.leg),
            "code": i.code,
            "message": i.message,
        })).collect::<Vec<_>>(),
    })
}

fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// The run as the store keeps it: one row per link and per unmatched leg, every finding
/// pointing at its row, and the gaps of every grouping.
pub(crate) fn build_run(
    analysis: &Analysis,
    rates: &Rates,
    sources: (&str, &str),
    created_at: u64,
) -> NewMirrorRun {
    let mut links: Vec<NewMirrorLink> = Vec::new();
    // Row of each finding anchor, keyed like `Unit`.
    let mut rows: std::collections::HashMap<Unit, u32> = std::collections::HashMap::new();
    let joined = |legs: &[&Leg]| {
        legs.iter()
            .map(|l| l.reference.lrn.clone())
            .collect::<Vec<_>>()
            .join(";")
    };
    let snapshots = |legs: &[&Leg]| {
        Value::from(legs.iter().map(|l| leg_snapshot(l)).collect::<Vec<_>>()).to_string()
    };
    for (d, dir) in analysis.directions.iter().enumerate() {
        for (n, (link, disc)) in dir.linkage.links.iter().zip(&dir.discrepancies).enumerate() {
            let exports: Vec<&Leg> = link.exports.iter().map(|&i| &dir.exports[i]).collect();
            let imports: Vec<&Leg> = link.imports.iter().map(|&i| &dir.imports[i]).collect();
            rows.insert(
                Unit::Link {
                    direction: d,
                    link: n,
                },
                links.len() as u32,
            );
            links.push(NewMirrorLink {
                direction: dir.label(),
                tier: link.tier.as_str().to_owned(),
                cardinality: link.cardinality().to_owned(),
                confidence: Some(finite(link.confidence)),
                hs6: exports
                    .iter()
                    .chain(&imports)
                    .find_map(|l| l.main_hs6())
                    .map(str::to_owned),
                export_lrns: joined(&exports),
                import_lrns: joined(&imports),
                log_gap: disc.log_gap.filter(|g| g.is_finite()),
                score: 0.0,
                flags: Vec::new(),
                evidence: evidence_json(&link.evidence).to_string(),
                discrepancy: discrepancy_json(disc).to_string(),
                exports: snapshots(&exports),
                imports: snapshots(&imports),
            });
        }
        for (side, idx, legs) in [
            ("export", &dir.linkage.unmatched_exports, &dir.exports),
            ("import", &dir.linkage.unmatched_imports, &dir.imports),
        ] {
            for &i in idx {
                let leg = &legs[i];
                let unit = if side == "export" {
                    Unit::Export {
                        direction: d,
                        leg: i,
                    }
                } else {
                    Unit::Import {
                        direction: d,
                        leg: i,
                    }
                };
                rows.insert(unit, links.len() as u32);
                let (exports, imports): (Vec<&Leg>, Vec<&Leg>) = if side == "export" {
                    (vec![leg], Vec::new())
                } else {
                    (Vec::new(), vec![leg])
                };
                links.push(NewMirrorLink {
                    direction: dir.label(),
                    tier: format!("unmatched_{side}"),
                    cardinality: String::new(),
                    confidence: None,
                    hs6: leg.main_hs6().map(str::to_owned),
                    export_lrns: joined(&exports),
                    import_lrns: joined(&imports),
                    log_gap: None,
                    score: 0.0,
                    flags: Vec::new(),
                    evidence: "[]".to_owned(),
                    discrepancy: "null".to_owned(),
                    exports: snapshots(&exports),
                    imports: snapshots(&imports),
                });
            }
        }
    }
    let mut findings = Vec::new();
    for f in &analysis.findings {
        let Some(&seq) = rows.get(&f.unit) else {
            continue;
        };
        let row = &mut links[seq as usize];
        row.score = row.score.max(finite(f.score));
        let kind = f.kind.as_str().to_owned();
        if !row.flags.contains(&kind) {
            row.flags.push(kind.clone());
            row.flags.sort();
        }
        findings.push(NewMirrorFinding {
            link_seq: seq,
            kind,
            score: finite(f.score),
            hs6: f.hs6.clone(),
            declarations: Value::from(f.legs.iter().map(leg_ref).collect::<Vec<_>>()).to_string(),
            detail: f.detail.clone(),
        });
    }
    let mut gap_rows = Vec::new();
    for by in GROUPINGS {
        for r in gaps(analysis, by, rates) {
            gap_rows.push(MirrorGap {
                group_by: by.as_str().to_owned(),
                direction: r.direction,
                key: r.key,
                links: r.links as u64,
                unmatched_exports: r.unmatched_exports as u64,
                unmatched_imports: r.unmatched_imports as u64,
                export_fob: finite(r.export_fob),
                import_fob: finite(r.import_fob),
                gap: finite(r.gap),
                weighted_gap: finite(r.weighted_gap),
                median_log_gap: finite(r.median_log_gap),
                unmatched_export_value: finite(r.unmatched_export_value),
            });
        }
    }
    let summary = json!({
        "directions": analysis.directions.iter().map(|d| json!({
            "direction": d.label(),
            "exports": d.exports.len(),
            "imports": d.imports.len(),
            "links": d.linkage.links.len(),
            "review_pairs": d.linkage.review.len(),
            "unmatched_exports": d.linkage.unmatched_exports.len(),
            "unmatched_imports": d.linkage.unmatched_imports.len(),
            "data_issues": d.discrepancies.iter().map(|x| x.issues.len()).sum::<usize>(),
        })).collect::<Vec<_>>(),
        "comparison_currency": rates.base(),
    });
    NewMirrorRun {
        created_at,
        exports_source: sources.0.to_owned(),
        imports_source: sources.1.to_owned(),
        summary: summary.to_string(),
        links,
        findings,
        gaps: gap_rows,
    }
}

/// Milliseconds since the Unix epoch, for the run's timestamp.
pub(crate) fn now_ms() -> u64 {
    super::now().map_or(0, |t| t.timestamp_millis().max(0) as u64)
}

/// Builds and stores a run; returns its id.
pub(crate) fn store_run(
    store: &dyn Store,
    analysis: &Analysis,
    rates: &Rates,
    sources: (&str, &str),
) -> anyhow::Result<i64> {
    let run = build_run(analysis, rates, sources, now_ms());
    store.put_mirror_run(&run).context("store the mirror run")
}

/// Every Parquet table of a report, one file each, in `dir`.
pub(crate) fn write_parquet_report(
    dir: &Path,
    analysis: &Analysis,
    rates: &Rates,
    min_chapter_links: usize,
) -> anyhow::Result<()> {
    let gaps_by: Vec<_> = GROUPINGS
        .iter()
        .map(|&by| (by, gaps(analysis, by, rates)))
        .collect();
    let elasticities = tariff_elasticity(analysis, rates, min_chapter_links);
    let tables =
        parquet_tables(analysis, &gaps_by, &elasticities).context("build the Parquet tables")?;
    let options = WriteOptions::default();
    for t in tables {
        let path = dir.join(format!("{}.parquet", t.name));
        let file = File::create(&path).with_context(|| format!("create {}", path.display()))?;
        write(BufWriter::new(file), &t.table, &options)
            .with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

/// The body of a spontaneous-information message built from a stored finding and the
/// link it is anchored on: what was found, both sides' declaration references, every
/// discrepancy computed, and the caveat that it is a risk indicator. Pure.
pub(crate) fn share_body(finding: &MirrorFindingRow, link: &MirrorLinkRow) -> Value {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    let refs = |s: &str| match parse(s) {
        Value::Array(legs) => Value::Array(
            legs.iter()
                .map(|l| {
                    json!({
                        "reporter": l.get("reporter"),
                        "declarant": l.get("declarant"),
                        "lrn": l.get("lrn"),
                        "mrn": l.get("mrn"),
                        "date": l.get("date"),
                    })
                })
                .collect(),
        ),
        _ => Value::Array(Vec::new()),
    };
    let f = &finding.finding;
    json!({
        "type": "caravan.mirror.finding/v1",
        "subject": format!(
            "Mirror discrepancy: {}{}",
            f.kind.replace('_', " "),
            f.hs6.as_deref().map(|h| format!(" (HS {h})")).unwrap_or_default()
        ),
        "finding": {
            "id": finding.id,
            "run": finding.run_id,
            "kind": f.kind,
            "score": f.score,
            "hs6": f.hs6,
            "summary": f.detail,
            "declarations": parse(&f.declarations),
        },
        "link": {
            "id": link.id,
            "direction": link.link.direction,
            "tier": link.link.tier,
            "cardinality": link.link.cardinality,
            "confidence": link.link.confidence,
            "evidence": parse(&link.link.evidence),
        },
        "export_declarations": refs(&link.link.exports),
        "import_declarations": refs(&link.link.imports),
        "discrepancies": parse(&link.link.discrepancy),
        "caveat": RISK_INDICATOR_CAVEAT,
    })
}

/// `caravan mirror share`: the finding goes to the partner as spontaneous information
/// (assistance spec §4) through the node's assistance workflow, so it carries markings and
/// permitted uses, is recorded and audited like every item released, and is accepted by the
/// partner's workflow; the running node's outbox delivers it.
pub(crate) fn share(
    config_path: Option<&Path>,
    args: &MirrorShareArgs,
) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let store = crate::backend::open_store(&config.store)?;
    let finding = match store.mirror_finding(args.finding) {
        Ok(f) => f,
        Err(caravan_store::StoreError::NotFound) => {
            bail!("no stored mirror finding has id {}", args.finding)
        }
        Err(e) => return Err(e).context("read the mirror finding"),
    };
    let link = store
        .mirror_link(finding.link_id)
        .context("read the finding's link")?;
    let body = share_body(&finding, &link);
    if args.dry_run {
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(ExitCode::SUCCESS);
    }
    let tlp =
        Tlp::parse_tag(&args.tlp).with_context(|| format!("{:?} is not a TLP value", args.tlp))?;
    let pap =
        Pap::parse_tag(&args.pap).with_context(|| format!("{:?} is not a PAP value", args.pap))?;
    let uses = args
        .uses
        .split(',')
        .map(|u| Purpose::parse(u.trim()).with_context(|| format!("{u:?} is not a purpose")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let who = super::assist::actor(store.as_ref(), &args.acting.account)?;
    let Some(log) = super::log::open_log_node(&config, &store)? else {
        bail!("sharing needs the node's transparency log ([log] in the configuration)");
    };
    let exchange = super::partner::open_exchange(&config, &store, &log)?;
    let node = super::assist::node_workflow(&config, &store, Some(exchange))?;
    let id = node
        .inform(
            &who,
            "goods",
            false,
            &serde_json::to_string(&body)?,
            Markings::new(tlp, pap),
            uses,
            caravan_web::auth::now_ms(),
        )
        .map_err(super::assist::refused)?;
    println!(
        "finding {} released to the partner as spontaneous information {id}; the node's \
         outbox delivers it",
        args.finding
    );
    Ok(ExitCode::SUCCESS)
}

/// The demo's storing step: the US node keeps the run of both directions; prints where
/// the analyst's page is.
pub(crate) fn demo_store(
    store: &Arc<dyn Store>,
    analysis: &Analysis,
    rates: &Rates,
    ui_base: &str,
) -> anyhow::Result<i64> {
    let id = store_run(store.as_ref(), analysis, rates, ("node", "node"))?;
    let run = store
        .mirror_run(id)
        .context("read the stored mirror run back")?;
    println!(
        "  stored as mirror run {id} in the US node: {} links and unmatched legs, {} findings; \
         the analyst's table is {ui_base}/ui/mirror?run={id}",
        run.links, run.findings
    );
    Ok(id)
}

#[cfg(test)]
mod tests {
    use caravan_corridor::CorridorConfig;

    use super::*;

    #[test]
    fn stored_run_keeps_every_link_finding_and_grouping_of_the_analysis() {
        let config = CorridorConfig::with(5, 120);
        let (analysis, _) = super::super::mirror::evaluate_corridor(&config, 0.05).unwrap();
        let rates = Rates::empty("USD");
        let run = build_run(&analysis, &rates, ("node", "uz.csv"), 42);
        let links: usize = analysis
            .directions
            .iter()
            .map(|d| {
                d.linkage.links.len()
                    + d.linkage.unmatched_exports.len()
                    + d.linkage.unmatched_imports.len()
            })
            .sum();
        assert_eq!(run.links.len(), links);
        assert_eq!(run.findings.len(), analysis.findings.len());
        assert!(!run.findings.is_empty());
        for f in &run.findings {
            let row = &run.links[f.link_seq as usize];
            assert!(row.flags.contains(&f.kind));
            assert!(row.score >= f.score);
            let _: Value = serde_json::from_str(&f.declarations).unwrap();
        }
        for l in &run.links {
            for s in [&l.evidence, &l.discrepancy, &l.exports, &l.imports] {
                let _: Value = serde_json::from_str(s).unwrap();
            }
            assert_eq!(l.tier.starts_with("unmatched"), l.confidence.is_none());
        }
        for by in GROUPINGS {
            assert!(run.gaps.iter().any(|g| g.group_by == by.as_str()));
        }
        caravan_store::mirror::check_run(&run).unwrap();
    }

    #[test]
    fn share_body_names_both_sides_and_the_caveat() {
        let link = MirrorLinkRow {
            id: 7,
            run_id: 1,
            seq: 0,
            link: NewMirrorLink {
                direction: "UZ-US".into(),
                tier: "fuzzy".into(),
                cardinality: "1:1".into(),
                confidence: Some(0.93),
                hs6: Some("520512".into()),
                export_lrns: "UZ-1".into(),
                import_lrns: "US-9".into(),
                log_gap: Some(-0.9),
                score: 0.8,
                flags: vec!["undervaluation".into()],
                evidence: r#"[{"type":"date_gap","days":21}]"#.into(),
                discrepancy: r#"{"log_gap":-0.9}"#.into(),
                exports: r#"[{"reporter":"UZ","declarant":"","lrn":"UZ-1","mrn":null,"date":"2024-03-01"}]"#.into(),
                imports: r#"[{"reporter":"US","declarant":"","lrn":"US-9","mrn":"M1","date":"2024-03-22"}]"#.into(),
            },
        };
        let finding = MirrorFindingRow {
            id: 3,
            run_id: 1,
            link_id: 7,
            finding: NewMirrorFinding {
                link_seq: 0,
                kind: "undervaluation".into(),
                score: 0.8,
                hs6: Some("520512".into()),
                declarations: r#"[{"reporter":"UZ","declarant":"","lrn":"UZ-1"}]"#.into(),
                detail: "g = -0.90".into(),
            },
        };
        let body = share_body(&finding, &link);
        assert_eq!(
            body["subject"],
            "Mirror discrepancy: undervaluation (HS 520512)"
        );
        assert_eq!(body["export_declarations"][0]["lrn"], "UZ-1");
        assert_eq!(body["import_declarations"][0]["mrn"], "M1");
        assert_eq!(body["discrepancies"]["log_gap"], -0.9);
        assert_eq!(body["link"]["evidence"][0]["days"], 21);
        assert_eq!(body["caveat"], RISK_INDICATOR_CAVEAT);
        assert!(caravan_exchange::node::ACTIONS.contains(&"Spontaneous.Inform"));
    }
}
