//! The Slack secret: its format, its redaction, and a cached Secrets Manager reader.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use serde_json::Value;

/// AWS's own message is kept to this many characters.
const MAX_AWS_MESSAGE: usize = 200;

/// A webhook URL. Its path is a credential, so `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL itself, for the HTTP request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookUrl([redacted])")
    }
}

/// What the secret holds.
#[derive(Clone, PartialEq, Eq)]
pub struct SlackSecret {
    pub webhook: WebhookUrl,
    /// `SLACK_CHANNEL`: honoured only by legacy webhooks; app webhooks post to their own channel.
    pub channel: Option<String>,
}

impl fmt::Debug for SlackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackSecret")
            .field("webhook", &self.webhook)
            .field("channel", &self.channel.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Why the secret could not be used. Messages name the secret id, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// GetSecretValue failed. `code` is the AWS error code, or a name for what went wrong
    /// when AWS sent none; `detail` is a short, safe description.
    ///
    /// The SDK's error is not kept: it holds the raw response, which may be the secret itself.
    #[error("Secrets Manager: {code} for secret {secret_id}{}", detail_suffix(.detail))]
    Fetch {
        secret_id: String,
        code: String,
        detail: String,
    },
    /// GetSecretValue took longer than the invocation had left.
    #[error("reading secret {secret_id:?} did not finish before the invocation's deadline")]
    Timeout { secret_id: String },
    /// The secret is binary or empty.
    #[error("secret {secret_id:?} has no SecretString")]
    Empty { secret_id: String },
    /// A JSON secret without the webhook key.
    #[error(
        "secret {secret_id:?} is JSON but has no string SLACK_HOOK_URL (keys present: {keys})"
    )]
    MissingHookUrl { secret_id: String, keys: String },
    /// Neither a JSON object nor a URL.
    #[error("secret {secret_id:?} is neither a JSON object with SLACK_HOOK_URL nor a webhook URL")]
    Unrecognised { secret_id: String },
    /// A file given with `--secret-file` could not be read.
    #[error("cannot read secret file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// Reads what can be said safely of an SDK error: the AWS error code and message of an
/// error answer, the cause of a connection failure, or the status of an unreadable answer.
/// Never the raw response, which for GetSecretValue is the secret.
fn describe_sdk_error(e: &SdkError<GetSecretValueError>) -> (String, String) {
    let cut = |text: &str| -> String {
        let line = text.lines().next().unwrap_or_default();
        let mut cut: String = line.chars().take(MAX_AWS_MESSAGE).collect();
        if cut.len() < line.len() {
            cut.push('…');
        }
        cut
    };
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
                Some(c) => cut(&crate::slack::error_chain(c)),
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

impl SecretError {
    /// A short name for Lambda's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Fetch { code, .. } => match code.as_str() {
                "ResourceNotFoundException" => "SecretNotFound",
                "AccessDeniedException" => "SecretAccessDenied",
                "DecryptionFailure" => "SecretDecryptionFailure",
                _ => "SecretUnavailable",
            },
            Self::Timeout { .. } => "SecretTimeout",
            Self::File { .. } => "SecretFileUnreadable",
            Self::Empty { .. } | Self::MissingHookUrl { .. } | Self::Unrecognised { .. } => {
                "SecretInvalid"
            }
        }
    }
}

/// Parses a secret value: `{"SLACK_HOOK_URL": "...", "SLACK_CHANNEL": "..."}` or a bare URL.
pub fn parse_secret(secret_id: &str, raw: &str) -> Result<SlackSecret, SecretError> {
    let raw = raw.trim();
    if raw.starts_with('{') {
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(raw) else {
            return Err(SecretError::Unrecognised {
                secret_id: secret_id.into(),
            });
        };
        let hook = obj
            .get("SLACK_HOOK_URL")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let Some(hook) = hook else {
            let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            keys.sort_unstable();
            return Err(SecretError::MissingHookUrl {
                secret_id: secret_id.into(),
                keys: if keys.is_empty() {
                    "none".into()
                } else {
                    keys.join(", ")
                },
            });
        };
        let channel = obj
            .get("SLACK_CHANNEL")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty());
        return Ok(SlackSecret {
            webhook: WebhookUrl::new(hook),
            channel: channel.map(str::to_owned),
        });
    }
    // A URL stored as a JSON string, quotes and all.
    if let Ok(Value::String(unquoted)) = serde_json::from_str::<Value>(raw) {
        if unquoted.trim() != raw {
            return parse_secret(secret_id, &unquoted);
        }
    }
    if raw.starts_with("https://") || raw.starts_with("http://") {
        return Ok(SlackSecret {
            webhook: WebhookUrl::new(raw),
            channel: None,
        });
    }
    if raw.is_empty() {
        return Err(SecretError::Empty {
            secret_id: secret_id.into(),
        });
    }
    Err(SecretError::Unrecognised {
        secret_id: secret_id.into(),
    })
}

struct Cached {
    secret: Arc<SlackSecret>,
    fetched: Instant,
}

/// Reads the secret from Secrets Manager and keeps it for `ttl`.
pub struct SecretStore {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    stage: String,
    ttl: Duration,
    cached: Mutex<Option<Cached>>,
    /// One read at a time: concurrent invocations of a cold instance share the first read.
    reading: tokio::sync::Mutex<()>,
}

impl SecretStore {
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
        stage: String,
        ttl: Duration,
    ) -> Self {
        Self {
            client,
            secret_id,
            stage,
            ttl,
            cached: Mutex::new(None),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<Arc<SlackSecret>> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|c| c.fetched.elapsed() < self.ttl)
            .map(|c| c.secret.clone())
    }

    /// Drops the cached value so the next read goes to Secrets Manager.
    pub fn invalidate(&self) {
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn timeout(&self) -> SecretError {
        SecretError::Timeout {
            secret_id: self.secret_id.clone(),
        }
    }

    /// The cached value, or one read, shared with any invocation already reading.
    async fn get(&self, call: &Call<'_>) -> Result<Arc<SlackSecret>, SecretError> {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let _reading = tokio::time::timeout_at(call.deadline.into(), self.reading.lock())
            .await
            .map_err(|_| self.timeout())?;
        match self.fresh() {
            Some(s) => Ok(s),
            None => self.fetch(call).await,
        }
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Arc<SlackSecret>, SecretError> {
        let started = Instant::now();
        let trace_id = call.trace_id.map(str::to_owned);
        let request = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(&self.stage)
            .customize()
            .mutate_request(move |request| {
                // The invocation's own trace header: with concurrent invocations the
                // runtime cannot set `_X_AMZN_TRACE_ID` for the SDK to read.
                if let Some(trace_id) = &trace_id {
                    let _ = request
                        .headers_mut()
                        .try_insert("X-Amzn-Trace-Id", trace_id.clone());
                }
            })
            .send();
        let output = tokio::time::timeout_at(call.deadline.into(), request)
            .await
            .map_err(|_| self.timeout())?
            .map_err(|e| {
                let (code, detail) = describe_sdk_error(&e);
                SecretError::Fetch {
                    secret_id: self.secret_id.clone(),
                    code,
                    detail,
                }
            })?;
        let raw = output.secret_string().ok_or_else(|| SecretError::Empty {
            secret_id: self.secret_id.clone(),
        })?;
        let secret = Arc::new(parse_secret(&self.secret_id, raw)?);
        tracing::info!(secret_id = %self.secret_id, stage = %self.stage, elapsed_ms = started.elapsed().as_millis() as u64, "read Slack secret");
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            secret: secret.clone(),
            fetched: Instant::now(),
        });
        Ok(secret)
    }
}

/// What a secret read needs to know of the invocation it serves.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// No read outlives this.
    pub deadline: Instant,
    /// The X-Ray trace header, passed on to Secrets Manager.
    pub trace_id: Option<&'a str>,
}

/// Where the webhook comes from: Secrets Manager, or a fixed value (`--secret-file`).
pub enum SecretSource {
    Manager(SecretStore),
    Fixed(Arc<SlackSecret>),
}

impl SecretSource {
    /// The cached secret, or a fresh read when there is none or it has expired.
    pub async fn get(&self, call: &Call<'_>) -> Result<Arc<SlackSecret>, SecretError> {
        match self {
            Self::Fixed(s) => Ok(s.clone()),
            Self::Manager(store) => store.get(call).await,
        }
    }

    /// Reads again now, e.g. after Slack says the webhook is gone.
    pub async fn refresh(&self, call: &Call<'_>) -> Result<Arc<SlackSecret>, SecretError> {
        match self {
            Self::Fixed(s) => Ok(s.clone()),
            Self::Manager(store) => {
                store.invalidate();
                store.get(call).await
            }
        }
    }

    /// Forgets the cached value, so a later invocation reads again.
    pub fn invalidate(&self) {
        if let Self::Manager(store) = self {
            store.invalidate();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";

    #[test]
    fn json_and_plain_forms() {
        let s = parse_secret(
            "id",
            &format!(r##"{{"SLACK_HOOK_URL":"{URL}","SLACK_CHANNEL":"#ops"}}"##),
        )
        .unwrap();
        assert_eq!(s.webhook.expose(), URL);
        assert_eq!(s.channel.as_deref(), Some("#ops"));
        let s = parse_secret("id", &format!(" {URL}\n")).unwrap();
        assert_eq!(s.webhook.expose(), URL);
        assert_eq!(s.channel, None);
    }

    #[test]
    fn errors_never_show_the_value() {
        for raw in [
            format!(r#"{{"WRONG_KEY":"{URL}"}}"#),
            format!(r#"{{"SLACK_HOOK_URL":42,"x":"{URL}"}}"#),
            format!("{{not json {URL}"),
            "XXXXSECRET".to_owned(),
            String::new(),
        ] {
            let err = parse_secret("my/secret", &raw).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains("XXXXSECRET"), "{text}");
            assert!(text.contains("my/secret"), "{text}");
        }
    }

    #[test]
    fn missing_hook_names_the_keys_only() {
        let err = parse_secret("s", r#"{"HOOK":"https://hooks.slack.com/x"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"secret "s" is JSON but has no string SLACK_HOOK_URL (keys present: HOOK)"#
        );
    }

    #[test]
    fn debug_is_redacted() {
        let s = parse_secret(
            "id",
            &format!(r##"{{"SLACK_HOOK_URL":"{URL}","SLACK_CHANNEL":"#private"}}"##),
        )
        .unwrap();
        let debug = format!("{s:?} {:?}", s.webhook);
        assert!(
            !debug.contains("XXXXSECRET")
                && !debug.contains("hooks.slack.com")
                && !debug.contains("private"),
            "{debug}"
        );
    }
}
