//! Caravan JSON: one object per declaration, as a single document or JSON Lines.
//!
//! The wire types here are the JSON schema, kept apart from the domain's draft so the
//! domain never depends on serde and the schema can only change on purpose. Every object
//! rejects unknown members, because a member we drop is data an officer thinks we kept.
//! Amounts and masses are decimal strings, so no value passes through binary floating point.

use std::borrow::Cow;
use std::io::{Read, Write};

use caravan_domain::declaration::draft::{
    AddressDraft, AmendmentDraft, DeclarationDraft, DocumentDraft, DutyDraft, EquipmentDraft,
    GoodsItemDraft, HeaderDraft, OutcomeDraft, PartyDraft, TransportDraft,
};
use serde::{Deserialize, Serialize};

use crate::error::{Locator, SourceRecord, SyntaxError};
use crate::format::linecap::{LineCapReader, line_too_long};

/// The model version this module reads and writes.
pub const MODEL_VERSION: &str = "1";

/// Longest physical line accepted: a JSON Lines record with hundreds of goods items fits.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// The JSON schema. Text is `Cow` so that writing borrows from the draft (no copies on
/// the ingest hot path, where every declaration's canonical document is written) while
/// reading owns what it parsed.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDeclaration<'a> {
    model_version: Cow<'a, str>,
    header: JsonHeader<'a>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parties: Vec<JsonParty<'a>>,
    #[serde(default)]
    transport: JsonTransport<'a>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    items: Vec<JsonItem<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<JsonOutcome<'a>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    amendments: Vec<JsonAmendment<'a>>,
}

/// One wire struct per draft struct: required text, optional text, then lists.
macro_rules! wire_struct {
    ($name:ident { $($req:ident),* ; $($opt:ident),* ; $($list:ident : $ty:ty),* }) => {
        #[derive(Serialize, Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct $name<'a> {
            $($req: Cow<'a, str>,)*
            $(#[serde(default, skip_serializing_if = "Option::is_none")] $opt: Option<Cow<'a, str>>,)*
            $(#[serde(default, skip_serializing_if = "Vec::is_empty")] $list: Vec<$ty>,)*
            #[serde(skip)]
            _lifetime: std::marker::PhantomData<&'a ()>,
        }
    };
}

wire_struct!(JsonHeader { type_code, function_code, lrn ;
    mrn, issued_at, place_of_issue, accepted_at, declaration_office, goods_item_count,
    total_packages, total_gross_mass, invoice_total, invoice_currency, ucr, delivery_terms,
    delivery_place, valuation_method, nature_of_transaction, freight_charge, freight_currency,
    freight_payment_method ; });
wire_struct!(JsonAddress { ; line, city, postcode, country, subdivision ; });
wire_struct!(JsonEquipment { container_id ; ; seals: Cow<'a, str> });
wire_struct!(JsonDocument { id ; type_code, category ; });
wire_struct!(JsonTransport { ; container_indicator, border_mode, inland_mode, border_means_id,
    border_means_type, border_means_nationality, arrival_means_id, arrival_means_type,
    departure_means_id, goods_location, loading_place, unloading_place, dispatch_country,
    destination_country, entry_office, exit_office, supervising_office, presentation_office,
    departure_date, arrival_date ;
    equipment: JsonEquipment<'a>, documents: JsonDocument<'a>, routing_countries: Cow<'a, str> });
wire_struct!(JsonDuty { tax_type ; base, rate, assessed, currency, payment_method ; });
wire_struct!(JsonItem { sequence ; commodity_code, classification_type, description,
    origin_country, origin_type, gross_mass, net_mass, quantity, quantity_unit, packages_count,
    package_kind, package_marks, item_price, customs_value, statistical_value, value_currency,
    procedure, previous_procedure, un_dangerous_goods, nature_of_transaction ;
    additional_procedures: Cow<'a, str>, duties: JsonDuty<'a>, previous_documents: JsonDocument<'a>,
    additional_documents: JsonDocument<'a> });
wire_struct!(JsonOutcome { lane ; inspection_result, seized, duty_assessed, duty_recovered,
    currency ; });
wire_struct!(JsonAmendment { pointer ; change_reason ; });

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct JsonParty<'a> {
    role: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_scheme: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    address: JsonAddress<'a>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    function_code: Option<Cow<'a, str>>,
}

fn own(c: Cow<'_, str>) -> String {
    c.into_owned()
}

fn own_opt(c: Option<Cow<'_, str>>) -> Option<String> {
    c.map(Cow::into_owned)
}

fn own_list(v: Vec<Cow<'_, str>>) -> Vec<String> {
    v.into_iter().map(Cow::into_owned).collect()
}

fn lend(s: &str) -> Cow<'_, str> {
    Cow::Borrowed(s)
}

fn lend_opt(s: &Option<String>) -> Option<Cow<'_, str>> {
    s.as_deref().map(Cow::Borrowed)
}

fn lend_list(v: &[String]) -> Vec<Cow<'_, str>> {
    v.iter().map(|s| Cow::Borrowed(s.as_str())).collect()
}

fn documents_in(docs: Vec<JsonDocument<'_>>) -> Vec<DocumentDraft> {
    docs.into_iter()
        .map(|d| DocumentDraft {
            id: own(d.id),
            type_code: own_opt(d.type_code),
            category: own_opt(d.category),
        })
        .collect()
}

fn documents_out(docs: &[DocumentDraft]) -> Vec<JsonDocument<'_>> {
    docs.iter()
        .map(|d| JsonDocument {
            id: lend(&d.id),
            type_code: lend_opt(&d.type_code),
            category: lend_opt(&d.category),
            ..Default::default()
        })
        .collect()
}

impl From<JsonDeclaration<'_>> for DeclarationDraft {
    fn from(j: JsonDeclaration<'_>) -> DeclarationDraft {
        let h = j.header;
        let t = j.transport;
        DeclarationDraft {
            header: HeaderDraft {
                type_code: own(h.type_code),
                function_code: own(h.function_code),
                lrn: own(h.lrn),
                mrn: own_opt(h.mrn),
                issued_at: own_opt(h.issued_at),
                place_of_issue: own_opt(h.place_of_issue),
                accepted_at: own_opt(h.accepted_at),
                declaration_office: own_opt(h.declaration_office),
                goods_item_count: own_opt(h.goods_item_count),
                total_packages: own_opt(h.total_packages),
                total_gross_mass: own_opt(h.total_gross_mass),
                invoice_total: own_opt(h.invoice_total),
                invoice_currency: own_opt(h.invoice_currency),
                ucr: own_opt(h.ucr),
                delivery_terms: own_opt(h.delivery_terms),
                delivery_place: own_opt(h.delivery_place),
                valuation_method: own_opt(h.valuation_method),
                nature_of_transaction: own_opt(h.nature_of_transaction),
                freight_charge: own_opt(h.freight_charge),
                freight_currency: own_opt(h.freight_currency),
                freight_payment_method: own_opt(h.freight_payment_method),
            },
            parties: j
                .parties
                .into_iter()
                .map(|p| PartyDraft {
                    role: own(p.role),
                    id_scheme: own_opt(p.id_scheme),
                    id: own_opt(p.id),
                    name: own_opt(p.name),
                    address: AddressDraft {
                        line: own_opt(p.address.line),
                        city: own_opt(p.address.city),
                        postcode: own_opt(p.address.postcode),
                        country: own_opt(p.address.country),
                        subdivision: own_opt(p.address.subdivision),
                    },
                    function_code: own_opt(p.function_code),
                })
                .collect(),
            transport: TransportDraft {
                container_indicator: own_opt(t.container_indicator),
                equipment: t
                    .equipment
                    .into_iter()
                    .map(|e| EquipmentDraft {
                        container_id: own(e.container_id),
                        seals: own_list(e.seals),
                    })
                    .collect(),
                border_mode: own_opt(t.border_mode),
                inland_mode: own_opt(t.inland_mode),
                border_means_id: own_opt(t.border_means_id),
                border_means_type: own_opt(t.border_means_type),
                border_means_nationality: own_opt(t.border_means_nationality),
                arrival_means_id: own_opt(t.arrival_means_id),
                arrival_means_type: own_opt(t.arrival_means_type),
                departure_means_id: own_opt(t.departure_means_id),
                documents: documents_in(t.documents),
                goods_location: own_opt(t.goods_location),
                loading_place: own_opt(t.loading_place),
                unloading_place: own_opt(t.unloading_place),
                dispatch_country: own_opt(t.dispatch_country),
                destination_country: own_opt(t.destination_country),
                routing_countries: own_list(t.routing_countries),
                entry_office: own_opt(t.entry_office),
                exit_office: own_opt(t.exit_office),
                supervising_office: own_opt(t.supervising_office),
                presentation_office: own_opt(t.presentation_office),
                departure_date: own_opt(t.departure_date),
                arrival_date: own_opt(t.arrival_date),
            },
            items: j
                .items
                .into_iter()
                .map(|i| GoodsItemDraft {
                    sequence: own(i.sequence),
                    commodity_code: own_opt(i.commodity_code),
                    classification_type: own_opt(i.classification_type),
                    description: own_opt(i.description),
                    origin_country: own_opt(i.origin_country),
                    origin_type: own_opt(i.origin_type),
                    gross_mass: own_opt(i.gross_mass),
                    net_mass: own_opt(i.net_mass),
                    quantity: own_opt(i.quantity),
                    quantity_unit: own_opt(i.quantity_unit),
                    packages_count: own_opt(i.packages_count),
                    package_kind: own_opt(i.package_kind),
                    package_marks: own_opt(i.package_marks),
                    item_price: own_opt(i.item_price),
                    customs_value: own_opt(i.customs_value),
                    statistical_value: own_opt(i.statistical_value),
                    value_currency: own_opt(i.value_currency),
                    procedure: own_opt(i.procedure),
                    previous_procedure: own_opt(i.previous_procedure),
                    additional_procedures: own_list(i.additional_procedures),
                    duties: i
                        .duties
                        .into_iter()
                        .map(|d| DutyDraft {
                            tax_type: own(d.tax_type),
                            base: own_opt(d.base),
                            rate: own_opt(d.rate),
                            assessed: own_opt(d.assessed),
                            currency: own_opt(d.currency),
                            payment_method: own_opt(d.payment_method),
                        })
                        .collect(),
                    previous_documents: documents_in(i.previous_documents),
                    additional_documents: documents_in(i.additional_documents),
                    un_dangerous_goods: own_opt(i.un_dangerous_goods),
                    nature_of_transaction: own_opt(i.nature_of_transaction),
                })
                .collect(),
            outcome: j.outcome.map(|o| OutcomeDraft {
                lane: own(o.lane),
                inspection_result: own_opt(o.inspection_result),
                seized: own_opt(o.seized),
                duty_assessed: own_opt(o.duty_assessed),
                duty_recovered: own_opt(o.duty_recovered),
                currency: own_opt(o.currency),
            }),
            amendments: j
                .amendments
                .into_iter()
                .map(|a| AmendmentDraft {
                    pointer: own(a.pointer),
                    change_reason: own_opt(a.change_reason),
                })
                .collect(),
        }
    }
}

fn to_wire(d: &DeclarationDraft) -> JsonDeclaration<'_> {
    let h = &d.header;
    let t = &d.transport;
    JsonDeclaration {
        model_version: lend(MODEL_VERSION),
        header: JsonHeader {
            type_code: lend(&h.type_code),
            function_code: lend(&h.function_code),
            lrn: lend(&h.lrn),
            mrn: lend_opt(&h.mrn),
            issued_at: lend_opt(&h.issued_at),
            place_of_issue: lend_opt(&h.place_of_issue),
            accepted_at: lend_opt(&h.accepted_at),
            declaration_office: lend_opt(&h.declaration_office),
            goods_item_count: lend_opt(&h.goods_item_count),
            total_packages: lend_opt(&h.total_packages),
            total_gross_mass: lend_opt(&h.total_gross_mass),
            invoice_total: lend_opt(&h.invoice_total),
            invoice_currency: lend_opt(&h.invoice_currency),
            ucr: lend_opt(&h.ucr),
            delivery_terms: lend_opt(&h.delivery_terms),
            delivery_place: lend_opt(&h.delivery_place),
            valuation_method: lend_opt(&h.valuation_method),
            nature_of_transaction: lend_opt(&h.nature_of_transaction),
            freight_charge: lend_opt(&h.freight_charge),
            freight_currency: lend_opt(&h.freight_currency),
            freight_payment_method: lend_opt(&h.freight_payment_method),
            ..Default::default()
        },
        parties: d
            .parties
            .iter()
            .map(|p| JsonParty {
                role: lend(&p.role),
                id_scheme: lend_opt(&p.id_scheme),
                id: lend_opt(&p.id),
                name: lend_opt(&p.name),
                address: JsonAddress {
                    line: lend_opt(&p.address.line),
                    city: lend_opt(&p.address.city),
                    postcode: lend_opt(&p.address.postcode),
                    country: lend_opt(&p.address.country),
                    subdivision: lend_opt(&p.address.subdivision),
                    ..Default::default()
                },
                function_code: lend_opt(&p.function_code),
            })
            .collect(),
        transport: JsonTransport {
            container_indicator: lend_opt(&t.container_indicator),
            equipment: t
                .equipment
                .iter()
                .map(|e| JsonEquipment {
                    container_id: lend(&e.container_id),
                    seals: lend_list(&e.seals),
                    ..Default::default()
                })
                .collect(),
            border_mode: lend_opt(&t.border_mode),
            inland_mode: lend_opt(&t.inland_mode),
            border_means_id: lend_opt(&t.border_means_id),
            border_means_type: lend_opt(&t.border_means_type),
            border_means_nationality: lend_opt(&t.border_means_nationality),
            arrival_means_id: lend_opt(&t.arrival_means_id),
            arrival_means_type: lend_opt(&t.arrival_means_type),
            departure_means_id: lend_opt(&t.departure_means_id),
            documents: documents_out(&t.documents),
            goods_location: lend_opt(&t.goods_location),
            loading_place: lend_opt(&t.loading_place),
            unloading_place: lend_opt(&t.unloading_place),
            dispatch_country: lend_opt(&t.dispatch_country),
            destination_country: lend_opt(&t.destination_country),
            routing_countries: lend_list(&t.routing_countries),
            entry_office: lend_opt(&t.entry_office),
            exit_office: lend_opt(&t.exit_office),
            supervising_office: lend_opt(&t.supervising_office),
            presentation_office: lend_opt(&t.presentation_office),
            departure_date: lend_opt(&t.departure_date),
            arrival_date: lend_opt(&t.arrival_date),
            ..Default::default()
        },
        items: d
            .items
            .iter()
            .map(|i| JsonItem {
                sequence: lend(&i.sequence),
                commodity_code: lend_opt(&i.commodity_code),
                classification_type: lend_opt(&i.classification_type),
                description: lend_opt(&i.description),
                origin_country: lend_opt(&i.origin_country),
                origin_type: lend_opt(&i.origin_type),
                gross_mass: lend_opt(&i.gross_mass),
                net_mass: lend_opt(&i.net_mass),
                quantity: lend_opt(&i.quantity),
                quantity_unit: lend_opt(&i.quantity_unit),
                packages_count: lend_opt(&i.packages_count),
                package_kind: lend_opt(&i.package_kind),
                package_marks: lend_opt(&i.package_marks),
                item_price: lend_opt(&i.item_price),
                customs_value: lend_opt(&i.customs_value),
                statistical_value: lend_opt(&i.statistical_value),
                value_currency: lend_opt(&i.value_currency),
                procedure: lend_opt(&i.procedure),
                previous_procedure: lend_opt(&i.previous_procedure),
                additional_procedures: lend_list(&i.additional_procedures),
                duties: i
                    .duties
                    .iter()
                    .map(|d| JsonDuty {
                        tax_type: lend(&d.tax_type),
                        base: lend_opt(&d.base),
                        rate: lend_opt(&d.rate),
                        assessed: lend_opt(&d.assessed),
                        currency: lend_opt(&d.currency),
                        payment_method: lend_opt(&d.payment_method),
                        ..Default::default()
                    })
                    .collect(),
                previous_documents: documents_out(&i.previous_documents),
                additional_documents: documents_out(&i.additional_documents),
                un_dangerous_goods: lend_opt(&i.un_dangerous_goods),
                nature_of_transaction: lend_opt(&i.nature_of_transaction),
                ..Default::default()
            })
            .collect(),
        outcome: d.outcome.as_ref().map(|o| JsonOutcome {
            lane: lend(&o.lane),
            inspection_result: lend_opt(&o.inspection_result),
            seized: lend_opt(&o.seized),
            duty_assessed: lend_opt(&o.duty_assessed),
            duty_recovered: lend_opt(&o.duty_recovered),
            currency: lend_opt(&o.currency),
            ..Default::default()
        }),
        amendments: d
            .amendments
            .iter()
            .map(|a| JsonAmendment {
                pointer: lend(&a.pointer),
                change_reason: lend_opt(&a.change_reason),
                ..Default::default()
            })
            .collect(),
    }
}

/// Streams declarations out of a JSON document or JSON Lines file.
pub struct JsonReader<R: Read> {
    stream: serde_json::StreamDeserializer<
        'static,
        serde_json::de::IoRead<LineCapReader<R>>,
        JsonDeclaration<'static>,
    >,
    n_records: u64,
    failed: bool,
}

impl<R: Read> JsonReader<R> {
    /// Reads objects one after another; whitespace (including newlines) separates them.
    pub fn new(input: R) -> JsonReader<R> {
        let stream =
            serde_json::Deserializer::from_reader(LineCapReader::new(input, MAX_LINE_BYTES))
                .into_iter::<JsonDeclaration<'static>>();
        JsonReader {
            stream,
            n_records: 0,
            failed: false,
        }
    }
}

impl<R: Read> Iterator for JsonReader<R> {
    type Item = Result<SourceRecord, SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let value = self.stream.next()?;
        self.n_records += 1;
        let record = self.n_records;
        let result = value
            .map_err(|err| json_error(err, record))
            .and_then(|wire| {
                let locator = Locator { line: 0, record };
                if wire.model_version != MODEL_VERSION {
                    return Err(SyntaxError::new(
                        "JSON_MODEL_VERSION",
                        locator,
                        format!("model_version must be {MODEL_VERSION}"),
                    )
                    .field("model_version")
                    .value(&wire.model_version));
                }
                Ok(SourceRecord {
                    locator,
                    draft: wire.into(),
                })
            });
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }
}

fn json_error(err: serde_json::Error, record: u64) -> SyntaxError {
    let locator = Locator {
        line: err.line() as u64,
        record,
    };
    let message = err.to_string();
    let code = match err.classify() {
        serde_json::error::Category::Eof => "JSON_TRUNCATED",
        serde_json::error::Category::Io => {
            // serde_json hands back the reader's own error on conversion.
            let io: std::io::Error = err.into();
            if let Some(long) = line_too_long(&io) {
                return SyntaxError::new(
                    "JSON_LINE_TOO_LONG",
                    Locator {
                        line: long.line,
                        record,
                    },
                    format!("a line may hold at most {} bytes", long.cap),
                );
            }
            if message.contains("UTF-8") {
                "JSON_NOT_UTF8"
            } else {
                "JSON_IO"
            }
        }
        serde_json::error::Category::Syntax => {
            if message.contains("UTF-8") || message.contains("unicode") {
                "JSON_NOT_UTF8"
            } else {
                "JSON_MALFORMED"
            }
        }
        serde_json::error::Category::Data => "JSON_SCHEMA",
    };
    SyntaxError::new(code, locator, message)
}

/// Writes one declaration as one JSON Lines record.
pub fn write_line<W: Write>(mut out: W, draft: &DeclarationDraft) -> std::io::Result<()> {
    serde_json::to_writer(&mut out, &to_wire(draft))?;
    out.write_all(b"\n")
}
