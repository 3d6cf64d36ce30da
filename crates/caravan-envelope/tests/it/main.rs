//! Integration tests of the envelope crate: one binary, one module per concern.
