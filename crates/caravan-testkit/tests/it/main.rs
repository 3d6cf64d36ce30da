//! The testkit's one test binary: the store and log stories on every backend, crash
//! tests, and PostgreSQL-specific checks. PostgreSQL legs run only with `CARAVAN_TEST_PG_URL` set.

mod access;
mod access_auth;
mod assistance;
mod assistance_wire;
mod child;
mod crash;
mod evidence_stream;
mod exchange;
mod exchange_faults;
mod exchange_netns;
mod exchange_parts;
mod governance;
mod log;
mod mirror;
mod oidc;
mod postgres;
mod screen;
mod story;
mod target;
