//! Who may act on a node, and the record of what they did (assistance spec §13, §14).
//!
//! Why in the store: an account, its API tokens and the audit trail must survive a
//! restart and must be written in the same database as the action they describe, so that
//! a refused or allowed action and its audit row can never disagree after a crash.
//!
//! Why the audit trail is hash-chained: the auditor/data-protection officer must be able to
//! show that no row was edited or removed after the fact. Each row carries
//! `SHA-256(previous digest ‖ canonical row)`, so [`verify_audit_chain`] finds any
//! change, deletion or reordering. The chain is appended under the backend's write lock,
//! so two writers can never fork it.
//!
//! Tokens are stored only as SHA-256 digests of their secret: a copy of the database does
//! not let anyone act as an officer. Times are Unix milliseconds chosen by the caller.

use sha2::{Digest, Sha256};

use crate::StoreError;

/// An officer's or service's account on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Unique login name, e.g. `a.karimov`.
    pub name: String,
    /// Full name shown in the UI and the audit trail.
    pub display_name: String,
    /// One role code of assistance spec §13 (`desk_officer`, `analyst`, …).
    pub role: String,
    /// A disabled account's tokens and sessions are refused.
    pub disabled: bool,
    /// When the account was created (ms).
    pub created_at: i64,
}

/// An API token as stored: the digest of its secret, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// SHA-256 of the token secret.
    pub sha256: [u8; 32],
    /// The account the token acts as.
    pub account: String,
    /// Why it was issued (`cli`, `demo`, `signin session`, …).
    pub label: String,
    /// When it was issued (ms).
    pub created_at: i64,
    /// It is refused at or after this instant (ms); `None` = until revoked.
    pub expires_at: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// Whether an audited action was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// The action happened.
    Allowed,
    /// The action was refused; `code` says why.
    Refused,
}

impl AuditOutcome {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Allowed => "allowed",
            AuditOutcome::Refused => "refused",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<AuditOutcome> {
        match s {
            "allowed" => Some(AuditOutcome::Allowed),
            "refused" => Some(AuditOutcome::Refused),
            _ => None,
        }
    }
}

/// One event for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When it happened (ms).
    pub at: i64,
    /// Acting account (`system` for the node itself, `cli:<user>` for a local operator).
    pub account: String,
    /// The role the account acted in.
    pub role: String,
    /// Dotted action name, e.g. `screen.hit.disposition`, `request.view`.
    pub action: String,
    /// What it was done to, e.g. a case or hit id.
    pub object: String,
    /// Carried out or refused.
    pub outcome: AuditOutcome,
    /// The refusal code, if refused.
    pub code: Option<String>,
    /// JSON detail (never a secret).
    pub detail: String,
}

/// An audit row as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the trail, from 1.
    pub seq: i64,
    /// The event.
    pub event: AuditEvent,
    /// Digest of the previous row (zeros for the first).
    pub prev_sha256: [u8; 32],
    /// `SHA-256(prev_sha256 ‖ canonical(event, seq))`.
    pub sha256: [u8; 32],
}

/// Which audit rows to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this account's rows.
    pub account: Option<String>,
    /// Only actions starting with this prefix, e.g. `screen.`.
    pub action_prefix: Option<String>,
    /// Only rows about this object.
    pub object: Option<String>,
    /// Only rows after this sequence number.
    pub after_seq: Option<i64>,
    /// At most this many rows (oldest first); 0 means the backend's default of 1,000.
    pub limit: u32,
}

impl AuditQuery {
    /// The effective row limit.
    pub fn effective_limit(&self) -> i64 {
        if self.limit == 0 {
            1_000
        } else {
            i64::from(self.limit.min(100_000))
        }
    }
}

/// The digest of an audit row: binds the row to its position and its predecessor.
///
/// Canonical form: every field length-prefixed (u64 big-endian), so no two different rows
/// share an encoding.
pub fn audit_digest(prev: &[u8; 32], seq: i64, event: &AuditEvent) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"caravan-audit-v1\n");
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(event.at.to_be_bytes());
    let code = event.code.as_deref().unwrap_or("");
    for field in [
        event.account.as_str(),
        event.role.as_str(),
        event.action.as_str(),
        event.object.as_str(),
        event.outcome.as_str(),
        code,
        event.detail.as_str(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.update([u8::from(event.code.is_some())]);
    h.finalize().into()
}

/// Where an audit chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditChainError {
    /// A row's sequence number is not its predecessor's plus one.
    #[error("audit row {seq} follows row {previous}: a row is missing or out of order")]
    Gap {
        /// The row found.
        seq: i64,
        /// The row before it.
        previous: i64,
    },
    /// A row's `prev_sha256` is not its predecessor's digest.
    #[error("audit row {seq} does not chain to the row before it")]
    BrokenLink {
        /// The row.
        seq: i64,
    },
    /// A row's digest does not match its content: the row was edited.
    #[error("audit row {seq} was altered after it was written")]
    Altered {
        /// The row.
        seq: i64,
    },
}

/// Checks a contiguous run of audit rows (oldest first). The first row is checked against
/// its own `prev_sha256`; pass the whole trail from seq 1 to prove it from the start.
pub fn verify_audit_chain(rows: &[AuditRecord]) -> Result<(), AuditChainError> {
    for (i, row) in rows.iter().enumerate() {
        if row.seq == 1 && row.prev_sha256 != [0; 32] {
            return Err(AuditChainError::BrokenLink { seq: row.seq });
        }
        if i > 0 {
            let before = &rows[i - 1];
            if row.seq != before.seq + 1 {
                return Err(AuditChainError::Gap {
                    seq: row.seq,
                    previous: before.seq,
                });
            }
            if row.prev_sha256 != before.sha256 {
                return Err(AuditChainError::BrokenLink { seq: row.seq });
            }
        }
        if audit_digest(&row.prev_sha256, row.seq, &row.event) != row.sha256 {
            return Err(AuditChainError::Altered { seq: row.seq });
        }
    }
    Ok(())
}

/// Accounts, API tokens and the audit trail. Each method is one transaction.
pub trait AccessStore: Send + Sync {
    /// Creates an account; [`crate::Conflict::AccountExists`] if the name is taken.
    fn create_account(&self, account: &Account) -> Result<(), StoreError>;

    /// One account, if it exists.
    fn account(&self, name: &str) -> Result<Option<Account>, StoreError>;

    /// Every account, by name.
    fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Disables or re-enables an account; `NotFound` if there is none.
    fn set_account_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError>;

    /// Stores a new token digest for an existing, enabled account (`NotFound` otherwise).
    fn add_api_token(&self, token: &ApiToken) -> Result<(), StoreError>;

    /// The enabled account a token secret's digest acts as at `now`, if the token exists,
    /// has not expired and is not revoked.
    fn account_for_token(&self, sha256: &[u8; 32], now: i64)
    -> Result<Option<Account>, StoreError>;

    /// Revokes a token at `now`; `NotFound` if no such unrevoked token exists.
    fn revoke_api_token(&self, sha256: &[u8; 32], now: i64) -> Result<(), StoreError>;

    /// Appends one event to the chained trail and returns the stored row.
    fn append_audit(&self, event: &AuditEvent) -> Result<AuditRecord, StoreError>;

    /// Audit rows matching `query`, oldest first.
    fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
}

/// Shared SQL column lists and row decoding, so the two backends cannot drift.
pub mod columns {
    use super::{Account, AuditEvent, AuditOutcome, AuditRecord};
    use crate::StoreError;
    use crate::exchange::columns::Columns;

    /// Account columns, in [`account`]'s order.
    pub const ACCOUNT: &str = "name, display_name, role, disabled, created_at";
    /// Audit columns, in [`audit`]'s order.
    pub const AUDIT: &str =
        "seq, at, account, role, action, object, outcome, code, detail, prev_sha256, sha256";

    fn digest(v: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
        v.try_into()
            .map_err(|_| StoreError::Other(format!("stored {what} is not 32 bytes")))
    }

    /// Decodes an [`ACCOUNT`] row.
    pub fn account(row: &dyn Columns) -> Result<Account, StoreError> {
        Ok(Account {
            name: row.text(0)?,
            display_name: row.text(1)?,
            role: row.text(2)?,
            disabled: row.flag(3)?,
            created_at: row.int(4)?,
        })
    }

    /// Decodes an [`AUDIT`] row.
    pub fn audit(row: &dyn Columns) -> Result<AuditRecord, StoreError> {
        let outcome = row.text(6)?;
        Ok(AuditRecord {
            seq: row.int(0)?,
            event: AuditEvent {
                at: row.int(1)?,
                account: row.text(2)?,
                role: row.text(3)?,
                action: row.text(4)?,
                object: row.text(5)?,
                outcome: AuditOutcome::parse(&outcome).ok_or_else(|| {
                    StoreError::Other(format!("stored audit outcome {outcome:?} is unknown"))
                })?,
                code: row.opt_text(7)?,
                detail: row.text(8)?,
            },
            prev_sha256: digest(row.blob(9)?, "audit prev_sha256")?,
            sha256: digest(row.blob(10)?, "audit sha256")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: i64) -> AuditEvent {
        AuditEvent {
            at: 1_700_000_000_000 + n,
            account: "a.karimov".into(),
            role: "analyst".into(),
            action: "screen.hit.view".into(),
            object: format!("hit-{n}"),
            outcome: AuditOutcome::Allowed,
            code: None,
            detail: "{}".into(),
        }
    }

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = [0u8; 32];
        (1..=n)
            .map(|seq| {
                let event = event(seq);
                let sha256 = audit_digest(&prev, seq, &event);
                let row = AuditRecord {
                    seq,
                    event,
                    prev_sha256: prev,
                    sha256,
                };
                prev = sha256;
                row
            })
            .collect()
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify_audit_chain(&chain(5)), Ok(()));
    }

    #[test]
    fn an_edited_row_is_found() {
        let mut rows = chain(5);
        rows[2].event.outcome = AuditOutcome::Refused;
        assert_eq!(
            verify_audit_chain(&rows),
            Err(AuditChainError::Altered { seq: 3 })
        );
    }

    #[test]
    fn a_deleted_row_is_found() {
        let mut rows = chain(5);
        rows.remove(1);
        assert_eq!(
            verify_audit_chain(&rows),
            Err(AuditChainError::Gap {
                seq: 3,
                previous: 1
            })
        );
    }

    #[test]
    fn a_recomputed_row_still_breaks_the_link() {
        let mut rows = chain(4);
        rows[1].event.detail = r#"{"x":1}"#.into();
        rows[1].sha256 = audit_digest(&rows[1].prev_sha256, 2, &rows[1].event);
        assert_eq!(
            verify_audit_chain(&rows),
            Err(AuditChainError::BrokenLink { seq: 3 })
        );
    }

    #[test]
    fn field_boundaries_are_part_of_the_digest() {
        let mut a = event(1);
        let mut b = event(1);
        a.account = "ab".into();
        a.role = "c".into();
        b.account = "a".into();
        b.role = "bc".into();
        assert_ne!(audit_digest(&[0; 32], 1, &a), audit_digest(&[0; 32], 1, &b));
    }
}
