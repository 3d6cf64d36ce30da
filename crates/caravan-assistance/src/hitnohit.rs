//! Hit/no-hit queries (assistance spec §12).
//!
//! Why the answer is a closed enum with an opaque handle: the point of the check is that the
//! holder reveals only whether it holds a record, nothing else. [`answer`] can return `hit`
//! with a keyed handle (a SHA-256 the requester cites later in a formal request), `no_hit`,
//! or `refused` with a code — no attribute of the record can leave through it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::agreement::Purpose;

coded_enum! {
    /// §12 query types.
    pub enum QueryType {
        Company => "company",
        Person => "person",
        Conveyance => "conveyance",
        Declaration => "declaration",
        DocumentNumber => "document_number",
    }
}

/// A normalised identifier: upper case; for identifiers spaces, dots, dashes and slashes are
/// dropped; for names internal whitespace is collapsed.
pub fn normalise(kind: QueryType, raw: &str) -> Option<String> {
    let upper = raw.trim().to_uppercase();
    let out = match kind {
        QueryType::Person => upper.split_whitespace().collect::<Vec<_>>().join(" "),
        _ => upper
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '/' | '\t'))
            .collect(),
    };
    let ok = !out.is_empty()
        && out.len() <= 128
        && out
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == ':');
    ok.then_some(out)
}

/// A `Query.HitNoHit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitQuery {
    pub kind: QueryType,
    pub identifier: String,
    pub purpose: Option<Purpose>,
    pub official: String,
    pub case_reference: String,
    pub on: NaiveDate,
}

/// A `Query.Answer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HitAnswer {
    Hit { handle: String },
    NoHit,
    Refused { code: &'static str },
}

/// Per-official daily rate limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimit {
    pub per_official_per_day: u32,
    used: BTreeMap<(String, NaiveDate), u32>,
}

impl RateLimit {
    pub fn new(per_official_per_day: u32) -> RateLimit {
        RateLimit {
            per_official_per_day,
            used: BTreeMap::new(),
        }
    }

    /// A limit that starts from `used` queries already evaluated for `official` on `on`
    /// (the count a node keeps durably, so a restart does not reset it).
    pub fn with_used(
        per_official_per_day: u32,
        official: &str,
        on: NaiveDate,
        used: u32,
    ) -> RateLimit {
        let mut limit = RateLimit::new(per_official_per_day);
        limit.used.insert((official.to_owned(), on), used);
        limit
    }

    fn take(&mut self, official: &str, on: NaiveDate) -> bool {
        let used = self.used.entry((official.to_owned(), on)).or_default();
        if *used >= self.per_official_per_day {
            false
        } else {
            *used += 1;
            true
        }
    }
}

/// The holder's records, by type and normalised identifier.
pub type Holdings = BTreeSet<(QueryType, String)>;

fn keyed(key: &[u8], parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update((key.len() as u64).to_be_bytes());
    h.update(key);
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The salted commitment logged for a query (§12 "salted query commitments logged").
pub fn commitment(query: &HitQuery, salt: &[u8]) -> String {
    keyed(
        salt,
        &[
            query.kind.code(),
            &query.identifier,
            &query.official,
            &query.case_reference,
        ],
    )
}

/// Evaluates a query locally. `handle_key` is the holder's secret for follow-up handles.
pub fn answer(
    query: &HitQuery,
    holdings: &Holdings,
    limit: &mut RateLimit,
    handle_key: &[u8],
) -> HitAnswer {
    if query.purpose.is_none() {
        return HitAnswer::Refused {
            code: "purpose_missing",
        };
    }
    if query.official.trim().is_empty() || query.case_reference.trim().is_empty() {
        return HitAnswer::Refused {
            code: "query_incomplete",
        };
    }
    let Some(id) = normalise(query.kind, &query.identifier) else {
        return HitAnswer::Refused {
            code: "identifier_invalid",
        };
    };
    if !limit.take(&query.official, query.on) {
        return HitAnswer::Refused {
            code: "rate_limited",
        };
    }
    if holdings.contains(&(query.kind, id.clone())) {
        HitAnswer::Hit {
            handle: keyed(handle_key, &[query.kind.code(), &id, &query.case_reference]),
        }
    } else {
        HitAnswer::NoHit
    }
}
