//! Fuzz the part-upload path (spec §7) as the receiver decodes it: the segment address
//! `PUT /caravan/v1/parts/{part_ref}/{n}` and the uploaded ciphertext segments of a
//! detached part, opened against the key and manifest of a real sealed message.
//!
//! Why: the segments arrive before the message that authenticates them, from a network
//! peer, and are decrypted segment by segment; a panic is a remote crash and an
//! accepted forgery is a tampered evidence file. The invariants: an address parses only
//! when it is the one canonical hex form; the segments open only when they are exactly
//! the sealed ciphertext, and then yield exactly the sealed plaintext; anything else is
//! refused with a stable code. Input: the first byte picks the mode — 0 treats the rest
//! as `part_ref/n` text, odd XORs the rest onto the real ciphertext (near-valid
//! streams: flipped tags, flags, counters), even replaces the ciphertext with the rest
//! (truncated, extended or foreign streams).
#![no_main]
use std::sync::OnceLock;

use caravan_envelope::stream::parse_part_ref;
use caravan_envelope::{
    Compression, DetachedPart, EncryptionSecretKey, Header, Limits, MessageSigningKey, Party,
    Sealer, WireView, open,
};
use libfuzzer_sys::fuzz_target;

/// A message with one detached part, sealed with fixed keys; what the receiver holds
/// when the segments are claimed. The part is one short final segment: a 1 MiB segment
/// would make each run a millisecond of AES (libFuzzer's inputs are a few KiB, so every
/// replacement stream is one segment anyway); the segment counter and last-segment flag
/// are still in every nonce.
struct Fixture {
    part: DetachedPart,
    ciphertext: Vec<u8>,
    plaintext: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let signer = MessageSigningKey::from_bytes(&[1; 32]);
        let recipient = EncryptionSecretKey::from_bytes(&[4; 32]);
        let header = Header {
            message_id: "0190f6c2-7d1e-7000-8000-000000000001@fuzz".into(),
            conversation_id: "c".into(),
            ref_to: None,
            from: Party::new("caravan:admin", "UZ-CUSTOMS"),
            to: Party::new("caravan:admin", "US-CBP"),
            role: "administration".into(),
            service: "caravan:cmaa/v1".into(),
            action: "Evidence.Package".into(),
            agreement_id: "us-uz-cmaa-2024".into(),
            profile_id: "us-uz-cmaa-2024/v1".into(),
            created_at: 1_800_000_000_000,
            expires_at: None,
            enc_kid: recipient.kid(),
        };
        let ephemeral = EncryptionSecretKey::from_bytes(&[9; 32]);
        let mut sealer =
            Sealer::with_ephemeral(&header, &recipient.public_key(), &ephemeral).expect("sealer");
        let plaintext: Vec<u8> = (0..300).map(|i| (i % 251) as u8).collect();
        let mut ciphertext = Vec::new();
        sealer
            .add_streamed(
                "evidence",
                "application/octet-stream",
                Compression::None,
                plaintext.as_slice(),
                &mut ciphertext,
            )
            .expect("seal part");
        let sealed = sealer.finish(&signer).expect("seal");
        let view = WireView::decode(&sealed.wire, &Limits::default()).expect("decode");
        let opened = open(&view, &recipient, &signer.verifying_key()).expect("open");
        Fixture {
            part: opened
                .detached
                .into_iter()
                .next()
                .expect("one detached part"),
            ciphertext,
            plaintext,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    if *mode == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let (part_ref, n) = text.split_once('/').unwrap_or((text, ""));
        if let Some(bytes) = parse_part_ref(part_ref) {
            let canonical: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(canonical, part_ref, "one part has one address");
        }
        let _ = n.parse::<u64>();
        return;
    }
    let candidate = if mode % 2 == 1 {
        let mut c = f.ciphertext.clone();
        // Spread the XOR over the stream: the first half of the input over the whole
        // ciphertext, the second half onto its end (the tag).
        let half = rest.len() / 2;
        for (i, b) in rest[..half].iter().enumerate() {
            c[i * 97 % f.ciphertext.len()] ^= b;
        }
        let tail = c.len().saturating_sub(rest.len() - half);
        for (i, b) in rest[half..].iter().enumerate() {
            if let Some(x) = c.get_mut(tail + i) {
                *x ^= b;
            }
        }
        c
    } else {
        rest.to_vec()
    };
    let mut out = Vec::new();
    match f.part.open(candidate.as_slice(), &mut out) {
        Ok(summary) => {
            assert_eq!(candidate, f.ciphertext, "only the sealed bytes open");
            assert_eq!(out, f.plaintext);
            assert_eq!(summary.ct_len, f.ciphertext.len() as u64);
        }
        Err(e) => assert!(!e.code().is_empty()),
    }
});
