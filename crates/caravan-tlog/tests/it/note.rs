//! C2SP signed-note: the spec's example byte for byte, key IDs and vkeys, and one specific
//! error per malformed note.

use caravan_tlog::cosignature::CosignatureVerifier;
use caravan_tlog::note::{
    self, Ed25519Signer, Ed25519Verifier, MAX_NOTE_SIZE, Note, NoteError, NoteSignature,
    NoteVerifier, VerifierList, key_id,
};

use crate::{json, vector};

fn list(v: impl NoteVerifier + 'static) -> VerifierList {
    VerifierList::new().with(v).unwrap()
}

#[test]
fn c2sp_signed_note_example_verifies_byte_for_byte() {
    let vkey = vector("c2sp-signed-note-example.vkey");
    let v = Ed25519Verifier::from_vkey(vkey.trim_end()).unwrap();
    assert_eq!(v.key_id(), 0x530d903a);
    assert_eq!(v.to_vkey(), vkey.trim_end());
    let bytes = vector("c2sp-signed-note-example.note");
    let verifiers = list(v);
    let opened = note::open(bytes.as_bytes(), &verifiers).unwrap();
    assert_eq!(opened.text, "This is an example message.\n");
    assert_eq!(opened.verified.len(), 1);
    assert_eq!(opened.verified[0].name, "example.com/foo");
    assert_eq!(
        Note::parse(bytes.as_bytes()).unwrap().to_bytes(),
        bytes.as_bytes()
    );
    // Every flipped byte fails.
    for i in 0..bytes.len() {
        let mut b = bytes.clone().into_bytes();
        b[i] ^= 1;
        assert!(note::open(&b, &verifiers).is_err(), "flip at {i} accepted");
    }
}

#[test]
fn c2sp_intro_note_parses_with_an_empty_line_in_its_text() {
    let bytes = vector("c2sp-signed-note-intro.note");
    let n = Note::parse(bytes.as_bytes()).unwrap();
    assert!(n.text.contains("\n\ned è subito sera.\n"));
    assert_eq!(n.signatures.len(), 1);
    assert_eq!(n.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(n.to_bytes(), bytes.as_bytes());
}

#[test]
fn go_sumdb_note_vectors() {
    let v = json("go-mod-sumdb-vectors.json");
    let s = |k: &str| v[k].as_str().unwrap().to_owned();
    let peter_v = Ed25519Verifier::from_vkey(&s("peter_vkey")).unwrap();
    let peter = Ed25519Signer::from_skey(&s("peter_skey")).unwrap();
    assert_eq!(peter.to_skey(), s("peter_skey"));
    assert_eq!(peter.verifier(), peter_v);
    let text = s("text");
    let signed = note::sign(&text, &[&peter]).unwrap();
    assert_eq!(signed.to_string(), s("want_signed_note"));

    // EnochRoot's key has the all-zero seed.
    let enoch = Ed25519Signer::from_seed("EnochRoot", &[0; 32]).unwrap();
    assert_eq!(enoch.verifier().to_vkey(), s("enoch_vkey"));
    let enoch_line = note::sign_text(&text, &enoch).unwrap().to_line();
    assert_eq!(enoch_line, s("enoch_sig_line"));

    let both = format!("{}{}", s("want_signed_note"), s("enoch_sig_line"));
    let verifiers = VerifierList::new()
        .with(peter_v.clone())
        .unwrap()
        .with(Ed25519Verifier::from_vkey(&s("enoch_vkey")).unwrap())
        .unwrap();
    let opened = note::open(both.as_bytes(), &verifiers).unwrap();
    assert_eq!(opened.verified.len(), 2);
    // With only Peter's key, Enoch's signature is ignored, not an error.
    let only_peter = list(peter_v);
    let opened = note::open(both.as_bytes(), &only_peter).unwrap();
    assert_eq!((opened.verified.len(), opened.unverified.len()), (1, 1));

    for bad in v["bad_vkeys"].as_array().unwrap() {
        assert!(
            Ed25519Verifier::from_vkey(bad.as_str().unwrap()).is_err(),
            "{bad}"
        );
    }
    let bad_name = format!("{text}\n{}\n", s("bad_name_sig_line"));
    assert!(Note::parse(bad_name.as_bytes()).is_err());
}

#[test]
fn go_skey_manglings_are_rejected() {
    let v = json("go-mod-sumdb-vectors.json");
    let skey = v["peter_skey"].as_str().unwrap();
    for bad in [
        skey.replacen("PRIVATE+KEY+", "PRIVATE+KEY", 1),
        skey.replacen("c74f20a3", "c74f20a4", 1),
        skey.replacen("c74f20a3", "C74F20A3", 1),
        skey.replacen("+AY", "+AZ", 1),
        format!("{skey}=="),
        skey.replacen("PeterNeumann", "Peter Neumann", 1),
        skey.replacen("PRIVATE", "PUBLIC", 1),
    ] {
        assert!(Ed25519Signer::from_skey(&bad).is_err(), "{bad}");
    }
    let vkey = v["peter_vkey"].as_str().unwrap();
    assert_eq!(
        Ed25519Verifier::from_vkey(&vkey.replacen("c74f20a3", "c74f20a4", 1)),
        Err(NoteError::KeyIdMismatch)
    );
}

#[test]
fn transparency_dev_vkeys() {
    let v = json("transparency-dev-formats-cosig-vectors.json");
    for case in v["vkeys"].as_array().unwrap() {
        let vkey = case["vkey"].as_str().unwrap();
        let ok = case["want_ok"].as_bool().unwrap();
        let parsed = match case["type"].as_u64() {
            Some(1) => Ed25519Verifier::from_vkey(vkey).is_ok(),
            Some(4) => CosignatureVerifier::from_vkey(vkey).is_ok(),
            _ => {
                Ed25519Verifier::from_vkey(vkey).is_ok()
                    || CosignatureVerifier::from_vkey(vkey).is_ok()
            }
        };
        assert_eq!(parsed, ok, "{vkey}");
    }
}

fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed("example.com/log", &[9; 32]).unwrap()
}

fn signed(text: &str) -> String {
    note::sign(text, &[&signer()]).unwrap().to_string()
}

#[track_caller]
fn rejects(note_text: &str, want: NoteError) {
    let vl = list(signer().verifier());
    assert_eq!(
        note::open(note_text.as_bytes(), &vl),
        Err(want),
        "{note_text:?}"
    );
}

#[test]
fn strict_parsing_names_each_reason() {
    let good = signed("hello\n");
    let line = good.lines().last().unwrap().to_owned();
    let sig_b64 = line.rsplit(' ').next().unwrap().to_owned();
    let name = "example.com/log".to_owned();
    let id = signer().verifier().key_id();

    assert_eq!(
        note::open(good.as_bytes(), &list(signer().verifier()))
            .unwrap()
            .text,
        "hello\n"
    );
    rejects(
        &good.replace("hello", "he\tlo"),
        NoteError::ControlCharacter(9),
    );
    rejects(
        &good.replace("hello", "he\u{7f}lo"),
        NoteError::ControlCharacter(0x7f),
    );
    rejects(
        &good.replace("hello", "he\rlo"),
        NoteError::ControlCharacter(13),
    );
    rejects(good.trim_end(), NoteError::MissingFinalNewline);
    rejects(&good.replacen("\n\n", "\n", 1), NoteError::MissingSeparator);
    rejects("hello\n\n", NoteError::NoSignatures);
    rejects(
        &good.replace('\u{2014}', "-"),
        NoteError::MalformedSignatureLine(1),
    );
    rejects(
        &good.replace(&format!("{name} "), &format!("{name}  ")),
        NoteError::MalformedSignatureLine(1),
    );
    rejects(
        &good.replace(&format!("{name} "), "a+b "),
        NoteError::InvalidKeyName("a+b".into()),
    );
    rejects(
        &format!("hello\n\n\u{2014}  {sig_b64}\n"),
        NoteError::InvalidKeyName(String::new()),
    );
    rejects(
        &format!("{good}{line}\n"),
        NoteError::DuplicateSignature {
            name: name.clone(),
            key_id: id,
        },
    );
    rejects(
        &format!("hello\n\n\u{2014} {name} DEAD\n"),
        NoteError::SignatureTooShort,
    );
    rejects(
        &format!("hello\n\n\u{2014} {name} DEADB\n"),
        NoteError::BadBase64,
    );
    // Non-canonical base64: same bytes, different trailing bits / padding.
    rejects(
        &format!("hello\n\n\u{2014} {name} AAAAAAB=\n"),
        NoteError::BadBase64,
    );
    rejects(
        &format!("hello\n\n\u{2014} {name} AAAAAAA\n"),
        NoteError::BadBase64,
    );
    let mut short = NoteSignature::parse_line(&line).unwrap();
    short.signature.pop();
    rejects(
        &format!("hello\n\n{}", short.to_line()),
        NoteError::SignatureWrongLength {
            name: name.clone(),
            key_id: id,
        },
    );
    let mut flipped = NoteSignature::parse_line(&line).unwrap();
    flipped.signature[0] ^= 1;
    rejects(
        &format!("hello\n\n{}", flipped.to_line()),
        NoteError::InvalidSignature {
            name: name.clone(),
            key_id: id,
        },
    );
    let other = Ed25519Signer::from_seed("example.com/other", &[1; 32]).unwrap();
    rejects(
        &note::sign("hello\n", &[&other]).unwrap().to_string(),
        NoteError::NoKnownSignature,
    );
    assert_eq!(Note::parse(&[0xff, b'\n']), Err(NoteError::NotUtf8));
    let huge = "a".repeat(MAX_NOTE_SIZE);
    assert_eq!(
        Note::parse(huge.as_bytes()),
        Err(NoteError::MissingFinalNewline)
    );
    let bigger = "a".repeat(MAX_NOTE_SIZE + 1);
    assert_eq!(
        Note::parse(bigger.as_bytes()),
        Err(NoteError::TooLarge(MAX_NOTE_SIZE + 1))
    );
}

#[test]
fn signature_count_limits() {
    // The spec requires accepting at least 16 signatures; we cap at 100.
    let mut text = signed("hello\n");
    for i in 0..16u8 {
        let s = Ed25519Signer::from_seed(&format!("w{i}.example"), &[i; 32]).unwrap();
        text.push_str(&note::sign_text("hello\n", &s).unwrap().to_line());
    }
    let opened = note::open(text.as_bytes(), &list(signer().verifier())).unwrap();
    assert_eq!(opened.unverified.len(), 16);
    let mut many = signed("hello\n");
    for i in 0..100u32 {
        let sig = NoteSignature {
            name: format!("n{i}"),
            key_id: i,
            signature: vec![1],
        };
        many.push_str(&sig.to_line());
    }
    assert_eq!(
        Note::parse(many.as_bytes()),
        Err(NoteError::TooManySignatures)
    );
}

#[test]
fn verifier_list_dedupes_and_refuses_collisions() {
    let mut vl = VerifierList::new();
    vl.push(signer().verifier()).unwrap();
    vl.push(signer().verifier()).unwrap();
    assert_eq!(vl.len(), 1);
    // A different key cannot share a name and key ID by accident, so forge
    // the collision with a test verifier.
    #[derive(Debug)]
    struct Fake(u32);
    impl NoteVerifier for Fake {
        fn name(&self) -> &str {
            "example.com/log"
        }
        fn key_id(&self) -> u32 {
            self.0
        }
        fn alg(&self) -> u8 {
            1
        }
        fn public_key(&self) -> &[u8] {
            &[0; 32]
        }
        fn verify(&self, _: &[u8], _: &[u8]) -> Result<Option<u64>, note::SignatureFault> {
            Err(note::SignatureFault::Invalid)
        }
    }
    let id = signer().verifier().key_id();
    assert_eq!(
        vl.push(Fake(id)),
        Err(NoteError::AmbiguousKey {
            name: "example.com/log".into(),
            key_id: id
        })
    );
    assert_ne!(key_id("example.com/foo", 1, &[0; 32]), id);
}

#[test]
fn signing_refuses_bad_text() {
    assert_eq!(
        note::sign("no newline", &[&signer()]),
        Err(NoteError::MissingFinalNewline)
    );
    assert_eq!(
        note::sign("a\u{0}\n", &[&signer()]),
        Err(NoteError::ControlCharacter(0))
    );
    assert_eq!(note::sign("a\n", &[]), Err(NoteError::NoSignatures));
    assert!(Ed25519Signer::from_seed("has space", &[0; 32]).is_err());
    assert!(Ed25519Signer::from_seed("", &[0; 32]).is_err());
}
