//! The seeded synthetic US ↔ Uzbekistan corridor that the demo, the tests and the
//! benchmarks share.
//!
//! No public transaction-level paired customs data exists (`spec/analytics.md`,
//! "Synthetic pairs for testing"), so Caravan builds its own: for every shipment an export
//! leg at one node and the matching import leg at the other, as
//! [`caravan_domain::declaration::draft::DeclarationDraft`]s, plus a [`TruthRow`] saying
//! what was injected. Parameters follow `spec/declarations.md` section 7; each default on
//! [`CorridorConfig`] names its basis.
//!
//! Design choices:
//! - **Deterministic forever.** A private SplitMix64/xoshiro256** generator (no `rand`), and
//!   one independent stream per shipment, so a seed always yields the same bytes and
//!   shipment *n* does not depend on how many shipments precede it.
//! - **Pure.** No IO, no clock, nothing read at run time: the sanctions sample is compiled
//!   in. [`write_truth_csv`] takes any [`std::io::Write`].
//! - **Streaming.** [`shipments`] and [`stream`] yield one shipment at a time, so a
//!   benchmark file of a million goods items is never held in memory; [`generate`] collects.
//! - **Valid unless labelled.** Every draft passes local validation at its own node;
//!   injected defects are warning-level only (spec section 4), and injected anomalies are
//!   consistent, valid declarations whose *pairing* is wrong.

mod catalog;
mod difficulty;
mod generate;
mod ids;
mod rng;
mod truth;

use caravan_domain::declaration::draft::DeclarationDraft;

pub use catalog::{
    Office, Product, US_OFFICES, US_TO_UZ, UZ_OFFICES, UZ_TO_US, us_office_codes, uz_office_codes,
};
pub use difficulty::Difficulty;
pub use generate::{Shipments, sanctions_sample_csv, shipments};
pub use truth::{
    AnomalyKind, DefectKind, Direction, TRUTH_CSV_HEADER, TruthRow, write_truth_csv,
    write_truth_row,
};

/// Value below which a split consignment keeps each import declaration: USD 2,500, the
/// US informal-entry limit (19 CFR 143.21(a)); applied on both sides for simplicity.
pub const SPLIT_THRESHOLD_USD: f64 = 2_500.0;

/// Illustrative exchange rate for Uzbek duty amounts: about the 2024 average of the
/// Central Bank of Uzbekistan. Fixed so that output does not depend on a rate feed.
pub const UZS_PER_USD: f64 = 12_650.0;

/// The node a declaration is filed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// US Customs and Border Protection.
    Us,
    /// Customs Committee of the Republic of Uzbekistan.
    Uz,
}

impl Side {
    /// ISO 3166-1 alpha-2 of the node (`US`, `UZ`).
    pub fn country(self) -> &'static str {
        match self {
            Side::Us => "US",
            Side::Uz => "UZ",
        }
    }
}

/// Generator parameters. [`Default`] reproduces `spec/declarations.md` 7.4.
#[derive(Debug, Clone, PartialEq)]
pub struct CorridorConfig {
    /// PRNG seed; the same seed always gives the same corridor.
    pub seed: u64,
    /// Shipments to generate (each has up to two legs, or more for splits and re-exports).
    /// Default 6,800 a year: with the mean values below this reproduces $0.40B US→UZ and
    /// $0.25B UZ→US (7.1) and about 11,000 declarations, the "about 10,000 per year" of 7.4.
    pub shipments: usize,
    /// Calendar year of all dates. Default 2024, the year of the 7.1 Comtrade figures.
    pub year: i32,
    /// Share of shipments going US→UZ. Default 0.59: the 7.4 value split ($0.40B vs $0.25B)
    /// divided by the mean values below.
    pub us_to_uz_share: f64,
    /// Mean FOB value of a US→UZ shipment, USD, log-normal. Default $100k: the mean value
    /// per UZ declaration (7.4), as these are Uzbek imports.
    pub mean_value_us_to_uz: f64,
    /// Mean FOB value of a UZ→US shipment, USD, log-normal. Default $90k: the mean value
    /// per US entry (7.2, 7.4), as these are US imports.
    pub mean_value_uz_to_us: f64,
    /// Log-scale standard deviation of shipment values. Default 1.0 (assumption).
    pub value_sigma: f64,
    /// Share of ordinary UZ→US shipments whose US import leg is missing: the mirror gap.
    /// Default 0.84 = 1 − $0.04B / $0.25B (7.1, 7.4).
    pub uz_to_us_mirror_gap: f64,
    /// Share of shipments with an injected anomaly. Default 0.05 (assumption), split
    /// across kinds by [`CorridorConfig::anomaly_weights`].
    pub anomaly_rate: f64,
    /// Relative weights of [`AnomalyKind::ALL`]. Default 30/20/15/10/15/10.
    pub anomaly_weights: [f64; 6],
    /// Share of shipments with one warning-level defect. Default 0.02 (7.4).
    pub defect_rate: f64,
    /// Share of shipments with a real sanctions-list name as buyer (US→UZ) or seller
    /// (UZ→US) on both legs. Default 0.01 (assumption).
    pub watchlist_rate: f64,
    /// Red-lane (physical examination) rate at the US node. Default 0.03: an
    /// **assumption**, no published rate (7.3).
    pub us_inspection_rate: f64,
    /// Red-lane rate at the UZ node. Default 0.21 (7.3, Decree UP-57).
    pub uz_inspection_rate: f64,
    /// Yellow-lane (documentary check) rate at the US node. Default 0.05 (assumption).
    pub us_documentary_rate: f64,
    /// Yellow-lane rate at the UZ node. Default 0.19, so that 60 % are not checked at all
    /// (customs.uz, H1 2019, 7.3).
    pub uz_documentary_rate: f64,
    /// Share of shipments whose import legs lose every shared reference (UCR, transport
    /// documents, containers), so that only fuzzy linkage can pair them. Default 0; see
    /// [`Difficulty`].
    pub reference_drop_rate: f64,
    /// Share of shipments whose import-leg party names are re-typed (case, punctuation,
    /// legal form, a doubled letter). Default 0.
    pub name_noise_rate: f64,
    /// Import-leg dates are shifted later by 0 to this many days. Default 0.
    pub date_noise_days: u32,
    /// Relative standard deviation of extra mass noise on import-leg items. Default 0.
    pub mass_noise: f64,
}

impl Default for CorridorConfig {
    fn default() -> Self {
        CorridorConfig {
            seed: 0x00C0_FFEE,
            shipments: 6_800,
            year: 2024,
            us_to_uz_share: 0.59,
            mean_value_us_to_uz: 100_000.0,
            mean_value_uz_to_us: 90_000.0,
            value_sigma: 1.0,
            uz_to_us_mirror_gap: 0.84,
            anomaly_rate: 0.05,
            anomaly_weights: [30.0, 20.0, 15.0, 10.0, 15.0, 10.0],
            defect_rate: 0.02,
            watchlist_rate: 0.01,
            us_inspection_rate: 0.03,
            uz_inspection_rate: 0.21,
            us_documentary_rate: 0.05,
            uz_documentary_rate: 0.19,
            reference_drop_rate: 0.0,
            name_noise_rate: 0.0,
            date_noise_days: 0,
            mass_noise: 0.0,
        }
    }
}

impl CorridorConfig {
    /// The defaults with another seed and shipment count.
    pub fn with(seed: u64, shipments: usize) -> Self {
        CorridorConfig {
            seed,
            shipments,
            ..CorridorConfig::default()
        }
    }
}

/// One shipment: its declarations at each node and its truth row.
#[derive(Debug, Clone)]
pub struct Shipment {
    /// Declarations filed at the US node.
    pub us: Vec<DeclarationDraft>,
    /// Declarations filed at the UZ node.
    pub uz: Vec<DeclarationDraft>,
    /// What was generated and injected.
    pub truth: TruthRow,
}

/// A whole corridor in memory.
#[derive(Debug, Clone, Default)]
pub struct Corridor {
    /// Declarations filed at the US node, in shipment order.
    pub us: Vec<DeclarationDraft>,
    /// Declarations filed at the UZ node, in shipment order.
    pub uz: Vec<DeclarationDraft>,
    /// One row per shipment.
    pub truth: Vec<TruthRow>,
}

/// Generates the whole corridor in memory. For large volumes use [`shipments`] or
/// [`stream`].
pub fn generate(config: &CorridorConfig) -> Corridor {
    let mut corridor = Corridor::default();
    for s in shipments(config) {
        corridor.us.extend(s.us);
        corridor.uz.extend(s.uz);
        corridor.truth.push(s.truth);
    }
    corridor
}

/// Every declaration with the node it is filed at, one shipment at a time (the truth
/// rows are dropped; use [`shipments`] to keep them).
pub fn stream(config: &CorridorConfig) -> impl Iterator<Item = (Side, DeclarationDraft)> + use<> {
    shipments(config).flat_map(|s| {
        s.us.into_iter()
            .map(|d| (Side::Us, d))
            .chain(s.uz.into_iter().map(|d| (Side::Uz, d)))
    })
}
