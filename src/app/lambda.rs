//! The Lambda adapter: builds the clients once and serves invocations through `lambda_runtime`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::value::RawValue;

use crate::app::config::{Config, ConfigError};
use crate::deliver::{Notifier, Response};
use crate::graphs::cloudwatch::GraphSource;
use crate::net::HttpSetupError;
use crate::rotation::{RotationRequest, Rotator, StepDone};
use crate::secret::{Call, SecretSource, SecretStore};
use crate::slack::SlackClient;
use crate::threads::store::ThreadStore;

/// Time kept back from Lambda's deadline so the function can still report its result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// 2000-01-01 in epoch milliseconds. A deadline before it cannot be an epoch time.
const EPOCH_FLOOR_MS: u64 = 946_684_800_000;

/// Why the function could not start serving.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Http(#[from] HttpSetupError),
}

/// Turns the invocation's deadline into an `Instant`, less a margin to report the result.
///
/// Lambda sends epoch milliseconds. Some local emulators send the timeout itself (e.g.
/// `600000`); a value before the year 2000 is read as a duration from now, with one warning.
pub(crate) fn deadline_from_ms(deadline_ms: u64) -> Instant {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let remaining = if deadline_ms < EPOCH_FLOOR_MS {
        if !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                deadline_ms,
                "Lambda-Runtime-Deadline-Ms is not an epoch time; reading it as a duration from now (a local emulator?)"
            );
        }
        Duration::from_millis(deadline_ms)
    } else {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Duration::from_millis(deadline_ms.saturating_sub(now_ms))
    };
    Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN)
}

/// What the deployed function serves: notifications, and rotation steps of the Slack token.
pub(crate) struct Function {
    pub notifier: Notifier,
    pub rotator: Rotator,
}

/// Builds the function from configuration.
pub(crate) async fn function_from_config(config: &Config) -> Result<Function, InitError> {
    let tls = crate::net::tls_config(config.extra_ca_file.as_deref())?;
    let aws = aws_sdk_config(&tls).await;
    require_region(&aws)?;
    let secrets = SecretSource::Manager(secret_store(config, &aws)?);
    Ok(Function {
        notifier: notifier_with(config, &tls, &aws, secrets)?,
        rotator: Rotator::new(aws_sdk_secretsmanager::Client::new(&aws)),
    })
}

/// The notifier as the function wires it, with the secret from `secrets`: threads with
/// `THREADS_TABLE`, metric graphs unless `METRIC_GRAPHS` is off. `send` uses it too.
pub(crate) fn notifier_with(
    config: &Config,
    tls: &rustls::ClientConfig,
    aws: &aws_config::SdkConfig,
    secrets: SecretSource,
) -> Result<Notifier, InitError> {
    let notifier = Notifier::new(config, secrets, slack_client(config, tls)?);
    let notifier = match &config.threads_table {
        None => notifier,
        Some(table) => notifier.with_threads(
            thread_store(aws, table.clone(), config.threads_timeout),
            config.thread_settings,
        ),
    };
    Ok(if config.metric_graphs {
        notifier.with_graphs(graph_source(aws, config.metric_graph_timeout))
    } else {
        notifier
    })
}

/// CloudWatch for metric graphs: the SDK gives up within the graph's budget, and retries once.
fn graph_source(aws: &aws_config::SdkConfig, budget: Duration) -> GraphSource {
    let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
        .operation_timeout(budget)
        .connect_timeout(budget)
        .build();
    let retries = aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(2);
    let config = aws_sdk_cloudwatch::config::Builder::from(aws)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    GraphSource::new(aws_sdk_cloudwatch::Client::from_conf(config), budget)
}

/// The SDK's shared configuration: the default credential chain, the region from
/// `AWS_REGION` or the AWS profile, sending through the shared HTTP stack. The region is not
/// asked of EC2's instance metadata, whose failure fills a local run with the SDK's warnings.
pub(crate) async fn aws_sdk_config(tls: &rustls::ClientConfig) -> aws_config::SdkConfig {
    use aws_config::meta::region::RegionProviderChain;
    let region = RegionProviderChain::first_try(
        aws_config::environment::EnvironmentVariableRegionProvider::new(),
    )
    .or_else(aws_config::profile::ProfileFileRegionProvider::new());
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region)
        .http_client(crate::net::sdk_http_client(tls.clone()))
        .load()
        .await
}

/// Every AWS call needs a region: without one, each would fail later with the SDK's
/// `missing signing region`.
pub(crate) fn require_region(aws: &aws_config::SdkConfig) -> Result<(), ConfigError> {
    aws.region().map(|_| ()).ok_or(ConfigError::NoRegion)
}

/// The threads table's client: short timeouts and one quick retry, so a slow or throttled
/// table costs little of the invocation.
fn thread_store(aws: &aws_config::SdkConfig, table: String, call: Duration) -> ThreadStore {
    let attempt = crate::threads::store::attempt_timeout(call);
    let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
        .operation_timeout(call)
        .operation_attempt_timeout(attempt)
        .connect_timeout(attempt)
        .build();
    // Throttling is retried once, soon: backing off for seconds would only delay the post.
    let retries = aws_smithy_types::retry::RetryConfig::standard()
        .with_max_attempts(crate::threads::store::MAX_ATTEMPTS)
        .with_initial_backoff(crate::threads::store::BACKOFF)
        .with_max_backoff(crate::threads::store::BACKOFF);
    let config = aws_sdk_dynamodb::config::Builder::from(aws)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    ThreadStore::new(aws_sdk_dynamodb::Client::from_conf(config), table, call)
}

/// The cached Secrets Manager reader for `SecretId`.
pub(crate) fn secret_store(
    config: &Config,
    aws: &aws_config::SdkConfig,
) -> Result<SecretStore, ConfigError> {
    let secret_id = config.require_secret_id()?.to_owned();
    Ok(SecretStore::new(
        aws_sdk_secretsmanager::Client::new(aws),
        secret_id,
        config.secret_stage.clone(),
        config.secret_ttl,
    ))
}

/// The Slack client (webhooks and Web API) with the configured limits.
pub(crate) fn slack_client(
    config: &Config,
    tls: &rustls::ClientConfig,
) -> Result<SlackClient, HttpSetupError> {
    Ok(SlackClient::new(
        crate::net::slack_client(tls)?,
        config.webhook_hosts.clone(),
        config.api_hosts.clone(),
        config.api_url.clone(),
        config.attempt_timeout,
        config.max_attempts.get(),
    ))
}

/// Lambda's view of a failed invocation: our error type and one-line message, without any
/// credential a server may have echoed into it.
fn diagnostic(error_type: &str, error: &dyn std::fmt::Display) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: crate::secret::redact::scrub(&error.to_string()).into_owned(),
    }
}

/// What an invocation answers.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub(crate) enum Answer {
    Notifications(Response),
    Rotation(StepDone),
}

async fn handle(
    function: &Function,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Answer, Diagnostic> {
    let deadline = deadline_from_ms(event.context.deadline);
    let payload = event.payload.get().as_bytes();
    if let Some(request) = RotationRequest::detect(payload) {
        let done = match request {
            Ok(request) => {
                function
                    .rotator
                    .run(&function.notifier.slack, &request, deadline)
                    .await
            }
            Err(e) => Err(e),
        };
        return done.map(Answer::Rotation).map_err(|e| {
            tracing::error!(error = %e, "rotation step failed");
            diagnostic(e.error_type(), &e)
        });
    }
    let call = Call {
        deadline,
        trace_id: event.context.xray_trace_id.as_deref(),
        request_id: Some(event.context.request_id.as_str()),
    };
    function
        .notifier
        .handle(payload, &call)
        .await
        .map(Answer::Notifications)
        .map_err(|e| diagnostic(e.error_type(), &e))
}

/// Runs as a Lambda function until the runtime stops. An invalid configuration is reported
/// to Lambda as an init error (`InvalidConfiguration`), and the process exits.
/// `capped_concurrency`: what `AWS_LAMBDA_MAX_CONCURRENCY` was, when it was capped.
pub(crate) async fn run(capped_concurrency: Option<u32>) -> ExitCode {
    let logging = crate::app::logging::init(std::io::stdout);
    if let Some(asked) = capped_concurrency {
        tracing::warn!(
            asked,
            serving = crate::app::config::MAX_CONCURRENCY,
            "AWS_LAMBDA_MAX_CONCURRENCY is more than this function serves at once; polling for that many"
        );
    }
    let function = match logging {
        Err(e) => Err(InitError::Config(e)),
        Ok(()) => match Config::from_env() {
            Ok(config) => function_from_config(&config).await,
            Err(e) => Err(e.into()),
        },
    };
    let function = match function {
        Ok(f) => Arc::new(f),
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            if let Err(report) = report_init_error("InvalidConfiguration", &e.to_string()).await {
                tracing::error!(error = %report, "could not report the init error to Lambda");
            }
            return ExitCode::FAILURE;
        }
    };
    let served = lambda_runtime::run_concurrent(service_fn(move |event| {
        let function = function.clone();
        async move { handle(&function, event).await }
    }))
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stopping: the Lambda runtime failed");
            ExitCode::FAILURE
        }
    }
}

/// Tells Lambda why the function cannot start (`POST /runtime/init/error`), through the
/// runtime's own API client. `lambda_runtime` does this only for SnapStart.
async fn report_init_error(
    error_type: &str,
    message: &str,
) -> Result<(), lambda_runtime_api_client::BoxError> {
    let body = serde_json::to_vec(&diagnostic(error_type, &message))?;
    let request = lambda_runtime_api_client::build_request()
        .method(http::Method::POST)
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", error_type)
        .body(lambda_runtime_api_client::body::Body::from(body))?;
    let client = lambda_runtime_api_client::Client::builder().build()?;
    let response = client.call(request).await?;
    if !response.status().is_success() {
        return Err(format!("the Runtime API answered {}", response.status()).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_deadlines_keep_a_margin() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let left = deadline_from_ms(now_ms + 3_000).saturating_duration_since(Instant::now());
        assert!(left > Duration::from_millis(2_000) && left <= Duration::from_millis(2_500));
        assert_eq!(
            deadline_from_ms(now_ms - 1_000).saturating_duration_since(Instant::now()),
            Duration::ZERO
        );
    }

    #[test]
    fn an_emulators_duration_is_read_as_time_from_now() {
        let left = deadline_from_ms(600_000).saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(599) && left <= Duration::from_millis(599_500));
    }
}
