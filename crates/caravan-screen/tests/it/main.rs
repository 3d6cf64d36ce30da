//! Integration tests of caravan-screen: list fixtures from `data/screening/`, the
//! evaluation sets of spec §10 (quality gates that can fail), and property tests of the
//! normaliser and the scorer.

mod data;
mod e1_name_pairs;
mod e2_screening;
mod e3_cross_script;
mod e5_resolution;
mod fixtures;
mod properties;
