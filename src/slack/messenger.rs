//! The Slack side as the deliver code sees it: post a message, reply in a thread, update a
//! message, share a file, without knowing whether a webhook or the Web API takes them.
//! [`Messenger`] reads the credential from the secret, and reads it again once when Slack
//! refuses it; tests of the deliver code fake [`Messages`].

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{ApiBody, ApiReply, SlackClient, SlackError, Upload};
use crate::render::Payload;
use crate::secret::{BotToken, Call, SecretError, SecretSource, SlackSecret, WebhookUrl};

/// Web API codes that say a thread's parent is gone (deleted, or never there).
const THREAD_GONE: [&str; 2] = ["thread_not_found", "message_not_found"];

/// Why a message did not go out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Slack(#[from] SlackError),
    /// Slack refused the webhook or bot token, and the secret, read again, holds the same one.
    #[error("{source}; the secret, read again, holds the same {credential}")]
    CredentialRefused {
        #[source]
        source: SlackError,
        /// `webhook` or `bot token`.
        credential: &'static str,
    },
    /// A route's target the secret cannot serve: a webhook name it lacks, a channel with a
    /// webhook secret, a webhook with a bot token.
    #[error("cannot post to {target}: {problem}")]
    Unreachable { target: String, problem: String },
}

impl SendError {
    /// A short name for Lambda's `errorType`.
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            Self::Secret(e) => e.error_type(),
            Self::Slack(e) | Self::CredentialRefused { source: e, .. } => e.error_type(),
            Self::Unreachable { .. } => "RouteUnreachable",
        }
    }

    /// Slack refused a reply because its thread's parent is gone.
    pub(crate) fn thread_gone(&self) -> bool {
        matches!(self, Self::Slack(SlackError::ApiRejected { code, .. }) if THREAD_GONE.contains(&code.as_str()))
    }
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Target {
    /// The secret's own: its channel in app mode, its webhook otherwise.
    Secret,
    /// A channel, by its ID (app mode).
    Channel(String),
    /// A webhook by its name: a key of the secret's `SLACK_HOOK_URLS`.
    Webhook(String),
}

impl Target {
    /// The name this target goes by in logs, dedupe keys and pacing.
    pub(crate) fn key(&self) -> String {
        match self {
            Self::Secret => "secret".into(),
            Self::Channel(c) => format!("channel {c}"),
            Self::Webhook(w) => format!("webhook {w}"),
        }
    }
}

/// Where an app-mode message is: its channel and its `ts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spot {
    pub(crate) channel: String,
    pub(crate) ts: String,
}

/// A message Slack took: the attempts it took, where it is (in app mode, when Slack said),
/// and, when Slack's answer after HTTP 200 broke off or was odd, what was odd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Posted {
    pub(crate) attempts: u32,
    pub(crate) spot: Option<Spot>,
    pub(crate) unconfirmed: Option<String>,
}

impl Posted {
    /// Where a Web API answer says the message is (`channel` and a non-empty `ts`).
    fn from_reply(reply: &ApiReply, channel: &str) -> Self {
        let channel = reply.body["channel"].as_str().unwrap_or(channel);
        let spot = reply.body["ts"]
            .as_str()
            .filter(|ts| !ts.is_empty())
            .map(|ts| Spot {
                channel: channel.to_owned(),
                ts: ts.to_owned(),
            });
        Self {
            attempts: reply.attempts,
            spot,
            unconfirmed: reply.unconfirmed.clone(),
        }
    }
}

/// A file to share in a message's thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct File<'a> {
    pub(crate) filename: &'a str,
    pub(crate) title: &'a str,
    pub(crate) bytes: &'a [u8],
}

/// What the deliver code asks of Slack. Each call reads the secret for its credential.
pub(crate) trait Messages: Send + Sync {
    /// The channel `target`'s messages go to in app mode; `None` for a webhook, which has its
    /// own.
    fn channel(
        &self,
        target: &Target,
        call: &Call<'_>,
    ) -> impl Future<Output = Result<Option<String>, SendError>> + Send;

    /// Posts `payload` top-level to `target`: a webhook, or a channel through the Web API.
    fn post(
        &self,
        payload: &Payload,
        target: &Target,
        call: &Call<'_>,
    ) -> impl Future<Output = Result<Posted, SendError>> + Send;

    /// Posts `payload` in the thread of `parent`, and to the channel too with `broadcast`.
    fn reply(
        &self,
        payload: &Payload,
        parent: &Spot,
        broadcast: bool,
        call: &Call<'_>,
    ) -> impl Future<Output = Result<Posted, SendError>> + Send;

    /// Replaces the message at `spot` with `message` (its text, blocks and attachments).
    fn update(
        &self,
        spot: &Spot,
        message: Value,
        call: &Call<'_>,
    ) -> impl Future<Output = Result<(), SendError>> + Send;

    /// Shares `file` in the thread of `spot`, by `deadline`.
    fn share(
        &self,
        file: File<'_>,
        spot: &Spot,
        call: &Call<'_>,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), SendError>> + Send;

    /// Waits for `target`'s next posting slot, `interval` after its last post and after any
    /// 429 pause there; `false` when it would come too late for the call's deadline.
    fn pace(
        &self,
        target: &Target,
        interval: Duration,
        call: &Call<'_>,
    ) -> impl Future<Output = bool> + Send;
}

/// [`Messages`] through the Slack client, with the credential from the secret.
pub(crate) struct Messenger {
    pub(crate) slack: Arc<SlackClient>,
    /// Shared with the interactivity endpoint, so the process reads and caches one secret.
    pub(crate) secrets: Arc<SecretSource>,
}

impl Messenger {
    /// Runs `send` with the secret; when Slack refuses its webhook or bot token, re-reads the
    /// secret once and runs it with the new one.
    async fn with_secret<T, F, Fut>(&self, call: &Call<'_>, send: F) -> Result<T, SendError>
    where
        F: Fn(Arc<SlackSecret>) -> Fut,
        Fut: Future<Output = Result<T, SlackError>>,
    {
        let secret = self.secrets.get(call).await?;
        match send(secret.clone()).await {
            Ok(done) => Ok(done),
            Err(e) if e.credential_gone() => {
                let credential = secret.credential();
                tracing::warn!(error = %e, credential, "Slack refused the credential; re-reading the secret");
                let fresh = self.secrets.refresh(call).await?;
                if fresh.same_credential(&secret) {
                    // The same dead credential: fail now, and read again on the next invocation.
                    self.secrets.invalidate();
                    return Err(SendError::CredentialRefused {
                        source: e,
                        credential,
                    });
                }
                Ok(send(fresh).await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One Web API call with the secret's bot token; a webhook secret has none.
    async fn api(
        &self,
        method: &'static str,
        body: &Value,
        call: &Call<'_>,
    ) -> Result<ApiReply, SendError> {
        let body = serde_json::to_vec(body).unwrap_or_default();
        self.with_secret(call, |secret| {
            let body = &body;
            async move {
                let SlackSecret::App { token, .. } = &*secret else {
                    return Err(not_app_mode(method));
                };
                self.slack
                    .send_api(method, token, ApiBody::Json(body), call.deadline)
                    .await
            }
        })
        .await
    }
}

fn not_app_mode(method: &'static str) -> SlackError {
    SlackError::ApiRejected {
        method,
        code: "not_app_mode".into(),
        detail: "the secret changed to a webhook".into(),
    }
}

/// `payload` as JSON, sent to `channel` when there is one.
fn with_channel(payload: &Payload, channel: Option<&str>) -> Value {
    let mut body = serde_json::to_value(payload).unwrap_or_default();
    if let Some(channel) = channel {
        body["channel"] = channel.into();
    }
    body
}

/// Where `secret` sends `target`'s messages.
enum Way<'a> {
    /// A webhook, with the channel a legacy webhook honours.
    Webhook(&'a WebhookUrl, Option<&'a str>),
    /// The Web API with the bot token, to a channel.
    Channel(&'a BotToken, &'a str),
}

impl Messenger {
    /// Whether `secret` can post to `target`: a way there, and a webhook's host allowed.
    /// Nothing is sent.
    pub(crate) fn reachable(&self, secret: &SlackSecret, target: &Target) -> Result<(), SendError> {
        if let Way::Webhook(url, _) = way(secret, target)? {
            self.slack.check(url)?;
        }
        Ok(())
    }
}

/// How `secret` reaches `target`, or why it cannot.
fn way<'a>(secret: &'a SlackSecret, target: &'a Target) -> Result<Way<'a>, SendError> {
    let unreachable = |problem: &str| SendError::Unreachable {
        target: target.key(),
        problem: problem.into(),
    };
    match (secret, target) {
        (SlackSecret::Webhook { url, channel, .. }, Target::Secret) => url
            .as_ref()
            .map(|url| Way::Webhook(url, channel.as_deref()))
            .ok_or_else(|| unreachable("the secret has no SLACK_HOOK_URL for what no route takes; add it, or a [default] to the routes file")),
        (SlackSecret::Webhook { hooks, .. }, Target::Webhook(name)) => hooks
            .get(name)
            .map(|url| Way::Webhook(url, None))
            .ok_or_else(|| unreachable("the secret's SLACK_HOOK_URLS has no webhook of that name")),
        (SlackSecret::Webhook { .. }, Target::Channel(_)) => Err(unreachable(
            "a channel needs app mode (SLACK_BOT_TOKEN in the secret); the secret holds webhooks",
        )),
        (SlackSecret::App { token, channel, .. }, Target::Secret) => {
            Ok(Way::Channel(token, channel.as_str()))
        }
        (SlackSecret::App { token, .. }, Target::Channel(channel)) => Ok(Way::Channel(token, channel)),
        (SlackSecret::App { .. }, Target::Webhook(_)) => Err(unreachable(
            "a webhook route needs a webhook secret; in app mode, routes name channels",
        )),
    }
}

impl Messages for Messenger {
    async fn channel(&self, target: &Target, call: &Call<'_>) -> Result<Option<String>, SendError> {
        let secret = self.secrets.get(call).await?;
        Ok(match way(&secret, target)? {
            Way::Channel(_, channel) => Some(channel.to_owned()),
            Way::Webhook(..) => None,
        })
    }

    async fn post(
        &self,
        payload: &Payload,
        target: &Target,
        call: &Call<'_>,
    ) -> Result<Posted, SendError> {
        self.with_secret(call, |secret| async move {
            let way = match way(&secret, target) {
                Ok(way) => way,
                Err(e) => return Ok(Err(e)),
            };
            let mut payload = payload.clone();
            Ok(Ok(match way {
                Way::Webhook(url, channel) => {
                    payload.channel = channel.map(str::to_owned);
                    let bytes = serde_json::to_vec(&payload).unwrap_or_default();
                    let delivered = self.slack.post(url, &bytes, call.deadline).await?;
                    Posted {
                        attempts: delivered.attempts,
                        spot: None,
                        unconfirmed: delivered.unconfirmed,
                    }
                }
                Way::Channel(token, channel) => {
                    payload.channel = Some(channel.to_owned());
                    let bytes = serde_json::to_vec(&payload).unwrap_or_default();
                    let reply = self
                        .slack
                        .post_message(token, channel, &bytes, call.deadline)
                        .await?;
                    Posted::from_reply(&reply, channel)
                }
            }))
        })
        .await?
    }

    async fn reply(
        &self,
        payload: &Payload,
        parent: &Spot,
        broadcast: bool,
        call: &Call<'_>,
    ) -> Result<Posted, SendError> {
        let mut body = with_channel(payload, Some(&parent.channel));
        body["thread_ts"] = parent.ts.clone().into();
        if broadcast {
            body["reply_broadcast"] = true.into();
        }
        let reply = self.api("chat.postMessage", &body, call).await?;
        Ok(Posted {
            spot: Some(parent.clone()),
            ..Posted::from_reply(&reply, &parent.channel)
        })
    }

    async fn update(
        &self,
        spot: &Spot,
        mut message: Value,
        call: &Call<'_>,
    ) -> Result<(), SendError> {
        message["channel"] = spot.channel.clone().into();
        message["ts"] = spot.ts.clone().into();
        self.api("chat.update", &message, call).await.map(|_| ())
    }

    async fn share(
        &self,
        file: File<'_>,
        spot: &Spot,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<(), SendError> {
        let secret = self.secrets.get(call).await?;
        let SlackSecret::App { token, .. } = &*secret else {
            // The secret turned into a webhook since the message was posted.
            return Ok(());
        };
        let upload = Upload {
            filename: file.filename,
            title: file.title,
            bytes: file.bytes,
            channel: &spot.channel,
            thread_ts: Some(&spot.ts),
        };
        Ok(self.slack.upload_file(token, &upload, deadline).await?)
    }

    async fn pace(&self, target: &Target, interval: Duration, call: &Call<'_>) -> bool {
        // The lane a 429 pauses: the channel, or the webhook.
        let lane = match self
            .secrets
            .get(call)
            .await
            .as_deref()
            .map(|s| way(s, target))
        {
            Ok(Ok(Way::Channel(_, channel))) => channel.to_owned(),
            Ok(Ok(Way::Webhook(url, _))) => url.expose().to_owned(),
            _ => target.key(),
        };
        self.slack.pace(&lane, interval, call.deadline).await
    }
}
