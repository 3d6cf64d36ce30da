//! IATA air waybill numbers (spec 3.2): 3-digit airline prefix, 7-digit serial, and the
//! serial mod 7 as check digit.
//!
//! Airline prefixes are checked for shape only: the IATA prefix list is not open data.

use std::fmt;

use super::IdError;
use super::normalise::{all_digits, length_detail, normalise};

/// An air waybill number that passed the mod-7 check; displays as `123-12345675`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AirWaybill(String);

/// The mod-7 check digit of a digit string (at most 18 digits).
pub(crate) fn mod7(serial: &str) -> u8 {
    let value = serial
        .bytes()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
    (value % 7) as u8
}

impl AirWaybill {
    /// Parses an air waybill number, with or without the hyphen; 11 digits are required.
    pub fn parse(raw: &str) -> Result<AirWaybill, IdError> {
        let s = normalise(raw);
        if s.len() != 11 {
            return Err(IdError::AwbFormat {
                detail: length_detail(s.len(), "11 digits"),
            });
        }
        if !all_digits(&s) {
            return Err(IdError::AwbFormat {
                detail: "only digits are allowed".into(),
            });
        }
        let expected = mod7(&s[3..10]);
        let found = s.as_bytes()[10] - b'0';
        if expected != found {
            return Err(IdError::AwbCheckDigit { expected, found });
        }
        Ok(AirWaybill(s))
    }

    /// The normalised 11 digits, e.g. `12312345675`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 3-digit airline prefix, e.g. `123`.
    pub fn airline_prefix(&self) -> &str {
        &self.0[..3]
    }

    /// The 7-digit serial number.
    pub fn serial(&self) -> &str {
        &self.0[3..10]
    }
}

impl fmt::Display for AirWaybill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..3], &self.0[3..])
    }
}
