//! `caravan mirror`: link one node's exports to the partner's imports, report what does
//! not add up, and evaluate the engine on the synthetic corridor; plus the demo's mirror
//! stage.
//!
//! This module is the IO edge of `caravan-mirror`: it reads declarations from files (any
//! ingest syntax, by extension) or from a node's store (`sqlite://…`, `postgres://…`),
//! reads the rate table, calls the pure engine and writes CSV. Declarations are
//! validated as partner data, so a defect the partner cannot fix is a warning, and a
//! record that still fails is counted and named, never silently dropped.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use caravan_corridor::{CorridorConfig, Difficulty, TruthRow, UZS_PER_USD, generate};
use caravan_domain::declaration::validate::{ValidationContext, validate};
use caravan_ingest::pipeline::Format;
use caravan_mirror::aggregate::{GroupBy, gaps, tariff_elasticity};
use caravan_mirror::analysis::{Analysis, MirrorConfig, analyse};
use caravan_mirror::eval::{Evaluation, ShipmentTruth, evaluate};
use caravan_mirror::export::{write_elasticities, write_findings, write_gaps, write_links};
use caravan_mirror::findings::FindingKind;
use caravan_mirror::leg::{Leg, legs_from_drafts};
use caravan_mirror::rates::Rates;
use caravan_mirror::similarity::TokenSimilarity;
use caravan_store::Store;
use chrono::NaiveDate;

use crate::backend::open_store;
use crate::cli::{MirrorCommand, MirrorEvalArgs, MirrorLinkArgs, MirrorReportArgs};
use crate::config::parse_store_url;

pub(crate) fn run(config: Option<&Path>, command: MirrorCommand) -> anyhow::Result<ExitCode> {
    match command {
        MirrorCommand::Link(args) => link(config, &args),
        MirrorCommand::Report(args) => report(&args),
        MirrorCommand::Eval(args) => eval(&args),
        MirrorCommand::Share(args) => super::mirror_store::share(config, &args),
    }
}

/// Reads every declaration of a file or store as legs of `country`.
fn read_legs(source: &str, country: &str) -> anyhow::Result<Vec<Leg>> {
    let ctx = ValidationContext::partner(country);
    let mut legs = Vec::new();
    let mut rejected = Vec::new();
    let mut push = |draft: caravan_domain::declaration::draft::DeclarationDraft| match validate(
        &draft, &ctx,
    ) {
        Ok(v) => legs.extend(Leg::from_declaration(country, &v.declaration)),
        Err(_) => rejected.push(draft.header.lrn),
    };
    if source.contains("://") {
        let store = open_store(&parse_store_url(source)?)?;
        for_each_stored(store.as_ref(), &mut push)?;
    } else {
        let path = Path::new(source);
        let format = Format::from_extension(path).with_context(|| {
            format!("{source}: cannot tell the syntax from the extension (csv, json, xml, edi)")
        })?;
        let file = File::open(path).with_context(|| format!("open {source}"))?;
        for record in format.reader(BufReader::new(file)) {
            let record = record.with_context(|| format!("read {source}"))?;
            push(record.draft);
        }
    }
    super::mirror_store::print_rejected(source, &rejected);
    Ok(legs)
}

/// Every declaration of a store, as drafts of its canonical documents.
fn for_each_stored(
    store: &dyn Store,
    mut each: impl FnMut(caravan_domain::declaration::draft::DeclarationDraft),
) -> anyhow::Result<()> {
    const PAGE: u32 = 1_000;
    let mut offset = 0;
    loop {
        let page = store
            .list(PAGE, offset)
            .context("list stored declarations")?;
        for summary in &page {
            let stored = store
                .declaration(&summary.declarant, &summary.lrn)
                .with_context(|| format!("read stored declaration {}", summary.lrn))?;
            for record in Format::CaravanJson.reader(stored.document.as_slice()) {
                let record =
                    record.with_context(|| format!("parse stored document of {}", summary.lrn))?;
                each(record.draft);
            }
        }
        if page.len() < PAGE as usize {
            return Ok(());
        }
        offset += PAGE;
    }
}

fn read_rates(path: Option<&PathBuf>, base: &str) -> anyhow::Result<Rates> {
    let Some(path) = path else {
        return Ok(Rates::empty(base));
    };
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let (rates, errors) =
        Rates::parse_csv(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for e in &errors {
        eprintln!("{}: {e}", path.display());
    }
    Ok(rates)
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("create {}", path.display()))?;
    Ok(BufWriter::new(file))
}

fn config(as_of: Option<NaiveDate>) -> MirrorConfig {
    MirrorConfig {
        as_of,
        ..MirrorConfig::default()
    }
}

fn link(config_path: Option<&Path>, args: &MirrorLinkArgs) -> anyhow::Result<ExitCode> {
    let node = if args.exports == "node" || args.imports == "node" {
        Some(open_store(&super::load_config(config_path)?.store)?)
    } else {
        None
    };
    let exports = match &node {
        Some(store) if args.exports == "node" => {
            super::mirror_store::node_legs(store.as_ref(), "local", "export", &args.exporter)?
        }
        _ => read_legs(&args.exports, &args.exporter)?,
    };
    let imports = match &node {
        Some(store) if args.imports == "node" => {
            super::mirror_store::node_legs(store.as_ref(), "partner", "import", &args.importer)?
        }
        _ => read_legs(&args.imports, &args.importer)?,
    };
    let rates = read_rates(args.rates.as_ref(), &args.currency)?;
    let analysis = analyse(
        (&args.exporter, &exports),
        (&args.importer, &imports),
        &rates,
        &TokenSimilarity,
        &config(args.as_of),
    );
    write_links(create(&args.output)?, &analysis)
        .with_context(|| format!("write {}", args.output.display()))?;
    if let Some(path) = &args.findings {
        write_findings(create(path)?, &analysis)
            .with_context(|| format!("write {}", path.display()))?;
    }
    print_summary(&analysis);
    if let Some(store) = &node {
        let sources = (args.exports.as_str(), args.imports.as_str());
        let id = super::mirror_store::store_run(store.as_ref(), &analysis, &rates, sources)?;
        println!("stored as mirror run {id} (GET /api/v1/mirror/runs, page /ui/mirror?run={id})");
    }
    Ok(ExitCode::SUCCESS)
}

fn report(args: &MirrorReportArgs) -> anyhow::Result<ExitCode> {
    let a = read_legs(&args.a, &args.a_country)?;
    let b = read_legs(&args.b, &args.b_country)?;
    let rates = read_rates(args.rates.as_ref(), &args.currency)?;
    let analysis = analyse(
        (&args.a_country, &a),
        (&args.b_country, &b),
        &rates,
        &TokenSimilarity,
        &config(args.as_of),
    );
    std::fs::create_dir_all(&args.out).with_context(|| format!("create {}", args.out.display()))?;
    if args.format == "parquet" {
        super::mirror_store::write_parquet_report(
            &args.out,
            &analysis,
            &rates,
            args.min_chapter_links,
        )?;
        print_summary(&analysis);
        println!(
            "wrote links, discrepancies, data issues, unmatched legs, findings, gaps by partner/chapter/HS6/month and the Fisman–Wei view as Parquet to {}",
            args.out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let path = |name: &str| args.out.join(name);
    write_links(create(&path("links.csv"))?, &analysis).context("write links.csv")?;
    write_findings(create(&path("findings.csv"))?, &analysis).context("write findings.csv")?;
    for by in [
        GroupBy::Partner,
        GroupBy::Chapter,
        GroupBy::Hs6,
        GroupBy::Month,
    ] {
        let name = format!("gaps_by_{}.csv", by.as_str());
        write_gaps(
            create(&path(&name))?,
            &gaps(&analysis, by, &rates),
            by.as_str(),
        )
        .with_context(|| format!("write {name}"))?;
    }
    write_elasticities(
        create(&path("tariff_elasticity.csv"))?,
        &tariff_elasticity(&analysis, &rates, args.min_chapter_links),
    )
    .context("write tariff_elasticity.csv")?;
    print_summary(&analysis);
    println!(
        "wrote links, findings, gaps by partner/chapter/HS6/month and the Fisman–Wei view to {}",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn print_summary(analysis: &Analysis) {
    for d in &analysis.directions {
        let issues: usize = d.discrepancies.iter().map(|x| x.issues.len()).sum();
        println!(
            "{}: {} exports, {} imports; {} links ({} fuzzy), {} review pairs, {} unmatched exports, {} unmatched imports, {} data issues",
            d.label(),
            d.exports.len(),
            d.imports.len(),
            d.linkage.links.len(),
            d.linkage
                .links
                .iter()
                .filter(|l| l.tier == caravan_mirror::link::Tier::Fuzzy)
                .count(),
            d.linkage.review.len(),
            d.linkage.unmatched_exports.len(),
            d.linkage.unmatched_imports.len(),
            issues
        );
    }
    for kind in FindingKind::ALL {
        let n = analysis.findings.iter().filter(|f| f.kind == kind).count();
        if n > 0 {
            println!("  {:<26}{n:>8}", kind.as_str());
        }
    }
}

/// The corridor's rate table: its fixed illustrative UZS rate over the year and the next.
fn corridor_rates(year: i32) -> Rates {
    let mut rates = Rates::empty("USD");
    if let (Some(from), Some(to)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year + 1, 12, 31),
    ) {
        rates.insert_constant("UZS", UZS_PER_USD, from, to);
    }
    rates
}

fn truth_of(rows: &[TruthRow]) -> Vec<ShipmentTruth> {
    rows.iter()
        .map(|t| ShipmentTruth {
            lrns_a: t.us_lrns.clone(),
            lrns_b: t.uz_lrns.clone(),
            anomaly: t.anomaly.map(|a| a.as_str().to_owned()),
        })
        .collect()
}

/// Analyses a generated corridor as the two nodes would see it and scores it.
pub(crate) fn evaluate_corridor(
    config: &CorridorConfig,
    alert_rate: f64,
) -> anyhow::Result<(Analysis, Evaluation)> {
    let corridor = generate(config);
    let (us, rejected_us) = legs_from_drafts("US", &corridor.us);
    let (uz, rejected_uz) = legs_from_drafts("UZ", &corridor.uz);
    if !rejected_us.is_empty() || !rejected_uz.is_empty() {
        bail!("generated declarations failed validation: {rejected_us:?} {rejected_uz:?}");
    }
    let analysis = analyse(
        ("US", &us),
        ("UZ", &uz),
        &corridor_rates(config.year),
        &TokenSimilarity,
        &config_after_year(config.year),
    );
    let eval = evaluate(
        &analysis,
        "US",
        "UZ",
        &truth_of(&corridor.truth),
        alert_rate,
    );
    Ok((analysis, eval))
}

/// Retrospective analysis: judged half a year after the corridor's year, when every
/// window has closed.
fn config_after_year(year: i32) -> MirrorConfig {
    config(NaiveDate::from_ymd_opt(year + 1, 6, 30))
}

fn print_evaluation(label: &str, eval: &Evaluation) {
    let detection: Vec<String> = eval
        .detection
        .iter()
        .map(|(k, d)| format!("{k} {:.2} ({}/{})", d.recall(), d.alerted, d.planted))
        .collect();
    println!(
        "{label}: linkage precision {:.4} recall {:.4} ({} true pairs, {} fuzzy links); at a {:.1} % alert rate: {}",
        eval.linkage.precision(),
        eval.linkage.recall(),
        eval.linkage.truth,
        eval.per_tier.get("fuzzy").map_or(0, |p| p.predicted),
        eval.alert_rate * 100.0,
        detection.join(", ")
    );
}

fn eval(args: &MirrorEvalArgs) -> anyhow::Result<ExitCode> {
    let mut worst = (1.0f64, 1.0f64);
    for name in &args.difficulty {
        let level = Difficulty::parse(name).with_context(|| {
            format!("--difficulty takes clean, moderate and hard, not {name:?}")
        })?;
        for &seed in &args.seeds {
            let config = level.apply(CorridorConfig::with(seed, args.shipments));
            let (_, eval) = evaluate_corridor(&config, args.alert_rate)?;
            print_evaluation(&format!("{} seed {seed}", level.as_str()), &eval);
            worst = (
                worst.0.min(eval.linkage.precision()),
                worst.1.min(eval.linkage.recall()),
            );
        }
    }
    println!(
        "worst linkage precision {:.4}, recall {:.4}",
        worst.0, worst.1
    );
    Ok(if worst.0 >= 0.99 && worst.1 >= 0.99 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The demo's mirror stage: both nodes' stored declarations linked in both directions,
/// and the planted anomalies found against the corridor's truth. Returns the findings as
/// targeting features, which the targeting stage uses.
pub(crate) fn demo_stage(
    stores: &[Arc<dyn Store>],
    truth: &[TruthRow],
    year: i32,
    us_ui: &str,
) -> anyhow::Result<Vec<caravan_mirror::findings::TargetingFeature>> {
    let [us_store, uz_store] = stores else {
        bail!("the mirror stage needs the two nodes' stores");
    };
    let mut sides = Vec::new();
    for (store, country) in [(us_store, "US"), (uz_store, "UZ")] {
        let ctx = ValidationContext::partner(country);
        let mut legs = Vec::new();
        for_each_stored(store.as_ref(), |draft| {
            if let Ok(v) = validate(&draft, &ctx) {
                legs.extend(Leg::from_declaration(country, &v.declaration));
            }
        })?;
        sides.push(legs);
    }
    let analysis = analyse(
        ("US", &sides[0]),
        ("UZ", &sides[1]),
        &corridor_rates(year),
        &TokenSimilarity,
        &config_after_year(year),
    );
    let eval = evaluate(&analysis, "US", "UZ", &truth_of(truth), 0.05);
    println!();
    println!("Mirror matching (US exports ↔ UZ imports and back):");
    print_summary(&analysis);
    print_evaluation("  against the corridor's truth", &eval);
    super::mirror_store::demo_store(us_store, &analysis, &corridor_rates(year), us_ui)?;
    Ok(analysis
        .findings
        .iter()
        .flat_map(|f| f.features())
        .collect())
}
