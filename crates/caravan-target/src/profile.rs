//! Risk profiles and unit-value statistics, learned only from the past.
//!
//! Two leaks ruin targeting evaluations: using rows dated after the one scored, and counting
//! uninspected rows as compliant. [`History`] takes rows one day at a time, and a row's
//! features are read before its own day is added, so every statistic comes from data dated
//! strictly before it. Entity rates count inspected rows only, smoothed towards the global
//! inspected fraud rate: r = (k + m·p₀) / (n + m) (spec: Risk profiles).
//!
//! Unit values are compared inside cells HS6 × origin, backing off to HS6 and HS4 when a cell
//! holds fewer than `min_cell` rows, with robust statistics (median, MAD) over rows not found
//! fraudulent, after trimming the outer 5 % (the JRC/OLAF "cleaned average").

use std::collections::HashMap;

use crate::date::Day;
use crate::record::TargetRecord;

/// The entity keys a profile is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileKey {
    /// Importer.
    Importer,
    /// Declarant (broker).
    Declarant,
    /// Seller / exporter.
    Seller,
    /// HS6 code.
    Hs6,
    /// HS6 × origin.
    Hs6Origin,
    /// Office × importer.
    OfficeImporter,
    /// Office × HS6.
    OfficeHs6,
    /// Office × origin.
    OfficeOrigin,
    /// Route: departure → origin.
    Route,
    /// Tariff type.
    TaxType,
    /// Importer × seller.
    ImporterSeller,
}

impl ProfileKey {
    /// Every key, in feature order.
    pub const ALL: [ProfileKey; 11] = [
        ProfileKey::Importer,
        ProfileKey::Declarant,
        ProfileKey::Seller,
        ProfileKey::Hs6,
        ProfileKey::Hs6Origin,
        ProfileKey::OfficeImporter,
        ProfileKey::OfficeHs6,
        ProfileKey::OfficeOrigin,
        ProfileKey::Route,
        ProfileKey::TaxType,
        ProfileKey::ImporterSeller,
    ];

    /// Stable name used in feature names and explanations.
    pub fn name(self) -> &'static str {
        match self {
            ProfileKey::Importer => "importer",
            ProfileKey::Declarant => "declarant",
            ProfileKey::Seller => "seller",
            ProfileKey::Hs6 => "hs6",
            ProfileKey::Hs6Origin => "hs6_origin",
            ProfileKey::OfficeImporter => "office_importer",
            ProfileKey::OfficeHs6 => "office_hs6",
            ProfileKey::OfficeOrigin => "office_origin",
            ProfileKey::Route => "route",
            ProfileKey::TaxType => "tax_type",
            ProfileKey::ImporterSeller => "importer_seller",
        }
    }

    /// The key of a record, if it has the fields.
    pub fn of(self, r: &TargetRecord) -> Option<String> {
        let pair = |a: &Option<String>, b: &Option<String>| {
            Some(format!("{}\u{1f}{}", a.as_ref()?, b.as_ref()?))
        };
        match self {
            ProfileKey::Importer => r.importer.clone(),
            ProfileKey::Declarant => r.declarant.clone(),
            ProfileKey::Seller => r.seller.clone(),
            ProfileKey::Hs6 => r.hs6.clone(),
            ProfileKey::Hs6Origin => pair(&r.hs6, &r.origin),
            ProfileKey::OfficeImporter => pair(&r.office, &r.importer),
            ProfileKey::OfficeHs6 => pair(&r.office, &r.hs6),
            ProfileKey::OfficeOrigin => pair(&r.office, &r.origin),
            ProfileKey::Route => pair(&r.departure, &r.origin),
            ProfileKey::TaxType => r.tax_type.clone(),
            ProfileKey::ImporterSeller => pair(&r.importer, &r.seller),
        }
    }
}

/// Settings of the profiles.
#[derive(Debug, Clone, Copy)]
pub struct ProfileConfig {
    /// Prior weight m of the smoothing (default 10, as in DATE).
    pub prior_weight: f64,
    /// Cells with fewer rows back off to a broader cell (default 20).
    pub min_cell: usize,
    /// Cell statistics use the past this many days (default 365).
    pub window_days: i32,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            prior_weight: 10.0,
            min_cell: 20,
            window_days: 365,
        }
    }
}

/// A profile reading for one key of one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Smoothed fraud rate.
    pub rate: f64,
    /// Inspected rows behind it.
    pub n: u32,
    /// Rate in the top 10 % of this key's entities (DATE's RiskH).
    pub high: bool,
}

/// Which cell a unit-value z-score was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellLevel {
    /// HS6 × origin.
    Hs6Origin,
    /// HS6.
    Hs6,
    /// HS4.
    Hs4,
}

/// A unit-value reading: the z-score and the reference statistics used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitValueZ {
    /// (ln UV − median) / (1.4826 · MAD).
    pub z: f64,
    /// Cell used.
    pub level: CellLevel,
    /// Rows in the cell.
    pub n: u32,
    /// Median of ln UV in the cell.
    pub median: f64,
    /// MAD of ln UV in the cell.
    pub mad: f64,
    /// The unit value is below half the cleaned cell mean (OLAF threshold; selection only).
    pub below_half_mean: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    n: u32,
    k: u32,
}

#[derive(Debug, Clone, Copy)]
struct CellStats {
    n: u32,
    median: f64,
    mad: f64,
    mean_uv: f64,
}

/// Statistics over the rows seen so far. Add rows with [`History::add`]; read with
/// [`History::rate`] and [`History::unit_value_z`].
#[derive(Debug, Clone)]
pub struct History {
    config: ProfileConfig,
    counts: Vec<HashMap<String, Counts>>,
    high_threshold: Vec<f64>,
    inspected: u32,
    frauds: u32,
    /// (day, hs6, origin, ln uv, known fraud) of every row with a unit value.
    unit_values: Vec<(Day, String, Option<String>, f64, bool)>,
    cells: [HashMap<String, CellStats>; 3],
    cells_as_of: Option<Day>,
}

impl History {
    /// An empty history.
    pub fn new(config: ProfileConfig) -> History {
        History {
            config,
            counts: vec![HashMap::new(); ProfileKey::ALL.len()],
            high_threshold: vec![f64::INFINITY; ProfileKey::ALL.len()],
            inspected: 0,
            frauds: 0,
            unit_values: Vec::new(),
            cells: Default::default(),
            cells_as_of: None,
        }
    }

    /// Adds a row. Only rows with an outcome change the entity rates; every row with a unit
    /// value feeds the cell statistics unless it was found fraudulent.
    pub fn add(&mut self, r: &TargetRecord) {
        if let Some(outcome) = r.outcome {
            self.inspected += 1;
            self.frauds += u32::from(outcome.fraud);
            for (i, key) in ProfileKey::ALL.iter().enumerate() {
                if let Some(k) = key.of(r) {
                    let c = self.counts[i].entry(k).or_default();
                    c.n += 1;
                    c.k += u32::from(outcome.fraud);
                }
            }
        }
        if let (Some(day), Some(hs6), Some(uv)) = (r.date, &r.hs6, unit_value(r)) {
            self.unit_values.push((
                day,
                hs6.clone(),
                r.origin.clone(),
                uv.ln(),
                r.is_fraud() == Some(true),
            ));
        }
    }

    /// Global inspected fraud rate p₀ (0 before any inspection).
    pub fn base_rate(&self) -> f64 {
        if self.inspected == 0 {
            0.0
        } else {
            f64::from(self.frauds) / f64::from(self.inspected)
        }
    }

    /// Inspected rows so far.
    pub fn inspected(&self) -> u32 {
        self.inspected
    }

    /// The smoothed rate of a key; `None` when the record lacks the key's fields. A key
    /// never inspected reads p₀ with n = 0 (a new entity).
    pub fn rate(&self, key: ProfileKey, r: &TargetRecord) -> Option<Rate> {
        let i = ProfileKey::ALL.iter().position(|k| *k == key)?;
        let k = key.of(r)?;
        let c = self.counts[i].get(&k).copied().unwrap_or_default();
        let p0 = self.base_rate();
        let m = self.config.prior_weight;
        let rate = (f64::from(c.k) + m * p0) / (f64::from(c.n) + m);
        Some(Rate {
            rate,
            n: c.n,
            high: c.n > 0 && rate >= self.high_threshold[i],
        })
    }

    /// Recomputes the RiskH thresholds and the unit-value cells from rows dated before
    /// `as_of` (cells: within the window). Call at each period boundary.
    pub fn refresh(&mut self, as_of: Day) {
        let p0 = self.base_rate();
        let m = self.config.prior_weight;
        for (i, table) in self.counts.iter().enumerate() {
            let mut rates: Vec<f64> = table
                .values()
                .map(|c| (f64::from(c.k) + m * p0) / (f64::from(c.n) + m))
                .collect();
            self.high_threshold[i] = if rates.is_empty() {
                f64::INFINITY
            } else {
                let at = (rates.len() as f64 * 0.9).floor() as usize;
                let at = at.min(rates.len() - 1);
                rates.select_nth_unstable_by(at, f64::total_cmp);
                rates[at]
            };
        }
        let from = Day(as_of.0 - self.config.window_days);
        let mut groups: [HashMap<String, Vec<f64>>; 3] = Default::default();
        for (day, hs6, origin, ln_uv, fraud) in &self.unit_values {
            if *fraud || *day >= as_of || *day < from {
                continue;
            }
            if let Some(origin) = origin {
                groups[0]
                    .entry(format!("{hs6}\u{1f}{origin}"))
                    .or_default()
                    .push(*ln_uv);
            }
            groups[1].entry(hs6.clone()).or_default().push(*ln_uv);
            groups[2]
                .entry(hs6[..hs6.len().min(4)].to_owned())
                .or_default()
                .push(*ln_uv);
        }
        for (level, group) in groups.into_iter().enumerate() {
            self.cells[level] = group
                .into_iter()
                .filter_map(|(k, v)| Some((k, cell_stats(v)?)))
                .collect();
        }
        self.cells_as_of = Some(as_of);
    }

    /// The unit-value z-score of a row in the narrowest cell with enough rows.
    pub fn unit_value_z(&self, r: &TargetRecord) -> Option<UnitValueZ> {
        let uv = unit_value(r)?;
        let hs6 = r.hs6.as_ref()?;
        let candidates = [
            (
                CellLevel::Hs6Origin,
                r.origin.as_ref().map(|o| format!("{hs6}\u{1f}{o}")),
            ),
            (CellLevel::Hs6, Some(hs6.clone())),
            (CellLevel::Hs4, Some(hs6[..hs6.len().min(4)].to_owned())),
        ];
        for (i, (level, key)) in candidates.into_iter().enumerate() {
            let Some(key) = key else { continue };
            let Some(stats) = self.cells[i].get(&key) else {
                continue;
            };
            if (stats.n as usize) < self.config.min_cell {
                continue;
            }
            let scale = (1.4826 * stats.mad).max(1e-6);
            return Some(UnitValueZ {
                z: (uv.ln() - stats.median) / scale,
                level,
                n: stats.n,
                median: stats.median,
                mad: stats.mad,
                below_half_mean: uv < 0.5 * stats.mean_uv,
            });
        }
        None
    }
}

/// Value per kilogram, when both are present and positive.
pub fn unit_value(r: &TargetRecord) -> Option<f64> {
    let (v, m) = (r.value?, r.net_mass?);
    (v > 0.0 && m > 0.0).then(|| v / m)
}

fn cell_stats(mut v: Vec<f64>) -> Option<CellStats> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let trim = v.len() / 40; // 2.5 % each side
    let v = &v[trim..v.len() - trim];
    let median = median_sorted(v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = median_sorted(&dev);
    let mean_uv = v.iter().map(|x| x.exp()).sum::<f64>() / v.len() as f64;
    Some(CellStats {
        n: v.len() as u32,
        median,
        mad,
        mean_uv,
    })
}

fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Outcome;

    fn row(importer: &str, day: i32, fraud: Option<bool>) -> TargetRecord {
        TargetRecord {
            id: format!("{importer}{day}"),
            importer: Some(importer.into()),
            date: Some(Day(day)),
            outcome: fraud.map(Outcome::found),
            ..TargetRecord::default()
        }
    }

    #[test]
    fn smoothed_rates_count_only_inspected_rows() {
        let mut h = History::new(ProfileConfig::default());
        for d in 0..10 {
            h.add(&row("A", d, Some(d < 5)));
            h.add(&row("B", d, Some(false)));
            h.add(&row("C", d, None)); // never inspected: no effect on rates
        }
        assert_eq!(h.inspected(), 20);
        assert!((h.base_rate() - 0.25).abs() < 1e-12);
        let a = h.rate(ProfileKey::Importer, &row("A", 11, None)).unwrap();
        assert!((a.rate - (5.0 + 2.5) / 20.0).abs() < 1e-12);
        let c = h.rate(ProfileKey::Importer, &row("C", 11, None)).unwrap();
        assert_eq!(c.n, 0);
        assert!((c.rate - 0.25).abs() < 1e-12);
        assert!(h.rate(ProfileKey::Seller, &row("A", 11, None)).is_none());
    }

    #[test]
    fn unit_value_cells_back_off_and_ignore_fraud_and_future() {
        let mut h = History::new(ProfileConfig::default());
        let item = |day: i32, origin: &str, value: f64, fraud: bool| TargetRecord {
            id: format!("{day}{origin}{value}"),
            date: Some(Day(day)),
            hs6: Some("440890".into()),
            origin: Some(origin.into()),
            net_mass: Some(1.0),
            value: Some(value),
            outcome: Some(Outcome::found(fraud)),
            ..TargetRecord::default()
        };
        for i in 0..30 {
            h.add(&item(i, "BE", 100.0 + f64::from(i), false));
            h.add(&item(i, "CN", 1.0, true)); // fraudulent: excluded from cells
        }
        h.add(&item(40, "BE", 1e9, false)); // after as_of: excluded
        h.refresh(Day(35));
        let z = h.unit_value_z(&item(36, "BE", 10.0, false)).unwrap();
        assert_eq!(z.level, CellLevel::Hs6Origin);
        assert!(z.z < -5.0 && z.below_half_mean);
        // CN has no clean rows: falls back to HS6.
        let z = h.unit_value_z(&item(36, "CN", 115.0, false)).unwrap();
        assert_eq!(z.level, CellLevel::Hs6);
        assert!(z.z.abs() < 0.5);
    }
}
