//! Integration tests of caravan-log, against the in-memory store.

mod appender;
mod entry;
mod witness;
