//! WCO DEC-DMS XML: the 40 HMRC samples, round trips, error codes, and the DE comments
//! of the samples checked against the mapping table.
//!
//! The samples are the test fixtures in `tests/fixtures/hmrc-wco-xml` (copied from the
//! shared data, with their licence); `CARAVAN_SHARED_DATA` reads them from a data folder.

use std::collections::HashMap;
use std::path::PathBuf;

use caravan_domain::declaration::draft::{
    AddressDraft, AmendmentDraft, DeclarationDraft, DocumentDraft, DutyDraft, EquipmentDraft,
    GoodsItemDraft, HeaderDraft, PartyDraft, TransportDraft,
};
use caravan_ingest::format::{wco_xml, wco_xsd};
use proptest::prelude::*;

fn samples_dir() -> PathBuf {
    match std::env::var("CARAVAN_SHARED_DATA") {
        Ok(base) => PathBuf::from(base).join("samples/hmrc-wco-xml"),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hmrc-wco-xml"),
    }
}

fn samples() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(samples_dir())
        .expect("samples folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read sample"))
        })
        .collect();
    out.sort();
    assert_eq!(out.len(), 40, "expected the 40 HMRC samples");
    out
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples_dir().join(name)).expect("sample")
}

fn read(name: &str) -> DeclarationDraft {
    wco_xml::read_document(&sample(name)).expect("reads").draft
}

fn write(draft: &DeclarationDraft) -> Vec<u8> {
    let mut out = Vec::new();
    wco_xml::write_document(&mut out, draft).expect("writes");
    out
}

#[test]
fn embedded_schema_set_compiles() {
    let (types, globals) = wco_xsd::compiled_schema_summary().expect("schema compiles");
    assert!(types > 300, "{types} types");
    assert_eq!(globals, 2, "MetaData and Declaration");
}

#[test]
fn all_samples_validate_and_read_with_item_count() {
    for (name, bytes) in samples() {
        wco_xsd::validate_document(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rec = wco_xml::read_document(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = &rec.draft;
        match d.header.goods_item_count.as_deref() {
            Some(n) => assert_eq!(
                d.items.len().to_string(),
                n,
                "{name}: items vs GoodsItemQuantity"
            ),
            // Amendments and cancellations (function 13) may omit the count.
            None => assert_eq!(
                d.header.function_code, "13",
                "{name}: GoodsItemQuantity missing"
            ),
        }
        assert!(!d.header.lrn.is_empty(), "{name}: LRN");
        assert!(
            rec.locator.line > 1,
            "{name}: locator points at the Declaration"
        );
        let records: Vec<_> = wco_xml::reader(bytes.as_slice()).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(
            records[0].as_ref().expect("reader").draft,
            rec.draft,
            "{name}"
        );
    }
}

/// (file, type, items, first commodity code, first origin, dispatch, destination), from
/// the table in `shared/data/README.md`.
#[allow(clippy::type_complexity)]
const TABLE: [(
    &str,
    &str,
    usize,
    Option<&str>,
    Option<&str>,
    Option<&str>,
    Option<&str>,
); 40] = [
    (
        "TT_IM001a__Step1_TT_IM001a.xml",
        "IMA",
        1,
        Some("85109000"),
        Some("US"),
        Some("US"),
        Some("GB"),
    ),
    (
        "TT_IM001d__TT_IM001d.xml",
        "IMA",
        3,
        Some("85101000"),
        Some("US"),
        Some("US"),
        Some("GB"),
    ),
    (
        "TT_IM184a__Step1_TT_IM184a.xml",
        "IMZ",
        4,
        Some("01019000"),
        Some("US"),
        Some("US"),
        Some("GB"),
    ),
    (
        "IMY_Aggregated_Supplementary_Declaration__IMY_Aggregated_Supplementary_Declaration.xml",
        "IMY",
        2,
        Some("07099310"),
        Some("EG"),
        Some("EG"),
        Some("GB"),
    ),
    (
        "IMZ_Aggregated_Supplementary_Declaration__IMZ_Aggregated_Supplementary_Declaration.xml",
        "IMZ",
        2,
        Some("18031000"),
        Some("BR"),
        Some("US"),
        Some("GB"),
    ),
    (
        "TT_IM002a__Step1_TT_IM002a.xml",
        "IMZ",
        1,
        Some("18040000"),
        Some("BR"),
        Some("US"),
        Some("GB"),
    ),
    (
        "TT_IM005a__TT_IM005a.xml",
        "IMJ",
        1,
        None,
        None,
        Some("US"),
        None,
    ),
    (
        "TT_IM008a__Step1_TT_IM008a.xml",
        "IMA",
        1,
        Some("93062100"),
        Some("CN"),
        Some("CN"),
        Some("GB"),
    ),
    (
        "TT_IM017b__Step1_TT_IM017b.xml",
        "IMA",
        2,
        Some("85101000"),
        Some("US"),
        Some("CN"),
        Some("GB"),
    ),
    (
        "TT_IM021a__Step1_TT_IM021a.xml",
        "IMD",
        1,
        Some("01019000"),
        Some("US"),
        Some("US"),
        Some("GB"),
    ),
    (
        "TT_IM037a__TT_IM037a.xml",
        "IMA",
        1,
        Some("24039100"),
        Some("RU"),
        Some("RU"),
        Some("GB"),
    ),
    (
        "TT_IM040b__Step1_TT_IM040b.xml",
        "IMZ",
        1,
        Some("52093100"),
        Some("US"),
        Some("US"),
        Some("GB"),
    ),
    (
        "TT_IM050a__TT_IM050a.xml",
        "IMC",
        1,
        Some("87087010"),
        Some("US"),
        Some("US"),
        None,
    ),
    (
        "TT_IM060a__Step1_TT_IM060a.xml",
        "COA",
        1,
        Some("04039099"),
        Some("TR"),
        Some("TR"),
        Some("GB"),
    ),
    (
        "TT_IM061a__Step1_TT_IM061a.xml",
        "IMQ",
        1,
        None,
        None,
        None,
        None,
    ),
    (
        "TT_IM070a__Step1_TT_IM070a.xml",
        "IMA",
        1,
        Some("87032210"),
        Some("US"),
        Some("US"),
        Some("GB"),
    ),
    (
        "TT_IM091a__TT_IM091a.xml",
        "IMF",
        1,
        Some("71131100"),
        Some("CH"),
        Some("CH"),
        None,
    ),
    (
        "TT_IM092a__Step1_TT_IM092a.xml",
        "IME",
        1,
        Some("85109000"),
        Some("US"),
        Some("US"),
        Some("GB"),
    ),
    (
        "TT_IM116a__TT_IM116a.xml",
        "IMB",
        1,
        Some("22042195"),
        Some("US"),
        Some("US"),
        Some("GB"),
    ),
    (
        "TT_IM156a__Step1_TT_IM156a.xml",
        "IMA",
        1,
        Some("61101110"),
        Some("IN"),
        Some("IN"),
        Some("GB"),
    ),
    (
        "TT_IM176a__Step1_TT_IM176a.xml",
        "IMK",
        1,
        None,
        None,
        Some("GB"),
        None,
    ),
    (
        "TT_IM002b__TT_IM002b_Amendment.xml",
        "COR",
        1,
        None,
        None,
        None,
        None,
    ),
    (
        "TT_IM002c__TT_IM002c_Complex_Multi_Amendment.xml",
        "COR",
        1,
        None,
        None,
        None,
        None,
    ),
    (
        "TT_IM011a__TT_IM011a_Cancellation.xml",
        "INV",
        0,
        None,
        None,
        None,
        None,
    ),
    (
        "TT_EX001a__TT_EX001a.xml",
        "EXD",
        1,
        Some("46021910"),
        None,
        Some("GB"),
        Some("US"),
    ),
    (
        "TT_EX004a__TT_EX004a.xml",
        "EXY",
        2,
        Some("93019000"),
        None,
        Some("GB"),
        Some("SD"),
    ),
    (
        "CUS_Code__New_Export_CUS_Code_Sample.xml",
        "EXA",
        1,
        Some("29349990"),
        None,
        Some("GB"),
        Some("PK"),
    ),
    (
        "Export_Sample_With_Consignor_Declared__New_Export_C21e_Consignor_Sample.xml",
        "EXJ",
        1,
        None,
        None,
        None,
        Some("JP"),
    ),
    (
        "TT_EX006a__TT_EX006a.xml",
        "EXF",
        1,
        Some("64011000"),
        None,
        None,
        Some("ZF"),
    ),
    (
        "TT_EX007a__TT_EX007a.xml",
        "EXK",
        1,
        None,
        None,
        None,
        Some("JP"),
    ),
    (
        "TT_EX009a__TT_EX009a.xml",
        "EXD",
        1,
        Some("85176200"),
        None,
        Some("GB"),
        Some("PK"),
    ),
    (
        "TT_EX015a__Step1_TT_EX015a.xml",
        "EXD",
        1,
        Some("22085011"),
        None,
        Some("GB"),
        Some("US"),
    ),
    (
        "TT_EX016a__TT_EX016a.xml",
        "EXK",
        1,
        Some("87032390"),
        None,
        None,
        Some("IN"),
    ),
    (
        "TT_EX024a__Step1_TT_EX024a.xml",
        "COD",
        1,
        Some("46021910"),
        None,
        Some("GB"),
        Some("GG"),
    ),
    (
        "TT_EX025a__Step1_TT_EX025a.xml",
        "EXZ",
        1,
        Some("61013010"),
        None,
        Some("GB"),
        Some("US"),
    ),
    (
        "TT_EX034a__Step1_TT_EX034a.xml",
        "EXE",
        1,
        Some("46021910"),
        None,
        None,
        Some("CA"),
    ),
    (
        "TT_EX039a__TT_EX039a.xml",
        "EXD",
        2,
        Some("46021910"),
        None,
        Some("GB"),
        Some("JP"),
    ),
    (
        "TT_EX048a__Step1_TT_EX048a.xml",
        "EXC",
        1,
        Some("63011000"),
        None,
        None,
        Some("US"),
    ),
    (
        "TT_EX055a__Step1_TT_EX055a.xml",
        "EXD",
        1,
        Some("29037690"),
        None,
        Some("GB"),
        Some("JP"),
    ),
    (
        "TT_EX009a__Step5_TT_EX009a_Amendment.xml",
        "COR",
        1,
        None,
        None,
        None,
        None,
    ),
];

#[test]
fn samples_match_the_data_readme_table() {
    let mut failures = Vec::new();
    for (file, ty, n, code, origin, from, to) in TABLE {
        let d = read(file);
        // The README lists codes and origins as sets, not in item order.
        let has = |want: Option<&str>, f: fn(&GoodsItemDraft) -> Option<&str>| match want {
            Some(w) => d.items.iter().any(|i| f(i) == Some(w)),
            None => d.items.iter().all(|i| f(i).is_none()),
        };
        let got = (
            d.header.type_code.as_str(),
            d.items.len(),
            has(code, |i| i.commodity_code.as_deref()),
            has(origin, |i| i.origin_country.as_deref()),
            d.transport.dispatch_country.as_deref(),
            d.transport.destination_country.as_deref(),
        );
        if got != (ty, n, true, true, from, to) {
            failures.push(format!("{file}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn spot_checks_of_concrete_values() {
    let d = read("TT_IM001a__Step1_TT_IM001a.xml");
    assert_eq!(d.header.function_code, "9");
    assert_eq!(d.header.lrn, "7847767E1WB6");
    assert_eq!(d.header.total_packages.as_deref(), Some("50"));
    assert_eq!(d.header.delivery_terms.as_deref(), Some("CIF"));
    assert_eq!(d.header.delivery_place.as_deref(), Some("GBWLA"));
    assert_eq!(d.header.valuation_method.as_deref(), Some("1"));
    let ex = d.parties.iter().find(|p| p.role == "EX").expect("exporter");
    assert_eq!(ex.name.as_deref(), Some("US Clipper Inc."));
    assert_eq!(ex.address.postcode.as_deref(), Some("NY1 234"));
    let dt = d
        .parties
        .iter()
        .find(|p| p.role == "DT")
        .expect("declarant");
    assert_eq!(
        (dt.id.as_deref(), dt.id_scheme.as_deref()),
        (Some("GB603202734852"), Some("EORI"))
    );
    let ae = d.parties.iter().find(|p| p.role == "AE").expect("agent");
    assert_eq!(ae.function_code.as_deref(), Some("2"));
    assert_eq!(d.transport.border_mode.as_deref(), Some("1"));
    assert_eq!(d.transport.equipment[0].container_id, "AD12345");
    assert_eq!(d.transport.goods_location.as_deref(), Some("WLALONBTW"));
    let item = &d.items[0];
    assert_eq!(item.classification_type.as_deref(), Some("TSP"));
    assert_eq!(
        (item.gross_mass.as_deref(), item.net_mass.as_deref()),
        (Some("150"), Some("100"))
    );
    assert_eq!(
        (item.item_price.as_deref(), item.value_currency.as_deref()),
        (Some("1000"), Some("GBP"))
    );
    assert_eq!(
        (
            item.procedure.as_deref(),
            item.previous_procedure.as_deref()
        ),
        (Some("40"), Some("00"))
    );
    assert_eq!(item.additional_procedures, vec!["000".to_owned()]);
    assert_eq!(item.package_marks.as_deref(), Some("BX-1234228/34"));
    assert_eq!(item.duties.len(), 2);
    assert_eq!(item.duties[0].rate.as_deref(), Some("100"));
    assert_eq!(item.duties[0].payment_method.as_deref(), Some("E"));
    assert_eq!(item.additional_documents[1].id, "12345/19.01.2024");
    assert_eq!(d.transport.documents[1].type_code.as_deref(), Some("355"));

    // Containers are kept verbatim even though they fail ISO 6346 (spec 4).
    let ex1 = read("TT_EX001a__TT_EX001a.xml");
    assert!(
        ex1.transport
            .equipment
            .iter()
            .any(|e| e.container_id == "CONU1234567")
    );
    let ex6 = read("TT_EX006a__TT_EX006a.xml");
    assert!(
        ex6.transport
            .equipment
            .iter()
            .any(|e| e.container_id == "DHAU9384333")
    );

    // A function-13 amendment with several pointers, in the documented format.
    let cor = read("TT_IM002c__TT_IM002c_Complex_Multi_Amendment.xml");
    assert_eq!(cor.header.function_code, "13");
    assert_eq!(cor.header.type_code, "COR");
    assert_eq!(cor.amendments[0].change_reason.as_deref(), Some("28"));
    assert_eq!(cor.amendments[0].pointer, "42A:1#146");
    assert_eq!(cor.amendments[1].pointer, "42A:1/57A:2#R031");
    let inv = read("TT_IM011a__TT_IM011a_Cancellation.xml");
    assert_eq!(
        (
            inv.header.type_code.as_str(),
            inv.header.function_code.as_str()
        ),
        ("INV", "13")
    );

    // WCO date-times become ISO 8601.
    let dated = samples()
        .into_iter()
        .find_map(|(_, b)| wco_xml::read_document(&b).ok()?.draft.header.issued_at)
        .expect("a sample with IssueDateTime");
    assert!(dated.len() == 20 || dated.len() == 25, "{dated}");
    assert_eq!(&dated[4..5], "-");
}

#[test]
fn samples_round_trip_through_write_and_read() {
    for (name, bytes) in samples() {
        let draft = wco_xml::read_document(&bytes).expect("read").draft;
        let written = write(&draft);
        wco_xsd::validate_document(&written)
            .unwrap_or_else(|e| panic!("{name}: output invalid: {e}"));
        let again = wco_xml::read_document(&written)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .draft;
        assert_eq!(again, draft, "{name}");
    }
}

#[test]
fn party_scheme_round_trips_through_scheme_id() {
    let mut d = read("TT_IM001a__Step1_TT_IM001a.xml");
    let ex = d
        .parties
        .iter_mut()
        .find(|p| p.role == "EX")
        .expect("exporter");
    ex.id = Some("91-1144442".into());
    ex.id_scheme = Some("US_EIN".into());
    let dt = d
        .parties
        .iter_mut()
        .find(|p| p.role == "DT")
        .expect("declarant");
    dt.id_scheme = Some("EORI".into());
    let xml = String::from_utf8(write(&d)).expect("utf8");
    assert!(
        xml.contains("<ID schemeID=\"US_EIN\">91-1144442</ID>"),
        "{xml}"
    );
    assert!(
        xml.contains("<ID>GB603202734852</ID>"),
        "inferred schemes are not written"
    );
    assert_eq!(
        wco_xml::read_document(xml.as_bytes()).expect("read").draft,
        d
    );
    assert_eq!(wco_xml::inferred_scheme("GB553202734852"), "EORI");
    assert_eq!(wco_xml::inferred_scheme("XI553202734852"), "EORI");
    assert_eq!(wco_xml::inferred_scheme("5493001KJTIIGC8Y1R12"), "OTHER");
}

#[test]
fn unrepresentable_values_are_refused_not_dropped() {
    let base = read("TT_IM001a__Step1_TT_IM001a.xml");
    type Edit = Box<dyn Fn(&mut DeclarationDraft)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "unloading_place",
            Box::new(|d| d.transport.unloading_place = Some("GBLON".into())),
        ),
        (
            "entry_office",
            Box::new(|d| d.transport.entry_office = Some("GB000060".into())),
        ),
        (
            "role",
            Box::new(|d| {
                d.parties.push(PartyDraft {
                    role: "CB".into(),
                    ..Default::default()
                })
            }),
        ),
        (
            "outcome",
            Box::new(|d| d.outcome = Some(Default::default())),
        ),
        (
            "issued_at",
            Box::new(|d| d.header.issued_at = Some("yesterday".into())),
        ),
    ];
    for (field, change) in cases {
        let mut d = base.clone();
        change(&mut d);
        let err = wco_xml::write_document(Vec::new(), &d).expect_err(field);
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{field}");
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    let mut d = base.clone();
    d.header.lrn = "x".repeat(36);
    let err = wco_xml::write_document(Vec::new(), &d).expect_err("too long");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("FunctionalReferenceID"), "{err}");
}

// ----------------------------------------------------------------------------------------
// Errors

fn code_of(bytes: &[u8]) -> (&'static str, String) {
    let e = wco_xml::read_document(bytes).expect_err("must fail");
    (e.code, e.to_string())
}

const MINIMAL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Declaration xmlns="urn:wco:datamodel:WCO:DEC-DMS:2">
	<FunctionCode>9</FunctionCode>
	<FunctionalReferenceID>LRN-1</FunctionalReferenceID>
	<TypeCode>IMA</TypeCode>
	<GoodsItemQuantity>1</GoodsItemQuantity>
	<GoodsShipment>
		<GovernmentAgencyGoodsItem>
			<SequenceNumeric>1</SequenceNumeric>
			<Commodity><Description>Parts</Description></Commodity>
		</GovernmentAgencyGoodsItem>
	</GoodsShipment>
</Declaration>
"#;

#[test]
fn bare_declaration_with_arbitrary_prefix_reads() {
    let d = wco_xml::read_document(MINIMAL.as_bytes())
        .expect("bare")
        .draft;
    assert_eq!(d.header.lrn, "LRN-1");
    let prefixed = MINIMAL
        .replace("<Declaration xmlns=", "<dec:Declaration xmlns:dec=")
        .replace("</Declaration>", "</dec:Declaration>")
        .replace("<F", "<dec:F")
        .replace("</F", "</dec:F")
        .replace("<T", "<dec:T")
        .replace("</T", "</dec:T")
        .replace("<G", "<dec:G")
        .replace("</G", "</dec:G")
        .replace("<S", "<dec:S")
        .replace("</S", "</dec:S")
        .replace("<C", "<dec:C")
        .replace("</C", "</dec:C")
        .replace("<D", "<dec:D")
        .replace("</D", "</dec:D")
        .replace("<!-- x -->", "");
    let with_comment = prefixed.replace("<dec:TypeCode>", "<!-- DE 1/1 --><dec:TypeCode>");
    assert_eq!(
        wco_xml::read_document(with_comment.as_bytes())
            .expect("prefixed")
            .draft,
        d
    );
}

#[test]
fn malformed_truncated_and_non_utf8_inputs_have_specific_codes() {
    assert_eq!(
        code_of(b"<Declaration xmlns='urn:wco:datamodel:WCO:DEC-DMS:2'><FunctionCode>9</TypeCode>")
            .0,
        "XML_MALFORMED"
    );
    let truncated = &MINIMAL.as_bytes()[..MINIMAL.len() / 2];
    let (code, msg) = code_of(truncated);
    assert_eq!(code, "XML_MALFORMED", "{msg}");
    assert_eq!(code_of(b"").0, "XML_MALFORMED");
    assert_eq!(code_of(b"<a>&bogus;</a>").0, "XML_MALFORMED");
    assert_eq!(code_of(b"<x:a/>").0, "XML_MALFORMED");
    let mut latin1 = MINIMAL.replace("Parts", "Pi\u{e8}ces").into_bytes();
    let pos = latin1
        .windows(2)
        .position(|w| w == "\u{e8}".as_bytes())
        .expect("e-grave");
    latin1.splice(pos..pos + 2, [0xE8]);
    let e = wco_xml::read_document(&latin1).expect_err("latin-1");
    assert_eq!((e.code, e.locator.line), ("XML_NOT_UTF8", 10));
    let declared = MINIMAL.replace("UTF-8", "ISO-8859-1");
    assert_eq!(code_of(declared.as_bytes()).0, "XML_NOT_UTF8");
    assert_eq!(code_of(&[0xFF, 0xFE, b'<', 0]).0, "XML_NOT_UTF8");
}

#[test]
fn wrong_root_or_namespace_is_not_wco() {
    assert_eq!(code_of(b"<Invoice/>").0, "XML_NOT_WCO");
    let wrong_ns = MINIMAL.replace("DEC-DMS:2", "DEC-DMS:3");
    assert_eq!(code_of(wrong_ns.as_bytes()).0, "XML_NOT_WCO");
    let wrong_md = String::from_utf8(sample("TT_IM001a__Step1_TT_IM001a.xml"))
        .expect("utf8")
        .replace("DocumentMetaData-DMS:2", "DocumentMetaData-DMS:9");
    assert_eq!(code_of(wrong_md.as_bytes()).0, "XML_NOT_WCO");
}

#[test]
fn oversized_input_is_too_large() {
    let big = vec![b' '; wco_xml::MAX_DOCUMENT_BYTES + 1];
    assert_eq!(code_of(&big).0, "XML_TOO_LARGE");
    let records: Vec<_> = wco_xml::reader(std::io::repeat(b' ')).collect();
    assert_eq!(
        records[0].as_ref().expect_err("too large").code,
        "XML_TOO_LARGE"
    );
}

/// Edits the first sample and expects a schema violation naming `field` and `rule`.
fn assert_violation(edit: impl Fn(String) -> String, field: &str, rule: &str) {
    let xml = edit(String::from_utf8(sample("TT_IM001a__Step1_TT_IM001a.xml")).expect("utf8"));
    let e = wco_xml::read_document(xml.as_bytes()).expect_err("must violate the schema");
    assert_eq!(e.code, "XML_SCHEMA_VIOLATION", "{e}");
    assert_eq!(e.field.as_deref(), Some(field), "{e}");
    assert!(e.rule.contains(rule), "{e}");
    assert!(e.locator.line > 1, "{e}");
}

#[test]
fn schema_violations_name_the_path_and_rule() {
    const D: &str = "/MetaData/Declaration";
    assert_violation(
        |s| {
            s.replace(
                "<TypeCode>IMA</TypeCode>",
                "<TypeCode>IMA</TypeCode><Bogus>1</Bogus>",
            )
        },
        &format!("{D}/Bogus"),
        "unexpected element Bogus",
    );
    assert_violation(
        |s| s.replace("<FunctionCode>9</FunctionCode>", ""),
        D,
        "missing required element FunctionCode",
    );
    assert_violation(
        |s| {
            s.replace(
                "<FunctionCode>9</FunctionCode>",
                "<FunctionCode>7</FunctionCode>",
            )
        },
        &format!("{D}/FunctionCode"),
        "not one of the allowed values 9, 13, 14",
    );
    assert_violation(
        |s| {
            s.replace(
                "<GoodsItemQuantity>1</GoodsItemQuantity>",
                "<GoodsItemQuantity>1.5</GoodsItemQuantity>",
            )
        },
        &format!("{D}/GoodsItemQuantity"),
        "fractionDigits 0",
    );
    assert_violation(
        |s| {
            s.replace(
                "<FunctionalReferenceID>7847767E1WB6<",
                &format!("<FunctionalReferenceID>{}<", "A".repeat(36)),
            )
        },
        &format!("{D}/FunctionalReferenceID"),
        "maxLength 35",
    );
    assert_violation(
        |s| {
            s.replace(
                "<RegistrationNationalityCode>US<",
                "<RegistrationNationalityCode>U1<",
            )
        },
        &format!("{D}/BorderTransportMeans/RegistrationNationalityCode"),
        "does not match pattern ([a-zA-Z])*",
    );
    assert_violation(
        |s| {
            s.replace(
                "<TypeCode>IMA</TypeCode>\n\t\t<!--DE 1/9",
                "<TypeCode>IMA</TypeCode><TypeCode>IMA</TypeCode>\n\t\t<!--DE 1/9",
            )
        },
        &format!("{D}/TypeCode[2]"),
        "too many occurrences of element TypeCode (at most 1)",
    );
    assert_violation(
        |s| {
            s.replace("<FunctionCode>9</FunctionCode>", "").replace(
                "<TypeCode>IMA</TypeCode>",
                "<TypeCode>IMA</TypeCode><FunctionCode>9</FunctionCode>",
            )
        },
        D,
        "wrong order: element FunctionCode must come before FunctionalReferenceID",
    );
    assert_violation(
        |s| s.replace("currencyID=\"GBP\"", "currencyID=\"gbp\""),
        &format!(
            "{D}/GoodsShipment/GovernmentAgencyGoodsItem/Commodity/InvoiceLine/ItemChargeAmount/@currencyID"
        ),
        "does not match pattern [A-Z]{3}",
    );
    assert_violation(
        |s| {
            s.replace(
                "<ItemChargeAmount currencyID=\"GBP\">1000<",
                "<ItemChargeAmount unit=\"x\">1000<",
            )
        },
        &format!(
            "{D}/GoodsShipment/GovernmentAgencyGoodsItem/Commodity/InvoiceLine/ItemChargeAmount/@unit"
        ),
        "attribute unit is not allowed",
    );
    assert_violation(
        |s| s.replace("<GrossMassMeasure>150<", "<GrossMassMeasure>heavy<"),
        &format!(
            "{D}/GoodsShipment/GovernmentAgencyGoodsItem/Commodity/GoodsMeasure/GrossMassMeasure"
        ),
        "not a decimal number",
    );
    assert_violation(
        |s| s.replace("<Line>1 Shaver Street</Line>", "<Line>   </Line>"),
        &format!("{D}/Exporter/Address/Line"),
        "does not match pattern .*[^\\s].*",
    );
    assert_violation(
        |s| {
            s.replace(
                "<SequenceNumeric>1</SequenceNumeric>\n\t\t\t\t<!--DE 2/3",
                "<!--DE 2/3",
            )
        },
        &format!("{D}/GoodsShipment/GovernmentAgencyGoodsItem"),
        "missing required element SequenceNumeric",
    );
    assert_violation(
        |s| {
            s.replace(
            "<md:AgencyAssignedCustomizationVersionCode>v2.1</md:AgencyAssignedCustomizationVersionCode>",
            "<md:AgencyAssignedCustomizationVersionCode>v2.1</md:AgencyAssignedCustomizationVersionCode><md:WCOTypeName>DEC</md:WCOTypeName>",
        )
        },
        "/MetaData/WCOTypeName[2]",
        "unexpected element WCOTypeName",
    );
}

// ----------------------------------------------------------------------------------------
// The DE comments of the samples against the mapping table

/// Draft values the element after a `DE x/y:` comment must contain, per mapping table.
fn expected_for(de: &str, d: &DeclarationDraft) -> Option<Vec<String>> {
    let items = |f: fn(&GoodsItemDraft) -> Option<&String>| -> Vec<String> {
        d.items.iter().filter_map(|i| f(i).cloned()).collect()
    };
    let party_id = |role: &str| {
        d.parties
            .iter()
            .filter(|p| p.role == role)
            .filter_map(|p| p.id.clone())
            .collect()
    };
    let h = &d.header;
    let t = &d.transport;
    Some(match de {
        "2/5" => vec![h.lrn.clone()],
        "1/1" | "1/2" => vec![h.type_code.clone()],
        "1/9" => h.goods_item_count.iter().cloned().collect(),
        "6/18" => h.total_packages.iter().cloned().collect(),
        "6/14" => items(|i| i.commodity_code.as_ref()),
        "6/8" => items(|i| i.description.as_ref()),
        "6/5" => items(|i| i.gross_mass.as_ref()),
        "6/1" => items(|i| i.net_mass.as_ref()),
        "6/10" => items(|i| i.packages_count.as_ref()),
        "6/9" => items(|i| i.package_kind.as_ref()),
        "6/11" => items(|i| i.package_marks.as_ref()),
        "4/14" => items(|i| i.item_price.as_ref()),
        "5/15" => items(|i| i.origin_country.as_ref()),
        "1/10" => {
            let mut v = items(|i| i.procedure.as_ref());
            v.extend(items(|i| i.previous_procedure.as_ref()));
            v
        }
        "3/2" => party_id("EX"),
        "3/16" => party_id("IM"),
        "3/18" => party_id("DT"),
        "7/4" => t.border_mode.iter().cloned().collect(),
        "7/10" => t.equipment.iter().map(|e| e.container_id.clone()).collect(),
        "7/2" => t.container_indicator.iter().cloned().collect(),
        "5/8" => {
            let mut v: Vec<String> = t.destination_country.iter().cloned().collect();
            v.extend(items(|_| None));
            v
        }
        "5/14" => t.dispatch_country.iter().cloned().collect(),
        "4/16" => h.valuation_method.iter().cloned().collect(),
        _ => return None,
    })
}

fn de_numbers(comment: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = comment;
    while let Some(i) = rest.find("DE ") {
        rest = &rest[i + 3..];
        let num: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '/')
            .collect();
        if rest[num.len()..].starts_with(':') && num.contains('/') {
            out.push(num);
        }
    }
    out
}

#[test]
fn sample_de_comments_agree_with_the_mapping_table() {
    use quick_xml::Reader;
    use quick_xml::events::Event;

    let mut checked: HashMap<String, usize> = HashMap::new();
    let mut failures = Vec::new();
    for (name, bytes) in samples() {
        let draft = wco_xml::read_document(&bytes).expect("read").draft;
        let mut reader = Reader::from_reader(bytes.as_slice());
        // Open elements: (name, DE numbers announced for it, leaf texts inside it).
        let mut stack: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
        let mut pending: Vec<String> = Vec::new();
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf).expect("xml") {
                Event::Comment(c) => pending.extend(de_numbers(&String::from_utf8_lossy(&c))),
                Event::Start(s) => {
                    let n = String::from_utf8_lossy(s.local_name().as_ref()).into_owned();
                    if n == "SequenceNumeric" {
                        // A comment just inside a block (before its sequence number, which
                        // is bookkeeping, not a DE) describes the enclosing block.
                        if let Some(parent) = stack.last_mut() {
                            parent.1.append(&mut pending);
                        }
                    }
                    stack.push((n, std::mem::take(&mut pending), Vec::new()));
                }
                Event::Text(t) => {
                    let v = String::from_utf8_lossy(&t).trim().to_owned();
                    if let (Some(top), false) = (stack.last_mut(), v.is_empty()) {
                        top.2.push(v);
                    }
                }
                Event::GeneralRef(_) => {}
                Event::End(_) => {
                    pending.clear();
                    let (el, des, texts) = stack.pop().expect("balanced");
                    for de in des {
                        let Some(expected) = expected_for(&de, &draft) else {
                            continue;
                        };
                        *checked.entry(de.clone()).or_default() += 1;
                        if !texts.iter().any(|t| expected.contains(t)) {
                            failures.push(format!(
                                "{name}: DE {de} on <{el}> {texts:?}, draft has {expected:?}"
                            ));
                        }
                    }
                    if let Some(parent) = stack.last_mut() {
                        parent.2.extend(texts);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    for de in [
        "2/5", "1/1", "1/9", "6/14", "3/2", "6/8", "5/8", "5/14", "5/15", "7/10", "1/10",
    ] {
        assert!(
            checked.get(de).copied().unwrap_or(0) > 0,
            "DE {de} never checked: {checked:?}"
        );
    }
}

// ----------------------------------------------------------------------------------------
// Property: any representable draft survives write → read

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-zA-Z0-9а-яА-ЯёЁ<>&\"' ,./-]{{1,{max}}}"))
        .expect("regex")
        .prop_filter("needs a non-space character", |s| {
            s.chars().any(|c| c != ' ')
        })
}

fn tok(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Z0-9]{{1,{max}}}")).expect("regex")
}

fn dec() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[0-9]{1,6}(\\.[0-9]{1,3})?").expect("regex")
}

fn country() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Z]{2}").expect("regex")
}

fn currency() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Z]{3}").expect("regex")
}

fn party(role: &'static str) -> impl Strategy<Value = PartyDraft> {
    (
        prop_oneof![
            proptest::string::string_regex("GB[0-9]{12}")
                .expect("regex")
                .prop_map(Some),
            text(17).prop_map(Some),
            Just(None)
        ],
        prop_oneof![
            Just("EORI"),
            Just("OTHER"),
            Just("US_EIN"),
            Just("LEI"),
            Just("UZ_STIR")
        ],
        proptest::option::of(text(70)),
        proptest::option::of(text(70)),
        proptest::option::of(text(35)),
        proptest::option::of(text(9)),
        proptest::option::of(country()),
        proptest::option::of(tok(9)),
        proptest::option::of(prop_oneof![Just("2".to_owned()), Just("3".to_owned())]),
    )
        .prop_map(
            move |(id, scheme, name, line, city, postcode, country, subdivision, function)| {
                PartyDraft {
                    role: role.to_owned(),
                    id_scheme: id.as_ref().map(|_| scheme.to_owned()),
                    id,
                    name,
                    address: AddressDraft {
                        line,
                        city,
                        postcode,
                        country,
                        subdivision,
                    },
                    function_code: if role == "AE" { function } else { None },
                }
            },
        )
}

fn document() -> impl Strategy<Value = DocumentDraft> {
    (
        text(70),
        proptest::option::of(tok(3)),
        proptest::option::of(tok(3)),
    )
        .prop_map(|(id, type_code, category)| DocumentDraft {
            id,
            type_code,
            category,
        })
}

fn item() -> impl Strategy<Value = GoodsItemDraft> {
    (
        (
            proptest::option::of(proptest::string::string_regex("[0-9]{6,10}").expect("regex")),
            proptest::option::of(prop_oneof![Just("TSP".to_owned()), Just("GN".to_owned())]),
            proptest::option::of(text(512)),
            proptest::option::of(country()),
            proptest::option::of(prop_oneof![Just("1".to_owned()), Just("2".to_owned())]),
            proptest::option::of(dec()),
            proptest::option::of(dec()),
            proptest::option::of((dec(), proptest::option::of(tok(5)))),
        ),
        (
            proptest::option::of(proptest::string::string_regex("[0-9]{1,8}").expect("regex")),
            proptest::option::of(tok(2)),
            proptest::option::of(text(512)),
            proptest::option::of(dec()),
            proptest::option::of(dec()),
            proptest::option::of(currency()),
            proptest::option::of(tok(7)),
            proptest::option::of(tok(7)),
        ),
        (
            proptest::collection::vec(tok(3), 0..3),
            proptest::collection::vec(
                (
                    tok(3),
                    proptest::option::of(dec()),
                    proptest::option::of(tok(3)),
                    proptest::option::of(currency()),
                    proptest::option::of(proptest::string::string_regex("[A-Z]").expect("regex")),
                ),
                0..3,
            ),
            proptest::collection::vec(document(), 0..3),
            proptest::collection::vec(document(), 0..3),
            proptest::option::of(proptest::string::string_regex("[0-9]{4}").expect("regex")),
            proptest::option::of(proptest::string::string_regex("[0-9]{1,2}").expect("regex")),
        ),
    )
        .prop_map(|(a, b, c)| {
            let (
                commodity_code,
                classification_type,
                description,
                origin_country,
                origin_type,
                gross_mass,
                net_mass,
                qty,
            ) = a;
            let (
                packages_count,
                package_kind,
                package_marks,
                item_price,
                statistical_value,
                cur,
                procedure,
                previous_procedure,
            ) = b;
            let (
                additional_procedures,
                duties,
                previous_documents,
                additional_documents,
                un,
                nature,
            ) = c;
            let has_amount = item_price.is_some() || statistical_value.is_some();
            GoodsItemDraft {
                sequence: String::new(),
                commodity_code,
                classification_type,
                description,
                origin_country,
                origin_type,
                gross_mass,
                net_mass,
                quantity: qty.as_ref().map(|q| q.0.clone()),
                quantity_unit: qty.and_then(|q| q.1),
                packages_count,
                package_kind,
                package_marks,
                item_price,
                customs_value: None,
                statistical_value,
                value_currency: cur.filter(|_| has_amount),
                procedure,
                previous_procedure,
                additional_procedures,
                duties: duties
                    .into_iter()
                    .map(|(tax_type, base, rate, currency, method)| DutyDraft {
                        tax_type,
                        currency: currency.filter(|_| base.is_some()),
                        base,
                        rate,
                        assessed: None,
                        payment_method: method,
                    })
                    .collect(),
                previous_documents,
                additional_documents,
                un_dangerous_goods: un,
                nature_of_transaction: nature,
            }
        })
}

fn draft() -> impl Strategy<Value = DeclarationDraft> {
    let roles = ["AE", "CA", "DT", "EX", "BY", "CN", "CZ", "IM", "SE"];
    (
        (
            tok(3),
            prop_oneof![Just("9"), Just("13"), Just("14")],
            text(35),
            proptest::option::of(text(70)),
            proptest::option::of(prop_oneof![
                Just("2024-01-25".to_owned()),
                Just("2024-01-25T09:46:43Z".to_owned()),
                Just("2025-07-31T11:22:00+01:00".to_owned()),
                Just("2023-02-28T23:59:59-05:00".to_owned()),
            ]),
            proptest::option::of((dec(), proptest::option::of(currency()))),
            proptest::option::of(text(35)),
            proptest::option::of(tok(3)),
        ),
        (
            roles.map(|r| proptest::option::of(party(r))),
            proptest::collection::vec(item(), 0..4),
            proptest::collection::vec(
                (
                    proptest::option::of(tok(3)),
                    proptest::collection::vec(
                        proptest::string::string_regex("[0-9]{2}A(:[0-9]{1,2})?(#[A-Z0-9]{1,4})?")
                            .expect("regex"),
                        0..3,
                    ),
                ),
                0..3,
            ),
        ),
        (
            proptest::option::of(prop_oneof![Just("0".to_owned()), Just("1".to_owned())]),
            proptest::collection::vec((text(17), proptest::collection::vec(text(35), 0..3)), 0..3),
            proptest::option::of(proptest::string::string_regex("[0-9]").expect("regex")),
            proptest::option::of(text(35)),
            proptest::option::of(country()),
            proptest::option::of(text(35)),
            proptest::collection::vec(country(), 0..3),
            proptest::collection::vec(document(), 0..3),
            proptest::option::of(text(17)),
            proptest::option::of(country()),
            proptest::option::of(proptest::string::string_regex("[0-9]").expect("regex")),
        ),
    )
        .prop_map(|(h, p, t)| {
            let (
                type_code,
                function_code,
                lrn,
                mrn,
                issued_at,
                invoice,
                ucr,
                freight_payment_method,
            ) = h;
            let (parties, mut items, amendments) = p;
            let (
                container,
                equipment,
                border_mode,
                border_id,
                nationality,
                departure,
                routing,
                documents,
                loading,
                dest,
                inland,
            ) = t;
            for (i, item) in items.iter_mut().enumerate() {
                item.sequence = (i + 1).to_string();
            }
            DeclarationDraft {
                header: HeaderDraft {
                    type_code,
                    function_code: function_code.to_owned(),
                    lrn,
                    mrn,
                    issued_at,
                    goods_item_count: Some(items.len().to_string()),
                    invoice_total: invoice.as_ref().map(|i| i.0.clone()),
                    invoice_currency: invoice.and_then(|i| i.1),
                    ucr,
                    freight_payment_method,
                    valuation_method: if items.is_empty() {
                        None
                    } else {
                        Some("1".into())
                    },
                    ..HeaderDraft::default()
                },
                parties: parties.into_iter().flatten().collect(),
                transport: TransportDraft {
                    container_indicator: container,
                    equipment: equipment
                        .into_iter()
                        .map(|(container_id, seals)| EquipmentDraft {
                            container_id,
                            seals,
                        })
                        .collect(),
                    border_mode,
                    border_means_id: border_id,
                    border_means_nationality: nationality,
                    departure_means_id: departure,
                    inland_mode: inland,
                    routing_countries: routing,
                    documents,
                    loading_place: loading,
                    destination_country: dest,
                    ..TransportDraft::default()
                },
                items,
                outcome: None,
                amendments: amendments
                    .into_iter()
                    .map(|(change_reason, segs)| AmendmentDraft {
                        change_reason,
                        pointer: segs.join("/"),
                    })
                    .collect(),
            }
        })
}

#[test]
fn generated_drafts_round_trip() {
    // The strategy's value tree is deep; give it a stack that debug builds can live with.
    let run = || {
        let config = ProptestConfig {
            cases: 64,
            ..ProptestConfig::default()
        };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        runner
            .run(&draft(), |d| {
                let mut out = Vec::new();
                wco_xml::write_document(&mut out, &d)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back =
                    wco_xml::read_document(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back.draft, d);
                Ok(())
            })
            .map_err(|e| e.to_string())
    };
    let result = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(run)
        .expect("thread")
        .join();
    result.expect("no panic").expect("round trip");
}

#[test]
fn special_characters_and_cyrillic_survive() {
    let mut d = read("TT_IM001a__Step1_TT_IM001a.xml");
    let ex = d
        .parties
        .iter_mut()
        .find(|p| p.role == "EX")
        .expect("exporter");
    ex.name = Some("ООО «Ташкент» <A&B> \"q\" 'a'".into());
    d.items[0].description = Some(" leading & trailing spaces kept ".into());
    let xml = write(&d);
    assert!(String::from_utf8_lossy(&xml).contains("&lt;A&amp;B&gt;"));
    assert_eq!(wco_xml::read_document(&xml).expect("read").draft, d);
}
