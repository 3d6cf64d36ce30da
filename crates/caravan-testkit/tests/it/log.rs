//! The log story on every backend, a process killed in the middle of log appends, and a
//! corrupted node hash found by fsck.
//!
//! The crash test re-executes this binary as in `crash.rs`: the child runs only
//! [`log_crash_child`], appends batches in a loop and prints each acknowledged
//! `(first_index, size)` (flushed) as soon as `append` returns. The parent reads a few
//! acknowledgements and SIGKILLs it, most likely mid-transaction. Whatever the child
//! acknowledged must be durable; whatever it had not must be either whole or absent.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use crate::child::open;
use caravan_store::Store;
use caravan_store::log::{LogStore, StoreHashReader};
use caravan_store_postgres::PgStore;
use caravan_store_sqlite::SqliteStore;
use caravan_testkit::log_story::{ORIGIN, Rng, append_entries, entry, fsck_log};
use caravan_testkit::pg::{self, TestSchema};
use caravan_tlog::fsck::FsckError;
use caravan_tlog::rfc6962::tree_hash;

#[test]
fn sqlite_log_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("caravan.db");
    caravan_testkit::log_story(&|| SqliteStore::open(&path).map(|s| Box::new(s) as Box<dyn Store>));
}

#[test]
fn postgres_log_story() {
    let Some(url) = pg::url("postgres_log_story") else {
        return;
    };
    let schema = TestSchema::new(&url, "log_story");
    caravan_testkit::log_story(&|| {
        PgStore::connect_with_schema(&url, schema.name()).map(|s| Box::new(s) as Box<dyn Store>)
    });
}

const CHILD_VAR: &str = "CARAVAN_TESTKIT_LOG_CRASH_CHILD";
const ACK: &str = "LOG-ACK";
/// Acknowledgements the parent waits for before it kills the child.
const ACKS_BEFORE_KILL: usize = 25;

#[test]
fn log_crash_child() {
    let Ok(spec) = std::env::var(CHILD_VAR) else {
        return;
    };
    let store = open(&spec).expect("child opens the store");
    let mut size = store.open_log(ORIGIN).expect("open log").size;
    let mut rng = Rng::new(size ^ 0x5eed);
    let mut stdout = std::io::stdout();
    loop {
        let n = 1 + rng.below(300);
        let entries: Vec<Vec<u8>> = (size..size + n).map(entry).collect();
        let appended = append_entries(&*store, ORIGIN, size, &entries).expect("append");
        size = appended.size;
        // libtest may have printed "test log::log_crash_child ... " on this line.
        use std::io::Write;
        writeln!(stdout, "\n{ACK} {} {}", appended.first_index, appended.size).expect("stdout");
        stdout.flush().expect("flush");
    }
}

/// Starts the child on `spec`, waits for some acknowledgements, kills it, and checks the
/// reopened log. Returns the size found after the crash.
fn crash_mid_append(spec: &str) -> u64 {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "log::log_crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut acks: Vec<(u64, u64)> = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let Some(rest) = line.trim().strip_prefix(ACK) else {
            continue;
        };
        let mut parts = rest
            .split_whitespace()
            .map(|p| p.parse::<u64>().expect("number"));
        let (first, size) = (parts.next().expect("first"), parts.next().expect("size"));
        if let Some(&(_, previous)) = acks.last() {
            assert_eq!(first, previous, "acknowledged batches are contiguous");
        }
        acks.push((first, size));
        if acks.len() == ACKS_BEFORE_KILL {
            break;
        }
    }
    if acks.len() < ACKS_BEFORE_KILL {
        let status = child.wait().expect("wait");
        panic!(
            "child ended after {} acknowledgements: {status}",
            acks.len()
        );
    }
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("wait");
    assert_eq!(
        status.signal(),
        Some(9),
        "child died of SIGKILL, not {status}"
    );

    let store = open(spec).expect("reopen after the crash");
    let log: &dyn LogStore = &*store;
    let (_, acknowledged) = *acks.last().expect("acks");
    let size = log.open_log(ORIGIN).expect("head").size;
    assert!(
        size >= acknowledged,
        "size {size} < acknowledged {acknowledged}"
    );
    // Every acknowledged index is there, with the bytes the child appended.
    for &(first, end) in &acks {
        let stored = log.entries(ORIGIN, first, end - first).expect("entries");
        assert_eq!(stored.len() as u64, end - first, "batch {first}..{end}");
        assert!(
            stored.iter().zip(first..).all(|(e, i)| *e == entry(i)),
            "batch {first}..{end}"
        );
    }
    // Nothing half-written: every node recomputes, none is missing, the root agrees.
    let report = fsck_log(log, ORIGIN).expect("fsck after the crash");
    assert_eq!(report.leaves, size);
    let reader = StoreHashReader::new(log, ORIGIN);
    assert_eq!(tree_hash(size, &reader).expect("root"), report.root);
    assert!(
        log.entries(ORIGIN, size, 1)
            .expect("past the end")
            .is_empty()
    );
    // And the log takes the next batch where it stands.
    let next: Vec<Vec<u8>> = (size..size + 10).map(entry).collect();
    append_entries(log, ORIGIN, size, &next).expect("append after the crash");
    fsck_log(log, ORIGIN).expect("fsck after the next append");
    size
}

#[test]
fn sqlite_log_crash_mid_append() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log-crash.db");
    crash_mid_append(&format!("sqlite:{}", path.display()));
    let conn = rusqlite::Connection::open(&path).expect("open for integrity check");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
}

#[test]
fn postgres_log_crash_mid_append() {
    let Some(url) = pg::url("postgres_log_crash_mid_append") else {
        return;
    };
    let schema = TestSchema::new(&url, "log_crash");
    crash_mid_append(&format!("postgres:{}", schema.name()));
}

/// Builds a clean log of 1,000 entries.
fn build_log(store: &dyn LogStore) {
    store.open_log(ORIGIN).expect("open");
    let mut size = 0;
    while size < 1_000 {
        let entries: Vec<Vec<u8>> = (size..size + 250).map(entry).collect();
        size = append_entries(store, ORIGIN, size, &entries)
            .expect("append")
            .size;
    }
    fsck_log(store, ORIGIN).expect("clean log passes");
}

/// fsck names exactly the node that was flipped.
fn assert_flipped(store: &dyn LogStore, level: u8, index: u64) {
    match fsck_log(store, ORIGIN) {
        Err(FsckError::Mismatch {
            level: l,
            index: i,
            expected,
            found,
        }) => {
            assert_eq!((l, i), (level, index));
            assert_eq!(expected[0] ^ 1, found[0]);
            assert_eq!(expected[1..], found[1..]);
        }
        other => panic!("expected a mismatch at ({level}, {index}), got {other:?}"),
    }
}

#[test]
fn sqlite_fsck_finds_a_flipped_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("flip.db");
    let store = SqliteStore::open(&path).expect("open");
    build_log(&store);
    let conn = rusqlite::Connection::open(&path).expect("raw connection");
    let flip = |table: &str, cond: &str| {
        let col = if table == "log_nodes" {
            "hash"
        } else {
            "leaf_hash"
        };
        let old: Vec<u8> = conn
            .query_row(
                &format!("SELECT {col} FROM {table} WHERE origin = ?1 AND {cond}"),
                [ORIGIN],
                |r| r.get(0),
            )
            .expect("read stored hash");
        let mut new = old.clone();
        new[0] ^= 1;
        let n = conn
            .execute(
                &format!("UPDATE {table} SET {col} = ?2 WHERE origin = ?1 AND {cond}"),
                rusqlite::params![ORIGIN, new],
            )
            .expect("flip");
        assert_eq!(n, 1);
        old
    };
    let old = flip("log_nodes", "level = 3 AND idx = 17");
    assert_flipped(&store, 3, 17);
    conn.execute(
        "UPDATE log_nodes SET hash = ?2 WHERE origin = ?1 AND level = 3 AND idx = 17",
        rusqlite::params![ORIGIN, old],
    )
    .expect("restore");
    fsck_log(&store, ORIGIN).expect("restored log passes");
    // A flipped leaf hash no longer matches its entry.
    flip("log_entries", "idx = 421");
    assert_flipped(&store, 0, 421);
}

#[test]
fn postgres_fsck_finds_a_flipped_node() {
    let Some(url) = pg::url("postgres_fsck_finds_a_flipped_node") else {
        return;
    };
    let schema = TestSchema::new(&url, "log_flip");
    let store = PgStore::connect_with_schema(&url, schema.name()).expect("connect");
    build_log(&store);
    let mut client = schema.client().expect("raw connection");
    let n = client
        .execute(
            "UPDATE log_nodes SET hash = set_byte(hash, 0, get_byte(hash, 0) # 1)
             WHERE origin = $1 AND level = 3 AND idx = 17",
            &[&ORIGIN],
        )
        .expect("flip");
    assert_eq!(n, 1);
    assert_flipped(&store, 3, 17);
    client
        .execute(
            "UPDATE log_nodes SET hash = set_byte(hash, 0, get_byte(hash, 0) # 1)
             WHERE origin = $1 AND level = 3 AND idx = 17",
            &[&ORIGIN],
        )
        .expect("flip back");
    fsck_log(&store, ORIGIN).expect("restored log passes");
    client
        .execute(
            "UPDATE log_entries SET leaf_hash = set_byte(leaf_hash, 0, get_byte(leaf_hash, 0) # 1)
             WHERE origin = $1 AND idx = 421",
            &[&ORIGIN],
        )
        .expect("flip leaf");
    assert_flipped(&store, 0, 421);
}
