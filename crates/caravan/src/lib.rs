//! The Caravan node binary, as a library so tests can drive it.
//!
//! This crate wires the others together: it reads configuration, chooses the store
//! backend (the only place that names one), and maps subcommands to library calls. It
//! holds no business rules; those live in `caravan-domain`, `caravan-ingest` and the
//! engines.

pub mod backend;
pub mod cli;
pub mod commands;
pub mod config;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose);
    commands::dispatch(cli)
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,caravan=info",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARAVAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
