//! [`Backend`] on PostgreSQL, behaving exactly like the SQLite reference. The statements
//! themselves are `caravan_store::assistance::sql`.
//!
//! Why one transaction per change and a table lock on the audit trail: an officer's action
//! is several rows and an audit event, durable whole or not at all. The audit event is
//! chained to the trail's tail inside the same transaction, under the same
//! `LOCK TABLE access_audit IN EXCLUSIVE MODE` the access store takes, taken first so two
//! writers always lock in the same order. A unique or version clash anywhere rolls the
//! whole change back as `Conflict::StaleWrite`.

use caravan_store::StoreError;
use caravan_store::access::AuditEvent;
use caravan_store::assistance::sql::{AUDIT_TAIL, Backend, Param, Statement, audit_append, stale};
use caravan_store::exchange::columns::Columns;
use postgres::types::ToSql;

use crate::exchange::PgRow;
use crate::{PgStore, other};

type Value = Box<dyn ToSql + Sync>;

fn value(p: Param) -> Value {
    match p {
        Param::Text(s) => Box::new(s),
        Param::OptText(s) => Box::new(s),
        Param::Int(i) => Box::new(i),
        Param::OptInt(i) => Box::new(i),
        Param::Bool(b) => Box::new(b),
        Param::Blob(b) => Box::new(b),
        Param::OptBlob(b) => Box::new(b),
    }
}

fn values(params: &[Param]) -> Vec<Value> {
    params.iter().cloned().map(value).collect()
}

fn refs(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v.as_ref()).collect()
}

impl Backend for PgStore {
    fn placeholder(i: usize) -> String {
        format!("${i}")
    }

    fn select<T>(
        &self,
        sql: &str,
        params: Vec<Param>,
        decode: fn(&dyn Columns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut conn = self.lock()?;
        let bound = values(&params);
        let found = conn
            .query(sql, &refs(&bound))
            .map_err(other("run assistance query"))?;
        found.iter().map(|r| decode(&PgRow(r))).collect()
    }

    fn transact(&self, statements: &[Statement], audit: &[AuditEvent]) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let mut tx = conn
            .transaction()
            .map_err(other("begin assistance change"))?;
        if !audit.is_empty() {
            tx.batch_execute("LOCK TABLE access_audit IN EXCLUSIVE MODE")
                .map_err(other("lock audit"))?;
        }
        for s in statements {
            let bound = values(&s.params);
            let changed = match tx.execute(s.sql.as_str(), &refs(&bound)) {
                Ok(n) => n,
                Err(e) if e.as_db_error().is_some_and(|d| d.code().code() == "23505") => {
                    return Err(stale(s.what, &s.id));
                }
                Err(e) => return Err(other("write assistance row")(e)),
            };
            if s.versioned && changed != 1 {
                return Err(stale(s.what, &s.id));
            }
        }
        for event in audit {
            let tail = tx
                .query_opt(AUDIT_TAIL, &[])
                .map_err(other("read audit tail"))?
                .map(|row| -> Result<(i64, Vec<u8>), StoreError> {
                    Ok((
                        row.try_get(0).map_err(other("read audit tail"))?,
                        row.try_get(1).map_err(other("read audit tail"))?,
                    ))
                })
                .transpose()?;
            let insert = audit_append(tail, event, Self::placeholder)?;
            let bound = values(&insert.params);
            tx.execute(insert.sql.as_str(), &refs(&bound))
                .map_err(other("append audit"))?;
        }
        tx.commit().map_err(other("commit assistance change"))
    }

    fn execute(&self, sql: &str, params: Vec<Param>) -> Result<u64, StoreError> {
        let mut conn = self.lock()?;
        let bound = values(&params);
        conn.execute(sql, &refs(&bound))
            .map_err(other("write assistance row"))
    }
}
