//! The one error type of every identifier parser, with stable public codes.
//!
//! Messages name the rule that was broken, never the personal data that broke it: SSN-form
//! importer numbers and PINFLs are not echoed, so an error can be logged as it is.

/// Why a string is not a valid identifier.
///
/// [`IdError::code`] gives the stable code that travels in findings and API responses; the
/// `Display` text is for people and may change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not 3 owner letters, category U/J/Z, 6 serial digits and a check digit.
    #[error(
        "ISO 6346 container number must be 3 owner letters, category U, J or Z, 6 digits and a check digit: {detail}"
    )]
    Iso6346Format { detail: String },
    /// The ISO 6346 check digit does not match.
    #[error("ISO 6346 check digit is {expected}, not {found}")]
    Iso6346CheckDigit { expected: u8, found: u8 },

    /// Not 11 digits (3-digit airline prefix, 7-digit serial, check digit).
    #[error("air waybill number must be 11 digits (NNN-NNNNNNNC): {detail}")]
    AwbFormat { detail: String },
    /// The serial mod 7 does not match the check digit.
    #[error("air waybill check digit (serial mod 7) is {expected}, not {found}")]
    AwbCheckDigit { expected: u8, found: u8 },

    /// Not 9 digits.
    #[error("CBP in-bond number must be 9 digits: {detail}")]
    InBondFormat { detail: String },
    /// The 8-digit serial mod 7 does not match the check digit.
    #[error("CBP in-bond check digit (serial mod 7) is {expected}, not {found}")]
    InBondCheckDigit { expected: u8, found: u8 },

    /// Not a 3-character filer code, 7-digit transaction number and check digit.
    #[error("CBP entry number must be XXX-NNNNNNN-C (filer code, 7 digits, check digit): {detail}")]
    EntryFormat { detail: String },
    /// The CATAIR Appendix E (Luhn) check digit does not match.
    #[error("CBP entry number check digit is {expected}, not {found}")]
    EntryCheckDigit { expected: u8, found: u8 },

    /// Not 18 alphanumerics and 2 check digits.
    #[error("LEI must be 18 letters or digits followed by 2 check digits: {detail}")]
    LeiFormat { detail: String },
    /// ISO 7064 MOD 97-10 fails.
    #[error("LEI check digits are {expected:02}, not {found:02} (ISO 7064 MOD 97-10)")]
    LeiCheckDigits { expected: u8, found: u8 },

    /// Not a UK (GB/XI + 12 or 15 digits) or EU (country + up to 15 alphanumerics) EORI.
    #[error("EORI {detail}")]
    EoriFormat { detail: String },

    /// Not 9 digits in the layout NN-NNNNNNN.
    #[error("US EIN must be 9 digits written NN-NNNNNNN: {detail}")]
    EinFormat { detail: String },
    /// The IRS never assigns this two-digit prefix.
    #[error("US EIN prefix {prefix} is never assigned by the IRS")]
    EinPrefix { prefix: String },

    /// None of the three CBP importer-number layouts.
    #[error(
        "CBP importer number must be NN-NNNNNNN with an optional 2-character suffix, NNN-NN-NNNN or YYDDPP-NNNNN: {detail}"
    )]
    IorFormat { detail: String },
    /// SSN-form importer number with a part the SSA never issues.
    #[error("SSN-form importer number is invalid: {detail}")]
    SsnInvalid { detail: &'static str },

    /// Not `^[2-7][0-9]{8}$`.
    #[error("Uzbek STIR must be 9 digits starting with 2 to 7: {detail}")]
    StirFormat { detail: String },
    /// Not 14 digits.
    #[error("Uzbek PINFL must be 14 digits: {detail}")]
    PinflFormat { detail: String },

    /// Not 7 digits (optionally after `IMO`).
    #[error("IMO number must be 7 digits: {detail}")]
    ImoFormat { detail: String },
    /// Digits 1–6 weighted 7 to 2, summed, mod 10 do not give digit 7.
    #[error("IMO check digit is {expected}, not {found}")]
    ImoCheckDigit { expected: u8, found: u8 },

    /// Not 6 to 18 digits.
    #[error("commodity code must be 6 to 18 digits: {detail}")]
    HsFormat { detail: String },
    /// The first six digits are not a level-6 subheading of HS 2022.
    #[error("{hs6} is not an HS 2022 subheading")]
    Hs6Unknown { hs6: String },

    /// Not two letters.
    #[error("country code must be two letters (ISO 3166-1 alpha-2): {detail}")]
    CountryFormat { detail: String },
    /// Two letters, but not assigned in ISO 3166-1.
    #[error("{code} is not an assigned ISO 3166-1 country code")]
    CountryUnknown { code: String },

    /// Not three letters.
    #[error("currency code must be three letters (ISO 4217): {detail}")]
    CurrencyFormat { detail: String },
    /// Three letters, but never an ISO 4217 code.
    #[error("{code} is not an ISO 4217 currency code")]
    CurrencyUnknown { code: String },

    /// Not `^[A-Z]{2}[A-Z2-9]{3}$`.
    #[error("UN/LOCODE must be a country code and 3 letters or digits 2-9: {detail}")]
    LocodeFormat { detail: String },
    /// Well shaped, but the first two letters are not an assigned country.
    #[error("UN/LOCODE country {country} is not an assigned ISO 3166-1 code")]
    LocodeCountry { country: String },
    /// Well shaped, in a country whose codes Caravan ships (US, UZ), but not in the list.
    #[error("{locode} is not in the UN/LOCODE list")]
    LocodeUnknown { locode: String },

    /// The party-identifier scheme is not one Caravan knows.
    #[error(
        "party identifier scheme must be EORI, US_EIN, US_IOR, UZ_STIR, LEI or OTHER: {detail}"
    )]
    SchemeUnknown { detail: String },
    /// A party identifier of scheme OTHER is empty.
    #[error("party identifier is empty")]
    PartyIdEmpty,
}

impl IdError {
    /// The stable public code of this error, e.g. `ID_ISO6346_CHECK_DIGIT`.
    pub fn code(&self) -> &'static str {
        match self {
            IdError::Iso6346Format { .. } => "ID_ISO6346_FORMAT",
            IdError::Iso6346CheckDigit { .. } => "ID_ISO6346_CHECK_DIGIT",
            IdError::AwbFormat { .. } => "ID_AWB_FORMAT",
            IdError::AwbCheckDigit { .. } => "ID_AWB_CHECK_DIGIT",
            IdError::InBondFormat { .. } => "ID_INBOND_FORMAT",
            IdError::InBondCheckDigit { .. } => "ID_INBOND_CHECK_DIGIT",
            IdError::EntryFormat { .. } => "ID_ENTRY_FORMAT",
            IdError::EntryCheckDigit { .. } => "ID_ENTRY_CHECK_DIGIT",
            IdError::LeiFormat { .. } => "ID_LEI_FORMAT",
            IdError::LeiCheckDigits { .. } => "ID_LEI_CHECK_DIGITS",
            IdError::EoriFormat { .. } => "ID_EORI_FORMAT",
            IdError::EinFormat { .. } => "ID_EIN_FORMAT",
            IdError::EinPrefix { .. } => "ID_EIN_PREFIX",
            IdError::IorFormat { .. } => "ID_IOR_FORMAT",
            IdError::SsnInvalid { .. } => "ID_SSN_INVALID",
            IdError::StirFormat { .. } => "ID_STIR_FORMAT",
            IdError::PinflFormat { .. } => "ID_PINFL_FORMAT",
            IdError::ImoFormat { .. } => "ID_IMO_FORMAT",
            IdError::ImoCheckDigit { .. } => "ID_IMO_CHECK_DIGIT",
            IdError::HsFormat { .. } => "DECL_HS_FORMAT",
            IdError::Hs6Unknown { .. } => "DECL_HS6_UNKNOWN",
            IdError::CountryFormat { .. } => "ID_COUNTRY_FORMAT",
            IdError::CountryUnknown { .. } => "ID_COUNTRY_UNKNOWN",
            IdError::CurrencyFormat { .. } => "ID_CURRENCY_FORMAT",
            IdError::CurrencyUnknown { .. } => "ID_CURRENCY_UNKNOWN",
            IdError::LocodeFormat { .. } => "ID_LOCODE_FORMAT",
            IdError::LocodeCountry { .. } => "ID_LOCODE_COUNTRY",
            IdError::LocodeUnknown { .. } => "ID_LOCODE_UNKNOWN",
            IdError::SchemeUnknown { .. } => "ID_SCHEME_UNKNOWN",
            IdError::PartyIdEmpty => "ID_PARTY_EMPTY",
        }
    }
}
