//! What an officer's disposition of a hit hangs on (spec §8): the reason codes, and the
//! identity and digest of a declared party.
//!
//! A known false positive stays suppressed only while both sides are what the officer
//! looked at. The list side is the entry's `content_hash`; the party side is
//! [`party_digest`] over the facts screening used (role, name, country, identifier). The
//! party's *key* ([`party_key`]) is what stays the same while those facts change: the
//! identifier when the declaration gives one, else the folded name and country. So a trader
//! who files under its registered number with a new spelling is the same party with a new
//! digest: re-screened, and its suppressions lapse. The engine never decides; this module
//! only names what a decision is about.

use sha2::{Digest, Sha256};

use crate::model::Identifier;
use crate::screen::{PartyRole, ScreenedParty};

/// Why an officer decided as they did (spec §8 reason codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The birth dates differ.
    DifferentBirthDate,
    /// The countries differ.
    DifferentCountry,
    /// The identifiers differ.
    DifferentIdentifier,
    /// Only the names are alike.
    NameOnlySimilarity,
    /// The party is known to the administration.
    KnownParty,
    /// Something else, said in the note.
    Other,
}

/// Every reason, in the order forms list them.
pub const REASONS: [Reason; 6] = [
    Reason::NameOnlySimilarity,
    Reason::DifferentBirthDate,
    Reason::DifferentCountry,
    Reason::DifferentIdentifier,
    Reason::KnownParty,
    Reason::Other,
];

impl Reason {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::DifferentBirthDate => "different_birth_date",
            Reason::DifferentCountry => "different_country",
            Reason::DifferentIdentifier => "different_identifier",
            Reason::NameOnlySimilarity => "name_only_similarity",
            Reason::KnownParty => "known_party",
            Reason::Other => "other",
        }
    }

    /// Parses a code.
    pub fn parse(code: &str) -> Option<Reason> {
        REASONS.into_iter().find(|r| r.as_str() == code)
    }
}

/// Why a disposition was refused before anything was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispositionError {
    /// The reason is not one of [`REASONS`].
    #[error(
        "unknown reason {0:?}; use one of name_only_similarity, different_birth_date, different_country, different_identifier, known_party, other"
    )]
    UnknownReason(String),
    /// `other` needs a note saying what the reason is.
    #[error("reason `other` needs a note")]
    NoteRequired,
    /// The note is longer than [`MAX_NOTE_CHARS`].
    #[error("the note is longer than 2,000 characters")]
    NoteTooLong,
}

impl DispositionError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            DispositionError::UnknownReason(_) => "unknown_reason",
            DispositionError::NoteRequired => "note_required",
            DispositionError::NoteTooLong => "note_too_long",
        }
    }
}

/// Longest note accepted with a disposition.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// Checks a reason code and note; returns the reason and the trimmed note.
pub fn check_reason(code: &str, note: &str) -> Result<(Reason, String), DispositionError> {
    let reason =
        Reason::parse(code.trim()).ok_or_else(|| DispositionError::UnknownReason(code.into()))?;
    let note = note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(DispositionError::NoteTooLong);
    }
    if reason == Reason::Other && note.is_empty() {
        return Err(DispositionError::NoteRequired);
    }
    Ok((reason, note.to_owned()))
}

/// A party as the declarations hold it: one role on one or more declarations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeclaredParty {
    /// UN/EDIFACT 3035 role code (`IM`, `EX`, `DT`, …).
    pub role: String,
    /// Name as declared.
    pub name: String,
    /// Address country (alpha-2).
    pub country: Option<String>,
    /// Identifier scheme (`EORI`, `UZ_STIR`, …).
    pub id_scheme: Option<String>,
    /// Identifier value as stored.
    pub id_value: Option<String>,
}

/// Lower-cased letters and digits, words single-spaced: the name part of a key.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

impl DeclaredParty {
    /// The identifier, normalised, when the declaration gives one with a value.
    pub fn identifier(&self) -> Option<Identifier> {
        let (scheme, value) = (self.id_scheme.as_deref()?, self.id_value.as_deref()?);
        Identifier::new(scheme, value, self.country.clone())
    }

    /// What stays the same while the party's facts change: role and identifier, or role,
    /// country and folded name when there is no identifier.
    pub fn key(&self) -> String {
        match self.identifier() {
            Some(id) => format!("{}|id|{}|{}", self.role, id.scheme, id.value),
            None => format!(
                "{}|name|{}|{}",
                self.role,
                self.country.as_deref().unwrap_or(""),
                fold(&self.name)
            ),
        }
    }

    /// SHA-256 over every fact screening uses; a change re-screens the party and lapses
    /// its suppressions.
    pub fn digest(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for field in [
            Some(self.role.as_str()),
            Some(self.name.as_str()),
            self.country.as_deref(),
            self.id_scheme.as_deref(),
            self.id_value.as_deref(),
        ] {
            match field {
                Some(text) => {
                    hasher.update([1]);
                    hasher.update((text.len() as u64).to_be_bytes());
                    hasher.update(text.as_bytes());
                }
                None => hasher.update([0]),
            }
        }
        hasher.finalize().into()
    }

    /// The party as the screener takes it.
    pub fn to_screened(&self) -> ScreenedParty {
        ScreenedParty {
            role: PartyRole::from_edifact_3035(&self.role),
            name: self.name.clone(),
            address: None,
            country: self.country.clone(),
            identifiers: self.identifier().into_iter().collect(),
            birth_date: None,
        }
    }
}

/// [`DeclaredParty::key`].
pub fn party_key(party: &DeclaredParty) -> String {
    party.key()
}

/// [`DeclaredParty::digest`].
pub fn party_digest(party: &DeclaredParty) -> [u8; 32] {
    party.digest()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn party(name: &str, id: Option<&str>) -> DeclaredParty {
        DeclaredParty {
            role: "IM".to_owned(),
            name: name.to_owned(),
            country: Some("UZ".to_owned()),
            id_scheme: id.map(|_| "UZ_STIR".to_owned()),
            id_value: id.map(str::to_owned),
        }
    }

    #[test]
    fn key_follows_the_identifier_and_digest_follows_every_fact() {
        let a = party("OOO Toshkent Tekstil", Some("301234567"));
        let b = party("Tashkent Textile LLC", Some("301 234 567"));
        assert_eq!(a.key(), b.key(), "same STIR, same party");
        assert_ne!(a.digest(), b.digest(), "a new spelling is a change");
        let c = party("Toshkent  tekstil!", None);
        let d = party("TOSHKENT TEKSTIL", None);
        assert_eq!(c.key(), d.key());
        assert_ne!(c.key(), a.key());
        let mut e = d.clone();
        e.role = "EX".to_owned();
        assert_ne!(e.key(), d.key(), "roles are screened apart");
        assert_eq!(a.to_screened().identifiers[0].value, "301234567");
    }

    #[test]
    fn reasons_parse_and_other_needs_a_note() {
        for reason in REASONS {
            assert_eq!(Reason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(
            check_reason("name_only_similarity", "  "),
            Ok((Reason::NameOnlySimilarity, String::new()))
        );
        assert_eq!(
            check_reason("other", ""),
            Err(DispositionError::NoteRequired)
        );
        assert_eq!(
            check_reason("looks fine", "x").unwrap_err().code(),
            "unknown_reason"
        );
        assert_eq!(
            check_reason("other", &"x".repeat(2001)),
            Err(DispositionError::NoteTooLong)
        );
    }

    proptest! {
        /// Fields never run into each other: moving text between name and country (or
        /// dropping an optional field) changes the digest.
        #[test]
        fn digest_separates_fields(name in "[a-z]{0,6}", country in "[A-Z]{0,3}") {
            let mut a = party(&name, None);
            a.country = Some(country.clone());
            let mut b = party(&format!("{name}{country}"), None);
            b.country = Some(String::new());
            if !country.is_empty() {
                prop_assert_ne!(a.digest(), b.digest());
            }
            let mut c = a.clone();
            c.country = None;
            prop_assert_ne!(a.digest(), c.digest());
        }
    }
}
