//! The targeting engine: which declarations a customs office should inspect, and why.
//!
//! A targeting centre inspects a few percent of shipments; every point of precision at that
//! rate is revenue recovered. This crate is the pure core of that decision, as
//! `shared/spec/analytics.md` (Targeting, Evaluation protocol) describes it:
//!
//! - [`record`]: the flat per-declaration view the engine scores ([`record::TargetRecord`]),
//!   with optional labels that exist only for inspected rows.
//! - [`declaration`]: the canonical declaration's goods items as records.
//! - [`kcs`]: the Korea Customs Service synthetic declarations, read as they are.
//! - [`profile`]: smoothed fraud rates per entity, learned only from past inspected rows, and
//!   robust unit-value z-scores in HS6 × origin cells with back-off.
//! - [`features`]: the feature matrix under the paper protocol or the leakage-controlled one.
//! - [`gbdt`]: histogram gradient-boosted trees (training, serving, path explanations).
//! - [`model_file`]: the versioned, checksummed model file.
//! - [`metrics`]: Precision, Recall and Revenue at n %, AUC.
//! - [`rules`]: the ASYCUDA/ATS-style rule file, weight sets and lanes with quotas.
//! - [`select`]: selection of a budget with an exploration share, and the drift signal.
//! - [`eval`]: the offline protocol with its leak sentinels, and the trained [`eval::Ranker`].
//! - [`simulate`]: the weekly simulation in which only inspected rows receive labels.
//! - [`retrain`]: a candidate from the node's own inspections, judged on a temporal hold-out
//!   against the model in service.
//! - [`schedule`]: when scheduled retraining is due.
//! - [`worklist`]: the officer's ranked worklist with explanations, lanes and quota state.
//!
//! No IO, no clock, no randomness other than seeded: same inputs and seed, same output.

pub mod date;
pub mod declaration;
pub mod eval;
pub mod features;
pub mod gbdt;
pub mod kcs;
pub mod metrics;
pub mod model_file;
pub mod profile;
pub mod record;
pub mod retrain;
pub mod rng;
pub mod rules;
pub mod schedule;
pub mod select;
pub mod simulate;
pub mod worklist;
