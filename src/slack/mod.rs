//! Posting to Slack, through an incoming webhook or the Web API (`chat.postMessage` with a bot
//! token), with retries bounded by the invocation's deadline.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::secret::WebhookUrl;

pub(crate) mod messenger;
mod upload;
mod web_api;
mod webhook;

pub(crate) use upload::Upload;
pub(crate) use web_api::{ApiBody, ApiReply, RefreshGrant};
pub(crate) use webhook::{check_url, check_webhook, short_reason, Answer};

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
    /// Set by a 429, by lane (a webhook, a channel, a method): no request of the lane goes
    /// out before this instant.
    paused_until: Mutex<HashMap<String, Instant>>,
    /// The slot the last paced post of each lane took (see [`SlackClient::pace`]).
    last_slot: Mutex<HashMap<String, Instant>>,
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
            paused_until: Mutex::new(HashMap::new()),
            last_slot: Mutex::new(HashMap::new()),
            checked: Mutex::new(None),
        }
    }

    fn pause_for(&self, lane: &str, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        let at = paused.entry(lane.to_owned()).or_insert(until);
        if *at < until {
            *at = until;
        }
    }

    fn paused_until(&self, lane: &str) -> Option<Instant> {
        let paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        paused.get(lane).copied().filter(|at| *at > Instant::now())
    }

    /// Waits for `lane`'s next free slot, `interval` after its last paced post in this
    /// process, so concurrent invocations together never post to one place faster than it
    /// accepts. `false` when the slot would come too late for `deadline`; no slot is taken
    /// then.
    pub(crate) async fn pace(&self, lane: &str, interval: Duration, deadline: Instant) -> bool {
        let slot = {
            let mut last = self.last_slot.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            // Never inside a 429's pause; never sooner than `interval` after the last post.
            let free = self.paused_until(lane).unwrap_or(now).max(now);
            let slot = last.get(lane).map_or(free, |l| (*l + interval).max(free));
            if slot + MIN_ATTEMPT > deadline {
                return false;
            }
            last.insert(lane.to_owned(), slot);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
        true
    }

    /// Records that a request of `lane` went out at `at`: the next paced post counts its
    /// interval from there, not from the slot it was given (a 429 may have held it back).
    fn note_sent(&self, lane: &str, at: Instant) {
        let mut last = self.last_slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = last.get_mut(lane) {
            if *slot < at {
                *slot = at;
            }
        }
    }

    /// Runs `attempt` until it is done, fails for good, or the deadline is near: transient
    /// failures are retried with backoff, 429s waited out (and every request of the process
    /// to the same `lane` held back meanwhile). `attempt` gets the time it may take and its number; the result comes
    /// with the number of attempts it took.
    async fn with_retries<T, F, Fut>(
        &self,
        deadline: Instant,
        lane: &str,
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
            if let Some(until) = self.paused_until(lane) {
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
            let sent_at = Instant::now();
            let outcome = attempt(remaining.min(self.attempt_timeout), attempts).await;
            let wait = match outcome {
                Attempt::Done(value) => {
                    self.note_sent(lane, sent_at);
                    return Ok((value, attempts));
                }
                Attempt::Permanent(e) => return Err(e),
                Attempt::RetryAfter(asked) => {
                    // A little more than asked, at random (a fifth, a second at most, never past
                    // the cap): two instances refused together do not come back together.
                    let extra = jitter((asked / 5).min(Duration::from_secs(1)));
                    let wait = (asked + extra).min(MAX_RETRY_AFTER.max(asked));
                    rate_limit_waits += 1;
                    attempts -= 1;
                    last = format!("HTTP 429, Retry-After {asked:?}");
                    if Instant::now() + wait > deadline || rate_limit_waits > MAX_RATE_LIMIT_WAITS {
                        self.pause_for(lane, wait);
                        return Err(SlackError::RateLimited { retry_after: asked });
                    }
                    self.pause_for(lane, wait);
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn client() -> SlackClient {
        SlackClient::new(
            reqwest::Client::new(),
            vec!["hooks.slack.com".into()],
            vec!["slack.com".into()],
            reqwest::Url::parse("https://slack.com/api/").unwrap(),
            Duration::from_secs(1),
            1,
        )
    }

    // Lower bounds only: a slow machine waits longer, never shorter.
    #[tokio::test]
    async fn pacing_waits_out_a_429_pause_on_the_same_lane_only() {
        let slack = client();
        let deadline = Instant::now() + Duration::from_secs(30);
        slack.pause_for("C0TEAM0001", Duration::from_millis(300));
        let started = Instant::now();
        assert!(
            slack
                .pace("C0TEAM0002", Duration::from_secs(1), deadline)
                .await
        );
        assert!(
            slack
                .pace("C0TEAM0001", Duration::from_secs(1), deadline)
                .await
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
        // A pause past the deadline takes no slot.
        slack.pause_for("C0TEAM0003", Duration::from_secs(60));
        assert!(!slack.pace("C0TEAM0003", Duration::ZERO, deadline).await);
    }

    #[tokio::test]
    async fn the_next_slot_counts_from_when_the_last_post_went_out() {
        let slack = client();
        let deadline = Instant::now() + Duration::from_secs(30);
        assert!(
            slack
                .pace("C0TEAM0001", Duration::from_millis(200), deadline)
                .await
        );
        // The post was held back (a 429), and went out later than its slot.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let sent = Instant::now();
        slack.note_sent("C0TEAM0001", sent);
        assert!(
            slack
                .pace("C0TEAM0001", Duration::from_millis(200), deadline)
                .await
        );
        assert!(sent.elapsed() >= Duration::from_millis(200));
    }
}
