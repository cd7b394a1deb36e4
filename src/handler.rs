//! Orchestration: parse → filter → secret → render → post, for every record of an event.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

use crate::config::Config;
use crate::model::{Body, Notification};
use crate::parse::{parse_event_bytes, ParseError};
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
}

impl RecordError {
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "MalformedEvent",
            Self::Secret(e) => e.error_type(),
            Self::Slack(e) => e.error_type(),
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

/// The request body for `secret`'s webhook: the payload with the secret's channel, if any.
pub fn body_for(payload: &mut Payload, secret: &SlackSecret) -> Vec<u8> {
    payload.channel.clone_from(&secret.channel);
    serde_json::to_vec(payload).unwrap_or_default()
}

/// The long-lived parts of the function, built once per process.
pub struct Notifier {
    pub filter: crate::config::Filter,
    pub render_options: RenderOptions,
    pub secrets: SecretSource,
    pub slack: SlackClient,
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

    /// Handles one event. Every record is attempted; any failure fails the invocation.
    pub async fn handle(&self, event: &[u8], call: &Call<'_>) -> Result<Outcome, HandlerError> {
        let records = parse_event_bytes(event).map_err(HandlerError::MalformedEvent)?;
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

    /// Posts one notification; on a dead webhook, re-reads the secret once and tries the new URL.
    async fn deliver(
        &self,
        notification: &Notification,
        call: &Call<'_>,
    ) -> Result<u32, RecordError> {
        let deadline = call.deadline;
        let mut payload = render_payload(notification, &self.render_options);
        let secret = self.secrets.get(call).await?;
        let body = body_for(&mut payload, &secret);
        match self.slack.post(&secret.webhook, &body, deadline).await {
            Ok(d) => Ok(d.attempts),
            Err(e) if e.webhook_gone() => {
                tracing::warn!(error = %e, "Slack says the webhook is gone; re-reading the secret");
                let fresh = self.secrets.refresh(call).await?;
                if fresh.webhook == secret.webhook {
                    // Same dead URL: fail now, and read again on the next invocation.
                    self.secrets.invalidate();
                    return Err(e.into());
                }
                let body = body_for(&mut payload, &fresh);
                let delivered = self.slack.post(&fresh.webhook, &body, deadline).await?;
                Ok(delivered.attempts)
            }
            Err(e) => Err(e.into()),
        }
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
