//! The testkit's one test binary: the store story on every backend, crash tests, and
//! PostgreSQL-specific checks. PostgreSQL legs run only with `CARAVAN_TEST_PG_URL` set.

mod crash;
mod postgres;
mod story;
