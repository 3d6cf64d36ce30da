//! Signing in and out, the home page, and the account API (`/api/v1/me`, `/api/v1/audit`).
//!
//! Why sign-in is a small state machine: an agency's security office expects a password
//! (argon2id, [`crate::password`]), a second factor for the roles that can change who may
//! act or read everyone's trail ([`crate::auth::totp_required`], [`crate::totp`]), an
//! administrator-set password that must be changed before first use, and throttling of
//! guesses. After the password is accepted the browser holds only a pending sign-in
//! (`caravan_signin` cookie, five minutes, its SHA-256 in the store) that can do nothing but
//! take the next step: a TOTP code, a new password, or a TOTP enrolment. Only when every
//! step is done is a session issued, always a fresh one: any session cookie the browser
//! brought is revoked first, so a session id planted before sign-in is worthless
//! (session fixation).
//!
//! Why tokens still sign in: a node must be usable from a browser the day it is installed,
//! and API-first installs issue tokens; token sign-in is refused for roles that require a
//! second factor, since a token is a single factor. Signing in swaps the token for a
//! session that expires ([`crate::auth::SESSION_TTL_MS`]), so the long-lived token never
//! sits in a cookie.
//!
//! Why the same answer for every failure: an unknown account, a disabled one and a wrong
//! password all take one argon2 verification and answer "account name or password is
//! wrong", so neither the text nor the time tells which names exist. Failures count per
//! account and per client address (durable, [`caravan_store::access::ThrottlePolicy`]);
//! past the free tries the answer is 429 with `Retry-After`. Every attempt is audited.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use caravan_assistance::roles::{Capability, Role};
use caravan_store::Store;
use caravan_store::access::{
    ApiToken, AuditEvent, AuditOutcome, AuditQuery, AuditRecord, PendingSignin, ThrottlePolicy,
    verify_audit_chain,
};
use serde::{Deserialize, Serialize};

use crate::auth::{
    Principal, SESSION_COOKIE, SESSION_LABEL, SESSION_TTL_MS, client_address, cookie_value,
    new_token_secret, now_ms, same_origin, token_digest, totp_required,
};
use crate::{ApiError, AppState, ErrorCode, password, totp};

/// The cookie of a sign-in waiting for its next step.
pub const SIGNIN_COOKIE: &str = "caravan_signin";
/// How long a pending sign-in lasts.
pub const SIGNIN_TTL_MS: i64 = 5 * 60 * 1000;

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/ui", get(home))
        .route("/ui/signin", get(signin_form).post(signin))
        .route("/ui/signin/next", get(signin_next))
        .route("/ui/signin/totp", post(signin_totp))
        .route("/ui/signin/password", post(signin_password))
        .route("/ui/signin/enrol", post(signin_enrol))
        .route("/ui/signout", post(signout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/audit", get(audit))
        .with_state(state.clone())
}

#[derive(Template)]
#[template(path = "ui/signin.html")]
struct SigninPage<'a> {
    node_name: &'a str,
    error: Option<&'a str>,
}

/// The page of a pending sign-in's next step.
#[derive(Template)]
#[template(path = "ui/signin_step.html")]
struct StepPage<'a> {
    node_name: &'a str,
    account: &'a str,
    step: Step,
    /// For enrolment: the Key URI and the base32 secret, shown on this page only.
    otpauth_uri: String,
    secret_base32: String,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "ui/home.html")]
struct HomePage<'a> {
    node_name: &'a str,
    display_name: &'a str,
    account: &'a str,
    role: &'a str,
    role_code: &'a str,
    links: Vec<(&'static str, &'static str)>,
}

/// What a pending sign-in must do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Prove the enrolled second factor.
    Totp,
    /// Replace an administrator-set password.
    Password,
    /// Enrol a second factor the role requires.
    Enrol,
    /// Nothing: issue the session.
    Done,
}

impl Step {
    fn is_totp(&self) -> bool {
        *self == Step::Totp
    }
    fn is_password(&self) -> bool {
        *self == Step::Password
    }
    fn is_enrol(&self) -> bool {
        *self == Step::Enrol
    }
}

pub(crate) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => ApiError::new(ErrorCode::Internal, err.to_string()).into_response(),
    }
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

fn store_error(err: caravan_store::StoreError) -> ApiError {
    ApiError::new(ErrorCode::StoreUnavailable, err.to_string())
}

/// Runs blocking store work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
}

/// Appends one audit row; the action does not go ahead if it cannot be written.
pub(crate) fn audit_row(
    store: &dyn Store,
    account: &str,
    role: &str,
    action: &str,
    object: &str,
    refused: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    store
        .append_audit(&AuditEvent {
            at: now_ms(),
            account: account.to_owned(),
            role: role.to_owned(),
            action: action.to_owned(),
            object: object.to_owned(),
            outcome: if refused.is_some() {
                AuditOutcome::Refused
            } else {
                AuditOutcome::Allowed
            },
            code: refused.map(str::to_owned),
            detail: detail.to_string(),
        })
        .map(|_| ())
        .map_err(store_error)
}

fn cookie(name: &str, value: &str, path: &str, max_age_s: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age_s}"
    ))
    .ok()
}

fn cross_origin() -> Response {
    ApiError::custom(
        StatusCode::FORBIDDEN,
        "cross_origin_refused",
        "a form sent from another site is refused (CSRF protection)",
    )
    .into_response()
}

/// An account name as it may appear in the audit trail: bounded and printable.
fn audit_name(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn subjects(account: &str, address: &str) -> [(String, &'static ThrottlePolicy); 2] {
    [
        (
            format!("account:{}", audit_name(account)),
            &ThrottlePolicy::ACCOUNT,
        ),
        (format!("address:{address}"), &ThrottlePolicy::ADDRESS),
    ]
}

/// The latest `locked_until` of the subjects, if any is still locked at `now`.
fn locked_until(
    store: &dyn Store,
    subjects: &[(String, &'static ThrottlePolicy)],
    now: i64,
) -> Result<Option<i64>, ApiError> {
    let mut until = None;
    for (subject, _) in subjects {
        if let Some(t) = store.signin_throttle(subject).map_err(store_error)?
            && t.locked_until > now
        {
            until = Some(until.unwrap_or(0).max(t.locked_until));
        }
    }
    Ok(until)
}

/// Records a failure for every subject; returns the lockout, if one now applies.
fn record_failure(
    store: &dyn Store,
    subjects: &[(String, &'static ThrottlePolicy)],
    now: i64,
) -> Result<Option<i64>, ApiError> {
    let mut until = None;
    for (subject, policy) in subjects {
        let t = store
            .record_signin_failure(subject, policy, now)
            .map_err(store_error)?;
        if t.locked_until > now {
            until = Some(until.unwrap_or(0).max(t.locked_until));
        }
    }
    Ok(until)
}

fn throttled(state: &AppState, until: i64, now: i64) -> Response {
    let secs = ((until - now).max(1000) + 999) / 1000;
    let message = crate::i18n::t1("signin-throttled", "seconds", secs);
    let mut response = with_status(
        render(&SigninPage {
            node_name: &state.node_name,
            error: Some(&message),
        }),
        StatusCode::TOO_MANY_REQUESTS,
    );
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

async fn signin_form(State(state): State<AppState>) -> Response {
    render(&SigninPage {
        node_name: &state.node_name,
        error: None,
    })
}

#[derive(Deserialize)]
struct SigninForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
}

/// What a sign-in attempt came to.
enum Attempt {
    Throttled(i64),
    /// Refused: the catalogue key of the message the page shows.
    Refused(&'static str),
    Pending(String),
    Session(String),
}

async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<SigninForm>,
) -> Response {
    // Login CSRF: another site must not sign an officer's browser into its own account.
    if !same_origin(&headers) {
        return cross_origin();
    }
    let address = client_address(&extensions);
    let brought = cookie_value(&headers, SESSION_COOKIE).map(token_digest);
    let store = state.store.clone();
    let now = now_ms();
    let outcome = if !form.token.trim().is_empty() {
        let token = form.token.trim().to_owned();
        blocking(move || token_signin(store.as_ref(), &token, &address, brought, now)).await
    } else {
        let (account, pw) = (form.account.trim().to_owned(), form.password);
        blocking(move || password_signin(store.as_ref(), &account, &pw, &address, brought, now))
            .await
    };
    attempt_response(&state, outcome, now, None)
}

fn attempt_response(
    state: &AppState,
    outcome: Result<Attempt, ApiError>,
    now: i64,
    step_page: Option<(&str, Step)>,
) -> Response {
    match outcome {
        Ok(Attempt::Session(secret)) => {
            let mut response = Redirect::to("/ui").into_response();
            if let Some(v) = cookie(SESSION_COOKIE, &secret, "/", SESSION_TTL_MS / 1000) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            if let Some(v) = cookie(SIGNIN_COOKIE, "", "/ui/signin", 0) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Ok(Attempt::Pending(secret)) => {
            let mut response = Redirect::to("/ui/signin/next").into_response();
            if let Some(v) = cookie(SIGNIN_COOKIE, &secret, "/ui/signin", SIGNIN_TTL_MS / 1000) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Ok(Attempt::Throttled(until)) => throttled(state, until, now),
        Ok(Attempt::Refused(message)) => with_status(
            match step_page {
                Some((account, step)) => render(&StepPage {
                    node_name: &state.node_name,
                    account,
                    step,
                    otpauth_uri: String::new(),
                    secret_base32: String::new(),
                    error: Some(crate::i18n::t(message)),
                }),
                None => render(&SigninPage {
                    node_name: &state.node_name,
                    error: Some(crate::i18n::t(message)),
                }),
            },
            StatusCode::UNAUTHORIZED,
        ),
        Err(err) => err.into_response(),
    }
}

/// The catalogue key of the one answer to every failed password sign-in.
const WRONG_PASSWORD: &str = "signin-wrong-password";

fn password_signin(
    store: &dyn Store,
    name: &str,
    password: &str,
    address: &str,
    brought: Option<[u8; 32]>,
    now: i64,
) -> Result<Attempt, ApiError> {
    let subjects = subjects(name, address);
    if let Some(until) = locked_until(store, &subjects, now)? {
        audit_row(
            store,
            "anonymous",
            "",
            "session.signin",
            &audit_name(name),
            Some("signin_throttled"),
            serde_json::json!({ "address": address, "locked_until": until }),
        )?;
        return Ok(Attempt::Throttled(until));
    }
    let account = store.account(name).map_err(store_error)?;
    let credentials = store.credentials(name).map_err(store_error)?;
    let phc = credentials.as_ref().and_then(|c| c.password_phc.clone());
    // Always one argon2 verification, whether or not the account exists.
    let password_ok = password::verify(password, phc.as_deref());
    let account = account.filter(|a| password_ok && !a.disabled);
    let (Some(account), Some(credentials)) = (account, credentials) else {
        let lock = record_failure(store, &subjects, now)?;
        audit_row(
            store,
            "anonymous",
            "",
            "session.signin",
            &audit_name(name),
            Some("invalid_credentials"),
            serde_json::json!({ "address": address, "factor": "password" }),
        )?;
        return Ok(match lock {
            Some(until) => Attempt::Throttled(until),
            None => Attempt::Refused(WRONG_PASSWORD),
        });
    };
    let role = Role::parse(&account.role);
    let needs_more = credentials.must_change
        || credentials.totp_secret.is_some()
        || role.is_some_and(totp_required);
    if !needs_more {
        return issue_session(store, &account.name, &account.role, address, brought, now)
            .map(Attempt::Session);
    }
    let secret =
        new_token_secret().map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    store
        .create_signin_pending(&PendingSignin {
            sha256: token_digest(&secret),
            account: account.name.clone(),
            totp_ok: false,
            created_at: now,
            expires_at: now + SIGNIN_TTL_MS,
        })
        .map_err(store_error)?;
    audit_row(
        store,
        &account.name,
        &account.role,
        "session.signin.password",
        &account.name,
        None,
        serde_json::json!({ "address": address }),
    )?;
    Ok(Attempt::Pending(secret))
}

fn token_signin(
    store: &dyn Store,
    token: &str,
    address: &str,
    brought: Option<[u8; 32]>,
    now: i64,
) -> Result<Attempt, ApiError> {
    let subjects = [(format!("address:{address}"), &ThrottlePolicy::ADDRESS)];
    if let Some(until) = locked_until(store, &subjects, now)? {
        return Ok(Attempt::Throttled(until));
    }
    let Some(account) = store
        .account_for_token(&token_digest(token), now)
        .map_err(store_error)?
    else {
        let lock = record_failure(store, &subjects, now)?;
        audit_row(
            store,
            "anonymous",
            "",
            "session.signin",
            "",
            Some("unauthenticated"),
            serde_json::json!({ "address": address, "factor": "token" }),
        )?;
        return Ok(match lock {
            Some(until) => Attempt::Throttled(until),
            None => Attempt::Refused("signin-token-wrong"),
        });
    };
    if Role::parse(&account.role).is_some_and(totp_required) {
        audit_row(
            store,
            &account.name,
            &account.role,
            "session.signin",
            &account.name,
            Some("second_factor_required"),
            serde_json::json!({ "address": address, "factor": "token" }),
        )?;
        return Ok(Attempt::Refused("signin-token-second-factor"));
    }
    issue_session(store, &account.name, &account.role, address, brought, now).map(Attempt::Session)
}

/// Issues a fresh session: revokes the session the browser brought (if any), forgets the
/// account's failures, stores the new token's digest and audits the sign-in.
fn issue_session(
    store: &dyn Store,
    account: &str,
    role: &str,
    address: &str,
    brought: Option<[u8; 32]>,
    now: i64,
) -> Result<String, ApiError> {
    if let Some(old) = brought {
        match store.revoke_api_token(&old, now) {
            Ok(()) | Err(caravan_store::StoreError::NotFound) => {}
            Err(err) => return Err(store_error(err)),
        }
    }
    store
        .clear_signin_failures(&format!("account:{account}"))
        .map_err(store_error)?;
    let secret =
        new_token_secret().map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    store
        .add_api_token(&ApiToken {
            sha256: token_digest(&secret),
            account: account.to_owned(),
            label: SESSION_LABEL.into(),
            created_at: now,
            expires_at: Some(now + SESSION_TTL_MS),
            revoked_at: None,
        })
        .map_err(store_error)?;
    audit_row(
        store,
        account,
        role,
        "session.signin",
        account,
        None,
        serde_json::json!({ "address": address }),
    )?;
    Ok(secret)
}

/// A pending sign-in with its account, the step it is at, and its enrolment secret.
struct Pending {
    digest: [u8; 32],
    account: caravan_store::access::Account,
    credentials: caravan_store::access::Credentials,
    pending: PendingSignin,
}

impl Pending {
    fn step(&self) -> Step {
        let c = &self.credentials;
        if c.totp_secret.is_some() && !self.pending.totp_ok {
            Step::Totp
        } else if c.must_change {
            Step::Password
        } else if c.totp_secret.is_none()
            && Role::parse(&self.account.role).is_some_and(totp_required)
        {
            Step::Enrol
        } else {
            Step::Done
        }
    }
}

fn load_pending(
    store: &dyn Store,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<Pending>, ApiError> {
    let Some(secret) = cookie_value(headers, SIGNIN_COOKIE) else {
        return Ok(None);
    };
    let digest = token_digest(secret);
    let Some(pending) = store.signin_pending(&digest, now).map_err(store_error)? else {
        return Ok(None);
    };
    let account = store.account(&pending.account).map_err(store_error)?;
    let credentials = store.credentials(&pending.account).map_err(store_error)?;
    match (account, credentials) {
        (Some(account), Some(credentials)) if !account.disabled => Ok(Some(Pending {
            digest,
            account,
            credentials,
            pending,
        })),
        _ => Ok(None),
    }
}

/// Moves a pending sign-in on: a session when no step is left, else its next page.
fn advance(
    store: &dyn Store,
    headers: &HeaderMap,
    address: &str,
    now: i64,
) -> Result<Attempt, ApiError> {
    let Some(p) = load_pending(store, headers, now)? else {
        return Ok(Attempt::Refused("signin-expired"));
    };
    if p.step() != Step::Done {
        let secret = cookie_value(headers, SIGNIN_COOKIE)
            .unwrap_or_default()
            .to_owned();
        return Ok(Attempt::Pending(secret));
    }
    store
        .delete_signin_pending(&p.digest, now)
        .map_err(store_error)?;
    let brought = cookie_value(headers, SESSION_COOKIE).map(token_digest);
    issue_session(
        store,
        &p.account.name,
        &p.account.role,
        address,
        brought,
        now,
    )
    .map(Attempt::Session)
}

async fn signin_next(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let store = state.store.clone();
    let now = now_ms();
    let issuer = format!("Caravan {}", state.node_name);
    let loaded = blocking(move || {
        let Some(p) = load_pending(store.as_ref(), &headers, now)? else {
            return Ok(None);
        };
        let step = p.step();
        let mut enrol = (String::new(), String::new());
        if step == Step::Enrol {
            let secret = match &p.credentials.totp_pending {
                Some(secret) => secret.clone(),
                None => {
                    let fresh = totp::new_secret()
                        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
                    store
                        .set_totp_pending(&p.account.name, Some(&fresh), now)
                        .map_err(store_error)?;
                    fresh
                }
            };
            enrol = (
                totp::otpauth_uri(&issuer, &p.account.name, &secret),
                totp::base32_encode(&secret),
            );
        }
        Ok(Some((p.account.name, step, enrol)))
    })
    .await;
    match loaded {
        Ok(Some((account, step, (uri, secret)))) if step != Step::Done => render(&StepPage {
            node_name: &state.node_name,
            account: &account,
            step,
            otpauth_uri: uri,
            secret_base32: secret,
            error: None,
        }),
        Ok(_) => Redirect::to("/ui/signin").into_response(),
        Err(err) => err.into_response(),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// One step of a pending sign-in: checks the origin, loads the pending sign-in, and runs
/// `work` if the sign-in is at `step` (any other step just moves on). `work` returns the
/// attempt's outcome; a refusal shows the step's page again with its message.
async fn pending_step<F>(
    state: AppState,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    step: Step,
    work: F,
) -> Response
where
    F: FnOnce(&dyn Store, &HeaderMap, &Pending, &str, i64) -> Result<Attempt, ApiError>
        + Send
        + 'static,
{
    if !same_origin(&headers) {
        return cross_origin();
    }
    let address = client_address(&extensions);
    let store = state.store.clone();
    let now = now_ms();
    let outcome = blocking(move || {
        let Some(p) = load_pending(store.as_ref(), &headers, now)? else {
            return Ok((Attempt::Refused("signin-expired"), String::new()));
        };
        let name = p.account.name.clone();
        let attempt = if p.step() == step {
            work(store.as_ref(), &headers, &p, &address, now)?
        } else {
            advance(store.as_ref(), &headers, &address, now)?
        };
        Ok((attempt, name))
    })
    .await;
    match outcome {
        Ok((attempt, name)) => attempt_response(&state, Ok(attempt), now, Some((&name, step))),
        Err(err) => err.into_response(),
    }
}

async fn signin_totp(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<CodeForm>,
) -> Response {
    pending_step(
        state,
        headers,
        extensions,
        Step::Totp,
        move |store, headers, p, address, now| {
            let name = p.account.name.clone();
            let subjects = subjects(&name, address);
            if let Some(until) = locked_until(store, &subjects, now)? {
                return Ok(Attempt::Throttled(until));
            }
            let secret = p.credentials.totp_secret.clone().unwrap_or_default();
            let refusal = match totp::verify(&secret, &form.code, now) {
                None => Some("totp_invalid"),
                Some(step) => {
                    if store.use_totp_step(&name, step).map_err(store_error)? {
                        None
                    } else {
                        Some("totp_replayed")
                    }
                }
            };
            if let Some(code) = refusal {
                let lock = record_failure(store, &subjects, now)?;
                audit_row(
                    store,
                    &name,
                    &p.account.role,
                    "session.signin.totp",
                    &name,
                    Some(code),
                    serde_json::json!({ "address": address }),
                )?;
                return Ok(match lock {
                    Some(until) => Attempt::Throttled(until),
                    None => Attempt::Refused("signin-code-wrong"),
                });
            }
            store
                .set_signin_pending_totp_ok(&p.digest)
                .map_err(store_error)?;
            advance(store, headers, address, now)
        },
    )
    .await
}

#[derive(Deserialize)]
struct NewPasswordForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

async fn signin_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<NewPasswordForm>,
) -> Response {
    pending_step(
        state,
        headers,
        extensions,
        Step::Password,
        move |store, headers, p, address, now| {
            let name = p.account.name.clone();
            let refusal = if form.new_password != form.confirm {
                Some("signin-passwords-differ")
            } else if password::verify(&form.new_password, p.credentials.password_phc.as_deref()) {
                Some("signin-password-reused")
            } else {
                match password::check_policy(&form.new_password) {
                    Err(password::PasswordError::TooShort) => Some("signin-password-short"),
                    Err(_) => Some("signin-password-long"),
                    Ok(()) => None,
                }
            };
            if let Some(message) = refusal {
                return Ok(Attempt::Refused(message));
            }
            let phc = password::hash(&form.new_password)
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
            store
                .set_password(&name, &phc, false, now)
                .map_err(store_error)?;
            audit_row(
                store,
                &name,
                &p.account.role,
                "account.password.change",
                &name,
                None,
                serde_json::json!({ "at_signin": true }),
            )?;
            advance(store, headers, address, now)
        },
    )
    .await
}

async fn signin_enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<CodeForm>,
) -> Response {
    pending_step(
        state,
        headers,
        extensions,
        Step::Enrol,
        move |store, headers, p, address, now| {
            let name = p.account.name.clone();
            let Some(secret) = p.credentials.totp_pending.clone() else {
                let secret = cookie_value(headers, SIGNIN_COOKIE)
                    .unwrap_or_default()
                    .to_owned();
                return Ok(Attempt::Pending(secret));
            };
            let Some(step) = totp::verify(&secret, &form.code, now) else {
                audit_row(
                    store,
                    &name,
                    &p.account.role,
                    "account.totp.enrol",
                    &name,
                    Some("totp_invalid"),
                    serde_json::json!({ "address": address }),
                )?;
                return Ok(Attempt::Refused("signin-enrol-mismatch"));
            };
            if !store.confirm_totp(&name, step, now).map_err(store_error)? {
                let secret = cookie_value(headers, SIGNIN_COOKIE)
                    .unwrap_or_default()
                    .to_owned();
                return Ok(Attempt::Pending(secret));
            }
            store
                .set_signin_pending_totp_ok(&p.digest)
                .map_err(store_error)?;
            audit_row(
                store,
                &name,
                &p.account.role,
                "account.totp.enrol",
                &name,
                None,
                serde_json::json!({ "address": address }),
            )?;
            advance(store, headers, address, now)
        },
    )
    .await
}

async fn signout(principal: Principal) -> Result<Response, ApiError> {
    principal
        .audit(
            "session.signout",
            &principal.actor().account,
            serde_json::json!({}),
        )
        .await?;
    if principal.via() == crate::auth::Via::Session {
        let store = principal.store().clone();
        let digest = principal.token_digest();
        tokio::task::spawn_blocking(move || store.revoke_api_token(&digest, now_ms()))
            .await
            .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
            .map_err(|err| ApiError::new(ErrorCode::StoreUnavailable, err.to_string()))?;
    }
    let mut response = Redirect::to("/ui/signin").into_response();
    if let Some(value) = cookie(SESSION_COOKIE, "", "/", 0) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The pages of each capability, shown to the roles that may use them (path, catalogue key
/// of the link's text).
const AREAS: &[(Capability, &str, &str)] = &[
    (
        Capability::AcknowledgeAndPartialReply,
        "/ui/desk/inbox",
        "area-desk-inbox",
    ),
    (
        Capability::DraftRequests,
        "/ui/desk/requests/new",
        "area-desk-new",
    ),
    (
        Capability::DraftRequests,
        "/ui/desk/overdue",
        "area-desk-overdue",
    ),
    (
        Capability::RunAnalytics,
        "/ui/target/worklist",
        "area-target-worklist",
    ),
    (
        Capability::RunAnalytics,
        "/ui/screen/hits",
        "area-screen-hits",
    ),
    (Capability::RunAnalytics, "/ui/mirror", "area-mirror"),
    (Capability::ReadAuditTrail, "/ui/audit", "area-audit-trail"),
    (
        Capability::ReadAuditTrail,
        "/ui/audit/log",
        "area-audit-log",
    ),
    (
        Capability::ReadAuditTrail,
        "/ui/audit/verify",
        "area-audit-verify",
    ),
    (Capability::ReadStatistics, "/ui/desk/stats", "stats-title"),
    (
        Capability::ManageKeysAndUsers,
        "/ui/admin/accounts",
        "area-admin-accounts",
    ),
    (
        Capability::ManageKeysAndUsers,
        "/ui/admin/partners",
        "partners-title",
    ),
    (
        Capability::ManageKeysAndUsers,
        "/ui/audit/log",
        "area-admin-log",
    ),
];

async fn home(State(state): State<AppState>, principal: Principal) -> Response {
    let mut links: Vec<(&'static str, &'static str)> = Vec::new();
    for (capability, href, label) in AREAS {
        if principal.may(*capability) && !links.iter().any(|(h, _)| h == href) {
            links.push((href, crate::i18n::t(label)));
        }
    }
    render(&HomePage {
        node_name: &state.node_name,
        display_name: principal.display_name(),
        account: &principal.actor().account,
        role: crate::i18n::role_name(principal.actor().role),
        role_code: principal.actor().role.code(),
        links,
    })
}

/// `GET /api/v1/me`.
#[derive(Serialize)]
pub struct Me {
    account: String,
    display_name: String,
    role: &'static str,
}

async fn me(principal: Principal) -> Json<Me> {
    Json(Me {
        account: principal.actor().account.clone(),
        display_name: principal.display_name().to_owned(),
        role: principal.actor().role.code(),
    })
}

#[derive(Deserialize)]
struct AuditParams {
    account: Option<String>,
    action_prefix: Option<String>,
    object: Option<String>,
    after_seq: Option<i64>,
    limit: Option<u32>,
}

/// One row of `GET /api/v1/audit`.
#[derive(Serialize)]
struct AuditRow {
    seq: i64,
    at: i64,
    account: String,
    role: String,
    action: String,
    object: String,
    outcome: &'static str,
    code: Option<String>,
    detail: serde_json::Value,
    sha256: String,
}

#[derive(Serialize)]
struct AuditPage {
    rows: Vec<AuditRow>,
    /// Whether the returned rows chain correctly (only meaningful for an unfiltered read).
    chain_verified: Option<bool>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn audit(
    principal: Principal,
    Query(params): Query<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    principal
        .require(Capability::ReadAuditTrail, "audit.read", "audit")
        .await?;
    let unfiltered =
        params.account.is_none() && params.action_prefix.is_none() && params.object.is_none();
    let query = AuditQuery {
        account: params.account,
        action_prefix: params.action_prefix,
        object: params.object,
        after_seq: params.after_seq,
        limit: params.limit.unwrap_or(200).min(10_000),
    };
    let store = principal.store().clone();
    let rows: Vec<AuditRecord> = tokio::task::spawn_blocking(move || store.list_audit(&query))
        .await
        .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
        .map_err(|err| ApiError::new(ErrorCode::StoreUnavailable, err.to_string()))?;
    let chain_verified = unfiltered.then(|| verify_audit_chain(&rows).is_ok());
    principal
        .audit(
            "audit.read",
            "audit",
            serde_json::json!({ "rows": rows.len() }),
        )
        .await?;
    Ok(Json(AuditPage {
        chain_verified,
        rows: rows
            .into_iter()
            .map(|r| AuditRow {
                seq: r.seq,
                at: r.event.at,
                account: r.event.account,
                role: r.event.role,
                action: r.event.action,
                object: r.event.object,
                outcome: r.event.outcome.as_str(),
                code: r.event.code,
                detail: serde_json::from_str(&r.event.detail)
                    .unwrap_or(serde_json::Value::String(r.event.detail)),
                sha256: hex(&r.sha256),
            })
            .collect(),
    }))
}
