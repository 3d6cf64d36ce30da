//! The `caravan` binary driven as an administrator would: real processes, real files.

mod cli;
mod log;
mod screen;
mod target;
mod tidy;
