//! Caravan CSV: one row per goods item, declaration columns repeated on every row.
//!
//! The format exists so that officers and analysts can produce and read declarations with
//! a spreadsheet. Every column maps to one draft field; the schema is the [`columns`] table
//! below and is documented in the README. Rules that keep it unambiguous:
//! - a header row is required; unknown or repeated columns are an error, never dropped;
//! - rows of one declaration are consecutive and share `lrn` and `declarant_id`; every
//!   declaration-level cell must be identical across them;
//! - an empty cell means "not declared";
//! - list cells (containers, documents, duties, routing) use `;` between entries and `|`
//!   between sub-fields, with `\` escaping `;`, `|` and `\` itself;
//! - a row whose item cells are all empty declares no goods item (a cancellation, say).
//!
//! CSV can carry one party per role; JSON carries any number.

use std::io::{Read, Write};

use caravan_domain::declaration::draft::{
    AmendmentDraft, DeclarationDraft, DocumentDraft, DutyDraft, EquipmentDraft, GoodsItemDraft,
    OutcomeDraft, PartyDraft,
};

use crate::error::{Locator, SourceRecord, SyntaxError};
use crate::format::linecap::{LineCapReader, line_too_long};

/// The model version this module reads and writes.
pub const MODEL_VERSION: &str = "1";

/// Longest physical line accepted. A real row is a few kilobytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Party roles carried by CSV, as (column prefix, UN 3035 code), in canonical order.
pub const PARTY_ROLES: [(&str, &str); 12] = [
    ("exporter", "EX"),
    ("consignor", "CZ"),
    ("consignee", "CN"),
    ("importer", "IM"),
    ("declarant", "DT"),
    ("representative", "AE"),
    ("broker", "CB"),
    ("seller", "SE"),
    ("buyer", "BY"),
    ("carrier", "CA"),
    ("notify", "NI"),
    ("manufacturer", "MF"),
];

const PARTY_FIELDS: [&str; 9] = [
    "id_scheme",
    "id",
    "name",
    "line",
    "city",
    "postcode",
    "country",
    "subdivision",
    "function_code",
];

type DeclGet = fn(&DeclarationDraft) -> Option<String>;
type DeclSet = fn(&mut DeclarationDraft, String);
type ItemGet = fn(&GoodsItemDraft) -> Option<String>;
type ItemSet = fn(&mut GoodsItemDraft, String);

/// Which part of the model a column belongs to.
#[derive(Clone, Copy)]
pub enum Access {
    /// Repeated on every row of the declaration.
    Declaration(DeclGet, DeclSet),
    /// A party field: role index into [`PARTY_ROLES`], field index into the party fields.
    Party(usize, usize),
    /// Specific to the goods item on this row.
    Item(ItemGet, ItemSet),
}

/// One CSV column.
#[derive(Clone)]
pub struct Column {
    /// Header name.
    pub name: String,
    /// Where it reads from and writes to.
    pub access: Access,
}

macro_rules! decl_opt {
    ($name:literal, $($field:ident).+) => {
        ($name, Access::Declaration(
            |d| d.$($field).+.clone(),
            |d, v| d.$($field).+ = Some(v),
        ))
    };
}

macro_rules! item_opt {
    ($name:literal, $field:ident) => {
        (
            $name,
            Access::Item(|i| i.$field.clone(), |i, v| i.$field = Some(v)),
        )
    };
}

fn declaration_columns() -> Vec<(&'static str, Access)> {
    vec![
        (
            "model_version",
            Access::Declaration(|_| Some(MODEL_VERSION.to_owned()), |_, _| {}),
        ),
        (
            "type_code",
            Access::Declaration(|d| some(&d.header.type_code), |d, v| d.header.type_code = v),
        ),
        (
            "function_code",
            Access::Declaration(
                |d| some(&d.header.function_code),
                |d, v| d.header.function_code = v,
            ),
        ),
        (
            "lrn",
            Access::Declaration(|d| some(&d.header.lrn), |d, v| d.header.lrn = v),
        ),
        decl_opt!("mrn", header.mrn),
        decl_opt!("issued_at", header.issued_at),
        decl_opt!("place_of_issue", header.place_of_issue),
        decl_opt!("accepted_at", header.accepted_at),
        decl_opt!("declaration_office", header.declaration_office),
        decl_opt!("goods_item_count", header.goods_item_count),
        decl_opt!("total_packages", header.total_packages),
        decl_opt!("total_gross_mass", header.total_gross_mass),
        decl_opt!("invoice_total", header.invoice_total),
        decl_opt!("invoice_currency", header.invoice_currency),
        decl_opt!("ucr", header.ucr),
        decl_opt!("delivery_terms", header.delivery_terms),
        decl_opt!("delivery_place", header.delivery_place),
        decl_opt!("valuation_method", header.valuation_method),
        decl_opt!("nature_of_transaction", header.nature_of_transaction),
        decl_opt!("freight_charge", header.freight_charge),
        decl_opt!("freight_currency", header.freight_currency),
        decl_opt!("freight_payment_method", header.freight_payment_method),
        decl_opt!("container_indicator", transport.container_indicator),
        (
            "containers",
            Access::Declaration(
                |d| {
                    join_list(d.transport.equipment.iter().map(|e| {
                        let mut fields = vec![e.container_id.clone()];
                        fields.extend(e.seals.iter().cloned());
                        fields
                    }))
                },
                |d, v| {
                    d.transport.equipment = split_list(&v)
                        .into_iter()
                        .map(|mut fields| {
                            let container_id = fields.remove(0);
                            EquipmentDraft {
                                container_id,
                                seals: fields,
                            }
                        })
                        .collect()
                },
            ),
        ),
        decl_opt!("border_mode", transport.border_mode),
        decl_opt!("inland_mode", transport.inland_mode),
        decl_opt!("border_means_id", transport.border_means_id),
        decl_opt!("border_means_type", transport.border_means_type),
        decl_opt!(
            "border_means_nationality",
            transport.border_means_nationality
        ),
        decl_opt!("arrival_means_id", transport.arrival_means_id),
        decl_opt!("arrival_means_type", transport.arrival_means_type),
        decl_opt!("departure_means_id", transport.departure_means_id),
        (
            "transport_documents",
            Access::Declaration(
                |d| join_documents(&d.transport.documents),
                |d, v| d.transport.documents = split_documents(&v),
            ),
        ),
        decl_opt!("goods_location", transport.goods_location),
        decl_opt!("loading_place", transport.loading_place),
        decl_opt!("unloading_place", transport.unloading_place),
        decl_opt!("dispatch_country", transport.dispatch_country),
        decl_opt!("destination_country", transport.destination_country),
        (
            "routing_countries",
            Access::Declaration(
                |d| {
                    join_list(
                        d.transport
                            .routing_countries
                            .iter()
                            .map(|c| vec![c.clone()]),
                    )
                },
                |d, v| {
                    d.transport.routing_countries = split_list(&v)
                        .into_iter()
                        .filter_map(|f| f.into_iter().next())
                        .collect()
                },
            ),
        ),
        decl_opt!("entry_office", transport.entry_office),
        decl_opt!("exit_office", transport.exit_office),
        decl_opt!("supervising_office", transport.supervising_office),
        decl_opt!("presentation_office", transport.presentation_office),
        decl_opt!("departure_date", transport.departure_date),
        decl_opt!("arrival_date", transport.arrival_date),
        (
            "outcome_lane",
            Access::Declaration(
                |d| d.outcome.as_ref().map(|o| o.lane.clone()),
                |d, v| d.outcome.get_or_insert_with(OutcomeDraft::default).lane = v,
            ),
        ),
        (
            "outcome_inspection_result",
            Access::Declaration(
                |d| d.outcome.as_ref().and_then(|o| o.inspection_result.clone()),
                |d, v| {
                    d.outcome
                        .get_or_insert_with(OutcomeDraft::default)
                        .inspection_result = Some(v)
                },
            ),
        ),
        (
            "outcome_seized",
            Access::Declaration(
                |d| d.outcome.as_ref().and_then(|o| o.seized.clone()),
                |d, v| d.outcome.get_or_insert_with(OutcomeDraft::default).seized = Some(v),
            ),
        ),
        (
            "outcome_duty_assessed",
            Access::Declaration(
                |d| d.outcome.as_ref().and_then(|o| o.duty_assessed.clone()),
                |d, v| {
                    d.outcome
                        .get_or_insert_with(OutcomeDraft::default)
                        .duty_assessed = Some(v)
                },
            ),
        ),
        (
            "outcome_duty_recovered",
            Access::Declaration(
                |d| d.outcome.as_ref().and_then(|o| o.duty_recovered.clone()),
                |d, v| {
                    d.outcome
                        .get_or_insert_with(OutcomeDraft::default)
                        .duty_recovered = Some(v)
                },
            ),
        ),
        (
            "outcome_currency",
            Access::Declaration(
                |d| d.outcome.as_ref().and_then(|o| o.currency.clone()),
                |d, v| d.outcome.get_or_insert_with(OutcomeDraft::default).currency = Some(v),
            ),
        ),
        (
            "amendments",
            Access::Declaration(
                |d| {
                    join_list(d.amendments.iter().map(|a| {
                        vec![
                            a.pointer.clone(),
                            a.change_reason.clone().unwrap_or_default(),
                        ]
                    }))
                },
                |d, v| {
                    d.amendments = split_list(&v)
                        .into_iter()
                        .map(|mut f| {
                            f.resize(2, String::new());
                            AmendmentDraft {
                                pointer: std::mem::take(&mut f[0]),
                                change_reason: non_empty(std::mem::take(&mut f[1])),
                            }
                        })
                        .collect()
                },
            ),
        ),
    ]
}

fn item_columns() -> Vec<(&'static str, Access)> {
    vec![
        (
            "item_sequence",
            Access::Item(|i| some(&i.sequence), |i, v| i.sequence = v),
        ),
        item_opt!("commodity_code", commodity_code),
        item_opt!("classification_type", classification_type),
        item_opt!("description", description),
        item_opt!("origin_country", origin_country),
        item_opt!("origin_type", origin_type),
        item_opt!("gross_mass", gross_mass),
        item_opt!("net_mass", net_mass),
        item_opt!("quantity", quantity),
        item_opt!("quantity_unit", quantity_unit),
        item_opt!("packages_count", packages_count),
        item_opt!("package_kind", package_kind),
        item_opt!("package_marks", package_marks),
        item_opt!("item_price", item_price),
        item_opt!("customs_value", customs_value),
        item_opt!("statistical_value", statistical_value),
        item_opt!("value_currency", value_currency),
        item_opt!("procedure", procedure),
        item_opt!("previous_procedure", previous_procedure),
        (
            "additional_procedures",
            Access::Item(
                |i| join_list(i.additional_procedures.iter().map(|c| vec![c.clone()])),
                |i, v| {
                    i.additional_procedures = split_list(&v)
                        .into_iter()
                        .filter_map(|f| f.into_iter().next())
                        .collect()
                },
            ),
        ),
        (
            "duties",
            Access::Item(
                |i| {
                    join_list(i.duties.iter().map(|d| {
                        vec![
                            d.tax_type.clone(),
                            d.base.clone().unwrap_or_default(),
                            d.rate.clone().unwrap_or_default(),
                            d.assessed.clone().unwrap_or_default(),
                            d.currency.clone().unwrap_or_default(),
                            d.payment_method.clone().unwrap_or_default(),
                        ]
                    }))
                },
                |i, v| {
                    i.duties = split_list(&v)
                        .into_iter()
                        .map(|mut f| {
                            f.resize(6, String::new());
                            let mut take = |k: usize| non_empty(std::mem::take(&mut f[k]));
                            DutyDraft {
                                base: take(1),
                                rate: take(2),
                                assessed: take(3),
                                currency: take(4),
                                payment_method: take(5),
                                tax_type: take(0).unwrap_or_default(),
                            }
                        })
                        .collect()
                },
            ),
        ),
        (
            "previous_documents",
            Access::Item(
                |i| join_documents(&i.previous_documents),
                |i, v| i.previous_documents = split_documents(&v),
            ),
        ),
        (
            "additional_documents",
            Access::Item(
                |i| join_documents(&i.additional_documents),
                |i, v| i.additional_documents = split_documents(&v),
            ),
        ),
        item_opt!("un_dangerous_goods", un_dangerous_goods),
        item_opt!("item_nature_of_transaction", nature_of_transaction),
    ]
}

/// The full column table, in the order the writer emits it.
pub fn columns() -> Vec<Column> {
    let mut out: Vec<Column> = declaration_columns()
        .into_iter()
        .map(|(name, access)| Column {
            name: name.to_owned(),
            access,
        })
        .collect();
    for (role_idx, (prefix, _)) in PARTY_ROLES.iter().enumerate() {
        for (field_idx, field) in PARTY_FIELDS.iter().enumerate() {
            out.push(Column {
                name: format!("{prefix}_{field}"),
                access: Access::Party(role_idx, field_idx),
            });
        }
    }
    out.extend(item_columns().into_iter().map(|(name, access)| Column {
        name: name.to_owned(),
        access,
    }));
    out
}

fn some(s: &str) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s.to_owned())
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

fn party_field(party: &PartyDraft, field_idx: usize) -> Option<String> {
    match field_idx {
        0 => party.id_scheme.clone(),
        1 => party.id.clone(),
        2 => party.name.clone(),
        3 => party.address.line.clone(),
        4 => party.address.city.clone(),
        5 => party.address.postcode.clone(),
        6 => party.address.country.clone(),
        7 => party.address.subdivision.clone(),
        _ => party.function_code.clone(),
    }
}

fn set_party_field(party: &mut PartyDraft, field_idx: usize, value: String) {
    let slot = match field_idx {
        0 => &mut party.id_scheme,
        1 => &mut party.id,
        2 => &mut party.name,
        3 => &mut party.address.line,
        4 => &mut party.address.city,
        5 => &mut party.address.postcode,
        6 => &mut party.address.country,
        7 => &mut party.address.subdivision,
        _ => &mut party.function_code,
    };
    *slot = Some(value);
}

/// Joins entries with `;` and sub-fields with `|`, escaping with `\`.
fn join_list(entries: impl Iterator<Item = Vec<String>>) -> Option<String> {
    let mut out = String::new();
    for (n, fields) in entries.enumerate() {
        if n > 0 {
            out.push(';');
        }
        for (k, field) in fields.iter().enumerate() {
            if k > 0 {
                out.push('|');
            }
            for c in field.chars() {
                if matches!(c, ';' | '|' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    }
    if out.is_empty() { None } else { Some(out) }
}

fn split_list(cell: &str) -> Vec<Vec<String>> {
    let mut entries = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = cell.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    field.push(next);
                }
            }
            '|' => fields.push(std::mem::take(&mut field)),
            ';' => {
                fields.push(std::mem::take(&mut field));
                entries.push(std::mem::take(&mut fields));
            }
            other => field.push(other),
        }
    }
    fields.push(field);
    entries.push(fields);
    entries
}

fn join_documents(docs: &[DocumentDraft]) -> Option<String> {
    join_list(docs.iter().map(|d| {
        vec![
            d.id.clone(),
            d.type_code.clone().unwrap_or_default(),
            d.category.clone().unwrap_or_default(),
        ]
    }))
}

fn split_documents(cell: &str) -> Vec<DocumentDraft> {
    split_list(cell)
        .into_iter()
        .map(|mut f| {
            f.resize(3, String::new());
            DocumentDraft {
                id: std::mem::take(&mut f[0]),
                type_code: non_empty(std::mem::take(&mut f[1])),
                category: non_empty(std::mem::take(&mut f[2])),
            }
        })
        .collect()
}

/// Streams declarations out of Caravan CSV.
pub struct CsvReader<R: Read> {
    reader: csv::Reader<LineCapReader<R>>,
    /// For each file column, the table column it fills.
    layout: Vec<Column>,
    /// File positions of the declaration-level cells, compared across a declaration's rows.
    declaration_cells: Vec<usize>,
    lrn_idx: usize,
    declarant_id_idx: Option<usize>,
    record: csv::StringRecord,
    pending: Option<Pending>,
    n_declarations: u64,
    failed: bool,
    header_error: Option<SyntaxError>,
}

struct Pending {
    draft: DeclarationDraft,
    first_row: csv::StringRecord,
    locator: Locator,
}

impl<R: Read> CsvReader<R> {
    /// Reads and checks the header row; a bad header is reported by the first `next()`.
    pub fn new(input: R) -> CsvReader<R> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(LineCapReader::new(input, MAX_LINE_BYTES));
        let (layout, lrn_idx, declarant_id_idx, header_error) = match read_layout(&mut reader) {
            Ok((layout, lrn_idx, declarant_id_idx)) => (layout, lrn_idx, declarant_id_idx, None),
            Err(err) => (Vec::new(), 0, None, Some(err)),
        };
        let declaration_cells = layout
            .iter()
            .enumerate()
            .filter(|(_, c)| !matches!(c.access, Access::Item(..)))
            .map(|(i, _)| i)
            .collect();
        CsvReader {
            reader,
            layout,
            declaration_cells,
            lrn_idx,
            declarant_id_idx,
            record: csv::StringRecord::new(),
            pending: None,
            n_declarations: 0,
            failed: false,
            header_error,
        }
    }

    fn fail(&mut self, err: SyntaxError) -> Option<Result<SourceRecord, SyntaxError>> {
        self.failed = true;
        Some(Err(err))
    }

    fn same_declaration(&self, pending: &Pending) -> bool {
        let same_cell = |idx: usize| pending.first_row.get(idx) == self.record.get(idx);
        same_cell(self.lrn_idx) && self.declarant_id_idx.is_none_or(same_cell)
    }

    /// Starts a declaration from the current row.
    fn start(&mut self, locator: Locator) -> Result<Pending, SyntaxError> {
        let mut draft = DeclarationDraft::default();
        for (idx, column) in self.layout.iter().enumerate() {
            let Some(cell) = self.record.get(idx).filter(|c| !c.is_empty()) else {
                continue;
            };
            match column.access {
                Access::Declaration(_, set) => {
                    if column.name == "model_version" && cell != MODEL_VERSION {
                        return Err(SyntaxError::new(
                            "CSV_MODEL_VERSION",
                            locator,
                            format!("model_version must be {MODEL_VERSION}"),
                        )
                        .field("model_version")
                        .value(cell));
                    }
                    set(&mut draft, cell.to_owned())
                }
                Access::Party(role_idx, field_idx) => {
                    let role = PARTY_ROLES[role_idx].1;
                    let position = match draft.parties.iter().position(|p| p.role == role) {
                        Some(position) => position,
                        None => {
                            draft.parties.push(PartyDraft {
                                role: role.to_owned(),
                                ..Default::default()
                            });
                            draft.parties.len() - 1
                        }
                    };
                    set_party_field(&mut draft.parties[position], field_idx, cell.to_owned());
                }
                Access::Item(..) => {}
            }
        }
        Ok(Pending {
            draft,
            first_row: self.record.clone(),
            locator,
        })
    }

    fn add_item(&self, pending: &mut Pending, line: u64) -> Result<(), SyntaxError> {
        for &idx in &self.declaration_cells {
            if pending.first_row.get(idx) != self.record.get(idx) {
                let name = &self.layout[idx].name;
                return Err(SyntaxError::new(
                    "CSV_INCONSISTENT_ROWS",
                    Locator {
                        line,
                        record: pending.locator.record,
                    },
                    "declaration-level cells must be identical on every row of a declaration",
                )
                .field(name.clone())
                .value(self.record.get(idx).unwrap_or_default()));
            }
        }
        let mut item = GoodsItemDraft::default();
        let mut any = false;
        for (idx, column) in self.layout.iter().enumerate() {
            if let Access::Item(_, set) = column.access
                && let Some(cell) = self.record.get(idx).filter(|c| !c.is_empty())
            {
                set(&mut item, cell.to_owned());
                any = true;
            }
        }
        if any {
            pending.draft.items.push(item);
        }
        Ok(())
    }

    fn read_row(&mut self) -> Result<bool, SyntaxError> {
        let line = self.reader.position().line();
        self.reader.read_record(&mut self.record).map_err(|err| {
            csv_error(
                err,
                Locator {
                    line: line.max(2),
                    record: self.n_declarations + 1,
                },
            )
        })
    }
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = Result<SourceRecord, SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if let Some(err) = self.header_error.take() {
            return self.fail(err);
        }
        loop {
            match self.read_row() {
                Err(err) => return self.fail(err),
                Ok(false) => {
                    let pending = self.pending.take()?;
                    return Some(Ok(SourceRecord {
                        locator: pending.locator,
                        draft: pending.draft,
                    }));
                }
                Ok(true) => {}
            }
            let line = self.record.position().map_or(0, |p| p.line());
            match self.pending.take() {
                Some(mut pending) if self.same_declaration(&pending) => {
                    if let Err(err) = self.add_item(&mut pending, line) {
                        return self.fail(err);
                    }
                    self.pending = Some(pending);
                }
                finished => {
                    self.n_declarations += 1;
                    let locator = Locator {
                        line,
                        record: self.n_declarations,
                    };
                    let mut next = match self.start(locator) {
                        Ok(next) => next,
                        Err(err) => return self.fail(err),
                    };
                    if let Err(err) = self.add_item(&mut next, line) {
                        return self.fail(err);
                    }
                    self.pending = Some(next);
                    if let Some(done) = finished {
                        return Some(Ok(SourceRecord {
                            locator: done.locator,
                            draft: done.draft,
                        }));
                    }
                }
            }
        }
    }
}

fn read_layout<R: Read>(
    reader: &mut csv::Reader<R>,
) -> Result<(Vec<Column>, usize, Option<usize>), SyntaxError> {
    let header_locator = Locator { line: 1, record: 0 };
    let headers = reader
        .headers()
        .map_err(|err| csv_error(err, header_locator))?
        .clone();
    if headers.is_empty() || (headers.len() == 1 && headers.get(0) == Some("")) {
        return Err(SyntaxError::new(
            "CSV_NO_HEADER",
            header_locator,
            "a header row is required",
        ));
    }
    let table = columns();
    let mut layout = Vec::with_capacity(headers.len());
    for name in headers.iter() {
        let name = name.trim_start_matches('\u{feff}');
        let Some(column) = table.iter().find(|c| c.name == name) else {
            return Err(SyntaxError::new(
                "CSV_UNKNOWN_COLUMN",
                header_locator,
                "unknown column; Caravan CSV never drops data silently",
            )
            .field(name));
        };
        if layout.iter().any(|c: &Column| c.name == name) {
            return Err(SyntaxError::new(
                "CSV_DUPLICATE_COLUMN",
                header_locator,
                "column repeated",
            )
            .field(name));
        }
        layout.push(column.clone());
    }
    let position = |name: &str| layout.iter().position(|c| c.name == name);
    for required in ["model_version", "type_code", "function_code", "lrn"] {
        if position(required).is_none() {
            return Err(SyntaxError::new(
                "CSV_MISSING_COLUMN",
                header_locator,
                "required column absent",
            )
            .field(required));
        }
    }
    let lrn_idx = position("lrn").unwrap_or_default();
    let declarant_id_idx = position("declarant_id");
    Ok((layout, lrn_idx, declarant_id_idx))
}

fn csv_error(err: csv::Error, locator: Locator) -> SyntaxError {
    let line_of = |pos: Option<&csv::Position>| pos.map_or(locator.line, |p| p.line());
    match err.kind() {
        csv::ErrorKind::Utf8 { pos, err } => SyntaxError::new(
            "CSV_NOT_UTF8",
            Locator {
                line: line_of(pos.as_ref()),
                ..locator
            },
            format!(
                "file is not UTF-8 (field {}, byte {})",
                err.field() + 1,
                err.valid_up_to()
            ),
        ),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => SyntaxError::new(
            "CSV_FIELD_COUNT",
            Locator {
                line: line_of(pos.as_ref()),
                ..locator
            },
            format!("row has {len} fields, the header has {expected_len}"),
        ),
        csv::ErrorKind::Io(io) => match line_too_long(io) {
            Some(long) => SyntaxError::new(
                "CSV_LINE_TOO_LONG",
                Locator {
                    line: long.line,
                    ..locator
                },
                format!("a line may hold at most {} bytes", long.cap),
            ),
            None => SyntaxError::new("CSV_IO", locator, format!("read failed: {io}")),
        },
        _ => SyntaxError::new("CSV_MALFORMED", locator, err.to_string()),
    }
}

/// Writes drafts as Caravan CSV, header first.
pub struct CsvWriter<W: Write> {
    writer: csv::Writer<W>,
    columns: Vec<Column>,
    row: Vec<String>,
}

impl<W: Write> CsvWriter<W> {
    /// Writes the header row.
    pub fn new(out: W) -> std::io::Result<CsvWriter<W>> {
        let columns = columns();
        let mut writer = csv::WriterBuilder::new().from_writer(out);
        writer.write_record(columns.iter().map(|c| c.name.as_str()))?;
        Ok(CsvWriter {
            writer,
            row: Vec::with_capacity(columns.len()),
            columns,
        })
    }

    /// Writes one row per goods item (one row for a declaration without items).
    pub fn write(&mut self, draft: &DeclarationDraft) -> std::io::Result<()> {
        let empty_item = GoodsItemDraft::default();
        let items: Vec<&GoodsItemDraft> = if draft.items.is_empty() {
            vec![&empty_item]
        } else {
            draft.items.iter().collect()
        };
        for item in items {
            self.row.clear();
            for column in &self.columns {
                let cell = match column.access {
                    Access::Declaration(get, _) => get(draft),
                    Access::Party(role_idx, field_idx) => draft
                        .parties
                        .iter()
                        .find(|p| p.role == PARTY_ROLES[role_idx].1)
                        .and_then(|p| party_field(p, field_idx)),
                    Access::Item(get, _) => get(item),
                };
                self.row.push(cell.unwrap_or_default());
            }
            self.writer.write_record(&self.row)?;
        }
        Ok(())
    }

    /// Flushes and returns the inner writer.
    pub fn finish(self) -> std::io::Result<W> {
        self.writer.into_inner().map_err(|err| err.into_error())
    }
}
