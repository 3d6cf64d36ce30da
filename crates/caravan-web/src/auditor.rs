//! The auditor's view: the audit trail, the node's transparency log (checkpoints, witness
//! cosignatures, growth) and proof verification (assistance spec §13–§14, exchange spec
//! §11.4–§11.7).
//!
//! Why here and not in `ui`: the auditor's questions are "did anyone act outside their
//! role?", "has the log been rewritten?" and "is this entry really in the log the partner
//! cosigned?". The pages answer them from the store and the log's public artifacts only,
//! and the proof page hands the auditor everything needed to check a tlog-proof *without
//! trusting this node*: `static/verify.js` recomputes the inclusion path and verifies the
//! Ed25519 signatures in the browser with WebCrypto, while the node's own check
//! (`caravan_tlog::proof::verify_offline`) is shown beside it, labelled as the node's.
//!
//! Roles: the audit trail is the auditor's alone (§13 "Read audit trail"); the log pages
//! show metadata and commitments only, so the administrator, who manages the keys, may
//! read them too. Every read is audited like any other.
//!
//! What the store keeps bounds what is shown: the latest checkpoint (with the
//! cosignatures attached to it), the witnessed state of each partner log and the
//! `witness_seen` entries of our own log; earlier checkpoints of our log are not stored,
//! so the witness status is "cosigned at the latest checkpoint or not yet".

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use caravan_assistance::roles::Capability;
use caravan_log::LogNode;
use caravan_log::entry::{Entry, EntryBody, ManifestOwner};
use caravan_store::access::{AuditQuery, AuditRecord, verify_audit_chain};
use caravan_store::log::Alarm;
use caravan_tlog::checkpoint::SignedCheckpoint;
use caravan_tlog::cosignature::CosignatureVerifier;
use caravan_tlog::note::{Ed25519Verifier, NoteVerifier, VerifierList};
use caravan_tlog::proof::{Leaf, ProofPolicy, ProofVerdict, TlogProof, verify_offline};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::chart::{Bar, BarChart, Labels, LineChart, Series, bar_chart, line_chart};
use crate::openapi::with_errors;
use crate::{ApiError, AppState, ErrorCode};

/// Audit rows per page.
const TRAIL_PAGE: usize = 50;
/// Rows read per store call while scanning the trail (chain check, time filter).
const TRAIL_CHUNK: u32 = 5_000;
/// At most this many rows are scanned for one page of a time-filtered trail; the page
/// then offers to continue from where the scan stopped.
const TRAIL_SCAN_LIMIT: usize = 100_000;
/// Log entries per page.
const ENTRY_PAGE: u64 = 50;
/// Entries read per store call while scanning the log.
const ENTRY_CHUNK: u64 = 4_096;
/// Points on the log growth chart.
const GROWTH_POINTS: usize = 40;
/// Largest pasted entry: a log entry is at most 65,535 bytes.
const MAX_ENTRY_BASE64: usize = 65_535usize.div_ceil(3) * 4;
/// Largest pasted key list.
const MAX_KEYS_TEXT: usize = 16 * 1024;

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/ui/audit", get(page_trail))
        .route("/ui/audit/log", get(page_log))
        .route("/ui/audit/verify", get(page_verify))
        .route("/api/v1/log", get(api_log))
        .route("/api/v1/log/entries", get(api_entries))
        .route("/api/v1/log/proofs/{index}", get(api_proof))
        .route("/api/v1/log/verify", post(api_verify))
        .with_state(state.clone())
}

fn bad_request(code: &'static str, message: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::custom(StatusCode::BAD_REQUEST, code, message)
}

fn no_log() -> ApiError {
    ApiError::custom(
        StatusCode::NOT_FOUND,
        "log_not_kept",
        "this node keeps no transparency log",
    )
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?
}

fn store_error(err: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::StoreUnavailable, err.to_string())
}

fn render(page: &impl Template, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => ApiError::new(ErrorCode::Internal, err.to_string()).into_response(),
    }
}

/// The log pages are metadata: the auditor reads them, and so may the administrator who
/// manages the keys (read-only: nothing here changes anything). Anyone else is refused
/// and the refusal audited.
async fn require_log_reader(
    principal: &Principal,
    action: &str,
    object: &str,
) -> Result<(), ApiError> {
    if principal.may(Capability::ReadAuditTrail) {
        principal
            .require(Capability::ReadAuditTrail, action, object)
            .await
    } else {
        principal
            .require(Capability::ManageKeysAndUsers, action, object)
            .await
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

// ---- the audit trail -------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct TrailParams {
    account: Option<String>,
    action: Option<String>,
    object: Option<String>,
    /// From this time (UTC), `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`.
    from: Option<String>,
    /// Until this time (UTC, inclusive), same forms.
    until: Option<String>,
    /// Continue after this sequence number.
    after: Option<i64>,
}

/// Parses a date or a `datetime-local` value as UTC milliseconds. `end` makes a bare date
/// mean the end of that day.
pub fn parse_time(text: &str, end: bool) -> Option<i64> {
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let time = if end {
            date.and_hms_milli_opt(23, 59, 59, 999)?
        } else {
            date.and_hms_opt(0, 0, 0)?
        };
        return Some(time.and_utc().timestamp_millis());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            let ms = t.and_utc().timestamp_millis();
            // `until 10:30` includes the whole minute.
            let widen = if end && format.ends_with("%M") {
                59_999
            } else {
                0
            };
            return Some(ms + widen);
        }
    }
    None
}

/// What the whole-chain check found.
#[derive(Debug, Clone, Serialize)]
pub struct ChainCheck {
    /// Whether every row from seq 1 chains to the previous and matches its digest.
    pub verified: bool,
    /// Rows checked.
    pub rows: u64,
    /// SHA-256 of the last row (the chain head), hex.
    pub head: String,
    /// The first fault, in words.
    pub fault: Option<String>,
}

/// Checks the whole audit trail from seq 1, a chunk at a time. Blocking.
pub fn check_chain(
    store: &dyn caravan_store::Store,
) -> Result<ChainCheck, caravan_store::StoreError> {
    let mut last: Option<AuditRecord> = None;
    let mut rows = 0u64;
    loop {
        let chunk = store.list_audit(&AuditQuery {
            after_seq: last.as_ref().map(|r| r.seq),
            limit: TRAIL_CHUNK,
            ..AuditQuery::default()
        })?;
        if chunk.is_empty() {
            break;
        }
        // Include the previous chunk's last row so the link across chunks is checked.
        let mut run: Vec<AuditRecord> = Vec::with_capacity(chunk.len() + 1);
        if let Some(prev) = last.take() {
            run.push(prev);
        } else if chunk[0].seq != 1 {
            return Ok(ChainCheck {
                verified: false,
                rows,
                head: String::new(),
                fault: Some(format!(
                    "the trail starts at row {}, not row 1",
                    chunk[0].seq
                )),
            });
        }
        let n = chunk.len();
        run.extend(chunk);
        if let Err(fault) = verify_audit_chain(&run) {
            return Ok(ChainCheck {
                verified: false,
                rows,
                head: String::new(),
                fault: Some(fault.to_string()),
            });
        }
        rows += n as u64;
        last = run.pop();
        if n < TRAIL_CHUNK as usize {
            break;
        }
    }
    Ok(ChainCheck {
        verified: true,
        rows,
        head: last.map(|r| hex(&r.sha256)).unwrap_or_default(),
        fault: None,
    })
}

struct TrailRow {
    seq: i64,
    at: String,
    account: String,
    role: String,
    action: String,
    object: String,
    outcome: &'static str,
    code: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "auditor/trail.html")]
struct TrailPage<'a> {
    node_name: &'a str,
    account: String,
    action: String,
    object: String,
    from: String,
    until: String,
    problem: Option<String>,
    rows: Vec<TrailRow>,
    chain: Option<ChainCheck>,
    next: Option<String>,
    scanned_out: bool,
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

async fn page_trail(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<TrailParams>,
) -> Result<Response, ApiError> {
    principal
        .require(Capability::ReadAuditTrail, "audit.read", "audit")
        .await?;
    let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_owned();
    let (account, action, object) = (
        text(&params.account),
        text(&params.action),
        text(&params.object),
    );
    let (from_text, until_text) = (text(&params.from), text(&params.until));
    let mut problem = None;
    let from = if from_text.is_empty() {
        None
    } else {
        let parsed = parse_time(&from_text, false);
        if parsed.is_none() {
            problem = Some(crate::i18n::t("trail-bad-from").to_owned());
        }
        parsed
    };
    let until = if until_text.is_empty() {
        None
    } else {
        let parsed = parse_time(&until_text, true);
        if parsed.is_none() {
            problem = Some(crate::i18n::t("trail-bad-until").to_owned());
        }
        parsed
    };
    let page = |rows, chain, next, scanned_out, problem, status| {
        render(
            &TrailPage {
                node_name: &state.node_name,
                account: account.clone(),
                action: action.clone(),
                object: object.clone(),
                from: from_text.clone(),
                until: until_text.clone(),
                problem,
                rows,
                chain,
                next,
                scanned_out,
            },
            status,
        )
    };
    if problem.is_some() {
        return Ok(page(
            Vec::new(),
            None,
            None,
            false,
            problem,
            StatusCode::BAD_REQUEST,
        ));
    }

    let store = principal.store().clone();
    let query = AuditQuery {
        account: (!account.is_empty()).then(|| account.clone()),
        action_prefix: (!action.is_empty()).then(|| action.clone()),
        object: (!object.is_empty()).then(|| object.clone()),
        after_seq: params.after,
        limit: TRAIL_CHUNK,
    };
    let (rows, chain, resume_after, scanned_out) = blocking(move || {
        let chain = check_chain(store.as_ref()).map_err(store_error)?;
        let mut picked: Vec<AuditRecord> = Vec::new();
        let mut query = query;
        let mut scanned = 0usize;
        let mut more = false;
        let mut scanned_out = false;
        'scan: loop {
            let chunk = store.list_audit(&query).map_err(store_error)?;
            let n = chunk.len();
            for row in chunk {
                query.after_seq = Some(row.seq);
                scanned += 1;
                let in_time = from.is_none_or(|f| row.event.at >= f)
                    && until.is_none_or(|u| row.event.at <= u);
                if in_time {
                    if picked.len() == TRAIL_PAGE {
                        more = true;
                        break 'scan;
                    }
                    picked.push(row);
                }
            }
            if n < TRAIL_CHUNK as usize {
                break;
            }
            if scanned >= TRAIL_SCAN_LIMIT {
                scanned_out = true;
                more = true;
                break;
            }
        }
        // Resume after the last row shown, or after the last row scanned when the scan
        // stopped without filling the page.
        let resume = if !more {
            None
        } else if scanned_out {
            query.after_seq
        } else {
            picked.last().map(|r| r.seq)
        };
        Ok((picked, chain, resume, scanned_out))
    })
    .await?;
    principal
        .audit(
            "audit.read",
            "audit",
            json!({ "rows": rows.len(), "page": "ui" }),
        )
        .await?;
    let next = resume_after.map(|after| {
        let after = after.to_string();
        format!(
            "/ui/audit{}",
            query_string(&[
                ("account", &account),
                ("action", &action),
                ("object", &object),
                ("from", &from_text),
                ("until", &until_text),
                ("after", &after),
            ])
        )
    });
    let rows = rows
        .into_iter()
        .map(|r| TrailRow {
            seq: r.seq,
            at: utc(r.event.at),
            account: r.event.account,
            role: r.event.role,
            action: r.event.action,
            object: r.event.object,
            outcome: r.event.outcome.as_str(),
            code: r.event.code.unwrap_or_default(),
            detail: r.event.detail,
        })
        .collect();
    Ok(page(
        rows,
        Some(chain),
        next,
        scanned_out,
        None,
        StatusCode::OK,
    ))
}

// ---- the log ---------------------------------------------------------------------------

/// A signature line of the latest checkpoint, as the auditor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureView {
    /// Key name.
    pub name: String,
    /// Key ID, 8 hex digits.
    pub key_id: String,
    /// `log` (this node's log key), `witness` (a configured partner witness) or `unknown`.
    pub kind: &'static str,
    /// Whose key: this node or the partner's name.
    pub holder: String,
    /// Cosignature time, Unix seconds.
    pub timestamp: Option<u64>,
    /// Whether the signature verifies with the configured key (`None`: unknown key).
    pub verified: Option<bool>,
}

/// The witness status of one partner: the size it cosigned against our size.
#[derive(Debug, Clone, Serialize)]
pub struct WitnessStatus {
    /// Partner name.
    pub partner: String,
    /// Its witness key name.
    pub witness: String,
    /// Size of our checkpoint it cosigned, if the latest checkpoint carries its valid
    /// cosignature.
    pub cosigned_size: Option<u64>,
    /// When it cosigned (Unix seconds).
    pub cosigned_at: Option<u64>,
    /// Our log's size now.
    pub log_size: u64,
    /// Entries not yet covered by its cosignature.
    pub behind: u64,
}

/// A partner log this node witnesses.
#[derive(Debug, Clone, Serialize)]
pub struct PartnerLogView {
    /// Partner name.
    pub partner: String,
    /// Its log origin.
    pub origin: String,
    /// The size we last cosigned.
    pub cosigned_size: Option<u64>,
    /// The root we last cosigned, base64.
    pub cosigned_root: Option<String>,
}

/// One `witness_seen` entry: a partner checkpoint this node cosigned, and when.
#[derive(Debug, Clone, Serialize)]
pub struct SeenView {
    /// Our log index of the entry.
    pub index: u64,
    /// Entry time, Unix ms.
    pub t: u64,
    /// Partner log origin.
    pub origin: String,
    /// Size cosigned.
    pub size: u64,
}

/// The node's log as `GET /api/v1/log` returns it.
#[derive(Debug, Clone, Serialize)]
pub struct LogOverview {
    /// Log origin (= checkpoint key name).
    pub origin: String,
    /// URL name, `/log/<name>/…`.
    pub name: String,
    /// Entries stored.
    pub size: u64,
    /// Size of the latest signed checkpoint.
    pub checkpoint_size: Option<u64>,
    /// Its root, base64.
    pub checkpoint_root: Option<String>,
    /// The signed note as published.
    pub checkpoint_note: Option<String>,
    /// Its signature lines.
    pub signatures: Vec<SignatureView>,
    /// Per partner witness.
    pub witnesses: Vec<WitnessStatus>,
    /// Partner logs we witness.
    pub partner_logs: Vec<PartnerLogView>,
    /// Partner checkpoints we cosigned, newest first.
    pub witnessed_history: Vec<SeenView>,
    /// Verifier keys: ours and the partners' (C2SP vkeys).
    pub keys: Vec<String>,
    /// Alarms raised (split views and the like).
    pub alarms: Vec<AlarmView>,
    /// Cumulative entries over time: `(t ms, entries)`.
    pub growth: Vec<(u64, u64)>,
}

/// An alarm.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmView {
    /// Stable kind, e.g. `split_view`.
    pub kind: String,
    /// Log concerned.
    pub origin: String,
    /// Evidence.
    pub detail: String,
    /// When raised.
    pub raised_at: String,
}

impl From<Alarm> for AlarmView {
    fn from(a: Alarm) -> Self {
        Self {
            kind: a.kind,
            origin: a.origin,
            detail: a.detail,
            raised_at: a.raised_at,
        }
    }
}

/// Every verifier key the auditor needs: our log and witness keys, each partner's.
pub fn known_keys(log: &LogNode) -> Vec<String> {
    let mut keys = vec![log.keys().log_vkey(), log.keys().witness_vkey()];
    for p in &log.config().partners {
        keys.push(p.log_key.to_vkey());
        keys.push(p.witness_key.to_vkey());
    }
    keys
}

/// Places `times` (entry times in log order) on at most `points` cumulative points.
pub fn growth_points(times: &[u64], points: usize) -> Vec<(u64, u64)> {
    let Some((&lo, &hi)) = times.iter().min().zip(times.iter().max()) else {
        return Vec::new();
    };
    if lo == hi || points < 2 {
        return vec![(hi, times.len() as u64)];
    }
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    (0..points)
        .map(|i| {
            let edge = lo + ((hi - lo) as u128 * i as u128 / (points - 1) as u128) as u64;
            let count = sorted.partition_point(|t| *t <= edge) as u64;
            (edge, count)
        })
        .collect()
}

/// Reads everything the log page shows. Blocking; reads every entry once (for the growth
/// chart and the witness history).
pub fn log_overview(log: &LogNode) -> Result<LogOverview, ApiError> {
    let store = log.store();
    let config = log.config();
    let head = store.open_log(&config.origin).map_err(store_error)?;

    let mut times = Vec::with_capacity(head.size.min(1 << 20) as usize);
    let mut seen = Vec::new();
    let mut start = 0u64;
    while start < head.size {
        let chunk = store
            .entries(&config.origin, start, ENTRY_CHUNK.min(head.size - start))
            .map_err(store_error)?;
        if chunk.is_empty() {
            break;
        }
        for (i, bytes) in chunk.iter().enumerate() {
            // fsck owns malformed entries; the page counts what decodes.
            let Ok(entry) = Entry::decode(bytes) else {
                continue;
            };
            times.push(entry.t);
            if let EntryBody::WitnessSeen { origin, size, .. } = entry.body {
                seen.push(SeenView {
                    index: start + i as u64,
                    t: entry.t,
                    origin,
                    size,
                });
            }
        }
        start += chunk.len() as u64;
    }
    seen.reverse();

    let mut signatures = Vec::new();
    let mut witnesses: Vec<WitnessStatus> = config
        .partners
        .iter()
        .map(|p| WitnessStatus {
            partner: p.name.clone(),
            witness: p.witness_key.name().to_owned(),
            cosigned_size: None,
            cosigned_at: None,
            log_size: head.size,
            behind: head.size,
        })
        .collect();
    let (checkpoint_size, checkpoint_root, checkpoint_note) = match &head.checkpoint {
        Some(stored) => {
            let note_text = String::from_utf8_lossy(&stored.note).into_owned();
            if let Ok(signed) = SignedCheckpoint::parse(&stored.note) {
                let own = log.keys().log_verifier();
                for sig in &signed.note.signatures {
                    let key_id = format!("{:08x}", sig.key_id);
                    let mut view = SignatureView {
                        name: sig.name.clone(),
                        key_id,
                        kind: "unknown",
                        holder: String::new(),
                        timestamp: None,
                        verified: None,
                    };
                    let mut probe = signed.clone();
                    probe.note.signatures = vec![sig.clone()];
                    if sig.name == own.name() && sig.key_id == own.key_id() {
                        view.kind = "log";
                        view.holder = "this node".to_owned();
                        view.verified = Some(
                            VerifierList::new()
                                .with(own.clone())
                                .is_ok_and(|keys| probe.verify(&keys).is_ok()),
                        );
                    } else if let Some((p, status)) = config
                        .partners
                        .iter()
                        .zip(witnesses.iter_mut())
                        .find(|(p, _)| {
                            p.witness_key.name() == sig.name && p.witness_key.key_id() == sig.key_id
                        })
                    {
                        view.kind = "witness";
                        view.holder = p.name.clone();
                        let opened = VerifierList::new()
                            .with(p.witness_key.clone())
                            .ok()
                            .and_then(|keys| probe.verify(&keys).ok());
                        let ok = opened.is_some();
                        view.timestamp = opened
                            .and_then(|o| o.verified.into_iter().next())
                            .and_then(|v| v.timestamp);
                        view.verified = Some(ok);
                        if ok {
                            status.cosigned_size = Some(stored.size);
                            status.cosigned_at = view.timestamp;
                            status.behind = head.size.saturating_sub(stored.size);
                        }
                    }
                    signatures.push(view);
                }
            }
            (Some(stored.size), Some(b64(&stored.root)), Some(note_text))
        }
        None => (None, None, None),
    };
    let mut partner_logs = Vec::new();
    for p in &config.partners {
        let state = store.witnessed(&p.log_origin).map_err(store_error)?;
        partner_logs.push(PartnerLogView {
            partner: p.name.clone(),
            origin: p.log_origin.clone(),
            cosigned_size: state.as_ref().map(|w| w.size),
            cosigned_root: state.as_ref().map(|w| b64(&w.root)),
        });
    }
    let alarms = store
        .alarms()
        .map_err(store_error)?
        .into_iter()
        .map(AlarmView::from)
        .collect();
    Ok(LogOverview {
        origin: config.origin.clone(),
        name: config.name.clone(),
        size: head.size,
        checkpoint_size,
        checkpoint_root,
        checkpoint_note,
        signatures,
        witnesses,
        partner_logs,
        witnessed_history: seen,
        keys: known_keys(log),
        alarms,
        growth: growth_points(&times, GROWTH_POINTS),
    })
}

/// One entry of the log, as the auditor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    /// Index in the log.
    pub index: u64,
    /// Entry time, Unix ms (0 if the entry does not decode).
    pub t: u64,
    /// Entry type (`msg_out`, …; `undecodable` if it does not decode).
    pub r#type: String,
    /// A one-line summary of its metadata.
    pub summary: String,
    /// RFC 6962 leaf hash, hex.
    pub leaf_hash: String,
    /// The entry bytes, base64.
    pub entry: String,
}

/// A one-line summary of an entry's metadata (never content: entries hold none).
pub fn summary(body: &EntryBody) -> String {
    match body {
        EntryBody::MsgOut(m) | EntryBody::MsgIn(m) => format!(
            "{} {} → {}, message {}{}",
            m.action,
            m.from,
            m.to,
            m.message_id,
            if m.markings.is_empty() {
                String::new()
            } else {
                format!(" [{}]", m.markings.join(", "))
            }
        ),
        EntryBody::ReceiptOut(r) | EntryBody::ReceiptIn(r) => format!(
            "receipt {} for message {}; entry {} of {}",
            r.receipt_id, r.ref_to, r.partner_index, r.partner_origin
        ),
        EntryBody::ErrorOut(e) | EntryBody::ErrorIn(e) => {
            format!("error {} for message {}", e.code, e.ref_to)
        }
        EntryBody::ErasureDone { reason, .. } => format!("erasure ({reason})"),
        EntryBody::KeyEvent {
            owner,
            manifest_version,
            ..
        } => format!(
            "{} key manifest version {manifest_version}",
            match owner {
                ManifestOwner::Own => "own",
                ManifestOwner::Partner => "partner",
            }
        ),
        EntryBody::Governance {
            agreement_status,
            assurance_state,
            ..
        } => format!("agreement {agreement_status}, assurance {assurance_state}"),
        EntryBody::AuditAnchor { event_count, .. } => {
            format!("audit chain head over {event_count} events")
        }
        EntryBody::WitnessSeen { origin, size, .. } => {
            format!("cosigned {origin} at size {size}")
        }
    }
}

fn entry_view(index: u64, bytes: &[u8]) -> EntryView {
    let (t, r#type, summary) = match Entry::decode(bytes) {
        Ok(e) => (e.t, e.body.type_name().to_owned(), summary(&e.body)),
        Err(err) => (0, "undecodable".to_owned(), err.to_string()),
    };
    EntryView {
        index,
        t,
        r#type,
        summary,
        leaf_hash: hex(&caravan_tlog::rfc6962::leaf_hash(bytes)),
        entry: b64(bytes),
    }
}

/// Entries `start .. start + count`. Blocking.
pub fn entries(log: &LogNode, start: u64, count: u64) -> Result<Vec<EntryView>, ApiError> {
    let bytes = log
        .store()
        .entries(&log.config().origin, start, count)
        .map_err(store_error)?;
    Ok(bytes
        .iter()
        .enumerate()
        .map(|(i, b)| entry_view(start + i as u64, b))
        .collect())
}

#[derive(Deserialize)]
struct LogPageParams {
    /// Show the entries before this index (default: the newest).
    before: Option<u64>,
}

struct GrowthFormat;

impl GrowthFormat {
    fn format(ms: f64) -> String {
        chrono::DateTime::from_timestamp_millis(ms as i64)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "auditor/log.html")]
struct LogPage<'a> {
    node_name: &'a str,
    log: Option<LogOverview>,
    entries: Vec<EntryView>,
    growth_chart: String,
    witness_chart: String,
    newer: Option<u64>,
    older: Option<u64>,
}

fn charts(overview: &LogOverview) -> (String, String) {
    let growth = line_chart(&LineChart {
        labels: Labels {
            id: "log-growth",
            title: crate::i18n::t("chart-growth-title"),
            description: crate::i18n::t("chart-growth-description"),
            x_label: crate::i18n::t("chart-time-utc"),
            y_label: crate::i18n::t("log-entries"),
        },
        series: vec![Series {
            label: crate::i18n::t("chart-entries").to_owned(),
            points: overview
                .growth
                .iter()
                .map(|(t, n)| (*t as f64, *n as f64))
                .collect(),
        }],
        x_format: &GrowthFormat::format,
    });
    let mut bars = vec![Bar {
        label: crate::i18n::t("chart-log-size").to_owned(),
        value: overview.size as f64,
        reference: None,
    }];
    if let Some(size) = overview.checkpoint_size {
        bars.push(Bar {
            label: crate::i18n::t("chart-signed-checkpoint").to_owned(),
            value: size as f64,
            reference: Some(overview.size as f64),
        });
    }
    for w in &overview.witnesses {
        bars.push(Bar {
            label: crate::i18n::t1("chart-cosigned-by", "partner", &w.partner),
            value: w.cosigned_size.unwrap_or(0) as f64,
            reference: Some(overview.size as f64),
        });
    }
    let witness = bar_chart(&BarChart {
        labels: Labels {
            id: "witness-status",
            title: crate::i18n::t("log-witness-status"),
            description: crate::i18n::t("chart-witness-description"),
            x_label: crate::i18n::t("chart-what"),
            y_label: crate::i18n::t("chart-tree-size"),
        },
        reference_label: Some(crate::i18n::t("log-log-size")),
        bars,
    });
    (growth, witness)
}

async fn page_log(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<LogPageParams>,
) -> Result<Response, ApiError> {
    require_log_reader(&principal, "log.read", "log").await?;
    let Some(log) = state.log.clone() else {
        return Ok(render(
            &LogPage {
                node_name: &state.node_name,
                log: None,
                entries: Vec::new(),
                growth_chart: String::new(),
                witness_chart: String::new(),
                newer: None,
                older: None,
            },
            StatusCode::NOT_FOUND,
        ));
    };
    let (overview, listed, before) = blocking(move || {
        let overview = log_overview(&log)?;
        let before = params.before.unwrap_or(overview.size).min(overview.size);
        let start = before.saturating_sub(ENTRY_PAGE);
        let mut listed = entries(&log, start, before - start)?;
        listed.reverse();
        Ok((overview, listed, before))
    })
    .await?;
    principal
        .audit("log.read", &overview.origin, json!({ "before": before }))
        .await?;
    let (growth_chart, witness_chart) = charts(&overview);
    let older = (before > ENTRY_PAGE).then(|| before - ENTRY_PAGE);
    let newer = (before < overview.size).then(|| (before + ENTRY_PAGE).min(overview.size));
    Ok(render(
        &LogPage {
            node_name: &state.node_name,
            log: Some(overview),
            entries: listed,
            growth_chart,
            witness_chart,
            newer,
            older,
        },
        StatusCode::OK,
    ))
}

// ---- proofs ----------------------------------------------------------------------------

/// What the node's own check of a proof found.
#[derive(Debug, Clone, Serialize)]
pub struct ServerVerdict {
    /// Whether the proof verified.
    pub verified: bool,
    /// Stable code when it did not: `proof_invalid`.
    pub code: Option<&'static str>,
    /// The verdict or the reason, in words.
    pub message: String,
    /// Log origin, entry index, tree size of a verified proof.
    pub origin: Option<String>,
    /// Entry index.
    pub index: Option<u64>,
    /// Checkpoint size.
    pub size: Option<u64>,
    /// Witness key names that cosigned, with the time (Unix seconds).
    pub witnesses: Vec<(String, Option<u64>)>,
}

/// Parsed verifier keys: log keys (type 0x01) and witness keys (type 0x04).
pub struct Keys {
    log: VerifierList,
    witness: VerifierList,
}

/// Parses one vkey a line; a line that is neither kind is a `bad_key` error.
pub fn parse_keys(text: &str) -> Result<Keys, ApiError> {
    if text.len() > MAX_KEYS_TEXT {
        return Err(bad_request("bad_key", "the key list is longer than 16 KiB"));
    }
    let mut log = VerifierList::new();
    let mut witness = VerifierList::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let pushed = if let Ok(v) = Ed25519Verifier::from_vkey(line) {
            log.push(v)
        } else if let Ok(v) = CosignatureVerifier::from_vkey(line) {
            witness.push(v)
        } else {
            return Err(bad_request(
                "bad_key",
                "a key is not a C2SP vkey of type 0x01 (log) or 0x04 (witness cosignature)",
            ));
        };
        pushed.map_err(|_| bad_request("bad_key", "a key is listed twice"))?;
    }
    Ok(Keys { log, witness })
}

/// Reads the leaf: base64 entry bytes or a 64-digit hex leaf hash.
pub fn parse_leaf(text: &str) -> Result<LeafInput, ApiError> {
    let text = text.trim();
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut hash = [0u8; 32];
        for (i, byte) in hash.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| bad_request("bad_entry", "the leaf hash is not hex"))?;
        }
        return Ok(LeafInput::Hash(hash));
    }
    if text.len() > MAX_ENTRY_BASE64 {
        return Err(bad_request(
            "bad_entry",
            "the entry is larger than a log entry can be (65,535 bytes)",
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map(LeafInput::Data)
        .map_err(|_| {
            bad_request(
                "bad_entry",
                "the entry is neither standard base64 bytes nor a 64-digit hex leaf hash",
            )
        })
}

/// The leaf to prove.
pub enum LeafInput {
    /// Entry bytes.
    Data(Vec<u8>),
    /// A leaf hash.
    Hash([u8; 32]),
}

/// The node's own check of a proof: the checkpoint's origin must be signed by a listed log
/// key named after it (spec §10: the key name is the origin); cosignatures by listed
/// witness keys are reported, none required.
pub fn server_verify(proof: &str, leaf: &LeafInput, keys: &Keys) -> ServerVerdict {
    let refused = |message: String| ServerVerdict {
        verified: false,
        code: Some("proof_invalid"),
        message,
        origin: None,
        index: None,
        size: None,
        witnesses: Vec::new(),
    };
    let parsed = match TlogProof::parse(proof.as_bytes()) {
        Ok(p) => p,
        Err(err) => return refused(format!("the proof cannot be read: {err}")),
    };
    let origin = match SignedCheckpoint::parse(parsed.checkpoint.as_bytes()) {
        Ok(cp) => cp.checkpoint.origin,
        Err(err) => return refused(format!("the checkpoint cannot be read: {err}")),
    };
    let policy = ProofPolicy {
        origin: &origin,
        log_verifiers: &keys.log,
        witness_verifiers: &keys.witness,
        min_witnesses: 0,
    };
    let leaf = match leaf {
        LeafInput::Data(d) => Leaf::Data(d),
        LeafInput::Hash(h) => Leaf::Hash(*h),
    };
    match verify_offline(proof.as_bytes(), leaf, &policy) {
        Ok(verdict) => verified(verdict),
        Err(err) => refused(err.to_string()),
    }
}

fn verified(verdict: ProofVerdict) -> ServerVerdict {
    ServerVerdict {
        verified: true,
        code: None,
        message: verdict.to_string(),
        origin: Some(verdict.origin),
        index: Some(verdict.index),
        size: Some(verdict.size),
        witnesses: verdict
            .witnesses
            .into_iter()
            .map(|w| (w.name, w.timestamp))
            .collect(),
    }
}

/// A proof of one of our entries, with the entry.
#[derive(Debug, Clone, Serialize)]
pub struct ProofView {
    /// Log origin.
    pub origin: String,
    /// Entry index.
    pub index: u64,
    /// The C2SP tlog-proof text.
    pub proof: String,
    /// The entry.
    pub entry: EntryView,
}

/// Builds the proof of entry `index`. Blocking.
pub fn proof_of(log: &LogNode, index: u64) -> Result<ProofView, ApiError> {
    let listed = entries(log, index, 1)?;
    let Some(entry) = listed.into_iter().next() else {
        return Err(ApiError::custom(
            StatusCode::NOT_FOUND,
            "entry_not_found",
            "the log has no entry at that index",
        ));
    };
    let proof = log.proof(index).map_err(|err| match err {
        caravan_log::proofs::ProofsError::NotCovered { .. } => ApiError::custom(
            StatusCode::CONFLICT,
            "entry_not_checkpointed",
            "no signed checkpoint covers that entry yet; retry after the next checkpoint",
        ),
        caravan_log::proofs::ProofsError::Store(e) => store_error(e),
        other => ApiError::new(ErrorCode::Internal, other.to_string()),
    })?;
    Ok(ProofView {
        origin: log.config().origin.clone(),
        index,
        proof: proof.encode(),
        entry,
    })
}

#[derive(Deserialize, Default)]
struct VerifyParams {
    index: Option<String>,
    proof: Option<String>,
    entry: Option<String>,
    keys: Option<String>,
}

#[derive(Template)]
#[template(path = "auditor/verify.html")]
struct VerifyPage<'a> {
    node_name: &'a str,
    index: String,
    proof: String,
    entry: String,
    keys: String,
    summary: Option<EntryView>,
    problem: Option<String>,
    server: Option<ServerVerdict>,
}

async fn page_verify(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<VerifyParams>,
) -> Result<Response, ApiError> {
    require_log_reader(&principal, "log.proof", "log").await?;
    let mut page = VerifyPage {
        node_name: &state.node_name,
        index: params.index.clone().unwrap_or_default().trim().to_owned(),
        proof: params.proof.clone().unwrap_or_default(),
        entry: params.entry.clone().unwrap_or_default().trim().to_owned(),
        keys: params.keys.clone().unwrap_or_default(),
        summary: None,
        problem: None,
        server: None,
    };
    let log = state.log.clone();
    if page.keys.trim().is_empty() {
        page.keys = log
            .as_deref()
            .map(known_keys)
            .unwrap_or_default()
            .join("\n");
    }
    // An index with no pasted proof: the node builds the proof of its own entry.
    if page.proof.trim().is_empty() && !page.index.is_empty() {
        let Ok(index) = page.index.parse::<u64>() else {
            page.problem = Some(crate::i18n::t("verify-bad-index").to_owned());
            return Ok(render(&page, StatusCode::BAD_REQUEST));
        };
        let Some(log) = log else {
            page.problem = Some(crate::i18n::t("log-none-kept").to_owned());
            return Ok(render(&page, StatusCode::NOT_FOUND));
        };
        match blocking(move || proof_of(&log, index)).await {
            Ok(view) => {
                page.proof = view.proof;
                page.entry = view.entry.entry.clone();
                page.summary = Some(view.entry);
            }
            Err(err) if err.status().is_client_error() => {
                page.problem = Some(
                    crate::i18n::t(match err.code() {
                        "entry_not_checkpointed" => "verify-not-checkpointed",
                        _ => "verify-no-entry",
                    })
                    .to_owned(),
                );
                let status = err.status();
                return Ok(render(&page, status));
            }
            Err(err) => return Err(err),
        }
    }
    if !page.proof.trim().is_empty() {
        let checked = parse_leaf(&page.entry)
            .and_then(|leaf| parse_keys(&page.keys).map(|keys| (leaf, keys)));
        match checked {
            Ok((leaf, keys)) => {
                let proof = normalise_proof(&page.proof);
                page.server = Some(server_verify(&proof, &leaf, &keys));
            }
            Err(err) => {
                page.problem = Some(
                    crate::i18n::t(match err.code() {
                        "bad_key" => "verify-bad-key",
                        _ => "verify-bad-entry",
                    })
                    .to_owned(),
                );
                return Ok(render(&page, StatusCode::BAD_REQUEST));
            }
        }
    }
    principal
        .audit(
            "log.proof",
            "log",
            json!({ "index": page.index, "verified": page.server.as_ref().map(|s| s.verified) }),
        )
        .await?;
    Ok(render(&page, StatusCode::OK))
}

/// A pasted proof as the format wants it: `\n` line ends, ending in one newline.
fn normalise_proof(text: &str) -> String {
    let mut proof = text.replace("\r\n", "\n");
    while proof.ends_with("\n\n") {
        proof.pop();
    }
    if !proof.ends_with('\n') {
        proof.push('\n');
    }
    proof
}

// ---- the JSON API ----------------------------------------------------------------------

async fn api_log(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<LogOverview>, ApiError> {
    require_log_reader(&principal, "log.read", "log").await?;
    let log = state.log.clone().ok_or_else(no_log)?;
    let overview = blocking(move || log_overview(&log)).await?;
    principal
        .audit("log.read", &overview.origin, json!({ "api": "log" }))
        .await?;
    Ok(Json(overview))
}

#[derive(Deserialize)]
struct EntriesParams {
    start: Option<u64>,
    limit: Option<u64>,
}

#[derive(Serialize)]
struct EntriesPage {
    size: u64,
    entries: Vec<EntryView>,
}

async fn api_entries(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<EntriesParams>,
) -> Result<Json<EntriesPage>, ApiError> {
    require_log_reader(&principal, "log.read", "log").await?;
    let log = state.log.clone().ok_or_else(no_log)?;
    let start = params.start.unwrap_or(0);
    let limit = params.limit.unwrap_or(100).clamp(1, 1_000);
    let (size, listed) = blocking(move || {
        let size = log
            .store()
            .open_log(&log.config().origin)
            .map_err(store_error)?
            .size;
        let listed = if start < size {
            entries(&log, start, limit.min(size - start))?
        } else {
            Vec::new()
        };
        Ok((size, listed))
    })
    .await?;
    principal
        .audit(
            "log.read",
            "log",
            json!({ "start": start, "entries": listed.len() }),
        )
        .await?;
    Ok(Json(EntriesPage {
        size,
        entries: listed,
    }))
}

async fn api_proof(
    State(state): State<AppState>,
    principal: Principal,
    Path(index): Path<String>,
) -> Result<Json<ProofView>, ApiError> {
    require_log_reader(&principal, "log.proof", "log").await?;
    let index: u64 = index
        .parse()
        .map_err(|_| bad_request("bad_index", "the entry index must be a whole number"))?;
    let log = state.log.clone().ok_or_else(no_log)?;
    let view = blocking(move || proof_of(&log, index)).await?;
    principal
        .audit("log.proof", "log", json!({ "index": index }))
        .await?;
    Ok(Json(view))
}

#[derive(Deserialize)]
struct VerifyBody {
    proof: String,
    /// The entry bytes, base64, or its leaf hash in hex.
    entry: String,
    /// Trusted keys as C2SP vkeys; the node's own and its partners' when absent.
    keys: Option<Vec<String>>,
}

async fn api_verify(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<VerifyBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ServerVerdict>, ApiError> {
    require_log_reader(&principal, "log.verify", "log").await?;
    let Json(body) = body.map_err(|rejection| {
        bad_request(
            "bad_body",
            format!(
                "the body must be JSON {{proof, entry, keys?}}: {}",
                rejection.body_text()
            ),
        )
    })?;
    if body.proof.len() > caravan_tlog::proof::MAX_PROOF_SIZE {
        return Err(bad_request(
            "bad_proof",
            "the proof is larger than a tlog-proof can be",
        ));
    }
    let keys_text = match body.keys {
        Some(keys) => keys.join("\n"),
        None => state
            .log
            .as_deref()
            .map(known_keys)
            .unwrap_or_default()
            .join("\n"),
    };
    let keys = parse_keys(&keys_text)?;
    let leaf = parse_leaf(&body.entry)?;
    let proof = normalise_proof(&body.proof);
    let verdict = server_verify(&proof, &leaf, &keys);
    principal
        .audit("log.verify", "log", json!({ "verified": verdict.verified }))
        .await?;
    Ok(Json(verdict))
}

/// The OpenAPI fragment of this module.
pub fn openapi() -> Value {
    let log_reader = "Auditor/data-protection officer, or administrator (read-only).";
    json!({
        "paths": {
            "/api/v1/log": {
                "get": {
                    "summary": "The node's transparency log: size, latest checkpoint, its signatures and cosignatures, witness status, partner logs witnessed, alarms, growth",
                    "description": log_reader,
                    "responses": with_errors(json!({
                        "200": { "description": "The log overview", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/LogOverview" } } } },
                        "404": { "$ref": "#/components/responses/NotFound" }
                    }))
                }
            },
            "/api/v1/log/entries": {
                "get": {
                    "summary": "Log entries with their decoded metadata, leaf hash and bytes",
                    "description": log_reader,
                    "parameters": [
                        { "name": "start", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": 9007199254740991u64 } },
                        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }
                    ],
                    "responses": with_errors(json!({
                        "200": { "description": "Entries from `start`", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/LogEntries" } } } },
                        "400": { "$ref": "#/components/responses/BadRequest" },
                        "404": { "$ref": "#/components/responses/NotFound" }
                    }))
                }
            },
            "/api/v1/log/proofs/{index}": {
                "get": {
                    "summary": "The C2SP tlog-proof of one entry against the latest checkpoint, with the entry",
                    "description": log_reader,
                    "parameters": [ { "name": "index", "in": "path", "required": true, "schema": { "type": "string" } } ],
                    "responses": with_errors(json!({
                        "200": { "description": "The proof", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/LogProof" } } } },
                        "400": { "$ref": "#/components/responses/BadRequest" },
                        "404": { "$ref": "#/components/responses/NotFound" },
                        "409": { "description": "No signed checkpoint covers the entry yet (`entry_not_checkpointed`)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
                    }))
                }
            },
            "/api/v1/log/verify": {
                "post": {
                    "summary": "The node's own check of a tlog-proof (log signature by a trusted key named after the origin, cosignatures reported, inclusion)",
                    "description": log_reader,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "type": "object",
                        "required": ["proof", "entry"],
                        "properties": {
                            "proof": { "type": "string", "description": "C2SP tlog-proof text" },
                            "entry": { "type": "string", "description": "The entry bytes in standard base64, or its RFC 6962 leaf hash in hex" },
                            "keys": { "type": "array", "items": { "type": "string" }, "description": "Trusted C2SP vkeys (0x01 log, 0x04 witness); default: this node's and its partners'" }
                        }
                    } } } },
                    "responses": with_errors(json!({
                        "200": { "description": "The verdict; `verified: false` with `code: proof_invalid` and the reason when the proof does not hold", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ProofVerdict" } } } },
                        "400": { "$ref": "#/components/responses/BadRequest" }
                    }))
                }
            }
        },
        "components": { "schemas": {
            "LogOverview": {
                "type": "object",
                "required": ["origin", "name", "size", "signatures", "witnesses", "partner_logs", "witnessed_history", "keys", "alarms", "growth"],
                "properties": {
                    "origin": { "type": "string" }, "name": { "type": "string" },
                    "size": { "type": "integer" },
                    "checkpoint_size": { "type": ["integer", "null"] },
                    "checkpoint_root": { "type": ["string", "null"] },
                    "checkpoint_note": { "type": ["string", "null"] },
                    "signatures": { "type": "array", "items": { "type": "object" } },
                    "witnesses": { "type": "array", "items": { "type": "object" } },
                    "partner_logs": { "type": "array", "items": { "type": "object" } },
                    "witnessed_history": { "type": "array", "items": { "type": "object" } },
                    "keys": { "type": "array", "items": { "type": "string" } },
                    "alarms": { "type": "array", "items": { "type": "object" } },
                    "growth": { "type": "array", "items": { "type": "array", "items": { "type": "integer" } } }
                }
            },
            "LogEntry": {
                "type": "object",
                "required": ["index", "t", "type", "summary", "leaf_hash", "entry"],
                "properties": {
                    "index": { "type": "integer" }, "t": { "type": "integer" },
                    "type": { "type": "string" }, "summary": { "type": "string" },
                    "leaf_hash": { "type": "string" }, "entry": { "type": "string", "contentEncoding": "base64" }
                }
            },
            "LogEntries": {
                "type": "object",
                "required": ["size", "entries"],
                "properties": { "size": { "type": "integer" }, "entries": { "type": "array", "items": { "$ref": "#/components/schemas/LogEntry" } } }
            },
            "LogProof": {
                "type": "object",
                "required": ["origin", "index", "proof", "entry"],
                "properties": {
                    "origin": { "type": "string" }, "index": { "type": "integer" },
                    "proof": { "type": "string" }, "entry": { "$ref": "#/components/schemas/LogEntry" }
                }
            },
            "ProofVerdict": {
                "type": "object",
                "required": ["verified", "code", "message", "witnesses"],
                "properties": {
                    "verified": { "type": "boolean" },
                    "code": { "type": ["string", "null"] },
                    "message": { "type": "string" },
                    "origin": { "type": ["string", "null"] },
                    "index": { "type": ["integer", "null"] },
                    "size": { "type": ["integer", "null"] },
                    "witnesses": { "type": "array" }
                }
            }
        } }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_utc_and_until_includes_the_whole_day_or_minute() {
        assert_eq!(parse_time("2024-09-13", false), Some(1_726_185_600_000));
        assert_eq!(
            parse_time("2024-09-13", true),
            Some(1_726_185_600_000 + 86_399_999)
        );
        assert_eq!(
            parse_time("2024-09-13T10:30", false),
            Some(1_726_223_400_000)
        );
        assert_eq!(
            parse_time("2024-09-13T10:30", true),
            Some(1_726_223_400_000 + 59_999)
        );
        assert_eq!(parse_time("13/09/2024", false), None);
        assert_eq!(parse_time("", false), None);
    }

    #[test]
    fn growth_is_cumulative_and_ends_at_the_total() {
        let times = [10, 10, 20, 30, 30, 30, 100];
        let points = growth_points(&times, 10);
        assert_eq!(points.len(), 10);
        assert_eq!(points.first(), Some(&(10, 2)));
        assert_eq!(points.last(), Some(&(100, 7)));
        assert!(
            points
                .windows(2)
                .all(|w| w[0].1 <= w[1].1 && w[0].0 < w[1].0)
        );
        assert_eq!(growth_points(&[5, 5], 10), vec![(5, 2)]);
        assert!(growth_points(&[], 10).is_empty());
    }

    #[test]
    fn query_strings_are_percent_encoded() {
        assert_eq!(
            query_string(&[("account", "a b&c"), ("action", ""), ("after", "7")]),
            "?account=a%20b%26c&after=7"
        );
    }

    #[test]
    fn leaves_are_base64_entries_or_hex_hashes() {
        assert!(matches!(parse_leaf(&"ab".repeat(32)), Ok(LeafInput::Hash(h)) if h[0] == 0xab));
        assert!(matches!(parse_leaf("AAEC"), Ok(LeafInput::Data(d)) if d == vec![0, 1, 2]));
        assert_eq!(
            parse_leaf("not base64!").err().map(|e| e.code()),
            Some("bad_entry")
        );
        assert_eq!(
            parse_keys("nonsense").err().map(|e| e.code()),
            Some("bad_key")
        );
    }

    #[test]
    fn a_pasted_proof_is_normalised_to_the_wire_form() {
        assert_eq!(normalise_proof("a\r\nb\r\n\r\n"), "a\nb\n");
        assert_eq!(normalise_proof("a\nb"), "a\nb\n");
    }
}
