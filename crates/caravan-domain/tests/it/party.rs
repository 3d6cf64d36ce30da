//! Party identifiers dispatched by declared scheme, and masking of personal numbers.

use caravan_domain::id::{CbpImporterNumber, PartyIdScheme, check_party_id};

#[track_caller]
fn check(scheme: &str, raw: &str, expect: Result<&str, &str>) {
    let scheme = PartyIdScheme::parse(scheme).expect("known scheme");
    let got = check_party_id(scheme, raw).map_err(|e| e.code());
    assert_eq!(got.as_deref().map_err(|e| *e), expect, "{scheme} {raw:?}");
}

#[test]
fn schemes_round_trip() {
    for scheme in PartyIdScheme::ALL {
        assert_eq!(PartyIdScheme::parse(scheme.as_str()), Ok(scheme));
    }
    assert_eq!(PartyIdScheme::parse(" us_ein "), Ok(PartyIdScheme::UsEin));
    assert_eq!(
        PartyIdScheme::parse("VAT").map_err(|e| e.code()),
        Err("ID_SCHEME_UNKNOWN")
    );
}

#[test]
fn dispatch_never_guesses() {
    check("EORI", "gb 5532 0273 4852", Ok("GB553202734852"));
    // Stored forms are the canonical hyphenated ones, because they must parse back.
    check("US_EIN", "911144442", Ok("91-1144442"));
    check("US_EIN", "911-14-4442", Err("ID_EIN_FORMAT"));
    // The digits of a valid EIN, written as an SSN: read as an SSN, whose area 911 is never
    // issued.
    check("US_IOR", "911-14-4442", Err("ID_SSN_INVALID"));
    check("US_IOR", "123-45-6789", Ok("123-45-6789"));
    check("US_IOR", "91-114444200", Ok("91-114444200"));
    check("US_IOR", "98-0123-4500001", Err("ID_IOR_FORMAT"));
    check("UZ_STIR", "306 180 825", Ok("306180825"));
    check("UZ_STIR", "91-1144442", Err("ID_STIR_FORMAT"));
    check("LEI", "5493001kjtiigc8y1r12", Ok("5493001KJTIIGC8Y1R12"));
    check("LEI", "GB553202734852", Err("ID_LEI_FORMAT"));
    check("OTHER", "  ab-12.x ", Ok("ab-12.x"));
    check("OTHER", "   ", Err("ID_PARTY_EMPTY"));
}

#[test]
fn ssn_form_is_masked_everywhere_but_expose() {
    let ior = CbpImporterNumber::parse("123-45-6789").expect("valid SSN form");
    assert!(ior.is_personal());
    assert_eq!(ior.to_string(), "***-**-6789");
    let debug = format!("{ior:?}");
    assert!(!debug.contains("12345"), "{debug}");
    assert_eq!(ior.expose(), "123-45-6789");
    let CbpImporterNumber::Ssn(ssn) = &ior else {
        panic!("SSN form expected")
    };
    assert_eq!(ssn.expose(), "123456789");
    // Error messages never carry the digits either.
    let err = CbpImporterNumber::parse("666-45-6789").expect_err("area 666");
    assert!(!err.to_string().contains("6789"), "{err}");
}
