//! WCO DEC-DMS XML, the syntax of HMRC's Customs Declarations API (spec 5.2).
//!
//! Why it looks the way it does:
//!
//! - **Schema first, then mapping.** A DEC-DMS document that is not schema-valid cannot be
//!   interpreted reliably (a misplaced element silently means something else), so
//!   [`read_document`] validates the whole tree against the embedded HMRC schema set
//!   ([`super::wco_xsd`]) before a single field is mapped. The mapping code can then
//!   assume order and cardinality and stays a plain table.
//! - **Namespace-aware, prefix-blind.** Partners use any prefixes (`md:`, default
//!   namespace, `p1:`); only the namespace URI counts. Comments are ignored; the HMRC
//!   samples' `<!-- DE x/y -->` comments are read only by the mapping test.
//! - **One document per input.** XML has no record framing, so [`reader`] reads one whole
//!   document (at most [`MAX_DOCUMENT_BYTES`], `XML_TOO_LARGE` beyond) and yields one
//!   record; callers iterate every syntax the same way.
//! - **No silent loss on write.** [`write_document`] refuses a draft value DEC-DMS has no
//!   element for (error kind `InvalidInput`, naming the field) rather than dropping it,
//!   and validates its own output against the schema before writing a byte, so what it
//!   emits is always schema-valid.
//! - **Values are not judged here.** Check digits, code lists and counts belong to the
//!   domain validator; this module only moves strings. Values of `xs:token` and
//!   `xs:decimal` elements are white-space-collapsed (that is their schema meaning);
//!   text and identifier values are kept exactly as declared.
//!
//! # Mapping table
//!
//! Paths are below `Declaration`; `GS` = `GoodsShipment`, `GAGI` =
//! `GS/GovernmentAgencyGoodsItem`. "read" lists fall-backs in order.
//!
//! | Draft field | DEC-DMS element | UCC DE |
//! |---|---|---|
//! | `header.function_code` | `FunctionCode` | – |
//! | `header.lrn` | `FunctionalReferenceID` | 2/5 |
//! | `header.mrn` | `ID` | – |
//! | `header.type_code` | `TypeCode` | 1/1 + 1/2 |
//! | `header.issued_at`, `accepted_at` | `IssueDateTime`, `AcceptanceDateTime` / `DateTimeString` (formatCode 102 ↔ `YYYY-MM-DD`, 304 ↔ `YYYY-MM-DDThh:mm:ss` + `Z` or `±hh:00`) | – |
//! | `header.place_of_issue` | `IssueLocationID` | – |
//! | `header.declaration_office` | `DeclarationOfficeID` | – |
//! | `header.goods_item_count` | `GoodsItemQuantity` | 1/9 |
//! | `header.total_packages` | `TotalPackageQuantity` | 6/18 |
//! | `header.total_gross_mass` | `TotalGrossMassMeasure` | – |
//! | `header.invoice_total`, `invoice_currency` | `InvoiceAmount`, its `currencyID` | 4/11, 4/10 |
//! | `header.ucr` | read `GS/UCR/ID`, else `GS/UCR/TraderAssignedReferenceID`; written as the latter | 2/4 |
//! | `header.delivery_terms`, `delivery_place` | `GS/TradeTerms/ConditionCode`, `LocationID` | 4/1 |
//! | `header.valuation_method` | `GAGI/CustomsValuation/MethodCode` of the first item that has one; written on every item | 4/16 |
//! | `header.nature_of_transaction` | `GS/TransactionNatureCode` | 8/5 |
//! | `header.freight_charge`, `freight_currency` | `GS/CustomsValuation/FreightChargeAmount`, its `currencyID` | – |
//! | `header.freight_payment_method` | `Consignment/Freight/PaymentMethodCode` | 4/2 |
//! | party AE (function code) | `Agent` (+ `FunctionCode`) | 3/19–3/21 |
//! | party CA | `Consignment/Carrier` | 3/31, 3/32 |
//! | party DT | `Declarant` | 3/17, 3/18 |
//! | party EX | `Exporter` | 3/1, 3/2 |
//! | party BY, CN, IM, SE | `GS/Buyer`, `GS/Consignee`, `GS/Importer`, `GS/Seller` | 3/26, 3/9, 3/15, 3/24 |
//! | party CZ | read `GS/Consignor`, else `Consignment/Consignor`; written to `GS/Consignor` | 3/7, 3/8 |
//! | party fields | `Name`, `ID` (+ `schemeID`, see below), `Address/Line`, `CityName`, `PostcodeID`, `CountryCode`, `CountrySubDivisionCode` | |
//! | `transport.container_indicator` | `GS/Consignment/ContainerCode` | 7/2 |
//! | `transport.equipment` | `GS/Consignment/TransportEquipment/ID` + `Seal/ID` (sequence numbers regenerated) | 7/10, 7/18 |
//! | `transport.border_mode`, `border_means_id`, `border_means_type`, `border_means_nationality` | `BorderTransportMeans/ModeCode`, `ID`, `IdentificationTypeCode`, `RegistrationNationalityCode` | 7/4, 7/14, 7/15 |
//! | `transport.inland_mode` | read `GS/Consignment/ArrivalTransportMeans/ModeCode`, else `DepartureTransportMeans/ModeCode`; written to the departure means only when a departure means and no arrival means is declared | 7/5 |
//! | `transport.arrival_means_id`, `arrival_means_type` | `GS/Consignment/ArrivalTransportMeans/ID`, `IdentificationTypeCode` | 7/9 |
//! | `transport.departure_means_id` | `GS/Consignment/DepartureTransportMeans/ID` | 7/7 |
//! | `transport.documents` | `GS/PreviousDocument` (`ID`, `TypeCode`, `CategoryCode`) | 2/1 |
//! | `transport.goods_location` | read `GS/Consignment/GoodsLocation/Name` (where HMRC puts the code), else `ID`; written to `Name` | 5/23 |
//! | `transport.loading_place` | `GS/Consignment/LoadingLocation/ID` | 5/21 |
//! | `transport.dispatch_country` | `GS/ExportCountry/ID`, else the first item's `ExportCountry/ID` | 5/14 |
//! | `transport.destination_country` | `GS/Destination/CountryCode`, else the first item's | 5/8 |
//! | `transport.routing_countries` | `Consignment/Itinerary/RoutingCountryCode`, in order | 5/18 |
//! | `transport.exit_office`, `supervising_office`, `presentation_office` | `ExitOffice/ID`, `SupervisingOffice/ID`, `PresentationOffice/ID` | 5/12, 5/27, 5/26 |
//! | `items[].sequence` | `GAGI/SequenceNumeric` | 1/6 |
//! | `items[].commodity_code`, `classification_type` | first `Commodity/Classification` whose `IdentificationTypeCode` is not TRC, TRA or CV: `ID`, `IdentificationTypeCode` | 6/14 |
//! | `items[].description` | `Commodity/Description` | 6/8 |
//! | `items[].origin_country`, `origin_type` | first `Origin/CountryCode`, `TypeCode` | 5/15, 5/16 |
//! | `items[].gross_mass`, `net_mass` | `Commodity/GoodsMeasure/GrossMassMeasure`, `NetNetWeightMeasure` | 6/5, 6/1 |
//! | `items[].quantity`, `quantity_unit` | `Commodity/GoodsMeasure/TariffQuantity`, its `unitCode` | 6/2 |
//! | `items[].packages_count`, `package_kind`, `package_marks` | first `Packaging/QuantityQuantity`, `TypeCode`, `MarksNumbersID` | 6/10, 6/9, 6/11 |
//! | `items[].item_price` | `Commodity/InvoiceLine/ItemChargeAmount` | 4/14 |
//! | `items[].customs_value`, `statistical_value` | `CustomsValueAmount`, `StatisticalValueAmount` | –, 8/6 |
//! | `items[].value_currency` | `currencyID` of the item price, else customs value, else statistical value; written on all three | |
//! | `items[].procedure`, `previous_procedure` | first `GovernmentProcedure/CurrentCode`, `PreviousCode` | 1/10 |
//! | `items[].additional_procedures` | `CurrentCode` of the following `GovernmentProcedure`s | 1/11 |
//! | `items[].duties` | `Commodity/DutyTaxFee`: `TypeCode` → tax_type, `AdValoremTaxBaseAmount` → base, `DutyRegimeCode` → rate (WCO 164), `Payment/TaxAssessedAmount` → assessed, its `currencyID` → currency, `Payment/MethodCode` → payment_method | 4/3, 4/4, 4/17, 4/6, 4/8 |
//! | `items[].previous_documents`, `additional_documents` | `GAGI/PreviousDocument`, `GAGI/AdditionalDocument` | 2/1, 2/3 |
//! | `items[].un_dangerous_goods` | `Commodity/DangerousGoods/UNDGID` | – |
//! | `items[].nature_of_transaction` | `GAGI/TransactionNatureCode` | 8/5 |
//! | `amendments[]` | one per `Amendment`: `ChangeReasonCode` → change_reason, its `Pointer`s → pointer | – |
//!
//! **Amendment pointers.** `AmendmentDraft::pointer` is the `Pointer` elements of one
//! `Amendment` in document order, joined by `/`. Each pointer is its
//! `DocumentSectionCode`, then `:` and its `SequenceNumeric` when present, then `#` and
//! its `TagID` when present; `%`, `/`, `:` and `#` inside a value are written `%25`,
//! `%2F`, `%3A`, `%23`. Example: `42A:1/57A:2#R031` (the exporter name, tag R031, of
//! the declaration).
//!
//! **Party identifier scheme.** DEC-DMS identifiers are `udt:IDType`, whose `schemeID`
//! attribute carries the scheme. HMRC documents never set it, so on reading a missing
//! `schemeID` is inferred from the identifier's shape: an EORI shape (two capital
//! letters and 1–15 capital letters or digits, at most 17 characters, which covers the
//! GB/XI EORIs of the samples) gives `EORI`, anything else `OTHER`. On writing,
//! `schemeID` is emitted only when the draft's scheme differs from that inference, so
//! HMRC-style output stays unchanged and every scheme round-trips exactly.
//!
//! # Not carried
//!
//! Read but not mapped (the draft has no field): `AuthorisationHolder`,
//! `ObligationGuarantee`, `AdditionalInformation` (including its amendment pointers and
//! free-text reasons), header-level `AdditionalDocument` (e.g. the deferment account),
//! `Submitter`, `Warehouse`, `CurrencyExchange`, `PreviousDocument/LineNumeric`,
//! `AdditionalDocument/Name`, `LPCOExemptionCode` and `WriteOff`, classifications other
//! than the main one (TARIC, additional and CUS codes), origins and packagings after the
//! first, `ValuationAdjustment/AdditionCode` (DE 4/13), `DutyTaxFee` quantities, rates
//! and payment amounts, `DepartureTransportMeans/IdentificationTypeCode`, `GoodsLocation`
//! type and address, the goods-item link to equipment, `unitCode` on masses (kilograms
//! are assumed), and all of `MetaData` except the wrapped declaration.
//!
//! Draft values DEC-DMS has no element for, refused by [`write_document`]:
//! `transport.unloading_place`, `transport.entry_office`, `transport.departure_date`,
//! `transport.arrival_date`, `outcome`, parties of roles other than AE, CA, DT, EX, BY,
//! CN, CZ, IM, SE or more than one per role, `function_code` on parties other than AE,
//! an `id_scheme` without an `id`, currencies without their amount, a `quantity_unit`
//! without `quantity`, `header.valuation_method` on a draft without items, and
//! date-times that are not in one of the two forms above. Parties must be in the role
//! order above, which is the order [`read_document`] returns them in.

use std::io::{self, Read, Write};

use caravan_domain::declaration::draft::DeclarationDraft;

use crate::error::{Locator, SourceRecord, SyntaxError};
use crate::format::wco_xsd;

pub(crate) mod dom;
mod map;
mod write;

/// Largest document [`reader`] and [`read_document`] accept.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// Namespace of the `MetaData` wrapper.
pub const MD_NS: &str = "urn:wco:datamodel:WCO:DocumentMetaData-DMS:2";
/// Namespace of the `Declaration` and its elements.
pub const DEC_NS: &str = "urn:wco:datamodel:WCO:DEC-DMS:2";
/// Namespace of the data-structure elements (`DateTimeString`).
pub const DS_NS: &str = "urn:wco:datamodel:WCO:Declaration_DS:DMS:2";

fn at_line(line: u64) -> Locator {
    Locator { line, record: 1 }
}

/// Reads one DEC-DMS document: a `MetaData` wrapper around one `Declaration`, or a bare
/// `Declaration`. The document is checked for size, UTF-8, well-formedness, root and
/// schema, in that order, before it is mapped.
pub fn read_document(bytes: &[u8]) -> Result<SourceRecord, SyntaxError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(SyntaxError::new(
            "XML_TOO_LARGE",
            at_line(1),
            format!("document exceeds {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    let text = utf8(bytes)?;
    let root = dom::parse(text)?;
    let declaration = if root.ns == MD_NS && root.name == "MetaData" {
        root.children
            .iter()
            .find(|c| c.ns == DEC_NS && c.name == "Declaration")
    } else if root.ns == DEC_NS && root.name == "Declaration" {
        Some(&root)
    } else {
        None
    };
    let not_wco = || {
        SyntaxError::new(
            "XML_NOT_WCO",
            at_line(root.line),
            format!("root must be MetaData in {MD_NS} or Declaration in {DEC_NS}"),
        )
        .field(format!("/{}", root.name))
        .value(&root.ns)
    };
    if declaration.is_none() && !(root.ns == MD_NS && root.name == "MetaData") {
        return Err(not_wco());
    }
    wco_xsd::validate(&root)?;
    let declaration = declaration.ok_or_else(not_wco)?;
    Ok(SourceRecord {
        locator: at_line(declaration.line),
        draft: map::declaration(declaration),
    })
}

/// Checks the encoding: UTF-8 bytes (a BOM is skipped) and no other declared encoding.
fn utf8(bytes: &[u8]) -> Result<&str, SyntaxError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(SyntaxError::new(
            "XML_NOT_UTF8",
            at_line(1),
            "document is UTF-16; UTF-8 is required",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        SyntaxError::new(
            "XML_NOT_UTF8",
            at_line(line),
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let declared = text
        .strip_prefix("<?xml")
        .and_then(|r| r.split_once("?>"))
        .and_then(|(d, _)| declared_encoding(d));
    if let Some(enc) = declared
        && !enc.eq_ignore_ascii_case("utf-8")
        && !enc.eq_ignore_ascii_case("utf8")
    {
        return Err(
            SyntaxError::new("XML_NOT_UTF8", at_line(1), "declared encoding is not UTF-8")
                .value(enc),
        );
    }
    Ok(text)
}

fn declared_encoding(decl: &str) -> Option<&str> {
    let rest = &decl[decl.find("encoding")? + "encoding".len()..];
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    rest[1..].split(quote).next()
}

/// Reads one document from `input` (at most [`MAX_DOCUMENT_BYTES`]) and yields it as a
/// single record, so callers can treat XML like the record-oriented syntaxes.
pub fn reader<R: Read>(input: R) -> impl Iterator<Item = Result<SourceRecord, SyntaxError>> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_DOCUMENT_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let result = match input.take(limit).read_to_end(&mut bytes) {
        Ok(_) => read_document(&bytes),
        Err(e) => Err(SyntaxError::new(
            "XML_IO",
            at_line(1),
            format!("cannot read input: {e}"),
        )),
    };
    std::iter::once(result)
}

/// Writes `draft` as a `MetaData`-wrapped DEC-DMS document (WCO Data Model 3.6).
///
/// Fails with [`io::ErrorKind::InvalidInput`] when the draft holds a value DEC-DMS has no
/// element for, and with [`io::ErrorKind::InvalidData`] when a value breaks the schema
/// (too long, not a decimal, a line break in a text field, ...); nothing is written then.
pub fn write_document<W: Write>(mut out: W, draft: &DeclarationDraft) -> io::Result<()> {
    let text =
        write::document(draft).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let root = dom::parse(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    wco_xsd::validate(&root).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Party roles with a DEC-DMS element, in the order [`write_document`] requires.
pub const SCHEMA_ROLE_ORDER: [&str; 9] = ["AE", "CA", "DT", "EX", "BY", "CN", "CZ", "IM", "SE"];

/// The part of `draft` that DEC-DMS can carry: the fields listed under "Not carried" are
/// dropped, as are party identifiers longer than DEC-DMS's an..17 (LEIs); parties are
/// put in schema order (the first of each role kept). Exporting a
/// node's richer data as WCO XML goes through here, and so does the round-trip test: it
/// is the honest statement of what a DEC-DMS document loses.
pub fn carried(draft: &DeclarationDraft) -> DeclarationDraft {
    let mut d = draft.clone();
    d.outcome = None;
    d.transport.unloading_place = None;
    d.transport.entry_office = None;
    d.transport.departure_date = None;
    d.transport.arrival_date = None;
    let mut parties = Vec::new();
    for role in SCHEMA_ROLE_ORDER {
        if let Some(party) = d.parties.iter().find(|p| p.role == role) {
            let mut party = party.clone();
            if role != "AE" {
                party.function_code = None;
            }
            // DEC-DMS identifiers are an..17: a 20-character LEI has no slot.
            if party.id.as_ref().is_some_and(|id| id.chars().count() > 17) {
                party.id = None;
            }
            if party.id.is_none() {
                party.id_scheme = None;
            }
            parties.push(party);
        }
    }
    d.parties = parties;
    if d.header.invoice_total.is_none() {
        d.header.invoice_currency = None;
    }
    if d.header.freight_charge.is_none() {
        d.header.freight_currency = None;
    }
    if d.items.is_empty() {
        d.header.valuation_method = None;
    }
    for item in &mut d.items {
        if item.item_price.is_none()
            && item.customs_value.is_none()
            && item.statistical_value.is_none()
        {
            item.value_currency = None;
        }
        if item.quantity.is_none() {
            item.quantity_unit = None;
        }
        for duty in &mut item.duties {
            if duty.assessed.is_none() {
                duty.currency = None;
            }
        }
    }
    d
}

/// The scheme assumed for a party identifier without `schemeID` (module doc).
pub fn inferred_scheme(id: &str) -> &'static str {
    let b = id.as_bytes();
    let eori = (3..=17).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if eori { "EORI" } else { "OTHER" }
}

fn escape_pointer(v: &str) -> String {
    v.replace('%', "%25")
        .replace('/', "%2F")
        .replace(':', "%3A")
        .replace('#', "%23")
}

fn unescape_pointer(v: &str) -> Option<String> {
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3)?;
        out.push(match code {
            "25" => '%',
            "2F" => '/',
            "3A" => ':',
            "23" => '#',
            _ => return None,
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// One pointer in the documented `SECTION[:SEQ][#TAG]` form.
fn pointer_segment(section: Option<&str>, seq: Option<&str>, tag: Option<&str>) -> String {
    let mut s = section.map(escape_pointer).unwrap_or_default();
    if let Some(seq) = seq {
        s.push(':');
        s.push_str(&escape_pointer(seq));
    }
    if let Some(tag) = tag {
        s.push('#');
        s.push_str(&escape_pointer(tag));
    }
    s
}

/// A parsed pointer: section, sequence number, tag.
type PointerParts = (Option<String>, Option<String>, Option<String>);

/// Splits a pointer string back into its `Pointer` elements; `None` if malformed.
fn parse_pointer(pointer: &str) -> Option<Vec<PointerParts>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let opt = |s: Option<&str>| -> Option<Option<String>> {
        match s {
            None => Some(None),
            Some(v) => unescape_pointer(v).map(Some),
        }
    };
    pointer
        .split('/')
        .map(|seg| {
            let (front, tag) = match seg.split_once('#') {
                Some((f, t)) => (f, Some(t)),
                None => (seg, None),
            };
            let (section, seq) = match front.split_once(':') {
                Some((s, q)) => (s, Some(q)),
                None => (front, None),
            };
            let section = if section.is_empty() {
                None
            } else {
                Some(section)
            };
            Some((opt(section)?, opt(seq)?, opt(tag)?))
        })
        .collect()
}
