//! Acting from Slack (`ACTIONS`): the interactivity endpoint. Slack POSTs each click on an
//! incident's buttons to the function's URL; the request arrives as a Lambda function URL
//! event (payload 2.0), is verified by its signature before anything else is read of it
//! ([`verify`]), read as a click ([`click`]), authorised, and acted on ([`act`]): the thread's
//! item, CloudWatch's mute rule, the parent message and a reply in its thread.
//!
//! Slack wants an answer within 3 seconds, so the work has a budget below that; what fails or
//! runs out of time is told to the clicking user alone (the payload's `response_url`), and the
//! message is left as it was.

mod act;
pub(crate) mod click;
pub(crate) mod verify;

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::app::config::ActionsConfig;
use crate::cloudwatch::mute::MuteRules;
use crate::secret::{Call, SlackSecret};
use crate::slack::messenger::Messenger;
use crate::threads::incident::Home;
use crate::threads::store::ThreadStore;
use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};

/// Slack's interactivity payloads are a few kilobytes; a body past this is not read.
pub(crate) const MAX_BODY: usize = 64 * 1024;
/// The table, CloudWatch and Slack calls of one click: well inside Slack's 3 seconds.
pub(crate) const WORK_BUDGET: Duration = Duration::from_millis(1900);
/// After the work: undoing a mute that answered too late.
pub(crate) const UNDO_BUDGET: Duration = Duration::from_millis(350);
/// After that: telling the user (the `response_url`), then answering Slack.
pub(crate) const ANSWER_BUDGET: Duration = Duration::from_millis(600);

/// The shape that tells a function URL request (payload 2.0) from a notification: a
/// `rawPath`, and a `requestContext` with an `http` description. Nothing else is kept.
#[derive(serde::Deserialize)]
struct UrlShape {
    #[serde(rename = "rawPath")]
    raw_path: Option<String>,
    #[serde(rename = "requestContext")]
    context: Option<ContextShape>,
}

#[derive(serde::Deserialize)]
struct ContextShape {
    http: Option<serde::de::IgnoredAny>,
}

/// Whether an invocation's event is a function URL request, by its shape.
pub(crate) fn is_function_url(event: &[u8]) -> bool {
    matches!(
        serde_json::from_slice::<UrlShape>(event),
        Ok(UrlShape {
            raw_path: Some(_),
            context: Some(ContextShape { http: Some(_) })
        })
    )
}

/// The answer when `ACTIONS` is off: there is no endpoint.
pub(crate) fn not_served() -> LambdaFunctionUrlResponse {
    tracing::warn!("a function URL request arrived, but ACTIONS is off; answered 404");
    answer(404, "not found")
}

/// The interactivity endpoint, with the clients it needs, built once per process.
pub(crate) struct Actions {
    pub(crate) messenger: Messenger,
    pub(crate) store: ThreadStore,
    pub(crate) mutes: MuteRules,
    pub(crate) config: ActionsConfig,
    /// The channels the routes post to, besides the secret's own.
    pub(crate) channels: Vec<String>,
    /// The bot token's workspace (`auth.test`'s `team_id`), once asked.
    team: Mutex<Option<String>>,
    /// The allowed user group's members, and when they were read.
    members: Mutex<Option<(Instant, Vec<String>)>>,
}

/// What the endpoint knows of the invocation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Invocation<'a> {
    /// The function's own account and region (from its ARN): only their alarms can be muted.
    pub home: Option<&'a Home>,
    pub deadline: Instant,
    pub request_id: Option<&'a str>,
}

/// An answer to Slack: a status and a short plain-text body, never echoing the request.
fn answer(status: i64, body: &str) -> LambdaFunctionUrlResponse {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(body.to_owned());
    response
}

pub(crate) fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The request's raw body as Slack sent it, base64-decoded when the event says so; `Err` is
/// the status and text to answer instead.
fn raw_body(request: &LambdaFunctionUrlRequest) -> Result<Vec<u8>, (i64, &'static str)> {
    let body = request.body.as_deref().unwrap_or_default();
    // A base64 body is a third longer than what it holds.
    let limit = if request.is_base64_encoded {
        MAX_BODY / 3 * 4 + 4
    } else {
        MAX_BODY
    };
    if body.len() > limit {
        tracing::warn!(
            bytes = body.len(),
            "refused an interactivity request: its body is larger than {} KiB, so it was not read",
            MAX_BODY / 1024
        );
        return Err((413, "too large"));
    }
    if !request.is_base64_encoded {
        return Ok(body.as_bytes().to_vec());
    }
    aws_smithy_types::base64::decode(body).map_err(|_| {
        tracing::warn!(
            "refused an interactivity request: it says its body is base64, and it is not"
        );
        (400, "bad request")
    })
}

impl Actions {
    pub(crate) fn new(
        messenger: Messenger,
        store: ThreadStore,
        mutes: MuteRules,
        config: ActionsConfig,
        channels: Vec<String>,
    ) -> Self {
        Self {
            messenger,
            store,
            mutes,
            config,
            channels,
            team: Mutex::new(None),
            members: Mutex::new(None),
        }
    }

    /// Serves one interactivity request (`event`, a function URL event). Always answers: 401
    /// for a request that does not verify, 400 for one that is not a click, 413 for one too
    /// large, 503 when the secret cannot be read; 200 otherwise, the outcome told to the user.
    pub(crate) async fn serve(
        &self,
        event: &[u8],
        at: &Invocation<'_>,
    ) -> LambdaFunctionUrlResponse {
        let started = Instant::now();
        let Ok(request) = serde_json::from_slice::<LambdaFunctionUrlRequest>(event) else {
            tracing::warn!("refused an interactivity request: not a function URL event");
            return answer(400, "bad request");
        };
        let body = match raw_body(&request) {
            Ok(body) => body,
            Err((status, text)) => return answer(status, text),
        };
        let call = Call {
            deadline: at.deadline.min(started + WORK_BUDGET),
            trace_id: None,
            request_id: at.request_id,
        };
        let secret = match self.messenger.secrets.get(&call).await {
            Ok(secret) => secret,
            Err(e) => {
                tracing::error!(error = %e, "an interactivity request could not be verified: the secret could not be read");
                return answer(503, "unavailable");
            }
        };
        let SlackSecret::App {
            signing: Some(signing),
            ..
        } = &*secret
        else {
            tracing::error!("refused an interactivity request: the secret has no SLACK_SIGNING_SECRET (and a bot token) to verify it with");
            return answer(401, "unauthorized");
        };
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let signed = verify::Signed {
            timestamp: header("x-slack-request-timestamp"),
            signature: header("x-slack-signature"),
            body: &body,
        };
        if let Err(refusal) = verify::verify(&signed, signing.expose().as_bytes(), epoch_now()) {
            tracing::warn!(reason = %refusal, "refused an interactivity request: it does not verify as Slack's");
            return answer(401, "unauthorized");
        }
        let click = match click::parse(&body) {
            Ok(click) => click,
            Err(e) => {
                tracing::warn!(error = %e, "refused a verified interactivity request: not a click on these buttons");
                return answer(400, "bad request");
            }
        };
        let budgets = act::Budgets::from(started, at.deadline);
        self.act(&click, &secret, at, &budgets).await;
        answer(200, "")
    }
}
