//! Mirror matching: one administration's export declarations linked to the partner's
//! import declarations, and what does not add up between them (`spec/analytics.md`,
//! "Mirror matching"; issue 7).
//!
//! Duty evasion, transshipment and export-control evasion leave the same trace: the
//! export declared in Tashkent does not match the import declared in Chicago. This crate
//! finds those traces shipment by shipment ([`link`], [`discrepancy`], [`findings`]) and
//! in aggregate ([`aggregate`]). It is a pure engine: declarations, rates and tariffs in,
//! links and findings out; no IO, no clock, no store. The binary reads files or a
//! node's store, and `caravan-web` serves the results.
//!
//! Pipeline: [`leg::Leg::from_declaration`] reduces each declaration once;
//! [`analysis::analyse`] splits both nodes' legs into the two directions, links each
//! ([`link::link`]: exact tiers, then fuzzy), computes a [`discrepancy::Discrepancy`]
//! per link, runs the detectors and keeps every [`findings::Finding`];
//! [`analysis::Analysis::ranked_units`] spends an alert budget; [`export`] writes CSV.
//!
//! Party names are compared through the [`similarity::NameSimilarity`] seam, so
//! screening's normaliser can replace the default [`similarity::TokenSimilarity`].
//! The CHPL list is `caravan_domain::refdata::chpl()`, compiled into the domain crate
//! from `data/chpl.csv` with its source note, rather than a second copy here.
//! [`parquet`] writes the same tables as Apache Parquet with a hand-written writer: the
//! `arrow`/`parquet` crates would more than double the workspace's compile time on the
//! shared build machine, and flat tables need only the format's simplest form.
//!
//! ```
//! use caravan_mirror::similarity::{NameSimilarity, TokenSimilarity};
//!
//! let names = TokenSimilarity;
//! let a = names.normalise("«Samarqand Tekstil» MChJ");
//! let b = names.normalise("SAMARQAND TEKSTILL");
//! assert!(names.similarity(&a, &b) > 0.9);
//! ```

pub mod aggregate;
pub mod analysis;
mod columnar;
pub mod columns;
pub mod discrepancy;
pub mod eval;
pub mod export;
pub mod findings;
pub mod leg;
pub mod link;
pub mod parquet;
pub mod rates;
pub mod similarity;
pub mod stats;
