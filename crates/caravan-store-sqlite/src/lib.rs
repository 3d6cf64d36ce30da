//! The default store: one SQLite file in the node's data directory.
//!
//! Why SQLite: a node must run with no database server to install, and an officer's
//! laptop node must survive being switched off mid-ingest. WAL mode and one transaction
//! per ingest batch give that: a batch is visible whole or not at all, whatever instant
//! the process dies. The connection sits behind a mutex; the node's write volume is one
//! ingest at a time, and SQLite has one writer anyway. The transparency log's storage
//! (`LogStore`, module `log`) follows the same rule: one fsynced transaction per batch.

mod access;
mod assistance;
mod exchange;
mod log;
mod mirror;
mod screen;
mod target;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use caravan_store::rows::{self, DeclarationRow};
use caravan_store::{
    BatchSummary, Conflict, DeclarationRecord, DeclarationStore, DeclarationSummary, IngestBatch,
    IngestSource, PutOutcome, StoreCounts, StoreError, StoredDeclaration, StoredFinding,
};
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

/// Migrations, applied in order at open; the index is the schema version.
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

/// The SQLite-backed store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// A second, query-only connection to the same file for the exchange's reads in a
    /// message's path (a duplicate check, a conversation's next message). In WAL mode it
    /// sees every committed write and is never blocked by the writer, so those reads do
    /// not queue behind a group commit's fsync. `None` for an in-memory store.
    reader: Option<Mutex<Connection>>,
}

fn other(context: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |err| match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(format!("{context}: {err}"))
        }
        _ => StoreError::Other(format!("{context}: {err}")),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(other("open sqlite database"))?;
        let mut store = SqliteStore::init(conn)?;
        let reader = Connection::open(path).map_err(other("open sqlite reader"))?;
        reader
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(other("set reader busy timeout"))?;
        reader
            .execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -16384;")
            .map_err(other("set reader pragmas"))?;
        store.reader = Some(Mutex::new(reader));
        Ok(store)
    }

    /// An in-memory store, for tests and tools that need no file.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory().map_err(other("open in-memory sqlite"))?;
        SqliteStore::init(conn)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(other("set busy timeout"))?;
        // WAL: readers never block the writer; FULL: a committed batch survives power loss.
        // 16 KiB pages (set before the first table exists; ignored afterwards) and a 128 MiB
        // page cache: an ingest batch is one long transaction, and once its pages outgrow
        // the cache SQLite spills them to the WAL and reads them back.
        conn.execute_batch(
            "PRAGMA page_size = 16384;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -131072;",
        )
        .map_err(other("set pragmas"))?;
        migrate(&conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            reader: None,
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Other("sqlite connection mutex poisoned".into()))
    }

    /// The query-only connection, or the writer's for an in-memory store. For reads
    /// outside any transaction that need only committed data.
    fn read_lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        match &self.reader {
            Some(reader) => reader
                .lock()
                .map_err(|_| StoreError::Other("sqlite reader mutex poisoned".into())),
            None => self.lock(),
        }
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL,
             applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
    )
    .map_err(other("create schema_migrations"))?;
    let applied: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(other("read schema version"))?;
    if applied as usize > MIGRATIONS.len() {
        return Err(StoreError::Other(format!(
            "database schema version {applied} is newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (idx, (name, sql)) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let version = idx as i64 + 1;
        // Each migration and its version row commit together, so a crash mid-migration
        // leaves the previous version intact.
        let script = format!(
            "BEGIN IMMEDIATE;\n{sql}\nINSERT INTO schema_migrations (version, name) VALUES ({version}, '{name}');\nCOMMIT;"
        );
        if let Err(err) = conn.execute_batch(&script) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(other("apply migration")(err));
        }
    }
    Ok(())
}

struct SqliteBatch<'a> {
    conn: MutexGuard<'a, Connection>,
    source: IngestSource,
    run_id: i64,
    summary: BatchSummary,
    committed: bool,
}

impl Drop for SqliteBatch<'_> {
    fn drop(&mut self) {
        if !self.committed {
            // Nothing of an abandoned batch may remain.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl IngestBatch for SqliteBatch<'_> {
    fn put(&mut self, record: &DeclarationRecord<'_>) -> Result<PutOutcome, StoreError> {
        let d = record.declaration;
        let row = DeclarationRow::new(d, record.findings);
        let conn = &*self.conn;
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO declarations (run_id, source_record, declarant, lrn, type_code,
                    direction, function_code, mrn, issued_at, declaration_office,
                    invoice_total_milli, invoice_currency, dispatch_country, destination_country,
                    border_mode, lane, provenance, n_items, n_warnings, digest, document)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19, ?20, ?21)",
            )
            .map_err(other("prepare declaration insert"))?;
        let inserted = insert.execute(params![
            self.run_id,
            record.source_record as i64,
            row.declarant,
            row.lrn,
            row.type_code,
            row.direction,
            row.function_code,
            row.mrn,
            row.issued_at,
            row.declaration_office,
            row.invoice_total_milli,
            row.invoice_currency,
            row.dispatch_country,
            row.destination_country,
            row.border_mode,
            row.lane,
            rows::provenance_name(self.source.provenance),
            row.n_items,
            row.n_warnings,
            &record.digest[..],
            record.document,
        ]);
        match inserted {
            Ok(_) => {}
            Err(err) if err.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                let (id, digest): (i64, Vec<u8>) = conn
                    .prepare_cached(
                        "SELECT id, digest FROM declarations WHERE declarant = ?1 AND lrn = ?2",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![row.declarant, row.lrn], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                    })
                    .map_err(other("look up duplicate declaration"))?;
                if digest == record.digest {
                    self.summary.replayed += 1;
                    return Ok(PutOutcome::Replayed(id));
                }
                return Err(StoreError::Conflict(Conflict::DuplicateReference {
                    declarant: row.declarant,
                    lrn: row.lrn,
                }));
            }
            Err(err) => return Err(other("insert declaration")(err)),
        }
        let id = conn.last_insert_rowid();

        let mut item_stmt = conn
            .prepare_cached(
                "INSERT INTO goods_items (declaration_id, sequence, commodity_code, hs6,
                    description, origin_country, gross_mass_micro, net_mass_micro, quantity_micro,
                    quantity_unit, item_price_milli, customs_value_milli, currency, procedure)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .map_err(other("prepare item insert"))?;
        for item in rows::item_rows(d) {
            item_stmt
                .execute(params![
                    id,
                    item.sequence,
                    item.commodity_code,
                    item.hs6,
                    item.description,
                    item.origin_country,
                    item.gross_mass_micro,
                    item.net_mass_micro,
                    item.quantity_micro,
                    item.quantity_unit,
                    item.item_price_milli,
                    item.customs_value_milli,
                    item.currency,
                    item.procedure,
                ])
                .map_err(other("insert goods item"))?;
        }
        let mut party_stmt = conn
            .prepare_cached(
                "INSERT INTO parties (declaration_id, ordinal, role, id_scheme, id_value, id_valid,
                    name, name_key, country) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(other("prepare party insert"))?;
        for party in rows::party_rows(d) {
            party_stmt
                .execute(params![
                    id,
                    party.ordinal,
                    party.role,
                    party.id_scheme,
                    party.id_value,
                    party.id_valid,
                    party.name,
                    party.name_key,
                    party.country,
                ])
                .map_err(other("insert party"))?;
        }
        if !d.transport.equipment.is_empty() {
            let mut container_stmt = conn
                .prepare_cached(
                    "INSERT INTO containers (declaration_id, ordinal, container_id, iso6346_valid)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(other("prepare container insert"))?;
            for (ordinal, number, valid) in rows::container_rows(d) {
                container_stmt
                    .execute(params![id, ordinal, number, valid])
                    .map_err(other("insert container"))?;
            }
        }
        if !record.findings.is_empty() {
            let mut finding_stmt = conn
                .prepare_cached(
                    "INSERT INTO findings (declaration_id, ordinal, severity, code, path, value, message)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(other("prepare finding insert"))?;
            for (n, f) in record.findings.iter().enumerate() {
                finding_stmt
                    .execute(params![
                        id,
                        n as i64 + 1,
                        f.severity.as_str(),
                        f.code,
                        f.path,
                        f.value,
                        f.message
                    ])
                    .map_err(other("insert finding"))?;
            }
        }
        self.summary.inserted += 1;
        self.summary.items += d.items.len() as u64;
        Ok(PutOutcome::Inserted(id))
    }

    fn commit(mut self: Box<Self>) -> Result<BatchSummary, StoreError> {
        self.conn
            .execute(
                "UPDATE ingest_runs SET inserted = ?1, replayed = ?2, items = ?3 WHERE id = ?4",
                params![
                    self.summary.inserted as i64,
                    self.summary.replayed as i64,
                    self.summary.items as i64,
                    self.run_id
                ],
            )
            .map_err(other("record ingest run"))?;
        self.conn
            .execute_batch("COMMIT")
            .map_err(other("commit ingest batch"))?;
        self.committed = true;
        Ok(self.summary)
    }
}

fn count(conn: &Connection, sql: &str) -> Result<u64, StoreError> {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(other("count rows"))
}

impl DeclarationStore for SqliteStore {
    fn begin_ingest(&self, source: &IngestSource) -> Result<Box<dyn IngestBatch + '_>, StoreError> {
        let conn = self.lock()?;
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(other("begin ingest batch"))?;
        let run = conn.execute(
            "INSERT INTO ingest_runs (source_name, format, provenance, inserted, replayed, items)
             VALUES (?1, ?2, ?3, 0, 0, 0)",
            params![
                source.name,
                source.format,
                rows::provenance_name(source.provenance)
            ],
        );
        if let Err(err) = run {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(other("open ingest run")(err));
        }
        let run_id = conn.last_insert_rowid();
        Ok(Box::new(SqliteBatch {
            conn,
            source: source.clone(),
            run_id,
            summary: BatchSummary {
                run_id,
                ..BatchSummary::default()
            },
            committed: false,
        }))
    }

    fn declaration(&self, declarant: &str, lrn: &str) -> Result<StoredDeclaration, StoreError> {
        let conn = self.lock()?;
        let found = conn
            .query_row(
                "SELECT id, document, digest, run_id FROM declarations WHERE declarant = ?1 AND lrn = ?2",
                params![declarant, lrn],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, Vec<u8>>(2)?, r.get::<_, i64>(3)?)),
            )
            .optional()
            .map_err(other("read declaration"))?;
        let Some((id, document, digest, run_id)) = found else {
            return Err(StoreError::NotFound);
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT severity, code, path, value, message FROM findings
                 WHERE declaration_id = ?1 ORDER BY ordinal",
            )
            .map_err(other("prepare findings query"))?;
        let findings = stmt
            .query_map([id], |r| {
                Ok(StoredFinding {
                    severity: r.get(0)?,
                    code: r.get(1)?,
                    path: r.get(2)?,
                    value: r.get(3)?,
                    message: r.get(4)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(other("read findings"))?;
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
        let conn = self.lock()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, type_code, direction, declarant, lrn, n_items, n_warnings
                 FROM declarations ORDER BY id DESC LIMIT ?1 OFFSET ?2",
            )
            .map_err(other("prepare listing"))?;
        stmt.query_map(params![limit, offset], |r| {
            Ok(DeclarationSummary {
                id: r.get(0)?,
                type_code: r.get(1)?,
                direction: r.get(2)?,
                declarant: r.get(3)?,
                lrn: r.get(4)?,
                items: r.get::<_, i64>(5)? as u64,
                warnings: r.get::<_, i64>(6)? as u64,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(other("list declarations"))
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        let conn = self.lock()?;
        Ok(StoreCounts {
            declarations: count(&conn, "SELECT COUNT(*) FROM declarations")?,
            imports: count(
                &conn,
                "SELECT COUNT(*) FROM declarations WHERE direction = 'import'",
            )?,
            exports: count(
                &conn,
                "SELECT COUNT(*) FROM declarations WHERE direction = 'export'",
            )?,
            items: count(&conn, "SELECT COUNT(*) FROM goods_items")?,
            parties: count(&conn, "SELECT COUNT(*) FROM parties")?,
            distinct_parties: count(
                &conn,
                "SELECT COUNT(*) FROM (SELECT DISTINCT CASE WHEN id_value IS NOT NULL
                    THEN id_scheme || ':' || id_value ELSE 'name:' || COALESCE(name_key, '') END
                 FROM parties)",
            )?,
            containers: count(&conn, "SELECT COUNT(*) FROM containers")?,
            warnings: count(
                &conn,
                "SELECT COUNT(*) FROM findings WHERE severity = 'warning'",
            )?,
            runs: count(&conn, "SELECT COUNT(*) FROM ingest_runs")?,
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.query_row("SELECT 1", [], |_| Ok(()))
            .map_err(other("ping"))
    }
}
