//! The screening store story on both backends: list versions load whole or not at all and
//! switch the active version, a load computed against a version that is no longer active is
//! refused with nothing written, hits keep one row per (party, entry) whose status follows
//! the rules (a known false positive is suppressed until the party or the entry changes,
//! hits on removed entries are delisted, on changed entries not re-found closed), and
//! dispositions are appended with the digests they were made on.

use caravan_store::screen::{
    Change, Decision, DispositionRecord, HitFilter, HitRecord, HitStatus, ListLoad, PartyFacts,
    ResolutionBatch, ResolutionMergeRow, ResolutionRecordRow, ScreenRunRecord, StoredEntry,
};
use caravan_store::{Conflict, Store, StoreError};
use caravan_testkit::fixtures;

type Open<'a> = &'a dyn Fn() -> Box<dyn Store>;

fn entry(id: &str, hash: u8) -> StoredEntry {
    StoredEntry {
        entry_id: id.to_owned(),
        content_hash: [hash; 32],
        kind: "person".to_owned(),
        primary_name: format!("Name of {id}"),
        body: format!(r#"{{"entry_id":"{id}"}}"#),
    }
}

fn party(key: &str, digest: u8) -> PartyFacts {
    PartyFacts {
        party_key: key.to_owned(),
        digest: [digest; 32],
        role: "IM".to_owned(),
        name: format!("Party {key}"),
        country: Some("UZ".to_owned()),
        id_scheme: None,
        id_value: None,
    }
}

fn hit(party: &PartyFacts, entry_id: &str, entry_hash: u8, score: f64) -> HitRecord {
    HitRecord {
        party_key: party.party_key.clone(),
        party_digest: party.digest,
        list_id: "test-list".to_owned(),
        entry_id: entry_id.to_owned(),
        entry_hash: [entry_hash; 32],
        matched_name: format!("Name of {entry_id}"),
        score,
        band: "review".to_owned(),
        explanation: format!(r#"{{"entry":"{entry_id}"}}"#),
    }
}

fn load(
    expected_active: Option<i64>,
    entries: Vec<StoredEntry>,
    changes: &[(&str, Change)],
    hits: Vec<HitRecord>,
    at: u64,
) -> ListLoad {
    ListLoad {
        list_id: "test-list".to_owned(),
        source: "lookout".to_owned(),
        publisher_date: Some(format!("v{at}")),
        digest: [at as u8; 32],
        loaded_at: at,
        expected_active,
        entries,
        changes: changes
            .iter()
            .map(|(id, change)| ((*id).to_owned(), *change))
            .collect(),
        hits,
    }
}

fn decide(store: &dyn Store, hit_id: i64, decision: Decision, at: u64) -> HitStatus {
    store
        .screen_decide(&DispositionRecord {
            hit_id,
            decision,
            reason: "name_only_similarity".to_owned(),
            note: "different person".to_owned(),
            account: "alice".to_owned(),
            decided_at: at,
        })
        .unwrap()
        .status
}

/// Status of the hit of `party` on `entry`.
fn status_of(store: &dyn Store, party: &str, entry: &str) -> HitStatus {
    let hits = store
        .screen_hits(&HitFilter {
            party_key: Some(party.to_owned()),
            limit: 100,
            ..HitFilter::default()
        })
        .unwrap();
    hits.iter()
        .find(|h| h.hit.entry_id == entry)
        .unwrap_or_else(|| panic!("no hit {party}/{entry} in {hits:?}"))
        .status
}

fn hit_id(store: &dyn Store, party: &str, entry: &str) -> i64 {
    store
        .screen_hits(&HitFilter {
            party_key: Some(party.to_owned()),
            limit: 100,
            ..HitFilter::default()
        })
        .unwrap()
        .iter()
        .find(|h| h.hit.entry_id == entry)
        .unwrap()
        .id
}

fn screen_story(open: Open<'_>) {
    let store = open();
    let store = &*store;
    assert!(store.screen_list_versions().unwrap().is_empty());
    assert!(store.screen_active_list("test-list").unwrap().is_none());
    assert!(matches!(store.screen_hit(1), Err(StoreError::NotFound)));

    // Declared parties come from ingested declarations, one row per distinct facts.
    let prepared = fixtures::prepare(&fixtures::import_draft("SCR-1", false), 1);
    let mut batch = store
        .begin_ingest(&fixtures::source("screen.json"))
        .unwrap();
    batch.put(&prepared.record()).unwrap();
    batch.commit().unwrap();
    let declared = store.screen_declared_parties().unwrap();
    assert_eq!(declared.len(), 5, "{declared:?}");
    let exporter = declared.iter().find(|p| p.role == "EX").unwrap();
    assert_eq!(exporter.name, "Ташкент Текстиль ООО");
    assert_eq!(exporter.country.as_deref(), Some("UZ"));
    assert_eq!(exporter.id_value, None);

    // Version 1.
    let v1 = load(
        None,
        vec![entry("E1", 1), entry("E2", 2), entry("E4", 4)],
        &[
            ("E1", Change::Added),
            ("E2", Change::Added),
            ("E4", Change::Added),
        ],
        Vec::new(),
        1_000,
    );
    let loaded = store.screen_load_list(&v1).unwrap();
    let (version, entries) = store.screen_active_list("test-list").unwrap().unwrap();
    assert_eq!(version.id, loaded.version_id);
    assert!(version.active);
    assert_eq!((version.n_entries, version.n_added), (3, 3));
    assert_eq!(version.previous_id, None);
    assert_eq!(entries, v1.entries);

    // A load computed against a version that is no longer the active one is refused.
    let stale = load(None, vec![entry("E9", 9)], &[], Vec::new(), 1_500);
    assert!(matches!(
        store.screen_load_list(&stale),
        Err(StoreError::Other(_))
    ));
    assert_eq!(store.screen_list_versions().unwrap().len(), 1);

    // A run: two parties, three hits.
    let (p1, p2) = (party("P1", 10), party("P2", 20));
    let run = |p1: &PartyFacts, p2: &PartyFacts, hits: Vec<HitRecord>, at: u64| {
        store
            .screen_record_run(&ScreenRunRecord {
                screened_at: at,
                parties: vec![p1.clone(), p2.clone()],
                hits,
            })
            .unwrap()
    };
    let first_hits = |p1: &PartyFacts, p2: &PartyFacts| {
        vec![
            hit(p1, "E1", 1, 0.91),
            hit(p2, "E2", 2, 0.75),
            hit(p2, "E4", 4, 0.72),
        ]
    };
    let summary = run(&p1, &p2, first_hits(&p1, &p2), 2_000);
    assert_eq!(
        (summary.parties, summary.open, summary.suppressed),
        (2, 3, 0)
    );
    let open_hits = store
        .screen_hits(&HitFilter {
            statuses: vec![HitStatus::Open],
            limit: 10,
            ..HitFilter::default()
        })
        .unwrap();
    assert_eq!(
        open_hits
            .iter()
            .map(|h| h.hit.entry_id.as_str())
            .collect::<Vec<_>>(),
        ["E1", "E2", "E4"],
        "best score first"
    );
    assert_eq!(open_hits[0].party_name, "Party P1");
    assert_eq!(open_hits[0].version_id, version.id);
    assert_eq!(open_hits[0].first_seen_at, 2_000);
    let paged = store
        .screen_hits(&HitFilter {
            limit: 1,
            offset: 1,
            ..HitFilter::default()
        })
        .unwrap();
    assert_eq!(paged.len(), 1);
    assert_eq!(paged[0].hit.entry_id, "E2");

    // A false positive is suppressed while neither side changes.
    let e1 = hit_id(store, "P1", "E1");
    assert_eq!(
        decide(store, e1, Decision::FalsePositive, 2_100),
        HitStatus::FalsePositive
    );
    let dispositions = store.screen_dispositions(e1).unwrap();
    assert_eq!(dispositions.len(), 1);
    assert_eq!(dispositions[0].party_digest, [10; 32]);
    assert_eq!(dispositions[0].entry_hash, [1; 32]);
    assert_eq!(dispositions[0].record.account, "alice");
    assert!(matches!(
        store.screen_decide(&DispositionRecord {
            hit_id: 999_999,
            decision: Decision::TrueMatch,
            reason: "other".to_owned(),
            note: "x".to_owned(),
            account: "alice".to_owned(),
            decided_at: 1,
        }),
        Err(StoreError::NotFound)
    ));
    let summary = run(&p1, &p2, first_hits(&p1, &p2), 3_000);
    assert_eq!((summary.open, summary.suppressed), (2, 1));
    assert_eq!(status_of(store, "P1", "E1"), HitStatus::Suppressed);

    // The party changes: the suppression lapses.
    let p1_changed = party("P1", 11);
    run(&p1_changed, &p2, first_hits(&p1_changed, &p2), 4_000);
    assert_eq!(status_of(store, "P1", "E1"), HitStatus::Open);
    // Decided again on the new digest; a true match stays a true match on re-runs.
    decide(store, e1, Decision::FalsePositive, 4_100);
    let e2 = hit_id(store, "P2", "E2");
    decide(store, e2, Decision::TrueMatch, 4_200);
    let summary = run(&p1_changed, &p2, first_hits(&p1_changed, &p2), 4_500);
    assert_eq!((summary.suppressed, summary.true_match), (1, 1));
    assert_eq!(status_of(store, "P2", "E2"), HitStatus::TrueMatch);

    // A hit a party's run no longer finds is closed.
    let summary = run(
        &p1_changed,
        &p2,
        vec![hit(&p1_changed, "E1", 1, 0.91), hit(&p2, "E2", 2, 0.75)],
        4_800,
    );
    assert_eq!(summary.closed, 1);
    assert_eq!(status_of(store, "P2", "E4"), HitStatus::Closed);
    run(&p1_changed, &p2, first_hits(&p1_changed, &p2), 4_900);
    assert_eq!(status_of(store, "P2", "E4"), HitStatus::Open, "found again");

    // Version 2: E1 changed (re-found: the suppression lapses), E2 removed (delisted), E4
    // changed and not re-found (closed), E3 added.
    let v2 = load(
        Some(version.id),
        vec![entry("E1", 3), entry("E3", 5), entry("E4", 6)],
        &[
            ("E1", Change::Changed),
            ("E2", Change::Removed),
            ("E3", Change::Added),
            ("E4", Change::Changed),
        ],
        vec![hit(&p1_changed, "E1", 3, 0.93)],
        5_000,
    );
    let summary = store.screen_load_list(&v2).unwrap();
    assert_eq!(
        (
            summary.open,
            summary.suppressed,
            summary.closed,
            summary.delisted
        ),
        (1, 0, 1, 1)
    );
    assert_eq!(status_of(store, "P1", "E1"), HitStatus::Open);
    assert_eq!(status_of(store, "P2", "E2"), HitStatus::Delisted);
    assert_eq!(status_of(store, "P2", "E4"), HitStatus::Closed);
    let versions = store.screen_list_versions().unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions[0].active && !versions[1].active);
    assert_eq!(versions[0].previous_id, Some(version.id));
    assert_eq!(
        (
            versions[0].n_added,
            versions[0].n_changed,
            versions[0].n_removed
        ),
        (1, 2, 1)
    );
    assert_eq!(
        store.screen_list_changes(versions[0].id).unwrap(),
        vec![
            ("E1".to_owned(), Change::Changed),
            ("E2".to_owned(), Change::Removed),
            ("E3".to_owned(), Change::Added),
            ("E4".to_owned(), Change::Changed),
        ]
    );

    // All or nothing: a load whose hit names an unknown party fails and changes nothing.
    let ghost = party("GHOST", 1);
    let broken = load(
        Some(versions[0].id),
        vec![entry("E1", 3)],
        &[("E3", Change::Removed), ("E4", Change::Removed)],
        vec![hit(&ghost, "E1", 3, 0.8)],
        6_000,
    );
    assert!(store.screen_load_list(&broken).is_err());
    drop(broken);
    let after = store.screen_list_versions().unwrap();
    assert_eq!(after, versions);
    assert_eq!(status_of(store, "P2", "E4"), HitStatus::Closed);
    assert_eq!(store.screen_known_parties().unwrap().len(), 2);

    // Everything is durable.
    let reopened = open();
    let known = reopened.screen_known_parties().unwrap();
    assert_eq!(known, vec![p1_changed.clone(), p2.clone()]);
    assert_eq!(reopened.screen_list_versions().unwrap(), versions);
    assert_eq!(status_of(&*reopened, "P2", "E2"), HitStatus::Delisted);
    assert_eq!(reopened.screen_dispositions(e1).unwrap().len(), 2);
}

#[test]
fn sqlite_screen_story() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("screen.sqlite");
    screen_story(&|| Box::new(caravan_store_sqlite::SqliteStore::open(&path).unwrap()));
}

#[test]
fn postgres_screen_story() {
    let Some(url) = caravan_testkit::pg::url("postgres_screen_story") else {
        return;
    };
    let schema = caravan_testkit::pg::TestSchema::new(&url, "screen_story");
    screen_story(&|| {
        Box::new(caravan_store_postgres::PgStore::connect_with_schema(&url, schema.name()).unwrap())
    });
}

fn record(id: &str, batch: u32, name: &str, cluster: u32) -> ResolutionRecordRow {
    ResolutionRecordRow {
        record_id: id.to_owned(),
        batch,
        name: name.to_owned(),
        country: Some("UZ".to_owned()),
        id_scheme: (id == "P3").then(|| "UZ_STIR".to_owned()),
        id_value: (id == "P3").then(|| "301234567".to_owned()),
        cluster_id: cluster,
    }
}

/// Entity resolution batches: recorded whole, in sequence only (a stale batch number writes
/// nothing), merges reassign the absorbed cluster's records, and all of it survives reopening.
fn resolution_story(open: Open<'_>) {
    let store = open();
    assert!(store.screen_resolution_records().unwrap().is_empty());
    let first = ResolutionBatch {
        batch: 0,
        resolved_at: 1_000,
        records: vec![
            record("P1", 0, "Toshkent Tekstil", 0),
            record("P2", 0, "Tashkent Textile", 0),
            record("P3", 0, "Samarqand Savdo", 2),
        ],
        reassigned: Vec::new(),
        merges: Vec::new(),
        n_clusters: 2,
        model: "{}".to_owned(),
    };
    store.screen_record_resolution(&first).unwrap();
    // The same batch number again: another resolution got there first.
    let err = store.screen_record_resolution(&first).unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(Conflict::StaleWrite { what, .. }) if what == "resolution batch"),
        "{err:?}"
    );
    // A batch that reassigns an unknown record is refused whole.
    let bad = ResolutionBatch {
        batch: 1,
        resolved_at: 2_000,
        records: vec![record("P4", 1, "Samarkand Trade", 2)],
        reassigned: vec![("P9".to_owned(), 0)],
        merges: Vec::new(),
        n_clusters: 2,
        model: "{}".to_owned(),
    };
    assert!(matches!(
        store.screen_record_resolution(&bad),
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.screen_resolution_records().unwrap().len(), 3);
    // Batch 1 adds a record that bridges the two entities: entity 2 is absorbed into 0.
    let merge = ResolutionMergeRow {
        batch: 1,
        kept: 0,
        absorbed: 2,
        via: ("P4".to_owned(), "P3".to_owned()),
        weight: 9.5,
    };
    store
        .screen_record_resolution(&ResolutionBatch {
            batch: 1,
            resolved_at: 2_000,
            records: vec![record("P4", 1, "Samarkand Trade", 0)],
            reassigned: vec![("P3".to_owned(), 0)],
            merges: vec![merge.clone()],
            n_clusters: 1,
            model: "{}".to_owned(),
        })
        .unwrap();
    drop(store);
    let store = open();
    let all = store.screen_resolution_records().unwrap();
    assert_eq!(
        all.iter()
            .map(|r| (r.record_id.as_str(), r.batch, r.cluster_id))
            .collect::<Vec<_>>(),
        vec![("P1", 0, 0), ("P2", 0, 0), ("P3", 0, 0), ("P4", 1, 0)]
    );
    assert_eq!(all[2].id_value.as_deref(), Some("301234567"));
    assert_eq!(store.screen_cluster(0).unwrap().len(), 4);
    assert!(store.screen_cluster(2).unwrap().is_empty());
    assert_eq!(store.screen_resolution_merges().unwrap(), vec![merge]);
}

#[test]
fn sqlite_resolution_story() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resolution.sqlite");
    resolution_story(&|| Box::new(caravan_store_sqlite::SqliteStore::open(&path).unwrap()));
}

#[test]
fn postgres_resolution_story() {
    let Some(url) = caravan_testkit::pg::url("postgres_resolution_story") else {
        return;
    };
    let schema = caravan_testkit::pg::TestSchema::new(&url, "resolution_story");
    resolution_story(&|| {
        Box::new(caravan_store_postgres::PgStore::connect_with_schema(&url, schema.name()).unwrap())
    });
}
