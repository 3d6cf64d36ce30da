//! The node's exchange identity: one key per purpose (spec §8.1), kept in the data
//! directory, rotated with an overlap (§8.3), revocable (§8.4), and published as a key
//! manifest signed by the node's root key (§8.2).
//!
//! Why one file: the root key, every version of the message-signing and encryption keys
//! and the TLS CA and leaf change together (a rotation adds a key and bumps the manifest
//! version), so they are written together, atomically (temporary file, fsync, rename),
//! readable only by the node's user (0600). The log's checkpoint and witness keys stay
//! where `caravan-log` keeps them; the manifest lists their verifier keys. Old private
//! encryption keys are kept so messages sealed to them during the retry horizon still
//! open. `Debug` never prints secret material.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use caravan_envelope::cose::{Sign1, sign};
use caravan_envelope::keys::{
    EncryptionPublicKey, EncryptionSecretKey, Kid, MessageSigningKey, MessageVerifyingKey,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::tls::TlsIdentity;

/// File name of the identity inside the data directory.
pub const IDENTITY_FILE: &str = "exchange-identity.json";
/// COSE content type of a key manifest.
pub const MANIFEST_CONTENT_TYPE: &str = "application/caravan-key-manifest+json";

/// Why the identity could not be loaded, created or used.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Reading or writing the file failed.
    #[error("identity file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not parse.
    #[error("identity file {path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Key generation or decoding failed.
    #[error("key: {0}")]
    Key(String),
    /// TLS material could not be generated.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// No key of this purpose is valid at that time.
    #[error("no {purpose} key is valid at {at} ms")]
    NoValidKey {
        /// `signing` or `encryption`.
        purpose: &'static str,
        /// The instant.
        at: u64,
    },
    /// A rotation or revocation names an unknown key.
    #[error("no {purpose} key with kid {kid}")]
    UnknownKey {
        /// Purpose.
        purpose: &'static str,
        /// Kid (hex).
        kid: String,
    },
}

/// Key purposes with versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Ed25519 message signing.
    Signing,
    /// X25519 message encryption.
    Encryption,
}

impl Purpose {
    /// Stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Signing => "signing",
            Purpose::Encryption => "encryption",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "signing" => Some(Purpose::Signing),
            "encryption" => Some(Purpose::Encryption),
            _ => None,
        }
    }
}

/// The validity of one key version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validity {
    /// First instant (ms) a message may be created under the key.
    pub not_before: u64,
    /// Last instant (ms, exclusive); `None` while it is the newest key.
    pub not_after: Option<u64>,
    /// Revocation instant, if revoked.
    pub revoked_at: Option<u64>,
}

impl Validity {
    /// Whether a message created at `t` may use the key.
    pub fn covers(&self, t: u64) -> bool {
        t >= self.not_before
            && self.not_after.is_none_or(|end| t < end)
            && self.revoked_at.is_none_or(|r| t < r)
    }

    /// `active`, `rotated` (superseded, still verifying older messages) or `revoked`.
    pub fn status(&self, now: u64) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.not_after.is_some_and(|end| now >= end) {
            "expired"
        } else if self.not_after.is_some() {
            "rotating"
        } else if now < self.not_before {
            "announced"
        } else {
            "active"
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    seed: String,
    #[serde(flatten)]
    validity: Validity,
}

#[derive(Serialize, Deserialize)]
struct StoredIdentity {
    party: String,
    hosts: Vec<String>,
    root: String,
    signing: Vec<StoredKey>,
    encryption: Vec<StoredKey>,
    tls_ca: String,
    tls_leaf: String,
    tls_leaf_key: String,
    manifest_version: u64,
    prev_manifest_sha256: Option<String>,
}

/// A message key version: the secret and its validity.
#[derive(Clone)]
pub struct KeyVersion<K> {
    /// The secret key.
    pub key: K,
    /// When it may be used.
    pub validity: Validity,
}

/// The node's exchange identity.
#[derive(Clone)]
pub struct NodeIdentity {
    path: PathBuf,
    party: String,
    hosts: Vec<String>,
    root: MessageSigningKey,
    signing: Vec<KeyVersion<MessageSigningKey>>,
    encryption: Vec<KeyVersion<EncryptionSecretKey>>,
    tls: TlsIdentity,
    manifest_version: u64,
    prev_manifest_sha256: Option<String>,
}

impl std::fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("party", &self.party)
            .field("root", &self.root_fingerprint())
            .field("manifest_version", &self.manifest_version)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 fingerprint of a public key, hex in groups of four for reading aloud.
pub fn fingerprint(public: &[u8]) -> String {
    let h = hex(&Sha256::digest(public));
    h.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes `contents` to `path` atomically, readable only by the owner.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), IdentityError> {
    let io = |source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

fn seed32(path: &Path, what: &str, b64text: &str) -> Result<[u8; 32], IdentityError> {
    let bytes = STANDARD
        .decode(b64text)
        .map_err(|e| IdentityError::Malformed {
            path: path.to_path_buf(),
            reason: format!("{what}: {e}"),
        })?;
    bytes.try_into().map_err(|_| IdentityError::Malformed {
        path: path.to_path_buf(),
        reason: format!("{what} is not 32 bytes"),
    })
}

fn random_seed() -> Result<[u8; 32], IdentityError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| IdentityError::Key(e.to_string()))?;
    Ok(seed)
}

impl NodeIdentity {
    /// Loads `<dir>/exchange-identity.json`, or generates a new identity for `party` with
    /// a TLS leaf for `hosts`, valid from `now`, and writes it (0600).
    pub fn load_or_generate(
        dir: &Path,
        party: &str,
        hosts: &[String],
        now: u64,
    ) -> Result<Self, IdentityError> {
        let path = dir.join(IDENTITY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Self::decode(&path, &bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let validity = Validity {
                    not_before: now,
                    not_after: None,
                    revoked_at: None,
                };
                let identity = Self {
                    path,
                    party: party.to_owned(),
                    hosts: hosts.to_vec(),
                    root: MessageSigningKey::from_bytes(&random_seed()?),
                    signing: vec![KeyVersion {
                        key: MessageSigningKey::from_bytes(&random_seed()?),
                        validity,
                    }],
                    encryption: vec![KeyVersion {
                        key: EncryptionSecretKey::from_bytes(&random_seed()?),
                        validity,
                    }],
                    tls: TlsIdentity::generate(party, hosts)?,
                    manifest_version: 1,
                    prev_manifest_sha256: None,
                };
                identity.save()?;
                Ok(identity)
            }
            Err(source) => Err(IdentityError::Io { path, source }),
        }
    }

    fn decode(path: &Path, bytes: &[u8]) -> Result<Self, IdentityError> {
        let stored: StoredIdentity =
            serde_json::from_slice(bytes).map_err(|e| IdentityError::Malformed {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let der = |what: &str, text: &str| {
            STANDARD.decode(text).map_err(|e| IdentityError::Malformed {
                path: path.to_path_buf(),
                reason: format!("{what}: {e}"),
            })
        };
        let signing = stored
            .signing
            .iter()
            .map(|k| {
                Ok(KeyVersion {
                    key: MessageSigningKey::from_bytes(&seed32(path, "signing key", &k.seed)?),
                    validity: k.validity,
                })
            })
            .collect::<Result<Vec<_>, IdentityError>>()?;
        let encryption = stored
            .encryption
            .iter()
            .map(|k| {
                Ok(KeyVersion {
                    key: EncryptionSecretKey::from_bytes(&seed32(path, "encryption key", &k.seed)?),
                    validity: k.validity,
                })
            })
            .collect::<Result<Vec<_>, IdentityError>>()?;
        if signing.is_empty() || encryption.is_empty() {
            return Err(IdentityError::Malformed {
                path: path.to_path_buf(),
                reason: "no signing or no encryption key".into(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            root: MessageSigningKey::from_bytes(&seed32(path, "root key", &stored.root)?),
            tls: TlsIdentity {
                ca_der: der("tls_ca", &stored.tls_ca)?,
                leaf_der: der("tls_leaf", &stored.tls_leaf)?,
                leaf_key_pkcs8: der("tls_leaf_key", &stored.tls_leaf_key)?,
            },
            party: stored.party,
            hosts: stored.hosts,
            signing,
            encryption,
            manifest_version: stored.manifest_version,
            prev_manifest_sha256: stored.prev_manifest_sha256,
        })
    }

    /// Writes the identity back (atomically, 0600).
    pub fn save(&self) -> Result<(), IdentityError> {
        let stored = StoredIdentity {
            party: self.party.clone(),
            hosts: self.hosts.clone(),
            root: b64(self.root.to_bytes().as_ref()),
            signing: self
                .signing
                .iter()
                .map(|k| StoredKey {
                    seed: b64(k.key.to_bytes().as_ref()),
                    validity: k.validity,
                })
                .collect(),
            encryption: self
                .encryption
                .iter()
                .map(|k| StoredKey {
                    seed: b64(k.key.to_bytes().as_ref()),
                    validity: k.validity,
                })
                .collect(),
            tls_ca: b64(&self.tls.ca_der),
            tls_leaf: b64(&self.tls.leaf_der),
            tls_leaf_key: b64(&self.tls.leaf_key_pkcs8),
            manifest_version: self.manifest_version,
            prev_manifest_sha256: self.prev_manifest_sha256.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&stored).map_err(|e| IdentityError::Malformed {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        write_private(&self.path, &bytes)
    }

    /// Party id, e.g. `US-CBP`.
    pub fn party(&self) -> &str {
        &self.party
    }

    /// TLS host names.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// The TLS material.
    pub fn tls(&self) -> &TlsIdentity {
        &self.tls
    }

    /// The root (manifest-signing) public key.
    pub fn root_public(&self) -> MessageVerifyingKey {
        self.root.verifying_key()
    }

    /// Fingerprint of the root key, for the out-of-band check at onboarding.
    pub fn root_fingerprint(&self) -> String {
        fingerprint(&self.root.verifying_key().to_bytes())
    }

    /// Current manifest version.
    pub fn manifest_version(&self) -> u64 {
        self.manifest_version
    }

    /// The signing key for a message created at `t`: the newest version covering `t`.
    pub fn signing_key_at(&self, t: u64) -> Result<&MessageSigningKey, IdentityError> {
        self.signing
            .iter()
            .rev()
            .find(|k| k.validity.covers(t))
            .map(|k| &k.key)
            .ok_or(IdentityError::NoValidKey {
                purpose: "signing",
                at: t,
            })
    }

    /// Our secret encryption key named `kid` (any version not revoked: old ones stay to
    /// open messages sealed during the retry horizon).
    pub fn encryption_key(&self, kid: &Kid) -> Option<&EncryptionSecretKey> {
        self.encryption
            .iter()
            .find(|k| &k.key.kid() == kid && k.validity.revoked_at.is_none())
            .map(|k| &k.key)
    }

    /// Signing key versions.
    pub fn signing_keys(&self) -> &[KeyVersion<MessageSigningKey>] {
        &self.signing
    }

    /// Encryption key versions.
    pub fn encryption_keys(&self) -> &[KeyVersion<EncryptionSecretKey>] {
        &self.encryption
    }

    /// Rotates the key of `purpose`: a new version valid from `now + overlap_ms`; the
    /// current newest version stays valid until then. Bumps the manifest version and
    /// saves. Returns the new kid.
    pub fn rotate(
        &mut self,
        purpose: Purpose,
        now: u64,
        overlap_ms: u64,
    ) -> Result<Kid, IdentityError> {
        let switch = now.saturating_add(overlap_ms);
        let validity = Validity {
            not_before: switch,
            not_after: None,
            revoked_at: None,
        };
        let kid = match purpose {
            Purpose::Signing => {
                let key = MessageSigningKey::from_bytes(&random_seed()?);
                let kid = key.kid();
                close_newest(&mut self.signing, switch);
                self.signing.push(KeyVersion { key, validity });
                kid
            }
            Purpose::Encryption => {
                let key = EncryptionSecretKey::from_bytes(&random_seed()?);
                let kid = key.kid();
                close_newest(&mut self.encryption, switch);
                self.encryption.push(KeyVersion { key, validity });
                kid
            }
        };
        self.bump_manifest();
        self.save()?;
        Ok(kid)
    }

    /// Revokes a key version at `now` (spec §8.4) and saves.
    pub fn revoke(&mut self, purpose: Purpose, kid: &Kid, now: u64) -> Result<(), IdentityError> {
        let found = match purpose {
            Purpose::Signing => revoke_in(&mut self.signing, kid, now, |k| k.kid()),
            Purpose::Encryption => revoke_in(&mut self.encryption, kid, now, |k| k.kid()),
        };
        if !found {
            return Err(IdentityError::UnknownKey {
                purpose: purpose.as_str(),
                kid: kid.to_string(),
            });
        }
        self.bump_manifest();
        self.save()
    }

    fn bump_manifest(&mut self) {
        self.manifest_version += 1;
    }

    /// The key manifest (spec §8.2) as of `now`, for `endpoint`, with the log's verifier
    /// keys when the node keeps a log.
    pub fn manifest(&self, endpoint: &str, now: u64, log: Option<LogKeys>) -> KeyManifest {
        let mut keys = Vec::new();
        for k in &self.signing {
            let public = k.key.verifying_key();
            keys.push(ManifestKey {
                purpose: "signing".into(),
                alg: "Ed25519".into(),
                kid: public.kid().to_string(),
                public: b64(&public.to_bytes()),
                status: k.validity.status(now).into(),
                validity: k.validity,
            });
        }
        for k in &self.encryption {
            let public = k.key.public_key();
            keys.push(ManifestKey {
                purpose: "encryption".into(),
                alg: "X25519".into(),
                kid: public.kid().to_string(),
                public: b64(&public.to_bytes()),
                status: k.validity.status(now).into(),
                validity: k.validity,
            });
        }
        KeyManifest {
            version: self.manifest_version,
            party: self.party.clone(),
            hosts: self.hosts.clone(),
            endpoint: endpoint.to_owned(),
            issued_at: now,
            root_key: b64(&self.root.verifying_key().to_bytes()),
            tls_ca: b64(&self.tls.ca_der),
            keys,
            log,
            prev_sha256: self.prev_manifest_sha256.clone(),
        }
    }

    /// The manifest as a COSE_Sign1 signed by the root key.
    pub fn signed_manifest(&self, manifest: &KeyManifest) -> Vec<u8> {
        let payload = serde_json::to_vec(manifest).unwrap_or_default();
        sign(&payload, MANIFEST_CONTENT_TYPE, &self.root)
    }
}

fn close_newest<K>(versions: &mut [KeyVersion<K>], at: u64) {
    if let Some(newest) = versions
        .iter_mut()
        .rev()
        .find(|k| k.validity.revoked_at.is_none())
        && newest.validity.not_after.is_none_or(|end| end > at)
    {
        newest.validity.not_after = Some(at);
    }
}

fn revoke_in<K>(
    versions: &mut [KeyVersion<K>],
    kid: &Kid,
    now: u64,
    kid_of: impl Fn(&K) -> Kid,
) -> bool {
    match versions.iter_mut().find(|k| &kid_of(&k.key) == kid) {
        Some(k) => {
            k.validity.revoked_at.get_or_insert(now);
            true
        }
        None => false,
    }
}

/// The log's public keys, as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogKeys {
    /// Log origin.
    pub origin: String,
    /// Checkpoint verifier key (signed-note vkey).
    pub log_vkey: String,
    /// Witness verifier key (signed-note vkey).
    pub witness_vkey: String,
}

/// One key in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestKey {
    /// `signing` or `encryption`.
    pub purpose: String,
    /// `Ed25519` or `X25519`.
    pub alg: String,
    /// RFC 9679 thumbprint, hex.
    pub kid: String,
    /// Public key, base64.
    pub public: String,
    /// `active`, `announced`, `rotating`, `expired` or `revoked` at issue time.
    pub status: String,
    /// Validity.
    #[serde(flatten)]
    pub validity: Validity,
}

/// A node's key manifest (spec §8.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyManifest {
    /// Version; grows with every key change.
    pub version: u64,
    /// Party id.
    pub party: String,
    /// TLS host names.
    pub hosts: Vec<String>,
    /// Exchange endpoint, `https://host:port`.
    pub endpoint: String,
    /// Issue time (ms).
    pub issued_at: u64,
    /// Root key (base64); its fingerprint is checked out of band.
    pub root_key: String,
    /// TLS CA certificate, DER in base64 (the trust anchor partners pin).
    pub tls_ca: String,
    /// Message keys.
    pub keys: Vec<ManifestKey>,
    /// Log keys, when the node keeps a log.
    pub log: Option<LogKeys>,
    /// SHA-256 (hex) of the previous manifest, if any.
    pub prev_sha256: Option<String>,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not a COSE_Sign1 of a manifest, or the signature does not verify.
    #[error("manifest signature: {0}")]
    Signature(String),
    /// The payload is not a manifest.
    #[error("manifest payload: {0}")]
    Payload(String),
    /// The root key is not the one pinned or confirmed out of band.
    #[error("manifest root key fingerprint {got} is not the expected {expected}")]
    RootMismatch {
        /// Expected fingerprint.
        expected: String,
        /// Fingerprint found.
        got: String,
    },
}

impl KeyManifest {
    /// Opens a signed manifest. With `pinned_root`, the manifest must be signed by that
    /// root key (a rotation); without, by the root key it carries, whose fingerprint must
    /// equal `expected_fingerprint` (onboarding).
    pub fn open(
        signed: &[u8],
        pinned_root: Option<&[u8]>,
        expected_fingerprint: Option<&str>,
    ) -> Result<(Self, MessageVerifyingKey), ManifestError> {
        let sign1 = Sign1::parse(signed, MANIFEST_CONTENT_TYPE)
            .map_err(|e| ManifestError::Signature(e.to_string()))?;
        let manifest: KeyManifest = serde_json::from_slice(&sign1.payload)
            .map_err(|e| ManifestError::Payload(e.to_string()))?;
        let carried = STANDARD
            .decode(&manifest.root_key)
            .map_err(|e| ManifestError::Payload(format!("root_key: {e}")))?;
        let root_bytes = pinned_root.unwrap_or(&carried);
        if root_bytes != carried.as_slice() {
            return Err(ManifestError::RootMismatch {
                expected: fingerprint(root_bytes),
                got: fingerprint(&carried),
            });
        }
        if let Some(expected) = expected_fingerprint {
            let got = fingerprint(root_bytes);
            if normalise_fp(expected) != normalise_fp(&got) {
                return Err(ManifestError::RootMismatch {
                    expected: expected.to_owned(),
                    got,
                });
            }
        }
        let root = MessageVerifyingKey::from_bytes(root_bytes)
            .map_err(|e| ManifestError::Payload(format!("root_key: {e}")))?;
        sign1
            .verify(&root)
            .map_err(|e| ManifestError::Signature(e.to_string()))?;
        for k in &manifest.keys {
            let public = STANDARD
                .decode(&k.public)
                .map_err(|e| ManifestError::Payload(format!("key {}: {e}", k.kid)))?;
            let kid = match k.purpose.as_str() {
                "signing" => MessageVerifyingKey::from_bytes(&public).map(|p| p.kid()),
                "encryption" => EncryptionPublicKey::from_bytes(&public).map(|p| p.kid()),
                other => {
                    return Err(ManifestError::Payload(format!(
                        "unknown key purpose {other:?}"
                    )));
                }
            }
            .map_err(|e| ManifestError::Payload(format!("key {}: {e}", k.kid)))?;
            if kid.to_string() != k.kid {
                return Err(ManifestError::Payload(format!(
                    "key {} does not have the thumbprint it claims",
                    k.kid
                )));
            }
        }
        Ok((manifest, root))
    }

    /// SHA-256 (hex) of the signed bytes, for `prev_sha256` chaining.
    pub fn digest(signed: &[u8]) -> String {
        hex(&Sha256::digest(signed))
    }
}

fn normalise_fp(fp: &str) -> String {
    fp.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000_000;

    #[test]
    fn identity_is_generated_once_private_and_reloaded_equal() {
        let dir = tempfile::tempdir().unwrap();
        let a = NodeIdentity::load_or_generate(dir.path(), "US-CBP", &["localhost".into()], T0)
            .unwrap();
        let b = NodeIdentity::load_or_generate(dir.path(), "IGNORED", &[], T0 + 5).unwrap();
        assert_eq!(b.party(), "US-CBP");
        assert_eq!(a.root_fingerprint(), b.root_fingerprint());
        assert_eq!(
            a.signing_key_at(T0).unwrap().kid(),
            b.signing_key_at(T0).unwrap().kid()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(IDENTITY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{a:?}").contains(&b64(a.root.to_bytes().as_ref())));
    }

    #[test]
    fn rotation_switches_at_the_announced_time_and_revocation_ends_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut id = NodeIdentity::load_or_generate(dir.path(), "UZ", &[], T0).unwrap();
        let old = id.signing_key_at(T0).unwrap().kid();
        let new = id.rotate(Purpose::Signing, T0 + 10, 1_000).unwrap();
        assert_eq!(id.manifest_version(), 2);
        assert_eq!(id.signing_key_at(T0 + 500).unwrap().kid(), old);
        assert_eq!(id.signing_key_at(T0 + 1_010).unwrap().kid(), new);
        id.revoke(Purpose::Signing, &new, T0 + 2_000).unwrap();
        assert!(id.signing_key_at(T0 + 2_000).is_err());
        assert_eq!(id.signing_key_at(T0 + 1_500).unwrap().kid(), new);
        let reloaded = NodeIdentity::load_or_generate(dir.path(), "UZ", &[], T0).unwrap();
        assert_eq!(reloaded.manifest_version(), 3);
        assert!(reloaded.signing_key_at(T0 + 2_000).is_err());
    }

    proptest::proptest! {
        /// The manifest decoder takes foreign bytes: any byte flipped, any truncation and
        /// any garbage is refused with an error, never a panic, never accepted.
        #[test]
        fn mangled_manifests_are_refused(
            flip in proptest::prelude::any::<proptest::sample::Index>(),
            bit in 0u8..8,
            cut in proptest::prelude::any::<proptest::sample::Index>(),
            garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        ) {
            let (signed, fp) = sample_manifest();
            let mut flipped = signed.clone();
            let i = flip.index(flipped.len());
            flipped[i] ^= 1 << bit;
            proptest::prop_assert!(KeyManifest::open(&flipped, None, Some(&fp)).is_err());
            let truncated = &signed[..cut.index(signed.len())];
            proptest::prop_assert!(KeyManifest::open(truncated, None, Some(&fp)).is_err());
            proptest::prop_assert!(KeyManifest::open(&garbage, None, None).is_err());
        }
    }

    fn sample_manifest() -> (Vec<u8>, String) {
        static SAMPLE: std::sync::OnceLock<(Vec<u8>, String)> = std::sync::OnceLock::new();
        SAMPLE
            .get_or_init(|| {
                let dir = tempfile::tempdir().unwrap();
                let id =
                    NodeIdentity::load_or_generate(dir.path(), "UZ", &["localhost".into()], T0)
                        .unwrap();
                let signed = id.signed_manifest(&id.manifest("https://localhost:1", T0, None));
                (signed, id.root_fingerprint())
            })
            .clone()
    }

    #[test]
    fn manifest_verifies_only_under_its_root_and_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let id =
            NodeIdentity::load_or_generate(dir.path(), "UZ", &["localhost".into()], T0).unwrap();
        let manifest = id.manifest("https://localhost:1", T0, None);
        let signed = id.signed_manifest(&manifest);
        let fp = id.root_fingerprint();
        let (opened, _) = KeyManifest::open(&signed, None, Some(&fp)).unwrap();
        assert_eq!(opened, manifest);
        assert!(matches!(
            KeyManifest::open(&signed, None, Some("00")),
            Err(ManifestError::RootMismatch { .. })
        ));
        let other = tempfile::tempdir().unwrap();
        let mallory =
            NodeIdentity::load_or_generate(other.path(), "UZ", &["localhost".into()], T0).unwrap();
        let forged = mallory.signed_manifest(&mallory.manifest("https://evil:1", T0, None));
        let pinned = id.root_public().to_bytes();
        assert!(matches!(
            KeyManifest::open(&forged, Some(&pinned), None),
            Err(ManifestError::RootMismatch { .. })
        ));
        let mut tampered = signed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(KeyManifest::open(&tampered, None, Some(&fp)).is_err());
    }
}
