//! The JSON bodies the assistance workflow sends to the partner, one per exchange action.
//!
//! Why a body of its own inside the signed envelope: the exchange moves signed, encrypted
//! bytes; what the case needs is who acted (official and role, so the partner's copy can run
//! the same state machine), the event date, and a workflow message id that survives a
//! re-send after a crash (the receiver recognises it and does not apply the event twice).
//! Evidence files travel as separate parts named `evidence/<id>`, their digests in the
//! manifest entries of the body.

use caravan_assistance::agreement::Purpose;
use caravan_assistance::catalogue::RequestDraft;
use caravan_assistance::evidence::ManifestEntry;
use caravan_assistance::lifecycle::Event;
use caravan_assistance::marking::Markings;
use caravan_assistance::retention::ComplianceAck;
use caravan_assistance::roles::{Actor, Role};
use caravan_assistance::usecontrol::{ConsentCase, ConsentDecision};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Media type of the body part.
pub const BODY_MEDIA_TYPE: &str = "application/json";
/// Part id of the body.
pub const BODY_PART: &str = "body";
/// Prefix of evidence part ids.
pub const EVIDENCE_PART_PREFIX: &str = "evidence/";

/// An official as named in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Official {
    pub account: String,
    pub role: Role,
}

impl From<&Actor> for Official {
    fn from(a: &Actor) -> Official {
        Official {
            account: a.account.clone(),
            role: a.role,
        }
    }
}

impl Official {
    pub fn actor(&self) -> Actor {
        Actor::new(&self.account, self.role)
    }
}

/// Every workflow message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// The workflow's message id (not the exchange's): stable across re-sends.
    pub message_uuid: String,
    /// Case id (or `spontaneous:<id>`).
    pub case_id: String,
    pub agreement_id: String,
    /// Event date.
    pub on: NaiveDate,
    /// Who acted.
    pub by: Official,
    /// A supervisor's approval, where the transition asks for one.
    #[serde(default)]
    pub approved_by: Option<Official>,
    pub content: Content,
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// `Request.Submit`: the request itself.
    Submit {
        request: Box<RequestDraft>,
        desk: String,
    },
    /// Any other lifecycle event; a reply lists its evidence files.
    Transition {
        event: Event,
        #[serde(default)]
        evidence: Vec<ManifestEntry>,
    },
    /// `Consent.Request`.
    ConsentRequest { consent: ConsentCase },
    /// `Consent.Decision`.
    ConsentDecision {
        consent_id: String,
        decision: ConsentDecision,
    },
    /// `Spontaneous.Inform` (§4).
    Spontaneous {
        category: String,
        serious: bool,
        summary: String,
        markings: Markings,
        permitted_uses: Vec<Purpose>,
    },
    /// `Data.Erase` / `Data.Retract` (§11.2).
    Propagation {
        erasure_id: String,
        kind: String,
        items: Vec<String>,
        reason: String,
    },
    /// `Data.ComplianceAck`.
    ComplianceAck {
        erasure_id: String,
        ack: ComplianceAck,
    },
    /// `Disclosure.Notice` (§10.4), see `crate::disclosure`.
    DisclosureNotice(crate::disclosure::NoticeBody),
    /// `Evidence.ReturnOriginal` and the provider's receipt (`Evidence.CustodyEvent`) (§6),
    /// see `crate::originals`.
    Original(crate::originals::OriginalBody),
    /// `Data.Erased` and legal-hold notices (`Evidence.CustodyEvent`) (§11), see
    /// `crate::retention`.
    Retention(crate::retention::RetentionBody),
    /// `Query.HitNoHit` (§12), see `crate::hitnohit`.
    HitNoHitQuery(crate::hitnohit::QueryBody),
    /// `Query.Answer` (§12).
    HitNoHitAnswer(crate::hitnohit::AnswerBody),
    /// `Feedback.Outcome` (§15), see `crate::feedback`.
    FeedbackOutcome(crate::feedback::FeedbackBody),
    /// `Bulk.Batch` (§5): the manifest; the rows travel as parts. See `crate::bulk`.
    BulkBatch(crate::bulk::BatchManifest),
    /// `Marking.Change` (§9), see `crate::marking_change`.
    MarkingChange(crate::marking_change::MarkingChangeBody),
    /// `Directory.Update` (§1.8), see `crate::directory`.
    DirectoryUpdate(caravan_assistance::agreement::DirectoryUpdate),
}

impl Body {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a message body always serialises")
    }
}
