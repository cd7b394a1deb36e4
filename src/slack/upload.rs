//! Sharing a file in a thread through Slack's external upload: `files.getUploadURLExternal`,
//! the bytes to the URL it gives (whose host must be in `SLACK_API_HOSTS`), then
//! `files.completeUploadExternal`.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::web_api::{readable, reply, ApiBody};
use super::{
    check_url, retry_after, short_reason, transport_failure, unpaced, Attempt, SlackClient,
    SlackError, MAX_ANSWER,
};
use crate::secret::BotToken;

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

impl SlackClient {
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
        self.with_retries(deadline, "upload", |timeout, attempts| {
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
            .with_retries(deadline, method, |timeout, attempts| async move {
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
}
