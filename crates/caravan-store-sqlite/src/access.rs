//! [`AccessStore`] on SQLite: accounts, token digests and the chained audit trail.
//!
//! Why `BEGIN IMMEDIATE` for an audit append: the new row's digest depends on the last
//! row's, so reading the tail and inserting must happen under the write lock, or two
//! writers could both chain to the same predecessor. The table's triggers refuse any
//! UPDATE or DELETE, so even a bug elsewhere in the node cannot rewrite history.
//! Credentials live in their own table (`access_credentials`, migration 0011) and are
//! upserted; the last-administrator rule and the throttle's read-modify-write run under
//! `BEGIN IMMEDIATE` too, so two administrators cannot each demote the other.

use caravan_store::access::columns::{self, ACCOUNT, AUDIT, CREDENTIALS, PENDING};
use caravan_store::access::{
    ADMINISTRATOR_ROLE, AccessStore, Account, AccountChange, AccountChanged, ApiToken, AuditEvent,
    AuditQuery, AuditRecord, Credentials, PendingSignin, SigninThrottle, ThrottlePolicy,
    audit_digest,
};
use caravan_store::{Conflict, StoreError};
use rusqlite::types::Value;
use rusqlite::{ErrorCode, OptionalExtension, TransactionBehavior, params, params_from_iter};

use crate::exchange::SqlRow;
use crate::{SqliteStore, other};

impl AccessStore for SqliteStore {
    fn create_account(&self, a: &Account) -> Result<(), StoreError> {
        let conn = self.lock()?;
        match conn.execute(
            &format!("INSERT INTO access_accounts ({ACCOUNT}) VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![a.name, a.display_name, a.role, a.disabled, a.created_at],
        ) {
            Ok(_) => Ok(()),
            Err(err) if err.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                Err(StoreError::Conflict(Conflict::AccountExists {
                    name: a.name.clone(),
                }))
            }
            Err(err) => Err(other("create account")(err)),
        }
    }

    fn account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ACCOUNT} FROM access_accounts WHERE name = ?1"
            ))
            .map_err(other("prepare account"))?;
        let mut rows = stmt.query([name]).map_err(other("read account"))?;
        match rows.next().map_err(other("read account"))? {
            Some(row) => columns::account(&SqlRow(row)).map(Some),
            None => Ok(None),
        }
    }

    fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {ACCOUNT} FROM access_accounts ORDER BY name"
            ))
            .map_err(other("prepare accounts"))?;
        let mut rows = stmt.query([]).map_err(other("read accounts"))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(other("read accounts"))? {
            out.push(columns::account(&SqlRow(row))?);
        }
        Ok(out)
    }

    fn set_account_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
        let conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_accounts SET disabled = ?2 WHERE name = ?1",
                params![name, disabled],
            )
            .map_err(other("disable account"))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn account_language(&self, name: &str) -> Result<Option<String>, StoreError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT language FROM access_accounts WHERE name = ?1",
            [name],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()
        .map_err(other("read account language"))?
        .ok_or(StoreError::NotFound)
    }

    fn set_account_language(&self, name: &str, language: Option<&str>) -> Result<(), StoreError> {
        let conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_accounts SET language = ?2 WHERE name = ?1",
                params![name, language],
            )
            .map_err(other("set account language"))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn add_api_token(&self, t: &ApiToken) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin token"))?;
        let enabled: Option<bool> = tx
            .query_row(
                "SELECT disabled = 0 FROM access_accounts WHERE name = ?1",
                [&t.account],
                |r| r.get(0),
            )
            .optional()
            .map_err(other("read token account"))?;
        if enabled != Some(true) {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            "INSERT INTO access_tokens (sha256, account, label, created_at, expires_at, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                t.sha256.as_slice(),
                t.account,
                t.label,
                t.created_at,
                t.expires_at,
                t.revoked_at
            ],
        )
        .map_err(other("store token"))?;
        tx.commit().map_err(other("commit token"))
    }

    fn account_for_token(
        &self,
        sha256: &[u8; 32],
        now: i64,
    ) -> Result<Option<Account>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {} FROM access_tokens t JOIN access_accounts a ON a.name = t.account
                 WHERE t.sha256 = ?1 AND t.revoked_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > ?2) AND a.disabled = 0",
                qualified("a", ACCOUNT)
            ))
            .map_err(other("prepare token lookup"))?;
        let mut rows = stmt
            .query(params![sha256.as_slice(), now])
            .map_err(other("read token"))?;
        match rows.next().map_err(other("read token"))? {
            Some(row) => columns::account(&SqlRow(row)).map(Some),
            None => Ok(None),
        }
    }

    fn revoke_api_token(&self, sha256: &[u8; 32], now: i64) -> Result<(), StoreError> {
        let conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_tokens SET revoked_at = ?2 WHERE sha256 = ?1 AND revoked_at IS NULL",
                params![sha256.as_slice(), now],
            )
            .map_err(other("revoke token"))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<AuditRecord, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin audit"))?;
        let tail: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT seq, sha256 FROM access_audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(other("read audit tail"))?;
        let (seq, prev_sha256) = match tail {
            None => (1, [0u8; 32]),
            Some((seq, digest)) => (
                seq + 1,
                digest
                    .try_into()
                    .map_err(|_| StoreError::Other("stored audit digest is not 32 bytes".into()))?,
            ),
        };
        let sha256 = audit_digest(&prev_sha256, seq, event);
        tx.execute(
            &format!(
                "INSERT INTO access_audit ({AUDIT})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ),
            params![
                seq,
                event.at,
                event.account,
                event.role,
                event.action,
                event.object,
                event.outcome.as_str(),
                event.code,
                event.detail,
                prev_sha256.as_slice(),
                sha256.as_slice()
            ],
        )
        .map_err(other("append audit"))?;
        tx.commit().map_err(other("commit audit"))?;
        Ok(AuditRecord {
            seq,
            event: event.clone(),
            prev_sha256,
            sha256,
        })
    }

    fn list_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let conn = self.lock()?;
        let mut sql = format!("SELECT {AUDIT} FROM access_audit WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        if let Some(account) = &q.account {
            args.push(Value::Text(account.clone()));
            sql.push_str(&format!(" AND account = ?{}", args.len()));
        }
        if let Some(prefix) = &q.action_prefix {
            // substr, not LIKE: an action name may contain `_` or `%`.
            args.push(Value::Text(prefix.clone()));
            sql.push_str(&format!(
                " AND substr(action, 1, length(?{n})) = ?{n}",
                n = args.len()
            ));
        }
        if let Some(object) = &q.object {
            args.push(Value::Text(object.clone()));
            sql.push_str(&format!(" AND object = ?{}", args.len()));
        }
        if let Some(after) = q.after_seq {
            args.push(Value::Integer(after));
            sql.push_str(&format!(" AND seq > ?{}", args.len()));
        }
        args.push(Value::Integer(q.effective_limit()));
        sql.push_str(&format!(" ORDER BY seq LIMIT ?{}", args.len()));
        let mut stmt = conn.prepare(&sql).map_err(other("prepare audit"))?;
        let mut rows = stmt
            .query(params_from_iter(args))
            .map_err(other("read audit"))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(other("read audit"))? {
            out.push(columns::audit(&SqlRow(row))?);
        }
        Ok(out)
    }

    fn credentials(&self, name: &str) -> Result<Option<Credentials>, StoreError> {
        let conn = self.lock()?;
        let exists: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM access_accounts WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(other("read account"))?;
        if exists.is_none() {
            return Ok(None);
        }
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {CREDENTIALS} FROM access_credentials WHERE account = ?1"
            ))
            .map_err(other("prepare credentials"))?;
        let mut rows = stmt.query([name]).map_err(other("read credentials"))?;
        match rows.next().map_err(other("read credentials"))? {
            Some(row) => columns::credentials(&SqlRow(row)).map(Some),
            None => Ok(Some(Credentials {
                account: name.to_owned(),
                ..Credentials::default()
            })),
        }
    }

    fn create_account_with_password(
        &self,
        a: &Account,
        password_phc: &str,
        must_change: bool,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin account"))?;
        match tx.execute(
            &format!("INSERT INTO access_accounts ({ACCOUNT}) VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![a.name, a.display_name, a.role, a.disabled, a.created_at],
        ) {
            Ok(_) => {}
            Err(err) if err.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                return Err(StoreError::Conflict(Conflict::AccountExists {
                    name: a.name.clone(),
                }));
            }
            Err(err) => return Err(other("create account")(err)),
        }
        tx.execute(
            "INSERT INTO access_credentials (account, password_phc, must_change, updated_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![a.name, password_phc, must_change, a.created_at],
        )
        .map_err(other("store password"))?;
        tx.commit().map_err(other("commit account"))
    }

    fn set_password(
        &self,
        name: &str,
        password_phc: &str,
        must_change: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin password"))?;
        ensure_account(&tx, name)?;
        tx.execute(
            "INSERT INTO access_credentials (account, password_phc, must_change, updated_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account) DO UPDATE SET password_phc = excluded.password_phc,
                 must_change = excluded.must_change, updated_at = excluded.updated_at",
            params![name, password_phc, must_change, now],
        )
        .map_err(other("store password"))?;
        tx.commit().map_err(other("commit password"))
    }

    fn set_totp_pending(
        &self,
        name: &str,
        secret: Option<&[u8]>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin totp"))?;
        ensure_account(&tx, name)?;
        tx.execute(
            "INSERT INTO access_credentials (account, totp_pending, updated_at)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (account) DO UPDATE SET totp_pending = excluded.totp_pending,
                 updated_at = excluded.updated_at",
            params![name, secret, now],
        )
        .map_err(other("store totp"))?;
        tx.commit().map_err(other("commit totp"))
    }

    fn confirm_totp(&self, name: &str, step: i64, now: i64) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_credentials SET totp_secret = totp_pending, totp_pending = NULL,
                     totp_last_step = ?2, updated_at = ?3
                 WHERE account = ?1 AND totp_pending IS NOT NULL",
                params![name, step, now],
            )
            .map_err(other("confirm totp"))?;
        Ok(changed == 1)
    }

    fn use_totp_step(&self, name: &str, step: i64) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_credentials SET totp_last_step = ?2
                 WHERE account = ?1 AND totp_secret IS NOT NULL
                   AND (totp_last_step IS NULL OR totp_last_step < ?2)",
                params![name, step],
            )
            .map_err(other("use totp step"))?;
        Ok(changed == 1)
    }

    fn reset_totp(&self, name: &str, now: i64) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin totp reset"))?;
        ensure_account(&tx, name)?;
        tx.execute(
            "UPDATE access_credentials SET totp_secret = NULL, totp_pending = NULL,
                 totp_last_step = NULL, updated_at = ?2
             WHERE account = ?1",
            params![name, now],
        )
        .map_err(other("reset totp"))?;
        tx.commit().map_err(other("commit totp reset"))
    }

    fn change_account(
        &self,
        name: &str,
        change: &AccountChange,
    ) -> Result<AccountChanged, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin account change"))?;
        let current = tx
            .query_row(
                &format!("SELECT {ACCOUNT} FROM access_accounts WHERE name = ?1"),
                [name],
                |row| Ok(columns::account(&SqlRow(row))),
            )
            .optional()
            .map_err(other("read account"))?
            .ok_or(StoreError::NotFound)??;
        let mut next = current.clone();
        if let Some(role) = &change.role {
            next.role = role.clone();
        }
        if let Some(disabled) = change.disabled {
            next.disabled = disabled;
        }
        let was_admin = current.role == ADMINISTRATOR_ROLE && !current.disabled;
        let is_admin = next.role == ADMINISTRATOR_ROLE && !next.disabled;
        if was_admin && !is_admin {
            let others: i64 = tx
                .query_row(
                    "SELECT count(*) FROM access_accounts
                     WHERE role = ?1 AND disabled = 0 AND name <> ?2",
                    params![ADMINISTRATOR_ROLE, name],
                    |r| r.get(0),
                )
                .map_err(other("count administrators"))?;
            if others == 0 {
                return Ok(AccountChanged::LastAdministrator);
            }
        }
        tx.execute(
            "UPDATE access_accounts SET role = ?2, disabled = ?3 WHERE name = ?1",
            params![name, next.role, next.disabled],
        )
        .map_err(other("change account"))?;
        tx.commit().map_err(other("commit account change"))?;
        Ok(AccountChanged::Changed(next))
    }

    fn revoke_account_tokens(
        &self,
        name: &str,
        label: Option<&str>,
        now: i64,
    ) -> Result<u64, StoreError> {
        let conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_tokens SET revoked_at = ?3
                 WHERE account = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR label = ?2)",
                params![name, label, now],
            )
            .map_err(other("revoke tokens"))?;
        Ok(changed as u64)
    }

    fn create_signin_pending(&self, p: &PendingSignin) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            &format!("INSERT INTO access_signin_pending ({PENDING}) VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![
                p.sha256.as_slice(),
                p.account,
                p.totp_ok,
                p.created_at,
                p.expires_at
            ],
        )
        .map_err(other("store pending sign-in"))?;
        Ok(())
    }

    fn signin_pending(
        &self,
        sha256: &[u8; 32],
        now: i64,
    ) -> Result<Option<PendingSignin>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {PENDING} FROM access_signin_pending WHERE sha256 = ?1 AND expires_at > ?2"
            ))
            .map_err(other("prepare pending sign-in"))?;
        let mut rows = stmt
            .query(params![sha256.as_slice(), now])
            .map_err(other("read pending sign-in"))?;
        match rows.next().map_err(other("read pending sign-in"))? {
            Some(row) => columns::pending(&SqlRow(row)).map(Some),
            None => Ok(None),
        }
    }

    fn set_signin_pending_totp_ok(&self, sha256: &[u8; 32]) -> Result<(), StoreError> {
        let conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_signin_pending SET totp_ok = 1 WHERE sha256 = ?1",
                [sha256.as_slice()],
            )
            .map_err(other("update pending sign-in"))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn delete_signin_pending(&self, sha256: &[u8; 32], now: i64) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "DELETE FROM access_signin_pending WHERE sha256 = ?1 OR expires_at <= ?2",
            params![sha256.as_slice(), now],
        )
        .map_err(other("delete pending sign-in"))?;
        Ok(())
    }

    fn signin_throttle(&self, subject: &str) -> Result<Option<SigninThrottle>, StoreError> {
        let conn = self.lock()?;
        read_throttle(&conn, subject)
    }

    fn record_signin_failure(
        &self,
        subject: &str,
        policy: &ThrottlePolicy,
        now: i64,
    ) -> Result<SigninThrottle, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin throttle"))?;
        let stored = read_throttle(&tx, subject)?;
        let next = policy.after_failure(stored.as_ref(), now);
        tx.execute(
            "INSERT INTO access_signin_failures (subject, failures, last_failure_at, locked_until)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures,
                 last_failure_at = excluded.last_failure_at,
                 locked_until = excluded.locked_until",
            params![
                subject,
                i64::from(next.failures),
                next.last_failure_at,
                next.locked_until
            ],
        )
        .map_err(other("store throttle"))?;
        tx.commit().map_err(other("commit throttle"))?;
        Ok(next)
    }

    fn clear_signin_failures(&self, subject: &str) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "DELETE FROM access_signin_failures WHERE subject = ?1",
            [subject],
        )
        .map_err(other("clear throttle"))?;
        Ok(())
    }

    fn link_oidc(
        &self,
        name: &str,
        issuer: &str,
        subject: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let conn = self.lock()?;
        let exists: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM access_accounts WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(other("read link account"))?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        conn.execute(
            "INSERT INTO access_oidc_links (issuer, subject, account, linked_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (issuer, subject) \
             DO UPDATE SET account = excluded.account, linked_at = excluded.linked_at",
            params![issuer, subject, name, now],
        )
        .map_err(other("link oidc subject"))?;
        Ok(())
    }

    fn account_for_oidc(&self, issuer: &str, subject: &str) -> Result<Option<Account>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {} FROM access_oidc_links l \
                 JOIN access_accounts a ON a.name = l.account \
                 WHERE l.issuer = ?1 AND l.subject = ?2",
                qualified("a", ACCOUNT)
            ))
            .map_err(other("prepare oidc account"))?;
        let mut rows = stmt
            .query([issuer, subject])
            .map_err(other("read oidc account"))?;
        match rows.next().map_err(other("read oidc account"))? {
            Some(row) => columns::account(&SqlRow(row)).map(Some),
            None => Ok(None),
        }
    }
}

/// `a.x, a.y` from `x, y`.
fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `NotFound` unless the account exists.
fn ensure_account(conn: &rusqlite::Connection, name: &str) -> Result<(), StoreError> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM access_accounts WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()
        .map_err(other("read account"))?;
    exists.map(|_| ()).ok_or(StoreError::NotFound)
}

fn read_throttle(
    conn: &rusqlite::Connection,
    subject: &str,
) -> Result<Option<SigninThrottle>, StoreError> {
    conn.query_row(
        "SELECT failures, last_failure_at, locked_until FROM access_signin_failures
         WHERE subject = ?1",
        [subject],
        |r| {
            Ok(SigninThrottle {
                failures: u32::try_from(r.get::<_, i64>(0)?).unwrap_or(u32::MAX),
                last_failure_at: r.get(1)?,
                locked_until: r.get(2)?,
            })
        },
    )
    .optional()
    .map_err(other("read throttle"))
}
