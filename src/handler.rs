//! Orchestration: parse → filter → secret → render → post, for every record of an event.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use aws_lambda_events::sqs::SqsBatchResponse;
use serde::Serialize;

use crate::config::Config;
use crate::digest;
use crate::model::{Body, Notification};
use crate::parse::{parse_delivery, Delivery, ParseError, Parsed};
use crate::queue::QueueRecord;
use crate::render::{describe, render_payload, Payload, RenderOptions};
use crate::secret::{Call, SecretError, SecretSource, SlackSecret};
use crate::slack::{SlackClient, SlackError};

/// Why one notification was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Malformed(#[from] ParseError),
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
}

impl RecordError {
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "MalformedEvent",
            Self::Secret(e) => e.error_type(),
            Self::Slack(e) | Self::CredentialRefused { source: e, .. } => e.error_type(),
        }
    }
}

/// Why an invocation failed. Lambda's retries and on-failure destination take it from here.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event as a whole is not something this function handles.
    #[error("malformed event: {0}")]
    MalformedEvent(#[source] ParseError),
    /// At least one notification was not accepted by Slack.
    #[error("{failed} of {total} notifications not delivered ({delivered} delivered); first failure: {first}")]
    NotDelivered {
        failed: usize,
        total: usize,
        delivered: usize,
        #[source]
        first: RecordError,
    },
}

impl HandlerError {
    /// Lambda's `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::MalformedEvent(_) => "MalformedEvent",
            Self::NotDelivered { first, .. } => first.error_type(),
        }
    }
}

/// What an invocation did, returned to Lambda as its result.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub delivered: usize,
    /// Left out by `NOTIFY_STATES` or the name patterns.
    pub filtered: usize,
    /// Already delivered by this instance (SNS redelivery).
    pub duplicates: usize,
}

/// What an invocation answers: an outcome for direct deliveries, a partial batch response
/// naming the records that were not delivered for a queue batch.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Response {
    Direct(Outcome),
    Queue(SqsBatchResponse),
}

/// A bounded record of recently delivered notification ids.
pub struct RecentIds {
    capacity: usize,
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl RecentIds {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    pub fn insert(&mut self, id: String) {
        if self.set.contains(&id) {
            return;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.clone());
        self.order.push_back(id);
    }
}

/// The request body for `secret`: the payload with the secret's channel, if any (app mode
/// always has one).
pub fn body_for(payload: &mut Payload, secret: &SlackSecret) -> Vec<u8> {
    payload.channel = secret.channel().map(str::to_owned);
    serde_json::to_vec(payload).unwrap_or_default()
}

/// The long-lived parts of the function, built once per process.
pub struct Notifier {
    pub filter: crate::config::Filter,
    pub render_options: RenderOptions,
    pub secrets: SecretSource,
    pub slack: SlackClient,
    pub digest_threshold: usize,
    pub min_interval: Duration,
    recent: Mutex<RecentIds>,
}

impl Notifier {
    pub fn new(config: &Config, secrets: SecretSource, slack: SlackClient) -> Self {
        Self {
            filter: config.filter.clone(),
            render_options: RenderOptions {
                mention: config.mention.clone(),
            },
            secrets,
            slack,
            digest_threshold: config.digest_threshold,
            min_interval: config.min_interval,
            recent: Mutex::new(RecentIds::new(crate::config::DEFAULT_RECENT_IDS)),
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, RecentIds> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Filtering rules apply to alarms; other notifications always go through.
    pub fn filtered_out(&self, n: &Notification) -> Option<&'static str> {
        match &n.body {
            Body::Alarm(a) => self.filter.reject_reason(&a.name, &a.state),
            _ => None,
        }
    }

    /// Handles one event: a queue batch answers with the records not delivered; any other
    /// delivery fails as a whole if one notification was not delivered.
    pub async fn handle(&self, event: &[u8], call: &Call<'_>) -> Result<Response, HandlerError> {
        match parse_delivery(event).map_err(HandlerError::MalformedEvent)? {
            Delivery::Direct(records) => self
                .handle_direct(records, call)
                .await
                .map(Response::Direct),
            Delivery::Queue(records) => Ok(Response::Queue(self.handle_queue(records, call).await)),
        }
    }

    /// Every record is attempted, one message each; any failure fails the invocation.
    async fn handle_direct(
        &self,
        records: Parsed,
        call: &Call<'_>,
    ) -> Result<Outcome, HandlerError> {
        let total = records.len();
        let mut outcome = Outcome::default();
        let mut failures: Vec<RecordError> = Vec::new();
        for (index, record) in records.into_iter().enumerate() {
            let notification = match record {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(record = index, error = %e, "malformed record");
                    failures.push(e.into());
                    continue;
                }
            };
            let (kind, name) = describe(&notification.body);
            if let Some(why) = self.filtered_out(&notification) {
                tracing::info!(record = index, kind, name = %name, reason = why, "filtered out; not posted");
                outcome.filtered += 1;
                continue;
            }
            if notification
                .id
                .as_deref()
                .is_some_and(|id| self.recent().contains(id))
            {
                tracing::info!(record = index, kind, name = %name, id = notification.id.as_deref(), "already delivered; skipping redelivery");
                outcome.duplicates += 1;
                continue;
            }
            match self.deliver(&notification, call).await {
                Ok(attempts) => {
                    tracing::info!(record = index, kind, name = %name, attempts, "posted to Slack");
                    if let Some(id) = notification.id {
                        self.recent().insert(id);
                    }
                    outcome.delivered += 1;
                }
                Err(e) => {
                    tracing::error!(record = index, kind, name = %name, error_type = e.error_type(), error = %e, "not delivered");
                    failures.push(e);
                }
            }
        }
        match failures.into_iter().next() {
            None => Ok(outcome),
            Some(first) => Err(HandlerError::NotDelivered {
                failed: total - outcome.delivered - outcome.filtered - outcome.duplicates,
                total,
                delivered: outcome.delivered,
                first,
            }),
        }
    }

    /// A queue batch: malformed, filtered and redelivered records set aside, the rest planned
    /// as messages ([`digest::plan`]) and posted at the webhook's pace. Answers with exactly
    /// the records whose notification Slack did not accept.
    async fn handle_queue(&self, records: Vec<QueueRecord>, call: &Call<'_>) -> SqsBatchResponse {
        let total = records.len();
        let mut failed: Vec<String> = Vec::new();
        let mut batch: Vec<Notification> = Vec::new();
        // For each notification in `batch`, every record that carries it (SQS delivers at
        // least once, so a batch may hold the same message twice).
        let mut carriers: Vec<Vec<String>> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        let (mut filtered, mut duplicates) = (0, 0);
        for record in records {
            let QueueRecord {
                message_id,
                notification,
            } = record;
            let notification = match notification {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(message_id = %message_id, error = %e, "record is not a notification; reported as failed");
                    failed.push(message_id);
                    continue;
                }
            };
            let (kind, name) = describe(&notification.body);
            if let Some(why) = self.filtered_out(&notification) {
                tracing::info!(message_id = %message_id, kind, name = %name, reason = why, "filtered out; not posted");
                filtered += 1;
                continue;
            }
            if let Some(id) = notification.id.as_deref() {
                if self.recent().contains(id) {
                    tracing::info!(message_id = %message_id, kind, name = %name, id, "already delivered; skipping redelivery");
                    duplicates += 1;
                    continue;
                }
                if let Some(&at) = by_id.get(id) {
                    carriers[at].push(message_id);
                    duplicates += 1;
                    continue;
                }
                by_id.insert(id.to_owned(), batch.len());
            }
            batch.push(notification);
            carriers.push(vec![message_id]);
        }
        let refs: Vec<&Notification> = batch.iter().collect();
        let plan = digest::plan(&refs, &self.render_options, self.digest_threshold);
        let messages = plan.len();
        let mut posted = 0;
        let mut out_of_time = false;
        for outgoing in plan {
            let result = if out_of_time {
                Err(None)
            } else if !self.slack.pace(self.min_interval, call.deadline).await {
                out_of_time = true;
                tracing::error!(
                    "no time left before the deadline; the rest of the batch is reported as failed"
                );
                Err(None)
            } else {
                self.post(outgoing.payload, call).await.map_err(Some)
            };
            match result {
                Ok(attempts) => {
                    posted += 1;
                    tracing::info!(
                        notifications = outgoing.members.len(),
                        attempts,
                        "posted to Slack"
                    );
                    let mut recent = self.recent();
                    for &m in &outgoing.members {
                        if let Some(id) = &batch[m].id {
                            recent.insert(id.clone());
                        }
                    }
                }
                Err(error) => {
                    if let Some(e) = error {
                        tracing::error!(notifications = outgoing.members.len(), error_type = e.error_type(), error = %e, "not delivered");
                    }
                    for &m in &outgoing.members {
                        failed.extend(carriers[m].iter().cloned());
                    }
                }
            }
        }
        tracing::info!(
            records = total,
            notifications = batch.len(),
            messages,
            posted,
            filtered,
            duplicates,
            failed = failed.len(),
            "queue batch handled"
        );
        let mut response = SqsBatchResponse::default();
        response.set_failures(failed);
        response
    }

    /// Posts one notification as its own message.
    async fn deliver(
        &self,
        notification: &Notification,
        call: &Call<'_>,
    ) -> Result<u32, RecordError> {
        self.post(render_payload(notification, &self.render_options), call)
            .await
    }

    /// Posts one message; when Slack refuses the webhook or the bot token, re-reads the secret
    /// once and tries the new one.
    async fn post(&self, mut payload: Payload, call: &Call<'_>) -> Result<u32, RecordError> {
        let secret = self.secrets.get(call).await?;
        match self.send(&mut payload, &secret, call).await {
            Ok(attempts) => Ok(attempts),
            Err(e) if e.credential_gone() => {
                let credential = secret.credential();
                tracing::warn!(error = %e, credential, "Slack refused the credential; re-reading the secret");
                let fresh = self.secrets.refresh(call).await?;
                if fresh.same_credential(&secret) {
                    // The same dead credential: fail now, and read again on the next invocation.
                    self.secrets.invalidate();
                    return Err(RecordError::CredentialRefused {
                        source: e,
                        credential,
                    });
                }
                Ok(self.send(&mut payload, &fresh, call).await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One message to the webhook, or with `chat.postMessage` in app mode; the attempts it took.
    async fn send(
        &self,
        payload: &mut Payload,
        secret: &SlackSecret,
        call: &Call<'_>,
    ) -> Result<u32, SlackError> {
        let body = body_for(payload, secret);
        let delivered = match secret {
            SlackSecret::Webhook { url, .. } => self.slack.post(url, &body, call.deadline).await?,
            SlackSecret::App { token, .. } => {
                self.slack.post_message(token, &body, call.deadline).await?
            }
        };
        Ok(delivered.attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_ids_are_bounded() {
        let mut r = RecentIds::new(2);
        r.insert("a".into());
        r.insert("b".into());
        r.insert("a".into());
        assert!(r.contains("a") && r.contains("b"));
        r.insert("c".into());
        assert!(!r.contains("a"));
        assert!(r.contains("b") && r.contains("c"));
    }
}
