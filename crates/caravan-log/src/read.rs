//! The tlog-tiles read side: checkpoint, hash tiles and entry bundles from the store.
//!
//! What exists is decided by the stored tree size: a full tile is served once all 256 of
//! its hashes exist, and a partial tile of width `W` whenever its `W` hashes exist, so the
//! partial tiles of every checkpointed size stay available until the full tile replaces
//! them (spec §11.5). Empty tiles and tiles beyond the tree are `None` (404). Path
//! parsing is `caravan_tlog::tiles::parse_path`, which accepts only canonical spellings.

use caravan_store::StoreError;
use caravan_store::log::{LogStore, StoreHashReader};
use caravan_tlog::rfc6962::HashReadError;
use caravan_tlog::tiles::{self, TILE_HEIGHT, TILE_WIDTH, TilePath};

/// Why a resource could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The store failed.
    #[error("log store failed: {0}")]
    Store(#[from] StoreError),
    /// Stored hashes are missing or unreadable.
    #[error("reading stored hashes failed: {0}")]
    Hashes(#[from] HashReadError),
    /// A stored entry does not fit an entry bundle.
    #[error("entry bundle: {0}")]
    Bundle(#[from] tiles::TileDataError),
}

/// Number of stored nodes at tile level `level` in a tree of `size` leaves.
fn hashes_at(level: u8, size: u64) -> u64 {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    if shift >= 64 { 0 } else { size >> shift }
}

/// The latest signed checkpoint note, if any. Blocking.
pub fn checkpoint(store: &dyn LogStore, origin: &str) -> Result<Option<Vec<u8>>, ReadError> {
    Ok(store.open_log(origin)?.checkpoint.map(|c| c.note))
}

/// The bytes of a tile or entry bundle, or `None` if it does not exist (yet). Blocking.
pub fn tile(
    store: &dyn LogStore,
    origin: &str,
    path: &TilePath,
) -> Result<Option<Vec<u8>>, ReadError> {
    let size = store.open_log(origin)?.size;
    let width = u64::from(TILE_WIDTH);
    match path {
        TilePath::Hash(id) => {
            let available = hashes_at(id.level, size);
            let end = id
                .index
                .checked_mul(width)
                .and_then(|s| s.checked_add(u64::from(id.width)));
            if end.is_none_or(|end| end > available) {
                return Ok(None);
            }
            Ok(Some(id.build(&StoreHashReader::new(store, origin))?))
        }
        TilePath::Entries(bundle) => {
            let Some(start) = bundle.index.checked_mul(width) else {
                return Ok(None);
            };
            if start
                .checked_add(u64::from(bundle.width))
                .is_none_or(|end| end > size)
            {
                return Ok(None);
            }
            let entries = store.entries(origin, start, u64::from(bundle.width))?;
            Ok(Some(tiles::encode_entry_bundle(&entries)?))
        }
    }
}
