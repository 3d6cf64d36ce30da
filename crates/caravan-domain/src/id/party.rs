//! Party identifiers typed by scheme (spec 2.2).
//!
//! The scheme is always declared, never inferred from the digits: `911-14-4442` is an SSN
//! layout, `91-1144442` an EIN, and only the declared scheme says which rule applies.

use std::fmt;

use super::IdError;
use super::cbp::CbpImporterNumber;
use super::eori::Eori;
use super::lei::Lei;
use super::us_ein::UsEin;
use super::uz_stir::UzStir;

/// The scheme a party identifier is declared under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartyIdScheme {
    /// EU or UK EORI (`EORI`).
    Eori,
    /// US Employer Identification Number (`US_EIN`).
    UsEin,
    /// CBP importer-of-record number (`US_IOR`).
    UsIor,
    /// Uzbek taxpayer number (`UZ_STIR`).
    UzStir,
    /// Legal Entity Identifier (`LEI`).
    Lei,
    /// Any other scheme (`OTHER`): stored verbatim, not checked.
    Other,
}

impl PartyIdScheme {
    /// Every scheme, in the order of the spec.
    pub const ALL: [PartyIdScheme; 6] = [
        PartyIdScheme::Eori,
        PartyIdScheme::UsEin,
        PartyIdScheme::UsIor,
        PartyIdScheme::UzStir,
        PartyIdScheme::Lei,
        PartyIdScheme::Other,
    ];

    /// Parses a scheme name: `EORI`, `US_EIN`, `US_IOR`, `UZ_STIR`, `LEI` or `OTHER` (case
    /// and surrounding spaces ignored).
    pub fn parse(raw: &str) -> Result<PartyIdScheme, IdError> {
        let name = raw.trim();
        PartyIdScheme::ALL
            .into_iter()
            .find(|scheme| scheme.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| IdError::SchemeUnknown {
                detail: format!("got {} characters", name.chars().count()),
            })
    }

    /// The scheme name as written in Caravan CSV and JSON, e.g. `US_EIN`.
    pub fn as_str(self) -> &'static str {
        match self {
            PartyIdScheme::Eori => "EORI",
            PartyIdScheme::UsEin => "US_EIN",
            PartyIdScheme::UsIor => "US_IOR",
            PartyIdScheme::UzStir => "UZ_STIR",
            PartyIdScheme::Lei => "LEI",
            PartyIdScheme::Other => "OTHER",
        }
    }
}

impl fmt::Display for PartyIdScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks `raw` under the declared `scheme` and returns its normalised form for storage.
///
/// `OTHER` identifiers are only trimmed (and must not be empty). For `US_IOR` an SSN-form
/// number comes back unmasked, because this is the value to store; treat it as personal
/// data.
pub fn check_party_id(scheme: PartyIdScheme, raw: &str) -> Result<String, IdError> {
    Ok(match scheme {
        PartyIdScheme::Eori => Eori::parse(raw)?.as_str().to_owned(),
        PartyIdScheme::UsEin => UsEin::parse(raw)?.to_string(),
        PartyIdScheme::UsIor => CbpImporterNumber::parse(raw)?.expose(),
        PartyIdScheme::UzStir => UzStir::parse(raw)?.as_str().to_owned(),
        PartyIdScheme::Lei => Lei::parse(raw)?.as_str().to_owned(),
        PartyIdScheme::Other => {
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                return Err(IdError::PartyIdEmpty);
            }
            trimmed.to_owned()
        }
    })
}
