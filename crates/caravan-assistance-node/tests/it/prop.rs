//! Property test: see below.
