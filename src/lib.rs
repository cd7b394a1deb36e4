//! slack-alarm-notifier: CloudWatch alarms and other AWS notifications, delivered to Slack.
//!
//! Data flows one way: event bytes are [`parse`]d (the envelopes) and handed to the
//! [`sources`] registry, which reads each into a [`model::Notification`]; its source turns it
//! into a neutral [`card`], which [`blocks`] lays out as a Slack payload ([`render`] ties the
//! two); [`slack`] posts it with the webhook from [`secret`]. [`handler`] orchestrates;
//! [`lambda`] and [`cli`] are the two ways in; [`http`] is the one HTTP stack. In app mode,
//! a metric alarm's graph ([`widget`], drawn by CloudWatch in [`graph`]) follows its message.

pub mod blocks;
pub mod card;
pub mod cli;
pub mod config;
pub mod digest;
pub mod graph;
pub mod handler;
pub mod http;
pub mod incident;
pub mod lambda;
pub mod logging;
pub mod model;
pub mod mrkdwn;
pub mod parse;
pub mod queue;
pub mod redact;
pub mod render;
pub mod rotation;
pub mod secret;
pub mod slack;
pub mod sources;
pub mod threads;
pub mod widget;

use std::process::ExitCode;

/// Logs go to stderr locally, so `render`'s stdout stays pure JSON.
pub fn init_cli_logging() -> Result<(), config::ConfigError> {
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
