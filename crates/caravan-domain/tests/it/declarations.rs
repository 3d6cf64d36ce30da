//! Declaration validation: one well-formed draft, then one mutation per rule, each
//! asserting the exact code, path and severity the spec gives (sections 2 to 4).

use caravan_domain::declaration::draft::{
    AddressDraft, DeclarationDraft, DocumentDraft, EquipmentDraft, GoodsItemDraft, HeaderDraft,
    OutcomeDraft, PartyDraft, TransportDraft,
};
use caravan_domain::declaration::model::{Declared, Direction, PartyRole};
use caravan_domain::declaration::validate::{
    Provenance, Severity, Validated, ValidationContext, validate,
};

fn party(role: &str, scheme: &str, id: &str, name: &str, country: &str) -> PartyDraft {
    PartyDraft {
        role: role.to_owned(),
        id_scheme: Some(scheme.to_owned()),
        id: Some(id.to_owned()),
        name: Some(name.to_owned()),
        address: AddressDraft {
            line: Some("1 Main Street".to_owned()),
            city: Some("Houston".to_owned()),
            postcode: Some("77002".to_owned()),
            country: Some(country.to_owned()),
            subdivision: None,
        },
        function_code: None,
    }
}

fn item(sequence: &str, hs: &str) -> GoodsItemDraft {
    GoodsItemDraft {
        sequence: sequence.to_owned(),
        commodity_code: Some(hs.to_owned()),
        classification_type: Some("TSP".to_owned()),
        description: Some("Cotton yarn, single, combed".to_owned()),
        origin_country: Some("UZ".to_owned()),
        origin_type: Some("1".to_owned()),
        gross_mass: Some("1200.5".to_owned()),
        net_mass: Some("1180".to_owned()),
        quantity: Some("1180".to_owned()),
        quantity_unit: Some("KGM".to_owned()),
        packages_count: Some("20".to_owned()),
        package_kind: Some("BL".to_owned()),
        item_price: Some("45000.00".to_owned()),
        customs_value: Some("46250".to_owned()),
        value_currency: Some("USD".to_owned()),
        procedure: Some("4000".to_owned()),
        ..Default::default()
    }
}

/// A US import of Uzbek cotton yarn, filed locally at a US node: valid in every respect.
fn us_import() -> DeclarationDraft {
    DeclarationDraft {
        header: HeaderDraft {
            type_code: "IMA".to_owned(),
            function_code: "9".to_owned(),
            lrn: "US-IM-0001".to_owned(),
            mrn: Some("B76-0324527-8".to_owned()),
            issued_at: Some("2024-10-02T09:30:00-05:00".to_owned()),
            place_of_issue: Some("USHOU".to_owned()),
            declaration_office: Some("5301".to_owned()),
            goods_item_count: Some("2".to_owned()),
            total_packages: Some("40".to_owned()),
            total_gross_mass: Some("2401".to_owned()),
            invoice_total: Some("90000".to_owned()),
            invoice_currency: Some("USD".to_owned()),
            delivery_terms: Some("FCA".to_owned()),
            valuation_method: Some("1".to_owned()),
            ..Default::default()
        },
        parties: vec![
            party(
                "IM",
                "US_IOR",
                "91-114444200",
                "Gulf Coast Textiles Inc",
                "US",
            ),
            party(
                "DT",
                "US_EIN",
                "91-1144442",
                "Gulf Coast Textiles Inc",
                "US",
            ),
            party(
                "CZ",
                "UZ_STIR",
                "306180825",
                "«Toshkent To'qimachilik» MChJ",
                "UZ",
            ),
            party(
                "SE",
                "LEI",
                "5493001KJTIIGC8Y1R12",
                "ООО «Ташкент Текстиль»",
                "UZ",
            ),
        ],
        transport: TransportDraft {
            container_indicator: Some("1".to_owned()),
            equipment: vec![EquipmentDraft {
                container_id: "CSQU3054383".to_owned(),
                seals: vec!["SL-001".to_owned()],
            }],
            border_mode: Some("1".to_owned()),
            inland_mode: Some("3".to_owned()),
            documents: vec![DocumentDraft {
                id: "MAEU123456789".to_owned(),
                type_code: Some("705".to_owned()),
                category: Some("Z".to_owned()),
            }],
            loading_place: Some("UZTAS".to_owned()),
            unloading_place: Some("USHOU".to_owned()),
            dispatch_country: Some("UZ".to_owned()),
            destination_country: Some("US".to_owned()),
            routing_countries: vec!["UZ".to_owned(), "KZ".to_owned(), "GE".to_owned()],
            departure_date: Some("2024-09-01".to_owned()),
            arrival_date: Some("2024-09-30".to_owned()),
            ..Default::default()
        },
        items: vec![item("1", "5205120000"), item("2", "5205220000")],
        outcome: Some(OutcomeDraft {
            lane: "green".to_owned(),
            inspection_result: Some("not_inspected".to_owned()),
            seized: Some("false".to_owned()),
            duty_assessed: Some("0".to_owned()),
            duty_recovered: None,
            currency: Some("USD".to_owned()),
        }),
        amendments: Vec::new(),
    }
}

fn local_us() -> ValidationContext {
    ValidationContext::local("US")
}

/// Validates `draft` after `mutate`; asserts that the finding `code` at `path` has
/// `severity`, and that the declaration is rejected exactly when that is an error.
#[track_caller]
fn check(
    ctx: &ValidationContext,
    mutate: impl FnOnce(&mut DeclarationDraft),
    code: &str,
    path: &str,
    severity: Severity,
) {
    let mut draft = us_import();
    mutate(&mut draft);
    let findings = match validate(&draft, ctx) {
        Ok(validated) => {
            assert_ne!(
                severity,
                Severity::Error,
                "accepted, expected error {code}: {:?}",
                validated.findings
            );
            validated.findings
        }
        Err(rejected) => {
            assert_eq!(
                severity,
                Severity::Error,
                "rejected, expected {code} as {severity:?}: {:?}",
                rejected.findings
            );
            rejected.findings
        }
    };
    assert!(
        findings
            .iter()
            .any(|f| f.code == code && f.path == path && f.severity == severity),
        "no {severity:?} {code} at {path} in {findings:#?}"
    );
}

fn accepted(draft: &DeclarationDraft, ctx: &ValidationContext) -> Validated {
    validate(draft, ctx).unwrap_or_else(|r| panic!("rejected: {:#?}", r.findings))
}

#[test]
fn the_base_declaration_is_clean() {
    let validated = accepted(&us_import(), &local_us());
    assert_eq!(validated.findings, Vec::new());
    let d = &validated.declaration;
    assert_eq!(d.header.direction, Direction::Import);
    assert_eq!(d.items.len(), 2);
    assert_eq!(d.declarant_key(), "91-1144442");
    // Parties come out in canonical role order whatever order they were declared in.
    let roles: Vec<_> = d.parties.iter().map(|p| p.role).collect();
    assert_eq!(
        roles,
        [
            PartyRole::Consignor,
            PartyRole::Importer,
            PartyRole::Declarant,
            PartyRole::Seller
        ]
    );
    assert_eq!(
        d.party(PartyRole::Seller).unwrap().name.as_deref(),
        Some("ООО «Ташкент Текстиль»")
    );
}

#[test]
fn to_draft_round_trips_through_validation() {
    for ctx in [local_us(), ValidationContext::partner("UZ")] {
        let first = accepted(&us_import(), &ctx).declaration;
        let again = accepted(&first.to_draft(), &ctx).declaration;
        assert_eq!(first, again);
    }
}

#[test]
fn container_check_digits_are_warnings_everywhere() {
    let bad_container =
        |d: &mut DeclarationDraft| d.transport.equipment[0].container_id = "CONU1234567".into();
    check(
        &local_us(),
        bad_container,
        "ID_ISO6346_CHECK_DIGIT",
        "transport.equipment[1].container_id",
        Severity::Warning,
    );
    check(
        &ValidationContext::partner("UZ"),
        bad_container,
        "ID_ISO6346_CHECK_DIGIT",
        "transport.equipment[1].container_id",
        Severity::Warning,
    );
    let free_text =
        |d: &mut DeclarationDraft| d.transport.equipment[0].container_id = "Container123".into();
    check(
        &local_us(),
        free_text,
        "ID_ISO6346_FORMAT",
        "transport.equipment[1].container_id",
        Severity::Warning,
    );
    let mut draft = us_import();
    draft.transport.equipment[0].container_id = "CONU1234567".into();
    let kept = accepted(&draft, &local_us()).declaration;
    assert_eq!(
        kept.transport.equipment[0].container,
        Declared::Defective {
            raw: "CONU1234567".into(),
            code: "ID_ISO6346_CHECK_DIGIT"
        }
    );
}

#[test]
fn hs_codes_follow_provenance() {
    let unknown = |d: &mut DeclarationDraft| d.items[1].commodity_code = Some("9999990000".into());
    check(
        &local_us(),
        unknown,
        "DECL_HS6_UNKNOWN",
        "items[2].commodity_code",
        Severity::Error,
    );
    check(
        &ValidationContext::partner("US"),
        unknown,
        "DECL_HS6_UNKNOWN",
        "items[2].commodity_code",
        Severity::Warning,
    );
    let eight = |d: &mut DeclarationDraft| d.items[0].commodity_code = Some("52051200".into());
    check(
        &local_us(),
        eight,
        "DECL_HS_NATIONAL_LENGTH",
        "items[1].commodity_code",
        Severity::Error,
    );
    let mut draft = us_import();
    draft.items[0].commodity_code = Some("52051200".into());
    assert!(
        validate(&draft, &ValidationContext::partner("US")).is_ok(),
        "partner codes of other lengths pass"
    );
}

#[test]
fn countries_and_currencies_follow_provenance() {
    let unknown_country =
        |d: &mut DeclarationDraft| d.transport.dispatch_country = Some("ZF".into());
    check(
        &local_us(),
        unknown_country,
        "ID_COUNTRY_UNKNOWN",
        "transport.dispatch_country",
        Severity::Error,
    );
    check(
        &ValidationContext::partner("US"),
        unknown_country,
        "ID_COUNTRY_UNKNOWN",
        "transport.dispatch_country",
        Severity::Warning,
    );
    let malformed = |d: &mut DeclarationDraft| d.transport.dispatch_country = Some("Z1".into());
    check(
        &ValidationContext::partner("US"),
        malformed,
        "ID_COUNTRY_FORMAT",
        "transport.dispatch_country",
        Severity::Error,
    );
    let unknown_currency =
        |d: &mut DeclarationDraft| d.header.invoice_currency = Some("XYZ".into());
    check(
        &local_us(),
        unknown_currency,
        "ID_CURRENCY_UNKNOWN",
        "header.invoice_currency",
        Severity::Error,
    );
    check(
        &ValidationContext::partner("US"),
        unknown_currency,
        "ID_CURRENCY_UNKNOWN",
        "header.invoice_currency",
        Severity::Warning,
    );
    let withdrawn = |d: &mut DeclarationDraft| d.header.invoice_currency = Some("RUR".into());
    check(
        &local_us(),
        withdrawn,
        "ID_CURRENCY_WITHDRAWN",
        "header.invoice_currency",
        Severity::Warning,
    );
}

#[test]
fn amounts_and_masses_are_structural() {
    let partner = ValidationContext::partner("UZ");
    for ctx in [&local_us(), &partner] {
        check(
            ctx,
            |d| d.items[0].gross_mass = Some("-1".into()),
            "DECL_MASS_NEGATIVE",
            "items[1].gross_mass",
            Severity::Error,
        );
        check(
            ctx,
            |d| d.items[0].gross_mass = Some("0".into()),
            "DECL_MASS_NEGATIVE",
            "items[1].gross_mass",
            Severity::Error,
        );
        check(
            ctx,
            |d| d.items[0].gross_mass = Some("5000000000".into()),
            "DECL_MASS_ABSURD",
            "items[1].gross_mass",
            Severity::Error,
        );
        check(
            ctx,
            |d| d.items[0].customs_value = Some("-0.01".into()),
            "DECL_AMOUNT_NEGATIVE",
            "items[1].customs_value",
            Severity::Error,
        );
        check(
            ctx,
            |d| d.header.invoice_total = Some("1,000".into()),
            "DECL_NUMBER_FORMAT",
            "header.invoice_total",
            Severity::Error,
        );
        check(
            ctx,
            |d| d.items[0].item_price = Some("12345678901234".into()),
            "DECL_NUMBER_RANGE",
            "items[1].item_price",
            Severity::Error,
        );
        check(
            ctx,
            |d| d.items[1].sequence = "3".into(),
            "DECL_ITEM_SEQUENCE",
            "items[2].sequence",
            Severity::Error,
        );
        check(
            ctx,
            |d| d.header.goods_item_count = Some("3".into()),
            "DECL_ITEM_COUNT",
            "header.goods_item_count",
            Severity::Error,
        );
        check(
            ctx,
            |d| d.items[0].net_mass = Some("1300".into()),
            "DECL_NET_ABOVE_GROSS",
            "items[1].net_mass",
            Severity::Warning,
        );
        check(
            ctx,
            |d| d.header.total_gross_mass = Some("2000".into()),
            "DECL_TOTAL_GROSS_MASS",
            "header.total_gross_mass",
            Severity::Warning,
        );
        check(
            ctx,
            |d| d.header.total_packages = Some("41".into()),
            "DECL_TOTAL_PACKAGES",
            "header.total_packages",
            Severity::Warning,
        );
    }
}

#[test]
fn identifiers_follow_who_issued_them() {
    let bad_ein = |d: &mut DeclarationDraft| d.parties[1].id = Some("07-1144442".into());
    check(
        &local_us(),
        bad_ein,
        "ID_EIN_PREFIX",
        "parties[DT].id",
        Severity::Error,
    );
    check(
        &ValidationContext::local("UZ"),
        bad_ein,
        "ID_EIN_PREFIX",
        "parties[DT].id",
        Severity::Warning,
    );
    let bad_stir = |d: &mut DeclarationDraft| d.parties[2].id = Some("106180825".into());
    check(
        &ValidationContext::local("UZ"),
        bad_stir,
        "ID_STIR_FORMAT",
        "parties[CZ].id",
        Severity::Error,
    );
    check(
        &local_us(),
        bad_stir,
        "ID_STIR_FORMAT",
        "parties[CZ].id",
        Severity::Warning,
    );
    let bad_lei = |d: &mut DeclarationDraft| d.parties[3].id = Some("2594007XIACKNMUAW222".into());
    check(
        &local_us(),
        bad_lei,
        "ID_LEI_CHECK_DIGITS",
        "parties[SE].id",
        Severity::Error,
    );
    check(
        &ValidationContext::partner("US"),
        bad_lei,
        "ID_LEI_CHECK_DIGITS",
        "parties[SE].id",
        Severity::Warning,
    );
    let bad_entry = |d: &mut DeclarationDraft| d.header.mrn = Some("B76-0324527-3".into());
    check(
        &local_us(),
        bad_entry,
        "ID_ENTRY_CHECK_DIGIT",
        "header.mrn",
        Severity::Error,
    );
    check(
        &ValidationContext::partner("UZ"),
        bad_entry,
        "ID_ENTRY_CHECK_DIGIT",
        "header.mrn",
        Severity::Warning,
    );
    let awb = |d: &mut DeclarationDraft| {
        d.transport.documents[0] = DocumentDraft {
            id: "123-12345674".into(),
            type_code: Some("740".into()),
            category: None,
        }
    };
    check(
        &local_us(),
        awb,
        "ID_AWB_CHECK_DIGIT",
        "transport.documents[1].id",
        Severity::Error,
    );
    check(
        &ValidationContext::partner("US"),
        awb,
        "ID_AWB_CHECK_DIGIT",
        "transport.documents[1].id",
        Severity::Warning,
    );
    let unknown_scheme = |d: &mut DeclarationDraft| d.parties[3].id_scheme = Some("DUNS".into());
    check(
        &local_us(),
        unknown_scheme,
        "ID_SCHEME_UNKNOWN",
        "parties[SE].id_scheme",
        Severity::Warning,
    );
}

#[test]
fn header_and_party_rules() {
    let ctx = local_us();
    check(
        &ctx,
        |d| d.header.type_code = "IMW".into(),
        "DECL_TYPE_CODE",
        "header.type_code",
        Severity::Error,
    );
    check(
        &ctx,
        |d| d.header.function_code = "7".into(),
        "DECL_FUNCTION_CODE",
        "header.function_code",
        Severity::Error,
    );
    check(
        &ctx,
        |d| d.header.lrn = "  ".into(),
        "DECL_LRN_MISSING",
        "header.lrn",
        Severity::Error,
    );
    check(
        &ctx,
        |d| d.header.issued_at = Some("02/10/2024".into()),
        "DECL_DATETIME_FORMAT",
        "header.issued_at",
        Severity::Error,
    );
    check(
        &ctx,
        |d| d.parties.retain(|p| p.role != "IM"),
        "DECL_IMPORTER_MISSING",
        "parties[IM]",
        Severity::Error,
    );
    check(
        &ctx,
        |d| d.parties.retain(|p| p.role != "DT"),
        "DECL_DECLARANT_MISSING",
        "parties[DT]",
        Severity::Error,
    );
    check(
        &ctx,
        |d| d.parties[0].function_code = Some("2".into()),
        "DECL_REPRESENTATIVE_MISSING",
        "parties[AE]",
        Severity::Error,
    );
    check(
        &ctx,
        |d| {
            d.parties[2].id = None;
            d.parties[2].address.country = None;
        },
        "DECL_PARTY_INCOMPLETE",
        "parties[CZ]",
        Severity::Error,
    );
    check(
        &ctx,
        |d| d.parties[0].role = "ZZ".into(),
        "DECL_PARTY_ROLE",
        "parties",
        Severity::Error,
    );
    check(
        &ctx,
        |d| d.header.delivery_terms = Some("XYZ".into()),
        "DECL_INCOTERMS",
        "header.delivery_terms",
        Severity::Warning,
    );
    check(
        &ctx,
        |d| d.header.valuation_method = Some("9".into()),
        "DECL_VALUATION_METHOD",
        "header.valuation_method",
        Severity::Warning,
    );
    check(
        &ctx,
        |d| d.items[0].description = Some("parts".into()),
        "DECL_DESCRIPTION_GENERIC",
        "items[1].description",
        Severity::Warning,
    );
    check(
        &ctx,
        |d| d.items[0].description = None,
        "DECL_DESCRIPTION_MISSING",
        "items[1].description",
        Severity::Error,
    );
    check(
        &ctx,
        |d| d.transport.border_mode = Some("12".into()),
        "DECL_TRANSPORT_MODE",
        "transport.border_mode",
        Severity::Error,
    );
    check(
        &ctx,
        |d| d.transport.loading_place = Some("UZXXX".into()),
        "ID_LOCODE_UNKNOWN",
        "transport.loading_place",
        Severity::Warning,
    );
    check(
        &ctx,
        |d| d.outcome.as_mut().unwrap().lane = "blue".into(),
        "DECL_OUTCOME_LANE",
        "outcome.lane",
        Severity::Error,
    );
}

#[test]
fn node_lists_apply_to_local_filings_only() {
    let ctx = ValidationContext {
        offices: vec!["2704".into()],
        procedures: vec!["4000".into()],
        ..local_us()
    };
    check(
        &ctx,
        |_| {},
        "DECL_OFFICE_UNKNOWN",
        "header.declaration_office",
        Severity::Error,
    );
    let partner = ValidationContext {
        provenance: Provenance::Partner,
        ..ctx.clone()
    };
    assert!(validate(&us_import(), &partner).is_ok());
    let mut draft = us_import();
    draft.header.declaration_office = Some("2704".into());
    assert!(validate(&draft, &ctx).is_ok());
    draft.items[0].procedure = Some("5100".into());
    let rejected = validate(&draft, &ctx).unwrap_err();
    assert_eq!(
        rejected.errors().map(|f| f.code).collect::<Vec<_>>(),
        ["DECL_PROCEDURE_UNKNOWN"]
    );
}

#[test]
fn issued_in_the_future_is_a_warning() {
    let now = chrono::DateTime::parse_from_rfc3339("2024-09-30T00:00:00Z").unwrap();
    let ctx = ValidationContext {
        now: Some(now),
        ..local_us()
    };
    check(
        &ctx,
        |_| {},
        "DECL_ISSUED_IN_FUTURE",
        "header.issued_at",
        Severity::Warning,
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let mut draft = us_import();
    draft.items[0].gross_mass = Some("-5".into());
    draft.items[1].commodity_code = Some("0000000000".into());
    draft.header.invoice_currency = Some("US".into());
    let rejected = validate(&draft, &local_us()).unwrap_err();
    let mut codes: Vec<_> = rejected.errors().map(|f| f.code).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "DECL_HS6_UNKNOWN",
            "DECL_MASS_NEGATIVE",
            "ID_CURRENCY_FORMAT"
        ]
    );
}
