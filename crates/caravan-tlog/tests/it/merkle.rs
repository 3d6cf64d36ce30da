//! RFC 6962 / RFC 9162 hashing and proofs: every transparency-dev vector, and properties
//! checked against an independent implementation (ct-merkle).

use caravan_tlog::Hash;
use caravan_tlog::rfc6962::{
    EMPTY_ROOT, HashReadError, HashReader, MemoryTree, NodeId, ProofError, consistency_proof,
    consistency_proof_indices, consistency_proof_len, inclusion_proof, inclusion_proof_indices,
    leaf_hash, mth, nodes_to_store, root_from_leaf_hashes, tree_hash, tree_hash_indices,
    verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use crate::{hash_hex, json, unhex};

fn rfc_tree() -> (Vec<Vec<u8>>, MemoryTree) {
    let v = json("transparency-dev-merkle-rfc6962-vectors.json");
    let leaves: Vec<Vec<u8>> = v["leaf_inputs_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| unhex(s.as_str().unwrap()))
        .collect();
    let mut t = MemoryTree::new();
    for l in &leaves {
        t.append(l);
    }
    (leaves, t)
}

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| hash_hex(s.as_str().unwrap()))
        .collect()
}

#[test]
fn rfc6962_stored_nodes_and_roots() {
    let v = json("transparency-dev-merkle-rfc6962-vectors.json");
    let (leaves, t) = rfc_tree();
    for (level, row) in v["node_hashes_hex"].as_array().unwrap().iter().enumerate() {
        for (i, h) in hashes(row).iter().enumerate() {
            assert_eq!(
                &t.node(level as u8, i as u64).unwrap(),
                h,
                "node ({level},{i})"
            );
        }
    }
    for (n, h) in hashes(&v["root_hashes_hex_by_size"]).iter().enumerate() {
        assert_eq!(&t.root_at(n as u64).unwrap(), h, "root at {n}");
        assert_eq!(&mth(&leaves[..n]), h, "MTH of {n}");
    }
    assert_eq!(t.root_at(0).unwrap(), EMPTY_ROOT);
}

#[test]
fn rfc6962_inclusion_vectors() {
    let v = json("transparency-dev-merkle-rfc6962-vectors.json");
    let (leaves, t) = rfc_tree();
    for case in v["inclusion_proofs"].as_array().unwrap() {
        let index = case["leaf"].as_u64().unwrap() - 1;
        let size = case["size"].as_u64().unwrap();
        let want = hashes(&case["proof"]);
        let root = t.root_at(size).unwrap();
        let leaf = leaf_hash(&leaves[index as usize]);
        assert_eq!(t.inclusion_proof(index, size).unwrap(), want, "{case}");
        verify_inclusion(&leaf, index, size, &want, &root).unwrap();
        // Corruption probes, as in verify_test.go.
        assert!(verify_inclusion(&leaf, index + 1, size, &want, &root).is_err());
        assert!(verify_inclusion(&leaf, index, size, &want, &leaf_hash(b"x")).is_err());
        assert!(verify_inclusion(&leaf_hash(b"x"), index, size, &want, &root).is_err());
        let mut longer = want.clone();
        longer.push(EMPTY_ROOT);
        assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        if !want.is_empty() {
            assert!(verify_inclusion(&leaf, index, size, &want[1..], &root).is_err());
        }
        for i in 0..want.len() {
            let mut bad = want.clone();
            bad[i][0] ^= 1;
            assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
    }
}

#[test]
fn rfc6962_consistency_vectors() {
    let v = json("transparency-dev-merkle-rfc6962-vectors.json");
    let (_, t) = rfc_tree();
    for case in v["consistency_proofs"].as_array().unwrap() {
        let (m, n) = (
            case["size1"].as_u64().unwrap(),
            case["size2"].as_u64().unwrap(),
        );
        let want = hashes(&case["proof"]);
        let (r1, r2) = (t.root_at(m).unwrap(), t.root_at(n).unwrap());
        assert_eq!(t.consistency_proof(m, n).unwrap(), want, "{case}");
        verify_consistency(m, n, &r1, &r2, &want).unwrap();
        assert!(verify_consistency(m, n, &r2, &r1, &want).is_err() || r1 == r2);
        for i in 0..want.len() {
            let mut bad = want.clone();
            bad[i][31] ^= 0x80;
            assert!(verify_consistency(m, n, &r1, &r2, &bad).is_err());
        }
        let mut longer = want.clone();
        longer.push(r1);
        assert!(verify_consistency(m, n, &r1, &r2, &longer).is_err());
    }
}

#[test]
fn rfc6962_special_consistency_cases() {
    let v = json("transparency-dev-merkle-rfc6962-vectors.json");
    let sc = &v["special_consistency_cases"];
    // Our roots are typed 32-byte hashes, so the ASCII "don't care" roots of
    // the Go table are mapped to distinct 32-byte values (their SHA-256).
    let root = |name: &str| -> Hash {
        match name {
            "r1" => Sha256::digest(sc["root1_ascii"].as_str().unwrap()).into(),
            "r2" => Sha256::digest(sc["root2_ascii"].as_str().unwrap()).into(),
            "empty" => EMPTY_ROOT,
            other => panic!("unknown root {other}"),
        }
    };
    for c in sc["cases"].as_array().unwrap() {
        let proof: Vec<Hash> = match c["proof"].as_str().unwrap() {
            "none" => vec![],
            "empty" => vec![EMPTY_ROOT],
            other => panic!("unknown proof {other}"),
        };
        let got = verify_consistency(
            c["size1"].as_u64().unwrap(),
            c["size2"].as_u64().unwrap(),
            &root(c["root1"].as_str().unwrap()),
            &root(c["root2"].as_str().unwrap()),
            &proof,
        );
        assert_eq!(got.is_ok(), c["want_ok"].as_bool().unwrap(), "{c}: {got:?}");
    }
}

#[test]
fn proof_sizes_match_the_spec_table() {
    // exchange-and-log.md §12: inclusion and worst-case consistency sizes.
    for (n, incl, cons) in [
        (1_000u64, 10usize, 11usize),
        (1_000_000, 20, 21),
        (10_000_000, 24, 25),
        (1_000_000_000, 30, 31),
    ] {
        let max_incl = (0..n)
            .step_by((n / 997).max(1) as usize)
            .chain([n - 1])
            .map(|i| inclusion_proof_indices(i, n).unwrap().groups.len())
            .max()
            .unwrap();
        assert_eq!(max_incl, incl, "inclusion at {n}");
        let max_cons = (1..n)
            .step_by((n / 997).max(1) as usize)
            .chain([3, 5, n - 1])
            .map(|m| consistency_proof_len(m, n).unwrap())
            .max()
            .unwrap();
        assert_eq!(max_cons, cons, "consistency at {n}");
    }
}

#[test]
fn out_of_range_requests_are_errors() {
    let (_, t) = rfc_tree();
    assert!(matches!(
        t.inclusion_proof(8, 8),
        Err(ProofError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        consistency_proof_indices(9, 8),
        Err(ProofError::OldSizeLarger { .. })
    ));
    assert!(t.inclusion_proof(3, 9).is_err(), "size beyond the store");
}

type CtTree = ct_merkle::mem_backed_tree::MemoryBackedTree<sha2_011::Sha256, Vec<u8>>;

fn trees(n: usize) -> (MemoryTree, CtTree, Vec<Vec<u8>>) {
    let mut ours = MemoryTree::new();
    let mut theirs = CtTree::new();
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let e = format!("entry-{i}").into_bytes();
        ours.append(&e);
        theirs.push(e.clone());
        entries.push(e);
    }
    (ours, theirs, entries)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn inclusion_proofs_verify_and_resist_mutation(size in 1u64..600, seed in any::<u64>(), byte in 0usize..32) {
        let (t, ct, entries) = trees(size as usize);
        let index = seed % size;
        let proof = t.inclusion_proof(index, size).unwrap();
        let root = t.root();
        let leaf = leaf_hash(&entries[index as usize]);
        verify_inclusion(&leaf, index, size, &proof, &root).unwrap();

        // Independent implementation: same root, same proof bytes, and its
        // verifier accepts our proof.
        let ct_root = ct.root();
        prop_assert_eq!(ct_root.as_bytes().as_slice(), root.as_slice());
        let theirs = ct.prove_inclusion(index as usize);
        let proof_bytes = proof.concat();
        prop_assert_eq!(theirs.as_bytes(), proof_bytes.as_slice());
        let ours_for_them = ct_merkle::InclusionProof::<sha2_011::Sha256>::try_from_bytes(proof.concat()).unwrap();
        prop_assert!(ct_root.verify_inclusion(&entries[index as usize], index, &ours_for_them).is_ok());

        // Any single mutation fails.
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i][byte] ^= 1;
            prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
        let mut bad_leaf = leaf; bad_leaf[byte] ^= 1;
        prop_assert!(verify_inclusion(&bad_leaf, index, size, &proof, &root).is_err());
        let mut bad_root = root; bad_root[byte] ^= 1;
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &bad_root).is_err());
        if size > 1 {
            let other = (index + 1 + seed % (size - 1)) % size;
            prop_assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
        }
        prop_assert!(verify_inclusion(&leaf, index, size, &proof[..proof.len().saturating_sub(1)], &root).is_err() || proof.is_empty());
        // A different size must fail unless it implies the same proof shape:
        // RFC 9162 verification binds the size only through the path shape
        // (the signed checkpoint binds it for real).
        for other in [size.saturating_sub(1), size + 1] {
            if other > index && other != size {
                let r = verify_inclusion(&leaf, index, other, &proof, &root);
                if r.is_ok() {
                    prop_assert_eq!(inclusion_proof_indices(index, other).unwrap().groups.len(), proof.len());
                }
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_and_resist_mutation(size in 2u64..600, seed in any::<u64>(), byte in 0usize..32) {
        let (t, ct, _) = trees(size as usize);
        let old = 1 + seed % (size - 1);
        let proof = t.consistency_proof(old, size).unwrap();
        let (r1, r2) = (t.root_at(old).unwrap(), t.root());
        verify_consistency(old, size, &r1, &r2, &proof).unwrap();

        let theirs = ct.prove_consistency((size - old) as usize);
        let proof_bytes = proof.concat();
        prop_assert_eq!(theirs.as_bytes(), proof_bytes.as_slice());

        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i][byte] ^= 1;
            prop_assert!(verify_consistency(old, size, &r1, &r2, &bad).is_err());
        }
        let mut b1 = r1; b1[byte] ^= 1;
        prop_assert!(verify_consistency(old, size, &b1, &r2, &proof).is_err());
        let mut b2 = r2; b2[byte] ^= 1;
        prop_assert!(verify_consistency(old, size, &r1, &b2, &proof).is_err());
        if !proof.is_empty() {
            prop_assert!(verify_consistency(old, size, &r1, &r2, &proof[1..]).is_err());
        }
    }

    #[test]
    fn roots_agree_with_direct_mth(size in 0usize..300) {
        let (t, ct, entries) = trees(size);
        prop_assert_eq!(t.root(), mth(&entries));
        prop_assert_eq!(t.root(), root_from_leaf_hashes(t.leaf_hashes()));
        let ct_root = ct.root();
        let our_root = t.root();
        prop_assert_eq!(ct_root.as_bytes().as_slice(), our_root.as_slice());
        for n in 0..=size as u64 {
            prop_assert_eq!(t.root_at(n).unwrap(), mth(&entries[..n as usize]));
        }
    }
}

/// A node store as a map, recording which nodes were read.
#[derive(Default)]
struct MapStore {
    nodes: std::collections::BTreeMap<NodeId, Hash>,
    reads: std::cell::RefCell<Vec<NodeId>>,
}

impl HashReader for MapStore {
    fn node(&self, level: u8, index: u64) -> Result<Hash, HashReadError> {
        let id = NodeId::new(level, index);
        self.reads.borrow_mut().push(id);
        self.nodes
            .get(&id)
            .copied()
            .ok_or(HashReadError::Missing { level, index })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// A store fed only by `nodes_to_store`, batch after batch, holds exactly
    /// the nodes `MemoryTree` holds, so every proof it serves is the same.
    #[test]
    fn nodes_to_store_builds_the_full_node_store(batches in proptest::collection::vec(0usize..70, 1..12), seed in any::<u64>()) {
        let mut tree = MemoryTree::new();
        let mut store = MapStore::default();
        let mut n = 0u64;
        for batch in batches {
            let old = tree.size();
            let leaves: Vec<Hash> = (0..batch).map(|_| { n += 1; leaf_hash(&n.to_be_bytes()) }).collect();
            store.reads.borrow_mut().clear();
            let new_nodes = nodes_to_store(old, &leaves, &store).unwrap();
            // Only the old right edge is read.
            let edge = tree_hash_indices(old);
            for id in store.reads.borrow().iter() {
                prop_assert!(edge.contains(id), "read {id:?} outside the right edge of {old}");
            }
            for (id, h) in new_nodes {
                prop_assert!(store.nodes.insert(id, h).is_none(), "{id:?} stored twice");
            }
            for leaf in &leaves {
                tree.append_leaf_hash(*leaf);
            }
            let size = tree.size();
            // Exactly MemoryTree's nodes: level l has size >> l of them.
            let expected: usize = (0..64).map(|l| (size >> l) as usize).sum();
            prop_assert_eq!(store.nodes.len(), expected);
            for (id, h) in &store.nodes {
                prop_assert_eq!(&tree.node(id.level, id.index).unwrap(), h);
            }
            prop_assert_eq!(tree_hash(size, &store).unwrap(), tree.root());
            if size > 0 {
                let index = seed % size;
                prop_assert_eq!(inclusion_proof(index, size, &store).unwrap(), tree.inclusion_proof(index, size).unwrap());
                let from = seed % (size + 1);
                prop_assert_eq!(consistency_proof(from, size, &store).unwrap(), tree.consistency_proof(from, size).unwrap());
                prop_assert_eq!(consistency_proof(old, size, &store).unwrap(), tree.consistency_proof(old, size).unwrap());
            }
        }
    }
}

#[test]
fn nodes_to_store_reads_only_what_it_pairs_with() {
    let mut tree = MemoryTree::new();
    for i in 0..6u32 {
        tree.append(&i.to_le_bytes());
    }
    let store = MapStore {
        nodes: (0..=2u8)
            .flat_map(|l| (0..(6u64 >> l)).map(move |i| NodeId::new(l, i)))
            .map(|id| (id, tree.node(id.level, id.index).unwrap()))
            .collect(),
        reads: Default::default(),
    };
    // Size 6 = (2, 0) + (1, 2). One more leaf pairs with neither.
    let one = nodes_to_store(6, &[leaf_hash(b"6")], &store).unwrap();
    assert_eq!(one.len(), 1);
    assert!(store.reads.borrow().is_empty());
    // Two more close (1, 3), then (2, 1) and (3, 0): both edge nodes are read.
    let two = nodes_to_store(6, &[leaf_hash(b"6"), leaf_hash(b"7")], &store).unwrap();
    let ids: Vec<NodeId> = two.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        [
            NodeId::new(0, 6),
            NodeId::new(0, 7),
            NodeId::new(1, 3),
            NodeId::new(2, 1),
            NodeId::new(3, 0)
        ]
    );
    assert_eq!(
        *store.reads.borrow(),
        [NodeId::new(2, 0), NodeId::new(1, 2)]
    );
    // A missing edge node is reported by address.
    assert!(matches!(
        nodes_to_store(6, &[leaf_hash(b"6"), leaf_hash(b"7")], &MapStore::default()),
        Err(HashReadError::Missing { level: 2, index: 0 })
    ));
    assert!(nodes_to_store(6, &[], &store).unwrap().is_empty());
}
