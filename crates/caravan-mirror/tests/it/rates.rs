//! Rate-table parsing: good records kept, every bad record reported with its line and
//! code, header problems reject the table; lookups never invent a rate.

use caravan_mirror::rates::{ConversionError, RateErrorCode, Rates};
use chrono::NaiveDate;
use proptest::prelude::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, d).expect("date")
}

#[test]
fn bad_records_are_reported_one_by_one() {
    let csv = "date,currency,per_usd\n\
               2024-03-01,UZS,12600.5\n\
               2024-03-02,UZS,abc\n\
               2024-03-0x,EUR,0.92\n\
               2024-03-01,XXY,1\n\
               2024-03-01,EUR,-1\n\
               2024-03-01,UZS,12601\n\
               2024-03-01,EUR\n\
               2024-03-04,eur,0.91\n";
    let (rates, errors) = Rates::parse_csv(csv.as_bytes()).expect("header is fine");
    let codes: Vec<(u64, RateErrorCode)> = errors.iter().map(|e| (e.line, e.code)).collect();
    assert_eq!(
        codes,
        vec![
            (3, RateErrorCode::Value),
            (4, RateErrorCode::Date),
            (5, RateErrorCode::Currency),
            (6, RateErrorCode::Value),
            (7, RateErrorCode::Duplicate),
            (8, RateErrorCode::Record),
        ]
    );
    assert_eq!(rates.len(), 2);
    assert_eq!(rates.base(), "USD");
    assert_eq!(rates.per_base("EUR", day(4)), Ok(0.91));
    assert_eq!(rates.per_base("UZS", day(1)), Ok(12600.5));
}

#[test]
fn header_errors_reject_the_table() {
    for (csv, needle) in [
        ("day,currency,per_usd\n", "date"),
        ("date,ccy,per_usd\n", "currency"),
        ("date,currency,rate\n", "per_<base>"),
        ("date,currency,per_xyz\n", "ISO 4217"),
    ] {
        let err = Rates::parse_csv(csv.as_bytes()).expect_err(csv);
        assert_eq!(err.code, RateErrorCode::Header, "{csv}");
        assert!(err.message.contains(needle), "{csv}: {}", err.message);
    }
}

#[test]
fn lookups_take_the_latest_rate_within_a_week_and_never_guess() {
    let mut rates = Rates::empty("USD");
    rates.insert("UZS", day(1), 12_000.0);
    rates.insert("UZS", day(5), 12_500.0);
    assert_eq!(rates.per_base("UZS", day(4)), Ok(12_000.0));
    assert_eq!(rates.per_base("UZS", day(12)), Ok(12_500.0));
    assert!(matches!(
        rates.per_base("UZS", day(13)),
        Err(ConversionError::MissingRate { .. })
    ));
    assert!(matches!(
        rates.per_base("UZS", NaiveDate::from_ymd_opt(2024, 2, 29).expect("date")),
        Err(ConversionError::MissingRate { .. })
    ));
    assert_eq!(
        rates.per_base("QQQ", day(4)),
        Err(ConversionError::UnknownCurrency("QQQ".into()))
    );
    assert_eq!(
        rates.to_base(100.0, None, Some(day(4))),
        Err(ConversionError::NoCurrency)
    );
    assert_eq!(rates.to_base(100.0, Some("USD"), None), Ok(100.0));
    assert_eq!(rates.to_base(24_000.0, Some("UZS"), Some(day(2))), Ok(2.0));
}

proptest! {
    #[test]
    fn parser_never_panics_and_accounts_for_every_line(body in "[0-9A-Za-z,.\\-\n\"]{0,300}") {
        let csv = format!("date,currency,per_usd\n{body}");
        let (rates, errors) = Rates::parse_csv(csv.as_bytes()).expect("valid header");
        for e in &errors {
            prop_assert!(e.line >= 2);
        }
        prop_assert!(rates.len() <= csv.lines().count());
    }
}
