//! Two exchange nodes on localhost over real mutual TLS, for integration tests, fault
//! tests and the exchange benchmark.
//!
//! Why a harness: every exchange test needs the same wiring — a SQLite store with fsync,
//! the node's log signing a checkpoint with each batch it integrates (a receipt waits
//! for a checkpoint covering its entry), an identity with its TLS CA, partners onboarded from
//! each other's signed manifests with the root fingerprint checked, the mTLS server and
//! the outbox loop. A node can be stopped and started again on the same port and data
//! directory, which is how "partner offline, then back" is played.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use caravan_exchange::identity::NodeIdentity;
use caravan_exchange::node::{Exchange, ExchangeConfig};
use caravan_exchange::retry::RetryPolicy;
use caravan_log::keys::NodeKeys;
use caravan_log::{LogConfig, LogNode, SystemClock};
use caravan_store::Store;
use caravan_store_sqlite::SqliteStore;

/// The agreement of the test nodes.
pub const AGREEMENT: &str = "us-uz-cmaa-2024";

/// What one node is.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Party id.
    pub party: String,
    /// Data directory.
    pub dir: PathBuf,
    /// Address to listen on (port 0 at first start).
    pub addr: SocketAddr,
    /// Retry schedule.
    pub retry: RetryPolicy,
    /// The address partners reach it at, when not the one it listens on (a node in a
    /// network namespace, onboarded from outside it). Also in its TLS certificate.
    pub advertise: Option<std::net::IpAddr>,
    /// How long one request to a partner may take (5 s: fault tests fail fast; a large
    /// part's upload-and-verify needs the production default).
    pub request_timeout: Duration,
}

impl NodeSpec {
    /// A node of `party` in `dir` on an ephemeral localhost port, with a fast retry
    /// schedule (50 ms base, 60 s horizon).
    pub fn new(party: &str, dir: &Path) -> Self {
        Self {
            party: party.to_owned(),
            dir: dir.to_path_buf(),
            addr: "127.0.0.1:0".parse().expect("socket address"),
            retry: RetryPolicy::fast(Duration::from_millis(50), Duration::from_secs(60)),
            advertise: None,
            request_timeout: Duration::from_secs(5),
        }
    }

    fn origin(&self) -> String {
        format!("caravan.{}.example/{AGREEMENT}", self.party.to_lowercase())
    }
}

/// A running node.
pub struct RunningNode {
    /// The spec (with the bound address filled in).
    pub spec: NodeSpec,
    /// The exchange engine.
    pub exchange: Arc<Exchange>,
    /// The store.
    pub store: Arc<dyn Store>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningNode")
            .field("party", &self.spec.party)
            .field("addr", &self.spec.addr)
            .finish_non_exhaustive()
    }
}

/// A node opened but not yet serving: partners can be onboarded before it starts.
pub struct OpenNode {
    spec: NodeSpec,
    exchange: Arc<Exchange>,
    store: Arc<dyn Store>,
    log: Arc<LogNode>,
    listener: tokio::net::TcpListener,
}

impl OpenNode {
    /// The engine.
    pub fn exchange(&self) -> &Arc<Exchange> {
        &self.exchange
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.spec.addr
    }

    /// Serves `router` instead of the real exchange, with this node's TLS identity and
    /// pinned partners on its port, until `stop` resolves; then closes the node and
    /// returns its spec so it can be opened again for real (a faulty receiver played by
    /// a stand-in).
    pub async fn stand_in(
        self,
        router: axum::Router,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> NodeSpec {
        let tls = self.exchange.server_tls().expect("server TLS");
        let _ = caravan_exchange::transport::serve_mtls(self.listener, tls, router, stop).await;
        self.spec
    }
}

/// Opens a node: store, log, identity, engine; binds its port.
pub async fn open(mut spec: NodeSpec) -> OpenNode {
    std::fs::create_dir_all(&spec.dir).expect("create node dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&spec.dir.join("caravan.sqlite")).expect("open store"));
    let listener = tokio::net::TcpListener::bind(spec.addr)
        .await
        .expect("bind exchange port");
    spec.addr = listener.local_addr().expect("local addr");
    let now = caravan_log::Clock::now_ms(&SystemClock);
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let host = spec.advertise.unwrap_or(spec.addr.ip()).to_string();
    if !hosts.contains(&host) {
        hosts.push(host.clone());
    }
    let identity =
        NodeIdentity::load_or_generate(&spec.dir, &spec.party, &hosts, now).expect("identity");
    let origin = spec.origin();
    let keys = NodeKeys::load_or_generate(
        &spec.dir,
        &origin,
        &format!("caravan.{}.example/witness", spec.party.to_lowercase()),
    )
    .expect("log keys");
    let mut log_config = LogConfig::new(&origin, AGREEMENT);
    log_config.appender.max_delay = Duration::from_millis(2);
    // A batch holding a received message is checkpointed in its own transaction, so a
    // receipt waits for no separate checkpoint commit; the loop's tick signs the other
    // batches' trees, re-signs and witnesses.
    log_config.checkpoint_on_append = true;
    log_config.checkpoint_every = Duration::from_millis(50);
    let log = LogNode::open(store.clone(), keys, log_config, Arc::new(SystemClock)).expect("log");
    let mut config = ExchangeConfig::new(&spec.party, "127.0.0.1", AGREEMENT);
    config.endpoint = format!("https://{host}:{}", spec.addr.port());
    config.retry = spec.retry.clone();
    config.poll_every = Duration::from_millis(20);
    config.request_timeout = spec.request_timeout;
    config.receipt_wait = Duration::from_secs(5);
    config.parts_dir = Some(spec.dir.join("parts"));
    let exchange =
        Exchange::new(config, identity, store.clone(), log.clone()).expect("exchange engine");
    OpenNode {
        spec,
        exchange,
        store,
        log,
        listener,
    }
}

/// Onboards `b` at `a` and `a` at `b`, each from the other's signed manifest and root
/// fingerprint.
pub fn introduce(a: &OpenNode, b: &OpenNode) {
    for (here, there) in [(a, b), (b, a)] {
        let manifest = there.exchange.signed_manifest();
        let fingerprint = there.exchange.identity().root_fingerprint();
        here.exchange
            .registry()
            .onboard(&manifest, &fingerprint, &there.spec.party, now())
            .expect("onboard partner");
        here.exchange.reload_partners().expect("reload partners");
    }
}

/// Now, ms.
pub fn now() -> u64 {
    caravan_log::Clock::now_ms(&SystemClock)
}

/// Starts serving: the log loop, the outbox loop and the mTLS server.
pub fn start(node: OpenNode) -> RunningNode {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(node.log.clone().run(wait(stopped.clone()))));
    tasks.push(tokio::spawn(
        node.exchange.clone().run(wait(stopped.clone())),
    ));
    let tls = node.exchange.server_tls().expect("server TLS");
    let router = caravan_web::exchange::routes(node.exchange.clone());
    let server =
        caravan_exchange::transport::serve_mtls(node.listener, tls, router, wait(stopped.clone()));
    tasks.push(tokio::spawn(async move {
        let _ = server.await;
    }));
    RunningNode {
        spec: node.spec,
        exchange: node.exchange,
        store: node.store,
        stop,
        tasks,
    }
}

impl RunningNode {
    /// Stops every loop and the server, and waits for them.
    pub async fn stop(self) -> NodeSpec {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.spec
    }
}

/// Two started nodes, `US-CBP` and `UZ-CUSTOMS`, introduced to each other.
/// The mutual-assistance workflows of a [`pair`]: each over its node's store and exchange,
/// with its own evidence key (`key_seed`, `key_seed + 1`) and evidence folder under `root`.
/// The setup every two-node assistance test and benchmark shares.
pub fn assistance_pair(
    root: &Path,
    us: &RunningNode,
    uz: &RunningNode,
    key_seed: u8,
) -> (
    Arc<caravan_assistance_node::service::AssistanceNode>,
    Arc<caravan_assistance_node::service::AssistanceNode>,
) {
    use caravan_assistance_node::crypto::EvidenceKey;
    use caravan_assistance_node::service::{AssistanceNode, NodeConfig};
    let node = |running: &RunningNode, is_us: bool, seed: u8, folder: &str| {
        Arc::new(AssistanceNode::new(
            running.store.clone(),
            Some(running.exchange.clone()),
            NodeConfig::us_uz(is_us),
            EvidenceKey::from_bytes(&[seed; 32]),
            root.join(folder),
        ))
    };
    (
        node(us, true, key_seed, "us-evidence"),
        node(uz, false, key_seed.wrapping_add(1), "uz-evidence"),
    )
}

pub async fn pair(root: &Path) -> (RunningNode, RunningNode) {
    let us = open(NodeSpec::new("US-CBP", &root.join("us"))).await;
    let uz = open(NodeSpec::new("UZ-CUSTOMS", &root.join("uz"))).await;
    introduce(&us, &uz);
    (start(us), start(uz))
}

/// A two-worker multi-threaded runtime, as the node runs on the 2-core test machine.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Polls `check` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
