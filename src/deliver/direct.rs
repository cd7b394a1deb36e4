//! SNS records, a direct alarm action or an EventBridge event: every record attempted, one
//! message each, and any failure fails the invocation so that Lambda retries it.

use super::screen::{screen, Verdict};
use super::{unconfirmed, HandlerError, Notifier, Outcome, RecordError};
use crate::ingest::Parsed;
use crate::model::{Alarm, Body, Notification};
use crate::render::describe;
use crate::secret::Call;
use crate::slack::messenger::{Messages, Posted, Spot};

/// What became of one notification.
pub(super) enum Delivered {
    Posted(Posted),
    /// Another invocation has it (the threads table says so): delivered, or being delivered.
    Duplicate,
}

impl<M: Messages> Notifier<M> {
    /// Every record is attempted; metric graphs wait until every message is out, so that no
    /// graph takes time a message needs.
    pub(super) async fn handle_direct(
        &self,
        records: Parsed,
        call: &Call<'_>,
    ) -> Result<Outcome, HandlerError> {
        let total = records.len();
        let mut outcome = Outcome::default();
        let mut failures: Vec<RecordError> = Vec::new();
        let mut graphs_due: Vec<(Box<Alarm>, Spot)> = Vec::new();
        for (index, record) in records.into_iter().enumerate() {
            let notification = match record {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(record = index, error = %e, "malformed record");
                    failures.push(e.into());
                    continue;
                }
            };
            match self
                .direct_one(index, notification, &mut outcome, call)
                .await
            {
                Ok(Some(due)) => graphs_due.push(due),
                Ok(None) => {}
                Err(e) => failures.push(e),
            }
        }
        for (alarm, spot) in &graphs_due {
            self.share_graph(alarm, spot, call).await;
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

    /// One notification, counted in `outcome`; the graph it is due, if any.
    async fn direct_one(
        &self,
        index: usize,
        notification: Notification,
        outcome: &mut Outcome,
        call: &Call<'_>,
    ) -> Result<Option<(Box<Alarm>, Spot)>, RecordError> {
        let (kind, name) = describe(&notification.body);
        let id = notification.id.as_deref();
        let verdict = screen(&self.settings.filter, &self.recent(), &notification);
        match verdict {
            Verdict::Post => {}
            Verdict::Filtered(why) => {
                tracing::info!(record = index, kind, name = %name, reason = why, "filtered out; not posted");
                outcome.filtered += 1;
                return Ok(None);
            }
            Verdict::Redelivered => {
                tracing::info!(record = index, kind, name = %name, id, "already delivered; skipping redelivery");
                outcome.duplicates += 1;
                return Ok(None);
            }
        }
        let posted = match self.deliver(&notification, call).await {
            Ok(Delivered::Posted(posted)) => posted,
            Ok(Delivered::Duplicate) => {
                // Not remembered as delivered: the other delivery may still fail, and then
                // its retry, wherever it lands, must post the message.
                tracing::info!(record = index, kind, name = %name, id, "delivered or being delivered by another invocation; skipping");
                outcome.duplicates += 1;
                return Ok(None);
            }
            Err(e) => {
                tracing::error!(record = index, kind, name = %name, error_type = e.error_type(), error = %e, "not delivered");
                return Err(e);
            }
        };
        tracing::info!(record = index, kind, name = %name, attempts = posted.attempts, "posted to Slack");
        if let Some(why) = &posted.unconfirmed {
            unconfirmed(why, &name);
            outcome.unconfirmed += 1;
        }
        if let Some(id) = id {
            self.recent().insert(id);
        }
        outcome.delivered += 1;
        Ok(match (notification.body, posted.spot) {
            (Body::Alarm(alarm), Some(spot)) => Some((alarm, spot)),
            _ => None,
        })
    }
}
