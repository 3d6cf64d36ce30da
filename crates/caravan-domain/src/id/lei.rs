//! Legal Entity Identifiers (ISO 17442, spec 3.4), checked with ISO 7064 MOD 97-10.
//!
//! The LEI is the one party identifier that is the same in every jurisdiction, which makes it
//! the best key for linking a US importer to an Uzbek exporter's buyer.

use std::fmt;

use super::IdError;
use super::normalise::{length_detail, normalise};

/// A Legal Entity Identifier that passed MOD 97-10, e.g. `5493001KJTIIGC8Y1R12`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lei(String);

/// The remainder modulo 97 of `s` read as one integer, letters replaced by 10 to 35.
/// `s` must be upper-case ASCII letters and digits.
fn mod97(s: &str) -> u32 {
    s.bytes().fold(0u32, |rem, b| match b {
        b'0'..=b'9' => (rem * 10 + u32::from(b - b'0')) % 97,
        _ => (rem * 100 + u32::from(b - b'A') + 10) % 97,
    })
}

fn check_alphanumeric(first18: &str) -> Result<(), IdError> {
    if first18.len() != 18 {
        return Err(IdError::LeiFormat {
            detail: length_detail(first18.len(), "18 before the check digits"),
        });
    }
    if !first18
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(IdError::LeiFormat {
            detail: "characters 1-18 must be letters or digits".into(),
        });
    }
    Ok(())
}

/// The two check digits of an 18-character LEI prefix: 98 minus the remainder of the prefix
/// followed by `00`.
fn check_digits(first18: &str) -> u8 {
    (98 - (mod97(first18) * 100) % 97) as u8
}

impl Lei {
    /// Parses a 20-character LEI and checks that it is ≡ 1 (mod 97).
    pub fn parse(raw: &str) -> Result<Lei, IdError> {
        let s = normalise(raw);
        if s.len() != 20 {
            return Err(IdError::LeiFormat {
                detail: length_detail(s.len(), "20"),
            });
        }
        if !s.is_ascii() {
            return Err(IdError::LeiFormat {
                detail: "only letters and digits are allowed".into(),
            });
        }
        check_alphanumeric(&s[..18])?;
        let tail = s.as_bytes();
        if !(tail[18].is_ascii_digit() && tail[19].is_ascii_digit()) {
            return Err(IdError::LeiFormat {
                detail: "characters 19-20 must be digits".into(),
            });
        }
        if mod97(&s) != 1 {
            return Err(IdError::LeiCheckDigits {
                expected: check_digits(&s[..18]),
                found: (tail[18] - b'0') * 10 + (tail[19] - b'0'),
            });
        }
        Ok(Lei(s))
    }

    /// Completes an 18-character prefix with its check digits, e.g. for test data or for
    /// suggesting a correction. Fails if `first18` is not 18 letters or digits.
    pub fn with_check_digits(first18: &str) -> Result<Lei, IdError> {
        let prefix = normalise(first18);
        check_alphanumeric(&prefix)?;
        let digits = check_digits(&prefix);
        Ok(Lei(format!("{prefix}{digits:02}")))
    }

    /// The normalised 20 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 4-character prefix of the issuing Local Operating Unit, e.g. `5493`.
    pub fn lou_prefix(&self) -> &str {
        &self.0[..4]
    }
}

impl fmt::Display for Lei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
