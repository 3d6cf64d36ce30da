//! `caravan hitnohit …`, `caravan bulk …` and `caravan feedback …`: what mutual assistance
//! sends beyond requests (assistance spec §5, §12, §15), as an officer's account, and the
//! bulk schedule `caravan serve` runs.
//!
//! Why these commands only queue: like `caravan request`, each writes its change and the
//! message in one store transaction; the running node (`caravan serve`) hands it to the
//! exchange and applies the partner's answer. The CLI never needs the exchange to be up.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use caravan_assistance::agreement::Purpose;
use caravan_assistance::hitnohit::QueryType;
use caravan_assistance::outcome::OutcomeReport;
use caravan_assistance_node::hitnohit::QueryAsk;
use caravan_store::Store;

use super::assist::{actor, node_workflow, refused};
use crate::backend::open_store;
use crate::cli::{BulkCommand, FeedbackCommand, HitnohitCommand};
use crate::config::Config;

/// `caravan hitnohit ask|list`.
pub(crate) fn hitnohit(config: &Config, command: HitnohitCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config.store)?;
    let node = node_workflow(config, &store, None)?;
    let now = caravan_web::auth::now_ms();
    match command {
        HitnohitCommand::Ask(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            let query_type = QueryType::parse(&args.query_type).with_context(|| {
                format!(
                    "{:?} is not a query type (company, person, conveyance, declaration, \
                     document_number)",
                    args.query_type
                )
            })?;
            let purpose = args
                .purpose
                .as_deref()
                .map(|p| Purpose::parse(p).with_context(|| format!("{p:?} is not a purpose")))
                .transpose()?;
            let row = node
                .ask_hitnohit(
                    &who,
                    &QueryAsk {
                        query_type,
                        identifier: args.id,
                        purpose,
                        case_reference: args.case_ref,
                    },
                    now,
                )
                .map_err(refused)?;
            println!(
                "query {} queued (commitment {}); the answer arrives through caravan serve",
                row.query_id, row.commitment
            );
        }
        HitnohitCommand::List(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            let rows = node
                .hitnohit_queries(&who, args.direction.as_deref(), args.limit)
                .map_err(refused)?;
            for q in rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    q.query_id,
                    q.direction,
                    q.query_type,
                    q.purpose.as_deref().unwrap_or("-"),
                    q.case_reference,
                    q.answer,
                    q.code.or(q.handle).unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `caravan bulk send|list`.
pub(crate) fn bulk(config: &Config, command: BulkCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config.store)?;
    let node = node_workflow(config, &store, None)?;
    let now = caravan_web::auth::now_ms();
    match command {
        BulkCommand::Send(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            let sent = node
                .send_bulk(&who, &args.dataset, args.from, args.to, now)
                .map_err(refused)?;
            let b = sent.batch;
            if sent.recognised {
                println!(
                    "batch {} of {} for {}..{} was recorded before ({}, {} rows); nothing new",
                    b.batch_id, b.dataset, b.period_from, b.period_to, b.state, b.row_count
                );
            } else {
                println!(
                    "batch {} of {} for {}..{} queued: {} rows, batch SHA-256 {}",
                    b.batch_id, b.dataset, b.period_from, b.period_to, b.row_count, b.batch_sha256
                );
            }
        }
        BulkCommand::List(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            for b in node.bulk_batches(&who, args.limit).map_err(refused)? {
                println!(
                    "{}\t{}\t{}\t{}..{}\t{}\t{}\t{}",
                    b.batch_id,
                    b.direction,
                    b.dataset,
                    b.period_from,
                    b.period_to,
                    b.row_count,
                    b.state,
                    b.batch_sha256
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `caravan feedback report|list`.
pub(crate) fn feedback(config: &Config, command: FeedbackCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config.store)?;
    let node = node_workflow(config, &store, None)?;
    let now = caravan_web::auth::now_ms();
    match command {
        FeedbackCommand::Report(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("read {}", args.file.display()))?;
            let report: OutcomeReport = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an outcome report", args.file.display()))?;
            let row = node
                .report_outcome(&who, &args.request, report, now)
                .map_err(refused)?;
            println!(
                "outcome {} on {} queued for the provider",
                row.feedback_id, row.case_id
            );
        }
        FeedbackCommand::List(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            for f in node
                .outcome_reports(&who, args.request.as_deref())
                .map_err(refused)?
            {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    f.feedback_id, f.direction, f.case_id, f.reported_by, f.reported_on, f.outcome
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `caravan serve`'s bulk schedule (§5): once an hour, every dataset this node provides is
/// cut for each whole period of its frequency in the last four weeks that has not been sent
/// (a node that was down catches up). The batches are only queued here; the workflow's pump
/// hands them to the exchange, so a batch is never handed over twice.
pub(crate) fn spawn_bulk_schedule(
    config: &Config,
    store: &Arc<dyn Store>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let node = node_workflow(config, store, None)?;
    tokio::spawn(async move {
        loop {
            let n = node.clone();
            let ran = tokio::task::spawn_blocking(move || {
                let now = caravan_web::auth::now_ms();
                let today = caravan_assistance_node::service::today(now);
                let since = today - chrono::Days::new(28);
                n.run_bulk_schedule(since, now)
            })
            .await;
            match ran {
                Ok(Ok(queued)) if !queued.is_empty() => {
                    tracing::info!(batches = queued.len(), "bulk batches queued");
                }
                Ok(Err(e)) if e.code != "agreement_not_in_force" => {
                    tracing::warn!(code = e.code, error = %e.message, "bulk schedule failed");
                }
                _ => {}
            }
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => break,
                () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            }
        }
    });
    Ok(())
}
