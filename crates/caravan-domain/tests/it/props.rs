//! Property tests: computed check digits always pass, and a single changed digit is always
//! caught by the check-digit schemes that promise it.

use caravan_domain::id::{
    AirWaybill, CbpEntryNumber, CbpImporterNumber, ContainerNumber, CountryCode, CurrencyCode,
    Eori, HsCode, ImoNumber, InBondNumber, Lei, UnLocode, UsEin, UzPinfl, UzStir,
};
use proptest::prelude::*;

/// Replaces the digit at `index` of `s` with a different digit.
fn change_digit(s: &str, index: usize, offset: u8) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let old = bytes[index] - b'0';
    bytes[index] = b'0' + (old + 1 + offset % 9) % 10;
    String::from_utf8(bytes).expect("ASCII")
}

fn digit_positions(s: &str) -> Vec<usize> {
    s.bytes()
        .enumerate()
        .filter(|(_, b)| b.is_ascii_digit())
        .map(|(i, _)| i)
        .collect()
}

proptest! {
    #[test]
    fn iso6346_computed_check_digit_parses(prefix in "[A-Z]{3}[UJZ][0-9]{6}") {
        let digit = ContainerNumber::check_digit(&prefix).expect("well-formed prefix");
        let number = format!("{prefix}{digit}");
        let parsed = ContainerNumber::parse(&number).expect("computed check digit passes");
        prop_assert_eq!(parsed.as_str(), number.as_str());
    }

    /// ISO 6346 detects every single-digit change, with the one blind spot of the standard:
    /// the weights 2^i are never 0 mod 11, so a changed digit always moves the weighted sum
    /// mod 11, but the final "mod 10" folds remainders 10 and 0 onto check digit 0. A change
    /// passes exactly when it moves the remainder between 0 and 10.
    #[test]
    fn iso6346_detects_one_changed_digit(
        prefix in "[A-Z]{3}[UJZ][0-9]{6}",
        position in 4usize..11,
        offset in 0u8..9,
    ) {
        let digit = ContainerNumber::check_digit(&prefix).expect("well-formed prefix");
        let valid = format!("{prefix}{digit}");
        let changed = change_digit(&valid, position, offset);
        let folded = position < 10
            && digit == 0
            && ContainerNumber::check_digit(&changed[..10]) == Some(0);
        prop_assert_eq!(
            ContainerNumber::parse(&changed).is_ok(),
            folded,
            "{} -> {}", valid, changed
        );
    }

    #[test]
    fn lei_detects_one_changed_digit(
        body in "[0-9A-Z]{18}",
        offset in 0u8..9,
        pick in any::<prop::sample::Index>(),
    ) {
        let lei = Lei::with_check_digits(&body).expect("18 alphanumerics");
        prop_assert!(Lei::parse(lei.as_str()).is_ok());
        let positions = digit_positions(lei.as_str());
        let changed = change_digit(lei.as_str(), *pick.get(&positions), offset);
        prop_assert!(Lei::parse(&changed).is_err(), "{} -> {} passed", lei, changed);
    }

    #[test]
    fn entry_number_detects_one_changed_digit(
        filer in "[A-Z0-9]{3}",
        transaction in "[0-9]{7}",
        position in 3usize..11,
        offset in 0u8..9,
    ) {
        let valid = (0..10)
            .map(|d| format!("{filer}{transaction}{d}"))
            .find(|raw| CbpEntryNumber::parse(raw).is_ok())
            .expect("exactly one check digit fits");
        let changed = change_digit(&valid, position, offset);
        prop_assert!(CbpEntryNumber::parse(&changed).is_err(), "{} -> {} passed", valid, changed);
    }

    #[test]
    fn awb_round_trips(prefix in 0u32..1000, serial in 0u32..10_000_000) {
        let raw = format!("{prefix:03}{serial:07}{}", serial % 7);
        let awb = AirWaybill::parse(&raw).expect("computed check digit passes");
        prop_assert_eq!(AirWaybill::parse(&awb.to_string()).expect("display parses"), awb);
    }

    /// No parser panics, whatever it is given.
    #[test]
    fn parsers_never_panic(raw in "\\PC{0,24}") {
        let _ = ContainerNumber::parse(&raw);
        let _ = AirWaybill::parse(&raw);
        let _ = InBondNumber::parse(&raw);
        let _ = CbpEntryNumber::parse(&raw);
        let _ = CbpImporterNumber::parse(&raw);
        let _ = Lei::parse(&raw);
        let _ = Lei::with_check_digits(&raw);
        let _ = Eori::parse(&raw);
        let _ = UsEin::parse(&raw);
        let _ = UzStir::parse(&raw);
        let _ = UzPinfl::parse(&raw);
        let _ = ImoNumber::parse(&raw);
        let _ = HsCode::parse(&raw);
        let _ = CountryCode::parse(&raw);
        let _ = CurrencyCode::parse(&raw);
        let _ = UnLocode::parse(&raw);
    }

    /// The same, on inputs shaped like identifiers, where slicing bugs would hide.
    #[test]
    fn parsers_never_panic_on_near_misses(raw in "[0-9A-Zé -]{0,22}") {
        let _ = CbpImporterNumber::parse(&raw);
        let _ = ContainerNumber::parse(&raw);
        let _ = Lei::parse(&raw);
        let _ = Eori::parse(&raw);
        let _ = UsEin::parse(&raw);
        let _ = HsCode::parse(&raw);
        let _ = UnLocode::parse(&raw);
    }
}
