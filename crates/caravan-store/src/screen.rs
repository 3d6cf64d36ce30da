//! What screening needs from storage (screening spec §1, §8): list versions with their
//! entries and deltas, the parties screened, their hits, and the officers' dispositions.
//!
//! Why at this level: each promise of the workflow is one transaction. Loading a list
//! version stores the version, its entries, its delta against the active version, the delta
//! re-screen's hits and the closing of hits on removed entries, and switches the active
//! version, all at once; a refused file never reaches the store, so the previous version
//! stays active. Recording a screening run upserts the parties and their hits together. A
//! disposition is appended (never edited) and moves its hit's status in the same
//! transaction. Whether a re-found hit is open, suppressed or still a confirmed match is
//! decided here, inside the transaction, by [`status_after_screening`], so a disposition
//! recorded while a run was computing is never overwritten by a stale status.
//! Times are Unix milliseconds chosen by the caller; the store has no clock.

use crate::StoreError;

/// A SHA-256 value.
pub type Digest = [u8; 32];

/// The status of a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HitStatus {
    /// Waiting for an officer.
    Open,
    /// A known false positive, re-found with the same party and entry digests.
    Suppressed,
    /// Decided a true match.
    TrueMatch,
    /// Decided a false positive (and not re-screened since).
    FalsePositive,
    /// The list entry was removed from the list (kept for the audit, not deleted).
    Delisted,
    /// A re-screen no longer finds it at or above the review threshold.
    Closed,
}

impl HitStatus {
    /// Every status.
    pub const ALL: [HitStatus; 6] = [
        HitStatus::Open,
        HitStatus::Suppressed,
        HitStatus::TrueMatch,
        HitStatus::FalsePositive,
        HitStatus::Delisted,
        HitStatus::Closed,
    ];

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            HitStatus::Open => "open",
            HitStatus::Suppressed => "suppressed",
            HitStatus::TrueMatch => "true_match",
            HitStatus::FalsePositive => "false_positive",
            HitStatus::Delisted => "delisted",
            HitStatus::Closed => "closed",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<HitStatus> {
        HitStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// An officer's decision on a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The party is the listed entry.
    TrueMatch,
    /// It is not.
    FalsePositive,
}

impl Decision {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::TrueMatch => "true_match",
            Decision::FalsePositive => "false_positive",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Decision> {
        match text {
            "true_match" => Some(Decision::TrueMatch),
            "false_positive" => Some(Decision::FalsePositive),
            _ => None,
        }
    }

    /// The status a hit takes when decided.
    pub fn status(self) -> HitStatus {
        match self {
            Decision::TrueMatch => HitStatus::TrueMatch,
            Decision::FalsePositive => HitStatus::FalsePositive,
        }
    }
}

/// The latest decision on a (party, list entry) pair and the digests it was made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorDecision {
    /// What was decided.
    pub decision: Decision,
    /// The party's digest when decided.
    pub party_digest: Digest,
    /// The entry's content hash when decided.
    pub entry_hash: Digest,
}

/// The status of a hit a screening (full or delta) finds again, given the latest decision
/// on the pair (spec §8): a known false positive stays suppressed, and a true match stays
/// confirmed, only while neither the party nor the list entry changed; otherwise the hit is
/// open for an officer again.
pub fn status_after_screening(
    prior: Option<&PriorDecision>,
    party_digest: &Digest,
    entry_hash: &Digest,
) -> HitStatus {
    match prior {
        Some(p) if &p.party_digest == party_digest && &p.entry_hash == entry_hash => {
            match p.decision {
                Decision::FalsePositive => HitStatus::Suppressed,
                Decision::TrueMatch => HitStatus::TrueMatch,
            }
        }
        _ => HitStatus::Open,
    }
}

/// One entry of a list version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Source-native id.
    pub entry_id: String,
    /// Content hash over the entry's facts.
    pub content_hash: Digest,
    /// `person`, `organization`, …
    pub kind: String,
    /// Primary name, for listings.
    pub primary_name: String,
    /// The whole entry as JSON (`caravan_screen::stored`).
    pub body: String,
}

/// A list version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListVersionRow {
    /// Store id.
    pub id: i64,
    /// List id (`us-ofac-sdn`, `un-sc-consolidated`, …).
    pub list_id: String,
    /// `ofac`, `un`, `ftm` or `lookout`.
    pub source: String,
    /// Publication date the file states.
    pub publisher_date: Option<String>,
    /// SHA-256 of the files read.
    pub digest: Digest,
    /// When it was loaded (ms).
    pub loaded_at: u64,
    /// Entries.
    pub n_entries: u64,
    /// The active version of its list.
    pub active: bool,
    /// The version active before it, which the delta is against.
    pub previous_id: Option<i64>,
    /// Entries added against the previous version.
    pub n_added: u64,
    /// Entries changed.
    pub n_changed: u64,
    /// Entries removed.
    pub n_removed: u64,
}

/// An entry's change in a version's delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// New in this version.
    Added,
    /// Same id, different content hash.
    Changed,
    /// Gone in this version.
    Removed,
}

impl Change {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
        }
    }
}

/// A party as screening stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyFacts {
    /// Stable key (`caravan_screen::disposition::party_key`).
    pub party_key: String,
    /// Digest of the facts screened.
    pub digest: Digest,
    /// UN/EDIFACT 3035 role.
    pub role: String,
    /// Name as declared.
    pub name: String,
    /// Country.
    pub country: Option<String>,
    /// Identifier scheme.
    pub id_scheme: Option<String>,
    /// Identifier value.
    pub id_value: Option<String>,
}

/// A party of the stored declarations, with the latest declaration it appears on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredPartyRow {
    /// UN/EDIFACT 3035 role.
    pub role: String,
    /// Name as declared.
    pub name: String,
    /// Country.
    pub country: Option<String>,
    /// Identifier scheme.
    pub id_scheme: Option<String>,
    /// Identifier value.
    pub id_value: Option<String>,
    /// Highest declaration id carrying exactly these facts.
    pub last_declaration_id: i64,
}

/// A hit a screening found: one (party, list entry) pair at or above the review threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct HitRecord {
    /// The party.
    pub party_key: String,
    /// Its digest when screened.
    pub party_digest: Digest,
    /// List id.
    pub list_id: String,
    /// Entry id.
    pub entry_id: String,
    /// The entry's content hash.
    pub entry_hash: Digest,
    /// The list name that matched best.
    pub matched_name: String,
    /// Score in [0, 1].
    pub score: f64,
    /// `review`, `strong`, `near-certain`.
    pub band: String,
    /// Explanation JSON (`caravan_screen::stored::explanation_json`).
    pub explanation: String,
}

/// A list version to load, with its delta and the delta re-screen's results.
#[derive(Debug, Clone)]
pub struct ListLoad {
    /// List id.
    pub list_id: String,
    /// Source format.
    pub source: String,
    /// Publication date.
    pub publisher_date: Option<String>,
    /// SHA-256 of the files.
    pub digest: Digest,
    /// Now (ms).
    pub loaded_at: u64,
    /// The id of the active version the delta was computed against (`None`: no version was
    /// active). If another load activated a different version meanwhile, nothing is
    /// written and the load fails.
    pub expected_active: Option<i64>,
    /// Every entry of the new version.
    pub entries: Vec<StoredEntry>,
    /// The delta against the expected active version.
    pub changes: Vec<(String, Change)>,
    /// Hits of the delta re-screen: every known party against added and changed entries.
    pub hits: Vec<HitRecord>,
}

/// What a list load did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// The new version's id.
    pub version_id: i64,
    /// Hits inserted or re-found and left or set open.
    pub open: u64,
    /// Re-found known false positives kept suppressed.
    pub suppressed: u64,
    /// Hits on changed entries the re-screen no longer finds, now closed.
    pub closed: u64,
    /// Hits on removed entries, now delisted.
    pub delisted: u64,
}

/// A screening run over stored parties: their facts and every hit found for them against
/// the active versions of every list.
#[derive(Debug, Clone)]
pub struct ScreenRunRecord {
    /// Now (ms).
    pub screened_at: u64,
    /// The parties screened (new, changed, or all of them on a full re-screen).
    pub parties: Vec<PartyFacts>,
    /// Their hits. A party's stored hits not found again are closed.
    pub hits: Vec<HitRecord>,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Parties screened.
    pub parties: u64,
    /// Hits now open.
    pub open: u64,
    /// Hits kept suppressed.
    pub suppressed: u64,
    /// Hits still confirmed as true matches.
    pub true_match: u64,
    /// Stored hits no longer found, now closed.
    pub closed: u64,
}

/// A hit as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HitRow {
    /// Store id.
    pub id: i64,
    /// The hit's facts as last screened.
    pub hit: HitRecord,
    /// The party's role and name, for listings.
    pub party_role: String,
    /// The party's name.
    pub party_name: String,
    /// The list version that last produced it.
    pub version_id: i64,
    /// Status.
    pub status: HitStatus,
    /// First found (ms).
    pub first_seen_at: u64,
    /// Last changed (ms).
    pub updated_at: u64,
}

/// Which hits to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HitFilter {
    /// Only these statuses (all when empty).
    pub statuses: Vec<HitStatus>,
    /// Only this party.
    pub party_key: Option<String>,
    /// At most this many (best score first, then id).
    pub limit: u32,
    /// Skipped first.
    pub offset: u32,
}

/// A disposition to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispositionRecord {
    /// The hit.
    pub hit_id: i64,
    /// The decision.
    pub decision: Decision,
    /// Reason code (`caravan_screen::disposition::Reason`).
    pub reason: String,
    /// Free-text note.
    pub note: String,
    /// The deciding account.
    pub account: String,
    /// Now (ms).
    pub decided_at: u64,
}

/// A disposition as stored, with the digests it was made on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispositionRow {
    /// Store id.
    pub id: i64,
    /// What was recorded.
    pub record: DispositionRecord,
    /// The party's digest when decided.
    pub party_digest: Digest,
    /// The entry's content hash when decided.
    pub entry_hash: Digest,
}

/// One record of entity resolution: a distinct party as declared, the batch that first saw
/// it, and its cluster now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolutionRecordRow {
    /// Digest-derived id of the party's facts.
    pub record_id: String,
    /// The resolution batch (0-based) that added it.
    pub batch: u32,
    /// Name as declared.
    pub name: String,
    /// Country, alpha-2.
    pub country: Option<String>,
    /// Identifier scheme.
    pub id_scheme: Option<String>,
    /// Identifier value.
    pub id_value: Option<String>,
    /// The resolver's stable cluster id.
    pub cluster_id: u32,
}

/// Two clusters a batch joined: `absorbed` is retired, its records now carry `kept`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolutionMergeRow {
    /// The batch that merged them.
    pub batch: u32,
    /// The older id, kept.
    pub kept: u32,
    /// The younger id, retired.
    pub absorbed: u32,
    /// The two records of the link that joined them.
    pub via: (String, String),
    /// Its match weight in bits.
    pub weight: f64,
}

/// A resolution batch to record in one transaction: its new records, the older records
/// whose cluster a merge changed, and the merges.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolutionBatch {
    /// Must be the next batch number (0 for the first); otherwise another resolution got
    /// there first and nothing is written.
    pub batch: u32,
    /// When (Unix ms).
    pub resolved_at: u64,
    /// Records first seen in this batch.
    pub records: Vec<ResolutionRecordRow>,
    /// Older records whose cluster changed, with their new cluster.
    pub reassigned: Vec<(String, u32)>,
    /// Merges of older clusters.
    pub merges: Vec<ResolutionMergeRow>,
    /// Number of clusters after the batch.
    pub n_clusters: u64,
    /// The model's parameters (JSON), for the record.
    pub model: String,
}

/// Screening's storage.
pub trait ScreenStore: Send + Sync {
    /// Every list version, newest first.
    fn screen_list_versions(&self) -> Result<Vec<ListVersionRow>, StoreError>;

    /// The active version of `list_id` and its entries, if any version is active.
    fn screen_active_list(
        &self,
        list_id: &str,
    ) -> Result<Option<(ListVersionRow, Vec<StoredEntry>)>, StoreError>;

    /// The entry ids and changes of a version's delta, in entry-id order.
    fn screen_list_changes(&self, version_id: i64) -> Result<Vec<(String, Change)>, StoreError>;

    /// Stores a new version and makes it active, in one transaction (see [`ListLoad`]).
    fn screen_load_list(&self, load: &ListLoad) -> Result<LoadSummary, StoreError>;

    /// The distinct named parties of the stored declarations.
    fn screen_declared_parties(&self) -> Result<Vec<DeclaredPartyRow>, StoreError>;

    /// The parties screening knows, by key.
    fn screen_known_parties(&self) -> Result<Vec<PartyFacts>, StoreError>;

    /// Records a run in one transaction (see [`ScreenRunRecord`]).
    fn screen_record_run(&self, run: &ScreenRunRecord) -> Result<RunSummary, StoreError>;

    /// Lists hits.
    fn screen_hits(&self, filter: &HitFilter) -> Result<Vec<HitRow>, StoreError>;

    /// One hit; `NotFound` if absent.
    fn screen_hit(&self, id: i64) -> Result<HitRow, StoreError>;

    /// Appends a disposition and sets the hit's status, in one transaction; `NotFound` if
    /// the hit does not exist. Returns the updated hit.
    fn screen_decide(&self, record: &DispositionRecord) -> Result<HitRow, StoreError>;

    /// A hit's dispositions, oldest first.
    fn screen_dispositions(&self, hit_id: i64) -> Result<Vec<DispositionRow>, StoreError>;

    /// Every resolution record, by batch then record id: the order that replays the
    /// resolver.
    fn screen_resolution_records(&self) -> Result<Vec<ResolutionRecordRow>, StoreError>;

    /// Every recorded merge, by batch.
    fn screen_resolution_merges(&self) -> Result<Vec<ResolutionMergeRow>, StoreError>;

    /// Records a resolution batch in one transaction; `Conflict::StaleWrite` when
    /// `batch.batch` is not the next batch number.
    fn screen_record_resolution(&self, batch: &ResolutionBatch) -> Result<(), StoreError>;

    /// The records of one cluster, by record id (empty when the id is unknown or retired).
    fn screen_cluster(&self, cluster_id: u32) -> Result<Vec<ResolutionRecordRow>, StoreError>;
}

/// Sorts declared parties the same way in every backend (latest declaration first, then by
/// facts, bytewise), whatever the database's collation.
pub fn sort_declared(parties: &mut [DeclaredPartyRow]) {
    parties.sort_by(|a, b| {
        b.last_declaration_id
            .cmp(&a.last_declaration_id)
            .then_with(|| a.role.cmp(&b.role))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.country.cmp(&b.country))
            .then_with(|| a.id_scheme.cmp(&b.id_scheme))
            .then_with(|| a.id_value.cmp(&b.id_value))
    });
}

/// The writes a backend offers inside one open transaction, so that the rules of loading
/// and recording (which status a re-found hit takes, which hits close, which are delisted)
/// are written once, in [`apply`], and both backends follow them exactly.
pub trait HitWriter {
    /// The id of the active version of `list_id`.
    fn active_version(&mut self, list_id: &str) -> Result<Option<i64>, StoreError>;
    /// The stored hit on a pair: id, status and the latest decision.
    fn find_hit(
        &mut self,
        party_key: &str,
        list_id: &str,
        entry_id: &str,
    ) -> Result<Option<(i64, HitStatus, Option<PriorDecision>)>, StoreError>;
    /// Inserts a hit.
    fn insert_hit(
        &mut self,
        hit: &HitRecord,
        version_id: i64,
        status: HitStatus,
        now: u64,
    ) -> Result<(), StoreError>;
    /// Replaces a hit's screened facts and status (its decision columns stay).
    fn update_hit(
        &mut self,
        id: i64,
        hit: &HitRecord,
        version_id: i64,
        status: HitStatus,
        now: u64,
    ) -> Result<(), StoreError>;
    /// A party's hits: id, list, entry, status.
    fn party_hits(
        &mut self,
        party_key: &str,
    ) -> Result<Vec<(i64, String, String, HitStatus)>, StoreError>;
    /// The hits on a list entry: id, status, version that last produced it.
    fn entry_hits(
        &mut self,
        list_id: &str,
        entry_id: &str,
    ) -> Result<Vec<(i64, HitStatus, i64)>, StoreError>;
    /// Sets a hit's status.
    fn set_status(&mut self, id: i64, status: HitStatus, now: u64) -> Result<(), StoreError>;
}

/// The rules of [`ScreenStore::screen_load_list`] and [`ScreenStore::screen_record_run`]
/// over a backend's [`HitWriter`].
pub mod apply {
    use std::collections::{HashMap, HashSet};

    use super::{
        Change, HitRecord, HitStatus, HitWriter, LoadSummary, RunSummary, status_after_screening,
    };
    use crate::StoreError;

    /// Statuses given to the hits written.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Written {
        /// Open.
        pub open: u64,
        /// Suppressed.
        pub suppressed: u64,
        /// Still a true match.
        pub true_match: u64,
    }

    /// A status that no screening moves any more.
    fn is_final(status: HitStatus) -> bool {
        matches!(status, HitStatus::Delisted | HitStatus::Closed)
    }

    /// Upserts hits found by a screening; `version_of` gives the version id per list.
    pub fn write_hits(
        w: &mut dyn HitWriter,
        hits: &[HitRecord],
        version_of: &mut dyn FnMut(&mut dyn HitWriter, &str) -> Result<i64, StoreError>,
        now: u64,
    ) -> Result<Written, StoreError> {
        let mut written = Written::default();
        for hit in hits {
            let version_id = version_of(w, &hit.list_id)?;
            let existing = w.find_hit(&hit.party_key, &hit.list_id, &hit.entry_id)?;
            let prior = existing.as_ref().and_then(|e| e.2.as_ref());
            let status = status_after_screening(prior, &hit.party_digest, &hit.entry_hash);
            match existing {
                Some((id, _, _)) => w.update_hit(id, hit, version_id, status, now)?,
                None => w.insert_hit(hit, version_id, status, now)?,
            }
            match status {
                HitStatus::Suppressed => written.suppressed += 1,
                HitStatus::TrueMatch => written.true_match += 1,
                _ => written.open += 1,
            }
        }
        Ok(written)
    }

    /// The version of each list a run's hits point at: the active one, or an error when a
    /// list has no active version (it cannot have produced a hit).
    fn active_versions() -> impl FnMut(&mut dyn HitWriter, &str) -> Result<i64, StoreError> {
        let mut cache: HashMap<String, i64> = HashMap::new();
        move |w, list_id| {
            if let Some(id) = cache.get(list_id) {
                return Ok(*id);
            }
            let id = w.active_version(list_id)?.ok_or_else(|| {
                StoreError::Other(format!(
                    "screening list {list_id:?} has no active version; reload and re-run"
                ))
            })?;
            cache.insert(list_id.to_owned(), id);
            Ok(id)
        }
    }

    /// A run: hits upserted, then every stored hit of a screened party that the run did
    /// not find again is closed. (Parties are upserted by the caller first.)
    pub fn run(
        w: &mut dyn HitWriter,
        party_keys: &[&str],
        hits: &[HitRecord],
        now: u64,
    ) -> Result<RunSummary, StoreError> {
        let written = write_hits(w, hits, &mut active_versions(), now)?;
        let found: HashSet<(&str, &str, &str)> = hits
            .iter()
            .map(|h| {
                (
                    h.party_key.as_str(),
                    h.list_id.as_str(),
                    h.entry_id.as_str(),
                )
            })
            .collect();
        let mut closed = 0;
        for key in party_keys {
            for (id, list_id, entry_id, status) in w.party_hits(key)? {
                if !is_final(status)
                    && !found.contains(&(*key, list_id.as_str(), entry_id.as_str()))
                {
                    w.set_status(id, HitStatus::Closed, now)?;
                    closed += 1;
                }
            }
        }
        Ok(RunSummary {
            parties: party_keys.len() as u64,
            open: written.open,
            suppressed: written.suppressed,
            true_match: written.true_match,
            closed,
        })
    }

    /// A load's hits, once the new version `version_id` is stored and active: the delta
    /// re-screen's hits upserted, hits on changed entries not found again closed, hits on
    /// removed entries delisted.
    pub fn load(
        w: &mut dyn HitWriter,
        list_id: &str,
        version_id: i64,
        changes: &[(String, Change)],
        hits: &[HitRecord],
        now: u64,
    ) -> Result<LoadSummary, StoreError> {
        if let Some(hit) = hits.iter().find(|h| h.list_id != list_id) {
            return Err(StoreError::Other(format!(
                "a hit on list {:?} in a load of {list_id:?}",
                hit.list_id
            )));
        }
        let written = write_hits(w, hits, &mut |_, _| Ok(version_id), now)?;
        let mut summary = LoadSummary {
            version_id,
            open: written.open + written.true_match,
            suppressed: written.suppressed,
            ..LoadSummary::default()
        };
        for (entry_id, change) in changes {
            let target = match change {
                Change::Added => continue,
                Change::Changed => HitStatus::Closed,
                Change::Removed => HitStatus::Delisted,
            };
            for (id, status, hit_version) in w.entry_hits(list_id, entry_id)? {
                // Hits the re-screen just wrote carry the new version.
                if is_final(status) || hit_version == version_id {
                    continue;
                }
                w.set_status(id, target, now)?;
                match target {
                    HitStatus::Delisted => summary.delisted += 1,
                    _ => summary.closed += 1,
                }
            }
        }
        Ok(summary)
    }
}

/// Column lists and row decoding shared by both backends, so they read rows identically.
pub mod columns {
    use super::{
        Change, Decision, Digest, DispositionRecord, DispositionRow, HitRecord, HitRow, HitStatus,
        ListVersionRow, PriorDecision, ResolutionMergeRow, ResolutionRecordRow,
    };
    use crate::StoreError;

    /// `screen_list_versions` columns in [`list_version_row`] order.
    pub const VERSION: &str = "id, list_id, source, publisher_date, digest, loaded_at, n_entries, \
        active, previous_id, n_added, n_changed, n_removed";

    /// `screen_hits` columns (aliased `h`, joined with `screen_parties p`) in [`hit_row`]
    /// order.
    pub const HIT: &str = "h.id, h.party_key, h.party_digest, h.list_id, h.entry_id, \
        h.entry_hash, h.matched_name, h.score, h.band, h.explanation, p.role, p.name, \
        h.version_id, h.status, h.first_seen_at, h.updated_at";

    /// One result row, whatever the driver.
    pub trait Columns {
        /// Text.
        fn text(&self, i: usize) -> Result<String, StoreError>;
        /// Nullable text.
        fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
        /// Integer.
        fn int(&self, i: usize) -> Result<i64, StoreError>;
        /// Nullable integer.
        fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
        /// Float.
        fn float(&self, i: usize) -> Result<f64, StoreError>;
        /// Blob.
        fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError>;
        /// Boolean.
        fn flag(&self, i: usize) -> Result<bool, StoreError>;
    }

    /// A time in ms as the databases store it.
    pub fn ms(value: u64) -> Result<i64, StoreError> {
        i64::try_from(value).map_err(|_| StoreError::Other(format!("time {value} out of range")))
    }

    /// The latest decision from a hit row's `decision*` columns (all set or all null).
    pub fn prior(
        decision: Option<String>,
        party: Option<Vec<u8>>,
        entry: Option<Vec<u8>>,
    ) -> Result<Option<PriorDecision>, StoreError> {
        let (Some(decision), Some(party), Some(entry)) = (decision, party, entry) else {
            return Ok(None);
        };
        Ok(Some(PriorDecision {
            decision: Decision::parse(&decision)
                .ok_or_else(|| StoreError::Other(format!("unknown decision {decision:?}")))?,
            party_digest: digest(party, "decided party digest")?,
            entry_hash: digest(entry, "decided entry hash")?,
        }))
    }

    /// A stored hit status.
    pub fn status(text: String) -> Result<HitStatus, StoreError> {
        HitStatus::parse(&text).ok_or_else(|| StoreError::Other(format!("unknown status {text:?}")))
    }

    /// A stored delta change.
    pub fn change(text: &str) -> Result<Change, StoreError> {
        match text {
            "added" => Ok(Change::Added),
            "changed" => Ok(Change::Changed),
            "removed" => Ok(Change::Removed),
            other => Err(StoreError::Other(format!("unknown change {other:?}"))),
        }
    }

    /// A non-negative integer column.
    pub fn uint(value: i64, what: &str) -> Result<u64, StoreError> {
        u64::try_from(value).map_err(|_| StoreError::Other(format!("negative {what}: {value}")))
    }

    /// A 32-byte digest column.
    pub fn digest(bytes: Vec<u8>, what: &str) -> Result<Digest, StoreError> {
        bytes
            .try_into()
            .map_err(|_| StoreError::Other(format!("{what} is not 32 bytes")))
    }

    /// Reads [`VERSION`].
    pub fn list_version_row(r: &dyn Columns) -> Result<ListVersionRow, StoreError> {
        Ok(ListVersionRow {
            id: r.int(0)?,
            list_id: r.text(1)?,
            source: r.text(2)?,
            publisher_date: r.opt_text(3)?,
            digest: digest(r.blob(4)?, "list digest")?,
            loaded_at: uint(r.int(5)?, "loaded_at")?,
            n_entries: uint(r.int(6)?, "n_entries")?,
            active: r.flag(7)?,
            previous_id: r.opt_int(8)?,
            n_added: uint(r.int(9)?, "n_added")?,
            n_changed: uint(r.int(10)?, "n_changed")?,
            n_removed: uint(r.int(11)?, "n_removed")?,
        })
    }

    /// `screen_dispositions` columns in [`disposition_row`] order.
    pub const DISPOSITION: &str = "id, hit_id, decision, reason, note, account, decided_at, \
        party_digest, entry_hash";

    /// Reads [`DISPOSITION`].
    pub fn disposition_row(r: &dyn Columns) -> Result<DispositionRow, StoreError> {
        let decision = r.text(2)?;
        Ok(DispositionRow {
            id: r.int(0)?,
            record: DispositionRecord {
                hit_id: r.int(1)?,
                decision: Decision::parse(&decision)
                    .ok_or_else(|| StoreError::Other(format!("unknown decision {decision:?}")))?,
                reason: r.text(3)?,
                note: r.text(4)?,
                account: r.text(5)?,
                decided_at: uint(r.int(6)?, "decided_at")?,
            },
            party_digest: digest(r.blob(7)?, "party digest")?,
            entry_hash: digest(r.blob(8)?, "entry hash")?,
        })
    }

    /// `screen_resolution_records` columns in [`resolution_record`] order.
    pub const RESOLUTION_RECORD: &str =
        "record_id, batch, name, country, id_scheme, id_value, cluster_id";

    /// `screen_resolution_merges` columns in [`resolution_merge`] order.
    pub const RESOLUTION_MERGE: &str = "batch, kept, absorbed, via_a, via_b, weight";

    fn u32_column(value: i64, what: &str) -> Result<u32, StoreError> {
        u32::try_from(value).map_err(|_| StoreError::Other(format!("{what} out of range: {value}")))
    }

    /// Reads [`RESOLUTION_RECORD`].
    pub fn resolution_record(r: &dyn Columns) -> Result<ResolutionRecordRow, StoreError> {
        Ok(ResolutionRecordRow {
            record_id: r.text(0)?,
            batch: u32_column(r.int(1)?, "resolution batch")?,
            name: r.text(2)?,
            country: r.opt_text(3)?,
            id_scheme: r.opt_text(4)?,
            id_value: r.opt_text(5)?,
            cluster_id: u32_column(r.int(6)?, "cluster id")?,
        })
    }

    /// Reads [`RESOLUTION_MERGE`].
    pub fn resolution_merge(r: &dyn Columns) -> Result<ResolutionMergeRow, StoreError> {
        Ok(ResolutionMergeRow {
            batch: u32_column(r.int(0)?, "resolution batch")?,
            kept: u32_column(r.int(1)?, "cluster id")?,
            absorbed: u32_column(r.int(2)?, "cluster id")?,
            via: (r.text(3)?, r.text(4)?),
            weight: r.float(5)?,
        })
    }

    /// Reads [`HIT`].
    pub fn hit_row(r: &dyn Columns) -> Result<HitRow, StoreError> {
        Ok(HitRow {
            id: r.int(0)?,
            hit: HitRecord {
                party_key: r.text(1)?,
                party_digest: digest(r.blob(2)?, "party digest")?,
                list_id: r.text(3)?,
                entry_id: r.text(4)?,
                entry_hash: digest(r.blob(5)?, "entry hash")?,
                matched_name: r.text(6)?,
                score: r.float(7)?,
                band: r.text(8)?,
                explanation: r.text(9)?,
            },
            party_role: r.text(10)?,
            party_name: r.text(11)?,
            version_id: r.int(12)?,
            status: status(r.text(13)?)?,
            first_seen_at: uint(r.int(14)?, "first_seen_at")?,
            updated_at: uint(r.int(15)?, "updated_at")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior(decision: Decision, party: u8, entry: u8) -> PriorDecision {
        PriorDecision {
            decision,
            party_digest: [party; 32],
            entry_hash: [entry; 32],
        }
    }

    /// Suppression holds exactly while both digests are the ones decided on, for every
    /// combination of decision and digest change.
    #[test]
    fn suppressed_until_entry_or_party_digest_changes() {
        for decision in [Decision::FalsePositive, Decision::TrueMatch] {
            for party in 0..3u8 {
                for entry in 0..3u8 {
                    let p = prior(decision, 1, 1);
                    let status = status_after_screening(Some(&p), &[party; 32], &[entry; 32]);
                    let same = party == 1 && entry == 1;
                    let expected = match (same, decision) {
                        (true, Decision::FalsePositive) => HitStatus::Suppressed,
                        (true, Decision::TrueMatch) => HitStatus::TrueMatch,
                        (false, _) => HitStatus::Open,
                    };
                    assert_eq!(status, expected, "{decision:?} party {party} entry {entry}");
                }
            }
        }
        assert_eq!(
            status_after_screening(None, &[1; 32], &[1; 32]),
            HitStatus::Open
        );
        for status in HitStatus::ALL {
            assert_eq!(HitStatus::parse(status.as_str()), Some(status));
        }
    }
}
