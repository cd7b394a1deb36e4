//! Posting to Slack, through an incoming webhook or the Web API (`chat.postMessage` with a bot
//! token), with retries bounded by the invocation's deadline.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::secret::{BotToken, Credential, WebhookUrl};

pub(crate) mod messenger;

/// An attempt with less time than this left is not started.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(5);
/// 429s are waited out rather than counted as failures, up to this many per post.
const MAX_RATE_LIMIT_WAITS: u32 = 30;
/// The longest `Retry-After` honoured: a longer one is read as this, so that one answer never
/// holds the process's posts back for longer.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Slack's error bodies are short codes; anything longer is cut to this many characters.
const MAX_REASON_LEN: usize = 120;
/// A webhook answers in a few bytes; no more than this is read of an answer.
const MAX_ANSWER: usize = 16 * 1024;
/// `chat.postMessage` echoes the message it posted, blocks and all, so its answer is read in
/// full up to this: a success cut short would read as a failure, and be posted again.
const MAX_API_ANSWER: usize = 1024 * 1024;
/// Web API errors that say the bot token itself is no good: worth re-reading the secret.
pub(crate) const TOKEN_ERRORS: [&str; 4] = [
    "invalid_auth",
    "token_expired",
    "token_revoked",
    "account_inactive",
];
/// Web API errors Slack documents as its own, passing trouble; retried like a 5xx.
const TRANSIENT_API_ERRORS: [&str; 2] = ["internal_error", "service_unavailable"];
const REDACTED: &str = "[redacted]";

/// Why a notification was not accepted. Never carries the webhook URL.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SlackError {
    /// The secret's URL is not one this function may post to.
    #[error("webhook URL rejected: {0}")]
    UrlNotAllowed(String),
    /// A status Slack will answer the same way again (400, 403, 404, 410, a redirect …).
    #[error("Slack rejected the message: HTTP {status} {reason}")]
    Rejected { status: u16, reason: String },
    /// 5xx or an unexpected answer, still failing after the retries.
    #[error("Slack failed after {attempts} attempts: HTTP {status} {reason}")]
    Unavailable {
        status: u16,
        reason: String,
        attempts: u32,
    },
    /// Slack asked us to wait past the invocation's deadline.
    #[error("Slack rate limit: asked to wait {retry_after:?}, beyond the invocation's deadline")]
    RateLimited { retry_after: Duration },
    /// No answer in time, on the last attempt.
    #[error("Slack did not answer in time after {attempts} attempts")]
    Timeout { attempts: u32 },
    /// Connection refused, reset, TLS, proxy or DNS failure, on the last attempt.
    #[error("cannot reach Slack after {attempts} attempts: {}{}", crate::net::error_chain(.source), crate::net::through(.proxy))]
    Transport {
        attempts: u32,
        /// Stripped of its URL.
        #[source]
        source: reqwest::Error,
        /// The proxy the request went through, named without its credentials.
        proxy: Option<String>,
    },
    /// The deadline left no time for another attempt.
    #[error("no time left before the invocation's deadline after {attempts} attempts; last error: {last}")]
    DeadlineExceeded { attempts: u32, last: String },
    /// The Web API answered `ok: false` with an error it will give again: Slack's own code
    /// (`channel_not_found`, `not_in_channel`, `invalid_blocks` …) and what it means.
    #[error("Slack refused {method}: {code}{}", detail_suffix(.detail))]
    ApiRejected {
        method: &'static str,
        code: String,
        detail: String,
    },
    /// The Web API refused the bot token (one of [`TOKEN_ERRORS`]).
    #[error("Slack refused the bot token on {method}: {code}")]
    TokenRejected { method: &'static str, code: String },
    /// Slack answered HTTP 200, but what came after could not be read (it broke off, or was
    /// not a Web API answer), and the caller needs it. Never sent again: it may have worked.
    #[error("Slack answered {method} with HTTP 200, but {why}; not sent again, since it may have worked")]
    AnswerUnreadable { method: &'static str, why: String },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

impl SlackError {
    /// Slack says the webhook or the bot token is gone, revoked or expired: worth re-reading
    /// the secret for a new one.
    pub(crate) fn credential_gone(&self) -> bool {
        matches!(
            self,
            Self::Rejected {
                status: 403 | 404 | 410,
                ..
            } | Self::TokenRejected { .. }
        )
    }

    /// A short name for Lambda's `errorType`.
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            Self::UrlNotAllowed(_) => "WebhookNotAllowed",
            Self::Rejected { .. } => "SlackRejected",
            Self::Unavailable { .. } => "SlackUnavailable",
            Self::RateLimited { .. } => "SlackRateLimited",
            Self::Timeout { .. } | Self::DeadlineExceeded { .. } => "SlackTimeout",
            Self::Transport { .. } => "SlackUnreachable",
            Self::ApiRejected { .. } => "SlackRejected",
            Self::TokenRejected { .. } => "SlackTokenRejected",
            Self::AnswerUnreadable { .. } => "SlackAnswerUnreadable",
        }
    }
}

/// Checks a URL Slack is reached at against `allowed_hosts` (the setting `hosts_setting`):
/// https, or http to a loopback address, and no credentials. The problem never quotes the URL.
pub(crate) fn check_url(
    raw: &str,
    allowed_hosts: &[String],
    hosts_setting: &str,
) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(raw).map_err(|_| "not a valid URL".to_owned())?;
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    if !allowed_hosts.contains(&host) {
        return Err(format!("host {host:?} is not in {hosts_setting}"));
    }
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        scheme => return Err(format!("scheme {scheme:?}: only https is allowed")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("credentials in the URL".into());
    }
    Ok(parsed)
}

/// Checks a webhook URL against the allowed hosts (`SLACK_WEBHOOK_HOSTS`).
pub(crate) fn check_webhook(
    url: &WebhookUrl,
    allowed_hosts: &[String],
) -> Result<reqwest::Url, SlackError> {
    check_url(url.expose(), allowed_hosts, "SLACK_WEBHOOK_HOSTS").map_err(SlackError::UrlNotAllowed)
}

/// A delivered message: how many attempts it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub attempts: u32,
    /// Slack answered HTTP 200, which for a webhook is its acceptance, but the body was not
    /// `ok` or broke off: what was odd. Counted as delivered, never sent again.
    pub unconfirmed: Option<String>,
}

/// Slack's answer to one POST, read in full (up to `MAX_ANSWER` bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub status: u16,
    /// The first line of the body, cut short, with the webhook's path taken out.
    pub reason: String,
    /// The whole body is exactly `ok`.
    pub ok_body: bool,
    pub retry_after: Option<String>,
    /// The body broke off after the status line: why.
    pub cut_short: Option<String>,
}

/// A Web API method's answer with `ok: true`.
#[derive(Clone)]
pub(crate) struct ApiReply {
    pub attempts: u32,
    /// The whole JSON answer (`Null` when it could not be read).
    pub body: Value,
    /// The token's scopes, from Slack's `X-OAuth-Scopes` header, when it sent one.
    pub scopes: Option<String>,
    /// Slack answered HTTP 200, but the answer broke off or was not a Web API answer: what was
    /// odd. Only a posting method accepts such an answer (see [`SlackClient::send_api`]).
    pub unconfirmed: Option<String>,
}

/// Names the answer's fields only: `oauth.v2.access` answers with the new tokens.
impl std::fmt::Debug for ApiReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&String> = self
            .body
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        f.debug_struct("ApiReply")
            .field("attempts", &self.attempts)
            .field("fields", &fields)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// A file to share with [`SlackClient::upload_file`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Upload<'a> {
    pub filename: &'a str,
    pub title: &'a str,
    pub bytes: &'a [u8],
    /// A channel ID.
    pub channel: &'a str,
    /// The thread to share it in.
    pub thread_ts: Option<&'a str>,
}

/// What `oauth.v2.access` needs to renew a rotating token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefreshGrant<'a> {
    pub refresh_token: &'a Credential,
    pub client_id: &'a str,
    pub client_secret: &'a Credential,
}

/// What a Web API method is sent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ApiBody<'a> {
    /// A JSON document, for methods that write (`chat.postMessage`).
    Json(&'a [u8]),
    /// Form fields, for methods that read (`conversations.info` takes no JSON).
    Form(&'a [(&'a str, &'a str)]),
}

impl ApiBody<'_> {
    fn encode(&self) -> (&'static str, Vec<u8>) {
        match self {
            Self::Json(body) => ("application/json; charset=utf-8", body.to_vec()),
            Self::Form(fields) => {
                // reqwest's `form` feature is off; a URL's query serializer encodes the same way.
                let mut url = reqwest::Url::parse("http://form.invalid/").expect("valid URL");
                url.query_pairs_mut().extend_pairs(fields.iter());
                let encoded = url.query().unwrap_or_default().as_bytes().to_vec();
                ("application/x-www-form-urlencoded", encoded)
            }
        }
    }
}

/// One HTTP exchange, read back: the status, the headers used here, up to a limit of the body.
struct Exchange {
    status: u16,
    retry_after: Option<String>,
    scopes: Option<String>,
    body: Vec<u8>,
    /// The body broke off after the status came (a timeout, a reset, a closed connection):
    /// why. Slack had answered by then, so a 200 is never sent again.
    cut_short: Option<String>,
}

/// A Web API answer at HTTP 200, as far as it could be read.
struct Answered {
    body: Value,
    scopes: Option<String>,
    unconfirmed: Option<String>,
}

/// Slack client, for webhooks and the Web API; one per process so connections are reused.
pub(crate) struct SlackClient {
    http: reqwest::Client,
    allowed_hosts: Vec<String>,
    /// `SLACK_API_HOSTS`: where the Web API, and the upload URLs it hands out, may be.
    api_hosts: Vec<String>,
    /// `SLACK_API_URL`, already checked against `SLACK_API_HOSTS`, ending in `/`.
    api_url: reqwest::Url,
    attempt_timeout: Duration,
    max_attempts: u32,
    /// Set by a 429: no post goes out before this instant.
    paused_until: Mutex<Option<Instant>>,
    /// The slot the last paced post took (see [`SlackClient::pace`]).
    last_slot: Mutex<Option<Instant>>,
    /// The last webhook that passed [`check_webhook`], so warm posts don't parse it again.
    checked: Mutex<Option<(WebhookUrl, reqwest::Url)>>,
}

enum Attempt<T> {
    Done(T),
    Permanent(SlackError),
    RetryAfter(Duration),
    Transient(String, SlackError),
}

fn jitter(max: Duration) -> Duration {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(max.as_nanos() as u64);
    let fraction = (h.finish() % 1000) as f64 / 1000.0;
    max.mul_f64(fraction)
}

/// The first line of an answer, cut short, with anything of the webhook's path replaced:
/// a server may echo the request line (`Cannot POST /services/T0/B0/XXXX`).
pub(crate) fn short_reason(body: &str, webhook: &reqwest::Url) -> String {
    let line = body.lines().next().unwrap_or_default().trim();
    let mut reason = line.to_owned();
    let path = webhook.path();
    let secrets = std::iter::once(path)
        .chain(path.split('/'))
        .chain(webhook.query())
        // Short segments (`services`, `T0`) say nothing; the token is long.
        .filter(|s| s.len() >= 6);
    for secret in secrets {
        reason = reason.replace(secret, REDACTED);
    }
    if reason.chars().count() > MAX_REASON_LEN {
        reason = reason.chars().take(MAX_REASON_LEN).collect::<String>() + "…";
    }
    if reason.is_empty() {
        "(empty body)".into()
    } else {
        reason
    }
}

/// The wait a `Retry-After` asks for, at most [`MAX_RETRY_AFTER`]; one second when it says
/// nothing usable.
fn retry_after(header: Option<&str>) -> Duration {
    header
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_RETRY_AFTER.as_secs_f64())))
        .unwrap_or(Duration::from_secs(1))
}

impl SlackClient {
    pub(crate) fn new(
        http: reqwest::Client,
        allowed_hosts: Vec<String>,
        api_hosts: Vec<String>,
        api_url: reqwest::Url,
        attempt_timeout: Duration,
        max_attempts: u32,
    ) -> Self {
        Self {
            http,
            allowed_hosts,
            api_hosts,
            api_url,
            attempt_timeout,
            max_attempts: max_attempts.max(1),
            paused_until: Mutex::new(None),
            last_slot: Mutex::new(None),
            checked: Mutex::new(None),
        }
    }

    fn target(&self, url: &WebhookUrl) -> Result<reqwest::Url, SlackError> {
        let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((known, parsed)) = checked.as_ref() {
            if known == url {
                return Ok(parsed.clone());
            }
        }
        let parsed = check_webhook(url, &self.allowed_hosts)?;
        *checked = Some((url.clone(), parsed.clone()));
        Ok(parsed)
    }

    /// Checks the URL without posting.
    pub(crate) fn check(&self, url: &WebhookUrl) -> Result<(), SlackError> {
        check_webhook(url, &self.allowed_hosts).map(|_| ())
    }

    fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    fn paused_until(&self) -> Option<Instant> {
        *self.paused_until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the next free slot, `interval` after the last paced post of this process,
    /// so concurrent invocations together never post faster than the webhook accepts.
    /// `false` when the slot would come too late for `deadline`; no slot is taken then.
    pub(crate) async fn pace(&self, interval: Duration, deadline: Instant) -> bool {
        let slot = {
            let mut last = self.last_slot.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = last.map_or(now, |l| (l + interval).max(now));
            if slot + MIN_ATTEMPT > deadline {
                return false;
            }
            *last = Some(slot);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
        true
    }

    /// Posts `body` (JSON) until Slack answers 200 `ok`, a permanent error, or the deadline is near.
    pub(crate) async fn post(
        &self,
        url: &WebhookUrl,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Delivered, SlackError> {
        let target = &self.target(url)?;
        let (unconfirmed, attempts) = self
            .with_retries(deadline, |timeout, attempts| {
                self.attempt(target, body, timeout, attempts)
            })
            .await?;
        Ok(Delivered {
            attempts,
            unconfirmed,
        })
    }

    /// Calls Web API `method` with `token` until Slack answers `ok: true`, a permanent error, or
    /// the deadline is near; retried, paced and rate limited as webhook posts are. An answer
    /// that cannot be read after HTTP 200 is an error ([`SlackError::AnswerUnreadable`]).
    pub(crate) async fn call(
        &self,
        method: &'static str,
        token: &BotToken,
        body: ApiBody<'_>,
        deadline: Instant,
    ) -> Result<ApiReply, SlackError> {
        readable(method, self.send_api(method, token, body, deadline).await?)
    }

    /// As [`SlackClient::call`], for a method that posts or changes a message: an answer that
    /// cannot be read after HTTP 200 counts as done, flagged `unconfirmed`, and is never sent
    /// again.
    pub(crate) async fn send_api(
        &self,
        method: &'static str,
        token: &BotToken,
        body: ApiBody<'_>,
        deadline: Instant,
    ) -> Result<ApiReply, SlackError> {
        let (answered, attempts) = self
            .with_retries(deadline, |timeout, attempts| {
                self.api_attempt(method, token, body, timeout, attempts)
            })
            .await?;
        Ok(reply(answered, attempts))
    }

    /// Exchanges a refresh token for a new access and refresh token (`oauth.v2.access`,
    /// `grant_type=refresh_token`), authenticated by the app's client id and secret.
    ///
    /// Sent at most once unless it surely never reached Slack (a refused connection, a 429):
    /// Slack revokes a refresh token once it is used, so a second exchange after one that may
    /// have worked would only fail with `invalid_refresh_token` and hide what happened.
    pub(crate) async fn refresh_token(
        &self,
        grant: &RefreshGrant<'_>,
        deadline: Instant,
    ) -> Result<ApiReply, SlackError> {
        let fields = [
            ("grant_type", "refresh_token"),
            ("refresh_token", grant.refresh_token.expose()),
            ("client_id", grant.client_id),
            ("client_secret", grant.client_secret.expose()),
        ];
        let secrets = [grant.refresh_token.expose(), grant.client_secret.expose()];
        let (answered, attempts) = self
            .with_retries(deadline, |timeout, attempts| {
                self.once_sent(self.api_attempt_with(
                    "oauth.v2.access",
                    None,
                    &secrets,
                    ApiBody::Form(&fields),
                    timeout,
                    attempts,
                ))
            })
            .await?;
        readable("oauth.v2.access", reply(answered, attempts))
    }

    /// An attempt that may have reached Slack is not tried again.
    async fn once_sent<T>(&self, attempt: impl Future<Output = Attempt<T>>) -> Attempt<T> {
        match attempt.await {
            Attempt::Transient(summary, e) if matches!(&e, SlackError::Transport { source, .. } if source.is_connect()) => {
                Attempt::Transient(summary, e)
            }
            Attempt::Transient(_, e) => Attempt::Permanent(e),
            other => other,
        }
    }

    /// Posts a message (the payload with its `channel`) with `chat.postMessage`; Slack's answer
    /// names the message's channel and `ts`.
    pub(crate) async fn post_message(
        &self,
        token: &BotToken,
        body: &[u8],
        deadline: Instant,
    ) -> Result<ApiReply, SlackError> {
        self.send_api("chat.postMessage", token, ApiBody::Json(body), deadline)
            .await
    }

    /// Shares a file in a channel (in a thread, with `thread_ts`) through Slack's external
    /// upload: `files.getUploadURLExternal`, the bytes to the URL it gives, then
    /// `files.completeUploadExternal`. Needs the `files:write` scope.
    pub(crate) async fn upload_file(
        &self,
        token: &BotToken,
        file: &Upload<'_>,
        deadline: Instant,
    ) -> Result<(), SlackError> {
        let length = file.bytes.len().to_string();
        let reply = self
            .file_call(
                "files.getUploadURLExternal",
                token,
                ApiBody::Form(&[("filename", file.filename), ("length", &length)]),
                deadline,
            )
            .await?;
        let field = |name: &str| reply[name].as_str().filter(|v| !v.is_empty());
        let (Some(upload_url), Some(file_id)) = (field("upload_url"), field("file_id")) else {
            return Err(SlackError::ApiRejected {
                method: "files.getUploadURLExternal",
                code: "invalid_answer".into(),
                detail: "no upload_url or file_id in the answer".into(),
            });
        };
        let target = check_url(upload_url, &self.api_hosts, "SLACK_API_HOSTS")
            .map_err(|problem| SlackError::UrlNotAllowed(format!("upload URL: {problem}")))?;
        self.with_retries(deadline, |timeout, attempts| {
            self.upload_attempt(&target, file.bytes, timeout, attempts)
        })
        .await?;
        let files = serde_json::json!([{"id": file_id, "title": file.title}]).to_string();
        let mut fields = vec![("files", files.as_str()), ("channel_id", file.channel)];
        if let Some(ts) = file.thread_ts {
            fields.push(("thread_ts", ts));
        }
        self.file_call(
            "files.completeUploadExternal",
            token,
            ApiBody::Form(&fields),
            deadline,
        )
        .await?;
        Ok(())
    }

    /// A Web API call of the file upload: as [`SlackClient::call`], but a 429 gives the file
    /// up instead of holding back the process's messages, which Slack limits apart.
    async fn file_call(
        &self,
        method: &'static str,
        token: &BotToken,
        body: ApiBody<'_>,
        deadline: Instant,
    ) -> Result<Value, SlackError> {
        let (answered, attempts) = self
            .with_retries(deadline, |timeout, attempts| async move {
                unpaced(
                    self.api_attempt(method, token, body, timeout, attempts)
                        .await,
                )
            })
            .await?;
        Ok(readable(method, reply(answered, attempts))?.body)
    }

    /// One POST of a file's bytes to its upload URL, which carries its own authorization: the
    /// bot token is not sent. Slack answers 200 with a short text.
    async fn upload_attempt(
        &self,
        target: &reqwest::Url,
        bytes: &[u8],
        timeout: Duration,
        attempts: u32,
    ) -> Attempt<()> {
        let request = self
            .http
            .post(target.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes.to_vec());
        let exchange = match self.exchange(request, timeout, MAX_ANSWER).await {
            Ok(e) => e,
            Err(e) => return transport_failure(e, attempts, target),
        };
        let reason = short_reason(&String::from_utf8_lossy(&exchange.body), target);
        match exchange.status {
            // The bytes are in: even an answer that broke off is not sent again.
            200 => Attempt::Done(()),
            429 => unpaced(Attempt::RetryAfter(retry_after(
                exchange.retry_after.as_deref(),
            ))),
            s @ (500..=599 | 408) => Attempt::Transient(
                format!("HTTP {s} {reason}"),
                SlackError::Unavailable {
                    status: s,
                    reason,
                    attempts,
                },
            ),
            s => Attempt::Permanent(SlackError::Rejected { status: s, reason }),
        }
    }

    /// Runs `attempt` until it is done, fails for good, or the deadline is near: transient
    /// failures are retried with backoff, 429s waited out (and every post of the process held
    /// back meanwhile). `attempt` gets the time it may take and its number; the result comes
    /// with the number of attempts it took.
    async fn with_retries<T, F, Fut>(
        &self,
        deadline: Instant,
        mut attempt: F,
    ) -> Result<(T, u32), SlackError>
    where
        F: FnMut(Duration, u32) -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let mut attempts = 0;
        let mut rate_limit_waits = 0;
        let mut last = String::from("none");
        loop {
            if let Some(until) = self.paused_until() {
                if until > deadline {
                    return Err(SlackError::RateLimited {
                        retry_after: until.saturating_duration_since(Instant::now()),
                    });
                }
                tokio::time::sleep_until(until.into()).await;
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < MIN_ATTEMPT {
                return Err(SlackError::DeadlineExceeded { attempts, last });
            }
            attempts += 1;
            let outcome = attempt(remaining.min(self.attempt_timeout), attempts).await;
            let wait = match outcome {
                Attempt::Done(value) => return Ok((value, attempts)),
                Attempt::Permanent(e) => return Err(e),
                Attempt::RetryAfter(wait) => {
                    rate_limit_waits += 1;
                    attempts -= 1;
                    last = format!("HTTP 429, Retry-After {wait:?}");
                    if Instant::now() + wait > deadline || rate_limit_waits > MAX_RATE_LIMIT_WAITS {
                        self.pause_for(wait);
                        return Err(SlackError::RateLimited { retry_after: wait });
                    }
                    self.pause_for(wait);
                    tracing::warn!(
                        retry_after_ms = wait.as_millis() as u64,
                        "Slack rate limit; waiting"
                    );
                    continue;
                }
                Attempt::Transient(summary, err) => {
                    if attempts >= self.max_attempts {
                        return Err(err);
                    }
                    last = summary;
                    let backoff = BACKOFF_BASE
                        .saturating_mul(1 << (attempts - 1).min(10))
                        .min(BACKOFF_CAP);
                    // Full jitter: spreads retries from many instances after an outage.
                    let wait = jitter(backoff);
                    tracing::warn!(attempt = attempts, error = %last, backoff_ms = wait.as_millis() as u64, "Slack post failed; retrying");
                    wait
                }
            };
            if Instant::now() + wait + MIN_ATTEMPT > deadline {
                return Err(SlackError::DeadlineExceeded { attempts, last });
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends `request` and reads the answer, up to `limit` bytes of its body.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        timeout: Duration,
        limit: usize,
    ) -> Result<Exchange, reqwest::Error> {
        let mut response = request
            .timeout(timeout)
            .send()
            .await
            .map_err(reqwest::Error::without_url)?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (retry_after, scopes) = (header("retry-after"), header("x-oauth-scopes"));
        let status = response.status().as_u16();
        let mut body = Vec::new();
        let mut cut_short = None;
        // Once the status is in, Slack has answered: a body that breaks off is recorded, not
        // turned into a transport error that would send the request again.
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = limit - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() == limit {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    cut_short = Some(crate::net::error_chain(&e.without_url()));
                    break;
                }
            }
        }
        Ok(Exchange {
            status,
            retry_after,
            scopes,
            body,
            cut_short,
        })
    }

    /// One POST of `body`, read back as an [`Answer`].
    pub(crate) async fn send_once(
        &self,
        target: &reqwest::Url,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Answer, reqwest::Error> {
        let request = self
            .http
            .post(target.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let exchange = self.exchange(request, timeout, MAX_ANSWER).await?;
        let text = String::from_utf8_lossy(&exchange.body);
        Ok(Answer {
            status: exchange.status,
            reason: short_reason(&text, target),
            ok_body: text.trim() == "ok" && exchange.cut_short.is_none(),
            retry_after: exchange.retry_after,
            cut_short: exchange.cut_short,
        })
    }

    /// One webhook POST. HTTP 200 is Slack's acceptance: an answer after it that is not `ok`,
    /// or that breaks off, is noted, and the message counts as delivered.
    async fn attempt(
        &self,
        target: &reqwest::Url,
        body: &[u8],
        timeout: Duration,
        attempts: u32,
    ) -> Attempt<Option<String>> {
        let answer = match self.send_once(target, body.to_vec(), timeout).await {
            Ok(a) => a,
            Err(e) => return transport_failure(e, attempts, target),
        };
        let Answer { status, reason, .. } = answer;
        match (status, answer.cut_short) {
            (200, Some(why)) => Attempt::Done(Some(format!("the answer broke off: {why}"))),
            (200, None) if answer.ok_body => Attempt::Done(None),
            (200, None) => Attempt::Done(Some(format!("the answer was {reason:?}, not ok"))),
            (429, _) => Attempt::RetryAfter(retry_after(answer.retry_after.as_deref())),
            (s @ (500..=599 | 408), _) => Attempt::Transient(
                format!("HTTP {s} {reason}"),
                SlackError::Unavailable {
                    status: s,
                    reason,
                    attempts,
                },
            ),
            (s, _) => Attempt::Permanent(SlackError::Rejected { status: s, reason }),
        }
    }

    /// One call of Web API `method` with the bot token, read back and judged by [`api_verdict`].
    async fn api_attempt(
        &self,
        method: &'static str,
        token: &BotToken,
        body: ApiBody<'_>,
        timeout: Duration,
        attempts: u32,
    ) -> Attempt<Answered> {
        self.api_attempt_with(
            method,
            Some(token),
            &[token.expose()],
            body,
            timeout,
            attempts,
        )
        .await
    }

    /// One call of Web API `method`, with the bot token as bearer or with the credentials in
    /// the body; `secrets` are taken out of anything quoted from the answer.
    async fn api_attempt_with(
        &self,
        method: &'static str,
        token: Option<&BotToken>,
        secrets: &[&str],
        body: ApiBody<'_>,
        timeout: Duration,
        attempts: u32,
    ) -> Attempt<Answered> {
        let (content_type, bytes) = body.encode();
        let url = match self.api_url.join(method) {
            Ok(url) => url,
            Err(_) => {
                return Attempt::Permanent(SlackError::UrlNotAllowed(format!(
                    "SLACK_API_URL cannot take the method {method}"
                )))
            }
        };
        let mut request = self.http.post(url.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        let request = request
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes);
        match self.exchange(request, timeout, MAX_API_ANSWER).await {
            Ok(exchange) => api_verdict(method, secrets, exchange, attempts),
            Err(e) => transport_failure(e, attempts, &url),
        }
    }
}

/// A 429 as a failure of this request alone: nothing else waits for it.
fn unpaced<T>(attempt: Attempt<T>) -> Attempt<T> {
    match attempt {
        Attempt::RetryAfter(retry_after) => {
            Attempt::Permanent(SlackError::RateLimited { retry_after })
        }
        other => other,
    }
}

/// A request that got no answer: a timeout or a connection failure, both retried.
fn transport_failure<T>(e: reqwest::Error, attempts: u32, target: &reqwest::Url) -> Attempt<T> {
    if e.is_timeout() {
        return Attempt::Transient("timeout".into(), SlackError::Timeout { attempts });
    }
    let proxy = crate::net::proxy_for(target);
    Attempt::Transient(
        format!(
            "{}{}",
            crate::net::error_chain(&e),
            crate::net::through(&proxy)
        ),
        SlackError::Transport {
            attempts,
            source: e,
            proxy,
        },
    )
}

/// The reply to a call that ended with `answered` after `attempts`.
fn reply(answered: Answered, attempts: u32) -> ApiReply {
    ApiReply {
        attempts,
        body: answered.body,
        scopes: answered.scopes,
        unconfirmed: answered.unconfirmed,
    }
}

/// `reply`, if its answer could be read: a method whose answer is needed cannot use another.
fn readable(method: &'static str, reply: ApiReply) -> Result<ApiReply, SlackError> {
    match reply.unconfirmed {
        Some(why) => Err(SlackError::AnswerUnreadable { method, why }),
        None => Ok(reply),
    }
}

/// Cuts Slack's text (an error code, a message) to one short line without the credentials
/// sent with the call in it.
fn api_text(text: &str, secrets: &[&str]) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    let mut text = crate::secret::redact::scrub(line).into_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, REDACTED);
    }
    if text.chars().count() > MAX_REASON_LEN {
        text = text.chars().take(MAX_REASON_LEN).collect::<String>() + "…";
    }
    text
}

/// What an `ok: false` code means for the operator, with what Slack added to it.
fn api_detail(code: &str, answer: &Value, secrets: &[&str]) -> String {
    let field = |name: &str| answer.get(name).and_then(Value::as_str);
    match code {
        "channel_not_found" => "SLACK_CHANNEL names no channel the bot can see".into(),
        "not_in_channel" => "invite the app to the channel: /invite @app-name".into(),
        "is_archived" => "the channel is archived".into(),
        // oauth.v2.access, renewing a rotating token.
        "invalid_refresh_token" => {
            "the refresh token was already used or revoked: re-enter the app's tokens".into()
        }
        "invalid_client_id" | "bad_client_secret" => {
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET must be the app's (Basic Information)".into()
        }
        "missing_scope" => match field("needed") {
            Some(needed) => format!("the app needs the scope {}", api_text(needed, secrets)),
            None => "the app lacks a scope this method needs".into(),
        },
        // Slack says which block and why in `response_metadata.messages`.
        _ => answer
            .pointer("/response_metadata/messages/0")
            .and_then(Value::as_str)
            .map(|m| api_text(m, secrets))
            .unwrap_or_default(),
    }
}

/// Judges a Web API answer. Slack answers HTTP 200 for most errors, with `ok: false` and a
/// code: a token error, a rate limit or one of Slack's passing troubles is retried or handed
/// to the caller; every other code is permanent. Off 200, 429 is waited out, 408 and 5xx
/// retried, and anything else refused.
fn api_verdict(
    method: &'static str,
    secrets: &[&str],
    exchange: Exchange,
    attempts: u32,
) -> Attempt<Answered> {
    let Exchange {
        status,
        retry_after: wait,
        scopes,
        body,
        cut_short,
    } = exchange;
    let answer: Option<Value> = serde_json::from_slice(&body).ok();
    let code = answer
        .as_ref()
        .and_then(|a| a.get("error"))
        .and_then(Value::as_str)
        .map(|c| api_text(c, secrets));
    let reason = || {
        code.clone().unwrap_or_else(
            || match api_text(&String::from_utf8_lossy(&body), secrets) {
                t if t.is_empty() => "(empty body)".into(),
                t => t,
            },
        )
    };
    match status {
        429 => return Attempt::RetryAfter(retry_after(wait.as_deref())),
        s @ (500..=599 | 408) => {
            let reason = reason();
            return Attempt::Transient(
                format!("HTTP {s} {reason}"),
                SlackError::Unavailable {
                    status: s,
                    reason,
                    attempts,
                },
            );
        }
        200 => {}
        s => {
            return Attempt::Permanent(SlackError::Rejected {
                status: s,
                reason: reason(),
            })
        }
    }
    // After HTTP 200, an answer that broke off or is not Slack's may have been a success:
    // never sent again, and only a posting method takes it as done.
    let unreadable = |why: String| {
        Attempt::Done(Answered {
            body: Value::Null,
            scopes: scopes.clone(),
            unconfirmed: Some(why),
        })
    };
    let Some(answer) = answer.filter(Value::is_object) else {
        return unreadable(match &cut_short {
            Some(why) => format!("the answer broke off: {why}"),
            None => format!("the answer is not a Web API answer: {}", reason()),
        });
    };
    if answer.get("ok") == Some(&Value::Bool(true)) {
        return Attempt::Done(Answered {
            body: answer,
            scopes,
            unconfirmed: None,
        });
    }
    let code = code.unwrap_or_else(|| "ok:false without an error code".into());
    match code.as_str() {
        "ratelimited" => Attempt::RetryAfter(retry_after(wait.as_deref())),
        c if TRANSIENT_API_ERRORS.contains(&c) => Attempt::Transient(
            format!("{method}: {c}"),
            SlackError::Unavailable {
                status,
                reason: code,
                attempts,
            },
        ),
        c if TOKEN_ERRORS.contains(&c) => {
            Attempt::Permanent(SlackError::TokenRejected { method, code })
        }
        c => Attempt::Permanent(SlackError::ApiRejected {
            method,
            detail: api_detail(c, &answer, secrets),
            code,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<String> {
        vec![
            "hooks.slack.com".into(),
            "127.0.0.1".into(),
            "localhost".into(),
        ]
    }

    #[test]
    fn only_listed_hosts_over_https() {
        let ok = |u: &str| check_webhook(&WebhookUrl::new(u), &hosts()).is_ok();
        assert!(ok("https://hooks.slack.com/services/T/B/X"));
        assert!(ok("http://127.0.0.1:9000/services/T/B/X"));
        assert!(ok("http://localhost:9000/x"));
        assert!(!ok("http://hooks.slack.com/services/T/B/X"));
        assert!(!ok("https://evil.example/services/T/B/X"));
        assert!(!ok("https://hooks.slack.com.evil.example/x"));
        assert!(!ok("https://user:pw@hooks.slack.com/x"));
        assert!(!ok("ftp://hooks.slack.com/x"));
        assert!(!ok("not a url"));
    }

    #[test]
    fn rejection_messages_do_not_carry_the_url() {
        let err = check_webhook(
            &WebhookUrl::new("https://evil.example/services/T/B/SECRETPATH"),
            &hosts(),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("SECRETPATH"));
    }

    #[test]
    fn a_gone_webhook_or_a_refused_token_is_worth_a_new_secret() {
        let rejected = |status| SlackError::Rejected {
            status,
            reason: String::new(),
        };
        assert!(
            rejected(404).credential_gone()
                && rejected(403).credential_gone()
                && rejected(410).credential_gone()
        );
        assert!(!rejected(400).credential_gone());
        let token = SlackError::TokenRejected {
            method: "chat.postMessage",
            code: "token_expired".into(),
        };
        assert!(token.credential_gone());
        let channel = SlackError::ApiRejected {
            method: "chat.postMessage",
            code: "channel_not_found".into(),
            detail: String::new(),
        };
        assert!(!channel.credential_gone());
    }

    const TOKEN: &str = "xoxb-1-XXXXTOKENSECRET";

    fn token() -> BotToken {
        match crate::secret::parse_secret(
            "t",
            &format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"C0123ABCD"}}"#),
        ) {
            Ok(crate::secret::SlackSecret::App { token, .. }) => token,
            other => panic!("{other:?}"),
        }
    }

    /// The verdict on an answer of `status` with `body` (and a `Retry-After` of `wait`).
    fn verdict(status: u16, body: &str, wait: Option<&str>) -> Attempt<Answered> {
        verdict_cut(status, body, wait, None)
    }

    /// As [`verdict`], for a body that broke off (`cut_short`).
    fn verdict_cut(
        status: u16,
        body: &str,
        wait: Option<&str>,
        cut_short: Option<&str>,
    ) -> Attempt<Answered> {
        let exchange = Exchange {
            status,
            retry_after: wait.map(str::to_owned),
            scopes: Some("chat:write".into()),
            body: body.as_bytes().to_vec(),
            cut_short: cut_short.map(str::to_owned),
        };
        api_verdict("chat.postMessage", &[token().expose()], exchange, 1)
    }

    fn permanent(status: u16, body: &str) -> SlackError {
        match verdict(status, body, None) {
            Attempt::Permanent(e) => e,
            Attempt::Done(_) => panic!("{status} {body}: done"),
            Attempt::RetryAfter(w) => panic!("{status} {body}: retry after {w:?}"),
            Attempt::Transient(s, _) => panic!("{status} {body}: transient {s}"),
        }
    }

    #[test]
    fn web_api_success_is_ok_true_at_200() {
        let Attempt::Done(answered) =
            verdict(200, r#"{"ok":true,"channel":"C0123ABCD","ts":"1.2"}"#, None)
        else {
            panic!("not done")
        };
        assert_eq!(answered.body["ts"], "1.2");
        assert_eq!(answered.scopes.as_deref(), Some("chat:write"));
        assert_eq!(answered.unconfirmed, None);
    }

    #[test]
    fn after_http_200_an_unreadable_answer_is_done_unconfirmed_never_retried() {
        for (body, cut, said) in [
            (
                r#"{"ok":tr"#,
                Some("connection reset"),
                "the answer broke off: connection reset",
            ),
            (
                "",
                Some("operation timed out"),
                "the answer broke off: operation timed out",
            ),
            ("ok", None, "the answer is not a Web API answer: ok"),
            ("[1]", None, "the answer is not a Web API answer: [1]"),
        ] {
            let Attempt::Done(answered) = verdict_cut(200, body, None, cut) else {
                panic!("{body:?} {cut:?}: not done");
            };
            assert_eq!(answered.unconfirmed.as_deref(), Some(said));
            assert_eq!(answered.body, Value::Null);
            // A method whose answer is needed takes it as an error, still never retried.
            let e = readable("auth.test", reply(answered, 1)).unwrap_err();
            assert_eq!(e.error_type(), "SlackAnswerUnreadable");
            assert!(e.to_string().contains("not sent again"), "{e}");
        }
        // A whole refusal that arrived before the connection broke is still a refusal.
        assert!(matches!(
            verdict_cut(
                200,
                r#"{"ok":false,"error":"channel_not_found"}"#,
                None,
                Some("reset")
            ),
            Attempt::Permanent(SlackError::ApiRejected { .. })
        ));
        // A 5xx that broke off is still a 5xx: nothing was taken.
        assert!(matches!(
            verdict_cut(503, "<html>", None, Some("reset")),
            Attempt::Transient(_, SlackError::Unavailable { .. })
        ));
    }

    #[test]
    fn web_api_rate_limits_and_server_errors_are_transient() {
        let limited = r#"{"ok":false,"error":"ratelimited"}"#;
        assert!(
            matches!(verdict(429, limited, Some("3")), Attempt::RetryAfter(w) if w == Duration::from_secs(3))
        );
        assert!(
            matches!(verdict(200, limited, Some("2")), Attempt::RetryAfter(w) if w == Duration::from_secs(2))
        );
        for (status, body) in [
            (500, "oops"),
            (503, r#"{"ok":false,"error":"service_unavailable"}"#),
            (200, r#"{"ok":false,"error":"internal_error"}"#),
            (200, r#"{"ok":false,"error":"service_unavailable"}"#),
            (408, ""),
        ] {
            assert!(
                matches!(
                    verdict(status, body, None),
                    Attempt::Transient(_, SlackError::Unavailable { .. })
                ),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn web_api_errors_are_permanent_and_named() {
        for code in [
            "channel_not_found",
            "not_in_channel",
            "is_archived",
            "missing_scope",
            "invalid_blocks",
            "fatal_error",
            "some_future_error",
        ] {
            let e = permanent(200, &format!(r#"{{"ok":false,"error":"{code}"}}"#));
            assert!(
                matches!(&e, SlackError::ApiRejected { code: c, .. } if c == code),
                "{e:?}"
            );
            assert_eq!(e.error_type(), "SlackRejected");
            assert!(
                e.to_string()
                    .starts_with(&format!("Slack refused chat.postMessage: {code}")),
                "{e}"
            );
            assert!(!e.credential_gone());
        }
        let e = permanent(
            200,
            r#"{"ok":false,"error":"missing_scope","needed":"chat:write","provided":"users:read"}"#,
        );
        assert_eq!(
            e.to_string(),
            "Slack refused chat.postMessage: missing_scope (the app needs the scope chat:write)"
        );
        let e = permanent(
            200,
            r#"{"ok":false,"error":"invalid_blocks","response_metadata":{"messages":["[ERROR] must be less than 3001 characters [json-pointer:/blocks/1/text/text]"]}}"#,
        );
        assert_eq!(
            e.to_string(),
            "Slack refused chat.postMessage: invalid_blocks ([ERROR] must be less than 3001 characters [json-pointer:/blocks/1/text/text])"
        );
    }

    #[test]
    fn web_api_token_errors_ask_for_a_new_secret() {
        for code in TOKEN_ERRORS {
            let e = permanent(200, &format!(r#"{{"ok":false,"error":"{code}"}}"#));
            assert!(e.credential_gone(), "{code}");
            assert_eq!(e.error_type(), "SlackTokenRejected");
            assert_eq!(
                e.to_string(),
                format!("Slack refused the bot token on chat.postMessage: {code}")
            );
        }
    }

    #[test]
    fn odd_web_api_answers_are_refused_never_retried() {
        for (status, body) in [(200, r#"{"ok":false}"#), (404, "Not Found"), (302, "")] {
            let e = permanent(status, body);
            assert!(
                matches!(
                    e,
                    SlackError::Rejected { .. } | SlackError::ApiRejected { .. }
                ),
                "{status} {body}: {e:?}"
            );
        }
    }

    #[test]
    fn web_api_answers_never_carry_the_token() {
        for (status, body) in [
            (200, format!(r#"{{"ok":false,"error":"bad {TOKEN}"}}"#)),
            (
                200,
                format!(
                    r#"{{"ok":false,"error":"invalid_blocks","response_metadata":{{"messages":["{TOKEN}"]}}}}"#
                ),
            ),
            (400, format!("Authorization: Bearer {TOKEN}")),
            (500, format!("echo {TOKEN}")),
        ] {
            let text = match verdict(status, &body, None) {
                Attempt::Permanent(e) | Attempt::Transient(_, e) => format!("{e} {e:?}"),
                _ => panic!("{status} {body}"),
            };
            assert!(!text.contains("XXXXTOKENSECRET"), "{text}");
        }
        // Nor any piece of it: Slack echoing the token's tail in an error code.
        let tail = format!(
            r#"{{"ok":false,"error":"bad_token_tail_{}"}}"#,
            &TOKEN[10..]
        );
        let Attempt::Permanent(e) = verdict(200, &tail, None) else {
            panic!("not permanent")
        };
        assert!(!e.to_string().contains(&TOKEN[12..]), "{e}");
    }

    #[test]
    fn read_methods_are_sent_as_a_form() {
        let (content_type, body) =
            ApiBody::Form(&[("channel", "C0123ABCD"), ("x", "a b&c")]).encode();
        assert_eq!(content_type, "application/x-www-form-urlencoded");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "channel=C0123ABCD&x=a+b%26c"
        );
        let (content_type, _) = ApiBody::Json(b"{}").encode();
        assert!(content_type.starts_with("application/json"));
    }

    #[test]
    fn answers_are_cut_short_and_never_echo_the_webhook() {
        let url = reqwest::Url::parse("https://hooks.slack.com/services/T0/B0/XXXXSECRET").unwrap();
        assert_eq!(short_reason("no_service", &url), "no_service");
        assert_eq!(short_reason("", &url), "(empty body)");
        let echoed = short_reason("Cannot POST /services/T0/B0/XXXXSECRET\nmore", &url);
        assert_eq!(echoed, "Cannot POST [redacted]");
        let token_only = short_reason("bad token XXXXSECRET", &url);
        assert!(!token_only.contains("XXXXSECRET"), "{token_only}");
        let long = short_reason(&"x".repeat(5000), &url);
        assert_eq!(long.chars().count(), MAX_REASON_LEN + 1);
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(retry_after(None), Duration::from_secs(1));
        assert_eq!(retry_after(Some(" 3")), Duration::from_secs(3));
        assert_eq!(retry_after(Some("0.5")), Duration::from_millis(500));
        assert_eq!(retry_after(Some("soon")), Duration::from_secs(1));
        assert_eq!(retry_after(Some("-1")), Duration::from_secs(1));
        // An hour is read as the cap: one answer never stops posting for longer.
        assert_eq!(retry_after(Some("3600")), MAX_RETRY_AFTER);
        assert_eq!(retry_after(Some("1e300")), MAX_RETRY_AFTER);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(200)) < Duration::from_millis(200));
        }
    }
}
