//! [`Backend`] on SQLite: the assistance workflow's cases, messages, evidence and consents in
//! the node's one file. The statements themselves are `caravan_store::assistance::sql`.
//!
//! Why one `BEGIN IMMEDIATE` per change: an officer's action (a request sent, a reply with
//! evidence, a consent granted) is several rows and an audit event, and must be durable
//! whole or not at all. The audit event is chained to the trail's tail inside the same
//! transaction, so the action and its audit row can never disagree after a crash. A unique
//! or version clash anywhere rolls the whole change back as `Conflict::StaleWrite`.

use caravan_store::StoreError;
use caravan_store::access::AuditEvent;
use caravan_store::assistance::sql::{AUDIT_TAIL, Backend, Param, Statement, audit_append, stale};
use caravan_store::exchange::columns::Columns;
use rusqlite::types::Value;
use rusqlite::{ErrorCode, OptionalExtension, TransactionBehavior, params_from_iter};

use crate::exchange::SqlRow;
use crate::{SqliteStore, other};

fn value(p: Param) -> Value {
    match p {
        Param::Text(s) => Value::Text(s),
        Param::OptText(s) => s.map_or(Value::Null, Value::Text),
        Param::Int(i) => Value::Integer(i),
        Param::OptInt(i) => i.map_or(Value::Null, Value::Integer),
        Param::Bool(b) => Value::Integer(i64::from(b)),
        Param::Blob(b) => Value::Blob(b),
        Param::OptBlob(b) => b.map_or(Value::Null, Value::Blob),
    }
}

fn values(params: &[Param]) -> Vec<Value> {
    params.iter().cloned().map(value).collect()
}

impl Backend for SqliteStore {
    fn placeholder(i: usize) -> String {
        format!("?{i}")
    }

    fn select<T>(
        &self,
        sql: &str,
        params: Vec<Param>,
        decode: fn(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare_cached(sql)
            .map_err(other("prepare assistance query"))?;
        let mut found = stmt
            .query(params_from_iter(values(&params)))
            .map_err(other("run assistance query"))?;
        let mut out = Vec::new();
        while let Some(row) = found.next().map_err(other("read assistance row"))? {
            out.push(decode(&SqlRow(row))?);
        }
        Ok(out)
    }

    fn transact(&self, statements: &[Statement], audit: &[AuditEvent]) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin assistance change"))?;
        for s in statements {
            let changed = match tx.execute(&s.sql, params_from_iter(values(&s.params))) {
                Ok(n) => n,
                Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                    return Err(stale(s.what, &s.id));
                }
                Err(e) => return Err(other("write assistance row")(e)),
            };
            if s.versioned && changed != 1 {
                return Err(stale(s.what, &s.id));
            }
        }
        for event in audit {
            let tail: Option<(i64, Vec<u8>)> = tx
                .query_row(AUDIT_TAIL, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(other("read audit tail"))?;
            let insert = audit_append(tail, event, Self::placeholder)?;
            tx.execute(&insert.sql, params_from_iter(values(&insert.params)))
                .map_err(other("append audit"))?;
        }
        tx.commit().map_err(other("commit assistance change"))
    }

    fn execute(&self, sql: &str, params: Vec<Param>) -> Result<u64, StoreError> {
        let conn = self.lock()?;
        let n = conn
            .execute(sql, params_from_iter(values(&params)))
            .map_err(other("write assistance row"))?;
        Ok(n as u64)
    }
}
