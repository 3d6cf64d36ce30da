//! DEC-DMS element tree → [`DeclarationDraft`]. The table is in the parent module doc.

use caravan_domain::declaration::draft::{
    AddressDraft, AmendmentDraft, DeclarationDraft, DocumentDraft, DutyDraft, EquipmentDraft,
    GoodsItemDraft, HeaderDraft, PartyDraft, TransportDraft,
};

use super::dom::Element;

/// Classification types that qualify the main commodity code rather than being it:
/// TARIC (TRC), additional codes (TRA), CUS code (CV).
const SECONDARY_CLASSIFICATIONS: [&str; 3] = ["TRC", "TRA", "CV"];

/// Walks a path of child names; `None` when any step is missing.
fn at<'a>(el: &'a Element, path: &[&str]) -> Option<&'a Element> {
    path.iter().try_fold(el, |cur, name| {
        cur.children.iter().find(|c| c.name == *name)
    })
}

fn all<'a>(el: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    el.children.iter().filter(move |c| c.name == name)
}

/// Value of an `xs:string`-based element (text, identifiers), exactly as declared.
fn text(el: &Element, path: &[&str]) -> Option<String> {
    at(el, path).map(|e| e.text.clone())
}

/// Value of an `xs:token`- or `xs:decimal`-based element (codes, numbers): the schema
/// collapses white space, so the value does too.
fn code(el: &Element, path: &[&str]) -> Option<String> {
    at(el, path).map(|e| collapse(&e.text))
}

fn collapse(s: &str) -> String {
    s.split([' ', '\t', '\n', '\r'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn attr(el: &Element, path: &[&str], name: &str) -> Option<String> {
    at(el, path).and_then(|e| e.attr(name)).map(collapse)
}

/// Reads a `Declaration` element (already schema-valid) into a draft.
pub(super) fn declaration(d: &Element) -> DeclarationDraft {
    let gs = at(d, &["GoodsShipment"]);
    let gs_code = |path: &[&str]| gs.and_then(|g| code(g, path));
    let items: Vec<GoodsItemDraft> = gs
        .map(|g| all(g, "GovernmentAgencyGoodsItem").map(item).collect())
        .unwrap_or_default();
    let first_item_code = |path: &[&str]| {
        gs.and_then(|g| all(g, "GovernmentAgencyGoodsItem").find_map(|i| code(i, path)))
    };

    let header = HeaderDraft {
        type_code: code(d, &["TypeCode"]).unwrap_or_default(),
        function_code: code(d, &["FunctionCode"]).unwrap_or_default(),
        lrn: text(d, &["FunctionalReferenceID"]).unwrap_or_default(),
        mrn: text(d, &["ID"]),
        issued_at: at(d, &["IssueDateTime", "DateTimeString"]).map(date_time),
        place_of_issue: text(d, &["IssueLocationID"]),
        accepted_at: at(d, &["AcceptanceDateTime", "DateTimeString"]).map(date_time),
        declaration_office: text(d, &["DeclarationOfficeID"]),
        goods_item_count: code(d, &["GoodsItemQuantity"]),
        total_packages: code(d, &["TotalPackageQuantity"]),
        total_gross_mass: code(d, &["TotalGrossMassMeasure"]),
        invoice_total: code(d, &["InvoiceAmount"]),
        invoice_currency: attr(d, &["InvoiceAmount"], "currencyID"),
        ucr: gs.and_then(|g| {
            text(g, &["UCR", "ID"]).or_else(|| text(g, &["UCR", "TraderAssignedReferenceID"]))
        }),
        delivery_terms: gs_code(&["TradeTerms", "ConditionCode"]),
        delivery_place: gs.and_then(|g| text(g, &["TradeTerms", "LocationID"])),
        valuation_method: first_item_code(&["CustomsValuation", "MethodCode"]),
        nature_of_transaction: gs_code(&["TransactionNatureCode"]),
        freight_charge: gs_code(&["CustomsValuation", "FreightChargeAmount"]),
        freight_currency: gs.and_then(|g| {
            attr(
                g,
                &["CustomsValuation", "FreightChargeAmount"],
                "currencyID",
            )
        }),
        freight_payment_method: code(d, &["Consignment", "Freight", "PaymentMethodCode"]),
    };

    let mut parties = Vec::new();
    let mut push = |role: &str, el: Option<&Element>| {
        if let Some(el) = el {
            parties.push(party(role, el));
        }
    };
    push("AE", at(d, &["Agent"]));
    push("CA", at(d, &["Consignment", "Carrier"]));
    push("DT", at(d, &["Declarant"]));
    push("EX", at(d, &["Exporter"]));
    push("BY", gs.and_then(|g| at(g, &["Buyer"])));
    push("CN", gs.and_then(|g| at(g, &["Consignee"])));
    push(
        "CZ",
        gs.and_then(|g| at(g, &["Consignor"]))
            .or_else(|| at(d, &["Consignment", "Consignor"])),
    );
    push("IM", gs.and_then(|g| at(g, &["Importer"])));
    push("SE", gs.and_then(|g| at(g, &["Seller"])));

    let cons = gs.and_then(|g| at(g, &["Consignment"]));
    let cons_code = |path: &[&str]| cons.and_then(|c| code(c, path));
    let cons_text = |path: &[&str]| cons.and_then(|c| text(c, path));
    let transport = TransportDraft {
        container_indicator: cons_code(&["ContainerCode"]),
        equipment: equipment(cons, gs),
        border_mode: code(d, &["BorderTransportMeans", "ModeCode"]),
        inland_mode: cons_code(&["ArrivalTransportMeans", "ModeCode"])
            .or_else(|| cons_code(&["DepartureTransportMeans", "ModeCode"])),
        border_means_id: text(d, &["BorderTransportMeans", "ID"]),
        border_means_type: code(d, &["BorderTransportMeans", "IdentificationTypeCode"]),
        border_means_nationality: code(d, &["BorderTransportMeans", "RegistrationNationalityCode"]),
        arrival_means_id: cons_text(&["ArrivalTransportMeans", "ID"]),
        arrival_means_type: cons_code(&["ArrivalTransportMeans", "IdentificationTypeCode"]),
        departure_means_id: cons_text(&["DepartureTransportMeans", "ID"]),
        documents: gs
            .map(|g| all(g, "PreviousDocument").map(document).collect())
            .unwrap_or_default(),
        goods_location: cons_text(&["GoodsLocation", "Name"])
            .or_else(|| cons_text(&["GoodsLocation", "ID"])),
        loading_place: cons_text(&["LoadingLocation", "ID"]),
        unloading_place: None,
        dispatch_country: gs_code(&["ExportCountry", "ID"])
            .or_else(|| first_item_code(&["ExportCountry", "ID"])),
        destination_country: gs_code(&["Destination", "CountryCode"])
            .or_else(|| first_item_code(&["Destination", "CountryCode"])),
        routing_countries: at(d, &["Consignment"])
            .map(|c| {
                all(c, "Itinerary")
                    .filter_map(|i| code(i, &["RoutingCountryCode"]))
                    .collect()
            })
            .unwrap_or_default(),
        entry_office: None,
        exit_office: text(d, &["ExitOffice", "ID"]),
        supervising_office: text(d, &["SupervisingOffice", "ID"]),
        presentation_office: text(d, &["PresentationOffice", "ID"]),
        departure_date: None,
        arrival_date: None,
    };

    let amendments = all(d, "Amendment")
        .map(|a| AmendmentDraft {
            change_reason: code(a, &["ChangeReasonCode"]),
            pointer: all(a, "Pointer")
                .map(|p| {
                    super::pointer_segment(
                        code(p, &["DocumentSectionCode"]).as_deref(),
                        code(p, &["SequenceNumeric"]).as_deref(),
                        text(p, &["TagID"]).as_deref(),
                    )
                })
                .collect::<Vec<_>>()
                .join("/"),
        })
        .collect();

    DeclarationDraft {
        header,
        parties,
        transport,
        items,
        outcome: None,
        amendments,
    }
}

/// Containers of the consignment; when it lists none, those linked to goods items
/// (`Commodity/TransportEquipment`, used by some HMRC samples), each ID once.
fn equipment(cons: Option<&Element>, gs: Option<&Element>) -> Vec<EquipmentDraft> {
    let header: Vec<EquipmentDraft> = cons
        .map(|c| {
            all(c, "TransportEquipment")
                .map(|t| EquipmentDraft {
                    container_id: text(t, &["ID"]).unwrap_or_default(),
                    seals: all(t, "Seal").filter_map(|s| text(s, &["ID"])).collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    if !header.is_empty() {
        return header;
    }
    let mut out: Vec<EquipmentDraft> = Vec::new();
    for item in gs
        .into_iter()
        .flat_map(|g| all(g, "GovernmentAgencyGoodsItem"))
    {
        for t in at(item, &["Commodity"])
            .into_iter()
            .flat_map(|c| all(c, "TransportEquipment"))
        {
            let id = text(t, &["ID"]).unwrap_or_default();
            if !out.iter().any(|e| e.container_id == id) {
                out.push(EquipmentDraft {
                    container_id: id,
                    seals: Vec::new(),
                });
            }
        }
    }
    out
}

fn party(role: &str, el: &Element) -> PartyDraft {
    let id = text(el, &["ID"]);
    let id_scheme = match attr(el, &["ID"], "schemeID") {
        Some(s) => Some(s),
        None => id.as_deref().map(|i| super::inferred_scheme(i).to_owned()),
    };
    PartyDraft {
        role: role.to_owned(),
        id_scheme,
        id,
        name: text(el, &["Name"]),
        address: AddressDraft {
            line: text(el, &["Address", "Line"]),
            city: text(el, &["Address", "CityName"]),
            postcode: text(el, &["Address", "PostcodeID"]),
            country: code(el, &["Address", "CountryCode"]),
            subdivision: code(el, &["Address", "CountrySubDivisionCode"]),
        },
        function_code: if role == "AE" {
            code(el, &["FunctionCode"])
        } else {
            None
        },
    }
}

fn document(el: &Element) -> DocumentDraft {
    DocumentDraft {
        id: text(el, &["ID"]).unwrap_or_default(),
        type_code: code(el, &["TypeCode"]),
        category: code(el, &["CategoryCode"]),
    }
}

fn item(el: &Element) -> GoodsItemDraft {
    let com = at(el, &["Commodity"]);
    let com_code = |path: &[&str]| com.and_then(|c| code(c, path));
    let main_class = com.and_then(|c| {
        all(c, "Classification").find(|k| {
            code(k, &["IdentificationTypeCode"])
                .is_none_or(|t| !SECONDARY_CLASSIFICATIONS.contains(&t.as_str()))
        })
    });
    let procedures: Vec<&Element> = all(el, "GovernmentProcedure").collect();
    let packaging = at(el, &["Packaging"]);
    let value_currency = attr(
        el,
        &["Commodity", "InvoiceLine", "ItemChargeAmount"],
        "currencyID",
    )
    .or_else(|| attr(el, &["CustomsValueAmount"], "currencyID"))
    .or_else(|| attr(el, &["StatisticalValueAmount"], "currencyID"));
    GoodsItemDraft {
        sequence: code(el, &["SequenceNumeric"]).unwrap_or_default(),
        commodity_code: main_class.and_then(|k| text(k, &["ID"])),
        classification_type: main_class.and_then(|k| code(k, &["IdentificationTypeCode"])),
        description: com.and_then(|c| text(c, &["Description"])),
        origin_country: code(el, &["Origin", "CountryCode"]),
        origin_type: code(el, &["Origin", "TypeCode"]),
        gross_mass: com_code(&["GoodsMeasure", "GrossMassMeasure"]),
        net_mass: com_code(&["GoodsMeasure", "NetNetWeightMeasure"]),
        quantity: com_code(&["GoodsMeasure", "TariffQuantity"]),
        quantity_unit: attr(
            el,
            &["Commodity", "GoodsMeasure", "TariffQuantity"],
            "unitCode",
        ),
        packages_count: packaging.and_then(|p| code(p, &["QuantityQuantity"])),
        package_kind: packaging.and_then(|p| code(p, &["TypeCode"])),
        package_marks: packaging.and_then(|p| text(p, &["MarksNumbersID"])),
        item_price: com_code(&["InvoiceLine", "ItemChargeAmount"]),
        customs_value: code(el, &["CustomsValueAmount"]),
        statistical_value: code(el, &["StatisticalValueAmount"]),
        value_currency,
        procedure: procedures.first().and_then(|p| code(p, &["CurrentCode"])),
        previous_procedure: procedures.first().and_then(|p| code(p, &["PreviousCode"])),
        additional_procedures: procedures
            .iter()
            .skip(1)
            .filter_map(|p| code(p, &["CurrentCode"]))
            .collect(),
        duties: com
            .map(|c| all(c, "DutyTaxFee").map(duty).collect())
            .unwrap_or_default(),
        previous_documents: all(el, "PreviousDocument").map(document).collect(),
        additional_documents: all(el, "AdditionalDocument").map(document).collect(),
        un_dangerous_goods: com.and_then(|c| text(c, &["DangerousGoods", "UNDGID"])),
        nature_of_transaction: code(el, &["TransactionNatureCode"]),
    }
}

fn duty(el: &Element) -> DutyDraft {
    DutyDraft {
        tax_type: code(el, &["TypeCode"]).unwrap_or_default(),
        base: code(el, &["AdValoremTaxBaseAmount"]),
        rate: code(el, &["DutyRegimeCode"]),
        assessed: code(el, &["Payment", "TaxAssessedAmount"]),
        currency: attr(el, &["Payment", "TaxAssessedAmount"], "currencyID")
            .or_else(|| attr(el, &["AdValoremTaxBaseAmount"], "currencyID")),
        payment_method: code(el, &["Payment", "MethodCode"]),
    }
}

/// WCO date-time (`formatCode` 102 `CCYYMMDD`, 304 `CCYYMMDDhhmmss` + `Z` or `±hh`) to
/// ISO 8601. Anything else (schema-valid but unexpected) is kept verbatim.
fn date_time(el: &Element) -> String {
    let v = collapse(&el.text);
    let digits =
        |r: std::ops::Range<usize>| v.get(r).filter(|s| s.bytes().all(|b| b.is_ascii_digit()));
    let date = match (digits(0..4), digits(4..6), digits(6..8)) {
        (Some(y), Some(m), Some(d)) => format!("{y}-{m}-{d}"),
        _ => return v,
    };
    if v.len() == 8 {
        return date;
    }
    let (Some(h), Some(mi), Some(s)) = (digits(8..10), digits(10..12), digits(12..14)) else {
        return v;
    };
    let zone = match v.get(14..) {
        Some("Z") => "Z".to_owned(),
        Some(z) if z.len() == 3 && (z.starts_with('+') || z.starts_with('-')) => format!("{z}:00"),
        _ => return v,
    };
    format!("{date}T{h}:{mi}:{s}{zone}")
}
