//! What can be said of a failed request: its cause chain on one line, and what can be said
//! safely of an AWS SDK error (the code and message of AWS's answer, the cause of a failed
//! connection), which Secrets Manager, the threads table and CloudWatch share.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// An AWS SDK operation's error, as every service crate names it.
type SdkError<E> = aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>;

/// AWS's own message is kept to this many characters.
const MAX_AWS_MESSAGE: usize = 200;

/// `error: cause: cause`, on one line. reqwest's own message stops at "error sending
/// request"; the reason (refused, certificate, proxy) is further down the chain.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Reads what can be said safely of an SDK error: the AWS error code and message of an
/// error answer, the cause of a connection failure, or the status of an unreadable answer.
/// Never the raw response, which for GetSecretValue is the secret (and for DynamoDB, items).
pub(crate) fn describe_sdk_error<E>(e: &SdkError<E>) -> (String, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let cut = |text: &str| -> String {
        let line = text.lines().next().unwrap_or_default();
        let mut cut: String = line.chars().take(MAX_AWS_MESSAGE).collect();
        if cut.len() < line.len() {
            cut.push('…');
        }
        cut
    };
    if crate::net::is_answer_too_large(e) {
        return (
            "AnswerTooLarge".into(),
            format!(
                "the answer is larger than {} MiB, so it was not read",
                crate::net::MAX_AWS_ANSWER / (1024 * 1024)
            ),
        );
    }
    match e {
        SdkError::ServiceError(service) => {
            let status = service.raw().status();
            match (e.code(), status.is_success()) {
                // An error answer from AWS: its code and message are AWS's own words.
                (Some(code), false) => (code.to_owned(), e.message().map(cut).unwrap_or_default()),
                // A success status the SDK could not read: say so, quote nothing.
                (_, true) => (
                    "UnreadableResponse".into(),
                    format!(
                        "HTTP {} with a body the SDK could not parse",
                        status.as_u16()
                    ),
                ),
                (None, false) => (
                    "RequestFailed".into(),
                    format!("HTTP {} without an AWS error code", status.as_u16()),
                ),
            }
        }
        SdkError::ResponseError(response) => (
            "UnreadableResponse".into(),
            format!(
                "HTTP {} that the SDK could not read",
                response.raw().status().as_u16()
            ),
        ),
        SdkError::TimeoutError(_) => ("Timeout".into(), "the SDK's timeout expired".into()),
        SdkError::DispatchFailure(failure) => {
            let cause = match failure.as_connector_error() {
                Some(c) if c.is_timeout() => "connection timed out".to_owned(),
                Some(c) => cut(&error_chain(c)),
                None => "request not sent".to_owned(),
            };
            ("RequestFailed".into(), cause)
        }
        SdkError::ConstructionFailure(_) => (
            "RequestFailed".into(),
            "the request could not be built".into(),
        ),
        _ => ("RequestFailed".into(), String::new()),
    }
}
