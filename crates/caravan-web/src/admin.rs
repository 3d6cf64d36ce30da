//! The administrator's accounts page (`/ui/admin/accounts`) and API
//! (`/api/v1/admin/accounts`): list, create, disable and enable, change role, reset a
//! second factor or a password, revoke sessions.
//!
//! Why each change revokes the account's browser sessions: a session carries the role it
//! was issued under only until the next request reads the account again, but an officer
//! whose role was cut or whose account was disabled must not keep a signed-in browser at
//! all (privilege change → fresh session, issue 9). Why the store refuses to remove the
//! last enabled administrator: a node nobody can administer can only be repaired from the
//! host's shell. Only the administrator role (§13 "manage keys and users") gets here, and
//! every change, allowed or refused, is in the audit trail.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use caravan_assistance::roles::{Capability, Role};
use caravan_store::access::{Account, AccountChange, AccountChanged, ApiToken};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{Principal, SESSION_LABEL, new_token_secret, now_ms, token_digest};
use crate::ui::{blocking, render};
use crate::{ApiError, AppState, ErrorCode, password};

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/ui/admin/accounts", get(page).post(page_create))
        .route("/ui/admin/accounts/{name}/{action}", post(page_action))
        .route("/api/v1/admin/accounts", get(api_list).post(api_create))
        .route("/api/v1/admin/accounts/{name}", post(api_change))
        .route(
            "/api/v1/admin/accounts/{name}/totp/reset",
            post(api_reset_totp),
        )
        .route(
            "/api/v1/admin/accounts/{name}/password/reset",
            post(api_reset_password),
        )
        .route(
            "/api/v1/admin/accounts/{name}/sessions/revoke",
            post(api_revoke_sessions),
        )
        .with_state(state.clone())
}

/// Whether `name` is a valid account name: what an officer would type, 1–64 letters,
/// digits, `.`, `_`, `-` or `@`.
pub fn valid_account_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

fn bad(code: &'static str, message: &'static str) -> ApiError {
    ApiError::custom(StatusCode::BAD_REQUEST, code, message)
}

fn store_error(err: caravan_store::StoreError) -> ApiError {
    match err {
        caravan_store::StoreError::NotFound => ApiError::custom(
            StatusCode::NOT_FOUND,
            "account_not_found",
            "no such account",
        ),
        caravan_store::StoreError::Conflict(caravan_store::Conflict::AccountExists { .. }) => {
            ApiError::custom(
                StatusCode::CONFLICT,
                "account_exists",
                "an account with that name exists",
            )
        }
        other => ApiError::new(ErrorCode::StoreUnavailable, other.to_string()),
    }
}

/// A fresh initial password: 16 characters of base64url from 96 random bits.
pub fn initial_password() -> Result<String, ApiError> {
    use base64::Engine;
    let mut bytes = [0u8; 12];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// One account as the administrator sees it (never a secret).
#[derive(Serialize)]
struct AccountView {
    name: String,
    display_name: String,
    role: String,
    disabled: bool,
    created_at: i64,
    has_password: bool,
    must_change_password: bool,
    totp_enrolled: bool,
}

fn list(store: &dyn caravan_store::Store) -> Result<Vec<AccountView>, ApiError> {
    let mut out = Vec::new();
    for a in store.list_accounts().map_err(store_error)? {
        let c = store
            .credentials(&a.name)
            .map_err(store_error)?
            .unwrap_or_default();
        out.push(AccountView {
            has_password: c.password_phc.is_some(),
            must_change_password: c.must_change,
            totp_enrolled: c.totp_secret.is_some(),
            name: a.name,
            display_name: a.display_name,
            role: a.role,
            disabled: a.disabled,
            created_at: a.created_at,
        });
    }
    Ok(out)
}

/// `POST /api/v1/admin/accounts` and the page's create form.
#[derive(Deserialize, Default)]
struct CreateRequest {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    /// `password` (default: an initial password that must be changed) or `token`.
    #[serde(default)]
    credential: Option<String>,
}

/// What a create hands back, once.
#[derive(Serialize)]
struct Created {
    account: String,
    role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

async fn create(principal: &Principal, req: CreateRequest) -> Result<Created, ApiError> {
    principal
        .require(Capability::ManageKeysAndUsers, "account.create", &req.name)
        .await?;
    let name = req.name.trim().to_owned();
    if !valid_account_name(&name) {
        return Err(bad(
            "account_name_invalid",
            "an account name is 1-64 letters, digits, '.', '_', '-' or '@'",
        ));
    }
    let display = req.display_name.trim().to_owned();
    let display = if display.is_empty() {
        name.clone()
    } else {
        display
    };
    if display.chars().count() > 128 || display.chars().any(char::is_control) {
        return Err(bad(
            "display_name_invalid",
            "a display name is at most 128 characters without control characters",
        ));
    }
    let Some(role) = Role::parse(req.role.trim()) else {
        return Err(bad(
            "unknown_role",
            "the role is not one of the agreement's roles",
        ));
    };
    let by_token = match req.credential.as_deref().map(str::trim) {
        None | Some("") | Some("password") => false,
        Some("token") => true,
        Some(_) => {
            return Err(bad(
                "credential_invalid",
                "credential is `password` or `token`",
            ));
        }
    };
    let account = Account {
        name: name.clone(),
        display_name: display.clone(),
        role: role.code().to_owned(),
        disabled: false,
        created_at: now_ms(),
    };
    let store = principal.store().clone();
    let created = if by_token {
        let secret =
            new_token_secret().map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        let digest = token_digest(&secret);
        blocking(move || {
            store.create_account(&account).map_err(store_error)?;
            store
                .add_api_token(&ApiToken {
                    sha256: digest,
                    account: account.name.clone(),
                    label: "admin".into(),
                    created_at: account.created_at,
                    expires_at: None,
                    revoked_at: None,
                })
                .map_err(store_error)
        })
        .await?;
        Created {
            account: name.clone(),
            role: role.code().into(),
            initial_password: None,
            token: Some(secret),
        }
    } else {
        let initial = initial_password()?;
        let for_hash = initial.clone();
        blocking(move || {
            let phc = password::hash(&for_hash)
                .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
            store
                .create_account_with_password(&account, &phc, true)
                .map_err(store_error)
        })
        .await?;
        Created {
            account: name.clone(),
            role: role.code().into(),
            initial_password: Some(initial),
            token: None,
        }
    };
    principal
        .audit(
            "account.create",
            &name,
            json!({ "role": role.code(), "display_name": display, "credential": if by_token { "token" } else { "password" } }),
        )
        .await?;
    Ok(created)
}

/// `POST /api/v1/admin/accounts/{name}`.
#[derive(Deserialize, Default)]
struct ChangeRequest {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
}

async fn change(principal: &Principal, name: &str, req: ChangeRequest) -> Result<Value, ApiError> {
    principal
        .require(Capability::ManageKeysAndUsers, "account.change", name)
        .await?;
    let role = match req.role.as_deref().map(str::trim) {
        None => None,
        Some(code) => Some(
            Role::parse(code)
                .ok_or_else(|| {
                    bad(
                        "unknown_role",
                        "the role is not one of the agreement's roles",
                    )
                })?
                .code()
                .to_owned(),
        ),
    };
    if role.is_none() && req.disabled.is_none() {
        return Err(bad("nothing_to_change", "give `role` and/or `disabled`"));
    }
    let change = AccountChange {
        role: role.clone(),
        disabled: req.disabled,
    };
    let store = principal.store().clone();
    let owned = name.to_owned();
    let outcome = blocking(move || {
        let before = store.account(&owned).map_err(store_error)?;
        let changed = store.change_account(&owned, &change).map_err(store_error)?;
        let revoked = match &changed {
            AccountChanged::Changed(after) if Some(after) != before.as_ref() => store
                .revoke_account_tokens(&owned, Some(SESSION_LABEL), now_ms())
                .map_err(store_error)?,
            _ => 0,
        };
        Ok((changed, revoked))
    })
    .await?;
    let detail = json!({ "role": role, "disabled": req.disabled });
    match outcome {
        (AccountChanged::LastAdministrator, _) => {
            principal
                .audit_refusal("account.change", name, "last_administrator", detail)
                .await?;
            Err(ApiError::custom(
                StatusCode::CONFLICT,
                "last_administrator",
                "the node must keep at least one enabled administrator",
            ))
        }
        (AccountChanged::Changed(after), revoked) => {
            principal
                .audit(
                    "account.change",
                    name,
                    json!({ "role": role, "disabled": req.disabled, "sessions_revoked": revoked }),
                )
                .await?;
            Ok(json!({
                "name": after.name, "role": after.role, "disabled": after.disabled,
                "sessions_revoked": revoked,
            }))
        }
    }
}

async fn reset_totp(principal: &Principal, name: &str) -> Result<Value, ApiError> {
    principal
        .require(Capability::ManageKeysAndUsers, "account.totp.reset", name)
        .await?;
    let store = principal.store().clone();
    let owned = name.to_owned();
    let revoked = blocking(move || {
        store.reset_totp(&owned, now_ms()).map_err(store_error)?;
        store
            .revoke_account_tokens(&owned, Some(SESSION_LABEL), now_ms())
            .map_err(store_error)
    })
    .await?;
    principal
        .audit(
            "account.totp.reset",
            name,
            json!({ "sessions_revoked": revoked }),
        )
        .await?;
    Ok(json!({ "name": name, "totp_enrolled": false, "sessions_revoked": revoked }))
}

async fn reset_password(principal: &Principal, name: &str) -> Result<String, ApiError> {
    principal
        .require(
            Capability::ManageKeysAndUsers,
            "account.password.reset",
            name,
        )
        .await?;
    let initial = initial_password()?;
    let for_hash = initial.clone();
    let store = principal.store().clone();
    let owned = name.to_owned();
    let revoked = blocking(move || {
        let phc = password::hash(&for_hash)
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        store
            .set_password(&owned, &phc, true, now_ms())
            .map_err(store_error)?;
        store
            .revoke_account_tokens(&owned, Some(SESSION_LABEL), now_ms())
            .map_err(store_error)
    })
    .await?;
    principal
        .audit(
            "account.password.reset",
            name,
            json!({ "sessions_revoked": revoked }),
        )
        .await?;
    Ok(initial)
}

async fn revoke_sessions(principal: &Principal, name: &str) -> Result<u64, ApiError> {
    principal
        .require(
            Capability::ManageKeysAndUsers,
            "account.sessions.revoke",
            name,
        )
        .await?;
    let store = principal.store().clone();
    let owned = name.to_owned();
    let revoked = blocking(move || {
        if store.account(&owned).map_err(store_error)?.is_none() {
            return Err(store_error(caravan_store::StoreError::NotFound));
        }
        store
            .revoke_account_tokens(&owned, Some(SESSION_LABEL), now_ms())
            .map_err(store_error)
    })
    .await?;
    principal
        .audit(
            "account.sessions.revoke",
            name,
            json!({ "sessions_revoked": revoked }),
        )
        .await?;
    Ok(revoked)
}

async fn api_list(principal: Principal) -> Result<Json<Value>, ApiError> {
    principal
        .require(Capability::ManageKeysAndUsers, "account.list", "accounts")
        .await?;
    let store = principal.store().clone();
    let accounts = blocking(move || list(store.as_ref())).await?;
    Ok(Json(json!({ "accounts": accounts })))
}

fn json_body<T: serde::de::DeserializeOwned + Default>(
    body: &axum::body::Bytes,
) -> Result<T, ApiError> {
    if body.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|_| {
        bad(
            "invalid_body",
            "the body is not the JSON object this route takes",
        )
    })
}

async fn api_create(principal: Principal, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let req: CreateRequest = json_body(&body)?;
    let created = create(&principal, req).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn api_change(
    principal: Principal,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: ChangeRequest = json_body(&body)?;
    change(&principal, &name, req).await.map(Json)
}

async fn api_reset_totp(
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    reset_totp(&principal, &name).await.map(Json)
}

async fn api_reset_password(
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let initial = reset_password(&principal, &name).await?;
    Ok(Json(json!({ "name": name, "initial_password": initial })))
}

async fn api_revoke_sessions(
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let revoked = revoke_sessions(&principal, &name).await?;
    Ok(Json(json!({ "name": name, "sessions_revoked": revoked })))
}

#[derive(Template)]
#[template(path = "admin/accounts.html")]
struct AccountsPage<'a> {
    node_name: &'a str,
    accounts: Vec<AccountView>,
    roles: Vec<&'static str>,
    /// A result to show once (a created account's initial password or token).
    notice: Option<String>,
    secret: Option<String>,
    error: Option<String>,
}

async fn show(
    state: &AppState,
    principal: &Principal,
    notice: Option<String>,
    secret: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let store = principal.store().clone();
    let accounts = blocking(move || list(store.as_ref())).await?;
    let mut response = render(&AccountsPage {
        node_name: &state.node_name,
        accounts,
        roles: Role::ALL.iter().map(|r| r.code()).collect(),
        notice,
        secret,
        error,
    });
    *response.status_mut() = status;
    Ok(response)
}

async fn page(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    principal
        .require(Capability::ManageKeysAndUsers, "account.list", "accounts")
        .await?;
    show(&state, &principal, None, None, None, StatusCode::OK).await
}

/// A refusal the page shows in place (bad input, last administrator), or a real error.
async fn page_error(
    state: &AppState,
    principal: &Principal,
    err: ApiError,
) -> Result<Response, ApiError> {
    if err.status().is_client_error() && err.status() != StatusCode::FORBIDDEN {
        let status = err.status();
        let message = crate::i18n::t1("accounts-refused", "code", err.code());
        return show(state, principal, None, None, Some(message), status).await;
    }
    Err(err)
}

async fn page_create(
    State(state): State<AppState>,
    principal: Principal,
    Form(req): Form<CreateRequest>,
) -> Result<Response, ApiError> {
    match create(&principal, req).await {
        Ok(created) => {
            let (what, secret) = match (created.initial_password, created.token) {
                (Some(p), _) => ("accounts-created-password", p),
                (None, Some(t)) => ("accounts-created-token", t),
                (None, None) => ("accounts-created-credential", String::new()),
            };
            let notice = crate::i18n::t2(
                what,
                "account",
                &created.account,
                "role",
                crate::i18n::role_label(&created.role),
            );
            show(
                &state,
                &principal,
                Some(notice),
                Some(secret),
                None,
                StatusCode::CREATED,
            )
            .await
        }
        Err(err) => page_error(&state, &principal, err).await,
    }
}

#[derive(Deserialize, Default)]
struct ActionForm {
    #[serde(default)]
    role: Option<String>,
}

async fn page_action(
    State(state): State<AppState>,
    principal: Principal,
    Path((name, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, ApiError> {
    let outcome: Result<Option<(String, Option<String>)>, ApiError> = match action.as_str() {
        "role" => change(
            &principal,
            &name,
            ChangeRequest {
                role: form.role,
                disabled: None,
            },
        )
        .await
        .map(|_| None),
        "disable" => change(
            &principal,
            &name,
            ChangeRequest {
                role: None,
                disabled: Some(true),
            },
        )
        .await
        .map(|_| None),
        "enable" => change(
            &principal,
            &name,
            ChangeRequest {
                role: None,
                disabled: Some(false),
            },
        )
        .await
        .map(|_| None),
        "totp-reset" => reset_totp(&principal, &name).await.map(|_| None),
        "sessions-revoke" => revoke_sessions(&principal, &name).await.map(|_| None),
        "password-reset" => reset_password(&principal, &name).await.map(|p| {
            Some((
                crate::i18n::t1("accounts-new-password", "account", &name),
                Some(p),
            ))
        }),
        _ => Err(ApiError::new(ErrorCode::NotFound, "no such account action")),
    };
    match outcome {
        Ok(None) => Ok(Redirect::to("/ui/admin/accounts").into_response()),
        Ok(Some((notice, secret))) => {
            show(
                &state,
                &principal,
                Some(notice),
                secret,
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(err) => page_error(&state, &principal, err).await,
    }
}

/// The OpenAPI fragment of the accounts API.
pub fn openapi() -> Value {
    let error = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let common = |extra: Value| {
        let mut responses = json!({
            "401": { "$ref": "#/components/responses/Unauthenticated" },
            "403": { "$ref": "#/components/responses/Forbidden" },
            "503": { "$ref": "#/components/responses/Unavailable" },
        });
        if let (Some(target), Some(extra)) = (responses.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                target.insert(k.clone(), v.clone());
            }
        }
        responses
    };
    let name =
        json!([{ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }]);
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.code()).collect();
    json!({
        "paths": {
            "/api/v1/admin/accounts": {
                "get": {
                    "summary": "Every account with its credential state (never a secret); administrator only",
                    "responses": common(json!({ "200": { "description": "Accounts", "content": { "application/json": { "schema": { "type": "object", "required": ["accounts"], "properties": { "accounts": { "type": "array", "items": { "$ref": "#/components/schemas/AdminAccount" } } } } } } } })),
                },
                "post": {
                    "summary": "Create an account with an initial password (changed at first sign-in) or a token, returned once",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AdminCreateAccount" } } } },
                    "responses": common(json!({
                        "201": { "description": "Created; the secret is shown once", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AdminCreated" } } } },
                        "400": error("`invalid_body`, `account_name_invalid`, `display_name_invalid`, `unknown_role`, `credential_invalid`"),
                        "409": error("`account_exists`"),
                    })),
                },
            },
            "/api/v1/admin/accounts/{name}": { "post": {
                "summary": "Change an account's role and/or disable or enable it; its browser sessions are revoked",
                "parameters": name,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AdminChangeAccount" } } } },
                "responses": common(json!({
                    "200": { "description": "Changed", "content": { "application/json": { "schema": { "type": "object" } } } },
                    "400": error("`invalid_body`, `unknown_role`, `nothing_to_change`"),
                    "404": error("`account_not_found`"),
                    "409": error("`last_administrator`: the node must keep an enabled administrator"),
                })),
            }},
            "/api/v1/admin/accounts/{name}/totp/reset": { "post": {
                "summary": "Remove the account's TOTP second factor (it enrols again at next sign-in if its role requires one)",
                "parameters": name,
                "responses": common(json!({ "200": { "description": "Reset", "content": { "application/json": { "schema": { "type": "object" } } } }, "404": error("`account_not_found`") })),
            }},
            "/api/v1/admin/accounts/{name}/password/reset": { "post": {
                "summary": "Set a new initial password, returned once, that must be changed at the next sign-in",
                "parameters": name,
                "responses": common(json!({ "200": { "description": "Reset", "content": { "application/json": { "schema": { "type": "object", "required": ["name", "initial_password"], "properties": { "name": { "type": "string" }, "initial_password": { "type": "string" } } } } } }, "404": error("`account_not_found`") })),
            }},
            "/api/v1/admin/accounts/{name}/sessions/revoke": { "post": {
                "summary": "Revoke every browser session of the account",
                "parameters": name,
                "responses": common(json!({ "200": { "description": "Revoked", "content": { "application/json": { "schema": { "type": "object", "required": ["sessions_revoked"], "properties": { "name": { "type": "string" }, "sessions_revoked": { "type": "integer" } } } } } }, "404": error("`account_not_found`") })),
            }},
        },
        "components": { "schemas": {
            "AdminAccount": { "type": "object", "required": ["name", "display_name", "role", "disabled", "created_at", "has_password", "must_change_password", "totp_enrolled"], "properties": {
                "name": { "type": "string" }, "display_name": { "type": "string" }, "role": { "type": "string", "enum": roles },
                "disabled": { "type": "boolean" }, "created_at": { "type": "integer" }, "has_password": { "type": "boolean" },
                "must_change_password": { "type": "boolean" }, "totp_enrolled": { "type": "boolean" } } },
            "AdminCreateAccount": { "type": "object", "required": ["name", "role"], "properties": {
                "name": { "type": "string" }, "display_name": { "type": "string" }, "role": { "type": "string", "enum": roles },
                "credential": { "type": "string", "enum": ["password", "token"] } } },
            "AdminCreated": { "type": "object", "required": ["account", "role"], "properties": {
                "account": { "type": "string" }, "role": { "type": "string" },
                "initial_password": { "type": "string" }, "token": { "type": "string" } } },
            "AdminChangeAccount": { "type": "object", "properties": {
                "role": { "type": "string", "enum": roles }, "disabled": { "type": "boolean" } } },
        }},
    })
}
