//! Targeting's durable state on both backends: inspection outcomes (one current per
//! declaration, corrections keep history), the model registry (exactly one active model,
//! promotion atomic) and the rule-file registry; and a process killed while promoting
//! models over and over leaves exactly one active model.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use caravan_store::target::{
    InspectionResult, ModelStatus, NewModel, NewOutcome, NewRuleFile, OutcomeWrite,
};
use caravan_store::{Store, StoreError};
use caravan_testkit::fixtures;
use caravan_testkit::pg::{self, TestSchema};

use crate::child::open;

fn outcome(declaration_id: i64, result: InspectionResult, at: u64) -> NewOutcome {
    NewOutcome {
        declaration_id,
        result,
        seizure: (result == InspectionResult::Seizure).then(|| "40 kg undeclared".to_owned()),
        revenue_milli: Some(1_250_500),
        currency: Some("USD".to_owned()),
        inspector: "inspector1".to_owned(),
        recorded_at: at,
        reason: None,
    }
}

fn model(tag: u8, at: u64) -> NewModel {
    NewModel {
        bytes: vec![tag; 64],
        digest: [tag; 32],
        training: format!("model {tag}"),
        evaluation: format!("{{\"auc\":0.{tag}}}"),
        auc: Some(f64::from(tag) / 10.0),
        trained_at: at,
    }
}

fn active_count(store: &dyn Store) -> usize {
    store
        .models()
        .expect("models")
        .iter()
        .filter(|m| m.status == ModelStatus::Active)
        .count()
}

/// The scenario every backend must pass; `open` opens the same store again.
fn target_story(open: &dyn Fn() -> Result<Box<dyn Store>, StoreError>) {
    let store = open().expect("open");
    let mut batch = store
        .begin_ingest(&fixtures::source("target.json"))
        .expect("begin");
    for (n, draft) in [
        fixtures::import_draft("TGT-1", false),
        fixtures::import_draft("TGT-2", true),
        fixtures::export_draft("TGT-3"),
    ]
    .iter()
    .enumerate()
    {
        batch
            .put(&fixtures::prepare(draft, n as u64 + 1).record())
            .expect("put");
    }
    batch.commit().expect("commit");

    // References resolve by LRN; unknown ones to nothing.
    let found = store.find_declarations("TGT-2").expect("find");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].lrn, "TGT-2");
    assert!(store.find_declarations("NOPE").expect("find").is_empty());
    let id = found[0].id;

    // First record, a repeat that writes nothing, a correction that keeps history.
    let OutcomeWrite::Recorded(first) = store
        .record_outcome(&outcome(id, InspectionResult::Irregularity, 1_000), false)
        .expect("record")
    else {
        panic!("first outcome not recorded")
    };
    assert_eq!(first.revision, 1);
    assert!(first.current);
    assert_eq!(first.revenue_milli, Some(1_250_500));
    assert_eq!(
        store
            .record_outcome(&outcome(id, InspectionResult::NoIrregularity, 2_000), false)
            .expect("repeat"),
        OutcomeWrite::AlreadyRecorded(first.clone())
    );
    let other = store.find_declarations("TGT-1").expect("find")[0].id;
    assert_eq!(
        store
            .record_outcome(&outcome(other, InspectionResult::Seizure, 2_000), true)
            .expect("correct nothing"),
        OutcomeWrite::NothingToCorrect
    );
    let mut fix = outcome(id, InspectionResult::Seizure, 3_000);
    fix.reason = Some("lab result came back".to_owned());
    let OutcomeWrite::Recorded(second) = store.record_outcome(&fix, true).expect("correct") else {
        panic!("correction not recorded")
    };
    assert_eq!(second.revision, 2);
    assert_eq!(second.seizure.as_deref(), Some("40 kg undeclared"));
    assert!(matches!(
        store.record_outcome(
            &outcome(9_999_999, InspectionResult::Irregularity, 1),
            false
        ),
        Err(StoreError::NotFound)
    ));
    let history = store.outcome_history(id).expect("history");
    assert_eq!(history.len(), 2);
    assert!(!history[0].current && history[1].current);
    assert_eq!(history[0].result, InspectionResult::Irregularity);
    assert_eq!(history[1].reason.as_deref(), Some("lab result came back"));
    let current = store.outcomes(10, 0).expect("outcomes");
    assert_eq!(current, vec![second.clone()]);
    assert!(store.outcomes(10, 1).expect("page 2").is_empty());

    // Training reads every declaration once, with its current outcome only.
    let documents = store.targeting_documents().expect("documents");
    assert_eq!(documents.len(), 3);
    let labelled: Vec<_> = documents.iter().filter(|d| d.outcome.is_some()).collect();
    assert_eq!(labelled.len(), 1);
    assert_eq!(labelled[0].id, id);
    assert_eq!(labelled[0].outcome.as_ref(), Some(&second));
    assert!(!labelled[0].document.is_empty());

    // The model registry: candidates, promotion, exactly one active.
    assert!(store.active_model().expect("active").is_none());
    let v1 = store
        .register_model(&model(1, 10), false)
        .expect("register");
    assert_eq!((v1.version, v1.status), (1, ModelStatus::Candidate));
    assert!(store.active_model().expect("active").is_none());
    let p1 = store.promote_model(1, 20).expect("promote");
    assert_eq!((p1.status, p1.promoted_at), (ModelStatus::Active, Some(20)));
    let v2 = store
        .register_model(&model(2, 30), false)
        .expect("register");
    assert_eq!(v2.version, 2);
    assert_eq!(
        store
            .active_model()
            .expect("active")
            .map(|m| m.summary.version),
        Some(1)
    );
    store.promote_model(2, 40).expect("promote");
    let models = store.models().expect("models");
    assert_eq!(
        models
            .iter()
            .map(|m| (m.version, m.status))
            .collect::<Vec<_>>(),
        vec![(2, ModelStatus::Active), (1, ModelStatus::Retired)]
    );
    assert!(matches!(store.model(99), Err(StoreError::NotFound)));
    assert!(matches!(
        store.promote_model(99, 50),
        Err(StoreError::NotFound)
    ));
    assert_eq!(active_count(&*store), 1);
    // Promoting the active model changes nothing.
    assert_eq!(
        store.promote_model(2, 60).expect("again").promoted_at,
        Some(40)
    );
    let v3 = store
        .register_model(&model(3, 70), true)
        .expect("register active");
    assert_eq!((v3.version, v3.status), (3, ModelStatus::Active));
    assert_eq!(active_count(&*store), 1);
    let stored = store.model(2).expect("model 2");
    assert_eq!(stored.bytes, vec![2; 64]);
    assert_eq!(stored.summary.digest, [2; 32]);
    assert_eq!(stored.summary.auc, Some(0.2));
    assert_eq!(stored.summary.status, ModelStatus::Retired);
    // Rollback to a retired model is a promotion like any other.
    store.promote_model(1, 80).expect("roll back");
    assert_eq!(
        store.active_model().expect("active").map(|m| m.bytes),
        Some(vec![1; 64])
    );

    // Rule files: the newest registered is in force.
    assert!(store.active_rules().expect("rules").is_none());
    let rules = |text: &str, at: u64| NewRuleFile {
        name: "cbp".to_owned(),
        set_version: "1".to_owned(),
        text: text.to_owned(),
        digest: [at as u8; 32],
        loaded_by: "analyst1".to_owned(),
        loaded_at: at,
    };
    let r1 = store
        .register_rules(&rules("ruleset a version 1", 5))
        .expect("rules");
    assert!(r1.active);
    let r2 = store
        .register_rules(&rules("ruleset a version 2", 6))
        .expect("rules");
    assert_eq!(r2.version, 2);
    let all = store.rule_files().expect("rule files");
    assert_eq!(
        all.iter()
            .map(|r| (r.version, r.active))
            .collect::<Vec<_>>(),
        vec![(2, true), (1, false)]
    );
    assert_eq!(store.active_rules().expect("rules"), Some(r2.clone()));

    // Everything survives reopening.
    drop(store);
    let store = open().expect("reopen");
    assert_eq!(store.outcome_history(id).expect("history"), history);
    assert_eq!(
        store
            .active_model()
            .expect("active")
            .map(|m| m.summary.version),
        Some(1)
    );
    assert_eq!(store.active_rules().expect("rules"), Some(r2));
}

#[test]
fn sqlite_target_story() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.sqlite");
    target_story(&|| {
        caravan_store_sqlite::SqliteStore::open(&path).map(|s| Box::new(s) as Box<dyn Store>)
    });
}

#[test]
fn postgres_target_story() {
    let Some(url) = pg::url("postgres_target_story") else {
        return;
    };
    let schema = TestSchema::new(&url, "target_story");
    target_story(&|| {
        caravan_store_postgres::PgStore::connect_with_schema(&url, schema.name())
            .map(|s| Box::new(s) as Box<dyn Store>)
    });
}

const CHILD_VAR: &str = "CARAVAN_TESTKIT_PROMOTION_CHILD";
const READY: &str = "PROMOTION-CHILD-READY";

/// The child: promotes models 1 and 2 in turn, for ever, until killed.
#[test]
fn promotion_child() {
    let Ok(spec) = std::env::var(CHILD_VAR) else {
        return;
    };
    let store = open(&spec).expect("child opens the store");
    for n in 0u64.. {
        store
            .promote_model(1 + (n % 2) as u32, 1_000 + n)
            .expect("promote");
        if n == 200 {
            println!("{READY}");
        }
        if n == 50_000_000 {
            std::process::abort();
        }
    }
}

/// Registers two models, kills a child mid-promotion loop, and checks the registry.
fn crash_mid_promotion(spec: &str) {
    {
        let store = open(spec).expect("open");
        store
            .register_model(&model(1, 1), true)
            .expect("register 1");
        store
            .register_model(&model(2, 2), false)
            .expect("register 2");
    }
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "target::promotion_child",
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
    assert!(ready, "child ended before it was ready");
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("wait");
    assert_eq!(
        status.signal(),
        Some(9),
        "child died of SIGKILL, not {status}"
    );

    let store = open(spec).expect("reopen after the crash");
    let models = store.models().expect("models");
    assert_eq!(models.len(), 2);
    assert_eq!(
        models
            .iter()
            .filter(|m| m.status == ModelStatus::Active)
            .count(),
        1,
        "exactly one active model after a crash mid-promotion: {models:?}"
    );
    assert!(
        models
            .iter()
            .all(|m| matches!(m.status, ModelStatus::Active | ModelStatus::Retired))
    );
    // The registry still takes promotions.
    let active = store.active_model().expect("active").expect("one active");
    let other = 3 - active.summary.version;
    store
        .promote_model(other, 9_999_999)
        .expect("promote after crash");
    assert_eq!(
        store
            .active_model()
            .expect("active")
            .map(|m| m.summary.version),
        Some(other)
    );
}

#[test]
fn sqlite_crash_mid_promotion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("promote.db");
    crash_mid_promotion(&format!("sqlite:{}", path.display()));
}

#[test]
fn postgres_crash_mid_promotion() {
    let Some(url) = pg::url("postgres_crash_mid_promotion") else {
        return;
    };
    let schema = TestSchema::new(&url, "crash_promotion");
    // The child opens the schema by name; this guard drops it afterwards.
    crash_mid_promotion(&format!("postgres:{}", schema.name()));
}
