//! The flat rows every backend derives from a declaration, computed once here so that
//! SQLite and PostgreSQL index exactly the same facts.

use caravan_domain::declaration::decimal::Decimal;
use caravan_domain::declaration::model::{Declaration, Declared};
use caravan_domain::declaration::validate::{Finding, Provenance, Severity};

use crate::name_key;

/// `local` or `partner`.
pub fn provenance_name(provenance: Provenance) -> &'static str {
    match provenance {
        Provenance::Local => "local",
        Provenance::Partner => "partner",
    }
}

/// Integer thousandths of an amount (exact: amounts carry at most three decimals).
pub fn milli(value: Option<Decimal>) -> Option<i64> {
    value.and_then(|d| i64::try_from(d.micros() / 1000).ok())
}

/// Integer millionths of a mass or quantity (exact).
pub fn micro(value: Option<Decimal>) -> Option<i64> {
    value.and_then(|d| i64::try_from(d.micros()).ok())
}

fn shown<T: std::fmt::Display>(value: &Option<Declared<T>>) -> Option<String> {
    value.as_ref().map(Declared::display)
}

/// The `declarations` row.
pub struct DeclarationRow {
    /// Declarant key (see `Declaration::declarant_key`).
    pub declarant: String,
    /// LRN.
    pub lrn: String,
    /// D013.
    pub type_code: String,
    /// import/export/amendment.
    pub direction: &'static str,
    /// 017.
    pub function_code: &'static str,
    /// D014.
    pub mrn: Option<String>,
    /// D011, RFC 3339.
    pub issued_at: Option<String>,
    /// 065.
    pub declaration_office: Option<String>,
    /// 109 in thousandths.
    pub invoice_total_milli: Option<i64>,
    /// 135.
    pub invoice_currency: Option<String>,
    /// 062.
    pub dispatch_country: Option<String>,
    /// 465.
    pub destination_country: Option<String>,
    /// T022.
    pub border_mode: Option<i64>,
    /// Outcome lane.
    pub lane: Option<&'static str>,
    /// Goods items.
    pub n_items: i64,
    /// Warnings.
    pub n_warnings: i64,
}

impl DeclarationRow {
    /// Derives the row.
    pub fn new(d: &Declaration, findings: &[Finding]) -> DeclarationRow {
        let h = &d.header;
        DeclarationRow {
            declarant: d.declarant_key(),
            lrn: h.lrn.clone(),
            type_code: h.type_code.clone(),
            direction: h.direction.as_str(),
            function_code: h.function.code(),
            mrn: h.mrn.clone(),
            issued_at: h.issued_at.map(|t| t.to_rfc3339()),
            declaration_office: h.declaration_office.clone(),
            invoice_total_milli: milli(h.invoice_total),
            invoice_currency: shown(&h.invoice_currency),
            dispatch_country: shown(&d.transport.dispatch_country),
            destination_country: shown(&d.transport.destination_country),
            border_mode: d.transport.border_mode.map(i64::from),
            lane: d.outcome.as_ref().map(|o| o.lane.as_str()),
            n_items: d.items.len() as i64,
            n_warnings: findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count() as i64,
        }
    }
}

/// A `goods_items` row.
pub struct ItemRow {
    /// 1-based.
    pub sequence: i64,
    /// As declared or canonical.
    pub commodity_code: Option<String>,
    /// First six digits when the code is valid.
    pub hs6: Option<String>,
    /// 137.
    pub description: Option<String>,
    /// 063.
    pub origin_country: Option<String>,
    /// 126 in millionths of a kg.
    pub gross_mass_micro: Option<i64>,
    /// 128 in millionths of a kg.
    pub net_mass_micro: Option<i64>,
    /// 130 in millionths.
    pub quantity_micro: Option<i64>,
    /// Rec 20.
    pub quantity_unit: Option<String>,
    /// 112 in thousandths.
    pub item_price_milli: Option<i64>,
    /// 108 in thousandths.
    pub customs_value_milli: Option<i64>,
    /// Item currency, else invoice currency.
    pub currency: Option<String>,
    /// 166.
    pub procedure: Option<String>,
}

/// The `goods_items` rows.
pub fn item_rows(d: &Declaration) -> impl Iterator<Item = ItemRow> + '_ {
    let invoice_currency = shown(&d.header.invoice_currency);
    d.items.iter().map(move |i| ItemRow {
        sequence: i64::from(i.sequence),
        commodity_code: shown(&i.commodity_code),
        hs6: i
            .commodity_code
            .as_ref()
            .and_then(|c| c.valid())
            .map(|c| c.hs6().to_owned()),
        description: i.description.clone(),
        origin_country: shown(&i.origin_country),
        gross_mass_micro: micro(i.gross_mass),
        net_mass_micro: micro(i.net_mass),
        quantity_micro: micro(i.quantity),
        quantity_unit: i.quantity_unit.clone(),
        item_price_milli: milli(i.item_price),
        customs_value_milli: milli(i.customs_value),
        currency: shown(&i.value_currency).or_else(|| invoice_currency.clone()),
        procedure: i.procedure.clone(),
    })
}

/// A `parties` row.
pub struct PartyRow {
    /// Position among the declaration's parties.
    pub ordinal: i64,
    /// UN 3035.
    pub role: &'static str,
    /// Scheme name.
    pub id_scheme: Option<&'static str>,
    /// Normalised identifier when valid, verbatim otherwise.
    pub id_value: Option<String>,
    /// Whether the identifier passed its checks.
    pub id_valid: Option<bool>,
    /// Name as declared.
    pub name: Option<String>,
    /// Derived linking key.
    pub name_key: Option<String>,
    /// Address country.
    pub country: Option<String>,
}

/// The `parties` rows.
pub fn party_rows(d: &Declaration) -> impl Iterator<Item = PartyRow> + '_ {
    d.parties.iter().enumerate().map(|(n, p)| PartyRow {
        ordinal: n as i64 + 1,
        role: p.role.code(),
        id_scheme: p.id.as_ref().map(|id| id.scheme.as_str()),
        id_value: p.id.as_ref().map(|id| id.value.display()),
        id_valid: p.id.as_ref().map(|id| id.value.valid().is_some()),
        name: p.name.clone(),
        name_key: p.name.as_deref().map(name_key),
        country: shown(&p.address.country),
    })
}

/// `containers` rows: (ordinal, number as declared or canonical, ISO 6346 valid).
pub fn container_rows(d: &Declaration) -> impl Iterator<Item = (i64, String, bool)> + '_ {
    d.transport.equipment.iter().enumerate().map(|(n, e)| {
        (
            n as i64 + 1,
            e.container.display(),
            e.container.valid().is_some(),
        )
    })
}
