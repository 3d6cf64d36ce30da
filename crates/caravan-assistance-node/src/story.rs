//! The reference case of the issue, played between two nodes: the US asks Uzbekistan to
//! verify the origin and value of a flagged shipment; Uzbekistan acknowledges, accepts and
//! replies with a certified export declaration and an invoice; the US asks for consent to
//! use them in court and Uzbekistan grants it; a second request is refused with grounds; a
//! third goes overdue. Along the way every "bad input" of the issue is tried and must be
//! refused with its code.
//!
//! Why in the library and not only in a test: the demo (`caravan demo`), the two-node
//! integration test over the real exchange and this crate's loopback test play the same
//! story, so it is written once; each caller supplies how messages travel (`settle`).

use caravan_assistance::agreement::{AgreementState, Purpose, US_UZ_CMAA_2024};
use caravan_assistance::catalogue::{PersonConcerned, PersonKind, RequestDraft, RequestType};
use caravan_assistance::evidence::Form;
use caravan_assistance::lifecycle::{Event, Ground};
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance::roles::{Actor, Role};
use caravan_assistance::usecontrol::{ConsentDecision, Recipient, UseAction};
use chrono::Days;

use crate::error::AssistError;
use crate::service::{AssistanceNode, ConsentAsk, EvidenceUpload, UploadContent, today};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The officials of one administration, one account per role.
#[derive(Debug, Clone)]
pub struct Officials {
    pub desk: Actor,
    pub supervisor: Actor,
    pub investigator: Actor,
    pub analyst: Actor,
    pub dpo: Actor,
    pub admin: Actor,
}

impl Officials {
    /// `us.desk`, `us.supervisor`, … for the party code `US`.
    pub fn of(admin_code: &str) -> Officials {
        let p = admin_code.to_lowercase();
        let a = |name: &str, role| Actor::new(&format!("{p}.{name}"), role);
        Officials {
            desk: a("desk", Role::DeskOfficer),
            supervisor: a("supervisor", Role::Supervisor),
            investigator: a("investigator", Role::Investigator),
            analyst: a("analyst", Role::Analyst),
            dpo: a("dpo", Role::AuditorDpo),
            admin: a("admin", Role::Administrator),
        }
    }
}

/// The US request of the reference case: verify origin and value (R02 + R04).
pub fn origin_and_value_request() -> RequestDraft {
    let mut d = RequestDraft {
        requesting_contact_point: "us-cbp-ilo-desk".into(),
        agreement_article: "Art. 4 (assessment); Art. 3 (lawful movement)".into(),
        subject: "Origin and value of a cotton yarn shipment flagged by mirror analysis".into(),
        types: vec![RequestType::R02, RequestType::R04],
        object:
            "Verify the declared origin and transaction value against the Uzbek export declaration"
                .into(),
        reason: "Declared unit value is 41 % below the corridor median and the mirror export \
                 declares a different value"
            .into(),
        case_statement: "US entry 123-4567890-1 declares Uzbek origin for 18 t of combed cotton \
                         yarn (HS 5205.12); Caravan's mirror matching links it to an Uzbek export \
                         declaration whose value is higher"
            .into(),
        enquiries_already_carried_out: "Importer questioned; commercial invoice and packing list \
                                        obtained; bill of lading checked"
            .into(),
        legal_provisions: "19 U.S.C. 1401a (value); 19 U.S.C. 1592 (penalties)".into(),
        persons: vec![PersonConcerned {
            name: "Silk Road Yarn Export LLC".into(),
            kind: PersonKind::Legal,
            identifiers: vec!["UZ-STIR:301234567".into()],
        }],
        nature_of_proceedings: "Administrative: post-clearance audit, possible civil penalty"
            .into(),
        link_to_matter: "The export declaration and invoice fix origin and transaction value"
            .into(),
        language: "en".into(),
        purposes_sought: vec![Purpose::Admin],
        ..RequestDraft::default()
    };
    d.extra.insert(
        "declaration_references".into(),
        "UZ EX 2026/004711; US 123-4567890-1".into(),
    );
    d.extra.insert("hs_codes".into(), "5205.12".into());
    d
}

/// A second request, for offence information on persons (R03), which the story refuses.
pub fn offence_information_request() -> RequestDraft {
    let mut d = origin_and_value_request();
    d.subject = "Offence information on the exporter's directors".into();
    d.types = vec![RequestType::R03];
    d.object = "Criminal records and other offences of the exporter's directors".into();
    d.nature_of_proceedings = "Criminal investigation".into();
    d.purposes_sought = vec![Purpose::Intel];
    d
}

/// A third request, on lawful movement (R01), which the story leaves unanswered.
pub fn lawful_movement_request() -> RequestDraft {
    let mut d = origin_and_value_request();
    d.subject = "Lawful export of a consignment of dried apricots".into();
    d.types = vec![RequestType::R01];
    d.object = "Whether the goods were lawfully exported from Uzbekistan".into();
    d
}

/// The two evidence files of the reply, as Uzbekistan supplies them.
pub fn reply_evidence() -> Vec<EvidenceUpload> {
    let markings = Markings::new(Tlp::Amber, Pap::Amber);
    vec![
        EvidenceUpload {
            name: "export-declaration-UZ-EX-2026-004711.pdf".into(),
            media_type: "application/pdf".into(),
            content: UploadContent::Bytes(b"%PDF-1.7\n% Export declaration UZ EX 2026/004711, certified copy\n\
                     Exporter: Silk Road Yarn Export LLC (STIR 301234567)\n\
                     Goods: combed cotton yarn, HS 5205.12, 18 000 kg, origin UZ\n\
                     Statistical value: USD 61 200.00\n%%EOF\n"
                .to_vec()),
            form: Form::CertifiedCopy,
            certification: Some(
                "Certified true copy, Customs Committee of the Republic of Uzbekistan, \
                 international cooperation department"
                    .into(),
            ),
            markings: markings.clone(),
            permitted_uses: vec![Purpose::Intel, Purpose::Admin, Purpose::Civil, Purpose::Criminal],
        },
        EvidenceUpload {
            name: "invoice-SRY-2026-0113.pdf".into(),
            media_type: "application/pdf".into(),
            content: UploadContent::Bytes(b"%PDF-1.7\n% Commercial invoice SRY-2026-0113\n\
                     Seller: Silk Road Yarn Export LLC; buyer: Example Imports Inc.\n\
                     18 000 kg combed cotton yarn at USD 3.40/kg, total USD 61 200.00, FCA Tashkent\n%%EOF\n"
                .to_vec()),
            form: Form::Copy,
            certification: None,
            markings,
            permitted_uses: vec![Purpose::Intel, Purpose::Admin, Purpose::Civil, Purpose::Criminal],
        },
    ]
}

/// What the story did, for the demo's printout and the tests' assertions.
#[derive(Debug, Clone, Default)]
pub struct StoryOutcome {
    /// The origin-and-value case.
    pub main_case: String,
    /// The refused case.
    pub refused_case: String,
    /// The overdue case.
    pub overdue_case: String,
    /// Evidence ids of the reply.
    pub evidence: Vec<String>,
    /// The consent granted for court use.
    pub consent: String,
    /// The erasure confirmed by the partner.
    pub erasure: String,
    /// Every refusal the story provoked: (what was tried, code).
    pub refusals: Vec<(String, String)>,
    /// The instant the story ended (ms), past the overdue case's deadline.
    pub ended_at: i64,
}

fn expect_refusal<T>(
    out: &mut StoryOutcome,
    what: &str,
    result: Result<T, AssistError>,
) -> Result<(), AssistError> {
    match result {
        Ok(_) => Err(AssistError::internal(format!(
            "the story expected {what} to be refused"
        ))),
        Err(e) if e.is_refusal() => {
            out.refusals.push((what.to_owned(), e.code.to_owned()));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Plays the reference case from `t0` (ms). `settle(now)` must deliver every queued message
/// both ways and apply it before returning.
pub fn play(
    us: &AssistanceNode,
    uz: &AssistanceNode,
    t0: i64,
    settle: &mut dyn FnMut(i64) -> Result<(), AssistError>,
) -> Result<StoryOutcome, AssistError> {
    let mut out = StoryOutcome::default();
    let (usx, uzx) = (Officials::of("US"), Officials::of("UZ"));
    let mut now = t0;
    for node in [us, uz] {
        node.install_agreement(US_UZ_CMAA_2024, now)?;
    }

    // The agreement is only signed: no request may leave.
    expect_refusal(
        &mut out,
        "request under an agreement not in force",
        us.create_request(
            &usx.desk,
            origin_and_value_request(),
            "us-cbp-ilo-desk",
            now,
        ),
    )?;
    // Entry into force, by the two-person rule on each side.
    for (node, o) in [(us, &usx), (uz, &uzx)] {
        expect_refusal(
            &mut out,
            "status change by one person",
            node.set_agreement_status(
                AgreementState::InForce,
                today(now),
                "Diplomatic note (demo)",
                [&o.admin, &o.admin],
                now,
            ),
        )?;
        node.set_agreement_status(
            AgreementState::InForce,
            today(now),
            "Exchange of diplomatic notes confirming entry into force (demo)",
            [&o.admin, &o.supervisor],
            now,
        )?;
    }
    // Incomplete content, and a role outside its rights.
    let mut incomplete = origin_and_value_request();
    incomplete.case_statement.clear();
    incomplete.extra.remove("hs_codes");
    expect_refusal(
        &mut out,
        "request with missing mandatory content",
        us.create_request(&usx.desk, incomplete, "us-cbp-ilo-desk", now),
    )?;
    expect_refusal(
        &mut out,
        "analyst drafting a request",
        us.create_request(
            &usx.analyst,
            origin_and_value_request(),
            "us-cbp-ilo-desk",
            now,
        ),
    )?;

    // 1. The origin-and-value request.
    let main = us.create_request(
        &usx.desk,
        origin_and_value_request(),
        "us-cbp-ilo-desk",
        now,
    )?;
    out.main_case = main.case_id.clone();
    us.act(
        &usx.desk,
        None,
        &main.case_id,
        Event::Submit,
        "request.send",
        now,
    )?;
    settle(now)?;
    now += DAY_MS;
    expect_refusal(
        &mut out,
        "transition not allowed (accept before acknowledgement)",
        uz.act(
            &uzx.supervisor,
            None,
            &main.case_id,
            Event::Accept,
            "request.accept",
            now,
        ),
    )?;
    uz.act(
        &uzx.desk,
        None,
        &main.case_id,
        Event::Acknowledge,
        "request.acknowledge",
        now,
    )?;
    expect_refusal(
        &mut out,
        "desk officer accepting (supervisor only)",
        uz.act(
            &uzx.desk,
            None,
            &main.case_id,
            Event::Accept,
            "request.accept",
            now,
        ),
    )?;
    uz.act(
        &uzx.supervisor,
        None,
        &main.case_id,
        Event::Accept,
        "request.accept",
        now,
    )?;
    settle(now)?;

    // 2. The reply with evidence, approved by the supervisor.
    now += 9 * DAY_MS;
    expect_refusal(
        &mut out,
        "reply without supervisor approval",
        uz.reply(&uzx.desk, None, &main.case_id, reply_evidence(), None, now),
    )?;
    uz.reply(
        &uzx.desk,
        Some(&uzx.supervisor),
        &main.case_id,
        reply_evidence(),
        None,
        now,
    )?;
    settle(now)?;
    out.evidence = us
        .store()
        .case_evidence(&main.case_id)?
        .into_iter()
        .map(|e| e.evidence_id)
        .collect();
    let declaration = out.evidence.first().cloned().unwrap_or_default();

    // 3. Use in court needs the provider's prior written consent.
    now += DAY_MS;
    let court = Recipient::Court("US v. Example Imports Inc., CIT No. 26-00042".into());
    expect_refusal(
        &mut out,
        "use beyond the permitted purposes (court without consent)",
        us.use_evidence(
            &usx.investigator,
            &declaration,
            UseAction::PresentInProceedings,
            Purpose::Criminal,
            court.clone(),
            now,
        ),
    )?;
    expect_refusal(
        &mut out,
        "marking loosened by the receiver",
        us.tighten_marking(
            &usx.analyst,
            &declaration,
            None,
            Markings::new(Tlp::Green, Pap::Green),
            "wider sharing",
            now,
        ),
    )?;
    // A receiver may tighten: the exporter field names a company's officers.
    let tighter = Markings::new(Tlp::Amber, Pap::Red)
        .with_caveat("PERSONAL-DATA")
        .map_err(|e| AssistError::internal(e.to_string()))?;
    us.tighten_marking(
        &usx.analyst,
        &declaration,
        Some("exporter"),
        tighter,
        "names a person",
        now,
    )?;
    let consent = us.request_consent(
        &usx.investigator,
        ConsentAsk {
            case_id: main.case_id.clone(),
            items: out.evidence.clone(),
            purpose: Purpose::Criminal,
            recipient: court.clone(),
            justification: "Evidence of undervaluation for the criminal case".into(),
            proceedings_reference: Some("CIT No. 26-00042".into()),
            needed_by: today(now) + Days::new(30),
        },
        now,
    )?;
    out.consent = consent.consent_id.clone();
    settle(now)?;
    expect_refusal(
        &mut out,
        "consent decided by a desk officer",
        uz.decide_consent(
            &uzx.desk,
            &consent.consent_id,
            ConsentDecision::Granted { expires_on: None },
            now,
        ),
    )?;
    uz.decide_consent(
        &uzx.supervisor,
        &consent.consent_id,
        ConsentDecision::Granted {
            expires_on: Some(today(now) + Days::new(365)),
        },
        now,
    )?;
    settle(now)?;
    us.use_evidence(
        &usx.investigator,
        &declaration,
        UseAction::PresentInProceedings,
        Purpose::Criminal,
        court,
        now,
    )?;
    us.act(
        &usx.desk,
        None,
        &main.case_id,
        Event::Close,
        "request.close",
        now,
    )?;
    settle(now)?;

    // 4. A request refused with grounds.
    let refused = us.create_request(
        &usx.desk,
        offence_information_request(),
        "us-cbp-ilo-desk",
        now,
    )?;
    out.refused_case = refused.case_id.clone();
    us.act(
        &usx.desk,
        None,
        &refused.case_id,
        Event::Submit,
        "request.send",
        now,
    )?;
    settle(now)?;
    uz.act(
        &uzx.desk,
        None,
        &refused.case_id,
        Event::Acknowledge,
        "request.acknowledge",
        now,
    )?;
    expect_refusal(
        &mut out,
        "refusal without a reason",
        uz.act(
            &uzx.supervisor,
            None,
            &refused.case_id,
            Event::Refuse {
                grounds: vec![Ground::G05],
                reason: " ".into(),
            },
            "request.refuse",
            now,
        ),
    )?;
    uz.act(
        &uzx.supervisor,
        None,
        &refused.case_id,
        Event::Refuse {
            grounds: vec![Ground::G07, Ground::G05],
            reason: "Uzbek law on personal data bars disclosure of the directors' records \
                     without a court order; information on the company's trade is available \
                     under R02"
                .into(),
        },
        "request.refuse",
        now,
    )?;
    settle(now)?;

    // 5. A request acknowledged and accepted, then left unanswered: overdue.
    let late = us.create_request(&usx.desk, lawful_movement_request(), "us-cbp-ilo-desk", now)?;
    out.overdue_case = late.case_id.clone();
    us.act(
        &usx.desk,
        None,
        &late.case_id,
        Event::Submit,
        "request.send",
        now,
    )?;
    settle(now)?;
    uz.act(
        &uzx.desk,
        None,
        &late.case_id,
        Event::Acknowledge,
        "request.acknowledge",
        now,
    )?;
    uz.act(
        &uzx.supervisor,
        None,
        &late.case_id,
        Event::Accept,
        "request.accept",
        now,
    )?;
    settle(now)?;

    // 6. The partner's assurance withdrawn: nothing operational may be shared with it.
    {
        let (node, o) = (uz, &uzx);
        node.set_assurance(
            caravan_assistance::agreement::AssuranceState::Violated,
            "Demo: assurances of confidentiality breached",
            [&o.supervisor, &o.dpo],
            now,
        )?;
        expect_refusal(
            &mut out,
            "sharing with a partner whose assurance is withdrawn",
            node.reply(
                &o.supervisor,
                None,
                &late.case_id,
                reply_evidence(),
                None,
                now,
            ),
        )?;
        node.set_assurance(
            caravan_assistance::agreement::AssuranceState::GoodStanding,
            "Demo: assurances renewed",
            [&o.supervisor, &o.dpo],
            now,
        )?;
    }

    // 7. Erasure propagates to the partner, which confirms it.
    let invoice = out.evidence.get(1).cloned().unwrap_or_default();
    let erasure = uz.propagate(
        &uzx.desk,
        &main.case_id,
        caravan_assistance::retention::PropagationKind::Erase,
        vec![invoice],
        "Invoice superseded by a corrected one",
        now,
    )?;
    out.erasure = erasure.erasure_id.clone();
    settle(now)?;

    // 8. A hundred days later the third request is past T_exec; reminders go out.
    now += 100 * DAY_MS;
    us.run_reminders(now)?;
    settle(now)?;
    out.ended_at = now;
    Ok(out)
}

/// `settle` for two nodes joined by a running exchange: pumps both until nothing has moved
/// for `quiet_rounds` consecutive rounds `pause` apart (messages, receipts and replies all
/// delivered and applied), or fails after `timeout`. Blocking: call it from a blocking thread.
/// Both nodes under the agreement in force and one origin-and-value request of the US side
/// accepted by UZ: where UZ can reply with evidence. The large-evidence test and benchmark
/// start here. Returns the case id.
pub fn up_to_accepted(
    us: &AssistanceNode,
    uz: &AssistanceNode,
    at: i64,
    settle: &mut dyn FnMut(i64) -> Result<(), AssistError>,
) -> Result<String, AssistError> {
    let (usx, uzx) = (Officials::of("US"), Officials::of("UZ"));
    for (n, o) in [(us, &usx), (uz, &uzx)] {
        n.install_agreement(US_UZ_CMAA_2024, at)?;
        n.set_agreement_status(
            AgreementState::InForce,
            today(at),
            "in force",
            [&o.admin, &o.supervisor],
            at,
        )?;
    }
    let case = us.create_request(&usx.desk, origin_and_value_request(), "us-cbp-ilo-desk", at)?;
    us.act(
        &usx.desk,
        None,
        &case.case_id,
        Event::Submit,
        "request.send",
        at,
    )?;
    settle(at)?;
    uz.act(
        &uzx.desk,
        None,
        &case.case_id,
        Event::Acknowledge,
        "request.acknowledge",
        at,
    )?;
    uz.act(
        &uzx.supervisor,
        None,
        &case.case_id,
        Event::Accept,
        "request.accept",
        at,
    )?;
    settle(at)?;
    Ok(case.case_id)
}

pub fn settle_over_exchange(
    nodes: [&AssistanceNode; 2],
    now: i64,
    pause: std::time::Duration,
    quiet_rounds: u32,
    timeout: std::time::Duration,
) -> Result<(), AssistError> {
    let deadline = std::time::Instant::now() + timeout;
    let mut quiet = 0;
    while quiet < quiet_rounds {
        let mut moved = 0;
        for node in nodes {
            let r = node.pump(now)?;
            moved += r.dispatched + r.applied + r.receipts + r.rejected.len() as u32;
            if let Some((id, code)) = r.held.first() {
                return Err(AssistError::new(
                    crate::error::ErrorKind::Unavailable,
                    "message_held",
                    format!("the exchange refused message {id}: {code}"),
                ));
            }
        }
        quiet = if moved == 0 { quiet + 1 } else { 0 };
        if std::time::Instant::now() > deadline {
            return Err(AssistError::new(
                crate::error::ErrorKind::Unavailable,
                "settle_timeout",
                "messages were still moving when the time ran out",
            ));
        }
        std::thread::sleep(pause);
    }
    Ok(())
}

/// What the desk's further procedures did (issue 5, part B), for the demo and the tests.
#[derive(Debug, Clone, Default)]
pub struct ProceduresOutcome {
    /// The oral request confirmed in writing (same id on both nodes).
    pub oral_case: String,
    /// An oral request left unconfirmed: overdue on `T_confirm`.
    pub unconfirmed_oral: String,
    /// The forced-disclosure notice.
    pub disclosure: String,
    /// The original certificate of origin, checked out, reminded, returned, confirmed.
    pub original: String,
    /// Evidence ids reminded as due back.
    pub originals_reminded: Vec<String>,
    /// The provider's erasure answered with a legal hold.
    pub held_erasure: String,
    /// Items erased on expiry of their retention class (told with `Data.Erased`).
    pub expired: Vec<String>,
    /// Two-person proposals approved (directory, assurance there and back).
    pub proposals: Vec<String>,
    /// Refusals provoked, with their codes.
    pub refusals: Vec<(String, String)>,
    /// When it ended (ms).
    pub ended_at: i64,
}

/// The original certificate of origin the UZ side supplies in answer to the oral request.
pub fn original_certificate() -> EvidenceUpload {
    EvidenceUpload {
        name: "certificate-of-origin-UZ-2026-0042-original.pdf".into(),
        media_type: "application/pdf".into(),
        content: UploadContent::Bytes(
            b"%PDF-1.7\n% Certificate of origin UZ 2026/0042 (scan of the original)\n\
                 Dried apricots, HS 0813.10, 24 000 kg, origin UZ\n%%EOF\n"
                .to_vec(),
        ),
        form: Form::Original,
        certification: None,
        markings: Markings::new(Tlp::Amber, Pap::Amber),
        permitted_uses: vec![Purpose::Intel, Purpose::Admin, Purpose::Civil],
    }
}

/// The procedures of part B, played after [`play`] on the same two nodes from
/// `main.ended_at`: the two-person rule through proposals (a directory entry; the partner's
/// assurance withdrawn and restored, which moves the exchange's gate too), an urgent oral
/// request confirmed in writing and answered with an original, a second oral request left
/// unconfirmed, a disclosure forced by domestic law, the original's checkout, reminder,
/// return and confirmed receipt, a legal hold answering the provider's erasure, and
/// erasure on expiry of a retention class told to the provider.
pub fn play_procedures(
    us: &AssistanceNode,
    uz: &AssistanceNode,
    main: &StoryOutcome,
    settle: &mut dyn FnMut(i64) -> Result<(), AssistError>,
) -> Result<ProceduresOutcome, AssistError> {
    use caravan_assistance::agreement::{AssuranceState, ContactPoint};
    use caravan_assistance::approval::AgreementChange;
    use caravan_assistance::catalogue::Urgency;
    use caravan_assistance::retention::{RetentionClass, ReviewDecision};

    use crate::approval::ProposalDecision;
    use crate::disclosure::DisclosureInput;
    use crate::oral::OralIntake;

    let mut out = ProceduresOutcome::default();
    let (usx, uzx) = (Officials::of("US"), Officials::of("UZ"));
    let mut now = main.ended_at + DAY_MS;
    let mut refused = |what: &str, r: Result<(), AssistError>| -> Result<(), AssistError> {
        let mut tmp = StoryOutcome::default();
        expect_refusal(&mut tmp, what, r)?;
        out.refusals.extend(tmp.refusals);
        Ok(())
    };

    // 1. Two-person rule through a proposal: a new US contact point.
    let entry = ContactPoint {
        id: "us-cbp-24x7".into(),
        party: "US".into(),
        unit: "CBP National Targeting Center, 24/7 watch".into(),
        role: "urgent oral requests".into(),
        request_types: vec![caravan_assistance::catalogue::RequestType::R01],
        languages: vec!["en".into()],
        channels: vec!["+1 202 555 0100".into()],
        valid_from: today(now),
        valid_to: None,
    };
    let proposal = us.propose_agreement_change(
        &usx.admin,
        AgreementChange::Directory {
            entry,
            reason: "24/7 number for urgent oral requests".into(),
        },
        now,
    )?;
    refused(
        "approval of one's own proposal",
        us.decide_proposal(
            &usx.admin,
            &proposal.proposal_id,
            ProposalDecision::Approve,
            now,
        )
        .map(|_| ()),
    )?;
    us.decide_proposal(
        &usx.supervisor,
        &proposal.proposal_id,
        ProposalDecision::Approve,
        now,
    )?;
    out.proposals.push(proposal.proposal_id);

    // 2. An urgent oral request, then its written confirmation under the same id.
    let reply_by = today(now) + Days::new(7);
    let oral = uz.record_oral(
        &uzx.desk,
        OralIntake {
            caller: "US CBP NTC watch officer J. Doe, +1 202 555 0100".into(),
            received_on: None,
            summary: "Whether container MSCU1234565 of dried apricots left Uzbekistan lawfully"
                .into(),
            types: vec![caravan_assistance::catalogue::RequestType::R01],
            justification: "Vessel arrives in 3 days; release decision pending".into(),
            reply_by,
            desk: None,
        },
        now,
    )?;
    out.oral_case = oral.case_id.clone();
    let mut written = lawful_movement_request();
    written.urgency = Some(Urgency {
        justification: "Vessel arrives in 3 days; release decision pending".into(),
        reply_by,
    });
    us.confirm_oral_request(&usx.desk, &oral.case_id, written, "us-cbp-ilo-desk", now)?;
    us.act(
        &usx.desk,
        None,
        &oral.case_id,
        Event::Submit,
        "request.send",
        now,
    )?;
    settle(now)?;
    // A second oral request is never confirmed.
    let unconfirmed = uz.record_oral(
        &uzx.desk,
        OralIntake {
            caller: "US CBP attaché, Tashkent".into(),
            received_on: None,
            summary: "Exporter history of Silk Road Yarn Export LLC".into(),
            types: vec![caravan_assistance::catalogue::RequestType::R03],
            justification: "Suspect shipment at sea".into(),
            reply_by,
            desk: None,
        },
        now,
    )?;
    out.unconfirmed_oral = unconfirmed.case_id.clone();
    refused(
        "reply to an oral request before its written confirmation",
        uz.act(
            &uzx.desk,
            None,
            &unconfirmed.case_id,
            Event::Acknowledge,
            "request.acknowledge",
            now,
        )
        .map(|_| ()),
    )?;

    // 3. The confirmed request is answered with an original.
    uz.act(
        &uzx.desk,
        None,
        &oral.case_id,
        Event::Acknowledge,
        "request.acknowledge",
        now,
    )?;
    uz.act(
        &uzx.supervisor,
        None,
        &oral.case_id,
        Event::Accept,
        "request.accept",
        now,
    )?;
    uz.reply(
        &uzx.desk,
        Some(&uzx.supervisor),
        &oral.case_id,
        vec![original_certificate()],
        None,
        now,
    )?;
    settle(now)?;
    let original = us
        .store()
        .case_evidence(&oral.case_id)?
        .into_iter()
        .next()
        .map(|e| e.evidence_id)
        .ok_or_else(|| AssistError::internal("the original did not arrive"))?;
    out.original = original.clone();
    us.checkout_original(
        &usx.investigator,
        &original,
        "US Attorney's Office, District of Columbia (exhibit room)",
        "good; two staples, no annotations",
        today(now) + Days::new(14),
        now,
    )?;

    // 4. A disclosure compelled by a subpoena, told to the provider in advance.
    let declaration = main.evidence.first().cloned().unwrap_or_default();
    let subpoena = |instrument: &str| DisclosureInput {
        case_id: main.main_case.clone(),
        items: vec![declaration.clone()],
        legal_instrument: instrument.into(),
        authority: Recipient::Court("U.S. District Court for the District of Columbia".into()),
        disclosure_date: today(now) + Days::new(10),
        summary: "The certified export declaration, as exhibit to the importer's trial".into(),
    };
    refused(
        "forced disclosure without its legal instrument",
        us.disclose_under_domestic_law(&usx.investigator, subpoena(" "), now)
            .map(|_| ()),
    )?;
    out.disclosure = us
        .disclose_under_domestic_law(
            &usx.investigator,
            subpoena("Subpoena duces tecum No. 26-SC-0117, 19 CFR 103.21"),
            now,
        )?
        .notice_id;
    settle(now)?;

    // 5. A legal hold: the provider's erasure is answered with it.
    us.place_hold(
        &usx.supervisor,
        &declaration,
        "Exhibit in pending criminal proceedings",
        now,
    )?;
    settle(now)?;
    let erasure = uz.propagate(
        &uzx.desk,
        &main.main_case,
        caravan_assistance::retention::PropagationKind::Erase,
        vec![declaration.clone()],
        "Declaration superseded",
        now,
    )?;
    out.held_erasure = erasure.erasure_id;
    settle(now)?;

    // 6. The partner's assurance withdrawn and restored by proposals (UZ side).
    for (to, why) in [
        (
            AssuranceState::Violated,
            "Demo: confidentiality breach reported",
        ),
        (
            AssuranceState::GoodStanding,
            "Demo: assurances renewed in writing",
        ),
    ] {
        let p = uz.propose_agreement_change(
            &uzx.supervisor,
            AgreementChange::Assurance {
                to,
                reason: why.into(),
            },
            now,
        )?;
        uz.decide_proposal(&uzx.dpo, &p.proposal_id, ProposalDecision::Approve, now)?;
        out.proposals.push(p.proposal_id);
    }

    // 7. Fifteen days on: the original is due back (reminded), the oral request unconfirmed.
    now += 15 * DAY_MS;
    us.run_reminders(now)?;
    uz.run_reminders(now)?;
    out.originals_reminded = us
        .originals_due(&usx.supervisor, today(now))?
        .iter()
        .filter_map(|v| v["evidence_id"].as_str().map(str::to_owned))
        .collect();
    us.return_original(
        &usx.investigator,
        &original,
        "good; as received",
        "Returned by diplomatic pouch No. 4471",
        now,
    )?;
    settle(now)?;
    uz.confirm_original_receipt(&uzx.desk, &original, "good; complete", now)?;
    settle(now)?;

    // 8. The hold is lifted; the court clears the person: the class says erase now.
    us.lift_hold(&usx.supervisor, &declaration, "Proceedings closed", now)?;
    us.review_retention(
        &usx.dpo,
        &declaration,
        ReviewDecision::Keep {
            reason: "Person cleared by the court; erase under the schedule".into(),
        },
        Some(RetentionClass::PersonCleared),
        Some(true),
        now,
    )?;
    out.expired = us.erase_expired(now)?;
    settle(now)?;
    out.ended_at = now;
    Ok(out)
}
