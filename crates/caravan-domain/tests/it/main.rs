//! Integration tests of `caravan-domain`, one binary so the linker runs once.
//!
//! `vectors` runs every group of `tests/data/identifier_test_vectors.json` (a copy of the
//! shared test vectors); `spec_examples` holds the worked examples of the declarations spec,
//! section 3; `props` the property tests; `refdata` the counts stated in `data/README.md`.

mod codes;
mod declarations;
mod party;
mod props;
mod refdata;
mod spec_examples;
mod vectors;
