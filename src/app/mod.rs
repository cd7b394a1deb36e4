//! The ways in, and the wiring: the Lambda runtime and the command line share one
//! configuration ([`config`]), one logging setup ([`logging`]) and the clients built once
//! ([`wiring`]).

pub(crate) mod actions;
mod check;
pub(crate) mod cli;
pub(crate) mod config;
pub(crate) mod lambda;
pub(crate) mod logging;
pub(crate) mod preview;
pub(crate) mod wiring;

use std::process::ExitCode;

/// Logs go to stderr locally, so `render`'s stdout stays pure JSON.
pub(crate) fn init_cli_logging() -> Result<(), config::ConfigError> {
    logging::init(std::io::stderr)
}

/// Entry point: a Lambda function under the Runtime API, the command line otherwise.
pub fn main_entry() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        return cli::main(&args);
    }
    // Before any other thread exists: the cap is written into the environment.
    let capped_concurrency = config::cap_concurrency();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(lambda::run(capped_concurrency))
}
