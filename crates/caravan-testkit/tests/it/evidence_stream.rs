//! Issue 5 §6 with issue 4 §7: a reply with an evidence file of tens of MB crosses the real
//! exchange as a detached part, streamed from the sender's vault and into the receiver's,
//! and comes out of the receiver's download byte for byte; an altered file at rest is refused
//! before any byte or custody event.

use std::io::Write;
use std::time::Duration;

use caravan_assistance::agreement::Purpose;
use caravan_assistance::evidence::Form;
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance::usecontrol::{Recipient, UseAction};
use caravan_assistance_node::at_rest::HashingWriter;
use caravan_assistance_node::service::{EvidenceUpload, UploadContent};
use caravan_assistance_node::story::{self, Officials};
use caravan_testkit::exchange::{now, pair, runtime};

/// The large file's size in MiB (`CARAVAN_EVIDENCE_TEST_MB`, default 48).
fn large_mib() -> usize {
    std::env::var("CARAVAN_EVIDENCE_TEST_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

/// Deterministic, incompressible-looking bytes, produced one chunk at a time.
fn fill(chunk: &mut [u8], seed: &mut u64) {
    for b in chunk.iter_mut() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *b = (*seed >> 24) as u8;
    }
}

fn upload(name: &str, content: UploadContent) -> EvidenceUpload {
    EvidenceUpload {
        name: name.into(),
        media_type: "application/octet-stream".into(),
        content,
        form: Form::Copy,
        certification: None,
        markings: Markings::new(Tlp::Amber, Pap::Amber),
        permitted_uses: vec![Purpose::Admin, Purpose::Intel],
    }
}

#[test]
fn a_large_evidence_reply_streams_node_to_node_and_a_tampered_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    rt.block_on(async {
        let (us_node, uz_node) = pair(dir.path()).await;
        let (us, uz) =
            caravan_testkit::exchange::assistance_pair(dir.path(), &us_node, &uz_node, 21);
        let (a, b) = (us.clone(), uz.clone());
        tokio::task::spawn_blocking(move || {
            let settle = |at| {
                story::settle_over_exchange(
                    [&a, &b],
                    at,
                    Duration::from_millis(25),
                    8,
                    Duration::from_secs(600),
                )
            };
            let (usx, uzx) = (Officials::of("US"), Officials::of("UZ"));
            let t = now() as i64;
            let case_id = story::up_to_accepted(&a, &b, t, &mut |at| settle(at)).unwrap();

            // The large file is streamed into UZ's vault as an upload would be.
            let mut writer = b.upload_writer(t, u64::MAX).unwrap();
            let mut sent = HashingWriter::new(std::io::sink());
            let mut seed = 0x5eed_u64;
            let mut chunk = vec![0u8; 1 << 20];
            for _ in 0..large_mib() {
                fill(&mut chunk, &mut seed);
                writer.write_all(&chunk).unwrap();
                sent.write_all(&chunk).unwrap();
            }
            let large = writer.finish().unwrap();
            let (large_sha, large_len) = sent.finish();
            assert_eq!(
                (large.sha256.clone(), large.size),
                (large_sha.clone(), large_len)
            );
            let small_text =
                b"Commercial invoice SRY-2026-0113, 18 000 kg of combed cotton yarn".to_vec();
            b.reply(
                &uzx.desk,
                Some(&uzx.supervisor),
                &case_id,
                vec![
                    upload("scan.bin", UploadContent::Stored(large)),
                    upload("invoice.txt", UploadContent::Bytes(small_text.clone())),
                ],
                None,
                t,
            )
            .unwrap();
            settle(t).unwrap();

            // The reply travelled with both files as detached parts, not inline.
            // Uploading the segments takes longer than a quiet settle round: wait for it.
            let deadline = std::time::Instant::now() + Duration::from_secs(600);
            let arrived = || {
                a.store()
                    .case_messages(&case_id)
                    .unwrap()
                    .iter()
                    .any(|m| m.direction == "in" && m.action == "Request.Reply")
            };
            while !arrived() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the reply never arrived"
                );
                settle(t).unwrap();
            }
            let reply = a
                .store()
                .case_messages(&case_id)
                .unwrap()
                .into_iter()
                .find(|m| m.direction == "in" && m.action == "Request.Reply")
                .expect("reply applied");
            assert_eq!(reply.state, "applied");
            let detached = a
                .exchange
                .as_ref()
                .unwrap()
                .detached_parts("UZ-CUSTOMS", reply.exchange_message_id.as_deref().unwrap())
                .unwrap();
            assert_eq!(detached.len(), 2, "{detached:?}");
            assert!(detached.iter().any(|(_, _, len)| *len == large_len));

            // On the US side: both digests as sent, held in the vault, not in the database.
            let rows = a.store().case_evidence(&case_id).unwrap();
            assert_eq!(rows.len(), 2);
            let small_sha = caravan_assistance::evidence::sha256_hex(&small_text);
            let large_row = rows.iter().find(|r| r.sha256 == large_sha).expect("large");
            let small_row = rows.iter().find(|r| r.sha256 == small_sha).expect("small");
            for row in [large_row, small_row] {
                assert_eq!(row.origin, "partner");
                assert!(row.blob.is_none());
                let at_rest = std::fs::read(a.vault().path_of(&row.evidence_id).unwrap()).unwrap();
                assert!(
                    !at_rest.windows(24).any(|w| w == &small_text[..24]),
                    "no plaintext at rest"
                );
            }

            // The download streams the same bytes, recorded as a custody event first.
            let (_, content) = a
                .use_evidence(
                    &usx.desk,
                    &large_row.evidence_id,
                    UseAction::View,
                    Purpose::Admin,
                    Recipient::SameAdmin,
                    t,
                )
                .unwrap();
            assert_eq!(content.size(), large_len);
            let mut got = HashingWriter::new(std::io::sink());
            content.copy_to(&mut got).unwrap();
            assert_eq!(got.finish(), (large_sha, large_len));
            let (_, small) = a
                .use_evidence(
                    &usx.desk,
                    &small_row.evidence_id,
                    UseAction::View,
                    Purpose::Admin,
                    Recipient::SameAdmin,
                    t,
                )
                .unwrap();
            assert_eq!(small.read_all().unwrap(), small_text);

            // One flipped byte at rest: refused with its code, nothing recorded or served.
            let path = a.vault().path_of(&small_row.evidence_id).unwrap();
            let mut bytes = std::fs::read(&path).unwrap();
            let last = bytes.len() - 20;
            bytes[last] ^= 0x40;
            std::fs::write(&path, &bytes).unwrap();
            let custody_before = a
                .store()
                .custody_rows(&small_row.evidence_id)
                .unwrap()
                .len();
            let err = a
                .use_evidence(
                    &usx.desk,
                    &small_row.evidence_id,
                    UseAction::View,
                    Purpose::Admin,
                    Recipient::SameAdmin,
                    t,
                )
                .unwrap_err();
            assert_eq!(err.code, "evidence_at_rest_corrupt");
            assert_eq!(
                a.store()
                    .custody_rows(&small_row.evidence_id)
                    .unwrap()
                    .len(),
                custody_before
            );
            // The sender's vault still holds its own copies.
            let uz_rows = b.store().case_evidence(&case_id).unwrap();
            assert_eq!(uz_rows.len(), 2);
            for row in &uz_rows {
                assert!(b.vault().path_of(&row.evidence_id).unwrap().exists());
            }
        })
        .await
        .expect("test thread");
    });
}
