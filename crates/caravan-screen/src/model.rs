//! The one entity model every list format is read into (spec §2), so that the normaliser,
//! the index and the scorer never know which publisher a name came from.
//!
//! Every entry carries its list and a `content_hash` over its normalised facts: the hash is
//! what delta screening and the lapse of suppressions key on, so it must change exactly when
//! a fact an officer could rely on changes, and never with the order of XML elements.

use sha2::{Digest, Sha256};

/// What a list entry designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A natural person.
    Person,
    /// A company, organisation or other legal entity.
    Organization,
    /// A ship.
    Vessel,
    /// An aircraft.
    Aircraft,
    /// The list does not say.
    Unknown,
}

impl EntryKind {
    /// The lower-case name used in CSV files and explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Person => "person",
            EntryKind::Organization => "organization",
            EntryKind::Vessel => "vessel",
            EntryKind::Aircraft => "aircraft",
            EntryKind::Unknown => "unknown",
        }
    }

    /// Parses the lookout-CSV spelling.
    pub fn parse(text: &str) -> Option<EntryKind> {
        Some(match text {
            "person" => EntryKind::Person,
            "organization" => EntryKind::Organization,
            "vessel" => EntryKind::Vessel,
            "aircraft" => EntryKind::Aircraft,
            "unknown" => EntryKind::Unknown,
            _ => return None,
        })
    }
}

/// How strongly a list stands behind one of an entry's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameKind {
    /// The designation's main name.
    Primary,
    /// A strong alias (OFAC a.k.a., UN quality Good / a.k.a.).
    Alias,
    /// A weak alias (UN quality Low, FtM `weakAlias`): scored ×0.8.
    Weak,
    /// A former name (f.k.a.): scored ×0.95.
    Former,
    /// The name in its original script, as published.
    OriginalScript,
}

impl NameKind {
    /// The lookout-CSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Primary => "primary",
            NameKind::Alias => "alias",
            NameKind::Weak => "weak",
            NameKind::Former => "former",
            NameKind::OriginalScript => "original_script",
        }
    }

    /// Parses the lookout-CSV spelling.
    pub fn parse(text: &str) -> Option<NameKind> {
        Some(match text {
            "primary" => NameKind::Primary,
            "alias" => NameKind::Alias,
            "weak" => NameKind::Weak,
            "former" => NameKind::Former,
            "original_script" => NameKind::OriginalScript,
            _ => return None,
        })
    }

    /// The factor a name of this kind contributes to the entry's name score (spec §6.2).
    pub fn weight(self) -> f64 {
        match self {
            NameKind::Weak => 0.8,
            NameKind::Former => 0.95,
            _ => 1.0,
        }
    }
}

/// One name of a list entry, as published (normalisation happens in the index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListName {
    /// Primary, alias, …
    pub kind: NameKind,
    /// The published text, with `LAST, First` already reordered for persons.
    pub text: String,
}

/// A birth date as lists give it: exact, month, year or a range, possibly approximate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FuzzyDate {
    /// First possible year.
    pub year_from: u16,
    /// Last possible year (equal to `year_from` unless a range).
    pub year_to: u16,
    /// Month, when known (1–12).
    pub month: Option<u8>,
    /// Day, when known (1–31).
    pub day: Option<u8>,
    /// The publisher said "approximately" / "circa".
    pub approximate: bool,
}

impl FuzzyDate {
    /// A single year.
    pub fn year(year: u16) -> FuzzyDate {
        FuzzyDate {
            year_from: year,
            year_to: year,
            month: None,
            day: None,
            approximate: false,
        }
    }

    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, with a `~` prefix for approximate.
    pub fn parse_iso(text: &str) -> Option<FuzzyDate> {
        let (approximate, rest) = match text.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut parts = rest.split('-');
        let year_text = parts.next()?;
        if year_text.len() != 4 || !year_text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: u16 = year_text.parse().ok()?;
        let mut month = None;
        let mut day = None;
        if let Some(month_text) = parts.next() {
            let value: u8 = two_digits(month_text)?;
            if !(1..=12).contains(&value) {
                return None;
            }
            month = Some(value);
        }
        if let Some(day_text) = parts.next() {
            let value: u8 = two_digits(day_text)?;
            if !(1..=31).contains(&value) {
                return None;
            }
            day = Some(value);
        }
        if parts.next().is_some() {
            return None;
        }
        Some(FuzzyDate {
            year_from: year,
            year_to: year,
            month,
            day,
            approximate,
        })
    }

    /// True when the two dates cannot be the same day (spec §6.3): approximate and ranged
    /// dates are disjoint only when their year ranges, widened by one year when
    /// approximate, do not overlap.
    pub fn years_disjoint(&self, other: &FuzzyDate) -> bool {
        let slack = |d: &FuzzyDate| u16::from(d.approximate);
        let (a_from, a_to) = (
            self.year_from.saturating_sub(slack(self)),
            self.year_to + slack(self),
        );
        let (b_from, b_to) = (
            other.year_from.saturating_sub(slack(other)),
            other.year_to + slack(other),
        );
        a_to < b_from || b_to < a_from
    }

    /// True when both are exact full dates and differ.
    pub fn full_dates_differ(&self, other: &FuzzyDate) -> bool {
        let full = |d: &FuzzyDate| {
            !d.approximate && d.year_from == d.year_to && d.month.is_some() && d.day.is_some()
        };
        full(self)
            && full(other)
            && (self.year_from, self.month, self.day) != (other.year_from, other.month, other.day)
    }

    /// `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or `YYYY..YYYY`, `~`-prefixed when approximate.
    pub fn display(&self) -> String {
        let mut out = String::new();
        if self.approximate {
            out.push('~');
        }
        if self.year_from != self.year_to {
            out.push_str(&format!("{}..{}", self.year_from, self.year_to));
            return out;
        }
        out.push_str(&format!("{:04}", self.year_from));
        if let Some(month) = self.month {
            out.push_str(&format!("-{month:02}"));
            if let Some(day) = self.day {
                out.push_str(&format!("-{day:02}"));
            }
        }
        out
    }
}

fn two_digits(text: &str) -> Option<u8> {
    if text.len() != 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Why a country is attached to an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CountryRole {
    /// Nationality or citizenship.
    Nationality,
    /// Country of an address or residence.
    Residence,
    /// Jurisdiction of registration.
    Jurisdiction,
    /// Place of birth.
    Birth,
    /// The list does not say.
    Other,
}

/// A country linked to an entry: ISO 3166-1 alpha-2 when the list's text could be mapped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryCountry {
    /// Nationality, residence, …
    pub role: CountryRole,
    /// ISO 3166-1 alpha-2.
    pub code: String,
}

/// An identifier: scheme, normalised value (upper-case letters and digits only) and the
/// issuing country for national schemes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier {
    /// `PASSPORT`, `NATIONAL_ID`, `TAX_ID`, `INN`, `OGRN`, `IMO`, `BIC`, `LEI`, `UZ_STIR`,
    /// `US_EIN`, `EORI`, `US_IOR`, …
    pub scheme: String,
    /// Normalised value.
    pub value: String,
    /// Issuing country (alpha-2), when known.
    pub country: Option<String>,
}

impl Identifier {
    /// Builds an identifier with its value normalised; `None` when nothing is left.
    pub fn new(scheme: &str, raw_value: &str, country: Option<String>) -> Option<Identifier> {
        let value = normalize_identifier(raw_value);
        if value.is_empty() {
            return None;
        }
        Some(Identifier {
            scheme: scheme.to_ascii_uppercase(),
            value,
            country,
        })
    }

    /// Registry identifiers weigh more than generic ones (spec §6.3).
    pub fn is_registry(&self) -> bool {
        matches!(
            self.scheme.as_str(),
            "INN" | "OGRN" | "LEI" | "IMO" | "BIC" | "UZ_STIR" | "US_EIN" | "PASSPORT" | "EORI"
        )
    }
}

/// Upper-case letters and digits of an identifier, everything else dropped.
pub fn normalize_identifier(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A postal address, kept as one line plus its country.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// The address as one line.
    pub text: String,
    /// ISO 3166-1 alpha-2, when known.
    pub country: Option<String>,
}

/// One entry of a list: a person, company, vessel or aircraft with all its names and facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// The list this entry belongs to (`us-ofac-sdn`, `un-sc-consolidated`, …).
    pub list: String,
    /// Source-native id: OFAC `ent_num`, UN `DATAID`, FtM `id`, lookout `entry_id`.
    pub entry_id: String,
    /// Person, organisation, …
    pub kind: EntryKind,
    /// All names, primary first.
    pub names: Vec<ListName>,
    /// Birth dates.
    pub birth_dates: Vec<FuzzyDate>,
    /// Countries with their role.
    pub countries: Vec<EntryCountry>,
    /// Identifiers.
    pub identifiers: Vec<Identifier>,
    /// Addresses.
    pub addresses: Vec<Address>,
    /// Sanctions programmes.
    pub programs: Vec<String>,
    /// SHA-256 over the facts, see [`ListEntry::seal`].
    pub content_hash: [u8; 32],
}

impl ListEntry {
    /// A new entry with no facts yet; call [`ListEntry::seal`] once it is filled in.
    pub fn new(list: &str, entry_id: &str, kind: EntryKind) -> ListEntry {
        ListEntry {
            list: list.to_owned(),
            entry_id: entry_id.to_owned(),
            kind,
            names: Vec::new(),
            birth_dates: Vec::new(),
            countries: Vec::new(),
            identifiers: Vec::new(),
            addresses: Vec::new(),
            programs: Vec::new(),
            content_hash: [0; 32],
        }
    }

    /// The primary name (the first name when there is no primary).
    pub fn primary_name(&self) -> &str {
        self.names
            .iter()
            .find(|n| n.kind == NameKind::Primary)
            .or(self.names.first())
            .map_or("", |n| n.text.as_str())
    }

    /// Removes duplicate facts and computes `content_hash`. The hash is over sorted facts,
    /// so the order a publisher writes aliases in does not make an entry look changed.
    pub fn seal(&mut self) {
        let mut seen = std::collections::HashSet::new();
        self.names
            .retain(|n| !n.text.trim().is_empty() && seen.insert((n.kind, n.text.clone())));
        dedup_keep_order(&mut self.birth_dates);
        dedup_keep_order(&mut self.countries);
        dedup_keep_order(&mut self.identifiers);
        dedup_keep_order(&mut self.addresses);
        dedup_keep_order(&mut self.programs);

        let mut facts: Vec<String> = Vec::new();
        facts.push(format!("kind\u{1f}{}", self.kind.as_str()));
        facts.extend(
            self.names
                .iter()
                .map(|n| format!("name\u{1f}{}\u{1f}{}", n.kind.as_str(), n.text)),
        );
        facts.extend(
            self.birth_dates
                .iter()
                .map(|d| format!("dob\u{1f}{}", d.display())),
        );
        facts.extend(
            self.countries
                .iter()
                .map(|c| format!("country\u{1f}{:?}\u{1f}{}", c.role, c.code)),
        );
        facts.extend(self.identifiers.iter().map(|i| {
            format!(
                "id\u{1f}{}\u{1f}{}\u{1f}{}",
                i.scheme,
                i.value,
                i.country.as_deref().unwrap_or("")
            )
        }));
        facts.extend(self.addresses.iter().map(|a| {
            format!(
                "addr\u{1f}{}\u{1f}{}",
                a.text,
                a.country.as_deref().unwrap_or("")
            )
        }));
        facts.extend(self.programs.iter().map(|p| format!("program\u{1f}{p}")));
        facts.sort();
        let mut hasher = Sha256::new();
        for fact in &facts {
            hasher.update((fact.len() as u64).to_be_bytes());
            hasher.update(fact.as_bytes());
        }
        self.content_hash = hasher.finalize().into();
    }
}

fn dedup_keep_order<T: Clone + Eq + std::hash::Hash>(items: &mut Vec<T>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|item| seen.insert(item.clone()));
}

/// One ingested version of one list (spec §1, "List versions").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListVersion {
    /// The list id.
    pub list_id: String,
    /// The publication date the file states, if any.
    pub publisher_date: Option<String>,
    /// When the node read it (RFC 3339), from the node's clock; the engine never reads one.
    pub fetched_at: String,
    /// SHA-256 of the bytes read (all files of the list, in order).
    pub sha256: [u8; 32],
    /// Number of entries.
    pub n_entries: usize,
}

/// A parsed list: its version and its entries, in file order, `entry_id`s unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreeningList {
    /// Version metadata.
    pub version: ListVersion,
    /// Entries.
    pub entries: Vec<ListEntry>,
}

impl ScreeningList {
    /// Seals a parsed list: its version is computed from the bytes read, in order.
    pub(crate) fn from_parsed(
        list_id: &str,
        publisher_date: Option<String>,
        fetched_at: &str,
        files: &[&[u8]],
        entries: Vec<ListEntry>,
    ) -> ScreeningList {
        ScreeningList {
            version: ListVersion {
                list_id: list_id.to_owned(),
                publisher_date,
                fetched_at: fetched_at.to_owned(),
                sha256: crate::parse::sha256_files(files),
                n_entries: entries.len(),
            },
            entries,
        }
    }
}

/// Hex of a hash, for display.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
