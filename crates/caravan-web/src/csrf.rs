//! Synchronizer CSRF tokens on every form (OWASP CSRF Prevention Cheat Sheet), in addition
//! to the origin check of [`crate::auth`].
//!
//! Why derived, not stored: the token is `HMAC-SHA-256(key = the browser's session secret,
//! "caravan-csrf-v1")`. The session secret lives only in the `HttpOnly` cookie (the store
//! keeps its SHA-256), so another site can neither read nor compute the token, a new
//! session (every sign-in) gets a new token, and nothing more is written per request.
//! Before sign-in the same is done with a random pre-session cookie, so the sign-in form
//! itself is protected against login CSRF.
//!
//! Why a middleware and a task-local: every form template gets the token with one line,
//! `{{ crate::csrf::field()|safe }}`, and no handler has to pass it along; every
//! cookie-borne state change (and every POST under `/ui/`) is checked here before any
//! handler runs, so a new form cannot forget the check. Requests with an
//! `Authorization: Bearer` header carry no ambient credential and are not checked.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ring::hmac;

use crate::ApiError;
use crate::auth::{SESSION_COOKIE, cookie_value, new_token_secret};

/// The cookie that keys the token before a session exists.
pub const PRESESSION_COOKIE: &str = "caravan_presession";
/// The form field (and `X-CSRF-Token` header) that carries the token.
pub const FIELD: &str = "csrf_token";
/// The header an API client in a browser may use instead of the field.
pub const HEADER: &str = "x-csrf-token";
/// The largest form body read for the check (the largest form, a request with its
/// description, is far smaller).
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;
/// The largest `multipart/form-data` body read (the reply form uploads evidence files);
/// the same bound as the upload route's body limit.
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

const LABEL: &[u8] = b"caravan-csrf-v1";

tokio::task_local! {
    static TOKEN: String;
}

/// The token for a browser whose session (or pre-session) secret is `secret`.
pub fn token_for(secret: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac::sign(&key, LABEL).as_ref())
}

/// Whether `presented` is the token for `secret` (constant-time).
pub fn verify(secret: &str, presented: &str) -> bool {
    let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(presented.trim()) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::verify(&key, LABEL, &tag).is_ok()
}

/// The token of the request being served (empty outside a request).
pub fn token() -> String {
    TOKEN.try_with(Clone::clone).unwrap_or_default()
}

/// The hidden form field with the request's token, for templates:
/// `{{ crate::csrf::field()|safe }}`. The token is base64url, so it needs no escaping.
pub fn field() -> String {
    format!(
        r#"<input type="hidden" name="{FIELD}" value="{}">"#,
        token()
    )
}

fn refused() -> Response {
    ApiError::custom(
        StatusCode::FORBIDDEN,
        "csrf_token_invalid",
        "the form's CSRF token is missing or does not match this browser's session; \
         reload the page and try again",
    )
    .into_response()
}

/// The `csrf_token` value of an `application/x-www-form-urlencoded` body.
fn form_token(body: &[u8]) -> Option<String> {
    body.split(|b| *b == b'&').find_map(|pair| {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        (name == FIELD.as_bytes()).then(|| String::from_utf8_lossy(value).into_owned())
    })
}

/// The `csrf_token` field of a `multipart/form-data` body.
fn multipart_token(body: &[u8], boundary: &str) -> Option<String> {
    crate::multipart::parse(body, boundary)
        .ok()?
        .into_iter()
        .find(|p| p.name == FIELD && p.filename.is_none())
        .map(|p| p.text())
}

/// The middleware: sets the request's token for templates and checks it on state changes.
pub async fn protect(request: Request, next: Next) -> Response {
    if request.headers().contains_key(header::AUTHORIZATION) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let page = path == "/ui" || path.starts_with("/ui/");
    let session = cookie_value(request.headers(), SESSION_COOKIE).map(str::to_owned);
    let presession = cookie_value(request.headers(), PRESESSION_COOKIE).map(str::to_owned);
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !page && session.is_none() {
        // Not a browser page and no ambient credential: nothing to protect.
        return next.run(request).await;
    }
    let mut new_presession = None;
    let secret = match session.or(presession) {
        Some(secret) => Some(secret),
        None if page && !unsafe_method => match new_token_secret() {
            Ok(fresh) => {
                new_presession = Some(fresh.clone());
                Some(fresh)
            }
            Err(_) => None,
        },
        None => None,
    };
    let request = if unsafe_method {
        let Some(secret) = secret.as_deref() else {
            return refused();
        };
        let (parts, body) = request.into_parts();
        let header_token = parts
            .headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let boundary = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::multipart::boundary);
        let limit = if boundary.is_some() {
            MAX_UPLOAD_BYTES
        } else {
            MAX_FORM_BYTES
        };
        let bytes = match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return ApiError::custom(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "form_too_large",
                    format!("the form is larger than {} MiB", limit >> 20),
                )
                .into_response();
            }
        };
        let presented = header_token.or_else(|| match &boundary {
            Some(b) => multipart_token(&bytes, b),
            None => form_token(&bytes),
        });
        match presented {
            Some(token) if verify(secret, &token) => {}
            _ => return refused(),
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };
    let token = secret.as_deref().map(token_for).unwrap_or_default();
    let mut response = TOKEN.scope(token, next.run(request)).await;
    if let Some(fresh) = new_presession {
        let cookie =
            format!("{PRESESSION_COOKIE}={fresh}; Path=/ui; HttpOnly; Secure; SameSite=Strict");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_for_its_secret_only() {
        let token = token_for("cvn_a");
        assert!(verify("cvn_a", &token));
        assert!(!verify("cvn_b", &token));
        assert!(!verify("cvn_a", ""));
        assert!(!verify("cvn_a", "not base64 !"));
        assert_ne!(token_for("cvn_a"), token_for("cvn_b"));
    }

    #[test]
    fn the_field_is_found_in_a_form_body() {
        assert_eq!(
            form_token(b"a=1&csrf_token=xyz&b=2").as_deref(),
            Some("xyz")
        );
        assert_eq!(form_token(b"csrf_token=").as_deref(), Some(""));
        assert_eq!(form_token(b"xcsrf_token=1&a"), None);
        let upload = b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"csrf_token\"\r\n\r\nxx\r\n--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n--B--\r\n";
        assert_eq!(multipart_token(upload, "B").as_deref(), Some("tok"));
        assert_eq!(multipart_token(upload, "C"), None);
    }

    #[tokio::test]
    async fn templates_see_the_token_of_their_request_only() {
        assert_eq!(token(), "");
        let inside = TOKEN.scope("abc".to_owned(), async { field() }).await;
        assert_eq!(
            inside,
            r#"<input type="hidden" name="csrf_token" value="abc">"#
        );
        assert_eq!(token(), "");
    }
}
