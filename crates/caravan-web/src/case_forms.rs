//! The case page's forms for the steps after a request has crossed: the requested side's
//! reply with evidence files (an upload), the requesting side's request for consent to a
//! further use of what it received (§10.3), and the provider's decision on that request.
//!
//! Why a module of its own: the lifecycle buttons of `assistance` post one event name; these
//! forms carry files, markings, permitted uses and consent terms, each parsed here into the
//! workflow's types and handed to the same `AssistanceNode` calls as the JSON API
//! (`POST /api/v1/requests/{id}/evidence`, `/api/v1/consents`, `/api/v1/consents/{id}/decision`),
//! so the role checks, the §3.2 supervisor approval, the audit rows and the messages to the
//! partner are the workflow's, not the page's. Input the page can check (a missing file, an
//! unknown marking) and every refusal of the workflow come back to the case page as a
//! message with its code; the CSRF token is checked by [`crate::csrf`] before any handler runs,
//! for the upload too (its token is a field of the multipart body).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use caravan_assistance::agreement::Purpose;
use caravan_assistance::evidence::Form as EvidenceForm;
use caravan_assistance::marking::{Markings, Pap, Tlp};
use caravan_assistance::usecontrol::ConsentDecision;
use caravan_assistance_node::error::AssistError;
use caravan_assistance_node::service::{ConsentAsk, EvidenceUpload, UploadContent};

use crate::assistance::{
    AssistState, api_error, blocking, cross_origin, encode, node, parse_date, recipient,
};
use crate::auth::Principal;
use crate::multipart::{self, Part};
use crate::{ApiError, AppState};

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route(
            "/ui/desk/requests/{id}/reply",
            post(page_reply).layer(DefaultBodyLimit::max(crate::csrf::MAX_UPLOAD_BYTES)),
        )
        .route("/ui/desk/requests/{id}/consents", post(page_consent))
        .route("/ui/desk/consents/{id}/decision", post(page_decision))
        .with_state(AssistState::of(state))
}

/// Back to the case page with a notice or a problem.
fn back(case_id: &str, key: &str, text: &str) -> Response {
    Redirect::to(&format!(
        "/ui/desk/requests/{}?{key}={}#act",
        encode(case_id),
        encode(text)
    ))
    .into_response()
}

/// The workflow's answer as a redirect: refusals (client errors) go back to the page with
/// their code; failures of the node stay errors.
fn answered<T>(
    case_id: &str,
    result: Result<T, ApiError>,
    notice: impl FnOnce(T) -> String,
) -> Result<Response, ApiError> {
    match result {
        Ok(value) => Ok(back(case_id, "notice", &notice(value))),
        Err(e) if e.status().is_client_error() => Ok(back(case_id, "problem", e.code())),
        Err(e) => Err(e),
    }
}

/// The values of every field called `name`, in order.
fn all<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The first value of `name`, trimmed ("" when absent).
fn one<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

fn words(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n', '\r'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What the reply form says about its files.
#[derive(Debug)]
struct ReplyTerms {
    form: EvidenceForm,
    certification: Option<String>,
    markings: Markings,
    permitted_uses: Vec<Purpose>,
    partial: Option<(Vec<String>, chrono::NaiveDate)>,
}

/// Reads the reply form's fields; `Err` is the message shown to the officer.
fn reply_terms(fields: &[(String, String)]) -> Result<ReplyTerms, String> {
    let form = EvidenceForm::parse(one(fields, "form"))
        .ok_or_else(|| crate::i18n::t1("cf-problem-form", "value", one(fields, "form")))?;
    let tlp = Tlp::parse_tag(one(fields, "tlp"))
        .ok_or_else(|| crate::i18n::t1("cf-problem-tlp", "value", one(fields, "tlp")))?;
    let pap = Pap::parse_tag(one(fields, "pap"))
        .ok_or_else(|| crate::i18n::t1("cf-problem-pap", "value", one(fields, "pap")))?;
    let mut markings = Markings::new(tlp, pap);
    for caveat in words(one(fields, "caveats")) {
        markings = markings
            .with_caveat(&caveat)
            .map_err(|e| crate::i18n::t2("cf-problem-caveat", "caveat", &caveat, "detail", e))?;
    }
    let permitted_uses = all(fields, "permitted_uses")
        .into_iter()
        .map(|p| Purpose::parse(p).ok_or_else(|| crate::i18n::t1("cf-problem-purpose", "value", p)))
        .collect::<Result<Vec<_>, _>>()?;
    if permitted_uses.is_empty() {
        return Err(crate::i18n::t("cf-problem-no-use").to_owned());
    }
    let outstanding = words(one(fields, "outstanding"));
    let partial = if outstanding.is_empty() {
        None
    } else {
        let on = parse_date(Some(one(fields, "expected_on")))
            .map_err(|_| crate::i18n::t("cf-problem-expected-date").to_owned())?
            .ok_or_else(|| crate::i18n::t("cf-problem-expected-missing").to_owned())?;
        Some((outstanding, on))
    };
    let certification = Some(one(fields, "certification").to_owned()).filter(|c| !c.is_empty());
    Ok(ReplyTerms {
        form,
        certification,
        markings,
        permitted_uses,
        partial,
    })
}

/// The uploaded files of the form: parts of the `file` field with a name and content (a
/// browser sends an empty part when no file was chosen).
fn uploads(parts: &[Part], terms: &ReplyTerms) -> Vec<EvidenceUpload> {
    parts
        .iter()
        .filter(|p| p.name == "file")
        .filter_map(|p| {
            let name = p.filename.as_deref()?.trim();
            // A browser sends the base name; anything path-like is cut to its last segment.
            let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
            (!name.is_empty() && !p.body.is_empty()).then(|| EvidenceUpload {
                name: name.to_owned(),
                media_type: p
                    .content_type
                    .clone()
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "application/octet-stream".into()),
                content: UploadContent::Bytes(p.body.clone()),
                form: terms.form,
                certification: terms.certification.clone(),
                markings: terms.markings.clone(),
                permitted_uses: terms.permitted_uses.clone(),
            })
        })
        .collect()
}

async fn page_reply(
    State(state): State<AssistState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let node = node(&state)?;
    let Some(boundary) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(multipart::boundary)
    else {
        return Ok(back(
            &id,
            "problem",
            crate::i18n::t("cf-problem-not-multipart"),
        ));
    };
    let parts = match multipart::parse(&body, &boundary) {
        Ok(parts) => parts,
        Err(e) => {
            return Ok(back(
                &id,
                "problem",
                &crate::i18n::t1("cf-problem-malformed", "detail", e),
            ));
        }
    };
    let fields: Vec<(String, String)> = parts
        .iter()
        .filter(|p| p.filename.is_none())
        .map(|p| (p.name.clone(), p.text()))
        .collect();
    let terms = match reply_terms(&fields) {
        Ok(terms) => terms,
        Err(problem) => return Ok(back(&id, "problem", &problem)),
    };
    let files = uploads(&parts, &terms);
    if files.is_empty() {
        return Ok(back(&id, "problem", crate::i18n::t("cf-problem-no-file")));
    }
    let count = files.len();
    let actor = principal.actor().clone();
    let case_id = id.clone();
    let partial = terms.partial;
    let result = blocking(node, move |n, now| {
        n.reply(&actor, None, &case_id, files, partial, now)
    })
    .await;
    answered(&id, result, |row| {
        crate::i18n::t2("cf-notice-reply", "count", count, "state", &row.state)
    })
}

async fn page_consent(
    State(state): State<AssistState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let node = node(&state)?;
    let items: Vec<String> = all(&fields, "items")
        .into_iter()
        .map(str::to_owned)
        .collect();
    if items.is_empty() {
        return Ok(back(&id, "problem", crate::i18n::t("cf-problem-no-items")));
    }
    let Some(purpose) = Purpose::parse(one(&fields, "purpose")) else {
        return Ok(back(
            &id,
            "problem",
            &crate::i18n::t1("cf-problem-purpose", "value", one(&fields, "purpose")),
        ));
    };
    let recipient = match recipient(
        Some(one(&fields, "recipient_class")),
        Some(one(&fields, "recipient_name")),
    ) {
        Ok(r) => r,
        Err(e) => return Ok(back(&id, "problem", e.code())),
    };
    let needed_by = match parse_date(Some(one(&fields, "needed_by"))) {
        Ok(Some(day)) => day,
        _ => {
            return Ok(back(&id, "problem", crate::i18n::t("cf-problem-needed-by")));
        }
    };
    let ask = ConsentAsk {
        case_id: id.clone(),
        items,
        purpose,
        recipient,
        justification: one(&fields, "justification").to_owned(),
        proceedings_reference: Some(one(&fields, "proceedings_reference").to_owned())
            .filter(|r| !r.is_empty()),
        needed_by,
    };
    let actor = principal.actor().clone();
    let result = blocking(node, move |n, now| n.request_consent(&actor, ask, now)).await;
    answered(&id, result, |row| {
        crate::i18n::t2(
            "cf-notice-consent-asked",
            "consent",
            &row.consent_id,
            "state",
            &row.state,
        )
    })
}

/// The decision form's fields as the workflow's decision.
fn decision(fields: &[(String, String)]) -> Result<ConsentDecision, String> {
    let expires_on = parse_date(Some(one(fields, "expires_on")))
        .map_err(|_| crate::i18n::t("cf-problem-expires").to_owned())?;
    match one(fields, "decision") {
        "granted" => Ok(ConsentDecision::Granted { expires_on }),
        "granted_with_conditions" => {
            let conditions: Vec<String> = one(fields, "conditions")
                .lines()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            if conditions.is_empty() {
                return Err(crate::i18n::t("cf-problem-no-condition").to_owned());
            }
            Ok(ConsentDecision::GrantedWithConditions {
                expires_on,
                conditions,
            })
        }
        "refused" => Ok(ConsentDecision::Refused {
            reasons: one(fields, "reasons").to_owned(),
        }),
        other => Err(crate::i18n::t1("cf-problem-decision", "value", other)),
    }
}

async fn page_decision(
    State(state): State<AssistState>,
    principal: Principal,
    headers: HeaderMap,
    Path(consent_id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    if let Some(e) = cross_origin(&headers) {
        return Err(e);
    }
    let node = node(&state)?;
    let decided = decision(&fields);
    let actor = principal.actor().clone();
    let id = consent_id.clone();
    // The consent's case is where the officer goes back to, whatever the outcome.
    let (case_id, outcome) = blocking(node, move |n, now| {
        let row = n.store().consent_row(&id).map_err(|e| match e {
            caravan_store::StoreError::NotFound => AssistError::not_found("consent", &id),
            other => other.into(),
        })?;
        let outcome = match decided {
            Ok(d) => Ok(n.decide_consent(&actor, &id, d, now).map_err(api_error)),
            Err(problem) => Err(problem),
        };
        Ok((row.case_id, outcome))
    })
    .await?;
    match outcome {
        Err(problem) => Ok(back(&case_id, "problem", &problem)),
        Ok(result) => answered(&case_id, result, |row| {
            crate::i18n::t2(
                "cf-notice-decided",
                "consent",
                &consent_id,
                "state",
                &row.state,
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_reply_terms_are_parsed_or_refused_with_a_reason() {
        let ok = reply_terms(&pairs(&[
            ("form", "certified_copy"),
            ("certification", "Certified true copy"),
            ("tlp", "AMBER"),
            ("pap", "AMBER"),
            ("caveats", "PERSONAL-DATA"),
            ("permitted_uses", "INTEL"),
            ("permitted_uses", "CRIMINAL"),
            ("outstanding", ""),
        ]))
        .unwrap();
        assert_eq!(ok.form, EvidenceForm::CertifiedCopy);
        assert_eq!(ok.permitted_uses, vec![Purpose::Intel, Purpose::Criminal]);
        assert_eq!(ok.markings.tlp, Tlp::Amber);
        assert_eq!(ok.markings.caveats.len(), 1);
        assert!(ok.partial.is_none());

        let partial = reply_terms(&pairs(&[
            ("form", "copy"),
            ("tlp", "RED"),
            ("pap", "RED"),
            ("permitted_uses", "ADMIN"),
            ("outstanding", "bank statements, invoices"),
            ("expected_on", "2027-01-15"),
        ]))
        .unwrap();
        let (items, on) = partial.partial.unwrap();
        assert_eq!(items, vec!["bank", "statements", "invoices"]);
        assert_eq!(on.to_string(), "2027-01-15");

        for (fields, why) in [
            (vec![("form", "scan")], "not an evidence form"),
            (
                vec![("form", "copy"), ("tlp", "BLUE")],
                "not a TLP 2.0 value",
            ),
            (
                vec![("form", "copy"), ("tlp", "AMBER"), ("pap", "AMBER")],
                "at least one permitted use",
            ),
            (
                vec![
                    ("form", "copy"),
                    ("tlp", "AMBER"),
                    ("pap", "AMBER"),
                    ("permitted_uses", "ADMIN"),
                    ("outstanding", "rest"),
                ],
                "date the rest is expected",
            ),
        ] {
            let err = reply_terms(&pairs(&fields)).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }

    #[test]
    fn only_chosen_files_become_uploads_with_base_names() {
        let terms = reply_terms(&pairs(&[
            ("form", "copy"),
            ("tlp", "AMBER"),
            ("pap", "GREEN"),
            ("permitted_uses", "ADMIN"),
        ]))
        .unwrap();
        let part = |filename: Option<&str>, body: &[u8]| Part {
            name: "file".into(),
            filename: filename.map(str::to_owned),
            content_type: Some("application/pdf".into()),
            body: body.to_vec(),
        };
        let files = uploads(
            &[
                part(Some("C:\\scans\\invoice.pdf"), b"%PDF"),
                part(Some(""), b""),
                part(None, b"field"),
            ],
            &terms,
        );
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "invoice.pdf");
        assert_eq!(files[0].media_type, "application/pdf");
        assert_eq!(files[0].permitted_uses, vec![Purpose::Admin]);
    }

    #[test]
    fn decisions_read_from_the_form() {
        assert_eq!(
            decision(&pairs(&[
                ("decision", "granted"),
                ("expires_on", "2027-12-31")
            ]))
            .unwrap(),
            ConsentDecision::Granted {
                expires_on: Some(chrono::NaiveDate::from_ymd_opt(2027, 12, 31).unwrap())
            }
        );
        assert!(
            decision(&pairs(&[("decision", "granted_with_conditions")]))
                .unwrap_err()
                .contains("at least one condition")
        );
        assert_eq!(
            decision(&pairs(&[
                ("decision", "refused"),
                ("reasons", "Ongoing investigation")
            ]))
            .unwrap(),
            ConsentDecision::Refused {
                reasons: "Ongoing investigation".into()
            }
        );
        assert!(decision(&pairs(&[("decision", "maybe")])).is_err());
    }
}
