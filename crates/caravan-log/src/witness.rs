//! The partner as witness: the server that cosigns partner checkpoints, and the client
//! that asks partners to cosign ours.
//!
//! **Server.** Each node witnesses its partners' logs (spec §11.6). The decision is
//! `caravan_tlog::witness::add_checkpoint`, a pure function of the stored state and the
//! request; this module adds what needs IO: reading the state, persisting the new state
//! with an atomic compare-and-set **before** answering, recording a `witness_seen` entry
//! in our own log (which entangles the two logs), and raising a `split_view` alarm when a
//! validly signed checkpoint contradicts what we cosigned.
//!
//! **Client.** After our checkpointer signs, [`WitnessClient::witness`] sends
//! `add-checkpoint` to each partner witness with a consistency proof from the size that
//! witness last cosigned, learns that size from a 409 answer when it does not know it,
//! verifies the returned cosignatures with the partner's witness key and attaches them to
//! the stored checkpoint note. An unwitnessed checkpoint is still published and is retried
//! at the next publication.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caravan_store::StoreError;
use caravan_store::log::{LogStore, StoreHashReader, StoredCheckpoint, Witnessed};
use caravan_tlog::checkpoint::SignedCheckpoint;
use caravan_tlog::cosignature::{CosignatureSigner, CosignatureVerifier};
use caravan_tlog::note::{self, Ed25519Verifier, NoteVerifier, VerifierList};
use caravan_tlog::rfc6962;
use caravan_tlog::witness::{
    AddCheckpointRequest, TLOG_SIZE_CONTENT_TYPE, WitnessRefusal, WitnessedLog, add_checkpoint,
    parse_add_checkpoint_response,
};

use crate::appender::Appender;
use crate::entry::{Entry, EntryBody};
use crate::http;

/// Path of the witness endpoint, relative to a node's base URL.
pub const ADD_CHECKPOINT_PATH: &str = "/witness/add-checkpoint";
/// How long the log waits for a witness (spec §11.6: 5 s).
pub const WITNESS_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the witness did not cosign.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// Refused per the protocol; carries the status code and body.
    #[error(transparent)]
    Refused(#[from] WitnessRefusal),
    /// The store failed; nothing was cosigned.
    #[error("witness store failed: {0}")]
    Store(#[from] StoreError),
}

/// The witness server for the partner logs this node follows.
pub struct WitnessServer {
    store: Arc<dyn LogStore>,
    signer: CosignatureSigner,
    /// Trusted log keys per partner origin.
    partners: BTreeMap<String, VerifierList>,
    own_log: Option<(Appender, String)>,
}

impl std::fmt::Debug for WitnessServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessServer")
            .field("witness", &self.signer.name())
            .field("origins", &self.partners.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl WitnessServer {
    /// A witness signing with `signer`, following no log yet.
    pub fn new(store: Arc<dyn LogStore>, signer: CosignatureSigner) -> Self {
        Self {
            store,
            signer,
            partners: BTreeMap::new(),
            own_log: None,
        }
    }

    /// Follows the log `origin`, trusting checkpoints signed by `log_key`.
    pub fn follow(
        &mut self,
        origin: &str,
        log_key: Ed25519Verifier,
    ) -> Result<(), note::NoteError> {
        self.partners
            .entry(origin.to_owned())
            .or_default()
            .push(log_key)
    }

    /// Records a `witness_seen` entry in `appender`'s log for every cosigned checkpoint.
    pub fn record_in(&mut self, appender: Appender, agreement_id: &str) {
        self.own_log = Some((appender, agreement_id.to_owned()));
    }

    /// Handles an `add-checkpoint` body at `now_ms`. On success returns the 200 body (the
    /// cosignature line); the new state is already stored. Blocking.
    pub fn add_checkpoint(&self, body: &[u8], now_ms: u64) -> Result<String, WitnessError> {
        let request = AddCheckpointRequest::parse(body).map_err(WitnessRefusal::from)?;
        let origin = request.checkpoint.checkpoint.origin.clone();
        let Some(verifiers) = self.partners.get(&origin) else {
            return Err(WitnessRefusal::UnknownOrigin(origin).into());
        };
        let stored = self.store.witnessed(&origin)?;
        let state = match &stored {
            Some(w) => WitnessedLog {
                origin: origin.clone(),
                size: w.size,
                root: w.root,
            },
            None => WitnessedLog::new(&origin),
        };
        let decided = add_checkpoint(&state, &request, verifiers, now_ms / 1000, &self.signer);
        let cosigned = match decided {
            Ok(c) => c,
            Err(refusal) => {
                if let Some(split) = refusal.split_view() {
                    let detail = format!(
                        "{:?}: cosigned size {} root {}; offered size {} root {}; checkpoint note (base64) {}",
                        split.kind,
                        split.cosigned.size,
                        b64(&split.cosigned.root),
                        split.checkpoint.checkpoint.size,
                        b64(&split.checkpoint.checkpoint.root),
                        b64(&split.checkpoint.to_bytes()),
                    );
                    tracing::error!(origin = %origin, %detail, "split view of a partner log");
                    self.store.raise_alarm("split_view", &origin, &detail)?;
                }
                return Err(refusal.into());
            }
        };
        let next = Witnessed {
            origin: origin.clone(),
            size: cosigned.state.size,
            root: cosigned.state.root,
        };
        match self.store.record_witnessed(state.size, &next) {
            Ok(()) => {}
            Err(StoreError::Conflict(caravan_store::Conflict::WitnessMoved { stored, .. })) => {
                // A concurrent request won; answer as if it had come first.
                return Err(WitnessRefusal::Conflict {
                    old: request.old_size,
                    current: stored,
                }
                .into());
            }
            Err(err) => return Err(err.into()),
        }
        if let Some((appender, agreement_id)) = &self.own_log
            && (stored.as_ref().map(|w| (w.size, w.root)) != Some((next.size, next.root)))
        {
            let entry = Entry {
                t: now_ms,
                agreement_id: agreement_id.clone(),
                body: EntryBody::WitnessSeen {
                    origin: next.origin.clone(),
                    size: next.size,
                    root: next.root,
                },
            };
            // The cosignature stands either way; a missed witness_seen entry is caught by
            // fsck (spec §11.8) rather than turned into a refusal the partner cannot act on.
            match entry.encode().map(|bytes| appender.submit(bytes)) {
                Ok(Ok(_ticket)) => {}
                Ok(Err(err)) => tracing::warn!(error = %err, "witness_seen entry not queued"),
                Err(err) => tracing::warn!(error = %err, "witness_seen entry not encoded"),
            }
        }
        Ok(cosigned.response_body())
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A partner witness our log reports to.
#[derive(Debug, Clone)]
pub struct PartnerWitness {
    /// Display name of the partner.
    pub name: String,
    /// Base URL of the partner node, e.g. `http://127.0.0.1:8442`.
    pub url: String,
    /// The partner's witness key.
    pub key: CosignatureVerifier,
}

/// What one partner witness said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessOutcome {
    /// Cosigned the checkpoint of this size.
    Cosigned {
        /// Partner name.
        partner: String,
        /// Size cosigned.
        size: u64,
    },
    /// Did not cosign; the reason in words (retried at the next publication).
    Failed {
        /// Partner name.
        partner: String,
        /// Why.
        reason: String,
    },
}

/// Asks partner witnesses to cosign our latest checkpoint.
pub struct WitnessClient {
    store: Arc<dyn LogStore>,
    origin: String,
    partners: Vec<PartnerWitness>,
    /// Size each witness last cosigned, as far as we know (learned from 409s).
    known: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for WitnessClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessClient")
            .field("origin", &self.origin)
            .field("partners", &self.partners)
            .finish_non_exhaustive()
    }
}

impl WitnessClient {
    /// A client for our log `origin`.
    pub fn new(store: Arc<dyn LogStore>, origin: &str, partners: Vec<PartnerWitness>) -> Self {
        Self {
            store,
            origin: origin.to_owned(),
            partners,
            known: Mutex::new(HashMap::new()),
        }
    }

    fn known_size(&self, partner: &str) -> u64 {
        self.known
            .lock()
            .map(|k| k.get(partner).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn set_known(&self, partner: &str, size: u64) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(partner.to_owned(), size);
        }
    }

    /// Sends the latest stored checkpoint to every partner witness and attaches the
    /// cosignatures that verify.
    pub async fn witness(&self) -> Vec<WitnessOutcome> {
        let mut outcomes = Vec::new();
        for partner in &self.partners {
            let outcome = match self.witness_one(partner).await {
                Ok(size) => WitnessOutcome::Cosigned {
                    partner: partner.name.clone(),
                    size,
                },
                Err(reason) => {
                    tracing::warn!(partner = %partner.name, %reason, "checkpoint not witnessed");
                    WitnessOutcome::Failed {
                        partner: partner.name.clone(),
                        reason,
                    }
                }
            };
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn witness_one(&self, partner: &PartnerWitness) -> Result<u64, String> {
        let checkpoint = self.latest().await?;
        let size = checkpoint.checkpoint.size;
        let mut learned_once = false;
        loop {
            let old = self.known_size(&partner.name).min(size);
            let body = self.request_body(old, &checkpoint).await?;
            let response = http::post(&partner.url, ADD_CHECKPOINT_PATH, &body, WITNESS_TIMEOUT)
                .await
                .map_err(|e| e.to_string())?;
            match response.status {
                200 => {
                    let signatures =
                        parse_add_checkpoint_response(&response.body).map_err(|e| e.to_string())?;
                    self.attach(partner, &checkpoint, signatures).await?;
                    self.set_known(&partner.name, size);
                    return Ok(size);
                }
                409 if !learned_once
                    && response
                        .content_type
                        .as_deref()
                        .is_some_and(|t| t.starts_with(TLOG_SIZE_CONTENT_TYPE)) =>
                {
                    let text = String::from_utf8_lossy(&response.body);
                    let learned: u64 = text
                        .strip_suffix('\n')
                        .and_then(|s| s.parse().ok())
                        .ok_or("witness sent a malformed size")?;
                    if learned > size {
                        return Err(format!(
                            "witness has cosigned size {learned}, beyond our checkpoint of size {size}"
                        ));
                    }
                    self.set_known(&partner.name, learned);
                    learned_once = true;
                }
                status => return Err(format!("witness answered HTTP {status}")),
            }
        }
    }

    async fn latest(&self) -> Result<SignedCheckpoint, String> {
        let store = self.store.clone();
        let origin = self.origin.clone();
        let head = tokio::task::spawn_blocking(move || store.open_log(&origin))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let stored = head.checkpoint.ok_or("no checkpoint signed yet")?;
        SignedCheckpoint::parse(&stored.note).map_err(|e| e.to_string())
    }

    async fn request_body(
        &self,
        old: u64,
        checkpoint: &SignedCheckpoint,
    ) -> Result<Vec<u8>, String> {
        let store = self.store.clone();
        let origin = self.origin.clone();
        let size = checkpoint.checkpoint.size;
        let proof = tokio::task::spawn_blocking(move || {
            if old == 0 || old == size {
                return Ok(Vec::new());
            }
            rfc6962::consistency_proof(old, size, &StoreHashReader::new(store.as_ref(), &origin))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        Ok(AddCheckpointRequest {
            old_size: old,
            proof,
            checkpoint: checkpoint.clone(),
        }
        .encode())
    }

    async fn attach(
        &self,
        partner: &PartnerWitness,
        sent: &SignedCheckpoint,
        signatures: Vec<note::NoteSignature>,
    ) -> Result<(), String> {
        // Keep only cosignatures from this partner's key, and check them.
        let mine: Vec<note::NoteSignature> = signatures
            .into_iter()
            .filter(|s| s.name == partner.key.name() && s.key_id == partner.key.key_id())
            .collect();
        if mine.is_empty() {
            return Err("the witness returned no cosignature from its configured key".into());
        }
        let mut probe = sent.clone();
        probe.note.signatures = mine.clone();
        let keys = VerifierList::new()
            .with(partner.key.clone())
            .map_err(|e| e.to_string())?;
        probe
            .verify(&keys)
            .map_err(|e| format!("cosignature does not verify: {e}"))?;

        let store = self.store.clone();
        let origin = self.origin.clone();
        let sent = sent.clone();
        tokio::task::spawn_blocking(move || {
            let head = store.open_log(&origin).map_err(|e| e.to_string())?;
            let Some(stored) = head.checkpoint else {
                return Err("checkpoint vanished".to_owned());
            };
            // The checkpoint may have been re-signed meanwhile; attach only to the same text.
            let mut current = SignedCheckpoint::parse(&stored.note).map_err(|e| e.to_string())?;
            if current.note.text != sent.note.text {
                return Ok(());
            }
            current.add_signatures(mine);
            store
                .save_checkpoint(
                    &origin,
                    &StoredCheckpoint {
                        size: stored.size,
                        root: stored.root,
                        note: current.to_bytes(),
                    },
                )
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }
}
