//! ISO 3166-1 countries: the only country codes a local filing may use.
//!
//! Partner data may carry well-formed codes that ISO has not assigned (UK CDS uses `ZF` and
//! `XI`); deciding how severe that is belongs to the caller, so this module only answers
//! whether a code is assigned and what it stands for. Namibia's code `NA` is a code like any
//! other here.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::csv::{embedded, into_static};

const COUNTRY_CODES_CSV: &str = include_str!("../../data/country-codes.csv");

/// One ISO 3166-1 entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2, e.g. `"UZ"`.
    pub alpha2: &'static str,
    /// ISO 3166-1 alpha-3, e.g. `"UZB"`.
    pub alpha3: &'static str,
    /// ISO 3166-1 numeric, e.g. `860`; print with `{:03}`.
    pub numeric: u16,
    /// Short English name: the CLDR display name, or the official English name if the CLDR
    /// has none.
    pub name: &'static str,
    /// The ISO 4217 currency listed first for the country (`None` for Antarctica and a few
    /// others that have no universal currency).
    pub currency: Option<&'static str>,
    /// Every ISO 4217 currency listed for the country, first one first (Bhutan: INR, BTN).
    pub currencies: Vec<&'static str>,
}

/// The ISO 3166-1 table, indexed by alpha-2 and alpha-3.
#[derive(Debug)]
pub struct Countries {
    by_alpha2: HashMap<&'static str, Country>,
    alpha2_by_alpha3: HashMap<&'static str, &'static str>,
}

/// The embedded ISO 3166-1 table, parsed on first use.
pub fn countries() -> &'static Countries {
    static COUNTRIES: OnceLock<Countries> = OnceLock::new();
    COUNTRIES.get_or_init(Countries::load)
}

impl Countries {
    fn load() -> Countries {
        let (rows, [alpha2, alpha3, numeric, cldr_name, official_name, currency]) = embedded(
            "country-codes.csv",
            COUNTRY_CODES_CSV,
            [
                "ISO3166-1-Alpha-2",
                "ISO3166-1-Alpha-3",
                "ISO3166-1-numeric",
                "CLDR display name",
                "official_name_en",
                "ISO4217-currency_alphabetic_code",
            ],
        );
        let mut by_alpha2 = HashMap::with_capacity(rows.len());
        let mut alpha2_by_alpha3 = HashMap::with_capacity(rows.len());
        for mut row in rows {
            let mut take = |i: usize| into_static(std::mem::take(&mut row[i]));
            let cldr = take(cldr_name);
            let official = take(official_name);
            let currencies: Vec<&'static str> = take(currency)
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            let numeric_text = take(numeric);
            let country = Country {
                alpha2: take(alpha2),
                alpha3: take(alpha3),
                numeric: numeric_text.parse().unwrap_or_else(|_| {
                    panic!("embedded country-codes.csv has numeric code {numeric_text:?}")
                }),
                name: if cldr.is_empty() { official } else { cldr },
                currency: currencies.first().copied(),
                currencies,
            };
            assert!(
                country.alpha2.len() == 2 && country.alpha2.bytes().all(|b| b.is_ascii_uppercase()),
                "embedded country-codes.csv has alpha-2 code {:?}",
                country.alpha2
            );
            alpha2_by_alpha3.insert(country.alpha3, country.alpha2);
            by_alpha2.insert(country.alpha2, country);
        }
        Countries {
            by_alpha2,
            alpha2_by_alpha3,
        }
    }

    /// The country with ISO 3166-1 alpha-2 code `alpha2` (upper case, e.g. `"NA"`).
    pub fn get(&self, alpha2: &str) -> Option<&Country> {
        self.by_alpha2.get(alpha2)
    }

    /// The country with ISO 3166-1 alpha-3 code `alpha3` (upper case, e.g. `"NAM"`).
    pub fn get_alpha3(&self, alpha3: &str) -> Option<&Country> {
        self.alpha2_by_alpha3
            .get(alpha3)
            .and_then(|a2| self.by_alpha2.get(a2))
    }

    /// Whether ISO has assigned `alpha2` (upper case) to a country or territory.
    pub fn is_assigned(&self, alpha2: &str) -> bool {
        self.by_alpha2.contains_key(alpha2)
    }

    /// Every country, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Country> {
        self.by_alpha2.values()
    }

    /// The number of countries (249).
    pub fn len(&self) -> usize {
        self.by_alpha2.len()
    }

    /// Always false for the embedded table; present because `len` is.
    pub fn is_empty(&self) -> bool {
        self.by_alpha2.is_empty()
    }
}
