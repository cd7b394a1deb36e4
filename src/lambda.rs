//! The Lambda adapter: builds the clients once and serves invocations from the Runtime API.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::{Config, ConfigError};
use crate::handler::{Notifier, Outcome};
use crate::runtime::{Invocation, RuntimeApi, RuntimeApiError};
use crate::secret::{SecretSource, SecretStore};
use crate::slack::SlackClient;
use crate::transport::Transport;

/// Time kept back from Lambda's deadline so the function can still report its result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

/// Turns the context's deadline (epoch milliseconds) into an `Instant` with a margin.
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let remaining = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN)
}

/// Builds the Secrets Manager-backed notifier from configuration.
pub async fn notifier_from_config(config: &Config) -> Result<Notifier, ConfigError> {
    let secret_id = config.require_secret_id()?.to_owned();
    let transport = Transport::new();
    // The default credential and region chains, sending through the shared transport.
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(transport.sdk_http_client())
        .load()
        .await;
    let store = SecretStore::new(
        aws_sdk_secretsmanager::Client::new(&aws),
        secret_id,
        config.secret_stage.clone(),
        config.secret_ttl,
    );
    let slack = SlackClient::new(
        transport,
        config.webhook_hosts.clone(),
        config.attempt_timeout,
        config.max_attempts.get(),
    );
    Ok(Notifier::new(config, SecretSource::Manager(store), slack))
}

/// Runs as a Lambda function until the Runtime API fails; Lambda then starts a new process.
pub fn run(runtime: &tokio::runtime::Runtime, api_address: &str) -> ExitCode {
    crate::logging::init(std::io::stdout);
    let mut api = match RuntimeApi::new(api_address) {
        Ok(api) => api,
        Err(e) => return exit_with(&e),
    };
    let notifier = match Config::from_env() {
        Ok(config) => runtime.block_on(notifier_from_config(&config)),
        Err(e) => Err(e),
    };
    let notifier = match notifier {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            if let Err(report) = api.init_failed("InvalidConfiguration", &e.to_string()) {
                tracing::error!(error = %report, "could not report the init error");
            }
            return ExitCode::FAILURE;
        }
    };
    loop {
        let invocation = match api.next_invocation() {
            Ok(i) => i,
            Err(e) => return exit_with(&e),
        };
        if let Err(e) = serve(runtime, &mut api, &notifier, &invocation) {
            return exit_with(&e);
        }
    }
}

/// Handles one event and reports its result.
fn serve(
    runtime: &tokio::runtime::Runtime,
    api: &mut RuntimeApi,
    notifier: &Notifier,
    invocation: &Invocation,
) -> Result<(), RuntimeApiError> {
    notifier
        .secrets
        .set_trace_id(invocation.trace_id.as_deref());
    let deadline = deadline_from_epoch_ms(invocation.deadline_ms);
    let mut handling = std::pin::pin!(notifier.handle(&invocation.event, deadline));
    // A panic inside the handler is reported as this invocation's error; the process stays up.
    let result = runtime.block_on(std::future::poll_fn(|cx| {
        match catch_unwind(AssertUnwindSafe(|| handling.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }));
    let id = &invocation.request_id;
    match result {
        Ok(Ok(outcome)) => api.respond(id, &outcome_json(&outcome)),
        Ok(Err(e)) => api.fail(id, e.error_type(), &e.to_string()),
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(panic = %message, "the handler panicked");
            api.fail(id, "Panic", &format!("the handler panicked: {message}"))
        }
    }
}

fn outcome_json(outcome: &Outcome) -> Vec<u8> {
    serde_json::to_vec(outcome).unwrap_or_else(|_| b"{}".to_vec())
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

fn exit_with(error: &RuntimeApiError) -> ExitCode {
    tracing::error!(error = %error, "stopping: the Runtime API failed");
    ExitCode::FAILURE
}
