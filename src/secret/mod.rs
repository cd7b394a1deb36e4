//! The Slack secret: its format, its redaction, and a cached Secrets Manager reader.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub(crate) mod redact;

/// The secret's key for when its bot token expires (epoch seconds), written by token rotation.
pub(crate) const TOKEN_EXPIRES_AT: &str = "SLACK_TOKEN_EXPIRES_AT";
/// A cached token this close to its expiry is read again, so no post outlives it.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// A webhook URL. Its path is a credential, so `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct WebhookUrl(String);

impl WebhookUrl {
    /// The URL, registered so that no output shows its path ([`crate::redact`]).
    pub(crate) fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        crate::secret::redact::register_webhook(&url);
        Self(url)
    }

    /// The URL itself, for the HTTP request only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookUrl([redacted])")
    }
}

/// A Slack bot token (`xoxb-…`, or `xoxe.xoxb-…` with token rotation). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BotToken(String);

impl BotToken {
    /// The token itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken([redacted])")
    }
}

/// Another credential the secret holds for token rotation: the refresh token, the app's client
/// secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credential(String);

impl Credential {
    /// The value, registered so that no output shows it ([`crate::redact`]).
    pub(crate) fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::secret::redact::register(crate::secret::redact::Kind::Credential, &value);
        Self(value)
    }

    /// The value itself, for the request that needs it only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential([redacted])")
    }
}

/// The prefixes of a bot token: plain, and rotating (an expiring token carries `xoxe.`).
const BOT_TOKEN_PREFIXES: [&str; 2] = ["xoxb-", "xoxe.xoxb-"];
/// Other Slack credentials, named when one is stored in place of a bot token.
const OTHER_TOKENS: [(&str, &str); 5] = [
    ("xoxp-", "a user token"),
    ("xoxe.xoxp-", "a rotating user token"),
    ("xoxe-", "a refresh token"),
    ("xapp-", "an app-level token"),
    ("xoxa-", "a workspace app token"),
];
/// Slack's bot tokens are well under this; a longer value is not one.
const MAX_TOKEN_LEN: usize = 512;

/// Checks a bot token's shape. The problem names a known prefix at most, never the token.
fn bot_token(raw: &str) -> Result<BotToken, String> {
    let Some(rest) = BOT_TOKEN_PREFIXES.iter().find_map(|p| raw.strip_prefix(p)) else {
        let what = OTHER_TOKENS
            .iter()
            .find(|(prefix, _)| raw.starts_with(prefix))
            .map_or("not a bot token".to_owned(), |(prefix, name)| {
                format!("{name} ({prefix}…), not a bot token")
            });
        return Err(format!(
            "is {what}: it must start with xoxb- (or xoxe.xoxb- with token rotation)"
        ));
    };
    // It goes into an HTTP header: nothing but the characters Slack's tokens are made of.
    if rest.is_empty()
        || raw.len() > MAX_TOKEN_LEN
        || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(
            "has a bot token's prefix but not its shape (letters, digits and dashes)".into(),
        );
    }
    crate::secret::redact::register(crate::secret::redact::Kind::Credential, raw);
    Ok(BotToken(raw.to_owned()))
}

/// A channel ID (`C0123ABCD`): a public (`C`) or private (`G`) channel, or a DM (`D`).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ChannelId(String);

impl ChannelId {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Kept out of logs like the webhook's channel: a channel says what the alarms are about.
impl fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChannelId([redacted])")
    }
}

/// Checks a channel ID's shape. The problem never quotes the value.
fn channel_id(raw: &str) -> Result<ChannelId, String> {
    if raw.starts_with('#') || raw.starts_with('@') {
        return Err(
            "is a channel name; app mode needs the channel's ID (such as C0123ABCD, \
                    shown at the bottom of the channel's details)"
                .into(),
        );
    }
    let shaped = raw.len() >= 9
        && raw.len() <= 20
        && raw.starts_with(['C', 'G', 'D'])
        && raw
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !shaped {
        return Err(
            "is not a channel ID (C, G or D and at least 8 more capital letters or digits, such as C0123ABCD)"
                .into(),
        );
    }
    crate::secret::redact::register(crate::secret::redact::Kind::Private, raw);
    Ok(ChannelId(raw.to_owned()))
}

/// What the secret holds, and so how messages are posted.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum SlackSecret {
    /// An incoming webhook (`SLACK_HOOK_URL`).
    Webhook {
        url: WebhookUrl,
        /// `SLACK_CHANNEL`: honoured only by legacy webhooks; app webhooks post to their own channel.
        channel: Option<String>,
    },
    /// App mode: the Web API with a bot token (`SLACK_BOT_TOKEN`) to one channel (`SLACK_CHANNEL`).
    App {
        token: BotToken,
        channel: ChannelId,
        rotation: Rotation,
    },
}

/// What an app-mode secret says of token rotation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rotation {
    /// `SLACK_TOKEN_EXPIRES_AT`: when the bot token expires, as the last renewal recorded it.
    pub token_expires: Option<SystemTime>,
    /// `SLACK_REFRESH_TOKEN`, `SLACK_CLIENT_ID` and `SLACK_CLIENT_SECRET` are all there, so
    /// the rotation function can renew the token.
    pub renewable: bool,
}

impl SlackSecret {
    /// The `channel` a payload is posted with.
    pub(crate) fn channel(&self) -> Option<&str> {
        match self {
            Self::Webhook { channel, .. } => channel.as_deref(),
            Self::App { channel, .. } => Some(channel.as_str()),
        }
    }

    /// Whether `other` holds the same credential (webhook URL or token) as this.
    pub(crate) fn same_credential(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Webhook { url: a, .. }, Self::Webhook { url: b, .. }) => a == b,
            (Self::App { token: a, .. }, Self::App { token: b, .. }) => a == b,
            _ => false,
        }
    }

    /// What the credential is, in words: `webhook` or `bot token`.
    pub(crate) fn credential(&self) -> &'static str {
        match self {
            Self::Webhook { .. } => "webhook",
            Self::App { .. } => "bot token",
        }
    }
}

impl fmt::Debug for SlackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Webhook { url, channel } => f
                .debug_struct("Webhook")
                .field("url", url)
                .field("channel", &channel.as_ref().map(|_| "[redacted]"))
                .finish(),
            Self::App {
                token,
                channel,
                rotation,
            } => f
                .debug_struct("App")
                .field("token", token)
                .field("channel", channel)
                .field("rotation", rotation)
                .finish(),
        }
    }
}

/// Why the secret could not be used. Messages name the secret id, never its value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretError {
    /// GetSecretValue failed. `code` is the AWS error code, or a name for what went wrong
    /// when AWS sent none; `detail` is a short, safe description.
    ///
    /// The SDK's error is not kept: it holds the raw response, which may be the secret itself.
    #[error("Secrets Manager: {code} for secret {secret_id}{}{}", stage_note(.code, .stage), detail_suffix(.detail))]
    Fetch {
        secret_id: String,
        /// The version stage asked for (`SECRET_VERSION_STAGE`).
        stage: String,
        code: String,
        detail: String,
    },
    /// GetSecretValue took longer than the invocation had left.
    #[error("reading secret {secret_id:?} did not finish before the invocation's deadline")]
    Timeout { secret_id: String },
    /// The secret is binary or empty.
    #[error("secret {secret_id:?} has no SecretString")]
    Empty { secret_id: String },
    /// A JSON secret with neither the webhook key nor the bot token key.
    #[error(
        "secret {secret_id:?} is JSON but has no string SLACK_HOOK_URL or SLACK_BOT_TOKEN (keys present: {keys})"
    )]
    MissingHookUrl { secret_id: String, keys: String },
    /// A key of the secret has a value that cannot be used. `problem` never quotes a credential.
    #[error("secret {secret_id:?}: {key} {problem}")]
    InvalidValue {
        secret_id: String,
        key: &'static str,
        problem: String,
    },
    /// Neither a JSON object nor a URL.
    #[error("secret {secret_id:?} is neither a JSON object with SLACK_HOOK_URL or SLACK_BOT_TOKEN nor a webhook URL")]
    Unrecognised { secret_id: String },
    /// A file given with `--secret-file` could not be read.
    #[error("cannot read secret file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A secret without a version at the stage asked for reads as not found: say which stage.
fn stage_note(code: &str, stage: &str) -> String {
    if code == "ResourceNotFoundException" {
        format!(" at version stage {stage} (no such secret, or no version of it at that stage: see SECRET_VERSION_STAGE)")
    } else {
        String::new()
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl SecretError {
    /// A short name for Lambda's `errorType`.
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            Self::Fetch { code, .. } => match code.as_str() {
                "ResourceNotFoundException" => "SecretNotFound",
                "AccessDeniedException" => "SecretAccessDenied",
                "DecryptionFailure" => "SecretDecryptionFailure",
                _ => "SecretUnavailable",
            },
            Self::Timeout { .. } => "SecretTimeout",
            Self::File { .. } => "SecretFileUnreadable",
            Self::Empty { .. }
            | Self::MissingHookUrl { .. }
            | Self::InvalidValue { .. }
            | Self::Unrecognised { .. } => "SecretInvalid",
        }
    }
}

/// Parses a secret value: `{"SLACK_BOT_TOKEN": "xoxb-...", "SLACK_CHANNEL": "C..."}` (app
/// mode, which wins when a webhook is there too), `{"SLACK_HOOK_URL": "...", "SLACK_CHANNEL":
/// "..."}`, or a bare webhook URL.
pub(crate) fn parse_secret(secret_id: &str, raw: &str) -> Result<SlackSecret, SecretError> {
    let raw = raw.trim();
    if raw.starts_with('{') {
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(raw) else {
            return Err(SecretError::Unrecognised {
                secret_id: secret_id.into(),
            });
        };
        let text = |key: &str| {
            obj.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let invalid = |key: &'static str, problem: String| SecretError::InvalidValue {
            secret_id: secret_id.into(),
            key,
            problem,
        };
        if let Some(token) = obj.get("SLACK_BOT_TOKEN") {
            let token = token
                .as_str()
                .map(str::trim)
                .ok_or_else(|| invalid("SLACK_BOT_TOKEN", "is not a string".into()))?;
            let token = bot_token(token).map_err(|p| invalid("SLACK_BOT_TOKEN", p))?;
            let channel = text("SLACK_CHANNEL").ok_or_else(|| {
                invalid(
                    "SLACK_CHANNEL",
                    "is missing: a bot token needs the ID of the channel to post to (such as C0123ABCD)"
                        .into(),
                )
            })?;
            let channel = channel_id(channel).map_err(|p| invalid("SLACK_CHANNEL", p))?;
            let rotation = Rotation {
                token_expires: token_expiry(raw),
                renewable: [
                    "SLACK_REFRESH_TOKEN",
                    "SLACK_CLIENT_ID",
                    "SLACK_CLIENT_SECRET",
                ]
                .iter()
                .all(|key| text(key).is_some()),
            };
            return Ok(SlackSecret::App {
                token,
                channel,
                rotation,
            });
        }
        let hook = text("SLACK_HOOK_URL");
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
        let channel = text("SLACK_CHANNEL").map(str::to_owned);
        if let Some(channel) = &channel {
            crate::secret::redact::register(crate::secret::redact::Kind::Private, channel);
        }
        return Ok(SlackSecret::Webhook {
            url: WebhookUrl::new(hook),
            channel,
        });
    }
    // A URL stored as a JSON string, quotes and all.
    if let Ok(Value::String(unquoted)) = serde_json::from_str::<Value>(raw) {
        if unquoted.trim() != raw {
            return parse_secret(secret_id, &unquoted);
        }
    }
    if raw.starts_with("https://") || raw.starts_with("http://") {
        return Ok(SlackSecret::Webhook {
            url: WebhookUrl::new(raw),
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
    /// When the bot token expires, if the secret says (a rotating token).
    token_expires: Option<SystemTime>,
}

/// When the secret's bot token expires: its `SLACK_TOKEN_EXPIRES_AT`, a number or a string of
/// epoch seconds. `None` for a token that does not expire or a value that is not a time.
pub(crate) fn token_expiry(raw: &str) -> Option<SystemTime> {
    let value: Value = serde_json::from_str(raw.trim()).ok()?;
    let field = value.get(TOKEN_EXPIRES_AT)?;
    let seconds = field
        .as_u64()
        .or_else(|| field.as_str()?.trim().parse().ok())?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Reads the secret from Secrets Manager and keeps it for `ttl`.
pub(crate) struct SecretStore {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    stage: String,
    ttl: Duration,
    cached: Mutex<Option<Cached>>,
    /// One read at a time: concurrent invocations of a cold instance share the first read.
    reading: tokio::sync::Mutex<()>,
}

impl SecretStore {
    pub(crate) fn new(
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
        let cached = cached.as_ref().filter(|c| c.fetched.elapsed() < self.ttl)?;
        if let Some(expires) = cached.token_expires {
            if SystemTime::now() + EXPIRY_MARGIN >= expires {
                tracing::debug!(secret_id = %self.secret_id, "the cached bot token is at its expiry; reading the secret again");
                return None;
            }
        }
        Some(cached.secret.clone())
    }

    /// Drops the cached value so the next read goes to Secrets Manager.
    pub(crate) fn invalidate(&self) {
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
                let (code, detail) = crate::net::describe_sdk_error(&e);
                SecretError::Fetch {
                    secret_id: self.secret_id.clone(),
                    stage: self.stage.clone(),
                    code,
                    detail,
                }
            })?;
        let raw = output.secret_string().ok_or_else(|| SecretError::Empty {
            secret_id: self.secret_id.clone(),
        })?;
        let secret = Arc::new(parse_secret(&self.secret_id, raw)?);
        let token_expires = match &*secret {
            SlackSecret::App { rotation, .. } => rotation.token_expires,
            SlackSecret::Webhook { .. } => None,
        };
        tracing::info!(secret_id = %self.secret_id, stage = %self.stage, elapsed_ms = started.elapsed().as_millis() as u64, "read Slack secret");
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            secret: secret.clone(),
            fetched: Instant::now(),
            token_expires,
        });
        Ok(secret)
    }
}

/// What a secret read needs to know of the invocation it serves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    /// No read outlives this.
    pub deadline: Instant,
    /// The X-Ray trace header, passed on to Secrets Manager.
    pub trace_id: Option<&'a str>,
    /// Lambda's request id: a retry of a failed asynchronous invocation has the same one.
    pub request_id: Option<&'a str>,
}

/// Where the webhook comes from: Secrets Manager, or a fixed value (`--secret-file`).
pub(crate) enum SecretSource {
    Manager(SecretStore),
    Fixed(Arc<SlackSecret>),
}

impl SecretSource {
    /// The cached secret, or a fresh read when there is none or it has expired.
    pub(crate) async fn get(&self, call: &Call<'_>) -> Result<Arc<SlackSecret>, SecretError> {
        match self {
            Self::Fixed(s) => Ok(s.clone()),
            Self::Manager(store) => store.get(call).await,
        }
    }

    /// Reads again now, e.g. after Slack says the webhook is gone.
    pub(crate) async fn refresh(&self, call: &Call<'_>) -> Result<Arc<SlackSecret>, SecretError> {
        match self {
            Self::Fixed(s) => Ok(s.clone()),
            Self::Manager(store) => {
                store.invalidate();
                store.get(call).await
            }
        }
    }

    /// Forgets the cached value, so a later invocation reads again.
    pub(crate) fn invalidate(&self) {
        if let Self::Manager(store) = self {
            store.invalidate();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotating_tokens_expiry_is_read_from_the_secret() {
        let at =
            |raw: &str| token_expiry(raw).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(
            at(r#"{"SLACK_TOKEN_EXPIRES_AT": 1800000000}"#),
            Some(1_800_000_000)
        );
        assert_eq!(
            at(r#"{"SLACK_TOKEN_EXPIRES_AT": " 1800000000 "}"#),
            Some(1_800_000_000)
        );
        for none in [
            r#"{"SLACK_TOKEN_EXPIRES_AT": "soon"}"#,
            r#"{"SLACK_TOKEN_EXPIRES_AT": -5}"#,
            "{}",
            "https://hooks.slack.com/x",
        ] {
            assert_eq!(at(none), None, "{none}");
        }
    }

    const URL: &str = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
    const TOKEN: &str = "xoxb-1111-2222-XXXXTOKENSECRET";

    fn webhook(s: &SlackSecret) -> &WebhookUrl {
        match s {
            SlackSecret::Webhook { url, .. } => url,
            other => panic!("expected a webhook, got {other:?}"),
        }
    }

    #[test]
    fn json_and_plain_forms() {
        let s = parse_secret(
            "id",
            &format!(r##"{{"SLACK_HOOK_URL":"{URL}","SLACK_CHANNEL":"#ops"}}"##),
        )
        .unwrap();
        assert_eq!(webhook(&s).expose(), URL);
        assert_eq!(s.channel(), Some("#ops"));
        let s = parse_secret("id", &format!(" {URL}\n")).unwrap();
        assert_eq!(webhook(&s).expose(), URL);
        assert_eq!(s.channel(), None);
    }

    #[test]
    fn a_bot_token_and_a_channel_id_are_app_mode() {
        for token in [TOKEN, "xoxe.xoxb-1-MS0yLTIyMjI-abc123"] {
            let raw = format!(r#"{{"SLACK_BOT_TOKEN":" {token} ","SLACK_CHANNEL":"C0123ABCD"}}"#);
            let SlackSecret::App {
                token: t, channel, ..
            } = parse_secret("id", &raw).unwrap()
            else {
                panic!("{raw}: not app mode");
            };
            assert_eq!((t.expose(), channel.as_str()), (token, "C0123ABCD"));
        }
    }

    #[test]
    fn a_bot_token_wins_over_a_webhook() {
        let raw = format!(
            r#"{{"SLACK_HOOK_URL":"{URL}","SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"G0123ABCDEF"}}"#
        );
        let s = parse_secret("id", &raw).unwrap();
        assert!(matches!(s, SlackSecret::App { .. }), "{s:?}");
        assert_eq!(s.channel(), Some("G0123ABCDEF"));
        assert_eq!(s.credential(), "bot token");
    }

    #[test]
    fn app_mode_errors_name_the_key_and_never_the_token() {
        let cases = [
            (format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}"}}"#), "SLACK_CHANNEL is missing"),
            (
                format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"  "}}"#),
                "SLACK_CHANNEL is missing",
            ),
            (
                format!(r##"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"#alerts"}}"##),
                "SLACK_CHANNEL is a channel name",
            ),
            (
                format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"c0123abcd"}}"#),
                "SLACK_CHANNEL is not a channel ID",
            ),
            (
                format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"C012"}}"#),
                "SLACK_CHANNEL is not a channel ID",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"xoxp-1111-XXXXTOKENSECRET","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN is a user token (xoxp-…), not a bot token",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"xoxe-1-XXXXTOKENSECRET","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN is a refresh token (xoxe-…)",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"xapp-1-XXXXTOKENSECRET","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN is an app-level token (xapp-…)",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"XXXXTOKENSECRET","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN is not a bot token: it must start with xoxb-",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"xoxb-XXXXTOKENSECRET\r\nX-Evil: 1","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN has a bot token's prefix but not its shape",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"xoxb-","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN has a bot token's prefix but not its shape",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":42,"SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN is not a string",
            ),
        ];
        for (raw, expected) in cases {
            let err = parse_secret("my/secret", &raw).unwrap_err();
            assert_eq!(err.error_type(), "SecretInvalid", "{raw}");
            let text = err.to_string();
            assert!(
                text.starts_with(&format!(r#"secret "my/secret": {expected}"#)),
                "{raw}: {text}"
            );
            let all = format!("{text} {err:?}");
            assert!(!all.contains("XXXXTOKENSECRET"), "{all}");
            assert!(
                !all.contains("alerts") && !all.contains("c0123abcd"),
                "{all}"
            );
        }
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
            r#"secret "s" is JSON but has no string SLACK_HOOK_URL or SLACK_BOT_TOKEN (keys present: HOOK)"#
        );
    }

    #[test]
    fn debug_is_redacted() {
        let s = parse_secret(
            "id",
            &format!(r##"{{"SLACK_HOOK_URL":"{URL}","SLACK_CHANNEL":"#private"}}"##),
        )
        .unwrap();
        let debug = format!("{s:?} {:?}", webhook(&s));
        assert!(
            !debug.contains("XXXXSECRET")
                && !debug.contains("hooks.slack.com")
                && !debug.contains("private"),
            "{debug}"
        );
        let s = parse_secret(
            "id",
            &format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"C0123ABCD"}}"#),
        )
        .unwrap();
        let SlackSecret::App { token, channel, .. } = &s else {
            panic!()
        };
        let debug = format!("{s:?} {token:?} {channel:?}");
        assert!(
            !debug.contains("XXXXTOKENSECRET")
                && !debug.contains("xoxb")
                && !debug.contains("C0123ABCD"),
            "{debug}"
        );
    }

    #[test]
    fn the_same_credential() {
        let app = |token: &str| {
            parse_secret(
                "id",
                &format!(r#"{{"SLACK_BOT_TOKEN":"{token}","SLACK_CHANNEL":"C0123ABCD"}}"#),
            )
            .unwrap()
        };
        let hook = parse_secret("id", URL).unwrap();
        assert!(app(TOKEN).same_credential(&app(TOKEN)));
        assert!(!app(TOKEN).same_credential(&app("xoxb-new")));
        assert!(!app(TOKEN).same_credential(&hook));
        assert!(hook.same_credential(&hook.clone()));
    }
}
