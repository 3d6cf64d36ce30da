//! The CUSDEC ⇄ [`DeclarationDraft`] mapping: one table, read in both directions.
//!
//! [`to_segments`] writes the segments between `UNH` and `UNT` in directory order;
//! [`DraftBuilder`] takes segments one at a time, with the group each sits in, and fills a
//! draft. Keeping both directions in one file is what keeps the round trip honest. The
//! slots chosen for each field are listed in the parent module's documentation.

use caravan_domain::declaration::draft::{
    AmendmentDraft, DeclarationDraft, DocumentDraft, DutyDraft, EquipmentDraft, GoodsItemDraft,
    PartyDraft,
};

use super::structure::Placement;
use super::syntax::Segment;

/// UN 1153 reference qualifiers for transport documents, with their UN 1001 type.
const TRANSPORT_REFS: [(&str, &str); 6] = [
    ("BM", "705"),
    ("MB", "704"),
    ("BH", "714"),
    ("AWB", "740"),
    ("MWB", "741"),
    ("HWB", "703"),
];

/// Marker in DOC C002/1000 that tells a previous document from an additional one.
const PREVIOUS_MARKER: &str = "PREVIOUS";

/// Splits `s` into pieces of at most `width` characters, at most `max` pieces; the last
/// piece takes any remainder, so joining the pieces always gives `s` back.
fn chunks(s: &str, width: usize, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut n = 0;
    for ch in s.chars() {
        if n == width && out.len() + 1 < max {
            out.push(std::mem::take(&mut current));
            n = 0;
        }
        current.push(ch);
        n += 1;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// Joins the first `count` components of element `position`; `None` if all are empty.
fn joined(seg: &Segment, position: usize, count: usize) -> Option<String> {
    let element = seg.elements.get(position.checked_sub(1)?)?;
    let s: String = element.iter().take(count).map(String::as_str).collect();
    (!s.is_empty()).then_some(s)
}

/// ISO 8601 date `YYYY-MM-DD` goes out as format 102; anything else verbatim as `ZZZ`.
fn dtm(qualifier: &str, value: &str) -> Segment {
    let b = value.as_bytes();
    let is_date = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if is_date {
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        Segment::new("DTM").el(&[qualifier, &digits, "102"])
    } else {
        Segment::new("DTM").el(&[qualifier, value, "ZZZ"])
    }
}

/// The inverse of [`dtm`], also reading the common 203 and 204 formats.
fn read_dtm(seg: &Segment) -> Option<String> {
    let value = seg.get(1, 1);
    let digits = value.len() >= 8 && value.bytes().all(|b| b.is_ascii_digit());
    let s = match (seg.get(1, 2), value.len()) {
        ("102", 8) if digits => format!("{}-{}-{}", &value[..4], &value[4..6], &value[6..8]),
        ("203", 12) if digits => format!(
            "{}-{}-{}T{}:{}",
            &value[..4],
            &value[4..6],
            &value[6..8],
            &value[8..10],
            &value[10..12]
        ),
        ("204", 14) if digits => format!(
            "{}-{}-{}T{}:{}:{}",
            &value[..4],
            &value[4..6],
            &value[6..8],
            &value[8..10],
            &value[10..12],
            &value[12..14]
        ),
        _ => value.to_owned(),
    };
    (!s.is_empty()).then_some(s)
}

fn gis(code: &str, qualifier: &str) -> Segment {
    Segment::new("GIS").el(&[code, qualifier])
}

fn loc(qualifier: &str, place: &str) -> Segment {
    Segment::new("LOC").e(qualifier).e(place)
}

fn doc(d: &DocumentDraft, marker: &str) -> Segment {
    Segment::new("DOC")
        .el(&[opt(&d.type_code), opt(&d.category), "", marker])
        .e(&d.id)
}

fn read_doc(seg: &Segment) -> DocumentDraft {
    DocumentDraft {
        id: seg.get(2, 0).to_owned(),
        type_code: seg.opt(1, 0),
        category: seg.opt(1, 1),
    }
}

fn moa(qualifier: &str, amount: &Option<String>, currency: &Option<String>) -> Segment {
    Segment::new("MOA").el(&[qualifier, opt(amount), opt(currency)])
}

/// The segments of one message between `UNH` and `UNT`, in directory order.
pub(crate) fn to_segments(d: &DeclarationDraft) -> Vec<Segment> {
    let h = &d.header;
    let t = &d.transport;
    let mut out = Vec::new();
    let doc_code = if h.type_code.starts_with("EX") {
        "830"
    } else {
        "929"
    };
    out.push(
        Segment::new("BGM")
            .e(doc_code)
            .e(&h.lrn)
            .e(&h.function_code),
    );
    // Always written, even empty: a header CST means "the type is exactly this".
    out.push(Segment::new("CST").e("").e(&h.type_code));

    let mut places: Vec<(&str, &Option<String>)> = vec![
        ("91", &h.place_of_issue),
        ("22", &h.declaration_office),
        ("14", &t.goods_location),
        ("9", &t.loading_place),
        ("11", &t.unloading_place),
        ("35", &t.dispatch_country),
        ("28", &t.destination_country),
    ];
    let routing: Vec<Option<String>> = t.routing_countries.iter().cloned().map(Some).collect();
    places.extend(routing.iter().map(|c| ("92", c)));
    places.extend([
        ("41", &t.entry_office),
        ("42", &t.exit_office),
        ("ZSU", &t.supervising_office),
        ("ZPR", &t.presentation_office),
    ]);
    for (q, v) in places {
        if let Some(v) = v {
            out.push(loc(q, v));
        }
    }

    for (q, v) in [
        ("137", &h.issued_at),
        ("148", &h.accepted_at),
        ("133", &t.departure_date),
        ("132", &t.arrival_date),
    ] {
        if let Some(v) = v {
            out.push(dtm(q, v));
        }
    }

    for (q, v) in [
        ("122", &h.valuation_method),
        ("103", &h.nature_of_transaction),
        ("098", &h.freight_payment_method),
    ] {
        if let Some(v) = v {
            out.push(gis(v, q));
        }
    }
    match &t.container_indicator {
        Some(v) => out.push(gis(v, "096")),
        // Says "not declared" explicitly, so a reader does not infer 1 from the EQDs.
        None if !t.equipment.is_empty() => out.push(gis("", "096")),
        None => {}
    }

    if let Some(mass) = &h.total_gross_mass {
        out.push(Segment::new("MEA").e("WT").e("AAD").el(&["KGM", mass]));
    }
    for e in &t.equipment {
        out.push(Segment::new("EQD").e("CN").e(&e.container_id));
    }
    for e in &t.equipment {
        for seal in &e.seals {
            out.push(Segment::new("SEL").e(seal).e("").e("").e(&e.container_id));
        }
    }
    for a in &d.amendments {
        out.push(
            Segment::new("FTX")
                .e("CHG")
                .e("")
                .e(opt(&a.change_reason))
                .el(&chunks(&a.pointer, 70, 5)),
        );
    }

    for (q, v) in [("ABT", &h.mrn), ("UCN", &h.ucr)] {
        if let Some(v) = v {
            out.push(Segment::new("RFF").el(&[q, v]));
        }
    }

    let means = |stage: &str,
                 mode: &Option<String>,
                 ty: &Option<String>,
                 id: &Option<String>,
                 nat: &Option<String>| {
        (mode.is_some() || ty.is_some() || id.is_some() || nat.is_some()).then(|| {
            Segment::new("TDT")
                .e(stage)
                .e("")
                .e(opt(mode))
                .e("")
                .e("")
                .e("")
                .e("")
                .el(&["", opt(ty), "", opt(id), opt(nat)])
        })
    };
    let none = None;
    out.extend(means(
        "11",
        &t.border_mode,
        &t.border_means_type,
        &t.border_means_id,
        &t.border_means_nationality,
    ));
    out.extend(means(
        "12",
        &t.inland_mode,
        &none,
        &t.departure_means_id,
        &none,
    ));
    out.extend(means(
        "13",
        &none,
        &t.arrival_means_type,
        &t.arrival_means_id,
        &none,
    ));

    for document in &t.documents {
        out.push(doc(document, ""));
    }

    for p in &d.parties {
        let a = &p.address;
        let name = chunks(opt(&p.name), 35, 5);
        let street = chunks(opt(&a.line), 35, 4);
        out.push(
            Segment::new("NAD")
                .e(&p.role)
                .el(&[opt(&p.id), "", opt(&p.id_scheme)])
                .e("")
                .el(&name)
                .el(&street)
                .e(opt(&a.city))
                .e(opt(&a.subdivision))
                .e(opt(&a.postcode))
                .e(opt(&a.country)),
        );
        if let Some(f) = &p.function_code {
            out.push(Segment::new("RFF").el(&["ZRF", f]));
        }
    }

    if h.delivery_terms.is_some() || h.delivery_place.is_some() {
        out.push(Segment::new("TOD").e("").e("").e(opt(&h.delivery_terms)));
        if let Some(place) = &h.delivery_place {
            out.push(loc("1", place));
        }
    }

    if h.invoice_total.is_some() || h.invoice_currency.is_some() {
        out.push(moa("39", &h.invoice_total, &None));
        if let Some(c) = &h.invoice_currency {
            out.push(Segment::new("CUX").el(&["2", c, "4"]));
        }
    }
    if h.freight_charge.is_some() || h.freight_currency.is_some() {
        out.push(moa("64", &h.freight_charge, &h.freight_currency));
    }

    out.push(Segment::new("UNS").e("D"));
    for item in &d.items {
        item_segments(item, &mut out);
    }
    out.push(Segment::new("UNS").e("S"));
    if let Some(n) = &h.goods_item_count {
        out.push(Segment::new("CNT").el(&["5", n]));
    }
    if let Some(n) = &h.total_packages {
        out.push(Segment::new("CNT").el(&["11", n]));
    }
    out
}

fn item_segments(item: &GoodsItemDraft, out: &mut Vec<Segment>) {
    out.push(
        Segment::new("CST")
            .e(&item.sequence)
            .el(&[opt(&item.commodity_code), opt(&item.classification_type)]),
    );
    if let Some(desc) = &item.description {
        out.push(
            Segment::new("FTX")
                .e("AAA")
                .e("")
                .e("")
                .el(&chunks(desc, 70, 5)),
        );
    }
    if let Some(origin) = &item.origin_country {
        out.push(loc("27", origin));
    }
    if let Some(m) = &item.gross_mass {
        out.push(Segment::new("MEA").e("WT").e("AAE").el(&["KGM", m]));
    }
    if let Some(m) = &item.net_mass {
        out.push(Segment::new("MEA").e("WT").e("AAF").el(&["KGM", m]));
    }
    if item.quantity.is_some() || item.quantity_unit.is_some() {
        out.push(
            Segment::new("MEA")
                .e("AAE")
                .e("ZSU")
                .el(&[opt(&item.quantity_unit), opt(&item.quantity)]),
        );
    }
    if item.packages_count.is_some() || item.package_kind.is_some() || item.package_marks.is_some()
    {
        out.push(
            Segment::new("PAC")
                .e(opt(&item.packages_count))
                .e("")
                .e(opt(&item.package_kind)),
        );
        if let Some(marks) = &item.package_marks {
            out.push(Segment::new("PCI").e("").el(&chunks(marks, 35, 10)));
        }
    }
    let amounts = [
        ("38", &item.item_price),
        ("40", &item.customs_value),
        ("123", &item.statistical_value),
    ];
    if amounts.iter().all(|(_, v)| v.is_none()) {
        if item.value_currency.is_some() {
            out.push(moa("38", &None, &item.value_currency));
        }
    } else {
        for (q, v) in amounts {
            if v.is_some() {
                out.push(moa(q, v, &item.value_currency));
            }
        }
    }
    for d in &item.previous_documents {
        out.push(doc(d, PREVIOUS_MARKER));
    }
    for d in &item.additional_documents {
        out.push(doc(d, ""));
    }
    let mut codes: Vec<(&str, &str)> = Vec::new();
    if let Some(p) = &item.procedure {
        codes.push((p, "166"));
    }
    if let Some(p) = &item.previous_procedure {
        codes.push((p, "161"));
    }
    codes.extend(
        item.additional_procedures
            .iter()
            .map(|p| (p.as_str(), "ADP")),
    );
    for (q, v) in [
        ("501", &item.origin_type),
        ("103", &item.nature_of_transaction),
        ("506", &item.un_dangerous_goods),
    ] {
        if let Some(v) = v {
            codes.push((v, q));
        }
    }
    out.extend(codes.into_iter().map(|(v, q)| gis(v, q)));
    for duty in &item.duties {
        out.push(
            Segment::new("TAX")
                .e("7")
                .e(&duty.tax_type)
                .e("")
                .e(opt(&duty.base))
                .el(&["", "", "", opt(&duty.rate)]),
        );
        if duty.assessed.is_some() || duty.currency.is_some() {
            out.push(moa("161", &duty.assessed, &duty.currency));
        }
        if let Some(m) = &duty.payment_method {
            out.push(gis(m, "107"));
        }
    }
}

/// Fills a draft from a message's segments, one at a time.
#[derive(Debug, Default)]
pub(crate) struct DraftBuilder {
    draft: DeclarationDraft,
    header_cst: bool,
    document_code: String,
    container_gis: bool,
    last_moa: String,
    counted_gross: Option<String>,
}

impl DraftBuilder {
    /// Takes the next segment, placed by the structure validator.
    pub(crate) fn push(&mut self, seg: &Segment, at: Placement) {
        let d = &mut self.draft;
        match (at.top, at.inner, seg.tag.as_str()) {
            ("", _, "BGM") => {
                self.document_code = seg.get(1, 0).to_owned();
                d.header.lrn = seg.get(2, 0).to_owned();
                d.header.function_code = seg.get(3, 0).to_owned();
            }
            ("", _, "CST") => {
                self.header_cst = true;
                d.header.type_code = seg.get(2, 0).to_owned();
            }
            ("", _, "LOC") => {
                let v = seg.opt(2, 0);
                let (h, t) = (&mut d.header, &mut d.transport);
                match seg.get(1, 0) {
                    "91" => h.place_of_issue = v,
                    "22" => h.declaration_office = v,
                    "14" => t.goods_location = v,
                    "9" => t.loading_place = v,
                    "11" => t.unloading_place = v,
                    "35" => t.dispatch_country = v,
                    "28" => t.destination_country = v,
                    "36" if t.destination_country.is_none() => t.destination_country = v,
                    "92" => t.routing_countries.push(seg.get(2, 0).to_owned()),
                    "41" => t.entry_office = v,
                    "42" => t.exit_office = v,
                    "ZSU" => t.supervising_office = v,
                    "ZPR" => t.presentation_office = v,
                    _ => {}
                }
            }
            ("", _, "DTM") => {
                let v = read_dtm(seg);
                match seg.get(1, 0) {
                    "137" => d.header.issued_at = v,
                    "148" => d.header.accepted_at = v,
                    "133" => d.transport.departure_date = v,
                    "132" => d.transport.arrival_date = v,
                    _ => {}
                }
            }
            ("", _, "GIS") => {
                let v = seg.opt(1, 0);
                match seg.get(1, 1) {
                    "122" => d.header.valuation_method = v,
                    "103" => d.header.nature_of_transaction = v,
                    "098" => d.header.freight_payment_method = v,
                    "096" => {
                        self.container_gis = true;
                        d.transport.container_indicator = v;
                    }
                    _ => {}
                }
            }
            ("", _, "MEA") if matches!(seg.get(2, 0), "AAD" | "G") => {
                d.header.total_gross_mass = seg.opt(3, 1);
            }
            ("", _, "EQD") => d.transport.equipment.push(EquipmentDraft {
                container_id: seg.get(2, 0).to_owned(),
                seals: Vec::new(),
            }),
            ("", _, "SEL") => {
                let container = seg.get(4, 0);
                let equipment = &mut d.transport.equipment;
                let at = match equipment.iter().position(|e| e.container_id == container) {
                    Some(i) => i,
                    None if equipment.is_empty() => {
                        equipment.push(EquipmentDraft {
                            container_id: container.to_owned(),
                            seals: vec![],
                        });
                        0
                    }
                    None => equipment.len() - 1,
                };
                equipment[at].seals.push(seg.get(1, 0).to_owned());
            }
            ("", _, "FTX") if seg.get(1, 0) == "CHG" => d.amendments.push(AmendmentDraft {
                change_reason: seg.opt(3, 0),
                pointer: joined(seg, 4, 5).unwrap_or_default(),
            }),
            ("", _, "CNT") => match seg.get(1, 0) {
                "5" => d.header.goods_item_count = seg.opt(1, 1),
                "11" => d.header.total_packages = seg.opt(1, 1),
                "7" => self.counted_gross = seg.opt(1, 1),
                _ => {}
            },
            ("SG1", _, "RFF") => {
                let (q, v) = (seg.get(1, 0), seg.opt(1, 1));
                match q {
                    "ABT" => d.header.mrn = v,
                    "UCN" => d.header.ucr = v,
                    "AAQ" => {
                        let id = v.unwrap_or_default();
                        if !d.transport.equipment.iter().any(|e| e.container_id == id) {
                            d.transport.equipment.push(EquipmentDraft {
                                container_id: id,
                                seals: vec![],
                            });
                        }
                    }
                    _ => {
                        if let Some((_, ty)) = TRANSPORT_REFS.iter().find(|(r, _)| *r == q) {
                            d.transport.documents.push(DocumentDraft {
                                id: v.unwrap_or_default(),
                                type_code: Some((*ty).to_owned()),
                                category: None,
                            });
                        }
                    }
                }
            }
            ("SG4", _, "TDT") => {
                let mode = seg.opt(3, 0);
                let ty = seg.opt(8, 1);
                let id = seg.opt(8, 3).or_else(|| seg.opt(8, 0));
                let t = &mut d.transport;
                match seg.get(1, 0) {
                    "11" => {
                        t.border_mode = mode;
                        t.border_means_type = ty;
                        t.border_means_id = id;
                        t.border_means_nationality = seg.opt(8, 4);
                    }
                    "12" => {
                        t.inland_mode = mode;
                        t.departure_means_id = id;
                    }
                    "13" => {
                        t.arrival_means_type = ty;
                        t.arrival_means_id = id;
                    }
                    _ => {}
                }
            }
            ("SG5", "SG5", "DOC") => d.transport.documents.push(read_doc(seg)),
            ("SG6", _, "NAD") => {
                let mut p = PartyDraft {
                    role: seg.get(1, 0).to_owned(),
                    id: seg.opt(2, 0),
                    id_scheme: seg.opt(2, 2),
                    name: joined(seg, 4, 5),
                    ..PartyDraft::default()
                };
                p.address.line = joined(seg, 5, 4);
                p.address.city = seg.opt(6, 0);
                p.address.subdivision = seg.opt(7, 0);
                p.address.postcode = seg.opt(8, 0);
                p.address.country = seg.opt(9, 0);
                d.parties.push(p);
            }
            ("SG6", _, "RFF") if seg.get(1, 0) == "ZRF" => {
                if let Some(p) = d.parties.last_mut() {
                    p.function_code = seg.opt(1, 1);
                }
            }
            ("SG7", _, "TOD") => d.header.delivery_terms = seg.opt(3, 0),
            ("SG7", _, "LOC") => d.header.delivery_place = seg.opt(2, 0),
            ("SG8", _, "MOA") => {
                self.last_moa = seg.get(1, 0).to_owned();
                let (amount, currency) = (seg.opt(1, 1), seg.opt(1, 2));
                match seg.get(1, 0) {
                    "39" => {
                        d.header.invoice_total = amount;
                        if currency.is_some() {
                            d.header.invoice_currency = currency;
                        }
                    }
                    "64" => {
                        d.header.freight_charge = amount;
                        d.header.freight_currency = currency;
                    }
                    _ => {}
                }
            }
            ("SG8", "SG9", "CUX") => match self.last_moa.as_str() {
                "39" => d.header.invoice_currency = seg.opt(1, 1),
                "64" => d.header.freight_currency = seg.opt(1, 1),
                _ => {}
            },
            ("SG30", "SG30", "CST") => d.items.push(GoodsItemDraft {
                sequence: seg.get(1, 0).to_owned(),
                commodity_code: seg.opt(2, 0),
                classification_type: seg.opt(2, 1),
                ..GoodsItemDraft::default()
            }),
            ("SG30", inner, tag) => {
                if let Some(item) = d.items.last_mut() {
                    push_item(item, inner, tag, seg);
                }
            }
            _ => {}
        }
    }

    /// The draft, with the values that depend on the whole message settled.
    pub(crate) fn finish(mut self) -> DeclarationDraft {
        let h = &mut self.draft.header;
        if !self.header_cst {
            h.type_code = match self.document_code.as_str() {
                "929" => "IM".to_owned(),
                "830" => "EX".to_owned(),
                _ => String::new(),
            };
        }
        if h.total_gross_mass.is_none() {
            h.total_gross_mass = self.counted_gross;
        }
        let t = &mut self.draft.transport;
        if !self.container_gis && !t.equipment.is_empty() {
            t.container_indicator = Some("1".to_owned());
        }
        self.draft
    }
}

fn push_item(item: &mut GoodsItemDraft, inner: &str, tag: &str, seg: &Segment) {
    match (inner, tag) {
        ("SG30", "FTX") if seg.get(1, 0) == "AAA" => item.description = joined(seg, 4, 5),
        ("SG30", "LOC") if seg.get(1, 0) == "27" => item.origin_country = seg.opt(2, 0),
        ("SG30", "MEA") => match seg.get(2, 0) {
            "AAE" | "G" => item.gross_mass = seg.opt(3, 1),
            "AAF" | "N" => item.net_mass = seg.opt(3, 1),
            "ZSU" => {
                item.quantity_unit = seg.opt(3, 0);
                item.quantity = seg.opt(3, 1);
            }
            _ => {}
        },
        ("SG31", "PAC") => {
            item.packages_count = seg.opt(1, 0);
            item.package_kind = seg.opt(3, 0);
        }
        ("SG32", "PCI") => item.package_marks = joined(seg, 2, 10),
        ("SG33", "MOA") => {
            let amount = seg.opt(1, 1);
            match seg.get(1, 0) {
                "38" => item.item_price = amount,
                "40" => item.customs_value = amount,
                "123" => item.statistical_value = amount,
                _ => return,
            }
            if item.value_currency.is_none() {
                item.value_currency = seg.opt(1, 2);
            }
        }
        ("SG34", "CUX") if item.value_currency.is_none() => item.value_currency = seg.opt(1, 1),
        ("SG35", "RFF") if seg.get(1, 0) == "ABD" && item.commodity_code.is_none() => {
            item.commodity_code = seg.opt(1, 1);
        }
        ("SG37", "DOC") => {
            if seg.get(1, 3) == PREVIOUS_MARKER {
                item.previous_documents.push(read_doc(seg));
            } else {
                item.additional_documents.push(read_doc(seg));
            }
        }
        ("SG40", "GIS") => {
            let v = seg.opt(1, 0);
            match seg.get(1, 1) {
                "166" => item.procedure = v,
                "161" => item.previous_procedure = v,
                "ADP" => item.additional_procedures.push(seg.get(1, 0).to_owned()),
                "501" => item.origin_type = v,
                "103" => item.nature_of_transaction = v,
                "506" => item.un_dangerous_goods = v,
                _ => {}
            }
        }
        ("SG41", "TAX") => item.duties.push(DutyDraft {
            tax_type: seg.get(2, 0).to_owned(),
            base: seg.opt(4, 0),
            rate: seg.opt(5, 3),
            ..DutyDraft::default()
        }),
        ("SG41", "MOA") if seg.get(1, 0) == "161" => {
            if let Some(duty) = item.duties.last_mut() {
                duty.assessed = seg.opt(1, 1);
                duty.currency = seg.opt(1, 2);
            }
        }
        ("SG41", "GIS") if seg.get(1, 1) == "107" => {
            if let Some(duty) = item.duties.last_mut() {
                duty.payment_method = seg.opt(1, 0);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_rejoin_exactly() {
        let s = "é".repeat(200);
        let parts = chunks(&s, 35, 5);
        assert_eq!(parts.len(), 5);
        assert_eq!(parts.concat(), s);
        assert_eq!(chunks("abc", 35, 5), vec!["abc"]);
        assert!(chunks("", 35, 5).is_empty());
    }

    #[test]
    fn dates_use_102_when_plain() {
        let s = dtm("137", "2021-03-22");
        assert_eq!(s.get(1, 1), "20210322");
        assert_eq!(read_dtm(&s).as_deref(), Some("2021-03-22"));
        let s = dtm("137", "2021-03-22T10:00:00+01:00");
        assert_eq!(read_dtm(&s).as_deref(), Some("2021-03-22T10:00:00+01:00"));
    }
}
