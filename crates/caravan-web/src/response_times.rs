//! The statistics page (`/ui/desk/stats`): the §12 report in numbers and request response
//! times against the agreement's deadlines as server-side SVG (issue 9, "Pictures").
//!
//! One bar per request that reached its executing side: the days from receipt to the reply
//! (or, for a request still open, to today), with the request's own reply deadline drawn
//! across the bar (the execution period from acceptance, lengthened by any postponement, or
//! the urgent date when that is earlier). Two charts: the requests this node answered (its
//! own performance) and the requests it sent (the partner's). The same numbers are in each
//! chart's table. Supervisors and the data-protection officer (§13 "read statistics") see it.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use caravan_assistance::lifecycle::{Case, Side};
use caravan_assistance::roles::Capability;
use caravan_assistance_node::service::today;
use caravan_store::assistance::CaseQuery;
use chrono::{Days, NaiveDate};

use crate::assistance::{AssistState, blocking, node};
use crate::auth::Principal;
use crate::chart::{Bar, BarChart, Labels, bar_chart};
use crate::{ApiError, AppState};

/// The routes of this module, with state applied.
pub fn routes(state: &AppState) -> Router {
    Router::new()
        .route("/ui/desk/stats", get(page))
        .with_state(state.clone())
}

/// One request's time to reply against its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// The case id.
    pub case_id: String,
    /// Which copy: the side that answers (`Requested`) or the side that asked.
    pub holder: Side,
    /// Days from receipt to the reply, or to today while the request is open.
    pub days: i64,
    /// Days from receipt to the reply deadline, once the deadline runs (after acceptance).
    pub deadline_days: Option<i64>,
    /// Whether the reply has been given.
    pub answered: bool,
}

/// The timing of a case that was received by its executing side; `None` before receipt.
pub fn timing(case: &Case, today: NaiveDate) -> Option<Timing> {
    let received = case.received_on?;
    let end = case.answered_on.unwrap_or(today);
    // The deadline as the timer set it, kept after the timer stops at the reply.
    let exec = case
        .exec
        .as_ref()
        .map(|e| e.started + Days::new(u64::from(e.days) + e.paused_days));
    let deadline = match (exec, case.urgent_reply_by) {
        (Some(e), Some(u)) => Some(e.min(u)),
        (e, u) => e.or(u),
    };
    Some(Timing {
        case_id: case.id.clone(),
        holder: case.holder,
        days: (end - received).num_days(),
        deadline_days: deadline.map(|d| (d - received).num_days()),
        answered: case.answered_on.is_some(),
    })
}

/// The chart of `timings` (in the given order) as a `<figure>` with its data table.
pub fn chart(id: &str, title: &str, description: &str, timings: &[Timing]) -> String {
    bar_chart(&BarChart {
        labels: Labels {
            id,
            title,
            description,
            x_label: crate::i18n::t("stats-x-request"),
            y_label: crate::i18n::t("stats-y-days"),
        },
        reference_label: Some(crate::i18n::t("stats-deadline-days")),
        bars: timings
            .iter()
            .map(|t| Bar {
                label: if t.answered {
                    t.case_id.clone()
                } else {
                    crate::i18n::t1("stats-open", "case", &t.case_id)
                },
                value: t.days as f64,
                reference: t.deadline_days.map(|d| d as f64),
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "assistance/stats.html")]
struct StatsPage<'a> {
    node_name: &'a str,
    on: String,
    /// Metric and value, in the report's order.
    figures: Vec<(&'static str, String)>,
    /// Number of timed requests on each side (answered here, sent).
    answered_here: usize,
    sent: usize,
    /// The two charts (escaped SVG and tables, inserted unescaped).
    ours: String,
    theirs: String,
}

async fn page(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    principal
        .require(Capability::ReadStatistics, "assistance.stats", "stats")
        .await?;
    let node = node(&AssistState::of(&state))?;
    let actor = principal.actor().clone();
    let (on, report, mut timings) = blocking(node, move |n, now| {
        let on = today(now);
        let report = n.stats(&actor, on)?;
        let rows = n.store().case_rows(&CaseQuery {
            limit: 100_000,
            ..CaseQuery::default()
        })?;
        let mut timings = Vec::new();
        for row in rows {
            let case: Case = serde_json::from_str(&row.snapshot).map_err(|e| {
                caravan_assistance_node::error::AssistError::internal(format!(
                    "case {}: {e}",
                    row.case_id
                ))
            })?;
            timings.extend(timing(&case, on));
        }
        Ok((on, report, timings))
    })
    .await?;
    // Oldest first, as the store's newest-first rows reversed.
    timings.reverse();
    let (ours, theirs): (Vec<Timing>, Vec<Timing>) = timings
        .into_iter()
        .partition(|t| t.holder == Side::Requested);
    let spread = |s: &caravan_assistance::stats::Spread| {
        let value = |v: Option<i64>| v.map_or("–".to_owned(), |v| v.to_string());
        crate::i18n::t3(
            "stats-spread",
            "n",
            s.n,
            "median",
            value(s.median),
            "p90",
            value(s.p90),
        )
    };
    let figures = vec![
        (
            crate::i18n::t("stats-by-type"),
            report
                .by_type
                .iter()
                .map(|(t, n)| format!("{} {n}", t.code()))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (crate::i18n::t("stats-urgent"), report.urgent.to_string()),
        (
            crate::i18n::t("stats-receipt-to-ack"),
            spread(&report.receipt_to_ack_days),
        ),
        (
            crate::i18n::t("stats-receipt-to-reply"),
            spread(&report.receipt_to_reply_days),
        ),
        (
            crate::i18n::t("stats-answered"),
            report.answered.to_string(),
        ),
        (
            crate::i18n::t("stats-partially-answered"),
            report.partially_answered.to_string(),
        ),
        (
            crate::i18n::t("stats-refused-by-ground"),
            report
                .refused_by_ground
                .iter()
                .map(|(g, n)| format!("{} {n}", g.code()))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            crate::i18n::t("stats-postponed"),
            report.postponed.to_string(),
        ),
        (
            crate::i18n::t("stats-withdrawn"),
            report.withdrawn.to_string(),
        ),
        (
            crate::i18n::t("stats-overdue-count"),
            report.overdue.to_string(),
        ),
    ];
    Ok(crate::ui::render(&StatsPage {
        node_name: &state.node_name,
        on: on.to_string(),
        figures,
        answered_here: ours.len(),
        sent: theirs.len(),
        ours: chart(
            "answered-here",
            crate::i18n::t("stats-chart-ours-title"),
            crate::i18n::t("stats-chart-ours-description"),
            &ours,
        ),
        theirs: chart(
            "sent",
            crate::i18n::t("stats-chart-theirs-title"),
            crate::i18n::t("stats-chart-theirs-description"),
            &theirs,
        ),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, days: i64, deadline: Option<i64>, answered: bool) -> Timing {
        Timing {
            case_id: id.into(),
            holder: Side::Requested,
            days,
            deadline_days: deadline,
            answered,
        }
    }

    #[test]
    fn one_bar_per_request_and_one_mark_per_running_deadline() {
        let timings = [
            t("REQ-1", 12, Some(90), true),
            t("REQ-2", 95, Some(90), true),
            t("REQ-3", 4, None, false),
            t("REQ-4", 30, Some(61), false),
        ];
        let svg = chart("rt", "Response times", "Known data", &timings);
        let plot = &svg[..svg.find("</svg>").expect("an svg")];
        assert_eq!(plot.matches("<rect ").count(), 4, "{plot}");
        assert_eq!(plot.matches("stroke-dasharray").count(), 3, "{plot}");
        // Each bar and mark says what it is.
        assert!(plot.contains("<title>REQ-2: 95</title>"), "{plot}");
        assert!(plot.contains("<title>REQ-3 (open): 4</title>"), "{plot}");
        assert!(
            plot.contains("<title>Deadline (days): 61</title>"),
            "{plot}"
        );
        // The table carries every request with its deadline.
        let table = &svg[svg.find("</svg>").unwrap()..];
        assert_eq!(
            table.matches("<tr>").count(),
            5,
            "header and four rows: {table}"
        );
        assert!(table.contains("REQ-4 (open)"), "{table}");
    }

    #[test]
    fn an_empty_data_set_draws_no_bars() {
        let svg = chart("rt", "Response times", "Nothing yet", &[]);
        assert_eq!(svg.matches("<rect ").count(), 0);
        assert!(svg.contains("role=\"img\""), "{svg}");
    }
}
