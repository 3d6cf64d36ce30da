//! `caravan request oral|confirm-oral|disclose|original|retention|propose|proposals|decide|
//! duties`: the desk's further procedures of the assistance spec (oral requests §2.3, forced
//! disclosure §10.4, originals §6, retention and legal holds §11, the two-person rule §1.2,
//! §1.9, §13) as an officer's account.
//!
//! Why a module apart from `assist`: each command only parses its arguments and calls one
//! `AssistanceNode` method, which checks the §13 right, writes one transaction with its
//! audit row and queues what the partner must be told; `caravan serve` then sends it.

use std::process::ExitCode;

use anyhow::{Context, bail};
use caravan_assistance::agreement::{AgreementState, AssuranceState, ContactPoint};
use caravan_assistance::approval::{AgreementChange, ProposalState};
use caravan_assistance::catalogue::{RequestDraft, RequestType};
use caravan_assistance::retention::{RetentionClass, ReviewDecision};
use caravan_assistance::usecontrol::Recipient;
use caravan_assistance_node::approval::ProposalDecision;
use caravan_assistance_node::disclosure::DisclosureInput;
use caravan_assistance_node::oral::OralIntake;
use caravan_assistance_node::service::{AssistanceNode, today};
use caravan_store::Store;

use crate::cli::{RequestCommand, RetentionCommand};
use crate::commands::assist::{actor, refused};

fn print(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn recipient(class: &str, name: &str) -> anyhow::Result<Recipient> {
    let name = name.to_owned();
    Ok(match class {
        "domestic_agency" => Recipient::DomesticAgency(name),
        "court" => Recipient::Court(name),
        "third_country" => Recipient::ThirdCountry(name),
        "intl_org" => Recipient::IntlOrg(name),
        other => bail!("{other:?}: domestic_agency, court, third_country or intl_org"),
    })
}

/// Runs one of the commands above; `assist::run` hands over every command it does not
/// handle itself.
pub(crate) fn run(
    node: &AssistanceNode,
    store: &dyn Store,
    command: RequestCommand,
    now: i64,
) -> anyhow::Result<ExitCode> {
    match command {
        RequestCommand::Oral(args) => {
            let who = actor(store, &args.acting.account)?;
            let types = args
                .types
                .split(',')
                .map(|t| {
                    RequestType::parse(t.trim())
                        .with_context(|| format!("{t:?} is not a request type"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let row = node
                .record_oral(
                    &who,
                    OralIntake {
                        caller: args.caller,
                        received_on: args.received_on,
                        summary: args.summary,
                        types,
                        justification: args.justification,
                        reply_by: args.reply_by,
                        desk: args.desk,
                    },
                    now,
                )
                .map_err(refused)?;
            println!(
                "recorded {} (oral_pending_confirmation) at desk {}; give the caller this id for \
                 the written confirmation",
                row.case_id, row.desk
            );
        }
        RequestCommand::ConfirmOral(args) => {
            let who = actor(store, &args.acting.account)?;
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("read {}", args.file.display()))?;
            let draft: RequestDraft = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a request document", args.file.display()))?;
            let row = node
                .confirm_oral_request(&who, &args.oral_id, draft, &args.desk, now)
                .map_err(refused)?;
            println!(
                "drafted {} (confirms the oral request); send it with caravan request send",
                row.case_id
            );
        }
        RequestCommand::Disclose(args) => {
            let who = actor(store, &args.acting.account)?;
            let notice = node
                .disclose_under_domestic_law(
                    &who,
                    DisclosureInput {
                        case_id: args.id,
                        items: args.items.split(',').map(|s| s.trim().to_owned()).collect(),
                        legal_instrument: args.instrument,
                        authority: recipient(&args.authority_class, &args.authority)?,
                        disclosure_date: args.date,
                        summary: args.summary,
                    },
                    now,
                )
                .map_err(refused)?;
            println!(
                "disclosure {} recorded; notice ({}) queued for the provider",
                notice.notice_id,
                if notice.advance {
                    "in advance"
                } else {
                    "after the fact"
                }
            );
        }
        RequestCommand::Original(args) => {
            let who = actor(store, &args.acting.account)?;
            let record = match args.action.as_str() {
                "checkout" => {
                    let due = args.due_back.context("--due-back is needed to check out")?;
                    node.checkout_original(
                        &who,
                        &args.evidence_id,
                        &args.custodian,
                        &args.condition,
                        due,
                        now,
                    )
                }
                "return" => {
                    node.return_original(&who, &args.evidence_id, &args.condition, &args.note, now)
                }
                "confirm" => {
                    node.confirm_original_receipt(&who, &args.evidence_id, &args.condition, now)
                }
                other => bail!("{other:?}: checkout, return or confirm"),
            }
            .map_err(refused)?;
            let state = record
                .original
                .as_ref()
                .map(|o| o.state().code())
                .unwrap_or("-");
            println!("original {} is {state}", record.id);
        }
        RequestCommand::Retention(RetentionCommand::List(acting)) => {
            let who = actor(store, &acting.account)?;
            let list = node.retention_review(&who, today(now)).map_err(refused)?;
            for line in &list {
                println!(
                    "{}\t{}\t{}\tdue {}\tclass {}\thold {}",
                    line["evidence_id"].as_str().unwrap_or(""),
                    line["case_id"].as_str().unwrap_or(""),
                    line["reason"].as_str().unwrap_or(""),
                    line["due"].as_str().unwrap_or(""),
                    line["class"].as_str().unwrap_or(""),
                    line["legal_hold"].as_str().unwrap_or("-"),
                );
            }
        }
        RequestCommand::Retention(RetentionCommand::Hold(args)) => {
            let who = actor(store, &args.acting.account)?;
            let hold = node
                .place_hold(&who, &args.evidence_id, &args.reason, now)
                .map_err(refused)?;
            println!("legal hold {} on {}", hold.hold_id, hold.item_id);
        }
        RequestCommand::Retention(RetentionCommand::Lift(args)) => {
            let who = actor(store, &args.acting.account)?;
            let hold = node
                .lift_hold(&who, &args.evidence_id, &args.reason, now)
                .map_err(refused)?;
            println!("legal hold {} lifted", hold.hold_id);
        }
        RequestCommand::Retention(RetentionCommand::Review(args)) => {
            let who = actor(store, &args.acting.account)?;
            let decision = match args.decision.as_str() {
                "keep" => ReviewDecision::Keep {
                    reason: args.reason,
                },
                "erase" => ReviewDecision::Erase,
                other => bail!("{other:?}: keep or erase"),
            };
            let class = args
                .class
                .as_deref()
                .map(|c| RetentionClass::parse(c).with_context(|| format!("{c:?} is not a class")))
                .transpose()?;
            print(
                &node
                    .review_retention(
                        &who,
                        &args.evidence_id,
                        decision,
                        class,
                        args.personal_data,
                        now,
                    )
                    .map_err(refused)?,
            )?;
        }
        RequestCommand::Propose(args) => {
            let who = actor(store, &args.acting.account)?;
            let change = match args.kind.as_str() {
                "status" => {
                    let raw = args.status.context("--status is needed")?;
                    AgreementChange::Status {
                        to: AgreementState::parse(&raw)
                            .with_context(|| format!("{raw:?} is not an agreement status"))?,
                        effective: args.effective.context("--effective is needed")?,
                        legal_act: args.legal_act,
                    }
                }
                "assurance" => {
                    let raw = args.assurance.context("--assurance is needed")?;
                    AgreementChange::Assurance {
                        to: AssuranceState::parse(&raw)
                            .with_context(|| format!("{raw:?} is not an assurance state"))?,
                        reason: args.reason,
                    }
                }
                "directory" => {
                    let path = args.entry.context("--entry is needed")?;
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("read {}", path.display()))?;
                    let entry: ContactPoint = serde_json::from_str(&text)
                        .with_context(|| format!("{} is not a contact point", path.display()))?;
                    AgreementChange::Directory {
                        entry,
                        reason: args.reason,
                    }
                }
                other => bail!("{other:?}: status, assurance or directory"),
            };
            let row = node
                .propose_agreement_change(&who, change, now)
                .map_err(refused)?;
            println!(
                "proposal {} ({}) awaits approval by a second account",
                row.proposal_id, row.kind
            );
        }
        RequestCommand::Proposals(args) => {
            let who = actor(store, &args.acting.account)?;
            let state = (!args.all).then_some(ProposalState::Pending);
            for p in node.proposals(&who, state).map_err(refused)? {
                println!(
                    "{}\t{}\t{}\tproposed by {}\t{}",
                    p["proposal_id"].as_str().unwrap_or(""),
                    p["kind"].as_str().unwrap_or(""),
                    p["state"].as_str().unwrap_or(""),
                    p["proposed_by"]["account"].as_str().unwrap_or(""),
                    p["change"]
                );
            }
        }
        RequestCommand::Decide(args) => {
            let who = actor(store, &args.acting.account)?;
            let decision = match args.decision.as_str() {
                "approve" => ProposalDecision::Approve,
                "reject" => ProposalDecision::Reject {
                    reason: args.reason,
                },
                "withdraw" => ProposalDecision::Withdraw {
                    reason: args.reason,
                },
                other => bail!("{other:?}: approve, reject or withdraw"),
            };
            let row = node
                .decide_proposal(&who, &args.id, decision, now)
                .map_err(refused)?;
            println!("proposal {} is {}", row.proposal_id, row.state);
            if row.state == "approved" {
                let a = node.agreement().map_err(refused)?;
                println!(
                    "agreement {} is {} (version {}), assurance {}, directory version {}",
                    a.id, a.status.state, a.version, a.assurance.state, a.directory.version
                );
            }
        }
        RequestCommand::Duties(acting) => {
            actor(store, &acting.account)?;
            let reminded = node.run_reminders(now).map_err(refused)?;
            let erased = node.erase_expired(now).map_err(refused)?;
            println!(
                "reminders: {} ({}); erased on expiry: {} ({})",
                reminded.len(),
                reminded.join(", "),
                erased.len(),
                erased.join(", ")
            );
        }
        other => bail!("{other:?} is handled by caravan request itself"),
    }
    Ok(ExitCode::SUCCESS)
}
