//! A queue batch: malformed and filtered records set aside, the rest routed, and each
//! destination's notifications planned as messages ([`digest::plan`]) and posted at that
//! destination's pace, all destinations at once. The answer names exactly the records whose
//! notification some destination did not accept; a redelivery posts only there.

use std::collections::{BTreeMap, HashMap};

use aws_lambda_events::sqs::SqsBatchResponse;
use futures_util::future::join_all;
use tracing::Instrument;

use super::route::Destination;
use super::screen::filtered;
use super::{delivered_key, unconfirmed, Notifier};
use crate::ingest::queue::QueueRecord;
use crate::model::Notification;
use crate::render::{describe, digest};
use crate::secret::Call;
use crate::slack::messenger::{Messages, Target};

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
    dropped: usize,
}

impl Batch {
    /// Adds `record`, unless it is set aside; `by_id` finds a notification already in.
    fn take(
        &mut self,
        record: QueueRecord,
        filter: &super::Filter,
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
        if let Some(why) = filtered(filter, &notification) {
            let (kind, name) = describe(&notification.body);
            tracing::info!(kind, name = %name, reason = why, "filtered out; not posted");
            self.filtered += 1;
            return;
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

/// One destination's share of a batch: the notifications (by index) to post there.
struct Group {
    destination: Destination,
    members: Vec<usize>,
}

/// What posting one group did: messages planned and posted, and the notifications (by
/// index) not delivered.
struct Posted {
    messages: usize,
    posted: usize,
    undelivered: Vec<usize>,
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
            batch.take(record, &self.settings.filter, &mut by_id);
        }
        let groups = self.group(&mut batch, call).await;
        let posts = groups.values().map(|group| {
            let span = tracing::info_span!("route", route = group.destination.route_name());
            self.post_group(&batch.notifications, group, call)
                .instrument(span)
        });
        let posts = join_all(posts).await;
        let (messages, posted) = posts
            .iter()
            .fold((0, 0), |(m, p), g| (m + g.messages, p + g.posted));
        let mut undelivered: Vec<usize> = posts.into_iter().flat_map(|p| p.undelivered).collect();
        undelivered.sort_unstable();
        undelivered.dedup();
        for at in undelivered {
            batch.failed.extend(batch.carriers[at].iter().cloned());
        }
        tracing::info!(
            records = total,
            notifications = batch.notifications.len(),
            messages,
            posted,
            filtered = batch.filtered,
            duplicates = batch.duplicates,
            dropped = batch.dropped,
            failed = batch.failed.len(),
            "queue batch handled"
        );
        let mut response = SqsBatchResponse::default();
        response.set_failures(batch.failed);
        response
    }

    /// The batch's notifications by destination, less those a destination has had already
    /// or its route's states leave out.
    async fn group(&self, batch: &mut Batch, call: &Call<'_>) -> BTreeMap<Target, Group> {
        let mut groups: BTreeMap<Target, Group> = BTreeMap::new();
        let routings = self.routings(&batch.notifications, call).await;
        for (at, (n, routing)) in batch.notifications.iter().zip(routings).enumerate() {
            if routing.destinations.is_empty() {
                let (kind, name) = describe(&n.body);
                tracing::info!(kind, name = %name, routes = ?routing.dropped_by, "dropped by its route; not posted");
                batch.dropped += 1;
                continue;
            }
            let (mut taken, mut delivered_somewhere) = (false, false);
            for destination in routing.destinations {
                if !destination.takes(n) {
                    continue;
                }
                let delivered = n.id.as_deref().is_some_and(|id| {
                    self.recent()
                        .contains(&delivered_key(id, &destination.target))
                });
                if delivered {
                    delivered_somewhere = true;
                    continue;
                }
                taken = true;
                let target = destination.target.clone();
                groups
                    .entry(target)
                    .or_insert_with(|| Group {
                        destination,
                        members: Vec::new(),
                    })
                    .members
                    .push(at);
            }
            // As the direct path counts: delivered before somewhere, else left out by states.
            match (taken, delivered_somewhere) {
                (true, _) => {}
                (false, true) => batch.duplicates += 1,
                (false, false) => batch.filtered += 1,
            }
        }
        groups
    }

    /// Posts `group` as [`digest::plan`] has it, paced for its destination.
    async fn post_group(
        &self,
        notifications: &[Notification],
        group: &Group,
        call: &Call<'_>,
    ) -> Posted {
        let refs: Vec<&Notification> = group.members.iter().map(|&m| &notifications[m]).collect();
        let options = self.render_options(&group.destination);
        let plan = digest::plan(&refs, &options, self.settings.digest_threshold);
        let target = &group.destination.target;
        let mut done = Posted {
            messages: plan.len(),
            posted: 0,
            undelivered: Vec::new(),
        };
        let mut out_of_time = false;
        for outgoing in plan {
            let members: Vec<usize> = outgoing.members.iter().map(|&m| group.members[m]).collect();
            if !out_of_time
                && !self
                    .messages
                    .pace(target, self.settings.min_interval, call)
                    .await
            {
                out_of_time = true;
                tracing::error!(
                    "no time left before the deadline; the rest of the batch is reported as failed"
                );
            }
            if out_of_time {
                done.undelivered.extend(members);
                continue;
            }
            match self.messages.post(&outgoing.payload, target, call).await {
                Ok(sent) => {
                    done.posted += 1;
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
                        .filter_map(|&m| notifications[m].id.as_deref())
                    {
                        recent.insert(&delivered_key(id, target));
                    }
                }
                Err(e) => {
                    tracing::error!(notifications = members.len(), error_type = e.error_type(), error = %e, "not delivered");
                    done.undelivered.extend(members);
                }
            }
        }
        done
    }
}
