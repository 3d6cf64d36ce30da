//! PostgreSQL for tests: the opt-in switch and a private schema per test.
//!
//! The PostgreSQL leg of a test runs only when `CARAVAN_TEST_PG_URL` is set (see
//! `.ci/pg-start.sh`); the decision is made at run time, never with `cfg`, so the code
//! always compiles and a skipped leg says so. Each test works in its own schema, named
//! uniquely, so tests running in parallel (nextest runs one process per test) never see
//! each other's rows; the schema is dropped when the guard goes out of scope.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable that enables PostgreSQL tests.
pub const URL_VAR: &str = "CARAVAN_TEST_PG_URL";

/// Set to keep test schemas for inspection instead of dropping them.
pub const KEEP_VAR: &str = "CARAVAN_TEST_PG_KEEP";

/// The test database URL, or `None` after printing that `test`'s PostgreSQL leg is skipped.
pub fn url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            println!("{test}: PostgreSQL leg skipped ({URL_VAR} is not set)");
            None
        }
    }
}

/// A uniquely named schema, dropped with everything in it when this guard drops.
#[derive(Debug)]
pub struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// Picks a name no other test process or thread will pick. The schema itself is
    /// created by `PgStore::connect_with_schema`.
    pub fn new(url: &str, test: &str) -> TestSchema {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let tag: String = test
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(24)
            .collect();
        let name = format!(
            "t_{tag}_{}_{nanos}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        TestSchema {
            url: url.to_owned(),
            name,
        }
    }

    /// Rebuilds the guard for a schema another process created (the crash tests' child).
    pub fn existing(url: &str, name: &str) -> TestSchema {
        TestSchema {
            url: url.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The schema name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A raw connection with this schema on its search path, for assertions below the
    /// store API (for example on `schema_migrations`).
    pub fn client(&self) -> Result<postgres::Client, postgres::Error> {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls)?;
        client.batch_execute(&format!("SET search_path TO \"{}\"", self.name))?;
        Ok(client)
    }

    /// Releases the guard without dropping the schema.
    pub fn forget(mut self) {
        self.name.clear();
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if self.name.is_empty() || std::env::var_os(KEEP_VAR).is_some() {
            return;
        }
        if let Ok(mut client) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ =
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}

/// How many migrations the PostgreSQL backend has: one `.sql` file each in its
/// `migrations/` directory. Tests compare `schema_migrations` against it, so a new
/// migration does not need every test edited.
pub fn migration_count() -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../caravan-store-postgres/migrations");
    let count = std::fs::read_dir(&dir)
        .expect("the PostgreSQL migrations directory")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    i64::try_from(count).expect("a few migrations")
}

/// Asserts that `schema_migrations` in `schema` holds exactly one row per migration file.
pub fn assert_each_migration_applied_once(schema: &TestSchema) {
    let mut client = schema.client().expect("connect");
    let (versions, distinct): (i64, i64) = client
        .query_one(
            "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .expect("count");
    let files = migration_count();
    assert_eq!(
        (versions, distinct),
        (files, files),
        "each migration applied exactly once"
    );
}
