//! The list parsers on the real files of `data/screening/`, and their refusals of damaged
//! copies of them.

use caravan_screen::error::ListErrorCode;
use caravan_screen::model::{EntryKind, NameKind};
use caravan_screen::parse::{ofac_csv, un_xml};

use crate::data::read;

#[test]
fn ofac_sdn_edition_reads_whole() {
    let list = ofac_csv::parse(
        &read("sdn.csv"),
        Some(&read("alt.csv")),
        Some(&read("add.csv")),
        "t",
    )
    .unwrap();
    assert_eq!(list.entries.len(), 8976);
    let n_names: usize = list.entries.iter().map(|e| e.names.len()).sum();
    // 8,976 primary names + 11,910 aliases, less exact duplicates within one entry.
    assert!((20_800..=20_886).contains(&n_names), "{n_names}");
    let persons = list
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Person)
        .count();
    assert_eq!(persons, 4620);
    let with_dob = list
        .entries
        .iter()
        .filter(|e| !e.birth_dates.is_empty())
        .count();
    assert!(with_dob > 3500, "{with_dob}");
    assert!(
        list.entries
            .iter()
            .any(|e| e.identifiers.iter().any(|i| i.scheme == "IMO"))
    );
}

#[test]
fn un_consolidated_reads_whole() {
    let list = un_xml::parse(&read("un_consolidated.xml"), "t").unwrap();
    assert_eq!(list.entries.len(), 1003);
    assert_eq!(
        list.version.publisher_date.as_deref(),
        Some("2026-02-27T00:00:09.554Z")
    );
    let persons = list
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Person)
        .count();
    assert_eq!(persons, 730);
    let originals = list
        .entries
        .iter()
        .flat_map(|e| &e.names)
        .filter(|n| n.kind == NameKind::OriginalScript)
        .count();
    assert_eq!(originals, 378);
    let documents: usize = list.entries.iter().map(|e| e.identifiers.len()).sum();
    assert!(documents > 400, "{documents}");
}

#[test]
fn damaged_copies_are_refused_with_specific_codes() {
    let sdn = read("sdn.csv");
    let cut = &sdn[..sdn.len() / 2];
    assert_eq!(
        ofac_csv::parse(cut, None, None, "t").unwrap_err().code,
        ListErrorCode::Truncated
    );
    let un = read("un_consolidated.xml");
    let err = un_xml::parse(&un[..un.len() - 500], "t").unwrap_err();
    assert_eq!(err.code, ListErrorCode::Truncated, "{err}");
    // The wrong format for each parser.
    assert!(un_xml::parse(&sdn, "t").is_err());
    let mut un_as_csv = un.clone();
    un_as_csv.push(0x1a);
    assert_eq!(
        ofac_csv::parse(&un_as_csv, None, None, "t")
            .unwrap_err()
            .code,
        ListErrorCode::WrongFormat
    );
}
