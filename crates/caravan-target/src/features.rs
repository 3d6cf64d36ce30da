//! The feature matrix a model learns from and scores, under the two KCS protocols.
//!
//! Under the **paper protocol** (Jeong et al.) the raw item price and net mass are features,
//! which lets a model memorise the exact prices that repeat across the KCS splits with almost
//! pure labels (spec: "The KCS dataset and its price leak"). The **leakage-controlled**
//! protocol replaces them with log unit price and log mass rounded to 0.1, and derives no
//! feature from the exact price. Both add the DATE feature set, risk profiles and unit-value
//! z-scores, all computed from rows dated strictly before the row (see [`crate::profile`]).
//! Missing values are NaN: a row with missing fields is still scored.

use std::collections::HashMap;

use crate::date::Day;
use crate::profile::{CellLevel, History, ProfileConfig, ProfileKey, unit_value};
use crate::record::TargetRecord;

/// How item price and mass enter the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Raw price, mass, unit value and duty (comparable with the published KCS figures).
    Paper,
    /// Log unit price and log mass rounded to 0.1; nothing derived from the exact price.
    LeakageControlled,
}

impl Protocol {
    /// Stable name (`paper`, `controlled`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Paper => "paper",
            Protocol::LeakageControlled => "controlled",
        }
    }

    /// Parses a name given by [`Protocol::name`].
    pub fn parse(raw: &str) -> Option<Protocol> {
        match raw {
            "paper" => Some(Protocol::Paper),
            "controlled" => Some(Protocol::LeakageControlled),
            _ => None,
        }
    }
}

/// What goes into the matrix.
#[derive(Debug, Clone, Copy)]
pub struct FeatureConfig {
    /// Price treatment.
    pub protocol: Protocol,
    /// Add risk-profile rates and unit-value z-scores.
    pub profiles: bool,
    /// Profile settings.
    pub profile: ProfileConfig,
}

impl FeatureConfig {
    /// Profiles on, default settings.
    pub fn new(protocol: Protocol) -> FeatureConfig {
        FeatureConfig {
            protocol,
            profiles: true,
            profile: ProfileConfig::default(),
        }
    }
}

/// A dense row-major matrix of `f32` features; NaN is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Column names.
    pub names: Vec<String>,
    /// Row count.
    pub rows: usize,
    /// `rows × names.len()` values, row-major.
    pub values: Vec<f32>,
}

impl Matrix {
    /// One row.
    pub fn row(&self, i: usize) -> &[f32] {
        let w = self.names.len();
        &self.values[i * w..(i + 1) * w]
    }
}

type Field = fn(&TargetRecord) -> Option<&String>;

const CATEGORICAL: [(&str, Field); 14] = [
    ("office", |r| r.office.as_ref()),
    ("process_type", |r| r.process_type.as_ref()),
    ("import_type", |r| r.import_type.as_ref()),
    ("import_use", |r| r.import_use.as_ref()),
    ("payment_type", |r| r.payment_type.as_ref()),
    ("transport_mode", |r| r.transport_mode.as_ref()),
    ("declarant", |r| r.declarant.as_ref()),
    ("importer", |r| r.importer.as_ref()),
    ("seller", |r| r.seller.as_ref()),
    ("courier", |r| r.courier.as_ref()),
    ("departure", |r| r.departure.as_ref()),
    ("origin", |r| r.origin.as_ref()),
    ("tax_type", |r| r.tax_type.as_ref()),
    ("origin_indicator", |r| r.origin_indicator.as_ref()),
];

/// Builds matrices with label encoders fitted on training rows.
#[derive(Debug, Clone)]
pub struct FeatureBuilder {
    config: FeatureConfig,
    encoders: Vec<HashMap<String, f32>>,
    /// External signal names seen in training (sorted), one `signal_<name>` column each.
    signals: Vec<String>,
    names: Vec<String>,
}

impl FeatureBuilder {
    /// Fits the label encoders (sorted distinct training values → 0, 1, …; unseen → NaN).
    pub fn fit(config: FeatureConfig, train: &[TargetRecord]) -> FeatureBuilder {
        let encoders = CATEGORICAL
            .iter()
            .map(|(_, field)| {
                let mut values: Vec<&String> = train.iter().filter_map(|r| field(r)).collect();
                values.sort_unstable();
                values.dedup();
                values
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (v.clone(), i as f32))
                    .collect()
            })
            .collect();
        let mut names: Vec<String> = CATEGORICAL.iter().map(|(n, _)| (*n).to_owned()).collect();
        names.extend(
            [
                "hs6",
                "hs4",
                "hs2",
                "tax_rate",
                "weekday",
                "month",
                "day_of_month",
            ]
            .map(String::from),
        );
        match config.protocol {
            Protocol::Paper => {
                names.extend(["net_mass", "item_price", "unit_value", "duty"].map(String::from))
            }
            Protocol::LeakageControlled => {
                names.extend(["ln_unit_value_0.1", "ln_mass_0.1"].map(String::from));
            }
        }
        names.extend(["departure_ne_origin", "has_courier"].map(String::from));
        if config.profiles {
            for key in ProfileKey::ALL {
                let k = key.name();
                names.push(format!("rate_{k}"));
                names.push(format!("n_{k}"));
                names.push(format!("riskh_{k}"));
            }
            names.extend(
                ["uv_z", "uv_cell_level", "uv_cell_n", "uv_below_half_mean"].map(String::from),
            );
        }
        // External signals (mirror findings, screening hits) become columns only when the
        // training rows carry them, so a model trained without them keeps its layout. A row
        // without a signal gets NaN: "not known" is not "no finding".
        let mut signals: Vec<String> = train
            .iter()
            .flat_map(|r| r.signals.iter().map(|(n, _)| n.clone()))
            .collect();
        signals.sort_unstable();
        signals.dedup();
        names.extend(signals.iter().map(|n| format!("signal_{n}")));
        FeatureBuilder {
            config,
            encoders,
            signals,
            names,
        }
    }

    /// What [`FeatureBuilder::fit`] learned, as model-file metadata: each categorical
    /// encoder's vocabulary (`features.vocab.<field>`) and the signal names
    /// (`features.signals`). A model file carrying them scores with exactly the encoding it
    /// was trained with, whatever history the scoring node holds.
    pub fn vocabulary(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = CATEGORICAL
            .iter()
            .zip(&self.encoders)
            .map(|((name, _), encoder)| {
                let mut values: Vec<(&String, f32)> =
                    encoder.iter().map(|(k, v)| (k, *v)).collect();
                values.sort_by(|a, b| a.1.total_cmp(&b.1));
                let values: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
                (format!("{VOCAB_PREFIX}{name}"), pack(&values))
            })
            .collect();
        let signals: Vec<&str> = self.signals.iter().map(String::as_str).collect();
        out.push((SIGNALS_KEY.to_owned(), pack(&signals)));
        out
    }

    /// Rebuilds a fitted builder from [`FeatureBuilder::vocabulary`] entries (looked up
    /// with `meta`). `None` when an entry is absent or malformed.
    pub fn from_vocabulary<'a>(
        config: FeatureConfig,
        meta: impl Fn(&str) -> Option<&'a str>,
    ) -> Option<FeatureBuilder> {
        let mut encoders = Vec::with_capacity(CATEGORICAL.len());
        for (name, _) in CATEGORICAL {
            let values = unpack(meta(&format!("{VOCAB_PREFIX}{name}"))?)?;
            encoders.push(
                values
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (v, i as f32))
                    .collect::<HashMap<String, f32>>(),
            );
        }
        let signals = unpack(meta(SIGNALS_KEY)?)?;
        // The column names follow from the config and the signals, exactly as in `fit`.
        let signal_rows: Vec<TargetRecord> = signals
            .iter()
            .map(|n| TargetRecord {
                signals: vec![(n.clone(), 0.0)],
                ..TargetRecord::default()
            })
            .collect();
        let names = FeatureBuilder::fit(config, &signal_rows).names;
        Some(FeatureBuilder {
            config,
            encoders,
            signals,
            names,
        })
    }

    /// The configuration.
    pub fn config(&self) -> FeatureConfig {
        self.config
    }

    /// Column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Features of `rows` over time: `history` first (all of it dated before `rows`), then
    /// `rows` day by day; each row is featurised before its own day joins the history when
    /// `learn_from_rows` (training), or against `history` alone otherwise (scoring).
    pub fn build(
        &self,
        history: &[TargetRecord],
        rows: &[TargetRecord],
        learn_from_rows: bool,
    ) -> Matrix {
        let width = self.names.len();
        let mut values = vec![f32::NAN; rows.len() * width];
        let mut state = History::new(self.config.profile);
        for r in history {
            state.add(r);
        }
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| (rows[i].date.unwrap_or(Day(i32::MIN)), i));
        let first_day = order.first().and_then(|&i| rows[i].date);
        if self.config.profiles {
            state.refresh(first_day.unwrap_or(Day(i32::MAX)));
        }
        let mut refreshed_month = first_day.map(month_key);
        let mut start = 0;
        while start < order.len() {
            let day = rows[order[start]].date;
            let mut end = start;
            while end < order.len() && rows[order[end]].date == day {
                end += 1;
            }
            if learn_from_rows
                && self.config.profiles
                && let Some(d) = day
                && refreshed_month != Some(month_key(d))
            {
                state.refresh(d);
                refreshed_month = Some(month_key(d));
            }
            for &i in &order[start..end] {
                self.fill(&state, &rows[i], &mut values[i * width..(i + 1) * width]);
            }
            if learn_from_rows {
                for &i in &order[start..end] {
                    state.add(&rows[i]);
                }
            }
            start = end;
        }
        Matrix {
            names: self.names.clone(),
            rows: rows.len(),
            values,
        }
    }

    fn fill(&self, state: &History, r: &TargetRecord, out: &mut [f32]) {
        let mut c = 0;
        let mut push = |v: Option<f64>| {
            out[c] = v.map_or(f32::NAN, |v| v as f32);
            c += 1;
        };
        for ((_, field), encoder) in CATEGORICAL.iter().zip(&self.encoders) {
            push(field(r).and_then(|v| encoder.get(v)).map(|&x| f64::from(x)));
        }
        let hs = r.hs6.as_deref().and_then(|h| h.parse::<u32>().ok());
        push(hs.map(f64::from));
        push(hs.map(|h| f64::from(h / 100)));
        push(hs.map(|h| f64::from(h / 10_000)));
        push(r.tax_rate);
        push(r.date.map(|d| f64::from(d.weekday())));
        push(r.date.map(|d| f64::from(d.month())));
        push(r.date.map(|d| f64::from(d.civil().2)));
        match self.config.protocol {
            Protocol::Paper => {
                push(r.net_mass);
                push(r.value);
                push(unit_value(r));
                push(r.duty());
            }
            Protocol::LeakageControlled => {
                push(unit_value(r).map(|uv| round1(uv.ln())));
                push(r.net_mass.filter(|m| *m > 0.0).map(|m| round1(m.ln())));
            }
        }
        push(match (&r.departure, &r.origin) {
            (Some(d), Some(o)) => Some(f64::from(u8::from(d != o))),
            _ => None,
        });
        push(Some(f64::from(u8::from(r.courier.is_some()))));
        if self.config.profiles {
            for key in ProfileKey::ALL {
                let rate = state.rate(key, r);
                push(rate.map(|x| x.rate));
                push(rate.map(|x| f64::from(x.n)));
                push(rate.map(|x| f64::from(u8::from(x.high))));
            }
            let z = state.unit_value_z(r);
            push(z.map(|z| z.z));
            push(z.map(|z| match z.level {
                CellLevel::Hs6Origin => 0.0,
                CellLevel::Hs6 => 1.0,
                CellLevel::Hs4 => 2.0,
            }));
            push(z.map(|z| f64::from(z.n)));
            push(z.map(|z| f64::from(u8::from(z.below_half_mean))));
        }
        for name in &self.signals {
            push(r.signal(name));
        }
        debug_assert_eq!(c, out.len());
    }
}

/// Metadata key prefix of a categorical vocabulary.
pub const VOCAB_PREFIX: &str = "features.vocab.";
/// Metadata key of the signal names.
pub const SIGNALS_KEY: &str = "features.signals";

const SEP: char = '\u{1f}';

/// A list of strings as one metadata value: the count, then each value, separated by the
/// ASCII unit separator, with `\` and the separator escaped.
fn pack(values: &[&str]) -> String {
    let mut out = values.len().to_string();
    for v in values {
        out.push(SEP);
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                SEP => out.push_str("\\u"),
                c => out.push(c),
            }
        }
    }
    out
}

/// The inverse of [`pack`]; `None` when the count does not match or an escape is unknown.
fn unpack(packed: &str) -> Option<Vec<String>> {
    let mut parts = packed.split(SEP);
    let count: usize = parts.next()?.parse().ok()?;
    let mut out = Vec::with_capacity(count.min(1 << 20));
    for part in parts {
        let mut value = String::with_capacity(part.len());
        let mut chars = part.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next()? {
                    '\\' => value.push('\\'),
                    'u' => value.push(SEP),
                    _ => return None,
                }
            } else {
                value.push(c);
            }
        }
        out.push(value);
    }
    (out.len() == count).then_some(out)
}

fn month_key(d: Day) -> (i32, i32) {
    let (y, m, _) = d.civil();
    (y, m)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Outcome;

    fn row(id: &str, day: i32, importer: &str, price: f64, fraud: bool) -> TargetRecord {
        TargetRecord {
            id: id.into(),
            date: Some(Day(day)),
            importer: Some(importer.into()),
            hs6: Some("440890".into()),
            net_mass: Some(2.0),
            value: Some(price),
            tax_rate: Some(8.0),
            outcome: Some(Outcome::found(fraud)),
            ..TargetRecord::default()
        }
    }

    #[test]
    fn training_features_use_only_earlier_days() {
        let rows = vec![
            row("a", 0, "X", 10.0, true),
            row("b", 0, "X", 10.0, true),
            row("c", 1, "X", 10.0, false),
        ];
        let b = FeatureBuilder::fit(FeatureConfig::new(Protocol::Paper), &rows);
        let m = b.build(&[], &rows, true);
        let n_col = b.names().iter().position(|n| n == "n_importer").unwrap();
        // Same day: neither sees the other.
        assert_eq!(m.row(0)[n_col], 0.0);
        assert_eq!(m.row(1)[n_col], 0.0);
        assert_eq!(m.row(2)[n_col], 2.0);
        let rate_col = b.names().iter().position(|n| n == "rate_importer").unwrap();
        assert!((m.row(2)[rate_col] - 1.0).abs() < 1e-6);
        // Scoring sees the whole history and learns nothing from the scored rows.
        let m = b.build(&rows, &rows[..1], false);
        assert_eq!(m.row(0)[n_col], 3.0);
    }

    #[test]
    fn external_signals_become_columns_and_absent_ones_are_missing() {
        let plain = vec![row("a", 0, "X", 10.0, true), row("b", 1, "X", 10.0, false)];
        let without = FeatureBuilder::fit(FeatureConfig::new(Protocol::Paper), &plain);
        assert!(!without.names().iter().any(|n| n.starts_with("signal_")));
        let mut rows = plain.clone();
        rows[0].signals = vec![("mirror_undervaluation".into(), 0.9)];
        rows[1].signals = vec![("mirror_phantom_export".into(), 0.4)];
        let with = FeatureBuilder::fit(FeatureConfig::new(Protocol::Paper), &rows);
        assert_eq!(with.names().len(), without.names().len() + 2);
        let m = with.build(&[], &rows, true);
        let col = |name: &str| with.names().iter().position(|n| n == name).unwrap();
        let under = col("signal_mirror_undervaluation");
        let phantom = col("signal_mirror_phantom_export");
        assert!(phantom < under, "signal columns are sorted by name");
        assert!((m.row(0)[under] - 0.9).abs() < 1e-6);
        assert!(m.row(0)[phantom].is_nan());
        assert!(m.row(1)[under].is_nan());
        assert!((m.row(1)[phantom] - 0.4).abs() < 1e-6);
    }

    #[test]
    fn vocabulary_rebuilds_the_same_builder() {
        let mut rows = vec![
            row("a", 0, "X\u{1f}Y", 10.0, true),
            row("b", 1, "back\\slash", 10.0, false),
            row("c", 2, "", 10.0, false),
        ];
        rows[0].signals = vec![("screen_best".into(), 0.7)];
        let fitted = FeatureBuilder::fit(FeatureConfig::new(Protocol::LeakageControlled), &rows);
        let meta = fitted.vocabulary();
        let get = |k: &str| meta.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let rebuilt =
            FeatureBuilder::from_vocabulary(FeatureConfig::new(Protocol::LeakageControlled), get)
                .unwrap();
        assert_eq!(rebuilt.names(), fitted.names());
        let bits = |m: &Matrix| m.values.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&rebuilt.build(&rows[..1], &rows[1..], false)),
            bits(&fitted.build(&rows[..1], &rows[1..], false))
        );
        // A builder fitted on other rows encodes differently; the vocabulary is what keeps
        // a stored model's meaning.
        let other =
            FeatureBuilder::fit(FeatureConfig::new(Protocol::LeakageControlled), &rows[1..]);
        assert_ne!(other.names(), fitted.names());
        assert!(
            FeatureBuilder::from_vocabulary(FeatureConfig::new(Protocol::Paper), |_| None)
                .is_none()
        );
    }

    proptest::proptest! {
        #[test]
        fn pack_round_trips(values in proptest::collection::vec(".{0,8}", 0..6)) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(unpack(&pack(&refs)), Some(values));
        }
    }

    #[test]
    fn controlled_protocol_hides_the_exact_price() {
        let rows = vec![
            row("a", 0, "X", 1000.0, true),
            row("b", 0, "X", 1001.0, false),
        ];
        let b = FeatureBuilder::fit(FeatureConfig::new(Protocol::LeakageControlled), &rows);
        assert!(!b.names().iter().any(|n| n == "item_price" || n == "duty"));
        let m = b.build(&[], &rows, true);
        // Prices one unit apart give the same row, bit for bit.
        let bits = |i: usize| m.row(i).iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(0), bits(1));
        let uv = b
            .names()
            .iter()
            .position(|n| n == "ln_unit_value_0.1")
            .unwrap();
        assert_eq!(m.row(0)[uv], m.row(1)[uv]);
        assert!((m.row(0)[uv] - 6.2).abs() < 1e-6);
    }

    #[test]
    fn missing_fields_are_nan_and_unseen_categories_too() {
        let rows = vec![row("a", 0, "X", 10.0, true)];
        let b = FeatureBuilder::fit(FeatureConfig::new(Protocol::Paper), &rows);
        let mut other = row("z", 5, "NEW", 10.0, false);
        other.value = None;
        let m = b.build(&rows, &[other], false);
        let col = |n: &str| b.names().iter().position(|x| x == n).unwrap();
        assert!(m.row(0)[col("importer")].is_nan());
        assert!(m.row(0)[col("item_price")].is_nan());
        assert!(m.row(0)[col("unit_value")].is_nan());
        assert_eq!(m.row(0)[col("n_importer")], 0.0);
    }
}
