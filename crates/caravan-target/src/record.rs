//! The flat view of one declaration (one goods item) that targeting scores.
//!
//! Every syntax Caravan reads (KCS CSV, the canonical declaration) maps onto this shape;
//! fields a source lacks stay `None` and the declaration is still scored, with the missing
//! fields named in its explanation. Labels exist only for inspected rows: an uninspected
//! declaration has no label, and counting it as compliant would bias every rate downward.

use crate::date::Day;

/// What an inspection found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// An irregularity was found.
    pub fraud: bool,
    /// A serious one (KCS "Critical Fraud"; a seizure).
    pub critical: bool,
    /// Revenue recovered by the inspection, in the declaration's currency, when known.
    pub revenue: Option<f64>,
}

impl Outcome {
    /// An inspection result without seizure or known revenue.
    pub fn found(fraud: bool) -> Outcome {
        Outcome {
            fraud,
            critical: false,
            revenue: None,
        }
    }
}

/// One declaration (goods item) as targeting sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetRecord {
    /// Declaration reference, unique in a dataset; ties are broken by it.
    pub id: String,
    /// Acceptance date.
    pub date: Option<Day>,
    /// Customs office of declaration.
    pub office: Option<String>,
    /// Procedure / process type.
    pub process_type: Option<String>,
    /// Import type.
    pub import_type: Option<String>,
    /// Import use.
    pub import_use: Option<String>,
    /// Payment type.
    pub payment_type: Option<String>,
    /// Mode of transport.
    pub transport_mode: Option<String>,
    /// Declarant identifier.
    pub declarant: Option<String>,
    /// Importer identifier.
    pub importer: Option<String>,
    /// Seller / exporter identifier.
    pub seller: Option<String>,
    /// Express courier identifier.
    pub courier: Option<String>,
    /// HS code, first six digits.
    pub hs6: Option<String>,
    /// Country of departure / dispatch.
    pub departure: Option<String>,
    /// Country of origin.
    pub origin: Option<String>,
    /// Duty rate in percent.
    pub tax_rate: Option<f64>,
    /// Tariff type (KCS: preference / FTA code).
    pub tax_type: Option<String>,
    /// Origin indicator (KCS: how origin was established).
    pub origin_indicator: Option<String>,
    /// Net mass in kilograms.
    pub net_mass: Option<f64>,
    /// Customs value of the item.
    pub value: Option<f64>,
    /// Outcome, for inspected rows only.
    pub outcome: Option<Outcome>,
    /// External per-declaration signals by name (screening hits, mirror findings), the seam
    /// through which other engines feed rules and models.
    pub signals: Vec<(String, f64)>,
}

impl TargetRecord {
    /// Names of the scoring fields this record lacks, for its explanation.
    pub fn missing_fields(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        let text = [
            ("date", self.date.is_none()),
            ("office", self.office.is_none()),
            ("declarant", self.declarant.is_none()),
            ("importer", self.importer.is_none()),
            ("seller", self.seller.is_none()),
            ("hs6", self.hs6.is_none()),
            ("departure", self.departure.is_none()),
            ("origin", self.origin.is_none()),
            ("tax_rate", self.tax_rate.is_none()),
            ("net_mass", self.net_mass.is_none()),
            ("value", self.value.is_none()),
        ];
        for (name, absent) in text {
            if absent {
                missing.push(name);
            }
        }
        missing
    }

    /// Expected duty at stake if the value were understated: value × duty rate.
    pub fn duty(&self) -> Option<f64> {
        Some(self.value? * self.tax_rate? / 100.0)
    }

    /// An external signal's value.
    pub fn signal(&self, name: &str) -> Option<f64> {
        self.signals
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// The label, if inspected.
    pub fn is_fraud(&self) -> Option<bool> {
        self.outcome.map(|o| o.fraud)
    }
}
