//! Two nodes on in-memory SQLite stores, joined by moving queued messages by hand.

use std::sync::Arc;

use caravan_assistance_node::crypto::EvidenceKey;
use caravan_assistance_node::error::AssistError;
use caravan_assistance_node::service::{AssistanceNode, NodeConfig};
use caravan_exchange::node::ReceivedMessage;
use caravan_store::Store;
use caravan_store_sqlite::SqliteStore;

pub(crate) fn node(us_side: bool) -> AssistanceNode {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().expect("store"));
    let key = EvidenceKey::from_bytes(&[if us_side { 1 } else { 2 }; 32]);
    AssistanceNode::new(store, None, NodeConfig::us_uz(us_side), key, evidence_dir())
}

/// A fresh evidence folder for a node that lives as long as the test process (the node
/// does not own it; the test binary's temp folders are left to the OS).
pub(crate) fn evidence_dir() -> std::path::PathBuf {
    tempfile::Builder::new()
        .prefix("caravan-evidence-")
        .tempdir()
        .expect("temp dir")
        .keep()
}

/// Moves every queued message of `from` to `to` and applies it; returns what moved.
pub(crate) fn carry(
    from: &AssistanceNode,
    to: &AssistanceNode,
    now: i64,
) -> Result<Vec<(ReceivedMessage, bool)>, AssistError> {
    let mut out = Vec::new();
    for message in from.take_queued(now)? {
        let applied = to.receive(&message, now)?;
        out.push((message, applied));
    }
    Ok(out)
}

/// Carries both ways until nothing moves.
pub(crate) fn settle(
    us: &AssistanceNode,
    uz: &AssistanceNode,
    now: i64,
) -> Result<(), AssistError> {
    loop {
        let a = carry(us, uz, now)?;
        let b = carry(uz, us, now)?;
        if a.is_empty() && b.is_empty() {
            return Ok(());
        }
    }
}

/// 2026-12-01T09:00Z.
pub(crate) const T0: i64 = 1_796_115_600_000;
