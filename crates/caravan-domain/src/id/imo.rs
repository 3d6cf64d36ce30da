//! IMO ship identification numbers (spec 3.8), used as the border means of transport ID.
//!
//! Callers report failures as warnings: the number comes from foreign documents.

use std::fmt;

use super::IdError;
use super::normalise::{all_digits, length_detail, normalise};

/// An IMO number that passed its check digit; displays as `IMO 9074729`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImoNumber(String);

impl ImoNumber {
    /// Parses 7 digits, optionally preceded by `IMO`: digits 1–6 weighted 7 to 2, summed,
    /// mod 10, must equal digit 7.
    pub fn parse(raw: &str) -> Result<ImoNumber, IdError> {
        let normalised = normalise(raw);
        let s = normalised.strip_prefix("IMO").unwrap_or(&normalised);
        if s.len() != 7 {
            return Err(IdError::ImoFormat {
                detail: length_detail(s.len(), "7 digits"),
            });
        }
        if !all_digits(s) {
            return Err(IdError::ImoFormat {
                detail: "only digits are allowed".into(),
            });
        }
        let digits = s.as_bytes();
        let sum: u32 = digits[..6]
            .iter()
            .zip((2..=7u32).rev())
            .map(|(&b, weight)| u32::from(b - b'0') * weight)
            .sum();
        let expected = (sum % 10) as u8;
        let found = digits[6] - b'0';
        if expected != found {
            return Err(IdError::ImoCheckDigit { expected, found });
        }
        Ok(ImoNumber(s.to_owned()))
    }

    /// The 7 digits, without the `IMO` prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImoNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IMO {}", self.0)
    }
}
