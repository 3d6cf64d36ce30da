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

/// How an account proves who it is in a browser (issue 9): a password and, optionally, a
/// TOTP second factor (RFC 6238).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// The account.
    pub account: String,
    /// argon2id PHC string (`$argon2id$v=19$m=…`), never the password.
    pub password_phc: Option<String>,
    /// The password was set by an administrator and must be changed at the next sign-in.
    pub must_change: bool,
    /// The confirmed TOTP secret, if the account has enrolled.
    pub totp_secret: Option<Vec<u8>>,
    /// A secret shown for enrolment and not yet confirmed with a first code.
    pub totp_pending: Option<Vec<u8>>,
    /// The RFC 6238 time step of the last accepted code (a code is never accepted twice).
    pub totp_last_step: Option<i64>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets stay out of logs and panics.
        f.debug_struct("Credentials")
            .field("account", &self.account)
            .field("has_password", &self.password_phc.is_some())
            .field("must_change", &self.must_change)
            .field("totp_enrolled", &self.totp_secret.is_some())
            .finish_non_exhaustive()
    }
}

/// A sign-in that passed its password and waits for its next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignin {
    /// SHA-256 of the secret the browser holds.
    pub sha256: [u8; 32],
    /// The account signing in.
    pub account: String,
    /// The second factor was proven in this sign-in.
    pub totp_ok: bool,
    /// When the password was accepted (ms).
    pub created_at: i64,
    /// It is refused at or after this instant (ms).
    pub expires_at: i64,
}

/// A change an administrator makes to an account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChange {
    /// The new role code.
    pub role: Option<String>,
    /// Disable (`true`) or enable (`false`).
    pub disabled: Option<bool>,
}

/// What [`AccessStore::change_account`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChanged {
    /// Changed; the account as it now is.
    Changed(Account),
    /// Refused: the change would leave the node without an enabled administrator.
    LastAdministrator,
}

/// The role code that administers accounts; the store keeps at least one enabled.
pub const ADMINISTRATOR_ROLE: &str = "administrator";

/// When failed sign-ins lock a subject out: `free` failures are allowed, then each
/// further failure locks for `base_ms` doubled per failure past the first locking one,
/// never longer than `max_ms`. Failures older than `forget_after_ms` are forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed before the first lockout.
    pub free: u32,
    /// The first lockout (ms).
    pub base_ms: i64,
    /// The longest lockout (ms).
    pub max_ms: i64,
    /// A quiet period after which the count starts again (ms).
    pub forget_after_ms: i64,
}

impl ThrottlePolicy {
    /// Per account: five tries, then 30 s, 60 s, 2 min, … up to 15 min.
    pub const ACCOUNT: ThrottlePolicy = ThrottlePolicy {
        free: 5,
        base_ms: 30_000,
        max_ms: 15 * 60_000,
        forget_after_ms: 60 * 60_000,
    };
    /// Per client address: twenty tries (an office shares one address), then the same
    /// doubling.
    pub const ADDRESS: ThrottlePolicy = ThrottlePolicy {
        free: 20,
        base_ms: 30_000,
        max_ms: 15 * 60_000,
        forget_after_ms: 60 * 60_000,
    };

    /// The lockout after the `failures`-th consecutive failure, in ms (0: none).
    pub fn lockout_ms(&self, failures: u32) -> i64 {
        if failures < self.free {
            return 0;
        }
        let doublings = (failures - self.free).min(40);
        self.base_ms
            .saturating_mul(1i64 << doublings)
            .min(self.max_ms)
    }

    /// The state after one more failure at `now`, given the stored state.
    pub fn after_failure(&self, stored: Option<&SigninThrottle>, now: i64) -> SigninThrottle {
        let failures = match stored {
            Some(s) if now.saturating_sub(s.last_failure_at) < self.forget_after_ms => {
                s.failures.saturating_add(1)
            }
            _ => 1,
        };
        let lock = self.lockout_ms(failures);
        SigninThrottle {
            failures,
            last_failure_at: now,
            locked_until: if lock > 0 {
                now.saturating_add(lock)
            } else {
                0
            },
        }
    }
}

/// The failed-sign-in state of one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigninThrottle {
    /// Consecutive failures.
    pub failures: u32,
    /// The last one (ms).
    pub last_failure_at: i64,
    /// Sign-in is refused before this instant (ms); 0 when not locked.
    pub locked_until: i64,
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

    /// The language the account chose for its pages (`en`, `uz` or `ru`), or `None` if it
    /// chose none; `NotFound` if there is no such account.
    fn account_language(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Sets (or with `None` clears) the account's page language, one of `en`, `uz`, `ru`
    /// (the column refuses anything else); `NotFound` if there is no such account.
    fn set_account_language(&self, name: &str, language: Option<&str>) -> Result<(), StoreError>;

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

    /// The credentials of an account (an empty set when it has none); `None` if there is
    /// no such account.
    fn credentials(&self, name: &str) -> Result<Option<Credentials>, StoreError>;

    /// Creates an account with an initial password in one transaction
    /// ([`crate::Conflict::AccountExists`] if the name is taken).
    fn create_account_with_password(
        &self,
        account: &Account,
        password_phc: &str,
        must_change: bool,
    ) -> Result<(), StoreError>;

    /// Sets an account's password; `NotFound` if there is no such account.
    fn set_password(
        &self,
        name: &str,
        password_phc: &str,
        must_change: bool,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Stores (or with `None` clears) a TOTP secret awaiting confirmation; `NotFound` if
    /// there is no such account.
    fn set_totp_pending(
        &self,
        name: &str,
        secret: Option<&[u8]>,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Makes the pending secret the account's second factor, with `step` as its last
    /// used code. `false` if no secret was pending.
    fn confirm_totp(&self, name: &str, step: i64, now: i64) -> Result<bool, StoreError>;

    /// Marks TOTP time step `step` used; `false` (and nothing written) when that step or
    /// a later one was already used, which is how a replayed code is refused.
    fn use_totp_step(&self, name: &str, step: i64) -> Result<bool, StoreError>;

    /// Removes the account's second factor (an administrator's reset); `NotFound` if there
    /// is no such account.
    fn reset_totp(&self, name: &str, now: i64) -> Result<(), StoreError>;

    /// Changes role and/or enabled state, refusing to leave no enabled administrator;
    /// `NotFound` if there is no such account.
    fn change_account(
        &self,
        name: &str,
        change: &AccountChange,
    ) -> Result<AccountChanged, StoreError>;

    /// Revokes every unrevoked token of the account with this label (all labels with
    /// `None`); returns how many.
    fn revoke_account_tokens(
        &self,
        name: &str,
        label: Option<&str>,
        now: i64,
    ) -> Result<u64, StoreError>;

    /// Stores a pending sign-in.
    fn create_signin_pending(&self, pending: &PendingSignin) -> Result<(), StoreError>;

    /// The pending sign-in under this digest if it has not expired at `now`.
    fn signin_pending(
        &self,
        sha256: &[u8; 32],
        now: i64,
    ) -> Result<Option<PendingSignin>, StoreError>;

    /// Records that the pending sign-in proved its second factor.
    fn set_signin_pending_totp_ok(&self, sha256: &[u8; 32]) -> Result<(), StoreError>;

    /// Removes a pending sign-in (finished or abandoned) and every expired one.
    fn delete_signin_pending(&self, sha256: &[u8; 32], now: i64) -> Result<(), StoreError>;

    /// The failed-sign-in state of a subject, if any failure is recorded.
    fn signin_throttle(&self, subject: &str) -> Result<Option<SigninThrottle>, StoreError>;

    /// Records one failed sign-in for a subject under `policy`, in one transaction, and
    /// returns the new state.
    fn record_signin_failure(
        &self,
        subject: &str,
        policy: &ThrottlePolicy,
        now: i64,
    ) -> Result<SigninThrottle, StoreError>;

    /// Forgets a subject's failures (after a successful sign-in).
    fn clear_signin_failures(&self, subject: &str) -> Result<(), StoreError>;

    /// Links an OpenID Connect subject (`issuer`, `subject`) to the local account `name`, so
    /// that signing in at that identity provider signs in as the account. A subject links to
    /// one account; linking it again moves it. [`StoreError::NotFound`] if there is no such
    /// account.
    fn link_oidc(
        &self,
        name: &str,
        issuer: &str,
        subject: &str,
        now: i64,
    ) -> Result<(), StoreError>;

    /// The account an OpenID Connect subject is linked to, if any (disabled or not: the
    /// caller refuses disabled accounts with its own code).
    fn account_for_oidc(&self, issuer: &str, subject: &str) -> Result<Option<Account>, StoreError>;
}

/// Shared SQL column lists and row decoding, so the two backends cannot drift.
pub mod columns {
    use super::{Account, AuditEvent, AuditOutcome, AuditRecord, Credentials, PendingSignin};
    use crate::StoreError;
    use crate::exchange::columns::Columns;

    /// Account columns, in [`account`]'s order.
    pub const ACCOUNT: &str = "name, display_name, role, disabled, created_at";
    /// Credential columns, in [`credentials`]'s order.
    pub const CREDENTIALS: &str =
        "account, password_phc, must_change, totp_secret, totp_pending, totp_last_step";
    /// Pending sign-in columns, in [`pending`]'s order.
    pub const PENDING: &str = "sha256, account, totp_ok, created_at, expires_at";
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

    /// Decodes a [`CREDENTIALS`] row.
    pub fn credentials(row: &dyn Columns) -> Result<Credentials, StoreError> {
        Ok(Credentials {
            account: row.text(0)?,
            password_phc: row.opt_text(1)?,
            must_change: row.flag(2)?,
            totp_secret: row.opt_blob(3)?,
            totp_pending: row.opt_blob(4)?,
            totp_last_step: row.opt_int(5)?,
        })
    }

    /// Decodes a [`PENDING`] row.
    pub fn pending(row: &dyn Columns) -> Result<PendingSignin, StoreError> {
        Ok(PendingSignin {
            sha256: digest(row.blob(0)?, "pending sign-in sha256")?,
            account: row.text(1)?,
            totp_ok: row.flag(2)?,
            created_at: row.int(3)?,
            expires_at: row.int(4)?,
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
    fn throttle_doubles_from_the_free_tries_to_the_cap() {
        let p = ThrottlePolicy::ACCOUNT;
        assert_eq!(p.lockout_ms(4), 0);
        assert_eq!(p.lockout_ms(5), 30_000);
        assert_eq!(p.lockout_ms(6), 60_000);
        assert_eq!(p.lockout_ms(10), 15 * 60_000);
        assert_eq!(p.lockout_ms(u32::MAX), 15 * 60_000);
    }

    #[test]
    fn throttle_never_shrinks_and_stays_capped() {
        for p in [ThrottlePolicy::ACCOUNT, ThrottlePolicy::ADDRESS] {
            for failures in (0..300).chain([u32::MAX - 1, u32::MAX]) {
                let a = p.lockout_ms(failures);
                let b = p.lockout_ms(failures.saturating_add(1));
                assert!(0 <= a && a <= b && b <= p.max_ms, "{failures}");
                let now = 1_700_000_000_000;
                let stored = SigninThrottle {
                    failures,
                    last_failure_at: now,
                    locked_until: 0,
                };
                let next = p.after_failure(Some(&stored), now + 1);
                assert_eq!(next.failures, failures.saturating_add(1));
                assert_eq!(next.locked_until > 0, next.failures >= p.free);
                let forgotten = p.after_failure(Some(&stored), now + p.forget_after_ms);
                assert_eq!(forgotten.failures, 1);
            }
        }
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
