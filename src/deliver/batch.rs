//! A queue batch: malformed, filtered and redelivered records set aside, the rest planned as
//! messages ([`digest::plan`]) and posted at the destination's pace. The answer names exactly
//! the records whose notification Slack did not accept.

use std::collections::HashMap;

use aws_lambda_events::sqs::SqsBatchResponse;

use super::screen::{screen, Verdict};
use super::{unconfirmed, Notifier};
use crate::ingest::queue::QueueRecord;
use crate::model::Notification;
use crate::render::{describe, digest};
use crate::secret::Call;
use crate::slack::messenger::Messages;

/// The notifications of a batch to post, each with every record that carries it (SQS
/// delivers at least once, so a batch may hold the same message twice).
#[derive(Default)]
struct Batch {
    notifications: Vec<Notification>,
    carriers: Vec<Vec<String>>,
    /// Records that are not notifications: failed at once.
    failed: Vec<String>,
    filtered: usize,
    duplicates: usize,
}

impl Batch {
    /// Adds `record`, unless it is set aside; `by_id` finds a notification already in.
    fn take(
        &mut self,
        record: QueueRecord,
        verdict: impl Fn(&Notification) -> Verdict,
        by_id: &mut HashMap<String, usize>,
    ) {
        let QueueRecord {
            message_id,
            notification,
        } = record;
        let _record = tracing::info_span!("record", message_id = %message_id).entered();
        let notification = match notification {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "record is not a notification; reported as failed");
                self.failed.push(message_id);
                return;
            }
        };
        let (kind, name) = describe(&notification.body);
        match verdict(&notification) {
            Verdict::Post => {}
            Verdict::Filtered(why) => {
                tracing::info!(kind, name = %name, reason = why, "filtered out; not posted");
                self.filtered += 1;
                return;
            }
            Verdict::Redelivered => {
                tracing::info!(kind, name = %name, id = notification.id.as_deref(), "already delivered; skipping redelivery");
                self.duplicates += 1;
                return;
            }
        }
        if let Some(id) = notification.id.as_deref() {
            if let Some(&at) = by_id.get(id) {
                self.carriers[at].push(message_id);
                self.duplicates += 1;
                return;
            }
            by_id.insert(id.to_owned(), self.notifications.len());
        }
        self.notifications.push(notification);
        self.carriers.push(vec![message_id]);
    }
}

impl<M: Messages> Notifier<M> {
    pub(super) async fn handle_queue(
        &self,
        records: Vec<QueueRecord>,
        call: &Call<'_>,
    ) -> SqsBatchResponse {
        let total = records.len();
        let mut batch = Batch::default();
        let mut by_id = HashMap::new();
        for record in records {
            let verdict = |n: &Notification| screen(&self.settings.filter, &self.recent(), n);
            batch.take(record, verdict, &mut by_id);
        }
        let (messages, posted) = self.post_batch(&mut batch, call).await;
        tracing::info!(
            records = total,
            notifications = batch.notifications.len(),
            messages,
            posted,
            filtered = batch.filtered,
            duplicates = batch.duplicates,
            failed = batch.failed.len(),
            "queue batch handled"
        );
        let mut response = SqsBatchResponse::default();
        response.set_failures(batch.failed);
        response
    }

    /// Posts `batch` as [`digest::plan`] has it, paced; the records of every message not
    /// posted join `batch.failed`. How many messages there were, and how many were posted.
    async fn post_batch(&self, batch: &mut Batch, call: &Call<'_>) -> (usize, usize) {
        let refs: Vec<&Notification> = batch.notifications.iter().collect();
        let plan = digest::plan(&refs, &self.settings.render, self.settings.digest_threshold);
        let messages = plan.len();
        let mut posted = 0;
        let mut out_of_time = false;
        for outgoing in plan {
            if !out_of_time
                && !self
                    .messages
                    .pace(self.settings.min_interval, call.deadline)
                    .await
            {
                out_of_time = true;
                tracing::error!(
                    "no time left before the deadline; the rest of the batch is reported as failed"
                );
            }
            let result = if out_of_time {
                Err(None)
            } else {
                self.messages
                    .post(&outgoing.payload, None, call)
                    .await
                    .map_err(Some)
            };
            let members = &outgoing.members;
            match result {
                Ok(sent) => {
                    posted += 1;
                    tracing::info!(
                        notifications = members.len(),
                        attempts = sent.attempts,
                        "posted to Slack"
                    );
                    if let Some(why) = &sent.unconfirmed {
                        unconfirmed(why, "queue batch message");
                    }
                    let mut recent = self.recent();
                    for id in members
                        .iter()
                        .filter_map(|&m| batch.notifications[m].id.as_deref())
                    {
                        recent.insert(id);
                    }
                }
                Err(error) => {
                    if let Some(e) = error {
                        tracing::error!(notifications = members.len(), error_type = e.error_type(), error = %e, "not delivered");
                    }
                    for &m in members {
                        batch.failed.extend(batch.carriers[m].iter().cloned());
                    }
                }
            }
        }
        (messages, posted)
    }
}
