//! `caravan request …`, the workflow's part of `caravan serve`, and the mutual-assistance
//! stage of `caravan demo`: the US and Uzbek nodes play the reference
//! case of issue 5 over their running exchange (`caravan_assistance_node::story::play`), and
//! the desk pages of both nodes then show it.
//!
//! Why the workflow is registered here: the web servers of the demo serve the same stores,
//! and find each node's workflow (with its evidence key file in the node's data directory)
//! through `caravan_assistance_node::runtime`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use caravan_assistance::agreement::{Agreement, AgreementState, Purpose, US_UZ_CMAA_2024};
use caravan_assistance::catalogue::RequestDraft;
use caravan_assistance::evidence::Form as EvidenceForm;
use caravan_assistance::lifecycle::{Event, Ground};
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance::roles::{Actor, Role};
use caravan_assistance::usecontrol::{ConsentDecision, Recipient};
use caravan_assistance_node::error::AssistError;
use caravan_assistance_node::runtime;
use caravan_assistance_node::service::{
    AssistanceNode, ConsentAsk, EvidenceUpload, NodeConfig, UploadContent, today,
};
use caravan_assistance_node::story::{self, Officials};
use caravan_exchange::node::Exchange;
use caravan_store::Store;
use caravan_store::assistance::CaseQuery;

use crate::backend::open_store;
use crate::cli::{ConsentCommand, RequestCommand, RequestIdArgs};
use crate::config::Config;

/// Builds and registers the workflow of one demo node.
fn workflow(
    store: &Arc<dyn Store>,
    exchange: &Arc<Exchange>,
    dir: &Path,
    us_side: bool,
) -> anyhow::Result<Arc<AssistanceNode>> {
    let key = runtime::load_or_create_key(dir).context("open the evidence key")?;
    let node = Arc::new(AssistanceNode::new(
        store.clone(),
        Some(exchange.clone()),
        NodeConfig::us_uz(us_side),
        key,
        runtime::evidence_dir(dir),
    ));
    runtime::register(node.clone());
    Ok(node)
}

/// Plays the reference case between the US (`[0]`) and UZ (`[1]`) nodes and prints it.
pub(crate) async fn demo_stage(
    exchanges: &[Arc<Exchange>],
    stores: &[Arc<dyn Store>],
    dirs: [&Path; 2],
    web: [&str; 2],
) -> anyhow::Result<()> {
    let us = workflow(&stores[0], &exchanges[0], dirs[0], true)?;
    let uz = workflow(&stores[1], &exchanges[1], dirs[1], false)?;
    let (a, b) = (us.clone(), uz.clone());
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        let t0 = caravan_web::auth::now_ms();
        let mut settle = |now| {
            story::settle_over_exchange(
                [&a, &b],
                now,
                Duration::from_millis(30),
                6,
                Duration::from_secs(120),
            )
        };
        let out = story::play(&a, &b, t0, &mut settle)?;
        let more = story::play_procedures(&a, &b, &out, &mut settle)?;
        Ok::<_, AssistError>((out, more))
    })
    .await
    .context("assistance stage")?
    .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    let (out, more) = out;
    println!();
    println!(
        "Mutual assistance (issue 5), played over the exchange in {:.1} s:",
        started.elapsed().as_secs_f64()
    );
    let sup = Officials::of("US").supervisor;
    for (label, case) in [
        ("origin and value (R02+R04)", &out.main_case),
        ("offence information (R03)", &out.refused_case),
        ("lawful movement (R01)", &out.overdue_case),
    ] {
        let view = us
            .case_view(&sup, case, out.ended_at)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
        let uz_state = uz.store().case_row(case)?.state;
        println!(
            "  {label}: {case} — US copy {}, UZ copy {uz_state}, {} transitions, grounds {}",
            view["state"].as_str().unwrap_or(""),
            view["transitions"].as_array().map_or(0, Vec::len),
            view["grounds"]
        );
    }
    for id in &out.evidence {
        let row = us.store().evidence_row(id)?;
        println!(
            "  evidence {id}: SHA-256 {} verified on arrival, stored encrypted ({} bytes at rest){}",
            row.sha256,
            us.vault()
                .path_of(id)
                .ok()
                .and_then(|p| std::fs::metadata(p).ok())
                .map_or(0, |m| m.len()),
            if row.erased_at.is_some() {
                ", since erased at UZ's request (confirmed)"
            } else {
                ""
            }
        );
    }
    println!(
        "  consent {} for court use: {}",
        out.consent,
        us.store().consent_row(&out.consent)?.state
    );
    let overdue = us
        .overdue(&sup, today(out.ended_at))
        .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    for (desk, items) in &overdue {
        for i in items {
            println!(
                "  overdue on {} at desk {desk}: {} ({} due {}, {} days late)",
                today(out.ended_at),
                i.case_id,
                i.timer,
                i.due,
                i.days_late
            );
        }
    }
    println!("  refused with their codes (and audited):");
    for (what, code) in out.refusals.iter().chain(&more.refusals) {
        println!("    {what}: {code}");
    }
    println!(
        "  urgent oral request {} confirmed in writing (UZ copy {}); {} left unconfirmed is \
         overdue on T_confirm",
        more.oral_case,
        uz.store().case_row(&more.oral_case)?.state,
        more.unconfirmed_oral
    );
    println!(
        "  forced disclosure {} (subpoena) in both custody logs; original {} checked out, \
         reminded when due, returned and its receipt confirmed by UZ",
        more.disclosure, more.original
    );
    println!(
        "  UZ's erasure {} answered with a legal hold; erased on expiry and told to UZ: {}",
        more.held_erasure,
        more.expired.join(", ")
    );
    println!(
        "  two-person proposals approved by a second account: {}",
        more.proposals.join(", ")
    );
    println!(
        "  desk pages: {}/ui/desk/inbox and {}/ui/desk/inbox (sign in with a demo account and password printed above)",
        web[0], web[1]
    );
    Ok(())
}

/// The workflow of a configured node: its evidence key from the data directory, its party
/// codes from `country` and `[exchange]`, the partner from the registry. Installs the
/// compiled-in US–UZ agreement on first use.
pub(crate) fn node_workflow(
    config: &Config,
    store: &Arc<dyn Store>,
    exchange: Option<Arc<Exchange>>,
) -> anyhow::Result<Arc<AssistanceNode>> {
    let key = runtime::load_or_create_key(&config.data_dir).context("open the evidence key")?;
    let agreement = Agreement::us_uz();
    let party = config
        .exchange
        .as_ref()
        .map_or_else(|| format!("{}-NODE", config.country), |e| e.party.clone());
    let registry = caravan_exchange::partner::Registry::load(store.clone(), &agreement.id)
        .context("read the partner registry")?;
    let partner = registry
        .all()
        .into_iter()
        .map(|p| p.party)
        .next()
        .unwrap_or_else(|| "PARTNER".to_owned());
    let node_config = NodeConfig::for_node(
        &agreement,
        &config.country,
        &party,
        &partner,
        &config.node_name,
    )
    .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    let node = Arc::new(AssistanceNode::new(
        store.clone(),
        exchange,
        node_config,
        key,
        runtime::evidence_dir(&config.data_dir),
    ));
    node.install_agreement(US_UZ_CMAA_2024, caravan_web::auth::now_ms())
        .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
    Ok(node)
}

/// For `caravan serve`: registers the node's workflow for the web routes and pumps its
/// messages (dispatch, receipts, inbox) every second until `stopped`.
pub(crate) fn spawn_workflow(
    config: &Config,
    store: &Arc<dyn Store>,
    exchange: Option<Arc<Exchange>>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let node = node_workflow(config, store, exchange)?;
    runtime::register(node.clone());
    // Evidence still held as database blobs (written before files moved to the vault) is
    // moved once, before the node serves it.
    let moved = node
        .move_blobs_at_rest(caravan_web::auth::now_ms())
        .map_err(|e| anyhow::anyhow!("move evidence to the vault: {}: {}", e.code, e.message))?;
    if moved > 0 {
        tracing::info!(moved, "evidence moved from the database to the vault");
    }
    tokio::spawn(async move {
        // Reminders (T_exec, T_confirm, originals due back) and erasure on expiry run once an
        // hour; the first run is at start.
        let mut duties_due = std::time::Instant::now();
        loop {
            let n = node.clone();
            let pumped =
                tokio::task::spawn_blocking(move || n.pump(caravan_web::auth::now_ms())).await;
            if let Ok(Err(e)) = pumped {
                tracing::warn!(code = e.code, error = %e.message, "assistance pump failed");
            }
            if std::time::Instant::now() >= duties_due {
                duties_due = std::time::Instant::now() + Duration::from_secs(3600);
                let n = node.clone();
                let ran = tokio::task::spawn_blocking(move || {
                    let now = caravan_web::auth::now_ms();
                    n.run_reminders(now)?;
                    // Files whose transaction never committed (a crash in between).
                    n.vault().sweep(n.store().as_ref(), now)?;
                    n.erase_expired(now)
                })
                .await;
                if let Ok(Err(e)) = ran {
                    tracing::warn!(code = e.code, error = %e.message, "assistance duties failed");
                }
            }
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => break,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
    Ok(())
}

pub(crate) fn refused(e: AssistError) -> anyhow::Error {
    anyhow::anyhow!("refused ({}): {}", e.code, e.message)
}

pub(crate) fn actor(store: &dyn Store, account: &str) -> anyhow::Result<Actor> {
    let found = store
        .account(account)
        .context("read the account")?
        .with_context(|| format!("no account {account:?} (caravan account add)"))?;
    if found.disabled {
        bail!("account {account:?} is disabled");
    }
    let role = Role::parse(&found.role)
        .with_context(|| format!("account {account:?} has an unknown role {:?}", found.role))?;
    Ok(Actor::new(&found.name, role))
}

fn print(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `caravan request …`.
pub(crate) fn run(config: &Config, command: RequestCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config.store)?;
    let node = node_workflow(config, &store, None)?;
    let now = caravan_web::auth::now_ms();
    let act = |args: &RequestIdArgs, event: Event, action: &str| -> anyhow::Result<ExitCode> {
        let who = actor(store.as_ref(), &args.acting.account)?;
        let row = node
            .act(&who, None, &args.id, event, action, now)
            .map_err(refused)?;
        println!("{} is now {}", row.case_id, row.state);
        Ok(ExitCode::SUCCESS)
    };
    match command {
        RequestCommand::Create(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("read {}", args.file.display()))?;
            let draft: RequestDraft = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a request document", args.file.display()))?;
            let row = node
                .create_request(&who, draft, &args.desk, now)
                .map_err(refused)?;
            println!("created {} (draft) at desk {}", row.case_id, row.desk);
        }
        RequestCommand::List(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            let query = CaseQuery {
                holder: args.holder,
                state: args.state,
                ..CaseQuery::default()
            };
            let cases = node.list_cases(&who, &query).map_err(refused)?;
            for c in &cases {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    c["case_id"].as_str().unwrap_or(""),
                    c["holder"].as_str().unwrap_or(""),
                    c["state"].as_str().unwrap_or(""),
                    c["reply_due"].as_str().unwrap_or("-"),
                    c["subject"].as_str().unwrap_or("")
                );
            }
        }
        RequestCommand::Show(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            print(&node.case_view(&who, &args.id, now).map_err(refused)?)?;
        }
        RequestCommand::Send(args) => return act(&args, Event::Submit, "request.send"),
        RequestCommand::Ack(args) => return act(&args, Event::Acknowledge, "request.acknowledge"),
        RequestCommand::Accept(args) => return act(&args, Event::Accept, "request.accept"),
        RequestCommand::Refuse(args) => {
            let grounds = args
                .grounds
                .split(',')
                .map(|g| {
                    Ground::parse(g.trim()).with_context(|| format!("{g:?} is not a ground code"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let ids = RequestIdArgs {
                acting: args.acting,
                id: args.id,
            };
            return act(
                &ids,
                Event::Refuse {
                    grounds,
                    reason: args.reason,
                },
                "request.refuse",
            );
        }
        RequestCommand::Reply(args) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            let approver = args
                .approved_by
                .as_deref()
                .map(|a| actor(store.as_ref(), a))
                .transpose()?;
            let form = EvidenceForm::parse(&args.form)
                .with_context(|| format!("{:?}: certified_copy, copy or original", args.form))?;
            let tlp = Tlp::parse_tag(&args.tlp)
                .with_context(|| format!("{:?} is not a TLP value", args.tlp))?;
            let pap = Pap::parse_tag(&args.pap)
                .with_context(|| format!("{:?} is not a PAP value", args.pap))?;
            let uses = args
                .uses
                .split(',')
                .map(|u| {
                    Purpose::parse(u.trim()).with_context(|| format!("{u:?} is not a purpose"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut files = Vec::new();
            for path in &args.files {
                files.push(EvidenceUpload {
                    name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    media_type: "application/octet-stream".into(),
                    // Streamed into the node's evidence vault, never whole in memory.
                    content: UploadContent::Stored({
                        let mut file = std::fs::File::open(path)
                            .with_context(|| format!("read {}", path.display()))?;
                        let mut writer = node.upload_writer(now, u64::MAX).map_err(refused)?;
                        std::io::copy(&mut file, &mut writer)
                            .with_context(|| format!("read {}", path.display()))?;
                        writer.finish().map_err(refused)?
                    }),
                    form,
                    certification: args.certification.clone(),
                    markings: Markings::new(tlp, pap),
                    permitted_uses: uses.clone(),
                });
            }
            let row = node
                .reply(&who, approver.as_ref(), &args.id, files, None, now)
                .map_err(refused)?;
            println!("{} is now {}", row.case_id, row.state);
        }
        RequestCommand::Consent(ConsentCommand::Request(args)) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            let purpose = Purpose::parse(&args.purpose)
                .with_context(|| format!("{:?} is not a purpose", args.purpose))?;
            let name = args.recipient_name.clone();
            let recipient = match args.recipient.as_str() {
                "same_admin" => Recipient::SameAdmin,
                "domestic_agency" => Recipient::DomesticAgency(name),
                "court" => Recipient::Court(name),
                "third_country" => Recipient::ThirdCountry(name),
                "intl_org" => Recipient::IntlOrg(name),
                other => bail!("{other:?} is not a recipient class"),
            };
            let row = node
                .request_consent(
                    &who,
                    ConsentAsk {
                        case_id: args.id,
                        items: args.items.split(',').map(|s| s.trim().to_owned()).collect(),
                        purpose,
                        recipient,
                        justification: args.justification,
                        proceedings_reference: args.proceedings,
                        needed_by: args.needed_by,
                    },
                    now,
                )
                .map_err(refused)?;
            println!("consent {} requested", row.consent_id);
        }
        RequestCommand::Consent(ConsentCommand::Decide(args)) => {
            let who = actor(store.as_ref(), &args.acting.account)?;
            let decision = match args.decision.as_str() {
                "granted" => ConsentDecision::Granted {
                    expires_on: args.expires_on,
                },
                "refused" => ConsentDecision::Refused {
                    reasons: args.reasons,
                },
                other => bail!("{other:?}: granted or refused"),
            };
            let row = node
                .decide_consent(&who, &args.id, decision, now)
                .map_err(refused)?;
            println!("consent {} is {}", row.consent_id, row.state);
        }
        RequestCommand::Agreement(args) => {
            let first = actor(store.as_ref(), &args.acting.account)?;
            let second = actor(store.as_ref(), &args.second)?;
            let to = AgreementState::parse(&args.status)
                .with_context(|| format!("{:?} is not an agreement status", args.status))?;
            let agreement = node
                .set_agreement_status(to, args.effective, &args.legal_act, [&first, &second], now)
                .map_err(refused)?;
            println!(
                "agreement {} is {} (version {})",
                agreement.id, agreement.status.state, agreement.version
            );
        }
        other => {
            return crate::commands::assist_procedures::run(&node, store.as_ref(), other, now);
        }
    }
    Ok(ExitCode::SUCCESS)
}
