//! The optional PostgreSQL store, for administrations that already run a database server
//! and want several nodes, backups and analytics on one database.
//!
//! It behaves exactly like the embedded SQLite store (`caravan-store-sqlite`), which is
//! the reference: the same logical schema, the same duplicate rules, the same
//! all-or-nothing batch. The store story in `caravan-testkit` runs against both.
//!
//! Why it is built the way it is:
//!
//! - **Sync client, one connection behind a mutex.** The store traits are synchronous and a
//!   node ingests one batch at a time, so one connection is enough; a broken connection is
//!   replaced on the next call.
//! - **One transaction per batch, and an advisory lock.** [`IngestBatch`] is all-or-nothing
//!   by being one transaction. `pg_advisory_xact_lock` serialises batches across every
//!   process using the same schema, which is what lets `put` answer at once: while the
//!   lock is held nobody else can insert a (declarant, LRN) between our lookup and our
//!   commit. The lock is released by PostgreSQL at commit, rollback, or when a crashed
//!   client's connection drops.
//! - **COPY, not INSERT.** Row-by-row INSERTs cost a round trip each (a dozen per
//!   declaration). `put` buffers rows and writes them with binary `COPY ... FROM STDIN`
//!   every [`FLUSH_EVERY`] declarations; ids come from `declarations_id_seq`, reserved in
//!   blocks, so child rows can be written before their parent row exists on the server.
//! - **The outcome of `put` is exact.** `put` returns `Inserted`, `Replayed` or a conflict
//!   immediately, so it must know whether the key exists. Keys already in the database
//!   (committed, or flushed earlier in this batch) are found with one indexed lookup on a
//!   prepared statement, one round trip per `put`; keys still in the unflushed buffer are
//!   found in a hash map. Nothing is written for a replay or a conflict, so after a
//!   conflict the batch is still consistent (the caller abandons it anyway). The lookup
//!   round trip is most of the cost of a `put`, so one shortcut stays exact: a declarant
//!   with nothing stored when the batch first meets it (one `EXISTS` query) cannot gain a
//!   stored declaration except through this batch, so its keys are answered from memory
//!   (bounded; past the bound the batch falls back to lookups). Why not check keys in
//!   bulk at flush time instead: `put` would have to guess `Inserted` and could not take
//!   it back, breaking the contract that callers (and the batch summary) rely on.
//! - **Child rows keep their foreign keys**, as in SQLite, although the checks cost about
//!   a third of the COPY time: the database, not only this code, vouches that no goods
//!   item is orphaned. Documents are compressed with lz4 (PostgreSQL 14 or later, built
//!   with lz4 as Debian's and PGDG's packages are): pglz made COPY markedly slower.
//! - **Migrations are ours.** `migrations/*.sql` are applied at connect, each in one
//!   transaction with its `schema_migrations` row, under an advisory lock so that two
//!   nodes starting at once do not race.
//! - **The transparency log** (`LogStore`, module `log`) is one transaction per appended
//!   batch, with `SELECT ... FOR UPDATE` on the log's row as the size compare-and-set.

mod access;
mod assistance;
mod exchange;
mod log;
mod mirror;
mod screen;
mod target;

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use caravan_store::rows::{self, DeclarationRow, ItemRow, PartyRow};
use caravan_store::{
    BatchSummary, Conflict, DeclarationRecord, DeclarationStore, DeclarationSummary, IngestBatch,
    IngestSource, PutOutcome, StoreCounts, StoreError, StoredDeclaration, StoredFinding,
};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, NoTls, Statement};

/// Migrations, applied in order at connect; the index is the schema version.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_declarations",
        include_str!("../migrations/0001_declarations.sql"),
    ),
    (
        "0002_transparency_log",
        include_str!("../migrations/0002_transparency_log.sql"),
    ),
    (
        "0003_exchange",
        include_str!("../migrations/0003_exchange.sql"),
    ),
    ("0004_access", include_str!("../migrations/0004_access.sql")),
    (
        "0005_targeting",
        include_str!("../migrations/0005_targeting.sql"),
    ),
    (
        "0006_screening",
        include_str!("../migrations/0006_screening.sql"),
    ),
    ("0007_mirror", include_str!("../migrations/0007_mirror.sql")),
    (
        "0008_assistance",
        include_str!("../migrations/0008_assistance.sql"),
    ),
    (
        "0009_assistance_more",
        include_str!("../migrations/0009_assistance_more.sql"),
    ),
    (
        "0010_assistance_wire",
        include_str!("../migrations/0010_assistance_wire.sql"),
    ),
    (
        "0011_access_auth",
        include_str!("../migrations/0011_access_auth.sql"),
    ),
    (
        "0013_screen_resolution",
        include_str!("../migrations/0013_screen_resolution.sql"),
    ),
    (
        "0014_account_language",
        include_str!("../migrations/0014_account_language.sql"),
    ),
    (
        "0017_oidc_links",
        include_str!("../migrations/0017_oidc_links.sql"),
    ),
];

/// Declarations buffered by a batch before their rows are written with COPY.
pub const FLUSH_EVERY: usize = 2_000;

/// Keys a batch remembers for declarants new to the store before it falls back to
/// looking every key up (about 100 bytes each).
const MAX_FRESH_KEYS: usize = 1_000_000;

/// First argument of the two-key advisory locks; the second is a hash of the schema name,
/// so stores in different schemas of one database do not wait for each other.
const LOCK_MIGRATE: i32 = 0x4341_5201; // "CAR" + 1
const LOCK_INGEST: i32 = 0x4341_5202; // "CAR" + 2

/// The PostgreSQL-backed store.
pub struct PgStore {
    conn: Mutex<Client>,
    config: Config,
    /// Schema every statement runs in (the first existing schema of the search path).
    schema: String,
    /// Set when the store was opened in a named schema, so reconnects set it again.
    search_path: Option<String>,
}

/// Classifies a driver error: lost connections and overload are `Unavailable` (retrying
/// may help), everything else is `Other`. Messages carry the server's message and SQLSTATE
/// but never the statement text.
fn classify(context: &str, err: &postgres::Error) -> StoreError {
    if let Some(db) = err.as_db_error() {
        let code = db.code().code();
        let message = format!("{context}: {} (SQLSTATE {code})", db.message());
        // 08: connection exception; 53: insufficient resources; 57P: operator intervention
        // (shutdown, cannot connect now); 40001/40P01: serialization failure, deadlock.
        let transient = code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("57P")
            || code == "40001"
            || code == "40P01";
        return if transient {
            StoreError::Unavailable(message)
        } else {
            StoreError::Other(message)
        };
    }
    let io = std::error::Error::source(err).is_some_and(|s| s.is::<std::io::Error>());
    if err.is_closed() || io {
        StoreError::Unavailable(format!("{context}: {err}"))
    } else {
        StoreError::Other(format!("{context}: {err}"))
    }
}

fn other(context: &str) -> impl Fn(postgres::Error) -> StoreError + '_ {
    move |err| classify(context, &err)
}

/// A schema name we are willing to interpolate: a plain lower-case SQL identifier.
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    // `pg_` names are reserved for PostgreSQL's own schemas.
    if first_ok && rest_ok && schema.len() <= 63 && !schema.starts_with("pg_") {
        Ok(())
    } else {
        Err(StoreError::Other(format!(
            "schema name {schema:?} must be 1-63 characters of a-z, 0-9 and _, not starting with a digit or pg_"
        )))
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, or key=value form) without TLS,
    /// and applies pending migrations in the first schema of the connection's search path
    /// (normally `public`). Meant for a server on loopback or a private network.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        PgStore::open(url, None)
    }

    /// Like [`PgStore::connect`], but works in `schema`, creating it if it does not exist.
    /// Lets several stores (tests, or nodes sharing a server) live in one database.
    /// `schema` must be a plain lower-case identifier.
    pub fn connect_with_schema(url: &str, schema: &str) -> Result<PgStore, StoreError> {
        check_schema_name(schema)?;
        PgStore::open(url, Some(schema.to_owned()))
    }

    fn open(url: &str, search_path: Option<String>) -> Result<PgStore, StoreError> {
        let mut config: Config = url.parse().map_err(|err: postgres::Error| {
            StoreError::Other(format!("invalid PostgreSQL URL: {err}"))
        })?;
        if config.get_application_name().is_none() {
            config.application_name("caravan");
        }
        let mut client = connect_client(&config, search_path.as_deref())?;
        let schema = migrate(&mut client)?;
        Ok(PgStore {
            conn: Mutex::new(client),
            config,
            schema,
            search_path,
        })
    }

    /// The schema this store works in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The connection, replaced first if the previous one was lost.
    fn lock(&self) -> Result<MutexGuard<'_, Client>, StoreError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| StoreError::Other("postgres connection mutex poisoned".into()))?;
        if guard.is_closed() {
            *guard = connect_client(&self.config, self.search_path.as_deref())?;
        }
        Ok(guard)
    }
}

/// Opens a connection; with a schema, creates it if needed and puts it on the search path.
fn connect_client(config: &Config, schema: Option<&str>) -> Result<Client, StoreError> {
    let mut client = config.connect(NoTls).map_err(|err| {
        // Whatever went wrong while connecting (refused, auth, unknown database), the
        // store cannot be reached; the message says why.
        StoreError::Unavailable(format!("connect to postgres: {err}"))
    })?;
    if let Some(schema) = schema {
        let mut tx = client
            .transaction()
            .map_err(other("begin schema creation"))?;
        // CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent creator; the lock is.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&LOCK_MIGRATE, &schema],
        )
        .map_err(other("lock schema creation"))?;
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .map_err(other("create schema"))?;
        tx.commit().map_err(other("commit schema creation"))?;
        client
            .batch_execute(&format!("SET search_path TO \"{schema}\""))
            .map_err(other("set search_path"))?;
    }
    Ok(client)
}

/// Applies pending migrations, returns the schema they live in.
fn migrate(client: &mut Client) -> Result<String, StoreError> {
    let mut tx = client.transaction().map_err(other("begin migration"))?;
    let schema: Option<String> = tx
        .query_one("SELECT current_schema()::text", &[])
        .and_then(|row| row.try_get(0))
        .map_err(other("read current schema"))?;
    let schema = schema.ok_or_else(|| {
        StoreError::Other(
            "no schema of the search_path exists; create it or set search_path".into(),
        )
    })?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&LOCK_MIGRATE, &schema],
    )
    .map_err(other("lock migrations"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY, name TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .map_err(other("create schema_migrations"))?;
    let applied: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM schema_migrations",
            &[],
        )
        .and_then(|row| row.try_get(0))
        .map_err(other("read schema version"))?;
    if applied as usize > MIGRATIONS.len() {
        return Err(StoreError::Other(format!(
            "database schema version {applied} is newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    // All pending migrations and their version rows commit together: a crash leaves the
    // previous version intact. Dropping `tx` on an error rolls back.
    for (idx, (name, sql)) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let version = idx as i64 + 1;
        tx.batch_execute(sql).map_err(other("apply migration"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&version, name],
        )
        .map_err(other("record migration"))?;
    }
    tx.commit().map_err(other("commit migrations"))?;
    Ok(schema)
}

/// One buffered `declarations` row.
struct PendingDeclaration {
    id: i64,
    source_record: i64,
    row: DeclarationRow,
    digest: [u8; 32],
    document: Vec<u8>,
}

/// One buffered `findings` row.
struct PendingFinding {
    declaration_id: i64,
    ordinal: i64,
    severity: &'static str,
    code: &'static str,
    path: String,
    value: Option<String>,
    message: String,
}

/// Rows waiting for the next COPY.
#[derive(Default)]
struct Buffer {
    declarations: Vec<PendingDeclaration>,
    items: Vec<(i64, ItemRow)>,
    parties: Vec<(i64, PartyRow)>,
    containers: Vec<(i64, i64, String, bool)>,
    findings: Vec<PendingFinding>,
}

struct PgBatch<'a> {
    conn: MutexGuard<'a, Client>,
    provenance: &'static str,
    run_id: i64,
    summary: BatchSummary,
    /// `SELECT id, digest FROM declarations WHERE declarant = $1 AND lrn = $2`.
    lookup: Statement,
    /// Ids reserved from the sequence and not yet used, ascending.
    ids: VecDeque<i64>,
    /// Size of the next reservation; grows so small batches waste few ids.
    reserve: usize,
    buffer: Buffer,
    /// Keys of the buffered declarations: (declarant, lrn) → (id, digest).
    unflushed: HashMap<(String, String), (i64, [u8; 32])>,
    /// Declarants that had no stored declaration when the batch first met them. Under
    /// the ingest lock nobody else can add one, so their keys need no lookup: every key
    /// of theirs this batch stored is in `fresh_keys`.
    fresh: HashMap<String, bool>,
    /// Every key this batch stored for a fresh declarant, flushed or not.
    fresh_keys: HashMap<(String, String), (i64, [u8; 32])>,
    finished: bool,
}

impl Drop for PgBatch<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Nothing of an abandoned batch may remain. If the connection is gone the
            // server has already rolled back, and the next call reconnects.
            let _ = self.conn.batch_execute("ROLLBACK");
        }
    }
}

impl PgBatch<'_> {
    fn outcome_of_existing(
        &mut self,
        row: &DeclarationRow,
        id: i64,
        stored_digest: &[u8],
        digest: &[u8; 32],
    ) -> Result<PutOutcome, StoreError> {
        if stored_digest == digest {
            self.summary.replayed += 1;
            Ok(PutOutcome::Replayed(id))
        } else {
            Err(StoreError::Conflict(Conflict::DuplicateReference {
                declarant: row.declarant.clone(),
                lrn: row.lrn.clone(),
            }))
        }
    }

    fn next_id(&mut self) -> Result<i64, StoreError> {
        if self.ids.is_empty() {
            let n = i32::try_from(self.reserve).unwrap_or(i32::MAX);
            let rows = self
                .conn
                .query(
                    "SELECT nextval('declarations_id_seq') FROM generate_series(1, $1::int4)",
                    &[&n],
                )
                .map_err(other("reserve declaration ids"))?;
            let mut ids = rows
                .iter()
                .map(|r| r.try_get::<_, i64>(0))
                .collect::<Result<Vec<_>, _>>()
                .map_err(other("read reserved ids"))?;
            ids.sort_unstable();
            self.ids = ids.into();
            self.reserve = (self.reserve * 4).min(FLUSH_EVERY);
        }
        self.ids
            .pop_front()
            .ok_or_else(|| StoreError::Other("declaration id reservation returned no ids".into()))
    }

    /// Writes the buffered rows with binary COPY, parents first.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.buffer.declarations.is_empty() {
            return Ok(());
        }
        let buffer = std::mem::take(&mut self.buffer);
        let conn = &mut *self.conn;

        let sink = conn
            .copy_in(
                "COPY declarations (id, run_id, source_record, declarant, lrn, type_code,
                    direction, function_code, mrn, issued_at, declaration_office,
                    invoice_total_milli, invoice_currency, dispatch_country, destination_country,
                    border_mode, lane, provenance, n_items, n_warnings, digest, document)
                 FROM STDIN (FORMAT binary)",
            )
            .map_err(other("copy declarations"))?;
        let t = Type::TEXT;
        let i = Type::INT8;
        let mut w = BinaryCopyInWriter::new(
            sink,
            &[
                i.clone(),
                i.clone(),
                i.clone(),
                t.clone(),
                t.clone(),
                t.clone(),
                t.clone(),
                t.clone(),
                t.clone(),
                t.clone(),
                t.clone(),
                i.clone(),
                t.clone(),
                t.clone(),
                t.clone(),
                i.clone(),
                t.clone(),
                t.clone(),
                i.clone(),
                i.clone(),
                Type::BYTEA,
                Type::BYTEA,
            ],
        );
        for d in &buffer.declarations {
            let r = &d.row;
            let digest: &[u8] = &d.digest;
            let document: &[u8] = &d.document;
            let values: [&(dyn ToSql + Sync); 22] = [
                &d.id,
                &self.run_id,
                &d.source_record,
                &r.declarant,
                &r.lrn,
                &r.type_code,
                &r.direction,
                &r.function_code,
                &r.mrn,
                &r.issued_at,
                &r.declaration_office,
                &r.invoice_total_milli,
                &r.invoice_currency,
                &r.dispatch_country,
                &r.destination_country,
                &r.border_mode,
                &r.lane,
                &self.provenance,
                &r.n_items,
                &r.n_warnings,
                &digest,
                &document,
            ];
            w.write(&values).map_err(other("copy declaration row"))?;
        }
        w.finish().map_err(other("finish declarations copy"))?;

        let sink = conn
            .copy_in(
                "COPY goods_items (declaration_id, sequence, commodity_code, hs6, description,
                    origin_country, gross_mass_micro, net_mass_micro, quantity_micro,
                    quantity_unit, item_price_milli, customs_value_milli, currency, procedure)
                 FROM STDIN (FORMAT binary)",
            )
            .map_err(other("copy goods items"))?;
        let mut w = BinaryCopyInWriter::new(
            sink,
            &[
                i.clone(),
                i.clone(),
                t.clone(),
                t.clone(),
                t.clone(),
                t.clone(),
                i.clone(),
                i.clone(),
                i.clone(),
                t.clone(),
                i.clone(),
                i.clone(),
                t.clone(),
                t.clone(),
            ],
        );
        for (id, item) in &buffer.items {
            let values: [&(dyn ToSql + Sync); 14] = [
                id,
                &item.sequence,
                &item.commodity_code,
                &item.hs6,
                &item.description,
                &item.origin_country,
                &item.gross_mass_micro,
                &item.net_mass_micro,
                &item.quantity_micro,
                &item.quantity_unit,
                &item.item_price_milli,
                &item.customs_value_milli,
                &item.currency,
                &item.procedure,
            ];
            w.write(&values).map_err(other("copy goods item row"))?;
        }
        w.finish().map_err(other("finish goods items copy"))?;

        if !buffer.parties.is_empty() {
            let sink = conn
                .copy_in(
                    "COPY parties (declaration_id, ordinal, role, id_scheme, id_value, id_valid,
                        name, name_key, country) FROM STDIN (FORMAT binary)",
                )
                .map_err(other("copy parties"))?;
            let mut w = BinaryCopyInWriter::new(
                sink,
                &[
                    i.clone(),
                    i.clone(),
                    t.clone(),
                    t.clone(),
                    t.clone(),
                    Type::BOOL,
                    t.clone(),
                    t.clone(),
                    t.clone(),
                ],
            );
            for (id, p) in &buffer.parties {
                let values: [&(dyn ToSql + Sync); 9] = [
                    id,
                    &p.ordinal,
                    &p.role,
                    &p.id_scheme,
                    &p.id_value,
                    &p.id_valid,
                    &p.name,
                    &p.name_key,
                    &p.country,
                ];
                w.write(&values).map_err(other("copy party row"))?;
            }
            w.finish().map_err(other("finish parties copy"))?;
        }

        if !buffer.containers.is_empty() {
            let sink = conn
                .copy_in(
                    "COPY containers (declaration_id, ordinal, container_id, iso6346_valid)
                     FROM STDIN (FORMAT binary)",
                )
                .map_err(other("copy containers"))?;
            let mut w =
                BinaryCopyInWriter::new(sink, &[i.clone(), i.clone(), t.clone(), Type::BOOL]);
            for (id, ordinal, number, valid) in &buffer.containers {
                w.write(&[id, ordinal, number, valid])
                    .map_err(other("copy container row"))?;
            }
            w.finish().map_err(other("finish containers copy"))?;
        }

        if !buffer.findings.is_empty() {
            let sink = conn
                .copy_in(
                    "COPY findings (declaration_id, ordinal, severity, code, path, value, message)
                     FROM STDIN (FORMAT binary)",
                )
                .map_err(other("copy findings"))?;
            let mut w = BinaryCopyInWriter::new(
                sink,
                &[i.clone(), i, t.clone(), t.clone(), t.clone(), t.clone(), t],
            );
            for f in &buffer.findings {
                let values: [&(dyn ToSql + Sync); 7] = [
                    &f.declaration_id,
                    &f.ordinal,
                    &f.severity,
                    &f.code,
                    &f.path,
                    &f.value,
                    &f.message,
                ];
                w.write(&values).map_err(other("copy finding row"))?;
            }
            w.finish().map_err(other("finish findings copy"))?;
        }
        // Flushed rows are now visible to `lookup` inside this transaction.
        self.unflushed.clear();
        Ok(())
    }
}

impl IngestBatch for PgBatch<'_> {
    fn put(&mut self, record: &DeclarationRecord<'_>) -> Result<PutOutcome, StoreError> {
        let d = record.declaration;
        let row = DeclarationRow::new(d, record.findings);

        // A key put earlier in this batch and not yet flushed.
        let key = (row.declarant.clone(), row.lrn.clone());
        if let Some(&(id, digest)) = self.unflushed.get(&key) {
            return self.outcome_of_existing(&row, id, &digest, &record.digest);
        }
        if self.is_fresh(&row.declarant)? {
            if let Some(&(id, digest)) = self.fresh_keys.get(&key) {
                return self.outcome_of_existing(&row, id, &digest, &record.digest);
            }
        } else if let Some(found) = self.lookup(&row)? {
            let (id, stored) = found;
            return self.outcome_of_existing(&row, id, &stored, &record.digest);
        }
        let id = self.next_id()?;
        if self.fresh.get(&row.declarant) == Some(&true) {
            if self.fresh_keys.len() >= MAX_FRESH_KEYS {
                // Bound memory: fall back to lookups, which see every flushed row, and
                // the unflushed map, which holds the rest.
                self.fresh.values_mut().for_each(|f| *f = false);
                self.fresh_keys.clear();
            } else {
                self.fresh_keys.insert(key.clone(), (id, record.digest));
            }
        }
        self.stage(record, row, key, id)
    }

    fn commit(mut self: Box<Self>) -> Result<BatchSummary, StoreError> {
        self.flush()?;
        let (inserted, replayed, items) = (
            self.summary.inserted as i64,
            self.summary.replayed as i64,
            self.summary.items as i64,
        );
        let run_id = self.run_id;
        self.conn
            .execute(
                "UPDATE ingest_runs SET inserted = $1, replayed = $2, items = $3 WHERE id = $4",
                &[&inserted, &replayed, &items, &run_id],
            )
            .map_err(other("record ingest run"))?;
        // If COMMIT fails the transaction is gone either way; Drop's ROLLBACK is harmless.
        self.conn
            .batch_execute("COMMIT")
            .map_err(other("commit ingest batch"))?;
        self.finished = true;
        Ok(self.summary)
    }
}

impl PgBatch<'_> {
    /// Whether `declarant` had nothing stored when this batch first met it (one query
    /// per declarant per batch).
    fn is_fresh(&mut self, declarant: &str) -> Result<bool, StoreError> {
        if let Some(&fresh) = self.fresh.get(declarant) {
            return Ok(fresh);
        }
        let stored: bool = self
            .conn
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM declarations WHERE declarant = $1)",
                &[&declarant],
            )
            .and_then(|row| row.try_get(0))
            .map_err(other("look up declarant"))?;
        // Asked before the batch stages anything for this declarant, so "not stored"
        // means "not stored by anyone", and stays true under the ingest lock.
        let fresh = !stored && self.fresh_keys.len() < MAX_FRESH_KEYS;
        self.fresh.insert(declarant.to_owned(), fresh);
        Ok(fresh)
    }

    /// A committed key, or one flushed earlier in this batch. The ingest lock keeps every
    /// other writer out until we commit, so the answer cannot go stale.
    fn lookup(&mut self, row: &DeclarationRow) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        let found = self
            .conn
            .query_opt(&self.lookup, &[&row.declarant, &row.lrn])
            .map_err(other("look up declaration key"))?;
        let Some(found) = found else { return Ok(None) };
        let id: i64 = found.try_get(0).map_err(other("read duplicate id"))?;
        let stored: Vec<u8> = found.try_get(1).map_err(other("read duplicate digest"))?;
        Ok(Some((id, stored)))
    }

    /// Buffers a new declaration's rows under `id`, flushing when the buffer is full.
    fn stage(
        &mut self,
        record: &DeclarationRecord<'_>,
        row: DeclarationRow,
        key: (String, String),
        id: i64,
    ) -> Result<PutOutcome, StoreError> {
        let d = record.declaration;
        let buffer = &mut self.buffer;
        buffer
            .items
            .extend(rows::item_rows(d).map(|item| (id, item)));
        buffer
            .parties
            .extend(rows::party_rows(d).map(|party| (id, party)));
        buffer.containers.extend(
            rows::container_rows(d).map(|(ordinal, number, valid)| (id, ordinal, number, valid)),
        );
        buffer.findings.extend(
            record
                .findings
                .iter()
                .enumerate()
                .map(|(n, f)| PendingFinding {
                    declaration_id: id,
                    ordinal: n as i64 + 1,
                    severity: f.severity.as_str(),
                    code: f.code,
                    path: f.path.clone(),
                    value: f.value.clone(),
                    message: f.message.clone(),
                }),
        );
        buffer.declarations.push(PendingDeclaration {
            id,
            source_record: i64::try_from(record.source_record)
                .map_err(|_| StoreError::Other("source record number out of range".into()))?,
            row,
            digest: record.digest,
            document: record.document.to_vec(),
        });
        self.unflushed.insert(key, (id, record.digest));
        self.summary.inserted += 1;
        self.summary.items += d.items.len() as u64;
        if self.buffer.declarations.len() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(PutOutcome::Inserted(id))
    }
}

impl DeclarationStore for PgStore {
    fn begin_ingest(&self, source: &IngestSource) -> Result<Box<dyn IngestBatch + '_>, StoreError> {
        let mut conn = self.lock()?;
        conn.batch_execute("BEGIN")
            .map_err(other("begin ingest batch"))?;
        let provenance = rows::provenance_name(source.provenance);
        let opened = (|| {
            // One batch at a time per schema, across processes; released at commit,
            // rollback, or disconnect.
            conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&LOCK_INGEST, &self.schema],
            )
            .map_err(other("take ingest lock"))?;
            let run_id: i64 = conn
                .query_one(
                    "INSERT INTO ingest_runs (source_name, format, provenance, inserted, replayed, items)
                     VALUES ($1, $2, $3, 0, 0, 0) RETURNING id",
                    &[&source.name, &source.format, &provenance],
                )
                .and_then(|row| row.try_get(0))
                .map_err(other("open ingest run"))?;
            let lookup = conn
                .prepare("SELECT id, digest FROM declarations WHERE declarant = $1 AND lrn = $2")
                .map_err(other("prepare key lookup"))?;
            Ok::<_, StoreError>((run_id, lookup))
        })();
        let (run_id, lookup) = match opened {
            Ok(opened) => opened,
            Err(err) => {
                let _ = conn.batch_execute("ROLLBACK");
                return Err(err);
            }
        };
        Ok(Box::new(PgBatch {
            conn,
            provenance,
            run_id,
            summary: BatchSummary {
                run_id,
                ..BatchSummary::default()
            },
            lookup,
            ids: VecDeque::new(),
            reserve: 16,
            buffer: Buffer::default(),
            unflushed: HashMap::new(),
            fresh: HashMap::new(),
            fresh_keys: HashMap::new(),
            finished: false,
        }))
    }

    fn declaration(&self, declarant: &str, lrn: &str) -> Result<StoredDeclaration, StoreError> {
        let mut conn = self.lock()?;
        let found = conn
            .query_opt(
                "SELECT id, document, digest, run_id FROM declarations WHERE declarant = $1 AND lrn = $2",
                &[&declarant, &lrn],
            )
            .map_err(other("read declaration"))?;
        let Some(found) = found else {
            return Err(StoreError::NotFound);
        };
        let id: i64 = found.try_get(0).map_err(other("read declaration id"))?;
        let document: Vec<u8> = found.try_get(1).map_err(other("read document"))?;
        let digest: Vec<u8> = found.try_get(2).map_err(other("read digest"))?;
        let run_id: i64 = found.try_get(3).map_err(other("read run id"))?;
        let findings = conn
            .query(
                "SELECT severity, code, path, value, message FROM findings
                 WHERE declaration_id = $1 ORDER BY ordinal",
                &[&id],
            )
            .map_err(other("read findings"))?
            .iter()
            .map(|r| {
                Ok(StoredFinding {
                    severity: r.try_get(0)?,
                    code: r.try_get(1)?,
                    path: r.try_get(2)?,
                    value: r.try_get(3)?,
                    message: r.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>, postgres::Error>>()
            .map_err(other("read finding row"))?;
        let digest: [u8; 32] = digest
            .try_into()
            .map_err(|_| StoreError::Other("stored digest is not 32 bytes".into()))?;
        Ok(StoredDeclaration {
            id,
            document,
            digest,
            findings,
            run_id,
        })
    }

    fn list(&self, limit: u32, offset: u32) -> Result<Vec<DeclarationSummary>, StoreError> {
        let mut conn = self.lock()?;
        let (limit, offset) = (i64::from(limit), i64::from(offset));
        conn.query(
            "SELECT id, type_code, direction, declarant, lrn, n_items, n_warnings
             FROM declarations ORDER BY id DESC LIMIT $1 OFFSET $2",
            &[&limit, &offset],
        )
        .map_err(other("list declarations"))?
        .iter()
        .map(|r| {
            Ok(DeclarationSummary {
                id: r.try_get(0)?,
                type_code: r.try_get(1)?,
                direction: r.try_get(2)?,
                declarant: r.try_get(3)?,
                lrn: r.try_get(4)?,
                items: r.try_get::<_, i64>(5)? as u64,
                warnings: r.try_get::<_, i64>(6)? as u64,
            })
        })
        .collect::<Result<Vec<_>, postgres::Error>>()
        .map_err(other("read listing row"))
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        let mut conn = self.lock()?;
        // One statement, one snapshot: the numbers agree with each other.
        let row = conn
            .query_one(
                "SELECT
                    (SELECT COUNT(*) FROM declarations),
                    (SELECT COUNT(*) FROM declarations WHERE direction = 'import'),
                    (SELECT COUNT(*) FROM declarations WHERE direction = 'export'),
                    (SELECT COUNT(*) FROM goods_items),
                    (SELECT COUNT(*) FROM parties),
                    (SELECT COUNT(*) FROM (SELECT DISTINCT CASE WHEN id_value IS NOT NULL
                        THEN id_scheme || ':' || id_value ELSE 'name:' || COALESCE(name_key, '') END
                     FROM parties) AS keys),
                    (SELECT COUNT(*) FROM containers),
                    (SELECT COUNT(*) FROM findings WHERE severity = 'warning'),
                    (SELECT COUNT(*) FROM ingest_runs)",
                &[],
            )
            .map_err(other("count rows"))?;
        let n = |idx: usize| -> Result<u64, StoreError> {
            row.try_get::<_, i64>(idx)
                .map(|n| n as u64)
                .map_err(other("read count"))
        };
        Ok(StoreCounts {
            declarations: n(0)?,
            imports: n(1)?,
            exports: n(2)?,
            items: n(3)?,
            parties: n(4)?,
            distinct_parties: n(5)?,
            containers: n(6)?,
            warnings: n(7)?,
            runs: n(8)?,
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        conn.batch_execute("SELECT 1").map_err(other("ping"))
    }
}

#[cfg(test)]
mod tests {
    use super::check_schema_name;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("caravan_t_1").is_ok());
        assert!(check_schema_name("_x").is_ok());
        assert!(check_schema_name("").is_err());
        assert!(check_schema_name("1abc").is_err());
        assert!(check_schema_name("a\"b").is_err());
        assert!(check_schema_name("Public").is_err());
        assert!(check_schema_name("pg_temp").is_err());
        assert!(check_schema_name(&"a".repeat(64)).is_err());
    }
}
