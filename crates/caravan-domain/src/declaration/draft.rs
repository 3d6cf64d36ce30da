//! The declaration as it arrives from any syntax: every field a string, nothing checked.
//!
//! Syntaxes (Caravan CSV and JSON, WCO DEC-DMS XML, UN/EDIFACT CUSDEC) only translate
//! between their bytes and a [`DeclarationDraft`]; they never decide whether a value is
//! valid. That is the job of [`crate::declaration::validate`], which turns a draft into a
//! typed [`crate::declaration::Declaration`] plus findings, so every rule lives in one
//! place whatever the syntax. [`crate::declaration::Declaration::to_draft`] goes the other
//! way, which is what the writers use and what makes round-trip tests possible.
//!
//! Field comments give the WCO Data Model ID (see `spec/declarations.md`, section 2).
//! `None` and an empty `Vec` both mean "not declared".

/// A whole declaration, fields as declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclarationDraft {
    pub header: HeaderDraft,
    pub parties: Vec<PartyDraft>,
    pub transport: TransportDraft,
    pub items: Vec<GoodsItemDraft>,
    pub outcome: Option<OutcomeDraft>,
    /// WCO `Amendment`/`Pointer` entries of a function-13 (COR/INV) request.
    pub amendments: Vec<AmendmentDraft>,
}

/// Declaration header (WCO class `Declaration`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderDraft {
    /// D013 declaration type, e.g. `IMA`, `EXD`, `COR`, `INV`.
    pub type_code: String,
    /// 017 function code: 9 original, 13 request, 5 replace, 1 cancellation, 4 change.
    pub function_code: String,
    /// D026 trader reference (LRN).
    pub lrn: String,
    /// D014 customs declaration number (MRN or US entry number).
    pub mrn: Option<String>,
    /// D011 issue date/time, ISO 8601 with UTC offset.
    pub issued_at: Option<String>,
    /// D012 place of issue (UN/LOCODE).
    pub place_of_issue: Option<String>,
    /// 023 acceptance date/time (set by customs).
    pub accepted_at: Option<String>,
    /// 065 declaration office.
    pub declaration_office: Option<String>,
    /// 228 number of goods items.
    pub goods_item_count: Option<String>,
    /// 146 total packages.
    pub total_packages: Option<String>,
    /// 131 total gross mass, kg.
    pub total_gross_mass: Option<String>,
    /// 109 invoice total.
    pub invoice_total: Option<String>,
    /// 135 invoice currency, ISO 4217.
    pub invoice_currency: Option<String>,
    /// 016 unique consignment reference.
    pub ucr: Option<String>,
    /// 090 delivery terms (Incoterms).
    pub delivery_terms: Option<String>,
    /// L002 delivery terms place.
    pub delivery_place: Option<String>,
    /// 122 valuation method.
    pub valuation_method: Option<String>,
    /// 103 nature of transaction.
    pub nature_of_transaction: Option<String>,
    /// 117 freight charge.
    pub freight_charge: Option<String>,
    /// Currency of the freight charge.
    pub freight_currency: Option<String>,
    /// 098 freight payment method.
    pub freight_payment_method: Option<String>,
}

/// A party in a declaration role (UN 3035 codes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartyDraft {
    /// UN 3035 role: EX exporter, CZ consignor, CN consignee, IM importer, DT declarant,
    /// AE representative, CB broker, SE seller, BY buyer, CA carrier, NI notify party,
    /// MF manufacturer.
    pub role: String,
    /// Identifier scheme: `EORI`, `US_EIN`, `US_IOR`, `UZ_STIR`, `LEI`, `OTHER`.
    pub id_scheme: Option<String>,
    /// Identifier as declared.
    pub id: Option<String>,
    /// Name, in any script.
    pub name: Option<String>,
    pub address: AddressDraft,
    /// 102 representative function (2 direct, 3 indirect).
    pub function_code: Option<String>,
}

/// Address sub-fields shared by every party.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressDraft {
    /// 239 street and number.
    pub line: Option<String>,
    /// 241 city.
    pub city: Option<String>,
    /// 245 postcode.
    pub postcode: Option<String>,
    /// 242 country, ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// 244 country subdivision.
    pub subdivision: Option<String>,
}

/// Transport and places (WCO class `Consignment`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportDraft {
    /// 096 container indicator (0 or 1).
    pub container_indicator: Option<String>,
    /// 159 containers with their 165 seals.
    pub equipment: Vec<EquipmentDraft>,
    /// T022 mode of transport at the border (UN/ECE Rec 19).
    pub border_mode: Option<String>,
    /// T021 inland mode of transport.
    pub inland_mode: Option<String>,
    /// T006 border means identification.
    pub border_means_id: Option<String>,
    /// T018 border means identification type.
    pub border_means_type: Option<String>,
    /// T014 border means nationality.
    pub border_means_nationality: Option<String>,
    /// T002 arrival means identification.
    pub arrival_means_id: Option<String>,
    /// T034 arrival means identification type.
    pub arrival_means_type: Option<String>,
    /// T004 departure means identification.
    pub departure_means_id: Option<String>,
    /// D018/D019/D031 transport documents (B/L, AWB, ...).
    pub documents: Vec<DocumentDraft>,
    /// L017 location of goods.
    pub goods_location: Option<String>,
    /// L010 place of loading (UN/LOCODE).
    pub loading_place: Option<String>,
    /// Place of unloading (UN/LOCODE).
    pub unloading_place: Option<String>,
    /// 062 country of dispatch/export.
    pub dispatch_country: Option<String>,
    /// 465 country of destination.
    pub destination_country: Option<String>,
    /// 064 routing countries, in order.
    pub routing_countries: Vec<String>,
    /// Office of entry.
    pub entry_office: Option<String>,
    /// G005 office of exit.
    pub exit_office: Option<String>,
    /// G012 supervising office.
    pub supervising_office: Option<String>,
    /// G015 presentation office.
    pub presentation_office: Option<String>,
    /// Date of departure, ISO 8601 date.
    pub departure_date: Option<String>,
    /// Date of arrival, ISO 8601 date.
    pub arrival_date: Option<String>,
}

/// One piece of transport equipment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EquipmentDraft {
    /// 159 container number.
    pub container_id: String,
    /// 165 seal numbers.
    pub seals: Vec<String>,
}

/// A referenced document: D018 id, D019 type (UN 1001), D031 category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentDraft {
    pub id: String,
    pub type_code: Option<String>,
    pub category: Option<String>,
}

/// One goods item (WCO class `GovernmentAgencyGoodsItem`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoodsItemDraft {
    /// Item number, 1..n.
    pub sequence: String,
    /// 145 commodity code (6 to 10+ digits).
    pub commodity_code: Option<String>,
    /// 346 classification type (TSP, TRC, TRA, GN, HS).
    pub classification_type: Option<String>,
    /// 137 goods description.
    pub description: Option<String>,
    /// 063 country of origin.
    pub origin_country: Option<String>,
    /// 501 origin type (1 non-preferential, 2 preferential).
    pub origin_type: Option<String>,
    /// 126 gross mass, kg.
    pub gross_mass: Option<String>,
    /// 128 net mass, kg.
    pub net_mass: Option<String>,
    /// 130 supplementary quantity.
    pub quantity: Option<String>,
    /// UN/ECE Rec 20 unit of the quantity.
    pub quantity_unit: Option<String>,
    /// 144 number of packages.
    pub packages_count: Option<String>,
    /// 141 package kind (Rec 21).
    pub package_kind: Option<String>,
    /// 142 shipping marks.
    pub package_marks: Option<String>,
    /// 112 item price (invoice value of the item).
    pub item_price: Option<String>,
    /// 108 customs value.
    pub customs_value: Option<String>,
    /// 114 statistical value.
    pub statistical_value: Option<String>,
    /// Currency of the item amounts; the invoice currency when absent.
    pub value_currency: Option<String>,
    /// 166 requested procedure.
    pub procedure: Option<String>,
    /// 161 previous procedure.
    pub previous_procedure: Option<String>,
    /// Additional procedure codes (DE 1/11).
    pub additional_procedures: Vec<String>,
    /// 113.. duty and tax lines.
    pub duties: Vec<DutyDraft>,
    /// Previous documents (DE 2/1).
    pub previous_documents: Vec<DocumentDraft>,
    /// Additional documents: licences, certificates (DE 2/3).
    pub additional_documents: Vec<DocumentDraft>,
    /// 506 UN dangerous goods number.
    pub un_dangerous_goods: Option<String>,
    /// 103 nature of transaction.
    pub nature_of_transaction: Option<String>,
}

/// A duty or tax line: 113 type, 116 base, 164 duty regime code (`rate`, an..3, e.g. UN 5305
/// `S` standard rate), 120 assessed, 107 payment method.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DutyDraft {
    pub tax_type: String,
    pub base: Option<String>,
    pub rate: Option<String>,
    pub assessed: Option<String>,
    pub currency: Option<String>,
    pub payment_method: Option<String>,
}

/// What customs decided: lane, inspection result, seizure, duty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeDraft {
    /// `green`, `yellow` or `red`.
    pub lane: String,
    /// `not_inspected`, `no_discrepancy`, `discrepancy`.
    pub inspection_result: Option<String>,
    /// `true` or `false`.
    pub seized: Option<String>,
    pub duty_assessed: Option<String>,
    pub duty_recovered: Option<String>,
    pub currency: Option<String>,
}

/// One WCO amendment pointer set: which field a function-13 request changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmendmentDraft {
    /// Amendment reason code.
    pub change_reason: Option<String>,
    /// Document section/tag path, e.g. `42A/67A/68A:1/114`.
    pub pointer: String,
}
