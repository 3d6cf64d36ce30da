//! Integration tests of the mirror engine: one test binary (see STYLE.md rule 11).

mod corridor;
mod discrepancy;
mod linkage;
mod rates;
mod similarity;
mod support;
