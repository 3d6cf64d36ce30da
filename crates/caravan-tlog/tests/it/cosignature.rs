//! C2SP tlog-cosignature v1: the spec's message and signature byte for byte, and the
//! transparency-dev vectors.

use caravan_tlog::checkpoint::SignedCheckpoint;
use caravan_tlog::cosignature::{
    CosignatureError, CosignatureSigner, MAX_TIMESTAMP, message, parse_cosignature_base64,
    parse_cosignature_bytes,
};
use caravan_tlog::note::{self, NoteVerifier, VerifierList};

use crate::{json, vector};

#[test]
fn c2sp_cosignature_example_message_and_timestamp() {
    let bytes = vector("c2sp-tlog-cosignature-example.note");
    let cp = SignedCheckpoint::parse(bytes.as_bytes()).unwrap();
    let w = cp
        .note
        .signatures
        .iter()
        .find(|s| s.name == "witness.example.com/w1")
        .unwrap();
    let mut raw = w.key_id.to_be_bytes().to_vec();
    raw.extend_from_slice(&w.signature);
    let (_, ts, _) = parse_cosignature_bytes(&raw).unwrap();
    assert_eq!(ts, 1679315147);
    let want = vector("c2sp-tlog-cosignature-message.txt");
    assert_eq!(message(ts, &cp.note.text), want.as_bytes());
    assert_eq!(cp.to_bytes(), bytes.as_bytes());
}

#[test]
fn transparency_dev_cosignature_timestamps() {
    let v = json("transparency-dev-formats-cosig-vectors.json");
    for case in v["cosignature_timestamps"].as_array().unwrap() {
        let got = parse_cosignature_base64(case["b64"].as_str().unwrap());
        match case["want_time"].as_u64() {
            Some(t) => assert_eq!(got.unwrap().1, t),
            None => assert!(got.is_err(), "{case}"),
        }
    }
    assert!(matches!(
        parse_cosignature_base64("5%/$!\n 2"),
        Err(CosignatureError::BadBase64)
    ));
}

#[test]
fn transparency_dev_cosign_round_trip() {
    let v = json("transparency-dev-formats-cosig-vectors.json");
    let text = v["cosign_roundtrip_text"].as_str().unwrap();
    let w = CosignatureSigner::from_seed("witness.example/w", &[5; 32]).unwrap();
    let sig = w.cosign(text, 1727964367).unwrap();
    assert_eq!(4 + sig.signature.len(), 76);
    assert_eq!(
        sig.to_line().len(),
        "\u{2014} witness.example/w \n".len() + 104
    );
    let n = format!("{text}\n{}", sig.to_line());
    let vl = VerifierList::new().with(w.verifier()).unwrap();
    let opened = note::open(n.as_bytes(), &vl).unwrap();
    assert_eq!(opened.verified[0].timestamp, Some(1727964367));
    // A different time in the message fails.
    let mut forged = sig.clone();
    forged.signature[7] ^= 1;
    assert!(note::open(format!("{text}\n{}", forged.to_line()).as_bytes(), &vl).is_err());
    assert_eq!(w.verifier().alg(), 4);
    assert_eq!(
        caravan_tlog::cosignature::CosignatureVerifier::from_vkey(&w.verifier().to_vkey()).unwrap(),
        w.verifier()
    );
}

#[test]
fn timestamps_above_2_pow_63_are_refused() {
    let w = CosignatureSigner::from_seed("w", &[5; 32]).unwrap();
    assert!(
        w.cosign(
            "a\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            MAX_TIMESTAMP
        )
        .is_ok()
    );
    assert!(w.cosign("a\n", MAX_TIMESTAMP + 1).is_err());
    let mut raw = vec![0u8; 76];
    raw[4] = 0x80;
    assert_eq!(
        parse_cosignature_bytes(&raw),
        Err(CosignatureError::TimestampOutOfRange(1 << 63))
    );
}
