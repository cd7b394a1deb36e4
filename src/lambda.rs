//! The Lambda adapter: builds the clients once and serves invocations from the Runtime API.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::value::RawValue;

use crate::config::Config;
use crate::handler::{HandlerError, Notifier, Outcome};
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
pub async fn notifier_from_config(config: &Config) -> Result<Notifier, lambda_runtime::Error> {
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

/// Runs as a Lambda function until the runtime stops.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    crate::logging::init(std::io::stdout);
    let config =
        Config::from_env().inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let notifier = notifier_from_config(&config).await?;
    let notifier = &notifier;
    // The event arrives as raw JSON: parsing reads only the fields it needs.
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let deadline = deadline_from_epoch_ms(event.context.deadline);
            let result: Result<Outcome, HandlerError> = notifier
                .handle(event.payload.get().as_bytes(), deadline)
                .await;
            result
        },
    ))
    .await
}
