//! Identifier types that parse once and stay valid.
//!
//! Every identifier a declaration carries (container, air waybill, entry and in-bond numbers,
//! party numbers, commodity, country, currency and location codes) has a newtype here with a
//! private field, a `parse` constructor, `as_str` for the normalised form and `Display` for
//! the canonical form. Code that holds one of these types knows the check has passed, so the
//! check runs once, at the edge (STYLE rule 3, "parse, don't validate").
//!
//! Every parser normalises first: it trims, upper-cases and drops spaces, hyphens and dots
//! (spec section 3). Every failure is an [`IdError`] with a stable code. Severity (error or
//! warning) is not decided here: it depends on who issued the identifier and where the data
//! came from (spec section 4), which only the caller knows.

mod cbp;
mod codes;
mod eori;
mod error;
mod hs;
mod iata_awb;
mod imo;
mod iso6346;
mod lei;
mod normalise;
mod party;
mod us_ein;
mod uz_stir;

pub use cbp::{
    CbpAssignedNumber, CbpEntryNumber, CbpImporterNumber, ImporterSuffix, InBondNumber, Ssn,
};
pub use codes::{CountryCode, CurrencyCode, UnLocode};
pub use eori::Eori;
pub use error::IdError;
pub use hs::HsCode;
pub use iata_awb::AirWaybill;
pub use imo::ImoNumber;
pub use iso6346::ContainerNumber;
pub use lei::Lei;
pub use party::{PartyIdScheme, check_party_id};
pub use us_ein::{EIN_PREFIXES_NEVER_ASSIGNED, UsEin};
pub use uz_stir::{StirKind, UzPinfl, UzStir};
