//! ISO 6346 freight container numbers (spec 3.1).
//!
//! Owner codes are checked for shape only, because the BIC owner register is not open data.
//! Real corpora are full of failing container numbers, so callers report these errors as
//! warnings (spec 4); the type still exists so that a number that passes is known to pass.

use std::fmt;

use super::IdError;
use super::normalise::{all_digits, length_detail, normalise};

/// A container number that passed ISO 6346, e.g. `CSQU3054383`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerNumber(String);

/// The ISO 6346 value of an upper-case letter: A=10, then upwards skipping multiples of 11.
fn letter_value(letter: u8) -> u32 {
    let mut value = 10;
    for current in b'A'..=b'Z' {
        if value % 11 == 0 {
            value += 1;
        }
        if current == letter {
            break;
        }
        value += 1;
    }
    value
}

/// Computes the ISO 6346 check digit of a normalised 10-character prefix (4 letters, 6
/// digits), e.g. `check_digit("CSQU305438") == Some(3)`.
///
/// The category letter is not checked here, so this also serves to suggest a correction for
/// a number that failed. Returns `None` when `first10` is not 4 upper-case letters and 6
/// digits.
pub(crate) fn check_digit(first10: &str) -> Option<u8> {
    let bytes = first10.as_bytes();
    if bytes.len() != 10
        || !bytes[..4].iter().all(u8::is_ascii_uppercase)
        || !bytes[4..].iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let value = if b.is_ascii_digit() {
                u32::from(b - b'0')
            } else {
                letter_value(b)
            };
            value << i
        })
        .sum();
    // A remainder of 10 gives check digit 0.
    Some((sum % 11 % 10) as u8)
}

impl ContainerNumber {
    /// Parses and checks a container number; spaces, hyphens and dots are ignored
    /// (`"CSQU 305438-3"` is accepted).
    pub fn parse(raw: &str) -> Result<ContainerNumber, IdError> {
        let s = normalise(raw);
        let format = |detail: String| Err(IdError::Iso6346Format { detail });
        let bytes = s.as_bytes();
        if bytes.len() != 11 {
            return format(length_detail(bytes.len(), "11"));
        }
        if !bytes[..3].iter().all(u8::is_ascii_uppercase) {
            return format("the owner code (characters 1-3) must be letters".into());
        }
        if !matches!(bytes[3], b'U' | b'J' | b'Z') {
            return format("the equipment category (character 4) must be U, J or Z".into());
        }
        if !all_digits(&s[4..]) {
            return format("characters 5-11 must be digits".into());
        }
        let Some(expected) = check_digit(&s[..10]) else {
            return format("characters 1-4 must be letters and 5-10 digits".into());
        };
        let found = bytes[10] - b'0';
        if expected != found {
            return Err(IdError::Iso6346CheckDigit { expected, found });
        }
        Ok(ContainerNumber(s))
    }

    /// Computes the ISO 6346 check digit of a normalised 10-character prefix (4 upper-case
    /// letters, 6 digits), e.g. `ContainerNumber::check_digit("CSQU305438") == Some(3)`.
    ///
    /// The category letter is not checked, so this also suggests the correction for a number
    /// that failed. Returns `None` when `first10` is not 4 letters and 6 digits.
    pub fn check_digit(first10: &str) -> Option<u8> {
        check_digit(first10)
    }

    /// The normalised number, e.g. `CSQU3054383`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three-letter owner code, e.g. `CSQ`.
    pub fn owner_code(&self) -> &str {
        &self.0[..3]
    }

    /// The equipment category: `U` freight container, `J` detachable equipment, `Z` trailer
    /// or chassis.
    pub fn category(&self) -> char {
        char::from(self.0.as_bytes()[3])
    }

    /// The six-digit serial number.
    pub fn serial(&self) -> &str {
        &self.0[4..10]
    }
}

impl fmt::Display for ContainerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
