//! The store story: one scenario every backend must pass, step by step.
//!
//! Why one story rather than per-backend tests: the SQLite store is the reference, and
//! the only way to know PostgreSQL behaves the same is to ask both the same questions.
//! Each step asserts something a wrong backend could get wrong, and the expected counts
//! are derived from the fixtures, not typed in, so they stay right when fixtures change.
//!
//! A step never calls the store while one of its batches is open: backends hold their
//! connection for the batch's whole life, as the trait allows.

use std::collections::HashSet;

use caravan_store::rows::party_rows;
use caravan_store::{
    Conflict, DeclarationSummary, PutOutcome, Store, StoreCounts, StoreError, StoredDeclaration,
};

use crate::fixtures::{self, Prepared};

/// Opens the store under test. Called once at the start and again to "reopen" it (a new
/// connection, the same file or schema), which must find everything committed before.
pub type Opener<'a> = &'a dyn Fn() -> Result<Box<dyn Store>, StoreError>;

/// Declarations in the large batches: more than one PostgreSQL flush (2,000), so keys are
/// looked up both in the unflushed buffer and among rows written earlier in the batch.
pub const LARGE_BATCH: usize = 2_050;

/// Runs the whole story against the store `open` gives.
///
/// # Panics
/// On the first assertion that fails, naming the step.
pub fn story(open: Opener<'_>) {
    let store = open().unwrap_or_else(|err| panic!("open store: {err}"));
    let mut story = Story {
        store,
        open,
        expected: Expected::default(),
        stored: Vec::new(),
    };
    story.step("empty", Story::empty);
    story.step("first batch", Story::first_batch);
    story.step("read back", Story::read_back);
    story.step("identical re-put is a replay", Story::replay);
    story.step(
        "different content, same key, is a conflict",
        Story::conflict,
    );
    story.step("dropped batch leaves nothing", Story::dropped_batch);
    story.step("duplicates within one batch", Story::duplicate_within_batch);
    story.step("large batches across flushes", Story::large_batch);
    story.step("list is newest first", Story::listing);
    story.step("audit trail counts runs", Story::audit);
    story.step("reopen finds everything", Story::reopen);
}

/// What the store should hold, derived from what was committed.
#[derive(Default)]
struct Expected {
    counts: StoreCounts,
    party_keys: HashSet<String>,
}

impl Expected {
    fn add(&mut self, p: &Prepared) {
        let c = &mut self.counts;
        c.declarations += 1;
        match p.declaration.header.direction.as_str() {
            "import" => c.imports += 1,
            "export" => c.exports += 1,
            _ => {}
        }
        c.items += p.declaration.items.len() as u64;
        c.parties += p.declaration.parties.len() as u64;
        c.containers += p.declaration.transport.equipment.len() as u64;
        c.warnings += p.warnings();
        for row in party_rows(&p.declaration) {
            // The same linking key the backends compute in SQL.
            let key = match (&row.id_value, row.id_scheme) {
                (Some(value), Some(scheme)) => format!("{scheme}:{value}"),
                _ => format!("name:{}", row.name_key.unwrap_or_default()),
            };
            self.party_keys.insert(key);
        }
        c.distinct_parties = self.party_keys.len() as u64;
    }
}

struct Story<'a> {
    store: Box<dyn Store>,
    open: Opener<'a>,
    expected: Expected,
    /// Everything committed, with the id and run it got.
    stored: Vec<(Prepared, i64, i64)>,
}

fn inserted(outcome: Result<PutOutcome, StoreError>, what: &str) -> i64 {
    match outcome {
        Ok(PutOutcome::Inserted(id)) => id,
        other => panic!("{what}: expected Inserted, got {other:?}"),
    }
}

fn is_conflict(outcome: Result<PutOutcome, StoreError>, p: &Prepared, what: &str) {
    let (declarant, lrn) = p.key();
    match outcome {
        Err(StoreError::Conflict(Conflict::DuplicateReference {
            declarant: d,
            lrn: l,
        })) => {
            assert_eq!((d, l), (declarant, lrn), "{what}: conflict names the key");
        }
        other => panic!("{what}: expected a DuplicateReference conflict, got {other:?}"),
    }
}

impl Story<'_> {
    fn step(&mut self, name: &str, step: fn(&mut Self)) {
        eprintln!("store story: {name}");
        step(self);
    }

    fn counts(&self) -> StoreCounts {
        self.store
            .counts()
            .unwrap_or_else(|err| panic!("counts: {err}"))
    }

    fn assert_counts(&self, when: &str) {
        assert_eq!(self.counts(), self.expected.counts, "counts {when}");
    }

    fn read(&self, p: &Prepared) -> Result<StoredDeclaration, StoreError> {
        let (declarant, lrn) = p.key();
        self.store.declaration(&declarant, &lrn)
    }

    fn assert_absent(&self, p: &Prepared, when: &str) {
        match self.read(p) {
            Err(StoreError::NotFound) => {}
            other => panic!("{when}: {:?} should be absent, got {other:?}", p.key()),
        }
    }

    fn empty(&mut self) {
        self.assert_counts("of a new store");
        assert_eq!(self.expected.counts, StoreCounts::default());
        let listed = self
            .store
            .list(10, 0)
            .unwrap_or_else(|err| panic!("list: {err}"));
        assert!(listed.is_empty(), "a new store lists nothing: {listed:?}");
        self.store
            .ping()
            .unwrap_or_else(|err| panic!("ping: {err}"));
        match self
            .store
            .declaration(fixtures::DECLARANT_ID, "NO-SUCH-LRN")
        {
            Err(StoreError::NotFound) => {}
            other => panic!("unknown key: expected NotFound, got {other:?}"),
        }
    }

    fn first_batch(&mut self) {
        let fixtures = [
            fixtures::prepare(&fixtures::import_draft("STORY-IM-1", false), 1),
            fixtures::prepare(&fixtures::import_draft("STORY-IM-2", true), 2),
            fixtures::prepare(&fixtures::export_draft("STORY-EX-1"), 3),
        ];
        // The fixtures must exercise what the counts check.
        assert!(
            fixtures.iter().map(Prepared::warnings).sum::<u64>() >= 2,
            "fixtures carry warnings"
        );
        assert!(
            fixtures
                .iter()
                .any(|p| p.declaration.header.direction.as_str() == "export")
        );

        let mut batch = self
            .store
            .begin_ingest(&fixtures::source("story-1.json"))
            .expect("begin");
        let mut ids = Vec::new();
        for p in &fixtures {
            ids.push(inserted(batch.put(&p.record()), "first batch put"));
        }
        let summary = batch.commit().expect("commit first batch");
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids grow in put order: {ids:?}"
        );
        assert_eq!(summary.inserted, 3);
        assert_eq!(summary.replayed, 0);
        assert_eq!(
            summary.items,
            fixtures
                .iter()
                .map(|p| p.declaration.items.len() as u64)
                .sum::<u64>()
        );
        assert!(summary.run_id > 0);

        self.expected.counts.runs += 1;
        for (p, id) in fixtures.into_iter().zip(ids) {
            self.expected.add(&p);
            self.stored.push((p, id, summary.run_id));
        }
        self.assert_counts("after the first batch");
        let c = self.counts();
        assert_eq!((c.declarations, c.imports, c.exports), (3, 2, 1));
        assert_eq!((c.items, c.parties, c.containers), (8, 13, 4));
    }

    fn read_back(&mut self) {
        for (p, id, run_id) in &self.stored {
            let got = self
                .read(p)
                .unwrap_or_else(|err| panic!("read {:?}: {err}", p.key()));
            assert_eq!(got.id, *id, "id of {:?}", p.key());
            assert_eq!(got.run_id, *run_id, "run of {:?}", p.key());
            assert!(
                got.document == p.document,
                "document bytes of {:?} differ",
                p.key()
            );
            assert_eq!(got.digest, p.digest, "digest of {:?}", p.key());
            assert_eq!(
                got.findings,
                p.stored_findings(),
                "findings of {:?}",
                p.key()
            );
        }
    }

    fn replay(&mut self) {
        let (p, id, run_id) = self.stored[0].clone();
        let mut batch = self
            .store
            .begin_ingest(&fixtures::source("story-replay.json"))
            .expect("begin");
        match batch.put(&p.record()) {
            Ok(PutOutcome::Replayed(got)) => assert_eq!(got, id, "replay names the original id"),
            other => panic!("identical re-put: expected Replayed({id}), got {other:?}"),
        }
        let summary = batch.commit().expect("commit replay batch");
        assert_eq!(
            (summary.inserted, summary.replayed, summary.items),
            (0, 1, 0)
        );
        self.expected.counts.runs += 1;
        self.assert_counts("after a replay (only the run is new)");
        let got = self.read(&p).expect("read replayed");
        assert_eq!(
            (got.id, got.run_id),
            (id, run_id),
            "a replay rewrites nothing"
        );
    }

    fn conflict(&mut self) {
        let before = self.counts();
        let fresh = fixtures::prepare(&fixtures::import_draft("STORY-CONFLICT-NEW", false), 1);
        let original = &self.stored[0].0;
        let clash = fixtures::prepare(
            &fixtures::altered(&fixtures::import_draft("STORY-IM-1", false)),
            2,
        );
        assert_eq!(clash.key(), original.key());
        assert_ne!(clash.digest, original.digest);
        {
            let mut batch = self
                .store
                .begin_ingest(&fixtures::source("story-conflict.json"))
                .expect("begin");
            inserted(
                batch.put(&fresh.record()),
                "fresh record before the conflict",
            );
            is_conflict(
                batch.put(&clash.record()),
                &clash,
                "same key, different content",
            );
            // Dropped: the caller abandons a batch after a conflict.
        }
        assert_eq!(
            self.counts(),
            before,
            "a dropped conflicting batch leaves the store unchanged"
        );
        self.assert_absent(&fresh, "after the conflicting batch");
        let got = self.read(original).expect("original still readable");
        assert_eq!(got.digest, original.digest, "the original is untouched");
    }

    fn dropped_batch(&mut self) {
        let before = self.counts();
        let records = [
            fixtures::prepare(&fixtures::import_draft("STORY-DROPPED-1", false), 1),
            fixtures::prepare(&fixtures::export_draft("STORY-DROPPED-2"), 2),
        ];
        {
            let mut batch = self
                .store
                .begin_ingest(&fixtures::source("story-dropped.json"))
                .expect("begin");
            for p in &records {
                inserted(batch.put(&p.record()), "dropped batch put");
            }
        }
        assert_eq!(
            self.counts(),
            before,
            "a dropped batch leaves nothing, not even its run"
        );
        for p in &records {
            self.assert_absent(p, "after a dropped batch");
        }
    }

    fn duplicate_within_batch(&mut self) {
        let first = fixtures::prepare(&fixtures::export_draft("STORY-DUP-1"), 1);
        let again = fixtures::prepare(&fixtures::export_draft("STORY-DUP-1"), 2);
        let clash = fixtures::prepare(
            &fixtures::altered(&fixtures::export_draft("STORY-DUP-1")),
            3,
        );
        let second = fixtures::prepare(&fixtures::import_draft("STORY-DUP-2", true), 4);
        assert_eq!(first.digest, again.digest);

        let before = self.counts();
        {
            let mut batch = self
                .store
                .begin_ingest(&fixtures::source("story-dup-a.json"))
                .expect("begin");
            let id = inserted(batch.put(&first.record()), "first of a pair");
            match batch.put(&again.record()) {
                Ok(PutOutcome::Replayed(got)) => assert_eq!(got, id),
                other => {
                    panic!("in-batch identical duplicate: expected Replayed({id}), got {other:?}")
                }
            }
            is_conflict(
                batch.put(&clash.record()),
                &clash,
                "in-batch different duplicate",
            );
        }
        assert_eq!(self.counts(), before, "dropped after an in-batch conflict");

        let mut batch = self
            .store
            .begin_ingest(&fixtures::source("story-dup-b.json"))
            .expect("begin");
        let id1 = inserted(batch.put(&first.record()), "first of a pair");
        match batch.put(&again.record()) {
            Ok(PutOutcome::Replayed(got)) => assert_eq!(got, id1),
            other => {
                panic!("in-batch identical duplicate: expected Replayed({id1}), got {other:?}")
            }
        }
        let id2 = inserted(batch.put(&second.record()), "after the replay");
        let summary = batch.commit().expect("commit");
        assert_eq!((summary.inserted, summary.replayed), (2, 1));
        self.expected.counts.runs += 1;
        self.expected.add(&first);
        self.expected.add(&second);
        self.stored.push((first, id1, summary.run_id));
        self.stored.push((second, id2, summary.run_id));
        self.assert_counts("after a batch with an in-batch replay");
    }

    fn large_batch(&mut self) {
        // A declarant new to the store: a backend may answer its keys from memory, and
        // must still see keys it flushed earlier in the batch.
        let mut template = fixtures::import_draft("", false);
        for party in template.parties.iter_mut().filter(|p| p.role == "DT") {
            party.id = Some("US-DECLARANT-LARGE".to_owned());
        }
        let template = template;
        let make = |n: usize| {
            let mut draft = template.clone();
            draft.header.lrn = format!("STORY-L-{n:05}");
            fixtures::prepare(&draft, n as u64 + 1)
        };
        let records: Vec<Prepared> = (0..LARGE_BATCH).map(make).collect();
        let before = self.counts();
        {
            let mut batch = self
                .store
                .begin_ingest(&fixtures::source("story-large-a.json"))
                .expect("begin");
            let mut first_id = 0;
            for (n, p) in records.iter().enumerate() {
                let id = inserted(batch.put(&p.record()), "large batch put");
                if n == 0 {
                    first_id = id;
                }
            }
            // Record 0 has long been flushed by a backend that buffers.
            match batch.put(&records[0].record()) {
                Ok(PutOutcome::Replayed(got)) => assert_eq!(got, first_id),
                other => panic!(
                    "replay of an early record: expected Replayed({first_id}), got {other:?}"
                ),
            }
            let clash = fixtures::prepare(
                &fixtures::altered(&template_with(&template, "STORY-L-00001")),
                9,
            );
            is_conflict(
                batch.put(&clash.record()),
                &clash,
                "conflict with an early record",
            );
            // And one still buffered.
            let last = LARGE_BATCH - 1;
            let clash = fixtures::prepare(
                &fixtures::altered(&template_with(&template, &format!("STORY-L-{last:05}"))),
                10,
            );
            is_conflict(
                batch.put(&clash.record()),
                &clash,
                "conflict with a recent record",
            );
        }
        assert_eq!(
            self.counts(),
            before,
            "a dropped large batch leaves nothing"
        );
        self.assert_absent(&records[0], "after a dropped large batch");

        let mut batch = self
            .store
            .begin_ingest(&fixtures::source("story-large-b.json"))
            .expect("begin");
        let mut ids = Vec::with_capacity(records.len());
        for p in &records {
            ids.push(inserted(batch.put(&p.record()), "large batch put"));
        }
        let summary = batch.commit().expect("commit large batch");
        assert_eq!(summary.inserted, LARGE_BATCH as u64);
        assert_eq!(summary.items, 3 * LARGE_BATCH as u64);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow in put order");
        self.expected.counts.runs += 1;
        for (p, id) in records.into_iter().zip(ids) {
            self.expected.add(&p);
            self.stored.push((p, id, summary.run_id));
        }
        self.assert_counts("after the large batch");
        // Spot-check rows from either side of the first flush.
        for n in [0, 1_999, 2_000, LARGE_BATCH - 1] {
            let (p, id, _) = &self.stored[self.stored.len() - LARGE_BATCH + n];
            let got = self.read(p).expect("read large batch record");
            assert_eq!(got.id, *id);
            assert_eq!(got.digest, p.digest);
        }
    }

    fn listing(&mut self) {
        let top = self.store.list(3, 0).expect("list");
        let newest: Vec<&(Prepared, i64, i64)> = self.stored.iter().rev().take(3).collect();
        assert_eq!(top.len(), 3);
        for (row, (p, id, _)) in top.iter().zip(&newest) {
            let want = DeclarationSummary {
                id: *id,
                type_code: p.declaration.header.type_code.clone(),
                direction: p.declaration.header.direction.as_str().to_owned(),
                declarant: p.key().0,
                lrn: p.key().1,
                items: p.declaration.items.len() as u64,
                warnings: p.warnings(),
            };
            assert_eq!(row, &want, "listing row");
        }
        let page = self.store.list(2, 1).expect("list page");
        assert_eq!(
            page.as_slice(),
            &top[1..3],
            "offset pages through the same order"
        );
        let all = self.store.list(u32::MAX, 0).expect("list all");
        assert_eq!(all.len() as u64, self.expected.counts.declarations);
        assert!(
            all.windows(2).all(|w| w[0].id > w[1].id),
            "newest (highest id) first"
        );
        let beyond = self.store.list(10, all.len() as u32).expect("list beyond");
        assert!(beyond.is_empty());
    }

    fn audit(&mut self) {
        // Four committed batches; the dropped and conflicting ones left no run behind.
        assert_eq!(self.expected.counts.runs, 4);
        assert_eq!(self.counts().runs, 4, "one ingest run per committed batch");
    }

    fn reopen(&mut self) {
        let store = (self.open)().unwrap_or_else(|err| panic!("reopen: {err}"));
        self.store = store;
        self.assert_counts("after reopening");
        // Opening again applies no migration twice, with another handle still open.
        let other = (self.open)().unwrap_or_else(|err| panic!("open a second time: {err}"));
        assert_eq!(other.counts().expect("counts"), self.expected.counts);
        drop(other);
        let sample: Vec<usize> = vec![0, 1, 2, 3, 4, self.stored.len() - 1];
        for n in sample {
            let (p, id, run_id) = &self.stored[n];
            let got = self.read(p).expect("read after reopen");
            assert_eq!((got.id, got.run_id, got.digest), (*id, *run_id, p.digest));
            assert!(got.document == p.document);
            assert_eq!(got.findings, p.stored_findings());
        }
        // The reopened store keeps ingesting, after every id handed out before.
        let max_id = self.stored.iter().map(|(_, id, _)| *id).max().unwrap_or(0);
        let p = fixtures::prepare(&fixtures::export_draft("STORY-AFTER-REOPEN"), 1);
        let mut batch = self
            .store
            .begin_ingest(&fixtures::source("story-reopen.json"))
            .expect("begin");
        let id = inserted(batch.put(&p.record()), "put after reopen");
        let replay = fixtures::prepare(&fixtures::import_draft("STORY-IM-1", false), 2);
        match batch.put(&replay.record()) {
            Ok(PutOutcome::Replayed(got)) => assert_eq!(got, self.stored[0].1),
            other => panic!("replay after reopen: got {other:?}"),
        }
        let summary = batch.commit().expect("commit after reopen");
        assert!(
            id > max_id,
            "new id {id} after all earlier ids (max {max_id})"
        );
        self.expected.counts.runs += 1;
        self.expected.add(&p);
        self.stored.push((p, id, summary.run_id));
        self.assert_counts("after a batch on the reopened store");
    }
}

fn template_with(
    template: &caravan_domain::declaration::draft::DeclarationDraft,
    lrn: &str,
) -> caravan_domain::declaration::draft::DeclarationDraft {
    let mut draft = template.clone();
    draft.header.lrn = lrn.to_owned();
    draft
}
