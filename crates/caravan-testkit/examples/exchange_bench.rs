//! End-to-end exchange benchmark between two nodes on loopback, SQLite with fsync on,
//! against the crypto-only ceiling measured in the same run.
//!
//! Why these three numbers: the targets are sustained small-message throughput
//! (≥ 1,000 msg/s) and p99 latency at 200 msg/s (< 50 ms), and the ratio of the
//! end-to-end rate to what the cryptography alone allows (seal = sign + encrypt, open =
//! decrypt + verify, `caravan-envelope` called directly on one core) says how much the
//! storage, the log, TLS and HTTP cost on top.
//!
//! Run: `cargo run --release -p caravan-testkit --example exchange_bench [-- N]`; with
//! `-- parts MB` it streams one MB-MiB file part across instead and reports MB/s and the
//! peak RSS (which must not grow with the part).

use std::time::{Duration, Instant};

use caravan_envelope::{
    Compression, EncryptionSecretKey, Header, Limits, MessageSigningKey, Part, Party, WireView,
    open as open_envelope, seal,
};
use caravan_exchange::node::{DeliveryState, OutboundMessage, OutboundPart};
use caravan_testkit::exchange::{eventually, pair};

// The allocator the `caravan` binary runs with, so the bench measures what a node does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BODY: usize = 256;
/// Messages per `send_many` call in the sustained run.
const SEND_BATCH: usize = 200;

/// Seal + open round trips per second on one core, for a `BODY`-byte message.
fn crypto_ceiling(duration: Duration) -> (f64, f64, f64) {
    let signer = MessageSigningKey::generate().expect("key");
    let recipient = EncryptionSecretKey::generate().expect("key");
    let senders = signer.verifying_key();
    let body = vec![b'x'; BODY];
    let header = Header {
        message_id: "0190f6c2-7d1e-7000-8000-000000000001@bench".into(),
        conversation_id: "c".into(),
        ref_to: None,
        from: Party::new("caravan:admin", "UZ"),
        to: Party::new("caravan:admin", "US"),
        role: "administration".into(),
        service: "caravan:cmaa/v1".into(),
        action: "Spontaneous.Inform".into(),
        agreement_id: "a".into(),
        profile_id: "a/v1".into(),
        created_at: 1_800_000_000_000,
        expires_at: None,
        enc_kid: recipient.kid(),
    };
    let part = Part {
        part_id: "body",
        media_type: "application/json",
        compression: Compression::None,
        body: &body,
    };
    let (mut seal_time, mut open_time, mut n) = (Duration::ZERO, Duration::ZERO, 0u64);
    let start = Instant::now();
    while start.elapsed() < duration {
        let t = Instant::now();
        let sealed = seal(&header, &[part], &signer, &recipient.public_key()).expect("seal");
        let t2 = Instant::now();
        let view = WireView::decode(&sealed.wire, &Limits::default()).expect("decode");
        let opened = open_envelope(&view, &recipient, &senders).expect("open");
        assert_eq!(opened.parts[0].body.len(), BODY);
        seal_time += t2 - t;
        open_time += t2.elapsed();
        n += 1;
    }
    let per = |d: Duration| n as f64 / d.as_secs_f64();
    (
        per(seal_time),
        per(open_time),
        n as f64 / (seal_time + open_time).as_secs_f64(),
    )
}

fn message(n: usize, conversations: usize) -> OutboundMessage {
    OutboundMessage {
        to: "US-CBP".to_owned(),
        conversation_id: Some(format!("c{}", n % conversations)),
        ref_to: None,
        action: "Spontaneous.Inform".to_owned(),
        expires_at: None,
        parts: vec![OutboundPart {
            part_id: "body".to_owned(),
            media_type: "application/json".to_owned(),
            body: vec![b'x'; BODY],
        }],
    }
}

/// How many of the messages `ids` needed more than one attempt (a 503 while the
/// receiver's log was busy, a timeout): a run whose rate or latency is off because of
/// retries says so.
fn retries(node: &caravan_testkit::exchange::RunningNode, ids: &[String]) -> String {
    let attempts: Vec<u32> = ids
        .iter()
        .map(|id| node.store.outbound(id).expect("outbox row").attempts)
        .collect();
    // `attempts` counts the failed ones; a delivery leaves it as it was.
    let retried = attempts.iter().filter(|&&a| a > 0).count();
    format!(
        "{retried} of {} messages needed a retry ({} failed attempts in all)",
        ids.len(),
        attempts.iter().map(|&a| u64::from(a)).sum::<u64>()
    )
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// CPU time (user + system, all threads) this process has used so far, from
/// `/proc/self/stat` (fields 14 and 15, in clock ticks of 10 ms on Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name may hold spaces; the fields after it are plain.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the name: state is field 3, so utime (14) is index 11 and stime (15) index 12.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The 1-, 5- and 15-minute load averages of the machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Peak resident set of this process (`VmHWM`), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One `mb`-MB part from a file, UZ → US: sealed into the spool, uploaded in segments,
/// verified and kept by the receiver, receipted; then decrypted again on hand-over.
fn parts(mb: u64) {
    use std::io::Write;
    let runtime = caravan_testkit::exchange::runtime();
    runtime.block_on(async {
        let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into()))
            .expect("tempdir");
        let (us, uz) = pair(dir.path()).await;
        let path = dir.path().join("evidence.bin");
        {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("file"));
            let chunk: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            for _ in 0..mb {
                f.write_all(&chunk).expect("write");
            }
        }
        let rss_before = peak_rss_mb();
        let message = OutboundMessage {
            to: "US-CBP".to_owned(),
            conversation_id: None,
            ref_to: None,
            action: "Evidence.Package".to_owned(),
            expires_at: None,
            parts: Vec::new(),
        };
        let files = vec![caravan_exchange::parts::OutboundFile {
            part_id: "evidence".into(),
            media_type: "application/octet-stream".into(),
            source: caravan_exchange::parts::PartSource::Path(path),
        }];
        let started = Instant::now();
        let exchange = uz.exchange.clone();
        let id = tokio::task::spawn_blocking(move || exchange.send_with_files(&message, &files))
            .await
            .expect("join")
            .expect("send");
        let sealed = started.elapsed();
        let exchange = uz.exchange.clone();
        let id2 = id.clone();
        assert!(
            eventually(Duration::from_secs(3600), || matches!(
                exchange.delivery_state(&id2),
                Ok(DeliveryState::Delivered { .. })
            ))
            .await
        );
        let delivered = started.elapsed();
        let exchange = us.exchange.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let t = Instant::now();
            let s = exchange
                .open_detached_part("UZ-CUSTOMS", &id, "evidence", std::io::sink())
                .expect("open");
            (s.length, t.elapsed())
        })
        .await
        .expect("join");
        let size = mb as f64 * 1.048_576;
        println!(
            "part of {mb} MiB: sealed into the spool in {:.2} s ({:.0} MB/s); sealed + uploaded + verified + receipted in {:.2} s = {:.0} MB/s end to end; hand-over decrypt {:.2} s ({:.0} MB/s); peak RSS {:.1} MB before sending, {:.1} MB after",
            sealed.as_secs_f64(),
            size / sealed.as_secs_f64(),
            delivered.as_secs_f64(),
            size / delivered.as_secs_f64(),
            opened.1.as_secs_f64(),
            size / opened.1.as_secs_f64(),
            rss_before,
            peak_rss_mb()
        );
        assert_eq!(opened.0, mb << 20);
        us.stop().await;
        uz.stop().await;
    });
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("parts") {
        let mb = std::env::args()
            .nth(2)
            .and_then(|a| a.parse().ok())
            .unwrap_or(1024);
        parts(mb);
        return;
    }
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000);
    println!("load average before: {}", load_average());
    let (seal_rate, open_rate, round_trip) = crypto_ceiling(Duration::from_secs(3));
    println!(
        "crypto ceiling ({BODY}-byte body, one core): seal {seal_rate:.0}/s, open {open_rate:.0}/s, seal+open {round_trip:.0} msg/s = {:.3} ms CPU per message",
        1000.0 / round_trip
    );

    let runtime = caravan_testkit::exchange::runtime();
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let (us, uz) = pair(dir.path()).await;

        // Sustained: n messages over 64 conversations, as fast as the outbox drains.
        let cpu_started = cpu_time();
        let started = Instant::now();
        // Queued by a producer in batches (`send_many`: sealed on both cores, one outbox
        // transaction per batch) while the outbox drains.
        let exchange = uz.exchange.clone();
        let queued = tokio::task::spawn_blocking(move || {
            let all: Vec<OutboundMessage> = (0..n).map(|i| message(i, 64)).collect();
            let mut ids = Vec::with_capacity(n);
            for batch in all.chunks(SEND_BATCH) {
                for r in exchange.send_many(batch) {
                    ids.push(r.expect("send"));
                }
            }
            (started.elapsed(), ids)
        })
        .await
        .expect("join");
        let (queued, sustained_ids) = queued;
        // Polled every 50 ms (the count reads the outbox; its CPU is counted too).
        let deadline = Instant::now() + Duration::from_secs(600);
        while uz.store.exchange_counts().ok().map(|c| c.delivered as usize) != Some(n) {
            assert!(Instant::now() < deadline, "not all delivered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let elapsed = started.elapsed();
        assert_eq!(us.store.exchange_counts().expect("counts").inbox as usize, n);
        let cpu = cpu_time().saturating_sub(cpu_started);
        let rate = n as f64 / elapsed.as_secs_f64();
        let cpu_per_message = cpu.as_secs_f64() * 1000.0 / n as f64;
        println!(
            "sustained: {n} messages sent, receipted and stored in {:.2} s ({:.2} s to queue them) = {rate:.0} msg/s; ratio to the crypto ceiling {:.3}",
            elapsed.as_secs_f64(),
            queued.as_secs_f64(),
            rate / round_trip
        );
        println!(
            "CPU, both nodes and the producer: {:.2} s = {cpu_per_message:.3} ms per message ({:.2} cores busy; crypto alone {:.3} ms, ratio {:.2}); 1,000 msg/s on 2 cores needs < 2 ms",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() / elapsed.as_secs_f64(),
            1000.0 / round_trip,
            cpu_per_message * round_trip / 1000.0
        );
        println!("sustained: {}", retries(&uz, &sustained_ids));

        // Latency at 200 msg/s: created_at → receipt stored, per message.
        let paced = 2_000.min(n);
        let mut ids = Vec::with_capacity(paced);
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        for i in 0..paced {
            tick.tick().await;
            let exchange = uz.exchange.clone();
            let m = message(i, 64);
            ids.push(tokio::task::spawn_blocking(move || exchange.send(&m)).await.expect("join").expect("send"));
        }
        let store = uz.store.clone();
        assert!(eventually(Duration::from_secs(600), || {
            store.exchange_counts().map(|c| c.pending == 0).unwrap_or(false)
        })
        .await);
        let mut latencies: Vec<u64> = ids
            .iter()
            .map(|id| {
                let row = uz.store.outbound(id).expect("row");
                let DeliveryState::Delivered { at, .. } = uz.exchange.delivery_state(id).expect("state") else {
                    panic!("{id} not delivered");
                };
                at.saturating_sub(row.record.facts.created_at)
            })
            .collect();
        latencies.sort_unstable();
        println!("load average after: {}", load_average());
        println!("paced: {}", retries(&uz, &ids));
        println!(
            "latency at 200 msg/s over {paced} messages (send → receipt stored): p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.9),
            percentile(&latencies, 0.99),
            latencies[latencies.len() - 1]
        );
        us.stop().await;
        uz.stop().await;
    });
}
