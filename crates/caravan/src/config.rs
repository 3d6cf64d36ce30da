//! Node configuration: defaults, then a TOML file, then `CARAVAN__SECTION__KEY` variables.
//!
//! Configuration is read into [`RawConfig`], where everything is optional, and then
//! checked once into [`Config`], which the rest of the binary trusts. A node that starts
//! with a bad setting would fail later in a way an administrator cannot trace, so every
//! check happens at startup and names the setting. Database URLs may carry passwords:
//! they are [`Secret`]s and print redacted.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// A value that must not appear in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The settings file as written, every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[node]`.
    #[serde(default)]
    pub node: RawNode,
    /// `[store]`.
    #[serde(default)]
    pub store: RawStore,
    /// `[http]`.
    #[serde(default)]
    pub http: RawHttp,
    /// `[log]`; without it the node keeps no transparency log.
    pub log: Option<RawLog>,
    /// `[[partners]]`.
    #[serde(default)]
    pub partners: Vec<RawPartner>,
    /// `[exchange]`; without it the node exchanges no messages.
    pub exchange: Option<RawExchange>,
    /// `[targeting]`; without it `caravan serve` never retrains on its own.
    pub targeting: Option<RawTargeting>,
    /// `[oidc]`; without it officers sign in with Caravan accounts only.
    pub oidc: Option<RawOidc>,
}

/// `[oidc]` as written: OpenID Connect sign-in through the agency's identity provider.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidc {
    /// The provider's issuer identifier (`https://…`, exactly as in its ID tokens).
    pub issuer: Option<String>,
    /// The name on the sign-in button (default `identity provider`).
    pub provider_name: Option<String>,
    /// This node's client id at the provider.
    pub client_id: Option<String>,
    /// The client secret (prefer `client_secret_file`).
    pub client_secret: Option<String>,
    /// A file holding the client secret (trailing whitespace trimmed).
    pub client_secret_file: Option<PathBuf>,
    /// This node's callback, `https://<node>/ui/oidc/callback`.
    pub redirect_url: Option<String>,
    /// ID token algorithms accepted (default `["ES256", "RS256"]`).
    pub algorithms: Option<Vec<String>>,
    /// PEM CA certificates to trust for the provider (only these); default: the system
    /// bundle.
    pub ca_file: Option<PathBuf>,
}

/// `[targeting]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTargeting {
    /// Retrain at most this often, e.g. `"7d"` (s, m, h, d, w).
    pub retrain_every: Option<String>,
    /// Outcomes recorded since the last training needed to retrain (default 20).
    pub min_new_outcomes: Option<u64>,
}

/// Scheduled retraining of the targeting model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetingSettings {
    /// The due check's policy.
    pub policy: caravan_target::schedule::RetrainPolicy,
}

/// `[exchange]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExchange {
    /// This administration's party id, e.g. `US-CBP`.
    pub party: Option<String>,
    /// The agreement whose partners this node exchanges with.
    pub agreement: Option<String>,
    /// Address the mutual-TLS exchange endpoint listens on.
    pub listen: Option<String>,
    /// The endpoint as partners reach it, `https://host:port`.
    pub endpoint: Option<String>,
    /// Host names and IP addresses in the TLS certificate.
    pub hosts: Option<Vec<String>>,
}

/// Checked `[exchange]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeSettings {
    /// Party id.
    pub party: String,
    /// Agreement id.
    pub agreement: String,
    /// mTLS listen address.
    pub listen: SocketAddr,
    /// Public endpoint.
    pub endpoint: String,
    /// TLS host names.
    pub hosts: Vec<String>,
}

/// `[log]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// Log origin, e.g. `caravan.cbp.example/us-uz-cmaa-2024`; also the key name.
    pub origin: Option<String>,
    /// Name in URLs (`/log/<name>/…`); defaults to the origin's last path element.
    pub name: Option<String>,
    /// Name of this node's witness key.
    pub witness_name: Option<String>,
    /// Most entries per batch.
    pub batch_max: Option<usize>,
    /// Longest wait for a batch, in milliseconds.
    pub batch_delay_ms: Option<u64>,
    /// Most entries waiting before appends answer 503.
    pub max_pending: Option<usize>,
}

/// `[[partners]]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPartner {
    /// Display name.
    pub name: Option<String>,
    /// The partner log's origin.
    pub log_origin: Option<String>,
    /// The partner log's verifier key.
    pub log_vkey: Option<String>,
    /// The partner witness's verifier key.
    pub witness_vkey: Option<String>,
    /// Base URL of the partner node (plain http:// until mutual TLS).
    pub url: Option<String>,
}

/// Checked `[log]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Log origin.
    pub origin: String,
    /// Name in URLs.
    pub name: String,
    /// Witness key name.
    pub witness_name: String,
    /// Most entries per batch.
    pub batch_max: usize,
    /// Longest wait for a batch.
    pub batch_delay: std::time::Duration,
    /// Queue bound.
    pub max_pending: usize,
}

/// A checked partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerSettings {
    /// Display name.
    pub name: String,
    /// Its log origin.
    pub log_origin: String,
    /// Its log vkey (parsed once at validation).
    pub log_vkey: String,
    /// Its witness vkey.
    pub witness_vkey: String,
    /// Its base URL.
    pub url: String,
}

/// `[node]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    /// Display name.
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2 of the administration.
    pub country: Option<String>,
    /// Data directory.
    pub data_dir: Option<PathBuf>,
    /// Customs offices whose local filings this node accepts.
    pub offices: Option<Vec<String>>,
    /// Procedure codes accepted on local filings.
    pub procedures: Option<Vec<String>>,
}

/// `[store]` as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// `sqlite://PATH` or `postgres://...`.
    pub url: Option<String>,
}

impl fmt::Debug for RawStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawStore")
            .field("url", &self.url.as_ref().map(|u| redact_url(u)))
            .finish()
    }
}

/// `[http]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Listen address, e.g. `127.0.0.1:8441`.
    pub listen: Option<String>,
}

/// Where the node keeps its declarations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// Embedded SQLite file.
    Sqlite(PathBuf),
    /// PostgreSQL connection URL.
    Postgres(Secret<String>),
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            StoreUrl::Postgres(url) => f.write_str(&redact_url(url.expose())),
        }
    }
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Display name, e.g. `US CBP`.
    pub node_name: String,
    /// ISO 3166-1 alpha-2 of the administration.
    pub country: String,
    /// Data directory; created at startup.
    pub data_dir: PathBuf,
    /// Customs offices; empty disables the office check.
    pub offices: Vec<String>,
    /// Procedure codes; empty disables the procedure check.
    pub procedures: Vec<String>,
    /// Store location.
    pub store: StoreUrl,
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// The transparency log, if configured.
    pub log: Option<LogSettings>,
    /// Partners whose logs this node witnesses and whose witnesses cosign ours.
    pub partners: Vec<PartnerSettings>,
    /// The node-to-node exchange, if configured.
    pub exchange: Option<ExchangeSettings>,
    /// Scheduled retraining, if configured.
    pub targeting: Option<TargetingSettings>,
    /// OpenID Connect sign-in, if configured.
    pub oidc: Option<caravan_web::oidc::Settings>,
}

/// Replaces the password of a URL with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

impl RawConfig {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> anyhow::Result<RawConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read configuration file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("parse configuration file {}", path.display()))
    }

    /// Applies `CARAVAN__SECTION__KEY` variables from `vars` over the file's values.
    /// Lists are comma-separated.
    pub fn apply_env(
        &mut self,
        vars: impl Iterator<Item = (String, String)>,
    ) -> anyhow::Result<()> {
        let list = |v: &str| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        for (key, value) in vars {
            let Some(setting) = key.strip_prefix("CARAVAN__") else {
                continue;
            };
            match setting {
                "NODE__NAME" => self.node.name = Some(value),
                "NODE__COUNTRY" => self.node.country = Some(value),
                "NODE__DATA_DIR" => self.node.data_dir = Some(PathBuf::from(value)),
                "NODE__OFFICES" => self.node.offices = Some(list(&value)),
                "NODE__PROCEDURES" => self.node.procedures = Some(list(&value)),
                "STORE__URL" => self.store.url = Some(value),
                "HTTP__LISTEN" => self.http.listen = Some(value),
                other => bail!("unknown environment setting CARAVAN__{other}"),
            }
        }
        Ok(())
    }

    /// Checks every setting and fills defaults.
    pub fn validate(self) -> anyhow::Result<Config> {
        let country = self
            .node
            .country
            .unwrap_or_else(|| "US".to_owned())
            .to_ascii_uppercase();
        if caravan_domain::refdata::countries().get(&country).is_none() {
            bail!("node.country must be an ISO 3166-1 alpha-2 code, not {country:?}");
        }
        let node_name = self
            .node
            .name
            .unwrap_or_else(|| format!("Caravan node {country}"));
        if node_name.trim().is_empty() {
            bail!("node.name must not be empty");
        }
        let data_dir = self
            .node
            .data_dir
            .unwrap_or_else(|| PathBuf::from("caravan-data"));
        let store = match self.store.url {
            None => StoreUrl::Sqlite(data_dir.join("caravan.sqlite")),
            Some(url) => parse_store_url(&url)?,
        };
        let listen_raw = self
            .http
            .listen
            .unwrap_or_else(|| "127.0.0.1:8441".to_owned());
        let listen: SocketAddr = listen_raw.parse().with_context(|| {
            format!("http.listen must be an IP address and port, not {listen_raw:?}")
        })?;
        let log = self.log.map(validate_log).transpose()?;
        let partners = self
            .partners
            .into_iter()
            .enumerate()
            .map(|(i, p)| validate_partner(i, p))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if !partners.is_empty() && log.is_none() {
            bail!("[[partners]] need a [log] section: witnessing is mutual");
        }
        let exchange = self.exchange.map(validate_exchange).transpose()?;
        if exchange.is_some() && log.is_none() {
            bail!("[exchange] needs a [log] section: receipts carry proofs from the log");
        }
        let oidc = self.oidc.map(validate_oidc).transpose()?;
        Ok(Config {
            oidc,
            node_name,
            country,
            data_dir,
            offices: self.node.offices.unwrap_or_default(),
            procedures: self.node.procedures.unwrap_or_default(),
            store,
            listen,
            log,
            partners,
            exchange,
            targeting: self
                .targeting
                .map(|t| -> anyhow::Result<TargetingSettings> {
                    let every = t.retrain_every.unwrap_or_else(|| "7d".to_owned());
                    let every_ms = caravan_target::schedule::parse_interval(&every)
                        .map_err(|e| anyhow::anyhow!("targeting.retrain_every: {e}"))?;
                    Ok(TargetingSettings {
                        policy: caravan_target::schedule::RetrainPolicy {
                            every_ms,
                            min_new_outcomes: t.min_new_outcomes.unwrap_or(20),
                        },
                    })
                })
                .transpose()?,
        })
    }
}

fn validate_oidc(raw: RawOidc) -> anyhow::Result<caravan_web::oidc::Settings> {
    use caravan_web::oidc::Alg;
    let required = |value: Option<String>, setting: &str| -> anyhow::Result<String> {
        value
            .filter(|v| !v.trim().is_empty())
            .with_context(|| format!("oidc.{setting} is required"))
    };
    let issuer = required(raw.issuer, "issuer")?;
    if !issuer.starts_with("https://") {
        bail!("oidc.issuer must be an https:// URL, not {issuer:?}");
    }
    let client_secret = match (raw.client_secret, raw.client_secret_file) {
        (Some(secret), None) if !secret.is_empty() => secret,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .with_context(|| format!("oidc.client_secret_file: read {}", path.display()))?
            .trim_end()
            .to_owned(),
        _ => bail!("oidc needs exactly one of client_secret and client_secret_file"),
    };
    if client_secret.is_empty() {
        bail!("oidc: the client secret is empty");
    }
    let algorithms = match raw.algorithms {
        None => vec![Alg::Es256, Alg::Rs256],
        Some(names) => names
            .iter()
            .map(|n| {
                Alg::parse(n).with_context(|| {
                    format!(
                        "oidc.algorithms: {n:?} is not accepted (RS256, ES256; never none or HS*)"
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    if algorithms.is_empty() {
        bail!("oidc.algorithms must name at least one of RS256, ES256");
    }
    let ca_pem = raw
        .ca_file
        .map(|path| {
            std::fs::read(&path).with_context(|| format!("oidc.ca_file: read {}", path.display()))
        })
        .transpose()?;
    let settings = caravan_web::oidc::Settings {
        issuer,
        provider_name: raw
            .provider_name
            .unwrap_or_else(|| "identity provider".to_owned()),
        client_id: required(raw.client_id, "client_id")?,
        client_secret,
        redirect_url: required(raw.redirect_url, "redirect_url")?,
        algorithms,
        ca_pem,
    };
    // Builds the client once: unreadable CA files and bad URLs fail at startup.
    caravan_web::oidc::Oidc::new(settings.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(settings)
}

fn validate_exchange(raw: RawExchange) -> anyhow::Result<ExchangeSettings> {
    let id = |setting: &str, value: Option<String>| -> anyhow::Result<String> {
        let value = value.with_context(|| format!("exchange.{setting} is required"))?;
        if value.is_empty()
            || value.len() > 128
            || !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            bail!("exchange.{setting} must be 1–128 of A–Z a–z 0–9 - _ . :, not {value:?}");
        }
        Ok(value)
    };
    let party = id("party", raw.party)?;
    let agreement = id("agreement", raw.agreement)?;
    let listen_raw = raw.listen.unwrap_or_else(|| "127.0.0.1:8443".to_owned());
    let listen: SocketAddr = listen_raw.parse().with_context(|| {
        format!("exchange.listen must be an IP address and port, not {listen_raw:?}")
    })?;
    let endpoint = raw
        .endpoint
        .unwrap_or_else(|| format!("https://localhost:{}", listen.port()));
    caravan_exchange::transport::parse_endpoint(&endpoint)
        .map_err(|e| anyhow::anyhow!("exchange.endpoint: {e}"))?;
    let hosts = raw
        .hosts
        .unwrap_or_else(|| vec!["localhost".to_owned(), "127.0.0.1".to_owned()]);
    if hosts.is_empty() {
        bail!("exchange.hosts must name at least one host for the TLS certificate");
    }
    Ok(ExchangeSettings {
        party,
        agreement,
        listen,
        endpoint,
        hosts,
    })
}

fn valid_key_name(setting: &str, name: &str) -> anyhow::Result<()> {
    if !caravan_tlog::note::is_valid_key_name(name) {
        bail!("{setting} must be non-empty with no spaces or '+', not {name:?}");
    }
    Ok(())
}

fn validate_log(raw: RawLog) -> anyhow::Result<LogSettings> {
    let origin = raw.origin.context("log.origin is required in [log]")?;
    valid_key_name("log.origin", &origin)?;
    let name = raw.name.unwrap_or_else(|| {
        origin
            .rsplit('/')
            .next()
            .unwrap_or(origin.as_str())
            .to_owned()
    });
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        bail!("log.name must be letters, digits, '-', '_' or '.', not {name:?}");
    }
    let host = origin.split('/').next().unwrap_or_default();
    let witness_name = raw
        .witness_name
        .unwrap_or_else(|| format!("{host}/witness"));
    valid_key_name("log.witness_name", &witness_name)?;
    let batch_max = raw.batch_max.unwrap_or(256);
    if !(1..=65_536).contains(&batch_max) {
        bail!("log.batch_max must be 1 to 65536, not {batch_max}");
    }
    let batch_delay_ms = raw.batch_delay_ms.unwrap_or(250);
    if !(1..=60_000).contains(&batch_delay_ms) {
        bail!("log.batch_delay_ms must be 1 to 60000, not {batch_delay_ms}");
    }
    let max_pending = raw.max_pending.unwrap_or(4096);
    if max_pending < batch_max {
        bail!("log.max_pending ({max_pending}) must be at least log.batch_max ({batch_max})");
    }
    Ok(LogSettings {
        origin,
        name,
        witness_name,
        batch_max,
        batch_delay: std::time::Duration::from_millis(batch_delay_ms),
        max_pending,
    })
}

fn validate_partner(i: usize, raw: RawPartner) -> anyhow::Result<PartnerSettings> {
    let at = format!("partners[{i}]");
    let name = raw.name.with_context(|| format!("{at}.name is required"))?;
    let log_origin = raw
        .log_origin
        .with_context(|| format!("{at}.log_origin is required"))?;
    valid_key_name(&format!("{at}.log_origin"), &log_origin)?;
    let log_vkey = raw
        .log_vkey
        .with_context(|| format!("{at}.log_vkey is required"))?;
    let verifier = caravan_tlog::note::Ed25519Verifier::from_vkey(&log_vkey)
        .map_err(|e| anyhow::anyhow!("{at}.log_vkey is not an Ed25519 verifier key: {e}"))?;
    if caravan_tlog::note::NoteVerifier::name(&verifier) != log_origin {
        bail!(
            "{at}.log_vkey is for {:?}, not {log_origin:?}",
            caravan_tlog::note::NoteVerifier::name(&verifier)
        );
    }
    let witness_vkey = raw
        .witness_vkey
        .with_context(|| format!("{at}.witness_vkey is required"))?;
    caravan_tlog::cosignature::CosignatureVerifier::from_vkey(&witness_vkey).map_err(|e| {
        anyhow::anyhow!("{at}.witness_vkey is not a cosignature/v1 verifier key: {e}")
    })?;
    let url = raw.url.with_context(|| format!("{at}.url is required"))?;
    if !url.starts_with("http://") || url.len() <= "http://".len() {
        bail!(
            "{at}.url must be http://host:port (mutual TLS comes with the exchange), not {url:?}"
        );
    }
    Ok(PartnerSettings {
        name,
        log_origin,
        log_vkey,
        witness_vkey,
        url,
    })
}

/// Parses `sqlite://PATH` or `postgres://…`/`postgresql://…`.
pub fn parse_store_url(url: &str) -> anyhow::Result<StoreUrl> {
    match url.split_once("://") {
        Some(("sqlite", path)) if !path.is_empty() => Ok(StoreUrl::Sqlite(PathBuf::from(path))),
        Some(("postgres" | "postgresql", rest)) if !rest.is_empty() => {
            Ok(StoreUrl::Postgres(Secret::new(url.to_owned())))
        }
        Some((scheme, _)) => {
            bail!("store.url must start with sqlite:// or postgres://, not {scheme}://")
        }
        None => bail!("store.url must start with sqlite:// or postgres://"),
    }
}

/// A commented example configuration; `caravan print-config` prints it and a test
/// checks that it loads.
pub const EXAMPLE: &str = r#"# Caravan node configuration. Every setting can also be given in the environment as
# CARAVAN__SECTION__KEY (for example CARAVAN__STORE__URL); the environment wins.

[node]
# Shown in the UI, logs and probes.
name = "US CBP"
# ISO 3166-1 alpha-2 code of this administration. Decides which identifier schemes are
# "ours" (EIN and CBP importer numbers at US, STIR at UZ) and so which checks are errors.
country = "US"
# Where the node keeps its files; the embedded store lives here unless store.url says otherwise.
data_dir = "caravan-data/us"
# Customs offices whose local filings this node accepts (empty: any).
offices = ["2704", "1001", "4701", "5501", "3901"]
# Procedure codes accepted on local filings (empty: any).
procedures = []

[store]
# sqlite://PATH for the embedded store (the default), or a PostgreSQL URL:
# url = "postgres://caravan:PASSWORD@127.0.0.1:5432/caravan"
url = "sqlite://caravan-data/us/caravan.sqlite"

[http]
# Address the API and probes listen on.
listen = "127.0.0.1:8441"

[log]
# The transparency log of the agreement: its origin (also the checkpoint key's name) and
# the name of this node's witness key. Keys are generated into data_dir on first start
# (log.key, witness.key, mode 0600); `caravan log keys` prints the verifier keys to give
# to the partner out of band. Remove this section to run without a log.
origin = "caravan.cbp.example/us-uz-cmaa-2024"
witness_name = "caravan.cbp.example/witness"
# Served at /log/<name>/; defaults to the origin's last path element.
# name = "us-uz-cmaa-2024"
# Batching: integrate every batch_delay_ms or batch_max entries; beyond max_pending
# waiting entries, appends are refused with 503 and Retry-After.
batch_max = 256
batch_delay_ms = 250
max_pending = 4096

# Each partner: its log (which this node witnesses) and its witness (which cosigns ours).
# Plain http:// between nodes for now; mutual TLS arrives with the exchange.
# [[partners]]
# name = "UZ Customs"
# log_origin = "caravan.customs.uz.example/us-uz-cmaa-2024"
# log_vkey = "caravan.customs.uz.example/us-uz-cmaa-2024+<key id>+<base64 key>"
# witness_vkey = "caravan.customs.uz.example/witness+<key id>+<base64 key>"
# url = "http://127.0.0.1:8442"

[exchange]
# Signed, encrypted messages with partner nodes over mutual TLS. Keys (root, message
# signing, encryption, TLS CA and leaf) are generated into data_dir on first start
# (exchange-identity.json, mode 0600). `caravan keys export` writes the signed key
# manifest and prints the root fingerprint to read out to the partner; `caravan partner
# add` registers the partner's. Needs [log]: receipts carry proofs from it.
party = "US-CBP"
agreement = "us-uz-cmaa-2024"
listen = "127.0.0.1:8443"
endpoint = "https://localhost:8443"
hosts = ["localhost", "127.0.0.1"]

[targeting]
# Scheduled retraining of the inspection-targeting model by `caravan serve`: at most this
# often (s, m, h, d, w), and only once this many inspection outcomes were recorded since the
# model in service was trained. The new model is registered with its evaluation on a
# temporal hold-out and put in service only if it does at least as well there.
retrain_every = "7d"
min_new_outcomes = 20

# [oidc]
# OpenID Connect sign-in through the agency's identity provider (Authorization Code flow
# with PKCE). Officers still need a Caravan account: an administrator links it with
# `caravan account link-oidc`, and its role is the account's, never the provider's claims.
# Administrators and auditors still prove a TOTP code unless the ID token's `amr` says
# the provider did multi-factor authentication (`mfa` or `otp`).
# issuer = "https://sso.agency.example"
# provider_name = "Agency SSO"
# client_id = "caravan-us-cbp"
# client_secret_file = "/etc/caravan/oidc-client-secret"
# redirect_url = "https://caravan.agency.example/ui/oidc/callback"
# algorithms = ["ES256", "RS256"]
# ca_file = "/etc/caravan/sso-ca.pem"   # default: the system CA bundle
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oidc_settings_are_checked_at_startup() {
        let ca = rcgen_free_ca();
        let dir = tempfile::tempdir().unwrap();
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca).unwrap();
        let section = |extra: &str| {
            format!(
                "[oidc]\nissuer = \"https://sso.example\"\nclient_id = \"c\"\n\
                 redirect_url = \"https://n.example/ui/oidc/callback\"\nca_file = {:?}\n{extra}",
                ca_path.display().to_string()
            )
        };
        let ok: RawConfig = toml::from_str(&section("client_secret = \"s\"")).unwrap();
        let oidc = ok.validate().unwrap().oidc.unwrap();
        assert_eq!(oidc.algorithms.len(), 2);
        assert_eq!(oidc.client_secret, "s");
        for (extra, message) in [
            ("", "exactly one of client_secret"),
            ("client_secret = \"s\"\nalgorithms = [\"HS256\"]", "HS256"),
            ("client_secret = \"s\"\nalgorithms = [\"none\"]", "none"),
            ("client_secret = \"s\"\nalgorithms = []", "at least one"),
        ] {
            let raw: RawConfig = toml::from_str(&section(extra)).unwrap();
            let err = format!("{:#}", raw.validate().unwrap_err());
            assert!(err.contains(message), "{extra}: {err}");
        }
        let http: RawConfig = toml::from_str(
            "[oidc]\nissuer = \"http://sso.example\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
             redirect_url = \"https://n/ui/oidc/callback\"",
        )
        .unwrap();
        assert!(format!("{:#}", http.validate().unwrap_err()).contains("https://"));
    }

    /// A CA certificate (PEM) made with the exchange's TLS code.
    fn rcgen_free_ca() -> String {
        let id = caravan_exchange::tls::TlsIdentity::generate("OIDC-TEST", &["localhost".into()])
            .unwrap();
        caravan_web::oidc::certificate_pem(&id.ca_der)
    }

    #[test]
    fn example_loads_and_validates() {
        let raw: RawConfig = toml::from_str(EXAMPLE).unwrap();
        let config = raw.validate().unwrap();
        assert_eq!(config.country, "US");
        assert_eq!(config.offices.len(), 5);
        let log = config.log.unwrap();
        assert_eq!(log.name, "us-uz-cmaa-2024");
        assert_eq!(log.batch_max, 256);
        assert!(config.partners.is_empty());
        let exchange = config.exchange.unwrap();
        assert_eq!(exchange.party, "US-CBP");
        assert_eq!(exchange.listen.port(), 8443);
        assert!(
            config.targeting.is_some(),
            "the example schedules retraining"
        );
        assert_eq!(
            config.store,
            StoreUrl::Sqlite(PathBuf::from("caravan-data/us/caravan.sqlite"))
        );
    }

    #[test]
    fn environment_overrides_file_and_unknown_keys_fail() {
        let mut raw: RawConfig = toml::from_str(EXAMPLE).unwrap();
        raw.apply_env(
            [
                ("CARAVAN__NODE__COUNTRY".to_owned(), "UZ".to_owned()),
                ("PATH".to_owned(), "/bin".to_owned()),
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(raw.validate().unwrap().country, "UZ");
        let err = RawConfig::default()
            .apply_env([("CARAVAN__NODE__COLOUR".to_owned(), "red".to_owned())].into_iter())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown environment setting CARAVAN__NODE__COLOUR"
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = |toml_text: &str| {
            toml::from_str::<RawConfig>(toml_text)
                .map_err(|e| e.to_string())
                .and_then(|raw| raw.validate().map(|_| ()).map_err(|e| format!("{e:#}")))
        };
        assert!(
            bad("[node]\ncountry = \"XX\"")
                .unwrap_err()
                .contains("node.country")
        );
        assert!(
            bad("[store]\nurl = \"mysql://x\"")
                .unwrap_err()
                .contains("mysql://")
        );
        assert!(
            bad("[http]\nlisten = \"localhost\"")
                .unwrap_err()
                .contains("http.listen")
        );
        assert!(
            bad("[log]\norigin = \"a b\"")
                .unwrap_err()
                .contains("log.origin")
        );
        assert!(
            bad("[log]\norigin = \"x.example/l\"\n[[partners]]\nname = \"P\"\nlog_origin = \"p.example/l\"\nlog_vkey = \"nope\"")
                .unwrap_err()
                .contains("partners[0].log_vkey")
        );
        assert!(
            bad("[exchange]\nparty = \"US CBP\"\nagreement = \"a\"")
                .unwrap_err()
                .contains("exchange.party")
        );
        assert!(
            bad("[log]\norigin = \"x.example/l\"\n[exchange]\nparty = \"US\"\nagreement = \"a\"\nendpoint = \"http://x:1\"")
                .unwrap_err()
                .contains("exchange.endpoint")
        );
        assert!(
            bad("[exchange]\nparty = \"US\"\nagreement = \"a\"")
                .unwrap_err()
                .contains("needs a [log]")
        );
        assert!(
            bad("[node]\ncolour = \"red\"")
                .unwrap_err()
                .contains("colour")
        );
    }

    #[test]
    fn passwords_never_print() {
        let url = parse_store_url("postgres://caravan:hunter2@db.example:5432/caravan").unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://caravan:***@db.example:5432/caravan"
        );
        assert!(!format!("{url:?}").contains("hunter2"));
        let raw: RawConfig =
            toml::from_str("[store]\nurl = \"postgres://u:hunter2@h/db\"").unwrap();
        assert!(!format!("{raw:?}").contains("hunter2"));
        assert!(!format!("{:?}", raw.validate().unwrap()).contains("hunter2"));
    }
}
