//! fsck finds the first stored hash that disagrees with the leaves, and names it.

use caravan_tlog::Hash;
use caravan_tlog::fsck::{FsckError, fsck};
use caravan_tlog::rfc6962::{HashReadError, HashReader, MemoryTree};

/// A store with one corrupted node.
struct Corrupt<'a> {
    inner: &'a MemoryTree,
    at: (u8, u64),
}

impl HashReader for Corrupt<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, HashReadError> {
        let mut h = self.inner.node(level, index)?;
        if (level, index) == self.at {
            h[0] ^= 1;
        }
        Ok(h)
    }
}

#[test]
fn clean_store_passes_and_reports_root() {
    let mut t = MemoryTree::new();
    for i in 0..1000u32 {
        t.append(&i.to_le_bytes());
    }
    let r = fsck(&t, t.leaf_hashes().iter().copied()).unwrap();
    assert_eq!(r.leaves, 1000);
    assert_eq!(r.root, t.root());
    // 1000 leaves have 1000 + 500 + 250 + ... complete nodes.
    assert_eq!(r.nodes_checked, (0..10).map(|l| 1000u64 >> l).sum::<u64>());
    let empty = MemoryTree::new();
    assert_eq!(
        fsck(&empty, []).unwrap().root,
        caravan_tlog::rfc6962::EMPTY_ROOT
    );
}

#[test]
fn first_mismatch_is_reported() {
    let mut t = MemoryTree::new();
    for i in 0..300u32 {
        t.append(&i.to_le_bytes());
    }
    for at in [(0u8, 0u64), (0, 299), (3, 17), (8, 0), (5, 8)] {
        let store = Corrupt { inner: &t, at };
        match fsck(&store, t.leaf_hashes().iter().copied()) {
            Err(FsckError::Mismatch {
                level,
                index,
                expected,
                found,
            }) => {
                assert_eq!((level, index), at);
                assert_eq!(expected, t.node(level, index).unwrap());
                assert_ne!(expected, found);
            }
            other => panic!("{at:?}: {other:?}"),
        }
    }
    // A leaf list longer than the store hits a missing node.
    let mut more: Vec<Hash> = t.leaf_hashes().to_vec();
    more.push([0; 32]);
    assert!(matches!(
        fsck(&t, more),
        Err(FsckError::Read(HashReadError::Missing {
            level: 0,
            index: 300
        }))
    ));
}
