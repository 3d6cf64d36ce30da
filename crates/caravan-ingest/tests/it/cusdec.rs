//! CUSDEC: hand-written twins of HMRC samples, round trips, and one test per error code.

use std::io::{BufReader, Read};

use caravan_domain::declaration::draft::{
    AddressDraft, AmendmentDraft, DeclarationDraft, DocumentDraft, DutyDraft, EquipmentDraft,
    GoodsItemDraft, HeaderDraft, PartyDraft, TransportDraft,
};
use caravan_ingest::error::{SourceRecord, SyntaxError};
use caravan_ingest::format::cusdec::{self, CusdecWriter, Envelope};
use proptest::prelude::*;

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

fn read_all(bytes: &[u8]) -> Result<Vec<SourceRecord>, SyntaxError> {
    cusdec::reader(bytes).collect()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/cusdec/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

fn only_draft(bytes: &[u8]) -> DeclarationDraft {
    let mut records = read_all(bytes).unwrap();
    assert_eq!(records.len(), 1);
    records.remove(0).draft
}

fn doc(type_code: &str, category: &str, id: &str) -> DocumentDraft {
    DocumentDraft {
        id: id.to_owned(),
        type_code: s(type_code),
        category: s(category),
    }
}

fn party(role: &str, id: Option<&str>, name: Option<&str>, address: AddressDraft) -> PartyDraft {
    PartyDraft {
        role: role.to_owned(),
        // HMRC identifiers are EORIs; the twins say so in NAD C082/3055.
        id_scheme: id.map(|_| "EORI".to_owned()),
        id: id.map(str::to_owned),
        name: name.map(str::to_owned),
        address,
        ..PartyDraft::default()
    }
}

fn address(line: &str, city: &str, postcode: &str, country: &str) -> AddressDraft {
    AddressDraft {
        line: s(line),
        city: s(city),
        postcode: s(postcode),
        country: s(country),
        subdivision: None,
    }
}

fn uk_duties() -> Vec<DutyDraft> {
    vec![
        DutyDraft {
            tax_type: "A00".into(),
            rate: s("100"),
            payment_method: s("E"),
            ..DutyDraft::default()
        },
        DutyDraft {
            tax_type: "B00".into(),
            payment_method: s("E"),
            ..DutyDraft::default()
        },
    ]
}

#[allow(clippy::too_many_arguments)]
fn import_item(
    seq: &str,
    code: &str,
    description: &str,
    origin: &str,
    (gross, net, qty): (&str, &str, Option<&str>),
    (packages, marks): (&str, &str),
    price: &str,
    previous: &str,
    additional: Vec<DocumentDraft>,
) -> GoodsItemDraft {
    GoodsItemDraft {
        sequence: seq.into(),
        commodity_code: s(code),
        classification_type: s("TSP"),
        description: s(description),
        origin_country: s(origin),
        origin_type: s("1"),
        gross_mass: s(gross),
        net_mass: s(net),
        quantity: qty.map(str::to_owned),
        packages_count: s(packages),
        package_kind: s("BX"),
        package_marks: s(marks),
        item_price: s(price),
        value_currency: s("GBP"),
        procedure: s("40"),
        previous_procedure: s("00"),
        additional_procedures: vec!["000".into()],
        duties: uk_duties(),
        previous_documents: vec![doc("355", "Z", previous)],
        additional_documents: additional,
        ..GoodsItemDraft::default()
    }
}

/// TT_IM001d: frontier H1 import of shaver parts, shavers and hair clippers.
fn expected_im001d() -> DeclarationDraft {
    let docs = || {
        vec![
            doc("506", "C", "GBDPO1108654"),
            doc("935", "N", "12345/19.01.2021"),
            doc("505", "C", "GBCGUGuaranteenotrequired"),
        ]
    };
    let prev = "21GB34F7Y1O2CX8PT4";
    DeclarationDraft {
        header: HeaderDraft {
            type_code: "IMA".into(),
            function_code: "9".into(),
            lrn: "TT_IM01d_v1.6_230322_1".into(),
            goods_item_count: s("3"),
            total_packages: s("80"),
            delivery_terms: s("CIF"),
            delivery_place: s("GBWLA"),
            valuation_method: s("1"),
            nature_of_transaction: s("1"),
            ..HeaderDraft::default()
        },
        parties: vec![
            PartyDraft {
                role: "AE".into(),
                function_code: s("2"),
                ..PartyDraft::default()
            },
            party("DT", Some("GB603202734852"), None, AddressDraft::default()),
            party(
                "EX",
                None,
                Some("US Clipper Inc."),
                address("1 Shaver Street", "New York", "NY1 234", "US"),
            ),
            party("IM", Some("GB553202734852"), None, AddressDraft::default()),
        ],
        transport: TransportDraft {
            container_indicator: s("1"),
            equipment: vec![EquipmentDraft {
                container_id: "AD12345".into(),
                seals: vec![],
            }],
            border_mode: s("1"),
            border_means_nationality: s("US"),
            arrival_means_id: s("12345"),
            arrival_means_type: s("10"),
            documents: vec![doc("DCR", "Z", "1GB553202734852-12345")],
            goods_location: s("WLALONBTW"),
            dispatch_country: s("US"),
            destination_country: s("GB"),
            ..TransportDraft::default()
        },
        items: vec![
            import_item(
                "1",
                "85109000",
                "Parts for shavers and hair clippers",
                "US",
                ("150", "100", None),
                ("50", "BX-1234228/34"),
                "1000",
                prev,
                docs(),
            ),
            import_item(
                "2",
                "85101000",
                "Shavers",
                "US",
                ("15", "10", Some("10")),
                ("15", "BX-1234228/35"),
                "100",
                prev,
                docs(),
            ),
            import_item(
                "3",
                "85102000",
                "Hair clippers",
                "US",
                ("15", "10", Some("10")),
                ("15", "BX-1234228/36"),
                "100",
                prev,
                docs(),
            ),
        ],
        outcome: None,
        amendments: vec![],
    }
}

/// TT_EX001a: pre-lodged maritime export of straw envelopes to the US.
fn expected_ex001a() -> DeclarationDraft {
    DeclarationDraft {
        header: HeaderDraft {
            type_code: "EXD".into(),
            function_code: "9".into(),
            lrn: "U.7847323YIPYA".into(),
            goods_item_count: s("1"),
            total_packages: s("10"),
            freight_payment_method: s("D"),
            ..HeaderDraft::default()
        },
        parties: vec![
            party("CA", Some("GB025115100010"), None, AddressDraft::default()),
            party("DT", Some("GB427168118378"), None, AddressDraft::default()),
            party("EX", Some("GB427168118378"), None, AddressDraft::default()),
            party(
                "CN",
                None,
                Some("Packings Import Incorporated"),
                address("1 Bags Avenue", "New York", "NY1 234", "US"),
            ),
        ],
        transport: TransportDraft {
            container_indicator: s("1"),
            equipment: vec![EquipmentDraft {
                container_id: "CONU1234567".into(),
                seals: vec!["333".into()],
            }],
            border_mode: s("1"),
            border_means_id: s("CSCLGLOBE"),
            border_means_type: s("11"),
            border_means_nationality: s("GB"),
            departure_means_id: s("CSCLGLOBE"),
            documents: vec![
                doc("DCR", "Z", "5GB348579783333-AVCVSC"),
                doc("MCR", "Z", "GB/AIGI-SULE72WT1Q4CE5O20WJ7LTCAL"),
            ],
            goods_location: s("DVRDOVDVR"),
            dispatch_country: s("GB"),
            destination_country: s("US"),
            routing_countries: vec!["GB".into(), "CA".into(), "US".into()],
            exit_office: s("GB000040"),
            ..TransportDraft::default()
        },
        items: vec![GoodsItemDraft {
            sequence: "1".into(),
            commodity_code: s("46021910"),
            classification_type: s("TSP"),
            description: s("Straw envelopes for bottles, made of certified straw in wraps of 1000"),
            gross_mass: s("10"),
            net_mass: s("5"),
            packages_count: s("10"),
            package_kind: s("PK"),
            package_marks: s("2379261ETT"),
            statistical_value: s("200"),
            value_currency: s("GBP"),
            procedure: s("10"),
            previous_procedure: s("40"),
            additional_procedures: vec!["000".into()],
            nature_of_transaction: s("11"),
            ..GoodsItemDraft::default()
        }],
        outcome: None,
        amendments: vec![],
    }
}

/// TT_IM017b: two items of different origins (CN, US).
fn expected_im017b() -> DeclarationDraft {
    let mut first = import_item(
        "1",
        "93062100",
        "Shotgun cartridges and parts thereof; air gun pellets",
        "CN",
        ("110", "100", Some("4")),
        ("200", "ADRN123456123"),
        "3000",
        "21GB34F7Y1O2CX8PT4",
        vec![
            doc("100", "9", "GBOIL1234567F"),
            doc("044", "9", "1233827"),
            doc("505", "C", "GBCGU3827"),
            doc("506", "C", "GBDPO1229026"),
            doc("935", "N", "12345/01.02.2021"),
        ],
    );
    first.nature_of_transaction = s("1");
    let second = import_item(
        "2",
        "85101000",
        "ttimportdocblocking",
        "US",
        ("15", "10", Some("10")),
        ("15", "BX-1234228/35"),
        "100",
        "26GB34F7Y1O2CX8PT4",
        vec![
            doc("506", "C", "GBDPO1229026"),
            doc("935", "N", "12345/19.02.2021"),
            doc("505", "C", "GBCGU3827"),
        ],
    );
    DeclarationDraft {
        header: HeaderDraft {
            type_code: "IMA".into(),
            function_code: "9".into(),
            lrn: "U.7849431MX2QF".into(),
            goods_item_count: s("2"),
            total_packages: s("215"),
            invoice_total: s("3100"),
            invoice_currency: s("GBP"),
            delivery_terms: s("CIF"),
            delivery_place: s("GBWLA"),
            valuation_method: s("1"),
            nature_of_transaction: s("1"),
            ..HeaderDraft::default()
        },
        parties: vec![
            party("DT", Some("GB896458895015"), None, AddressDraft::default()),
            party(
                "EX",
                None,
                Some("Shotguns incorporated"),
                address("1 Trade Street", "Shenzhen", "SC1 234", "CN"),
            ),
            party("IM", Some("GB896458895015"), None, AddressDraft::default()),
        ],
        transport: TransportDraft {
            container_indicator: s("1"),
            equipment: vec![EquipmentDraft {
                container_id: "AD12345".into(),
                seals: vec![],
            }],
            border_mode: s("1"),
            border_means_nationality: s("CN"),
            arrival_means_id: s("12345"),
            arrival_means_type: s("10"),
            documents: vec![doc("DCR", "Z", "6GB150454489082-12345")],
            goods_location: s("WLALONBTW"),
            dispatch_country: s("CN"),
            destination_country: s("GB"),
            ..TransportDraft::default()
        },
        items: vec![first, second],
        outcome: None,
        amendments: vec![],
    }
}

#[test]
fn im001d_twin_parses_to_the_expected_draft() {
    let records = read_all(&fixture("IM001d.edi")).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].locator.line, 2,
        "UNH is the second segment after UNB"
    );
    assert_eq!(records[0].locator.record, 1);
    assert_eq!(records[0].draft, expected_im001d());
}

#[test]
fn ex001a_twin_parses_to_the_expected_draft() {
    assert_eq!(only_draft(&fixture("EX001a.edi")), expected_ex001a());
}

#[test]
fn im017b_twin_parses_to_the_expected_draft() {
    assert_eq!(only_draft(&fixture("IM017b.edi")), expected_im017b());
}

#[test]
fn twins_survive_a_write_and_read() {
    let drafts = [expected_im001d(), expected_ex001a(), expected_im017b()];
    let mut out = Vec::new();
    cusdec::write_interchange(&mut out, "GBHMRC", "UZCUST", "RT1", &drafts).unwrap();
    let back: Vec<_> = read_all(&out)
        .unwrap()
        .into_iter()
        .map(|r| r.draft)
        .collect();
    assert_eq!(back, drafts);
}

/// A declaration that fills every slot the mapping has, with hostile text.
fn rich_draft() -> DeclarationDraft {
    let item = GoodsItemDraft {
        sequence: "1".into(),
        commodity_code: s("8510900000"),
        classification_type: s("TSP"),
        description: s(&format!("Запчасти: ножи+сетки 'OEM'? {}", "x".repeat(400))),
        origin_country: s("UZ"),
        origin_type: s("2"),
        gross_mass: s("12.5"),
        net_mass: s("10.25"),
        quantity: s("3"),
        quantity_unit: s("NAR"),
        packages_count: s("2"),
        package_kind: s("CT"),
        package_marks: s("A+B: 1/2 'fragile'"),
        item_price: s("1000.50"),
        customs_value: s("1100"),
        statistical_value: s("1200"),
        value_currency: s("USD"),
        procedure: s("4000"),
        previous_procedure: s("00"),
        additional_procedures: vec!["000".into(), "C07".into()],
        duties: vec![DutyDraft {
            tax_type: "A00".into(),
            base: s("1100"),
            rate: s("100"),
            assessed: s("44.00"),
            currency: s("GBP"),
            payment_method: s("E"),
        }],
        previous_documents: vec![doc("355", "Z", "21GB34F7Y1O2CX8PT4")],
        additional_documents: vec![doc("935", "N", "INV/2024:1")],
        un_dangerous_goods: s("1263"),
        nature_of_transaction: s("11"),
    };
    let mut item2 = item.clone();
    item2.sequence = "2".into();
    item2.description = s("Ўзбекча тавсиф");
    DeclarationDraft {
        header: HeaderDraft {
            type_code: "IMA".into(),
            function_code: "9".into(),
            lrn: "LRN?+:'*1".into(),
            mrn: s("24UZ0000000000001"),
            issued_at: s("2024-05-01T10:00:00+05:00"),
            place_of_issue: s("UZTAS"),
            accepted_at: s("2024-05-02"),
            declaration_office: s("UZ26001"),
            goods_item_count: s("2"),
            total_packages: s("4"),
            total_gross_mass: s("25"),
            invoice_total: s("2001"),
            invoice_currency: s("USD"),
            ucr: s("4UZ306180825-1"),
            delivery_terms: s("FCA"),
            delivery_place: s("USNYC"),
            valuation_method: s("1"),
            nature_of_transaction: s("11"),
            freight_charge: s("150"),
            freight_currency: s("EUR"),
            freight_payment_method: s("A"),
        },
        parties: vec![
            PartyDraft {
                role: "IM".into(),
                id_scheme: s("UZ_STIR"),
                id: s("306180825"),
                name: s(&format!(
                    "ООО «Тошкент Савдо» — O'Brien & A+B: Ltd {}",
                    "я".repeat(200)
                )),
                address: AddressDraft {
                    line: s("Амир Темур кўчаси 1, 'B' блок"),
                    city: s("Тошкент"),
                    postcode: s("100000"),
                    country: s("UZ"),
                    subdivision: s("UZ-TO"),
                },
                function_code: None,
            },
            PartyDraft {
                role: "AE".into(),
                id_scheme: s("EORI"),
                id: s("GB553202734852"),
                name: s("Broker?"),
                function_code: s("3"),
                ..PartyDraft::default()
            },
            PartyDraft {
                role: "EX".into(),
                id_scheme: s("US_EIN"),
                id: s("91-1144442"),
                ..PartyDraft::default()
            },
        ],
        transport: TransportDraft {
            container_indicator: s("1"),
            equipment: vec![
                EquipmentDraft {
                    container_id: "CSQU3054383".into(),
                    seals: vec!["S1".into(), "S:2".into()],
                },
                EquipmentDraft {
                    container_id: "MSKU6011672".into(),
                    seals: vec![],
                },
            ],
            border_mode: s("4"),
            inland_mode: s("3"),
            border_means_id: s("HY 123"),
            border_means_type: s("40"),
            border_means_nationality: s("UZ"),
            arrival_means_id: s("HY123"),
            arrival_means_type: s("41"),
            departure_means_id: s("TRUCK-01"),
            documents: vec![
                doc("740", "N", "123-12345675"),
                DocumentDraft {
                    id: "MAEU1234".into(),
                    type_code: s("705"),
                    category: None,
                },
            ],
            goods_location: s("UZTASAIR"),
            loading_place: s("USJFK"),
            unloading_place: s("UZTAS"),
            dispatch_country: s("US"),
            destination_country: s("UZ"),
            routing_countries: vec!["US".into(), "KZ".into(), "UZ".into()],
            entry_office: s("UZ26002"),
            exit_office: s("US4701"),
            supervising_office: s("UZ26003"),
            presentation_office: s("UZ26004"),
            departure_date: s("2024-04-30"),
            arrival_date: s("2024-05-01"),
        },
        items: vec![item, item2],
        outcome: None,
        amendments: vec![AmendmentDraft {
            change_reason: s("37"),
            pointer: "42A/67A/68A:1/114".into(),
        }],
    }
}

#[test]
fn rich_draft_round_trips() {
    let draft = rich_draft();
    let mut out = Vec::new();
    cusdec::write_interchange(&mut out, "UZCUST", "USCBP", "R1", [&draft]).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.starts_with("UNA:+.?*'\nUNB+UNOW:4+UZCUST+USCBP+00000000:0000+R1'\n"),
        "{text}"
    );
    assert!(text.contains("BGM+929+LRN???+?:?'?*1+9'"), "{text}");
    assert_eq!(only_draft(&out), draft);
}

#[test]
fn streaming_writer_numbers_messages_and_counts_them() {
    let envelope = Envelope {
        sender: "A",
        recipient: "B",
        control_ref: "77",
        date: "20240501",
        time: "1200",
    };
    let mut w = CusdecWriter::begin(Vec::new(), &envelope).unwrap();
    for lrn in ["one", "two", "three"] {
        let mut d = DeclarationDraft::default();
        d.header.lrn = lrn.into();
        w.write_message(&d).unwrap();
    }
    let out = w.finish().unwrap();
    let records = read_all(&out).unwrap();
    let lrns: Vec<_> = records
        .iter()
        .map(|r| r.draft.header.lrn.as_str())
        .collect();
    assert_eq!(lrns, ["one", "two", "three"]);
    let positions: Vec<_> = records
        .iter()
        .map(|r| (r.locator.line, r.locator.record))
        .collect();
    // Each empty draft is UNH BGM CST UNS UNS UNT: six segments.
    assert_eq!(positions, [(2, 1), (8, 2), (14, 3)]);
    assert!(String::from_utf8(out).unwrap().ends_with("UNZ+3+77'\n"));
}

#[test]
fn writer_refuses_a_draft_that_does_not_fit_d96b() {
    let d = DeclarationDraft {
        parties: vec![PartyDraft::default(); 11],
        ..Default::default()
    };
    let mut out = Vec::new();
    let err = cusdec::write_interchange(&mut out, "A", "B", "1", [&d]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ?+:'*.,/АБВЖЯабвжяЎўҚқ«»—\n-]{1,90}"
}

fn some_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

prop_compose! {
    fn arb_item()(
        sequence in "[0-9]{0,4}",
        commodity_code in some_text(),
        description in proptest::option::of("[a-zа-я ?+:']{1,600}"),
        origin_country in some_text(),
        gross_mass in some_text(),
        quantity in some_text(),
        quantity_unit in some_text(),
        package_marks in some_text(),
        packages_count in some_text(),
        item_price in some_text(),
        value_currency in some_text(),
        procedure in some_text(),
        additional_procedures in proptest::collection::vec(text(), 0..3),
        duties in proptest::collection::vec((text(), some_text(), some_text(), some_text()), 0..3),
        docs in proptest::collection::vec((text(), some_text(), some_text()), 0..3),
    ) -> GoodsItemDraft {
        GoodsItemDraft {
            sequence, commodity_code, description, origin_country, gross_mass, quantity,
            quantity_unit, package_marks, packages_count, item_price, value_currency, procedure,
            additional_procedures,
            duties: duties.into_iter().map(|(tax_type, rate, assessed, payment_method)| DutyDraft {
                tax_type, rate, assessed, payment_method, ..DutyDraft::default()
            }).collect(),
            previous_documents: docs.iter().cloned().map(|(id, type_code, category)| DocumentDraft { id, type_code, category }).collect(),
            additional_documents: docs.into_iter().map(|(id, type_code, category)| DocumentDraft { id, type_code, category }).collect(),
            ..GoodsItemDraft::default()
        }
    }
}

prop_compose! {
    fn arb_draft()(
        type_code in "[A-Z]{0,3}",
        lrn in "[^\u{0}]{0,40}",
        issued_at in some_text(),
        mrn in some_text(),
        invoice_total in some_text(),
        invoice_currency in some_text(),
        names in proptest::collection::vec((text(), some_text(), proptest::option::of("[^\u{0}]{1,300}"), some_text(), some_text()), 0..5),
        containers in proptest::collection::btree_map("[A-Z0-9]{1,11}", proptest::collection::vec(text(), 0..3), 0..3),
        routing in proptest::collection::vec("[A-Z]{2}", 0..4),
        border_means_id in some_text(),
        items in proptest::collection::vec(arb_item(), 0..4),
        amendments in proptest::collection::vec((some_text(), text()), 0..2),
    ) -> DeclarationDraft {
        let mut d = DeclarationDraft::default();
        d.header.type_code = type_code;
        d.header.lrn = lrn;
        d.header.function_code = "9".into();
        d.header.issued_at = issued_at;
        d.header.mrn = mrn;
        d.header.invoice_total = invoice_total;
        d.header.invoice_currency = invoice_currency;
        d.parties = names.into_iter().map(|(role, id, name, line, function_code)| PartyDraft {
            role, id, name, function_code,
            address: AddressDraft { line, ..AddressDraft::default() },
            ..PartyDraft::default()
        }).collect();
        d.transport.equipment = containers.into_iter().map(|(container_id, seals)| EquipmentDraft { container_id, seals }).collect();
        d.transport.routing_countries = routing;
        d.transport.border_means_id = border_means_id;
        d.items = items;
        d.amendments = amendments.into_iter().map(|(change_reason, pointer)| AmendmentDraft { change_reason, pointer }).collect();
        d
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn any_draft_round_trips(drafts in proptest::collection::vec(arb_draft(), 1..3)) {
        let mut out = Vec::new();
        cusdec::write_interchange(&mut out, "S", "R", "P1", &drafts).unwrap();
        let back: Vec<DeclarationDraft> = read_all(&out).unwrap().into_iter().map(|r| r.draft).collect();
        prop_assert_eq!(back, drafts);
    }
}

// ---- syntax and structure errors ------------------------------------------------------

/// An interchange around message bodies (segments between UNH and UNT, without
/// terminators); UNT counts are computed. Positions: UNB 1, first UNH 2.
fn interchange(messages: &[&[&str]]) -> String {
    let mut out = String::from("UNB+UNOW:4+S+R+20240101:1200+REF1'\n");
    for (i, body) in messages.iter().enumerate() {
        let n = i + 1;
        out.push_str(&format!("UNH+{n}+CUSDEC:D:96B:UN'\n"));
        for seg in *body {
            out.push_str(seg);
            out.push_str("'\n");
        }
        out.push_str(&format!("UNT+{}+{n}'\n", body.len() + 2));
    }
    out.push_str(&format!("UNZ+{}+REF1'\n", messages.len()));
    out
}

const MINIMAL: &[&str] = &[
    "BGM+929+LRN1+9",
    "CST++IMA",
    "UNS+D",
    "CST+1+85109000:TSP",
    "UNS+S",
    "CNT+5:1",
];

#[track_caller]
fn check_error(input: &[u8], code: &str, line: u64) -> SyntaxError {
    let mut it = cusdec::reader(input);
    let err = loop {
        match it.next() {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break e,
            None => panic!("expected {code}, got no error"),
        }
    };
    assert_eq!((err.code, err.locator.line), (code, line), "{err}");
    assert!(it.next().is_none(), "an error ends the iteration");
    err
}

#[test]
fn minimal_interchange_is_accepted() {
    let d = only_draft(interchange(&[MINIMAL]).as_bytes());
    assert_eq!(d.header.lrn, "LRN1");
    assert_eq!(d.items.len(), 1);
}

#[test]
fn default_separators_without_una_and_crlf_between_segments() {
    let text = interchange(&[MINIMAL]).replace('\n', "\r\n");
    assert_eq!(only_draft(text.as_bytes()).header.type_code, "IMA");
}

#[test]
fn una_with_other_separators_is_honoured() {
    let text = "UNA:|.? !UNB|UNOW:4|S|R|1:1|R1!UNH|1|CUSDEC:D:96B:UN!BGM|929|A+B?|C?!D|9!\
                UNS|D!UNS|S!UNT|5|1!UNZ|1|R1!";
    assert_eq!(only_draft(text.as_bytes()).header.lrn, "A+B|C!D");
}

#[test]
fn unoc_is_read_as_latin1() {
    let mut bytes = interchange(&[&["BGM+929+LRN+9", "UNS+D", "UNS+S"]]).into_bytes();
    let at = bytes.windows(4).position(|w| w == b"UNOW").unwrap();
    bytes[at..at + 4].copy_from_slice(b"UNOC");
    let lrn_at = bytes.windows(3).position(|w| w == b"LRN").unwrap();
    bytes[lrn_at] = 0xC9; // É in ISO 8859-1
    assert_eq!(only_draft(&bytes).header.lrn, "ÉRN");
}

#[test]
fn d99b_message_is_accepted() {
    let text = interchange(&[MINIMAL]).replace("96B", "99B");
    assert_eq!(only_draft(text.as_bytes()).items.len(), 1);
}

#[test]
fn bad_una() {
    check_error(b"UNA:+.?'", "EDI_BAD_UNA", 1);
    let err = check_error(b"UNAA+.? 'UNB+UNOW:4+S+R+1:1+1'", "EDI_BAD_UNA", 1);
    assert_eq!(err.field.as_deref(), Some("UNA"));
    check_error(b"UNA++.? 'UNB", "EDI_BAD_UNA", 1);
}

#[test]
fn not_utf8() {
    let mut bytes = interchange(&[MINIMAL]).into_bytes();
    let at = bytes.windows(4).position(|w| w == b"LRN1").unwrap();
    bytes[at] = 0xFF;
    check_error(&bytes, "EDI_NOT_UTF8", 3);
}

#[test]
fn unknown_segment() {
    let body = ["BGM+929+L+9", "XYZ+1", "UNS+D", "UNS+S"];
    let err = check_error(interchange(&[&body]).as_bytes(), "EDI_UNKNOWN_SEGMENT", 4);
    assert_eq!((err.field.as_deref(), err.locator.record), (Some("XYZ"), 1));
    check_error(b"UNB+UNOW:4+S+R+1:1+1'\nunh+1'", "EDI_UNKNOWN_SEGMENT", 2);
}

#[test]
fn segment_unexpected() {
    // TPL exists only inside SG4, after a TDT.
    let body = ["BGM+929+L+9", "TPL+1", "UNS+D", "UNS+S"];
    let err = check_error(
        interchange(&[&body]).as_bytes(),
        "EDI_SEGMENT_UNEXPECTED",
        4,
    );
    assert_eq!(err.field.as_deref(), Some("TPL"));
    // A header segment after the goods items.
    let body = ["BGM+929+L+9", "UNS+D", "CST+1", "BGM+929+L+9", "UNS+S"];
    check_error(
        interchange(&[&body]).as_bytes(),
        "EDI_SEGMENT_UNEXPECTED",
        6,
    );
    // Something other than UNB first.
    check_error(b"UNH+1+CUSDEC:D:96B:UN'", "EDI_SEGMENT_UNEXPECTED", 1);
}

#[test]
fn missing_mandatory() {
    let body = ["CST++IMA", "UNS+D", "UNS+S"];
    let err = check_error(interchange(&[&body]).as_bytes(), "EDI_MISSING_MANDATORY", 3);
    assert!(err.rule.contains("BGM"), "{err}");
    // The second UNS (detail/summary) is missing before UNT.
    let body = ["BGM+929+L+9", "UNS+D", "CST+1"];
    let err = check_error(interchange(&[&body]).as_bytes(), "EDI_MISSING_MANDATORY", 6);
    assert_eq!(err.field.as_deref(), Some("UNT"));
}

#[test]
fn too_many_repeats() {
    let body = ["BGM+929+L+9", "BGM+929+L+9", "UNS+D", "UNS+S"];
    check_error(interchange(&[&body]).as_bytes(), "EDI_TOO_MANY_REPEATS", 4);
    let sixth_mea: Vec<&str> = std::iter::once("BGM+929+L+9")
        .chain(["MEA+WT+AAD+KGM:1"; 6])
        .chain(["UNS+D", "UNS+S"])
        .collect();
    check_error(
        interchange(&[&sixth_mea]).as_bytes(),
        "EDI_TOO_MANY_REPEATS",
        9,
    );
}

fn many_items(n: usize, release: &str) -> String {
    let mut text = format!(
        "UNB+UNOW:4+S+R+20240101:1200+BIG'\nUNH+1+CUSDEC:D:{release}:UN'\nBGM+929+BIG+9'\nUNS+D'\n"
    );
    for i in 1..=n {
        text.push_str(&format!("CST+{i}+85109000:TSP'\nFTX+AAA+++Parts'\n"));
    }
    text.push_str(&format!("UNS+S'\nUNT+{}+1'\nUNZ+1+BIG'\n", 2 * n + 5));
    text
}

#[test]
fn ten_thousand_goods_items_exceed_d96b_but_fit_d99b() {
    // UNB 1, UNH 2, BGM 3, UNS 4; item i starts at 5 + 2 (i - 1).
    let err = check_error(
        many_items(10_000, "96B").as_bytes(),
        "EDI_TOO_MANY_REPEATS",
        5 + 2 * 9_999,
    );
    assert!(
        err.rule.contains("SG30") && err.rule.contains("9999"),
        "{err}"
    );
    let d = only_draft(many_items(10_000, "99B").as_bytes());
    assert_eq!(d.items.len(), 10_000);
    assert_eq!(d.items[9_999].sequence, "10000");
}

#[test]
fn unt_count() {
    let text = interchange(&[MINIMAL]).replace("UNT+8+1", "UNT+7+1");
    let err = check_error(text.as_bytes(), "EDI_UNT_COUNT", 9);
    assert_eq!(err.value.as_deref(), Some("7"));
}

#[test]
fn unz_count() {
    let text = interchange(&[MINIMAL, MINIMAL]).replace("UNZ+2", "UNZ+3");
    check_error(text.as_bytes(), "EDI_UNZ_COUNT", 18);
}

#[test]
fn control_ref_mismatch() {
    let text = interchange(&[MINIMAL]).replace("UNZ+1+REF1", "UNZ+1+REF2");
    check_error(text.as_bytes(), "EDI_CONTROL_REF_MISMATCH", 10);
    let text = interchange(&[MINIMAL]).replace("UNT+8+1", "UNT+8+2");
    let err = check_error(text.as_bytes(), "EDI_CONTROL_REF_MISMATCH", 9);
    assert_eq!(err.field.as_deref(), Some("UNT/0062"));
}

#[test]
fn truncated() {
    let full = interchange(&[MINIMAL]);
    // No UNZ.
    let no_unz = full.replace("UNZ+1+REF1'\n", "");
    check_error(no_unz.as_bytes(), "EDI_TRUNCATED", 10);
    // No UNT: the input ends inside the message.
    let cut = &full[..full.find("UNT").unwrap()];
    check_error(cut.as_bytes(), "EDI_TRUNCATED", 9);
    // Cut inside a segment.
    let cut = &full[..full.find("CNT").unwrap() + 4];
    check_error(cut.as_bytes(), "EDI_TRUNCATED", 8);
    // UNZ before UNT.
    let no_unt = full.replace("UNT+8+1'\n", "");
    check_error(no_unt.as_bytes(), "EDI_TRUNCATED", 9);
    // Empty input.
    check_error(b"", "EDI_TRUNCATED", 1);
}

#[test]
fn records_before_an_error_are_still_yielded() {
    let text = interchange(&[MINIMAL, MINIMAL]).replace("UNT+8+2", "UNT+9+2");
    let results: Vec<_> = cusdec::reader(text.as_bytes()).collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    assert_eq!(results[1].as_ref().unwrap_err().code, "EDI_UNT_COUNT");
}

#[test]
fn unsupported_message() {
    let text = interchange(&[MINIMAL]).replace("CUSDEC:D:96B", "CUSRES:D:96B");
    let err = check_error(text.as_bytes(), "EDI_UNSUPPORTED_MESSAGE", 2);
    assert_eq!(err.value.as_deref(), Some("CUSRES:D:96B:UN"));
    let text = interchange(&[MINIMAL]).replace("96B", "01B");
    check_error(text.as_bytes(), "EDI_UNSUPPORTED_MESSAGE", 2);
}

#[test]
fn segment_too_long_fails_fast() {
    // A 2 GB "line" without a terminator: the reader gives up after 1 MiB.
    let head: &[u8] = b"UNB+UNOW:4+S+R+1:1+1'UNH+1+CUSDEC:D:96B:UN'FTX+AAA+++";
    let endless = head.chain(std::io::repeat(b'A').take(2_000_000_000));
    let mut it = cusdec::reader(BufReader::new(endless));
    let err = it.next().unwrap().unwrap_err();
    assert_eq!((err.code, err.locator.line), ("EDI_SEGMENT_TOO_LONG", 3));
}

// ---- twins against the WCO XML reader ------------------------------------------------

fn hmrc_sample(name: &str) -> Vec<u8> {
    let dir = match std::env::var("CARAVAN_SHARED_DATA") {
        Ok(base) => std::path::PathBuf::from(base).join("samples/hmrc-wco-xml"),
        Err(_) => {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hmrc-wco-xml")
        }
    };
    std::fs::read(dir.join(name)).unwrap()
}

/// Spec 5.3: each CUSDEC twin and its HMRC XML sample parse to equal models.
#[track_caller]
fn check_twin(edi: &str, xml: &str) {
    let from_edi = only_draft(&fixture(edi));
    let from_xml = caravan_ingest::format::wco_xml::read_document(&hmrc_sample(xml))
        .unwrap()
        .draft;
    assert_eq!(from_edi, from_xml);
}

#[test]
fn im001d_twin_equals_the_xml_sample() {
    check_twin("IM001d.edi", "TT_IM001d__TT_IM001d.xml");
}

#[test]
fn ex001a_twin_equals_the_xml_sample() {
    check_twin("EX001a.edi", "TT_EX001a__TT_EX001a.xml");
}

#[test]
fn im017b_twin_equals_the_xml_sample() {
    check_twin("IM017b.edi", "TT_IM017b__Step1_TT_IM017b.xml");
}
