//! `caravan log …`: the transparency log from the command line, and the one place the
//! binary turns configuration into a running [`LogNode`].

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use caravan_log::keys::NodeKeys;
use caravan_log::{LogConfig, LogNode, Partner, SystemClock};
use caravan_store::Store;
use caravan_tlog::cosignature::CosignatureVerifier;
use caravan_tlog::note::{Ed25519Verifier, NoteVerifier, VerifierList};
use caravan_tlog::proof::{Leaf, ProofPolicy, verify_offline};

use crate::backend::open_store;
use crate::cli::{LogCommand, VerifyArgs};
use crate::config::Config;

pub(crate) fn run(config_path: Option<&Path>, command: LogCommand) -> anyhow::Result<ExitCode> {
    if let LogCommand::Verify(args) = &command {
        // Offline: needs no configuration and no store.
        return verify(args);
    }
    let config = super::load_config(config_path)?;
    let store = open_store(&config.store)?;
    if let LogCommand::Alarms = command {
        // Alarms concern partners' logs too, so they need no [log] section of our own.
        let alarms = store.alarms().context("read alarms")?;
        if alarms.is_empty() {
            println!("no alarms");
            return Ok(ExitCode::SUCCESS);
        }
        for alarm in &alarms {
            println!(
                "ALARM {} {} on log {}: {}",
                alarm.raised_at, alarm.kind, alarm.origin, alarm.detail
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    let Some(node) = open_log_node(&config, &store)? else {
        bail!("this node has no [log] section in its configuration");
    };
    match command {
        LogCommand::Keys => {
            println!("log origin:   {}", node.config().origin);
            println!("log key:      {}", node.keys().log_vkey());
            println!("witness key:  {}", node.keys().witness_vkey());
        }
        LogCommand::Proof { index } => {
            let proof = node
                .proof(index)
                .with_context(|| format!("build a proof of entry {index}"))?;
            print!("{}", proof.encode());
        }
        LogCommand::Fsck => {
            let keys = VerifierList::new().with(node.keys().log_verifier())?;
            match caravan_log::check::fsck(store.as_ref(), &node.config().origin, &keys) {
                Ok(summary) => {
                    println!(
                        "log {} is sound: {} entries decoded, {} stored hashes recomputed, checkpoint {}",
                        node.config().origin,
                        summary.entries,
                        summary.nodes_checked,
                        summary
                            .checkpoint_size
                            .map_or("none yet".to_owned(), |s| format!("of size {s} verified")),
                    );
                }
                Err(failure) => {
                    println!("log {} is CORRUPT: {failure}", node.config().origin);
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        LogCommand::Verify(_) | LogCommand::Alarms => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the configured log with keys from the data directory, or `None` without `[log]`.
pub fn open_log_node(
    config: &Config,
    store: &Arc<dyn Store>,
) -> anyhow::Result<Option<Arc<LogNode>>> {
    let Some(settings) = &config.log else {
        return Ok(None);
    };
    let keys =
        NodeKeys::load_or_generate(&config.data_dir, &settings.origin, &settings.witness_name)
            .context("load the log keys")?;
    let mut log_config = LogConfig::new(&settings.origin, &settings.name);
    log_config.appender.max_batch = settings.batch_max;
    log_config.appender.max_delay = settings.batch_delay;
    log_config.appender.max_pending = settings.max_pending;
    // A receipt waits for a checkpoint covering its msg_in entry: sign one with each
    // integrated batch instead of making every receipt wait for the next tick.
    log_config.checkpoint_on_append = true;
    for p in &config.partners {
        log_config.partners.push(Partner {
            name: p.name.clone(),
            log_origin: p.log_origin.clone(),
            log_key: Ed25519Verifier::from_vkey(&p.log_vkey)?,
            witness_key: CosignatureVerifier::from_vkey(&p.witness_vkey)?,
            url: p.url.clone(),
        });
    }
    let log_store: Arc<dyn caravan_store::log::LogStore> = store.clone();
    let node = LogNode::open(log_store, keys, log_config, Arc::new(SystemClock))
        .with_context(|| format!("open the log {}", settings.origin))?;
    Ok(Some(node))
}

fn parse_hex32(hex: &str) -> anyhow::Result<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("--leaf-hash must be 64 hexadecimal digits");
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(out)
}

fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let proof_text = std::fs::read(&args.proof)
        .with_context(|| format!("read proof {}", args.proof.display()))?;
    let log_key = Ed25519Verifier::from_vkey(args.log_key.trim())
        .map_err(|e| anyhow::anyhow!("--log-key is not an Ed25519 verifier key: {e}"))?;
    let origin = log_key.name().to_owned();
    let logs = VerifierList::new().with(log_key)?;
    let mut witnesses = VerifierList::new();
    for vkey in &args.witness_key {
        let key = CosignatureVerifier::from_vkey(vkey.trim()).map_err(|e| {
            anyhow::anyhow!("--witness-key is not a cosignature/v1 verifier key: {e}")
        })?;
        witnesses.push(key)?;
    }
    let entry_bytes;
    let leaf = match (&args.entry, &args.leaf_hash) {
        (Some(path), _) => {
            entry_bytes =
                std::fs::read(path).with_context(|| format!("read entry {}", path.display()))?;
            Some(Leaf::Data(&entry_bytes))
        }
        (None, Some(hex)) => Some(Leaf::Hash(parse_hex32(hex)?)),
        (None, None) => None,
    };
    let Some(leaf) = leaf else {
        bail!("give the logged entry (--entry FILE) or its leaf hash (--leaf-hash HEX)");
    };
    let policy = ProofPolicy {
        origin: &origin,
        log_verifiers: &logs,
        witness_verifiers: &witnesses,
        min_witnesses: args.min_witnesses,
    };
    match verify_offline(&proof_text, leaf, &policy) {
        Ok(verdict) => {
            println!("VALID. {verdict}");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            println!("NOT VALID: {err}. The proof establishes nothing about this entry.");
            Ok(ExitCode::FAILURE)
        }
    }
}
