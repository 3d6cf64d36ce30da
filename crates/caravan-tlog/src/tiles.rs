//! C2SP tlog-tiles: tile and entry-bundle paths, tile coverage and encodings.
//!
//! The read API serves the Merkle tree as immutable "tiles" of 256 hashes so
//! clients compute their own proofs and any static file server or CDN can
//! serve a log. Paths are pure functions here, with a strict parser that
//! rejects every non-canonical spelling: two spellings of one tile would let
//! a cache or a mirror serve different bytes for the same resource.
//!
//! A hash tile at level `L` holds stored nodes of level `8·L` (see
//! [`crate::rfc6962::HashReader`]): tile `N` at level `L` contains nodes
//! `(8L, 256N + i)` for `i` in `0..W`.

use crate::rfc6962::{Hash, HashReadError, HashReader, NodeId};

/// Hashes in a full tile.
pub const TILE_WIDTH: u16 = 256;
/// Tree levels a tile spans.
pub const TILE_HEIGHT: u8 = 8;
/// Highest tile level allowed in a path.
pub const MAX_TILE_LEVEL: u8 = 63;
/// Largest entry an entry bundle can hold (uint16 length prefix).
pub const MAX_ENTRY_SIZE: usize = 65_535;

/// A hash tile: level, index and width (256 for a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileId {
    /// Tile level, 0–63.
    pub level: u8,
    /// Tile index within its level.
    pub index: u64,
    /// Number of hashes, 1–256; 256 is a full tile.
    pub width: u16,
}

/// An entry bundle: index and width (256 for a full bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryBundleId {
    /// Bundle index: entries `256·index ..`.
    pub index: u64,
    /// Number of entries, 1–256; 256 is a full bundle.
    pub width: u16,
}

/// A parsed tlog-tiles resource path (relative to the log prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`
    Hash(TileId),
    /// `tile/entries/<N>[.p/<W>]`
    Entries(EntryBundleId),
}

/// Why a path is not a canonical tlog-tiles path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    /// The path does not start with `tile/`.
    #[error("path does not start with tile/")]
    NotATile,
    /// The level is not a canonical decimal in 0–63.
    #[error("invalid tile level")]
    BadLevel,
    /// The index segments are not canonical `x`-prefixed 3-digit groups.
    #[error("invalid tile index encoding")]
    BadIndex,
    /// The index does not fit in 64 bits.
    #[error("tile index overflows u64")]
    IndexOverflow,
    /// The partial-width suffix is not `.p/<1–255>` in canonical decimal.
    #[error("invalid partial width")]
    BadWidth,
}

/// Why tile or bundle bytes are malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileDataError {
    /// A tile's byte length is not 32 × width.
    #[error("tile has {got} bytes, {expected} expected")]
    WrongTileLength {
        /// Expected byte length.
        expected: usize,
        /// Actual byte length.
        got: usize,
    },
    /// An entry is longer than 65,535 bytes.
    #[error("entry of {0} bytes exceeds 65535")]
    EntryTooLarge(usize),
    /// A bundle holds more than 256 entries.
    #[error("bundle holds {0} entries, at most 256 allowed")]
    TooManyEntries(usize),
    /// A bundle ends in the middle of a length prefix or entry.
    #[error("entry bundle is truncated")]
    Truncated,
}

/// Encodes `n` as zero-padded 3-digit path elements, all but the last
/// prefixed with `x`: 1234067 → `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let mut groups = Vec::new();
    let mut rest = n;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(groups.len() * 5);
    for (i, g) in groups.iter().rev().enumerate() {
        if i > 0 {
            out.push('/');
        }
        if i + 1 < groups.len() {
            out.push('x');
        }
        out.push_str(&format!("{g:03}"));
    }
    out
}

fn width_suffix(width: u16) -> String {
    if width >= TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

impl TileId {
    /// A full tile.
    pub const fn full(level: u8, index: u64) -> Self {
        Self {
            level,
            index,
            width: TILE_WIDTH,
        }
    }

    /// Whether the tile has all 256 hashes.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The path relative to the log prefix, e.g. `tile/0/x001/x234/067.p/8`.
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}{}",
            self.level,
            encode_index(self.index),
            width_suffix(self.width)
        )
    }

    /// The stored nodes this tile holds, left to right.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        let level = self.level.saturating_mul(TILE_HEIGHT);
        let start = self.index.saturating_mul(u64::from(TILE_WIDTH));
        (0..u64::from(self.width)).map(move |i| NodeId::new(level, start + i))
    }

    /// Reads the tile's hashes from a store and concatenates them.
    pub fn build<R: HashReader + ?Sized>(&self, reader: &R) -> Result<Vec<u8>, HashReadError> {
        let ids: Vec<NodeId> = self.node_ids().collect();
        Ok(tile_bytes(&reader.nodes(&ids)?))
    }
}

impl EntryBundleId {
    /// The path relative to the log prefix, e.g. `tile/entries/x001/234.p/7`.
    pub fn path(&self) -> String {
        format!(
            "tile/entries/{}{}",
            encode_index(self.index),
            width_suffix(self.width)
        )
    }
}

fn canonical_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Parses `<N>[.p/<W>]` from the remaining path segments.
fn parse_index_and_width(segments: &[&str]) -> Result<(u64, u16), TilePathError> {
    // A trailing ".p/<W>" turns the last index element into "ddd.p".
    let (index_segs, width) = match segments {
        [head @ .., last, w] if last.ends_with(".p") => {
            let width = canonical_decimal(w)
                .filter(|w| (1..u64::from(TILE_WIDTH)).contains(w))
                .ok_or(TilePathError::BadWidth)?;
            let mut v: Vec<&str> = head.to_vec();
            v.push(&last[..last.len() - 2]);
            (v, width as u16)
        }
        _ => (segments.to_vec(), TILE_WIDTH),
    };
    let Some((last, init)) = index_segs.split_last() else {
        return Err(TilePathError::BadIndex);
    };
    let mut n: u64 = 0;
    for (i, seg) in init.iter().enumerate() {
        let digits = seg.strip_prefix('x').ok_or(TilePathError::BadIndex)?;
        let g = three_digits(digits)?;
        // A leading zero group would make a second spelling of a smaller index.
        if i == 0 && g == 0 {
            return Err(TilePathError::BadIndex);
        }
        n = n
            .checked_mul(1000)
            .and_then(|n| n.checked_add(g))
            .ok_or(TilePathError::IndexOverflow)?;
    }
    let g = three_digits(last)?;
    n = n
        .checked_mul(1000)
        .and_then(|n| n.checked_add(g))
        .ok_or(TilePathError::IndexOverflow)?;
    Ok((n, width))
}

fn three_digits(s: &str) -> Result<u64, TilePathError> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TilePathError::BadIndex);
    }
    s.parse().map_err(|_| TilePathError::BadIndex)
}

/// Parses a canonical tile or entry-bundle path (relative to the prefix).
pub fn parse_path(path: &str) -> Result<TilePath, TilePathError> {
    let rest = path.strip_prefix("tile/").ok_or(TilePathError::NotATile)?;
    let segments: Vec<&str> = rest.split('/').collect();
    let Some((first, tail)) = segments.split_first() else {
        return Err(TilePathError::NotATile);
    };
    if *first == "entries" {
        let (index, width) = parse_index_and_width(tail)?;
        return Ok(TilePath::Entries(EntryBundleId { index, width }));
    }
    let level = canonical_decimal(first)
        .filter(|l| *l <= u64::from(MAX_TILE_LEVEL))
        .ok_or(TilePathError::BadLevel)? as u8;
    let (index, width) = parse_index_and_width(tail)?;
    Ok(TilePath::Hash(TileId {
        level,
        index,
        width,
    }))
}

/// Number of level-`level` hashes (stored level `8·level`) in a tree of
/// `size` leaves.
fn hashes_at(level: u8, size: u64) -> u64 {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    if shift >= 64 { 0 } else { size >> shift }
}

/// The tiles that make up a tree of `size` leaves: for each level, every
/// full tile plus the partial tile of width `floor(size/256^L) mod 256` if
/// that is non-zero. Empty tiles are never listed.
pub fn tiles_for_size(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let n = hashes_at(level, size);
        if n == 0 {
            break;
        }
        let full = n / u64::from(TILE_WIDTH);
        out.extend((0..full).map(|i| TileId::full(level, i)));
        let partial = (n % u64::from(TILE_WIDTH)) as u16;
        if partial > 0 {
            out.push(TileId {
                level,
                index: full,
                width: partial,
            });
        }
        level += 1;
    }
    out
}

/// The rightmost tile of each level for a tree of `size` leaves (partial or
/// full): what a log must (re)publish when a checkpoint of that size appears.
pub fn edge_tiles_for_size(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let n = hashes_at(level, size);
        if n == 0 {
            break;
        }
        let w = u64::from(TILE_WIDTH);
        let (index, width) = if n.is_multiple_of(w) {
            (n / w - 1, TILE_WIDTH)
        } else {
            (n / w, (n % w) as u16)
        };
        out.push(TileId {
            level,
            index,
            width,
        });
        level += 1;
    }
    out
}

/// The entry bundles that make up a tree of `size` leaves.
pub fn entry_bundles_for_size(size: u64) -> Vec<EntryBundleId> {
    let w = u64::from(TILE_WIDTH);
    let mut out: Vec<EntryBundleId> = (0..size / w)
        .map(|index| EntryBundleId {
            index,
            width: TILE_WIDTH,
        })
        .collect();
    if !size.is_multiple_of(w) {
        out.push(EntryBundleId {
            index: size / w,
            width: (size % w) as u16,
        });
    }
    out
}

/// The tile (full, at the given width) that contains stored node
/// `(level, index)`, for levels that are multiples of 8. `None` otherwise.
pub fn tile_for_node(node: NodeId) -> Option<TileId> {
    if !node.level.is_multiple_of(TILE_HEIGHT) {
        return None;
    }
    Some(TileId::full(
        node.level / TILE_HEIGHT,
        node.index / u64::from(TILE_WIDTH),
    ))
}

/// Concatenates hashes into tile bytes.
pub fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// Splits tile bytes into the `width` hashes they must contain.
pub fn parse_tile_bytes(bytes: &[u8], width: u16) -> Result<Vec<Hash>, TileDataError> {
    let expected = usize::from(width) * 32;
    if bytes.len() != expected {
        return Err(TileDataError::WrongTileLength {
            expected,
            got: bytes.len(),
        });
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// Encodes an entry bundle: each entry as a big-endian u16 length and bytes.
pub fn encode_entry_bundle<T: AsRef<[u8]>>(entries: &[T]) -> Result<Vec<u8>, TileDataError> {
    if entries.len() > usize::from(TILE_WIDTH) {
        return Err(TileDataError::TooManyEntries(entries.len()));
    }
    let mut out = Vec::new();
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileDataError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes an entry bundle into its entries.
pub fn decode_entry_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, TileDataError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(TileDataError::Truncated);
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(TileDataError::Truncated);
        }
        out.push(&tail[..len]);
        rest = &tail[len..];
        if out.len() > usize::from(TILE_WIDTH) {
            return Err(TileDataError::TooManyEntries(out.len()));
        }
    }
    Ok(out)
}
