//! C2SP tlog-checkpoint: the spec's example and real sumdb/sigsum checkpoints, strict
//! parsing and exact serialisation.

use caravan_tlog::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use caravan_tlog::cosignature::CosignatureSigner;
use caravan_tlog::note::{self, Ed25519Signer, Ed25519Verifier, NoteError, VerifierList};
use caravan_tlog::rfc6962::leaf_hash;

use crate::{json, unhex, vector};

#[test]
fn c2sp_checkpoint_example_parses_and_reserialises() {
    let bytes = vector("c2sp-tlog-checkpoint-example.note");
    let cp = SignedCheckpoint::parse(bytes.as_bytes()).unwrap();
    assert_eq!(cp.checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.checkpoint.size, 20852163);
    assert!(cp.checkpoint.extensions.is_empty());
    assert_eq!(cp.checkpoint.to_text(), cp.note.text);
    assert_eq!(cp.to_bytes(), bytes.as_bytes());
}

#[test]
fn go_tlog_tree_note() {
    let v = json("go-mod-sumdb-vectors.json");
    let text = v["tlog_tree_note"].as_str().unwrap();
    let cp = Checkpoint::parse(text).unwrap();
    assert_eq!(cp.size, v["tlog_tree_note_size"].as_u64().unwrap());
    assert_eq!(
        cp.root,
        leaf_hash(v["tlog_tree_note_record"].as_str().unwrap().as_bytes())
    );
    assert_eq!(cp.to_text(), text);
}

fn seed17() -> [u8; 32] {
    let v = json("sigsum-go-checkpoint-vectors.json");
    unhex(v["signer_seed_hex"].as_str().unwrap())
        .try_into()
        .unwrap()
}

#[test]
fn sigsum_sum_golang_org_checkpoint_verifies() {
    let v = json("sigsum-go-checkpoint-vectors.json");
    let vl = VerifierList::new()
        .with(Ed25519Verifier::from_vkey(v["sumdb_vkey"].as_str().unwrap()).unwrap())
        .unwrap();
    let (cp, opened) =
        SignedCheckpoint::open(v["sumdb_checkpoint_note"].as_str().unwrap().as_bytes(), &vl)
            .unwrap();
    assert_eq!(cp.checkpoint.origin, v["sumdb_origin"].as_str().unwrap());
    assert_eq!(cp.checkpoint.size, 30055305);
    assert_eq!(opened.verified[0].name, "sum.golang.org");
}

#[test]
fn sigsum_seed17_checkpoint_verifies_and_is_reproduced() {
    let v = json("sigsum-go-checkpoint-vectors.json");
    let want = v["valid_checkpoint_note"].as_str().unwrap();
    let parsed = SignedCheckpoint::parse(want.as_bytes()).unwrap();
    let origin = parsed.checkpoint.origin.clone();
    let signer = Ed25519Signer::from_seed(&origin, &seed17()).unwrap();
    let vl = VerifierList::new().with(signer.verifier()).unwrap();
    SignedCheckpoint::open(want.as_bytes(), &vl).unwrap();
    let resigned = parsed.checkpoint.sign(&[&signer]).unwrap();
    assert_eq!(resigned.to_bytes(), want.as_bytes());
}

#[test]
fn sigsum_alien_signature_lines() {
    let v = json("sigsum-go-checkpoint-vectors.json");
    let base = v["test_checkpoint_note"].as_str().unwrap();
    let alien = &v["alien_sig_lines"];
    let with = |k: &str| format!("{base}{}\n", alien[k].as_str().unwrap());
    // Decodes to fewer than 5 bytes: malformed (as Go's note package).
    assert!(matches!(
        SignedCheckpoint::parse(with("alien").as_bytes()),
        Err(CheckpointError::Note(NoteError::SignatureTooShort))
    ));
    assert!(matches!(
        SignedCheckpoint::parse(with("bad").as_bytes()),
        Err(CheckpointError::Note(NoteError::BadBase64))
    ));
    let ok = SignedCheckpoint::parse(with("example").as_bytes()).unwrap();
    assert_eq!(ok.note.signatures.len(), 2);
}

#[test]
fn sigsum_cosignature_lines() {
    let v = json("sigsum-go-checkpoint-vectors.json");
    let base = v["test_checkpoint_note"].as_str().unwrap();
    let name = v["cosignature_name"].as_str().unwrap();
    let witness = CosignatureSigner::from_seed(name, &seed17()).unwrap();
    let vl = VerifierList::new().with(witness.verifier()).unwrap();
    let lines: Vec<&str> = v["cosignature_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let open = |line: &str| SignedCheckpoint::open(format!("{base}{line}\n").as_bytes(), &vl);
    // Line 2 is the real cosignature at time 1234.
    let (_, opened) = open(lines[1]).unwrap();
    assert_eq!(
        opened.verified[0].timestamp,
        v["cosignature_timestamp"].as_u64()
    );
    // And we reproduce it exactly.
    let text = SignedCheckpoint::parse(base.as_bytes()).unwrap().note.text;
    assert_eq!(
        witness.cosign(&text, 1234).unwrap().to_line(),
        format!("{}\n", lines[1])
    );
    // Lines 1 and 3 are from other keys: ignored, so nothing verifies.
    for l in [lines[0], lines[2]] {
        assert!(matches!(
            open(l),
            Err(CheckpointError::Note(NoteError::NoKnownSignature))
        ));
    }
    // Line 4 matches the key but has the wrong size: the note is rejected.
    assert!(matches!(
        open(lines[3]),
        Err(CheckpointError::Note(
            NoteError::SignatureWrongLength { .. }
        ))
    ));
}

#[test]
fn strict_checkpoint_parsing() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let ok = format!("o\n5\n{root}\n");
    assert!(Checkpoint::parse(&ok).is_ok());
    for (text, want) in [
        (
            format!("o\n05\n{root}\n"),
            CheckpointError::BadSize("05".into()),
        ),
        (
            format!("o\n-5\n{root}\n"),
            CheckpointError::BadSize("-5".into()),
        ),
        (
            format!("o\n+5\n{root}\n"),
            CheckpointError::BadSize("+5".into()),
        ),
        (
            format!("o\n18446744073709551616\n{root}\n"),
            CheckpointError::BadSize("18446744073709551616".into()),
        ),
        (
            format!("o\n\n{root}\n"),
            CheckpointError::BadSize(String::new()),
        ),
        (format!("\n5\n{root}\n"), CheckpointError::EmptyOrigin),
        ("o\n5\nAAAA\n".to_owned(), CheckpointError::BadRootHash),
        (
            format!("o\n5\n{}\n", root.replace("I=", "J=")),
            CheckpointError::BadRootHash,
        ),
        (format!("o\n5\n{root}\n\n"), CheckpointError::EmptyExtension),
        (format!("o\n5\n{root}"), CheckpointError::TooFewLines),
        ("o\n5\n".to_owned(), CheckpointError::TooFewLines),
    ] {
        assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
    }
    assert_eq!(
        Checkpoint::parse("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
            .unwrap()
            .size,
        0
    );
    let ext = format!("o\n5\n{root}\nextension one\nx\n");
    let cp = Checkpoint::parse(&ext).unwrap();
    assert_eq!(cp.extensions, vec!["extension one", "x"]);
    assert_eq!(cp.to_text(), ext);
}

#[test]
fn sign_and_open_round_trip_with_cosignature() {
    let log = Ed25519Signer::from_seed("caravan.example/log", &[1; 32]).unwrap();
    let w = CosignatureSigner::from_seed("caravan.example/witness", &[2; 32]).unwrap();
    let cp = Checkpoint::new("caravan.example/log", 42, [7; 32]);
    let mut signed = cp.sign(&[&log]).unwrap();
    signed.add_signatures([w.cosign(&signed.note.text, 1_700_000_000).unwrap()]);
    let bytes = signed.to_bytes();
    let vl = VerifierList::new()
        .with(log.verifier())
        .unwrap()
        .with(w.verifier())
        .unwrap();
    let (back, opened) = SignedCheckpoint::open(&bytes, &vl).unwrap();
    assert_eq!(back.checkpoint, cp);
    assert_eq!(opened.verified.len(), 2);
    assert_eq!(opened.verified[1].timestamp, Some(1_700_000_000));
    // The same note, signed through the generic NoteSigner interface.
    let via_note = note::sign(&cp.to_text(), &[&log, &w.at(1_700_000_000)]).unwrap();
    assert_eq!(via_note.to_bytes(), bytes);
}
