//! Fault tests of the exchange with real processes: the sender and the receiver are child
//! processes (this test binary re-executed, as in `crash`), each a full node with its own
//! SQLite store (fsync on), log and mTLS endpoint. While 10,000 messages flow, the parent
//! kills one of them with SIGKILL at random moments and starts it again. At the end every
//! message the sender stored is delivered with a receipt, and the receiver's inbox holds
//! exactly those messages: none lost, none twice.
//!
//! A receiver answering 5xx and a slow receiver are played in-process: a stand-in mTLS
//! server with the receiver's identity answers 503 (then stalls past the client timeout),
//! and the real receiver takes over on the same port.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use caravan_exchange::node::{DeliveryState, OutboundMessage, OutboundPart};
use caravan_store::exchange::OutboundState;
use caravan_store_sqlite::SqliteStore;
use caravan_testkit::exchange::{NodeSpec, eventually, introduce, open, start};

const CHILD_VAR: &str = "CARAVAN_EXCHANGE_FAULT_CHILD";
/// Messages that flow; `CARAVAN_EXCHANGE_FAULT_MESSAGES` overrides it.
const MESSAGES: usize = 10_000;
/// Conversations they are spread over (order is kept within each).
const CONVERSATIONS: usize = 64;

fn message_count() -> usize {
    std::env::var("CARAVAN_EXCHANGE_FAULT_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MESSAGES)
}

pub(crate) fn spec(party: &str, dir: &Path, port: u16) -> NodeSpec {
    spec_at(party, dir, "127.0.0.1", port)
}

/// A node listening on `ip:port`.
pub(crate) fn spec_at(party: &str, dir: &Path, ip: &str, port: u16) -> NodeSpec {
    let mut spec = NodeSpec::new(party, dir);
    spec.addr = format!("{ip}:{port}").parse().expect("address");
    spec.retry = caravan_exchange::retry::RetryPolicy::fast(
        Duration::from_millis(100),
        Duration::from_secs(600),
    );
    spec
}

/// The child: `role|party|dir|port|total[|ip]`. A sender tops its outbox up to `total`
/// messages, then both roles serve until killed. `ip` (default 127.0.0.1) is the address
/// it listens on (inside its network namespace in the partition test).
#[test]
fn exchange_fault_child() {
    let Ok(args) = std::env::var(CHILD_VAR) else {
        return;
    };
    let parts: Vec<&str> = args.split('|').collect();
    let (role, party, dir, port) = (parts[0], parts[1], parts[2], parts[3]);
    let runtime = caravan_testkit::exchange::runtime();
    runtime.block_on(async {
        let ip = parts.get(5).copied().unwrap_or("127.0.0.1");
        let node = start(
            open(spec_at(
                party,
                Path::new(dir),
                ip,
                port.parse().expect("port"),
            ))
            .await,
        );
        if role == "send" {
            let total: usize = parts[4].parse().expect("total");
            let stored = {
                let c = node.store.exchange_counts().expect("counts");
                (c.pending + c.delivered + c.dead_letter) as usize
            };
            for n in stored..total {
                let message = OutboundMessage {
                    to: "US-CBP".to_owned(),
                    conversation_id: Some(format!("conv-{}", n % CONVERSATIONS)),
                    ref_to: None,
                    action: "Spontaneous.Inform".to_owned(),
                    expires_at: None,
                    parts: vec![OutboundPart {
                        part_id: "body".to_owned(),
                        media_type: "application/json".to_owned(),
                        body: format!(r#"{{"n":{n}}}"#).into_bytes(),
                    }],
                };
                let exchange = node.exchange.clone();
                tokio::task::spawn_blocking(move || exchange.send(&message))
                    .await
                    .expect("join")
                    .expect("send");
            }
        }
        println!("FAULT-CHILD-READY");
        std::future::pending::<()>().await;
    });
}

fn spawn(role: &str, party: &str, dir: &Path, port: u16, total: usize) -> Child {
    spawn_in(None, role, party, dir, port, total)
}

/// [`spawn`] inside network namespace `netns` (`ip netns exec`), listening on its `ip`.
pub(crate) fn spawn_in(
    netns: Option<(&str, &str)>,
    role: &str,
    party: &str,
    dir: &Path,
    port: u16,
    total: usize,
) -> Child {
    let exe = std::env::current_exe().expect("test binary path");
    let mut command = match netns {
        Some((ns, _)) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let ip = netns.map_or("127.0.0.1", |(_, ip)| ip);
    command
        .args([
            "--exact",
            "exchange_faults::exchange_fault_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_VAR,
            format!("{role}|{party}|{}|{port}|{total}|{ip}", dir.display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}

pub(crate) fn kill(child: &mut Child) {
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(9), "died of SIGKILL, not {status}");
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A pseudo-random sequence (xorshift), seeded from the clock and printed, so a failing
/// run can be replayed with `CARAVAN_EXCHANGE_FAULT_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn kill_9_of_sender_and_receiver_loses_and_duplicates_nothing() {
    let total = message_count();
    let seed = std::env::var("CARAVAN_EXCHANGE_FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 | 1)
        });
    println!("kill -9 test: {total} messages, seed {seed}");
    let mut rng = Rng(seed);
    let root = tempfile::tempdir().expect("tempdir");
    let (us_dir, uz_dir): (PathBuf, PathBuf) = (root.path().join("us"), root.path().join("uz"));
    let (us_port, uz_port) = (free_port(), free_port());
    // Onboard both nodes once, in-process; the children load identity and registry.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let us = open(spec("US-CBP", &us_dir, us_port)).await;
        let uz = open(spec("UZ-CUSTOMS", &uz_dir, uz_port)).await;
        introduce(&us, &uz);
    });

    let mut receiver = spawn("serve", "US-CBP", &us_dir, us_port, 0);
    let mut sender = spawn("send", "UZ-CUSTOMS", &uz_dir, uz_port, total);
    let uz_db = uz_dir.join("caravan.sqlite");
    let us_db = us_dir.join("caravan.sqlite");
    let counts = |db: &Path| {
        SqliteStore::open(db)
            .and_then(|s| caravan_store::exchange::ExchangeStore::exchange_counts(&s))
            .expect("counts")
    };
    let (mut sender_kills, mut receiver_kills) = (0, 0);
    for round in 0..6 {
        std::thread::sleep(Duration::from_millis(300 + rng.next(900)));
        if round % 2 == 0 {
            kill(&mut sender);
            sender_kills += 1;
            sender = spawn("send", "UZ-CUSTOMS", &uz_dir, uz_port, total);
        } else {
            kill(&mut receiver);
            receiver_kills += 1;
            receiver = spawn("serve", "US-CBP", &us_dir, us_port, 0);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(1_200);
    loop {
        let c = counts(&uz_db);
        if c.delivered as usize == total {
            break;
        }
        assert_eq!(c.dead_letter, 0, "no message may be dead-lettered");
        assert!(
            Instant::now() < deadline,
            "only {} of {total} delivered after the faults",
            c.delivered
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    kill(&mut sender);
    kill(&mut receiver);

    // Exact counts: the sender stored `total`, each is delivered, and the receiver holds
    // exactly those ids, once each.
    let uz = SqliteStore::open(&uz_db).expect("open uz");
    let us = SqliteStore::open(&us_db).expect("open us");
    use caravan_store::exchange::ExchangeStore;
    let sent = uz.list_outbound(None, u32::MAX).expect("outbox");
    assert_eq!(sent.len(), total);
    assert!(
        sent.iter()
            .all(|r| r.state == OutboundState::Delivered && r.receipt.is_some())
    );
    let received = us.list_inbound(u32::MAX).expect("inbox");
    assert_eq!(received.len(), total, "no message twice");
    let sent_ids: BTreeSet<&str> = sent
        .iter()
        .map(|r| r.record.facts.message_id.as_str())
        .collect();
    let got_ids: BTreeSet<&str> = received
        .iter()
        .map(|r| r.record.facts.message_id.as_str())
        .collect();
    assert_eq!(sent_ids, got_ids, "none lost");
    assert!(received.iter().all(|r| r.receipt.is_some()));
    // Order within each conversation: the receiver stored them in send order.
    for conversation in 0..CONVERSATIONS.min(total) {
        let name = format!("conv-{conversation}");
        let order = |seqs: Vec<(i64, &str)>| {
            let mut s = seqs;
            s.sort();
            s.into_iter()
                .map(|(_, id)| id.to_owned())
                .collect::<Vec<_>>()
        };
        let sent_order = order(
            sent.iter()
                .filter(|r| r.record.facts.conversation_id == name)
                .map(|r| (r.seq, r.record.facts.message_id.as_str()))
                .collect(),
        );
        let got_order = order(
            received
                .iter()
                .filter(|r| r.record.facts.conversation_id == name)
                .map(|r| (r.seq, r.record.facts.message_id.as_str()))
                .collect(),
        );
        assert_eq!(sent_order, got_order, "{name} kept its order");
    }
    let final_counts = counts(&us_db);
    assert_eq!(final_counts.inbox as usize, total);
    println!(
        "kill -9 test: {total} messages, {sender_kills} sender and {receiver_kills} receiver kills, all delivered once"
    );
}

#[test]
fn a_receiver_answering_503_then_stalling_then_back_gets_each_message_once() {
    let runtime = caravan_testkit::exchange::runtime();
    runtime.block_on(async {
        let root = tempfile::tempdir().expect("tempdir");
        let us = open(spec("US-CBP", &root.path().join("us"), 0)).await;
        let mut uz_spec = spec("UZ-CUSTOMS", &root.path().join("uz"), 0);
        uz_spec.retry = caravan_exchange::retry::RetryPolicy::fast(
            Duration::from_millis(50),
            Duration::from_secs(60),
        );
        let uz = open(uz_spec).await;
        introduce(&us, &uz);
        let uz = start(uz);
        // A stand-in with US's identity: 503 for a while, then it stalls every request.
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = calls.clone();
        let router = axum::Router::new().route(
            caravan_exchange::node::MESSAGES_PATH,
            axum::routing::post(move || {
                let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move {
                    if n < 6 {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
                    } else {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        (axum::http::StatusCode::OK, "late").into_response()
                    }
                }
            }),
        );
        use axum::response::IntoResponse;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let standin = tokio::spawn(us.stand_in(router, async move {
            let _ = stopped.await;
        }));
        let mut ids = Vec::new();
        for n in 0..20 {
            let message = OutboundMessage {
                to: "US-CBP".to_owned(),
                conversation_id: Some(format!("c{}", n % 2)),
                ref_to: None,
                action: "Spontaneous.Inform".to_owned(),
                expires_at: None,
                parts: vec![OutboundPart {
                    part_id: "body".to_owned(),
                    media_type: "text/plain".to_owned(),
                    body: vec![b'x'; 100],
                }],
            };
            ids.push(uz.exchange.send(&message).expect("send"));
        }
        // 503s are retried, not dead-lettered; stalls time out and are retried too.
        assert!(
            eventually(Duration::from_secs(20), || {
                calls.load(std::sync::atomic::Ordering::SeqCst) >= 8
            })
            .await
        );
        let c = uz.store.exchange_counts().expect("counts");
        assert_eq!((c.pending, c.delivered, c.dead_letter), (20, 0, 0));
        assert!(
            uz.store
                .list_outbound(None, 50)
                .expect("list")
                .iter()
                .any(|r| r.last_error.as_deref().is_some_and(|e| e.contains("503")))
        );
        let _ = stop.send(());
        let us_spec = standin.await.expect("stand-in");
        // The real receiver comes up on the same port.
        let us = start(open(us_spec).await);
        assert!(
            eventually(Duration::from_secs(60), || ids.iter().all(|id| matches!(
                uz.exchange.delivery_state(id),
                Ok(DeliveryState::Delivered { .. })
            )))
            .await
        );
        assert_eq!(us.store.exchange_counts().expect("counts").inbox, 20);
        us.stop().await;
        uz.stop().await;
    });
}
