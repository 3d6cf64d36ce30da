//! `caravan target outcome|models|rules|retrain|worklist` as processes against a temporary
//! node: refusals first (no model, too few outcomes, a repeated outcome, a bad rule file),
//! then outcomes, a first model, the worklist with rules, a candidate and its promotion.

use std::path::Path;
use std::process::{Command, Output};

use caravan_store::DeclarationStore;
use caravan_store::target::{ModelStatus, TargetStore};
use caravan_store_sqlite::SqliteStore;
use caravan_web::target::{OutcomeRequest, record_outcome};

fn caravan(db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caravan"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CARAVAN") {
            cmd.env_remove(key);
        }
    }
    cmd.env("CARAVAN__STORE__URL", format!("sqlite://{}", db.display()))
        .env("CARAVAN__NODE__COUNTRY", "US")
        .env("USER", "officer1");
    cmd
}

fn run(db: &Path, args: &[&str]) -> Output {
    caravan(db).args(args).output().unwrap()
}

#[track_caller]
fn ok(output: Output) -> String {
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

#[track_caller]
fn fails(output: Output, code: &str) -> String {
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "should have failed with {code}");
    assert!(stderr.contains(code), "expected {code}:\n{stderr}");
    stderr
}

#[test]
fn the_feedback_loop_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("node.sqlite");
    ok(Command::new(env!("CARGO_BIN_EXE_caravan"))
        .args(["generate", "--out"])
        .arg(dir.path())
        .args(["--seed", "21", "--shipments", "300", "--formats", "csv"])
        .output()
        .unwrap());
    ok(caravan(&db)
        .args(["ingest", "--quiet"])
        .arg(dir.path().join("us/declarations.csv"))
        .output()
        .unwrap());

    // Nothing to score with and nothing to learn from yet.
    fails(run(&db, &["target", "worklist"]), "no_active_model");
    fails(run(&db, &["target", "retrain"]), "TARGET_TOO_FEW_OUTCOMES");

    // Outcomes: one through the CLI, the rest through the same checks in-process.
    let store = SqliteStore::open(&db).unwrap();
    let mut lrns: Vec<String> = store
        .list(10_000, 0)
        .unwrap()
        .into_iter()
        .map(|d| d.lrn)
        .collect();
    lrns.sort();
    let said = ok(run(
        &db,
        &[
            "target",
            "outcome",
            "record",
            "--declaration",
            &lrns[0],
            "--result",
            "seizure",
            "--seizure",
            "12 kg",
            "--revenue",
            "99.5",
            "--currency",
            "USD",
        ],
    ));
    assert!(said.contains("recorded seizure"), "{said}");
    fails(
        run(
            &db,
            &[
                "target",
                "outcome",
                "record",
                "--declaration",
                &lrns[0],
                "--result",
                "irregularity",
            ],
        ),
        "outcome_exists",
    );
    fails(
        run(
            &db,
            &[
                "target",
                "outcome",
                "record",
                "--declaration",
                &lrns[1],
                "--result",
                "perhaps",
            ],
        ),
        "invalid_outcome",
    );
    fails(
        run(
            &db,
            &[
                "target",
                "outcome",
                "record",
                "--declaration",
                "NOPE",
                "--result",
                "seizure",
            ],
        ),
        "declaration_not_found",
    );
    ok(run(
        &db,
        &[
            "target",
            "outcome",
            "record",
            "--declaration",
            &lrns[0],
            "--result",
            "irregularity",
            "--correct",
            "--reason",
            "weighed again",
        ],
    ));
    let id = store.find_declarations(&lrns[0]).unwrap()[0].id;
    let history = store.outcome_history(id).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].inspector, "cli:officer1");
    assert_eq!(history[0].revenue_milli, Some(99_500));
    let inspected = lrns.len() * 3 / 4;
    for (n, lrn) in lrns.iter().enumerate().take(inspected).skip(1) {
        let request = OutcomeRequest {
            declaration: lrn.clone(),
            result: if n % 5 == 0 {
                "irregularity"
            } else {
                "no_irregularity"
            }
            .into(),
            ..OutcomeRequest::default()
        };
        record_outcome(&store, &request, "inspector2", 1_000).unwrap();
    }
    let listed = ok(run(&db, &["target", "outcome", "list", "--limit", "5"]));
    assert_eq!(listed.lines().count(), 5);

    // The first model is promoted; the registry says so.
    let said = ok(run(&db, &["target", "retrain"]));
    assert!(said.contains("model v1 (active)"), "{said}");
    assert!(said.contains("AUC"), "{said}");
    let listed = ok(run(&db, &["target", "models", "list"]));
    assert!(listed.contains("active"), "{listed}");
    let shown = ok(run(&db, &["target", "models", "show", "1"]));
    assert!(shown.contains("\"holdout\""), "{shown}");
    fails(
        run(&db, &["target", "models", "show", "9"]),
        "model version 9",
    );

    // A bad rule file is refused with its line, and nothing is in force; a good one is.
    let bad = dir.path().join("bad.rules");
    std::fs::write(
        &bad,
        "ruleset t version 1\nlanes red >= 80 yellow >= 40\nrule X weight when\n",
    )
    .unwrap();
    fails(
        run(&db, &["target", "rules", "load", bad.to_str().unwrap()]),
        "line 3",
    );
    assert!(store.active_rules().unwrap().is_none());
    let good = dir.path().join("good.rules");
    std::fs::write(
        &good,
        "ruleset cbp version 2\nlanes red >= 60 yellow >= 20\nquota red 3% yellow 5%\nrandom 1%\nmodel weight 100\n",
    )
    .unwrap();
    ok(run(
        &db,
        &["target", "rules", "load", good.to_str().unwrap()],
    ));
    fails(
        run(&db, &["target", "rules", "load", bad.to_str().unwrap()]),
        "line 3",
    );
    assert_eq!(store.active_rules().unwrap().unwrap().name, "cbp");

    // The worklist follows the rules: red and yellow lanes, only uninspected declarations.
    let said = ok(run(&db, &["target", "worklist", "--top", "500"]));
    assert!(said.starts_with("model v1"), "{said}");
    assert!(said.contains(" red "), "{said}");
    for lrn in &lrns[..inspected] {
        assert!(
            !said.contains(&format!(" {lrn}/")),
            "{lrn} was inspected:\n{said}"
        );
    }

    // A candidate stays a candidate until promoted; promotion retires the old model.
    let said = ok(run(&db, &["target", "retrain", "--no-promote"]));
    assert!(said.contains("model v2 (candidate)"), "{said}");
    assert_eq!(store.active_model().unwrap().unwrap().summary.version, 1);
    ok(run(&db, &["target", "models", "promote", "2"]));
    let models = store.models().unwrap();
    assert_eq!(
        models
            .iter()
            .map(|m| (m.version, m.status))
            .collect::<Vec<_>>(),
        vec![(2, ModelStatus::Active), (1, ModelStatus::Retired)]
    );
}
