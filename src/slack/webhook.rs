//! Incoming webhooks: the URL checked against `SLACK_WEBHOOK_HOSTS`, and a message posted.
//! Slack's 200 is its acceptance; every answer is read with a cap, and quoted cut short and
//! without the webhook's path.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::{
    retry_after, transport_failure, Attempt, SlackClient, SlackError, MAX_ANSWER, MAX_REASON_LEN,
    REDACTED,
};
use crate::secret::WebhookUrl;

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

impl SlackClient {
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

    /// Posts `body` (JSON) until Slack answers 200 `ok`, a permanent error, or the deadline is near.
    pub(crate) async fn post(
        &self,
        url: &WebhookUrl,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Delivered, SlackError> {
        let target = &self.target(url)?;
        let (unconfirmed, attempts) = self
            .with_retries(deadline, url.expose(), |timeout, attempts| {
                self.attempt(target, body, timeout, attempts)
            })
            .await?;
        Ok(Delivered {
            attempts,
            unconfirmed,
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
}
