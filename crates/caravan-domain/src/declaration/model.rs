//! The typed declaration: what a node keeps after validation.
//!
//! Values that must be valid for the record to mean anything (amounts, masses, item
//! numbers, dates) have typed fields. Identifiers that foreign parties issue are
//! [`Declared`]: a defective one is kept verbatim next to the reason it failed, because
//! partner data is never rejected for a defect the partner cannot fix (spec section 4).

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::declaration::decimal::Decimal;
use crate::declaration::draft::{
    AddressDraft, AmendmentDraft, DeclarationDraft, DocumentDraft, DutyDraft, EquipmentDraft,
    GoodsItemDraft, HeaderDraft, OutcomeDraft, PartyDraft, TransportDraft,
};
use crate::id::{ContainerNumber, CountryCode, CurrencyCode, HsCode, PartyIdScheme, UnLocode};

/// An identifier as declared: valid, or kept verbatim with the check it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declared<T> {
    /// Passed every check.
    Valid(T),
    /// Failed a check that is only a warning here; `code` names the check.
    Defective {
        /// The value exactly as declared.
        raw: String,
        /// Stable finding code of the failed check.
        code: &'static str,
    },
}

impl<T: std::fmt::Display> Declared<T> {
    /// The canonical form when valid, the declared form otherwise.
    pub fn display(&self) -> String {
        match self {
            Declared::Valid(value) => value.to_string(),
            Declared::Defective { raw, .. } => raw.clone(),
        }
    }
}

impl<T> Declared<T> {
    /// The valid value, if it is one.
    pub fn valid(&self) -> Option<&T> {
        match self {
            Declared::Valid(value) => Some(value),
            Declared::Defective { .. } => None,
        }
    }
}

/// Which way the goods move, from the declaring administration's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Goods entering (IM, and CO declarations with an importer).
    Import,
    /// Goods leaving (EX, and other CO declarations).
    Export,
    /// A cancellation (INV) or amendment (COR) that points at another declaration.
    Amendment,
}

impl Direction {
    /// Stable lower-case name used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Import => "import",
            Direction::Export => "export",
            Direction::Amendment => "amendment",
        }
    }
}

/// Declaration function code (WCO 017 / CUSDEC BGM 1225).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionCode {
    /// 9: original.
    Original,
    /// 13: request (amendment or cancellation) in WCO XML.
    Request,
    /// 5: replace.
    Replace,
    /// 1: cancellation.
    Cancellation,
    /// 4: change.
    Change,
}

impl FunctionCode {
    /// Parses the numeric code.
    pub fn parse(raw: &str) -> Option<FunctionCode> {
        Some(match raw.trim() {
            "9" => FunctionCode::Original,
            "13" => FunctionCode::Request,
            "5" => FunctionCode::Replace,
            "1" => FunctionCode::Cancellation,
            "4" => FunctionCode::Change,
            _ => return None,
        })
    }

    /// The numeric code.
    pub fn code(self) -> &'static str {
        match self {
            FunctionCode::Original => "9",
            FunctionCode::Request => "13",
            FunctionCode::Replace => "5",
            FunctionCode::Cancellation => "1",
            FunctionCode::Change => "4",
        }
    }
}

/// Party role, by UN 3035 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartyRole {
    /// EX.
    Exporter,
    /// CZ.
    Consignor,
    /// CN.
    Consignee,
    /// IM.
    Importer,
    /// DT.
    Declarant,
    /// AE.
    Representative,
    /// CB.
    Broker,
    /// SE.
    Seller,
    /// BY.
    Buyer,
    /// CA.
    Carrier,
    /// NI.
    NotifyParty,
    /// MF.
    Manufacturer,
}

impl PartyRole {
    /// Every role, in canonical order.
    pub const ALL: [PartyRole; 12] = [
        PartyRole::Exporter,
        PartyRole::Consignor,
        PartyRole::Consignee,
        PartyRole::Importer,
        PartyRole::Declarant,
        PartyRole::Representative,
        PartyRole::Broker,
        PartyRole::Seller,
        PartyRole::Buyer,
        PartyRole::Carrier,
        PartyRole::NotifyParty,
        PartyRole::Manufacturer,
    ];

    /// The UN 3035 code.
    pub fn code(self) -> &'static str {
        match self {
            PartyRole::Exporter => "EX",
            PartyRole::Consignor => "CZ",
            PartyRole::Consignee => "CN",
            PartyRole::Importer => "IM",
            PartyRole::Declarant => "DT",
            PartyRole::Representative => "AE",
            PartyRole::Broker => "CB",
            PartyRole::Seller => "SE",
            PartyRole::Buyer => "BY",
            PartyRole::Carrier => "CA",
            PartyRole::NotifyParty => "NI",
            PartyRole::Manufacturer => "MF",
        }
    }

    /// Parses a UN 3035 code.
    pub fn parse(raw: &str) -> Option<PartyRole> {
        PartyRole::ALL.into_iter().find(|r| r.code() == raw.trim())
    }
}

/// A whole validated declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// Header fields.
    pub header: Header,
    /// Parties, in canonical role order.
    pub parties: Vec<Party>,
    /// Transport and places.
    pub transport: Transport,
    /// Goods items, numbered 1..n.
    pub items: Vec<GoodsItem>,
    /// What customs decided, once known.
    pub outcome: Option<Outcome>,
    /// Amendment pointers of a function-13 request.
    pub amendments: Vec<AmendmentDraft>,
}

/// Validated header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// D013, e.g. `IMA`.
    pub type_code: String,
    /// Derived from the type code (and parties for CO types).
    pub direction: Direction,
    /// 017.
    pub function: FunctionCode,
    /// D026 trader reference.
    pub lrn: String,
    /// D014 customs number.
    pub mrn: Option<String>,
    /// D011.
    pub issued_at: Option<DateTime<FixedOffset>>,
    /// D012.
    pub place_of_issue: Option<Declared<UnLocode>>,
    /// 023.
    pub accepted_at: Option<DateTime<FixedOffset>>,
    /// 065.
    pub declaration_office: Option<String>,
    /// 228.
    pub goods_item_count: Option<u32>,
    /// 146.
    pub total_packages: Option<u64>,
    /// 131, kg.
    pub total_gross_mass: Option<Decimal>,
    /// 109.
    pub invoice_total: Option<Decimal>,
    /// 135.
    pub invoice_currency: Option<Declared<CurrencyCode>>,
    /// 016.
    pub ucr: Option<String>,
    /// 090.
    pub delivery_terms: Option<String>,
    /// L002.
    pub delivery_place: Option<String>,
    /// 122.
    pub valuation_method: Option<String>,
    /// 103.
    pub nature_of_transaction: Option<String>,
    /// 117.
    pub freight_charge: Option<Decimal>,
    /// Currency of the freight charge.
    pub freight_currency: Option<Declared<CurrencyCode>>,
    /// 098.
    pub freight_payment_method: Option<String>,
}

/// A party's identifier, typed by scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyId {
    /// The declared scheme; never guessed from the value.
    pub scheme: PartyIdScheme,
    /// Normalised value when valid; verbatim otherwise.
    pub value: Declared<String>,
}

/// A validated party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// UN 3035 role.
    pub role: PartyRole,
    /// Identifier, if declared.
    pub id: Option<PartyId>,
    /// Name exactly as declared, in any script.
    pub name: Option<String>,
    /// Address as declared.
    pub address: Address,
    /// Representative function (102).
    pub function_code: Option<String>,
}

/// Address as declared; the country is checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// 239.
    pub line: Option<String>,
    /// 241.
    pub city: Option<String>,
    /// 245.
    pub postcode: Option<String>,
    /// 242.
    pub country: Option<Declared<CountryCode>>,
    /// 244.
    pub subdivision: Option<String>,
}

/// Validated transport.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transport {
    /// 096.
    pub container_indicator: Option<bool>,
    /// 159 + 165.
    pub equipment: Vec<Equipment>,
    /// T022, UN/ECE Rec 19 digit.
    pub border_mode: Option<u8>,
    /// T021.
    pub inland_mode: Option<u8>,
    /// T006.
    pub border_means_id: Option<String>,
    /// T018.
    pub border_means_type: Option<String>,
    /// T014.
    pub border_means_nationality: Option<Declared<CountryCode>>,
    /// T002.
    pub arrival_means_id: Option<String>,
    /// T034.
    pub arrival_means_type: Option<String>,
    /// T004.
    pub departure_means_id: Option<String>,
    /// D018/D019/D031.
    pub documents: Vec<DocumentDraft>,
    /// L017.
    pub goods_location: Option<String>,
    /// L010.
    pub loading_place: Option<Declared<UnLocode>>,
    /// Place of unloading.
    pub unloading_place: Option<Declared<UnLocode>>,
    /// 062.
    pub dispatch_country: Option<Declared<CountryCode>>,
    /// 465.
    pub destination_country: Option<Declared<CountryCode>>,
    /// 064.
    pub routing_countries: Vec<Declared<CountryCode>>,
    /// Office of entry.
    pub entry_office: Option<String>,
    /// G005.
    pub exit_office: Option<String>,
    /// G012.
    pub supervising_office: Option<String>,
    /// G015.
    pub presentation_office: Option<String>,
    /// Departure date.
    pub departure_date: Option<NaiveDate>,
    /// Arrival date.
    pub arrival_date: Option<NaiveDate>,
}

/// A container with its seals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equipment {
    /// ISO 6346 number; failures are always warnings.
    pub container: Declared<ContainerNumber>,
    /// Seal numbers.
    pub seals: Vec<String>,
}

/// A validated goods item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodsItem {
    /// 1-based item number.
    pub sequence: u32,
    /// 145; absent on minimum-data declarations.
    pub commodity_code: Option<Declared<HsCode>>,
    /// 346.
    pub classification_type: Option<String>,
    /// 137.
    pub description: Option<String>,
    /// 063 (ISO 3166-1, or a group code such as `EU` kept as declared).
    pub origin_country: Option<Declared<CountryCode>>,
    /// 501.
    pub origin_type: Option<String>,
    /// 126, kg.
    pub gross_mass: Option<Decimal>,
    /// 128, kg.
    pub net_mass: Option<Decimal>,
    /// 130.
    pub quantity: Option<Decimal>,
    /// Rec 20 unit code.
    pub quantity_unit: Option<String>,
    /// 144.
    pub packages_count: Option<u64>,
    /// 141.
    pub package_kind: Option<String>,
    /// 142.
    pub package_marks: Option<String>,
    /// 112 invoice value of the item.
    pub item_price: Option<Decimal>,
    /// 108.
    pub customs_value: Option<Decimal>,
    /// 114.
    pub statistical_value: Option<Decimal>,
    /// Currency of the item's amounts (the invoice currency when not declared).
    pub value_currency: Option<Declared<CurrencyCode>>,
    /// 166.
    pub procedure: Option<String>,
    /// 161.
    pub previous_procedure: Option<String>,
    /// DE 1/11.
    pub additional_procedures: Vec<String>,
    /// Duty and tax lines.
    pub duties: Vec<Duty>,
    /// DE 2/1.
    pub previous_documents: Vec<DocumentDraft>,
    /// DE 2/3.
    pub additional_documents: Vec<DocumentDraft>,
    /// 506.
    pub un_dangerous_goods: Option<String>,
    /// 103.
    pub nature_of_transaction: Option<String>,
}

/// A duty or tax line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duty {
    /// 113.
    pub tax_type: String,
    /// 116.
    pub base: Option<Decimal>,
    /// 164 duty regime code (an..3).
    pub rate: Option<String>,
    /// 120, never negative.
    pub assessed: Option<Decimal>,
    /// Currency of the amounts.
    pub currency: Option<Declared<CurrencyCode>>,
    /// 107.
    pub payment_method: Option<String>,
}

/// Selectivity lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Released without check.
    Green,
    /// Documentary check.
    Yellow,
    /// Physical examination.
    Red,
}

impl Lane {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Green => "green",
            Lane::Yellow => "yellow",
            Lane::Red => "red",
        }
    }

    /// Parses a stable name.
    pub fn parse(raw: &str) -> Option<Lane> {
        Some(match raw.trim().to_ascii_lowercase().as_str() {
            "green" => Lane::Green,
            "yellow" => Lane::Yellow,
            "red" => Lane::Red,
            _ => return None,
        })
    }
}

/// Result of an inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InspectionResult {
    /// No inspection took place.
    NotInspected,
    /// Inspected; goods matched the declaration.
    NoDiscrepancy,
    /// Inspected; goods differed from the declaration.
    Discrepancy,
}

impl InspectionResult {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            InspectionResult::NotInspected => "not_inspected",
            InspectionResult::NoDiscrepancy => "no_discrepancy",
            InspectionResult::Discrepancy => "discrepancy",
        }
    }

    /// Parses a stable name.
    pub fn parse(raw: &str) -> Option<InspectionResult> {
        Some(match raw.trim() {
            "not_inspected" => InspectionResult::NotInspected,
            "no_discrepancy" => InspectionResult::NoDiscrepancy,
            "discrepancy" => InspectionResult::Discrepancy,
            _ => return None,
        })
    }
}

/// What customs decided about the declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Lane.
    pub lane: Lane,
    /// Inspection result.
    pub inspection_result: Option<InspectionResult>,
    /// Goods seized.
    pub seized: Option<bool>,
    /// Duty assessed at clearance.
    pub duty_assessed: Option<Decimal>,
    /// Duty recovered after a finding.
    pub duty_recovered: Option<Decimal>,
    /// Currency of the duty amounts.
    pub currency: Option<Declared<CurrencyCode>>,
}

impl Declaration {
    /// The first party in `role`.
    pub fn party(&self, role: PartyRole) -> Option<&Party> {
        self.parties.iter().find(|p| p.role == role)
    }

    /// The declarant's identifier as stored (normalised when valid), the key half of the
    /// (declarant, LRN) uniqueness rule; empty when no identifier was declared.
    pub fn declarant_key(&self) -> String {
        self.party(PartyRole::Declarant)
            .and_then(|p| p.id.as_ref())
            .map(|id| id.value.display())
            .unwrap_or_default()
    }

    /// Back to a draft, in canonical string forms. Validating the result gives `self`
    /// again; the writers of every syntax start from here.
    pub fn to_draft(&self) -> DeclarationDraft {
        let h = &self.header;
        let opt = |v: &Option<String>| v.clone();
        let dec = |v: &Option<Decimal>| v.map(|d| d.to_string());
        let decl = |v: &Option<Declared<CurrencyCode>>| v.as_ref().map(Declared::display);
        let country = |v: &Option<Declared<CountryCode>>| v.as_ref().map(Declared::display);
        let locode = |v: &Option<Declared<UnLocode>>| v.as_ref().map(Declared::display);
        let time = |v: &Option<DateTime<FixedOffset>>| v.map(|t| t.to_rfc3339());
        let date = |v: &Option<NaiveDate>| v.map(|d| d.format("%Y-%m-%d").to_string());
        DeclarationDraft {
            header: HeaderDraft {
                type_code: h.type_code.clone(),
                function_code: h.function.code().to_owned(),
                lrn: h.lrn.clone(),
                mrn: opt(&h.mrn),
                issued_at: time(&h.issued_at),
                place_of_issue: locode(&h.place_of_issue),
                accepted_at: time(&h.accepted_at),
                declaration_office: opt(&h.declaration_office),
                goods_item_count: h.goods_item_count.map(|n| n.to_string()),
                total_packages: h.total_packages.map(|n| n.to_string()),
                total_gross_mass: dec(&h.total_gross_mass),
                invoice_total: dec(&h.invoice_total),
                invoice_currency: decl(&h.invoice_currency),
                ucr: opt(&h.ucr),
                delivery_terms: opt(&h.delivery_terms),
                delivery_place: opt(&h.delivery_place),
                valuation_method: opt(&h.valuation_method),
                nature_of_transaction: opt(&h.nature_of_transaction),
                freight_charge: dec(&h.freight_charge),
                freight_currency: decl(&h.freight_currency),
                freight_payment_method: opt(&h.freight_payment_method),
            },
            parties: self
                .parties
                .iter()
                .map(|p| PartyDraft {
                    role: p.role.code().to_owned(),
                    id_scheme: p.id.as_ref().map(|id| id.scheme.as_str().to_owned()),
                    id: p.id.as_ref().map(|id| id.value.display()),
                    name: opt(&p.name),
                    address: AddressDraft {
                        line: opt(&p.address.line),
                        city: opt(&p.address.city),
                        postcode: opt(&p.address.postcode),
                        country: country(&p.address.country),
                        subdivision: opt(&p.address.subdivision),
                    },
                    function_code: opt(&p.function_code),
                })
                .collect(),
            transport: {
                let t = &self.transport;
                TransportDraft {
                    container_indicator: t
                        .container_indicator
                        .map(|b| if b { "1" } else { "0" }.to_owned()),
                    equipment: t
                        .equipment
                        .iter()
                        .map(|e| EquipmentDraft {
                            container_id: e.container.display(),
                            seals: e.seals.clone(),
                        })
                        .collect(),
                    border_mode: t.border_mode.map(|m| m.to_string()),
                    inland_mode: t.inland_mode.map(|m| m.to_string()),
                    border_means_id: opt(&t.border_means_id),
                    border_means_type: opt(&t.border_means_type),
                    border_means_nationality: country(&t.border_means_nationality),
                    arrival_means_id: opt(&t.arrival_means_id),
                    arrival_means_type: opt(&t.arrival_means_type),
                    departure_means_id: opt(&t.departure_means_id),
                    documents: t.documents.clone(),
                    goods_location: opt(&t.goods_location),
                    loading_place: locode(&t.loading_place),
                    unloading_place: locode(&t.unloading_place),
                    dispatch_country: country(&t.dispatch_country),
                    destination_country: country(&t.destination_country),
                    routing_countries: t.routing_countries.iter().map(Declared::display).collect(),
                    entry_office: opt(&t.entry_office),
                    exit_office: opt(&t.exit_office),
                    supervising_office: opt(&t.supervising_office),
                    presentation_office: opt(&t.presentation_office),
                    departure_date: date(&t.departure_date),
                    arrival_date: date(&t.arrival_date),
                }
            },
            items: self
                .items
                .iter()
                .map(|i| GoodsItemDraft {
                    sequence: i.sequence.to_string(),
                    commodity_code: i.commodity_code.as_ref().map(Declared::display),
                    classification_type: opt(&i.classification_type),
                    description: opt(&i.description),
                    origin_country: country(&i.origin_country),
                    origin_type: opt(&i.origin_type),
                    gross_mass: dec(&i.gross_mass),
                    net_mass: dec(&i.net_mass),
                    quantity: dec(&i.quantity),
                    quantity_unit: opt(&i.quantity_unit),
                    packages_count: i.packages_count.map(|n| n.to_string()),
                    package_kind: opt(&i.package_kind),
                    package_marks: opt(&i.package_marks),
                    item_price: dec(&i.item_price),
                    customs_value: dec(&i.customs_value),
                    statistical_value: dec(&i.statistical_value),
                    value_currency: decl(&i.value_currency),
                    procedure: opt(&i.procedure),
                    previous_procedure: opt(&i.previous_procedure),
                    additional_procedures: i.additional_procedures.clone(),
                    duties: i
                        .duties
                        .iter()
                        .map(|d| DutyDraft {
                            tax_type: d.tax_type.clone(),
                            base: dec(&d.base),
                            rate: opt(&d.rate),
                            assessed: dec(&d.assessed),
                            currency: decl(&d.currency),
                            payment_method: opt(&d.payment_method),
                        })
                        .collect(),
                    previous_documents: i.previous_documents.clone(),
                    additional_documents: i.additional_documents.clone(),
                    un_dangerous_goods: opt(&i.un_dangerous_goods),
                    nature_of_transaction: opt(&i.nature_of_transaction),
                })
                .collect(),
            outcome: self.outcome.as_ref().map(|o| OutcomeDraft {
                lane: o.lane.as_str().to_owned(),
                inspection_result: o.inspection_result.map(|r| r.as_str().to_owned()),
                seized: o.seized.map(|b| b.to_string()),
                duty_assessed: dec(&o.duty_assessed),
                duty_recovered: dec(&o.duty_recovered),
                currency: decl(&o.currency),
            }),
            amendments: self.amendments.clone(),
        }
    }
}
