//! The Slack secret: its format, its redaction, and a cached Secrets Manager reader.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use serde_json::Value;

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
    /// GetSecretValue failed; `code` is the AWS error code when there is one.
    #[error("cannot read secret {secret_id:?}: {code}: {}", DisplayErrorContext(.source))]
    Fetch {
        secret_id: String,
        code: String,
        #[source]
        source: Box<SdkError<GetSecretValueError>>,
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
    /// The current invocation's X-Ray trace header, passed on to Secrets Manager.
    trace_id: Mutex<String>,
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
            trace_id: Mutex::new(String::new()),
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

    async fn fetch(&self, deadline: Instant) -> Result<Arc<SlackSecret>, SecretError> {
        let started = Instant::now();
        let trace_id = self
            .trace_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let call = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(&self.stage)
            .customize()
            .mutate_request(move |request| {
                // What the SDK would take from `_X_AMZN_TRACE_ID`, without setting the
                // environment on every invocation (glibc never frees a replaced value).
                if !trace_id.is_empty() {
                    let _ = request
                        .headers_mut()
                        .try_insert("X-Amzn-Trace-Id", trace_id.clone());
                }
            })
            .send();
        let output = tokio::time::timeout(deadline.saturating_duration_since(started), call)
            .await
            .map_err(|_| SecretError::Timeout {
                secret_id: self.secret_id.clone(),
            })?
            .map_err(|e| SecretError::Fetch {
                secret_id: self.secret_id.clone(),
                code: e.code().unwrap_or("RequestFailed").to_owned(),
                source: Box::new(e),
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

/// Where the webhook comes from: Secrets Manager, or a fixed value (`--secret-file`).
pub enum SecretSource {
    Manager(SecretStore),
    Fixed(Arc<SlackSecret>),
}

impl SecretSource {
    /// The cached secret, or a fresh read when there is none or it has expired.
    pub async fn get(&self, deadline: Instant) -> Result<Arc<SlackSecret>, SecretError> {
        match self {
            Self::Fixed(s) => Ok(s.clone()),
            Self::Manager(store) => match store.fresh() {
                Some(s) => Ok(s),
                None => store.fetch(deadline).await,
            },
        }
    }

    /// Reads again now, e.g. after Slack says the webhook is gone.
    pub async fn refresh(&self, deadline: Instant) -> Result<Arc<SlackSecret>, SecretError> {
        match self {
            Self::Fixed(s) => Ok(s.clone()),
            Self::Manager(store) => {
                store.invalidate();
                store.fetch(deadline).await
            }
        }
    }

    /// Sets the trace header for reads made during the current invocation.
    pub fn set_trace_id(&self, trace_id: Option<&str>) {
        if let Self::Manager(store) = self {
            let mut current = store.trace_id.lock().unwrap_or_else(|e| e.into_inner());
            current.clear();
            current.push_str(trace_id.unwrap_or_default());
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
