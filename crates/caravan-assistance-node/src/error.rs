//! Errors of the assistance workflow: a stable snake_case code, a public message, and the
//! kind that decides the HTTP status or CLI exit at the edge.
//!
//! Why one type with a code rather than the pure core's many enums: every refusal of a user
//! action is audited and answered the same way, so the service converts each pure error once,
//! keeping its code (`request_incomplete`, `transition_not_allowed`, `partner_assurance_withdrawn`,
//! `purpose_not_permitted`, `marking_loosened`, `evidence_digest_mismatch`, …), and the edges
//! map [`ErrorKind`] to a status. Store and exchange failures are `Internal` or `Unavailable`
//! and their text never reaches a partner or a response body.

use caravan_store::{Conflict, StoreError};

/// Who can act on a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input or the requested move is refused by a rule (422).
    Refused,
    /// The input is malformed (400).
    BadInput,
    /// The role or need-to-know refuses it (403).
    Forbidden,
    /// The thing does not exist (404).
    NotFound,
    /// Someone else changed it first; re-read and retry (409).
    Conflict,
    /// The store or the exchange is unavailable; retry later (503).
    Unavailable,
    /// A bug or corruption (500).
    Internal,
}

/// A refused or failed assistance action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AssistError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

impl AssistError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> AssistError {
        AssistError {
            kind,
            code,
            message: message.into(),
        }
    }

    /// A rule refusal carrying the pure core's code and message.
    pub fn refused(code: &'static str, message: impl std::fmt::Display) -> AssistError {
        let kind = if matches!(
            code,
            "role_not_permitted"
                | "two_person_required"
                | "two_person_same_account"
                | "two_person_wrong_roles"
                | "not_own_case"
                | "no_need_to_know"
        ) {
            ErrorKind::Forbidden
        } else {
            ErrorKind::Refused
        };
        AssistError::new(kind, code, message.to_string())
    }

    pub fn bad_input(code: &'static str, message: impl Into<String>) -> AssistError {
        AssistError::new(ErrorKind::BadInput, code, message)
    }

    pub fn not_found(what: &str, id: &str) -> AssistError {
        AssistError::new(
            ErrorKind::NotFound,
            "not_found",
            format!("no {what} {id:?} on this node"),
        )
    }

    pub fn internal(message: impl Into<String>) -> AssistError {
        AssistError::new(ErrorKind::Internal, "internal", message)
    }

    /// Whether the failure is a refusal of the user's action (audited as refused), rather
    /// than a failure of the node.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Refused | ErrorKind::BadInput | ErrorKind::Forbidden | ErrorKind::Conflict
        )
    }
}

impl From<StoreError> for AssistError {
    fn from(e: StoreError) -> AssistError {
        match e {
            StoreError::NotFound => AssistError::new(ErrorKind::NotFound, "not_found", "not found"),
            StoreError::Conflict(Conflict::StaleWrite { what, id }) => AssistError::new(
                ErrorKind::Conflict,
                "stale_write",
                format!("{what} {id} was changed meanwhile; read it again and retry"),
            ),
            StoreError::Conflict(other) => {
                AssistError::new(ErrorKind::Conflict, "conflict", other.to_string())
            }
            StoreError::Unavailable(m) => {
                AssistError::new(ErrorKind::Unavailable, "store_unavailable", m)
            }
            StoreError::Other(m) => AssistError::internal(m),
        }
    }
}

/// Converts the pure core's coded errors.
macro_rules! from_coded {
    ($($t:ty),+ $(,)?) => {$(
        impl From<$t> for AssistError {
            fn from(e: $t) -> AssistError {
                AssistError::refused(e.code(), &e)
            }
        }
    )+};
}

from_coded!(
    caravan_assistance::agreement::AgreementError,
    caravan_assistance::catalogue::IntakeError,
    caravan_assistance::lifecycle::TransitionError,
    caravan_assistance::roles::RoleError,
    caravan_assistance::usecontrol::UseError,
    caravan_assistance::usecontrol::ConsentError,
    caravan_assistance::marking::MarkingError,
    caravan_assistance::evidence::EvidenceError,
    caravan_assistance::retention::RetentionError,
    caravan_assistance::approval::ApprovalError,
    caravan_assistance::usecontrol::DisclosureError,
);
