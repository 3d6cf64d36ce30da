//! UN/LOCODE entries for the two corridor countries, the United States and Uzbekistan.
//!
//! Only these two countries are shipped, so a lookup can say "unknown" only for them; for any
//! other country the caller must treat a well-shaped code as unverifiable, which is what
//! [`Locodes::covers`] is for.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::csv::{embedded, into_static};

const UNLOCODE_CSV: &str = include_str!("../../data/unlocode-us-uz.csv");

/// What a location is used for: the 8-position UN/LOCODE function classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FunctionMask(u8);

impl FunctionMask {
    /// Reads the 8-character classifier, e.g. `"1-3-----"`. A position counts as set unless it
    /// holds `-` (or, in position 1, `0`, "function not known").
    fn parse(mask: &str) -> FunctionMask {
        let bits = mask
            .bytes()
            .take(8)
            .enumerate()
            .filter(|&(_, b)| b != b'-' && b != b'0')
            .fold(0u8, |acc, (i, _)| acc | (1 << i));
        FunctionMask(bits)
    }

    fn has(self, position: u8) -> bool {
        self.0 & (1 << position) != 0
    }

    /// Position 1: port.
    pub fn is_port(self) -> bool {
        self.has(0)
    }
    /// Position 2: rail terminal.
    pub fn is_rail(self) -> bool {
        self.has(1)
    }
    /// Position 3: road terminal.
    pub fn is_road(self) -> bool {
        self.has(2)
    }
    /// Position 4: airport.
    pub fn is_airport(self) -> bool {
        self.has(3)
    }
    /// Position 5: postal exchange office.
    pub fn is_postal(self) -> bool {
        self.has(4)
    }
    /// Position 6: inland clearance depot.
    pub fn is_inland_clearance_depot(self) -> bool {
        self.has(5)
    }
    /// Position 7: fixed transport installation (pipeline, power line).
    pub fn is_fixed_transport(self) -> bool {
        self.has(6)
    }
    /// Position 8: border crossing.
    pub fn is_border_crossing(self) -> bool {
        self.has(7)
    }
    /// The raw bits, position 1 in bit 0.
    pub fn bits(self) -> u8 {
        self.0
    }
}

/// One UN/LOCODE location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locode {
    /// ISO 3166-1 alpha-2 country, e.g. `"UZ"`.
    pub country: &'static str,
    /// The 3-character location part, e.g. `"TAS"`.
    pub location: &'static str,
    /// The name with diacritics, from the first row of the code.
    pub name: &'static str,
    /// The same name without diacritics.
    pub name_wo_diacritics: &'static str,
    /// Further names of the same code (30 US codes carry alternative-name rows).
    pub alternative_names: Vec<&'static str>,
    /// ISO 3166-2 subdivision without the country prefix (e.g. `"NY"`), if given.
    pub subdivision: Option<&'static str>,
    /// What the location is used for.
    pub function: FunctionMask,
    /// IATA code where it differs from the location part.
    pub iata: Option<&'static str>,
    /// UN/LOCODE status, e.g. `"AI"` (adopted by IATA) or `"RL"` (recognised location).
    pub status: &'static str,
}

/// The UN/LOCODE table for the countries Caravan ships (US and UZ).
#[derive(Debug)]
pub struct Locodes {
    by_code: HashMap<([u8; 2], [u8; 3]), Locode>,
    countries: HashSet<&'static str>,
}

/// The embedded UN/LOCODE table for US and UZ, parsed on first use.
pub fn locodes() -> &'static Locodes {
    static LOCODES: OnceLock<Locodes> = OnceLock::new();
    LOCODES.get_or_init(Locodes::load)
}

fn key(country: &str, location: &str) -> Option<([u8; 2], [u8; 3])> {
    Some((
        country.as_bytes().try_into().ok()?,
        location.as_bytes().try_into().ok()?,
    ))
}

fn non_empty(s: &'static str) -> Option<&'static str> {
    (!s.is_empty()).then_some(s)
}

impl Locodes {
    fn load() -> Locodes {
        let (
            rows,
            [
                country,
                location,
                name,
                name_wo,
                subdivision,
                function,
                status,
                iata,
            ],
        ) = embedded(
            "unlocode-us-uz.csv",
            UNLOCODE_CSV,
            [
                "Country",
                "Location",
                "Name",
                "NameWoDiacritics",
                "Subdivision",
                "Function",
                "Status",
                "IATA",
            ],
        );
        let mut by_code: HashMap<([u8; 2], [u8; 3]), Locode> = HashMap::with_capacity(rows.len());
        let mut countries = HashSet::new();
        for mut row in rows {
            let mut take = |i: usize| into_static(std::mem::take(&mut row[i]));
            let locode = Locode {
                country: take(country),
                location: take(location),
                name: take(name),
                name_wo_diacritics: take(name_wo),
                alternative_names: Vec::new(),
                subdivision: non_empty(take(subdivision)),
                function: FunctionMask::parse(take(function)),
                iata: non_empty(take(iata)),
                status: take(status),
            };
            let Some(code) = key(locode.country, locode.location) else {
                panic!(
                    "embedded unlocode-us-uz.csv has code {:?} {:?}",
                    locode.country, locode.location
                );
            };
            countries.insert(locode.country);
            match by_code.get_mut(&code) {
                // Later rows of the same code only add an alternative name.
                Some(first) => first.alternative_names.push(locode.name),
                None => {
                    by_code.insert(code, locode);
                }
            }
        }
        Locodes { by_code, countries }
    }

    /// The location `location` (3 characters) in `country` (alpha-2), both upper case.
    pub fn get(&self, country: &str, location: &str) -> Option<&Locode> {
        self.by_code.get(&key(country, location)?)
    }

    /// Whether the table holds the codes of `country`, so that a missing code means unknown
    /// rather than unverifiable. True for `US` and `UZ` only.
    pub fn covers(&self, country: &str) -> bool {
        self.countries.contains(country)
    }

    /// The number of distinct codes (20,894).
    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    /// Always false for the embedded table; present because `len` is.
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    /// Every location, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Locode> {
        self.by_code.values()
    }
}
