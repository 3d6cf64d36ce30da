//! [`AccessStore`] on SQLite: accounts, token digests and the chained audit trail.
//!
//! Why `BEGIN IMMEDIATE` for an audit append: the new row's digest depends on the last
//! row's, so reading the tail and inserting must happen under the write lock, or two
//! writers could both chain to the same predecessor. The table's triggers refuse any
//! UPDATE or DELETE, so even a bug elsewhere in the node cannot rewrite history.

use caravan_store::access::columns::{self, ACCOUNT, AUDIT};
use caravan_store::access::{
    AccessStore, Account, ApiToken, AuditEvent, AuditQuery, AuditRecord, audit_digest,
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
}

/// `a.x, a.y` from `x, y`.
fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
