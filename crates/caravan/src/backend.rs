//! The one place a store backend is named.

use std::sync::Arc;

use anyhow::Context;
use caravan_store::Store;
use caravan_store_sqlite::SqliteStore;

use crate::config::StoreUrl;

/// Opens the configured store, applying its migrations.
pub fn open_store(url: &StoreUrl) -> anyhow::Result<Arc<dyn Store>> {
    match url {
        StoreUrl::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("create data directory {}", parent.display()))?;
            }
            let store = SqliteStore::open(path)
                .with_context(|| format!("open sqlite store {}", path.display()))?;
            Ok(Arc::new(store))
        }
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres(secret) => {
            let store = caravan_store_postgres::PgStore::connect(secret.expose())
                .with_context(|| format!("connect to {url}"))?;
            Ok(Arc::new(store))
        }
        #[cfg(not(feature = "postgres"))]
        StoreUrl::Postgres(_) => anyhow::bail!(
            "store.url is a PostgreSQL URL, but this build lacks the `postgres` feature"
        ),
    }
}
