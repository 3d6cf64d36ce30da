//! Entity resolution over a node's stored declarations, driven as an analyst would: ingest,
//! `caravan screen resolve-stored`, more declarations arrive, resolve again. The promise
//! under test is the issue's: entity ids stay stable as new data arrives.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output};

use caravan_store::screen::ScreenStore;
use caravan_store_sqlite::SqliteStore;

fn caravan(db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caravan"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CARAVAN") {
            cmd.env_remove(key);
        }
    }
    cmd.env("CARAVAN__STORE__URL", format!("sqlite://{}", db.display()))
        .env("CARAVAN__NODE__COUNTRY", "US");
    cmd
}

#[track_caller]
fn ok(output: Output) -> String {
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

/// Splits a declarations CSV into two files by declaration (LRN), so each half holds whole
/// declarations.
fn split_by_lrn(file: &Path, first: &Path, second: &Path) {
    let mut reader = csv::Reader::from_path(file).unwrap();
    let header = reader.headers().unwrap().clone();
    let lrn = header.iter().position(|c| c == "lrn").unwrap();
    let mut a = csv::Writer::from_path(first).unwrap();
    let mut b = csv::Writer::from_path(second).unwrap();
    a.write_record(&header).unwrap();
    b.write_record(&header).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        let key = record.get(lrn).unwrap();
        let odd = key.bytes().map(u32::from).sum::<u32>() % 2 == 1;
        if odd { &mut b } else { &mut a }
            .write_record(&record)
            .unwrap();
    }
    a.flush().unwrap();
    b.flush().unwrap();
}

fn clusters(db: &Path) -> HashMap<String, u32> {
    SqliteStore::open(db)
        .unwrap()
        .screen_resolution_records()
        .unwrap()
        .into_iter()
        .map(|r| (r.record_id, r.cluster_id))
        .collect()
}

#[test]
fn entity_ids_stay_stable_as_declarations_arrive() {
    let dir = tempfile::tempdir().unwrap();
    ok(caravan(&dir.path().join("unused.sqlite"))
        .args(["generate", "--out"])
        .arg(dir.path())
        .args(["--seed", "21", "--shipments", "400", "--formats", "csv"])
        .output()
        .unwrap());
    let (first, second) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    split_by_lrn(&dir.path().join("us/declarations.csv"), &first, &second);
    let db = dir.path().join("node.sqlite");

    ok(caravan(&db)
        .args(["ingest", "--quiet"])
        .arg(&first)
        .output()
        .unwrap());
    let said = ok(caravan(&db)
        .args(["screen", "resolve-stored"])
        .output()
        .unwrap());
    assert!(said.starts_with("resolution batch 0:"), "{said}");
    let before = clusters(&db);
    assert!(before.len() > 50, "{} records", before.len());

    ok(caravan(&db)
        .args(["ingest", "--quiet"])
        .arg(&second)
        .output()
        .unwrap());
    let said = ok(caravan(&db)
        .args(["screen", "resolve-stored"])
        .output()
        .unwrap());
    assert!(said.starts_with("resolution batch 1:"), "{said}");
    let after = clusters(&db);
    assert!(after.len() > before.len());

    // Every earlier record keeps its entity, unless a recorded merge retired that entity
    // into an older one.
    let store = SqliteStore::open(&db).unwrap();
    let merged: BTreeMap<u32, u32> = store
        .screen_resolution_merges()
        .unwrap()
        .into_iter()
        .map(|m| (m.absorbed, m.kept))
        .collect();
    for (record, old) in &before {
        let now = after[record];
        if now != *old {
            let mut id = *old;
            while let Some(&kept) = merged.get(&id) {
                assert!(kept < id, "a merge keeps the older id");
                id = kept;
            }
            assert_eq!(
                id, now,
                "{record} moved from E{old} to E{now} without a merge"
            );
        }
    }
    // Nothing new: no batch, nothing changes.
    let said = ok(caravan(&db)
        .args(["screen", "resolve-stored"])
        .output()
        .unwrap());
    assert!(said.starts_with("no new party"), "{said}");
    assert_eq!(clusters(&db), after);
    let listed = ok(caravan(&db)
        .args(["screen", "clusters", "--min-size", "1", "--limit", "3"])
        .output()
        .unwrap());
    assert!(listed.starts_with("E0000000"), "{listed}");
    let out = caravan(&db)
        .args(["screen", "clusters", "--id", "E99999999"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown or was merged"));
}
