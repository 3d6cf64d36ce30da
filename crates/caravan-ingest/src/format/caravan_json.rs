//! Caravan JSON: one object per declaration, as a single document or JSON Lines.
//!
//! The wire types here are the JSON schema, kept apart from the domain's draft so the
//! domain never depends on serde and the schema can only change on purpose. Every object
//! rejects unknown members, because a member we drop is data an officer thinks we kept.
//! Amounts and masses are decimal strings, so no value passes through binary floating point.

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

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDeclaration {
    model_version: String,
    header: JsonHeader,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parties: Vec<JsonParty>,
    #[serde(default)]
    transport: JsonTransport,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    items: Vec<JsonItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<JsonOutcome>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    amendments: Vec<JsonAmendment>,
}

macro_rules! wire_struct {
    ($name:ident { $($req:ident),* ; $($opt:ident),* ; $($list:ident : $ty:ty),* }) => {
        #[derive(Serialize, Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($req: String,)*
            $(#[serde(default, skip_serializing_if = "Option::is_none")] $opt: Option<String>,)*
            $(#[serde(default, skip_serializing_if = "Vec::is_empty")] $list: Vec<$ty>,)*
        }
    };
}

wire_struct!(JsonHeader { type_code, function_code, lrn ;
    mrn, issued_at, place_of_issue, accepted_at, declaration_office, goods_item_count,
    total_packages, total_gross_mass, invoice_total, invoice_currency, ucr, delivery_terms,
    delivery_place, valuation_method, nature_of_transaction, freight_charge, freight_currency,
    freight_payment_method ; });
wire_struct!(JsonAddress { ; line, city, postcode, country, subdivision ; });
wire_struct!(JsonEquipment { container_id ; ; seals: String });
wire_struct!(JsonDocument { id ; type_code, category ; });
wire_struct!(JsonTransport { ; container_indicator, border_mode, inland_mode, border_means_id,
    border_means_type, border_means_nationality, arrival_means_id, arrival_means_type,
    departure_means_id, goods_location, loading_place, unloading_place, dispatch_country,
    destination_country, entry_office, exit_office, supervising_office, presentation_office,
    departure_date, arrival_date ;
    equipment: JsonEquipment, documents: JsonDocument, routing_countries: String });
wire_struct!(JsonDuty { tax_type ; base, rate, assessed, currency, payment_method ; });
wire_struct!(JsonItem { sequence ; commodity_code, classification_type, description,
    origin_country, origin_type, gross_mass, net_mass, quantity, quantity_unit, packages_count,
    package_kind, package_marks, item_price, customs_value, statistical_value, value_currency,
    procedure, previous_procedure, un_dangerous_goods, nature_of_transaction ;
    additional_procedures: String, duties: JsonDuty, previous_documents: JsonDocument,
    additional_documents: JsonDocument });
wire_struct!(JsonOutcome { lane ; inspection_result, seized, duty_assessed, duty_recovered,
    currency ; });
wire_struct!(JsonAmendment { pointer ; change_reason ; });

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct JsonParty {
    role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default)]
    address: JsonAddress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    function_code: Option<String>,
}

/// Copies fields between two structs that share field names.
macro_rules! copy_fields {
    ($from:expr => $to:ident { $($field:ident),* } $(, $rest:ident : $conv:expr)*) => {
        $to { $($field: $from.$field,)* $($rest: $conv,)* }
    };
}

fn documents_in(docs: Vec<JsonDocument>) -> Vec<DocumentDraft> {
    docs.into_iter()
        .map(|d| copy_fields!(d => DocumentDraft { id, type_code, category }))
        .collect()
}

fn documents_out(docs: &[DocumentDraft]) -> Vec<JsonDocument> {
    docs.iter()
        .cloned()
        .map(|d| copy_fields!(d => JsonDocument { id, type_code, category }))
        .collect()
}

impl From<JsonDeclaration> for DeclarationDraft {
    fn from(j: JsonDeclaration) -> DeclarationDraft {
        let h = j.header;
        let t = j.transport;
        DeclarationDraft {
            header: copy_fields!(h => HeaderDraft { type_code, function_code, lrn, mrn, issued_at,
                place_of_issue, accepted_at, declaration_office, goods_item_count, total_packages,
                total_gross_mass, invoice_total, invoice_currency, ucr, delivery_terms,
                delivery_place, valuation_method, nature_of_transaction, freight_charge,
                freight_currency, freight_payment_method }),
            parties: j
                .parties
                .into_iter()
                .map(|p| {
                    let a = p.address;
                    copy_fields!(p => PartyDraft { role, id_scheme, id, name, function_code },
                        address: copy_fields!(a => AddressDraft { line, city, postcode, country,
                            subdivision }))
                })
                .collect(),
            transport: copy_fields!(t => TransportDraft { container_indicator, border_mode,
                inland_mode, border_means_id, border_means_type, border_means_nationality,
                arrival_means_id, arrival_means_type, departure_means_id, goods_location,
                loading_place, unloading_place, dispatch_country, destination_country,
                routing_countries, entry_office, exit_office, supervising_office,
                presentation_office, departure_date, arrival_date },
                equipment: t.equipment.into_iter()
                    .map(|e| copy_fields!(e => EquipmentDraft { container_id, seals }))
                    .collect(),
                documents: documents_in(t.documents)),
            items: j
                .items
                .into_iter()
                .map(|i| {
                    copy_fields!(i => GoodsItemDraft { sequence, commodity_code,
                        classification_type, description, origin_country, origin_type,
                        gross_mass, net_mass, quantity, quantity_unit, packages_count,
                        package_kind, package_marks, item_price, customs_value,
                        statistical_value, value_currency, procedure, previous_procedure,
                        additional_procedures, un_dangerous_goods, nature_of_transaction },
                        duties: i.duties.into_iter().map(|d| copy_fields!(d => DutyDraft {
                            tax_type, base, rate, assessed, currency, payment_method })).collect(),
                        previous_documents: documents_in(i.previous_documents),
                        additional_documents: documents_in(i.additional_documents))
                })
                .collect(),
            outcome: j.outcome.map(|o| {
                copy_fields!(o => OutcomeDraft { lane, inspection_result, seized, duty_assessed,
                    duty_recovered, currency })
            }),
            amendments: j
                .amendments
                .into_iter()
                .map(|a| copy_fields!(a => AmendmentDraft { pointer, change_reason }))
                .collect(),
        }
    }
}

fn to_wire(d: &DeclarationDraft) -> JsonDeclaration {
    let d = d.clone();
    let h = d.header;
    let t = d.transport;
    JsonDeclaration {
        model_version: MODEL_VERSION.to_owned(),
        header: copy_fields!(h => JsonHeader { type_code, function_code, lrn, mrn, issued_at,
            place_of_issue, accepted_at, declaration_office, goods_item_count, total_packages,
            total_gross_mass, invoice_total, invoice_currency, ucr, delivery_terms,
            delivery_place, valuation_method, nature_of_transaction, freight_charge,
            freight_currency, freight_payment_method }),
        parties: d
            .parties
            .into_iter()
            .map(|p| {
                let a = p.address;
                copy_fields!(p => JsonParty { role, id_scheme, id, name, function_code },
                    address: copy_fields!(a => JsonAddress { line, city, postcode, country,
                        subdivision }))
            })
            .collect(),
        transport: copy_fields!(t => JsonTransport { container_indicator, border_mode,
            inland_mode, border_means_id, border_means_type, border_means_nationality,
            arrival_means_id, arrival_means_type, departure_means_id, goods_location,
            loading_place, unloading_place, dispatch_country, destination_country,
            routing_countries, entry_office, exit_office, supervising_office,
            presentation_office, departure_date, arrival_date },
            equipment: t.equipment.into_iter()
                .map(|e| copy_fields!(e => JsonEquipment { container_id, seals }))
                .collect(),
            documents: documents_out(&t.documents)),
        items: d
            .items
            .into_iter()
            .map(|i| {
                copy_fields!(i => JsonItem { sequence, commodity_code, classification_type,
                    description, origin_country, origin_type, gross_mass, net_mass, quantity,
                    quantity_unit, packages_count, package_kind, package_marks, item_price,
                    customs_value, statistical_value, value_currency, procedure,
                    previous_procedure, additional_procedures, un_dangerous_goods,
                    nature_of_transaction },
                    duties: i.duties.into_iter().map(|d| copy_fields!(d => JsonDuty {
                        tax_type, base, rate, assessed, currency, payment_method })).collect(),
                    previous_documents: documents_out(&i.previous_documents),
                    additional_documents: documents_out(&i.additional_documents))
            })
            .collect(),
        outcome: d.outcome.map(|o| {
            copy_fields!(o => JsonOutcome { lane, inspection_result, seized, duty_assessed,
                duty_recovered, currency })
        }),
        amendments: d
            .amendments
            .into_iter()
            .map(|a| copy_fields!(a => JsonAmendment { pointer, change_reason }))
            .collect(),
    }
}

/// Streams declarations out of a JSON document or JSON Lines file.
pub struct JsonReader<R: Read> {
    stream: serde_json::StreamDeserializer<
        'static,
        serde_json::de::IoRead<LineCapReader<R>>,
        serde_json::Value,
    >,
    n_records: u64,
    failed: bool,
}

impl<R: Read> JsonReader<R> {
    /// Reads objects one after another; whitespace (including newlines) separates them.
    pub fn new(input: R) -> JsonReader<R> {
        let stream =
            serde_json::Deserializer::from_reader(LineCapReader::new(input, MAX_LINE_BYTES))
                .into_iter::<serde_json::Value>();
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
            .and_then(|value| {
                let locator = Locator { line: 0, record };
                let wire: JsonDeclaration = serde_json::from_value(value)
                    .map_err(|err| SyntaxError::new("JSON_SCHEMA", locator, err.to_string()))?;
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
