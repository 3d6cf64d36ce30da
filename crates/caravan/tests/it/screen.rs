//! Screening from the command line as an analyst drives it: the sealed index file, and
//! entity resolution over a node's stored declarations (ingest, `caravan screen
//! resolve-stored`, more declarations arrive, resolve again), whose promise is the issue's:
//! entity ids stay stable as new data arrives.

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

/// `screen index` then `screen batch --index` gives byte for byte the hits of `screen batch
/// --list`, and a damaged index file is refused with its code instead of screening against
/// part of a list.
#[test]
fn batch_from_an_index_file_equals_batch_from_the_lists() {
    let un = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/screening/un_consolidated.xml");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("unused.sqlite");
    let input = dir.path().join("queries.csv");
    std::fs::write(
        &input,
        "query\nKim Jong Un\nKHAYDAROV Shukhrat\nAcme Freight LLC\n\nAl-Qaida\n",
    )
    .unwrap();
    let file = dir.path().join("un.csix");
    let said = ok(caravan(&db)
        .args(["screen", "index", "--list"])
        .arg(&un)
        .arg("--output")
        .arg(&file)
        .output()
        .unwrap());
    assert!(said.contains("entries"), "{said}");
    let batch = |source: &[&std::ffi::OsStr], out: &str| {
        let output = dir.path().join(out);
        let run = caravan(&db)
            .args(["screen", "batch"])
            .args(source)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&output)
            .output()
            .unwrap();
        (run, output)
    };
    let (run, from_lists) = batch(&["--list".as_ref(), un.as_os_str()], "lists.csv");
    ok(run);
    let (run, from_file) = batch(&["--index".as_ref(), file.as_os_str()], "file.csv");
    ok(run);
    let (lists, index) = (
        std::fs::read_to_string(from_lists).unwrap(),
        std::fs::read_to_string(from_file).unwrap(),
    );
    assert!(lists.lines().count() > 2, "{lists}");
    assert_eq!(lists, index);

    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    for (content, code) in [
        (bytes.clone(), "index_corrupt"),
        (bytes[..100].to_vec(), "index_corrupt"),
        (b"query\nnot an index\n".to_vec(), "index_not_an_index"),
    ] {
        std::fs::write(&file, content).unwrap();
        let (run, output) = batch(&["--index".as_ref(), file.as_os_str()], "bad.csv");
        assert!(!run.status.success());
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(code), "{code}: {stderr}");
        assert!(!output.exists(), "nothing is written for a refused index");
    }
}
