//! RFC 6962 / RFC 9162 §2.1 Merkle tree hashing and proofs.
//!
//! Everything else in the crate rests on this module, so it follows the RFC
//! text literally: leaf hashes use the `0x00` prefix and interior nodes the
//! `0x01` prefix, which keeps a leaf from ever being mistaken for a node
//! (second-preimage resistance). Verification is the iterative algorithm of
//! RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), because that is
//! what other verifiers run and it checks the exact proof length implicitly.
//!
//! Proof *generation* is written against [`HashReader`], an abstract store of
//! complete-subtree hashes addressed as `(level, index)`: node `(l, i)` is
//! `MTH(D[i·2^l : (i+1)·2^l])`, the same addressing tlog-tiles uses, with level
//! 0 holding the leaf hashes. A node store keeps every such hash once, so a
//! proof for any tree size is assembled from stored hashes plus a few hash
//! operations for the incomplete right edge. [`inclusion_proof_indices`] and
//! [`consistency_proof_indices`] list the nodes a proof needs so a database
//! can fetch them in one batch.

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, interior node hash or tree root.
pub type Hash = [u8; 32];

/// Domain-separation prefix of a leaf hash.
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash.
pub const NODE_PREFIX: u8 = 0x01;

/// `MTH({})`: the root of the empty tree, SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The longest proof any tree of at most 2^64 − 1 leaves can need.
pub const MAX_PROOF_LEN: usize = 64;

/// `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Address of a complete subtree: node `(level, index)` covers leaves
/// `index·2^level .. (index+1)·2^level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height of the subtree; 0 for a leaf hash.
    pub level: u8,
    /// Position of the subtree among those of the same level.
    pub index: u64,
}

impl NodeId {
    /// Creates a node address.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
}

/// Why a [`HashReader`] could not return a node hash.
#[derive(Debug, thiserror::Error)]
pub enum HashReadError {
    /// The store has no hash at this address (yet).
    #[error("node hash ({level}, {index}) is not stored")]
    Missing {
        /// Level of the missing node.
        level: u8,
        /// Index of the missing node.
        index: u64,
    },
    /// The backing store failed.
    #[error("hash store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A source of stored complete-subtree hashes (see the module docs for the
/// addressing). A database-backed node store implements this.
pub trait HashReader {
    /// Returns the hash of complete subtree `(level, index)`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, HashReadError>;

    /// Returns several hashes; stores override this to batch the reads.
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, HashReadError> {
        ids.iter().map(|id| self.node(id.level, id.index)).collect()
    }
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn node(&self, level: u8, index: u64) -> Result<Hash, HashReadError> {
        (**self).node(level, index)
    }
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, HashReadError> {
        (**self).nodes(ids)
    }
}

/// Why a proof could not be generated or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked from a larger to a smaller tree.
    #[error("old size {old} is larger than new size {new}")]
    OldSizeLarger {
        /// Size of the older tree.
        old: u64,
        /// Size of the newer tree.
        new: u64,
    },
    /// The proof has the wrong number of hashes for the sizes involved.
    #[error("proof has {got} hashes, {expected} expected")]
    WrongLength {
        /// Number of hashes the sizes require.
        expected: usize,
        /// Number of hashes supplied.
        got: usize,
    },
    /// The recomputed root differs from the expected root.
    #[error("recomputed root does not match the expected root")]
    RootMismatch,
    /// For equal sizes the two roots must be identical.
    #[error("trees of equal size {size} have different roots")]
    EqualSizeDifferentRoots {
        /// The common size.
        size: u64,
    },
    /// A node hash the proof needs could not be read.
    #[error(transparent)]
    Read(#[from] HashReadError),
}

/// Largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Pushes the complete subtrees whose concatenation is `[lo, hi)`, left to
/// right. In the RFC recursion every range starts at a multiple of the next
/// power of two above its length, so the chunks are the binary digits of
/// `hi - lo`, largest first.
fn push_range_nodes(lo: u64, hi: u64, out: &mut Vec<NodeId>) {
    let mut start = lo;
    let mut len = hi - lo;
    while len > 0 {
        let level = 63 - len.leading_zeros();
        let chunk = 1u64 << level;
        out.push(NodeId::new(level as u8, start >> level));
        start += chunk;
        len -= chunk;
    }
}

/// Folds the hashes of complete subtrees (left to right) into the RFC 6962
/// hash of their concatenated range: the rightmost pair is combined first.
fn fold_range(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return EMPTY_ROOT;
    };
    iter.fold(*last, |acc, left| node_hash(left, &acc))
}

/// A proof as a list of leaf ranges, each contributing one proof hash.
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    // Collected root-first by the recursion, then reversed to leaf-first.
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    ranges.reverse();
    ranges
}

/// RFC 6962 SUBPROOF(m, D[lo:hi], b), as ranges, root-first.
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0u64, new);
    let mut m = old;
    let mut complete = true;
    loop {
        let n = hi - lo;
        if m == n {
            if !complete {
                ranges.push((lo, hi));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            m -= k;
            complete = false;
        }
    }
    ranges.reverse();
    ranges
}

/// A list of stored nodes plus how to fold them into proof hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    /// Every stored node the proof needs, in order.
    pub nodes: Vec<NodeId>,
    /// How many consecutive entries of `nodes` fold into each proof hash.
    pub groups: Vec<usize>,
}

impl ProofPlan {
    fn from_ranges(ranges: &[(u64, u64)]) -> Self {
        let mut nodes = Vec::with_capacity(ranges.len() + 4);
        let mut groups = Vec::with_capacity(ranges.len());
        for &(lo, hi) in ranges {
            let before = nodes.len();
            push_range_nodes(lo, hi, &mut nodes);
            groups.push(nodes.len() - before);
        }
        Self { nodes, groups }
    }

    /// Turns the fetched node hashes (same order as `nodes`) into the proof.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>, ProofError> {
        if hashes.len() != self.nodes.len() {
            return Err(ProofError::WrongLength {
                expected: self.nodes.len(),
                got: hashes.len(),
            });
        }
        let mut out = Vec::with_capacity(self.groups.len());
        let mut at = 0;
        for &g in &self.groups {
            out.push(fold_range(&hashes[at..at + g]));
            at += g;
        }
        Ok(out)
    }

    /// Reads the nodes from `reader` and assembles the proof.
    pub fn fetch<R: HashReader + ?Sized>(&self, reader: &R) -> Result<Vec<Hash>, ProofError> {
        let hashes = reader.nodes(&self.nodes)?;
        self.assemble(&hashes)
    }
}

/// The stored nodes an inclusion proof for leaf `index` in a tree of `size`
/// leaves needs (see [`ProofPlan`]).
pub fn inclusion_proof_indices(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    Ok(ProofPlan::from_ranges(&inclusion_ranges(index, size)))
}

/// The stored nodes a consistency proof from `old` to `new` leaves needs.
/// The plan is empty when `old` is 0 or equals `new`.
pub fn consistency_proof_indices(old: u64, new: u64) -> Result<ProofPlan, ProofError> {
    if old > new {
        return Err(ProofError::OldSizeLarger { old, new });
    }
    if old == 0 || old == new {
        return Ok(ProofPlan {
            nodes: Vec::new(),
            groups: Vec::new(),
        });
    }
    Ok(ProofPlan::from_ranges(&consistency_ranges(old, new)))
}

/// The stored nodes whose fold is the root of a tree of `size` leaves.
pub fn tree_hash_indices(size: u64) -> Vec<NodeId> {
    let mut v = Vec::new();
    push_range_nodes(0, size, &mut v);
    v
}

/// Generates the inclusion proof (leaf level first) for leaf `index` in the
/// tree of `size` leaves, per RFC 9162 §2.1.3.1.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    index: u64,
    size: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofError> {
    inclusion_proof_indices(index, size)?.fetch(reader)
}

/// Generates the consistency proof from tree size `old` to `new`, per RFC
/// 9162 §2.1.4.1. Empty when `old` is 0 or equals `new`.
pub fn consistency_proof<R: HashReader + ?Sized>(
    old: u64,
    new: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofError> {
    consistency_proof_indices(old, new)?.fetch(reader)
}

/// The root hash `MTH(D[0:size])` from stored complete-subtree hashes.
pub fn tree_hash<R: HashReader + ?Sized>(size: u64, reader: &R) -> Result<Hash, HashReadError> {
    let ids = tree_hash_indices(size);
    Ok(fold_range(&reader.nodes(&ids)?))
}

/// Every complete-subtree node that appending `new_leaf_hashes` to a tree of
/// `old_size` leaves completes, in append order (each leaf hash, then the
/// nodes it closes, lowest level first).
///
/// This is what an appender hands to its store in the same transaction as the
/// entries, so that after the commit every hash any proof or tile needs is
/// stored. The output includes level 0: node `(0, i)` *is* the leaf hash of
/// entry `i`. Stores keep each hash once, and a leaf hash lives beside its
/// entry (the leaf table), so a store derives its level-0 nodes from there and
/// keeps only levels ≥ 1 in its node table; returning level 0 anyway keeps
/// this function a complete description of what the batch adds, which is
/// what [`MemoryTree`] and [`crate::fsck::fsck`] compare against.
///
/// Only the old tree's right edge is read: the roots of the complete subtrees
/// whose concatenation is the old tree ([`tree_hash_indices`]), and of those
/// only the ones the new leaves actually pair with, in one
/// [`HashReader::nodes`] call. Nothing else of the old tree can be a left
/// sibling of a new node.
pub fn nodes_to_store<R: HashReader + ?Sized>(
    old_size: u64,
    new_leaf_hashes: &[Hash],
    reader: &R,
) -> Result<Vec<(NodeId, Hash)>, HashReadError> {
    let new_size = old_size + new_leaf_hashes.len() as u64;
    // A right-edge root (l, j) (j is always even: it is a left child) gets a
    // right sibling exactly when the new tree covers [(j+2)·2^l) leaves.
    let wanted: Vec<NodeId> = tree_hash_indices(old_size)
        .into_iter()
        .filter(|id| {
            (id.index + 2)
                .checked_shl(u32::from(id.level))
                .is_some_and(|end| end <= new_size)
        })
        .collect();
    // pending[l]: the complete node at level l still waiting for a right
    // sibling, with its index. At most one per level, as in a binary counter.
    let mut pending: Vec<Option<Hash>> = vec![None; 64];
    for (id, hash) in wanted.iter().zip(reader.nodes(&wanted)?) {
        pending[usize::from(id.level)] = Some(hash);
    }
    let mut out = Vec::with_capacity(new_leaf_hashes.len() * 2 + 1);
    for (k, leaf) in new_leaf_hashes.iter().enumerate() {
        let mut index = old_size + k as u64;
        let mut level = 0usize;
        let mut hash = *leaf;
        out.push((NodeId::new(0, index), hash));
        while index & 1 == 1 {
            let Some(left) = pending[level].take() else {
                // Unreachable for a well-formed right edge: every odd index has
                // its left sibling pending, either read or computed above.
                return Err(HashReadError::Missing {
                    level: level as u8,
                    index: index - 1,
                });
            };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            out.push((NodeId::new(level as u8, index), hash));
        }
        pending[level] = Some(hash);
    }
    Ok(out)
}

/// `MTH` of a list of leaf hashes, computed directly (no store).
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(
                &root_from_leaf_hashes(&leaves[..k]),
                &root_from_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

/// `MTH` of a list of entries: the RFC 6962 definition, recursively.
pub fn mth<T: AsRef<[u8]>>(entries: &[T]) -> Hash {
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e.as_ref())).collect();
    root_from_leaf_hashes(&leaves)
}

/// Number of hashes in an inclusion proof for `index` in a tree of `size`.
pub fn inclusion_proof_len(index: u64, size: u64) -> Result<usize, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = if inner == 64 {
        0
    } else {
        (index >> inner).count_ones()
    };
    Ok((inner + border) as usize)
}

/// Number of hashes in a consistency proof from `old` to `new`.
pub fn consistency_proof_len(old: u64, new: u64) -> Result<usize, ProofError> {
    if old > new {
        return Err(ProofError::OldSizeLarger { old, new });
    }
    if old == 0 || old == new {
        return Ok(0);
    }
    let shift = old.trailing_zeros();
    let incl = inclusion_proof_len(old - 1, new)?;
    let start = usize::from(!old.is_power_of_two());
    Ok(incl - shift as usize + start)
}

/// Verifies an inclusion proof per RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf, index, size, proof)?;
    if &computed == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Runs the RFC 9162 §2.1.3.2 algorithm and returns the root it implies.
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    let expected = inclusion_proof_len(index, size)?;
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength {
                expected,
                got: proof.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    Ok(r)
}

/// Verifies a consistency proof per RFC 9162 §2.1.4.2, with the usual
/// conventions for the trivial cases: from size 0 any tree is consistent and
/// the proof must be empty; for equal sizes the proof must be empty and the
/// roots equal.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let expected = consistency_proof_len(old, new)?;
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    if old == new {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::EqualSizeDifferentRoots { size: old })
        };
    }
    if old == 0 {
        return Ok(());
    }
    // Step 2: a power-of-two old tree is itself a node of the new tree.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(ProofError::WrongLength {
                expected,
                got: proof.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    if &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// An in-memory append-only Merkle tree that stores every complete-subtree
/// hash once, exactly as a node store would. Used by tests and benchmarks,
/// and handy for small logs.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` is node `(l, i)`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends an entry (hashing it as a leaf) and returns its index.
    pub fn append(&mut self, entry: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(entry))
    }

    /// Appends an already computed leaf hash and returns its index. Every
    /// complete subtree the new leaf closes is hashed and stored once.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        let index = self.levels[0].len() as u64;
        self.levels[0].push(leaf);
        let mut level = 0usize;
        let mut i = index;
        let mut h = leaf;
        while i & 1 == 1 {
            let left = self.levels[level][(i - 1) as usize];
            h = node_hash(&left, &h);
            level += 1;
            i >>= 1;
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(h);
        }
        index
    }

    /// The current root hash.
    pub fn root(&self) -> Hash {
        self.root_at(self.size()).unwrap_or(EMPTY_ROOT)
    }

    /// The root hash at an earlier (or the current) size.
    pub fn root_at(&self, size: u64) -> Result<Hash, HashReadError> {
        tree_hash(size, self)
    }

    /// Inclusion proof for `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        inclusion_proof(index, size, self)
    }

    /// Consistency proof from `old` to `new` leaves.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        consistency_proof(old, new, self)
    }

    /// The stored leaf hashes, in order.
    pub fn leaf_hashes(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }
}

impl HashReader for MemoryTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, HashReadError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(HashReadError::Missing { level, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let h: Hash = Sha256::digest([]).into();
        assert_eq!(h, EMPTY_ROOT);
    }

    #[test]
    fn lengths_match_plans() {
        for n in 1..70u64 {
            for m in 0..n {
                assert_eq!(
                    inclusion_proof_len(m, n).unwrap(),
                    inclusion_proof_indices(m, n).unwrap().groups.len()
                );
            }
            for m in 0..=n {
                assert_eq!(
                    consistency_proof_len(m, n).unwrap(),
                    consistency_proof_indices(m, n).unwrap().groups.len(),
                    "{m} {n}"
                );
            }
        }
    }
}
