//! One module per subcommand; each turns arguments into library calls and prints.

pub(crate) mod account;
mod assist;
mod assist_governance;
mod assist_procedures;
mod assist_wire;
mod demo;
mod demo_assist_wire;
mod generate;
mod ingest;
pub mod log;
mod messages;
mod mirror;
mod mirror_store;
mod partner;
mod screen;
mod screen_resolve;
mod screen_store;
mod serve;
mod target;
mod target_node;

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::config::{Config, RawConfig};

/// Runs the subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::PrintConfig => {
            print!("{}", crate::config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => serve::run(&load_config(cli.config.as_deref())?),
        Command::Ingest(args) => ingest::run(&load_config(cli.config.as_deref())?, &args),
        Command::Generate(args) => generate::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Log(command) => log::run(cli.config.as_deref(), command),
        Command::Screen(command) => screen::run(cli.config.as_deref(), command),
        Command::Partner(command) => partner::run(cli.config.as_deref(), command),
        Command::Keys(command) => partner::keys(cli.config.as_deref(), command),
        Command::Messages(command) => messages::run(cli.config.as_deref(), command),
        Command::Mirror(command) => mirror::run(cli.config.as_deref(), command),
        Command::Target(command) => target::run(cli.config.as_deref(), command),
        Command::Account(command) => account::run(&load_config(cli.config.as_deref())?, command),
        Command::Audit(command) => {
            account::audit_run(&load_config(cli.config.as_deref())?, command)
        }
        Command::Request(command) => assist::run(&load_config(cli.config.as_deref())?, command),
        Command::Hitnohit(command) => {
            assist_wire::hitnohit(&load_config(cli.config.as_deref())?, command)
        }
        Command::Bulk(command) => assist_wire::bulk(&load_config(cli.config.as_deref())?, command),
        Command::Feedback(command) => {
            assist_wire::feedback(&load_config(cli.config.as_deref())?, command)
        }
        Command::Marking(command) => {
            assist_governance::marking(&load_config(cli.config.as_deref())?, command)
        }
        Command::Directory(command) => {
            assist_governance::directory(&load_config(cli.config.as_deref())?, command)
        }
    }
}

/// Defaults, then the file, then the environment; checked once.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let mut raw = match path {
        Some(path) => RawConfig::from_file(path)?,
        None => RawConfig::default(),
    };
    raw.apply_env(std::env::vars())?;
    raw.validate()
}

/// The current time with a UTC offset, for "issued in the future" checks.
pub fn now() -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let utc = chrono::DateTime::from_timestamp(since_epoch.as_secs() as i64, 0)?;
    Some(utc.fixed_offset())
}
