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
        Ok(Config {
            node_name,
            country,
            data_dir,
            offices: self.node.offices.unwrap_or_default(),
            procedures: self.node.procedures.unwrap_or_default(),
            store,
            listen,
        })
    }
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
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_loads_and_validates() {
        let raw: RawConfig = toml::from_str(EXAMPLE).unwrap();
        let config = raw.validate().unwrap();
        assert_eq!(config.country, "US");
        assert_eq!(config.offices.len(), 5);
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
