//! [`TargetStore`] on SQLite: inspection outcomes, the model registry and the rule-file
//! registry in the node's one file.
//!
//! Why it is shaped this way: every method is one `BEGIN IMMEDIATE` transaction, so the
//! read that decides (is there a current outcome? which model is active?) and the write that
//! follows cannot interleave with another writer. Promotion retires the old active model and
//! activates the new one inside that transaction; with WAL and `synchronous = FULL`, a crash
//! at any instant leaves exactly one of them active. The SQL text is shared with PostgreSQL
//! (`caravan_store::target::sql`), with `$n` parameters in first-use order.

use caravan_store::StoreError;
use caravan_store::log::columns::int;
use caravan_store::target::columns::{self, Cells};
use caravan_store::target::sql;
use caravan_store::target::{
    DeclarationRef, ModelSummary, NewModel, NewOutcome, NewRuleFile, OutcomeWrite, StoredModel,
    StoredOutcome, StoredRuleFile, TargetStore, TargetingDocument,
};
use rusqlite::{Connection, Row, Transaction, TransactionBehavior, params};

use crate::{SqliteStore, other};

struct SqlCells<'a, 'b>(&'a Row<'b>);

impl SqlCells<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, i: usize) -> Result<T, StoreError> {
        self.0.get(i).map_err(other("read targeting column"))
    }
}

caravan_store::impl_target_cells!(SqlCells<'_, '_>);

fn query<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: fn(&dyn Cells) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(other("prepare targeting query"))?;
    let mut rows = stmt.query(params).map_err(other("run targeting query"))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(other("read targeting row"))? {
        out.push(map(&SqlCells(row))?);
    }
    Ok(out)
}

fn exec(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<usize, StoreError> {
    tx.prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .map_err(other("write targeting row"))
}

impl SqliteStore {
    /// Runs `work` in one `BEGIN IMMEDIATE` transaction, committed only when it returns `Ok`.
    fn target_tx<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(other("begin targeting transaction"))?;
        let out = work(&tx)?;
        tx.commit().map_err(other("commit targeting transaction"))?;
        Ok(out)
    }

    fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.lock()?;
        work(&conn)
    }
}

fn current_outcome(
    conn: &Connection,
    declaration: i64,
) -> Result<Option<StoredOutcome>, StoreError> {
    Ok(
        query(conn, sql::CURRENT_OUTCOME, [declaration], columns::outcome)?
            .into_iter()
            .next(),
    )
}

impl TargetStore for SqliteStore {
    fn find_declarations(&self, reference: &str) -> Result<Vec<DeclarationRef>, StoreError> {
        self.read(|conn| {
            query(
                conn,
                sql::FIND_DECLARATIONS,
                [reference],
                columns::declaration,
            )
        })
    }

    fn record_outcome(
        &self,
        outcome: &NewOutcome,
        correction: bool,
    ) -> Result<OutcomeWrite, StoreError> {
        let recorded_at = int(outcome.recorded_at, "recorded_at")?;
        self.target_tx(|tx| {
            let found = query(
                tx,
                sql::DECLARATION_BY_ID,
                [outcome.declaration_id],
                columns::declaration,
            )?;
            if found.is_empty() {
                return Err(StoreError::NotFound);
            }
            let current = current_outcome(tx, outcome.declaration_id)?;
            let revision = match (&current, correction) {
                (Some(c), false) => return Ok(OutcomeWrite::AlreadyRecorded(c.clone())),
                (None, true) => return Ok(OutcomeWrite::NothingToCorrect),
                (Some(c), true) => i64::from(c.revision) + 1,
                (None, false) => 1,
            };
            exec(tx, sql::SUPERSEDE_OUTCOME, [outcome.declaration_id])?;
            exec(
                tx,
                sql::INSERT_OUTCOME,
                params![
                    outcome.declaration_id,
                    revision,
                    outcome.result.as_str(),
                    outcome.seizure,
                    outcome.revenue_milli,
                    outcome.currency,
                    outcome.inspector,
                    recorded_at,
                    outcome.reason,
                ],
            )?;
            current_outcome(tx, outcome.declaration_id)?
                .map(OutcomeWrite::Recorded)
                .ok_or_else(|| StoreError::Other("recorded outcome not read back".into()))
        })
    }

    fn outcomes(&self, limit: u32, offset: u32) -> Result<Vec<StoredOutcome>, StoreError> {
        self.read(|conn| {
            query(
                conn,
                sql::OUTCOMES,
                [i64::from(limit), i64::from(offset)],
                columns::outcome,
            )
        })
    }

    fn outcome_history(&self, declaration_id: i64) -> Result<Vec<StoredOutcome>, StoreError> {
        self.read(|conn| {
            query(
                conn,
                sql::OUTCOME_HISTORY,
                [declaration_id],
                columns::outcome,
            )
        })
    }

    fn targeting_documents(&self) -> Result<Vec<TargetingDocument>, StoreError> {
        // One read transaction, so documents and outcomes are the same snapshot.
        self.target_tx(|tx| {
            let documents = query(tx, sql::TARGETING_DOCUMENTS, [], columns::document)?;
            let outcomes = query(tx, sql::CURRENT_OUTCOMES, [], columns::outcome)?;
            Ok(columns::attach_outcomes(documents, outcomes))
        })
    }

    fn register_model(&self, model: &NewModel, activate: bool) -> Result<ModelSummary, StoreError> {
        let trained_at = int(model.trained_at, "trained_at")?;
        self.target_tx(|tx| {
            let version: i64 = tx
                .query_row(sql::NEXT_MODEL_VERSION, [], |r| r.get(0))
                .map_err(other("next model version"))?;
            if activate {
                exec(tx, sql::RETIRE_ACTIVE_MODEL, [])?;
            }
            let status = if activate { "active" } else { "candidate" };
            exec(
                tx,
                sql::INSERT_MODEL,
                params![
                    version,
                    &model.digest[..],
                    model.bytes,
                    model.training,
                    model.evaluation,
                    model.auc.filter(|a| a.is_finite()),
                    trained_at,
                    status,
                    activate.then_some(trained_at),
                ],
            )?;
            columns::one(query(tx, sql::MODEL_BY_VERSION, [version], columns::model)?)
        })
    }

    fn models(&self) -> Result<Vec<ModelSummary>, StoreError> {
        self.read(|conn| query(conn, sql::MODELS, [], columns::model))
    }

    fn model(&self, version: u32) -> Result<StoredModel, StoreError> {
        self.read(|conn| {
            columns::one(query(
                conn,
                sql::MODEL_WITH_BYTES,
                [i64::from(version)],
                columns::stored_model,
            )?)
        })
    }

    fn active_model(&self) -> Result<Option<StoredModel>, StoreError> {
        self.read(|conn| {
            Ok(query(
                conn,
                sql::ACTIVE_MODEL_WITH_BYTES,
                [],
                columns::stored_model,
            )?
            .into_iter()
            .next())
        })
    }

    fn promote_model(&self, version: u32, at: u64) -> Result<ModelSummary, StoreError> {
        let at = int(at, "promoted_at")?;
        self.target_tx(|tx| {
            let model = columns::one(query(
                tx,
                sql::MODEL_BY_VERSION,
                [i64::from(version)],
                columns::model,
            )?)?;
            if model.status == caravan_store::target::ModelStatus::Active {
                return Ok(model);
            }
            exec(tx, sql::RETIRE_ACTIVE_MODEL, [])?;
            exec(tx, sql::ACTIVATE_MODEL, params![at, i64::from(version)])?;
            columns::one(query(
                tx,
                sql::MODEL_BY_VERSION,
                [i64::from(version)],
                columns::model,
            )?)
        })
    }

    fn register_rules(&self, rules: &NewRuleFile) -> Result<StoredRuleFile, StoreError> {
        let loaded_at = int(rules.loaded_at, "loaded_at")?;
        self.target_tx(|tx| {
            let version: i64 = tx
                .query_row(sql::NEXT_RULES_VERSION, [], |r| r.get(0))
                .map_err(other("next rule file version"))?;
            exec(tx, sql::RETIRE_ACTIVE_RULES, [])?;
            exec(
                tx,
                sql::INSERT_RULES,
                params![
                    version,
                    rules.name,
                    rules.set_version,
                    rules.text,
                    &rules.digest[..],
                    rules.loaded_by,
                    loaded_at,
                ],
            )?;
            columns::one(query(tx, sql::RULES_BY_VERSION, [version], columns::rules)?)
        })
    }

    fn active_rules(&self) -> Result<Option<StoredRuleFile>, StoreError> {
        self.read(|conn| {
            Ok(query(conn, sql::ACTIVE_RULES, [], columns::rules)?
                .into_iter()
                .next())
        })
    }

    fn rule_files(&self) -> Result<Vec<StoredRuleFile>, StoreError> {
        self.read(|conn| query(conn, sql::RULE_FILES, [], columns::rules))
    }
}
