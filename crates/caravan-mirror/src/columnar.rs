//! The machinery that lets linkage run at a million legs a side: 64-bit key hashes,
//! string interning, a fast hasher for integer-keyed maps, and an order-preserving
//! parallel map over index ranges.
//!
//! Linkage compares the same few strings (references, party names, HS codes, country
//! codes) millions of times. Hashing or interning them once turns every later
//! comparison into an integer comparison and keeps the hot loops free of allocation.
//! A 64-bit hash can collide, so every hash match on a key is confirmed on the string
//! itself before it links anything; interned ids are exact (one id per distinct string).
//! The parallel map splits an index range into contiguous chunks and concatenates the
//! results in chunk order, so the output does not depend on the number of threads.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

/// A multiply-rotate hasher (the Fx hash of rustc) for maps keyed by integers or short
/// strings built here; the keys are not attacker-chosen in a way that matters, since a
/// collision only costs time.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The 64-bit hash of a typed key: `tag` separates key kinds (a UCR and a container
/// number with the same characters are different keys). Finalised with the MurmurHash3
/// mixer so that sorting by hash spreads keys evenly.
pub(crate) fn key_hash(tag: u8, key: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write_u8(tag);
    h.write(key.as_bytes());
    let mut x = h.finish() ^ key.len() as u64;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Distinct strings numbered in order of first appearance.
#[derive(Debug, Default)]
pub(crate) struct Interner<'a> {
    ids: FxMap<&'a str, u32>,
    strings: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    /// The id of `s`, assigning the next one when it is new.
    pub(crate) fn intern(&mut self, s: &'a str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        self.ids.insert(s, id);
        self.strings.push(s);
        id
    }

    /// The string of an id.
    pub(crate) fn resolve(&self, id: u32) -> &'a str {
        self.strings[id as usize]
    }

    /// Number of distinct strings.
    pub(crate) fn len(&self) -> usize {
        self.strings.len()
    }
}

/// Worker threads for one linkage: the machine's parallelism, at most 8.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// `f` over contiguous chunks of `0..n` on up to [`threads`] threads; the chunks'
/// outputs are concatenated in index order, so the result is the same as one call of
/// `f(0..n)` whenever `f` maps each index independently.
pub(crate) fn parallel_ranges<T: Send>(
    n: usize,
    min_chunk: usize,
    f: impl Fn(Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    let workers = threads().min(n.div_ceil(min_chunk.max(1))).max(1);
    if workers == 1 {
        return f(0..n);
    }
    let chunk = n.div_ceil(workers);
    let f = &f;
    let parts: Vec<Vec<T>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let range = (w * chunk).min(n)..((w + 1) * chunk).min(n);
                scope.spawn(move || f(range))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_separates_kinds_and_strings() {
        assert_ne!(key_hash(0, "MSCU1234565"), key_hash(1, "MSCU1234565"));
        assert_ne!(key_hash(0, "A"), key_hash(0, "A\0"));
        assert_eq!(key_hash(3, "INV-1"), key_hash(3, "INV-1"));
    }

    #[test]
    fn parallel_ranges_keeps_index_order() {
        let out = parallel_ranges(10_001, 7, |r| r.map(|i| i * 2).collect());
        assert_eq!(out, (0..10_001).map(|i| i * 2).collect::<Vec<_>>());
        assert!(parallel_ranges(0, 7, |r| r.collect::<Vec<_>>()).is_empty());
    }

    #[test]
    fn interner_numbers_in_first_appearance_order() {
        let mut i = Interner::default();
        assert_eq!(i.intern("b"), 0);
        assert_eq!(i.intern("a"), 1);
        assert_eq!(i.intern("b"), 0);
        assert_eq!(i.resolve(1), "a");
        assert_eq!(i.len(), 2);
    }
}
