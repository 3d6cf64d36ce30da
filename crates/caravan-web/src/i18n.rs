//! The pages' languages: English, Uzbek (Latin script) and Russian (issue 9).
//!
//! Why catalogues and a task-local: every word an officer reads on a page comes from one
//! message catalogue per language (`i18n/en.ftl`, `uz.ftl`, `ru.ftl`), compiled into the
//! binary, so a translator edits one file and the tests (`tests` below and
//! `tests/it/i18n.rs`) prove that every language has every message with the same
//! placeholders and that no template holds a hard-coded sentence. Templates ask for a message
//! by key, `{{ crate::i18n::t("nav-home") }}`, exactly as they ask for the CSRF field: the
//! middleware [`negotiate`] puts the request's language in a task-local, so no handler
//! passes it along and no template can forget it.
//!
//! Which language: the account's choice (stored on the account, migration 0014, read by the
//! [`crate::auth::Principal`] extractor, which calls [`set_current`]); before sign-in the
//! browser's `caravan_lang` cookie (set by the switcher), then its `Accept-Language`, then
//! English.
//!
//! The catalogue format is a documented subset of Project Fluent's syntax
//! (<https://projectfluent.org/fluent/guide/>), so the files open in any Fluent tool:
//! - `# comment` lines (also `##` and `###`) and blank lines;
//! - `key = text` where a key is `[a-z][a-z0-9_-]*`;
//! - continuation lines, indented, joined to the message with a line break (Fluent's
//!   multiline text; HTML renders it as a space);
//! - placeables `{ $name }` only (a variable; no terms, selectors, functions or attributes);
//!   any other `{` or `}` is an error.
//!
//! Messages are plain text: askama escapes them like any other value, so a translation
//! cannot inject markup.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::{Display, Write};
use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use crate::ApiError;
use crate::auth::{AuthRejection, Principal, cookie_value};

/// The cookie that keeps a browser's choice before sign-in.
pub const LANG_COOKIE: &str = "caravan_lang";

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// Uzbek in the Latin script.
    Uz,
    /// Russian.
    Ru,
}

impl Lang {
    /// Every language, in the switcher's order.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Uz, Lang::Ru];

    /// The code stored on the account and sent by the switcher.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Uz => "uz",
            Lang::Ru => "ru",
        }
    }

    /// The BCP 47 tag for `<html lang>` (Uzbek names its script: it is also written in
    /// Cyrillic).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Uz => "uz-Latn",
            Lang::Ru => "ru",
        }
    }

    /// The language's name in itself, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Uz => "Oʻzbekcha",
            Lang::Ru => "Русский",
        }
    }

    /// The language of a code (`en`, `uz`, `ru`, or a BCP 47 tag such as `uz-Latn-UZ` or
    /// `ru-RU`), if it is one of the pages' languages. Uzbek in Cyrillic (`uz-Cyrl`) is not.
    pub fn parse(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        let mut subtags = code.split(['-', '_']);
        match subtags.next()? {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            "uz" if !subtags.any(|s| s == "cyrl") => Some(Lang::Uz),
            _ => None,
        }
    }

    fn catalogue(self) -> &'static Catalogue {
        &CATALOGUES[self as usize]
    }
}

/// The catalogue sources, in [`Lang::ALL`] order.
pub const SOURCES: [(Lang, &str); 3] = [
    (Lang::En, include_str!("../i18n/en.ftl")),
    (Lang::Uz, include_str!("../i18n/uz.ftl")),
    (Lang::Ru, include_str!("../i18n/ru.ftl")),
];

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text shown as it is.
    Text(String),
    /// A `{ $name }` placeable.
    Var(String),
}

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The whole text as written (placeables included), for messages without any.
    pub raw: String,
    /// Text and placeables in order.
    pub segments: Vec<Segment>,
}

impl Message {
    /// The names of its placeables, sorted and without repeats.
    pub fn variables(&self) -> Vec<&str> {
        let mut vars: Vec<&str> = self
            .segments
            .iter()
            .filter_map(|s| match s {
                Segment::Var(v) => Some(v.as_str()),
                Segment::Text(_) => None,
            })
            .collect();
        vars.sort_unstable();
        vars.dedup();
        vars
    }
}

/// A parsed catalogue: key → message.
pub type Catalogue = BTreeMap<String, Message>;

/// Why a catalogue does not parse: the 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

/// A key or variable name: `[a-z][a-z0-9_-]*` (Fluent identifiers, lower case).
fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Parses a catalogue in the subset of Fluent described in the module documentation.
pub fn parse(source: &str) -> Result<Catalogue, ParseError> {
    let mut out = Catalogue::new();
    // The message being read: key, text so far, line it started on.
    let mut open: Option<(String, String, usize)> = None;
    let close = |open: &mut Option<(String, String, usize)>,
                 out: &mut Catalogue|
     -> Result<(), ParseError> {
        if let Some((key, text, line)) = open.take() {
            let segments = segments(&text).map_err(|what| ParseError { line, what })?;
            if out.contains_key(&key) {
                return Err(ParseError {
                    line,
                    what: format!("`{key}` is defined twice"),
                });
            }
            out.insert(
                key,
                Message {
                    raw: text,
                    segments,
                },
            );
        }
        Ok(())
    };
    for (idx, line) in source.lines().enumerate() {
        let number = idx + 1;
        let err = |what: String| ParseError { line: number, what };
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with(' ') {
            match open.as_mut() {
                Some((_, text, _)) => {
                    text.push('\n');
                    text.push_str(line.trim());
                    continue;
                }
                None => return Err(err("an indented line belongs to no message".into())),
            }
        }
        close(&mut open, &mut out)?;
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with('\t') {
            return Err(err("indent with spaces, not tabs".into()));
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(err("expected `key = text`".into()));
        };
        let key = key.trim_end();
        if !is_key(key) {
            return Err(err(format!("`{key}` is not a key ([a-z][a-z0-9_-]*)")));
        }
        let value = value.trim();
        if value.is_empty() {
            return Err(err(format!("`{key}` has no text")));
        }
        open = Some((key.to_owned(), value.to_owned(), number));
    }
    close(&mut open, &mut out)?;
    Ok(out)
}

/// Splits a message's text into text and `{ $name }` placeables.
fn segments(text: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(['{', '}']) {
        if rest[start..].starts_with('}') {
            return Err("a `}` without its `{`".into());
        }
        if start > 0 {
            out.push(Segment::Text(rest[..start].to_owned()));
        }
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            return Err("a `{` without its `}`".into());
        };
        let inner = after[..end].trim();
        let Some(name) = inner.strip_prefix('$') else {
            return Err(format!(
                "`{{ {inner} }}`: only variables (`{{ $name }}`) are supported"
            ));
        };
        if !is_key(name) {
            return Err(format!("`${name}` is not a variable name"));
        }
        out.push(Segment::Var(name.to_owned()));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest.to_owned()));
    }
    Ok(out)
}

/// The parsed catalogues, in [`Lang::ALL`] order. A catalogue that does not parse (the
/// tests make that impossible for a built binary) is empty, so its pages fall back to
/// English, and English to the keys themselves.
static CATALOGUES: LazyLock<[Catalogue; 3]> = LazyLock::new(|| {
    SOURCES.map(|(lang, source)| {
        parse(source).unwrap_or_else(|err| {
            tracing::error!(language = lang.code(), %err, "message catalogue does not parse");
            Catalogue::new()
        })
    })
});

/// The message `key` in `lang` (English if that language lacks it).
fn message(lang: Lang, key: &str) -> Option<&'static Message> {
    lang.catalogue()
        .get(key)
        .or_else(|| Lang::En.catalogue().get(key))
}

/// Message `key` in `lang` with its placeables filled from `args` (a missing argument
/// leaves `{ $name }` visible, which the tests would catch).
pub fn format(lang: Lang, key: &str, args: &[(&str, &dyn Display)]) -> String {
    let Some(message) = message(lang, key) else {
        tracing::warn!(key, "no such message in the catalogues");
        return key.to_owned();
    };
    let mut out = String::with_capacity(message.raw.len() + 16);
    for segment in &message.segments {
        match segment {
            Segment::Text(text) => out.push_str(text),
            Segment::Var(name) => match args.iter().find(|(n, _)| n == name) {
                Some((_, value)) => {
                    let _ = write!(out, "{value}");
                }
                None => {
                    let _ = write!(out, "{{ ${name} }}");
                }
            },
        }
    }
    out
}

/// Message `key` (without placeables) in `lang`.
pub fn text(lang: Lang, key: &str) -> &'static str {
    match message(lang, key) {
        Some(message) => message.raw.as_str(),
        None => {
            tracing::warn!(key, "no such message in the catalogues");
            "?"
        }
    }
}

struct RequestContext {
    lang: Cell<Lang>,
    path: String,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// The language of the request being served (English outside a request).
pub fn current() -> Lang {
    CONTEXT.try_with(|c| c.lang.get()).unwrap_or(Lang::En)
}

/// Sets the language of the request being served (the account's choice, once known).
pub fn set_current(lang: Lang) {
    let _ = CONTEXT.try_with(|c| c.lang.set(lang));
}

/// Runs `work` as a request in `lang` (for tests and background rendering).
pub async fn scope<F: std::future::Future>(lang: Lang, work: F) -> F::Output {
    CONTEXT
        .scope(
            RequestContext {
                lang: Cell::new(lang),
                path: String::from("/ui"),
            },
            work,
        )
        .await
}

/// For templates: message `key` in the request's language.
pub fn t(key: &str) -> &'static str {
    text(current(), key)
}

/// For templates: message `key` with one placeable.
pub fn t1(key: &str, name: &str, value: impl Display) -> String {
    format(current(), key, &[(name, &value)])
}

/// For templates: message `key` with two placeables.
pub fn t2(key: &str, n1: &str, v1: impl Display, n2: &str, v2: impl Display) -> String {
    format(current(), key, &[(n1, &v1), (n2, &v2)])
}

/// For templates: message `key` with three placeables.
pub fn t3(
    key: &str,
    n1: &str,
    v1: impl Display,
    n2: &str,
    v2: impl Display,
    n3: &str,
    v3: impl Display,
) -> String {
    format(current(), key, &[(n1, &v1), (n2, &v2), (n3, &v3)])
}

/// A role's name in the request's language (`role-<code>` in the catalogue).
pub fn role_name(role: caravan_assistance::roles::Role) -> &'static str {
    t(&format!("role-{}", role.code()))
}

/// For templates: the name of a role given by its code (the code itself if it is not one).
pub fn role_label(code: &str) -> &str {
    match caravan_assistance::roles::Role::parse(code) {
        Some(role) => role_name(role),
        None => code,
    }
}

/// For templates: the `lang` attribute of `<html>`.
pub fn html_lang() -> &'static str {
    current().tag()
}

/// For templates: the languages of the switcher, with whether each is the current one.
pub fn choices() -> Vec<(&'static str, &'static str, &'static str, bool)> {
    let now = current();
    Lang::ALL
        .iter()
        .map(|l| (l.code(), l.tag(), l.native_name(), *l == now))
        .collect()
}

/// For templates: where the switcher sends the browser back to (the page's own path).
pub fn here() -> String {
    CONTEXT
        .try_with(|c| c.path.clone())
        .unwrap_or_else(|_| "/ui".to_owned())
}

/// A page path the switcher may return to: our own `/ui` pages only, never another site.
pub fn safe_return(path: &str) -> &str {
    let ours = (path == "/ui" || path.starts_with("/ui/") || path.starts_with("/ui?"))
        && !path.contains("//")
        && !path.contains('\\')
        && path.chars().all(|c| c.is_ascii_graphic());
    if ours { path } else { "/ui" }
}

/// The best of our languages for an `Accept-Language` header (RFC 9110 §12.5.4): the
/// highest `q` wins, the first listed on a tie; `q=0` means "not this one".
pub fn from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(u32, Lang)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let mut q = 1000u32;
        for param in parts {
            if let Some(v) = param.trim().strip_prefix("q=") {
                q = v
                    .trim()
                    .parse::<f32>()
                    .map(|f| (f.clamp(0.0, 1.0) * 1000.0) as u32)
                    .unwrap_or(0);
            }
        }
        let Some(lang) = Lang::parse(tag) else {
            continue;
        };
        if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

/// The language of a request before its account is known.
pub fn from_headers(headers: &HeaderMap) -> Lang {
    cookie_value(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(from_accept_language)
        })
        .unwrap_or(Lang::En)
}

/// The middleware: the request's language and path for templates.
pub async fn negotiate(request: Request, next: Next) -> Response {
    let lang = from_headers(request.headers());
    let page = request.uri().path() == "/ui" || request.uri().path().starts_with("/ui/");
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/ui".to_owned());
    let mut response = CONTEXT
        .scope(
            RequestContext {
                lang: Cell::new(lang),
                path,
            },
            next.run(request),
        )
        .await;
    if page {
        // A page depends on the account's language, the cookie and Accept-Language.
        response.headers_mut().append(
            header::VARY,
            HeaderValue::from_static("Accept-Language, Cookie"),
        );
    }
    response
}

/// The routes of this module: the language switcher.
pub fn routes(_state: &crate::AppState) -> Router {
    Router::new().route("/ui/language", post(switch))
}

#[derive(Deserialize)]
struct SwitchForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    back: String,
}

/// `POST /ui/language` (CSRF-checked like every form under `/ui`): a signed-in officer's
/// choice is stored on the account and audited (`account.language.set`); every browser
/// also keeps it in the `caravan_lang` cookie, so the sign-in page speaks it too. Then back
/// to the page the switcher was on.
async fn switch(
    principal: Result<Principal, AuthRejection>,
    Form(form): Form<SwitchForm>,
) -> Response {
    let Some(lang) = Lang::parse(&form.lang).filter(|l| l.code() == form.lang.trim()) else {
        return ApiError::custom(
            StatusCode::BAD_REQUEST,
            "language_unknown",
            "the language must be one of en, uz, ru",
        )
        .into_response();
    };
    match principal {
        Ok(principal) => {
            let account = principal.actor().account.clone();
            if let Err(err) = principal
                .audit(
                    "account.language.set",
                    &account,
                    serde_json::json!({ "language": lang.code() }),
                )
                .await
            {
                return err.into_response();
            }
            let store = principal.store().clone();
            let stored = crate::ui::blocking(move || {
                store
                    .set_account_language(&account, Some(lang.code()))
                    .map_err(|e| ApiError::new(crate::ErrorCode::StoreUnavailable, e.to_string()))
            })
            .await;
            if let Err(err) = stored {
                return err.into_response();
            }
        }
        // Cross-origin with a session cookie, or the store down: refuse.
        Err(AuthRejection::Api(err)) => return err.into_response(),
        // Not signed in: the cookie alone.
        Err(AuthRejection::SignIn) => {}
    }
    let mut response = Redirect::to(safe_return(form.back.trim())).into_response();
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/ui; HttpOnly; Secure; SameSite=Strict; Max-Age=31536000",
        lang.code()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_catalogue_parses() {
        for (lang, source) in SOURCES {
            let catalogue = parse(source).unwrap_or_else(|e| panic!("{}: {e}", lang.code()));
            assert!(catalogue.len() > 50, "{} is nearly empty", lang.code());
        }
    }

    #[test]
    fn every_language_has_every_message_with_the_same_placeables() {
        let en = parse(SOURCES[0].1).unwrap();
        for (lang, source) in &SOURCES[1..] {
            let other = parse(source).unwrap();
            for (key, message) in &en {
                let Some(translated) = other.get(key) else {
                    panic!("{} lacks `{key}`", lang.code());
                };
                assert_eq!(
                    message.variables(),
                    translated.variables(),
                    "{}: `{key}` has other placeables than English",
                    lang.code()
                );
            }
            for key in other.keys() {
                assert!(
                    en.contains_key(key),
                    "{} has `{key}`, which English lacks",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn translations_use_their_own_script() {
        let en = parse(SOURCES[0].1).unwrap();
        let uz = parse(SOURCES[1].1).unwrap();
        let ru = parse(SOURCES[2].1).unwrap();
        // Uzbek Latin: no Cyrillic letters, and the proper modifier letters for oʻ, gʻ
        // and the tutuq belgisi rather than ASCII apostrophes or backticks.
        for (key, m) in &uz {
            assert!(
                !m.raw.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)),
                "uz `{key}` has Cyrillic letters"
            );
            let chars: Vec<char> = m.raw.chars().collect();
            for w in chars.windows(3) {
                assert!(
                    !(w[0].is_alphabetic() && "'`‘’".contains(w[1]) && w[2].is_alphabetic()),
                    "uz `{key}` writes oʻ, gʻ or the tutuq belgisi with {:?}",
                    w[1]
                );
            }
        }
        // Russian: every message that has letters has Cyrillic ones, unless it is the
        // same as English (a product name, a code).
        for (key, m) in &ru {
            let letters = m.segments.iter().any(|s| match s {
                Segment::Text(t) => t.chars().any(char::is_alphabetic),
                Segment::Var(_) => false,
            });
            let cyrillic = m.raw.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c));
            assert!(
                !letters || cyrillic || en.get(key).is_some_and(|e| e.raw == m.raw),
                "ru `{key}` has no Cyrillic"
            );
        }
        // Something really was translated: most messages differ from English.
        for other in [&uz, &ru] {
            let same = en
                .iter()
                .filter(|(k, m)| other.get(*k).is_some_and(|o| o.raw == m.raw))
                .count();
            assert!(same * 10 < en.len(), "{same} of {} untranslated", en.len());
        }
    }

    #[test]
    fn the_subset_is_enforced() {
        let ok = parse("# c\n\nhello = Hello, { $name }!\n  second line\nbye = Bye\n").unwrap();
        assert_eq!(ok["hello"].raw, "Hello, { $name }!\nsecond line");
        assert_eq!(ok["hello"].variables(), vec!["name"]);
        assert_eq!(ok["bye"].segments, vec![Segment::Text("Bye".into())]);
        for (bad, line) in [
            ("a = x\na = y\n", 2),
            ("Bad = x\n", 1),
            ("a =\n", 1),
            ("a = { -term }\n", 1),
            ("a = { $x\n", 1),
            ("a = x }\n", 1),
            ("  orphan\n", 1),
            ("just text\n", 1),
            ("a = x\n\tb\n", 2),
        ] {
            assert_eq!(parse(bad).map(|_| ()).unwrap_err().line, line, "{bad:?}");
        }
    }

    #[test]
    fn every_role_has_a_name() {
        let en = parse(SOURCES[0].1).unwrap();
        for role in caravan_assistance::roles::Role::ALL {
            assert!(
                en.contains_key(&format!("role-{}", role.code())),
                "{role:?}"
            );
        }
    }

    #[test]
    fn formatting_fills_placeables_and_falls_back() {
        let s = format(Lang::En, "signin-as", &[("account", &"a.karimov")]);
        assert!(s.contains("a.karimov") && !s.contains('$'), "{s}");
        assert_eq!(format(Lang::Ru, "no-such-key", &[]), "no-such-key");
    }

    #[test]
    fn accept_language_picks_the_best_of_ours() {
        assert_eq!(
            from_accept_language("ru-RU,ru;q=0.9,en;q=0.8"),
            Some(Lang::Ru)
        );
        assert_eq!(
            from_accept_language("de, uz;q=0.5, en;q=0.4"),
            Some(Lang::Uz)
        );
        assert_eq!(from_accept_language("uz-Cyrl, ru;q=0.2"), Some(Lang::Ru));
        assert_eq!(from_accept_language("en;q=0, ru;q=0.1"), Some(Lang::Ru));
        assert_eq!(from_accept_language("fr, de"), None);
        assert_eq!(from_accept_language(""), None);
        assert_eq!(from_accept_language("*"), None);
    }

    #[test]
    fn the_switcher_returns_to_our_pages_only() {
        assert_eq!(safe_return("/ui/desk/inbox?x=1"), "/ui/desk/inbox?x=1");
        assert_eq!(safe_return("/ui"), "/ui");
        for bad in [
            "//evil.example/ui",
            "https://evil.example",
            "/ui//evil",
            "/uix",
            "/ui\\x",
            "/api/v1/me",
            "/ui/a b",
        ] {
            assert_eq!(safe_return(bad), "/ui", "{bad}");
        }
    }

    #[tokio::test]
    async fn templates_see_their_request_language() {
        assert_eq!(current(), Lang::En);
        let inside = scope(Lang::Uz, async {
            set_current(Lang::Ru);
            (current(), html_lang())
        })
        .await;
        assert_eq!(inside, (Lang::Ru, "ru"));
        assert_eq!(current(), Lang::En);
    }

    /// Every template file under `templates/`, with its path.
    fn templates() -> Vec<(String, String)> {
        fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "html") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    out.push((path.display().to_string(), text));
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
            &mut out,
        );
        assert!(out.len() >= 15, "templates found: {}", out.len());
        out
    }

    /// The literal keys of `t("…")`, `t1("…"`, `t2("…"`, `t3("…"` calls in `text`.
    fn keys_used(text: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for call in ["i18n::t(\"", "i18n::t1(\"", "i18n::t2(\"", "i18n::t3(\""] {
            let mut rest = text;
            while let Some(at) = rest.find(call) {
                rest = &rest[at + call.len()..];
                let end = rest.find('"').unwrap();
                keys.push(rest[..end].to_owned());
            }
        }
        keys
    }

    /// `text` with askama's `{# #}`, `{% %}` and `{{ }}` blocks blanked out.
    fn without_askama(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        loop {
            let next = ["{#", "{%", "{{"]
                .iter()
                .filter_map(|open| rest.find(open).map(|i| (i, *open)))
                .min();
            let Some((at, open)) = next else {
                out.push_str(rest);
                return out;
            };
            out.push_str(&rest[..at]);
            out.push(' ');
            let close = match open {
                "{#" => "#}",
                "{%" => "%}",
                _ => "}}",
            };
            let end = rest[at..].find(close).expect("an askama block is closed") + at;
            rest = &rest[end + close.len()..];
        }
    }

    /// Words a template may hold as they are: codes, formats and names that are the same
    /// in every language.
    const NOT_LANGUAGE: &[&str] = &["p(fraud)", "tlog-proof", "TOTP", "US-UZ"];

    /// Whether a piece of page text is language: it has letters once codes are removed
    /// (the words above, paths such as `/api/v1/stats`, and upper-case codes with a digit
    /// or a colon such as `SHA-256`, `R01–R04`, `TLP:AMBER`).
    fn is_language(text: &str) -> bool {
        let mut text = text.to_owned();
        for word in NOT_LANGUAGE {
            text = text.replace(word, " ");
        }
        text.split_whitespace()
            .filter(|w| !w.starts_with('/'))
            .filter(|w| {
                w.chars().any(char::is_lowercase)
                    || !w.chars().any(|c| c.is_ascii_digit() || c == ':')
            })
            .any(|w| w.chars().any(char::is_alphabetic))
    }

    /// The hard-coded language of a template: text nodes and the attributes people read
    /// (`aria-label`, `title`, `placeholder`, `alt`), outside `<style>` and `<script>`.
    fn hard_coded(template: &str) -> Vec<String> {
        let text = without_askama(template);
        let mut found = Vec::new();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let Some(open) = rest.find('<') else {
                if is_language(rest) {
                    found.push(rest.trim().to_owned());
                }
                break;
            };
            if is_language(&rest[..open]) {
                found.push(rest[..open].trim().to_owned());
            }
            let close = rest[open..].find('>').expect("a tag is closed") + open;
            let tag = &rest[open + 1..close];
            for attr in ["aria-label=\"", "title=\"", "placeholder=\"", "alt=\""] {
                if let Some(at) = tag.find(attr) {
                    let value = &tag[at + attr.len()..];
                    let value = &value[..value.find('"').unwrap_or(value.len())];
                    if is_language(value) {
                        found.push(format!("{attr}{value}\""));
                    }
                }
            }
            rest = &rest[close + 1..];
            for raw in ["style", "script"] {
                if tag.starts_with(raw) {
                    let end = rest.find(&format!("</{raw}>")).expect("closed");
                    rest = &rest[end..];
                }
            }
        }
        found
    }

    #[test]
    fn templates_hold_no_hard_coded_language() {
        let mut problems = Vec::new();
        for (path, text) in templates() {
            for piece in hard_coded(&text) {
                problems.push(format!("{path}: {piece:?}"));
            }
        }
        assert!(
            problems.is_empty(),
            "text outside the catalogues:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn the_scan_finds_hard_coded_text() {
        assert_eq!(hard_coded("<p>Overdue</p>"), vec!["Overdue"]);
        assert_eq!(
            hard_coded(r#"<nav aria-label="Main">{{ x }}</nav>"#),
            vec![r#"aria-label="Main""#]
        );
        assert!(hard_coded(r#"<p>{{ crate::i18n::t("nav-home") }} · 12 — TLP:</p>"#).is_empty());
        assert!(
            hard_coded("<style>body{font:x}</style><td>{% if a %}{{ b }}{% endif %}</td>")
                .is_empty()
        );
        assert_eq!(
            hard_coded("{# a comment #}<b>{{ a }} left</b>"),
            vec!["left"]
        );
        assert!(hard_coded("<th>SHA-256</th><td>R01–R04 /api/v1/x TLP:AMBER</td>").is_empty());
        assert_eq!(hard_coded("<td>NO</td>"), vec!["NO"]);
    }

    #[test]
    fn templates_and_handlers_use_existing_keys_only() {
        let en = parse(SOURCES[0].1).unwrap();
        let mut sources = templates();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for entry in std::fs::read_dir(src).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("i18n.rs") {
                sources.push((
                    path.display().to_string(),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
        }
        let mut used = 0;
        for (path, text) in &sources {
            for key in keys_used(text) {
                used += 1;
                assert!(
                    en.contains_key(&key),
                    "{path} uses `{key}`, which en.ftl lacks"
                );
            }
        }
        assert!(used > 200, "only {used} uses found");
    }

    proptest! {
        /// The parser never panics, and whatever it accepts round-trips: every message's
        /// segments rebuild its text.
        #[test]
        fn parse_is_total_and_consistent(source in "[a-z= {}$#\n\t.,!-]{0,200}") {
            if let Ok(catalogue) = parse(&source) {
                for message in catalogue.values() {
                    let rebuilt: String = message.segments.iter().map(|s| match s {
                        Segment::Text(t) => t.clone(),
                        Segment::Var(v) => format!("{{ ${v} }}"),
                    }).collect();
                    let normalise = |s: &str| s.replace(' ', "");
                    prop_assert_eq!(normalise(&rebuilt), normalise(&message.raw));
                }
            }
        }

        #[test]
        fn accept_language_never_panics(value in ".{0,80}") {
            let _ = from_accept_language(&value);
        }
    }
}
