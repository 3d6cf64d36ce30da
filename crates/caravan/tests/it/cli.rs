//! `caravan` as a process: help, configuration, generate, ingest (good, bad, quarantined,
//! killed mid-way) and the demo.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use caravan_store::{DeclarationStore, StoreCounts};
use caravan_store_sqlite::SqliteStore;

fn caravan() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caravan"));
    // Tests must not pick up the developer's settings.
    for (key, _) in std::env::vars() {
        if key.starts_with("CARAVAN") {
            cmd.env_remove(key);
        }
    }
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

fn generate(dir: &Path, seed: u64, shipments: usize, formats: &str) -> String {
    ok(caravan()
        .args(["generate", "--out"])
        .arg(dir)
        .args([
            "--seed",
            &seed.to_string(),
            "--shipments",
            &shipments.to_string(),
            "--formats",
            formats,
        ])
        .output()
        .unwrap())
}

fn counts(db: &Path) -> StoreCounts {
    SqliteStore::open(db).unwrap().counts().unwrap()
}

fn ingest(db: &Path, country: &str, files: &[&Path], extra: &[&str]) -> Output {
    caravan()
        .env("CARAVAN__STORE__URL", format!("sqlite://{}", db.display()))
        .env("CARAVAN__NODE__COUNTRY", country)
        .arg("ingest")
        .arg("--quiet")
        .args(extra)
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn help_speaks_to_an_administrator() {
    let help = ok(caravan().arg("--help").output().unwrap());
    for word in [
        "serve",
        "demo",
        "generate",
        "ingest",
        "print-config",
        "--config",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    let ingest_help = ok(caravan().args(["ingest", "--help"]).output().unwrap());
    assert!(
        ingest_help.contains("--quarantine") && ingest_help.contains("whole"),
        "{ingest_help}"
    );
}

#[test]
fn print_config_is_a_loadable_example() {
    let dir = tempfile::tempdir().unwrap();
    let example = ok(caravan().arg("print-config").output().unwrap());
    let path = dir.path().join("caravan.toml");
    std::fs::write(
        &path,
        example.replace(
            "caravan-data/us",
            &dir.path().join("us").display().to_string(),
        ),
    )
    .unwrap();
    // An ingest with that file as configuration reaches the store it names.
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "model_version,type_code,function_code,lrn\n").unwrap();
    let out = caravan()
        .arg("--config")
        .arg(&path)
        .args(["ingest", "--quiet"])
        .arg(&empty)
        .output()
        .unwrap();
    ok(out);
    assert!(dir.path().join("us/caravan.sqlite").exists());
    let bad = caravan()
        .env("CARAVAN__NODE__COUNTRY", "XX")
        .args(["ingest", "x.csv"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("node.country"));
}

#[test]
fn generate_is_deterministic_and_writes_every_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let said = generate(&a, 11, 40, "csv,json,xml,edifact");
    assert!(said.contains("wrote 40 shipments"), "{said}");
    generate(&b, 11, 40, "csv,json,xml,edifact");
    for file in [
        "us/declarations.csv",
        "uz/declarations.jsonl",
        "uz/declarations.edi",
        "truth.csv",
    ] {
        let (x, y) = (
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
        );
        assert!(!x.is_empty(), "{file} is empty");
        assert_eq!(x, y, "{file} differs between two runs with one seed");
    }
    assert!(std::fs::read_dir(a.join("us/wco-xml")).unwrap().count() > 10);
    let c = dir.path().join("c");
    generate(&c, 12, 40, "csv");
    assert_ne!(
        std::fs::read(a.join("us/declarations.csv")).unwrap(),
        std::fs::read(c.join("us/declarations.csv")).unwrap()
    );
}

#[test]
fn every_generated_syntax_ingests_at_its_node() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 5, 60, "csv,json,xml,edifact");
    for (side, country) in [("us", "US"), ("uz", "UZ")] {
        let mut per_format = Vec::new();
        for file in ["declarations.csv", "declarations.jsonl", "declarations.edi"] {
            let db = dir.path().join(format!("{side}-{file}.sqlite"));
            let said = ok(ingest(
                &db,
                country,
                &[&dir.path().join(side).join(file)],
                &[],
            ));
            assert!(said.contains("stored"), "{said}");
            per_format.push(counts(&db));
        }
        assert!(per_format[0].declarations > 0);
        assert!(
            per_format.iter().all(|c| *c == per_format[0]),
            "{side}: {per_format:?}"
        );
        let xml_dir = dir.path().join(side).join("wco-xml");
        let files: Vec<PathBuf> = std::fs::read_dir(&xml_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let db = dir.path().join(format!("{side}-xml.sqlite"));
        ok(ingest(&db, country, &refs, &[]));
        assert_eq!(counts(&db).declarations, per_format[0].declarations);
    }
}

#[test]
fn a_bad_file_is_refused_with_its_reasons_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 3, 30, "csv");
    let good = dir.path().join("us/declarations.csv");
    let db = dir.path().join("us.sqlite");
    ok(ingest(&db, "US", &[&good], &[]));
    let before = counts(&db);

    // A second file: one record's commodity code does not exist in HS 2022, and every
    // LRN is renamed so the file is new, not a replay.
    let mut reader = csv::Reader::from_path(&good).unwrap();
    let header = reader.headers().unwrap().clone();
    let lrn_col = header.iter().position(|c| c == "lrn").unwrap();
    let hs_col = header.iter().position(|c| c == "commodity_code").unwrap();
    let bad = dir.path().join("bad.csv");
    let mut writer = csv::Writer::from_path(&bad).unwrap();
    writer.write_record(&header).unwrap();
    // Row 3 of the file (line 3: no cell holds a newline) gets the unknown code; the error
    // names the line where its declaration starts, its record number and the item path.
    let (row, mut expect_lrn) = (3usize, String::new());
    let mut first_line: std::collections::HashMap<String, usize> = Default::default();
    for (n, record) in reader.records().enumerate() {
        let mut fields: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
        fields[lrn_col] = format!("X{}", fields[lrn_col]);
        first_line.entry(fields[lrn_col].clone()).or_insert(n + 2);
        if n + 2 == row {
            fields[hs_col] = "9999990000".into();
            expect_lrn = fields[lrn_col].clone();
        }
        writer.write_record(&fields).unwrap();
    }
    writer.flush().unwrap();
    drop(writer);
    let row_line = first_line[&expect_lrn];
    let record_no = {
        let mut starts: Vec<usize> = first_line.values().copied().collect();
        starts.sort_unstable();
        starts.iter().position(|&l| l == row_line).unwrap() + 1
    };
    let item_no = row - row_line + 1;

    let out = ingest(&db, "US", &[&bad], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    for needle in [
        bad.display().to_string(),
        format!("line {row_line} record {record_no}"),
        format!("items[{item_no}].commodity_code"),
        format!("LRN {expect_lrn}"),
        "DECL_HS6_UNKNOWN".into(),
        "\"9999990000\"".into(),
        "nothing was stored".into(),
    ] {
        assert!(
            stderr.contains(&needle),
            "stderr lacks {needle:?}:\n{stderr}"
        );
    }
    assert_eq!(counts(&db), before);

    // With --quarantine the other records go in and the bad one is explained.
    let quarantine = dir.path().join("rejected.jsonl");
    let said = ok(ingest(
        &db,
        "US",
        &[&bad],
        &["--quarantine", quarantine.to_str().unwrap()],
    ));
    assert!(said.contains("1 quarantined"), "{said}");
    let rejected = std::fs::read_to_string(&quarantine).unwrap();
    assert_eq!(rejected.lines().count(), 1);
    assert!(
        rejected.contains("DECL_HS6_UNKNOWN") && rejected.contains(&expect_lrn),
        "{rejected}"
    );
    assert_eq!(counts(&db).declarations, before.declarations * 2 - 1);
}

#[test]
fn killing_an_ingest_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 9, 3000, "csv");
    let file = dir.path().join("us/declarations.csv");
    let complete = {
        let db = dir.path().join("complete.sqlite");
        ok(ingest(&db, "US", &[&file], &[]));
        counts(&db)
    };
    assert!(complete.declarations > 1000);
    let empty = counts(&dir.path().join("empty.sqlite"));
    // Kill at several instants; whatever the instant, the store is empty or complete.
    for (n, delay_ms) in [5u64, 40, 120, 300, 800].into_iter().enumerate() {
        let db = dir.path().join(format!("killed-{n}.sqlite"));
        let mut child = caravan()
            .env("CARAVAN__STORE__URL", format!("sqlite://{}", db.display()))
            .env("CARAVAN__NODE__COUNTRY", "US")
            .args(["ingest", "--quiet"])
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The crash point: SIGKILL after a delay, with no chance to clean up.
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let store = SqliteStore::open(&db).unwrap();
        let after = store.counts().unwrap();
        let runs_free = |c: StoreCounts| StoreCounts { runs: 0, ..c };
        assert!(
            runs_free(after) == runs_free(empty) || runs_free(after) == runs_free(complete),
            "killed after {delay_ms} ms: {after:?}"
        );
        drop(store);
        let conn = rusqlite_integrity(&db);
        assert_eq!(conn, "ok");
        // And the file can be ingested afterwards, to the same end state.
        ok(ingest(&db, "US", &[&file], &[]));
        assert_eq!(runs_free(counts(&db)), runs_free(complete));
    }
}

fn rusqlite_integrity(db: &Path) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg("PRAGMA integrity_check;")
        .output();
    match out {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        // Without the sqlite3 shell, reopening and counting (above) is the check.
        _ => "ok".to_owned(),
    }
}

#[test]
fn the_demo_runs_both_nodes_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let said = ok(caravan()
        .args([
            "demo",
            "--exit",
            "--shipments",
            "150",
            "--us-listen",
            "127.0.0.1:0",
            "--uz-listen",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap());
    for needle in [
        "US CBP serving on http://127.0.0.1:",
        "UZ Customs serving on",
        "(ready)",
        "declarations",
        "goods items",
        "distinct parties",
        "injected anomalies (ground truth)",
    ] {
        assert!(
            said.contains(needle),
            "demo output lacks {needle:?}:\n{said}"
        );
    }
    let us = counts(&dir.path().join("us/caravan.sqlite"));
    let uz = counts(&dir.path().join("uz/caravan.sqlite"));
    assert!(
        us.declarations > 50 && uz.declarations > 50,
        "{us:?} {uz:?}"
    );
    assert!(us.imports > 0 && us.exports > 0 && uz.imports > 0 && uz.exports > 0);
    // Running it again replaces the nodes rather than piling up.
    ok(caravan()
        .args([
            "demo",
            "--exit",
            "--shipments",
            "150",
            "--us-listen",
            "127.0.0.1:0",
            "--uz-listen",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap());
    assert_eq!(counts(&dir.path().join("us/caravan.sqlite")), us);
}

#[test]
fn log_alarms_are_shown_to_the_operator() {
    use caravan_store::log::LogStore;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.sqlite");
    let alarms = |db: &Path| {
        caravan()
            .env("CARAVAN__STORE__URL", format!("sqlite://{}", db.display()))
            .args(["log", "alarms"])
            .output()
            .unwrap()
    };
    drop(SqliteStore::open(&db).unwrap());
    let quiet = alarms(&db);
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8(quiet.stdout).unwrap(), "no alarms\n");
    SqliteStore::open(&db)
        .unwrap()
        .raise_alarm(
            "split_view",
            "caravan.customs.uz.example/log",
            "two roots at size 7",
        )
        .unwrap();
    let loud = alarms(&db);
    assert_eq!(loud.status.code(), Some(1));
    let said = String::from_utf8(loud.stdout).unwrap();
    assert!(
        said.contains("ALARM")
            && said.contains("split_view")
            && said.contains("two roots at size 7"),
        "{said}"
    );
}

#[test]
fn an_ingest_run_is_anchored_in_the_nodes_log() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), 4, 20, "csv");
    let data = dir.path().join("node");
    let config = dir.path().join("caravan.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\ncountry = \"US\"\ndata_dir = \"{}\"\n\n[log]\norigin = \"caravan.cbp.example/us-uz-cmaa-2024\"\nwitness_name = \"caravan.cbp.example/witness\"\n",
            data.display()
        ),
    )
    .unwrap();
    let file = dir.path().join("us/declarations.csv");
    let said = ok(caravan()
        .arg("--config")
        .arg(&config)
        .args(["ingest", "--quiet"])
        .arg(&file)
        .output()
        .unwrap());
    assert!(
        said.contains("anchored in log caravan.cbp.example/us-uz-cmaa-2024 as entry 0"),
        "{said}"
    );
    assert!(said.contains("signed a checkpoint of size 1"), "{said}");
    // The anchor is a real, provable log entry.
    let proof = ok(caravan()
        .arg("--config")
        .arg(&config)
        .args(["log", "proof", "--index", "0"])
        .output()
        .unwrap());
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1"), "{proof}");
    let fsck = ok(caravan()
        .arg("--config")
        .arg(&config)
        .args(["log", "fsck"])
        .output()
        .unwrap());
    assert!(fsck.contains("is sound: 1 entries"), "{fsck}");
    // A replay stores nothing and so anchors nothing.
    let again = ok(caravan()
        .arg("--config")
        .arg(&config)
        .args(["ingest", "--quiet"])
        .arg(&file)
        .output()
        .unwrap());
    assert!(!again.contains("anchored"), "{again}");
}

#[test]
fn an_administrator_links_an_oidc_subject_and_it_is_audited() {
    use caravan_store::access::{AccessStore, Account, AuditQuery};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.sqlite");
    SqliteStore::open(&db)
        .unwrap()
        .create_account(&Account {
            name: "a.karimov".into(),
            display_name: "A. Karimov".into(),
            role: "analyst".into(),
            disabled: false,
            created_at: 1,
        })
        .unwrap();
    let link = |name: &str, issuer: &str, subject: &str| {
        caravan()
            .env("CARAVAN__STORE__URL", format!("sqlite://{}", db.display()))
            .args(["account", "link-oidc", "--name", name, "--issuer", issuer])
            .args(["--subject", subject])
            .output()
            .unwrap()
    };
    let said = ok(link("a.karimov", "https://sso.customs.uz", "officer-1"));
    assert!(
        said.contains("a.karimov") && said.contains("officer-1"),
        "{said}"
    );
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(
        store
            .account_for_oidc("https://sso.customs.uz", "officer-1")
            .unwrap()
            .unwrap()
            .name,
        "a.karimov"
    );
    let rows = store
        .list_audit(&AuditQuery {
            action_prefix: Some("account.link_oidc".into()),
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].event.detail.contains("officer-1"));
    // Refused: no such account, an http:// issuer, an empty subject; nothing written.
    assert!(
        !link("nobody", "https://sso.customs.uz", "s")
            .status
            .success()
    );
    assert!(
        !link("a.karimov", "http://sso.customs.uz", "s")
            .status
            .success()
    );
    assert!(
        !link("a.karimov", "https://sso.customs.uz", " ")
            .status
            .success()
    );
    assert_eq!(
        store
            .list_audit(&AuditQuery {
                action_prefix: Some("account.link_oidc".into()),
                ..AuditQuery::default()
            })
            .unwrap()
            .len(),
        1
    );
}
