//! [`AccessStore`] on PostgreSQL, behaving exactly like the SQLite reference.
//!
//! Why an explicit table lock for an audit append: the new row's digest depends on the
//! last row's, and several node processes may share one database, so the tail read and
//! the insert run under `LOCK TABLE access_audit IN EXCLUSIVE MODE` (readers still read).
//! Triggers refuse any UPDATE or DELETE of the trail. The last-administrator rule locks
//! the administrators' rows (`FOR UPDATE`) before counting them, and the throttle's
//! read-modify-write locks its subject's row, so concurrent nodes cannot both pass.

use caravan_store::access::columns::{self, ACCOUNT, AUDIT, CREDENTIALS, PENDING};
use caravan_store::access::{
    ADMINISTRATOR_ROLE, AccessStore, Account, AccountChange, AccountChanged, ApiToken, AuditEvent,
    AuditQuery, AuditRecord, Credentials, PendingSignin, SigninThrottle, ThrottlePolicy,
    audit_digest,
};
use caravan_store::{Conflict, StoreError};
use postgres::types::ToSql;

use crate::exchange::PgRow;
use crate::{PgStore, other};

impl AccessStore for PgStore {
    fn create_account(&self, a: &Account) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        insert_account(&mut *conn, a)
    }

    fn account(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let mut conn = self.lock()?;
        let row = conn
            .query_opt(
                &format!("SELECT {ACCOUNT} FROM access_accounts WHERE name = $1"),
                &[&name],
            )
            .map_err(other("read account"))?;
        row.map(|r| columns::account(&PgRow(&r))).transpose()
    }

    fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut conn = self.lock()?;
        let rows = conn
            .query(
                &format!("SELECT {ACCOUNT} FROM access_accounts ORDER BY name"),
                &[],
            )
            .map_err(other("read accounts"))?;
        rows.iter().map(|r| columns::account(&PgRow(r))).collect()
    }

    fn set_account_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_accounts SET disabled = $2 WHERE name = $1",
                &[&name, &disabled],
            )
            .map_err(other("disable account"))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn account_language(&self, name: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.lock()?;
        let row = conn
            .query_opt(
                "SELECT language FROM access_accounts WHERE name = $1",
                &[&name],
            )
            .map_err(other("read account language"))?;
        let row = row.ok_or(StoreError::NotFound)?;
        row.try_get::<_, Option<String>>(0)
            .map_err(other("read account language"))
    }

    fn set_account_language(&self, name: &str, language: Option<&str>) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_accounts SET language = $2 WHERE name = $1",
                &[&name, &language],
            )
            .map_err(other("set account language"))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn add_api_token(&self, t: &ApiToken) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let mut tx = conn.transaction().map_err(other("begin token"))?;
        let enabled = tx
            .query_opt(
                "SELECT NOT disabled FROM access_accounts WHERE name = $1 FOR SHARE",
                &[&t.account],
            )
            .map_err(other("read token account"))?
            .map(|r| r.try_get::<_, bool>(0))
            .transpose()
            .map_err(other("read token account"))?;
        if enabled != Some(true) {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            "INSERT INTO access_tokens (sha256, account, label, created_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &t.sha256.as_slice(),
                &t.account,
                &t.label,
                &t.created_at,
                &t.expires_at,
                &t.revoked_at,
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
        let mut conn = self.lock()?;
        let row = conn
            .query_opt(
                "SELECT a.name, a.display_name, a.role, a.disabled, a.created_at
                 FROM access_tokens t JOIN access_accounts a ON a.name = t.account
                 WHERE t.sha256 = $1 AND t.revoked_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > $2) AND NOT a.disabled",
                &[&sha256.as_slice(), &now],
            )
            .map_err(other("read token"))?;
        row.map(|r| columns::account(&PgRow(&r))).transpose()
    }

    fn revoke_api_token(&self, sha256: &[u8; 32], now: i64) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_tokens SET revoked_at = $2 WHERE sha256 = $1 AND revoked_at IS NULL",
                &[&sha256.as_slice(), &now],
            )
            .map_err(other("revoke token"))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<AuditRecord, StoreError> {
        let mut conn = self.lock()?;
        let mut tx = conn.transaction().map_err(other("begin audit"))?;
        tx.batch_execute("LOCK TABLE access_audit IN EXCLUSIVE MODE")
            .map_err(other("lock audit"))?;
        let tail = tx
            .query_opt(
                "SELECT seq, sha256 FROM access_audit ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .map_err(other("read audit tail"))?;
        let (seq, prev_sha256) = match tail {
            None => (1, [0u8; 32]),
            Some(row) => {
                let seq: i64 = row.try_get(0).map_err(other("read audit tail"))?;
                let digest: Vec<u8> = row.try_get(1).map_err(other("read audit tail"))?;
                (
                    seq + 1,
                    digest.try_into().map_err(|_| {
                        StoreError::Other("stored audit digest is not 32 bytes".into())
                    })?,
                )
            }
        };
        let sha256 = audit_digest(&prev_sha256, seq, event);
        tx.execute(
            &format!(
                "INSERT INTO access_audit ({AUDIT})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ),
            &[
                &seq,
                &event.at,
                &event.account,
                &event.role,
                &event.action,
                &event.object,
                &event.outcome.as_str(),
                &event.code,
                &event.detail,
                &prev_sha256.as_slice(),
                &sha256.as_slice(),
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
        let mut conn = self.lock()?;
        let mut sql = format!("SELECT {AUDIT} FROM access_audit WHERE TRUE");
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        if let Some(account) = &q.account {
            args.push(Box::new(account.clone()));
            sql.push_str(&format!(" AND account = ${}", args.len()));
        }
        if let Some(prefix) = &q.action_prefix {
            // left(), not LIKE: an action name may contain `_` or `%`.
            args.push(Box::new(prefix.clone()));
            sql.push_str(&format!(
                " AND left(action, length(${n})) = ${n}",
                n = args.len()
            ));
        }
        if let Some(object) = &q.object {
            args.push(Box::new(object.clone()));
            sql.push_str(&format!(" AND object = ${}", args.len()));
        }
        if let Some(after) = q.after_seq {
            args.push(Box::new(after));
            sql.push_str(&format!(" AND seq > ${}", args.len()));
        }
        args.push(Box::new(q.effective_limit()));
        sql.push_str(&format!(" ORDER BY seq LIMIT ${}", args.len()));
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let rows = conn.query(&sql, &params).map_err(other("read audit"))?;
        rows.iter().map(|r| columns::audit(&PgRow(r))).collect()
    }

    fn credentials(&self, name: &str) -> Result<Option<Credentials>, StoreError> {
        let mut conn = self.lock()?;
        match ensure_account(&mut *conn, name) {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Ok(None),
            Err(err) => return Err(err),
        }
        let row = conn
            .query_opt(
                &format!("SELECT {CREDENTIALS} FROM access_credentials WHERE account = $1"),
                &[&name],
            )
            .map_err(other("read credentials"))?;
        match row {
            Some(r) => columns::credentials(&PgRow(&r)).map(Some),
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
        let mut tx = conn.transaction().map_err(other("begin account"))?;
        insert_account(&mut tx, a)?;
        tx.execute(
            "INSERT INTO access_credentials (account, password_phc, must_change, updated_at)
             VALUES ($1, $2, $3, $4)",
            &[&a.name, &password_phc, &must_change, &a.created_at],
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
        let mut tx = conn.transaction().map_err(other("begin password"))?;
        ensure_account(&mut tx, name)?;
        tx.execute(
            "INSERT INTO access_credentials (account, password_phc, must_change, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (account) DO UPDATE SET password_phc = excluded.password_phc,
                 must_change = excluded.must_change, updated_at = excluded.updated_at",
            &[&name, &password_phc, &must_change, &now],
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
        let mut tx = conn.transaction().map_err(other("begin totp"))?;
        ensure_account(&mut tx, name)?;
        tx.execute(
            "INSERT INTO access_credentials (account, totp_pending, updated_at)
             VALUES ($1, $2, $3)
             ON CONFLICT (account) DO UPDATE SET totp_pending = excluded.totp_pending,
                 updated_at = excluded.updated_at",
            &[&name, &secret, &now],
        )
        .map_err(other("store totp"))?;
        tx.commit().map_err(other("commit totp"))
    }

    fn confirm_totp(&self, name: &str, step: i64, now: i64) -> Result<bool, StoreError> {
        let mut conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_credentials SET totp_secret = totp_pending, totp_pending = NULL,
                     totp_last_step = $2, updated_at = $3
                 WHERE account = $1 AND totp_pending IS NOT NULL",
                &[&name, &step, &now],
            )
            .map_err(other("confirm totp"))?;
        Ok(changed == 1)
    }

    fn use_totp_step(&self, name: &str, step: i64) -> Result<bool, StoreError> {
        let mut conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_credentials SET totp_last_step = $2
                 WHERE account = $1 AND totp_secret IS NOT NULL
                   AND (totp_last_step IS NULL OR totp_last_step < $2)",
                &[&name, &step],
            )
            .map_err(other("use totp step"))?;
        Ok(changed == 1)
    }

    fn reset_totp(&self, name: &str, now: i64) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let mut tx = conn.transaction().map_err(other("begin totp reset"))?;
        ensure_account(&mut tx, name)?;
        tx.execute(
            "UPDATE access_credentials SET totp_secret = NULL, totp_pending = NULL,
                 totp_last_step = NULL, updated_at = $2
             WHERE account = $1",
            &[&name, &now],
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
        let mut tx = conn.transaction().map_err(other("begin account change"))?;
        // Lock every administrator row and the target, in name order, so two concurrent
        // demotions serialise and the second sees the first.
        tx.execute(
            "SELECT 1 FROM access_accounts WHERE role = $1 OR name = $2 ORDER BY name FOR UPDATE",
            &[&ADMINISTRATOR_ROLE, &name],
        )
        .map_err(other("lock accounts"))?;
        let current = tx
            .query_opt(
                &format!("SELECT {ACCOUNT} FROM access_accounts WHERE name = $1"),
                &[&name],
            )
            .map_err(other("read account"))?
            .ok_or(StoreError::NotFound)?;
        let current = columns::account(&PgRow(&current))?;
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
                .query_one(
                    "SELECT count(*) FROM access_accounts
                     WHERE role = $1 AND NOT disabled AND name <> $2",
                    &[&ADMINISTRATOR_ROLE, &name],
                )
                .and_then(|r| r.try_get(0))
                .map_err(other("count administrators"))?;
            if others == 0 {
                return Ok(AccountChanged::LastAdministrator);
            }
        }
        tx.execute(
            "UPDATE access_accounts SET role = $2, disabled = $3 WHERE name = $1",
            &[&name, &next.role, &next.disabled],
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
        let mut conn = self.lock()?;
        conn.execute(
            "UPDATE access_tokens SET revoked_at = $3
             WHERE account = $1 AND revoked_at IS NULL AND ($2::TEXT IS NULL OR label = $2)",
            &[&name, &label, &now],
        )
        .map_err(other("revoke tokens"))
    }

    fn create_signin_pending(&self, p: &PendingSignin) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        conn.execute(
            &format!("INSERT INTO access_signin_pending ({PENDING}) VALUES ($1, $2, $3, $4, $5)"),
            &[
                &p.sha256.as_slice(),
                &p.account,
                &p.totp_ok,
                &p.created_at,
                &p.expires_at,
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
        let mut conn = self.lock()?;
        let row = conn
            .query_opt(
                &format!(
                    "SELECT {PENDING} FROM access_signin_pending
                     WHERE sha256 = $1 AND expires_at > $2"
                ),
                &[&sha256.as_slice(), &now],
            )
            .map_err(other("read pending sign-in"))?;
        row.map(|r| columns::pending(&PgRow(&r))).transpose()
    }

    fn set_signin_pending_totp_ok(&self, sha256: &[u8; 32]) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let changed = conn
            .execute(
                "UPDATE access_signin_pending SET totp_ok = TRUE WHERE sha256 = $1",
                &[&sha256.as_slice()],
            )
            .map_err(other("update pending sign-in"))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn delete_signin_pending(&self, sha256: &[u8; 32], now: i64) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        conn.execute(
            "DELETE FROM access_signin_pending WHERE sha256 = $1 OR expires_at <= $2",
            &[&sha256.as_slice(), &now],
        )
        .map_err(other("delete pending sign-in"))?;
        Ok(())
    }

    fn signin_throttle(&self, subject: &str) -> Result<Option<SigninThrottle>, StoreError> {
        let mut conn = self.lock()?;
        read_throttle(&mut *conn, subject, false)
    }

    fn record_signin_failure(
        &self,
        subject: &str,
        policy: &ThrottlePolicy,
        now: i64,
    ) -> Result<SigninThrottle, StoreError> {
        let mut conn = self.lock()?;
        let mut tx = conn.transaction().map_err(other("begin throttle"))?;
        // A first failure has no row to lock: insert one, then lock it.
        tx.execute(
            "INSERT INTO access_signin_failures (subject, failures, last_failure_at, locked_until)
             VALUES ($1, 0, $2, 0) ON CONFLICT (subject) DO NOTHING",
            &[&subject, &i64::MIN],
        )
        .map_err(other("store throttle"))?;
        let stored = read_throttle(&mut tx, subject, true)?.filter(|s| s.failures > 0);
        let next = policy.after_failure(stored.as_ref(), now);
        tx.execute(
            "UPDATE access_signin_failures SET failures = $2, last_failure_at = $3,
                 locked_until = $4 WHERE subject = $1",
            &[
                &subject,
                &i64::from(next.failures),
                &next.last_failure_at,
                &next.locked_until,
            ],
        )
        .map_err(other("store throttle"))?;
        tx.commit().map_err(other("commit throttle"))?;
        Ok(next)
    }

    fn clear_signin_failures(&self, subject: &str) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        conn.execute(
            "DELETE FROM access_signin_failures WHERE subject = $1",
            &[&subject],
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
        let mut conn = self.lock()?;
        let mut tx = conn.transaction().map_err(other("begin oidc link"))?;
        let exists = tx
            .query_opt(
                "SELECT 1 FROM access_accounts WHERE name = $1 FOR SHARE",
                &[&name],
            )
            .map_err(other("read link account"))?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            "INSERT INTO access_oidc_links (issuer, subject, account, linked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (issuer, subject) \
             DO UPDATE SET account = EXCLUDED.account, linked_at = EXCLUDED.linked_at",
            &[&issuer, &subject, &name, &now],
        )
        .map_err(other("link oidc subject"))?;
        tx.commit().map_err(other("commit oidc link"))
    }

    fn account_for_oidc(&self, issuer: &str, subject: &str) -> Result<Option<Account>, StoreError> {
        let mut conn = self.lock()?;
        let columns_a: String = ACCOUNT
            .split(',')
            .map(|c| format!("a.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let row = conn
            .query_opt(
                &format!(
                    "SELECT {columns_a} FROM access_oidc_links l \
                     JOIN access_accounts a ON a.name = l.account \
                     WHERE l.issuer = $1 AND l.subject = $2"
                ),
                &[&issuer, &subject],
            )
            .map_err(other("read oidc account"))?;
        row.map(|r| columns::account(&PgRow(&r))).transpose()
    }
}

/// Inserts an account row; `AccountExists` if the name is taken.
fn insert_account(conn: &mut impl postgres::GenericClient, a: &Account) -> Result<(), StoreError> {
    let inserted = conn
        .execute(
            &format!(
                "INSERT INTO access_accounts ({ACCOUNT}) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO NOTHING"
            ),
            &[
                &a.name,
                &a.display_name,
                &a.role,
                &a.disabled,
                &a.created_at,
            ],
        )
        .map_err(other("create account"))?;
    if inserted == 0 {
        return Err(StoreError::Conflict(Conflict::AccountExists {
            name: a.name.clone(),
        }));
    }
    Ok(())
}

/// `NotFound` unless the account exists.
fn ensure_account(conn: &mut impl postgres::GenericClient, name: &str) -> Result<(), StoreError> {
    conn.query_opt("SELECT 1 FROM access_accounts WHERE name = $1", &[&name])
        .map_err(other("read account"))?
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

fn read_throttle(
    conn: &mut impl postgres::GenericClient,
    subject: &str,
    for_update: bool,
) -> Result<Option<SigninThrottle>, StoreError> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let row = conn
        .query_opt(
            &format!(
                "SELECT failures, last_failure_at, locked_until FROM access_signin_failures
                 WHERE subject = $1{lock}"
            ),
            &[&subject],
        )
        .map_err(other("read throttle"))?;
    row.map(|r| -> Result<SigninThrottle, postgres::Error> {
        Ok(SigninThrottle {
            failures: u32::try_from(r.try_get::<_, i64>(0)?).unwrap_or(u32::MAX),
            last_failure_at: r.try_get(1)?,
            locked_until: r.try_get(2)?,
        })
    })
    .transpose()
    .map_err(other("read throttle"))
}
