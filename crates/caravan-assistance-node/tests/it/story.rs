//! The reference case over the loopback, and the refusals the issue lists.

use caravan_assistance::lifecycle::Ground;
use caravan_assistance::roles::{Actor, Role};
use caravan_assistance_node::service::today;
use caravan_assistance_node::story::{self, DAY_MS, Officials};
use caravan_store::access::{AuditOutcome, AuditQuery, verify_audit_chain};

use crate::loopback::{T0, carry, node, settle};

#[test]
fn the_reference_case_plays_and_every_bad_input_is_refused_with_its_code() {
    let (us, uz) = (node(true), node(false));
    let out = story::play(&us, &uz, T0, &mut |now| settle(&us, &uz, now)).expect("story");

    let codes: Vec<(&str, &str)> = out
        .refusals
        .iter()
        .map(|(what, code)| (what.as_str(), code.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (
                "request under an agreement not in force",
                "agreement_not_in_force"
            ),
            ("status change by one person", "two_person_same_account"),
            ("status change by one person", "two_person_same_account"),
            (
                "request with missing mandatory content",
                "request_incomplete"
            ),
            ("analyst drafting a request", "role_not_permitted"),
            (
                "transition not allowed (accept before acknowledgement)",
                "transition_not_allowed"
            ),
            (
                "desk officer accepting (supervisor only)",
                "role_not_permitted"
            ),
            (
                "reply without supervisor approval",
                "supervisor_approval_required"
            ),
            (
                "use beyond the permitted purposes (court without consent)",
                "consent_required"
            ),
            ("marking loosened by the receiver", "marking_loosened"),
            ("consent decided by a desk officer", "role_not_permitted"),
            ("refusal without a reason", "reason_missing"),
            (
                "sharing with a partner whose assurance is withdrawn",
                "partner_assurance_withdrawn"
            ),
        ]
    );

    // Both copies of each case agree.
    for (case, state) in [
        (&out.main_case, "closed"),
        (&out.refused_case, "refused"),
        (&out.overdue_case, "in_execution"),
    ] {
        assert_eq!(
            us.store().case_row(case).unwrap().state,
            state,
            "US copy of {case}"
        );
        assert_eq!(
            uz.store().case_row(case).unwrap().state,
            state,
            "UZ copy of {case}"
        );
    }
    let us_sup = Officials::of("US").supervisor;
    let refused = us
        .case_view(&us_sup, &out.refused_case, out.ended_at)
        .unwrap();
    assert_eq!(refused["grounds"], serde_json::json!(["G07", "G05"]));

    // The evidence arrived whole, encrypted at rest, with its custody.
    assert_eq!(out.evidence.len(), 2);
    let supplied = story::reply_evidence();
    let declaration = us.store().evidence_row(&out.evidence[0]).unwrap();
    assert!(declaration.blob.is_none(), "no file in the database");
    let at_rest = std::fs::read(us.vault().path_of(&out.evidence[0]).unwrap()).expect("stored");
    assert!(
        !at_rest.windows(8).any(|w| w == b"%PDF-1.7"),
        "evidence is stored encrypted"
    );
    assert_eq!(declaration.origin, "partner");
    assert_eq!(declaration.provider, "UZ-CUSTOMS");
    let custody: Vec<String> = us
        .store()
        .custody_rows(&out.evidence[0])
        .unwrap()
        .into_iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(
        custody,
        vec!["created", "hash_verified", "received", "presented_in_court"]
    );
    let view = us
        .evidence_list(&us_sup, &out.main_case, out.ended_at)
        .unwrap();
    assert_eq!(view[0]["custody_chain_intact"], true);
    assert_eq!(view[0]["form"], "certified_copy");
    assert_eq!(
        view[0]["sha256"],
        caravan_assistance::evidence::sha256_hex(&fixture_bytes(&supplied[0]))
    );
    // The receiver's tightening of one field is kept beside the provider's markings.
    assert_eq!(view[0]["markings"]["fields"]["exporter"]["pap"], "RED");
    assert_eq!(
        view[0]["markings"]["strictest"]["caveats"],
        serde_json::json!(["PERSONAL-DATA"])
    );
    assert_eq!(view[0]["markings"]["item"]["tlp"], "AMBER");

    // Consent granted on both sides; the court use went through on it.
    for node in [&us, &uz] {
        assert_eq!(
            node.store().consent_row(&out.consent).unwrap().state,
            "granted"
        );
    }
    // The invoice was erased at the receiver and the erasure confirmed to the provider.
    let invoice = us.store().evidence_row(&out.evidence[1]).unwrap();
    assert!(invoice.blob.is_none() && invoice.erased_at.is_some());
    assert!(
        !us.vault().path_of(&out.evidence[1]).unwrap().exists(),
        "the erased file is gone from the vault"
    );
    assert_eq!(
        uz.store().erasure_row(&out.erasure).unwrap().state,
        "confirmed"
    );
    assert_eq!(
        us.store().erasure_row(&out.erasure).unwrap().state,
        "confirmed"
    );

    // The third request is overdue on both desks' lists.
    let day = today(out.ended_at);
    let us_overdue = us.overdue(&us_sup, day).unwrap();
    let late: Vec<_> = us_overdue["us-cbp-ilo-desk"]
        .iter()
        .map(|i| (i.case_id.as_str(), i.timer))
        .collect();
    assert_eq!(late, vec![(out.overdue_case.as_str(), "T_exec")]);
    let uz_overdue = uz.overdue(&Officials::of("UZ").supervisor, day).unwrap();
    assert_eq!(uz_overdue["uz-cc-intl-desk"][0].case_id, out.overdue_case);
    assert!(us.store().case_row(&out.overdue_case).unwrap().overdue);

    // Statistics for the joint committee.
    let stats = us.stats(&us_sup, day).unwrap();
    assert_eq!(stats.answered, 1);
    assert_eq!(stats.refused_by_ground.get(&Ground::G05), Some(&1));
    assert_eq!(stats.overdue, 1);

    // Every refusal is in the audit trail with its code, and the trail chains.
    for node in [&us, &uz] {
        let trail = node.store().list_audit(&AuditQuery::default()).unwrap();
        verify_audit_chain(&trail).unwrap();
        assert!(trail.iter().any(|r| r.event.action == "request.view"
            || r.event.action.starts_with("inbound.")));
    }
    let trail = us.store().list_audit(&AuditQuery::default()).unwrap();
    for code in [
        "request_incomplete",
        "consent_required",
        "marking_loosened",
        "agreement_not_in_force",
    ] {
        assert!(
            trail
                .iter()
                .any(|r| r.event.outcome == AuditOutcome::Refused
                    && r.event.code.as_deref() == Some(code)),
            "no refused audit row with {code}"
        );
    }
    assert!(
        trail
            .iter()
            .any(|r| r.event.action == "evidence.present_in_proceedings"
                && r.event.outcome == AuditOutcome::Allowed
                && r.event.detail.contains("consent:"))
    );
}

/// Plays up to the reply and returns the queued reply message of `uz` without carrying it.
fn up_to_reply() -> (
    caravan_assistance_node::service::AssistanceNode,
    caravan_assistance_node::service::AssistanceNode,
    String,
    i64,
) {
    let (us, uz) = (node(true), node(false));
    let uzx = Officials::of("UZ");
    let now = T0;
    let case_id = story::up_to_accepted(&us, &uz, now, &mut |at| settle(&us, &uz, at)).unwrap();
    let later = now + DAY_MS;
    uz.reply(
        &uzx.desk,
        Some(&uzx.supervisor),
        &case_id,
        story::reply_evidence(),
        None,
        later,
    )
    .unwrap();
    (us, uz, case_id, later)
}

#[test]
fn evidence_whose_digest_does_not_match_is_refused_and_changes_nothing() {
    let (us, uz, case_id, now) = up_to_reply();
    let mut messages = uz.take_queued(now).unwrap();
    assert_eq!(messages.len(), 1);
    let reply = &mut messages[0];
    let part = reply
        .parts
        .iter_mut()
        .find(|(id, _, _)| id.starts_with("evidence/"))
        .expect("evidence part");
    part.2[10] ^= 0x20;
    assert!(!us.receive(reply, now).unwrap());
    assert_eq!(us.store().case_row(&case_id).unwrap().state, "in_execution");
    assert!(us.store().case_evidence(&case_id).unwrap().is_empty());
    // The file streamed into the vault before its digest was known is gone again.
    let left = std::fs::read_dir(us.vault().dir())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "nothing partly written at rest");
    let recorded = us
        .store()
        .case_messages(&case_id)
        .unwrap()
        .into_iter()
        .find(|m| m.action == "Request.Reply")
        .expect("recorded");
    assert_eq!(recorded.state, "rejected");
    assert_eq!(recorded.code.as_deref(), Some("evidence_digest_mismatch"));
    let trail = us.store().list_audit(&AuditQuery::default()).unwrap();
    let last = trail.last().unwrap();
    assert_eq!(last.event.outcome, AuditOutcome::Refused);
    assert_eq!(last.event.code.as_deref(), Some("evidence_digest_mismatch"));
}

#[test]
fn a_message_delivered_twice_is_applied_once() {
    let (us, uz, case_id, now) = up_to_reply();
    let messages = uz.take_queued(now).unwrap();
    assert!(us.receive(&messages[0], now).unwrap());
    let before = us.store().case_transitions(&case_id).unwrap().len();
    // The exchange hands it over again (a crash before its acknowledgement).
    assert!(us.receive(&messages[0], now).unwrap());
    assert_eq!(us.store().case_transitions(&case_id).unwrap().len(), before);
    assert_eq!(us.store().case_row(&case_id).unwrap().state, "answered");
    assert_eq!(us.store().case_evidence(&case_id).unwrap().len(), 2);
}

#[test]
fn a_malformed_or_foreign_message_is_recorded_as_rejected() {
    let (us, uz, case_id, now) = up_to_reply();
    let mut messages = uz.take_queued(now).unwrap();
    let mut foreign = messages[0].clone();
    foreign.from = "XX-CUSTOMS".into();
    assert!(!us.receive(&foreign, now).unwrap());
    messages[0].parts[0].2 = b"{not json".to_vec();
    assert!(!us.receive(&messages[0], now).unwrap());
    assert_eq!(us.store().case_row(&case_id).unwrap().state, "in_execution");
    let codes: Vec<Option<String>> = us
        .store()
        .case_messages(&case_id)
        .unwrap()
        .into_iter()
        .filter(|m| m.state == "rejected")
        .map(|m| m.code)
        .collect();
    assert_eq!(
        codes,
        vec![
            Some("message_wrong_party".into()),
            Some("message_malformed".into())
        ]
    );
}

#[test]
fn an_auditor_sees_metadata_only_and_cannot_download() {
    let (us, uz, case_id, now) = up_to_reply();
    carry(&uz, &us, now).unwrap();
    let dpo = Actor::new("us.dpo", Role::AuditorDpo);
    let view = us.case_view(&dpo, &case_id, now).unwrap();
    assert!(view["request"].is_null());
    assert_eq!(view["evidence"], serde_json::json!([]));
    assert_eq!(view["state"], "answered");
    let ev = us.store().case_evidence(&case_id).unwrap();
    let err = us
        .use_evidence(
            &dpo,
            &ev[0].evidence_id,
            caravan_assistance::usecontrol::UseAction::View,
            caravan_assistance::agreement::Purpose::Admin,
            caravan_assistance::usecontrol::Recipient::SameAdmin,
            now,
        )
        .unwrap_err();
    assert_eq!(err.code, "metadata_only");
    // A desk officer may view it for an administrative purpose; the bytes come back whole.
    let (_, bytes) = us
        .use_evidence(
            &Officials::of("US").desk,
            &ev[0].evidence_id,
            caravan_assistance::usecontrol::UseAction::View,
            caravan_assistance::agreement::Purpose::Admin,
            caravan_assistance::usecontrol::Recipient::SameAdmin,
            now,
        )
        .unwrap();
    assert_eq!(
        bytes.read_all().unwrap(),
        fixture_bytes(&story::reply_evidence()[0])
    );
}

/// The bytes of a fixture upload.
fn fixture_bytes(upload: &caravan_assistance_node::service::EvidenceUpload) -> Vec<u8> {
    match &upload.content {
        caravan_assistance_node::service::UploadContent::Bytes(bytes) => bytes.clone(),
        caravan_assistance_node::service::UploadContent::Stored(_) => {
            unreachable!("fixtures are bytes")
        }
    }
}

#[test]
fn a_reply_missing_an_evidence_part_is_refused_before_any_file_is_written() {
    let (us, uz, case_id, now) = up_to_reply();
    let mut messages = uz.take_queued(now).unwrap();
    let reply = &mut messages[0];
    // The second file's part is dropped; the first one is whole.
    let last = reply
        .parts
        .iter()
        .rposition(|(id, _, _)| id.starts_with("evidence/"))
        .expect("evidence part");
    reply.parts.remove(last);
    assert!(!us.receive(reply, now).unwrap());
    assert!(us.store().case_evidence(&case_id).unwrap().is_empty());
    let recorded = us
        .store()
        .case_messages(&case_id)
        .unwrap()
        .into_iter()
        .find(|m| m.action == "Request.Reply")
        .expect("recorded");
    assert_eq!(recorded.code.as_deref(), Some("evidence_part_missing"));
    let left = std::fs::read_dir(us.vault().dir())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "no file written");
}
