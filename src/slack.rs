//! Posting to a Slack incoming webhook, with retries bounded by the invocation's deadline.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::secret::WebhookUrl;

/// An attempt with less time than this left is not started.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(5);
/// 429s are waited out rather than counted as failures, up to this many per post.
const MAX_RATE_LIMIT_WAITS: u32 = 30;
/// Slack's error bodies are short codes; anything longer is cut to this many characters.
const MAX_REASON_LEN: usize = 120;
/// Slack answers in a few bytes; no more than this is read of an answer.
const MAX_ANSWER: usize = 16 * 1024;
const REDACTED: &str = "[redacted]";

/// Why a notification was not accepted. Never carries the webhook URL.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
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
    #[error("cannot reach Slack after {attempts} attempts: {}", error_chain(.source))]
    Transport {
        attempts: u32,
        /// Stripped of its URL.
        #[source]
        source: reqwest::Error,
    },
    /// The deadline left no time for another attempt.
    #[error("no time left before the invocation's deadline after {attempts} attempts; last error: {last}")]
    DeadlineExceeded { attempts: u32, last: String },
}

impl SlackError {
    /// Slack says the webhook itself is gone or revoked: worth re-reading the secret.
    pub fn webhook_gone(&self) -> bool {
        matches!(
            self,
            Self::Rejected {
                status: 403 | 404 | 410,
                ..
            }
        )
    }

    /// A short name for Lambda's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::UrlNotAllowed(_) => "WebhookNotAllowed",
            Self::Rejected { .. } => "SlackRejected",
            Self::Unavailable { .. } => "SlackUnavailable",
            Self::RateLimited { .. } => "SlackRateLimited",
            Self::Timeout { .. } | Self::DeadlineExceeded { .. } => "SlackTimeout",
            Self::Transport { .. } => "SlackUnreachable",
        }
    }
}

/// `error: cause: cause`, on one line. reqwest's own message stops at "error sending
/// request"; the reason (refused, certificate, proxy) is further down the chain.
pub fn error_chain(error: &dyn std::error::Error) -> String {
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

/// Checks a webhook URL against the allowed hosts: https, or http to a loopback address.
pub fn check_webhook(
    url: &WebhookUrl,
    allowed_hosts: &[String],
) -> Result<reqwest::Url, SlackError> {
    let parsed = reqwest::Url::parse(url.expose())
        .map_err(|_| SlackError::UrlNotAllowed("not a valid URL".into()))?;
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    if !allowed_hosts.contains(&host) {
        return Err(SlackError::UrlNotAllowed(format!(
            "host {host:?} is not in SLACK_WEBHOOK_HOSTS"
        )));
    }
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        scheme => {
            return Err(SlackError::UrlNotAllowed(format!(
                "scheme {scheme:?}: only https is allowed"
            )))
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(SlackError::UrlNotAllowed("credentials in the URL".into()));
    }
    Ok(parsed)
}

/// A delivered message: how many attempts it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub attempts: u32,
}

/// Slack's answer to one POST, read in full (up to `MAX_ANSWER` bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The first line of the body, cut short, with the webhook's path taken out.
    pub reason: String,
    /// The whole body is exactly `ok`.
    pub ok_body: bool,
    pub retry_after: Option<String>,
}

/// Webhook client; one per process so connections are reused.
pub struct SlackClient {
    http: reqwest::Client,
    allowed_hosts: Vec<String>,
    attempt_timeout: Duration,
    max_attempts: u32,
    /// Set by a 429: no post goes out before this instant.
    paused_until: Mutex<Option<Instant>>,
    /// The slot the last paced post took (see [`SlackClient::pace`]).
    last_slot: Mutex<Option<Instant>>,
    /// The last webhook that passed [`check_webhook`], so warm posts don't parse it again.
    checked: Mutex<Option<(WebhookUrl, reqwest::Url)>>,
}

enum Attempt {
    Done,
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
pub fn short_reason(body: &str, webhook: &reqwest::Url) -> String {
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

fn retry_after(header: Option<&str>) -> Duration {
    header
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)))
        .unwrap_or(Duration::from_secs(1))
}

impl SlackClient {
    pub fn new(
        http: reqwest::Client,
        allowed_hosts: Vec<String>,
        attempt_timeout: Duration,
        max_attempts: u32,
    ) -> Self {
        Self {
            http,
            allowed_hosts,
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
    pub fn check(&self, url: &WebhookUrl) -> Result<(), SlackError> {
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
    pub async fn pace(&self, interval: Duration, deadline: Instant) -> bool {
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
    pub async fn post(
        &self,
        url: &WebhookUrl,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Delivered, SlackError> {
        let target = self.target(url)?;
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
            let outcome = self
                .attempt(&target, body, remaining.min(self.attempt_timeout), attempts)
                .await;
            let wait = match outcome {
                Attempt::Done => return Ok(Delivered { attempts }),
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

    /// One POST of `body`, read back as an [`Answer`].
    pub async fn send_once(
        &self,
        target: &reqwest::Url,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Answer, reqwest::Error> {
        let mut response = self
            .http
            .post(target.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(reqwest::Error::without_url)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut text = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(reqwest::Error::without_url)?
        {
            let room = MAX_ANSWER - text.len();
            text.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if text.len() == MAX_ANSWER {
                break;
            }
        }
        let text = String::from_utf8_lossy(&text);
        Ok(Answer {
            status,
            reason: short_reason(&text, target),
            ok_body: text.trim() == "ok",
            retry_after,
        })
    }

    async fn attempt(
        &self,
        target: &reqwest::Url,
        body: &[u8],
        timeout: Duration,
        attempts: u32,
    ) -> Attempt {
        let answer = match self.send_once(target, body.to_vec(), timeout).await {
            Ok(a) => a,
            Err(e) if e.is_timeout() => {
                return Attempt::Transient("timeout".into(), SlackError::Timeout { attempts })
            }
            Err(e) => {
                return Attempt::Transient(
                    error_chain(&e),
                    SlackError::Transport {
                        attempts,
                        source: e,
                    },
                )
            }
        };
        let Answer { status, reason, .. } = answer;
        match status {
            200 if answer.ok_body => Attempt::Done,
            429 => Attempt::RetryAfter(retry_after(answer.retry_after.as_deref())),
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
    fn webhook_gone_statuses() {
        let rejected = |status| SlackError::Rejected {
            status,
            reason: String::new(),
        };
        assert!(
            rejected(404).webhook_gone()
                && rejected(403).webhook_gone()
                && rejected(410).webhook_gone()
        );
        assert!(!rejected(400).webhook_gone());
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
    }

    #[test]
    fn jitter_stays_within_bounds() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(200)) < Duration::from_millis(200));
        }
    }
}
