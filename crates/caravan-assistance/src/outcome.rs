//! `Feedback.Outcome` (assistance spec §15): what the requester reports back on a case —
//! seizures, duties and penalties, cases opened, convictions — checked before it is sent or
//! recorded, and turned into the [`crate::stats::Outcome`] the joint-committee report sums.
//!
//! Why checked here and not at the edges: both nodes record the same report and both compute
//! the statistics from it, so a value one side would count and the other refuse would make
//! the two reports disagree. One rule set, on both sides: HS chapter 01–97 (77 is reserved),
//! an ISO 4217-shaped currency, positive quantities and amounts, and convictions only on a
//! closed case.

use serde::{Deserialize, Serialize};

use crate::stats::{Outcome, Seizure};

/// One seizure as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeizureReport {
    pub commodity: String,
    /// Two-digit HS chapter.
    pub hs_chapter: String,
    /// Quantity in `unit` (whole units).
    pub quantity: u64,
    pub unit: String,
}

/// A duty or penalty, assessed or recovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueReport {
    /// `duty` or `penalty`.
    pub kind: String,
    /// `assessed` or `recovered`.
    pub status: String,
    /// Amount in minor units of `currency`.
    pub amount_minor: i64,
    pub currency: String,
}

/// The report as it travels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeReport {
    #[serde(default)]
    pub seizures: Vec<SeizureReport>,
    #[serde(default)]
    pub revenue: Vec<RevenueReport>,
    #[serde(default)]
    pub cases_opened: u32,
    #[serde(default)]
    pub convictions: u32,
}

/// Why a report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct OutcomeError {
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> OutcomeError {
    OutcomeError {
        code,
        message: message.into(),
    }
}

/// Whether `s` is a two-digit HS chapter in use (01–97, not 77).
pub fn is_hs_chapter(s: &str) -> bool {
    s.len() == 2
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u8>()
            .is_ok_and(|n| (1..=97).contains(&n) && n != 77)
}

/// Checks a report on case `case_id` (`case_closed`: the case has reached `closed`) and
/// returns what the statistics count.
pub fn check(
    case_id: &str,
    report: &OutcomeReport,
    case_closed: bool,
) -> Result<Outcome, OutcomeError> {
    if report.seizures.is_empty()
        && report.revenue.is_empty()
        && report.cases_opened == 0
        && report.convictions == 0
    {
        return Err(err("outcome_empty", "the report states no result"));
    }
    if report.seizures.len() + report.revenue.len() > 200 {
        return Err(err(
            "outcome_too_long",
            "at most 200 seizure and revenue lines",
        ));
    }
    let mut seizures = Vec::new();
    for (i, s) in report.seizures.iter().enumerate() {
        let commodity = s.commodity.trim();
        if commodity.is_empty() || commodity.chars().count() > 200 {
            return Err(err(
                "seizure_commodity_invalid",
                format!("seizure {}: the commodity must be 1–200 characters", i + 1),
            ));
        }
        if !is_hs_chapter(&s.hs_chapter) {
            return Err(err(
                "seizure_hs_chapter_invalid",
                format!(
                    "seizure {}: {:?} is not an HS chapter (01–97)",
                    i + 1,
                    s.hs_chapter
                ),
            ));
        }
        if s.quantity == 0 || s.unit.trim().is_empty() || s.unit.len() > 16 {
            return Err(err(
                "seizure_quantity_invalid",
                format!(
                    "seizure {}: a positive quantity and a unit are needed",
                    i + 1
                ),
            ));
        }
        seizures.push(Seizure {
            commodity: commodity.to_owned(),
            hs_chapter: s.hs_chapter.clone(),
            quantity: s.quantity,
        });
    }
    let mut revenue = Vec::new();
    for (i, r) in report.revenue.iter().enumerate() {
        if !matches!(r.kind.as_str(), "duty" | "penalty")
            || !matches!(r.status.as_str(), "assessed" | "recovered")
        {
            return Err(err(
                "revenue_kind_invalid",
                format!(
                    "revenue {}: kind is duty or penalty, status assessed or recovered",
                    i + 1
                ),
            ));
        }
        if r.currency.len() != 3 || !r.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err(
                "revenue_currency_invalid",
                format!(
                    "revenue {}: {:?} is not an ISO 4217 code",
                    i + 1,
                    r.currency
                ),
            ));
        }
        if r.amount_minor <= 0 {
            return Err(err(
                "revenue_amount_invalid",
                format!("revenue {}: the amount must be positive", i + 1),
            ));
        }
        revenue.push((r.currency.clone(), r.amount_minor));
    }
    if report.convictions > 0 && !case_closed {
        return Err(err(
            "convictions_case_open",
            "convictions are reported on a closed case only",
        ));
    }
    Ok(Outcome {
        case_id: case_id.to_owned(),
        seizures,
        revenue_minor: revenue,
        cases_opened: report.cases_opened,
        convictions: report.convictions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> OutcomeReport {
        OutcomeReport {
            seizures: vec![SeizureReport {
                commodity: "cotton yarn".into(),
                hs_chapter: "52".into(),
                quantity: 1200,
                unit: "kg".into(),
            }],
            revenue: vec![RevenueReport {
                kind: "duty".into(),
                status: "assessed".into(),
                amount_minor: 1_250_000,
                currency: "USD".into(),
            }],
            cases_opened: 1,
            convictions: 0,
        }
    }

    #[test]
    fn a_full_report_becomes_what_the_statistics_count() {
        let o = check("REQ-1", &report(), false).unwrap();
        assert_eq!(o.seizures[0].quantity, 1200);
        assert_eq!(o.revenue_minor, vec![("USD".into(), 1_250_000)]);
        assert_eq!(o.cases_opened, 1);
    }

    #[test]
    fn each_bad_value_has_its_code() {
        type Change = Box<dyn Fn(&mut OutcomeReport)>;
        let cases: Vec<(Change, bool, &str)> = vec![
            (
                Box::new(|r| *r = OutcomeReport::default()),
                true,
                "outcome_empty",
            ),
            (
                Box::new(|r| r.seizures[0].hs_chapter = "77".into()),
                true,
                "seizure_hs_chapter_invalid",
            ),
            (
                Box::new(|r| r.seizures[0].hs_chapter = "5".into()),
                true,
                "seizure_hs_chapter_invalid",
            ),
            (
                Box::new(|r| r.seizures[0].commodity = " ".into()),
                true,
                "seizure_commodity_invalid",
            ),
            (
                Box::new(|r| r.seizures[0].quantity = 0),
                true,
                "seizure_quantity_invalid",
            ),
            (
                Box::new(|r| r.revenue[0].currency = "usd".into()),
                true,
                "revenue_currency_invalid",
            ),
            (
                Box::new(|r| r.revenue[0].amount_minor = 0),
                true,
                "revenue_amount_invalid",
            ),
            (
                Box::new(|r| r.revenue[0].kind = "fee".into()),
                true,
                "revenue_kind_invalid",
            ),
            (
                Box::new(|r| r.convictions = 1),
                false,
                "convictions_case_open",
            ),
        ];
        for (change, closed, code) in cases {
            let mut r = report();
            change(&mut r);
            assert_eq!(check("REQ-1", &r, closed).unwrap_err().code, code);
        }
        let mut r = report();
        r.convictions = 2;
        assert_eq!(check("REQ-1", &r, true).unwrap().convictions, 2);
    }

    #[test]
    fn hs_chapters_are_01_to_97_without_77() {
        for c in 0..=100u8 {
            let s = format!("{c:02}");
            assert_eq!(is_hs_chapter(&s), (1..=97).contains(&c) && c != 77, "{s}");
        }
    }
}
