//! Cost items per request under the agreement's cost rule (assistance spec §1.7).
//!
//! Why the core tracks costs: WCO-model texts waive reimbursement except for substantial or
//! extraordinary expenses, settled by consultation; while a consultation is open no further
//! extraordinary spending may be approved. That rule, and the total the joint committee sees
//! (§15), are computed here from the items, never typed in.

use std::collections::BTreeMap;

use crate::agreement::Agreement;
use crate::lifecycle::Side;

coded_enum! {
    /// Cost categories; experts and witnesses have their own rule in some texts.
    pub enum CostCategory {
        Staff => "staff",
        Travel => "travel",
        Subsistence => "subsistence",
        ExpertFees => "expert_fees",
        WitnessFees => "witness_fees",
        Translation => "translation",
        Laboratory => "laboratory",
        Other => "other",
    }
}

/// One cost item on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostItem {
    pub category: CostCategory,
    /// Amount in minor units of `currency`.
    pub amount_minor: i64,
    /// ISO 4217 alphabetic code.
    pub currency: String,
    pub incurred_by: Side,
    pub extraordinary: bool,
}

/// The costs of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostLedger {
    pub items: Vec<CostItem>,
    pub consultation_open: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    #[error("a consultation on extraordinary costs is open: no further extraordinary spending")]
    ConsultationOpen,
    #[error("amount must be positive")]
    NotPositive,
    #[error("{0:?} is not an ISO 4217 currency code")]
    BadCurrency(String),
}

impl CostError {
    pub fn code(&self) -> &'static str {
        match self {
            CostError::ConsultationOpen => "cost_consultation_open",
            CostError::NotPositive => "cost_amount_invalid",
            CostError::BadCurrency(_) => "cost_currency_invalid",
        }
    }
}

/// Who bears a cost item under the agreement's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bearer {
    /// Waived: the side that incurred it bears it.
    Incurring,
    /// Reimbursable by the requester (experts and witnesses where the agreement says so).
    Requester,
    /// Extraordinary: terms settled by consultation.
    Consultation,
}

impl CostLedger {
    /// Records a cost item.
    pub fn add(&mut self, item: CostItem) -> Result<(), CostError> {
        if item.amount_minor <= 0 {
            return Err(CostError::NotPositive);
        }
        if item.currency.len() != 3 || !item.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(CostError::BadCurrency(item.currency));
        }
        if item.extraordinary && self.consultation_open {
            return Err(CostError::ConsultationOpen);
        }
        self.items.push(item);
        Ok(())
    }

    /// Totals of extraordinary costs by currency (§15 "extraordinary costs").
    pub fn extraordinary_totals(&self) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for i in self.items.iter().filter(|i| i.extraordinary) {
            let e: &mut i64 = out.entry(i.currency.clone()).or_default();
            *e = e.saturating_add(i.amount_minor);
        }
        out
    }
}

/// §1.7: who bears an item under `agreement`.
pub fn bearer(agreement: &Agreement, item: &CostItem) -> Bearer {
    if item.extraordinary {
        Bearer::Consultation
    } else if agreement.cost_rule.requester_pays_experts_and_witnesses
        && matches!(
            item.category,
            CostCategory::ExpertFees
                | CostCategory::WitnessFees
                | CostCategory::Travel
                | CostCategory::Subsistence
        )
        && item.incurred_by == Side::Requested
    {
        Bearer::Requester
    } else if agreement.cost_rule.waive_ordinary {
        Bearer::Incurring
    } else {
        Bearer::Requester
    }
}
