//! Markings (TLP 2.0, PAP, agreement caveats) and their lattice (assistance spec §9).
//!
//! Why a lattice: "strictest wins" and "the receiver may only tighten" are both statements
//! about an order, so markings are values with a `join` (the strictest of two) and a
//! `covers` test (is `a` at least as strict as `b`). Effective markings of a field are the join
//! over field, item, container and agreement default; a receiver's re-marking is accepted only
//! if the result covers what it replaces, otherwise it is refused with `marking_loosened`.
//! Only the provider loosens, by a signed `Marking.Change`.
//!
//! Why a received change can be joined rather than taken as it is (§9 "receiver can only
//! tighten", "every re-marking … replaces the previous value in the same namespace"): the
//! provider and the receiver may re-mark the same target at the same time, each on its own
//! copy, and each copy then applies the other's change after its own. Taking the later
//! arrival as it is would leave each copy on the other side's word — two different markings
//! for one item, the divergence §9 cites from MISP. So each change says which of the
//! receiving copy's own changes its sender had already applied (`seen`). A change made with
//! knowledge of the receiving copy's last word replaces it; a change made without that
//! knowledge is concurrent with it, and the target takes the join of the two (strictest
//! wins). Both copies compute the same join, and a receiver's tightening survives a
//! provider's loosening made without knowledge of it: the provider had no ground to undo
//! a restriction it had not seen, and §9 binds the receiver to protect the data at least at
//! the level of every marking it was given or set. A provider that has seen the tightening
//! may still loosen it, by a later change (§9: only the provider loosens).

use std::collections::{BTreeMap, BTreeSet};

coded_enum! {
    /// TLP 2.0, in increasing strictness.
    pub enum Tlp {
        Clear => "CLEAR",
        Green => "GREEN",
        Amber => "AMBER",
        AmberStrict => "AMBER+STRICT",
        Red => "RED",
    }
}

coded_enum! {
    /// PAP, in increasing strictness. `CLEAR` is accepted as an alias of `WHITE` (§9).
    pub enum Pap {
        White => "WHITE",
        Green => "GREEN",
        Amber => "AMBER",
        Red => "RED",
    }
}

impl Tlp {
    /// Accepts `TLP:AMBER+STRICT` as well as `AMBER+STRICT`.
    pub fn parse_tag(tag: &str) -> Option<Tlp> {
        Tlp::parse(tag.strip_prefix("TLP:").unwrap_or(tag))
    }
}

impl Pap {
    /// Accepts `PAP:RED` as well as `RED`, and `CLEAR` for `WHITE`.
    pub fn parse_tag(tag: &str) -> Option<Pap> {
        let bare = tag.strip_prefix("PAP:").unwrap_or(tag);
        if bare == "CLEAR" {
            return Some(Pap::White);
        }
        Pap::parse(bare)
    }
}

/// A caveat code: `NO-EVIDENCE`, `NO-ONWARD`, `PERSONAL-DATA`, `CONDITIONS:<ref>`, …
/// Upper-case letters, digits, `-`, and an optional `:<ref>` suffix.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Caveat(String);

impl TryFrom<String> for Caveat {
    type Error = MarkingError;
    fn try_from(raw: String) -> Result<Caveat, MarkingError> {
        Caveat::parse(&raw)
    }
}

impl From<Caveat> for String {
    fn from(c: Caveat) -> String {
        c.0
    }
}

impl Caveat {
    pub const NO_EVIDENCE: &'static str = "NO-EVIDENCE";
    pub const NO_ONWARD: &'static str = "NO-ONWARD";
    pub const PERSONAL_DATA: &'static str = "PERSONAL-DATA";

    pub fn parse(raw: &str) -> Result<Caveat, MarkingError> {
        let (head, tail) = match raw.split_once(':') {
            Some((h, t)) => (h, Some(t)),
            None => (raw, None),
        };
        let head_ok = !head.is_empty()
            && head
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        let tail_ok = tail
            .is_none_or(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic() && b != b':'));
        if head_ok && tail_ok && raw.len() <= 128 {
            Ok(Caveat(raw.to_owned()))
        } else {
            Err(MarkingError::BadCaveat(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The markings on one target (item, field, container or agreement default).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Markings {
    pub tlp: Tlp,
    pub pap: Pap,
    pub caveats: BTreeSet<Caveat>,
}

impl Markings {
    pub fn new(tlp: Tlp, pap: Pap) -> Markings {
        Markings {
            tlp,
            pap,
            caveats: BTreeSet::new(),
        }
    }

    pub fn with_caveat(mut self, caveat: &str) -> Result<Markings, MarkingError> {
        self.caveats.insert(Caveat::parse(caveat)?);
        Ok(self)
    }

    pub fn has(&self, caveat: &str) -> bool {
        self.caveats.iter().any(|c| c.as_str() == caveat)
    }

    /// The strictest of the two: max TLP, max PAP, union of caveats.
    pub fn join(&self, other: &Markings) -> Markings {
        Markings {
            tlp: self.tlp.max(other.tlp),
            pap: self.pap.max(other.pap),
            caveats: self.caveats.union(&other.caveats).cloned().collect(),
        }
    }

    /// Whether `self` is at least as strict as `other` in every namespace.
    pub fn covers(&self, other: &Markings) -> bool {
        self.tlp >= other.tlp && self.pap >= other.pap && self.caveats.is_superset(&other.caveats)
    }
}

/// An item's markings, object-wide and per field (STIX 2.1 granular markings).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ItemMarkings {
    pub item: Markings,
    pub fields: BTreeMap<String, Markings>,
}

impl ItemMarkings {
    pub fn new(item: Markings) -> ItemMarkings {
        ItemMarkings {
            item,
            fields: BTreeMap::new(),
        }
    }

    /// §9 "strictest wins": the effective markings of `field` (or of the whole item when
    /// `None`) inside `container`, under the agreement `default`.
    pub fn effective(
        &self,
        field: Option<&str>,
        container: Option<&Markings>,
        default: &Markings,
    ) -> Markings {
        let mut m = self.item.join(default);
        if let Some(c) = container {
            m = m.join(c);
        }
        match field {
            Some(f) => match self.fields.get(f) {
                Some(fm) => m.join(fm),
                None => m,
            },
            // The whole item is as strict as its strictest field.
            None => self.fields.values().fold(m, |acc, fm| acc.join(fm)),
        }
    }

    /// The strictest markings over all of `self` (used for derived objects).
    pub fn strictest(&self) -> Markings {
        self.fields
            .values()
            .fold(self.item.clone(), |acc, fm| acc.join(fm))
    }

    /// A receiver's local re-marking (§9 "receiver can only tighten"): replaces the item's or
    /// a field's markings, refused if anything would loosen.
    pub fn tighten(&mut self, field: Option<&str>, new: Markings) -> Result<(), MarkingError> {
        let current = match field {
            Some(f) => self.fields.get(f).unwrap_or(&self.item),
            None => &self.item,
        };
        if !new.covers(current) {
            return Err(MarkingError::Loosened {
                field: field.map(str::to_owned),
            });
        }
        match field {
            Some(f) => {
                self.fields.insert(f.to_owned(), new);
            }
            None => self.item = new,
        }
        Ok(())
    }

    /// The markings currently on `field` (the item's own when the field has none).
    pub fn current(&self, field: Option<&str>) -> &Markings {
        field.and_then(|f| self.fields.get(f)).unwrap_or(&self.item)
    }

    /// Whether replacing `field`'s markings with `new` would loosen anything.
    pub fn loosens(&self, field: Option<&str>, new: &Markings) -> bool {
        !new.covers(self.current(field))
    }

    /// A `Marking.Change` message made with knowledge of everything this copy said about the
    /// target: loosening is allowed only when it comes from the provider.
    pub fn apply_change(
        &mut self,
        field: Option<&str>,
        new: Markings,
        from_provider: bool,
    ) -> Result<(), MarkingError> {
        self.receive_change(
            field,
            &ReceivedChange {
                markings: new,
                from_provider,
                seen: None,
                own_last: None,
                basis: None,
            },
        )
        .map(|_| ())
    }

    /// A received `Marking.Change` on `field` (or the whole item), ordered against this
    /// copy's own last word on the same target (see the module doc): it replaces the target's
    /// markings when its sender had seen that word, and is joined with it otherwise. From
    /// anyone but the provider it is refused (`marking_loosened_not_by_provider`, nothing
    /// changed) when it does not cover the markings its sender started from (`basis`), or
    /// when the target would end looser than its own markings are. Returns the markings the
    /// target takes.
    pub fn receive_change(
        &mut self,
        field: Option<&str>,
        change: &ReceivedChange,
    ) -> Result<Markings, MarkingError> {
        let result = match &change.own_last {
            Some((_, own)) if change.is_concurrent() => change.markings.join(own),
            _ => change.markings.clone(),
        };
        if !change.from_provider {
            let below_basis = change
                .basis
                .as_ref()
                .is_some_and(|basis| !change.markings.covers(basis));
            // A field without markings of its own is as strict as its item anyway (`effective`
            // joins them), and the item may have changed concurrently on this copy: only the
            // field's own markings are compared.
            let own = match field {
                Some(f) => self.fields.get(f),
                None => Some(&self.item),
            };
            if below_basis || own.is_some_and(|m| !result.covers(m)) {
                return Err(MarkingError::LoosenedNotByProvider);
            }
        }
        match field {
            Some(f) => {
                self.fields.insert(f.to_owned(), result.clone());
            }
            None => self.item = result.clone(),
        }
        Ok(result)
    }
}

/// A `Marking.Change` as the receiving copy weighs it against its own history of the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedChange {
    /// The markings the sender set.
    pub markings: Markings,
    /// Whether the sender supplied the item (recorded on the receiving copy, never claimed).
    pub from_provider: bool,
    /// The highest of the receiving copy's change numbers for this target that the sender had
    /// applied when it made the change (`None`: none).
    pub seen: Option<u32>,
    /// The receiving copy's own last word on the target: its change number and the markings
    /// it set then (`None`: it never re-marked the target).
    pub own_last: Option<(u32, Markings)>,
    /// What the sender started from, as far as the receiving copy knows it: the markings of
    /// its own change number `seen`, or of the item as supplied. `None` when unknown.
    pub basis: Option<Markings>,
}

impl ReceivedChange {
    /// Whether the sender spoke without having seen the receiving copy's last word.
    pub fn is_concurrent(&self) -> bool {
        self.own_last
            .as_ref()
            .is_some_and(|(seq, _)| self.seen < Some(*seq))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkingError {
    #[error("re-marking would loosen {}", .field.as_deref().unwrap_or("the item"))]
    Loosened { field: Option<String> },
    #[error("a loosening Marking.Change must come from the provider")]
    LoosenedNotByProvider,
    #[error("{0:?} is not a caveat code")]
    BadCaveat(String),
    #[error("Marking.Change {got} arrived after change {last}, which replaced it")]
    ChangeSuperseded { last: u32, got: u32 },
}

/// The order of one provider's `Marking.Change` messages for one item and field: each
/// carries the provider's running number for that target, and a receiver applies only a
/// number above the last one it applied. A change delivered late (after a later one) is
/// refused rather than applied over its successor, so both sides end on the provider's last
/// word whatever the delivery order.
pub fn check_change_order(last_applied: Option<u32>, got: u32) -> Result<(), MarkingError> {
    match last_applied {
        Some(last) if got <= last => Err(MarkingError::ChangeSuperseded { last, got }),
        _ => Ok(()),
    }
}

impl MarkingError {
    pub fn code(&self) -> &'static str {
        match self {
            MarkingError::Loosened { .. } => "marking_loosened",
            MarkingError::LoosenedNotByProvider => "marking_loosened_not_by_provider",
            MarkingError::BadCaveat(_) => "caveat_invalid",
            MarkingError::ChangeSuperseded { .. } => "marking_change_superseded",
        }
    }
}
