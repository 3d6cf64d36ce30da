//! The `caravan` binary: parse arguments, run, choose the exit code. Nothing else.

use std::process::ExitCode;

// Ingest allocates many small strings per declaration; mimalloc does that with about a
// fifth fewer instructions than the system allocator (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match caravan::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("caravan: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
