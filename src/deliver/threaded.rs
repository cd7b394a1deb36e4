//! With threads (app mode, `THREADS_TABLE`): an SNS message is claimed in the table before it
//! is posted, so two deliveries of it post once, and an alarm goes into its incident's thread
//! ([`decide`]), racing other instances through the table's conditional writes. Any table
//! failure posts the notification top-level instead: the table never costs a notification.

use std::time::{Duration, Instant};

use super::direct::Delivered;
use super::route::Destination;
use super::{Notifier, RecordError, Threads};
use crate::model::{Alarm, Body, Notification};
use crate::render::blocks::Block;
use crate::render::controls::{with_controls, MuteOffer};
use crate::render::{describe, render_payload, Payload};
use crate::secret::Call;
use crate::slack::messenger::{Messages, Posted, Spot, Target};
use crate::threads::incident::{
    decide, thread_key, with_status, AlarmRef, Clock, Decision, Thread,
};
use crate::threads::store::{ThreadStore, ThreadsError, CLAIM_LEASE};

/// Rounds of a race for one alarm's thread before giving up and posting top-level.
const MAX_THREAD_ROUNDS: usize = 4;
/// How often, and how long at most, to read a thread whose parent another instance is posting.
const CLAIM_POLL: Duration = Duration::from_millis(100);
const CLAIM_WAIT: Duration = Duration::from_secs(3);

/// When a message's claim lapses, in epoch seconds: the invocation's deadline, rounded up,
/// and never more than [`CLAIM_LEASE`] away.
fn lease_until(deadline: Instant) -> u64 {
    let left = deadline.saturating_duration_since(Instant::now()).as_secs() + 1;
    epoch_now() + left.min(CLAIM_LEASE.as_secs())
}

fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The one warning for a table failure: the notification goes out top-level regardless.
fn table_failed(error: &ThreadsError, alarm: &str) {
    tracing::warn!(error = %error, alarm, "threads table unavailable; posting top-level");
}

/// Where one destination's threads live: its target, the channel it posts to, and the threads
/// table with its settings.
struct Lane<'a> {
    threads: &'a Threads,
    target: &'a Target,
    channel: &'a str,
}

impl Lane<'_> {
    /// The table's key of `alarm`'s thread here. The secret's own channel keeps the key it had
    /// before routes; another channel has its own thread.
    fn thread_key(&self, alarm: &Alarm) -> String {
        match self.target {
            Target::Secret => thread_key(alarm),
            _ => format!("{}#{}", thread_key(alarm), self.channel),
        }
    }

    /// The table's key of SNS message `id`'s claim here.
    fn message_key(&self, id: &str) -> String {
        match self.target {
            Target::Secret => id.to_owned(),
            other => format!("{id}#{}", other.key()),
        }
    }
}

/// What a thread's parent is stored as: the payload as posted, with its channel.
fn parent_json(payload: &Payload, channel: &str) -> serde_json::Value {
    let mut parent = serde_json::to_value(payload).unwrap_or_default();
    parent["channel"] = channel.into();
    parent
}

impl<M: Messages> Notifier<M> {
    /// Posts one notification to `destination`, with `chart` when it takes charts: as its own
    /// message, or, with threads in app mode, an alarm in its incident's thread there. With
    /// threads, an SNS message another invocation has is not posted again.
    pub(super) async fn deliver(
        &self,
        notification: &Notification,
        destination: &Destination,
        chart: Option<&Block>,
        call: &Call<'_>,
    ) -> Result<Delivered, RecordError> {
        let payload = render_payload(notification, &self.render_options(destination));
        let target = &destination.target;
        let payload = match chart {
            Some(chart) if self.takes_charts(target) => payload.with_chart(chart.clone()),
            _ => payload,
        };
        let top_level = || async {
            let posted = self.post_payload(&payload, target, call).await?;
            Ok(Delivered::Posted(posted))
        };
        let threads = self
            .threads
            .as_ref()
            .filter(|_| destination.settings.threads != Some(false));
        let Some(threads) = threads else {
            return top_level().await;
        };
        let Some(channel) = self.messages.channel(target, call).await? else {
            return top_level().await;
        };
        let lane = Lane {
            threads,
            target,
            channel: &channel,
        };
        let Some(id) = notification.id.as_deref() else {
            return self
                .deliver_in_thread(&lane, notification, payload, call)
                .await
                .map(Delivered::Posted);
        };
        let (_, name) = describe(&notification.body);
        let message = lane.message_key(id);
        let owner = call.request_id.unwrap_or_default();
        let lease = lease_until(call.deadline);
        let claim = threads
            .store
            .claim_message(&message, owner, epoch_now(), lease, call.deadline);
        match claim.await {
            Ok(true) => {}
            Ok(false) => return Ok(Delivered::Duplicate),
            Err(e) => {
                // Not a second wait on a table that just failed.
                table_failed(&e, &name);
                return top_level().await;
            }
        }
        let posted = self
            .deliver_in_thread(&lane, notification, payload, call)
            .await;
        settle(&threads.store, &message, posted.is_ok(), call).await;
        posted.map(Delivered::Posted)
    }

    async fn post(
        &self,
        payload: &Payload,
        lane: &Lane<'_>,
        call: &Call<'_>,
    ) -> Result<Posted, RecordError> {
        Ok(self.post_payload(payload, lane.target, call).await?)
    }

    /// An alarm into its thread; any other notification top-level.
    async fn deliver_in_thread(
        &self,
        lane: &Lane<'_>,
        notification: &Notification,
        payload: Payload,
        call: &Call<'_>,
    ) -> Result<Posted, RecordError> {
        match &notification.body {
            Body::Alarm(alarm) => self.deliver_alarm(lane, alarm, payload, call).await,
            Body::Other(_) => self.post(&payload, lane, call).await,
        }
    }

    /// An alarm in its incident's thread ([`decide`]), racing other instances through the
    /// table's conditional writes. Any table failure posts it top-level instead.
    async fn deliver_alarm(
        &self,
        lane: &Lane<'_>,
        alarm: &Alarm,
        payload: Payload,
        call: &Call<'_>,
    ) -> Result<Posted, RecordError> {
        let store = &lane.threads.store;
        let key = lane.thread_key(alarm);
        let changed = alarm.time.and_then(|t| u64::try_from(t.timestamp()).ok());
        let waiting_since = Instant::now();
        let mut rounds = 0;
        let mut stored = store.load(&key, call.deadline).await;
        loop {
            let current = match stored {
                Ok(t) => t,
                Err(e) => {
                    table_failed(&e, &alarm.name);
                    return self.post(&payload, lane, call).await;
                }
            };
            let clock = Clock::new(epoch_now(), changed);
            let settings = &lane.threads.settings;
            let decision = decide(
                current.as_ref(),
                &alarm.state,
                lane.channel,
                clock,
                settings,
            );
            let written = match &decision {
                Decision::TopLevel => return self.post(&payload, lane, call).await,
                Decision::Wait if waiting_since.elapsed() > CLAIM_WAIT => {
                    tracing::warn!(alarm = %alarm.name, "the thread's parent is still being posted elsewhere; posting top-level");
                    return self.post(&payload, lane, call).await;
                }
                Decision::Wait => {
                    tokio::time::sleep(CLAIM_POLL).await;
                    Ok(false)
                }
                Decision::Open { replacing } => {
                    let claim = Thread::claim(lane.channel, clock, *replacing).about(alarm);
                    match store.save(&key, &claim, *replacing, call.deadline).await {
                        Ok(true) => {
                            let about = AlarmRef::of(alarm);
                            let parent = self.parent_payload(lane, &key, &about, &payload);
                            return self.open_thread(lane, &key, claim, &parent, call).await;
                        }
                        other => other,
                    }
                }
                Decision::Reply { next, status } => {
                    let expected = current.as_ref().map(|t| t.version);
                    match store.save(&key, next, expected, call.deadline).await {
                        Ok(true) => {
                            let status = status.as_deref();
                            return self.reply(lane, &key, next, status, &payload, call).await;
                        }
                        other => other,
                    }
                }
            };
            if let Err(e) = written {
                table_failed(&e, &alarm.name);
                return self.post(&payload, lane, call).await;
            }
            // Another instance wrote first (or the parent is still coming): read it again.
            // Waiting is not a lost race.
            if !matches!(decision, Decision::Wait) {
                rounds += 1;
                if rounds == MAX_THREAD_ROUNDS {
                    tracing::warn!(alarm = %alarm.name, "the thread kept changing under this instance; posting top-level");
                    return self.post(&payload, lane, call).await;
                }
            }
            stored = store.load(&key, call.deadline).await;
        }
    }

    /// Posts a claimed thread's parent and stores where it is. When the parent is not
    /// posted, or Slack does not say where it is, the claim is dropped so the next ALARM
    /// opens the thread afresh.
    async fn open_thread(
        &self,
        lane: &Lane<'_>,
        key: &str,
        claim: Thread,
        payload: &Payload,
        call: &Call<'_>,
    ) -> Result<Posted, RecordError> {
        let store = &lane.threads.store;
        let posted = match self.post(payload, lane, call).await {
            Ok(posted) => posted,
            Err(e) => {
                abandon(store, key, &claim, call).await;
                return Err(e);
            }
        };
        match &posted.spot {
            Some(spot) => {
                let parent =
                    parent_json(&self.as_posted(payload, lane.target), &claim.channel).to_string();
                store_parent(store, key, &claim, spot, parent, call).await;
            }
            None => {
                tracing::warn!("Slack took the thread's parent but its answer has no ts; the next ALARM opens a new thread");
                abandon(store, key, &claim, call).await;
            }
        }
        Ok(posted)
    }

    /// A reply in `thread` (already stored under `key`), then `status` on top of its parent. A
    /// parent that cannot be updated is logged: the notification itself is delivered. A thread
    /// Slack no longer has (its parent deleted) gets the reply as a new parent, top-level.
    async fn reply(
        &self,
        lane: &Lane<'_>,
        key: &str,
        thread: &Thread,
        status: Option<&str>,
        payload: &Payload,
        call: &Call<'_>,
    ) -> Result<Posted, RecordError> {
        let Some(ts) = thread.ts.clone() else {
            return self.post(payload, lane, call).await;
        };
        let parent_spot = Spot {
            channel: thread.channel.clone(),
            ts,
        };
        let broadcast = lane.threads.settings.broadcast;
        let posted = match self
            .reply_payload(payload, lane.target, &parent_spot, broadcast, call)
            .await
        {
            Err(e) if e.thread_gone() => {
                tracing::warn!(error = %e, "Slack no longer has the thread; posting top-level as a new thread's parent");
                let parent = match &thread.alarm {
                    Some(alarm) => self.parent_payload(lane, key, alarm, payload),
                    None => payload.clone(),
                };
                return self.restart_thread(lane, key, thread, &parent, call).await;
            }
            other => other?,
        };
        if let (Some(status), Some(parent)) = (status, thread.parent.as_deref()) {
            let parent: serde_json::Value = serde_json::from_str(parent).unwrap_or_default();
            if let Err(e) = self
                .messages
                .update(&parent_spot, with_status(&parent, status), call)
                .await
            {
                tracing::warn!(error = %e, "the reply is posted, but its thread's parent could not be updated");
            }
        }
        Ok(posted)
    }

    /// `payload` as an incident's parent: with its buttons when actions are on (`key` is the
    /// thread's), Mute only for an alarm of this function's own account and region.
    fn parent_payload(
        &self,
        lane: &Lane<'_>,
        key: &str,
        alarm: &AlarmRef,
        payload: &Payload,
    ) -> Payload {
        if !lane.threads.actions {
            return payload.clone();
        }
        let offer = match alarm.mutable_from(self.home()) {
            Ok(()) => MuteOffer::Mute,
            Err(why) => MuteOffer::Unavailable(format!("🔕 No Mute here: {why}.")),
        };
        with_controls(payload.clone(), key, &offer)
    }

    /// Posts `payload` top-level, as the parent of `thread` (stored under `key`) from now on.
    async fn restart_thread(
        &self,
        lane: &Lane<'_>,
        key: &str,
        thread: &Thread,
        payload: &Payload,
        call: &Call<'_>,
    ) -> Result<Posted, RecordError> {
        let posted = self.post(payload, lane, call).await?;
        if let Some(spot) = &posted.spot {
            let parent =
                parent_json(&self.as_posted(payload, lane.target), &thread.channel).to_string();
            store_parent(&lane.threads.store, key, thread, spot, parent, call).await;
        }
        Ok(posted)
    }
}

/// Marks message `id` delivered, or releases it so that Lambda's retry posts it at once.
async fn settle(store: &ThreadStore, id: &str, delivered: bool, call: &Call<'_>) {
    let now = epoch_now();
    if delivered {
        if let Err(e) = store.mark_delivered(id, now, call.deadline).await {
            tracing::warn!(error = %e, "could not record the delivered message in the threads table; a redelivery after its claim lapses may post it again");
        }
    } else if let Err(e) = store.release_message(id, now, call.deadline).await {
        tracing::warn!(error = %e, "could not release the undelivered message in the threads table; a retry posts it once its claim lapses");
    }
}

/// Stores `thread`'s parent, posted at `spot`, over the version it was read at.
async fn store_parent(
    store: &ThreadStore,
    key: &str,
    thread: &Thread,
    spot: &Spot,
    parent: String,
    call: &Call<'_>,
) {
    let posted = thread.posted(&spot.channel, &spot.ts, parent);
    match store
        .save(key, &posted, Some(thread.version), call.deadline)
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!("the thread was taken over before its parent was stored"),
        Err(e) => {
            tracing::warn!(error = %e, "could not store the thread's parent; later notifications go top-level")
        }
    }
}

/// Drops `claim`, whose parent is not in Slack where the table could find it.
async fn abandon(store: &ThreadStore, key: &str, claim: &Thread, call: &Call<'_>) {
    if let Err(e) = store.abandon(key, claim, call.deadline).await {
        tracing::warn!(error = %e, "could not drop the thread's claim; an ALARM within a minute posts top-level");
    }
}
