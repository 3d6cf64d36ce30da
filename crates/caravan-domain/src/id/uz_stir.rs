//! Uzbek taxpayer numbers: the STIR (INN) of legal entities and individuals, and the 14-digit
//! personal number PINFL (spec 3.7).
//!
//! The STIR control-digit algorithm is not published, so both are format checks. A PINFL
//! identifies a person, so it is masked wherever it is shown, like an SSN.

use std::fmt;

use super::IdError;
use super::normalise::{all_digits, length_detail, normalise};

/// Who holds a STIR, told by its first digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StirKind {
    /// First digit 2 or 3.
    LegalEntity,
    /// First digit 4 to 7.
    Individual,
}

/// An Uzbek STIR of format `^[2-7][0-9]{8}$`, e.g. `306180825`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UzStir(String);

impl UzStir {
    /// Parses 9 digits whose first digit is 2 to 7.
    pub fn parse(raw: &str) -> Result<UzStir, IdError> {
        let s = normalise(raw);
        if s.len() != 9 {
            return Err(IdError::StirFormat {
                detail: length_detail(s.len(), "9 digits"),
            });
        }
        if !all_digits(&s) {
            return Err(IdError::StirFormat {
                detail: "only digits are allowed".into(),
            });
        }
        if !matches!(s.as_bytes()[0], b'2'..=b'7') {
            return Err(IdError::StirFormat {
                detail: "the first digit must be 2 or 3 (legal entity) or 4 to 7 (individual)"
                    .into(),
            });
        }
        Ok(UzStir(s))
    }

    /// The 9 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a legal entity or an individual holds the number.
    pub fn kind(&self) -> StirKind {
        match self.0.as_bytes()[0] {
            b'2' | b'3' => StirKind::LegalEntity,
            _ => StirKind::Individual,
        }
    }
}

impl fmt::Display for UzStir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Uzbek personal number (PINFL), 14 digits. Personal data: `Display` and `Debug` show
/// only the last four digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UzPinfl(String);

impl UzPinfl {
    /// Parses 14 digits.
    pub fn parse(raw: &str) -> Result<UzPinfl, IdError> {
        let s = normalise(raw);
        if s.len() != 14 {
            return Err(IdError::PinflFormat {
                detail: length_detail(s.len(), "14 digits"),
            });
        }
        if !all_digits(&s) {
            return Err(IdError::PinflFormat {
                detail: "only digits are allowed".into(),
            });
        }
        Ok(UzPinfl(s))
    }

    /// The 14 digits, for storage only. Never log or display the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UzPinfl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "**********{}", &self.0[10..])
    }
}

impl fmt::Debug for UzPinfl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UzPinfl({self})")
    }
}
