//! Commodity codes, validated at HS6 against HS 2022 (spec 2.4 and 3.8).
//!
//! Digits 7 and beyond belong to the national tariffs (US HTSUS, Uzbek TN VED), which are not
//! open data; they are kept exactly as declared and never interpreted. Whether a code must
//! have 10 digits depends on who filed it, so that check belongs to the caller.

use std::fmt;

use super::IdError;
use super::normalise::{all_digits, length_detail, normalise};
use crate::refdata::{self, HsEntry};

/// A commodity code whose first six digits are an HS 2022 subheading, e.g. `8471300000`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HsCode(String);

impl HsCode {
    /// Parses 6 to 18 digits (dots, spaces and hyphens ignored, so `8471.30.0100` works) and
    /// looks the first six up in HS 2022. `999999` is a placeholder and never passes.
    pub fn parse(raw: &str) -> Result<HsCode, IdError> {
        let s = normalise(raw);
        HsCode::check_shape(&s)?;
        if refdata::hs2022().subheading(&s[..6]).is_none() {
            return Err(IdError::Hs6Unknown {
                hs6: s[..6].to_owned(),
            });
        }
        Ok(HsCode(s))
    }

    fn check_shape(s: &str) -> Result<(), IdError> {
        if !all_digits(s) {
            return Err(IdError::HsFormat {
                detail: "only digits are allowed".into(),
            });
        }
        if !(6..=18).contains(&s.len()) {
            return Err(IdError::HsFormat {
                detail: length_detail(s.len(), "6 to 18 digits"),
            });
        }
        Ok(())
    }

    /// Whether `raw` is shaped like a commodity code (6 to 18 digits after normalisation),
    /// whether or not HS 2022 knows it. Partner data from older HS editions is kept with a
    /// warning, and this tells such a code apart from garbage.
    pub fn shape_ok(raw: &str) -> bool {
        HsCode::check_shape(&normalise(raw)).is_ok()
    }

    /// All digits as declared, e.g. `8471300000`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The HS 2022 subheading, e.g. `847130`.
    pub fn hs6(&self) -> &str {
        &self.0[..6]
    }

    /// The national digits after the sixth, e.g. `0000`; `None` for a bare HS6 code.
    pub fn national_suffix(&self) -> Option<&str> {
        self.0.get(6..).filter(|suffix| !suffix.is_empty())
    }

    /// The HS chapter, e.g. `84`.
    pub fn chapter(&self) -> &str {
        &self.0[..2]
    }

    /// The HS heading, e.g. `8471`.
    pub fn heading(&self) -> &str {
        &self.0[..4]
    }

    /// The HS 2022 subheading row.
    pub fn entry(&self) -> &'static HsEntry {
        refdata::hs2022()
            .subheading(self.hs6())
            .expect("an HsCode is only built from a subheading of the embedded HS 2022 table")
    }
}

impl fmt::Display for HsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
