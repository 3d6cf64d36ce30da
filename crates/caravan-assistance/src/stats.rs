//! Statistics for the joint committee (assistance spec §15), as pure functions.
//!
//! Why nearest-rank percentiles over whole days: both nodes compute the report from their own
//! case store and the counts must agree, so the method is the simplest exactly reproducible
//! one (the ⌈p·n/100⌉-th smallest value) and never interpolates. Response times count from
//! receipt; paused time (postponement, correction, conditions) is reported separately.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::catalogue::RequestType;
use crate::lifecycle::{Action, Case, CaseState, Ground};

/// Nearest-rank percentile of `values` (`p` in 1..=100); `None` when empty.
pub fn percentile(values: &[i64], p: u32) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let p = u64::from(p.clamp(1, 100));
    let n = sorted.len() as u64;
    let rank = (p * n).div_ceil(100).max(1);
    Some(sorted[(rank - 1) as usize])
}

/// Median and 90th percentile, with the sample size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Spread {
    pub n: usize,
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

fn spread(values: &[i64]) -> Spread {
    Spread {
        n: values.len(),
        median: percentile(values, 50),
        p90: percentile(values, 90),
    }
}

/// One seizure reported back by `Feedback.Outcome`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seizure {
    pub commodity: String,
    pub hs_chapter: String,
    pub quantity: u64,
}

/// A `Feedback.Outcome` on a case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    pub case_id: String,
    pub seizures: Vec<Seizure>,
    /// Duties and penalties assessed or recovered, in minor units, by ISO 4217 currency.
    pub revenue_minor: Vec<(String, i64)>,
    pub cases_opened: u32,
    pub convictions: u32,
}

/// The periodic report (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Report {
    pub by_type: BTreeMap<RequestType, u32>,
    pub urgent: u32,
    pub receipt_to_ack_days: Spread,
    pub receipt_to_reply_days: Spread,
    pub paused_days_total: u64,
    pub answered: u32,
    pub partially_answered: u32,
    pub refused_by_ground: BTreeMap<Ground, u32>,
    pub postponed: u32,
    pub withdrawn: u32,
    pub overdue: u32,
    pub seizures_by_chapter: BTreeMap<String, u64>,
    pub revenue_minor_by_currency: BTreeMap<String, i64>,
    pub cases_opened: u32,
    pub convictions: u32,
    /// Hit/no-hit queries and bulk batches (§12, §5), from [`add_volumes`].
    pub exchange: Volumes,
}

/// Hit/no-hit and bulk volumes of the period (§15 "hit/no-hit volumes and hit rate; bulk
/// batches and rows").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Volumes {
    pub hitnohit_asked: u32,
    pub hitnohit_answered: u32,
    /// Queries the partner asked this node.
    pub hitnohit_received: u32,
    pub hits: u32,
    /// Hits per thousand answered queries this node asked (`None` before any answer).
    pub hit_rate_permille: Option<u32>,
    pub bulk_batches_sent: u32,
    pub bulk_rows_sent: u64,
    pub bulk_batches_received: u32,
    pub bulk_rows_received: u64,
}

/// Sets the volumes of a report; the hit rate is computed here, once.
pub fn add_volumes(report: &mut Report, mut volumes: Volumes) {
    volumes.hit_rate_permille = (volumes.hitnohit_answered > 0)
        .then(|| (u64::from(volumes.hits) * 1000 / u64::from(volumes.hitnohit_answered)) as u32);
    report.exchange = volumes;
}

/// Builds the report over `cases` as of `today`.
pub fn report(cases: &[Case], outcomes: &[Outcome], today: NaiveDate) -> Report {
    let mut r = Report::default();
    let mut ack = Vec::new();
    let mut reply = Vec::new();
    for c in cases {
        for t in &c.types {
            *r.by_type.entry(*t).or_default() += 1;
        }
        if c.urgent_reply_by.is_some() {
            r.urgent += 1;
        }
        if let (Some(rec), Some(a)) = (c.received_on, c.acknowledged_on) {
            ack.push((a - rec).num_days());
        }
        if let (Some(rec), Some(a)) = (c.received_on, c.answered_on) {
            reply.push((a - rec).num_days());
        }
        if let Some(e) = &c.exec {
            r.paused_days_total += e.paused_days;
        }
        let reached = |s: CaseState| c.state == s || c.records.iter().any(|rec| rec.to == s);
        if reached(CaseState::Answered) {
            r.answered += 1;
        } else if reached(CaseState::PartiallyAnswered) {
            r.partially_answered += 1;
        }
        if reached(CaseState::Refused) {
            for g in &c.grounds {
                *r.refused_by_ground.entry(*g).or_default() += 1;
            }
        }
        if c.records.iter().any(|rec| rec.action == Action::Postpone) {
            r.postponed += 1;
        }
        if reached(CaseState::Withdrawn) {
            r.withdrawn += 1;
        }
        if !c.overdue_timers(today).is_empty() || c.overdue && c.state.is_open() {
            r.overdue += 1;
        }
    }
    r.receipt_to_ack_days = spread(&ack);
    r.receipt_to_reply_days = spread(&reply);
    for o in outcomes {
        for s in &o.seizures {
            *r.seizures_by_chapter
                .entry(s.hs_chapter.clone())
                .or_default() += s.quantity;
        }
        for (cur, amount) in &o.revenue_minor {
            let e = r.revenue_minor_by_currency.entry(cur.clone()).or_default();
            *e = e.saturating_add(*amount);
        }
        r.cases_opened += o.cases_opened;
        r.convictions += o.convictions;
    }
    r
}

fn opt(v: Option<i64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// The report as `metric,key,value` CSV rows, for the joint committee.
pub fn to_csv(r: &Report) -> String {
    let mut out = String::from("metric,key,value\n");
    let mut row = |m: &str, k: &str, v: String| {
        let _ = writeln!(out, "{m},{k},{v}");
    };
    for (t, n) in &r.by_type {
        row("requests_by_type", t.code(), n.to_string());
    }
    row("requests", "urgent", r.urgent.to_string());
    for (name, s) in [
        ("receipt_to_ack_days", r.receipt_to_ack_days),
        ("receipt_to_reply_days", r.receipt_to_reply_days),
    ] {
        row(name, "n", s.n.to_string());
        row(name, "median", opt(s.median));
        row(name, "p90", opt(s.p90));
    }
    row("paused_days", "total", r.paused_days_total.to_string());
    row("outcome", "answered", r.answered.to_string());
    row(
        "outcome",
        "partially_answered",
        r.partially_answered.to_string(),
    );
    for (g, n) in &r.refused_by_ground {
        row("refused_by_ground", g.code(), n.to_string());
    }
    row("outcome", "postponed", r.postponed.to_string());
    row("outcome", "withdrawn", r.withdrawn.to_string());
    row("outcome", "overdue", r.overdue.to_string());
    for (ch, q) in &r.seizures_by_chapter {
        row("seizures_by_hs_chapter", &csv_field(ch), q.to_string());
    }
    for (cur, v) in &r.revenue_minor_by_currency {
        row("revenue_minor", &csv_field(cur), v.to_string());
    }
    row("results", "cases_opened", r.cases_opened.to_string());
    row("results", "convictions", r.convictions.to_string());
    let v = &r.exchange;
    row("hitnohit", "asked", v.hitnohit_asked.to_string());
    row("hitnohit", "answered", v.hitnohit_answered.to_string());
    row("hitnohit", "received", v.hitnohit_received.to_string());
    row("hitnohit", "hits", v.hits.to_string());
    row(
        "hitnohit",
        "hit_rate_permille",
        opt(v.hit_rate_permille.map(i64::from)),
    );
    row("bulk", "batches_sent", v.bulk_batches_sent.to_string());
    row("bulk", "rows_sent", v.bulk_rows_sent.to_string());
    row(
        "bulk",
        "batches_received",
        v.bulk_batches_received.to_string(),
    );
    row("bulk", "rows_received", v.bulk_rows_received.to_string());
    out
}

/// RFC 4180 quoting for a free-text key.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
