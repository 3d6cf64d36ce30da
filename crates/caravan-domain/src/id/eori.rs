//! Economic Operator Registration and Identification numbers (spec 3.5).
//!
//! There is no public check digit, and confirming that a number exists needs the EU EOS
//! service, which nodes never call; so this is a format check. The United States and
//! Uzbekistan issue no EORIs: they reach Caravan on documents of EU and UK parties.

use std::fmt;

use super::IdError;
use super::normalise::{all_digits, normalise};
use crate::refdata;

/// An EORI of UK (`GB`/`XI` + 12 or 15 digits) or EU (country + up to 15 characters) format.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Eori(String);

fn format_error(detail: impl Into<String>) -> IdError {
    IdError::EoriFormat {
        detail: detail.into(),
    }
}

impl Eori {
    /// Parses an EORI: `^(GB|XI)([0-9]{12}|[0-9]{15})$` for the UK, otherwise an assigned
    /// ISO 3166-1 alpha-2 prefix and 1 to 15 letters or digits.
    pub fn parse(raw: &str) -> Result<Eori, IdError> {
        let s = normalise(raw);
        if !s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(format_error("may contain only letters and digits"));
        }
        if s.len() < 3 {
            return Err(format_error(
                "must be a country code followed by the number",
            ));
        }
        let (prefix, number) = s.split_at(2);
        if prefix == "GB" || prefix == "XI" {
            if !(all_digits(number) && (number.len() == 12 || number.len() == 15)) {
                return Err(format_error(format!(
                    "with prefix {prefix} must continue with 12 or 15 digits, not {} characters{}",
                    number.len(),
                    if all_digits(number) {
                        ""
                    } else {
                        " including letters"
                    }
                )));
            }
        } else {
            if !refdata::countries().is_assigned(prefix) {
                return Err(format_error(format!(
                    "must start with GB, XI or an ISO 3166-1 country code, not {prefix}"
                )));
            }
            if number.len() > 15 {
                return Err(format_error(format!(
                    "must have at most 15 characters after the country code, not {}",
                    number.len()
                )));
            }
        }
        Ok(Eori(s))
    }

    /// The normalised EORI, e.g. `GB553202734852`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-letter prefix, e.g. `GB`, `XI` or `DE`.
    pub fn country_prefix(&self) -> &str {
        &self.0[..2]
    }

    /// Whether the EORI was issued by the UK (`GB`, or `XI` for Northern Ireland).
    pub fn is_uk(&self) -> bool {
        matches!(self.country_prefix(), "GB" | "XI")
    }
}

impl fmt::Display for Eori {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
