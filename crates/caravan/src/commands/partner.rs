//! `caravan partner …` and `caravan keys …`: onboarding partners and managing this node's
//! exchange keys from the command line, and the one place the binary turns `[exchange]`
//! into a running [`Exchange`].
//!
//! Onboarding is deliberately two-sided and out of band: each administrator exports a
//! signed key manifest (`caravan keys export`), hands it over, and reads the printed root
//! fingerprint to the other side, who passes it to `caravan partner add`. A manifest
//! whose root key does not have that fingerprint is refused.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use caravan_exchange::identity::{KeyManifest, LogKeys, NodeIdentity, Purpose, fingerprint};
use caravan_exchange::node::{Exchange, ExchangeConfig};
use caravan_exchange::partner::Registry;
use caravan_log::{Clock, LogNode, SystemClock};
use caravan_store::Store;

use crate::backend::open_store;
use crate::cli::{KeysCommand, PartnerCommand};
use crate::config::{Config, ExchangeSettings};

fn now() -> u64 {
    SystemClock.now_ms()
}

fn settings(config: &Config) -> anyhow::Result<&ExchangeSettings> {
    config
        .exchange
        .as_ref()
        .context("this node has no [exchange] section in its configuration")
}

/// Loads (or creates on first start) the node's exchange identity.
pub(crate) fn identity(config: &Config) -> anyhow::Result<NodeIdentity> {
    let settings = settings(config)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("create data directory {}", config.data_dir.display()))?;
    NodeIdentity::load_or_generate(&config.data_dir, &settings.party, &settings.hosts, now())
        .context("load the exchange identity")
}

/// The exchange engine over the node's store and log.
pub(crate) fn open_exchange(
    config: &Config,
    store: &Arc<dyn Store>,
    log: &Arc<LogNode>,
) -> anyhow::Result<Arc<Exchange>> {
    let settings = settings(config)?;
    let (_, host) = caravan_exchange::transport::parse_endpoint(&settings.endpoint)?;
    let mut exchange = ExchangeConfig::new(&settings.party, &host, &settings.agreement);
    exchange.endpoint = settings.endpoint.clone();
    // Large parts (evidence files) are sealed into and received through a spool on disk.
    exchange.parts_dir = Some(config.data_dir.join("parts"));
    Exchange::new(exchange, identity(config)?, store.clone(), log.clone())
        .context("start the exchange")
}

fn registry(config: &Config) -> anyhow::Result<Registry> {
    let settings = settings(config)?;
    let store = open_store(&config.store)?;
    Registry::load(store, &settings.agreement).context("read the partner registry")
}

pub(crate) fn run(config_path: Option<&Path>, command: PartnerCommand) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let registry = registry(&config)?;
    match command {
        PartnerCommand::Add {
            manifest,
            fingerprint,
            name,
        } => {
            let bytes = std::fs::read(&manifest)
                .with_context(|| format!("read manifest {}", manifest.display()))?;
            let partner = registry
                .onboard(&bytes, &fingerprint, &name, now())
                .context("register the partner")?;
            println!(
                "registered {} ({}) at {}, manifest version {}; restart `caravan serve` to pin its TLS CA",
                partner.party, partner.name, partner.endpoint, partner.manifest_version
            );
        }
        PartnerCommand::List => {
            let all = registry.all();
            if all.is_empty() {
                println!("no partners in agreement {}", registry.agreement());
            }
            for p in all {
                println!(
                    "{:<16} {:<24} {:<10} {:<14} {} (manifest v{})",
                    p.party, p.name, p.status, p.assurance, p.endpoint, p.manifest_version
                );
            }
        }
        PartnerCommand::Show { party } => {
            let p = registry.get(&party)?;
            println!("party:       {}", p.party);
            println!("name:        {}", p.name);
            println!("agreement:   {}", p.agreement_id);
            println!("endpoint:    {}", p.endpoint);
            println!("status:      {}", p.status);
            println!("assurance:   {}", p.assurance);
            println!("manifest:    version {}", p.manifest_version);
            println!("fingerprints (compare out of band):");
            for (what, fp) in Registry::fingerprints(&p) {
                println!("  {what}: {fp}");
            }
            for k in &p.keys {
                println!(
                    "  key {} {}: not_before {} not_after {} revoked_at {}",
                    k.purpose,
                    k.kid,
                    k.not_before,
                    k.not_after.map_or("-".to_owned(), |v| v.to_string()),
                    k.revoked_at.map_or("-".to_owned(), |v| v.to_string()),
                );
            }
        }
        PartnerCommand::RotateKeys { party, manifest } => {
            let bytes = std::fs::read(&manifest)
                .with_context(|| format!("read manifest {}", manifest.display()))?;
            let p = registry
                .update_keys(&party, &bytes, now())
                .context("apply the new manifest")?;
            println!(
                "{} now at manifest version {} with {} keys",
                p.party,
                p.manifest_version,
                p.keys.len()
            );
        }
        PartnerCommand::SetAssurance { party, state } => {
            let p = registry.set_assurance(&party, &state, now())?;
            println!("{}: assurance {}", p.party, p.assurance);
        }
        PartnerCommand::SetStatus { party, status } => {
            let p = registry.set_status(&party, &status, now())?;
            println!("{}: status {}", p.party, p.status);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn keys(config_path: Option<&Path>, command: KeysCommand) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let mut identity = identity(&config)?;
    match command {
        KeysCommand::Export { out } => {
            let settings = settings(&config)?;
            let log = match &config.log {
                Some(log) => {
                    let keys = caravan_log::keys::NodeKeys::load_or_generate(
                        &config.data_dir,
                        &log.origin,
                        &log.witness_name,
                    )
                    .context("load the log keys")?;
                    Some(LogKeys {
                        origin: log.origin.clone(),
                        log_vkey: keys.log_vkey(),
                        witness_vkey: keys.witness_vkey(),
                    })
                }
                None => None,
            };
            let manifest = identity.manifest(&settings.endpoint, now(), log);
            let signed = identity.signed_manifest(&manifest);
            std::fs::write(&out, &signed).with_context(|| format!("write {}", out.display()))?;
            println!(
                "wrote key manifest v{} of {} to {} (SHA-256 {})",
                manifest.version,
                manifest.party,
                out.display(),
                KeyManifest::digest(&signed)
            );
            println!("root key fingerprint (read it to the partner out of band):");
            println!("  {}", identity.root_fingerprint());
            for k in &manifest.keys {
                println!("  {} {} [{}]", k.purpose, k.kid, k.status);
            }
            println!("  tls-ca {}", fingerprint(&identity.tls().ca_der));
        }
        KeysCommand::Rotate {
            purpose,
            overlap_hours,
        } => {
            let purpose = Purpose::parse(&purpose).with_context(|| {
                format!("--purpose must be signing or encryption, not {purpose:?}")
            })?;
            let kid = identity.rotate(purpose, now(), overlap_hours.saturating_mul(3_600_000))?;
            println!(
                "new {} key {kid}, used from {overlap_hours} h from now; manifest v{} — export it and send it to every partner",
                purpose.as_str(),
                identity.manifest_version()
            );
        }
        KeysCommand::Revoke { purpose, kid } => {
            let purpose = Purpose::parse(&purpose).with_context(|| {
                format!("--purpose must be signing or encryption, not {purpose:?}")
            })?;
            let kid = kid.parse().map_err(|e| anyhow::anyhow!("--kid: {e}"))?;
            identity.revoke(purpose, &kid, now())?;
            println!(
                "revoked {} key {kid}; manifest v{} — export it and send it to every partner now",
                purpose.as_str(),
                identity.manifest_version()
            );
            if identity.signing_key_at(now()).is_err() {
                bail!("no signing key is valid now: rotate with --overlap-hours 0 before sending");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
