//! Country, currency and location codes checked against the embedded ISO 3166-1, ISO 4217
//! and UN/LOCODE tables (spec 3.8).
//!
//! Each parser fails only for reasons in its input. How severe a failure is (error for local
//! filings, warning for well-formed partner codes such as UK CDS's `ZF`) is the caller's
//! decision, so the shape checks are public on their own.

use std::fmt;

use super::IdError;
use super::normalise::normalise;
use crate::refdata::{self, Country, CurrencyStatus, Locode};

fn is_letters(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// An assigned ISO 3166-1 alpha-2 code, e.g. `UZ`. Cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(&'static str);

impl CountryCode {
    /// Parses an assigned alpha-2 code (case and surrounding spaces ignored). `NA` is Namibia.
    pub fn parse(raw: &str) -> Result<CountryCode, IdError> {
        let s = normalise(raw);
        if !is_letters(&s, 2) {
            let n_chars = s.chars().count();
            let detail = if n_chars == 2 {
                "only letters are allowed".to_owned()
            } else {
                format!("got {n_chars} characters, need 2 letters")
            };
            return Err(IdError::CountryFormat { detail });
        }
        match refdata::countries().get(&s) {
            Some(country) => Ok(CountryCode(country.alpha2)),
            None => Err(IdError::CountryUnknown { code: s }),
        }
    }

    /// Whether `raw` is two letters after normalisation, assigned or not. Partner data with a
    /// well-formed but unassigned code (`ZF`, `XI`) is kept with a warning; anything else is
    /// an error.
    pub fn shape_ok(raw: &str) -> bool {
        is_letters(&normalise(raw), 2)
    }

    /// The two letters, e.g. `UZ`.
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The ISO 3166-1 entry: alpha-3, numeric, name, currency.
    pub fn country(&self) -> &'static Country {
        refdata::countries()
            .get(self.0)
            .expect("a CountryCode is only built from a row of the embedded ISO 3166-1 table")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// An ISO 4217 alphabetic code, current or withdrawn, e.g. `UZS`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CurrencyCode {
    code: String,
    status: CurrencyStatus,
}

impl CurrencyCode {
    /// Parses a code ISO 4217 has assigned, now or in the past. A withdrawn code parses;
    /// check [`CurrencyCode::is_withdrawn`] to raise the warning.
    pub fn parse(raw: &str) -> Result<CurrencyCode, IdError> {
        let s = normalise(raw);
        if !is_letters(&s, 3) {
            return Err(IdError::CurrencyFormat {
                detail: format!("got {} characters, need 3 letters", s.chars().count()),
            });
        }
        match refdata::currencies().get(&s) {
            Some(status) => Ok(CurrencyCode { code: s, status }),
            None => Err(IdError::CurrencyUnknown { code: s }),
        }
    }

    /// Whether `raw` is three letters after normalisation, known or not.
    pub fn shape_ok(raw: &str) -> bool {
        is_letters(&normalise(raw), 3)
    }

    /// The three letters, e.g. `UZS`.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Whether every use of the code has been withdrawn (e.g. `RUR`).
    pub fn is_withdrawn(&self) -> bool {
        self.status == CurrencyStatus::Withdrawn
    }

    /// Current or withdrawn, with the minor unit of a current code.
    pub fn status(&self) -> CurrencyStatus {
        self.status
    }

    /// Digits after the decimal point of a current code (2 for USD); `None` for withdrawn
    /// codes and codes without one (`XAU`).
    pub fn minor_unit(&self) -> Option<u8> {
        match self.status {
            CurrencyStatus::Current { minor_unit } => minor_unit,
            CurrencyStatus::Withdrawn => None,
        }
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

/// A UN/LOCODE of shape `^[A-Z]{2}[A-Z2-9]{3}$` whose first two letters are an assigned
/// country, e.g. `UZTAS`.
///
/// Parsing does not look the code up: only US and UZ codes are shipped, and an unknown code
/// is a warning, so existence is asked separately with [`UnLocode::is_known`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnLocode {
    code: String,
    country: CountryCode,
}

impl UnLocode {
    /// Parses a UN/LOCODE; spaces are ignored (`US NYC` is `USNYC`).
    pub fn parse(raw: &str) -> Result<UnLocode, IdError> {
        let s = normalise(raw);
        let bytes = s.as_bytes();
        let shape_ok = bytes.len() == 5
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2..]
                .iter()
                .all(|&b| b.is_ascii_uppercase() || (b'2'..=b'9').contains(&b));
        if !shape_ok {
            return Err(IdError::LocodeFormat {
                detail: "need 2 country letters and 3 characters from A-Z and 2-9".into(),
            });
        }
        let Some(country) = refdata::countries().get(&s[..2]) else {
            return Err(IdError::LocodeCountry {
                country: s[..2].to_owned(),
            });
        };
        Ok(UnLocode {
            country: CountryCode(country.alpha2),
            code: s,
        })
    }

    /// The five characters, e.g. `UZTAS`.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The country part, e.g. `UZ`.
    pub fn country(&self) -> CountryCode {
        self.country
    }

    /// The location part, e.g. `TAS`.
    pub fn location(&self) -> &str {
        &self.code[2..]
    }

    /// Whether Caravan ships the codes of this country (US and UZ), so that a lookup can
    /// answer "unknown" rather than "cannot tell".
    pub fn is_covered(&self) -> bool {
        refdata::locodes().covers(&self.code[..2])
    }

    /// The UN/LOCODE entry, if the code is in the shipped list.
    pub fn lookup(&self) -> Option<&'static Locode> {
        refdata::locodes().get(&self.code[..2], &self.code[2..])
    }

    /// Whether the code is in the shipped US/UZ list. Always false for other countries; use
    /// [`UnLocode::is_covered`] to tell "unknown" from "cannot tell".
    pub fn is_known(&self) -> bool {
        self.lookup().is_some()
    }

    /// `Err(ID_LOCODE_UNKNOWN)` if the country is covered and the code is not in the list;
    /// `Ok` if it is listed or the country is not covered.
    pub fn check_known(&self) -> Result<(), IdError> {
        if self.is_covered() && !self.is_known() {
            return Err(IdError::LocodeUnknown {
                locode: self.code.clone(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for UnLocode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}
