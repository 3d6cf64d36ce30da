//! Large parts across the exchange (spec §7): a 200 MB evidence file streamed from a file,
//! uploaded in 1 MiB segments over mutual TLS, verified segment by segment on arrival
//! and handed over intact; a tampered segment, a truncated upload, a bad upload and a
//! part the receiver never got are each refused with their own code and store nothing.

use std::io::Write;
use std::time::Duration;

use caravan_envelope::stream::SEGMENT_CT_LEN;
use caravan_envelope::{Compression, Header, Party, Sealer};
use caravan_exchange::node::{
    DeliveryState, MESSAGES_PATH, OutboundMessage, OutboundPart, PARTS_PATH, SERVICE,
    WIRE_MEDIA_TYPE,
};
use caravan_exchange::parts::{OutboundFile, PartSource, hex};
use caravan_exchange::tls::{PinnedCa, client_config};
use caravan_exchange::transport::PartnerClient;
use caravan_testkit::exchange::{AGREEMENT, NodeSpec, eventually, introduce, now, open, start};
use sha2::{Digest, Sha256};

const MB: u64 = 1 << 20;

/// Writes `len` bytes of a deterministic pseudo-random stream; returns their SHA-256.
fn write_file(path: &std::path::Path, len: u64) -> [u8; 32] {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hash = Sha256::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        for b in chunk.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b.copy_from_slice(&state.to_le_bytes()[..b.len()]);
        }
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n]).unwrap();
        hash.update(&chunk[..n]);
        left -= n as u64;
    }
    file.flush().unwrap();
    hash.finalize().into()
}

/// Hashes what is written to it.
#[derive(Default)]
struct HashingWriter {
    hash: Sha256,
    len: u64,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hash.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_200_mb_part_crosses_the_exchange_streamed_and_verified() {
    caravan_testkit::exchange::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        // Production's request timeout: one attempt uploads 200 MB and waits while the
        // receiver verifies every segment, which the fault tests' 5 s does not allow in a
        // debug build.
        let production = caravan_exchange::node::ExchangeConfig::new("x", "127.0.0.1", AGREEMENT)
            .request_timeout;
        // And a retry horizon like production's (72 h there), not the fault tests' 60 s:
        // on a busy machine the receiver may verify 200 MB for longer than one request
        // timeout, and the sender must then retry (the redelivery finds the message
        // stored and gets its receipt) rather than give the message up.
        let retry = caravan_exchange::retry::RetryPolicy::fast(
            Duration::from_secs(1),
            Duration::from_secs(3600),
        );
        let mut us_spec = NodeSpec::new("US-CBP", &dir.path().join("us"));
        us_spec.request_timeout = production;
        us_spec.retry = retry.clone();
        let mut uz_spec = NodeSpec::new("UZ-CUSTOMS", &dir.path().join("uz"));
        uz_spec.request_timeout = production;
        uz_spec.retry = retry;
        let us = open(us_spec).await;
        let uz = open(uz_spec).await;
        introduce(&us, &uz);
        let (us, uz) = (start(us), start(uz));
        let evidence = dir.path().join("evidence.bin");
        let len = 200 * MB;
        let digest = write_file(&evidence, len);
        let message = OutboundMessage {
            to: "US-CBP".into(),
            conversation_id: Some("case-evidence".into()),
            ref_to: None,
            action: "Evidence.Package".into(),
            expires_at: None,
            parts: vec![OutboundPart {
                part_id: "cover".into(),
                media_type: "application/json".into(),
                body: br#"{"items":1}"#.to_vec(),
            }],
        };
        let files = vec![OutboundFile {
            part_id: "evidence".into(),
            media_type: "application/octet-stream".into(),
            source: PartSource::Path(evidence.clone()),
        }];
        let exchange = uz.exchange.clone();
        let id = tokio::task::spawn_blocking(move || exchange.send_with_files(&message, &files))
            .await
            .unwrap()
            .unwrap();
        let spooled: Vec<_> = std::fs::read_dir(uz.spec.dir.join("parts/out"))
            .unwrap()
            .collect();
        assert_eq!(
            spooled.len(),
            1,
            "the sealed part waits in the sender's spool"
        );
        let delivered = eventually(Duration::from_secs(600), || {
            matches!(
                uz.exchange.delivery_state(&id),
                Ok(DeliveryState::Delivered { .. })
            )
        })
        .await;
        assert!(delivered, "{:?}", uz.exchange.delivery_state(&id));
        // The spool file is released right after the delivered state commits (the
        // state can be read in between), so wait for it rather than race it.
        let out_dir = uz.spec.dir.join("parts/out");
        let released = eventually(Duration::from_secs(30), || {
            std::fs::read_dir(&out_dir).unwrap().count() == 0
        })
        .await;
        assert!(released, "the spool file goes once the receipt is stored");

        let handed = us.exchange.pending("Evidence.Package", 10).unwrap();
        assert_eq!(handed.len(), 1);
        assert_eq!(handed[0].message_id, id);
        assert_eq!(handed[0].parts.len(), 1, "inline parts as before");
        let parts = us.exchange.detached_parts("UZ-CUSTOMS", &id).unwrap();
        assert_eq!(
            parts,
            vec![(
                "evidence".to_owned(),
                "application/octet-stream".to_owned(),
                len
            )]
        );
        let exchange = us.exchange.clone();
        let id2 = id.clone();
        let (summary, written) = tokio::task::spawn_blocking(move || {
            let mut w = HashingWriter::default();
            let s = exchange
                .open_detached_part("UZ-CUSTOMS", &id2, "evidence", &mut w)
                .unwrap();
            (s, w)
        })
        .await
        .unwrap();
        assert_eq!(summary.length, len);
        assert_eq!(written.len, len);
        let got: [u8; 32] = written.hash.finalize().into();
        assert_eq!(got, digest, "the part arrives bit for bit");
        assert_eq!(summary.sha256, digest);

        // An auditor holding only the receiver's two public keys (message signing, log)
        // as exported bytes and text, and the evidence file, verifies the receipt
        // offline: signature, tlog-proof, the msg_in entry opening to the digests, and
        // the evidence digest being the file's.
        let signing_public = us
            .exchange
            .identity()
            .signing_key_at(now())
            .unwrap()
            .verifying_key()
            .to_bytes();
        let log_vkey = us.exchange.log().keys().log_vkey();
        let other_log = caravan_tlog::note::VerifierList::new()
            .with(uz.exchange.log().keys().log_verifier())
            .unwrap();
        let DeliveryState::Delivered { receipt, .. } = uz.exchange.delivery_state(&id).unwrap()
        else {
            panic!("{id} not delivered");
        };
        us.stop().await;
        uz.stop().await;
        let receiver_key =
            caravan_envelope::MessageVerifyingKey::from_bytes(&signing_public).unwrap();
        let logs = caravan_tlog::note::VerifierList::new()
            .with(caravan_tlog::note::Ed25519Verifier::from_vkey(&log_vkey).unwrap())
            .unwrap();
        let none = caravan_tlog::note::VerifierList::new();
        let verdict =
            caravan_envelope::verify_receipt_offline(&receipt, &receiver_key, &logs, &none, 0)
                .unwrap();
        assert_eq!(verdict.receipt.ref_to, id);
        let evidence_digest = verdict
            .receipt
            .parts
            .iter()
            .find(|p| p.part_id == "evidence")
            .map(|p| p.sha256);
        assert_eq!(
            evidence_digest,
            Some(digest),
            "the receipt names the file's digest"
        );
        assert_eq!(verdict.receipt.parts.len(), 2, "cover and evidence");
        // Any flipped byte, or another log's key, and the receipt proves nothing.
        for i in [0, receipt.len() / 3, receipt.len() / 2, receipt.len() - 1] {
            let mut bad = receipt.clone();
            bad[i] ^= 0x01;
            assert!(
                caravan_envelope::verify_receipt_offline(&bad, &receiver_key, &logs, &none, 0)
                    .is_err(),
                "byte {i} flipped"
            );
        }
        assert!(
            caravan_envelope::verify_receipt_offline(&receipt, &receiver_key, &other_log, &none, 0)
                .is_err()
        );
    });
}

#[test]
fn tampered_truncated_and_missing_parts_are_refused_and_store_nothing() {
    caravan_testkit::exchange::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let us = open(NodeSpec::new("US-CBP", &dir.path().join("us"))).await;
        let uz = open(NodeSpec::new("UZ-CUSTOMS", &dir.path().join("uz"))).await;
        introduce(&us, &uz);
        let us = start(us);
        let uz_id = uz.exchange().identity();
        let pinned = PinnedCa {
            party: "US-CBP".into(),
            ca_der: us.exchange.identity().tls().ca_der.clone(),
        };
        let client = PartnerClient::new(
            &format!("https://127.0.0.1:{}", us.spec.addr.port()),
            client_config(uz_id.tls(), &pinned).unwrap(),
            Duration::from_secs(30),
        )
        .unwrap();
        let us_enc = us
            .exchange
            .identity()
            .encryption_keys()
            .last()
            .unwrap()
            .key
            .public_key();
        let key = uz_id.signing_key_at(now()).unwrap().clone();
        let before = us.store.exchange_counts().unwrap();
        let origin = us.exchange.log().config().origin.clone();
        let log_before = us.store.open_log(&origin).unwrap().size;

        // A 3-segment part, sealed the way a sender does.
        let plaintext: Vec<u8> = (0..(2 * MB + 1000)).map(|i| (i % 251) as u8).collect();
        let seal_one = || {
            let t = now();
            let header = Header {
                message_id: format!("{}@uz.test", caravan_exchange::node::uuid_v7(t)),
                conversation_id: "case-parts".into(),
                ref_to: None,
                from: Party::new("caravan:admin", "UZ-CUSTOMS"),
                to: Party::new("caravan:admin", "US-CBP"),
                role: "administration".into(),
                service: SERVICE.into(),
                action: "Evidence.Package".into(),
                agreement_id: AGREEMENT.into(),
                profile_id: format!("{AGREEMENT}/v1"),
                created_at: t,
                expires_at: None,
                enc_kid: us_enc.kid(),
            };
            let mut sealer = Sealer::new(&header, &us_enc).unwrap();
            let mut ct = Vec::new();
            let summary = sealer
                .add_streamed(
                    "evidence",
                    "application/octet-stream",
                    Compression::None,
                    plaintext.as_slice(),
                    &mut ct,
                )
                .unwrap();
            (sealer.finish(&key).unwrap().wire, ct, summary.ct_sha256)
        };
        let put = |part_ref: [u8; 32], n: usize, body: Vec<u8>| {
            let client = &client;
            async move {
                client
                    .call(
                        hyper::Method::PUT,
                        &format!("{PARTS_PATH}/{}/{n}", hex(&part_ref)),
                        "application/octet-stream",
                        body.into(),
                    )
                    .await
                    .unwrap()
            }
        };
        let post = |wire: Vec<u8>| {
            let client = &client;
            async move {
                client
                    .call(
                        hyper::Method::POST,
                        MESSAGES_PATH,
                        WIRE_MEDIA_TYPE,
                        wire.into(),
                    )
                    .await
                    .unwrap()
            }
        };
        let code = |body: &[u8]| -> String {
            serde_json::from_slice::<serde_json::Value>(body).unwrap()["code"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let segments =
            |ct: &[u8]| -> Vec<Vec<u8>> { ct.chunks(SEGMENT_CT_LEN).map(<[u8]>::to_vec).collect() };

        // Nothing uploaded.
        let (wire, _, _) = seal_one();
        let r = post(wire).await;
        assert_eq!((r.status, code(&r.body).as_str()), (422, "part_incomplete"));

        // Truncated upload: the last segment never came.
        let (wire, ct, part_ref) = seal_one();
        let segs = segments(&ct);
        assert_eq!(segs.len(), 3);
        for (n, s) in segs.iter().enumerate().take(2) {
            assert_eq!(put(part_ref, n, s.clone()).await.status, 204);
        }
        let r = post(wire.clone()).await;
        assert_eq!((r.status, code(&r.body).as_str()), (422, "part_incomplete"));
        // A torn upload that cut the last segment short is caught by its tag.
        let cut = segs[2][..segs[2].len() - 5].to_vec();
        assert_eq!(put(part_ref, 2, cut).await.status, 204);
        let r = post(wire.clone()).await;
        assert_eq!((r.status, code(&r.body).as_str()), (422, "part_tampered"));

        // Tampered chunk: one bit of the middle segment flipped.
        let (wire, ct, part_ref) = seal_one();
        for (n, s) in segments(&ct).into_iter().enumerate() {
            let mut s = s;
            if n == 1 {
                s[100] ^= 0x01;
            }
            assert_eq!(put(part_ref, n, s).await.status, 204);
        }
        let r = post(wire).await;
        assert_eq!((r.status, code(&r.body).as_str()), (422, "part_tampered"));

        // Segments of another part under this part_ref: refused by the AEAD.
        let (wire, _, part_ref) = seal_one();
        let (_, other_ct, _) = seal_one();
        for (n, s) in segments(&other_ct).into_iter().enumerate() {
            assert_eq!(put(part_ref, n, s).await.status, 204);
        }
        let r = post(wire).await;
        assert_eq!((r.status, code(&r.body).as_str()), (422, "part_tampered"));

        // Bad uploads themselves.
        let r = put(part_ref, 0, vec![0; 3]).await;
        assert_eq!(
            (r.status, code(&r.body).as_str()),
            (400, "segment_size_invalid")
        );
        let r = client
            .call(
                hyper::Method::PUT,
                &format!("{PARTS_PATH}/not-a-digest/0"),
                "application/octet-stream",
                vec![0u8; 64].into(),
            )
            .await
            .unwrap();
        assert_eq!(
            (r.status, code(&r.body).as_str()),
            (400, "part_ref_invalid")
        );
        let r = put(part_ref, 1 << 20, vec![0; 64]).await;
        assert_eq!((r.status, code(&r.body).as_str()), (413, "part_too_large"));

        // None of it stored a message or wrote a log entry.
        assert_eq!(us.store.exchange_counts().unwrap(), before);
        assert_eq!(us.store.open_log(&origin).unwrap().size, log_before);

        // And the same message, uploaded whole, is accepted.
        let (wire, ct, part_ref) = seal_one();
        for (n, s) in segments(&ct).into_iter().enumerate() {
            assert_eq!(put(part_ref, n, s).await.status, 204);
        }
        let r = post(wire).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(us.store.exchange_counts().unwrap().inbox, before.inbox + 1);
        us.stop().await;
    });
}

#[test]
fn the_spool_sweep_removes_parts_no_message_needs_and_keeps_the_rest() {
    caravan_testkit::exchange::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let us = open(NodeSpec::new("US-CBP", &dir.path().join("us"))).await;
        let uz = open(NodeSpec::new("UZ-CUSTOMS", &dir.path().join("uz"))).await;
        introduce(&us, &uz);
        // US never serves: UZ's message stays pending, its part spooled.
        drop(us);
        let uz = start(uz);
        let evidence = dir.path().join("evidence.bin");
        write_file(&evidence, 3 * MB);
        let message = OutboundMessage {
            to: "US-CBP".into(),
            conversation_id: Some("case-sweep".into()),
            ref_to: None,
            action: "Evidence.Package".into(),
            expires_at: None,
            parts: Vec::new(),
        };
        let files = vec![OutboundFile {
            part_id: "evidence".into(),
            media_type: "application/octet-stream".into(),
            source: PartSource::Path(evidence),
        }];
        let exchange = uz.exchange.clone();
        let id = tokio::task::spawn_blocking(move || exchange.send_with_files(&message, &files))
            .await
            .unwrap()
            .unwrap();
        let out_dir = uz.spec.dir.join("parts/out");
        let pending_part: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(pending_part.len(), 1);
        // What a stop between a delivery's commit and the part's release leaves: a part
        // file no message refers to.
        let leaked = out_dir.join(format!("{}.ct", hex(&[0x5a; 32])));
        std::fs::write(&leaked, b"ciphertext of a delivered part").unwrap();
        // Younger than the age limit, nothing goes (a part being sealed looks the same).
        assert_eq!(uz.exchange.sweep_spool(std::time::SystemTime::now()), 0);
        assert!(leaked.exists());
        // Two days on, the leaked part goes and the pending message's part stays.
        let later = std::time::SystemTime::now() + Duration::from_secs(2 * 24 * 3600);
        assert_eq!(uz.exchange.sweep_spool(later), 1);
        assert!(!leaked.exists());
        assert!(pending_part[0].exists());
        assert!(matches!(
            uz.exchange.delivery_state(&id),
            Ok(DeliveryState::Pending { .. })
        ));
        uz.stop().await;
    });
}
