//! What targeting's feedback loop needs from storage: inspection outcomes, the model
//! registry and the rule-file registry (analytics spec, Targeting; issue 8 "the feedback
//! loop").
//!
//! Why at this level: the loop is only as good as its labels and its versions. An outcome
//! is the label a model later learns from, so there is one current outcome per declaration
//! and a correction never overwrites: it supersedes, and the history stays. A model or rule
//! file is served only once it is stored whole, and "exactly one active" is a storage
//! invariant, so promotion (old active → retired, new → active) is one transaction in every
//! backend and a crash leaves either the old or the new model active, never none or two.
//! Times are Unix milliseconds chosen by the caller (the store has no clock).

use crate::StoreError;

/// What an inspection found, as recorded (spec: only inspected rows get labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InspectionResult {
    /// Inspected; nothing irregular.
    NoIrregularity,
    /// Inspected; an irregularity (undervaluation, misdescription, wrong origin, …).
    Irregularity,
    /// Inspected; goods seized.
    Seizure,
}

impl InspectionResult {
    /// Every result, in stored-name order.
    pub const ALL: [InspectionResult; 3] = [
        InspectionResult::NoIrregularity,
        InspectionResult::Irregularity,
        InspectionResult::Seizure,
    ];

    /// Stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            InspectionResult::NoIrregularity => "no_irregularity",
            InspectionResult::Irregularity => "irregularity",
            InspectionResult::Seizure => "seizure",
        }
    }

    /// Parses a name given by [`InspectionResult::as_str`].
    pub fn parse(raw: &str) -> Option<InspectionResult> {
        InspectionResult::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
    }

    /// Whether the inspection found fraud (the training label).
    pub fn is_fraud(self) -> bool {
        !matches!(self, InspectionResult::NoIrregularity)
    }
}

/// A stored declaration a reference resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationRef {
    /// Store id.
    pub id: i64,
    /// Declarant key.
    pub declarant: String,
    /// Trader reference.
    pub lrn: String,
    /// Movement reference, when assigned.
    pub mrn: Option<String>,
}

/// An outcome to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutcome {
    /// The declaration's store id (from [`TargetStore::find_declarations`]).
    pub declaration_id: i64,
    /// The result.
    pub result: InspectionResult,
    /// What was seized, for a seizure.
    pub seizure: Option<String>,
    /// Revenue recovered, integer thousandths of `currency`.
    pub revenue_milli: Option<i64>,
    /// ISO 4217 currency of the revenue.
    pub currency: Option<String>,
    /// Account of the inspecting officer.
    pub inspector: String,
    /// When it was recorded (ms).
    pub recorded_at: u64,
    /// Why a correction was made (corrections only).
    pub reason: Option<String>,
}

/// A stored outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOutcome {
    /// Row id.
    pub id: i64,
    /// The declaration.
    pub declaration: DeclarationRef,
    /// 1 for the first record, 2 for its first correction, …
    pub revision: u32,
    /// The result.
    pub result: InspectionResult,
    /// What was seized.
    pub seizure: Option<String>,
    /// Revenue recovered, thousandths.
    pub revenue_milli: Option<i64>,
    /// Currency of the revenue.
    pub currency: Option<String>,
    /// Inspecting officer's account.
    pub inspector: String,
    /// When recorded (ms).
    pub recorded_at: u64,
    /// Reason of a correction.
    pub reason: Option<String>,
    /// False once a later correction supersedes it.
    pub current: bool,
}

/// What [`TargetStore::record_outcome`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeWrite {
    /// Stored; the new current outcome.
    Recorded(StoredOutcome),
    /// Not a correction, and the declaration already has this current outcome: nothing
    /// written.
    AlreadyRecorded(StoredOutcome),
    /// A correction, but the declaration has no outcome to correct: nothing written.
    NothingToCorrect,
}

/// A declaration with its current outcome, as training and scoring read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetingDocument {
    /// Store id.
    pub id: i64,
    /// Canonical document (Caravan JSON).
    pub document: Vec<u8>,
    /// Its current outcome, if inspected.
    pub outcome: Option<StoredOutcome>,
}

/// A model's place in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelStatus {
    /// Registered, not serving.
    Candidate,
    /// The one model that scores.
    Active,
    /// Served once, replaced.
    Retired,
}

impl ModelStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStatus::Candidate => "candidate",
            ModelStatus::Active => "active",
            ModelStatus::Retired => "retired",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Result<ModelStatus, StoreError> {
        match raw {
            "candidate" => Ok(ModelStatus::Candidate),
            "active" => Ok(ModelStatus::Active),
            "retired" => Ok(ModelStatus::Retired),
            other => Err(StoreError::Other(format!(
                "stored model status {other:?} is unknown"
            ))),
        }
    }
}

/// A model to register.
#[derive(Debug, Clone, PartialEq)]
pub struct NewModel {
    /// The model file, as `caravan_target::model_file::encode` wrote it.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`.
    pub digest: [u8; 32],
    /// What it was trained on, in words (rows, window, protocol).
    pub training: String,
    /// Its evaluation, as JSON (P/R/Revenue at rates, AUC, hold-out).
    pub evaluation: String,
    /// AUC on its hold-out, for listings (NaN-free; absent when not evaluated).
    pub auc: Option<f64>,
    /// When trained (ms).
    pub trained_at: u64,
}

/// A registered model without its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSummary {
    /// Version: 1, 2, … in registration order.
    pub version: u32,
    /// SHA-256 of the model file.
    pub digest: [u8; 32],
    /// Training description.
    pub training: String,
    /// Evaluation JSON.
    pub evaluation: String,
    /// AUC on its hold-out.
    pub auc: Option<f64>,
    /// When trained (ms).
    pub trained_at: u64,
    /// Status.
    pub status: ModelStatus,
    /// When it last became active (ms).
    pub promoted_at: Option<u64>,
}

/// A registered model with its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    /// Registry facts.
    pub summary: ModelSummary,
    /// The model file.
    pub bytes: Vec<u8>,
}

/// A rule file to register (already parsed and validated by the caller: a refused file
/// never reaches the store, so the old one stays active).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRuleFile {
    /// Rule-set name from the file.
    pub name: String,
    /// Rule-set version from the file.
    pub set_version: String,
    /// The file text.
    pub text: String,
    /// SHA-256 of `text`.
    pub digest: [u8; 32],
    /// Account that loaded it.
    pub loaded_by: String,
    /// When (ms).
    pub loaded_at: u64,
}

/// A registered rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRuleFile {
    /// Registry version: 1, 2, …
    pub version: u32,
    /// Rule-set name.
    pub name: String,
    /// Rule-set version from the file.
    pub set_version: String,
    /// The text.
    pub text: String,
    /// SHA-256 of the text.
    pub digest: [u8; 32],
    /// Loaded by.
    pub loaded_by: String,
    /// Loaded at (ms).
    pub loaded_at: u64,
    /// The one rule file in force.
    pub active: bool,
}

/// Targeting's durable state. Every method is one transaction.
pub trait TargetStore: Send + Sync {
    /// Declarations whose LRN or MRN equals `reference`, by id.
    fn find_declarations(&self, reference: &str) -> Result<Vec<DeclarationRef>, StoreError>;

    /// Records an outcome. Without `correction`, a declaration that has a current outcome
    /// is left alone ([`OutcomeWrite::AlreadyRecorded`]); with it, the new row supersedes
    /// the current one and both stay. `NotFound` when the declaration does not exist.
    fn record_outcome(
        &self,
        outcome: &NewOutcome,
        correction: bool,
    ) -> Result<OutcomeWrite, StoreError>;

    /// Current outcomes, newest first.
    fn outcomes(&self, limit: u32, offset: u32) -> Result<Vec<StoredOutcome>, StoreError>;

    /// Every outcome of one declaration, oldest first (the correction history).
    fn outcome_history(&self, declaration_id: i64) -> Result<Vec<StoredOutcome>, StoreError>;

    /// Stored import declarations with their current outcomes, by id; what training and
    /// the worklist read.
    fn targeting_documents(&self) -> Result<Vec<TargetingDocument>, StoreError>;

    /// Registers a model as the next version, a candidate or, with `activate`, the active
    /// model (the previous one retired) in the same transaction.
    fn register_model(&self, model: &NewModel, activate: bool) -> Result<ModelSummary, StoreError>;

    /// The registry, newest version first, without bytes.
    fn models(&self) -> Result<Vec<ModelSummary>, StoreError>;

    /// One model with its bytes; `NotFound` if no such version.
    fn model(&self, version: u32) -> Result<StoredModel, StoreError>;

    /// The active model, if any.
    fn active_model(&self) -> Result<Option<StoredModel>, StoreError>;

    /// Makes `version` the active model and retires the previous one, in one transaction.
    /// `NotFound` if no such version; promoting the active model changes nothing.
    fn promote_model(&self, version: u32, at: u64) -> Result<ModelSummary, StoreError>;

    /// Registers a validated rule file as the next version and makes it the one in force.
    fn register_rules(&self, rules: &NewRuleFile) -> Result<StoredRuleFile, StoreError>;

    /// The rule file in force, if any.
    fn active_rules(&self) -> Result<Option<StoredRuleFile>, StoreError>;

    /// Every rule file, newest first.
    fn rule_files(&self) -> Result<Vec<StoredRuleFile>, StoreError>;
}

/// Column lists and row decoding shared by the backends, so both read rows the same way.
pub mod columns {
    use super::{DeclarationRef, InspectionResult, ModelStatus, ModelSummary, StoredModel};
    use super::{StoreError, StoredOutcome, StoredRuleFile, TargetingDocument};
    use crate::log::columns::{hash, uint};

    /// Typed access to one result row, implemented by each backend.
    pub trait Cells {
        /// Text.
        fn text(&self, i: usize) -> Result<String, StoreError>;
        /// Nullable text.
        fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
        /// Integer.
        fn int(&self, i: usize) -> Result<i64, StoreError>;
        /// Nullable integer.
        fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
        /// Nullable float.
        fn opt_real(&self, i: usize) -> Result<Option<f64>, StoreError>;
        /// Bytes.
        fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError>;
        /// Boolean.
        fn flag(&self, i: usize) -> Result<bool, StoreError>;
    }

    /// Implements [`Cells`] for a backend's row wrapper that has a generic
    /// `fn get<T>(&self, i: usize) -> Result<T, StoreError>`.
    #[macro_export]
    macro_rules! impl_target_cells {
        ($ty:ty) => {
            impl $crate::target::columns::Cells for $ty {
                fn text(&self, i: usize) -> Result<String, $crate::StoreError> {
                    self.get(i)
                }
                fn opt_text(&self, i: usize) -> Result<Option<String>, $crate::StoreError> {
                    self.get(i)
                }
                fn int(&self, i: usize) -> Result<i64, $crate::StoreError> {
                    self.get(i)
                }
                fn opt_int(&self, i: usize) -> Result<Option<i64>, $crate::StoreError> {
                    self.get(i)
                }
                fn opt_real(&self, i: usize) -> Result<Option<f64>, $crate::StoreError> {
                    self.get(i)
                }
                fn blob(&self, i: usize) -> Result<Vec<u8>, $crate::StoreError> {
                    self.get(i)
                }
                fn flag(&self, i: usize) -> Result<bool, $crate::StoreError> {
                    self.get(i)
                }
            }
        };
    }

    fn small(v: i64, what: &str) -> Result<u32, StoreError> {
        u32::try_from(v)
            .map_err(|_| StoreError::Other(format!("stored {what} {v} is out of range")))
    }

    /// The single row a keyed read must find; `NotFound` otherwise.
    pub fn one<T>(rows: Vec<T>) -> Result<T, StoreError> {
        rows.into_iter().next().ok_or(StoreError::NotFound)
    }

    /// A row of `id, declarant, lrn, mrn`.
    pub fn declaration(r: &dyn Cells) -> Result<DeclarationRef, StoreError> {
        Ok(DeclarationRef {
            id: r.int(0)?,
            declarant: r.text(1)?,
            lrn: r.text(2)?,
            mrn: r.opt_text(3)?,
        })
    }

    /// A row of `id, document`, its outcome still to attach.
    pub fn document(r: &dyn Cells) -> Result<TargetingDocument, StoreError> {
        Ok(TargetingDocument {
            id: r.int(0)?,
            document: r.blob(1)?,
            outcome: None,
        })
    }

    /// Puts each current outcome on its document; both lists are ordered by declaration id.
    pub fn attach_outcomes(
        mut documents: Vec<TargetingDocument>,
        outcomes: Vec<StoredOutcome>,
    ) -> Vec<TargetingDocument> {
        let mut at = 0;
        for outcome in outcomes {
            while at < documents.len() && documents[at].id < outcome.declaration.id {
                at += 1;
            }
            if let Some(d) = documents
                .get_mut(at)
                .filter(|d| d.id == outcome.declaration.id)
            {
                d.outcome = Some(outcome);
            }
        }
        documents
    }

    /// A row of the outcome columns of [`super::sql`].
    pub fn outcome(r: &dyn Cells) -> Result<StoredOutcome, StoreError> {
        let result = r.text(6)?;
        Ok(StoredOutcome {
            id: r.int(0)?,
            declaration: DeclarationRef {
                id: r.int(1)?,
                declarant: r.text(2)?,
                lrn: r.text(3)?,
                mrn: r.opt_text(4)?,
            },
            revision: small(r.int(5)?, "outcome revision")?,
            result: InspectionResult::parse(&result).ok_or_else(|| {
                StoreError::Other(format!("stored inspection result {result:?} is unknown"))
            })?,
            seizure: r.opt_text(7)?,
            revenue_milli: r.opt_int(8)?,
            currency: r.opt_text(9)?,
            inspector: r.text(10)?,
            recorded_at: uint(r.int(11)?, "recorded_at")?,
            reason: r.opt_text(12)?,
            current: r.flag(13)?,
        })
    }

    /// A row of the model columns and then `bytes`.
    pub fn stored_model(r: &dyn Cells) -> Result<StoredModel, StoreError> {
        Ok(StoredModel {
            summary: model(r)?,
            bytes: r.blob(8)?,
        })
    }

    /// A row of the model columns of [`super::sql`].
    pub fn model(r: &dyn Cells) -> Result<ModelSummary, StoreError> {
        Ok(ModelSummary {
            version: small(r.int(0)?, "model version")?,
            digest: hash(r.blob(1)?, "model digest")?,
            training: r.text(2)?,
            evaluation: r.text(3)?,
            auc: r.opt_real(4)?,
            trained_at: uint(r.int(5)?, "trained_at")?,
            status: ModelStatus::parse(&r.text(6)?)?,
            promoted_at: r.opt_int(7)?.map(|v| uint(v, "promoted_at")).transpose()?,
        })
    }

    /// A row of the rule-file columns of [`super::sql`].
    pub fn rules(r: &dyn Cells) -> Result<StoredRuleFile, StoreError> {
        Ok(StoredRuleFile {
            version: small(r.int(0)?, "rule file version")?,
            name: r.text(1)?,
            set_version: r.text(2)?,
            text: r.text(3)?,
            digest: hash(r.blob(4)?, "rule file digest")?,
            loaded_by: r.text(5)?,
            loaded_at: uint(r.int(6)?, "loaded_at")?,
            active: r.flag(7)?,
        })
    }
}

/// The SQL both backends run, with `$n` parameters numbered in order of first use (SQLite
/// binds `$n` by first appearance, PostgreSQL by number; the order makes them agree) and
/// `TRUE`/`FALSE` literals, which both accept.
pub mod sql {
    macro_rules! outcome_from {
        () => {
            "SELECT o.id, o.declaration_id, d.declarant, d.lrn, d.mrn, o.revision, o.result, \
             o.seizure, o.revenue_milli, o.currency, o.inspector, o.recorded_at, o.reason, \
             o.is_current FROM target_outcomes o JOIN declarations d ON d.id = o.declaration_id "
        };
    }
    macro_rules! model_columns {
        () => {
            "SELECT version, digest, training, evaluation, auc, trained_at, status, promoted_at"
        };
    }
    macro_rules! rules_from {
        () => {
            "SELECT version, name, set_version, text, digest, loaded_by, loaded_at, active \
             FROM target_rule_files "
        };
    }

    /// Declarations by LRN or MRN.
    pub const FIND_DECLARATIONS: &str = "SELECT id, declarant, lrn, mrn FROM declarations \
        WHERE lrn = $1 OR mrn = $1 ORDER BY id";
    /// One declaration by id.
    pub const DECLARATION_BY_ID: &str =
        "SELECT id, declarant, lrn, mrn FROM declarations WHERE id = $1";
    /// The current outcome of a declaration.
    pub const CURRENT_OUTCOME: &str = concat!(
        outcome_from!(),
        "WHERE o.declaration_id = $1 AND o.is_current"
    );
    /// Every current outcome, by declaration.
    pub const CURRENT_OUTCOMES: &str = concat!(
        outcome_from!(),
        "WHERE o.is_current ORDER BY o.declaration_id"
    );
    /// Current outcomes, newest first, a page.
    pub const OUTCOMES: &str = concat!(
        outcome_from!(),
        "WHERE o.is_current ORDER BY o.recorded_at DESC, o.id DESC LIMIT $1 OFFSET $2"
    );
    /// One declaration's outcome history.
    pub const OUTCOME_HISTORY: &str = concat!(
        outcome_from!(),
        "WHERE o.declaration_id = $1 ORDER BY o.revision"
    );
    /// Clears the current flag before a correction.
    pub const SUPERSEDE_OUTCOME: &str = "UPDATE target_outcomes SET is_current = FALSE \
        WHERE declaration_id = $1 AND is_current";
    /// A new current outcome.
    pub const INSERT_OUTCOME: &str = "INSERT INTO target_outcomes (declaration_id, revision, \
        result, seizure, revenue_milli, currency, inspector, recorded_at, reason, is_current) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE)";
    /// Declarations training and scoring read (amendments are not filings of goods).
    pub const TARGETING_DOCUMENTS: &str =
        "SELECT id, document FROM declarations WHERE direction <> 'amendment' ORDER BY id";

    /// The next model version.
    pub const NEXT_MODEL_VERSION: &str = "SELECT COALESCE(MAX(version), 0) + 1 FROM target_models";
    /// Retires the active model.
    pub const RETIRE_ACTIVE_MODEL: &str =
        "UPDATE target_models SET status = 'retired' WHERE status = 'active'";
    /// Registers a model.
    pub const INSERT_MODEL: &str = "INSERT INTO target_models (version, digest, bytes, training, \
        evaluation, auc, trained_at, status, promoted_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    /// Activates a model.
    pub const ACTIVATE_MODEL: &str =
        "UPDATE target_models SET status = 'active', promoted_at = $1 WHERE version = $2";
    /// One model's registry facts.
    pub const MODEL_BY_VERSION: &str =
        concat!(model_columns!(), " FROM target_models WHERE version = $1");
    /// The registry, newest first.
    pub const MODELS: &str = concat!(
        model_columns!(),
        " FROM target_models ORDER BY version DESC"
    );
    /// One model with its bytes.
    pub const MODEL_WITH_BYTES: &str = concat!(
        model_columns!(),
        ", bytes FROM target_models WHERE version = $1"
    );
    /// The active model with its bytes.
    pub const ACTIVE_MODEL_WITH_BYTES: &str = concat!(
        model_columns!(),
        ", bytes FROM target_models WHERE status = 'active'"
    );

    /// The next rule-file version.
    pub const NEXT_RULES_VERSION: &str =
        "SELECT COALESCE(MAX(version), 0) + 1 FROM target_rule_files";
    /// Takes the rule file in force out of force.
    pub const RETIRE_ACTIVE_RULES: &str =
        "UPDATE target_rule_files SET active = FALSE WHERE active";
    /// Registers a rule file, in force.
    pub const INSERT_RULES: &str = "INSERT INTO target_rule_files (version, name, set_version, \
        text, digest, loaded_by, loaded_at, active) VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE)";
    /// One rule file.
    pub const RULES_BY_VERSION: &str = concat!(rules_from!(), "WHERE version = $1");
    /// The rule file in force.
    pub const ACTIVE_RULES: &str = concat!(rules_from!(), "WHERE active");
    /// Every rule file, newest first.
    pub const RULE_FILES: &str = concat!(rules_from!(), "ORDER BY version DESC");
}
