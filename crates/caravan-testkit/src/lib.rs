//! Test harnesses shared by Caravan's crates; `publish = false`, a dev-dependency only.
//!
//! It lives in its own crate because it must call every store backend, and a
//! dev-dependency from `caravan-store` to its own backends would be a loop.
//!
//! - [`story`]: the store story, one scenario every `Store` backend must pass.
//! - [`log_story`]: the same for the transparency-log storage (`LogStore`), checked
//!   against `caravan-tlog`'s in-memory reference tree.
//! - [`fixtures`]: declarations built through the real path (draft → validation →
//!   canonical document → SHA-256).
//! - [`exchange`]: two exchange nodes over real mutual TLS on localhost.
//! - [`exchange_story`]: the outbox/inbox/registry scenario every backend must pass.
//! - [`pg`]: the `CARAVAN_TEST_PG_URL` switch and a private schema per test.
//!
//! Helpers here panic on failure: they are assertions, called from tests.

pub mod exchange;
pub mod exchange_story;
pub mod fixtures;
pub mod log_story;
pub mod oidc_idp;
pub mod pg;
pub mod story;

pub use log_story::log_story;
pub use story::story;
