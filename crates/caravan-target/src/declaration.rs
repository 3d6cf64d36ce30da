//! The canonical declaration (WCO Data Model, `caravan-domain`) seen as targeting rows: one
//! [`TargetRecord`] per goods item, so the node's own stored declarations are scored and
//! learned from the same way as the KCS files.
//!
//! Labels come only from a recorded inspection: `discrepancy` is a fraud, `no_discrepancy`
//! compliant, and a declaration never inspected has no label at all. A seizure marks the
//! row critical, and the duty recovered is its revenue.

use caravan_domain::declaration::model::{Declaration, InspectionResult, PartyRole};

use crate::date::Day;
use crate::record::{Outcome, TargetRecord};

/// One row per goods item of `declaration`.
pub fn records(declaration: &Declaration) -> Vec<TargetRecord> {
    let h = &declaration.header;
    let t = &declaration.transport;
    let date = h
        .accepted_at
        .or(h.issued_at)
        .and_then(|d| Day::parse(&d.date_naive().format("%Y-%m-%d").to_string()));
    let party = |roles: &[PartyRole]| {
        roles.iter().find_map(|role| {
            declaration.party(*role).and_then(|p| {
                p.id.as_ref()
                    .map(|id| id.value.display())
                    .or_else(|| p.name.clone())
            })
        })
    };
    let declarant = party(&[
        PartyRole::Declarant,
        PartyRole::Representative,
        PartyRole::Broker,
    ]);
    let importer = party(&[PartyRole::Importer, PartyRole::Consignee, PartyRole::Buyer]);
    let seller = party(&[PartyRole::Seller, PartyRole::Exporter, PartyRole::Consignor]);
    let outcome = declaration.outcome.as_ref().and_then(|o| {
        let fraud = match o.inspection_result? {
            InspectionResult::Discrepancy => true,
            InspectionResult::NoDiscrepancy => false,
            InspectionResult::NotInspected => return None,
        };
        Some(Outcome {
            fraud,
            critical: o.seized == Some(true),
            revenue: o.duty_recovered.map(|d| d.to_f64()).or(Some(0.0)),
        })
    });
    declaration
        .items
        .iter()
        .map(|item| {
            let duty = item.duties.first();
            TargetRecord {
                id: format!("{}/{}", h.lrn, item.sequence),
                date,
                office: h.declaration_office.clone(),
                process_type: item.procedure.clone(),
                import_type: Some(h.type_code.clone()),
                import_use: item
                    .nature_of_transaction
                    .clone()
                    .or_else(|| h.nature_of_transaction.clone()),
                payment_type: duty.and_then(|d| d.payment_method.clone()),
                transport_mode: t.border_mode.map(|m| m.to_string()),
                declarant: declarant.clone(),
                importer: importer.clone(),
                seller: seller.clone(),
                courier: None,
                hs6: item
                    .commodity_code
                    .as_ref()
                    .map(|c| {
                        c.display()
                            .chars()
                            .filter(char::is_ascii_digit)
                            .take(6)
                            .collect::<String>()
                    })
                    .filter(|c| c.len() == 6),
                departure: t.dispatch_country.as_ref().map(|c| c.display()),
                origin: item.origin_country.as_ref().map(|c| c.display()),
                tax_rate: duty.and_then(|d| d.rate.as_deref()).and_then(parse_rate),
                tax_type: duty.map(|d| d.tax_type.clone()),
                origin_indicator: item.origin_type.clone(),
                net_mass: item.net_mass.map(|m| m.to_f64()),
                value: item
                    .customs_value
                    .or(item.statistical_value)
                    .or(item.item_price)
                    .map(|v| v.to_f64()),
                outcome,
                signals: Vec::new(),
            }
        })
        .collect()
}

/// A duty rate as written ("8", "8.5%", "8 %"): the leading number, in percent.
fn parse_rate(raw: &str) -> Option<f64> {
    let number: String = raw
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse().ok().filter(|r: &f64| r.is_finite())
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("8.5%"), Some(8.5));
        assert_eq!(parse_rate(" 0 "), Some(0.0));
        assert_eq!(parse_rate("free"), None);
    }
}
