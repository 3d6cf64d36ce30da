//! The node's two log keys: the checkpoint key of its own log and its witness key.
//!
//! Each is an Ed25519 key generated on first start into the data directory, as a C2SP
//! private-key string (`PRIVATE+KEY+<name>+<key id>+<base64(type || seed)>`) in a file only
//! the node's user can read (0600), and loaded on every later start. The log key's name is
//! the log origin (spec §10); the witness key's name is the node's witness name. Their
//! verifier keys (`vkey`s) are what partners and auditors receive out of band. Nothing
//! here prints a private key: `Debug` is written by hand.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use caravan_tlog::cosignature::{CosignatureSigner, CosignatureVerifier};
use caravan_tlog::note::{ALG_COSIGNATURE_V1, Ed25519Signer, Ed25519Verifier, NoteError};

/// File name of the log key inside the data directory.
pub const LOG_KEY_FILE: &str = "log.key";
/// File name of the witness key inside the data directory.
pub const WITNESS_KEY_FILE: &str = "witness.key";

/// Why keys could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The key file does not hold a valid key.
    #[error("key file {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (never the key itself).
        reason: String,
    },
    /// The key file holds a key for another name (origin or witness name changed).
    #[error("key file {path} is for {found:?}, but the configuration says {expected:?}")]
    WrongName {
        /// The file.
        path: PathBuf,
        /// Name in the file.
        found: String,
        /// Configured name.
        expected: String,
    },
    /// No randomness available.
    #[error("operating system randomness failed: {0}")]
    Random(String),
    /// A configured name is not a valid key name.
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// The node's log and witness keys.
#[derive(Clone)]
pub struct NodeKeys {
    log: Ed25519Signer,
    witness: CosignatureSigner,
}

impl std::fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeKeys")
            .field("log_vkey", &self.log_vkey())
            .field("witness_vkey", &self.witness_vkey())
            .field("private_keys", &"***")
            .finish()
    }
}

fn random_seed() -> Result<[u8; 32], KeyError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(seed)
}

/// The C2SP private-key string of a cosignature (type 0x04) key.
fn witness_skey(signer: &CosignatureSigner, seed: &[u8; 32]) -> String {
    let mut raw = vec![ALG_COSIGNATURE_V1];
    raw.extend_from_slice(seed);
    format!(
        "PRIVATE+KEY+{}+{:08x}+{}",
        signer.name(),
        signer.key_id(),
        STANDARD.encode(raw)
    )
}

/// Parses a cosignature private-key string.
fn parse_witness_skey(skey: &str) -> Result<(CosignatureSigner, [u8; 32]), String> {
    let rest = skey
        .strip_prefix("PRIVATE+KEY+")
        .ok_or("missing PRIVATE+KEY+ prefix")?;
    // Key names never contain '+', but base64 may: split from the left.
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected name+id+key".into());
    };
    let raw = STANDARD.decode(key).map_err(|_| "key is not base64")?;
    let Some((&ALG_COSIGNATURE_V1, seed)) = raw.split_first() else {
        return Err("not a cosignature/v1 (0x04) key".into());
    };
    let seed: [u8; 32] = seed.try_into().map_err(|_| "seed must be 32 bytes")?;
    let signer = CosignatureSigner::from_seed(name, &seed).map_err(|e| e.to_string())?;
    if id.len() != 8 || format!("{:08x}", signer.key_id()) != id {
        return Err("key ID does not match the key".into());
    }
    Ok((signer, seed))
}

/// Writes a new secret file, readable only by its owner, failing if it exists.
fn write_secret(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

fn read_key(path: &Path) -> Result<Option<String>, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim_end().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl NodeKeys {
    /// Loads the keys from `dir`, generating any that is missing. `origin` names the log
    /// key and `witness_name` the witness key; a file for another name is refused rather
    /// than silently replaced, because a new key would orphan every earlier checkpoint.
    pub fn load_or_generate(
        dir: &Path,
        origin: &str,
        witness_name: &str,
    ) -> Result<Self, KeyError> {
        std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let log_path = dir.join(LOG_KEY_FILE);
        let log = match read_key(&log_path)? {
            Some(skey) => {
                let signer = Ed25519Signer::from_skey(&skey).map_err(|e| KeyError::Invalid {
                    path: log_path.clone(),
                    reason: e.to_string(),
                })?;
                let found = caravan_tlog::note::NoteSigner::name(&signer).to_owned();
                if found != origin {
                    return Err(KeyError::WrongName {
                        path: log_path,
                        found,
                        expected: origin.to_owned(),
                    });
                }
                signer
            }
            None => {
                let signer = Ed25519Signer::from_seed(origin, &random_seed()?)?;
                write_secret(&log_path, &format!("{}\n", signer.to_skey())).map_err(|source| {
                    KeyError::Io {
                        path: log_path.clone(),
                        source,
                    }
                })?;
                signer
            }
        };
        let witness_path = dir.join(WITNESS_KEY_FILE);
        let witness = match read_key(&witness_path)? {
            Some(skey) => {
                let (signer, _) =
                    parse_witness_skey(&skey).map_err(|reason| KeyError::Invalid {
                        path: witness_path.clone(),
                        reason,
                    })?;
                if signer.name() != witness_name {
                    return Err(KeyError::WrongName {
                        path: witness_path,
                        found: signer.name().to_owned(),
                        expected: witness_name.to_owned(),
                    });
                }
                signer
            }
            None => {
                let seed = random_seed()?;
                let signer = CosignatureSigner::from_seed(witness_name, &seed)?;
                write_secret(
                    &witness_path,
                    &format!("{}\n", witness_skey(&signer, &seed)),
                )
                .map_err(|source| KeyError::Io {
                    path: witness_path.clone(),
                    source,
                })?;
                signer
            }
        };
        Ok(Self { log, witness })
    }

    /// Keys from fixed seeds, for tests and reproducible examples.
    pub fn from_seeds(
        origin: &str,
        log_seed: &[u8; 32],
        witness_name: &str,
        witness_seed: &[u8; 32],
    ) -> Result<Self, KeyError> {
        Ok(Self {
            log: Ed25519Signer::from_seed(origin, log_seed)?,
            witness: CosignatureSigner::from_seed(witness_name, witness_seed)?,
        })
    }

    /// The checkpoint signing key.
    pub fn log_signer(&self) -> &Ed25519Signer {
        &self.log
    }

    /// The cosigning key.
    pub fn witness_signer(&self) -> &CosignatureSigner {
        &self.witness
    }

    /// The log's verifier.
    pub fn log_verifier(&self) -> Ed25519Verifier {
        self.log.verifier()
    }

    /// The witness's verifier.
    pub fn witness_verifier(&self) -> CosignatureVerifier {
        self.witness.verifier()
    }

    /// The log's verifier key string, for partners and auditors.
    pub fn log_vkey(&self) -> String {
        self.log.verifier().to_vkey()
    }

    /// The witness's verifier key string.
    pub fn witness_vkey(&self) -> String {
        self.witness.verifier().to_vkey()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "caravan.example/log";
    const WITNESS: &str = "caravan.example/witness";

    #[test]
    fn generated_once_then_loaded_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let a = NodeKeys::load_or_generate(dir.path(), ORIGIN, WITNESS).unwrap();
        let b = NodeKeys::load_or_generate(dir.path(), ORIGIN, WITNESS).unwrap();
        assert_eq!(a.log_vkey(), b.log_vkey());
        assert_eq!(a.witness_vkey(), b.witness_vkey());
        assert!(a.log_vkey().starts_with("caravan.example/log+"));
        #[cfg(unix)]
        for file in [LOG_KEY_FILE, WITNESS_KEY_FILE] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
        let debug = format!("{a:?}");
        assert!(!debug.contains("PRIVATE"), "{debug}");
        let skey = std::fs::read_to_string(dir.path().join(LOG_KEY_FILE)).unwrap();
        // `PRIVATE+KEY+<name>+<key id>+<base64>`: the base64 may itself hold '+', so
        // split off exactly four fields rather than taking the last '+'-segment, which
        // could be a few characters that occur in the vkey by chance (regression: flaky).
        let secret = skey.trim().splitn(5, '+').nth(4).unwrap();
        assert!(secret.len() > 40, "{secret}");
        assert!(!debug.contains(secret));
    }

    #[test]
    fn a_key_for_another_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        NodeKeys::load_or_generate(dir.path(), "caravan.example/a", "w").unwrap();
        let err = NodeKeys::load_or_generate(dir.path(), "caravan.example/b", "w").unwrap_err();
        assert!(matches!(err, KeyError::WrongName { .. }), "{err}");
    }

    #[test]
    fn witness_skey_round_trips() {
        for byte in 0..=255u8 {
            let seed = [byte; 32];
            let signer = CosignatureSigner::from_seed("w.example", &seed).unwrap();
            let (back, _) = parse_witness_skey(&witness_skey(&signer, &seed)).unwrap();
            assert_eq!(back.key_id(), signer.key_id(), "seed byte {byte}");
        }
        let seed = [9u8; 32];
        let signer = CosignatureSigner::from_seed("w.example", &seed).unwrap();
        let skey = witness_skey(&signer, &seed);
        let (back, back_seed) = parse_witness_skey(&skey).unwrap();
        assert_eq!(back.key_id(), signer.key_id());
        assert_eq!(back_seed, seed);
        let bad = skey.replace(&format!("+{:08x}+", signer.key_id()), "+00000000+");
        assert!(parse_witness_skey(&bad).is_err());
    }
}
