//! The mirror-run store story on both backends: a run is written whole or not at all,
//! reads back exactly, pages and filters (pattern, HS prefix, direction) select what
//! they say and nothing that merely resembles it, and unknown ids are `NotFound`.

use caravan_store::mirror::{LinkFilter, MirrorGap, NewMirrorFinding, NewMirrorLink, NewMirrorRun};
use caravan_store::{Store, StoreError};

fn link(direction: &str, tier: &str, hs6: &str, score: f64, flags: &[&str]) -> NewMirrorLink {
    NewMirrorLink {
        direction: direction.to_owned(),
        tier: tier.to_owned(),
        cardinality: if tier.starts_with("unmatched") {
            ""
        } else {
            "1:1"
        }
        .to_owned(),
        confidence: (!tier.starts_with("unmatched")).then_some(0.9731),
        hs6: Some(hs6.to_owned()),
        export_lrns: format!("EX-{hs6}"),
        import_lrns: if tier.starts_with("unmatched") {
            String::new()
        } else {
            format!("IM-{hs6};IM-{hs6}-B")
        },
        log_gap: (!tier.starts_with("unmatched")).then_some(-std::f64::consts::LN_2),
        score,
        flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        evidence: r#"[{"kind":"transport_document","value":"MAEU123"}]"#.to_owned(),
        discrepancy: r#"{"log_gap":-0.69,"issues":[]}"#.to_owned(),
        exports: format!(r#"[{{"lrn":"EX-{hs6}","reporter":"US"}}]"#),
        imports: "[]".to_owned(),
    }
}

fn finding(link_seq: u32, kind: &str, score: f64) -> NewMirrorFinding {
    NewMirrorFinding {
        link_seq,
        kind: kind.to_owned(),
        score,
        hs6: Some("610910".to_owned()),
        declarations: r#"[{"reporter":"US","declarant":"","lrn":"EX-610910"}]"#.to_owned(),
        detail: "g = -0.69 against a cell median of 0.02 (robust z -5.1)".to_owned(),
    }
}

fn gap(group_by: &str, key: &str, links: u64) -> MirrorGap {
    MirrorGap {
        group_by: group_by.to_owned(),
        direction: "US-UZ".to_owned(),
        key: key.to_owned(),
        links,
        unmatched_exports: 1,
        unmatched_imports: 0,
        export_fob: 1000.5,
        import_fob: 800.25,
        gap: -200.25,
        weighted_gap: -190.0,
        median_log_gap: -0.125,
        unmatched_export_value: 55.0,
    }
}

fn run(created_at: u64) -> NewMirrorRun {
    NewMirrorRun {
        created_at,
        exports_source: "node".to_owned(),
        imports_source: "node".to_owned(),
        summary: r#"{"directions":[]}"#.to_owned(),
        links: vec![
            link("US-UZ", "exact_transport", "610910", 0.0, &[]),
            link(
                "US-UZ",
                "fuzzy",
                "610910",
                0.81,
                &["party_change", "undervaluation"],
            ),
            link(
                "UZ-US",
                "unmatched_export",
                "847130",
                0.55,
                &["phantom_export"],
            ),
            link("UZ-US", "exact_ucr", "5%_x", 0.2, &["overvaluation"]),
        ],
        findings: vec![
            finding(1, "undervaluation", 0.81),
            finding(1, "party_change", 0.4),
            finding(2, "phantom_export", 0.55),
            finding(3, "overvaluation", 0.2),
        ],
        gaps: vec![
            gap("partner", "", 3),
            gap("chapter", "61", 2),
            gap("chapter", "01", 1),
            gap("month", "2024-03", 2),
        ],
    }
}

fn lrns(page: &caravan_store::mirror::LinkPage) -> Vec<u32> {
    page.links.iter().map(|l| l.seq).collect()
}

fn mirror_story(open: &dyn Fn() -> Result<Box<dyn Store>, StoreError>) {
    let store = open().unwrap();
    let first = store.put_mirror_run(&run(1_700_000_000_000)).unwrap();
    let second = store.put_mirror_run(&run(1_700_000_100_000)).unwrap();
    assert_ne!(first, second);

    // Runs: newest first, counts as written.
    let runs = store.mirror_runs(10, 0).unwrap();
    assert_eq!(
        runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![second, first]
    );
    assert_eq!(runs[1].created_at, 1_700_000_000_000);
    assert_eq!((runs[1].links, runs[1].findings), (4, 4));
    assert_eq!(store.mirror_runs(1, 1).unwrap()[0].id, first);
    assert_eq!(store.mirror_run(first).unwrap(), runs[1]);
    assert!(matches!(
        store.mirror_run(first + 1000),
        Err(StoreError::NotFound)
    ));

    // Links: highest score first, then run order; exact round trip.
    let all = store
        .mirror_links(first, &LinkFilter::default(), 100, 0)
        .unwrap();
    assert_eq!(all.total, 4);
    assert_eq!(lrns(&all), vec![1, 2, 3, 0]);
    let written = run(0);
    for row in &all.links {
        assert_eq!(row.run_id, first);
        assert_eq!(row.link, written.links[row.seq as usize]);
        assert_eq!(store.mirror_link(row.id).unwrap(), *row);
    }
    let page = store
        .mirror_links(first, &LinkFilter::default(), 2, 2)
        .unwrap();
    assert_eq!((page.total, lrns(&page)), (4, vec![3, 0]));

    let filtered = |filter: LinkFilter| lrns(&store.mirror_links(first, &filter, 100, 0).unwrap());
    let pattern = |p: &str| LinkFilter {
        pattern: Some(p.to_owned()),
        ..LinkFilter::default()
    };
    assert_eq!(filtered(pattern("undervaluation")), vec![1]);
    assert_eq!(filtered(pattern("party_change")), vec![1]);
    // A pattern matches a whole kind, never part of one, and wildcards are literal.
    assert_eq!(filtered(pattern("valuation")), Vec::<u32>::new());
    assert_eq!(filtered(pattern("%")), Vec::<u32>::new());
    let hs = |h: &str| LinkFilter {
        hs: Some(h.to_owned()),
        ..LinkFilter::default()
    };
    assert_eq!(filtered(hs("61")), vec![1, 0]);
    assert_eq!(filtered(hs("6109")), vec![1, 0]);
    assert_eq!(filtered(hs("847130")), vec![2]);
    assert_eq!(filtered(hs("5%")), vec![3]);
    assert_eq!(filtered(hs("%")), Vec::<u32>::new());
    assert_eq!(filtered(hs("_")), Vec::<u32>::new());
    assert_eq!(
        filtered(LinkFilter {
            direction: Some("UZ-US".to_owned()),
            ..LinkFilter::default()
        }),
        vec![2, 3]
    );
    assert_eq!(
        filtered(LinkFilter {
            flagged_only: true,
            direction: Some("US-UZ".to_owned()),
            ..LinkFilter::default()
        }),
        vec![1]
    );
    assert!(matches!(
        store.mirror_links(first + 1000, &LinkFilter::default(), 10, 0),
        Err(StoreError::NotFound)
    ));

    // Findings hang on their link, highest score first.
    let flagged = &all.links[0];
    let findings = store.mirror_link_findings(flagged.id).unwrap();
    assert_eq!(
        findings
            .iter()
            .map(|f| f.finding.kind.as_str())
            .collect::<Vec<_>>(),
        vec!["undervaluation", "party_change"]
    );
    assert!(
        findings
            .iter()
            .all(|f| f.link_id == flagged.id && f.run_id == first)
    );
    assert_eq!(findings[0].finding, written.findings[0]);
    assert_eq!(store.mirror_finding(findings[1].id).unwrap(), findings[1]);
    assert!(matches!(
        store.mirror_finding(-1),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(store.mirror_link(-1), Err(StoreError::NotFound)));
    assert!(store.mirror_link_findings(-1).unwrap().is_empty());

    // Aggregates by grouping, ordered by direction and key.
    let chapters = store.mirror_gaps(first, "chapter").unwrap();
    assert_eq!(
        chapters,
        vec![gap("chapter", "01", 1), gap("chapter", "61", 2)]
    );
    assert_eq!(
        store.mirror_gaps(first, "partner").unwrap(),
        vec![gap("partner", "", 3)]
    );
    assert!(store.mirror_gaps(first, "hs6").unwrap().is_empty());
    assert!(matches!(
        store.mirror_gaps(first + 1000, "chapter"),
        Err(StoreError::NotFound)
    ));

    // A run that fails anywhere leaves nothing behind: a finding pointing past the links
    // is refused before writing, and a duplicate aggregate key fails on the last insert.
    let mut bad = run(1_700_000_200_000);
    bad.findings.push(finding(9, "undervaluation", 0.5));
    assert!(store.put_mirror_run(&bad).is_err());
    let mut bad = run(1_700_000_300_000);
    bad.gaps.push(gap("chapter", "61", 7));
    assert!(store.put_mirror_run(&bad).is_err());
    let mut bad = run(1_700_000_400_000);
    bad.gaps[0].group_by = "week".to_owned();
    assert!(store.put_mirror_run(&bad).is_err());
    assert_eq!(store.mirror_runs(10, 0).unwrap().len(), 2);
    let last_link = store
        .mirror_links(second, &LinkFilter::default(), 100, 0)
        .unwrap()
        .links
        .iter()
        .map(|l| l.id)
        .max()
        .unwrap();
    assert!(matches!(
        store.mirror_link(last_link + 1),
        Err(StoreError::NotFound)
    ));
    drop(store);

    // Durable: a fresh handle reads the same runs.
    let store = open().unwrap();
    assert_eq!(store.mirror_runs(10, 0).unwrap(), runs);
    assert_eq!(
        store
            .mirror_links(first, &LinkFilter::default(), 100, 0)
            .unwrap(),
        all
    );
}

/// Node mode reads local exports and partner imports apart, by provenance and direction,
/// paging by id without skipping or repeating.
fn inputs_story(store: &dyn Store) {
    use caravan_testkit::fixtures::{export_draft, import_draft, prepare, source};
    let mut local = source("local.json");
    local.provenance = caravan_domain::declaration::validate::Provenance::Local;
    let drafts = [
        (local.clone(), export_draft("EX-1")),
        (source("partner.json"), import_draft("IM-1", false)),
        (local.clone(), import_draft("IM-LOCAL", false)),
        (source("partner.json"), import_draft("IM-2", true)),
        (local, export_draft("EX-2")),
    ];
    for (n, (src, draft)) in drafts.iter().enumerate() {
        let prepared = prepare(draft, n as u64);
        let mut batch = store.begin_ingest(src).unwrap();
        batch.put(&prepared.record()).unwrap();
        batch.commit().unwrap();
    }
    let lrns = |provenance: &str, direction: &str, page: u32| {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let rows = store
                .mirror_inputs(provenance, direction, after, page)
                .unwrap();
            assert!(rows.len() <= page as usize);
            let Some(last) = rows.last() else { break };
            assert!(last.0 > after);
            after = last.0;
            for (_, document) in rows {
                let text = String::from_utf8(document).unwrap();
                let lrn = ["EX-1", "EX-2", "IM-1", "IM-2", "IM-LOCAL"]
                    .into_iter()
                    .find(|l| text.contains(&format!("\"{l}\"")))
                    .unwrap();
                out.push(lrn);
            }
        }
        out
    };
    assert_eq!(lrns("local", "export", 1), vec!["EX-1", "EX-2"]);
    assert_eq!(lrns("partner", "import", 1), vec!["IM-1", "IM-2"]);
    assert_eq!(lrns("partner", "import", 10), vec!["IM-1", "IM-2"]);
    assert_eq!(lrns("local", "import", 10), vec!["IM-LOCAL"]);
    assert!(lrns("partner", "export", 10).is_empty());
}

#[test]
fn sqlite_mirror_story() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror.sqlite");
    mirror_story(&|| {
        caravan_store_sqlite::SqliteStore::open(&path).map(|s| Box::new(s) as Box<dyn Store>)
    });
    inputs_story(&caravan_store_sqlite::SqliteStore::open(&path).unwrap());
}

#[test]
fn postgres_mirror_story() {
    let Some(url) = caravan_testkit::pg::url("postgres_mirror_story") else {
        return;
    };
    let schema = caravan_testkit::pg::TestSchema::new(&url, "mirror_story");
    mirror_story(&|| {
        caravan_store_postgres::PgStore::connect_with_schema(&url, schema.name())
            .map(|s| Box::new(s) as Box<dyn Store>)
    });
    inputs_story(
        &caravan_store_postgres::PgStore::connect_with_schema(&url, schema.name()).unwrap(),
    );
}
