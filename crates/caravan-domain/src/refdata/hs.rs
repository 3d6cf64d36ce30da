//! Harmonized System 2022 nomenclature, the basis of every commodity-code check.
//!
//! Caravan validates commodity codes at HS6 only: national digits 7 and beyond (US HTSUS,
//! Uzbek TN VED) are not available as open data and stay opaque. The placeholder rows of the
//! source (`99`, `9999`, `999999`, `TOTAL`, all in section `TOTAL`) are not goods and are left
//! out of every lookup, so `999999` can never pass as a declared subheading.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::csv::{embedded, into_static};

const HS2022_CSV: &str = include_str!("../../data/hs2022.csv");

/// One row of the HS 2022 nomenclature: a chapter, heading or subheading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsEntry {
    /// The code: 2 digits (chapter), 4 (heading) or 6 (subheading).
    pub code: &'static str,
    /// The WCO description, e.g. `"Horses; live, pure-bred breeding animals"`.
    pub description: &'static str,
    /// The HS section as a Roman numeral, `I` to `XXI`.
    pub section: &'static str,
    /// The code of the enclosing level: the chapter of a heading, the heading of a subheading,
    /// and `TOTAL` for a chapter.
    pub parent: &'static str,
}

/// The HS 2022 nomenclature, indexed for constant-time lookups.
#[derive(Debug)]
pub struct Hs2022 {
    chapters: HashMap<&'static str, HsEntry>,
    headings: HashMap<&'static str, HsEntry>,
    /// Level-6 rows in source (code) order.
    subheadings: Vec<HsEntry>,
    subheading_index: HashMap<&'static str, usize>,
    /// Indices into `subheadings`, per heading and per chapter, in code order.
    by_heading: HashMap<&'static str, Vec<usize>>,
    by_chapter: HashMap<&'static str, Vec<usize>>,
}

/// The embedded HS 2022 nomenclature, parsed on first use.
pub fn hs2022() -> &'static Hs2022 {
    static HS2022: OnceLock<Hs2022> = OnceLock::new();
    HS2022.get_or_init(Hs2022::load)
}

impl Hs2022 {
    fn load() -> Hs2022 {
        let (rows, [section, code, description, parent, level]) = embedded(
            "hs2022.csv",
            HS2022_CSV,
            ["section", "hscode", "description", "parent", "level"],
        );
        let mut hs = Hs2022 {
            chapters: HashMap::new(),
            headings: HashMap::new(),
            subheadings: Vec::new(),
            subheading_index: HashMap::new(),
            by_heading: HashMap::new(),
            by_chapter: HashMap::new(),
        };
        for mut row in rows {
            let level_of_row = into_static(std::mem::take(&mut row[level]));
            let entry = HsEntry {
                code: into_static(std::mem::take(&mut row[code])),
                description: into_static(std::mem::take(&mut row[description])),
                section: into_static(std::mem::take(&mut row[section])),
                parent: into_static(std::mem::take(&mut row[parent])),
            };
            // Placeholders ("commodities not specified according to kind") are not goods.
            if entry.section == "TOTAL" {
                continue;
            }
            let digits_ok = entry.code.bytes().all(|b| b.is_ascii_digit());
            match (level_of_row, entry.code.len()) {
                ("2", 2) if digits_ok => {
                    hs.chapters.insert(entry.code, entry);
                }
                ("4", 4) if digits_ok => {
                    hs.headings.insert(entry.code, entry);
                }
                ("6", 6) if digits_ok => {
                    let idx = hs.subheadings.len();
                    hs.subheading_index.insert(entry.code, idx);
                    hs.by_heading.entry(&entry.code[..4]).or_default().push(idx);
                    hs.by_chapter.entry(&entry.code[..2]).or_default().push(idx);
                    hs.subheadings.push(entry);
                }
                (other_level, _) => {
                    panic!(
                        "embedded hs2022.csv has code {} at level {other_level}",
                        entry.code
                    )
                }
            }
        }
        hs
    }

    /// The level-6 subheading `hs6` (six digits), never the placeholder `999999`.
    pub fn subheading(&self, hs6: &str) -> Option<&HsEntry> {
        self.subheading_index
            .get(hs6)
            .map(|&i| &self.subheadings[i])
    }

    /// The heading `hs4` (four digits).
    pub fn heading(&self, hs4: &str) -> Option<&HsEntry> {
        self.headings.get(hs4)
    }

    /// The chapter `hs2` (two digits).
    pub fn chapter(&self, hs2: &str) -> Option<&HsEntry> {
        self.chapters.get(hs2)
    }

    /// Every level-6 subheading, in code order (5,612 of them).
    pub fn subheadings(&self) -> impl Iterator<Item = &HsEntry> {
        self.subheadings.iter()
    }

    /// The other level-6 subheadings under the same heading as `hs6`, in code order.
    ///
    /// Useful for suggesting a correction when a declared code is close to a real one. Empty
    /// when `hs6` has no known heading; `hs6` itself need not exist.
    pub fn siblings<'a>(&'a self, hs6: &str) -> impl Iterator<Item = &'a HsEntry> + use<'a> {
        let own = self.subheading_index.get(hs6).copied();
        let indices: &'a [usize] = hs6
            .get(..4)
            .and_then(|hs4| self.by_heading.get(hs4))
            .map_or(&[], Vec::as_slice);
        indices
            .iter()
            .filter(move |&&i| Some(i) != own)
            .map(|&i| &self.subheadings[i])
    }

    /// Every level-6 subheading in chapter `ch` (two digits), in code order.
    pub fn subheadings_in_chapter(&self, ch: &str) -> Vec<&HsEntry> {
        self.by_chapter
            .get(ch)
            .map(|indices| indices.iter().map(|&i| &self.subheadings[i]).collect())
            .unwrap_or_default()
    }

    /// Every chapter, in no particular order.
    pub fn chapters(&self) -> impl Iterator<Item = &HsEntry> {
        self.chapters.values()
    }

    /// Every heading, in no particular order.
    pub fn headings(&self) -> impl Iterator<Item = &HsEntry> {
        self.headings.values()
    }
}
