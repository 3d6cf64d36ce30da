//! Where the shared data lives; tests may read it, the product never does.

use std::path::PathBuf;

pub(crate) fn screening_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/screening")
}

pub(crate) fn read(name: &str) -> Vec<u8> {
    let path = screening_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
