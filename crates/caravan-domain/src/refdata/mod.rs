//! Reference data compiled into the binary.
