//! Orchestration: parse → filter → secret → render → post, for every record of an event.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsBatchResponse;
use serde::Serialize;

use crate::app::config::Config;
use crate::graphs::cloudwatch::{GraphError, GraphSource};
use crate::ingest::queue::QueueRecord;
use crate::ingest::{parse_delivery, Delivery, Parsed};
use crate::model::ParseError;
use crate::model::{Alarm, Body, Notification};
use crate::render::digest;
use crate::render::{describe, render_payload, Payload, RenderOptions};
use crate::secret::{Call, SecretError, SecretSource, SlackSecret};
use crate::slack::{ApiBody, ApiReply, SlackClient, SlackError, Upload};
use crate::threads::incident::{
    decide, thread_key, with_status, Clock, Decision, Thread, ThreadSettings,
};
use crate::threads::store::{ThreadStore, ThreadsError};

/// Web API codes that say a thread's parent is gone (deleted, or never there).
const THREAD_GONE: [&str; 2] = ["thread_not_found", "message_not_found"];
/// Rounds of a race for one alarm's thread before giving up and posting top-level.
const MAX_THREAD_ROUNDS: usize = 4;
/// How often, and how long at most, to read a thread whose parent another instance is posting.
const CLAIM_POLL: Duration = Duration::from_millis(100);
const CLAIM_WAIT: Duration = Duration::from_secs(3);

/// Why one notification was not delivered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
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
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "MalformedEvent",
            Self::Secret(e) => e.error_type(),
            Self::Slack(e) | Self::CredentialRefused { source: e, .. } => e.error_type(),
        }
    }
}

/// Why an invocation failed. Lambda's retries and on-failure destination take it from here.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandlerError {
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
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            Self::MalformedEvent(_) => "MalformedEvent",
            Self::NotDelivered { first, .. } => first.error_type(),
        }
    }
}

/// What an invocation did, returned to Lambda as its result.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Outcome {
    pub delivered: usize,
    /// Left out by `NOTIFY_STATES` or the name patterns.
    pub filtered: usize,
    /// Already delivered by this instance (SNS redelivery).
    pub duplicates: usize,
    /// Of `delivered`, those Slack answered with HTTP 200 but an answer that broke off or was
    /// odd: counted as delivered, never sent again (see the README's delivery guarantees).
    #[serde(skip_serializing_if = "is_zero")]
    pub unconfirmed: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What an invocation answers: an outcome for direct deliveries, a partial batch response
/// naming the records that were not delivered for a queue batch.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Response {
    Direct(Outcome),
    Queue(SqsBatchResponse),
}

/// A bounded record of recently delivered notification ids, oldest forgotten first. Each id
/// is kept as a 128-bit digest, so the record costs about 40 bytes an id whatever the ids'
/// length (4 MiB for [`crate::app::config::DEFAULT_RECENT_IDS`]); two ids sharing a digest, which
/// would make one look delivered, is as likely as guessing a random 128-bit number.
pub(crate) struct RecentIds {
    capacity: usize,
    order: VecDeque<u128>,
    set: HashSet<u128>,
}

/// Two SipHash digests with fixed, different keys: the same id has the same digest in every
/// process, and nothing here needs a secret key.
fn digest(id: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

impl RecentIds {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.set.contains(&digest(id))
    }

    pub(crate) fn insert(&mut self, id: &str) {
        let d = digest(id);
        if !self.set.insert(d) {
            return;
        }
        if self.order.len() == self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(d);
    }
}

/// The request body for `secret`: the payload with the secret's channel, if any (app mode
/// always has one).
pub(crate) fn body_for(payload: &mut Payload, secret: &SlackSecret) -> Vec<u8> {
    payload.channel = secret.channel().map(str::to_owned);
    serde_json::to_vec(payload).unwrap_or_default()
}

/// A file name for an alarm's graph: its name, kept to characters safe in any file name.
fn graph_filename(alarm: &str) -> String {
    let stem: String = alarm
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect();
    match stem.trim_matches(['-', '.']) {
        "" => "metric-graph.png".into(),
        stem => format!("{stem}.png"),
    }
}

/// The long-lived parts of the function, built once per process.
pub(crate) struct Notifier {
    pub filter: crate::app::config::Filter,
    pub render_options: RenderOptions,
    pub secrets: SecretSource,
    pub slack: SlackClient,
    pub digest_threshold: usize,
    pub min_interval: Duration,
    recent: Mutex<RecentIds>,
    /// `THREADS_TABLE` (app mode): one thread per incident.
    threads: Option<Threads>,
    /// `METRIC_GRAPHS` (app mode): a metric alarm's graph beside its message.
    graphs: Option<GraphSource>,
}

/// The threads table and how threads behave.
pub(crate) struct Threads {
    pub store: ThreadStore,
    pub settings: ThreadSettings,
}

/// What became of one notification.
enum Delivered {
    /// Posted: how, and where.
    Posted(Sent),
    /// The threads table says another delivery of the same SNS message has it.
    Duplicate,
}

/// A posted message: the attempts it took and, in app mode, where it is.
struct Sent {
    attempts: u32,
    spot: Option<Spot>,
    /// Slack's 200 came with an answer that broke off or was odd: what was odd.
    unconfirmed: Option<String>,
}

impl Sent {
    fn in_thread(attempts: u32, channel: &str, thread_ts: &str) -> Self {
        Self {
            attempts,
            spot: Some(Spot {
                channel: channel.to_owned(),
                thread_ts: thread_ts.to_owned(),
            }),
            unconfirmed: None,
        }
    }

    /// A message whose place is unknown (a webhook, or an answer without its `ts`).
    fn nowhere(attempts: u32, unconfirmed: Option<String>) -> Self {
        Self {
            attempts,
            spot: None,
            unconfirmed,
        }
    }

    /// Where a Web API answer says the message is, if it says so (`channel` and `ts`).
    fn from_reply(reply: &ApiReply, channel: &str) -> Self {
        let posted_in = reply.body["channel"].as_str().unwrap_or(channel);
        match reply.body["ts"].as_str().filter(|ts| !ts.is_empty()) {
            Some(ts) => Self::in_thread(reply.attempts, posted_in, ts),
            None => Self::nowhere(reply.attempts, reply.unconfirmed.clone()),
        }
    }
}

/// Where an app-mode message is: its channel and its thread (its own `ts` when top-level),
/// which is where its metric graph goes.
struct Spot {
    channel: String,
    thread_ts: String,
}

/// When a message's claim lapses, in epoch seconds: the invocation's deadline, rounded up,
/// and never more than [`crate::threads::store::CLAIM_LEASE`] away.
fn lease_until(deadline: Instant) -> u64 {
    let left = deadline.saturating_duration_since(Instant::now()).as_secs() + 1;
    epoch_now() + left.min(crate::threads::store::CLAIM_LEASE.as_secs())
}

fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The one warning for a message Slack took with HTTP 200 and an odd answer.
fn unconfirmed(why: &str, name: &str) {
    tracing::warn!(name, why, "Slack answered HTTP 200 but its answer could not be read; counted as delivered, and not sent again");
}

/// The one warning for a table failure: the notification goes out top-level regardless.
fn table_failed(error: &ThreadsError, alarm: &str) {
    tracing::warn!(error = %error, alarm, "threads table unavailable; posting top-level");
}

impl Notifier {
    pub(crate) fn new(config: &Config, secrets: SecretSource, slack: SlackClient) -> Self {
        Self {
            filter: config.filter.clone(),
            render_options: RenderOptions {
                mention: config.mention.clone(),
            },
            secrets,
            slack,
            digest_threshold: config.digest_threshold,
            min_interval: config.min_interval,
            recent: Mutex::new(RecentIds::new(crate::app::config::DEFAULT_RECENT_IDS)),
            threads: None,
            graphs: None,
        }
    }

    /// Metric graphs in app mode, drawn by `graphs`.
    pub(crate) fn with_graphs(mut self, graphs: GraphSource) -> Self {
        self.graphs = Some(graphs);
        self
    }

    /// Threads in app mode, kept in `store`.
    pub(crate) fn with_threads(mut self, store: ThreadStore, settings: ThreadSettings) -> Self {
        self.threads = Some(Threads { store, settings });
        self
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, RecentIds> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Filtering rules apply to alarms; other notifications always go through.
    pub(crate) fn filtered_out(&self, n: &Notification) -> Option<&'static str> {
        match &n.body {
            Body::Alarm(a) => self.filter.reject_reason(&a.name, &a.state),
            _ => None,
        }
    }

    /// Handles one event: a queue batch answers with the records not delivered; any other
    /// delivery fails as a whole if one notification was not delivered.
    pub(crate) async fn handle(
        &self,
        event: &[u8],
        call: &Call<'_>,
    ) -> Result<Response, HandlerError> {
        match parse_delivery(event).map_err(HandlerError::MalformedEvent)? {
            Delivery::Direct(records) => self
                .handle_direct(records, call)
                .await
                .map(Response::Direct),
            Delivery::Queue(records) => Ok(Response::Queue(self.handle_queue(records, call).await)),
        }
    }

    /// Every record is attempted, one message each; any failure fails the invocation. Metric
    /// graphs wait until every message is out, so that no graph takes time a message needs.
    async fn handle_direct(
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
                Ok(Delivered::Duplicate) => {
                    // Not remembered as delivered: the other delivery may still fail, and
                    // then its retry, wherever it lands, must post the message.
                    tracing::info!(record = index, kind, name = %name, id = notification.id.as_deref(), "delivered or being delivered by another invocation; skipping");
                    outcome.duplicates += 1;
                }
                Ok(Delivered::Posted(sent)) => {
                    tracing::info!(record = index, kind, name = %name, attempts = sent.attempts, "posted to Slack");
                    if let Some(why) = &sent.unconfirmed {
                        unconfirmed(why, &name);
                        outcome.unconfirmed += 1;
                    }
                    if let Some(id) = &notification.id {
                        self.recent().insert(id);
                    }
                    outcome.delivered += 1;
                    if let (Body::Alarm(alarm), Some(spot)) = (notification.body, sent.spot) {
                        graphs_due.push((alarm, spot));
                    }
                }
                Err(e) => {
                    tracing::error!(record = index, kind, name = %name, error_type = e.error_type(), error = %e, "not delivered");
                    failures.push(e);
                }
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
                Ok(sent) => {
                    posted += 1;
                    tracing::info!(
                        notifications = outgoing.members.len(),
                        attempts = sent.attempts,
                        "posted to Slack"
                    );
                    if let Some(why) = &sent.unconfirmed {
                        unconfirmed(why, "queue batch message");
                    }
                    let mut recent = self.recent();
                    for &m in &outgoing.members {
                        if let Some(id) = &batch[m].id {
                            recent.insert(id);
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

    /// Posts one notification: as its own message, or, with threads in app mode, an alarm in
    /// its incident's thread. With threads, an SNS message another instance already has is
    /// not posted again.
    async fn deliver(
        &self,
        notification: &Notification,
        call: &Call<'_>,
    ) -> Result<Delivered, RecordError> {
        let payload = render_payload(notification, &self.render_options);
        let Some(threads) = &self.threads else {
            return self.post(payload, call).await.map(Delivered::Posted);
        };
        let secret = self.secrets.get(call).await?;
        let SlackSecret::App { channel, .. } = &*secret else {
            return self.post(payload, call).await.map(Delivered::Posted);
        };
        let (_, name) = describe(&notification.body);
        let mut claimed = None;
        if let Some(id) = notification.id.as_deref() {
            let owner = call.request_id.unwrap_or_default();
            match threads
                .store
                .claim_message(
                    id,
                    owner,
                    epoch_now(),
                    lease_until(call.deadline),
                    call.deadline,
                )
                .await
            {
                Ok(true) => claimed = Some(id),
                Ok(false) => return Ok(Delivered::Duplicate),
                Err(e) => {
                    // Not a second wait on a table that just failed.
                    table_failed(&e, &name);
                    return self.post(payload, call).await.map(Delivered::Posted);
                }
            }
        }
        let posted = match &notification.body {
            Body::Alarm(alarm) => {
                self.deliver_alarm(threads, alarm, payload, channel.as_str(), call)
                    .await
            }
            _ => self.post(payload, call).await,
        };
        match (&posted, claimed) {
            (Err(_), Some(id)) => {
                // So that Lambda's retry of this invocation posts it at once.
                if let Err(e) = threads
                    .store
                    .release_message(id, epoch_now(), call.deadline)
                    .await
                {
                    tracing::warn!(error = %e, "could not release the undelivered message in the threads table; a retry posts it once its claim lapses at the deadline");
                }
            }
            (Ok(_), Some(id)) => {
                if let Err(e) = threads
                    .store
                    .mark_delivered(id, epoch_now(), call.deadline)
                    .await
                {
                    tracing::warn!(error = %e, "could not record the delivered message in the threads table; a redelivery after its claim lapses may post it again");
                }
            }
            _ => {}
        }
        posted.map(Delivered::Posted)
    }

    /// An alarm in its incident's thread ([`decide`]), racing other instances through the
    /// table's conditional writes. Any table failure posts it top-level instead.
    async fn deliver_alarm(
        &self,
        threads: &Threads,
        alarm: &Alarm,
        payload: Payload,
        channel: &str,
        call: &Call<'_>,
    ) -> Result<Sent, RecordError> {
        let store = &threads.store;
        let key = thread_key(alarm);
        let load = || store.load(&key, call.deadline);
        let mut stored = match load().await {
            Ok(t) => t,
            Err(e) => {
                table_failed(&e, &alarm.name);
                return self.post(payload, call).await;
            }
        };
        let waiting_since = Instant::now();
        let mut rounds = 0;
        loop {
            let clock = Clock::new(
                epoch_now(),
                alarm.time.and_then(|t| u64::try_from(t.timestamp()).ok()),
            );
            let decision = decide(
                stored.as_ref(),
                &alarm.state,
                channel,
                clock,
                &threads.settings,
            );
            let written = match &decision {
                Decision::TopLevel => return self.post(payload, call).await,
                Decision::Wait => {
                    if waiting_since.elapsed() > CLAIM_WAIT {
                        tracing::warn!(alarm = %alarm.name, "the thread's parent is still being posted elsewhere; posting top-level");
                        return self.post(payload, call).await;
                    }
                    tokio::time::sleep(CLAIM_POLL).await;
                    Ok(false)
                }
                Decision::Open { replacing } => {
                    let claim = Thread::claim(channel, clock, *replacing);
                    match store.save(&key, &claim, *replacing, call.deadline).await {
                        Ok(true) => {
                            return self.open_thread(store, &key, claim, payload, call).await
                        }
                        other => other,
                    }
                }
                Decision::Reply { next, status } => {
                    let expected = stored.as_ref().map(|t| t.version);
                    match store.save(&key, next, expected, call.deadline).await {
                        Ok(true) => {
                            return self
                                .reply(threads, &key, next, status.as_deref(), payload, call)
                                .await
                        }
                        other => other,
                    }
                }
            };
            match written {
                // Another instance wrote first: decide again on what it wrote.
                Ok(_) => match load().await {
                    Ok(t) => stored = t,
                    Err(e) => {
                        table_failed(&e, &alarm.name);
                        return self.post(payload, call).await;
                    }
                },
                Err(e) => {
                    table_failed(&e, &alarm.name);
                    return self.post(payload, call).await;
                }
            }
            // Waiting is not a lost race.
            if !matches!(decision, Decision::Wait) {
                rounds += 1;
                if rounds == MAX_THREAD_ROUNDS {
                    tracing::warn!(alarm = %alarm.name, "the thread kept changing under this instance; posting top-level");
                    return self.post(payload, call).await;
                }
            }
        }
    }

    /// Posts a claimed thread's parent and stores its `ts`. When the parent is not posted,
    /// the claim is dropped so the next ALARM opens the thread afresh.
    async fn open_thread(
        &self,
        store: &ThreadStore,
        key: &str,
        claim: Thread,
        mut payload: Payload,
        call: &Call<'_>,
    ) -> Result<Sent, RecordError> {
        payload.channel = Some(claim.channel.clone());
        let body = serde_json::to_value(&payload).unwrap_or_default();
        let reply = match self.api("chat.postMessage", &body, call).await {
            Ok(reply) => reply,
            Err(e) => {
                if let Err(abandon) = store.abandon(key, &claim, call.deadline).await {
                    tracing::warn!(error = %abandon, "could not drop the thread's claim; an ALARM within a minute posts top-level");
                }
                return Err(e);
            }
        };
        let sent = Sent::from_reply(&reply, &claim.channel);
        let Some(spot) = &sent.spot else {
            // Posted, but Slack did not say where: no thread can hang from it.
            tracing::warn!("Slack took the thread's parent but its answer has no ts; the next ALARM opens a new thread");
            if let Err(abandon) = store.abandon(key, &claim, call.deadline).await {
                tracing::warn!(error = %abandon, "could not drop the thread's claim; an ALARM within a minute posts top-level");
            }
            return Ok(sent);
        };
        self.store_parent(store, key, &claim, spot, body.to_string(), call)
            .await;
        Ok(sent)
    }

    /// Stores `thread`'s parent, posted at `spot`, over the version it was read at.
    async fn store_parent(
        &self,
        store: &ThreadStore,
        key: &str,
        thread: &Thread,
        spot: &Spot,
        parent: String,
        call: &Call<'_>,
    ) {
        let posted = thread.posted(&spot.channel, &spot.thread_ts, parent);
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

    /// A reply in `thread` (already stored under `key`), then `status` on top of its parent. A
    /// parent that cannot be updated is logged: the notification itself is delivered. A thread
    /// Slack no longer has (its parent deleted) gets the reply as a new parent, top-level.
    async fn reply(
        &self,
        threads: &Threads,
        key: &str,
        thread: &Thread,
        status: Option<&str>,
        payload: Payload,
        call: &Call<'_>,
    ) -> Result<Sent, RecordError> {
        let Some(ts) = thread.ts.as_deref() else {
            return self.post(payload, call).await;
        };
        let mut body = serde_json::to_value(&payload).unwrap_or_default();
        body["channel"] = thread.channel.clone().into();
        body["thread_ts"] = ts.into();
        if threads.settings.broadcast {
            body["reply_broadcast"] = true.into();
        }
        let posted = match self.api("chat.postMessage", &body, call).await {
            Err(RecordError::Slack(SlackError::ApiRejected { code, .. }))
                if THREAD_GONE.contains(&code.as_str()) =>
            {
                tracing::warn!(
                    code,
                    "Slack no longer has the thread; posting top-level as a new thread's parent"
                );
                return self
                    .restart_thread(&threads.store, key, thread, payload, call)
                    .await;
            }
            other => other?,
        };
        let attempts = posted.attempts;
        if let (Some(status), Some(parent)) = (status, thread.parent.as_deref()) {
            let parent: serde_json::Value = serde_json::from_str(parent).unwrap_or_default();
            let mut update = with_status(&parent, status);
            update["channel"] = thread.channel.clone().into();
            update["ts"] = ts.into();
            if let Err(e) = self.api("chat.update", &update, call).await {
                tracing::warn!(error = %e, "the reply is posted, but its thread's parent could not be updated");
            }
        }
        Ok(Sent::in_thread(attempts, &thread.channel, ts))
    }

    /// Posts `payload` top-level, as the parent of `thread` (stored under `key`) from now on.
    async fn restart_thread(
        &self,
        store: &ThreadStore,
        key: &str,
        thread: &Thread,
        mut payload: Payload,
        call: &Call<'_>,
    ) -> Result<Sent, RecordError> {
        payload.channel = Some(thread.channel.clone());
        let body = serde_json::to_value(&payload).unwrap_or_default();
        let sent = Sent::from_reply(
            &self.api("chat.postMessage", &body, call).await?,
            &thread.channel,
        );
        if let Some(spot) = &sent.spot {
            self.store_parent(store, key, thread, spot, body.to_string(), call)
                .await;
        }
        Ok(sent)
    }

    /// One Web API call with the secret's bot token.
    async fn api(
        &self,
        method: &'static str,
        body: &serde_json::Value,
        call: &Call<'_>,
    ) -> Result<ApiReply, RecordError> {
        let body = serde_json::to_vec(body).unwrap_or_default();
        self.with_secret(call, |secret| {
            let body = &body;
            async move {
                match &*secret {
                    SlackSecret::App { token, .. } => {
                        self.slack
                            .send_api(method, token, ApiBody::Json(body), call.deadline)
                            .await
                    }
                    SlackSecret::Webhook { .. } => Err(SlackError::ApiRejected {
                        method,
                        code: "not_app_mode".into(),
                        detail: "the secret changed to a webhook".into(),
                    }),
                }
            }
        })
        .await
    }

    /// Posts one message; when Slack refuses the webhook or the bot token, re-reads the secret
    /// once and tries the new one.
    async fn post(&self, payload: Payload, call: &Call<'_>) -> Result<Sent, RecordError> {
        self.with_secret(call, |secret| {
            let mut payload = payload.clone();
            async move { self.send(&mut payload, &secret, call).await }
        })
        .await
    }

    /// Runs `send` with the secret; when Slack refuses its webhook or bot token, re-reads the
    /// secret once and runs it with the new one.
    async fn with_secret<T, F, Fut>(&self, call: &Call<'_>, send: F) -> Result<T, RecordError>
    where
        F: Fn(std::sync::Arc<SlackSecret>) -> Fut,
        Fut: std::future::Future<Output = Result<T, SlackError>>,
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
                    return Err(RecordError::CredentialRefused {
                        source: e,
                        credential,
                    });
                }
                Ok(send(fresh).await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One message to the webhook, or with `chat.postMessage` in app mode.
    async fn send(
        &self,
        payload: &mut Payload,
        secret: &SlackSecret,
        call: &Call<'_>,
    ) -> Result<Sent, SlackError> {
        let body = body_for(payload, secret);
        match secret {
            SlackSecret::Webhook { url, .. } => {
                let delivered = self.slack.post(url, &body, call.deadline).await?;
                Ok(Sent::nowhere(delivered.attempts, delivered.unconfirmed))
            }
            SlackSecret::App { token, channel, .. } => {
                let reply = self.slack.post_message(token, &body, call.deadline).await?;
                Ok(Sent::from_reply(&reply, channel.as_str()))
            }
        }
    }

    /// Shares `alarm`'s metric graph in the thread of its message, within the graph's budget
    /// and the invocation's deadline. The message is already posted: a graph that fails or is
    /// late is a warning, never a failed invocation.
    async fn share_graph(&self, alarm: &Alarm, spot: &Spot, call: &Call<'_>) {
        let Some(graphs) = &self.graphs else { return };
        let Some(widget) = crate::graphs::widget::metric_widget(alarm) else {
            return;
        };
        let started = Instant::now();
        let deadline = (started + graphs.budget).min(call.deadline);
        let budget = deadline.saturating_duration_since(started);
        let shared = tokio::time::timeout_at(
            deadline.into(),
            self.draw_and_upload(graphs, alarm, &widget.to_string(), spot, call, deadline),
        )
        .await
        .unwrap_or(Err(GraphError::Late { budget }));
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match shared {
            Ok(bytes) => {
                tracing::info!(alarm = %alarm.name, bytes, elapsed_ms, "metric graph shared in the message's thread")
            }
            Err(e) => {
                tracing::warn!(alarm = %alarm.name, error = %e, elapsed_ms, "metric graph not shared; the message went without it")
            }
        }
    }

    async fn draw_and_upload(
        &self,
        graphs: &GraphSource,
        alarm: &Alarm,
        widget: &str,
        spot: &Spot,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<usize, GraphError> {
        let image = graphs.image(widget).await?;
        let secret = self.secrets.get(call).await?;
        let SlackSecret::App { token, .. } = &*secret else {
            // The secret turned into a webhook since the message was posted.
            return Ok(0);
        };
        let filename = graph_filename(&alarm.name);
        let upload = Upload {
            filename: &filename,
            title: &alarm.name,
            bytes: &image,
            channel: &spot.channel,
            thread_ts: Some(&spot.thread_ts),
        };
        self.slack.upload_file(token, &upload, deadline).await?;
        Ok(image.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_ids_are_bounded() {
        let mut r = RecentIds::new(2);
        r.insert("a");
        r.insert("b");
        r.insert("a");
        assert!(r.contains("a") && r.contains("b"));
        r.insert("c");
        assert!(!r.contains("a"));
        assert!(r.contains("b") && r.contains("c"));
    }

    #[test]
    fn recent_ids_hold_what_a_warm_instance_sees_in_a_storm() {
        let capacity = crate::app::config::DEFAULT_RECENT_IDS;
        assert!(capacity >= 100_000, "{capacity}");
        let mut r = RecentIds::new(capacity);
        let id = |i: usize| format!("5f2c7a1e-0000-4000-8000-{i:012}");
        for i in 0..capacity {
            r.insert(&id(i));
        }
        assert!((0..capacity).all(|i| r.contains(&id(i))));
        assert!(!r.contains(&id(capacity)));
        r.insert(&id(capacity));
        assert!(!r.contains(&id(0)) && r.contains(&id(1)));
    }

    #[test]
    fn graph_file_names_are_safe() {
        assert_eq!(graph_filename("cpu-high"), "cpu-high.png");
        assert_eq!(
            graph_filename("prod / API 5xx > 1%"),
            "prod---API-5xx---1.png"
        );
        assert_eq!(graph_filename("../x"), "x.png");
        assert_eq!(graph_filename("日本"), "metric-graph.png");
    }
}
