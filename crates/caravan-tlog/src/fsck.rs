//! Recompute a node store from its leaf hashes and find the first bad node.
//!
//! A log that fails closed needs to know *where* its store went wrong, not
//! just that a root differs: the first mismatching `(level, index)` points at
//! the write (or disk) that broke. The check streams the leaves once and
//! keeps only one pending hash per level, so it runs over stores far larger
//! than memory.

use crate::rfc6962::{Hash, HashReadError, HashReader, node_hash};

/// What a clean run checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsckReport {
    /// Leaves checked.
    pub leaves: u64,
    /// Stored nodes compared (leaves included).
    pub nodes_checked: u64,
    /// The recomputed root over all leaves.
    pub root: Hash,
}

/// The first problem found.
#[derive(Debug, thiserror::Error)]
pub enum FsckError {
    /// A stored node differs from the hash recomputed from the leaves.
    #[error("node ({level}, {index}) mismatch")]
    Mismatch {
        /// Level of the bad node.
        level: u8,
        /// Index of the bad node.
        index: u64,
        /// The recomputed hash.
        expected: Hash,
        /// The stored hash.
        found: Hash,
    },
    /// A node could not be read (missing or backend failure).
    #[error("cannot read node: {0}")]
    Read(#[from] HashReadError),
}

/// Checks every complete-subtree node of the tree over `leaf_hashes` against
/// `reader`, in append order, and stops at the first mismatch.
pub fn fsck<R, I>(reader: &R, leaf_hashes: I) -> Result<FsckReport, FsckError>
where
    R: HashReader + ?Sized,
    I: IntoIterator<Item = Hash>,
{
    // stack[l] holds the left sibling waiting at level l, if any.
    let mut stack: Vec<Option<Hash>> = Vec::new();
    let mut leaves = 0u64;
    let mut checked = 0u64;
    let mut check = |level: u8, index: u64, expected: Hash| -> Result<(), FsckError> {
        let found = reader.node(level, index)?;
        checked += 1;
        if found != expected {
            return Err(FsckError::Mismatch {
                level,
                index,
                expected,
                found,
            });
        }
        Ok(())
    };
    for leaf in leaf_hashes {
        let mut index = leaves;
        check(0, index, leaf)?;
        let mut h = leaf;
        let mut level = 0usize;
        while index & 1 == 1 {
            let Some(left) = stack.get_mut(level).and_then(Option::take) else {
                break;
            };
            h = node_hash(&left, &h);
            level += 1;
            index >>= 1;
            check(level as u8, index, h)?;
        }
        if stack.len() <= level {
            stack.resize(level + 1, None);
        }
        stack[level] = Some(h);
        leaves += 1;
    }
    // The root folds the pending complete subtrees, right to left.
    let root = stack
        .iter()
        .flatten()
        .copied()
        .reduce(|right, left| node_hash(&left, &right))
        .unwrap_or(crate::rfc6962::EMPTY_ROOT);
    Ok(FsckReport {
        leaves,
        nodes_checked: checked,
        root,
    })
}
