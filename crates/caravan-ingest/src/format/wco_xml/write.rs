//! [`DeclarationDraft`] → DEC-DMS XML text, elements in schema order.

use caravan_domain::declaration::draft::{
    DeclarationDraft, DocumentDraft, GoodsItemDraft, PartyDraft,
};

use super::{DEC_NS, DS_NS, MD_NS};

/// A draft value that has no place in DEC-DMS; the message names the field.
pub(super) type Unrepresentable = String;

/// Indented XML text built element by element; empty optional groups are rolled back.
struct Xml {
    buf: String,
    depth: usize,
}

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept as references so the parser's line-end normalisation cannot alter them;
            // the schema patterns reject them anyway, and the writer reports that.
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

impl Xml {
    fn indent(&mut self) {
        self.buf.push('\n');
        for _ in 0..self.depth {
            self.buf.push('\t');
        }
    }

    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.buf.push('<');
        self.buf.push_str(name);
        for (k, v) in attrs {
            self.buf.push(' ');
            self.buf.push_str(k);
            self.buf.push_str("=\"");
            escape(v, &mut self.buf);
            self.buf.push('"');
        }
        self.buf.push('>');
        self.depth += 1;
    }

    fn end(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// A leaf with attributes; nothing when `value` is `None`.
    fn leaf_attrs(&mut self, name: &str, value: Option<&str>, attrs: &[(&str, Option<&str>)]) {
        let Some(value) = value else { return };
        self.indent();
        self.buf.push('<');
        self.buf.push_str(name);
        for (k, v) in attrs {
            if let Some(v) = v {
                self.buf.push(' ');
                self.buf.push_str(k);
                self.buf.push_str("=\"");
                escape(v, &mut self.buf);
                self.buf.push('"');
            }
        }
        self.buf.push('>');
        escape(value, &mut self.buf);
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    fn leaf(&mut self, name: &str, value: Option<&str>) {
        self.leaf_attrs(name, value, &[]);
    }

    /// A leaf for a required `String` draft field: omitted when empty.
    fn leaf_str(&mut self, name: &str, value: &str) {
        self.leaf(name, Some(value).filter(|v| !v.is_empty()));
    }

    /// An element whose content `f` writes; removed again if `f` wrote nothing.
    fn group(&mut self, name: &str, f: impl FnOnce(&mut Xml)) {
        let mark = self.buf.len();
        self.start(name, &[]);
        let inner = self.buf.len();
        f(self);
        if self.buf.len() == inner {
            self.depth -= 1;
            self.buf.truncate(mark);
        } else {
            self.end(name);
        }
    }

    /// An element that is written even when empty (a declared party with no data).
    fn always(&mut self, name: &str, f: impl FnOnce(&mut Xml)) {
        self.start(name, &[]);
        f(self);
        self.end(name);
    }
}

/// The roles DEC-DMS has a slot for, in schema order.
const ROLES: [&str; 9] = ["AE", "CA", "DT", "EX", "BY", "CN", "CZ", "IM", "SE"];

/// Serialises the draft; the error names a field DEC-DMS cannot carry.
pub(super) fn document(draft: &DeclarationDraft) -> Result<String, Unrepresentable> {
    check_representable(draft)?;
    let party = |role: &str| draft.parties.iter().find(|p| p.role == role);
    let h = &draft.header;
    let t = &draft.transport;
    let issued = h
        .issued_at
        .as_deref()
        .map(|v| wco_date_time(v, "header.issued_at"))
        .transpose()?;
    let accepted = h
        .accepted_at
        .as_deref()
        .map(|v| wco_date_time(v, "header.accepted_at"))
        .transpose()?;
    let mut amendments = Vec::new();
    for (i, a) in draft.amendments.iter().enumerate() {
        amendments.push(super::parse_pointer(&a.pointer).ok_or_else(|| {
            format!(
                "amendments[{i}].pointer {:?} is not in the documented format",
                a.pointer
            )
        })?);
    }

    let mut x = Xml {
        buf: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        depth: 0,
    };
    x.start(
        "md:MetaData",
        &[("xmlns:md", MD_NS), ("xmlns", DEC_NS), ("xmlns:ds", DS_NS)],
    );
    x.leaf("md:WCODataModelVersionCode", Some("3.6"));
    x.leaf("md:WCOTypeName", Some("DEC"));
    x.start("Declaration", &[]);
    if let Some((format, value)) = &accepted {
        x.group("AcceptanceDateTime", |x| {
            x.leaf_attrs(
                "ds:DateTimeString",
                Some(value),
                &[("formatCode", Some(format))],
            );
        });
    }
    x.leaf_str("FunctionCode", &h.function_code);
    x.leaf_str("FunctionalReferenceID", &h.lrn);
    x.leaf("ID", h.mrn.as_deref());
    if let Some((format, value)) = &issued {
        x.group("IssueDateTime", |x| {
            x.leaf_attrs(
                "ds:DateTimeString",
                Some(value),
                &[("formatCode", Some(format))],
            );
        });
    }
    x.leaf("IssueLocationID", h.place_of_issue.as_deref());
    x.leaf_str("TypeCode", &h.type_code);
    x.leaf("GoodsItemQuantity", h.goods_item_count.as_deref());
    x.leaf("DeclarationOfficeID", h.declaration_office.as_deref());
    x.leaf_attrs(
        "InvoiceAmount",
        h.invoice_total.as_deref(),
        &[("currencyID", h.invoice_currency.as_deref())],
    );
    x.leaf("TotalGrossMassMeasure", h.total_gross_mass.as_deref());
    x.leaf("TotalPackageQuantity", h.total_packages.as_deref());
    if let Some(p) = party("AE") {
        write_party(&mut x, "Agent", p);
    }
    for (pointers, a) in amendments.iter().zip(&draft.amendments) {
        x.always("Amendment", |x| {
            x.leaf("ChangeReasonCode", a.change_reason.as_deref());
            for (section, seq, tag) in pointers {
                x.always("Pointer", |x| {
                    x.leaf("SequenceNumeric", seq.as_deref());
                    x.leaf("DocumentSectionCode", section.as_deref());
                    x.leaf("TagID", tag.as_deref());
                });
            }
        });
    }
    x.group("BorderTransportMeans", |x| {
        x.leaf("ID", t.border_means_id.as_deref());
        x.leaf("IdentificationTypeCode", t.border_means_type.as_deref());
        x.leaf(
            "RegistrationNationalityCode",
            t.border_means_nationality.as_deref(),
        );
        x.leaf("ModeCode", t.border_mode.as_deref());
    });
    x.group("Consignment", |x| {
        if let Some(p) = party("CA") {
            write_party(x, "Carrier", p);
        }
        x.group("Freight", |x| {
            x.leaf("PaymentMethodCode", h.freight_payment_method.as_deref())
        });
        for (i, c) in t.routing_countries.iter().enumerate() {
            x.always("Itinerary", |x| {
                x.leaf("SequenceNumeric", Some(&(i + 1).to_string()));
                x.leaf("RoutingCountryCode", Some(c));
            });
        }
    });
    if let Some(p) = party("DT") {
        write_party(&mut x, "Declarant", p);
    }
    x.group("ExitOffice", |x| x.leaf("ID", t.exit_office.as_deref()));
    if let Some(p) = party("EX") {
        write_party(&mut x, "Exporter", p);
    }
    x.group("GoodsShipment", |x| {
        x.leaf("TransactionNatureCode", h.nature_of_transaction.as_deref());
        if let Some(p) = party("BY") {
            write_party(x, "Buyer", p);
        }
        if let Some(p) = party("CN") {
            write_party(x, "Consignee", p);
        }
        x.group("Consignment", |x| {
            x.leaf("ContainerCode", t.container_indicator.as_deref());
            // The inland mode goes with the arrival means unless only a departure means
            // is declared (exports); the reader looks in the same two places.
            let inland_on_departure = t.departure_means_id.is_some()
                && t.arrival_means_id.is_none()
                && t.arrival_means_type.is_none();
            x.group("ArrivalTransportMeans", |x| {
                x.leaf("ID", t.arrival_means_id.as_deref());
                x.leaf("IdentificationTypeCode", t.arrival_means_type.as_deref());
                if !inland_on_departure {
                    x.leaf("ModeCode", t.inland_mode.as_deref());
                }
            });
            x.group("DepartureTransportMeans", |x| {
                x.leaf("ID", t.departure_means_id.as_deref());
                if inland_on_departure {
                    x.leaf("ModeCode", t.inland_mode.as_deref());
                }
            });
            x.group("GoodsLocation", |x| {
                x.leaf("Name", t.goods_location.as_deref())
            });
            x.group("LoadingLocation", |x| {
                x.leaf("ID", t.loading_place.as_deref())
            });
            for (i, e) in t.equipment.iter().enumerate() {
                x.always("TransportEquipment", |x| {
                    x.leaf("SequenceNumeric", Some(&(i + 1).to_string()));
                    x.leaf_str("ID", &e.container_id);
                    for (j, s) in e.seals.iter().enumerate() {
                        x.always("Seal", |x| {
                            x.leaf("SequenceNumeric", Some(&(j + 1).to_string()));
                            x.leaf("ID", Some(s));
                        });
                    }
                });
            }
        });
        if let Some(p) = party("CZ") {
            write_party(x, "Consignor", p);
        }
        x.group("CustomsValuation", |x| {
            x.leaf_attrs(
                "FreightChargeAmount",
                h.freight_charge.as_deref(),
                &[("currencyID", h.freight_currency.as_deref())],
            );
        });
        x.group("Destination", |x| {
            x.leaf("CountryCode", t.destination_country.as_deref())
        });
        x.group("ExportCountry", |x| {
            x.leaf("ID", t.dispatch_country.as_deref())
        });
        for item in &draft.items {
            write_item(x, item, h.valuation_method.as_deref());
        }
        if let Some(p) = party("IM") {
            write_party(x, "Importer", p);
        }
        for d in &t.documents {
            write_document_ref(x, "PreviousDocument", d);
        }
        if let Some(p) = party("SE") {
            write_party(x, "Seller", p);
        }
        x.group("TradeTerms", |x| {
            x.leaf("ConditionCode", h.delivery_terms.as_deref());
            x.leaf("LocationID", h.delivery_place.as_deref());
        });
        x.group("UCR", |x| {
            x.leaf("TraderAssignedReferenceID", h.ucr.as_deref())
        });
    });
    x.group("PresentationOffice", |x| {
        x.leaf("ID", t.presentation_office.as_deref())
    });
    x.group("SupervisingOffice", |x| {
        x.leaf("ID", t.supervising_office.as_deref())
    });
    x.end("Declaration");
    x.end("md:MetaData");
    x.buf.push('\n');
    Ok(x.buf)
}

fn write_party(x: &mut Xml, name: &str, p: &PartyDraft) {
    x.always(name, |x| {
        x.leaf("Name", p.name.as_deref());
        let scheme = p.id_scheme.as_deref().filter(|s| {
            p.id.as_deref()
                .is_none_or(|id| super::inferred_scheme(id) != *s)
        });
        x.leaf_attrs("ID", p.id.as_deref(), &[("schemeID", scheme)]);
        if name == "Agent" {
            x.leaf("FunctionCode", p.function_code.as_deref());
        }
        let a = &p.address;
        x.group("Address", |x| {
            x.leaf("CityName", a.city.as_deref());
            x.leaf("CountryCode", a.country.as_deref());
            x.leaf("CountrySubDivisionCode", a.subdivision.as_deref());
            x.leaf("Line", a.line.as_deref());
            x.leaf("PostcodeID", a.postcode.as_deref());
        });
    });
}

fn write_document_ref(x: &mut Xml, name: &str, d: &DocumentDraft) {
    x.always(name, |x| {
        x.leaf("CategoryCode", d.category.as_deref());
        x.leaf_str("ID", &d.id);
        x.leaf("TypeCode", d.type_code.as_deref());
    });
}

fn write_item(x: &mut Xml, item: &GoodsItemDraft, valuation_method: Option<&str>) {
    let cur = item.value_currency.as_deref();
    x.always("GovernmentAgencyGoodsItem", |x| {
        x.leaf_attrs(
            "CustomsValueAmount",
            item.customs_value.as_deref(),
            &[("currencyID", cur)],
        );
        x.leaf_str("SequenceNumeric", &item.sequence);
        x.leaf_attrs(
            "StatisticalValueAmount",
            item.statistical_value.as_deref(),
            &[("currencyID", cur)],
        );
        x.leaf(
            "TransactionNatureCode",
            item.nature_of_transaction.as_deref(),
        );
        for d in &item.additional_documents {
            write_document_ref(x, "AdditionalDocument", d);
        }
        x.group("Commodity", |x| {
            x.leaf("Description", item.description.as_deref());
            if item.commodity_code.is_some() || item.classification_type.is_some() {
                x.always("Classification", |x| {
                    x.leaf("ID", item.commodity_code.as_deref());
                    x.leaf(
                        "IdentificationTypeCode",
                        item.classification_type.as_deref(),
                    );
                });
            }
            x.group("DangerousGoods", |x| {
                x.leaf("UNDGID", item.un_dangerous_goods.as_deref())
            });
            for d in &item.duties {
                x.always("DutyTaxFee", |x| {
                    x.leaf_attrs(
                        "AdValoremTaxBaseAmount",
                        d.base.as_deref(),
                        &[("currencyID", d.currency.as_deref())],
                    );
                    x.leaf("DutyRegimeCode", d.rate.as_deref());
                    x.leaf_str("TypeCode", &d.tax_type);
                    x.group("Payment", |x| {
                        x.leaf("MethodCode", d.payment_method.as_deref());
                        x.leaf_attrs(
                            "TaxAssessedAmount",
                            d.assessed.as_deref(),
                            &[("currencyID", d.currency.as_deref())],
                        );
                    });
                });
            }
            x.group("GoodsMeasure", |x| {
                x.leaf("GrossMassMeasure", item.gross_mass.as_deref());
                x.leaf("NetNetWeightMeasure", item.net_mass.as_deref());
                x.leaf_attrs(
                    "TariffQuantity",
                    item.quantity.as_deref(),
                    &[("unitCode", item.quantity_unit.as_deref())],
                );
            });
            x.group("InvoiceLine", |x| {
                x.leaf_attrs(
                    "ItemChargeAmount",
                    item.item_price.as_deref(),
                    &[("currencyID", cur)],
                );
            });
        });
        x.group("CustomsValuation", |x| {
            x.leaf("MethodCode", valuation_method)
        });
        if item.procedure.is_some()
            || item.previous_procedure.is_some()
            || !item.additional_procedures.is_empty()
        {
            // The first GovernmentProcedure is the requested/previous pair (DE 1/10), the
            // rest are additional procedures (DE 1/11), so the first is written even empty.
            x.always("GovernmentProcedure", |x| {
                x.leaf("CurrentCode", item.procedure.as_deref());
                x.leaf("PreviousCode", item.previous_procedure.as_deref());
            });
            for code in &item.additional_procedures {
                x.always("GovernmentProcedure", |x| x.leaf("CurrentCode", Some(code)));
            }
        }
        x.group("Origin", |x| {
            x.leaf("CountryCode", item.origin_country.as_deref());
            x.leaf("TypeCode", item.origin_type.as_deref());
        });
        if item.packages_count.is_some()
            || item.package_kind.is_some()
            || item.package_marks.is_some()
        {
            x.always("Packaging", |x| {
                x.leaf("SequenceNumeric", Some("1"));
                x.leaf("MarksNumbersID", item.package_marks.as_deref());
                x.leaf("QuantityQuantity", item.packages_count.as_deref());
                x.leaf("TypeCode", item.package_kind.as_deref());
            });
        }
        for d in &item.previous_documents {
            write_document_ref(x, "PreviousDocument", d);
        }
    });
}

/// Refuses drafts with values DEC-DMS has no element for, instead of dropping them.
fn check_representable(d: &DeclarationDraft) -> Result<(), Unrepresentable> {
    let some = |v: &Option<String>, field: &str| match v {
        Some(_) => Err(format!("{field} has no element in DEC-DMS")),
        None => Ok(()),
    };
    if d.outcome.is_some() {
        return Err("outcome has no element in a DEC-DMS declaration (it belongs to RES)".into());
    }
    let t = &d.transport;
    some(&t.unloading_place, "transport.unloading_place")?;
    some(&t.entry_office, "transport.entry_office")?;
    some(&t.departure_date, "transport.departure_date")?;
    some(&t.arrival_date, "transport.arrival_date")?;
    let h = &d.header;
    if h.invoice_currency.is_some() && h.invoice_total.is_none() {
        return Err("header.invoice_currency without header.invoice_total has no element".into());
    }
    if h.freight_currency.is_some() && h.freight_charge.is_none() {
        return Err("header.freight_currency without header.freight_charge has no element".into());
    }
    if h.valuation_method.is_some() && d.items.is_empty() {
        return Err("header.valuation_method is carried per goods item; there are no items".into());
    }
    if let Some(n) = d.items.iter().position(|i| i.sequence.is_empty()) {
        return Err(format!("items[{n}].sequence is required by DEC-DMS"));
    }
    for (i, p) in d.parties.iter().enumerate() {
        if !ROLES.contains(&p.role.as_str()) {
            return Err(format!(
                "parties[{i}].role {:?} has no element in DEC-DMS",
                p.role
            ));
        }
        if d.parties.iter().filter(|q| q.role == p.role).count() > 1 {
            return Err(format!(
                "parties: DEC-DMS carries one party of role {}",
                p.role
            ));
        }
        if p.role != "AE" && p.function_code.is_some() {
            return Err(format!(
                "parties[{i}].function_code is only carried for role AE"
            ));
        }
        if p.id.is_none() && p.id_scheme.is_some() {
            return Err(format!(
                "parties[{i}].id_scheme without an id has no element"
            ));
        }
    }
    // Parties come back in schema order; a draft in another order would not round-trip.
    let order: Vec<usize> = d
        .parties
        .iter()
        .filter_map(|p| ROLES.iter().position(|r| *r == p.role))
        .collect();
    if order.windows(2).any(|w| w[0] > w[1]) {
        return Err(format!(
            "parties must be in DEC-DMS order {}",
            ROLES.join(", ")
        ));
    }
    for (n, item) in d.items.iter().enumerate() {
        let has_amount = item.item_price.is_some()
            || item.customs_value.is_some()
            || item.statistical_value.is_some();
        if item.value_currency.is_some() && !has_amount {
            return Err(format!(
                "items[{n}].value_currency without an amount has no element"
            ));
        }
        if item.quantity_unit.is_some() && item.quantity.is_none() {
            return Err(format!(
                "items[{n}].quantity_unit without quantity has no element"
            ));
        }
        for (k, duty) in item.duties.iter().enumerate() {
            if duty.currency.is_some() && duty.base.is_none() && duty.assessed.is_none() {
                return Err(format!(
                    "items[{n}].duties[{k}].currency without an amount has no element"
                ));
            }
        }
    }
    Ok(())
}

/// ISO 8601 (`YYYY-MM-DD`, or `YYYY-MM-DDThh:mm:ss` with `Z` or `±hh:00`) to the WCO
/// `formatCode` and value.
fn wco_date_time(v: &str, field: &str) -> Result<(&'static str, String), Unrepresentable> {
    let err = || format!("{field} {v:?} is not a date or date-time DEC-DMS can carry");
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        v.get(r.clone())
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .ok_or_else(err)
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(err());
    }
    let date = format!("{}{}{}", digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if b.len() == 10 {
        return Ok(("102", date));
    }
    if b.len() < 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return Err(err());
    }
    let time = format!("{}{}{}", digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let zone = match v.get(19..) {
        Some("Z") => "Z".to_owned(),
        Some(z)
            if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && z.ends_with(":00") =>
        {
            format!("{}{}", &z[..1], digits(20..22)?)
        }
        _ => return Err(err()),
    };
    Ok(("304", format!("{date}{time}{zone}")))
}
