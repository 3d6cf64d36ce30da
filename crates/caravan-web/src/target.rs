//! Targeting at the node's edge: the officer's worklist (`GET /api/v1/target/worklist`,
//! page `/ui/target/worklist`), inspection outcomes (`POST /api/v1/target/outcomes`, and a
//! form per worklist row) and the model registry (`GET /api/v1/target/models`).
//!
//! Why here and shaped so: the engine (`caravan-target`) is pure and the store only keeps
//! rows; this module is the glue both the HTTP surface and the CLI (`caravan target
//! worklist|outcome`) call, so an outcome recorded from a page and one recorded from a shell
//! pass the same checks and the same worklist comes out of both. The worklist scores the
//! stored declarations that have no outcome yet, against the inspected ones as history, with
//! the active model of the registry (parsed once per version and cached) and the rule file in
//! force. Every view of the worklist and every outcome is audited; reading and recording
//! need `RunAnalytics`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use caravan_assistance::roles::Capability;
use caravan_domain::declaration::validate::{ValidationContext, validate};
use caravan_ingest::format::caravan_json::JsonReader;
use caravan_screen::disposition::DeclaredParty;
use caravan_store::screen::{HitFilter, HitStatus};
use caravan_store::target::{
    InspectionResult, ModelSummary, NewOutcome, OutcomeWrite, StoredOutcome,
};
use caravan_store::{Store, StoreError};
use caravan_target::eval::Ranker;
use caravan_target::record::{Outcome, TargetRecord};
use caravan_target::rules::RuleSet;
use caravan_target::worklist::{WorklistConfig, build};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{Principal, now_ms, same_origin};
use crate::{ApiError, AppState, ErrorCode};

/// The node's declarations as targeting rows, with the store id of each row's declaration.
#[derive(Debug, Default)]
pub struct NodeRecords {
    /// One row per goods item; labelled where an outcome is recorded.
    pub records: Vec<TargetRecord>,
    /// Store id of each row's declaration.
    pub declaration_ids: Vec<i64>,
    /// Stored documents that no longer read as declarations (left out).
    pub skipped: usize,
}

/// The training label of a recorded outcome: irregularity and seizure are fraud, a seizure
/// is critical, and the revenue recovered (thousandths) is the revenue.
pub fn label(outcome: &StoredOutcome) -> Outcome {
    Outcome {
        fraud: outcome.result.is_fraud(),
        critical: outcome.result == InspectionResult::Seizure,
        revenue: Some(outcome.revenue_milli.unwrap_or(0) as f64 / 1000.0),
    }
}

/// The signal screening feeds targeting: the best score among a declaration's parties'
/// screening hits that are open or confirmed (a hit an officer dismissed as a false
/// positive, suppressed, or whose entry was delisted does not count).
pub const SCREEN_SIGNAL: &str = "screen_best";

/// Best live hit score per screened party key.
pub fn screening_scores(store: &dyn Store) -> Result<HashMap<String, f64>, StoreError> {
    let hits = store.screen_hits(&HitFilter {
        statuses: vec![HitStatus::Open, HitStatus::TrueMatch],
        party_key: None,
        limit: u32::MAX,
        offset: 0,
    })?;
    let mut best: HashMap<String, f64> = HashMap::new();
    for h in hits {
        let e = best.entry(h.hit.party_key).or_insert(0.0);
        *e = e.max(h.hit.score);
    }
    Ok(best)
}

/// The screening signal of one declaration: the best score over its parties, keyed as
/// screening keys them; `None` when no party has a live hit.
pub fn screening_signal(
    declaration: &caravan_domain::declaration::model::Declaration,
    scores: &HashMap<String, f64>,
) -> Option<f64> {
    caravan_store::rows::party_rows(declaration)
        .filter_map(|row| {
            let party = DeclaredParty {
                role: row.role.to_owned(),
                name: row.name?,
                country: row.country,
                id_scheme: row.id_scheme.map(str::to_owned),
                id_value: row.id_value,
            };
            scores.get(&party.key()).copied()
        })
        .reduce(f64::max)
}

/// Reads every stored declaration as targeting rows. Labels come only from recorded
/// outcomes (the feedback loop), never from what a filing says about itself. Screening
/// hits on a declaration's parties become the [`SCREEN_SIGNAL`] signal.
pub fn load_records(store: &dyn Store) -> Result<NodeRecords, StoreError> {
    let documents = store.targeting_documents()?;
    let scores = screening_scores(store)?;
    let ctx = ValidationContext::partner("");
    let mut out = NodeRecords::default();
    for doc in documents {
        let parsed = JsonReader::new(doc.document.as_slice())
            .next()
            .and_then(Result::ok)
            .and_then(|source| validate(&source.draft, &ctx).ok());
        let Some(validated) = parsed else {
            out.skipped += 1;
            continue;
        };
        let screened = screening_signal(&validated.declaration, &scores);
        for mut r in caravan_target::declaration::records(&validated.declaration) {
            r.outcome = doc.outcome.as_ref().map(label);
            if let Some(score) = screened {
                r.signals.push((SCREEN_SIGNAL.to_owned(), score));
            }
            out.records.push(r);
            out.declaration_ids.push(doc.id);
        }
    }
    Ok(out)
}

/// Why the worklist or an outcome could not be produced; each has a public code.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// No model is active.
    #[error("no model is active in the registry; run `caravan target retrain`")]
    NoActiveModel,
    /// The active model cannot serve.
    #[error("the active model v{version} cannot serve: {reason}")]
    BadModel {
        /// Version.
        version: u32,
        /// Why.
        reason: String,
    },
    /// The rule file in force no longer parses (a newer build's syntax).
    #[error("the rule file in force v{0} no longer loads")]
    BadRules(u32),
    /// Bad request content.
    #[error("{0}")]
    Invalid(String),
    /// No declaration has that reference.
    #[error("no stored declaration has LRN or MRN {0:?}")]
    DeclarationNotFound(String),
    /// Several declarations share the reference.
    #[error("{count} declarations have reference {reference:?}; give the declarant")]
    Ambiguous {
        /// Reference.
        reference: String,
        /// How many.
        count: usize,
    },
    /// An outcome is recorded already.
    #[error("declaration {0:?} already has an outcome; send a correction to change it")]
    OutcomeExists(String),
    /// A correction without an outcome.
    #[error("declaration {0:?} has no outcome to correct")]
    NothingToCorrect(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TargetError {
    /// Stable public code.
    pub fn code(&self) -> &'static str {
        match self {
            TargetError::NoActiveModel => "no_active_model",
            TargetError::BadModel { .. } => "model_unusable",
            TargetError::BadRules(_) => "rules_unusable",
            TargetError::Invalid(_) => "invalid_outcome",
            TargetError::DeclarationNotFound(_) => "declaration_not_found",
            TargetError::Ambiguous { .. } => "declaration_ambiguous",
            TargetError::OutcomeExists(_) => "outcome_exists",
            TargetError::NothingToCorrect(_) => "nothing_to_correct",
            TargetError::Store(_) => "store_unavailable",
        }
    }

    fn into_api(self) -> ApiError {
        let status = match &self {
            TargetError::NoActiveModel
            | TargetError::OutcomeExists(_)
            | TargetError::NothingToCorrect(_)
            | TargetError::Ambiguous { .. } => StatusCode::CONFLICT,
            TargetError::BadModel { .. } | TargetError::BadRules(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            TargetError::Invalid(_) => StatusCode::BAD_REQUEST,
            TargetError::DeclarationNotFound(_) => StatusCode::NOT_FOUND,
            TargetError::Store(err) => {
                return ApiError::new(ErrorCode::StoreUnavailable, err.to_string());
            }
        };
        ApiError::custom(status, self.code(), self.to_string())
    }
}

/// An outcome as an officer states it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// LRN or MRN of the declaration.
    pub declaration: String,
    /// Declarant, when the reference is not unique.
    #[serde(default)]
    pub declarant: Option<String>,
    /// `no_irregularity`, `irregularity` or `seizure`.
    pub result: String,
    /// What was seized.
    #[serde(default)]
    pub seizure: Option<String>,
    /// Revenue recovered, a decimal with at most three decimals.
    #[serde(default)]
    pub revenue: Option<String>,
    /// ISO 4217 currency of the revenue.
    #[serde(default)]
    pub currency: Option<String>,
    /// Supersede the current outcome.
    #[serde(default)]
    pub correction: bool,
    /// Why (corrections).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A non-negative amount with at most three decimals, in thousandths.
pub fn parse_milli(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, "0"));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || frac.is_empty()
        || whole.len() > 15
        || frac.len() > 3
        || !digits(whole)
        || !digits(frac)
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<3}").parse().ok()?;
    whole.checked_mul(1000)?.checked_add(frac)
}

fn clean(text: Option<&str>, what: &str, max: usize) -> Result<Option<String>, TargetError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) if t.chars().count() > max || t.chars().any(char::is_control) => {
            Err(TargetError::Invalid(format!(
                "{what} must be at most {max} characters, no control characters"
            )))
        }
        Some(t) => Ok(Some(t.to_owned())),
    }
}

/// Checks and records an outcome for `inspector` at `now_ms`: the one path for the API,
/// the page and the CLI.
pub fn record_outcome(
    store: &dyn Store,
    request: &OutcomeRequest,
    inspector: &str,
    now_ms: u64,
) -> Result<StoredOutcome, TargetError> {
    let result = InspectionResult::parse(request.result.trim()).ok_or_else(|| {
        TargetError::Invalid(format!(
            "result must be no_irregularity, irregularity or seizure, not {:?}",
            request.result
        ))
    })?;
    let reference = request.declaration.trim();
    if reference.is_empty() || reference.len() > 70 {
        return Err(TargetError::Invalid(
            "declaration must be an LRN or MRN of 1-70 characters".into(),
        ));
    }
    let seizure = clean(request.seizure.as_deref(), "seizure", 500)?;
    if seizure.is_some() && result != InspectionResult::Seizure {
        return Err(TargetError::Invalid(
            "a seizure description goes with result seizure only".into(),
        ));
    }
    let revenue_milli = match clean(request.revenue.as_deref(), "revenue", 20)? {
        None => None,
        Some(r) => Some(parse_milli(&r).ok_or_else(|| {
            TargetError::Invalid(format!(
                "revenue must be a non-negative amount with at most 3 decimals, not {r:?}"
            ))
        })?),
    };
    let currency =
        clean(request.currency.as_deref(), "currency", 3)?.map(|c| c.to_ascii_uppercase());
    if let Some(c) = &currency
        && caravan_domain::id::CurrencyCode::parse(c).is_err()
    {
        return Err(TargetError::Invalid(format!(
            "currency {c:?} is not an ISO 4217 code"
        )));
    }
    if revenue_milli.is_some() != currency.is_some() {
        return Err(TargetError::Invalid(
            "revenue and currency go together".into(),
        ));
    }
    let reason = clean(request.reason.as_deref(), "reason", 500)?;
    let declarant = clean(request.declarant.as_deref(), "declarant", 70)?;
    let mut found = store.find_declarations(reference)?;
    if let Some(d) = &declarant {
        found.retain(|f| &f.declarant == d);
    }
    let declaration = match found.as_slice() {
        [] => return Err(TargetError::DeclarationNotFound(reference.to_owned())),
        [one] => one.clone(),
        many => {
            return Err(TargetError::Ambiguous {
                reference: reference.to_owned(),
                count: many.len(),
            });
        }
    };
    let outcome = NewOutcome {
        declaration_id: declaration.id,
        result,
        seizure,
        revenue_milli,
        currency,
        inspector: inspector.to_owned(),
        recorded_at: now_ms,
        reason,
    };
    match store.record_outcome(&outcome, request.correction)? {
        OutcomeWrite::Recorded(stored) => Ok(stored),
        OutcomeWrite::AlreadyRecorded(_) => Err(TargetError::OutcomeExists(declaration.lrn)),
        OutcomeWrite::NothingToCorrect => Err(TargetError::NothingToCorrect(declaration.lrn)),
    }
}

/// The parsed active model of one registry version.
pub type ModelCache = Mutex<Option<(u32, Arc<Ranker>)>>;

/// The active model as a ranker; `cache` keeps the parsed model of one version.
pub fn active_ranker(
    store: &dyn Store,
    cache: &ModelCache,
) -> Result<(u32, Arc<Ranker>), TargetError> {
    let active = store.active_model()?.ok_or(TargetError::NoActiveModel)?;
    let version = active.summary.version;
    if let Ok(guard) = cache.lock()
        && let Some((v, ranker)) = guard.as_ref()
        && *v == version
    {
        return Ok((version, ranker.clone()));
    }
    let bad = |reason: String| TargetError::BadModel { version, reason };
    let file = caravan_target::model_file::decode(&active.bytes).map_err(|e| bad(e.to_string()))?;
    let ranker = Arc::new(Ranker::from_file(file).map_err(|e| bad(e.to_string()))?);
    if let Ok(mut guard) = cache.lock() {
        *guard = Some((version, ranker.clone()));
    }
    Ok((version, ranker))
}

/// The rule file in force, parsed.
pub fn rules_in_force(store: &dyn Store) -> Result<Option<(u32, RuleSet)>, TargetError> {
    match store.active_rules()? {
        None => Ok(None),
        Some(r) => RuleSet::parse(&r.text)
            .map(|set| Some((r.version, set)))
            .map_err(|_| TargetError::BadRules(r.version)),
    }
}

/// One worklist row as the API and page show it.
#[derive(Debug, Clone, Serialize)]
pub struct WorklistRow {
    /// 1-based rank.
    pub rank: usize,
    /// Record id (`LRN/item`).
    pub item: String,
    /// Declaration store id.
    pub declaration_id: i64,
    /// LRN.
    pub lrn: String,
    /// p(fraud).
    pub p: f64,
    /// p × E[revenue].
    pub ranking: f64,
    /// Rule score, with rules.
    pub rule_score: Option<f64>,
    /// Lane.
    pub lane: &'static str,
    /// Why selected.
    pub reason: &'static str,
    /// Rules fired.
    pub rules_fired: Vec<String>,
    /// Strongest feature contributions.
    pub explanation: Vec<Contribution>,
    /// Fields the declaration lacked.
    pub missing: Vec<&'static str>,
}

/// One feature's push on the log-odds.
#[derive(Debug, Clone, Serialize)]
pub struct Contribution {
    /// Feature name.
    pub feature: String,
    /// Contribution.
    pub value: f64,
}

/// Lane fill.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaRow {
    /// Lane.
    pub lane: &'static str,
    /// Limit (none for release).
    pub limit: Option<usize>,
    /// Taken.
    pub used: usize,
    /// Taken by the random draw.
    pub random: usize,
}

/// The node's worklist.
#[derive(Debug, Clone, Serialize)]
pub struct NodeWorklist {
    /// Active model version.
    pub model_version: u32,
    /// Rule file version in force and its rule-set name and version.
    pub rules: Option<Value>,
    /// Uninspected goods items scored.
    pub scored: usize,
    /// Inspected goods items used as history.
    pub history: usize,
    /// Lane fill.
    pub quotas: Vec<QuotaRow>,
    /// Selected items, in order.
    pub entries: Vec<WorklistRow>,
}

/// Scores the stored, uninspected declarations with the active model (and the rules in
/// force) and returns the top `limit` of the worklist.
pub fn node_worklist(
    store: &dyn Store,
    cache: &ModelCache,
    config: &WorklistConfig,
    limit: usize,
) -> Result<NodeWorklist, TargetError> {
    let (version, ranker) = active_ranker(store, cache)?;
    let rules = rules_in_force(store)?;
    let data = load_records(store)?;
    let (mut history, mut live, mut live_ids) = (Vec::new(), Vec::new(), Vec::new());
    for (r, id) in data.records.into_iter().zip(data.declaration_ids) {
        if r.outcome.is_some() {
            history.push(r);
        } else {
            live.push(r);
            live_ids.push(id);
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let w = build(
        &ranker,
        &history,
        &live,
        rules.as_ref().map(|(_, s)| s),
        config,
        threads,
    )
    .map_err(|e| TargetError::BadModel {
        version,
        reason: e.to_string(),
    })?;
    Ok(NodeWorklist {
        model_version: version,
        rules: rules
            .as_ref()
            .map(|(v, s)| json!({ "version": v, "name": s.name, "set_version": s.version })),
        scored: w.scored,
        history: history.len(),
        quotas: w
            .quotas
            .iter()
            .map(|q| QuotaRow {
                lane: q.lane.name(),
                limit: q.limit,
                used: q.used,
                random: q.random,
            })
            .collect(),
        entries: w
            .entries
            .into_iter()
            .take(limit)
            .enumerate()
            .map(|(n, e)| WorklistRow {
                rank: n + 1,
                lrn: e
                    .id
                    .rsplit_once('/')
                    .map_or(e.id.clone(), |(l, _)| l.to_owned()),
                declaration_id: live_ids[e.index],
                item: e.id,
                p: e.p,
                ranking: e.ranking,
                rule_score: e.rule_score,
                lane: e.lane.name(),
                reason: e.reason,
                rules_fired: e.rules_fired,
                explanation: e
                    .contributions
                    .into_iter()
                    .map(|(feature, value)| Contribution { feature, value })
                    .collect(),
                missing: e.missing,
            })
            .collect(),
    })
}

/// A stored outcome as JSON.
pub fn outcome_json(o: &StoredOutcome) -> Value {
    json!({
        "declaration": { "id": o.declaration.id, "declarant": o.declaration.declarant, "lrn": o.declaration.lrn, "mrn": o.declaration.mrn },
        "revision": o.revision,
        "result": o.result.as_str(),
        "seizure": o.seizure,
        "revenue": o.revenue_milli.map(|m| format!("{}.{:03}", m / 1000, m % 1000)),
        "currency": o.currency,
        "inspector": o.inspector,
        "recorded_at": o.recorded_at,
        "reason": o.reason,
        "current": o.current,
    })
}

/// A registry entry as JSON.
pub fn model_json(m: &ModelSummary) -> Value {
    let evaluation: Value = serde_json::from_str(&m.evaluation).unwrap_or(Value::Null);
    json!({
        "version": m.version,
        "sha256": m.digest.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "status": m.status.as_str(),
        "training": m.training,
        "evaluation": evaluation,
        "auc": m.auc,
        "trained_at": m.trained_at,
        "promoted_at": m.promoted_at,
    })
}

#[derive(Clone)]
struct TargetState {
    store: Arc<dyn Store>,
    node_name: Arc<str>,
    cache: Arc<ModelCache>,
}

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    let state = TargetState {
        store: state.store.clone(),
        node_name: state.node_name.clone(),
        cache: Arc::new(Mutex::new(None)),
    };
    Router::new()
        .route("/api/v1/target/worklist", get(api_worklist))
        .route("/api/v1/target/outcomes", post(api_outcome))
        .route("/api/v1/target/models", get(api_models))
        .route("/ui/target/worklist", get(page_worklist))
        .route("/ui/target/outcomes", post(page_outcome))
        .with_state(state)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TargetError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
        .map_err(TargetError::into_api)
}

#[derive(Debug, Deserialize)]
struct WorklistQuery {
    limit: Option<String>,
    rate: Option<String>,
}

fn worklist_params(q: &WorklistQuery) -> Result<(usize, WorklistConfig), ApiError> {
    let bad = |m: &'static str| ApiError::custom(StatusCode::BAD_REQUEST, "invalid_query", m);
    let limit = match &q.limit {
        None => 100,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| bad("limit must be a whole number from 1 to 1000"))?,
    };
    let rate = match &q.rate {
        None => 5.0,
        Some(r) => r
            .parse::<f64>()
            .ok()
            .filter(|r| *r > 0.0 && *r <= 100.0)
            .ok_or_else(|| bad("rate must be a percentage in (0, 100]"))?,
    };
    Ok((
        limit,
        WorklistConfig {
            rate,
            ..WorklistConfig::default()
        },
    ))
}

async fn load_worklist(
    state: &TargetState,
    principal: &Principal,
    q: &WorklistQuery,
) -> Result<NodeWorklist, ApiError> {
    let (limit, config) = worklist_params(q)?;
    principal
        .require(Capability::RunAnalytics, "target.worklist.view", "worklist")
        .await?;
    let (store, cache) = (state.store.clone(), state.cache.clone());
    let w = blocking(move || node_worklist(&*store, &cache, &config, limit)).await?;
    principal
        .audit(
            "target.worklist.view",
            "worklist",
            json!({ "model_version": w.model_version, "scored": w.scored, "shown": w.entries.len() }),
        )
        .await?;
    Ok(w)
}

async fn api_worklist(
    State(state): State<TargetState>,
    principal: Principal,
    Query(q): Query<WorklistQuery>,
) -> Result<Json<NodeWorklist>, ApiError> {
    Ok(Json(load_worklist(&state, &principal, &q).await?))
}

async fn save_outcome(
    state: &TargetState,
    principal: &Principal,
    request: OutcomeRequest,
) -> Result<StoredOutcome, ApiError> {
    let object = request.declaration.chars().take(70).collect::<String>();
    principal
        .require(Capability::RunAnalytics, "target.outcome.record", &object)
        .await?;
    let store = state.store.clone();
    let inspector = principal.actor().account.clone();
    let now = now_ms().max(0) as u64;
    let result = blocking(move || record_outcome(&*store, &request, &inspector, now)).await;
    match result {
        Ok(stored) => {
            principal
                .audit("target.outcome.record", &object, outcome_json(&stored))
                .await?;
            Ok(stored)
        }
        Err(err) => {
            if err.status().is_client_error() {
                principal
                    .audit_refusal("target.outcome.record", &object, err.code(), json!({}))
                    .await?;
            }
            Err(err)
        }
    }
}

async fn api_outcome(
    State(state): State<TargetState>,
    principal: Principal,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: OutcomeRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::custom(
            StatusCode::BAD_REQUEST,
            "invalid_outcome",
            format!("the body is not an outcome object: {e}"),
        )
    })?;
    let stored = save_outcome(&state, &principal, request).await?;
    Ok((StatusCode::CREATED, Json(outcome_json(&stored))).into_response())
}

async fn api_models(
    State(state): State<TargetState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal
        .require(Capability::RunAnalytics, "target.models.view", "models")
        .await?;
    let store = state.store.clone();
    let models = blocking(move || Ok(store.models()?)).await?;
    principal
        .audit(
            "target.models.view",
            "models",
            json!({ "count": models.len() }),
        )
        .await?;
    Ok(Json(json!({
        "models": models.iter().map(model_json).collect::<Vec<_>>()
    })))
}

#[derive(Template)]
#[template(path = "target/worklist.html")]
struct WorklistPage<'a> {
    node_name: &'a str,
    worklist: Option<&'a NodeWorklist>,
    problem: Option<String>,
    notice: Option<String>,
}

impl WorklistPage<'_> {
    fn fmt3(&self, x: &f64) -> String {
        format!("{x:.3}")
    }
    fn signed(&self, x: &f64) -> String {
        format!("{x:+.2}")
    }
}

fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => ApiError::new(ErrorCode::Internal, err.to_string()).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    limit: Option<String>,
    rate: Option<String>,
    recorded: Option<String>,
    problem: Option<String>,
}

async fn page_worklist(
    State(state): State<TargetState>,
    principal: Principal,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let wq = WorklistQuery {
        limit: q.limit,
        rate: q.rate,
    };
    let short = |s: Option<String>| s.map(|s| s.chars().take(200).collect::<String>());
    let (worklist, problem) = match load_worklist(&state, &principal, &wq).await {
        Ok(w) => (Some(w), short(q.problem)),
        Err(err) if err.code() == "no_active_model" => {
            (None, Some(crate::i18n::t("target-no-model").to_owned()))
        }
        Err(err) => return Err(err),
    };
    Ok(render(&WorklistPage {
        node_name: &state.node_name,
        worklist: worklist.as_ref(),
        problem,
        notice: short(q.recorded).map(|lrn| crate::i18n::t1("target-outcome-recorded", "lrn", lrn)),
    }))
}

#[derive(Debug, Deserialize)]
struct OutcomeForm {
    declaration: String,
    result: String,
    #[serde(default)]
    seizure: String,
    #[serde(default)]
    revenue: String,
    #[serde(default)]
    currency: String,
}

/// What the page says about a refused outcome, in the officer's language.
fn problem_text(code: &str) -> &'static str {
    crate::i18n::t(match code {
        "invalid_outcome" => "target-problem-invalid",
        "declaration_not_found" => "target-problem-not-found",
        "declaration_ambiguous" => "target-problem-ambiguous",
        "outcome_exists" => "target-problem-exists",
        "nothing_to_correct" => "target-problem-nothing",
        "role_not_permitted" => "target-problem-role",
        _ => "target-problem-other",
    })
}

fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn page_outcome(
    State(state): State<TargetState>,
    principal: Principal,
    headers: HeaderMap,
    Form(form): Form<OutcomeForm>,
) -> Result<Response, ApiError> {
    if !same_origin(&headers) {
        return Err(ApiError::custom(
            StatusCode::FORBIDDEN,
            "cross_origin_refused",
            "a form sent from another site is refused (CSRF protection)",
        ));
    }
    let request = OutcomeRequest {
        declaration: form.declaration.clone(),
        result: form.result,
        seizure: Some(form.seizure),
        revenue: Some(form.revenue),
        currency: Some(form.currency),
        ..OutcomeRequest::default()
    };
    let target = match save_outcome(&state, &principal, request).await {
        Ok(stored) => format!(
            "/ui/target/worklist?recorded={}",
            encode_query(&stored.declaration.lrn)
        ),
        Err(err) if err.status().is_client_error() => format!(
            "/ui/target/worklist?problem={}",
            encode_query(&format!(
                "{}: {}",
                form.declaration,
                problem_text(err.code())
            ))
        ),
        Err(err) => return Err(err),
    };
    Ok(Redirect::to(&target).into_response())
}

/// This module's OpenAPI fragment.
pub fn openapi() -> Value {
    let error = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    json!({
        "paths": {
            "/api/v1/target/worklist": { "get": {
                "summary": "The targeting worklist: uninspected declarations ranked by the active model and the rules in force, with lanes, quota state, explanations and missing fields",
                "parameters": [
                    { "name": "limit", "in": "query", "required": false, "schema": { "type": "string", "pattern": "^[0-9]{1,4}$" }, "description": "Rows to return, 1-1000 (default 100)" },
                    { "name": "rate", "in": "query", "required": false, "schema": { "type": "string" }, "description": "Without a rule file: inspection budget in percent, (0, 100] (default 5)" }
                ],
                "responses": {
                    "200": { "description": "The worklist", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TargetWorklist" } } } },
                    "400": error("Invalid query (invalid_query)"),
                    "401": error("Not signed in (unauthenticated)"),
                    "403": error("The role may not run analytics (role_not_permitted)"),
                    "409": error("No model is active (no_active_model)"),
                    "503": error("The store or the active model cannot serve (store_unavailable, model_unusable, rules_unusable)")
                }
            } },
            "/api/v1/target/outcomes": { "post": {
                "summary": "Record the outcome of an inspection (one per declaration; a correction supersedes it and keeps the history)",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TargetOutcomeRequest" } } } },
                "responses": {
                    "201": { "description": "Recorded", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TargetOutcome" } } } },
                    "400": error("Invalid outcome (invalid_outcome)"),
                    "401": error("Not signed in (unauthenticated)"),
                    "403": error("The role may not record outcomes (role_not_permitted)"),
                    "404": error("No such declaration (declaration_not_found)"),
                    "409": error("Outcome exists, nothing to correct, or ambiguous reference (outcome_exists, nothing_to_correct, declaration_ambiguous)"),
                    "503": error("The store is not answering (store_unavailable)")
                }
            } },
            "/api/v1/target/models": { "get": {
                "summary": "The model registry, newest first, with each model's evaluation and status",
                "responses": {
                    "200": { "description": "Models", "content": { "application/json": { "schema": { "type": "object", "required": ["models"], "properties": { "models": { "type": "array", "items": { "$ref": "#/components/schemas/TargetModel" } } } } } } },
                    "401": error("Not signed in (unauthenticated)"),
                    "403": error("The role may not run analytics (role_not_permitted)"),
                    "503": error("The store is not answering (store_unavailable)")
                }
            } }
        },
        "components": { "schemas": {
            "TargetOutcomeRequest": {
                "type": "object", "additionalProperties": false, "required": ["declaration", "result"],
                "properties": {
                    "declaration": { "type": "string", "description": "LRN or MRN" },
                    "declarant": { "type": ["string", "null"] },
                    "result": { "type": "string", "enum": ["no_irregularity", "irregularity", "seizure"] },
                    "seizure": { "type": ["string", "null"] },
                    "revenue": { "type": ["string", "null"], "description": "Revenue recovered, e.g. \"1250.50\"" },
                    "currency": { "type": ["string", "null"], "description": "ISO 4217, with revenue" },
                    "correction": { "type": "boolean" },
                    "reason": { "type": ["string", "null"] }
                }
            },
            "TargetOutcome": {
                "type": "object", "required": ["declaration", "revision", "result", "inspector", "recorded_at", "current"],
                "properties": {
                    "declaration": { "type": "object", "properties": { "id": { "type": "integer" }, "declarant": { "type": "string" }, "lrn": { "type": "string" }, "mrn": { "type": ["string", "null"] } } },
                    "revision": { "type": "integer" },
                    "result": { "type": "string", "enum": ["no_irregularity", "irregularity", "seizure"] },
                    "seizure": { "type": ["string", "null"] },
                    "revenue": { "type": ["string", "null"] },
                    "currency": { "type": ["string", "null"] },
                    "inspector": { "type": "string" },
                    "recorded_at": { "type": "integer" },
                    "reason": { "type": ["string", "null"] },
                    "current": { "type": "boolean" }
                }
            },
            "TargetModel": {
                "type": "object", "required": ["version", "sha256", "status", "training", "trained_at"],
                "properties": {
                    "version": { "type": "integer" },
                    "sha256": { "type": "string" },
                    "status": { "type": "string", "enum": ["candidate", "active", "retired"] },
                    "training": { "type": "string" },
                    "evaluation": {},
                    "auc": { "type": ["number", "null"] },
                    "trained_at": { "type": "integer" },
                    "promoted_at": { "type": ["integer", "null"] }
                }
            },
            "TargetWorklist": {
                "type": "object", "required": ["model_version", "scored", "history", "quotas", "entries"],
                "properties": {
                    "model_version": { "type": "integer" },
                    "rules": { "type": ["object", "null"] },
                    "scored": { "type": "integer" },
                    "history": { "type": "integer" },
                    "quotas": { "type": "array", "items": { "type": "object", "properties": {
                        "lane": { "type": "string", "enum": ["red", "yellow", "green"] },
                        "limit": { "type": ["integer", "null"] }, "used": { "type": "integer" }, "random": { "type": "integer" } } } },
                    "entries": { "type": "array", "items": { "type": "object", "properties": {
                        "rank": { "type": "integer" }, "item": { "type": "string" }, "declaration_id": { "type": "integer" },
                        "lrn": { "type": "string" }, "p": { "type": "number" }, "ranking": { "type": "number" },
                        "rule_score": { "type": ["number", "null"] },
                        "lane": { "type": "string", "enum": ["red", "yellow", "green"] },
                        "reason": { "type": "string" },
                        "rules_fired": { "type": "array", "items": { "type": "string" } },
                        "explanation": { "type": "array", "items": { "type": "object", "properties": { "feature": { "type": "string" }, "value": { "type": "number" } } } },
                        "missing": { "type": "array", "items": { "type": "string" } } } } }
                }
            }
        } }
    })
}

#[cfg(test)]
mod tests {
    use super::parse_milli;

    #[test]
    fn amounts() {
        assert_eq!(parse_milli("1250.5"), Some(1_250_500));
        assert_eq!(parse_milli("0"), Some(0));
        assert_eq!(parse_milli("7.125"), Some(7_125));
        for bad in [
            "",
            "-1",
            "1.2345",
            "1e3",
            ".5",
            "1.",
            "abc",
            "9999999999999999",
        ] {
            assert_eq!(parse_milli(bad), None, "{bad:?}");
        }
    }
}
