//! Identifier types that parse once and stay valid.
