//! The store story on every backend: SQLite always, PostgreSQL when CARAVAN_TEST_PG_URL
//! is set.

use caravan_store::Store;
use caravan_store_postgres::PgStore;
use caravan_store_sqlite::SqliteStore;
use caravan_testkit::pg::{self, TestSchema};

#[test]
fn sqlite_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("caravan.db");
    caravan_testkit::story(&|| SqliteStore::open(&path).map(|s| Box::new(s) as Box<dyn Store>));
}

#[test]
fn postgres_story() {
    let Some(url) = pg::url("postgres_story") else {
        return;
    };
    let schema = TestSchema::new(&url, "story");
    caravan_testkit::story(&|| {
        PgStore::connect_with_schema(&url, schema.name()).map(|s| Box::new(s) as Box<dyn Store>)
    });
    // Migrations ran once, however often the story reopened the store.
    pg::assert_each_migration_applied_once(&schema);
}
