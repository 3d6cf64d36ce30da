//! [`TargetStore`] on PostgreSQL, behaving exactly like the SQLite reference and running
//! the same SQL (`caravan_store::target::sql`).
//!
//! Why it is shaped this way: PostgreSQL lets writers run side by side, so the read that
//! decides and the write that follows are serialised explicitly. An outcome locks its
//! declaration's row (`FOR UPDATE`) first, so two officers recording at once get one
//! revision each, in turn; registry writes take `LOCK TABLE … IN EXCLUSIVE MODE` (readers
//! still read), so version numbers never collide and promotion's retire-then-activate is
//! atomic with respect to every other writer. The partial unique indexes stay the last word:
//! two active models cannot be committed whatever the code does.

use caravan_store::StoreError;
use caravan_store::log::columns::int;
use caravan_store::target::columns::{self, Cells};
use caravan_store::target::sql;
use caravan_store::target::{
    DeclarationRef, ModelStatus, ModelSummary, NewModel, NewOutcome, NewRuleFile, OutcomeWrite,
    StoredModel, StoredOutcome, StoredRuleFile, TargetStore, TargetingDocument,
};
use postgres::types::ToSql;
use postgres::{GenericClient, Row, Transaction};

use crate::{PgStore, other};

/// The declaration row an outcome is about, locked until the transaction ends.
const LOCK_DECLARATION: &str =
    "SELECT id, declarant, lrn, mrn FROM declarations WHERE id = $1 FOR UPDATE";

struct PgCells<'a>(&'a Row);

impl PgCells<'_> {
    fn get<'r, T: postgres::types::FromSql<'r>>(&'r self, i: usize) -> Result<T, StoreError> {
        self.0.try_get(i).map_err(other("read targeting column"))
    }
}

caravan_store::impl_target_cells!(PgCells<'_>);

fn query<T>(
    client: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    map: fn(&dyn Cells) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let rows = client
        .query(sql, params)
        .map_err(other("run targeting query"))?;
    rows.iter().map(|r| map(&PgCells(r))).collect()
}

fn exec(
    tx: &mut Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    tx.execute(sql, params)
        .map_err(other("write targeting row"))
}

fn next_version(tx: &mut Transaction<'_>, sql: &str) -> Result<i64, StoreError> {
    tx.query_one(sql, &[])
        .and_then(|r| r.try_get(0))
        .map_err(other("next registry version"))
}

fn model_by_version(tx: &mut Transaction<'_>, version: i64) -> Result<ModelSummary, StoreError> {
    columns::one(query(
        tx,
        sql::MODEL_BY_VERSION,
        &[&version],
        columns::model,
    )?)
}

impl PgStore {
    /// Runs `work` in one transaction, committed only when it returns `Ok`.
    fn target_tx<T>(
        &self,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock()?;
        let mut tx = conn
            .transaction()
            .map_err(other("begin targeting transaction"))?;
        let out = work(&mut tx)?;
        tx.commit().map_err(other("commit targeting transaction"))?;
        Ok(out)
    }
}

fn current_outcome(
    tx: &mut Transaction<'_>,
    declaration: i64,
) -> Result<Option<StoredOutcome>, StoreError> {
    Ok(
        query(tx, sql::CURRENT_OUTCOME, &[&declaration], columns::outcome)?
            .into_iter()
            .next(),
    )
}

impl TargetStore for PgStore {
    fn find_declarations(&self, reference: &str) -> Result<Vec<DeclarationRef>, StoreError> {
        let mut conn = self.lock()?;
        query(
            &mut *conn,
            sql::FIND_DECLARATIONS,
            &[&reference],
            columns::declaration,
        )
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
                LOCK_DECLARATION,
                &[&outcome.declaration_id],
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
            exec(tx, sql::SUPERSEDE_OUTCOME, &[&outcome.declaration_id])?;
            exec(
                tx,
                sql::INSERT_OUTCOME,
                &[
                    &outcome.declaration_id,
                    &revision,
                    &outcome.result.as_str(),
                    &outcome.seizure,
                    &outcome.revenue_milli,
                    &outcome.currency,
                    &outcome.inspector,
                    &recorded_at,
                    &outcome.reason,
                ],
            )?;
            current_outcome(tx, outcome.declaration_id)?
                .map(OutcomeWrite::Recorded)
                .ok_or_else(|| StoreError::Other("recorded outcome not read back".into()))
        })
    }

    fn outcomes(&self, limit: u32, offset: u32) -> Result<Vec<StoredOutcome>, StoreError> {
        let mut conn = self.lock()?;
        query(
            &mut *conn,
            sql::OUTCOMES,
            &[&i64::from(limit), &i64::from(offset)],
            columns::outcome,
        )
    }

    fn outcome_history(&self, declaration_id: i64) -> Result<Vec<StoredOutcome>, StoreError> {
        let mut conn = self.lock()?;
        query(
            &mut *conn,
            sql::OUTCOME_HISTORY,
            &[&declaration_id],
            columns::outcome,
        )
    }

    fn targeting_documents(&self) -> Result<Vec<TargetingDocument>, StoreError> {
        // REPEATABLE READ: documents and outcomes from one snapshot.
        self.target_tx(|tx| {
            tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .map_err(other("set snapshot"))?;
            let documents = query(tx, sql::TARGETING_DOCUMENTS, &[], columns::document)?;
            let outcomes = query(tx, sql::CURRENT_OUTCOMES, &[], columns::outcome)?;
            Ok(columns::attach_outcomes(documents, outcomes))
        })
    }

    fn register_model(&self, model: &NewModel, activate: bool) -> Result<ModelSummary, StoreError> {
        let trained_at = int(model.trained_at, "trained_at")?;
        self.target_tx(|tx| {
            tx.batch_execute("LOCK TABLE target_models IN EXCLUSIVE MODE")
                .map_err(other("lock model registry"))?;
            let version = next_version(tx, sql::NEXT_MODEL_VERSION)?;
            if activate {
                exec(tx, sql::RETIRE_ACTIVE_MODEL, &[])?;
            }
            let status = if activate { "active" } else { "candidate" };
            exec(
                tx,
                sql::INSERT_MODEL,
                &[
                    &version,
                    &&model.digest[..],
                    &model.bytes,
                    &model.training,
                    &model.evaluation,
                    &model.auc.filter(|a| a.is_finite()),
                    &trained_at,
                    &status,
                    &activate.then_some(trained_at),
                ],
            )?;
            model_by_version(tx, version)
        })
    }

    fn models(&self) -> Result<Vec<ModelSummary>, StoreError> {
        let mut conn = self.lock()?;
        query(&mut *conn, sql::MODELS, &[], columns::model)
    }

    fn model(&self, version: u32) -> Result<StoredModel, StoreError> {
        let mut conn = self.lock()?;
        columns::one(query(
            &mut *conn,
            sql::MODEL_WITH_BYTES,
            &[&i64::from(version)],
            columns::stored_model,
        )?)
    }

    fn active_model(&self) -> Result<Option<StoredModel>, StoreError> {
        let mut conn = self.lock()?;
        Ok(query(
            &mut *conn,
            sql::ACTIVE_MODEL_WITH_BYTES,
            &[],
            columns::stored_model,
        )?
        .into_iter()
        .next())
    }

    fn promote_model(&self, version: u32, at: u64) -> Result<ModelSummary, StoreError> {
        let at = int(at, "promoted_at")?;
        let version = i64::from(version);
        self.target_tx(|tx| {
            tx.batch_execute("LOCK TABLE target_models IN EXCLUSIVE MODE")
                .map_err(other("lock model registry"))?;
            let model = model_by_version(tx, version)?;
            if model.status == ModelStatus::Active {
                return Ok(model);
            }
            exec(tx, sql::RETIRE_ACTIVE_MODEL, &[])?;
            exec(tx, sql::ACTIVATE_MODEL, &[&at, &version])?;
            model_by_version(tx, version)
        })
    }

    fn register_rules(&self, rules: &NewRuleFile) -> Result<StoredRuleFile, StoreError> {
        let loaded_at = int(rules.loaded_at, "loaded_at")?;
        self.target_tx(|tx| {
            tx.batch_execute("LOCK TABLE target_rule_files IN EXCLUSIVE MODE")
                .map_err(other("lock rule registry"))?;
            let version = next_version(tx, sql::NEXT_RULES_VERSION)?;
            exec(tx, sql::RETIRE_ACTIVE_RULES, &[])?;
            exec(
                tx,
                sql::INSERT_RULES,
                &[
                    &version,
                    &rules.name,
                    &rules.set_version,
                    &rules.text,
                    &&rules.digest[..],
                    &rules.loaded_by,
                    &loaded_at,
                ],
            )?;
            columns::one(query(
                tx,
                sql::RULES_BY_VERSION,
                &[&version],
                columns::rules,
            )?)
        })
    }

    fn active_rules(&self) -> Result<Option<StoredRuleFile>, StoreError> {
        let mut conn = self.lock()?;
        Ok(query(&mut *conn, sql::ACTIVE_RULES, &[], columns::rules)?
            .into_iter()
            .next())
    }

    fn rule_files(&self) -> Result<Vec<StoredRuleFile>, StoreError> {
        let mut conn = self.lock()?;
        query(&mut *conn, sql::RULE_FILES, &[], columns::rules)
    }
}
