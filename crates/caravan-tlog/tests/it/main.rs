//! Integration tests for caravan-tlog: known-answer vectors from the C2SP
//! specs and reference implementations, property tests, and cross-checks
//! against an independent RFC 6962 implementation (`ct-merkle`).

mod checkpoint;
mod cosignature;
mod fsck;
mod merkle;
mod note;
mod proof;
mod tiles;
mod witness;

use std::path::PathBuf;

/// Reads a vector file copied under `tests/vectors/`.
pub(crate) fn vector(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub(crate) fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&vector(name)).expect("vector JSON")
}

pub(crate) fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

pub(crate) fn hash_hex(s: &str) -> caravan_tlog::Hash {
    unhex(s).try_into().expect("32-byte hash")
}
