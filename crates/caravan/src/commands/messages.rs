//! `caravan messages …`: what this node sent and received, the dead-letter list and its
//! retry, and the auditor's offline check of a receipt.
//!
//! The offline check needs no configuration, no store and no network: only the receipt
//! file and the receiver's public keys, as an auditor or a court would have them.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use base64::Engine;
use caravan_envelope::{MessageVerifyingKey, verify_receipt_offline};
use caravan_log::{Clock, SystemClock};
use caravan_store::StoreError;
use caravan_store::exchange::{OutboundRow, OutboundState};
use caravan_tlog::cosignature::CosignatureVerifier;
use caravan_tlog::note::{Ed25519Verifier, VerifierList};

use crate::backend::open_store;
use crate::cli::MessagesCommand;

fn print_outbound(row: &OutboundRow) {
    let f = &row.record.facts;
    println!(
        "out {:<11} {} → {} {} conv {} attempts {}{}",
        row.state.as_str(),
        f.from_party,
        f.to_party,
        f.action,
        f.conversation_id,
        row.attempts,
        row.last_error
            .as_deref()
            .map_or(String::new(), |e| format!(" — {e}"))
    );
    println!("    {}", f.message_id);
}

pub(crate) fn run(
    config_path: Option<&Path>,
    command: MessagesCommand,
) -> anyhow::Result<ExitCode> {
    if let MessagesCommand::VerifyReceipt {
        receipt,
        receiver_key,
        log_key,
        witness_key,
        min_witnesses,
    } = &command
    {
        return verify(receipt, receiver_key, log_key, witness_key, *min_witnesses);
    }
    let config = super::load_config(config_path)?;
    let store = open_store(&config.store)?;
    match command {
        MessagesCommand::List { state, limit } => {
            let state = state
                .map(|s| OutboundState::parse(&s))
                .transpose()
                .context("--state must be pending, delivered or dead_letter")?;
            for row in store.list_outbound(state, limit)? {
                print_outbound(&row);
            }
            if state.is_none() {
                for row in store.list_inbound(limit)? {
                    let f = &row.record.facts;
                    println!(
                        "in  {:<11} {} → {} {} conv {}",
                        if row.handed_over {
                            "handed_over"
                        } else {
                            "received"
                        },
                        f.from_party,
                        f.to_party,
                        f.action,
                        f.conversation_id
                    );
                    println!("    {}", f.message_id);
                }
            }
        }
        MessagesCommand::Show { message_id } => match store.outbound(&message_id) {
            Ok(row) => {
                print_outbound(&row);
                println!(
                    "    created_at {} expires_at {}",
                    row.record.facts.created_at, row.record.facts.expires_at
                );
                println!("    msg_out log index {:?}", row.record.log_index);
                if let Some(receipt) = &row.receipt {
                    println!(
                        "    receipt ({} bytes, delivered at {}):\n    {}",
                        receipt.len(),
                        row.delivered_at.unwrap_or_default(),
                        base64::engine::general_purpose::STANDARD.encode(receipt)
                    );
                }
            }
            Err(StoreError::NotFound) => {
                let found = store
                    .list_inbound(u32::MAX)?
                    .into_iter()
                    .find(|r| r.record.facts.message_id == message_id);
                let Some(row) = found else {
                    bail!("no message {message_id}");
                };
                let f = &row.record.facts;
                println!(
                    "in {} → {} {} conv {}",
                    f.from_party, f.to_party, f.action, f.conversation_id
                );
                println!(
                    "    received_at {} msg_in log index {:?} handed over {}",
                    row.record.received_at, row.log_index, row.handed_over
                );
                if let Some(receipt) = &row.receipt {
                    println!(
                        "    our receipt ({} bytes):\n    {}",
                        receipt.len(),
                        base64::engine::general_purpose::STANDARD.encode(receipt)
                    );
                }
            }
            Err(err) => return Err(err.into()),
        },
        MessagesCommand::Retry { message_id } => {
            store
                .outbound_retry(&message_id, SystemClock.now_ms())
                .with_context(|| format!("retry {message_id}"))?;
            println!(
                "{message_id} is pending again; the running node sends it within its poll interval"
            );
        }
        MessagesCommand::VerifyReceipt { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

fn decode_key(text: &str) -> anyhow::Result<Vec<u8>> {
    let text = text.trim();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(Into::into))
            .collect();
    }
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .context("--receiver-key is neither 64 hex digits nor base64")
}

fn verify(
    receipt: &Path,
    receiver_key: &str,
    log_key: &str,
    witness_keys: &[String],
    min_witnesses: usize,
) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(receipt).with_context(|| format!("read receipt {}", receipt.display()))?;
    let key = MessageVerifyingKey::from_bytes(&decode_key(receiver_key)?)
        .map_err(|e| anyhow::anyhow!("--receiver-key: {e}"))?;
    let logs = VerifierList::new().with(
        Ed25519Verifier::from_vkey(log_key.trim())
            .map_err(|e| anyhow::anyhow!("--log-key is not an Ed25519 verifier key: {e}"))?,
    )?;
    let mut witnesses = VerifierList::new();
    for vkey in witness_keys {
        witnesses.push(CosignatureVerifier::from_vkey(vkey.trim()).map_err(|e| {
            anyhow::anyhow!("--witness-key is not a cosignature/v1 verifier key: {e}")
        })?)?;
    }
    match verify_receipt_offline(&bytes, &key, &logs, &witnesses, min_witnesses) {
        Ok(verdict) => {
            let r = &verdict.receipt;
            println!(
                "VALID. {} signed receipt {} for message {} from {} ({}), received at {} ms; its msg_in entry {} of log {} commits to exactly these digests. {}",
                r.from.id,
                r.receipt_id,
                r.ref_to,
                r.to.id,
                r.outcome.as_str(),
                r.received_at,
                r.log.index,
                r.log.origin,
                verdict.proof
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            println!(
                "NOT VALID: {err} ({}). The receipt proves nothing.",
                err.code()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
