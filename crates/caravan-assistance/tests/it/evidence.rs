//! Evidence (§6): digests, certification, custody chain, originals.

use caravan_assistance::agreement::Purpose;
use caravan_assistance::evidence::{self, CustodyKind, EvidenceRecord, Form, ManifestEntry};
use caravan_assistance::marking::{Markings, Pap, Tlp};

use crate::fixtures::day;

const PDF: &[u8] = b"%PDF-1.7 certified export declaration UZ EX 2025/000123";

fn entry(form: Form) -> ManifestEntry {
    ManifestEntry {
        id: "ev-1".into(),
        name: "export-declaration.pdf".into(),
        media_type: "application/pdf".into(),
        size: PDF.len() as u64,
        sha256: evidence::sha256_hex(PDF),
        supplier: "uz-cc-intl-desk".into(),
        supplied_on: day(2025, 4, 1),
        form,
        certification: Some("Certified true copy, Customs Committee, 2025-04-01".into()),
        markings: Markings::new(Tlp::Amber, Pap::Green),
        permitted_uses: vec![Purpose::Admin],
    }
}

#[test]
fn digest_mismatch_is_refused_and_custody_is_chained() {
    assert_eq!(
        evidence::sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let mut ev = EvidenceRecord::create(entry(Form::CertifiedCopy), "Tashkent").unwrap();
    assert!(!ev.return_required);
    let err = ev
        .verify(b"tampered", "us-desk", day(2025, 4, 2), "Washington")
        .unwrap_err();
    assert_eq!(err.code(), "evidence_digest_mismatch");
    assert_eq!(ev.custody.len(), 1, "a refused check records nothing");
    ev.verify(PDF, "us-desk", day(2025, 4, 2), "Washington")
        .unwrap();
    ev.custody(
        CustodyKind::Downloaded,
        PDF,
        "us-inv",
        day(2025, 4, 3),
        "Washington",
    )
    .unwrap();
    ev.custody(
        CustodyKind::HandedOver,
        PDF,
        "us-inv",
        day(2025, 4, 4),
        "AUSA office",
    )
    .unwrap();
    let err = ev
        .custody(
            CustodyKind::HandedOver,
            b"other",
            "us-inv",
            day(2025, 4, 4),
            "x",
        )
        .unwrap_err();
    assert_eq!(err.code(), "evidence_digest_mismatch");
    assert_eq!(ev.custody.len(), 4);
    ev.verify_chain().unwrap();
    let mut forged = ev.clone();
    forged.custody.remove(2);
    assert_eq!(
        forged.verify_chain().unwrap_err().code(),
        "custody_chain_broken"
    );
    let mut edited = ev.clone();
    edited.custody[1].actor = "someone-else".into();
    assert_eq!(
        edited.verify_chain().unwrap_err().code(),
        "custody_chain_broken"
    );
    assert_eq!(
        ev.custody(
            CustodyKind::OriginalCheckedOut,
            PDF,
            "x",
            day(2025, 4, 5),
            "x"
        )
        .unwrap_err()
        .code(),
        "custody_event_not_allowed"
    );
}

#[test]
fn manifests_are_checked() {
    let mut e = entry(Form::CertifiedCopy);
    e.certification = None;
    assert_eq!(
        EvidenceRecord::create(e, "x").unwrap_err().code(),
        "evidence_certification_missing"
    );
    let mut e = entry(Form::Copy);
    e.sha256 = "ABC".into();
    assert_eq!(
        EvidenceRecord::create(e, "x").unwrap_err().code(),
        "evidence_digest_invalid"
    );
    let mut e = entry(Form::Copy);
    e.permitted_uses.clear();
    assert_eq!(
        EvidenceRecord::create(e, "x").unwrap_err().code(),
        "evidence_uses_missing"
    );
}

#[test]
fn originals_are_checked_out_and_returned() {
    let mut ev = EvidenceRecord::create(entry(Form::Original), "Tashkent").unwrap();
    assert!(ev.return_required);
    assert_eq!(
        ev.check_out_original(
            &evidence::sha256_hex(PDF),
            "us-inv",
            day(2025, 4, 5),
            day(2025, 4, 1),
            "x"
        )
        .unwrap_err()
        .code(),
        "evidence_original_not_returnable"
    );
    ev.check_out_original(
        &evidence::sha256_hex(PDF),
        "us-inv",
        day(2025, 4, 5),
        day(2025, 5, 5),
        "court",
    )
    .unwrap();
    assert!(!ev.original_overdue(day(2025, 5, 5)));
    assert!(ev.original_overdue(day(2025, 5, 6)));
    ev.custody(
        CustodyKind::OriginalReturned,
        PDF,
        "uz-desk",
        day(2025, 5, 10),
        "Tashkent",
    )
    .unwrap();
    assert!(!ev.original_overdue(day(2025, 6, 1)));
    ev.custody(CustodyKind::Erased, PDF, "dpo", day(2026, 1, 1), "x")
        .unwrap();
    assert_eq!(
        ev.custody(CustodyKind::Viewed, PDF, "x", day(2026, 1, 2), "x")
            .unwrap_err()
            .code(),
        "custody_event_not_allowed"
    );
}
