//! The `caravan` binary: parse arguments, run, choose the exit code. Nothing else.

use std::process::ExitCode;

fn main() -> ExitCode {
    match caravan::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("caravan: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
