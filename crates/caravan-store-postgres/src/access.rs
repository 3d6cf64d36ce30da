//! [`AccessStore`] on PostgreSQL, behaving exactly like the SQLite reference.
//!
//! Why an explicit table lock for an audit append: the new row's digest depends on the
//! last row's, and several node processes may share one database, so the tail read and
//! the insert run under `LOCK TABLE access_audit IN EXCLUSIVE MODE` (readers still read).
//! Triggers refuse any UPDATE or DELETE of the trail.

use caravan_store::access::columns::{self, ACCOUNT, AUDIT};
use caravan_store::access::{
    AccessStore, Account, ApiToken, AuditEvent, AuditQuery, AuditRecord, audit_digest,
};
use caravan_store::{Conflict, StoreError};
use postgres::types::ToSql;

use crate::exchange::PgRow;
use crate::{PgStore, other};

impl AccessStore for PgStore {
    fn create_account(&self, a: &Account) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
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
}
