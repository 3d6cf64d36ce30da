//! The Common High Priority List (CHPL): HS6 codes of items the US, EU, UK and Japan watch
//! for diversion to Russia, grouped in tiers.
//!
//! Targeting uses the tier as a risk feature. The list is a transcription of the BIS
//! publication of 2024-02-23 and is revised by the allied governments; see `data/README.md`.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::csv::{embedded, into_static};

const CHPL_CSV: &str = include_str!("../../data/chpl.csv");

/// The CHPL: 50 HS6 codes in tiers `1`, `2`, `3.A`, `3.B`, `4.A` and `4.B`.
#[derive(Debug)]
pub struct Chpl {
    /// `(tier, hs6)` in published order.
    codes: Vec<(&'static str, &'static str)>,
    tier_by_hs6: HashMap<&'static str, &'static str>,
}

/// The embedded Common High Priority List, parsed on first use.
pub fn chpl() -> &'static Chpl {
    static CHPL: OnceLock<Chpl> = OnceLock::new();
    CHPL.get_or_init(Chpl::load)
}

impl Chpl {
    fn load() -> Chpl {
        let (rows, [tier, hs6]) = embedded("chpl.csv", CHPL_CSV, ["tier", "hs6"]);
        let codes: Vec<(&'static str, &'static str)> = rows
            .into_iter()
            .map(|mut row| {
                (
                    into_static(std::mem::take(&mut row[tier])),
                    into_static(std::mem::take(&mut row[hs6])),
                )
            })
            .collect();
        let tier_by_hs6 = codes.iter().map(|&(tier, hs6)| (hs6, tier)).collect();
        Chpl { codes, tier_by_hs6 }
    }

    /// The tier of `hs6` (e.g. `"1"` or `"3.A"`), or `None` if the code is not on the list.
    pub fn tier(&self, hs6: &str) -> Option<&str> {
        self.tier_by_hs6.get(hs6).copied()
    }

    /// Every `(tier, hs6)` pair, in published order.
    pub fn codes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.codes.iter().copied()
    }
}
