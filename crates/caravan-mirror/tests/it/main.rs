//! Integration tests of the mirror engine: one test binary (see STYLE.md rule 11).

mod columns;
mod corridor;
mod discrepancy;
mod equivalence;
mod linkage;
mod rates;
mod reference;
mod similarity;
mod support;
