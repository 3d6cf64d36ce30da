//! Who is calling, in which role, and the audit row for what they do (assistance spec §13).
//!
//! Why one extractor for the API and the pages: every handler states its need the same
//! way (`principal.require(Capability::…)`), checked against the one permission table of
//! `caravan_assistance::roles`, so no route can forget a check that another remembers.
//!
//! Two ways in:
//! - `Authorization: Bearer <token>` for programs and the CLI's operators
//!   (`caravan account add` issues one);
//! - the `caravan_session` cookie for officers in a browser, set by `/ui/signin` after the
//!   officer proves a password (and a TOTP code, [`totp_required`]) or a token; the session
//!   is itself a short-lived token of the same table, fresh at every sign-in.
//!
//! Secrets never reach the database: the store keeps SHA-256 digests only. A cookie-borne
//! request that changes state must come from our own origin (the `Origin` header, or
//! `Referer` when a browser omits it, must name the `Host` it was sent to) and the cookie is
//! `SameSite=Strict`, so another site cannot make an officer's browser act (OWASP CSRF
//! "verifying origin with standard headers"), and it must carry the synchronizer token
//! that [`crate::csrf`] checks. Refusals are audited: an auditor must see who
//! tried what, not only who succeeded.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use caravan_assistance::roles::{self, Actor, Capability, Role};
use caravan_store::Store;
use sha2::{Digest, Sha256};

use crate::{ApiError, ErrorCode};

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "caravan_session";

/// Prefix of every token secret, so a leaked one is recognisable in logs and scanners.
pub const TOKEN_PREFIX: &str = "cvn_";

/// How long a browser session lasts.
pub const SESSION_TTL_MS: i64 = 8 * 60 * 60 * 1000;

/// The label of browser-session tokens (revoked together at a privilege change).
pub const SESSION_LABEL: &str = "browser session";

/// Whether a role must sign in with a TOTP second factor (issue 9: the administrator
/// manages who may act, the auditor reads everyone's trail).
pub fn totp_required(role: Role) -> bool {
    matches!(role, Role::Administrator | Role::AuditorDpo)
}

/// The client's address as the throttle counts it: the TCP peer when the server records
/// it (`caravan_web::serve` does), else `unknown`. A forwarding proxy's headers are not
/// trusted: a client could write any address there.
pub fn client_address(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// What the extractor needs; put on every request by [`crate::router`].
#[derive(Clone)]
pub struct AuthContext {
    /// The node's store: accounts, tokens, audit.
    pub store: Arc<dyn Store>,
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A fresh token secret: the prefix and 32 random bytes, base64url.
pub fn new_token_secret() -> Result<String, getrandom::Error> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The digest a token secret is stored under.
pub fn token_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An `Authorization: Bearer` token.
    Bearer,
    /// The browser session cookie.
    Session,
}

/// The authenticated caller of a request.
#[derive(Clone)]
pub struct Principal {
    actor: Actor,
    display_name: String,
    via: Via,
    token: [u8; 32],
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("actor", &self.actor)
            .field("via", &self.via)
            .finish_non_exhaustive()
    }
}

impl Principal {
    /// The account and the role it acts in.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The account's full name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// How the caller authenticated.
    pub fn via(&self) -> Via {
        self.via
    }

    /// Digest of the token or session the request carried (sign-out revokes it).
    pub fn token_digest(&self) -> [u8; 32] {
        self.token
    }

    /// The store, for handlers that need it alongside the principal.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether the role holds `capability` at all (for showing or hiding a link).
    pub fn may(&self, capability: Capability) -> bool {
        roles::grant(self.actor.role, capability).is_some()
    }

    /// Checks a single-person, non-case action against the §13 table. A refusal is audited
    /// and answers 403 with the table's code (`role_not_permitted`, `two_person_required`).
    pub async fn require(
        &self,
        capability: Capability,
        action: &str,
        object: &str,
    ) -> Result<(), ApiError> {
        self.require_case(capability, true, action, object).await
    }

    /// Like [`Principal::require`], for an action on a case the caller may or may not be
    /// assigned to (`own_case`), which matters to roles granted "own cases" only.
    pub async fn require_case(
        &self,
        capability: Capability,
        own_case: bool,
        action: &str,
        object: &str,
    ) -> Result<(), ApiError> {
        match roles::check(&self.actor, capability, own_case) {
            Ok(_) => Ok(()),
            Err(refusal) => {
                let detail = serde_json::json!({ "capability": format!("{capability:?}") });
                self.record(action, object, Some(refusal.code()), detail)
                    .await?;
                Err(ApiError::custom(
                    StatusCode::FORBIDDEN,
                    refusal.code(),
                    refusal.to_string(),
                ))
            }
        }
    }

    /// Records an allowed action. If the audit row cannot be written the action must not
    /// go ahead, so this fails with `store_unavailable`.
    pub async fn audit(
        &self,
        action: &str,
        object: &str,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        self.record(action, object, None, detail).await
    }

    /// Records a refusal decided by the handler itself (a workflow rule, not the role
    /// table), with its public code.
    pub async fn audit_refusal(
        &self,
        action: &str,
        object: &str,
        code: &str,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        self.record(action, object, Some(code), detail).await
    }

    async fn record(
        &self,
        action: &str,
        object: &str,
        refused: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        let store = self.store.clone();
        let (account, role) = (self.actor.account.clone(), self.actor.role.code());
        let (action, object) = (action.to_owned(), object.to_owned());
        let refused = refused.map(str::to_owned);
        crate::ui::blocking(move || {
            crate::ui::audit_row(
                store.as_ref(),
                &account,
                role,
                &action,
                &object,
                refused.as_deref(),
                detail,
            )
        })
        .await
    }
}

/// Why a request was not let in. Pages send the browser to the sign-in form; the API
/// answers JSON.
#[derive(Debug)]
pub enum AuthRejection {
    /// A page asked for without a valid session.
    SignIn,
    /// Everything else.
    Api(ApiError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::SignIn => Redirect::to("/ui/signin").into_response(),
            AuthRejection::Api(err) => err.into_response(),
        }
    }
}

impl From<ApiError> for AuthRejection {
    fn from(err: ApiError) -> Self {
        AuthRejection::Api(err)
    }
}

fn unauthenticated(message: &'static str) -> ApiError {
    ApiError::custom(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}

/// The bearer token of a request, if it carries one. A malformed header is an error, not
/// an anonymous request.
fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| unauthenticated("the Authorization header is not ASCII"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(unauthenticated(
            "the Authorization header must be `Bearer <token>`",
        )),
    }
}

/// The session cookie's value, if the request carries one.
pub fn session_cookie(parts: &Parts) -> Option<&str> {
    cookie_value(&parts.headers, SESSION_COOKIE)
}

/// A cookie's value, if the request carries it (and it is not empty).
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, value)| value)
}

/// Whether a cookie-borne, state-changing request comes from our own origin.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|h| h.to_str().ok());
    let Some(source) = source else {
        return false;
    };
    // scheme://host[:port][/path]: compare the authority exactly.
    let Some((_, rest)) = source.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    authority.eq_ignore_ascii_case(host)
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path();
        let page = path == "/ui" || path.starts_with("/ui/");
        let Some(ctx) = parts.extensions.get::<AuthContext>().cloned() else {
            return Err(
                ApiError::new(ErrorCode::Internal, "router lacks the AuthContext layer").into(),
            );
        };
        let (secret, via) = match bearer(parts)? {
            Some(token) => (token.to_owned(), Via::Bearer),
            None => match session_cookie(parts) {
                Some(cookie) => (cookie.to_owned(), Via::Session),
                None if page => return Err(AuthRejection::SignIn),
                None => {
                    return Err(
                        unauthenticated("sign in: send `Authorization: Bearer <token>`").into(),
                    );
                }
            },
        };
        if via == Via::Session && !is_safe(&parts.method) && !same_origin(&parts.headers) {
            return Err(ApiError::custom(
                StatusCode::FORBIDDEN,
                "cross_origin_refused",
                "a form sent from another site is refused (CSRF protection)",
            )
            .into());
        }
        let digest = token_digest(&secret);
        let store = ctx.store.clone();
        // A browser session also reads the account's page language (crate::i18n).
        let found = tokio::task::spawn_blocking(move || {
            let Some(account) = store.account_for_token(&digest, now_ms())? else {
                return Ok(None);
            };
            let language = match via {
                Via::Session => store.account_language(&account.name)?,
                Via::Bearer => None,
            };
            Ok::<_, caravan_store::StoreError>(Some((account, language)))
        })
        .await
        .map_err(|err| ApiError::new(ErrorCode::Internal, err.to_string()))?
        .map_err(|err| ApiError::new(ErrorCode::StoreUnavailable, err.to_string()))?;
        let Some((account, language)) = found else {
            if page && via == Via::Session {
                return Err(AuthRejection::SignIn);
            }
            return Err(unauthenticated("the token is unknown, expired or revoked").into());
        };
        let Some(role) = Role::parse(&account.role) else {
            return Err(ApiError::custom(
                StatusCode::FORBIDDEN,
                "role_unknown",
                "the account's role is not one of the agreement's roles",
            )
            .into());
        };
        if let Some(lang) = language.as_deref().and_then(crate::i18n::Lang::parse) {
            crate::i18n::set_current(lang);
        }
        Ok(Principal {
            actor: Actor::new(&account.name, role),
            display_name: account.display_name,
            via,
            token: digest,
            store: ctx.store,
        })
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method("POST").uri("/ui/x");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn hdrs(headers: &[(&str, &str)]) -> HeaderMap {
        parts(headers).headers
    }

    #[test]
    fn origin_must_name_the_host_exactly() {
        assert!(same_origin(&hdrs(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&hdrs(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8081")
        ])));
        assert!(!same_origin(&hdrs(&[
            ("host", "node.example"),
            ("origin", "https://node.example.evil")
        ])));
        assert!(same_origin(&hdrs(&[
            ("host", "node.example"),
            ("referer", "https://node.example/ui/desk")
        ])));
        assert!(!same_origin(&hdrs(&[("host", "node.example")])));
        assert!(!same_origin(&hdrs(&[("origin", "https://node.example")])));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let p = parts(&[("cookie", "a=1; caravan_session=cvn_abc; b=2")]);
        assert_eq!(session_cookie(&p), Some("cvn_abc"));
        assert_eq!(
            session_cookie(&parts(&[("cookie", "caravan_sessionx=1")])),
            None
        );
    }

    #[test]
    fn malformed_authorization_is_refused_not_ignored() {
        assert!(bearer(&parts(&[("authorization", "Basic abc")])).is_err());
        assert!(bearer(&parts(&[("authorization", "Bearer")])).is_err());
        assert_eq!(
            bearer(&parts(&[("authorization", "Bearer cvn_x")])).unwrap(),
            Some("cvn_x")
        );
    }

    #[test]
    fn token_secrets_are_unique_and_prefixed() {
        let a = new_token_secret().unwrap();
        let b = new_token_secret().unwrap();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_ne!(token_digest(&a), token_digest(&b));
    }
}
