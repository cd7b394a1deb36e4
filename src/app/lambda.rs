//! The Lambda adapter: serves invocations through `lambda_runtime`, each a notification event,
//! a rotation step or a click from Slack (a function URL request), and reports an init error when the function cannot start.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::value::RawValue;

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;

use crate::app::actions::Invocation;
use crate::app::config::Config;
use crate::app::wiring::{function_from_config, Function, InitError};
use crate::deliver::Response;
use crate::rotation::{RotationRequest, StepDone};
use crate::secret::Call;

/// Time kept back from Lambda's deadline so the function can still report its result.
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// 2000-01-01 in epoch milliseconds. A deadline before it cannot be an epoch time.
const EPOCH_FLOOR_MS: u64 = 946_684_800_000;

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
    /// A function URL request's answer: Slack's interactivity (`ACTIONS`).
    Interaction(LambdaFunctionUrlResponse),
}

async fn handle(
    function: &Function,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Answer, Diagnostic> {
    let deadline = deadline_from_ms(event.context.deadline);
    let payload = event.payload.get().as_bytes();
    let function_arn = event.context.invoked_function_arn.as_str();
    function.notifier.learn_home(function_arn);
    if crate::app::actions::is_function_url(payload) {
        let Some(actions) = &function.actions else {
            return Ok(Answer::Interaction(crate::app::actions::not_served()));
        };
        let at = Invocation {
            home: function.notifier.home(),
            deadline,
            request_id: Some(event.context.request_id.as_str()),
        };
        return Ok(Answer::Interaction(actions.serve(payload, &at).await));
    }
    if let Some(request) = RotationRequest::detect(payload) {
        let done = match request {
            Ok(request) => {
                function
                    .rotator
                    .run(&function.slack, &request, deadline)
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
