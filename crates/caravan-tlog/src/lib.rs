//! A pure transparency-log library: RFC 6962/9162 Merkle trees and proofs,
//! and the C2SP formats built on them (signed-note, tlog-checkpoint,
//! tlog-tiles, tlog-cosignature, tlog-witness, tlog-proof).
//!
//! The crate does no IO, spawns nothing and knows no database: storage plugs
//! in through [`rfc6962::HashReader`], keys through [`note::NoteVerifier`] and
//! [`note::NoteSigner`]. That keeps every rule of the standards testable as a
//! pure function and lets stock tools (Go's `sumdb/note`, `transparency-dev`
//! verifiers) check what it produces.
//!
//! # Example
//!
//! Append entries, sign a checkpoint, prove an entry's inclusion and verify
//! the proof offline:
//!
//! ```
//! use caravan_tlog::checkpoint::Checkpoint;
//! use caravan_tlog::note::{Ed25519Signer, VerifierList};
//! use caravan_tlog::proof::{Leaf, ProofPolicy, TlogProof, verify_offline};
//! use caravan_tlog::rfc6962::MemoryTree;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut tree = MemoryTree::new();
//! for i in 0..10u32 {
//!     tree.append(format!("entry {i}").as_bytes());
//! }
//!
//! let origin = "caravan.example/log";
//! let log_key = Ed25519Signer::from_seed(origin, &[7; 32])?;
//! let signed = Checkpoint::new(origin, tree.size(), tree.root()).sign(&[&log_key])?;
//!
//! let proof = TlogProof::new(3, tree.inclusion_proof(3, tree.size())?, &signed);
//! let text = proof.encode();
//!
//! let logs = VerifierList::new().with(log_key.verifier())?;
//! let witnesses = VerifierList::new();
//! let policy = ProofPolicy {
//!     origin,
//!     log_verifiers: &logs,
//!     witness_verifiers: &witnesses,
//!     min_witnesses: 0,
//! };
//! let verdict = verify_offline(text.as_bytes(), Leaf::Data(b"entry 3"), &policy)?;
//! assert_eq!(verdict.index, 3);
//! assert!(verdict.to_string().starts_with("Entry 3 of log caravan.example/log"));
//! # Ok(())
//! # }
//! ```

pub mod checkpoint;
pub mod cosignature;
pub mod fsck;
pub mod note;
pub mod proof;
pub mod rfc6962;
pub mod tiles;
pub mod witness;

pub use rfc6962::Hash;
