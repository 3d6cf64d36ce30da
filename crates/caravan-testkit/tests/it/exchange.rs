//! The exchange between two nodes over real mutual TLS on localhost: messages and
//! receipts flow, receipts verify offline with public keys only, every bad input gets
//! its code and changes nothing, and a partner that goes offline gets every message
//! exactly once when it is back.

use std::time::Duration;

use caravan_envelope::cbor::Value;
use caravan_envelope::{
    Compression, EncryptionPublicKey, Header, MessageSigningKey, Part, Party, seal,
    verify_receipt_offline,
};
use caravan_exchange::identity::{NodeIdentity, Purpose};
use caravan_exchange::node::{
    DeliveryState, MESSAGES_PATH, OutboundMessage, OutboundPart, SERVICE, WIRE_MEDIA_TYPE,
};
use caravan_exchange::tls::{PinnedCa, TlsIdentity, client_config};
use caravan_exchange::transport::{PartnerClient, Response};
use caravan_testkit::exchange::{
    AGREEMENT, NodeSpec, RunningNode, eventually, introduce, now, open, pair, start,
};
use caravan_tlog::note::VerifierList;

#[test]
fn sqlite_exchange_story() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("story.sqlite");
    caravan_testkit::exchange_story::exchange_story(&|| {
        caravan_store_sqlite::SqliteStore::open(&path)
            .map(|s| Box::new(s) as Box<dyn caravan_store::Store>)
    });
}

#[test]
fn postgres_exchange_story() {
    let Some(url) = caravan_testkit::pg::url("postgres_exchange_story") else {
        return;
    };
    let schema = caravan_testkit::pg::TestSchema::new(&url, "exchange_story");
    caravan_testkit::exchange_story::exchange_story(&|| {
        caravan_store_postgres::PgStore::connect_with_schema(&url, schema.name())
            .map(|s| Box::new(s) as Box<dyn caravan_store::Store>)
    });
}

fn batch(to: &str, conversation: &str, n: usize) -> OutboundMessage {
    OutboundMessage {
        to: to.to_owned(),
        conversation_id: Some(conversation.to_owned()),
        ref_to: None,
        action: "Bulk.Batch".to_owned(),
        expires_at: None,
        parts: vec![OutboundPart {
            part_id: "body".to_owned(),
            media_type: "application/json".to_owned(),
            body: format!(r#"{{"conversation":"{conversation}","n":{n}}}"#).into_bytes(),
        }],
    }
}

async fn delivered_all(node: &RunningNode, ids: &[String], timeout: Duration) -> bool {
    eventually(timeout, || {
        ids.iter().all(|id| {
            matches!(
                node.exchange.delivery_state(id),
                Ok(DeliveryState::Delivered { .. })
            )
        })
    })
    .await
}

#[test]
fn two_nodes_exchange_messages_and_receipts_over_mtls() {
    caravan_testkit::exchange::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (us, uz) = pair(dir.path()).await;
        let mut ids = Vec::new();
        for n in 0..30 {
            let conversation = format!("case-{}", n % 3);
            ids.push(
                uz.exchange
                    .send(&batch("US-CBP", &conversation, n))
                    .unwrap(),
            );
        }
        assert!(delivered_all(&uz, &ids, Duration::from_secs(30)).await);

        // The sender verified each receipt's proof with the log key from US's manifest.
        assert_eq!(
            uz.exchange.registry().get("US-CBP").unwrap().log_vkey,
            Some(us.exchange.log().keys().log_vkey())
        );
        // Counts on both sides: 30 sent and receipted, 30 received, nothing dead.
        let sent = uz.store.exchange_counts().unwrap();
        assert_eq!((sent.delivered, sent.pending, sent.dead_letter), (30, 0, 0));
        let received = us.store.exchange_counts().unwrap();
        assert_eq!(received.inbox, 30);

        // Every receipt verifies offline with the receiver's public keys only.
        let us_identity = us.exchange.identity();
        let us_signing = us_identity.signing_key_at(now()).unwrap().verifying_key();
        let log_keys = VerifierList::new()
            .with(us.exchange.log().keys().log_verifier())
            .unwrap();
        for id in &ids {
            let DeliveryState::Delivered { receipt, .. } = uz.exchange.delivery_state(id).unwrap()
            else {
                panic!("{id} not delivered");
            };
            let verdict =
                verify_receipt_offline(&receipt, &us_signing, &log_keys, &VerifierList::new(), 0)
                    .unwrap();
            assert_eq!(&verdict.receipt.ref_to, id);
            // A receipt with one flipped byte does not verify.
            let mut bad = receipt.clone();
            let i = bad.len() / 2;
            bad[i] ^= 0x40;
            assert!(
                verify_receipt_offline(&bad, &us_signing, &log_keys, &VerifierList::new(), 0)
                    .is_err()
            );
        }

        // The receipt again, and the key manifest, over the same mTLS endpoint.
        let client = raw_client(uz.exchange.identity().tls(), &us);
        let again = client
            .call(
                hyper::Method::GET,
                &format!("/caravan/v1/receipts/{}", ids[0]),
                "application/cbor",
                Vec::new().into(),
            )
            .await
            .unwrap();
        assert_eq!(again.status, 200);
        assert_eq!(
            again.body.to_vec(),
            us.store
                .inbound("UZ-CUSTOMS", &ids[0])
                .unwrap()
                .receipt
                .unwrap()
        );
        let missing = client
            .call(
                hyper::Method::GET,
                "/caravan/v1/receipts/nope",
                "application/cbor",
                Vec::new().into(),
            )
            .await
            .unwrap();
        assert_eq!(
            (missing.status, code(&missing).as_str()),
            (404, "not_found")
        );
        let keys = client
            .call(
                hyper::Method::GET,
                "/caravan/v1/keys",
                "application/cose",
                Vec::new().into(),
            )
            .await
            .unwrap();
        let (manifest, _) = caravan_exchange::identity::KeyManifest::open(
            &keys.body,
            None,
            Some(&us.exchange.identity().root_fingerprint()),
        )
        .unwrap();
        assert_eq!(manifest.party, "US-CBP");

        // Hand-over: all 30, in send order within each conversation, once.
        let handed = us.exchange.pending("Bulk.Batch", 100).unwrap();
        assert_eq!(handed.len(), 30);
        for conversation in ["case-0", "case-1", "case-2"] {
            let order: Vec<&String> = handed
                .iter()
                .filter(|m| m.conversation_id == conversation)
                .map(|m| &m.message_id)
                .collect();
            let sent: Vec<&String> = ids
                .iter()
                .enumerate()
                .filter(|(n, _)| format!("case-{}", n % 3) == conversation)
                .map(|(_, id)| id)
                .collect();
            assert_eq!(order, sent, "{conversation}");
        }
        let body = String::from_utf8(handed[0].parts[0].2.clone()).unwrap();
        assert!(body.contains("\"n\":"), "{body}");
        us.exchange
            .ack(&handed.iter().map(|m| m.seq).collect::<Vec<_>>())
            .unwrap();
        assert!(us.exchange.pending("Bulk.Batch", 100).unwrap().is_empty());

        // Four log entries per exchange: msg_out + receipt_in at UZ, msg_in + receipt_out
        // at US.
        let us_origin = us.exchange.log().config().origin.clone();
        let uz_origin = uz.exchange.log().config().origin.clone();
        assert!(
            eventually(Duration::from_secs(10), || {
                us.store.open_log(&us_origin).unwrap().size == 60
                    && uz.store.open_log(&uz_origin).unwrap().size == 60
            })
            .await
        );
        // At US each message has one msg_in, under the checkpoint its receipt proves, and
        // one receipt_out committing to exactly the receipt stored in the inbox, which is
        // the receipt UZ holds.
        let entries: Vec<caravan_log::entry::Entry> = us
            .store
            .entries(&us_origin, 0, 60)
            .unwrap()
            .iter()
            .map(|bytes| caravan_log::entry::Entry::decode(bytes).unwrap())
            .collect();
        for id in &ids {
            let msg_in: Vec<u64> = (0..60u64)
                .filter(|&i| {
                    matches!(&entries[i as usize].body,
                        caravan_log::entry::EntryBody::MsgIn(m) if m.message_id == *id)
                })
                .collect();
            let receipt_out: Vec<&caravan_log::entry::ReceiptEvent> = entries
                .iter()
                .filter_map(|e| match &e.body {
                    caravan_log::entry::EntryBody::ReceiptOut(r) if r.ref_to == *id => Some(r),
                    _ => None,
                })
                .collect();
            assert_eq!((msg_in.len(), receipt_out.len()), (1, 1), "{id}");
            let row = us.store.inbound("UZ-CUSTOMS", id).unwrap();
            assert_eq!(row.log_index, Some(msg_in[0]));
            let (receipt, salt) = (row.receipt.unwrap(), row.receipt_salt.unwrap());
            let salt: [u8; 32] = salt.as_slice().try_into().unwrap();
            assert_eq!(
                receipt_out[0].receipt_commit,
                caravan_log::entry::commit(&salt, &receipt)
            );
            assert_eq!(uz.store.outbound(id).unwrap().receipt, Some(receipt));
        }
        us.stop().await;
        uz.stop().await;
    });
}

/// A raw client speaking as `identity` (its TLS leaf) to `node`.
fn raw_client(identity: &TlsIdentity, node: &RunningNode) -> PartnerClient {
    let pinned = PinnedCa {
        party: node.spec.party.clone(),
        ca_der: node.exchange.identity().tls().ca_der.clone(),
    };
    PartnerClient::new(
        &format!("https://127.0.0.1:{}", node.spec.addr.port()),
        client_config(identity, &pinned).unwrap(),
        Duration::from_secs(10),
    )
    .unwrap()
}

async fn post(client: &PartnerClient, wire: Vec<u8>) -> Response {
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

fn code(r: &Response) -> String {
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    v["code"].as_str().unwrap_or_default().to_owned()
}

fn header(from: &str, to_key: &EncryptionPublicKey, created_at: u64) -> Header {
    Header {
        message_id: format!("{}@uz.test", caravan_exchange::node::uuid_v7(created_at)),
        conversation_id: "case-bad".into(),
        ref_to: None,
        from: Party::new("caravan:admin", from),
        to: Party::new("caravan:admin", "US-CBP"),
        role: "administration".into(),
        service: SERVICE.into(),
        action: "Spontaneous.Inform".into(),
        agreement_id: AGREEMENT.into(),
        profile_id: format!("{AGREEMENT}/v1"),
        created_at,
        expires_at: None,
        enc_kid: to_key.kid(),
    }
}

fn sealed(h: &Header, key: &MessageSigningKey, to: &EncryptionPublicKey) -> Vec<u8> {
    let part = Part {
        part_id: "body",
        media_type: "application/json",
        compression: Compression::None,
        body: b"{\"x\":1}",
    };
    seal(h, &[part], key, to).unwrap().wire
}

/// Re-encodes a wire object after `edit` changed its CBOR value.
fn edit_wire(wire: &[u8], edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let Value::Map(mut entries) = Value::from_bytes(wire).unwrap() else {
        panic!("wire is a map");
    };
    edit(&mut entries);
    Value::Map(entries).to_bytes()
}

#[test]
fn every_bad_input_gets_its_code_and_changes_nothing() {
    caravan_testkit::exchange::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let us = open(NodeSpec::new("US-CBP", &dir.path().join("us"))).await;
        let uz = open(NodeSpec::new("UZ-CUSTOMS", &dir.path().join("uz"))).await;
        let kz = open(NodeSpec::new("KZ-CUSTOMS", &dir.path().join("kz"))).await;
        introduce(&us, &uz);
        introduce(&us, &kz);
        let us = start(us);
        let mut uz_id: NodeIdentity = uz.exchange().identity();
        let uz_tls = uz_id.tls().clone();
        let client = raw_client(&uz_tls, &us);
        let us_enc = us
            .exchange
            .identity()
            .encryption_keys()
            .last()
            .unwrap()
            .key
            .public_key();
        let t = now();
        let key = uz_id.signing_key_at(t).unwrap().clone();
        let before = us.store.exchange_counts().unwrap();
        let origin = us.exchange.log().config().origin.clone();
        let log_before = us.store.open_log(&origin).unwrap().size;

        let mut cases: Vec<(&str, u16, Vec<u8>)> = Vec::new();
        cases.push(("malformed_cbor", 400, vec![0xa1, 0x63, b'h']));
        let good = sealed(&header("UZ-CUSTOMS", &us_enc, t), &key, &us_enc);
        // Tampered signature ciphertext, and a tampered part whose wire digest was fixed
        // up to match (so only the AEAD can notice).
        cases.push((
            "decryption_failed",
            422,
            edit_wire(&good, |entries| {
                for (k, v) in entries.iter_mut() {
                    if *k == Value::text("sig")
                        && let Value::Bytes(b) = v
                    {
                        b[0] ^= 1;
                    }
                }
            }),
        ));
        cases.push((
            "part_tampered",
            422,
            edit_wire(&good, |entries| {
                for (k, v) in entries.iter_mut() {
                    if *k == Value::text("parts")
                        && let Value::Array(parts) = v
                        && let Some(Value::Map(fields)) = parts.first_mut()
                    {
                        let mut digest = None;
                        for (fk, fv) in fields.iter_mut() {
                            if *fk == Value::text("ct")
                                && let Value::Bytes(ct) = fv
                            {
                                ct[0] ^= 1;
                                digest = Some(caravan_exchange::node::sha256(ct));
                            }
                        }
                        for (fk, fv) in fields.iter_mut() {
                            if *fk == Value::text("ct_sha256") {
                                *fv = Value::bytes(digest.unwrap().to_vec());
                            }
                        }
                    }
                }
            }),
        ));
        let other = caravan_envelope::EncryptionSecretKey::generate().unwrap();
        cases.push((
            "wrong_recipient",
            422,
            sealed(
                &header("UZ-CUSTOMS", &other.public_key(), t),
                &key,
                &other.public_key(),
            ),
        ));
        cases.push((
            "unknown_sender",
            403,
            sealed(&header("XX-NOBODY", &us_enc, t), &key, &us_enc),
        ));
        cases.push((
            "tls_identity_mismatch",
            403,
            sealed(&header("KZ-CUSTOMS", &us_enc, t), &key, &us_enc),
        ));
        let stranger = MessageSigningKey::generate().unwrap();
        cases.push((
            "signer_key_unknown",
            422,
            sealed(&header("UZ-CUSTOMS", &us_enc, t), &stranger, &us_enc),
        ));
        let week = 8 * 24 * 3_600_000;
        cases.push((
            "outside_replay_window",
            400,
            sealed(&header("UZ-CUSTOMS", &us_enc, t - week), &key, &us_enc),
        ));
        let mut expired = header("UZ-CUSTOMS", &us_enc, t);
        expired.expires_at = Some(t - 1);
        cases.push(("message_expired", 400, sealed(&expired, &key, &us_enc)));
        cases.push((
            "clock_skew",
            400,
            sealed(&header("UZ-CUSTOMS", &us_enc, t + 600_000), &key, &us_enc),
        ));
        let mut action = header("UZ-CUSTOMS", &us_enc, t);
        action.action = "Exfiltrate.All".into();
        cases.push(("action_not_allowed", 403, sealed(&action, &key, &us_enc)));
        cases.push((
            "hpke_suite_not_allowed",
            400,
            edit_wire(&good, |entries| {
                for (k, v) in entries.iter_mut() {
                    if *k == Value::text("suite") {
                        *v = Value::Array(vec![Value::Uint(0x20), Value::Uint(1), Value::Uint(3)]);
                    }
                }
            }),
        ));
        cases.push((
            "header_too_large",
            413,
            edit_wire(&good, |entries| {
                for (k, v) in entries.iter_mut() {
                    if *k == Value::text("hdr")
                        && let Value::Map(fields) = v
                    {
                        fields.push((Value::text("zz_padding"), Value::bytes(vec![0; 9_000])));
                    }
                }
            }),
        ));
        for (expected, status, wire) in cases {
            let response = post(&client, wire).await;
            assert_eq!(
                (code(&response).as_str(), response.status),
                (expected, status),
                "{expected}"
            );
        }
        // A key revoked before the message was created.
        let revoked_kid = key.kid();
        uz_id
            .revoke(Purpose::Signing, &revoked_kid, t - 10)
            .unwrap();
        uz_id.rotate(Purpose::Signing, t - 10, 0).unwrap();
        let manifest = uz_id.signed_manifest(&uz_id.manifest("https://127.0.0.1:1", t, None));
        us.exchange
            .registry()
            .update_keys("UZ-CUSTOMS", &manifest, t)
            .unwrap();
        us.exchange.reload_partners().unwrap();
        let response = post(
            &client,
            sealed(&header("UZ-CUSTOMS", &us_enc, t), &key, &us_enc),
        )
        .await;
        assert_eq!(
            (code(&response).as_str(), response.status),
            ("signer_key_revoked", 422)
        );

        // Nothing was written: no inbox row, no log entry.
        assert_eq!(us.store.exchange_counts().unwrap(), before);
        assert_eq!(us.store.open_log(&origin).unwrap().size, log_before);

        // A valid message with the new key is accepted; the same bytes again are a
        // duplicate; the same id with another header is refused with 409.
        let new_key = uz_id.signing_key_at(t).unwrap().clone();
        let h = header("UZ-CUSTOMS", &us_enc, t);
        let wire = sealed(&h, &new_key, &us_enc);
        assert_eq!(post(&client, wire.clone()).await.status, 200);
        assert_eq!(post(&client, wire).await.status, 200);
        let mut h2 = h.clone();
        h2.conversation_id = "case-other".into();
        let reused = post(&client, sealed(&h2, &new_key, &us_enc)).await;
        assert_eq!(
            (code(&reused).as_str(), reused.status),
            ("message_id_reused", 409)
        );
        let after = us.store.exchange_counts().unwrap();
        assert_eq!(after.inbox, before.inbox + 1);

        // A TLS client whose certificate no pinned CA issued never gets an answer.
        let mallory = TlsIdentity::generate("UZ-CUSTOMS", &["localhost".into()]).unwrap();
        let refused = raw_client(&mallory, &us)
            .call(
                hyper::Method::POST,
                MESSAGES_PATH,
                WIRE_MEDIA_TYPE,
                vec![0xa0].into(),
            )
            .await;
        assert!(refused.is_err(), "{refused:?}");
        us.stop().await;
    });
}

#[test]
fn a_partner_offline_then_back_gets_every_message_exactly_once() {
    caravan_testkit::exchange::runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (us, uz) = pair(dir.path()).await;
        let spec = us.stop().await;
        let mut ids = Vec::new();
        for n in 0..40 {
            ids.push(
                uz.exchange
                    .send(&batch("US-CBP", &format!("c{}", n % 4), n))
                    .unwrap(),
            );
        }
        // Offline: attempts fail and are rescheduled; nothing is lost or dead.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let waiting = uz.store.exchange_counts().unwrap();
        assert_eq!(
            (waiting.pending, waiting.delivered, waiting.dead_letter),
            (40, 0, 0)
        );
        assert!(
            uz.store
                .list_outbound(None, 100)
                .unwrap()
                .iter()
                .any(|r| r.attempts > 0 && r.last_error.is_some())
        );
        let us = start(open(spec).await);
        assert!(delivered_all(&uz, &ids, Duration::from_secs(30)).await);
        let received = us.store.exchange_counts().unwrap();
        assert_eq!(received.inbox, 40);
        let handed = us.exchange.pending("Bulk.Batch", 100).unwrap();
        let mut got: Vec<&String> = handed.iter().map(|m| &m.message_id).collect();
        got.sort();
        let mut want: Vec<&String> = ids.iter().collect();
        want.sort();
        assert_eq!(got, want);
        us.stop().await;
        uz.stop().await;
    });
}
