//! US Employer Identification Numbers (spec 3.6): `NN-NNNNNNN`, no check digit, and a
//! two-digit prefix the IRS actually assigns.
//!
//! The hyphen, when present, must sit after the second digit: `911-14-4442` has the digits of
//! a valid EIN but is written as an SSN, and guessing which was meant is exactly what the
//! declared scheme is for.

use std::fmt;

use super::IdError;
use super::normalise::{all_digits, length_detail, normalise_keep_hyphens};

/// Two-digit prefixes the IRS never assigns (python-stdnum `stdnum/us/ein.dat`, from the IRS
/// page "How EINs are assigned and valid EIN prefixes").
pub const EIN_PREFIXES_NEVER_ASSIGNED: &[&str] = &[
    "00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89", "96",
    "97",
];

/// A US EIN with an assigned prefix; displays as `91-1144442`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsEin(String);

impl UsEin {
    /// Parses an EIN written `NN-NNNNNNN` or as 9 plain digits.
    pub fn parse(raw: &str) -> Result<UsEin, IdError> {
        let s = normalise_keep_hyphens(raw);
        let digits = match s.split_once('-') {
            None => s,
            Some((prefix, rest)) if prefix.len() == 2 && !rest.contains('-') => {
                format!("{prefix}{rest}")
            }
            Some(_) => {
                return Err(IdError::EinFormat {
                    detail: "the only hyphen must follow the first two digits".into(),
                });
            }
        };
        UsEin::from_digits(digits)
    }

    /// Checks 9 bare digits.
    pub(crate) fn from_digits(digits: String) -> Result<UsEin, IdError> {
        if digits.len() != 9 {
            return Err(IdError::EinFormat {
                detail: length_detail(digits.len(), "9 digits"),
            });
        }
        if !all_digits(&digits) {
            return Err(IdError::EinFormat {
                detail: "only digits are allowed".into(),
            });
        }
        let prefix = &digits[..2];
        if EIN_PREFIXES_NEVER_ASSIGNED.contains(&prefix) {
            return Err(IdError::EinPrefix {
                prefix: prefix.to_owned(),
            });
        }
        Ok(UsEin(digits))
    }

    /// The normalised 9 digits, e.g. `911144442`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-digit prefix, e.g. `91`.
    pub fn prefix(&self) -> &str {
        &self.0[..2]
    }
}

impl fmt::Display for UsEin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..2], &self.0[2..])
    }
}
