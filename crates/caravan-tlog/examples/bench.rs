//! Micro-benchmarks for caravan-tlog: `cargo run --release -p caravan-tlog --example bench`.
//!
//! Plain `std::time::Instant`, median of 5 runs, so it needs no harness and
//! runs anywhere the crate builds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use caravan_tlog::checkpoint::Checkpoint;
use caravan_tlog::cosignature::CosignatureSigner;
use caravan_tlog::note::{Ed25519Signer, VerifierList};
use caravan_tlog::proof::{Leaf, ProofPolicy, TlogProof, verify_offline};
use caravan_tlog::rfc6962::{MemoryTree, consistency_proof_len, inclusion_proof_len, leaf_hash};

const SIZE: u64 = 10_000_000;

fn median<F: FnMut() -> u64>(mut f: F) -> (Duration, u64) {
    let mut runs: Vec<(Duration, u64)> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let n = f();
            (t.elapsed(), n)
        })
        .collect();
    runs.sort();
    runs[2]
}

/// A small deterministic generator so runs are comparable.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let entry = [0x5au8; 300];
    let (d, n) = median(|| {
        for i in 0..200_000u64 {
            black_box(leaf_hash(black_box(&entry[..(100 + (i % 200) as usize)])));
        }
        200_000
    });
    println!(
        "leaf hashing (100-300 B entries): {:.2} M leaves/s",
        n as f64 / d.as_secs_f64() / 1e6
    );

    let t = Instant::now();
    let mut tree = MemoryTree::new();
    for i in 0..SIZE {
        tree.append(&i.to_be_bytes());
    }
    println!(
        "built MemoryTree of {SIZE} leaves in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let mut x = 0x9e3779b97f4a7c15u64;
    let (d, n) = median(|| {
        for _ in 0..200_000 {
            let i = next(&mut x) % SIZE;
            black_box(tree.inclusion_proof(i, SIZE).map(|p| p.len()).unwrap_or(0));
        }
        200_000
    });
    println!(
        "inclusion proofs at n=10^7: {:.0} proofs/s (target >= 50,000)",
        n as f64 / d.as_secs_f64()
    );

    // The same measurement on ct-merkle, an independent implementation, in the same run
    // (its memory-backed tree at n = 10^6, as it keeps every leaf value too).
    {
        const PEER_SIZE: u64 = 1_000_000;
        let mut peer =
            ct_merkle::mem_backed_tree::MemoryBackedTree::<sha2_011::Sha256, Vec<u8>>::new();
        for i in 0..PEER_SIZE {
            peer.push(i.to_be_bytes().to_vec());
        }
        let mut ours = MemoryTree::new();
        for i in 0..PEER_SIZE {
            ours.append(&i.to_be_bytes());
        }
        let (d_peer, n_peer) = median(|| {
            for _ in 0..100_000 {
                let i = next(&mut x) % PEER_SIZE;
                black_box(peer.prove_inclusion(i as usize));
            }
            100_000
        });
        let (d_ours, n_ours) = median(|| {
            for _ in 0..100_000 {
                let i = next(&mut x) % PEER_SIZE;
                black_box(
                    ours.inclusion_proof(i, PEER_SIZE)
                        .map(|p| p.len())
                        .unwrap_or(0),
                );
            }
            100_000
        });
        let (peer_rate, ours_rate) = (
            n_peer as f64 / d_peer.as_secs_f64(),
            n_ours as f64 / d_ours.as_secs_f64(),
        );
        println!(
            "inclusion proofs at n=10^6: caravan-tlog {ours_rate:.0}/s, ct-merkle {peer_rate:.0}/s (ratio {:.2})",
            ours_rate / peer_rate
        );
    }

    let (d, n) = median(|| {
        for _ in 0..100_000 {
            let old = 1 + next(&mut x) % (SIZE - 1);
            black_box(
                tree.consistency_proof(old, SIZE)
                    .map(|p| p.len())
                    .unwrap_or(0),
            );
        }
        100_000
    });
    println!(
        "consistency proofs to n=10^7: {:.0} proofs/s",
        n as f64 / d.as_secs_f64()
    );

    let origin = "caravan.example/bench";
    let log = Ed25519Signer::from_seed(origin, &[1; 32])?;
    let witness = CosignatureSigner::from_seed("witness.example/w1", &[2; 32])?;
    let mut signed = Checkpoint::new(origin, SIZE, tree.root()).sign(&[&log])?;
    let text = signed.note.text.clone();
    signed.add_signatures([witness.cosign(&text, 1_750_000_000)?]);
    let index = 4_817_731;
    let proof = TlogProof::new(index, tree.inclusion_proof(index, SIZE)?, &signed).encode();
    let logs = VerifierList::new().with(log.verifier())?;
    let wl = VerifierList::new().with(witness.verifier())?;
    let policy = ProofPolicy {
        origin,
        log_verifiers: &logs,
        witness_verifiers: &wl,
        min_witnesses: 1,
    };
    let entry = index.to_be_bytes();
    let (d, n) = median(|| {
        for _ in 0..2_000 {
            black_box(verify_offline(proof.as_bytes(), Leaf::Data(&entry), &policy).is_ok());
        }
        2_000
    });
    println!(
        "tlog-proof offline verification (1 log sig + 1 cosig): {:.1} us/proof; proof text {} bytes",
        d.as_secs_f64() * 1e6 / n as f64,
        proof.len()
    );

    println!("proof sizes (hashes) vs ceil(log2 n):");
    for n in [1_000u64, 1_000_000, 10_000_000, 1_000_000_000] {
        let ceil = 64 - (n - 1).leading_zeros();
        let incl = (0..n)
            .step_by((n / 4099).max(1) as usize)
            .chain([n - 1])
            .map(|i| inclusion_proof_len(i, n).unwrap_or(0))
            .max()
            .unwrap_or(0);
        let cons = (1..n)
            .step_by((n / 4099).max(1) as usize)
            .chain([n - 1])
            .map(|m| consistency_proof_len(m, n).unwrap_or(0))
            .max()
            .unwrap_or(0);
        println!(
            "  n={n:>13}: ceil(log2 n)={ceil:>2}  inclusion max {incl:>2} = {:>4} B  consistency max {cons:>2} = {:>4} B",
            incl * 32,
            cons * 32
        );
    }
    Ok(())
}
