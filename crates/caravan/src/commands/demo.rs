//! `caravan demo`: two nodes, one corridor, every capability built so far.
//!
//! The scenario: a seeded US ↔ Uzbekistan corridor is generated; each administration's
//! own declarations are written in the syntax it would send (Caravan CSV at CBP, UN/EDIFACT
//! CUSDEC at the Uzbek Customs Committee); each node ingests its own file into its own
//! embedded store, validating it as a local filing; both nodes' HTTP servers start on
//! localhost and must report ready; then a summary per node is printed.
//!
//! Each node also keeps its transparency log. Every ingest run is recorded as a
//! `key_event` (the node's key manifest, here the digest of its verifier keys) and an
//! `audit_anchor` (the head of the ingest run's hash chain over the stored declarations'
//! canonical digests: commitments
//! only, never payloads or names). Each node signs checkpoints, and the partner cosigns
//! them through the real HTTP witness endpoint, twice round so each log also records the
//! partner checkpoint it cosigned (`witness_seen`). One entry's tlog-proof is exported
//! and verified offline with nothing but the two public keys.
//!
//! Then the exchange: each node gets its exchange identity (root, signing and encryption
//! keys, TLS CA), each registers the other from its signed key manifest after checking
//! the root fingerprint, and both start their mutual-TLS endpoints on localhost. The
//! Uzbek node sends its export declarations (Caravan JSON, `Bulk.Batch`, several per
//! message) to CBP; every message comes back with a signed receipt carrying a tlog-proof
//! of CBP's `msg_in` entry, and one receipt is written out and verified offline with CBP's
//! public keys only. The log's witness traffic stays on plain HTTP on localhost.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use caravan_corridor::{CorridorConfig, TruthRow, shipments, us_office_codes, uz_office_codes};
use caravan_domain::declaration::validate::Provenance;
use caravan_ingest::pipeline::{Format, Mode};
use caravan_log::entry::{Entry, EntryBody, ManifestOwner};
use caravan_log::keys::NodeKeys;
use caravan_log::{LogConfig, LogNode, Partner, SystemClock};
use caravan_store::{Store, StoreCounts};
use caravan_tlog::checkpoint::SignedCheckpoint;
use caravan_tlog::note::{NoteSigner, VerifierList};
use caravan_tlog::proof::{Leaf, ProofPolicy, verify_offline};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::generate::{Formats, write_corridor};
use super::ingest::{ingest_file, validation_context};
use crate::backend::open_store;
use crate::cli::DemoArgs;
use crate::config::{Config, StoreUrl};

struct Node {
    config: Config,
    input: PathBuf,
    format: Format,
    origin: &'static str,
    witness_name: &'static str,
}

/// The agreement both logs belong to.
const AGREEMENT: &str = "us-uz-cmaa-2024";

/// What one ingest run leaves in the log: the audit chain head and how many records it
/// covers.
struct Anchor {
    head: [u8; 32],
    records: u64,
}

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let corridor_dir = args.dir.join("corridor");
    for sub in ["us", "uz", "corridor"] {
        let path = args.dir.join(sub);
        if path.exists() {
            std::fs::remove_dir_all(&path).with_context(|| format!("clear {}", path.display()))?;
        }
    }
    let config = CorridorConfig::with(args.seed, args.shipments);
    println!(
        "Caravan demo: US CBP and Uzbek Customs, seed {}, {} shipments",
        args.seed, args.shipments
    );
    let formats = Formats {
        csv: true,
        json: false,
        xml: false,
        edifact: true,
    };
    let written = write_corridor(&corridor_dir, &config, &formats)?;
    println!(
        "  corridor written to {} ({} US and {} UZ declarations, ground truth in truth.csv)",
        corridor_dir.display(),
        written.us_declarations,
        written.uz_declarations
    );

    let nodes = [
        Node {
            config: node_config(
                "US CBP",
                "US",
                &args.dir.join("us"),
                us_office_codes(),
                args.us_listen,
            ),
            input: corridor_dir.join("us/declarations.csv"),
            format: Format::CaravanCsv,
            origin: "caravan.cbp.example/us-uz-cmaa-2024",
            witness_name: "caravan.cbp.example/witness",
        },
        Node {
            config: node_config(
                "UZ Customs",
                "UZ",
                &args.dir.join("uz"),
                uz_office_codes(),
                args.uz_listen,
            ),
            input: corridor_dir.join("uz/declarations.edi"),
            format: Format::Cusdec,
            origin: "caravan.customs.uz.example/us-uz-cmaa-2024",
            witness_name: "caravan.customs.uz.example/witness",
        },
    ];
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    let mut anchors: Vec<Anchor> = Vec::new();
    for node in &nodes {
        std::fs::create_dir_all(&node.config.data_dir)
            .with_context(|| format!("create {}", node.config.data_dir.display()))?;
        let store = open_store(&node.config.store)?;
        super::account::demo_accounts(
            store.as_ref(),
            &node.config.node_name,
            &node.config.data_dir,
        )?;
        let ctx = validation_context(&node.config, Provenance::Local);
        let report = ingest_file(
            store.as_ref(),
            &node.input,
            node.format,
            &ctx,
            Mode::WholeFile,
            true,
        )
        .with_context(|| format!("{}: ingest {}", node.config.node_name, node.input.display()))?;
        println!(
            "  {}: ingested {} ({}) as local filings: {} declarations, {} goods items, {} warnings",
            node.config.node_name,
            node.input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            node.format.name(),
            report.batch.inserted,
            report.batch.items,
            report.warnings
        );
        stores.push(store);
        anchors.push(Anchor {
            head: report.audit_head,
            records: report.batch.inserted,
        });
    }

    let truth: Vec<TruthRow> = shipments(&config).map(|s| s.truth).collect();
    let us_ui = format!("http://{}", args.us_listen);
    let mirror_features = super::mirror::demo_stage(&stores, &truth, config.year, &us_ui)?;
    super::target::demo_stage(
        stores[0].as_ref(),
        &corridor_dir.join("us/declarations.csv"),
        &truth,
        &mirror_features,
    )?;
    super::screen_store::demo_stage(&stores, &["US CBP", "UZ Customs"], &truth)?;
    super::screen_resolve::demo_stage(&stores, &["US CBP", "UZ Customs"])?;
    let runtime = tokio::runtime::Runtime::new().context("start async runtime")?;
    runtime.block_on(serve_and_report(args, &nodes, &stores, &anchors, &truth))?;
    println!("demo finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

fn node_config(
    name: &str,
    country: &str,
    dir: &Path,
    offices: Vec<String>,
    listen: SocketAddr,
) -> Config {
    Config {
        node_name: name.to_owned(),
        country: country.to_owned(),
        data_dir: dir.to_path_buf(),
        offices,
        procedures: Vec::new(),
        store: StoreUrl::Sqlite(dir.join("caravan.sqlite")),
        listen,
        log: None,
        partners: Vec::new(),
        exchange: None,
        targeting: None,
        oidc: None,
    }
}

async fn serve_and_report(
    args: &DemoArgs,
    nodes: &[Node],
    stores: &[Arc<dyn Store>],
    anchors: &[Anchor],
    truth: &[TruthRow],
) -> anyhow::Result<()> {
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for node in nodes {
        let listener = tokio::net::TcpListener::bind(node.config.listen)
            .await
            .with_context(|| {
                format!(
                    "{}: listen on {}",
                    node.config.node_name, node.config.listen
                )
            })?;
        addrs.push(listener.local_addr().context("read listen address")?);
        listeners.push(listener);
    }
    let logs = open_logs(nodes, stores, &addrs)?;
    let mut servers = Vec::new();
    for (((node, store), listener), log) in nodes.iter().zip(stores).zip(listeners).zip(&logs) {
        let state = caravan_web::AppState {
            store: store.clone(),
            node_name: Arc::from(node.config.node_name.as_str()),
            log: Some(log.clone()),
            exchange: None,
        };
        let mut stopped = stop.subscribe();
        servers.push(tokio::spawn(caravan_web::serve(
            listener,
            caravan_web::router(state),
            async move {
                let _ = stopped.recv().await;
            },
        )));
    }
    for (node, addr) in nodes.iter().zip(&addrs) {
        let body = http_get(*addr, "/readyz").await?;
        if !body.contains("\"ready\"") {
            bail!("{} at {addr} is not ready: {body}", node.config.node_name);
        }
        println!(
            "  {} serving on http://{addr} (ready); officers sign in at http://{addr}/ui/signin \
             with a password printed above (tokens and TOTP keys in {})",
            node.config.node_name,
            node.config.data_dir.join("demo-accounts.txt").display()
        );
    }

    println!();
    print_summary(nodes, stores, truth)?;
    println!();
    play_logs(args, nodes, &logs, anchors).await?;
    println!();
    exchange_declarations(args, nodes, stores, &logs).await?;

    if !args.exit {
        println!("\nBoth nodes keep serving; press ctrl-c to stop.");
        super::serve::shutdown_signal().await;
    }
    let _ = stop.send(());
    for server in servers {
        server.await.context("join server")?.context("serve HTTP")?;
    }
    Ok(())
}

fn print_summary(
    nodes: &[Node],
    stores: &[Arc<dyn Store>],
    truth: &[TruthRow],
) -> anyhow::Result<()> {
    let counts: Vec<StoreCounts> = stores
        .iter()
        .map(|s| s.counts().context("count stored rows"))
        .collect::<Result<_, _>>()?;
    let header: Vec<&str> = nodes.iter().map(|n| n.config.node_name.as_str()).collect();
    println!("{:<38}{:>14}{:>14}", "", header[0], header[1]);
    let row = |label: &str, f: &dyn Fn(&StoreCounts) -> u64| {
        println!("{label:<38}{:>14}{:>14}", f(&counts[0]), f(&counts[1]));
    };
    row("declarations", &|c| c.declarations);
    row("  imports", &|c| c.imports);
    row("  exports", &|c| c.exports);
    row("goods items", &|c| c.items);
    row("parties (declaration roles)", &|c| c.parties);
    row("distinct parties", &|c| c.distinct_parties);
    row("containers", &|c| c.containers);
    row("validation warnings", &|c| c.warnings);

    // Injected anomalies, by the node whose declarations carry them (ground truth).
    let mut per_kind: BTreeMap<&str, [u64; 2]> = BTreeMap::new();
    let mut totals = [0u64; 2];
    let mut watchlist = [0u64; 2];
    for row in truth {
        let at = [!row.us_lrns.is_empty(), !row.uz_lrns.is_empty()];
        for (idx, present) in at.into_iter().enumerate() {
            if !present {
                continue;
            }
            if let Some(kind) = row.anomaly {
                per_kind.entry(kind.as_str()).or_default()[idx] += 1;
                totals[idx] += 1;
            }
            watchlist[idx] += u64::from(row.watchlist_party.is_some());
        }
    }
    println!(
        "{:<38}{:>14}{:>14}",
        "injected anomalies (ground truth)", totals[0], totals[1]
    );
    for (kind, n) in per_kind {
        println!("{:<38}{:>14}{:>14}", format!("  {kind}"), n[0], n[1]);
    }
    println!(
        "{:<38}{:>14}{:>14}",
        "shipments with a sanctions-list party", watchlist[0], watchlist[1]
    );
    Ok(())
}

/// Opens each node's log with fresh keys, each naming the other as partner.
fn open_logs(
    nodes: &[Node],
    stores: &[Arc<dyn Store>],
    addrs: &[SocketAddr],
) -> anyhow::Result<Vec<Arc<LogNode>>> {
    let keys: Vec<NodeKeys> = nodes
        .iter()
        .map(|n| NodeKeys::load_or_generate(&n.config.data_dir, n.origin, n.witness_name))
        .collect::<Result<_, _>>()
        .context("create log keys")?;
    let mut logs = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let j = 1 - i;
        let mut config = LogConfig::new(node.origin, AGREEMENT);
        // Receipts wait for a checkpoint covering their entry: sign often.
        config.checkpoint_every = std::time::Duration::from_millis(50);
        config.appender.max_delay = std::time::Duration::from_millis(10);
        config.partners.push(Partner {
            name: nodes[j].config.node_name.clone(),
            log_origin: nodes[j].origin.to_owned(),
            log_key: keys[j].log_verifier(),
            witness_key: keys[j].witness_verifier(),
            url: format!("http://{}", addrs[j]),
        });
        let store: Arc<dyn caravan_store::log::LogStore> = stores[i].clone();
        logs.push(
            LogNode::open(store, keys[i].clone(), config, Arc::new(SystemClock))
                .with_context(|| format!("{}: open log", node.config.node_name))?,
        );
    }
    Ok(logs)
}

/// Records the ingest runs, lets each node sign and the other cosign (twice round), then
/// exports and verifies one proof.
async fn play_logs(
    args: &DemoArgs,
    nodes: &[Node],
    logs: &[Arc<LogNode>],
    anchors: &[Anchor],
) -> anyhow::Result<()> {
    for ((node, log), anchor) in nodes.iter().zip(logs).zip(anchors) {
        let now = log.clock().now_ms();
        let manifest = format!("{}\n{}\n", log.keys().log_vkey(), log.keys().witness_vkey());
        for body in [
            EntryBody::KeyEvent {
                owner: ManifestOwner::Own,
                manifest_version: 1,
                manifest_sha256: Sha256::digest(manifest.as_bytes()).into(),
            },
            EntryBody::AuditAnchor {
                head: anchor.head,
                event_count: anchor.records,
            },
        ] {
            log.submit(&Entry {
                t: now,
                agreement_id: AGREEMENT.to_owned(),
                body,
            })
            .with_context(|| format!("{}: log the ingest run", node.config.node_name))?;
        }
    }
    for _round in 0..2 {
        for (node, log) in nodes.iter().zip(logs) {
            let settled = log
                .settle()
                .await
                .with_context(|| format!("{}: settle the log", node.config.node_name))?;
            for outcome in settled.witnesses {
                if let caravan_log::witness::WitnessOutcome::Failed { partner, reason } = outcome {
                    bail!(
                        "{}: {partner} did not cosign: {reason}",
                        node.config.node_name
                    );
                }
            }
        }
    }
    for (node, log) in nodes.iter().zip(logs) {
        let head = log
            .store()
            .open_log(&log.config().origin)
            .context("read log head")?;
        let stored = head.checkpoint.context("no checkpoint signed")?;
        let signed = SignedCheckpoint::parse(&stored.note).context("parse checkpoint")?;
        let cosigners: Vec<&str> = signed
            .note
            .signatures
            .iter()
            .filter(|s| s.name != log.keys().log_signer().name())
            .map(|s| s.name.as_str())
            .collect();
        println!(
            "  {} log {}: {} entries; checkpoint of size {} signed, cosigned by {}",
            node.config.node_name,
            log.config().origin,
            head.size,
            stored.size,
            if cosigners.is_empty() {
                "nobody yet".to_owned()
            } else {
                cosigners.join(", ")
            },
        );
        for line in String::from_utf8_lossy(&stored.note).lines() {
            println!("      {line}");
        }
    }
    // An auditor's view: entry 1 (the audit anchor) of the US log, proved offline.
    let (us, uz) = (&logs[0], &logs[1]);
    let proof = us.proof(1).context("build a tlog-proof")?.encode();
    let proof_path = args.dir.join("us").join("entry-1.tlog-proof");
    std::fs::write(&proof_path, &proof)
        .with_context(|| format!("write {}", proof_path.display()))?;
    let entry = us
        .store()
        .entries(&us.config().origin, 1, 1)
        .context("read entry 1")?
        .pop()
        .context("entry 1 missing")?;
    let log_keys = VerifierList::new().with(us.keys().log_verifier())?;
    let witness_keys = VerifierList::new().with(uz.keys().witness_verifier())?;
    let verdict = verify_offline(
        proof.as_bytes(),
        Leaf::Data(&entry),
        &ProofPolicy {
            origin: &us.config().origin,
            log_verifiers: &log_keys,
            witness_verifiers: &witness_keys,
            min_witnesses: 1,
        },
    )
    .context("verify the exported proof offline")?;
    println!(
        "  exported {} ({} bytes) and verified it offline:\n      {verdict}",
        proof_path.display(),
        proof.len()
    );
    Ok(())
}

/// A minimal HTTP/1.1 GET, enough to probe our own server without a client library.
async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect to {addr}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .context("send probe")?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .context("read probe response")?;
    if !response.starts_with("HTTP/1.1 200") {
        bail!(
            "{path} on {addr} answered: {}",
            response.lines().next().unwrap_or_default()
        );
    }
    Ok(response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned())
}

/// Party ids of the two demo nodes, in `nodes` order.
const PARTIES: [&str; 2] = ["US-CBP", "UZ-CUSTOMS"];

/// Declarations per `Bulk.Batch` message (well under the 256 KiB inline part limit).
const PER_MESSAGE: usize = 25;

/// The UZ node sends its export declarations to CBP over mutual TLS; receipts come back.
async fn exchange_declarations(
    args: &DemoArgs,
    nodes: &[Node],
    stores: &[Arc<dyn Store>],
    logs: &[Arc<LogNode>],
) -> anyhow::Result<()> {
    use caravan_exchange::identity::NodeIdentity;
    use caravan_exchange::node::{
        DeliveryState, Exchange, ExchangeConfig, OutboundMessage, OutboundPart,
    };

    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    let wait = |mut rx: tokio::sync::broadcast::Receiver<()>| async move {
        let _ = rx.recv().await;
    };
    let mut exchanges = Vec::new();
    let mut listeners = Vec::new();
    for ((node, store), log) in nodes.iter().zip(stores).zip(logs) {
        let i = exchanges.len();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind the exchange port")?;
        let port = listener.local_addr().context("exchange address")?.port();
        let hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let identity = NodeIdentity::load_or_generate(
            &node.config.data_dir,
            PARTIES[i],
            &hosts,
            log.clock().now_ms(),
        )
        .context("create the exchange identity")?;
        let mut config = ExchangeConfig::new(PARTIES[i], "127.0.0.1", AGREEMENT);
        config.endpoint = format!("https://127.0.0.1:{port}");
        config.poll_every = std::time::Duration::from_millis(50);
        config.parts_dir = Some(node.config.data_dir.join("parts"));
        exchanges.push(Exchange::new(config, identity, store.clone(), log.clone())?);
        listeners.push(listener);
    }
    // Onboarding: each side checks the other's root fingerprint (read out of band in
    // real life) and registers it from its signed manifest.
    for i in 0..2 {
        let j = 1 - i;
        let manifest = exchanges[j].signed_manifest();
        let fingerprint = exchanges[j].identity().root_fingerprint();
        exchanges[i]
            .registry()
            .onboard(
                &manifest,
                &fingerprint,
                &nodes[j].config.node_name,
                logs[i].clock().now_ms(),
            )
            .with_context(|| format!("{}: register {}", nodes[i].config.node_name, PARTIES[j]))?;
        exchanges[i].reload_partners()?;
        println!(
            "  {} registered {} (root key {}…)",
            nodes[i].config.node_name,
            PARTIES[j],
            &fingerprint[..19]
        );
    }
    let mut tasks = Vec::new();
    for ((exchange, listener), log) in exchanges.iter().zip(listeners).zip(logs) {
        let addr = listener.local_addr().context("exchange address")?;
        tasks.push(tokio::spawn(log.clone().run(wait(stop.subscribe()))));
        tasks.push(tokio::spawn(exchange.clone().run(wait(stop.subscribe()))));
        let server = caravan_exchange::transport::serve_mtls(
            listener,
            exchange.server_tls()?,
            caravan_web::exchange::routes(exchange.clone()),
            wait(stop.subscribe()),
        );
        tasks.push(tokio::spawn(async move {
            if let Err(err) = server.await {
                tracing::error!(error = %err, "exchange server failed");
            }
        }));
        println!(
            "  {} exchange on https://{addr} (mutual TLS)",
            exchange.config().party
        );
    }

    // UZ's export declarations, as stored (canonical Caravan JSON).
    let (us, uz) = (&exchanges[0], &exchanges[1]);
    let uz_store = stores[1].clone();
    let documents = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Vec<u8>>> {
        let mut docs = Vec::new();
        let mut offset = 0;
        loop {
            let page = uz_store.list(500, offset).context("list declarations")?;
            if page.is_empty() {
                break;
            }
            offset += u32::try_from(page.len()).unwrap_or(u32::MAX);
            for d in page.into_iter().filter(|d| d.direction == "export") {
                docs.push(uz_store.declaration(&d.declarant, &d.lrn)?.document);
            }
        }
        Ok(docs)
    })
    .await??;
    let started = Instant::now();
    let mut ids = Vec::new();
    for (n, chunk) in documents.chunks(PER_MESSAGE).enumerate() {
        let mut body = b"{\"declarations\":[".to_vec();
        for (k, doc) in chunk.iter().enumerate() {
            if k > 0 {
                body.push(b',');
            }
            body.extend_from_slice(doc);
        }
        body.extend_from_slice(b"]}");
        let message = OutboundMessage {
            to: PARTIES[0].to_owned(),
            conversation_id: Some(format!("uz-exports-{}", args.seed)),
            ref_to: None,
            action: "Bulk.Batch".to_owned(),
            expires_at: None,
            parts: vec![OutboundPart {
                part_id: format!("batch-{n}"),
                media_type: "application/vnd.caravan.declarations+json".to_owned(),
                body,
            }],
        };
        let uz = uz.clone();
        ids.push(tokio::task::spawn_blocking(move || uz.send(&message)).await??);
    }
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let states: Vec<DeliveryState> = ids
            .iter()
            .map(|id| uz.delivery_state(id))
            .collect::<Result<_, _>>()?;
        if let Some(DeliveryState::DeadLetter { reason }) = states
            .iter()
            .find(|s| matches!(s, DeliveryState::DeadLetter { .. }))
        {
            bail!("a message was dead-lettered: {reason}");
        }
        if states
            .iter()
            .all(|s| matches!(s, DeliveryState::Delivered { .. }))
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("not every message was receipted within 120 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let handed = us.pending("Bulk.Batch", u32::MAX)?;
    let received_declarations: usize = handed
        .iter()
        .flat_map(|m| &m.parts)
        .map(|(_, _, body)| {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["declarations"].as_array().map(Vec::len))
                .unwrap_or(0)
        })
        .sum();
    us.ack(&handed.iter().map(|m| m.seq).collect::<Vec<_>>())?;
    println!(
        "  UZ Customs → US CBP: {} export declarations in {} Bulk.Batch messages, all receipted in {:.2} s; CBP handed {} messages ({} declarations) to its analysts",
        documents.len(),
        ids.len(),
        elapsed.as_secs_f64(),
        handed.len(),
        received_declarations
    );
    let sent = stores[1].exchange_counts()?;
    let got = stores[0].exchange_counts()?;
    println!(
        "  UZ outbox: {} delivered, {} pending, {} dead letters; CBP inbox: {} messages",
        sent.delivered, sent.pending, sent.dead_letter, got.inbox
    );

    // One receipt, verified the way an auditor would: offline, CBP's public keys only.
    let DeliveryState::Delivered { receipt, .. } = uz.delivery_state(&ids[0])? else {
        bail!("first message not delivered");
    };
    let receipt_path = args.dir.join("uz").join("receipt-0.cose");
    std::fs::write(&receipt_path, &receipt)
        .with_context(|| format!("write {}", receipt_path.display()))?;
    let us_identity = us.identity();
    let us_key = us_identity
        .signing_key_at(logs[0].clock().now_ms())?
        .verifying_key();
    let log_keys = VerifierList::new().with(logs[0].keys().log_verifier())?;
    let verdict = caravan_envelope::verify_receipt_offline(
        &receipt,
        &us_key,
        &log_keys,
        &VerifierList::new(),
        0,
    )
    .context("verify the receipt offline")?;
    println!(
        "  receipt for {} written to {} ({} bytes): outcome {}, CBP log entry {}; verified offline:\n      {}",
        verdict.receipt.ref_to,
        receipt_path.display(),
        receipt.len(),
        verdict.receipt.outcome.as_str(),
        verdict.receipt.log.index,
        verdict.proof
    );
    println!(
        "      check it yourself: caravan messages verify-receipt --receipt {} --receiver-key {} --log-key {}",
        receipt_path.display(),
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            us_key.to_bytes()
        ),
        logs[0].keys().log_vkey()
    );
    super::assist::demo_stage(
        &exchanges,
        stores,
        [&nodes[0].config.data_dir, &nodes[1].config.data_dir],
        [
            &format!("http://{}", args.us_listen),
            &format!("http://{}", args.uz_listen),
        ],
    )
    .await?;
    super::demo_assist_wire::stage(
        &exchanges,
        stores,
        [&nodes[0].config.data_dir, &nodes[1].config.data_dir],
    )
    .await?;
    let _ = stop.send(());
    for task in tasks {
        task.await.context("stop the exchange")?;
    }
    Ok(())
}
