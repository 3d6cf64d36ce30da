//! Writes the envelope fuzz targets' seed inputs: a valid sealed message, a valid receipt
//! and a valid signed error, under the fixed keys the fuzz targets use. Coverage-guided
//! fuzzing then starts past the CBOR, COSE and HPKE layers instead of rediscovering them.
//!
//! `cargo run -p caravan-envelope --example fuzz_seeds -- fuzz/seeds`

use std::path::PathBuf;

use caravan_envelope::receipt::ReceiptLog;
use caravan_envelope::{
    Compression, EncryptionSecretKey, EnvelopeError, LogSalts, MessageSigningKey, Outcome, Part,
    PartDigest, ReceiptBody, SignedError, seal_with_ephemeral, sign_error, sign_receipt,
};
use support::demo_header;

#[path = "support/demo_header.rs"]
mod support;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/seeds".into()),
    );
    // The same seeds as the fuzz targets: sender signing [1; 32], recipient encryption
    // [4; 32], receiver signing [3; 32].
    let sender = MessageSigningKey::from_bytes(&[1; 32]);
    let recipient = EncryptionSecretKey::from_bytes(&[4; 32]);
    let receiver = MessageSigningKey::from_bytes(&[3; 32]);
    let mut header = demo_header(&recipient);
    header.ref_to = Some("0190f6c2-7d1e-7000-8000-000000000000@caravan.cbp.example".into());
    header.expires_at = Some(1_790_000_600_000);
    let parts = [
        Part {
            part_id: "body",
            media_type: "application/json",
            compression: Compression::None,
            body: br#"{"lrn":"UZ-EX-1"}"#,
        },
        Part {
            part_id: "note",
            media_type: "text/plain",
            compression: Compression::Gzip,
            body: b"",
        },
    ];
    let ephemeral = EncryptionSecretKey::from_bytes(&[5; 32]);
    let sealed = seal_with_ephemeral(
        &header,
        &parts,
        &sender,
        &recipient.public_key(),
        &ephemeral,
    )?;
    for target in ["envelope_wire_decode", "envelope_open"] {
        std::fs::create_dir_all(root.join(target))?;
        std::fs::write(root.join(target).join("sealed.cbor"), &sealed.wire)?;
    }
    let receipt = ReceiptBody {
        receipt_id: "r-1@caravan.cbp.example".into(),
        ref_to: header.message_id.clone(),
        from: header.to.clone(),
        to: header.from.clone(),
        received_at: 1_790_000_000_040,
        hdr_sha256: sealed.hdr_sha256,
        sig_sha256: sealed.sig_sha256,
        parts: sealed
            .manifest
            .parts
            .iter()
            .map(|p| PartDigest { part_id: p.part_id.clone(), sha256: p.sha256 })
            .collect(),
        outcome: Outcome::Accepted,
        log: ReceiptLog {
            origin: "caravan.cbp.example/us-uz-cmaa-2024".into(),
            index: 0,
            entry: vec![0xa0],
            salts: LogSalts { hdr: [1; 32], sig: [2; 32], parts: vec![[3; 32], [4; 32]] },
        },
        proof: "c2sp.org/tlog-proof@v1\nindex 0\n\ncaravan.cbp.example/us-uz-cmaa-2024\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n".into(),
    };
    let error = SignedError::from_error(&header.message_id, &EnvelopeError::DecryptionFailed);
    let dir = root.join("envelope_receipt_verify");
    std::fs::create_dir_all(&dir)?;
    // The target's first byte picks the mode: 0 verifies signed bytes, 1 signs the rest
    // as a receipt payload first (so the decoder behind the signature is reached).
    let mut signed = vec![0u8];
    signed.extend_from_slice(&sign_receipt(&receipt, &receiver));
    std::fs::write(dir.join("receipt.cose"), signed)?;
    let mut signed = vec![0u8];
    signed.extend_from_slice(&sign_error(&error, &receiver));
    std::fs::write(dir.join("error.cose"), signed)?;
    let payload = caravan_envelope::cose::Sign1::parse(
        &sign_receipt(&receipt, &receiver),
        caravan_envelope::cose::CONTENT_TYPE_RECEIPT,
    )?
    .payload;
    let mut raw = vec![1u8];
    raw.extend_from_slice(&payload);
    std::fs::write(dir.join("receipt_payload.cbor"), raw)?;
    println!("seeds written under {}", root.display());
    Ok(())
}
