//! The wire features of issue 5 as one scenario between the US and UZ nodes, shared by the
//! demo and the two-node integration test: a hit/no-hit check (§12), one bulk batch of
//! Uzbek imports to the US (§5), and the outcome the US reports back on a closed case (§15).
//!
//! Why one scenario for both: the demo shows what the test proves, over the same exchange and
//! the same code, so what is shown cannot drift from what is tested. It runs after
//! `story::play`, on an agreement in force and with the reference case closed.

use caravan_assistance::agreement::Purpose;
use caravan_assistance::hitnohit::QueryType;
use caravan_assistance::outcome::{OutcomeReport, RevenueReport, SeizureReport};
use caravan_domain::id::ContainerNumber;
use caravan_ingest::pipeline::Format;
use chrono::NaiveDate;

use crate::error::AssistError;
use crate::hitnohit::QueryAsk;
use crate::service::{AssistanceNode, today};
use crate::story::{DAY_MS, Officials};

/// What the scenario did, for the caller to show or check.
#[derive(Debug, Clone, Default)]
pub struct WireOutcome {
    /// The container queried that UZ holds, and the query (answered `hit`).
    pub held_container: String,
    pub hit_query: String,
    /// The container UZ does not hold, and the query (answered `no_hit`).
    pub absent_container: String,
    pub no_hit_query: String,
    /// Refusals before anything left, `(what, code)`.
    pub refusals: Vec<(String, String)>,
    /// The bulk batch UZ → US and its rows.
    pub batch: String,
    pub batch_rows: i64,
    pub period: (NaiveDate, NaiveDate),
    /// Whether asking for the same dataset and period again was recognised.
    pub resend_recognised: bool,
    /// The outcome report on the reference case.
    pub feedback: String,
    pub ended_at: i64,
}

/// The first container on one of `node`'s own declarations, and the issue dates of its own
/// declarations of `direction`.
fn own_facts(
    node: &AssistanceNode,
    direction: &str,
) -> Result<(Option<String>, Vec<NaiveDate>), AssistError> {
    let mut container = None;
    let mut dates = Vec::new();
    let mut after = 0;
    loop {
        let page = node
            .store()
            .mirror_inputs("local", direction, after, 1_000)?;
        for (id, document) in &page {
            after = *id;
            for record in Format::CaravanJson.reader(document.as_slice()).flatten() {
                if container.is_none() {
                    container = record
                        .draft
                        .transport
                        .equipment
                        .iter()
                        .map(|e| e.container_id.clone())
                        .find(|c| ContainerNumber::parse(c).is_ok());
                }
                if let Some(d) = record
                    .draft
                    .header
                    .issued_at
                    .as_deref()
                    .and_then(|s| s.get(..10))
                    .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                {
                    dates.push(d);
                }
            }
        }
        if page.len() < 1_000 {
            break;
        }
    }
    Ok((container, dates))
}

/// A valid ISO 6346 container number with owner code `owner` and serial `serial`.
pub fn container_with_check_digit(owner: &str, serial: u32) -> String {
    (0..=9)
        .map(|d| format!("{owner}U{serial:06}{d}"))
        .find(|c| ContainerNumber::parse(c).is_ok())
        .expect("one check digit fits")
}

fn expect_refusal<T>(
    out: &mut WireOutcome,
    what: &str,
    result: Result<T, AssistError>,
) -> Result<(), AssistError> {
    match result {
        Ok(_) => Err(AssistError::internal(format!("{what} was not refused"))),
        Err(e) if e.is_refusal() => {
            out.refusals.push((what.to_owned(), e.code.to_owned()));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Plays the scenario from `t0`; `main_case` is the closed reference case (US requester).
/// `settle` delivers everything queued on both sides.
pub fn play(
    us: &AssistanceNode,
    uz: &AssistanceNode,
    main_case: &str,
    t0: i64,
    settle: &mut dyn FnMut(i64) -> Result<(), AssistError>,
) -> Result<WireOutcome, AssistError> {
    let mut out = WireOutcome::default();
    let (usx, uzx) = (Officials::of("US"), Officials::of("UZ"));
    let now = t0;

    // §12: does UZ hold a record on this container? One it holds, one it does not.
    let (held, uz_dates) = own_facts(uz, "import")?;
    let held = held.ok_or_else(|| {
        AssistError::internal("the UZ node holds no import with a valid container number")
    })?;
    let absent = container_with_check_digit("ZZZ", 999_999);
    out.held_container = held.clone();
    out.absent_container = absent.clone();
    let ask = |identifier: &str, purpose: Option<Purpose>| QueryAsk {
        query_type: QueryType::Conveyance,
        identifier: identifier.to_owned(),
        purpose,
        case_reference: "CBP-OIA-2026-0042".into(),
    };
    expect_refusal(
        &mut out,
        "hit/no-hit query without a purpose",
        us.ask_hitnohit(&usx.analyst, &ask(&held, None), now),
    )?;
    let mut bad = held.clone();
    let last = bad.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
    bad.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
    expect_refusal(
        &mut out,
        "container number with a wrong check digit",
        us.ask_hitnohit(&usx.analyst, &ask(&bad, Some(Purpose::Intel)), now),
    )?;
    expect_refusal(
        &mut out,
        "person query outside the agreement's annex",
        us.ask_hitnohit(
            &usx.analyst,
            &QueryAsk {
                query_type: QueryType::Person,
                ..ask("KARIMOV ALISHER", Some(Purpose::Intel))
            },
            now,
        ),
    )?;
    out.hit_query = us
        .ask_hitnohit(&usx.analyst, &ask(&held, Some(Purpose::Intel)), now)?
        .query_id;
    out.no_hit_query = us
        .ask_hitnohit(&usx.desk, &ask(&absent, Some(Purpose::Intel)), now)?
        .query_id;
    settle(now)?;

    // §5: one weekly-profile batch of UZ imports, over the period the UZ data covers (at
    // most a year), ending before today.
    let first = *uz_dates
        .iter()
        .min()
        .ok_or_else(|| AssistError::internal("the UZ node holds no import declarations"))?;
    let last = *uz_dates.iter().max().unwrap_or(&first);
    let until = today(now).pred_opt().unwrap_or(first);
    let to = last
        .min(first + chrono::Days::new(365))
        .min(until)
        .max(first);
    out.period = (first, to);
    let sent = uz.send_bulk(&uzx.supervisor, "uz-imports-v1", first, to, now)?;
    out.batch = sent.batch.batch_id.clone();
    out.batch_rows = sent.batch.row_count;
    settle(now)?;
    out.resend_recognised = uz
        .send_bulk(&uzx.supervisor, "uz-imports-v1", first, to, now)?
        .recognised;
    expect_refusal(
        &mut out,
        "bulk batch of a dataset the other side provides",
        us.send_bulk(&usx.supervisor, "uz-imports-v1", first, to, now),
    )?;

    // §15: the US reports what the reference case led to.
    let later = now + DAY_MS;
    let report = OutcomeReport {
        seizures: vec![SeizureReport {
            commodity: "cotton yarn, misdeclared origin".into(),
            hs_chapter: "52".into(),
            quantity: 18_000,
            unit: "kg".into(),
        }],
        revenue: vec![
            RevenueReport {
                kind: "duty".into(),
                status: "assessed".into(),
                amount_minor: 4_812_500,
                currency: "USD".into(),
            },
            RevenueReport {
                kind: "penalty".into(),
                status: "assessed".into(),
                amount_minor: 1_500_000,
                currency: "USD".into(),
            },
        ],
        cases_opened: 1,
        convictions: 1,
    };
    expect_refusal(
        &mut out,
        "outcome report with an HS chapter that does not exist",
        us.report_outcome(
            &usx.desk,
            main_case,
            OutcomeReport {
                seizures: vec![SeizureReport {
                    hs_chapter: "77".into(),
                    ..report.seizures[0].clone()
                }],
                ..report.clone()
            },
            later,
        ),
    )?;
    out.feedback = us
        .report_outcome(&usx.desk, main_case, report, later)?
        .feedback_id;
    settle(later)?;
    out.ended_at = later;
    Ok(out)
}
