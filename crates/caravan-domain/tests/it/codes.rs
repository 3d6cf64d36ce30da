//! Commodity, country, currency and location codes against the embedded reference data.

use caravan_domain::id::{CountryCode, CurrencyCode, HsCode, IdError, UnLocode};
use caravan_domain::refdata::CurrencyStatus;

#[track_caller]
fn check_hs(raw: &str, expect: Result<(&str, &str, Option<&str>), &str>) {
    let got = HsCode::parse(raw);
    match (&got, expect) {
        (Ok(code), Ok((digits, hs6, suffix))) => {
            assert_eq!(
                (code.as_str(), code.hs6(), code.national_suffix()),
                (digits, hs6, suffix)
            )
        }
        (Err(e), Err(want)) => assert_eq!(e.code(), want, "{raw:?}"),
        _ => panic!("{raw:?} gave {got:?}, expected {expect:?}"),
    }
}

#[test]
fn hs_codes() {
    check_hs("847130", Ok(("847130", "847130", None)));
    check_hs("8471.30.0100", Ok(("8471300100", "847130", Some("0100"))));
    check_hs("8509 90 00", Ok(("85099000", "850990", Some("00"))));
    check_hs("852491", Ok(("852491", "852491", None)));
    check_hs("880730", Ok(("880730", "880730", None)));
    check_hs("999999", Err("DECL_HS6_UNKNOWN"));
    check_hs("9999990000", Err("DECL_HS6_UNKNOWN"));
    check_hs("847199", Err("DECL_HS6_UNKNOWN"));
    check_hs("84713", Err("DECL_HS_FORMAT"));
    check_hs("8471300000000000000", Err("DECL_HS_FORMAT"));
    check_hs("8471x0", Err("DECL_HS_FORMAT"));
    let code = HsCode::parse("0101210000").expect("valid");
    assert_eq!((code.chapter(), code.heading()), ("01", "0101"));
    assert_eq!(
        code.entry().description,
        "Horses; live, pure-bred breeding animals"
    );
    assert_eq!(code.entry().section, "I");
    assert_eq!(
        HsCode::parse("847199"),
        Err(IdError::Hs6Unknown {
            hs6: "847199".into()
        })
    );
    assert!(HsCode::shape_ok("8471.99") && !HsCode::shape_ok("84a"));
}

#[test]
fn countries() {
    for raw in ["UZ", "us", " NA ", "GB"] {
        assert!(CountryCode::parse(raw).is_ok(), "{raw}");
    }
    let namibia = CountryCode::parse("NA").expect("Namibia");
    assert_eq!(namibia.country().alpha3, "NAM");
    assert_eq!(namibia.as_str(), "NA");
    let uz = CountryCode::parse("uz").expect("Uzbekistan").country();
    assert_eq!(
        (uz.alpha3, uz.numeric, uz.currency),
        ("UZB", 860, Some("UZS"))
    );
    for (raw, code) in [
        ("ZF", "ID_COUNTRY_UNKNOWN"),
        ("XI", "ID_COUNTRY_UNKNOWN"),
        ("U", "ID_COUNTRY_FORMAT"),
        ("U1", "ID_COUNTRY_FORMAT"),
        ("USA", "ID_COUNTRY_FORMAT"),
    ] {
        assert_eq!(
            CountryCode::parse(raw).map_err(|e| e.code()),
            Err(code),
            "{raw}"
        );
    }
    assert!(CountryCode::shape_ok("ZF") && CountryCode::shape_ok("xi"));
    assert!(!CountryCode::shape_ok("Z1") && !CountryCode::shape_ok("ZFF"));
}

#[test]
fn currencies() {
    let uzs = CurrencyCode::parse("uzs").expect("current");
    assert!(!uzs.is_withdrawn());
    assert_eq!(uzs.minor_unit(), Some(2));
    let rur = CurrencyCode::parse("RUR").expect("withdrawn codes parse");
    assert!(rur.is_withdrawn());
    assert_eq!(rur.status(), CurrencyStatus::Withdrawn);
    assert_eq!(
        CurrencyCode::parse("JPY").expect("current").minor_unit(),
        Some(0)
    );
    assert_eq!(
        CurrencyCode::parse("XAU").expect("current").minor_unit(),
        None
    );
    assert_eq!(
        CurrencyCode::parse("ABC").map_err(|e| e.code()),
        Err("ID_CURRENCY_UNKNOWN")
    );
    assert_eq!(
        CurrencyCode::parse("US").map_err(|e| e.code()),
        Err("ID_CURRENCY_FORMAT")
    );
    assert!(CurrencyCode::shape_ok("abc") && !CurrencyCode::shape_ok("A1C"));
}

#[test]
fn locodes() {
    let tas = UnLocode::parse("UZ TAS").expect("well shaped");
    assert_eq!(
        (tas.as_str(), tas.country().as_str(), tas.location()),
        ("UZTAS", "UZ", "TAS")
    );
    assert!(tas.is_covered() && tas.is_known());
    assert_eq!(tas.lookup().map(|l| l.name), Some("Tashkent"));
    assert_eq!(tas.check_known(), Ok(()));

    let nowhere = UnLocode::parse("UZZZZ").expect("well shaped");
    assert!(!nowhere.is_known());
    assert_eq!(
        nowhere.check_known().map_err(|e| e.code()),
        Err("ID_LOCODE_UNKNOWN")
    );

    // Not shipped: cannot tell, so no error.
    let hamburg = UnLocode::parse("DEHAM").expect("well shaped");
    assert!(!hamburg.is_covered() && !hamburg.is_known());
    assert_eq!(hamburg.check_known(), Ok(()));

    for (raw, code) in [
        ("USNY1", "ID_LOCODE_FORMAT"),
        ("US-NY", "ID_LOCODE_FORMAT"),
        ("USNYCX", "ID_LOCODE_FORMAT"),
        ("XXNYC", "ID_LOCODE_COUNTRY"),
    ] {
        assert_eq!(
            UnLocode::parse(raw).map_err(|e| e.code()),
            Err(code),
            "{raw}"
        );
    }
    assert!(
        UnLocode::parse("US2AB").is_ok(),
        "digits 2-9 are allowed in the location"
    );
}
