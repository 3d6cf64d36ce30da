//! Mirror gaps in aggregate (`spec/analytics.md`, "GFI quantity-weighted gap" and
//! "Tariff elasticities"): sums by partner direction, HS chapter, HS6 and month, with
//! the raw gap beside the GFI quantity-weighted gap, unmatched legs counted separately,
//! and a Fisman–Wei regression of the gap on the importing duty rate per chapter.

use std::collections::BTreeMap;

use chrono::Datelike;

use crate::analysis::Analysis;
use crate::discrepancy::Tariff;
use crate::rates::Rates;
use crate::stats::{huber_regression, median};

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Direction (`US-UZ`).
    Partner,
    /// Direction and HS chapter.
    Chapter,
    /// Direction and HS6.
    Hs6,
    /// Direction and month of export (`2024-03`).
    Month,
}

impl GroupBy {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Partner => "partner",
            GroupBy::Chapter => "chapter",
            GroupBy::Hs6 => "hs6",
            GroupBy::Month => "month",
        }
    }

    /// Parses [`GroupBy::as_str`].
    pub fn parse(raw: &str) -> Option<GroupBy> {
        [
            GroupBy::Partner,
            GroupBy::Chapter,
            GroupBy::Hs6,
            GroupBy::Month,
        ]
        .into_iter()
        .find(|g| g.as_str() == raw)
    }
}

/// One aggregate row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GapRow {
    /// Direction.
    pub direction: String,
    /// Group key (chapter, HS6 or month; empty for partner).
    pub key: String,
    /// Links with a value gap.
    pub links: usize,
    /// Export legs without import.
    pub unmatched_exports: usize,
    /// Import legs without export.
    pub unmatched_imports: usize,
    /// Σ X_FOB over links with a gap.
    pub export_fob: f64,
    /// Σ FOB̂_M over the same links.
    pub import_fob: f64,
    /// Σ (FOB̂_M − X_FOB).
    pub gap: f64,
    /// Σ gap_w (GFI quantity-weighted).
    pub weighted_gap: f64,
    /// Median g over the links.
    pub median_log_gap: f64,
    /// Σ X_FOB of unmatched exports that could be valued.
    pub unmatched_export_value: f64,
}

fn key_of(by: GroupBy, hs6: Option<&str>, date: Option<chrono::NaiveDate>) -> String {
    match by {
        GroupBy::Partner => String::new(),
        GroupBy::Chapter => hs6.and_then(|h| h.get(..2)).unwrap_or("").to_owned(),
        GroupBy::Hs6 => hs6.unwrap_or("").to_owned(),
        GroupBy::Month => date
            .map(|d| format!("{:04}-{:02}", d.year(), d.month()))
            .unwrap_or_default(),
    }
}

/// Gap rows grouped by `by`, sorted by direction and key.
pub fn gaps(analysis: &Analysis, by: GroupBy, rates: &Rates) -> Vec<GapRow> {
    let mut rows: BTreeMap<(String, String), (GapRow, Vec<f64>)> = BTreeMap::new();
    for dir in &analysis.directions {
        let label = dir.label();
        fn row_for<'r>(
            rows: &'r mut BTreeMap<(String, String), (GapRow, Vec<f64>)>,
            label: &str,
            key: String,
        ) -> &'r mut (GapRow, Vec<f64>) {
            rows.entry((label.to_owned(), key.clone()))
                .or_insert_with(|| {
                    (
                        GapRow {
                            direction: label.to_owned(),
                            key,
                            ..GapRow::default()
                        },
                        Vec::new(),
                    )
                })
        }
        for (link, disc) in dir.linkage.links.iter().zip(&dir.discrepancies) {
            let Some(&e) = link.exports.first() else {
                continue;
            };
            let x = &dir.exports[e];
            let key = key_of(by, x.main_hs6(), x.date);
            let (row, gs) = row_for(&mut rows, &label, key);
            if let (Some(g), Some(fx), Some(fm)) = (disc.log_gap, disc.export_fob, disc.import_fob)
            {
                row.links += 1;
                row.export_fob += fx;
                row.import_fob += fm;
                row.gap += fm - fx;
                row.weighted_gap += disc.weighted_gap.unwrap_or(0.0);
                gs.push(g);
            }
        }
        for &e in &dir.linkage.unmatched_exports {
            let x = &dir.exports[e];
            let (row, _) = row_for(&mut rows, &label, key_of(by, x.main_hs6(), x.date));
            row.unmatched_exports += 1;
            let value: Option<f64> = x
                .items
                .iter()
                .map(|i| {
                    i.value.and_then(|v| {
                        rates
                            .to_base(v, i.currency.as_deref(), x.accepted.or(x.date))
                            .ok()
                    })
                })
                .sum();
            row.unmatched_export_value += value.unwrap_or(0.0);
        }
        for &i in &dir.linkage.unmatched_imports {
            let m = &dir.imports[i];
            let (row, _) = row_for(&mut rows, &label, key_of(by, m.main_hs6(), m.date));
            row.unmatched_imports += 1;
        }
    }
    rows.into_values()
        .map(|(mut row, mut gs)| {
            row.median_log_gap = median(&mut gs);
            row
        })
        .collect()
}

/// One chapter's Fisman–Wei regression g = α + β·t + γ·t̄_sib.
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticityRow {
    /// Direction.
    pub direction: String,
    /// HS chapter.
    pub chapter: String,
    /// Links used.
    pub n: usize,
    /// α.
    pub alpha: f64,
    /// β, log points per percentage point of duty.
    pub beta: f64,
    /// Standard error of β.
    pub beta_se: f64,
    /// γ.
    pub gamma: f64,
    /// Standard error of γ.
    pub gamma_se: f64,
    /// β steeper than Fisman and Wei's 3 % per point, or γ significantly negative.
    pub flagged: bool,
}

/// Fisman–Wei regression per chapter with at least `min_n` valued links, on the
/// importing side's observed duty rates. Fisman and Wei's gap is exports minus imports
/// and grows about 3 % per point of tax, falling with the siblings' rate; Caravan's
/// g is import minus export, so the signs flip: a chapter is flagged when β < −0.03 per
/// point or γ is significantly positive (t > 2).
pub fn tariff_elasticity(analysis: &Analysis, rates: &Rates, min_n: usize) -> Vec<ElasticityRow> {
    let mut out = Vec::new();
    for dir in &analysis.directions {
        let tariff = Tariff::observed(&dir.imports, rates);
        let mut by_chapter: BTreeMap<String, (Vec<f64>, Vec<Vec<f64>>)> = BTreeMap::new();
        for (link, disc) in dir.linkage.links.iter().zip(&dir.discrepancies) {
            let Some(g) = disc.log_gap else { continue };
            let Some(code) = link
                .imports
                .first()
                .and_then(|&i| dir.imports[i].main_hs6())
            else {
                continue;
            };
            let (Some(t), sib) = (tariff.rate(code), tariff.sibling_mean(code)) else {
                continue;
            };
            let entry = by_chapter.entry(code[..2].to_owned()).or_default();
            entry.0.push(g);
            entry.1.push(vec![t, sib.unwrap_or(t)]);
        }
        for (chapter, (y, x)) in by_chapter {
            if y.len() < min_n {
                continue;
            }
            let Some(fit) = huber_regression(&y, &x) else {
                continue;
            };
            let (alpha, beta, gamma) = (
                fit.coefficients[0],
                fit.coefficients[1],
                fit.coefficients[2],
            );
            let (beta_se, gamma_se) = (fit.std_errors[1], fit.std_errors[2]);
            let gamma_t = if gamma_se > 0.0 {
                gamma / gamma_se
            } else {
                0.0
            };
            out.push(ElasticityRow {
                direction: dir.label(),
                chapter,
                n: fit.n,
                alpha,
                beta,
                beta_se,
                gamma,
                gamma_se,
                flagged: beta < -0.03 || gamma_t > 2.0,
            });
        }
    }
    out
}
