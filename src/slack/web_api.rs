//! The Web API: a method called with the bot token (or, renewing it, the app's credentials)
//! and judged by Slack's `ok` and `error`, which it answers at HTTP 200 for most failures.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{
    retry_after, transport_failure, Attempt, Exchange, SlackClient, SlackError, MAX_API_ANSWER,
    MAX_REASON_LEN, REDACTED, TOKEN_ERRORS, TRANSIENT_API_ERRORS,
};
use crate::secret::{BotToken, Credential};

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

/// A Web API answer at HTTP 200, as far as it could be read.
pub(super) struct Answered {
    body: Value,
    scopes: Option<String>,
    unconfirmed: Option<String>,
}

impl SlackClient {
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
        self.send_api_in(method, method, token, body, deadline)
            .await
    }

    /// As [`SlackClient::send_api`], with Slack's rate limits held to `lane` (a channel).
    async fn send_api_in(
        &self,
        method: &'static str,
        lane: &str,
        token: &BotToken,
        body: ApiBody<'_>,
        deadline: Instant,
    ) -> Result<ApiReply, SlackError> {
        let (answered, attempts) = self
            .with_retries(deadline, lane, |timeout, attempts| {
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
            .with_retries(deadline, "oauth.v2.access", |timeout, attempts| {
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
        channel: &str,
        body: &[u8],
        deadline: Instant,
    ) -> Result<ApiReply, SlackError> {
        let method = "chat.postMessage";
        self.send_api_in(method, channel, token, ApiBody::Json(body), deadline)
            .await
    }

    /// One call of Web API `method` with the bot token, read back and judged by [`api_verdict`].
    pub(super) async fn api_attempt(
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

/// The reply to a call that ended with `answered` after `attempts`.
pub(super) fn reply(answered: Answered, attempts: u32) -> ApiReply {
    ApiReply {
        attempts,
        body: answered.body,
        scopes: answered.scopes,
        unconfirmed: answered.unconfirmed,
    }
}

/// `reply`, if its answer could be read: a method whose answer is needed cannot use another.
pub(super) fn readable(method: &'static str, reply: ApiReply) -> Result<ApiReply, SlackError> {
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
    let answer: Option<Value> = serde_json::from_slice(&exchange.body).ok();
    let code = answer
        .as_ref()
        .and_then(|a| a.get("error"))
        .and_then(Value::as_str)
        .map(|c| api_text(c, secrets));
    let reason = || {
        code.clone().unwrap_or_else(|| {
            match api_text(&String::from_utf8_lossy(&exchange.body), secrets) {
                t if t.is_empty() => "(empty body)".into(),
                t => t,
            }
        })
    };
    match exchange.status {
        429 => return Attempt::RetryAfter(retry_after(exchange.retry_after.as_deref())),
        s @ (500..=599 | 408) => {
            let reason = reason();
            let summary = format!("HTTP {s} {reason}");
            let error = SlackError::Unavailable {
                status: s,
                reason,
                attempts,
            };
            return Attempt::Transient(summary, error);
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
    let Some(answer) = answer.filter(Value::is_object) else {
        return Attempt::Done(Answered {
            body: Value::Null,
            scopes: exchange.scopes,
            unconfirmed: Some(match &exchange.cut_short {
                Some(why) => format!("the answer broke off: {why}"),
                None => format!("the answer is not a Web API answer: {}", reason()),
            }),
        });
    };
    if answer.get("ok") == Some(&Value::Bool(true)) {
        return Attempt::Done(Answered {
            body: answer,
            scopes: exchange.scopes,
            unconfirmed: None,
        });
    }
    let code = code.unwrap_or_else(|| "ok:false without an error code".into());
    refusal(method, code, &answer, &exchange, secrets, attempts)
}

/// An `ok: false` answer with Slack's `code`: a rate limit waited out, a passing trouble
/// retried, a refused token handed to the caller (to read the secret again), the rest
/// permanent.
fn refusal(
    method: &'static str,
    code: String,
    answer: &Value,
    exchange: &Exchange,
    secrets: &[&str],
    attempts: u32,
) -> Attempt<Answered> {
    match code.as_str() {
        "ratelimited" => Attempt::RetryAfter(retry_after(exchange.retry_after.as_deref())),
        c if TRANSIENT_API_ERRORS.contains(&c) => Attempt::Transient(
            format!("{method}: {c}"),
            SlackError::Unavailable {
                status: exchange.status,
                reason: code,
                attempts,
            },
        ),
        c if TOKEN_ERRORS.contains(&c) => {
            Attempt::Permanent(SlackError::TokenRejected { method, code })
        }
        c => Attempt::Permanent(SlackError::ApiRejected {
            method,
            detail: api_detail(c, answer, secrets),
            code,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
