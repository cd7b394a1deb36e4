//! Posting to a Slack incoming webhook, with retries bounded by the invocation's deadline.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::https::{Client, HttpsError, Target};
use crate::secret::WebhookUrl;
use crate::transport::Transport;

/// An attempt with less time than this left is not started.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(5);
/// 429s are waited out rather than counted as failures, up to this many per post.
const MAX_RATE_LIMIT_WAITS: u32 = 30;
const MAX_REASON_LEN: usize = 200;
/// Slack answers in a few bytes; anything much longer is not Slack.
const MAX_ANSWER: usize = 64 * 1024;
const WEBHOOK_HEADERS: [(&str, &str); 2] = [
    ("User-Agent", crate::https::USER_AGENT),
    ("Content-Type", "application/json"),
];

/// Why a notification was not accepted. Never carries the webhook URL.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// The secret's URL is not one this function may post to.
    #[error("webhook URL rejected: {0}")]
    UrlNotAllowed(String),
    /// A status Slack will answer the same way again (400, 403, 404, 410 …).
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
    /// Connection refused, reset, TLS or DNS failure, on the last attempt.
    #[error("cannot reach Slack after {attempts} attempts: {source}")]
    Transport {
        attempts: u32,
        #[source]
        source: HttpsError,
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

/// Checks a webhook URL against the allowed hosts: https, or http to a loopback address.
pub fn check_webhook(url: &WebhookUrl, allowed_hosts: &[String]) -> Result<Target, SlackError> {
    let parsed = url::Url::parse(url.expose())
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
    Target::from_url(&parsed).ok_or_else(|| SlackError::UrlNotAllowed("no host".into()))
}

/// A delivered message: how many attempts it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub attempts: u32,
}

/// Webhook client; one per process so connections are reused.
pub struct SlackClient {
    /// One kept-alive connection; posts go out one at a time.
    http: Mutex<Client>,
    allowed_hosts: Vec<String>,
    attempt_timeout: Duration,
    max_attempts: u32,
    /// Set by a 429: no post goes out before this instant.
    paused_until: Mutex<Option<Instant>>,
    /// The last webhook that passed [`check_webhook`], so warm posts don't parse it again.
    checked: Mutex<Option<(WebhookUrl, Target)>>,
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

/// Slack's error bodies are short codes; keep them short in case something else answers.
fn short_reason(body: &str) -> String {
    let line = body.lines().next().unwrap_or_default().trim();
    let reason: String = line.chars().take(MAX_REASON_LEN).collect();
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
        transport: std::sync::Arc<Transport>,
        allowed_hosts: Vec<String>,
        attempt_timeout: Duration,
        max_attempts: u32,
    ) -> Self {
        Self {
            http: Mutex::new(transport.client()),
            allowed_hosts,
            attempt_timeout,
            max_attempts: max_attempts.max(1),
            paused_until: Mutex::new(None),
            checked: Mutex::new(None),
        }
    }

    fn target(&self, url: &WebhookUrl) -> Result<Target, SlackError> {
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
            let outcome =
                self.attempt(&target, body, remaining.min(self.attempt_timeout), attempts);
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

    /// One POST. Blocking: the invocation has nothing else to do while Slack answers, and a
    /// blocking socket is the fewest system calls per post.
    fn attempt(&self, target: &Target, body: &[u8], timeout: Duration, attempts: u32) -> Attempt {
        let response = self.http.lock().unwrap_or_else(|e| e.into_inner()).request(
            "POST",
            target,
            &WEBHOOK_HEADERS,
            body,
            timeout,
            MAX_ANSWER,
        );
        let response = match response {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Attempt::Transient("timeout".into(), SlackError::Timeout { attempts })
            }
            Err(e) => {
                return Attempt::Transient(
                    e.to_string(),
                    SlackError::Transport {
                        attempts,
                        source: e,
                    },
                )
            }
        };
        let status = response.status;
        let text = String::from_utf8_lossy(&response.body);
        let reason = short_reason(&text);
        match status {
            200 if text.trim() == "ok" => Attempt::Done,
            429 => Attempt::RetryAfter(retry_after(response.header("retry-after"))),
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
