//! `caravan marking change` and `caravan directory show|update`: the two governance messages
//! of mutual assistance (assistance spec §9 `Marking.Change`, §1.8 `Directory.Update`).
//!
//! Why these commands only queue: like `caravan request`, each writes its change and the
//! message in one store transaction; the running node (`caravan serve`) hands it to the
//! exchange. The partner applies it only if the rule holds there too (provider-only
//! loosening; section versions in order).

use std::process::ExitCode;

use anyhow::Context;
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance_node::directory::parse_entries;
use caravan_assistance_node::marking_change::MarkingChangeInput;

use super::assist::{actor, node_workflow, refused};
use crate::backend::open_store;
use crate::cli::{DirectoryCommand, MarkingCommand};
use crate::config::Config;

/// Markings from the command line's `--tlp`, `--pap` and comma-separated `--caveats`.
pub(crate) fn parse_markings(tlp: &str, pap: &str, caveats: &str) -> anyhow::Result<Markings> {
    let tlp = Tlp::parse_tag(tlp).with_context(|| format!("{tlp:?} is not a TLP value"))?;
    let pap = Pap::parse_tag(pap).with_context(|| format!("{pap:?} is not a PAP value"))?;
    let mut m = Markings::new(tlp, pap);
    for c in caveats.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        m = m
            .with_caveat(c)
            .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    }
    Ok(m)
}

/// `caravan marking change`.
pub(crate) fn marking(config: &Config, command: MarkingCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config.store)?;
    let node = node_workflow(config, &store, None)?;
    let now = caravan_web::auth::now_ms();
    match command {
        MarkingCommand::Change(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            let markings = parse_markings(&args.tlp, &args.pap, &args.caveats)?;
            let body = node
                .change_marking(
                    &who,
                    MarkingChangeInput {
                        item_id: args.item,
                        field: args.field,
                        markings,
                        reason: args.reason,
                    },
                    now,
                )
                .map_err(refused)?;
            println!(
                "markings of {}{} are now TLP:{} PAP:{}{}; Marking.Change {} (#{}) queued for the \
                 partner",
                body.item_id,
                body.field
                    .as_deref()
                    .map(|f| format!(" field {f}"))
                    .unwrap_or_default(),
                body.markings.tlp,
                body.markings.pap,
                body.markings
                    .caveats
                    .iter()
                    .map(|c| format!(" {}", c.as_str()))
                    .collect::<String>(),
                body.change_id,
                body.seq
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `caravan directory show|update`.
pub(crate) fn directory(config: &Config, command: DirectoryCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config.store)?;
    let node = node_workflow(config, &store, None)?;
    let now = caravan_web::auth::now_ms();
    match command {
        DirectoryCommand::Show(args) => {
            let view = node.directory_view().map_err(refused)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&view)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "directory of {} (document version {})",
                view.agreement_id, view.document_version
            );
            for (label, section) in [("ours", &view.own), ("partner's", &view.partner)] {
                println!(
                    "{} section {} (version {}):",
                    section.party, label, section.version
                );
                for e in &section.entries {
                    println!(
                        "  {}\t{}\t{}\t{}\t{}..{}",
                        e.id,
                        e.role,
                        e.unit,
                        e.channels.join(" "),
                        e.valid_from,
                        e.valid_to.map(|d| d.to_string()).unwrap_or_default()
                    );
                }
            }
            for u in &view.updates {
                println!(
                    "Directory.Update\t{}\t{}\tv{}\t{}\t{}",
                    u["direction"].as_str().unwrap_or(""),
                    u["party"].as_str().unwrap_or(""),
                    u["version"],
                    u["state"].as_str().unwrap_or(""),
                    u["code"].as_str().unwrap_or("")
                );
            }
        }
        DirectoryCommand::Update(args) => {
            let first = actor(store.as_ref(), &args.acting.account)?;
            let second = actor(store.as_ref(), &args.second)?;
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("read {}", args.file.display()))?;
            let entries = parse_entries(&text).map_err(refused)?;
            let update = node
                .update_directory(entries, &args.reason, [&first, &second], now)
                .map_err(refused)?;
            println!(
                "directory section {} version {} ({} contact points) queued for the partner",
                update.party,
                update.version,
                update.entries.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
