//! What mutual assistance sends beyond requests (issue 5, part A): the store story of
//! hit/no-hit queries, holdings, feedback and bulk batches on SQLite and, with
//! `CARAVAN_TEST_PG_URL`, PostgreSQL; and the two nodes playing hit/no-hit, a bulk batch and
//! an outcome report over the real exchange.

use caravan_store::assistance::{AssistanceChange, CaseMessage};
use caravan_store::assistance_wire::{
    BulkBatchRow, BulkPartRow, FeedbackRow, HitQueryRow, WireChange,
};
use caravan_store::{Conflict, Store, StoreError};
use caravan_store_postgres::PgStore;
use caravan_store_sqlite::SqliteStore;
use caravan_testkit::pg::TestSchema;

fn query(id: &str, direction: &str, official: &str, answer: &str, version: i64) -> HitQueryRow {
    HitQueryRow {
        query_id: id.into(),
        direction: direction.into(),
        peer: "UZ-CUSTOMS".into(),
        official: official.into(),
        query_type: "conveyance".into(),
        purpose: Some("INTEL".into()),
        case_reference: "CBP-1".into(),
        commitment: "ab".repeat(32),
        salt: "cd".repeat(16),
        answer: answer.into(),
        code: None,
        handle: (answer == "hit").then(|| "ef".repeat(32)),
        day: "2026-12-01".into(),
        asked_at: 1_800_000_000_000 + version,
        answered_at: (answer != "pending").then_some(1_800_000_000_100),
        version,
    }
}

fn batch(id: &str, direction: &str, state: &str) -> BulkBatchRow {
    BulkBatchRow {
        batch_id: id.into(),
        direction: direction.into(),
        peer: "US-CBP".into(),
        dataset: "uz-imports-v1".into(),
        period_from: "2025-01-01".into(),
        period_to: "2025-01-07".into(),
        row_count: 2,
        batch_sha256: "12".repeat(32),
        manifest: "{}".into(),
        state: state.into(),
        code: None,
        exchange_message_id: None,
        created_at: 1_800_000_000_000,
    }
}

fn out_message(uuid: &str, state: &str) -> CaseMessage {
    CaseMessage {
        message_uuid: uuid.into(),
        direction: "out".into(),
        case_id: format!("hitnohit:{uuid}"),
        peer: "UZ-CUSTOMS".into(),
        action: "Query.HitNoHit".into(),
        body: "{\"identifier\":\"CSQU3054383\"}".into(),
        exchange_message_id: None,
        state: state.into(),
        code: None,
        created_at: 1_800_000_000_000,
    }
}

fn stale(result: Result<(), StoreError>) {
    assert!(
        matches!(
            result,
            Err(StoreError::Conflict(Conflict::StaleWrite { .. }))
        ),
        "{result:?}"
    );
}

fn story(store: &dyn Store) {
    // A query asked, with its message, in one change; then answered (version 2).
    store
        .commit_wire(&WireChange {
            base: AssistanceChange {
                messages: vec![out_message("m1", "queued")],
                ..AssistanceChange::default()
            },
            queries: vec![query("q1", "out", "us.analyst", "pending", 1)],
            ..WireChange::default()
        })
        .unwrap();
    assert_eq!(store.hit_query_row("q1").unwrap().answer, "pending");
    store
        .commit_wire(&WireChange {
            queries: vec![query("q1", "out", "us.analyst", "hit", 2)],
            ..WireChange::default()
        })
        .unwrap();
    let q = store.hit_query_row("q1").unwrap();
    assert_eq!((q.answer.as_str(), q.version), ("hit", 2));
    assert_eq!(q.handle.as_deref(), Some("ef".repeat(32).as_str()));
    // A second writer of version 2 loses, and nothing of its change is written.
    stale(store.commit_wire(&WireChange {
        feedback: vec![FeedbackRow {
            feedback_id: "fb-lost".into(),
            direction: "out".into(),
            case_id: "REQ-1".into(),
            peer: "UZ-CUSTOMS".into(),
            reported_by: "us.desk".into(),
            outcome: "{}".into(),
            reported_on: "2026-12-01".into(),
            created_at: 1,
        }],
        queries: vec![query("q1", "out", "us.analyst", "no_hit", 2)],
        ..WireChange::default()
    }));
    assert!(store.feedback_rows(None).unwrap().is_empty());
    assert_eq!(store.hit_query_row("q1").unwrap().answer, "hit");
    assert!(matches!(
        store.hit_query_row("nope"),
        Err(StoreError::NotFound)
    ));

    // The rate limit counts evaluated inbound queries of one official and day.
    store
        .commit_wire(&WireChange {
            queries: vec![
                query("i1", "in", "UZ:a", "hit", 1),
                query("i2", "in", "UZ:a", "no_hit", 1),
                HitQueryRow {
                    code: Some("rate_limited".into()),
                    ..query("i3", "in", "UZ:a", "refused", 1)
                },
                query("i4", "in", "UZ:b", "no_hit", 1),
            ],
            ..WireChange::default()
        })
        .unwrap();
    assert_eq!(store.hit_queries_used("UZ:a", "2026-12-01").unwrap(), 2);
    assert_eq!(store.hit_queries_used("UZ:a", "2026-12-02").unwrap(), 0);
    assert_eq!(store.hit_query_rows(Some("in"), 0).unwrap().len(), 4);
    assert_eq!(store.hit_query_rows(None, 2).unwrap().len(), 2);

    // The holdings index: idempotent additions and a cursor that moves.
    assert_eq!(store.holdings_cursor().unwrap(), 0);
    for _ in 0..2 {
        store
            .commit_wire(&WireChange {
                holdings: vec![("conveyance".into(), "CSQU3054383".into())],
                holdings_cursor: Some(7),
                ..WireChange::default()
            })
            .unwrap();
    }
    assert!(store.holds("conveyance", "CSQU3054383").unwrap());
    assert!(!store.holds("company", "CSQU3054383").unwrap());
    assert_eq!(store.holdings_cursor().unwrap(), 7);

    // A sent query's body is redacted; a queued one is not touched.
    assert_eq!(store.replace_sent_body("m1", "{}").unwrap(), 0);
    store.mark_dispatched("m1", "x@us").unwrap();
    assert_eq!(store.replace_sent_body("m1", "{}").unwrap(), 1);
    assert_eq!(store.case_message("out", "m1").unwrap().body, "{}");

    // Batches: parts kept until sent, one batch per direction, dataset and period.
    store
        .commit_wire(&WireChange {
            batches: vec![batch("b1", "out", "queued")],
            bulk_parts: vec![
                BulkPartRow {
                    batch_id: "b1".into(),
                    seq: 1,
                    row_count: 1,
                    bytes: b"{\"a\":1}\n".to_vec(),
                },
                BulkPartRow {
                    batch_id: "b1".into(),
                    seq: 2,
                    row_count: 1,
                    bytes: b"{\"a\":2}\n".to_vec(),
                },
            ],
            ..WireChange::default()
        })
        .unwrap();
    assert_eq!(store.queued_bulk_batches().unwrap().len(), 1);
    assert_eq!(
        store.bulk_parts("b1").unwrap(),
        vec![(1, b"{\"a\":1}\n".to_vec()), (1, b"{\"a\":2}\n".to_vec())]
    );
    stale(store.commit_wire(&WireChange {
        batches: vec![batch("b2", "out", "queued")],
        ..WireChange::default()
    }));
    store.mark_batch_sent("b1", "m@uz").unwrap();
    stale(store.mark_batch_sent("b1", "m@uz"));
    assert!(store.bulk_parts("b1").unwrap().is_empty());
    assert!(store.queued_bulk_batches().unwrap().is_empty());
    let b = store
        .bulk_batch_for("out", "uz-imports-v1", "2025-01-01", "2025-01-07")
        .unwrap()
        .unwrap();
    assert_eq!(
        (b.state.as_str(), b.exchange_message_id.as_deref()),
        ("sent", Some("m@uz"))
    );
    assert!(
        store
            .bulk_batch_for("in", "uz-imports-v1", "2025-01-01", "2025-01-07")
            .unwrap()
            .is_none()
    );
    store
        .commit_wire(&WireChange {
            batches: vec![batch("b3", "in", "stored")],
            ..WireChange::default()
        })
        .unwrap();
    assert_eq!(store.bulk_batch_rows(0).unwrap().len(), 2);
    assert_eq!(store.bulk_batch_row("b3").unwrap().direction, "in");
}

#[test]
fn assistance_wire_store_story_on_sqlite() {
    let store = SqliteStore::in_memory().expect("store");
    story(&store);
}

#[test]
fn assistance_wire_store_story_on_postgres() {
    let Some(url) = caravan_testkit::pg::url("assistance_wire_store_story_on_postgres") else {
        return;
    };
    let schema = TestSchema::new(&url, "assistance_wire");
    let store = PgStore::connect_with_schema(&url, schema.name()).expect("store");
    story(&store);
}

/// Ingests `drafts` as the node's own (local) filings of `country`.
fn ingest_local(
    store: &dyn Store,
    country: &str,
    drafts: &[caravan_domain::declaration::draft::DeclarationDraft],
) {
    use caravan_domain::declaration::validate::{Provenance, ValidationContext};
    use caravan_ingest::pipeline::{Format, Mode, ingest};
    let mut bytes = Vec::new();
    for d in drafts {
        caravan_ingest::format::caravan_json::write_line(&mut bytes, d).unwrap();
    }
    let source = caravan_store::IngestSource {
        name: "local.jsonl".into(),
        format: "caravan-json".into(),
        provenance: Provenance::Local,
    };
    ingest(
        store,
        bytes.as_slice(),
        Format::CaravanJson,
        &source,
        &ValidationContext::local(country),
        Mode::WholeFile,
    )
    .expect("ingest local declarations");
}

/// Issue 5 part A, "done when": the two nodes play a hit/no-hit check, a bulk batch and an
/// outcome report over the real exchange, after the reference case.
#[test]
fn two_nodes_exchange_hitnohit_bulk_and_outcomes_over_the_real_exchange() {
    use std::sync::Arc;
    use std::time::Duration;

    use caravan_assistance_node::crypto::EvidenceKey;
    use caravan_assistance_node::service::{AssistanceNode, NodeConfig, today};
    use caravan_assistance_node::story::{self, Officials};
    use caravan_assistance_node::wire_story;
    use caravan_testkit::exchange::{now, pair, runtime};
    use caravan_testkit::fixtures::import_draft;

    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    rt.block_on(async {
        let (us_node, uz_node) = pair(dir.path()).await;
        // The fixture's imports, filed locally at UZ (national codes have ten digits).
        let drafts: Vec<_> = (0..3)
            .map(|i| {
                let mut d = import_draft(&format!("UZ-IMP-{i}"), false);
                for item in &mut d.items {
                    if let Some(code) = &mut item.commodity_code {
                        code.push_str("0000");
                    }
                }
                d
            })
            .collect();
        ingest_local(uz_node.store.as_ref(), "UZ", &drafts);
        let us = Arc::new(AssistanceNode::new(
            us_node.store.clone(),
            Some(us_node.exchange.clone()),
            NodeConfig::us_uz(true),
            EvidenceKey::from_bytes(&[5; 32]),
            tempfile::tempdir().expect("evidence dir").keep(),
        ));
        let uz = Arc::new(AssistanceNode::new(
            uz_node.store.clone(),
            Some(uz_node.exchange.clone()),
            NodeConfig::us_uz(false),
            EvidenceKey::from_bytes(&[6; 32]),
            tempfile::tempdir().expect("evidence dir").keep(),
        ));
        let (a, b) = (us.clone(), uz.clone());
        let (story_out, out) = tokio::task::spawn_blocking(move || {
            let mut settle = |at| {
                story::settle_over_exchange(
                    [&a, &b],
                    at,
                    Duration::from_millis(25),
                    8,
                    Duration::from_secs(60),
                )
            };
            let s = story::play(&a, &b, now() as i64, &mut settle)?;
            let w = wire_story::play(&a, &b, &s.main_case, s.ended_at, &mut settle)?;
            Ok::<_, caravan_assistance_node::error::AssistError>((s, w))
        })
        .await
        .expect("story thread")
        .expect("story");

        // §12: hit with a handle, no_hit without; both sides keep the same commitment.
        let hit = us.store().hit_query_row(&out.hit_query).unwrap();
        assert_eq!(hit.answer, "hit");
        let handle = hit.handle.clone().expect("handle");
        assert!(handle.len() == 64 && handle.bytes().all(|b| b.is_ascii_hexdigit()));
        let miss = us.store().hit_query_row(&out.no_hit_query).unwrap();
        assert_eq!(
            (miss.answer.as_str(), miss.handle.as_deref()),
            ("no_hit", None)
        );
        for q in [&hit, &miss] {
            let held = uz.store().hit_query_row(&q.query_id).unwrap();
            assert_eq!(held.direction, "in");
            assert_eq!(held.commitment, q.commitment);
            assert_eq!(held.answer, q.answer);
            assert_eq!(held.official, format!("US-CBP:{}", q.official));
        }
        let codes: Vec<&str> = out.refusals.iter().map(|(_, c)| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "purpose_missing",
                "container_check_digit_invalid",
                "capability_not_in_agreement",
                "dataset_not_ours",
                "seizure_hs_chapter_invalid",
            ]
        );
        // No stored message body on either side still names the identifiers asked about.
        for node in [&us, &uz] {
            for action in ["Query.HitNoHit", "Query.Answer"] {
                for m in node.store().messages_by_action(action, 100).unwrap() {
                    assert!(!m.body.contains(&out.held_container), "{action} {}", m.body);
                    assert!(!m.body.contains(&out.absent_container), "{action}");
                }
            }
        }

        // §5: the batch crossed whole; the US stores the rows as partner imports.
        assert_eq!(out.batch_rows, 3);
        assert!(out.resend_recognised);
        let received = us.store().bulk_batch_row(&out.batch).unwrap();
        assert_eq!(
            (received.direction.as_str(), received.state.as_str()),
            ("in", "stored")
        );
        assert_eq!(received.row_count, 3);
        let sent = uz.store().bulk_batch_row(&out.batch).unwrap();
        assert_eq!(sent.batch_sha256, received.batch_sha256);
        assert_eq!(sent.state, "sent");
        let partner_imports = us
            .store()
            .mirror_inputs("partner", "import", 0, 100)
            .unwrap();
        assert_eq!(partner_imports.len(), 3);
        let doc = String::from_utf8(partner_imports[0].1.clone()).unwrap();
        assert!(doc.contains("PSN-"), "names pseudonymised: {doc}");
        assert!(!doc.contains("Tashkent"), "addresses dropped: {doc}");
        assert_eq!(us.store().marking_rows(&out.batch).unwrap()[0].tlp, "AMBER");

        // §15: the outcome is on both sides and in both committee reports.
        let fb = uz
            .store()
            .feedback_rows(Some(&story_out.main_case))
            .unwrap();
        assert_eq!(fb.len(), 1);
        assert_eq!(fb[0].feedback_id, out.feedback);
        let day = today(out.ended_at);
        let us_report = us.stats(&Officials::of("US").supervisor, day).unwrap();
        let uz_report = uz.stats(&Officials::of("UZ").supervisor, day).unwrap();
        for r in [&us_report, &uz_report] {
            assert_eq!(r.seizures_by_chapter["52"], 18_000);
            assert_eq!(r.revenue_minor_by_currency["USD"], 6_312_500);
            assert_eq!((r.cases_opened, r.convictions), (1, 1));
        }
        assert_eq!(us_report.exchange.hitnohit_asked, 2);
        assert_eq!(us_report.exchange.hits, 1);
        assert_eq!(us_report.exchange.hit_rate_permille, Some(500));
        assert_eq!(uz_report.exchange.hitnohit_received, 2);
        assert_eq!(
            (
                us_report.exchange.bulk_batches_received,
                us_report.exchange.bulk_rows_received
            ),
            (1, 3)
        );
        assert_eq!(
            (
                uz_report.exchange.bulk_batches_sent,
                uz_report.exchange.bulk_rows_sent
            ),
            (1, 3)
        );
        let csv = caravan_assistance::stats::to_csv(&us_report);
        assert!(csv.contains("hitnohit,hit_rate_permille,500\n"), "{csv}");
        assert!(csv.contains("seizures_by_hs_chapter,52,18000\n"), "{csv}");

        // Audit on both sides: the ask, the holder's evaluation, the answer's arrival.
        use caravan_store::access::AuditQuery;
        let trail = |node: &AssistanceNode, object: &str| -> Vec<String> {
            node.store()
                .list_audit(&AuditQuery {
                    object: Some(object.to_owned()),
                    ..AuditQuery::default()
                })
                .unwrap()
                .into_iter()
                .map(|e| e.event.action)
                .collect()
        };
        assert_eq!(
            trail(&us, &out.hit_query),
            ["hitnohit.ask", "inbound.Query.Answer"]
        );
        assert_eq!(trail(&uz, &out.hit_query), ["inbound.Query.HitNoHit"]);

        us_node.stop().await;
        uz_node.stop().await;
    });
}
