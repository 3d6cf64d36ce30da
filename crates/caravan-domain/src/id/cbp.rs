//! Identifiers assigned by US Customs and Border Protection: entry numbers (spec 3.3),
//! in-bond numbers (spec 3.2) and importer-of-record numbers (spec 3.6).
//!
//! Importer numbers can be Social Security numbers. Those are personal data, so the SSN form
//! never shows its digits through `Display` or `Debug`; code that must store the number calls
//! [`CbpImporterNumber::expose`] on purpose.

use std::fmt;

use super::IdError;
use super::iata_awb::mod7;
use super::normalise::{all_digits, length_detail, normalise, normalise_keep_hyphens};
use super::us_ein::UsEin;

/// A CBP entry number that passed the CATAIR Appendix E check; displays as `B76-0324527-8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CbpEntryNumber(String);

/// The CATAIR digit of a filer-code character: A–I → 1–9, J–R → 1–9, S–Z → 2–9.
fn entry_digit(b: u8) -> u32 {
    match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        b'A'..=b'I' => u32::from(b - b'A') + 1,
        b'J'..=b'R' => u32::from(b - b'J') + 1,
        _ => u32::from(b - b'S') + 2,
    }
}

/// The entry-number check digit over filer code and transaction number (10 characters, the
/// first three letters or digits, the rest digits): Luhn, doubling from the rightmost digit.
pub(crate) fn entry_check_digit(first10: &[u8]) -> u8 {
    let sum: u32 = first10
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = entry_digit(b);
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

impl CbpEntryNumber {
    /// Parses `XXX-NNNNNNN-C`, with or without hyphens. The filer code is any three letters or
    /// digits (CATAIR allows every letter/digit pattern).
    pub fn parse(raw: &str) -> Result<CbpEntryNumber, IdError> {
        let s = normalise(raw);
        let bytes = s.as_bytes();
        if bytes.len() != 11 {
            return Err(IdError::EntryFormat {
                detail: length_detail(bytes.len(), "11"),
            });
        }
        if !bytes[..3]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(IdError::EntryFormat {
                detail: "the filer code must be three letters or digits".into(),
            });
        }
        if !all_digits(&s[3..]) {
            return Err(IdError::EntryFormat {
                detail: "the transaction number and check digit must be digits".into(),
            });
        }
        let expected = entry_check_digit(&bytes[..10]);
        let found = bytes[10] - b'0';
        if expected != found {
            return Err(IdError::EntryCheckDigit { expected, found });
        }
        Ok(CbpEntryNumber(s))
    }

    /// The normalised 11 characters, e.g. `B7603245278`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three-character filer code, e.g. `B76`.
    pub fn filer_code(&self) -> &str {
        &self.0[..3]
    }

    /// The seven-digit transaction number.
    pub fn transaction_number(&self) -> &str {
        &self.0[3..10]
    }
}

impl fmt::Display for CbpEntryNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", &self.0[..3], &self.0[3..10], &self.0[10..])
    }
}

/// A CBP in-bond number: 8-digit serial and the serial mod 7, e.g. `257700030`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InBondNumber(String);

impl InBondNumber {
    /// Parses 9 digits and checks the mod-7 check digit.
    pub fn parse(raw: &str) -> Result<InBondNumber, IdError> {
        let s = normalise(raw);
        if s.len() != 9 {
            return Err(IdError::InBondFormat {
                detail: length_detail(s.len(), "9 digits"),
            });
        }
        if !all_digits(&s) {
            return Err(IdError::InBondFormat {
                detail: "only digits are allowed".into(),
            });
        }
        let expected = mod7(&s[..8]);
        let found = s.as_bytes()[8] - b'0';
        if expected != found {
            return Err(IdError::InBondCheckDigit { expected, found });
        }
        Ok(InBondNumber(s))
    }

    /// The normalised 9 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InBondNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The optional two-character suffix after an EIN in an importer number (never O, I or Z,
/// which read as digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImporterSuffix(String);

impl ImporterSuffix {
    /// The two characters, e.g. `00`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Social Security number used as an importer number. Personal data: `Display` and `Debug`
/// show only the last four digits (`***-**-1234`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ssn(String);

impl Ssn {
    /// The 9 digits, for storage only. Never log or display the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ssn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "***-**-{}", &self.0[5..])
    }
}

impl fmt::Debug for Ssn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ssn({self})")
    }
}

/// A CBP-assigned importer number `YYDDPP-NNNNN`: year, district and port, serial.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CbpAssignedNumber(String);

impl CbpAssignedNumber {
    /// The 11 digits, e.g. `98123400001`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CbpAssignedNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..6], &self.0[6..])
    }
}

/// A CBP importer-of-record number in one of its three forms (CBP Form 5106).
///
/// The form is read from where the hyphens are, because the digits alone are ambiguous: 9
/// digits may be an EIN or an SSN, 11 digits an EIN with suffix or a CBP-assigned number.
/// Hyphen-less input is accepted only where it is unambiguous (an EIN with a suffix that
/// contains a letter).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CbpImporterNumber {
    /// `NN-NNNNNNN` with an optional 2-character suffix.
    Ein {
        /// The EIN.
        ein: UsEin,
        /// The suffix, if any.
        suffix: Option<ImporterSuffix>,
    },
    /// `NNN-NN-NNNN`, masked when shown.
    Ssn(Ssn),
    /// `YYDDPP-NNNNN`.
    CbpAssigned(CbpAssignedNumber),
}

fn ior_format(detail: &str) -> IdError {
    IdError::IorFormat {
        detail: detail.to_owned(),
    }
}

fn parse_suffix(suffix: &str) -> Result<ImporterSuffix, IdError> {
    let ok = suffix.len() == 2
        && suffix.bytes().all(|b| {
            b.is_ascii_digit() || (b.is_ascii_uppercase() && !matches!(b, b'O' | b'I' | b'Z'))
        });
    if ok {
        Ok(ImporterSuffix(suffix.to_owned()))
    } else {
        Err(ior_format(
            "the suffix must be two letters or digits other than O, I and Z",
        ))
    }
}

fn parse_ssn(area: &str, group: &str, serial: &str) -> Result<Ssn, IdError> {
    if area == "000" || area == "666" || area.starts_with('9') {
        return Err(IdError::SsnInvalid {
            detail: "area 000, 666 and 900-999 are never issued",
        });
    }
    if group == "00" {
        return Err(IdError::SsnInvalid {
            detail: "group 00 is never issued",
        });
    }
    if serial == "0000" {
        return Err(IdError::SsnInvalid {
            detail: "serial 0000 is never issued",
        });
    }
    Ok(Ssn(format!("{area}{group}{serial}")))
}

impl CbpImporterNumber {
    /// Parses an importer number, telling the form from its hyphens: `NN-NNNNNNN[XX]`,
    /// `NNN-NN-NNNN` or `YYDDPP-NNNNN`.
    pub fn parse(raw: &str) -> Result<CbpImporterNumber, IdError> {
        let s = normalise_keep_hyphens(raw);
        // Every accepted form is ASCII; checking first keeps the slicing below on char
        // boundaries.
        if !s.is_ascii() {
            return Err(ior_format("only letters, digits and hyphens are allowed"));
        }
        let parts: Vec<&str> = s.split('-').collect();
        match parts.as_slice() {
            [prefix, rest] if prefix.len() == 2 => {
                if rest.len() != 7 && rest.len() != 9 {
                    return Err(ior_format(
                        "an EIN needs 7 digits after the hyphen, plus an optional 2-character suffix",
                    ));
                }
                let ein = UsEin::from_digits(format!("{prefix}{}", &rest[..7])).map_err(|_| {
                    ior_format("the EIN part must be 9 digits with an assigned prefix")
                })?;
                let suffix = rest
                    .get(7..)
                    .filter(|suffix| !suffix.is_empty())
                    .map(parse_suffix)
                    .transpose()?;
                Ok(CbpImporterNumber::Ein { ein, suffix })
            }
            [area, group, serial] if area.len() == 3 && group.len() == 2 && serial.len() == 4 => {
                if !(all_digits(area) && all_digits(group) && all_digits(serial)) {
                    return Err(ior_format("an SSN-form number must be digits"));
                }
                Ok(CbpImporterNumber::Ssn(parse_ssn(area, group, serial)?))
            }
            [head, serial] if head.len() == 6 && serial.len() == 5 => {
                if !(all_digits(head) && all_digits(serial)) {
                    return Err(ior_format("a CBP-assigned number must be digits"));
                }
                Ok(CbpImporterNumber::CbpAssigned(CbpAssignedNumber(format!(
                    "{head}{serial}"
                ))))
            }
            [bare] if bare.len() == 11 && all_digits(&bare[..9]) && !all_digits(&bare[9..]) => {
                let ein = UsEin::from_digits(bare[..9].to_owned()).map_err(|_| {
                    ior_format("the EIN part must be 9 digits with an assigned prefix")
                })?;
                Ok(CbpImporterNumber::Ein {
                    ein,
                    suffix: Some(parse_suffix(&bare[9..])?),
                })
            }
            [bare] if (bare.len() == 9 || bare.len() == 11) && all_digits(bare) => Err(ior_format(
                "without hyphens the form is ambiguous; write NN-NNNNNNN for an EIN, NNN-NN-NNNN for an SSN or YYDDPP-NNNNN for a CBP-assigned number",
            )),
            _ => Err(ior_format("the layout matches none of the three forms")),
        }
    }

    /// The number in its canonical hyphenated form, unmasked, for storage: it parses back
    /// to the same form, which a hyphen-free string would not (see [`CbpImporterNumber::parse`]).
    /// For the SSN form this is personal data: never log or display it.
    pub fn expose(&self) -> String {
        match self {
            CbpImporterNumber::Ein { ein, suffix } => match suffix {
                Some(suffix) => format!("{ein}{}", suffix.as_str()),
                None => ein.to_string(),
            },
            CbpImporterNumber::Ssn(ssn) => {
                let digits = ssn.expose();
                format!("{}-{}-{}", &digits[..3], &digits[3..5], &digits[5..])
            }
            CbpImporterNumber::CbpAssigned(number) => number.to_string(),
        }
    }

    /// Whether this is the SSN form, which must be masked wherever it is shown.
    pub fn is_personal(&self) -> bool {
        matches!(self, CbpImporterNumber::Ssn(_))
    }
}

impl fmt::Display for CbpImporterNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CbpImporterNumber::Ein {
                ein,
                suffix: Some(suffix),
            } => {
                write!(f, "{ein}{}", suffix.as_str())
            }
            CbpImporterNumber::Ein { ein, suffix: None } => write!(f, "{ein}"),
            CbpImporterNumber::Ssn(ssn) => write!(f, "{ssn}"),
            CbpImporterNumber::CbpAssigned(number) => write!(f, "{number}"),
        }
    }
}
