//! Every vector group of the shared identifier test vectors: valid entries must parse, invalid
//! ones must fail with the right code. A group that appears in the file but not here fails
//! `every_group_is_covered`, so a refreshed file cannot be silently half-tested.

use caravan_domain::id::{
    AirWaybill, CbpEntryNumber, CbpImporterNumber, ContainerNumber, Eori, IdError, InBondNumber,
    Lei, StirKind, UsEin, UzStir,
};
use serde_json::Value;

const VECTORS: &str = include_str!("../data/identifier_test_vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("test vectors are valid JSON")
}

fn strings(group: &str) -> Vec<String> {
    let all = vectors();
    let list = all[group]
        .as_array()
        .unwrap_or_else(|| panic!("group {group} is a list"));
    assert!(!list.is_empty(), "group {group} is empty");
    list.iter()
        .map(|v| v.as_str().expect("vector is a string").to_owned())
        .collect()
}

/// Parses every entry of `group` and checks the outcome: `Ok` when `expect` is `None`, else
/// an error with code `expect` (or one of the codes, for groups that mix failure kinds).
#[track_caller]
fn check<T: std::fmt::Debug>(
    group: &str,
    parse: impl Fn(&str) -> Result<T, IdError>,
    expect: Option<&[&str]>,
) {
    for raw in strings(group) {
        match (parse(&raw), expect) {
            (Ok(_), None) => {}
            (Err(e), Some(codes)) if codes.contains(&e.code()) => {}
            (got, _) => panic!("{group}: {raw:?} gave {got:?}, expected {expect:?}"),
        }
    }
}

const HANDLED: &[&str] = &[
    "iso6346_valid",
    "iso6346_invalid_checkdigit",
    "iso6346_invalid_format",
    "iso6346_corrected",
    "iata_awb_valid",
    "iata_awb_invalid",
    "lei_valid",
    "lei_invalid",
    "cbp_entry_number",
    "cbp_inbond_mod7_valid",
    "us_ein_valid",
    "us_ein_invalid",
    "us_ein_invalid_prefix_list",
    "cbp_importer_number_formats",
    "eori_uk_valid",
    "eori_uk_invalid",
    "eori_eu_valid_format",
    "uz_stir_legal_entity_format_only",
    "uz_stir_individual_format_only",
    "uz_stir_invalid_format",
    "uz_stir_regex",
];

#[test]
fn every_group_is_covered() {
    let all = vectors();
    let groups: Vec<&str> = all
        .as_object()
        .expect("vectors are an object")
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with('_'))
        .collect();
    assert_eq!(
        groups.len(),
        21,
        "the data README promises 21 vector groups"
    );
    for group in groups {
        assert!(HANDLED.contains(&group), "vector group {group} has no test");
    }
}

#[test]
fn iso6346() {
    check("iso6346_valid", ContainerNumber::parse, None);
    check(
        "iso6346_invalid_checkdigit",
        ContainerNumber::parse,
        Some(&["ID_ISO6346_CHECK_DIGIT"]),
    );
    check(
        "iso6346_invalid_format",
        ContainerNumber::parse,
        Some(&["ID_ISO6346_FORMAT"]),
    );
}

#[test]
fn iso6346_corrected() {
    let all = vectors();
    let corrected = all["iso6346_corrected"].as_object().expect("object");
    assert!(!corrected.is_empty());
    for (wrong, right) in corrected {
        let right = right.as_str().expect("string");
        assert_eq!(
            ContainerNumber::parse(wrong),
            Err(IdError::Iso6346CheckDigit {
                expected: right.as_bytes()[10] - b'0',
                found: wrong.as_bytes()[10] - b'0'
            })
        );
        let digit = ContainerNumber::check_digit(&wrong[..10]).expect("valid prefix");
        assert_eq!(format!("{}{digit}", &wrong[..10]), right);
        assert!(ContainerNumber::parse(right).is_ok());
    }
}

#[test]
fn iata_awb() {
    check("iata_awb_valid", AirWaybill::parse, None);
    check(
        "iata_awb_invalid",
        AirWaybill::parse,
        Some(&["ID_AWB_FORMAT", "ID_AWB_CHECK_DIGIT"]),
    );
    assert_eq!(
        AirWaybill::parse("123-12345674").map_err(|e| e.code()),
        Err("ID_AWB_CHECK_DIGIT")
    );
    assert_eq!(
        AirWaybill::parse("1231234567").map_err(|e| e.code()),
        Err("ID_AWB_FORMAT")
    );
}

#[test]
fn lei() {
    check("lei_valid", Lei::parse, None);
    check(
        "lei_invalid",
        Lei::parse,
        Some(&["ID_LEI_FORMAT", "ID_LEI_CHECK_DIGITS"]),
    );
    assert_eq!(
        Lei::parse("213800KUD8LXJWSQ9D15").map_err(|e| e.code()),
        Err("ID_LEI_CHECK_DIGITS")
    );
    assert_eq!(
        Lei::parse("2594007XIACKNMUAW222").map_err(|e| e.code()),
        Err("ID_LEI_CHECK_DIGITS")
    );
    assert_eq!(
        Lei::parse("2594007XIACKNMUAW2").map_err(|e| e.code()),
        Err("ID_LEI_FORMAT")
    );
    for raw in strings("lei_valid") {
        let rebuilt = Lei::with_check_digits(&raw[..18]).expect("18 alphanumerics");
        assert_eq!(rebuilt.as_str(), raw);
    }
}

#[test]
fn cbp_entry_number() {
    let all = vectors();
    let group = &all["cbp_entry_number"];
    let full = group["full"].as_str().expect("string");
    let entry = CbpEntryNumber::parse(full).expect("the CATAIR example is valid");
    assert_eq!(entry.to_string(), full);
    assert_eq!(entry.filer_code(), group["filer"].as_str().expect("string"));
    assert_eq!(
        entry.transaction_number(),
        group["seq"].as_str().expect("string")
    );
    let check_digit = group["check_digit"].as_u64().expect("number");
    assert_eq!(
        u64::from(full.as_bytes()[full.len() - 1] - b'0'),
        check_digit
    );
    let invalid: Vec<&str> = group["invalid"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(invalid.len(), 2);
    assert_eq!(
        CbpEntryNumber::parse(invalid[0]).map_err(|e| e.code()),
        Err("ID_ENTRY_CHECK_DIGIT")
    );
    assert_eq!(
        CbpEntryNumber::parse(invalid[1]).map_err(|e| e.code()),
        Err("ID_ENTRY_FORMAT")
    );
}

#[test]
fn cbp_inbond() {
    check("cbp_inbond_mod7_valid", InBondNumber::parse, None);
}

#[test]
fn us_ein() {
    check("us_ein_valid", UsEin::parse, None);
    check(
        "us_ein_invalid",
        UsEin::parse,
        Some(&["ID_EIN_FORMAT", "ID_EIN_PREFIX"]),
    );
    assert_eq!(
        UsEin::parse("911-14-4442").map_err(|e| e.code()),
        Err("ID_EIN_FORMAT")
    );
    assert_eq!(
        UsEin::parse("07-1144442").map_err(|e| e.code()),
        Err("ID_EIN_PREFIX")
    );
    for prefix in strings("us_ein_invalid_prefix_list") {
        let raw = format!("{prefix}-1144442");
        assert_eq!(
            UsEin::parse(&raw),
            Err(IdError::EinPrefix {
                prefix: prefix.clone()
            }),
            "{raw}"
        );
    }
    // Every other prefix is assigned.
    let never = strings("us_ein_invalid_prefix_list");
    for n in 0..100 {
        let prefix = format!("{n:02}");
        if !never.contains(&prefix) {
            assert!(
                UsEin::parse(&format!("{prefix}-1144442")).is_ok(),
                "{prefix}"
            );
        }
    }
}

#[test]
fn cbp_importer_number_formats() {
    // The group documents the three layouts; check one example of each against its text.
    let all = vectors();
    let formats = &all["cbp_importer_number_formats"];
    assert_eq!(
        formats["irs"].as_str(),
        Some("NN-NNNNNNNXX (suffix XX optional, never O/I/Z)")
    );
    assert_eq!(formats["ssn"].as_str(), Some("NNN-NN-NNNN"));
    assert_eq!(formats["cbp_assigned"].as_str(), Some("YYDDPP-NNNNN"));
    #[track_caller]
    fn check_ior(raw: &str, expect: Result<&str, &str>) {
        let got = CbpImporterNumber::parse(raw)
            .map(|n| n.to_string())
            .map_err(|e| e.code());
        assert_eq!(got.as_deref().map_err(|e| *e), expect, "{raw}");
    }
    check_ior("91-1144442", Ok("91-1144442"));
    check_ior("91-114444200", Ok("91-114444200"));
    check_ior("91-1144442AB", Ok("91-1144442AB"));
    check_ior("911144442AB", Ok("91-1144442AB"));
    check_ior("91-1144442AO", Err("ID_IOR_FORMAT"));
    check_ior("91-1144442Z1", Err("ID_IOR_FORMAT"));
    check_ior("07-1144442", Err("ID_IOR_FORMAT"));
    check_ior("123-45-6789", Ok("***-**-6789"));
    check_ior("000-45-6789", Err("ID_SSN_INVALID"));
    check_ior("666-45-6789", Err("ID_SSN_INVALID"));
    check_ior("912-45-6789", Err("ID_SSN_INVALID"));
    check_ior("123-00-6789", Err("ID_SSN_INVALID"));
    check_ior("123-45-0000", Err("ID_SSN_INVALID"));
    check_ior("981234-00001", Ok("981234-00001"));
    // Without hyphens 9 or 11 digits are ambiguous, and the parser does not guess.
    check_ior("911144442", Err("ID_IOR_FORMAT"));
    check_ior("98123400001", Err("ID_IOR_FORMAT"));
    check_ior("9-11-44442", Err("ID_IOR_FORMAT"));
    check_ior("ЖЖ-1144442", Err("ID_IOR_FORMAT"));
}

#[test]
fn eori() {
    check("eori_uk_valid", Eori::parse, None);
    check("eori_eu_valid_format", Eori::parse, None);
    check("eori_uk_invalid", Eori::parse, Some(&["ID_EORI_FORMAT"]));
    assert!(Eori::parse("GB553202734852").expect("valid").is_uk());
    assert!(!Eori::parse("DE553202734854000").expect("valid").is_uk());
    assert!(Eori::parse("XI553202734852000").is_ok());
    assert!(
        Eori::parse("DE5532027348540001").is_err(),
        "16 characters after DE"
    );
}

#[test]
fn uz_stir() {
    check("uz_stir_legal_entity_format_only", UzStir::parse, None);
    check("uz_stir_individual_format_only", UzStir::parse, None);
    check(
        "uz_stir_invalid_format",
        UzStir::parse,
        Some(&["ID_STIR_FORMAT"]),
    );
    for raw in strings("uz_stir_legal_entity_format_only") {
        assert_eq!(
            UzStir::parse(&raw).expect("valid").kind(),
            StirKind::LegalEntity
        );
    }
    for raw in strings("uz_stir_individual_format_only") {
        assert_eq!(
            UzStir::parse(&raw).expect("valid").kind(),
            StirKind::Individual
        );
    }
    let all = vectors();
    let regex = all["uz_stir_regex"].as_str().expect("string");
    assert!(
        regex.starts_with("^[2-7][0-9]{8}$"),
        "the documented pattern changed: {regex}"
    );
    for first in 0..=9u8 {
        let raw = format!("{first}06180825");
        assert_eq!(
            UzStir::parse(&raw).is_ok(),
            (2..=7).contains(&first),
            "{raw}"
        );
    }
}
