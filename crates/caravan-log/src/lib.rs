//! The node side of the transparency log: what a running Caravan node does with
//! `caravan-tlog`'s pure formats and a `caravan-store` [`LogStore`].
//!
//! Each node keeps one log per agreement (spec §10) and witnesses its partner's. This
//! crate holds the moving parts: [`entry`] (what gets logged, as deterministic CBOR of
//! commitments and metadata), [`keys`] (the log and witness keys on disk), [`appender`]
//! (batched durable appends with back-pressure), [`checkpointer`] (signing, and refusing
//! to sign an inconsistent tree), [`witness`] (cosigning partner checkpoints, and asking
//! partners to cosign ours), [`proofs`] (offline tlog-proofs) and [`read`] (the
//! tlog-tiles read side). [`LogNode`] wires them for one node. HTTP lives in
//! `caravan-web`; this crate knows no router.
//!
//! Every worker has a synchronous `step`, so tests and the demo drive the log
//! deterministically without sleeping; [`LogNode::run`] is the background loop a serving
//! node uses.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use caravan_log::entry::{Entry, EntryBody};
//! use caravan_log::keys::NodeKeys;
//! use caravan_log::storage::MemoryLogStore;
//! use caravan_log::{FixedClock, LogConfig, LogNode};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let origin = "caravan.example/agreement";
//! let keys = NodeKeys::from_seeds(origin, &[1; 32], "caravan.example/witness", &[2; 32])?;
//! let node = LogNode::open(
//!     Arc::new(MemoryLogStore::new()),
//!     keys,
//!     LogConfig::new(origin, "agreement"),
//!     Arc::new(FixedClock(1_700_000_000_000)),
//! )?;
//! let entry = Entry {
//!     t: 1_700_000_000_000,
//!     agreement_id: "agreement".into(),
//!     body: EntryBody::AuditAnchor { head: [7; 32], event_count: 3 },
//! };
//! let mut ticket = node.submit(&entry)?;
//! node.appender().flush()?;
//! assert_eq!(ticket.try_index(), Some(0));
//! let signed = node.checkpointer().step(1_700_000_000_000)?.expect("the tree grew");
//! assert_eq!(signed.checkpoint.size, 1);
//! let proof = node.proof(0)?;
//! assert!(proof.encode().starts_with("c2sp.org/tlog-proof@v1\nindex 0\n"));
//! # Ok(())
//! # }
//! ```

pub mod appender;
pub mod cbor;
pub mod check;
pub mod checkpointer;
pub mod entry;
pub mod http;
pub mod keys;
pub mod proofs;
pub mod read;
pub mod storage;
pub mod witness;

use std::sync::Arc;
use std::time::Duration;

use caravan_store::log::LogStore;
use caravan_tlog::cosignature::CosignatureVerifier;
use caravan_tlog::note::{Ed25519Verifier, NoteError};
use caravan_tlog::proof::TlogProof;

use crate::appender::{AppendError, Appender, AppenderConfig, Ticket};
use crate::checkpointer::{Checkpointer, CheckpointerError};
use crate::entry::{Entry, EntryError};
use crate::keys::NodeKeys;
use crate::proofs::ProofsError;
use crate::witness::{PartnerWitness, WitnessClient, WitnessError, WitnessOutcome, WitnessServer};

/// The current time. Log timestamps and cosignature times come from here, so tests are
/// reproducible.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock stopped at a fixed time.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.0
    }
}

/// A partner: its log (which we witness) and its witness (which cosigns ours).
#[derive(Debug, Clone)]
pub struct Partner {
    /// Display name.
    pub name: String,
    /// Its log's origin.
    pub log_origin: String,
    /// Its log's checkpoint key.
    pub log_key: Ed25519Verifier,
    /// Its witness key.
    pub witness_key: CosignatureVerifier,
    /// Its base URL, e.g. `http://127.0.0.1:8442` (plain HTTP until mutual TLS).
    pub url: String,
}

/// One node's log settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The log origin; also the checkpoint key name.
    pub origin: String,
    /// Name of the log in URLs: `/log/<name>/…`.
    pub name: String,
    /// Agreement id written into entries.
    pub agreement_id: String,
    /// Batching and back-pressure.
    pub appender: AppenderConfig,
    /// Re-sign an unchanged checkpoint this often (spec: 10 minutes).
    pub resign_every: Duration,
    /// How often the background loop publishes a grown tree.
    pub checkpoint_every: Duration,
    /// Sign a checkpoint of each batch's tree as it is integrated, in the batch's own
    /// transaction ([`appender::Appender::sign_on_append`]), instead of waiting for the
    /// loop's next tick: what a node that receipts messages wants (a receipt waits for
    /// a checkpoint covering its entry). The loop still re-signs and asks witnesses.
    pub checkpoint_on_append: bool,
    /// Partners.
    pub partners: Vec<Partner>,
}

impl LogConfig {
    /// Defaults for `origin`; the URL name and agreement id are `name`.
    pub fn new(origin: &str, name: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            name: name.to_owned(),
            agreement_id: name.to_owned(),
            appender: AppenderConfig::default(),
            resign_every: Duration::from_secs(600),
            checkpoint_every: Duration::from_secs(1),
            checkpoint_on_append: false,
            partners: Vec::new(),
        }
    }
}

/// Why the log could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Appending failed.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// Signing failed or was refused.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointerError),
    /// An entry could not be encoded.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// A partner key is unusable.
    #[error(transparent)]
    Key(#[from] NoteError),
    /// A worker task failed.
    #[error("log worker failed: {0}")]
    Worker(String),
}

/// What [`LogNode::settle`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// Tree size after integrating the queue.
    pub size: u64,
    /// Size of the checkpoint signed, if one was.
    pub signed: Option<u64>,
    /// What each partner witness said.
    pub witnesses: Vec<WitnessOutcome>,
}

/// One node's log: appender, checkpointer, witness server and client over one store.
pub struct LogNode {
    config: LogConfig,
    keys: NodeKeys,
    store: Arc<dyn LogStore>,
    clock: Arc<dyn Clock>,
    appender: Appender,
    checkpointer: Checkpointer,
    witness_server: WitnessServer,
    witness_client: WitnessClient,
}

impl std::fmt::Debug for LogNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogNode")
            .field("origin", &self.config.origin)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl LogNode {
    /// Opens the node's log (creating it if new) and sets up its workers. Blocking.
    pub fn open(
        store: Arc<dyn LogStore>,
        keys: NodeKeys,
        config: LogConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, LogError> {
        let appender = Appender::open(store.clone(), &config.origin, config.appender)?;
        if config.checkpoint_on_append {
            appender.sign_on_append(keys.log_signer().clone());
        }
        let checkpointer = Checkpointer::new(
            store.clone(),
            &config.origin,
            keys.log_signer().clone(),
            config.resign_every,
        )
        .notify(appender.clone());
        let mut witness_server = WitnessServer::new(store.clone(), keys.witness_signer().clone());
        for partner in &config.partners {
            witness_server.follow(&partner.log_origin, partner.log_key.clone())?;
        }
        witness_server.record_in(appender.clone(), &config.agreement_id);
        let witness_client = WitnessClient::new(
            store.clone(),
            &config.origin,
            config
                .partners
                .iter()
                .map(|p| PartnerWitness {
                    name: p.name.clone(),
                    url: p.url.clone(),
                    key: p.witness_key.clone(),
                })
                .collect(),
        );
        Ok(Arc::new(Self {
            config,
            keys,
            store,
            clock,
            appender,
            checkpointer,
            witness_server,
            witness_client,
        }))
    }

    /// The settings.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The node's keys (verifier keys print; private keys never do).
    pub fn keys(&self) -> &NodeKeys {
        &self.keys
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The appender.
    pub fn appender(&self) -> &Appender {
        &self.appender
    }

    /// The checkpointer.
    pub fn checkpointer(&self) -> &Checkpointer {
        &self.checkpointer
    }

    /// The witness server for partner logs.
    pub fn witness_server(&self) -> &WitnessServer {
        &self.witness_server
    }

    /// The witness client for our log.
    pub fn witness_client(&self) -> &WitnessClient {
        &self.witness_client
    }

    /// Encodes and queues an entry.
    pub fn submit(&self, entry: &Entry) -> Result<Ticket, LogError> {
        Ok(self.appender.submit(entry.encode()?)?)
    }

    /// Handles a witness `add-checkpoint` body. Blocking.
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<String, WitnessError> {
        self.witness_server
            .add_checkpoint(body, self.clock.now_ms())
    }

    /// A tlog-proof of entry `index` against the latest checkpoint. Blocking.
    pub fn proof(&self, index: u64) -> Result<TlogProof, ProofsError> {
        proofs::build_proof(self.store.as_ref(), &self.config.origin, index)
    }

    /// Integrates everything queued, signs a checkpoint if the tree grew, and asks the
    /// partner witnesses to cosign it. Deterministic: what the background loop does in
    /// one round, for tests and the demo.
    pub async fn settle(self: &Arc<Self>) -> Result<Settled, LogError> {
        let size = self.appender.flush_blocking().await?;
        let this = self.clone();
        let signed =
            tokio::task::spawn_blocking(move || this.checkpointer.step(this.clock.now_ms()))
                .await
                .map_err(|e| LogError::Worker(e.to_string()))??;
        let witnesses = if signed.is_some() {
            self.witness_client.witness().await
        } else {
            Vec::new()
        };
        Ok(Settled {
            size,
            signed: signed.map(|s| s.checkpoint.size),
            witnesses,
        })
    }

    /// Runs the appender and the checkpoint/witness loop until `shutdown` resolves.
    pub async fn run(
        self: Arc<Self>,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let appender = self.appender.clone();
        let mut appender_stop = stopped.clone();
        let appender_task = tokio::spawn(appender.run(async move {
            let _ = appender_stop.wait_for(|s| *s).await;
        }));
        let mut ticker = tokio::time::interval(self.config.checkpoint_every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The checkpoint size witnesses were last asked about: checkpoints the appender
        // signed since then are witnessed on the next tick.
        let mut witnessed = self.appender.checkpointed_size();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = ticker.tick() => {}
            }
            let this = self.clone();
            let signed =
                tokio::task::spawn_blocking(move || this.checkpointer.step(this.clock.now_ms()))
                    .await;
            match signed {
                Ok(Ok(Some(_))) => {
                    witnessed = self.appender.checkpointed_size();
                    self.witness_client.witness().await;
                }
                Ok(Ok(None)) if self.appender.checkpointed_size() > witnessed => {
                    witnessed = self.appender.checkpointed_size();
                    self.witness_client.witness().await;
                }
                Ok(Ok(None)) => {}
                Ok(Err(err)) => {
                    tracing::error!(origin = %self.config.origin, error = %err, "checkpoint not signed");
                }
                Err(err) => tracing::error!(error = %err, "checkpoint task failed"),
            }
        }
        let _ = stop.send(true);
        let _ = appender_task.await;
    }
}
