//! What the crash tests' child processes share: opening the store a parent names in an
//! environment variable, as `sqlite:<path>` or `postgres:<schema>`.

use std::path::Path;

use caravan_store::{Store, StoreError};
use caravan_store_postgres::PgStore;
use caravan_store_sqlite::SqliteStore;
use caravan_testkit::pg;

/// Opens the store named by `spec`.
pub(crate) fn open(spec: &str) -> Result<Box<dyn Store>, StoreError> {
    if let Some(path) = spec.strip_prefix("sqlite:") {
        return SqliteStore::open(Path::new(path)).map(|s| Box::new(s) as Box<dyn Store>);
    }
    if let Some(schema) = spec.strip_prefix("postgres:") {
        let url = std::env::var(pg::URL_VAR).expect("the child inherits the PostgreSQL URL");
        return PgStore::connect_with_schema(&url, schema).map(|s| Box::new(s) as Box<dyn Store>);
    }
    panic!("unknown crash spec {spec:?}")
}
