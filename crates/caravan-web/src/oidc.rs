//! OpenID Connect sign-in (issue 9): an agency that runs an identity provider lets its
//! officers sign in there instead of with a Caravan password.
//!
//! The flow is the Authorization Code flow with PKCE (S256), `state` and `nonce`
//! (OpenID Connect Core 1.0 §3.1, RFC 7636). `/ui/oidc/start` keeps the flow's `state`,
//! `nonce` and PKCE verifier in this process, keyed by the SHA-256 of a random secret the
//! browser holds in an HttpOnly, `SameSite=Lax`, ten-minute cookie (`Lax`, because the
//! provider sends the browser back with a cross-site top-level GET, which a `Strict` cookie
//! would not ride). `/ui/oidc/callback` takes the flow out (single use), checks `state`,
//! exchanges the code at the token endpoint (client_secret_basic, with the verifier) and
//! verifies the ID token fully: the JWS signature by a JWKS key with the header's `kid`
//! and an allowed algorithm (RS256, ES256; `none` and every HMAC algorithm are refused
//! whatever the configuration says, since an HMAC key would be our client secret), then
//! `iss`, `aud` (and `azp` when there are several audiences), `exp`, `iat` within the
//! skew, and `nonce`.
//!
//! Why roles never come from the provider: the §13 permission table is the agreement's,
//! and the agreement's auditor must be able to answer "who could act as administrator"
//! from this node alone. A verified subject signs in as the local account an
//! administrator linked to (`issuer`, `sub`) (`caravan account link-oidc`, audited), with
//! that account's role; an unlinked subject or a disabled account is refused.
//!
//! Second factor: administrator and auditor accounts (and any account with an enrolled
//! TOTP) still prove a TOTP code after the provider, unless the ID token's `amr` says the
//! provider did multi-factor authentication itself (`mfa`, `otp`, RFC 8176). The
//! provider's assertion is trusted for this only because the node's administrator chose
//! that provider in the node's configuration.
//!
//! Every refusal has its own code, shown on the sign-in page and audited
//! (`session.signin`, factor `oidc`). Discovery and JWKS are fetched over HTTPS (rustls,
//! TLS 1.2+), trusting either the configured CA file alone or the system bundle; a JWKS
//! is refetched once when a token names a `kid` it does not hold (key rotation).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use caravan_assistance::roles::Role;
use caravan_store::Store;
use caravan_store::access::{ApiToken, PendingSignin};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::auth::{
    SESSION_COOKIE, SESSION_LABEL, SESSION_TTL_MS, client_address, cookie_value, new_token_secret,
    now_ms, token_digest, totp_required,
};
use crate::ui::{SIGNIN_COOKIE, SIGNIN_TTL_MS, audit_row, blocking};
use crate::{ApiError, AppState, ErrorCode};

/// The cookie that binds a flow to the browser that started it.
pub const FLOW_COOKIE: &str = "caravan_oidc";
/// How long a started flow waits for the provider's answer.
pub const FLOW_TTL_MS: i64 = 10 * 60 * 1000;
/// Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
pub const SKEW_S: i64 = 60;
/// An ID token issued longer ago than this (seconds) is refused, even if not expired.
pub const MAX_TOKEN_AGE_S: i64 = 10 * 60;
/// Started flows kept at most; the oldest are dropped beyond this.
const MAX_FLOWS: usize = 10_000;
/// Provider documents larger than this are refused.
const MAX_DOCUMENT: usize = 1024 * 1024;
/// How long discovery and JWKS are cached.
const METADATA_TTL_MS: i64 = 60 * 60 * 1000;
/// How long one call to the provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The system CA bundle used when no CA file is configured (Debian, Ubuntu, Alpine).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// An ID token signature algorithm this node verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 to 8192 bits.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
}

impl Alg {
    /// From the JOSE name; `None` for every other algorithm.
    pub fn parse(name: &str) -> Option<Alg> {
        match name {
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }
}

/// A node's OpenID Connect settings (`[oidc]` in its configuration).
#[derive(Clone)]
pub struct Settings {
    /// The provider's issuer identifier, exactly as its ID tokens' `iss`.
    pub issuer: String,
    /// The name on the sign-in button, e.g. `Agency SSO`.
    pub provider_name: String,
    /// This node's client id at the provider.
    pub client_id: String,
    /// This node's client secret at the provider.
    pub client_secret: String,
    /// This node's callback, `https://…/ui/oidc/callback`, as registered at the provider.
    pub redirect_url: String,
    /// Algorithms accepted on ID tokens.
    pub algorithms: Vec<Alg>,
    /// PEM certificates to trust for the provider's HTTPS (only these); `None`: the
    /// system bundle.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// Why an OpenID Connect sign-in was refused. Each has a stable public code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No flow for this browser: never started, expired, or already used.
    FlowExpired,
    /// The `state` returned is not the flow's.
    StateMismatch,
    /// The provider answered with an `error` parameter.
    ProviderError(String),
    /// The provider could not be reached or answered something unusable.
    ProviderUnavailable(String),
    /// The callback carried no code.
    CodeMissing,
    /// The token endpoint refused the code.
    TokenExchange(String),
    /// The ID token is not a well-formed JWS with the claims it must carry.
    Malformed(&'static str),
    /// `none`, an HMAC algorithm, or one the configuration does not allow.
    AlgRefused(String),
    /// No JWKS key has the token's `kid` (or it does not fit the algorithm).
    UnknownKid,
    /// The signature does not verify.
    BadSignature,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not name this client (or `azp` names another).
    WrongAudience,
    /// `exp` has passed.
    Expired,
    /// `iat` is in the future or too old, or `nbf` in the future.
    IatSkew,
    /// `nonce` is not the flow's.
    NonceMismatch,
    /// No local account is linked to this subject.
    UnlinkedSubject,
    /// The linked account is disabled.
    AccountDisabled,
}

impl Refusal {
    /// The public code, shown on the sign-in page and written to the audit trail.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::FlowExpired => "oidc_flow_expired",
            Refusal::StateMismatch => "oidc_state_mismatch",
            Refusal::ProviderError(_) => "oidc_provider_error",
            Refusal::ProviderUnavailable(_) => "oidc_provider_unavailable",
            Refusal::CodeMissing => "oidc_code_missing",
            Refusal::TokenExchange(_) => "oidc_token_exchange_failed",
            Refusal::Malformed(_) => "oidc_token_malformed",
            Refusal::AlgRefused(_) => "oidc_alg_refused",
            Refusal::UnknownKid => "oidc_unknown_kid",
            Refusal::BadSignature => "oidc_bad_signature",
            Refusal::WrongIssuer => "oidc_wrong_issuer",
            Refusal::WrongAudience => "oidc_wrong_audience",
            Refusal::Expired => "oidc_token_expired",
            Refusal::IatSkew => "oidc_iat_skew",
            Refusal::NonceMismatch => "oidc_nonce_mismatch",
            Refusal::UnlinkedSubject => "oidc_unlinked_subject",
            Refusal::AccountDisabled => "oidc_account_disabled",
        }
    }

    /// Internal detail for the audit row (never provider secrets).
    fn detail(&self) -> String {
        match self {
            Refusal::ProviderError(s)
            | Refusal::ProviderUnavailable(s)
            | Refusal::TokenExchange(s)
            | Refusal::AlgRefused(s) => s.chars().take(200).collect(),
            Refusal::Malformed(s) => (*s).to_owned(),
            _ => String::new(),
        }
    }
}

/// One key of a JWKS, as published.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    /// `RSA` or `EC`.
    pub kty: String,
    /// Key id.
    #[serde(default)]
    pub kid: Option<String>,
    /// Intended algorithm, if stated.
    #[serde(default)]
    pub alg: Option<String>,
    /// `sig` or `enc`, if stated.
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    /// RSA modulus (base64url).
    #[serde(default)]
    pub n: Option<String>,
    /// RSA exponent (base64url).
    #[serde(default)]
    pub e: Option<String>,
    /// EC curve.
    #[serde(default)]
    pub crv: Option<String>,
    /// EC x (base64url).
    #[serde(default)]
    pub x: Option<String>,
    /// EC y (base64url).
    #[serde(default)]
    pub y: Option<String>,
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// What the verified ID token says that sign-in uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    /// The subject at the issuer.
    pub sub: String,
    /// Authentication methods (RFC 8176), if the provider says.
    pub amr: Vec<String>,
}

impl IdClaims {
    /// Whether the provider asserts multi-factor authentication.
    pub fn multi_factor(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa" || m == "otp")
    }
}

/// What an ID token must match.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The configured issuer.
    pub issuer: &'a str,
    /// This client's id.
    pub client_id: &'a str,
    /// The flow's nonce.
    pub nonce: &'a str,
    /// The allowed algorithms.
    pub algorithms: &'a [Alg],
}

#[derive(Deserialize)]
struct JwsHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    azp: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    nonce: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
}

fn b64(part: &str) -> Result<Vec<u8>, Refusal> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Refusal::Malformed("a part is not base64url"))
}

/// Verifies a compact JWS ID token: signature first, then the claims. `now_s` is Unix
/// seconds.
pub fn verify_id_token(
    token: &str,
    jwks: &Jwks,
    expected: &Expected<'_>,
    now_s: i64,
) -> Result<IdClaims, Refusal> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Malformed("not three dot-separated parts"));
    };
    let header: JwsHeader = serde_json::from_slice(&b64(h)?)
        .map_err(|_| Refusal::Malformed("the header is not JSON with an alg"))?;
    if header.alg.eq_ignore_ascii_case("none") || header.alg.to_ascii_uppercase().starts_with("HS")
    {
        return Err(Refusal::AlgRefused(header.alg));
    }
    let Some(alg) = Alg::parse(&header.alg).filter(|a| expected.algorithms.contains(a)) else {
        return Err(Refusal::AlgRefused(header.alg));
    };
    let Some(kid) = header.kid.as_deref() else {
        return Err(Refusal::UnknownKid);
    };
    let signature = b64(s)?;
    let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
    let key = jwks
        .keys
        .iter()
        .find(|k| k.kid.as_deref() == Some(kid) && key_fits(k, alg))
        .ok_or(Refusal::UnknownKid)?;
    verify_signature(key, alg, signed, &signature)?;
    let claims: RawClaims = serde_json::from_slice(&b64(p)?)
        .map_err(|_| Refusal::Malformed("the payload is not a JSON claims set"))?;
    check_claims(claims, expected, now_s)
}

fn key_fits(key: &Jwk, alg: Alg) -> bool {
    let kty_ok = match alg {
        Alg::Rs256 => key.kty == "RSA",
        Alg::Es256 => key.kty == "EC" && key.crv.as_deref() == Some("P-256"),
    };
    kty_ok
        && key.alg.as_deref().is_none_or(|a| a == alg.name())
        && key.use_.as_deref().is_none_or(|u| u == "sig")
}

fn verify_signature(key: &Jwk, alg: Alg, signed: &[u8], signature: &[u8]) -> Result<(), Refusal> {
    use ring::signature;
    let field = |v: &Option<String>| -> Result<Vec<u8>, Refusal> {
        let v = v.as_deref().ok_or(Refusal::UnknownKid)?;
        URL_SAFE_NO_PAD.decode(v).map_err(|_| Refusal::UnknownKid)
    };
    match alg {
        Alg::Rs256 => {
            let components = signature::RsaPublicKeyComponents {
                n: field(&key.n)?,
                e: field(&key.e)?,
            };
            components
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed, signature)
                .map_err(|_| Refusal::BadSignature)
        }
        Alg::Es256 => {
            let (x, y) = (field(&key.x)?, field(&key.y)?);
            if x.len() != 32 || y.len() != 32 {
                return Err(Refusal::UnknownKid);
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(signed, signature)
                .map_err(|_| Refusal::BadSignature)
        }
    }
}

fn check_claims(c: RawClaims, e: &Expected<'_>, now_s: i64) -> Result<IdClaims, Refusal> {
    if c.iss.as_deref() != Some(e.issuer) {
        return Err(Refusal::WrongIssuer);
    }
    let audiences = match c.aud {
        Some(Audience::One(a)) => vec![a],
        Some(Audience::Many(a)) => a,
        None => Vec::new(),
    };
    if !audiences.iter().any(|a| a == e.client_id) {
        return Err(Refusal::WrongAudience);
    }
    if let Some(azp) = c.azp.as_deref()
        && azp != e.client_id
    {
        return Err(Refusal::WrongAudience);
    }
    if audiences.len() > 1 && c.azp.is_none() {
        return Err(Refusal::WrongAudience);
    }
    let exp = c.exp.ok_or(Refusal::Malformed("no exp"))?;
    if exp.saturating_add(SKEW_S) <= now_s {
        return Err(Refusal::Expired);
    }
    let iat = c.iat.ok_or(Refusal::Malformed("no iat"))?;
    if iat > now_s.saturating_add(SKEW_S) || iat < now_s.saturating_sub(MAX_TOKEN_AGE_S) {
        return Err(Refusal::IatSkew);
    }
    if c.nbf.is_some_and(|nbf| nbf > now_s.saturating_add(SKEW_S)) {
        return Err(Refusal::IatSkew);
    }
    if c.nonce.as_deref() != Some(e.nonce) {
        return Err(Refusal::NonceMismatch);
    }
    let sub = c
        .sub
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or(Refusal::Malformed("no sub"))?;
    Ok(IdClaims { sub, amr: c.amr })
}

/// A DER certificate as PEM (for `ca_file`, and tests that make their own CA).
pub fn certificate_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// A random base64url string of 32 bytes.
fn random_b64() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The parts of an `https://` URL a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HttpsUrl {
    host: String,
    port: u16,
    path: String,
}

impl HttpsUrl {
    fn parse(url: &str) -> Result<HttpsUrl, String> {
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| format!("{url}: not an https:// URL"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("{url}: no host, or user info in the URL"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| format!("{url}: bad port"))?)
            }
            _ => (authority, 443),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(HttpsUrl {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

/// A minimal HTTPS client for the provider's three endpoints.
struct Https {
    connector: tokio_rustls::TlsConnector,
}

impl Https {
    fn new(ca_pem: Option<&[u8]>) -> Result<Https, String> {
        let pem = match ca_pem {
            Some(pem) => pem.to_vec(),
            None => std::fs::read(SYSTEM_CA_BUNDLE)
                .map_err(|e| format!("read {SYSTEM_CA_BUNDLE}: {e}"))?,
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("CA certificates: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA certificate: {e}"))?;
        }
        if roots.is_empty() {
            return Err("no CA certificate to trust for the identity provider".into());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Https {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// One request on a fresh connection; the status and the (bounded) body.
    async fn call(
        &self,
        url: &str,
        headers: &[(header::HeaderName, String)],
        body: Option<String>,
    ) -> Result<(u16, Bytes), String> {
        let target = HttpsUrl::parse(url)?;
        let work = async {
            let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(|e| format!("connect {}: {e}", target.host))?;
            let name = ServerName::try_from(target.host.clone())
                .map_err(|e| format!("server name {}: {e}", target.host))?;
            let tls = self
                .connector
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {}: {e}", target.host))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let authority = if target.port == 443 {
                target.host.clone()
            } else {
                format!("{}:{}", target.host, target.port)
            };
            let mut request = hyper::Request::builder()
                .method(if body.is_some() { "POST" } else { "GET" })
                .uri(&target.path)
                .header(header::HOST, authority)
                .header(header::ACCEPT, "application/json");
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let request = request
                .body(Full::new(Bytes::from(body.unwrap_or_default())))
                .map_err(|e| e.to_string())?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_DOCUMENT)
                .collect()
                .await
                .map_err(|e| format!("response body: {e}"))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(CALL_TIMEOUT, work)
            .await
            .map_err(|_| format!("{url}: no answer in {CALL_TIMEOUT:?}"))?
    }

    async fn json<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Result<T, String> {
        let (status, body) = self.call(url, &[], None).await?;
        if status != 200 {
            return Err(format!("{url}: HTTP {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
    }
}

/// The discovery document's fields this node uses.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

struct Metadata {
    discovery: Discovery,
    jwks: Jwks,
    fetched_at: i64,
}

/// A started flow, waiting for the provider's answer.
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    expires_at: i64,
}

/// A node's OpenID Connect client: its settings, the provider's cached metadata and the
/// started flows.
pub struct Oidc {
    settings: Settings,
    https: Https,
    metadata: tokio::sync::Mutex<Option<Metadata>>,
    flows: Mutex<HashMap<[u8; 32], Flow>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// A client for `settings`; fails if the CA certificates cannot be read, an algorithm
    /// list is empty, or a URL is not `https://`.
    pub fn new(settings: Settings) -> Result<Oidc, String> {
        if settings.algorithms.is_empty() {
            return Err("[oidc] algorithms: at least one of RS256, ES256".into());
        }
        HttpsUrl::parse(&settings.issuer).map_err(|e| format!("[oidc] issuer: {e}"))?;
        if !settings.redirect_url.starts_with("https://")
            && !settings.redirect_url.starts_with("http://127.0.0.1")
            && !settings.redirect_url.starts_with("http://localhost")
        {
            return Err("[oidc] redirect_url: must be https:// (or loopback http)".into());
        }
        let https = Https::new(settings.ca_pem.as_deref())?;
        Ok(Oidc {
            settings,
            https,
            metadata: tokio::sync::Mutex::new(None),
            flows: Mutex::new(HashMap::new()),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    async fn fetch_metadata(&self) -> Result<Metadata, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let discovery: Discovery = self.https.json(&url).await?;
        // OpenID Connect Discovery §4.3: the document must name the issuer it was asked for.
        if discovery.issuer != self.settings.issuer {
            return Err(format!(
                "discovery names issuer {}, not {}",
                discovery.issuer, self.settings.issuer
            ));
        }
        let jwks: Jwks = self.https.json(&discovery.jwks_uri).await?;
        Ok(Metadata {
            discovery,
            jwks,
            fetched_at: now_ms(),
        })
    }

    /// The provider's endpoints and keys, fetched when missing, stale, or `refresh`.
    async fn metadata(&self, refresh: bool) -> Result<(Discovery, Jwks), Refusal> {
        let mut cached = self.metadata.lock().await;
        let stale = cached
            .as_ref()
            .is_none_or(|m| refresh || now_ms() - m.fetched_at > METADATA_TTL_MS);
        if stale {
            *cached = Some(
                self.fetch_metadata()
                    .await
                    .map_err(Refusal::ProviderUnavailable)?,
            );
        }
        let m = cached
            .as_ref()
            .ok_or(Refusal::ProviderUnavailable("no metadata".into()))?;
        Ok((m.discovery.clone(), m.jwks.clone()))
    }

    /// Starts a flow: the browser secret (for the cookie) and the authorization URL.
    async fn start(&self) -> Result<(String, String), Refusal> {
        let (discovery, _) = self.metadata(false).await?;
        let fresh = || random_b64().map_err(|_| Refusal::ProviderUnavailable("rng".into()));
        let (secret, state, nonce, verifier) = (fresh()?, fresh()?, fresh()?, fresh()?);
        let now = now_ms();
        let query = form(&[
            ("response_type", "code"),
            ("client_id", &self.settings.client_id),
            ("redirect_uri", &self.settings.redirect_url),
            ("scope", "openid"),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &pkce_challenge(&verifier)),
            ("code_challenge_method", "S256"),
        ]);
        let separator = if discovery.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{separator}{query}", discovery.authorization_endpoint);
        if let Ok(mut flows) = self.flows.lock() {
            flows.retain(|_, f| f.expires_at > now);
            while flows.len() >= MAX_FLOWS {
                let oldest = flows
                    .iter()
                    .min_by_key(|(_, f)| f.expires_at)
                    .map(|(k, _)| *k);
                match oldest {
                    Some(k) => flows.remove(&k),
                    None => break,
                };
            }
            flows.insert(
                token_digest(&secret),
                Flow {
                    state,
                    nonce,
                    verifier,
                    expires_at: now + FLOW_TTL_MS,
                },
            );
        }
        Ok((secret, url))
    }

    /// Takes the flow of a browser secret out (single use), if it has not expired.
    fn take_flow(&self, secret: Option<&str>) -> Option<Flow> {
        let secret = secret?;
        let mut flows = self.flows.lock().ok()?;
        flows
            .remove(&token_digest(secret))
            .filter(|f| f.expires_at > now_ms())
    }

    /// Exchanges the code and verifies the ID token against the flow.
    async fn finish(&self, flow: &Flow, code: &str) -> Result<IdClaims, Refusal> {
        let (discovery, jwks) = self.metadata(false).await?;
        let s = &self.settings;
        let basic = STANDARD.encode(format!(
            "{}:{}",
            percent_encode(&s.client_id),
            percent_encode(&s.client_secret)
        ));
        let body = form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &s.redirect_url),
            ("code_verifier", &flow.verifier),
            ("client_id", &s.client_id),
        ]);
        let headers = [
            (header::AUTHORIZATION, format!("Basic {basic}")),
            (
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded".to_owned(),
            ),
        ];
        let (status, answer) = self
            .https
            .call(&discovery.token_endpoint, &headers, Some(body))
            .await
            .map_err(Refusal::ProviderUnavailable)?;
        #[derive(Deserialize)]
        struct TokenResponse {
            id_token: Option<String>,
            error: Option<String>,
        }
        let parsed: Option<TokenResponse> = serde_json::from_slice(&answer).ok();
        let id_token = match (status, parsed) {
            (
                200,
                Some(TokenResponse {
                    id_token: Some(t), ..
                }),
            ) => t,
            (_, Some(TokenResponse { error: Some(e), .. })) => {
                return Err(Refusal::TokenExchange(format!("HTTP {status}: {e}")));
            }
            _ => return Err(Refusal::TokenExchange(format!("HTTP {status}"))),
        };
        let expected = Expected {
            issuer: &s.issuer,
            client_id: &s.client_id,
            nonce: &flow.nonce,
            algorithms: &s.algorithms,
        };
        let now_s = now_ms() / 1000;
        match verify_id_token(&id_token, &jwks, &expected, now_s) {
            // The provider may have rotated its keys since we fetched them.
            Err(Refusal::UnknownKid) => {
                let (_, fresh) = self.metadata(true).await?;
                verify_id_token(&id_token, &fresh, &expected, now_s)
            }
            other => other,
        }
    }
}

tokio::task_local! {
    static PROVIDER: Option<Arc<str>>;
}

/// The provider's name for the sign-in button, when the node offers OpenID Connect.
pub fn provider_label() -> Option<String> {
    PROVIDER
        .try_with(|p| p.as_deref().map(str::to_owned))
        .ok()
        .flatten()
}

/// Shared by the routes: the client, when configured.
#[derive(Clone)]
pub(crate) struct Handle(Option<Arc<Oidc>>);

/// Makes the provider's name known to the pages of the request (the sign-in button).
pub(crate) async fn announce(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let label = request
        .extensions()
        .get::<Handle>()
        .and_then(|h| h.0.as_ref())
        .map(|o| Arc::<str>::from(o.settings.provider_name.as_str()));
    PROVIDER.scope(label, next.run(request)).await
}

/// The routes of this module with the client they use (`None`: the node does not offer
/// OpenID Connect, and both routes answer `oidc_not_configured`).
pub fn routes(state: &AppState, oidc: Option<Arc<Oidc>>) -> Router {
    Router::new()
        .route("/ui/oidc/start", get(start))
        .route("/ui/oidc/callback", get(callback))
        .layer(extension(oidc))
        .with_state(state.clone())
}

/// The extension that tells [`announce`] and the routes which client the node has.
pub(crate) fn extension(oidc: Option<Arc<Oidc>>) -> Extension<Handle> {
    Extension(Handle(oidc))
}

#[derive(Template)]
#[template(path = "ui/signin.html")]
struct SigninPage<'a> {
    node_name: &'a str,
    error: Option<&'a str>,
}

fn refused_page(state: &AppState, status: StatusCode, code: &str) -> Response {
    let message = crate::i18n::t1("signin-oidc-refused", "code", code);
    let mut response = crate::ui::render(&SigninPage {
        node_name: &state.node_name,
        error: Some(&message),
    });
    *response.status_mut() = status;
    response
}

fn flow_cookie(value: &str, max_age_s: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; Path=/ui/oidc; HttpOnly; Secure; SameSite=Lax; Max-Age={max_age_s}"
    ))
    .ok()
}

async fn start(State(state): State<AppState>, Extension(handle): Extension<Handle>) -> Response {
    let Some(oidc) = handle.0 else {
        return refused_page(&state, StatusCode::NOT_FOUND, "oidc_not_configured");
    };
    match oidc.start().await {
        Ok((secret, url)) => {
            let mut response = Redirect::to(&url).into_response();
            if let Some(v) = flow_cookie(&secret, FLOW_TTL_MS / 1000) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(refusal) => {
            tracing::warn!(detail = %refusal.detail(), "OIDC provider unavailable");
            refused_page(&state, StatusCode::SERVICE_UNAVAILABLE, refusal.code())
        }
    }
}

/// The provider's answer.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// What a verified subject comes to.
enum Outcome {
    Session(String),
    Pending(String),
}

async fn callback(
    State(state): State<AppState>,
    Extension(handle): Extension<Handle>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(oidc) = handle.0 else {
        return refused_page(&state, StatusCode::NOT_FOUND, "oidc_not_configured");
    };
    let address = client_address(&extensions);
    let issuer = oidc.settings.issuer.clone();
    let flow = oidc.take_flow(cookie_value(&headers, FLOW_COOKIE));
    let verified = async {
        let flow = flow.ok_or(Refusal::FlowExpired)?;
        let state_ok = query
            .state
            .as_deref()
            .is_some_and(|s| constant_eq(s.as_bytes(), flow.state.as_bytes()));
        if !state_ok {
            return Err(Refusal::StateMismatch);
        }
        if let Some(error) = query.error.as_deref() {
            return Err(Refusal::ProviderError(error.to_owned()));
        }
        let code = query
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(Refusal::CodeMissing)?;
        oidc.finish(&flow, code).await
    }
    .await;
    let store = state.store.clone();
    let brought = cookie_value(&headers, SESSION_COOKIE).map(token_digest);
    let now = now_ms();
    let outcome = blocking(move || {
        let claims = match verified {
            Ok(claims) => claims,
            Err(refusal) => {
                refuse(store.as_ref(), &refusal, "", &issuer, &address)?;
                return Ok(Err(refusal));
            }
        };
        sign_in(store.as_ref(), &issuer, &claims, &address, brought, now)
    })
    .await;
    let mut response = match outcome {
        Ok(Ok(Outcome::Session(secret))) => {
            // A same-site page moves on to /ui: a redirect straight from the provider's
            // cross-site navigation would not carry the SameSite=Strict session cookie.
            let mut r = continue_page("/ui");
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
                SESSION_TTL_MS / 1000
            )) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Ok(Ok(Outcome::Pending(secret))) => {
            let mut r = continue_page("/ui/signin/next");
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{SIGNIN_COOKIE}={secret}; Path=/ui/signin; HttpOnly; Secure; SameSite=Strict; \
                 Max-Age={}",
                SIGNIN_TTL_MS / 1000
            )) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Ok(Err(refusal)) => {
            let status = match refusal {
                Refusal::ProviderUnavailable(_) => StatusCode::BAD_GATEWAY,
                Refusal::UnlinkedSubject | Refusal::AccountDisabled => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            refused_page(&state, status, refusal.code())
        }
        Err(err) => err.into_response(),
    };
    if let Some(v) = flow_cookie("", 0) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// A page that sends the browser on to `to` (a fixed local path) from our own origin.
fn continue_page(to: &'static str) -> Response {
    let label: String = crate::i18n::t("signin-continue")
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '&' | '"'))
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={to}\"><title>Caravan</title></head>\
         <body><p><a href=\"{to}\">{label}</a></p></body></html>",
        lang = crate::i18n::current().code(),
    ))
    .into_response()
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn refuse(
    store: &dyn Store,
    refusal: &Refusal,
    subject: &str,
    issuer: &str,
    address: &str,
) -> Result<(), ApiError> {
    audit_row(
        store,
        "anonymous",
        "",
        "session.signin",
        subject,
        Some(refusal.code()),
        serde_json::json!({
            "address": address,
            "factor": "oidc",
            "issuer": issuer,
            "detail": refusal.detail(),
        }),
    )
}

/// Signs a verified subject in as its linked local account.
fn sign_in(
    store: &dyn Store,
    issuer: &str,
    claims: &IdClaims,
    address: &str,
    brought: Option<[u8; 32]>,
    now: i64,
) -> Result<Result<Outcome, Refusal>, ApiError> {
    let subject: String = claims.sub.chars().filter(|c| !c.is_control()).collect();
    let store_err =
        |e: caravan_store::StoreError| ApiError::new(ErrorCode::StoreUnavailable, e.to_string());
    let account = store
        .account_for_oidc(issuer, &claims.sub)
        .map_err(store_err)?;
    let account = match account {
        None => {
            refuse(store, &Refusal::UnlinkedSubject, &subject, issuer, address)?;
            return Ok(Err(Refusal::UnlinkedSubject));
        }
        Some(a) if a.disabled => {
            audit_row(
                store,
                &a.name,
                &a.role,
                "session.signin",
                &a.name,
                Some(Refusal::AccountDisabled.code()),
                serde_json::json!({ "address": address, "factor": "oidc", "issuer": issuer,
                    "subject": subject }),
            )?;
            return Ok(Err(Refusal::AccountDisabled));
        }
        Some(a) => a,
    };
    let credentials = store
        .credentials(&account.name)
        .map_err(store_err)?
        .unwrap_or_default();
    let wants_totp =
        credentials.totp_secret.is_some() || Role::parse(&account.role).is_some_and(totp_required);
    if wants_totp && !claims.multi_factor() {
        // The existing sign-in steps take over: a TOTP code, or enrolment.
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
            .map_err(store_err)?;
        audit_row(
            store,
            &account.name,
            &account.role,
            "session.signin.oidc",
            &account.name,
            None,
            serde_json::json!({ "address": address, "issuer": issuer, "subject": subject,
                "second_factor": "totp" }),
        )?;
        return Ok(Ok(Outcome::Pending(secret)));
    }
    if let Some(old) = brought {
        match store.revoke_api_token(&old, now) {
            Ok(()) | Err(caravan_store::StoreError::NotFound) => {}
            Err(err) => return Err(store_err(err)),
        }
    }
    let secret =
        new_token_secret().map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    store
        .add_api_token(&ApiToken {
            sha256: token_digest(&secret),
            account: account.name.clone(),
            label: SESSION_LABEL.into(),
            created_at: now,
            expires_at: Some(now + SESSION_TTL_MS),
            revoked_at: None,
        })
        .map_err(store_err)?;
    audit_row(
        store,
        &account.name,
        &account.role,
        "session.signin",
        &account.name,
        None,
        serde_json::json!({ "address": address, "factor": "oidc", "issuer": issuer,
            "subject": subject, "amr": claims.amr }),
    )?;
    Ok(Ok(Outcome::Session(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    const NOW: i64 = 1_900_000_100;

    fn enc(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    struct Key {
        pair: EcdsaKeyPair,
        kid: &'static str,
    }

    impl Key {
        fn new(kid: &'static str) -> Key {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap();
            Key { pair, kid }
        }

        fn jwk(&self) -> Jwk {
            let point = self.pair.public_key().as_ref();
            serde_json::from_value(serde_json::json!({
                "kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }))
            .unwrap()
        }

        fn sign(&self, header: serde_json::Value, claims: serde_json::Value) -> String {
            let input = format!("{}.{}", enc(&header), enc(&claims));
            let sig = self
                .pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        }
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({
            "iss": "https://idp.example.gov", "sub": "officer-4711", "aud": "caravan-uz",
            "exp": NOW + 300, "iat": NOW - 10, "nonce": "n-1", "amr": ["pwd", "mfa"],
        })
    }

    fn header(kid: &str) -> serde_json::Value {
        serde_json::json!({ "alg": "ES256", "kid": kid, "typ": "JWT" })
    }

    const BOTH: &[Alg] = &[Alg::Es256, Alg::Rs256];

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://idp.example.gov",
            client_id: "caravan-uz",
            nonce: "n-1",
            algorithms: BOTH,
        }
    }

    fn check(key: &Key, token: &str) -> Result<IdClaims, Refusal> {
        let jwks = Jwks {
            keys: vec![key.jwk()],
        };
        verify_id_token(token, &jwks, &expected(), NOW)
    }

    fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
        let mut c = claims();
        c[field] = value;
        c
    }

    #[test]
    fn a_good_es256_token_verifies_and_reports_mfa() {
        let key = Key::new("k1");
        let got = check(&key, &key.sign(header("k1"), claims())).unwrap();
        assert_eq!(got.sub, "officer-4711");
        assert!(got.multi_factor());
        let no_mfa = check(
            &key,
            &key.sign(header("k1"), with("amr", serde_json::json!(["pwd"]))),
        );
        assert!(!no_mfa.unwrap().multi_factor());
    }

    #[test]
    fn each_claim_failure_has_its_own_refusal() {
        let key = Key::new("k1");
        let cases = [
            (
                with("iss", "https://evil.example".into()),
                Refusal::WrongIssuer,
            ),
            (with("aud", "someone-else".into()), Refusal::WrongAudience),
            (
                with("aud", serde_json::json!(["caravan-uz", "other"])),
                Refusal::WrongAudience,
            ),
            (with("exp", (NOW - SKEW_S - 1).into()), Refusal::Expired),
            (with("iat", (NOW + SKEW_S + 5).into()), Refusal::IatSkew),
            (
                with("iat", (NOW - MAX_TOKEN_AGE_S - 5).into()),
                Refusal::IatSkew,
            ),
            (with("nbf", (NOW + SKEW_S + 5).into()), Refusal::IatSkew),
            (with("nonce", "n-2".into()), Refusal::NonceMismatch),
            (
                with("nonce", serde_json::Value::Null),
                Refusal::NonceMismatch,
            ),
        ];
        for (c, refusal) in cases {
            assert_eq!(
                check(&key, &key.sign(header("k1"), c.clone())),
                Err(refusal),
                "{c}"
            );
        }
        // Several audiences are accepted with azp naming this client.
        let mut c = with("aud", serde_json::json!(["caravan-uz", "other"]));
        c["azp"] = "caravan-uz".into();
        assert!(check(&key, &key.sign(header("k1"), c)).is_ok());
    }

    #[test]
    fn signature_kid_and_algorithm_are_enforced() {
        let key = Key::new("k1");
        let other = Key::new("k1");
        // Signed by another key under the same kid.
        assert_eq!(
            check(&key, &other.sign(header("k1"), claims())),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            check(&key, &key.sign(header("k9"), claims())),
            Err(Refusal::UnknownKid)
        );
        assert_eq!(
            check(
                &key,
                &key.sign(serde_json::json!({ "alg": "ES256" }), claims())
            ),
            Err(Refusal::UnknownKid)
        );
        // A payload edited after signing.
        let token = key.sign(header("k1"), claims());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            enc(&with("sub", "admin".into())),
            parts[2]
        );
        assert_eq!(check(&key, &forged), Err(Refusal::BadSignature));
        for alg in ["none", "HS256", "hs512", "PS256"] {
            let h = serde_json::json!({ "alg": alg, "kid": "k1" });
            let unsigned = format!("{}.{}.", enc(&h), enc(&claims()));
            assert!(
                matches!(check(&key, &unsigned), Err(Refusal::AlgRefused(_))),
                "{alg}"
            );
        }
        // ES256 refused when only RS256 is allowed.
        let jwks = Jwks {
            keys: vec![key.jwk()],
        };
        let only_rs = Expected {
            algorithms: &[Alg::Rs256],
            ..expected()
        };
        assert!(matches!(
            verify_id_token(&key.sign(header("k1"), claims()), &jwks, &only_rs, NOW),
            Err(Refusal::AlgRefused(_))
        ));
        assert!(matches!(check(&key, "abc.def"), Err(Refusal::Malformed(_))));
    }

    #[test]
    fn the_fixed_rs256_vector_verifies_and_a_flipped_bit_does_not() {
        let token = include_str!("../tests/data/oidc/rs256_token.txt").trim();
        let jwks: Jwks =
            serde_json::from_str(include_str!("../tests/data/oidc/rs256_jwks.json")).unwrap();
        let expected = Expected {
            issuer: "https://idp.example.gov",
            client_id: "caravan-uz",
            nonce: "n-0S6_WzA2Mj",
            algorithms: &[Alg::Rs256],
        };
        let got = verify_id_token(token, &jwks, &expected, 1_900_000_100).unwrap();
        assert_eq!(got.sub, "officer-4711");
        assert!(!got.multi_factor());
        let mut bytes = token.as_bytes().to_vec();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(bytes).unwrap();
        assert_eq!(
            verify_id_token(&flipped, &jwks, &expected, 1_900_000_100),
            Err(Refusal::BadSignature)
        );
        // The RSA key does not serve ES256 even with its kid.
        let es = Expected {
            algorithms: &[Alg::Es256],
            ..expected.clone()
        };
        assert!(matches!(
            verify_id_token(token, &jwks, &es, 1_900_000_100),
            Err(Refusal::AlgRefused(_))
        ));
    }

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn urls_and_forms() {
        assert_eq!(
            HttpsUrl::parse("https://127.0.0.1:8443/token?x=1").unwrap(),
            HttpsUrl {
                host: "127.0.0.1".into(),
                port: 8443,
                path: "/token?x=1".into()
            }
        );
        assert_eq!(HttpsUrl::parse("https://idp.example").unwrap().port, 443);
        assert!(HttpsUrl::parse("http://idp.example/").is_err());
        assert!(HttpsUrl::parse("https://user@idp.example/").is_err());
        assert_eq!(form(&[("a b", "x/y&z")]), "a%20b=x%2Fy%26z");
    }
}
