//! `caravan ingest`: files into the store, each whole or not at all.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use caravan_domain::declaration::validate::{Provenance, ValidationContext};
use caravan_ingest::pipeline::{CountingReader, Format, IngestError, IngestReport, Mode, ingest};
use caravan_log::LogNode;
use caravan_log::entry::{Entry, EntryBody};
use caravan_log::witness::WitnessOutcome;
use caravan_store::{IngestSource, Store};

use crate::backend::open_store;
use crate::cli::IngestArgs;
use crate::config::Config;

pub(crate) fn run(config: &Config, args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&config.store)?;
    // With a [log], every stored file is anchored in the transparency log.
    let log = super::log::open_log_node(config, &store)?;
    let mut anchors: Vec<(String, [u8; 32], u64)> = Vec::new();
    let ctx = validation_context(
        config,
        if args.partner {
            Provenance::Partner
        } else {
            Provenance::Local
        },
    );
    let mut quarantine = match &args.quarantine {
        Some(path) => {
            Some(BufWriter::new(File::create(path).with_context(|| {
                format!("create quarantine file {}", path.display())
            })?))
        }
        None => None,
    };
    let mut failed = false;
    for path in &args.files {
        let format = match &args.format {
            Some(name) => Format::parse(name).with_context(|| {
                format!("--format must be csv, json, xml or edifact, not {name:?}")
            })?,
            None => match Format::from_extension(path) {
                Some(format) => format,
                None => bail!(
                    "{}: cannot tell the syntax from the extension; give --format",
                    path.display()
                ),
            },
        };
        let mode = match quarantine.as_mut() {
            Some(sink) => Mode::Quarantine(sink),
            None => Mode::WholeFile,
        };
        let started = Instant::now();
        match ingest_file(store.as_ref(), path, format, &ctx, mode, args.quiet) {
            Ok(report) => {
                print_report(path, &report, started.elapsed());
                if report.batch.inserted > 0 {
                    anchors.push((
                        path.display().to_string(),
                        report.audit_head,
                        report.batch.inserted,
                    ));
                }
            }
            Err(err) => {
                failed = true;
                print_error(&err);
            }
        }
    }
    if let Some(mut sink) = quarantine {
        use std::io::Write;
        sink.flush().context("flush quarantine file")?;
    }
    if let Some(log) = log
        && !anchors.is_empty()
    {
        anchor_runs(&log, &anchors)?;
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Appends one `audit_anchor` entry per stored file and settles the log: the batch is
/// durable, a checkpoint is signed, and partner witnesses are asked to cosign it. A
/// partner that cannot be reached is reported, not fatal: the anchor is already durable
/// and the next round of `caravan serve` asks again.
fn anchor_runs(log: &Arc<LogNode>, anchors: &[(String, [u8; 32], u64)]) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("start async runtime")?;
    runtime.block_on(async {
        let now = log.clock().now_ms();
        let mut tickets = Vec::new();
        for (_, head, records) in anchors {
            let entry = Entry {
                t: now,
                agreement_id: log.config().agreement_id.clone(),
                body: EntryBody::AuditAnchor { head: *head, event_count: *records },
            };
            tickets.push(log.submit(&entry).context("log the ingest run")?);
        }
        let settled = log.settle().await.context("settle the log")?;
        for ((file, _, records), ticket) in anchors.iter().zip(tickets) {
            let index = ticket.index().await.context("log the ingest run")?;
            println!(
                "{file}: anchored in log {} as entry {index} (audit chain over {records} declarations)",
                log.config().origin
            );
        }
        if let Some(size) = settled.signed {
            println!("log {}: signed a checkpoint of size {size}", log.config().origin);
        }
        for outcome in settled.witnesses {
            if let WitnessOutcome::Failed { partner, reason } = outcome {
                eprintln!("caravan: warning: witness {partner} did not cosign yet: {reason}");
            }
        }
        anyhow::Ok(())
    })
}

/// The validation context of this node for `provenance`.
pub(crate) fn validation_context(config: &Config, provenance: Provenance) -> ValidationContext {
    ValidationContext {
        provenance,
        node_country: config.country.clone(),
        offices: if provenance == Provenance::Local {
            config.offices.clone()
        } else {
            Vec::new()
        },
        procedures: if provenance == Provenance::Local {
            config.procedures.clone()
        } else {
            Vec::new()
        },
        now: super::now(),
    }
}

/// Ingests one file, drawing a progress bar on stderr unless `quiet`.
pub(crate) fn ingest_file(
    store: &dyn Store,
    path: &Path,
    format: Format,
    ctx: &ValidationContext,
    mode: Mode<'_>,
    quiet: bool,
) -> anyhow::Result<IngestReport> {
    let file = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let counter = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let bar = (!quiet).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        bar
    });
    let painter = bar.clone().map(|bar| {
        let counter = counter.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                bar.set_position(counter.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        })
    });
    let source = IngestSource {
        name: path.display().to_string(),
        format: format.name().to_owned(),
        provenance: ctx.provenance,
    };
    let reader = CountingReader::new(std::io::BufReader::with_capacity(1 << 20, file), counter);
    let result = ingest(store, reader, format, &source, ctx, mode);
    done.store(true, Ordering::Relaxed);
    if let Some(painter) = painter {
        let _ = painter.join();
    }
    Ok(result?)
}

fn print_report(path: &Path, report: &IngestReport, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "{}: stored {} declarations ({} goods items), {} identical replays skipped, {} quarantined, {} warnings; {:.0} items/s",
        path.display(),
        report.batch.inserted,
        report.batch.items,
        report.batch.replayed,
        report.quarantined,
        report.warnings,
        report.batch.items as f64 / secs,
    );
}

fn print_error(err: &anyhow::Error) {
    match err.downcast_ref::<IngestError>() {
        Some(IngestError::Rejected {
            file,
            rejections,
            n_rejected,
        }) => {
            eprintln!(
                "{file}: rejected: {n_rejected} record(s) failed validation; nothing was stored"
            );
            for rejection in rejections {
                for finding in rejection
                    .findings
                    .iter()
                    .filter(|f| f.severity.as_str() == "error")
                {
                    eprintln!(
                        "  {file}: line {} record {}{}: {}",
                        rejection.locator.line,
                        rejection.locator.record,
                        rejection
                            .lrn
                            .as_deref()
                            .map(|l| format!(" (LRN {l})"))
                            .unwrap_or_default(),
                        finding
                    );
                }
            }
        }
        _ => eprintln!("caravan: error: {err:#}"),
    }
}
