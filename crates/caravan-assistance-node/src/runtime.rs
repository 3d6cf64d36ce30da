//! Where the HTTP edge finds the workflow of the node it serves.
//!
//! Why a registry keyed by the store: the web state (`caravan_web::AppState`) carries the
//! store and the exchange, but the workflow also needs the node's evidence key (a file in the
//! data directory, never in the database) and its party codes, which only the binary knows
//! when it starts a node. So the binary registers each node's [`AssistanceNode`] under its
//! store; a process running two nodes (the demo) registers two. A node that registered none
//! answers its assistance routes with 404 `assistance_not_configured`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use caravan_store::Store;

use crate::crypto::EvidenceKey;
use crate::error::AssistError;
use crate::service::AssistanceNode;

type Registry = Mutex<HashMap<usize, Arc<AssistanceNode>>>;

fn registry() -> &'static Registry {
    static NODES: OnceLock<Registry> = OnceLock::new();
    NODES.get_or_init(|| Mutex::new(HashMap::new()))
}

fn key_of(store: &Arc<dyn Store>) -> usize {
    Arc::as_ptr(store).cast::<()>() as usize
}

/// Registers the workflow of the node whose store is `node.store()`.
pub fn register(node: Arc<AssistanceNode>) {
    let key = key_of(node.store());
    registry()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, node);
}

/// The workflow registered for `store`, if any.
pub fn lookup(store: &Arc<dyn Store>) -> Option<Arc<AssistanceNode>> {
    registry()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key_of(store))
        .cloned()
}

/// The file holding the node's evidence key.
pub const EVIDENCE_KEY_FILE: &str = "evidence.key";

/// Where a node keeps its evidence files: `<data dir>/evidence` (see [`crate::at_rest`]).
pub fn evidence_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("evidence")
}

/// Loads `<dir>/evidence.key`, or creates it (32 random bytes, mode 0600) on first start.
pub fn load_or_create_key(dir: &Path) -> Result<EvidenceKey, AssistError> {
    let path = dir.join(EVIDENCE_KEY_FILE);
    let io = |e: std::io::Error| AssistError::internal(format!("{}: {e}", path.display()));
    match std::fs::read(&path) {
        Ok(bytes) => {
            let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                AssistError::internal(format!("{} is not 32 bytes", path.display()))
            })?;
            Ok(EvidenceKey::from_bytes(&bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = EvidenceKey::generate()?;
            let tmp = path.with_extension("key.tmp");
            {
                use std::io::Write;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let mut file = options.open(&tmp).map_err(io)?;
                file.write_all(&bytes).map_err(io)?;
                file.sync_all().map_err(io)?;
            }
            std::fs::rename(&tmp, &path).map_err(io)?;
            Ok(EvidenceKey::from_bytes(&bytes))
        }
        Err(e) => Err(io(e)),
    }
}
