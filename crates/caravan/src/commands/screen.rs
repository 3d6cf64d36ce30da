//! `caravan screen …`: list files in, hits, scores and evaluation figures out. The engine
//! (`caravan-screen`) is pure; this module reads files, picks each list's parser from the
//! file's name and content, fans batches out over the machine's cores, and prints.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use caravan_screen::delta::diff;
use caravan_screen::eval::{
    best_f1, cross_script_pairs, is_tuning_row, prf_at, recall_at_alert_rate, run_screening_set,
    screening_set,
};
use caravan_screen::index::ScreenIndex;
use caravan_screen::model::{EntryKind, Identifier, ScreeningList, hex};
use caravan_screen::parse::{ftm, lookout_csv, ofac_csv, un_xml};
use caravan_screen::resolve::{PartyRecord, ResolveConfig, Resolver};
use caravan_screen::score::{ScoreConfig, name_similarity};
use caravan_screen::screen::{PartyRole, ScreenedParty, Screener};

use crate::cli::{
    ScreenBatchArgs, ScreenCommand, ScreenEvalArgs, ScreenIndexArgs, ScreenListsArgs,
    ScreenPairsArgs, ScreenPartyArgs, ScreenResolveArgs,
};

/// Runs a `caravan screen` subcommand.
pub(super) fn run(config: Option<&Path>, command: ScreenCommand) -> anyhow::Result<ExitCode> {
    match command {
        ScreenCommand::Lists(args) => lists(&args),
        ScreenCommand::Party(args) => party(&args),
        ScreenCommand::Batch(args) => batch(&args),
        ScreenCommand::Index(args) => index(&args),
        ScreenCommand::Pairs(args) => pairs(&args),
        ScreenCommand::Eval(args) => eval(&args),
        ScreenCommand::Resolve(args) => resolve(&args),
        ScreenCommand::Load(args) => super::screen_store::load(config, &args),
        ScreenCommand::Run(args) => super::screen_store::run(config, &args),
        ScreenCommand::Hits(args) => super::screen_store::hits(config, &args),
        ScreenCommand::Decide(args) => super::screen_store::decide(config, &args),
        ScreenCommand::ResolveStored(args) => super::screen_resolve::resolve_command(config, &args),
        ScreenCommand::Clusters(args) => super::screen_resolve::clusters_command(config, &args),
    }
}

/// The time a list was read, RFC 3339; the engine never reads a clock.
fn fetched_at() -> String {
    super::now().map_or_else(|| "unknown".to_owned(), |t| t.to_rfc3339())
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads list files, grouping OFAC's three files into one list. A file that fails to parse
/// fails the command: nothing half-read is ever screened against.
pub(super) fn load_lists(paths: &[PathBuf]) -> anyhow::Result<Vec<ScreeningList>> {
    let fetched_at = fetched_at();
    let name_of = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let mut lists = Vec::new();
    let explicit: Vec<String> = paths.iter().map(|p| name_of(p)).collect();
    for path in paths {
        let name = name_of(path);
        let list = if name == "alt.csv" || name == "add.csv" {
            if !explicit.iter().any(|n| n == "sdn.csv") {
                bail!("{}: OFAC {name} needs sdn.csv beside it", path.display());
            }
            continue;
        } else if name == "sdn.csv" {
            let sibling = |file: &str| -> anyhow::Result<Option<Vec<u8>>> {
                let given = paths.iter().find(|p| name_of(p) == file);
                let beside = path.with_file_name(file);
                match given {
                    Some(p) => Ok(Some(read(p)?)),
                    None if beside.exists() => Ok(Some(read(&beside)?)),
                    None => Ok(None),
                }
            };
            let (alt, add) = (sibling("alt.csv")?, sibling("add.csv")?);
            ofac_csv::parse(&read(path)?, alt.as_deref(), add.as_deref(), &fetched_at)
        } else if name.ends_with(".xml") {
            un_xml::parse(&read(path)?, &fetched_at)
        } else if name.ends_with(".json") || name.ends_with(".jsonl") {
            let list_id = name.split('.').next().unwrap_or("opensanctions").to_owned();
            ftm::parse(&read(path)?, &list_id, &fetched_at)
        } else if name.ends_with(".csv") {
            lookout_csv::parse(&read(path)?, &fetched_at)
        } else {
            bail!(
                "{}: not a list file Caravan reads (sdn.csv, .xml, .ftm.json/.jsonl, lookout .csv)",
                path.display()
            );
        };
        lists
            .push(list.with_context(|| format!("{} refused; no list was loaded", path.display()))?);
    }
    Ok(lists)
}

fn lists(args: &ScreenListsArgs) -> anyhow::Result<ExitCode> {
    let current = load_lists(&args.lists)?;
    let previous = if args.previous.is_empty() {
        Vec::new()
    } else {
        load_lists(&args.previous)?
    };
    for list in &current {
        let v = &list.version;
        let n_names: usize = list.entries.iter().map(|e| e.names.len()).sum();
        println!(
            "{:<22} published {:<26} sha256:{}  entries {:>6}  names {:>6}",
            v.list_id,
            v.publisher_date.as_deref().unwrap_or("-"),
            &hex(&v.sha256)[..16],
            v.n_entries,
            n_names
        );
        if let Some(old) = previous.iter().find(|p| p.version.list_id == v.list_id) {
            let delta = diff(old, list);
            println!(
                "{:<22} delta: {} added, {} changed, {} removed, {} unchanged",
                "",
                delta.added.len(),
                delta.changed.len(),
                delta.removed.len(),
                delta.unchanged
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The screener of a batch or single call: from a sealed index file when one is given, so
/// a large list set is parsed and normalised once (`caravan screen index`) rather than on
/// every run, else built from the list files.
fn build_screener(
    paths: &[PathBuf],
    index_file: Option<&Path>,
    threshold: f64,
) -> anyhow::Result<Screener> {
    let index = match index_file {
        Some(path) => {
            let bytes = read(path)?;
            ScreenIndex::from_file_bytes(&bytes)
                .with_context(|| format!("{}: not a usable screening index", path.display()))?
        }
        None => ScreenIndex::build(&load_lists(paths)?),
    };
    let config = ScoreConfig {
        review: threshold,
        ..ScoreConfig::default()
    };
    Ok(Screener::new(index, config))
}

/// `caravan screen index`: parse and normalise the lists once, write the sealed index file
/// through a temporary file and a rename, so a reader never sees half a file.
fn index(args: &ScreenIndexArgs) -> anyhow::Result<ExitCode> {
    let lists = load_lists(&args.lists)?;
    let index = ScreenIndex::build(&lists);
    let bytes = index.to_file_bytes();
    let mut tmp = args.output.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut file =
            fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
    }
    fs::rename(&tmp, &args.output)
        .with_context(|| format!("renaming {} to {}", tmp.display(), args.output.display()))?;
    let versions: Vec<String> = lists
        .iter()
        .map(|l| {
            let digest = hex(&l.version.sha256);
            format!("{} (sha256 {})", l.version.list_id, &digest[..12])
        })
        .collect();
    println!(
        "{}: {} entries, {} names from {}; {} bytes",
        args.output.display(),
        index.entries.len(),
        index.names.len(),
        versions.join(", "),
        bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn party(args: &ScreenPartyArgs) -> anyhow::Result<ExitCode> {
    let screener = build_screener(&args.lists, args.index.as_deref(), args.threshold)?;
    let role = match &args.role {
        Some(code) => Some(
            PartyRole::from_edifact_3035(code)
                .with_context(|| format!("--role {code}: not a UN/EDIFACT 3035 party code"))?,
        ),
        None => None,
    };
    let mut identifiers = Vec::new();
    for raw in &args.identifiers {
        let Some((scheme, value)) = raw.split_once(':') else {
            bail!("--id {raw}: expected SCHEME:VALUE");
        };
        identifiers.push(
            Identifier::new(scheme, value, args.country.clone())
                .with_context(|| format!("--id {raw}: the value has no letters or digits"))?,
        );
    }
    let party = ScreenedParty {
        role,
        name: args.name.clone(),
        country: args.country.clone(),
        identifiers,
        ..ScreenedParty::default()
    };
    let hits = screener
        .screen(&party, &mut screener.index.scratch())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if hits.is_empty() {
        println!("no hit at or above {:.2}", screener.config.review);
    }
    for hit in hits.iter().take(10) {
        println!("{}", hit.explain(&screener.config));
    }
    Ok(ExitCode::SUCCESS)
}

fn batch(args: &ScreenBatchArgs) -> anyhow::Result<ExitCode> {
    let screener = build_screener(&args.lists, args.index.as_deref(), args.threshold)?;
    let mut reader = csv::Reader::from_path(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let headers = reader.headers()?.clone();
    let Some(column) = headers.iter().position(|h| h == "query") else {
        bail!("{}: no `query` column", args.input.display());
    };
    let mut queries = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("reading {}", args.input.display()))?;
        queries.push(record.get(column).unwrap_or("").to_owned());
    }
    let results = screen_parallel(&screener, &queries);
    let mut writer = csv::Writer::from_path(&args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    writer.write_record(["query", "entity_id", "score"])?;
    let mut n_refused = 0usize;
    for (query, hits) in queries.iter().zip(&results) {
        match hits {
            Ok(hits) => {
                for (entity, score) in hits {
                    writer.write_record([
                        query.as_str(),
                        entity.as_str(),
                        &format!("{score:.4}"),
                    ])?;
                }
            }
            Err(_) => n_refused += 1,
        }
    }
    writer.flush()?;
    eprintln!(
        "{} queries, {} hits, {n_refused} names refused (empty or longer than 1,024 bytes)",
        queries.len(),
        results.iter().flatten().map(Vec::len).sum::<usize>()
    );
    Ok(ExitCode::SUCCESS)
}

type BatchResult = Result<Vec<(String, f64)>, caravan_screen::error::NameError>;

/// Screens names on every core; results in input order. Entity ids are `list:entry`.
pub(super) fn screen_parallel(screener: &Screener, queries: &[String]) -> Vec<BatchResult> {
    let n_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    screener
        .screen_names(queries, n_threads)
        .into_iter()
        .map(|result| {
            result.map(|scores| {
                scores
                    .into_iter()
                    .map(|s| {
                        let entry = &screener.index.entries[s.entry_index as usize];
                        (
                            format!("{}:{}", screener.list_id_of(s.entry_index), entry.entry_id),
                            s.score,
                        )
                    })
                    .collect()
            })
        })
        .collect()
}

/// Opens a CSV and finds two required columns by name.
fn csv_with_columns(
    path: &Path,
    required: [&str; 2],
) -> anyhow::Result<(csv::Reader<fs::File>, csv::StringRecord, [usize; 2])> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let position = |name: &str| headers.iter().position(|h| h == name);
    let (Some(a), Some(b)) = (position(required[0]), position(required[1])) else {
        bail!(
            "{}: needs columns `{}` and `{}`",
            path.display(),
            required[0],
            required[1]
        );
    };
    Ok((reader, headers, [a, b]))
}

fn pairs(args: &ScreenPairsArgs) -> anyhow::Result<ExitCode> {
    let (mut reader, headers, [left, right]) = csv_with_columns(&args.input, ["left", "right"])?;
    let config = ScoreConfig::default();
    let mut writer = csv::Writer::from_path(&args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let mut out_headers = headers.clone();
    out_headers.push_field("score");
    writer.write_record(&out_headers)?;
    for record in reader.records() {
        let mut record = record.with_context(|| format!("reading {}", args.input.display()))?;
        let score = name_similarity(
            record.get(left).unwrap_or(""),
            record.get(right).unwrap_or(""),
            &config,
        );
        record.push_field(&format!("{score:.6}"));
        writer.write_record(&record)?;
    }
    writer.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Reads every party first and resolves them as one batch; the output is written only when
/// the whole input was accepted.
fn resolve(args: &ScreenResolveArgs) -> anyhow::Result<ExitCode> {
    let (mut reader, headers, [record_id, name]) =
        csv_with_columns(&args.input, ["record_id", "name"])?;
    let position = |name: &str| headers.iter().position(|h| h == name);
    let (country, scheme, identifier, address) = (
        position("country"),
        position("scheme"),
        position("identifier"),
        position("address"),
    );
    let mut parties = Vec::new();
    for (line, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("reading {}", args.input.display()))?;
        let field = |column: Option<usize>| {
            column
                .and_then(|c| row.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let identifiers = match (field(scheme), field(identifier)) {
            (Some(s), Some(v)) => Identifier::new(s, v, None).into_iter().collect(),
            (None, Some(_)) => bail!(
                "{} row {}: an identifier needs its scheme",
                args.input.display(),
                line + 2
            ),
            _ => Vec::new(),
        };
        parties.push(PartyRecord {
            record_id: field(Some(record_id)).unwrap_or("").to_owned(),
            name: field(Some(name)).unwrap_or("").to_owned(),
            country: field(country).map(str::to_owned),
            identifiers,
            address: field(address).map(str::to_owned),
        });
    }
    let resolver = Resolver::resolve(&parties, ResolveConfig::default())
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.display()))?;
    let mut writer = csv::Writer::from_path(&args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    writer.write_record(["record_id", "cluster_id"])?;
    for (record, cluster) in resolver.assignments() {
        writer.write_record([record, cluster.to_string()])?;
    }
    writer.flush()?;
    println!(
        "{} parties, {} clusters -> {}",
        parties.len(),
        resolver.clusters().len(),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn eval(args: &ScreenEvalArgs) -> anyhow::Result<ExitCode> {
    let config = ScoreConfig::default();
    let mut stdout = std::io::stdout().lock();
    if let Some(path) = &args.pairs {
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
        let headers = reader.headers()?.clone();
        let position = |names: &[&str]| headers.iter().position(|h| names.contains(&h));
        let (Some(left), Some(right), Some(label)) = (
            position(&["name1", "left"]),
            position(&["name2", "right"]),
            position(&["is_match"]),
        ) else {
            bail!(
                "{}: needs name1/left, name2/right and is_match",
                path.display()
            );
        };
        let (group, schema) = (position(&["case_group"]), position(&["schema"]));
        let mut tune = Vec::new();
        let mut held = Vec::new();
        let mut by_schema: BTreeMap<String, Vec<(f64, bool)>> = BTreeMap::new();
        for record in reader.records() {
            let record = record?;
            let field = |i: usize| record.get(i).unwrap_or("");
            let score = name_similarity(field(left), field(right), &config);
            let truth = field(label) == "true";
            let tuning = match (group, schema) {
                (Some(g), Some(s)) => is_tuning_row(field(g), field(s), field(left), field(right)),
                _ => false,
            };
            if let Some(s) = schema {
                by_schema
                    .entry(field(s).to_owned())
                    .or_default()
                    .push((score, truth));
            }
            if tuning {
                tune.push((score, truth))
            } else {
                held.push((score, truth))
            }
        }
        let all: Vec<(f64, bool)> = tune.iter().chain(&held).copied().collect();
        writeln!(
            stdout,
            "E1 name pairs: {} pairs ({} tuning, {} held out)",
            all.len(),
            tune.len(),
            held.len()
        )?;
        let line = |label: &str, p: caravan_screen::eval::Prf| {
            format!(
                "  {label:<34} threshold {:.3}  P {:.3}  R {:.3}  F1 {:.3}",
                p.threshold, p.precision, p.recall, p.f1
            )
        };
        if !tune.is_empty() {
            let tuned = best_f1(&tune);
            writeln!(stdout, "{}", line("tuning part, best F1", tuned))?;
            writeln!(
                stdout,
                "{}",
                line(
                    "held-out part at tuned threshold",
                    prf_at(&held, tuned.threshold)
                )
            )?;
            writeln!(
                stdout,
                "{}",
                line("held-out part at 0.70", prf_at(&held, 0.70))
            )?;
            writeln!(stdout, "{}", line("held-out part, best F1", best_f1(&held)))?;
        }
        writeln!(stdout, "{}", line("all pairs at 0.70", prf_at(&all, 0.70)))?;
        writeln!(stdout, "{}", line("all pairs, best F1", best_f1(&all)))?;
        for (schema, scored) in &by_schema {
            writeln!(
                stdout,
                "{}",
                line(&format!("schema {schema} at 0.70"), prf_at(scored, 0.70))
            )?;
        }
    }
    if let Some(path) = &args.un {
        let list = un_xml::parse(&read(path)?, &fetched_at())?;
        let persons = ScreeningList {
            entries: list
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::Person)
                .cloned()
                .collect(),
            version: list.version.clone(),
        };
        let screener = Screener::new(
            ScreenIndex::build(std::slice::from_ref(&persons)),
            config.clone(),
        );
        let set = screening_set(&persons, args.seed, args.negatives);
        let report = run_screening_set(&screener, &set);
        writeln!(
            stdout,
            "E2 UN persons: {} perturbed list names, {} innocent names (seed {})",
            report.n_positives, report.n_negatives, args.seed
        )?;
        for rate in [0.001, 0.01] {
            let (threshold, recall, flagged) =
                recall_at_alert_rate(&report.positive_scores, &report.negative_scores, rate);
            writeln!(
                stdout,
                "  at most {:.1} % flagged: threshold {threshold:.3}  recall {recall:.4}  flagged {:.3} %",
                rate * 100.0,
                flagged * 100.0
            )?;
        }
        for threshold in [0.70, 0.80, 0.85, 0.90] {
            let (recall, flagged) = report.at(threshold);
            writeln!(
                stdout,
                "  at {threshold:.2}: recall {recall:.4}  flagged {:.3} %",
                flagged * 100.0
            )?;
        }
    }
    let mut by_kind: BTreeMap<String, Vec<(f64, bool)>> = BTreeMap::new();
    for pair in cross_script_pairs() {
        let score = name_similarity(&pair.cyrillic, &pair.latin, &config);
        by_kind
            .entry(pair.kind)
            .or_default()
            .push((score, pair.is_match));
    }
    writeln!(
        stdout,
        "E3 Uzbek/Russian cross-script pairs (true ≥ 0.85, hard negatives < 0.70):"
    )?;
    for (kind, scored) in &by_kind {
        let positives = scored.iter().filter(|s| s.1).count();
        let at = prf_at(scored, 0.85);
        let min = scored.iter().map(|s| s.0).fold(1.0, f64::min);
        let max = scored.iter().map(|s| s.0).fold(0.0, f64::max);
        if positives > 0 {
            writeln!(
                stdout,
                "  {kind:<14} n {:>3}  F1 at 0.85 {:.3}  min score {min:.3}",
                scored.len(),
                at.f1
            )?;
        } else {
            writeln!(
                stdout,
                "  {kind:<14} n {:>3}  (negatives) flagged at 0.70: {}  max score {max:.3}",
                scored.len(),
                scored.iter().filter(|s| s.0 >= 0.70).count()
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_resolve(name: &str, csv: &str) -> (anyhow::Result<ExitCode>, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("caravan-resolve-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (input, output) = (dir.join("parties.csv"), dir.join("clusters.csv"));
        fs::write(&input, csv).unwrap();
        let _ = fs::remove_file(&output);
        (
            resolve(&ScreenResolveArgs {
                input,
                output: output.clone(),
            }),
            output,
        )
    }

    #[test]
    fn resolve_clusters_spellings_and_identifiers() {
        let (result, output) = run_resolve(
            "ok",
            "record_id,name,country,scheme,identifier,address\n\
             d1,OOO Tashkent Tekstil,UZ,UZ_STIR,301234567,\"12 Navoiy, Tashkent\"\n\
             d2,Toshkent Textile LLC,UZ,UZ_STIR,301 234 567,\n\
             d3,Shukhrat Khaydarov,UZ,,,\n\
             d4,Хайдаров Шуҳрат,UZ,,,\n\
             d5,Acme Freight,US,US_EIN,12-3456789,\n",
        );
        assert!(result.is_ok(), "{result:?}");
        let text = fs::read_to_string(output).unwrap();
        assert_eq!(
            text,
            "record_id,cluster_id\nd1,E00000000\nd2,E00000000\nd3,E00000002\nd4,E00000002\nd5,E00000004\n"
        );
    }

    #[test]
    fn resolve_refuses_a_bad_file_and_writes_nothing() {
        let (result, output) = run_resolve("dup", "record_id,name\nd1,Acme\nd1,Acme Freight\n");
        let message = format!("{:#}", result.expect_err("duplicate id"));
        assert!(message.contains("duplicate_record_id"), "{message}");
        assert!(!output.exists());
        let (result, output) = run_resolve("noscheme", "record_id,name,identifier\nd1,Acme,123\n");
        assert!(format!("{:#}", result.expect_err("no scheme")).contains("needs its scheme"));
        assert!(!output.exists());
    }
}
