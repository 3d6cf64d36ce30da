//! [`AssistanceWireStore`]: the durable side of what mutual assistance sends to the partner
//! beyond requests — hit/no-hit queries (assistance spec §12), the index of what this node
//! holds for answering them, bulk batches (§5) and outcome feedback (§15).
//!
//! Why it rides on [`crate::assistance::sql::Backend`]: each user action here (a query asked,
//! a partner's query answered, a batch received, an outcome reported) also writes workflow
//! messages and an audit row, and all of it must commit together. A [`WireChange`] is an
//! [`AssistanceChange`] plus this module's rows, turned into one statement list for the same
//! backend transaction, so SQLite and PostgreSQL get identical semantics from one text.
//!
//! Why no identifier column on a query: §12 allows "no retention of queries beyond the audit
//! record". A row keeps the salted commitment and its salt — enough for an auditor to check a
//! claimed identifier — but never the identifier itself.

use crate::StoreError;
use crate::assistance::AssistanceChange;
use crate::assistance::columns::{insert, upsert_versioned};
use crate::assistance::sql::{Backend, Param, Statement, statements};
use crate::exchange::columns::Columns;

/// One hit/no-hit query, asked (`out`) or answered (`in`) by this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitQueryRow {
    pub query_id: String,
    /// `out` (we asked) or `in` (the partner asked).
    pub direction: String,
    /// Partner party id.
    pub peer: String,
    /// The requesting official's account (ours for `out`, the partner's for `in`).
    pub official: String,
    /// §12 query type code.
    pub query_type: String,
    /// Declared purpose code (`None` only on a refused inbound query).
    pub purpose: Option<String>,
    pub case_reference: String,
    /// Salted SHA-256 commitment to the query (hex).
    pub commitment: String,
    /// The salt (hex), so a claimed identifier can be checked by an auditor.
    pub salt: String,
    /// `pending`, `hit`, `no_hit` or `refused`.
    pub answer: String,
    /// Refusal code.
    pub code: Option<String>,
    /// Opaque follow-up handle of a hit.
    pub handle: Option<String>,
    /// The holder's day (ISO 8601) the rate limit counts the query on.
    pub day: String,
    pub asked_at: i64,
    pub answered_at: Option<i64>,
    pub version: i64,
}

/// A `Feedback.Outcome` report, sent or received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRow {
    pub feedback_id: String,
    /// `out` (we reported) or `in` (the partner reported).
    pub direction: String,
    pub case_id: String,
    pub peer: String,
    pub reported_by: String,
    /// JSON of the outcome.
    pub outcome: String,
    /// Date of the report (ISO 8601).
    pub reported_on: String,
    pub created_at: i64,
}

/// A bulk batch, sent or received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkBatchRow {
    pub batch_id: String,
    pub direction: String,
    pub peer: String,
    pub dataset: String,
    pub period_from: String,
    pub period_to: String,
    pub row_count: i64,
    /// SHA-256 (hex) over the manifest's part digests.
    pub batch_sha256: String,
    /// JSON manifest.
    pub manifest: String,
    /// `queued` (out) or `stored`/`rejected` (in).
    pub state: String,
    pub code: Option<String>,
    /// The exchange's message id, once handed over (out) or as received (in).
    pub exchange_message_id: Option<String>,
    pub created_at: i64,
}

/// One part of an outbound batch: Caravan JSON Lines rows, kept until the batch is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPartRow {
    pub batch_id: String,
    pub seq: i64,
    pub row_count: i64,
    pub bytes: Vec<u8>,
}

/// Everything one action writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireChange {
    /// Messages, audit rows and anything else of the workflow's own tables.
    pub base: AssistanceChange,
    /// Queries to insert (version 1) or replace (version n over n − 1).
    pub queries: Vec<HitQueryRow>,
    /// `(kind, value)` holdings to add (already present: left as is).
    pub holdings: Vec<(String, String)>,
    /// New position of the holdings index, when it moved.
    pub holdings_cursor: Option<i64>,
    pub feedback: Vec<FeedbackRow>,
    /// Batches to insert; a second batch of the same direction, dataset and period is a
    /// stale write (the batch was recorded before).
    pub batches: Vec<BulkBatchRow>,
    /// Parts of outbound batches to keep until they are sent.
    pub bulk_parts: Vec<BulkPartRow>,
}

/// Query columns, in [`hit_query`]'s order.
pub const QUERY: &str = "query_id, direction, peer, official, query_type, purpose, \
                         case_reference, commitment, salt, answer, code, handle, day, asked_at, \
                         answered_at, version";
/// Feedback columns, in [`feedback`]'s order.
pub const FEEDBACK: &str =
    "feedback_id, direction, case_id, peer, reported_by, outcome, reported_on, created_at";
/// Batch columns, in [`batch`]'s order.
pub const BATCH: &str = "batch_id, direction, peer, dataset, period_from, period_to, \
                         row_count, batch_sha256, manifest, state, code, exchange_message_id, \
                         created_at";

/// Decodes a [`QUERY`] row.
pub fn hit_query(r: &dyn Columns) -> Result<HitQueryRow, StoreError> {
    Ok(HitQueryRow {
        query_id: r.text(0)?,
        direction: r.text(1)?,
        peer: r.text(2)?,
        official: r.text(3)?,
        query_type: r.text(4)?,
        purpose: r.opt_text(5)?,
        case_reference: r.text(6)?,
        commitment: r.text(7)?,
        salt: r.text(8)?,
        answer: r.text(9)?,
        code: r.opt_text(10)?,
        handle: r.opt_text(11)?,
        day: r.text(12)?,
        asked_at: r.int(13)?,
        answered_at: r.opt_int(14)?,
        version: r.int(15)?,
    })
}

/// Decodes a [`FEEDBACK`] row.
pub fn feedback(r: &dyn Columns) -> Result<FeedbackRow, StoreError> {
    Ok(FeedbackRow {
        feedback_id: r.text(0)?,
        direction: r.text(1)?,
        case_id: r.text(2)?,
        peer: r.text(3)?,
        reported_by: r.text(4)?,
        outcome: r.text(5)?,
        reported_on: r.text(6)?,
        created_at: r.int(7)?,
    })
}

/// Decodes a [`BATCH`] row.
pub fn batch(r: &dyn Columns) -> Result<BulkBatchRow, StoreError> {
    Ok(BulkBatchRow {
        batch_id: r.text(0)?,
        direction: r.text(1)?,
        peer: r.text(2)?,
        dataset: r.text(3)?,
        period_from: r.text(4)?,
        period_to: r.text(5)?,
        row_count: r.int(6)?,
        batch_sha256: r.text(7)?,
        manifest: r.text(8)?,
        state: r.text(9)?,
        code: r.opt_text(10)?,
        exchange_message_id: r.opt_text(11)?,
        created_at: r.int(12)?,
    })
}

fn count(r: &dyn Columns) -> Result<i64, StoreError> {
    r.int(0)
}

/// What the node stores for the wire features.
pub trait AssistanceWireStore: Send + Sync {
    /// Writes a change whole or not at all (audit rows chained in the same transaction).
    fn commit_wire(&self, change: &WireChange) -> Result<(), StoreError>;
    /// One query.
    fn hit_query_row(&self, query_id: &str) -> Result<HitQueryRow, StoreError>;
    /// Queries of one direction (or both), newest first, at most `limit` (0: 1,000).
    fn hit_query_rows(
        &self,
        direction: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HitQueryRow>, StoreError>;
    /// How many of an official's inbound queries of `day` were evaluated (answered `hit` or
    /// `no_hit`): the durable count the rate limit starts from.
    fn hit_queries_used(&self, official: &str, day: &str) -> Result<u32, StoreError>;
    /// Where the holdings index stopped (declaration store id; 0 when never run).
    fn holdings_cursor(&self) -> Result<i64, StoreError>;
    /// Whether this node holds `(kind, value)`.
    fn holds(&self, kind: &str, value: &str) -> Result<bool, StoreError>;
    /// Feedback reports on a case (or all), oldest first.
    fn feedback_rows(&self, case_id: Option<&str>) -> Result<Vec<FeedbackRow>, StoreError>;
    /// One batch.
    fn bulk_batch_row(&self, batch_id: &str) -> Result<BulkBatchRow, StoreError>;
    /// Batches, newest first, at most `limit` (0: 1,000).
    fn bulk_batch_rows(&self, limit: u32) -> Result<Vec<BulkBatchRow>, StoreError>;
    /// Replaces the stored body of an outbound message already handed to the exchange
    /// (never a queued one, which still has to be sent); returns the rows changed.
    fn replace_sent_body(&self, message_uuid: &str, body: &str) -> Result<u64, StoreError>;
    /// Outbound batches not yet handed to the exchange, oldest first.
    fn queued_bulk_batches(&self) -> Result<Vec<BulkBatchRow>, StoreError>;
    /// The parts of an outbound batch not yet sent, in order: `(row count, bytes)`.
    fn bulk_parts(&self, batch_id: &str) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;
    /// Marks a queued batch sent under the exchange's message id and deletes its parts, in
    /// one transaction.
    fn mark_batch_sent(&self, batch_id: &str, exchange_message_id: &str) -> Result<(), StoreError>;
    /// The batch of a direction, dataset and period, if recorded.
    fn bulk_batch_for(
        &self,
        direction: &str,
        dataset: &str,
        period_from: &str,
        period_to: &str,
    ) -> Result<Option<BulkBatchRow>, StoreError>;
}

fn t(s: &str) -> Param {
    Param::Text(s.to_owned())
}

fn effective(limit: u32) -> i64 {
    if limit == 0 { 1_000 } else { i64::from(limit) }
}

/// The statements of a change: the workflow's own first, then this module's, in a fixed
/// order.
pub fn wire_statements(c: &WireChange, ph: fn(usize) -> String) -> Vec<Statement> {
    let mut out = statements(&c.base, ph);
    for q in &c.queries {
        out.push(Statement {
            sql: upsert_versioned("assistance_hitnohit", "query_id", QUERY, ph),
            params: vec![
                t(&q.query_id),
                t(&q.direction),
                t(&q.peer),
                t(&q.official),
                t(&q.query_type),
                Param::OptText(q.purpose.clone()),
                t(&q.case_reference),
                t(&q.commitment),
                t(&q.salt),
                t(&q.answer),
                Param::OptText(q.code.clone()),
                Param::OptText(q.handle.clone()),
                t(&q.day),
                Param::Int(q.asked_at),
                Param::OptInt(q.answered_at),
                Param::Int(q.version),
            ],
            what: "hit/no-hit query",
            id: q.query_id.clone(),
            versioned: true,
        });
    }
    for (kind, value) in &c.holdings {
        out.push(Statement {
            sql: format!(
                "INSERT INTO assistance_holdings (kind, value) VALUES ({}, {}) \
                 ON CONFLICT (kind, value) DO NOTHING",
                ph(1),
                ph(2)
            ),
            params: vec![t(kind), t(value)],
            what: "holding",
            id: format!("{kind}:{value}"),
            versioned: false,
        });
    }
    if let Some(after) = c.holdings_cursor {
        out.push(Statement {
            sql: format!(
                "INSERT INTO assistance_holdings_cursor (id, after_id) VALUES (1, {}) \
                 ON CONFLICT (id) DO UPDATE SET after_id = excluded.after_id",
                ph(1)
            ),
            params: vec![Param::Int(after)],
            what: "holdings cursor",
            id: after.to_string(),
            versioned: false,
        });
    }
    for f in &c.feedback {
        out.push(Statement {
            sql: insert("assistance_feedback", FEEDBACK, ph),
            params: vec![
                t(&f.feedback_id),
                t(&f.direction),
                t(&f.case_id),
                t(&f.peer),
                t(&f.reported_by),
                t(&f.outcome),
                t(&f.reported_on),
                Param::Int(f.created_at),
            ],
            what: "feedback",
            id: f.feedback_id.clone(),
            versioned: false,
        });
    }
    for b in &c.batches {
        out.push(Statement {
            sql: insert("assistance_bulk_batches", BATCH, ph),
            params: vec![
                t(&b.batch_id),
                t(&b.direction),
                t(&b.peer),
                t(&b.dataset),
                t(&b.period_from),
                t(&b.period_to),
                Param::Int(b.row_count),
                t(&b.batch_sha256),
                t(&b.manifest),
                t(&b.state),
                Param::OptText(b.code.clone()),
                Param::OptText(b.exchange_message_id.clone()),
                Param::Int(b.created_at),
            ],
            what: "bulk batch",
            id: b.batch_id.clone(),
            versioned: false,
        });
    }
    for p in &c.bulk_parts {
        out.push(Statement {
            sql: insert(
                "assistance_bulk_parts",
                "batch_id, seq, row_count, bytes",
                ph,
            ),
            params: vec![
                t(&p.batch_id),
                Param::Int(p.seq),
                Param::Int(p.row_count),
                Param::Blob(p.bytes.clone()),
            ],
            what: "bulk part",
            id: format!("{}/{}", p.batch_id, p.seq),
            versioned: false,
        });
    }
    out
}

fn part(r: &dyn Columns) -> Result<(i64, Vec<u8>), StoreError> {
    Ok((r.int(0)?, r.blob(1)?))
}

/// `SELECT columns FROM table WHERE tail`, where `#i` in `tail` is the i-th parameter in
/// the backend's dialect.
fn select<B: Backend, T>(
    b: &B,
    table: &str,
    columns: &str,
    tail: &str,
    params: Vec<Param>,
    decode: fn(&dyn Columns) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut tail = tail.to_owned();
    for i in (1..=params.len()).rev() {
        tail = tail.replace(&format!("#{i}"), &B::placeholder(i));
    }
    let sql = format!("SELECT {columns} FROM {table} WHERE {tail}");
    b.select(&sql, params, decode)
}

fn one<T>(found: Vec<T>) -> Result<T, StoreError> {
    found.into_iter().next().ok_or(StoreError::NotFound)
}

impl<B: Backend> AssistanceWireStore for B {
    fn commit_wire(&self, change: &WireChange) -> Result<(), StoreError> {
        self.transact(&wire_statements(change, B::placeholder), &change.base.audit)
    }

    fn hit_query_row(&self, query_id: &str) -> Result<HitQueryRow, StoreError> {
        one(select(
            self,
            "assistance_hitnohit",
            QUERY,
            "query_id = #1",
            vec![t(query_id)],
            hit_query,
        )?)
    }

    fn hit_query_rows(
        &self,
        direction: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HitQueryRow>, StoreError> {
        let (tail, params) = match direction {
            Some(d) => (
                "direction = #1 ORDER BY asked_at DESC, query_id DESC LIMIT #2",
                vec![t(d), Param::Int(effective(limit))],
            ),
            None => (
                "1 = 1 ORDER BY asked_at DESC, query_id DESC LIMIT #1",
                vec![Param::Int(effective(limit))],
            ),
        };
        select(self, "assistance_hitnohit", QUERY, tail, params, hit_query)
    }

    fn hit_queries_used(&self, official: &str, day: &str) -> Result<u32, StoreError> {
        let n = one(select(
            self,
            "assistance_hitnohit",
            "COUNT(*)",
            "direction = 'in' AND official = #1 AND day = #2 AND answer IN ('hit', 'no_hit')",
            vec![t(official), t(day)],
            count,
        )?)?;
        u32::try_from(n).map_err(|_| StoreError::Other(format!("query count {n}")))
    }

    fn holdings_cursor(&self) -> Result<i64, StoreError> {
        Ok(select(
            self,
            "assistance_holdings_cursor",
            "after_id",
            "id = 1",
            vec![],
            count,
        )?
        .into_iter()
        .next()
        .unwrap_or(0))
    }

    fn holds(&self, kind: &str, value: &str) -> Result<bool, StoreError> {
        let n = one(select(
            self,
            "assistance_holdings",
            "COUNT(*)",
            "kind = #1 AND value = #2",
            vec![t(kind), t(value)],
            count,
        )?)?;
        Ok(n > 0)
    }

    fn feedback_rows(&self, case_id: Option<&str>) -> Result<Vec<FeedbackRow>, StoreError> {
        match case_id {
            Some(c) => select(
                self,
                "assistance_feedback",
                FEEDBACK,
                "case_id = #1 ORDER BY created_at, feedback_id",
                vec![t(c)],
                feedback,
            ),
            None => select(
                self,
                "assistance_feedback",
                FEEDBACK,
                "1 = 1 ORDER BY created_at, feedback_id",
                vec![],
                feedback,
            ),
        }
    }

    fn bulk_batch_row(&self, batch_id: &str) -> Result<BulkBatchRow, StoreError> {
        one(select(
            self,
            "assistance_bulk_batches",
            BATCH,
            "batch_id = #1",
            vec![t(batch_id)],
            batch,
        )?)
    }

    fn bulk_batch_rows(&self, limit: u32) -> Result<Vec<BulkBatchRow>, StoreError> {
        select(
            self,
            "assistance_bulk_batches",
            BATCH,
            "1 = 1 ORDER BY created_at DESC, batch_id DESC LIMIT #1",
            vec![Param::Int(effective(limit))],
            batch,
        )
    }

    fn replace_sent_body(&self, message_uuid: &str, body: &str) -> Result<u64, StoreError> {
        self.execute(
            &format!(
                "UPDATE assistance_messages SET body = {} \
                 WHERE direction = 'out' AND message_uuid = {} AND state <> 'queued'",
                B::placeholder(1),
                B::placeholder(2)
            ),
            vec![t(body), t(message_uuid)],
        )
    }

    fn queued_bulk_batches(&self) -> Result<Vec<BulkBatchRow>, StoreError> {
        select(
            self,
            "assistance_bulk_batches",
            BATCH,
            "direction = 'out' AND state = 'queued' ORDER BY created_at, batch_id",
            vec![],
            batch,
        )
    }

    fn bulk_parts(&self, batch_id: &str) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        select(
            self,
            "assistance_bulk_parts",
            "row_count, bytes",
            "batch_id = #1 ORDER BY seq",
            vec![t(batch_id)],
            part,
        )
    }

    fn mark_batch_sent(&self, batch_id: &str, exchange_message_id: &str) -> Result<(), StoreError> {
        let ph = B::placeholder;
        self.transact(
            &[
                Statement {
                    sql: format!(
                        "UPDATE assistance_bulk_batches SET state = 'sent', \
                         exchange_message_id = {} WHERE batch_id = {} AND state = 'queued'",
                        ph(1),
                        ph(2)
                    ),
                    params: vec![t(exchange_message_id), t(batch_id)],
                    what: "bulk batch",
                    id: batch_id.to_owned(),
                    versioned: true,
                },
                Statement {
                    sql: format!(
                        "DELETE FROM assistance_bulk_parts WHERE batch_id = {}",
                        ph(1)
                    ),
                    params: vec![t(batch_id)],
                    what: "bulk part",
                    id: batch_id.to_owned(),
                    versioned: false,
                },
            ],
            &[],
        )
    }

    fn bulk_batch_for(
        &self,
        direction: &str,
        dataset: &str,
        period_from: &str,
        period_to: &str,
    ) -> Result<Option<BulkBatchRow>, StoreError> {
        Ok(select(
            self,
            "assistance_bulk_batches",
            BATCH,
            "direction = #1 AND dataset = #2 AND period_from = #3 AND period_to = #4",
            vec![t(direction), t(dataset), t(period_from), t(period_to)],
            batch,
        )?
        .into_iter()
        .next())
    }
}
