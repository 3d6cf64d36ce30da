//! The embedded tables hold what `data/README.md` says they hold.

use std::collections::HashSet;

use caravan_domain::refdata::{self, CurrencyStatus};

#[test]
fn hs2022_counts() {
    let hs = refdata::hs2022();
    assert_eq!(
        hs.subheadings().count(),
        5_612,
        "level-6 rows excluding 999999"
    );
    // 97 chapters and 1,229 headings in the file, less the placeholders 99 and 9999.
    assert_eq!(hs.chapters().count(), 96);
    assert_eq!(hs.headings().count(), 1_228);
    assert!(hs.subheading("999999").is_none());
    assert!(hs.heading("9999").is_none() && hs.chapter("99").is_none());
    assert!(
        hs.subheadings()
            .all(|e| e.code.len() == 6 && e.parent == &e.code[..4])
    );
    for code in ["852491", "854911", "880730"] {
        assert!(hs.subheading(code).is_some(), "HS 2022 code {code}");
    }
    let horses = hs.subheading("010121").expect("present");
    assert_eq!(horses.section, "I");
    assert_eq!(
        hs.heading("0101").map(|e| e.description),
        Some("Horses, asses, mules and hinnies; live")
    );
    assert_eq!(
        hs.chapter("01").map(|e| e.description),
        Some("Animals; live")
    );
    assert!(
        hs.subheading("0101").is_none(),
        "a heading is not a subheading"
    );
}

#[test]
fn hs2022_navigation() {
    let hs = refdata::hs2022();
    let siblings: Vec<&str> = hs.siblings("010121").map(|e| e.code).collect();
    assert!(!siblings.contains(&"010121"));
    assert!(siblings.contains(&"010129"));
    assert!(siblings.iter().all(|c| c.starts_with("0101")));
    assert_eq!(
        hs.siblings("0101").count(),
        siblings.len() + 1,
        "a heading lists all its codes"
    );
    assert_eq!(hs.siblings("12").count(), 0);
    let chapter_85 = hs.subheadings_in_chapter("85");
    assert!(chapter_85.iter().all(|e| e.code.starts_with("85")));
    assert_eq!(
        chapter_85.len(),
        hs.subheadings()
            .filter(|e| e.code.starts_with("85"))
            .count()
    );
    assert!(hs.subheadings_in_chapter("99").is_empty());
    let total: usize = hs
        .chapters()
        .map(|c| hs.subheadings_in_chapter(c.code).len())
        .sum();
    assert_eq!(total, 5_612);
}

#[test]
fn countries() {
    let countries = refdata::countries();
    assert_eq!(countries.len(), 249);
    let namibia = countries
        .get("NA")
        .expect("NA is Namibia, not a missing value");
    assert_eq!(
        (namibia.alpha3, namibia.numeric, namibia.name),
        ("NAM", 516, "Namibia")
    );
    assert_eq!(namibia.currencies, ["NAD", "ZAR"]);
    let us = countries.get("US").expect("US");
    assert_eq!(
        (us.alpha3, us.numeric, us.currency),
        ("USA", 840, Some("USD"))
    );
    let uz = countries.get("UZ").expect("UZ");
    assert_eq!(
        (uz.alpha3, uz.numeric, uz.currency),
        ("UZB", 860, Some("UZS"))
    );
    assert_eq!(countries.get_alpha3("UZB").map(|c| c.alpha2), Some("UZ"));
    assert!(
        countries.is_assigned("GB") && !countries.is_assigned("ZF") && !countries.is_assigned("XI")
    );
    assert_eq!(countries.get("AQ").and_then(|c| c.currency), None);
    assert!(countries.iter().all(|c| !c.name.is_empty()));
}

#[test]
fn currencies() {
    let currencies = refdata::currencies();
    assert_eq!(
        currencies.get("UZS"),
        Some(CurrencyStatus::Current {
            minor_unit: Some(2)
        })
    );
    assert_eq!(
        currencies.get("USD"),
        Some(CurrencyStatus::Current {
            minor_unit: Some(2)
        })
    );
    assert_eq!(currencies.get("RUR"), Some(CurrencyStatus::Withdrawn));
    assert_eq!(
        currencies.get("XAU"),
        Some(CurrencyStatus::Current { minor_unit: None })
    );
    assert_eq!(
        currencies.get("KWD"),
        Some(CurrencyStatus::Current {
            minor_unit: Some(3)
        })
    );
    assert_eq!(currencies.get(""), None);
    assert_eq!(currencies.get("ZZZ"), None);
    assert_eq!(currencies.name("UZS"), Some("Uzbekistan Sum"));
    // Every country's listed currency is a current ISO 4217 code.
    for country in refdata::countries().iter() {
        for code in &country.currencies {
            assert!(
                matches!(currencies.get(code), Some(CurrencyStatus::Current { .. })),
                "{} uses {code}",
                country.alpha2
            );
        }
    }
}

#[test]
fn locodes() {
    let locodes = refdata::locodes();
    assert_eq!(locodes.len(), 20_894);
    assert_eq!(locodes.iter().filter(|l| l.country == "UZ").count(), 42);
    assert_eq!(locodes.iter().filter(|l| l.country == "US").count(), 20_852);
    let tas = locodes.get("UZ", "TAS").expect("Tashkent");
    assert_eq!(tas.name, "Tashkent");
    assert!(tas.function.is_rail() && tas.function.is_airport() && !tas.function.is_port());
    assert_eq!(locodes.get("UZ", "SKD").map(|l| l.name), Some("Samarkand"));
    assert_eq!(locodes.get("UZ", "AGN").map(|l| l.name), Some("Ohangaron"));
    let bgm = locodes.get("US", "BGM").expect("Binghamton");
    assert_eq!(bgm.subdivision, Some("NY"));
    assert_eq!(bgm.alternative_names.len(), 2);
    let alternative_rows: usize = locodes.iter().map(|l| l.alternative_names.len()).sum();
    assert_eq!(alternative_rows, 20_931 - 20_894);
    assert!(locodes.covers("US") && locodes.covers("UZ") && !locodes.covers("DE"));
    assert!(locodes.get("UZ", "TASH").is_none() && locodes.get("U", "TAS").is_none());
}

#[test]
fn chpl() {
    let chpl = refdata::chpl();
    let codes: Vec<(&str, &str)> = chpl.codes().collect();
    assert_eq!(codes.len(), 50);
    assert_eq!(
        codes
            .iter()
            .map(|(_, hs6)| hs6)
            .collect::<HashSet<_>>()
            .len(),
        50
    );
    for (tier, want) in [
        ("1", 4),
        ("2", 5),
        ("3.A", 16),
        ("3.B", 9),
        ("4.A", 11),
        ("4.B", 5),
    ] {
        assert_eq!(
            codes.iter().filter(|(t, _)| *t == tier).count(),
            want,
            "tier {tier}"
        );
    }
    for (tier, hs6) in codes {
        assert!(
            refdata::hs2022().subheading(hs6).is_some(),
            "CHPL {hs6} is in HS 2022"
        );
        assert_eq!(chpl.tier(hs6), Some(tier));
    }
    assert_eq!(chpl.tier("854231"), Some("1"));
    assert_eq!(chpl.tier("010121"), None);
}

#[test]
fn small_lists() {
    assert_eq!(refdata::INCOTERMS.len(), 12);
    for term in ["EXW", "fob", " DPU ", "DAT", "CIF"] {
        assert!(refdata::is_incoterm(term), "{term}");
    }
    assert!(!refdata::is_incoterm("XYZ") && !refdata::is_incoterm("C&F"));
    assert!(refdata::INCOTERMS_2010.contains(&"DAT") && !refdata::INCOTERMS_2020.contains(&"DAT"));
    assert_eq!(refdata::transport_mode_name(4), Some("Air transport"));
    assert_eq!(refdata::transport_mode_name(10), None);
    assert_eq!(refdata::TRANSPORT_MODES.len(), 10);
}
