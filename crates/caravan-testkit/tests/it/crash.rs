//! A process killed in the middle of a batch leaves the store exactly as it was.
//!
//! The standard trick: the test re-executes its own binary, asking libtest to run only
//! [`crash_child`], with an environment variable that tells that test to act as the
//! child. The child opens the store, commits nothing, puts records until well past the
//! PostgreSQL flush size, says so on stdout, and keeps putting until the parent kills it
//! with SIGKILL. Without the variable, `crash_child` does nothing.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use crate::child::open;
use caravan_store::{PutOutcome, StoreCounts};
use caravan_testkit::fixtures;
use caravan_testkit::pg::{self, TestSchema};

const CHILD_VAR: &str = "CARAVAN_TESTKIT_CRASH_CHILD";
const READY: &str = "CRASH-CHILD-READY";
/// Puts before the child reports ready: more than one PostgreSQL flush.
const PUTS_BEFORE_READY: usize = 2_500;

#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_VAR) else {
        return;
    };
    let store = open(&spec).expect("child opens the store");
    let mut batch = store
        .begin_ingest(&fixtures::source("crash.json"))
        .expect("begin");
    let template = fixtures::import_draft("", false);
    for n in 0.. {
        let mut draft = template.clone();
        draft.header.lrn = format!("CRASH-{n:07}");
        let p = fixtures::prepare(&draft, n as u64 + 1);
        assert!(matches!(
            batch.put(&p.record()),
            Ok(PutOutcome::Inserted(_))
        ));
        if n + 1 == PUTS_BEFORE_READY {
            // libtest may have printed "test crash::crash_child ... " on this line.
            println!("{READY}");
        }
        if n == 5_000_000 {
            // Never reached in practice; the point is never to commit.
            std::process::abort();
        }
    }
}

/// Commits one batch, runs a child that dies mid-batch, and checks nothing of it stayed.
fn crash_mid_batch(spec: &str) -> StoreCounts {
    let before = {
        let store = open(spec).expect("open");
        let mut batch = store
            .begin_ingest(&fixtures::source("pre-crash.json"))
            .expect("begin");
        for (n, lrn) in ["PRE-1", "PRE-2"].iter().enumerate() {
            let p = fixtures::prepare(&fixtures::import_draft(lrn, n == 1), n as u64 + 1);
            batch.put(&p.record()).expect("put");
        }
        batch.commit().expect("commit");
        store.counts().expect("counts")
    };
    assert_eq!(before.declarations, 2);

    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "crash::crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains(READY));
    if !ready {
        let status = child.wait().expect("wait");
        panic!("child ended before it was ready: {status}");
    }
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("wait");
    assert_eq!(
        status.signal(),
        Some(9),
        "child died of SIGKILL, not {status}"
    );

    let store = open(spec).expect("reopen after the crash");
    assert_eq!(
        store.counts().expect("counts"),
        before,
        "nothing of the killed batch remains"
    );
    // And the store takes a new batch: no lock or half-written state is left behind.
    let p = fixtures::prepare(&fixtures::export_draft("POST-CRASH-1"), 1);
    let mut batch = store
        .begin_ingest(&fixtures::source("post-crash.json"))
        .expect("begin");
    assert!(matches!(
        batch.put(&p.record()),
        Ok(PutOutcome::Inserted(_))
    ));
    batch.commit().expect("commit after crash");
    let after = store.counts().expect("counts");
    assert_eq!(after.declarations, before.declarations + 1);
    assert_eq!(after.runs, before.runs + 1);
    after
}

#[test]
fn sqlite_crash_mid_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.db");
    crash_mid_batch(&format!("sqlite:{}", path.display()));
    let conn = rusqlite::Connection::open(&path).expect("open for integrity check");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let fk: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .map(Some)
        .or_else(|err| {
            if err == rusqlite::Error::QueryReturnedNoRows {
                Ok(None)
            } else {
                Err(err)
            }
        })
        .expect("foreign_key_check");
    assert_eq!(fk, None, "no orphan rows");
}

#[test]
fn postgres_crash_mid_batch() {
    let Some(url) = pg::url("postgres_crash_mid_batch") else {
        return;
    };
    let schema = TestSchema::new(&url, "crash");
    crash_mid_batch(&format!("postgres:{}", schema.name()));
    let mut client = schema.client().expect("connect");
    let orphans: i64 = client
        .query_one(
            "SELECT (SELECT COUNT(*) FROM goods_items WHERE declaration_id NOT IN (SELECT id FROM declarations))
                  + (SELECT COUNT(*) FROM findings WHERE declaration_id NOT IN (SELECT id FROM declarations))",
            &[],
        )
        .expect("orphan check")
        .get(0);
    assert_eq!(orphans, 0);
}
