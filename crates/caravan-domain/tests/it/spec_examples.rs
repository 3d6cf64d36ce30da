//! The worked examples and listed cases of the declarations spec, section 3, with the
//! canonical display forms and the error messages they produce.

use caravan_domain::id::{
    AirWaybill, CbpEntryNumber, ContainerNumber, IdError, ImoNumber, InBondNumber, Lei, UsEin,
    UzPinfl,
};

/// Parses with `parse` and compares `Display` of the result, or the error code, to `expect`.
#[track_caller]
fn check<T: std::fmt::Display>(
    parse: fn(&str) -> Result<T, IdError>,
    raw: &str,
    expect: Result<&str, &str>,
) {
    let got = parse(raw).map(|v| v.to_string()).map_err(|e| e.code());
    assert_eq!(got.as_deref().map_err(|e| *e), expect, "{raw:?}");
}

#[test]
fn iso6346_worked_example() {
    assert_eq!(ContainerNumber::check_digit("CSQU305438"), Some(3));
    assert_eq!(ContainerNumber::check_digit("CONU123456"), Some(2));
    assert_eq!(ContainerNumber::check_digit("CSQU30543"), None);
    assert_eq!(ContainerNumber::check_digit("csqu305438"), None);
    check(ContainerNumber::parse, "CSQU3054383", Ok("CSQU3054383"));
    check(ContainerNumber::parse, " csqu 305438-3 ", Ok("CSQU3054383"));
    for raw in ["MSKU6011672", "TEXU3070079", "TCNU7200794", "ZEPU0037255"] {
        check(ContainerNumber::parse, raw, Ok(raw));
    }
    for raw in ["CSQU3054384", "TEXU3070070", "CONU1234567"] {
        check(ContainerNumber::parse, raw, Err("ID_ISO6346_CHECK_DIGIT"));
    }
    for raw in [
        "CSQU305438",
        "CSQU3054Z83",
        "AD12345",
        "Container123",
        "AHFB9384274",
        "",
    ] {
        check(ContainerNumber::parse, raw, Err("ID_ISO6346_FORMAT"));
    }
    let err = ContainerNumber::parse("CONU1234567").expect_err("wrong check digit");
    assert_eq!(err.to_string(), "ISO 6346 check digit is 2, not 7");
    let number = ContainerNumber::parse("CSQU3054383").expect("valid");
    assert_eq!(
        (number.owner_code(), number.category(), number.serial()),
        ("CSQ", 'U', "305438")
    );
}

#[test]
fn air_waybill() {
    check(AirWaybill::parse, "123-12345675", Ok("123-12345675"));
    check(AirWaybill::parse, "12312345675", Ok("123-12345675"));
    check(AirWaybill::parse, "020-12345675", Ok("020-12345675"));
    check(AirWaybill::parse, "888-11111111", Ok("888-11111111"));
    check(AirWaybill::parse, "589-81140743", Ok("589-81140743"));
    check(AirWaybill::parse, "123-12345674", Err("ID_AWB_CHECK_DIGIT"));
    check(AirWaybill::parse, "1231234567", Err("ID_AWB_FORMAT"));
    check(AirWaybill::parse, "176-1234567A", Err("ID_AWB_FORMAT"));
    let awb = AirWaybill::parse("123 1234 5675").expect("valid");
    assert_eq!(
        (awb.as_str(), awb.airline_prefix(), awb.serial()),
        ("12312345675", "123", "1234567")
    );
    let err = AirWaybill::parse("123-12345674").expect_err("wrong check digit");
    assert_eq!(
        err.to_string(),
        "air waybill check digit (serial mod 7) is 5, not 4"
    );
}

#[test]
fn in_bond() {
    check(InBondNumber::parse, "257700030", Ok("257700030"));
    check(
        InBondNumber::parse,
        "257700031",
        Err("ID_INBOND_CHECK_DIGIT"),
    );
    check(InBondNumber::parse, "25770003", Err("ID_INBOND_FORMAT"));
}

#[test]
fn cbp_entry_worked_example() {
    check(CbpEntryNumber::parse, "B76-0324527-8", Ok("B76-0324527-8"));
    check(CbpEntryNumber::parse, "b7603245278", Ok("B76-0324527-8"));
    check(
        CbpEntryNumber::parse,
        "B76-0324527-3",
        Err("ID_ENTRY_CHECK_DIGIT"),
    );
    check(
        CbpEntryNumber::parse,
        "B76-032452-8",
        Err("ID_ENTRY_FORMAT"),
    );
    check(
        CbpEntryNumber::parse,
        "B7$-0324527-8",
        Err("ID_ENTRY_FORMAT"),
    );
    let err = CbpEntryNumber::parse("B76-0324527-3").expect_err("wrong check digit");
    assert_eq!(
        err,
        IdError::EntryCheckDigit {
            expected: 8,
            found: 3
        }
    );
}

#[test]
fn lei_annex_a_example() {
    check(
        Lei::parse,
        "YZ83GD8L7GG84979J516",
        Ok("YZ83GD8L7GG84979J516"),
    );
    let lei = Lei::with_check_digits("YZ83GD8L7GG84979J5").expect("18 characters");
    assert_eq!(lei.as_str(), "YZ83GD8L7GG84979J516");
    assert_eq!(lei.lou_prefix(), "YZ83");
    assert_eq!(
        Lei::with_check_digits("YZ83").map_err(|e| e.code()),
        Err("ID_LEI_FORMAT")
    );
    check(
        Lei::parse,
        "2594007XIACKNMUAW222",
        Err("ID_LEI_CHECK_DIGITS"),
    );
    let err = Lei::parse("2594007XIACKNMUAW222").expect_err("wrong check digits");
    assert_eq!(
        err.to_string(),
        "LEI check digits are 23, not 22 (ISO 7064 MOD 97-10)"
    );
}

#[test]
fn us_ein_display() {
    check(UsEin::parse, "911144442", Ok("91-1144442"));
    check(UsEin::parse, "04-2103594", Ok("04-2103594"));
    check(UsEin::parse, "91-114444", Err("ID_EIN_FORMAT"));
}

#[test]
fn imo() {
    check(ImoNumber::parse, "IMO 9074729", Ok("IMO 9074729"));
    check(ImoNumber::parse, "9074729", Ok("IMO 9074729"));
    check(ImoNumber::parse, "9074728", Err("ID_IMO_CHECK_DIGIT"));
    check(ImoNumber::parse, "907472", Err("ID_IMO_FORMAT"));
}

#[test]
fn pinfl_is_masked() {
    let pinfl = UzPinfl::parse("3120 5891 2345 67").expect("14 digits");
    assert_eq!(pinfl.to_string(), "**********4567");
    assert!(!format!("{pinfl:?}").contains("31205891"));
    assert_eq!(pinfl.expose(), "31205891234567");
    assert_eq!(
        UzPinfl::parse("3120589123456").map_err(|e| e.code()),
        Err("ID_PINFL_FORMAT")
    );
}
