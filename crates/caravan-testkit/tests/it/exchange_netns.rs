//! A network partition between two nodes, made with Linux network namespaces and a veth
//! pair on this machine: the receiver runs in one namespace, the sender in the other,
//! each a child process with its own SQLite store and mTLS endpoint. While messages
//! flow the link is cut (`ip link set … down` on both ends), held down for several
//! seconds — every TCP connection in flight hangs and times out — and brought back up.
//! At the end every message is delivered once: exact counts, same ids, order kept within
//! each conversation.
//!
//! It needs `ip netns` (iproute2) and the right to make namespaces (root, as in CI);
//! without them it prints why and passes without running.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use caravan_store::exchange::{ExchangeStore, OutboundState};
use caravan_store_sqlite::SqliteStore;
use caravan_testkit::exchange::{introduce, open};

use crate::exchange_faults::{free_port, kill, spawn_in, spec};

const MESSAGES: usize = 2_000;

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces joined by a veth pair, removed on drop (with the veth).
struct Net {
    a: String,
    b: String,
    veth_a: String,
    veth_b: String,
}

impl Net {
    fn make(tag: &str) -> Result<Net, String> {
        let net = Net {
            a: format!("cv{tag}a"),
            b: format!("cv{tag}b"),
            veth_a: format!("cv{tag}va"),
            veth_b: format!("cv{tag}vb"),
        };
        ip(&["netns", "add", &net.a])?;
        ip(&["netns", "add", &net.b])?;
        ip(&[
            "link",
            "add",
            &net.veth_a,
            "type",
            "veth",
            "peer",
            "name",
            &net.veth_b,
        ])?;
        ip(&["link", "set", &net.veth_a, "netns", &net.a])?;
        ip(&["link", "set", &net.veth_b, "netns", &net.b])?;
        for (ns, dev, addr) in [
            (&net.a, &net.veth_a, "10.231.0.1/24"),
            (&net.b, &net.veth_b, "10.231.0.2/24"),
        ] {
            ip(&["-n", ns, "addr", "add", addr, "dev", dev])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(net)
    }

    fn link(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.a, "link", "set", &self.veth_a, state]).expect("link a");
        ip(&["-n", &self.b, "link", "set", &self.veth_b, state]).expect("link b");
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_network_partition_loses_and_duplicates_nothing() {
    if std::env::var("CARAVAN_EXCHANGE_FAULT_CHILD").is_ok() {
        return;
    }
    let tag = format!("{}", std::process::id() % 100_000);
    let net = match Net::make(&tag) {
        Ok(net) => net,
        Err(why) => {
            println!("SKIPPED: network namespaces are not available here: {why}");
            return;
        }
    };
    let (us_ip, uz_ip) = ("10.231.0.1", "10.231.0.2");
    let root = tempfile::tempdir().expect("tempdir");
    let (us_dir, uz_dir): (PathBuf, PathBuf) = (root.path().join("us"), root.path().join("uz"));
    let (us_port, uz_port) = (free_port(), free_port());
    // Onboard both once from here (bound on loopback; partners reach them at their
    // namespace addresses, which their certificates name).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut us_spec = spec("US-CBP", &us_dir, us_port);
        us_spec.advertise = Some(us_ip.parse().expect("ip"));
        let mut uz_spec = spec("UZ-CUSTOMS", &uz_dir, uz_port);
        uz_spec.advertise = Some(uz_ip.parse().expect("ip"));
        let us = open(us_spec).await;
        let uz = open(uz_spec).await;
        introduce(&us, &uz);
    });
    let mut children = Children(vec![
        spawn_in(
            Some((&net.a, us_ip)),
            "serve",
            "US-CBP",
            &us_dir,
            us_port,
            0,
        ),
        spawn_in(
            Some((&net.b, uz_ip)),
            "send",
            "UZ-CUSTOMS",
            &uz_dir,
            uz_port,
            MESSAGES,
        ),
    ]);
    let uz_db = uz_dir.join("caravan.sqlite");
    let us_db = us_dir.join("caravan.sqlite");
    let counts = |db: &std::path::Path| {
        SqliteStore::open(db)
            .and_then(|s| s.exchange_counts())
            .expect("counts")
    };

    // Let traffic flow, then cut the link mid-stream.
    let deadline = Instant::now() + Duration::from_secs(300);
    while counts(&uz_db).delivered < (MESSAGES / 10) as u64 {
        assert!(Instant::now() < deadline, "no traffic before the partition");
        std::thread::sleep(Duration::from_millis(50));
    }
    net.link(false);
    let cut_at = counts(&uz_db).delivered;
    std::thread::sleep(Duration::from_secs(8));
    let during = counts(&uz_db).delivered;
    // Only requests already answered when the link went down can still complete.
    assert!(
        during < MESSAGES as u64,
        "the partition stopped nothing ({cut_at} → {during})"
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        counts(&uz_db).delivered,
        during,
        "nothing is delivered across a cut link"
    );
    net.link(true);

    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let c = counts(&uz_db);
        if c.delivered as usize == MESSAGES {
            break;
        }
        assert_eq!(c.dead_letter, 0, "no message may be dead-lettered");
        assert!(
            Instant::now() < deadline,
            "only {} of {MESSAGES} delivered after the partition healed",
            c.delivered
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for c in &mut children.0 {
        kill(c);
    }
    children.0.clear();

    let uz = SqliteStore::open(&uz_db).expect("open uz");
    let us = SqliteStore::open(&us_db).expect("open us");
    let sent = uz.list_outbound(None, u32::MAX).expect("outbox");
    assert_eq!(sent.len(), MESSAGES);
    assert!(
        sent.iter()
            .all(|r| r.state == OutboundState::Delivered && r.receipt.is_some())
    );
    let received = us.list_inbound(u32::MAX).expect("inbox");
    assert_eq!(received.len(), MESSAGES, "no message twice");
    let sent_ids: BTreeSet<&str> = sent
        .iter()
        .map(|r| r.record.facts.message_id.as_str())
        .collect();
    let got_ids: BTreeSet<&str> = received
        .iter()
        .map(|r| r.record.facts.message_id.as_str())
        .collect();
    assert_eq!(sent_ids, got_ids, "none lost");
    let conversations: BTreeSet<&str> = sent
        .iter()
        .map(|r| r.record.facts.conversation_id.as_str())
        .collect();
    assert!(conversations.len() > 1);
    for name in conversations {
        let mut s: Vec<(i64, &str)> = sent
            .iter()
            .filter(|r| r.record.facts.conversation_id == name)
            .map(|r| (r.seq, r.record.facts.message_id.as_str()))
            .collect();
        let mut g: Vec<(i64, &str)> = received
            .iter()
            .filter(|r| r.record.facts.conversation_id == name)
            .map(|r| (r.seq, r.record.facts.message_id.as_str()))
            .collect();
        s.sort_unstable();
        g.sort_unstable();
        let (s, g): (Vec<&str>, Vec<&str>) = (
            s.into_iter().map(|x| x.1).collect(),
            g.into_iter().map(|x| x.1).collect(),
        );
        assert_eq!(s, g, "order kept in {name}");
    }
    drop(net);
}
