//! The log story: one scenario every [`LogStore`] backend must pass, and the helpers the
//! log crash tests share with it.
//!
//! Why a story and a reference tree: a log store only keeps bytes, so the way to know it
//! kept the right ones is to compare it, after every batch, with `caravan-tlog`'s
//! [`MemoryTree`], which stores every node hash the same way. Roots and proofs are
//! computed from the store through [`StoreHashReader`], exactly as the appender and the
//! tile server will, and verified with the RFC 9162 verifiers. Batch sizes come from a
//! fixed-seed generator, so a failure replays.

use caravan_store::log::{
    Appended, Hash, LogHead, LogStore, NodeAddr, StoreHashReader, StoredCheckpoint, Witnessed,
};
use caravan_store::{Conflict, Store, StoreError};
use caravan_tlog::fsck::{FsckError, FsckReport, fsck};
use caravan_tlog::rfc6962::{
    self, EMPTY_ROOT, MemoryTree, leaf_hash, nodes_to_store, tree_hash, verify_consistency,
    verify_inclusion,
};

use crate::story::Opener;

/// The origin of the log the story writes.
pub const ORIGIN: &str = "caravan.test.example/us-uz-story";
/// A second origin, to show logs do not see each other.
pub const OTHER_ORIGIN: &str = "caravan.test.example/other";
/// A partner origin this node witnesses.
pub const PARTNER_ORIGIN: &str = "caravan.partner.example/uz-us-story";

/// A small deterministic generator (SplitMix64), so batch sizes replay.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The deterministic entry at `index`: a few hundred bytes, length varying with the index.
pub fn entry(index: u64) -> Vec<u8> {
    let mut e = format!("caravan test entry {index:012}|").into_bytes();
    e.resize(200 + (index % 97) as usize, b'a' + (index % 26) as u8);
    e
}

/// Appends `entries` at `expected_size` the way the appender does: leaf hashes, then
/// `nodes_to_store` over the stored right edge, then one durable append.
pub fn append_entries(
    store: &dyn LogStore,
    origin: &str,
    expected_size: u64,
    entries: &[Vec<u8>],
) -> Result<Appended, StoreError> {
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let reader = StoreHashReader::new(store, origin);
    let nodes = nodes_to_store(expected_size, &leaves, &reader)
        .map_err(|err| StoreError::Other(format!("compute nodes to store: {err}")))?;
    store.append(origin, expected_size, entries, &leaves, &nodes)
}

/// Runs `caravan_tlog::fsck` over a stored log: leaf hashes recomputed from the stored
/// entries, every stored node compared with the recomputed one.
///
/// # Panics
/// If the head or the entries cannot be read.
pub fn fsck_log(store: &dyn LogStore, origin: &str) -> Result<FsckReport, FsckError> {
    let size = store.open_log(origin).expect("read log head").size;
    let mut leaves = Vec::with_capacity(size as usize);
    let mut start = 0;
    while start < size {
        let chunk = store.entries(origin, start, 4096).expect("read entries");
        assert!(!chunk.is_empty(), "entries from {start} of {size} missing");
        start += chunk.len() as u64;
        leaves.extend(chunk.iter().map(|e| leaf_hash(e)));
    }
    fsck(&StoreHashReader::new(store, origin), leaves)
}

/// Runs the whole log story against the store `open` gives.
///
/// # Panics
/// On the first assertion that fails, naming the step.
pub fn log_story(open: Opener<'_>) {
    let store = open().unwrap_or_else(|err| panic!("open store: {err}"));
    let mut story = LogStory {
        store,
        open,
        tree: MemoryTree::new(),
        rng: Rng::new(0x00ca_5a7a),
        roots: vec![EMPTY_ROOT],
    };
    story.step("open_log is idempotent", LogStory::open_idempotent);
    story.step("batches of random size match MemoryTree", LogStory::batches);
    story.step("stale expected size is a conflict", LogStory::size_conflict);
    story.step("malformed appends write nothing", LogStory::malformed);
    story.step("entry ranges", LogStory::entry_ranges);
    story.step("checkpoints only move forward", LogStory::checkpoints);
    story.step(
        "an append and its checkpoint commit together or not at all",
        LogStory::append_checkpointed,
    );
    story.step("witnessed state is compare-and-set", LogStory::witnessed);
    story.step("alarms round-trip", LogStory::alarms);
    story.step("reopen finds everything", LogStory::reopen);
}

struct LogStory<'a> {
    store: Box<dyn Store>,
    open: Opener<'a>,
    /// The reference: what the store must hold.
    tree: MemoryTree,
    rng: Rng,
    /// Root at every size so far, `roots[n]` for size `n`.
    roots: Vec<Hash>,
}

impl LogStory<'_> {
    fn step(&mut self, name: &str, step: fn(&mut Self)) {
        eprintln!("log story: {name}");
        step(self);
    }

    fn log(&self) -> &dyn LogStore {
        &*self.store
    }

    fn head(&self) -> LogHead {
        self.log().open_log(ORIGIN).expect("open_log")
    }

    fn open_idempotent(&mut self) {
        let head = self.head();
        assert_eq!(
            head,
            LogHead {
                size: 0,
                checkpoint: None
            }
        );
        assert_eq!(self.head(), head, "a second open_log changes nothing");
        assert_eq!(
            self.log().open_log(OTHER_ORIGIN).expect("other log").size,
            0
        );
        let reader = StoreHashReader::new(self.log(), ORIGIN);
        assert_eq!(tree_hash(0, &reader).expect("empty root"), EMPTY_ROOT);
        // A log that was never opened does not exist.
        assert!(matches!(
            self.log().entries("caravan.test.example/never", 0, 1),
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            append_entries(self.log(), "caravan.test.example/never", 0, &[entry(0)]),
            Err(StoreError::NotFound)
        ));
    }

    /// Appends one batch of `n` entries and checks root and proofs against the reference.
    fn append_checked(&mut self, n: u64) {
        let old = self.tree.size();
        let entries: Vec<Vec<u8>> = (old..old + n).map(entry).collect();
        let appended = append_entries(self.log(), ORIGIN, old, &entries).expect("append");
        assert_eq!(appended.first_index, old);
        assert_eq!(appended.size, old + n);
        for e in &entries {
            self.tree.append(e);
        }
        let size = self.tree.size();
        for at in self.roots.len() as u64..=size {
            self.roots
                .push(self.tree.root_at(at).expect("reference root"));
        }
        let root = self.tree.root();
        let (pick, from_pick) = (self.rng.next_u64(), self.rng.next_u64());
        let reader = StoreHashReader::new(&*self.store, ORIGIN);
        assert_eq!(
            tree_hash(size, &reader).expect("stored root"),
            root,
            "root at {size}"
        );
        assert_eq!(self.head().size, size);
        if size == 0 {
            return;
        }
        // Inclusion: the new entries, the first and a random one.
        let mut indices = vec![0, size - 1, pick % size, old.min(size - 1)];
        indices.dedup();
        for index in indices {
            let proof = rfc6962::inclusion_proof(index, size, &reader).expect("inclusion proof");
            assert_eq!(
                proof,
                self.tree.inclusion_proof(index, size).expect("reference")
            );
            let leaf = leaf_hash(&entry(index));
            verify_inclusion(&leaf, index, size, &proof, &root)
                .unwrap_or_else(|err| panic!("inclusion of {index} in {size}: {err}"));
        }
        // Consistency from the previous size and a random earlier one.
        for from in [old, from_pick % (size + 1)] {
            let proof = rfc6962::consistency_proof(from, size, &reader).expect("consistency proof");
            verify_consistency(from, size, &self.roots[from as usize], &root, &proof)
                .unwrap_or_else(|err| panic!("consistency {from} -> {size}: {err}"));
        }
    }

    fn batches(&mut self) {
        // The cadence's 256 and its neighbours, small batches, an empty one, a 1-entry one.
        for n in [1, 0, 255, 256, 257, 1] {
            self.append_checked(n);
        }
        for _ in 0..24 {
            let n = self.rng.below(300);
            self.append_checked(n);
        }
        assert!(self.tree.size() > 2_000);
        let report = fsck_log(self.log(), ORIGIN).expect("fsck of a clean log");
        assert_eq!(report.leaves, self.tree.size());
        assert_eq!(report.root, self.tree.root());
        // The other log saw nothing of it.
        assert_eq!(self.log().open_log(OTHER_ORIGIN).expect("other").size, 0);
    }

    fn size_conflict(&mut self) {
        let size = self.tree.size();
        for stale in [size - 1, size + 1, 0] {
            match append_entries(self.log(), ORIGIN, stale, &[entry(size)]) {
                Err(StoreError::Conflict(Conflict::LogSize {
                    origin,
                    expected,
                    stored,
                })) => {
                    assert_eq!((origin.as_str(), expected, stored), (ORIGIN, stale, size));
                    let text = Conflict::LogSize {
                        origin,
                        expected,
                        stored,
                    }
                    .to_string();
                    assert!(
                        text.contains(&size.to_string()) && text.contains(ORIGIN),
                        "{text}"
                    );
                }
                Err(StoreError::Other(_)) if stale > size => {
                    // The right edge of a larger tree does not exist: nodes_to_store fails
                    // before the store is asked. Also fine; nothing was written.
                }
                other => panic!(
                    "append at stale size {stale}: expected a LogSize conflict, got {other:?}"
                ),
            }
        }
        // A stale append computed correctly for its size still conflicts in the store.
        let leaves = [leaf_hash(&entry(size))];
        let err = self
            .log()
            .append(ORIGIN, size - 1, &[entry(size)], &leaves, &[])
            .expect_err("stale append");
        assert!(
            matches!(err, StoreError::Conflict(Conflict::LogSize { .. })),
            "{err:?}"
        );
        self.assert_untouched(size);
    }

    /// Nothing beyond `size` was written.
    fn assert_untouched(&self, size: u64) {
        assert_eq!(self.head().size, size);
        assert!(
            self.log()
                .entries(ORIGIN, size, 10)
                .expect("entries")
                .is_empty()
        );
        assert!(matches!(
            self.log().nodes(ORIGIN, &[NodeAddr::new(0, size)]),
            Err(StoreError::NotFound)
        ));
        let reader = StoreHashReader::new(self.log(), ORIGIN);
        assert_eq!(tree_hash(size, &reader).expect("root"), self.tree.root());
    }

    fn malformed(&mut self) {
        let size = self.tree.size();
        let entries = vec![entry(size), entry(size + 1)];
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        // One leaf hash short.
        let err = self
            .log()
            .append(ORIGIN, size, &entries, &leaves[..1], &[])
            .expect_err("leaf count mismatch");
        assert!(matches!(err, StoreError::Other(_)), "{err:?}");
        // A level-0 node that is not the batch's leaf hash.
        let wrong = [(NodeAddr::new(0, size), leaves[1])];
        let err = self
            .log()
            .append(ORIGIN, size, &entries, &leaves, &wrong)
            .expect_err("wrong level-0 node");
        assert!(matches!(err, StoreError::Other(_)), "{err:?}");
        // A node that already exists makes the whole transaction fail.
        let existing = [(NodeAddr::new(1, 0), [7; 32])];
        assert!(
            self.log()
                .append(ORIGIN, size, &entries, &leaves, &existing)
                .is_err()
        );
        self.assert_untouched(size);
    }

    fn entry_ranges(&mut self) {
        let size = self.tree.size();
        let log = self.log();
        let all = log.entries(ORIGIN, 0, size).expect("all entries");
        assert_eq!(all.len() as u64, size);
        assert!(all.iter().enumerate().all(|(i, e)| *e == entry(i as u64)));
        assert_eq!(
            log.entries(ORIGIN, 5, 3).expect("middle"),
            vec![entry(5), entry(6), entry(7)]
        );
        assert_eq!(
            log.entries(ORIGIN, size - 2, 10)
                .expect("across the end")
                .len(),
            2
        );
        assert!(
            log.entries(ORIGIN, size, 10)
                .expect("at the end")
                .is_empty()
        );
        assert!(
            log.entries(ORIGIN, size + 1_000, 10)
                .expect("past the end")
                .is_empty()
        );
        assert!(log.entries(ORIGIN, 3, 0).expect("none").is_empty());
        assert!(
            log.entries(ORIGIN, u64::MAX - 1, u64::MAX)
                .expect("huge")
                .is_empty()
        );
        assert!(
            log.entries(OTHER_ORIGIN, 0, 10)
                .expect("other log")
                .is_empty()
        );
    }

    fn checkpoint(&self, size: u64) -> StoredCheckpoint {
        let root = self.roots[size as usize];
        StoredCheckpoint {
            size,
            root,
            note: format!("{ORIGIN}\n{size}\n<root>\n\n— {ORIGIN} sig-at-{size}\n").into_bytes(),
        }
    }

    fn checkpoints(&mut self) {
        let size = self.tree.size();
        let first = self.checkpoint(size / 2);
        self.log()
            .save_checkpoint(ORIGIN, &first)
            .expect("first checkpoint");
        assert_eq!(self.head().checkpoint.as_ref(), Some(&first));
        let rejected =
            |cp: &StoredCheckpoint, what: &str| match self.log().save_checkpoint(ORIGIN, cp) {
                Err(StoreError::Conflict(Conflict::CheckpointRejected {
                    origin, offered, ..
                })) => {
                    assert_eq!((origin.as_str(), offered), (ORIGIN, cp.size), "{what}");
                }
                other => panic!("{what}: expected CheckpointRejected, got {other:?}"),
            };
        rejected(&self.checkpoint(size / 2 - 1), "an older size");
        rejected(
            &StoredCheckpoint {
                size: size + 1,
                root: [1; 32],
                note: b"beyond".to_vec(),
            },
            "beyond the log",
        );
        let mut split = self.checkpoint(size / 2);
        split.root[0] ^= 1;
        rejected(&split, "same size, different root");
        assert_eq!(
            self.head().checkpoint.as_ref(),
            Some(&first),
            "rejections wrote nothing"
        );
        // Re-signing the same tree (the 10-minute refresh) is allowed, and moving forward.
        let mut refreshed = first.clone();
        refreshed.note.extend_from_slice(b"- witness cosig\n");
        self.log()
            .save_checkpoint(ORIGIN, &refreshed)
            .expect("re-sign same size");
        assert_eq!(self.head().checkpoint.as_ref(), Some(&refreshed));
        let latest = self.checkpoint(size);
        self.log()
            .save_checkpoint(ORIGIN, &latest)
            .expect("forward");
        assert_eq!(self.head().checkpoint, Some(latest));
        assert!(matches!(
            self.log()
                .save_checkpoint("caravan.test.example/never", &first),
            Err(StoreError::NotFound)
        ));
    }

    fn append_checkpointed(&mut self) {
        let size = self.tree.size();
        let signed = self
            .head()
            .checkpoint
            .expect("a checkpoint from the step before");
        let entries: Vec<Vec<u8>> = (size..size + 3).map(entry).collect();
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let nodes = nodes_to_store(size, &leaves, &StoreHashReader::new(self.log(), ORIGIN))
            .expect("nodes to store");
        let mut grown = self.tree.clone();
        for e in &entries {
            grown.append(e);
        }
        let checkpoint = StoredCheckpoint {
            size: size + 3,
            root: grown.root(),
            note: format!("{ORIGIN}\n{}\n<root>\n\n— {ORIGIN} sig\n", size + 3).into_bytes(),
        };
        // A checkpoint the store refuses (beyond the grown log, or older than the signed
        // one) takes the batch down with it: nothing of either is written.
        for refused in [
            StoredCheckpoint {
                size: size + 4,
                ..checkpoint.clone()
            },
            StoredCheckpoint {
                size: signed.size - 1,
                ..checkpoint.clone()
            },
        ] {
            let err = self
                .log()
                .append_checkpointed(ORIGIN, size, &entries, &leaves, &nodes, &refused)
                .expect_err("refused checkpoint");
            assert!(
                matches!(
                    err,
                    StoreError::Conflict(Conflict::CheckpointRejected { .. })
                ),
                "{err:?}"
            );
            self.assert_untouched(size);
            assert_eq!(self.head().checkpoint.as_ref(), Some(&signed));
        }
        // A stale size is the usual conflict, and writes no checkpoint either.
        let err = self
            .log()
            .append_checkpointed(ORIGIN, size - 1, &entries, &leaves, &[], &checkpoint)
            .expect_err("stale size");
        assert!(
            matches!(err, StoreError::Conflict(Conflict::LogSize { .. })),
            "{err:?}"
        );
        assert_eq!(self.head().checkpoint.as_ref(), Some(&signed));
        let appended = self
            .log()
            .append_checkpointed(ORIGIN, size, &entries, &leaves, &nodes, &checkpoint)
            .expect("append with its checkpoint");
        assert_eq!((appended.first_index, appended.size), (size, size + 3));
        for e in &entries {
            self.tree.append(e);
        }
        for at in self.roots.len() as u64..=self.tree.size() {
            self.roots
                .push(self.tree.root_at(at).expect("reference root"));
        }
        let head = self.head();
        assert_eq!(head.size, size + 3);
        assert_eq!(head.checkpoint, Some(checkpoint));
        let reader = StoreHashReader::new(self.log(), ORIGIN);
        assert_eq!(
            tree_hash(size + 3, &reader).expect("root"),
            self.tree.root()
        );
        assert_eq!(
            self.log().entries(ORIGIN, size, 3).expect("entries"),
            entries
        );
    }

    fn witnessed(&mut self) {
        let log = self.log();
        assert_eq!(log.witnessed(PARTNER_ORIGIN).expect("none yet"), None);
        let at = |size: u64, byte: u8| Witnessed {
            origin: PARTNER_ORIGIN.to_owned(),
            size,
            root: [byte; 32],
        };
        let moved = |expected: u64, next: &Witnessed, stored: u64| match log
            .record_witnessed(expected, next)
        {
            Err(StoreError::Conflict(c @ Conflict::WitnessMoved { .. })) => {
                assert_eq!(
                    c,
                    Conflict::WitnessMoved {
                        origin: PARTNER_ORIGIN.to_owned(),
                        expected,
                        stored
                    }
                );
            }
            other => panic!("expected WitnessMoved from {expected}, got {other:?}"),
        };
        moved(5, &at(10, 1), 0);
        assert_eq!(log.witnessed(PARTNER_ORIGIN).expect("still none"), None);
        log.record_witnessed(0, &at(10, 1)).expect("first sight");
        assert_eq!(
            log.witnessed(PARTNER_ORIGIN).expect("read"),
            Some(at(10, 1))
        );
        moved(0, &at(12, 2), 10);
        log.record_witnessed(10, &at(20, 3)).expect("move forward");
        moved(10, &at(30, 4), 20);
        assert_eq!(
            log.witnessed(PARTNER_ORIGIN).expect("read"),
            Some(at(20, 3))
        );
        // Concurrent movers from the same state: exactly one wins.
        let wins = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4u8)
                .map(|k| {
                    scope.spawn(move || log.record_witnessed(20, &at(21 + u64::from(k), k)).is_ok())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .filter(|&won| won)
                .count()
        });
        assert_eq!(wins, 1, "exactly one concurrent move wins");
        assert!(
            log.witnessed(PARTNER_ORIGIN)
                .expect("read")
                .expect("some")
                .size
                > 20
        );
    }

    fn alarms(&mut self) {
        let log = self.log();
        assert!(log.alarms().expect("none").is_empty());
        let first = log
            .raise_alarm("split_view", PARTNER_ORIGIN, "old 10 new 20: proof failed")
            .expect("raise");
        let second = log
            .raise_alarm(
                "witness_silent",
                PARTNER_ORIGIN,
                "no add-checkpoint for 30 min",
            )
            .expect("raise");
        assert_ne!(first, second);
        let alarms = log.alarms().expect("alarms");
        assert_eq!(alarms.len(), 2);
        assert_eq!(
            (alarms[0].id, alarms[0].kind.as_str()),
            (second, "witness_silent")
        );
        assert_eq!(
            (
                alarms[1].id,
                alarms[1].kind.as_str(),
                alarms[1].origin.as_str(),
                alarms[1].detail.as_str()
            ),
            (
                first,
                "split_view",
                PARTNER_ORIGIN,
                "old 10 new 20: proof failed"
            )
        );
        for a in &alarms {
            assert!(
                a.raised_at.len() >= 20 && a.raised_at.ends_with('Z'),
                "RFC 3339 UTC: {}",
                a.raised_at
            );
            assert_eq!(&a.raised_at[4..5], "-");
            assert_eq!(&a.raised_at[10..11], "T");
        }
    }

    fn reopen(&mut self) {
        let before_head = self.head();
        let before_witness = self.log().witnessed(PARTNER_ORIGIN).expect("witnessed");
        let before_alarms = self.log().alarms().expect("alarms");
        self.store = (self.open)().unwrap_or_else(|err| panic!("reopen: {err}"));
        assert_eq!(self.head(), before_head);
        assert_eq!(
            self.log().witnessed(PARTNER_ORIGIN).expect("witnessed"),
            before_witness
        );
        assert_eq!(self.log().alarms().expect("alarms"), before_alarms);
        let report = fsck_log(self.log(), ORIGIN).expect("fsck after reopen");
        assert_eq!(report.root, self.tree.root());
        // And the reopened store keeps appending where it left off.
        self.append_checked(256);
    }
}
