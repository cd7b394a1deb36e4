//! What happens to each notification of an event: screened ([`screen`]: the filters and the
//! record of what was delivered), rendered, and posted through the Slack side
//! ([`crate::slack::Messages`]), which the code here never asks whether it is a webhook. One
//! message each for direct deliveries ([`direct`]), digests for a queue batch ([`batch`]),
//! an alarm in its incident's thread with threads on ([`threaded`]), a metric alarm's chart
//! in its message ([`chart`]), and its graph once every message is out ([`graph`]).

mod batch;
pub(crate) mod chart;
mod direct;
mod graph;
pub(crate) mod route;
mod screen;
mod threaded;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aws_lambda_events::sqs::SqsBatchResponse;
use serde::Serialize;

pub(crate) use screen::{glob_match, Filter};

use crate::cloudwatch::graph::GraphSource;
use crate::cloudwatch::tags::TagSource;
use crate::ingest::{parse_delivery, Delivery};
use crate::model::{Body, Notification, ParseError};
use crate::render::RenderOptions;
use crate::secret::Call;
use crate::slack::messenger::{Messages, Messenger, SendError, Target};
use crate::threads::incident::{Home, ThreadSettings};
use crate::threads::store::ThreadStore;
use route::{Destination, Facts, Routes, Routing};
use screen::RecentIds;

/// Why one notification was not delivered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    #[error(transparent)]
    Malformed(#[from] ParseError),
    #[error(transparent)]
    Send(#[from] SendError),
}

impl RecordError {
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "MalformedEvent",
            Self::Send(e) => e.error_type(),
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
    pub(crate) delivered: usize,
    /// Left out by `NOTIFY_STATES` or the name patterns.
    pub(crate) filtered: usize,
    /// Already delivered by this instance (SNS redelivery), or by another invocation.
    pub(crate) duplicates: usize,
    /// Taken by a route that drops what it takes (`drop = true`), and by no other.
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) dropped: usize,
    /// Of `delivered`, those Slack answered with HTTP 200 but an answer that broke off or was
    /// odd: counted as delivered, never sent again (see the README's delivery guarantees).
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) unconfirmed: usize,
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

/// How notifications are screened, rendered and paced (from configuration).
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub(crate) filter: Filter,
    pub(crate) render: RenderOptions,
    /// In a queue batch, up to this many alarms are posted one each; more become a digest.
    pub(crate) digest_threshold: usize,
    /// The least time between two posts of a queue batch.
    pub(crate) min_interval: Duration,
}

/// The threads table and how threads behave.
pub(crate) struct Threads {
    pub(crate) store: ThreadStore,
    pub(crate) settings: ThreadSettings,
    /// `ACTIONS`: each incident's parent carries its buttons (Acknowledge, Mute, Unmute).
    pub(crate) actions: bool,
}

/// The long-lived parts of the function, built once per process.
pub(crate) struct Notifier<M: Messages = Messenger> {
    pub(crate) settings: Settings,
    /// The Slack side.
    pub(crate) messages: M,
    /// `ROUTES_FILE`: where each notification goes (none: the secret's own destination).
    pub(crate) routes: Routes,
    /// CloudWatch's alarm tags, when a route matches on them.
    tags: Option<TagSource>,
    recent: Mutex<RecentIds>,
    /// `THREADS_TABLE` (app mode): one thread per incident.
    threads: Option<Threads>,
    /// `METRIC_GRAPHS` (app mode): a metric alarm's graph beside its message.
    graphs: Option<GraphSource>,
    /// The function's own AWS account and region, from its ARN: only their alarms get a Mute
    /// button.
    home: OnceLock<Home>,
    /// `METRIC_CHARTS`: a metric alarm's chart in its message (direct deliveries only).
    charts: Option<chart::Charts>,
}

impl<M: Messages> Notifier<M> {
    pub(crate) fn new(settings: Settings, messages: M) -> Self {
        Self {
            settings,
            messages,
            routes: Routes::none(),
            tags: None,
            recent: Mutex::new(RecentIds::new(screen::RECENT_IDS)),
            threads: None,
            graphs: None,
            home: OnceLock::new(),
            charts: None,
        }
    }

    /// Learns the function's own account and region from its ARN.
    pub(crate) fn learn_home(&self, function_arn: &str) {
        if self.home.get().is_none() {
            if let Some(home) = Home::from_arn(function_arn) {
                let _ = self.home.set(home);
            }
        }
    }

    /// The function's own account and region, once an invocation named them.
    pub(crate) fn home(&self) -> Option<&Home> {
        self.home.get()
    }

    /// Routes from `ROUTES_FILE`, with `tags` to read alarms' tags when a route needs them.
    pub(crate) fn with_routes(mut self, routes: Routes, tags: Option<TagSource>) -> Self {
        self.routes = routes;
        self.tags = tags;
        self
    }

    /// The alarm whose tags routing `n` needs: its ARN, when a route matches on tags.
    fn tagged_alarm<'n>(&self, n: &'n Notification) -> Option<&'n str> {
        match &n.body {
            Body::Alarm(a) if self.routes.need_tags() && self.tags.is_some() => a.arn.as_deref(),
            _ => None,
        }
    }

    /// The tags of the alarm `arn`; `None`, with a warning, when they cannot be read (the
    /// routes that need them then do not match).
    async fn tags_of(&self, arn: &str, call: &Call<'_>) -> Option<route::Tags> {
        let source = self.tags.as_ref()?;
        match source.tags(arn, call.deadline).await {
            Ok(tags) => Some(tags),
            Err(e) => {
                tracing::warn!(error = %e, "the alarm's tags could not be read; routes that match on tags do not take it");
                None
            }
        }
    }

    /// Where `n` goes, given its alarm's `tags` when they were read.
    fn route_with(&self, n: &Notification, tags: Option<&route::Tags>) -> Routing {
        let facts = Facts::of(n, n.body.card().severity, tags);
        self.routes.route(&facts).0
    }

    /// Where `n` goes. An alarm's tags are read first when a route needs them.
    pub(crate) async fn routing(&self, n: &Notification, call: &Call<'_>) -> Routing {
        let tags = match self.tagged_alarm(n) {
            Some(arn) => self.tags_of(arn, call).await,
            None => None,
        };
        self.route_with(n, tags.as_ref())
    }

    /// Where each of `notifications` goes. Each alarm's tags are read once, all at once: a
    /// storm's batch repeats the same alarms.
    pub(crate) async fn routings(
        &self,
        notifications: &[Notification],
        call: &Call<'_>,
    ) -> Vec<Routing> {
        let arns: std::collections::BTreeSet<&str> = notifications
            .iter()
            .filter_map(|n| self.tagged_alarm(n))
            .collect();
        let read = futures_util::future::join_all(
            arns.into_iter()
                .map(|arn| async move { (arn, self.tags_of(arn, call).await) }),
        )
        .await;
        let tags: std::collections::HashMap<&str, Option<route::Tags>> = read.into_iter().collect();
        notifications
            .iter()
            .map(|n| {
                let known = self.tagged_alarm(n).and_then(|arn| tags.get(arn)?.as_ref());
                self.route_with(n, known)
            })
            .collect()
    }

    /// How `destination` renders.
    fn render_options(&self, destination: &Destination) -> RenderOptions {
        destination.render_options(&self.settings.render)
    }

    /// Metric graphs in app mode, drawn by `graphs`.
    pub(crate) fn with_graphs(mut self, graphs: GraphSource) -> Self {
        self.graphs = Some(graphs);
        self
    }

    /// Threads in app mode, kept in `store`.
    pub(crate) fn with_threads(mut self, store: ThreadStore, settings: ThreadSettings) -> Self {
        self.threads = Some(Threads {
            store,
            settings,
            actions: false,
        });
        self
    }

    /// Buttons on each incident's parent (`ACTIONS`); threads must be on.
    pub(crate) fn with_actions(mut self) -> Self {
        if let Some(threads) = &mut self.threads {
            threads.actions = true;
        }
        self
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, RecentIds> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Filters apply to alarms; other notifications always go through. `None`: posted.
    pub(crate) fn filtered_out(&self, n: &Notification) -> Option<&'static str> {
        screen::filtered(&self.settings.filter, n)
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
}

/// The key `id` is remembered under once delivered to `target`: the id itself for the
/// secret's own destination (as before routes), else with the target, so that a retry posts
/// only where it failed.
fn delivered_key(id: &str, target: &Target) -> String {
    match target {
        Target::Secret => id.to_owned(),
        other => format!("{id} {}", other.key()),
    }
}

/// The one warning for a message Slack took with HTTP 200 and an odd answer.
fn unconfirmed(why: &str, name: &str) {
    tracing::warn!(name, why, "Slack answered HTTP 200 but its answer could not be read; counted as delivered, and not sent again");
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    use super::*;
    use crate::model::AlarmState;
    use crate::render::Payload;
    use crate::slack::messenger::{File, Posted, Spot};
    use crate::slack::SlackError;

    /// The Slack side, faked: every message is recorded; those whose text contains `refuse`
    /// are refused, and `odd` ones taken with an unreadable answer.
    #[derive(Default)]
    struct FakeSlack {
        posted: Mutex<Vec<String>>,
    }

    impl Messages for FakeSlack {
        async fn channel(&self, _: &Target, _: &Call<'_>) -> Result<Option<String>, SendError> {
            Ok(None)
        }

        async fn post(
            &self,
            payload: &Payload,
            _: &Target,
            _: &Call<'_>,
        ) -> Result<Posted, SendError> {
            self.posted.lock().unwrap().push(payload.text.clone());
            if payload.text.contains("refuse") {
                return Err(SendError::Slack(SlackError::Rejected {
                    status: 400,
                    reason: "invalid_payload".into(),
                }));
            }
            let unconfirmed = payload
                .text
                .contains("odd")
                .then(|| "the answer broke off".into());
            Ok(Posted {
                attempts: 1,
                spot: None,
                unconfirmed,
            })
        }

        async fn reply(
            &self,
            _: &Payload,
            _: &Spot,
            _: bool,
            _: &Call<'_>,
        ) -> Result<Posted, SendError> {
            unreachable!("no threads here")
        }

        async fn update(&self, _: &Spot, _: Value, _: &Call<'_>) -> Result<(), SendError> {
            unreachable!("no threads here")
        }

        async fn share(
            &self,
            _: File<'_>,
            _: &Spot,
            _: &Call<'_>,
            _: Instant,
        ) -> Result<(), SendError> {
            unreachable!("no graphs here")
        }

        async fn pace(&self, _: &Target, _: Duration, _: &Call<'_>) -> bool {
            true
        }
    }

    fn notifier(states: Vec<AlarmState>) -> Notifier<FakeSlack> {
        let settings = Settings {
            filter: Filter {
                states,
                ..Filter::default()
            },
            digest_threshold: 3,
            ..Settings::default()
        };
        Notifier::new(settings, FakeSlack::default())
    }

    fn alarm(name: &str, state: &str) -> String {
        json!({"AlarmName": name, "NewStateValue": state, "NewStateReason": "r"}).to_string()
    }

    fn sns(records: &[(&str, String)]) -> Vec<u8> {
        let records: Vec<Value> = records
            .iter()
            .map(|(id, message)| json!({"Sns": {"MessageId": id, "Message": message}}))
            .collect();
        json!({ "Records": records }).to_string().into_bytes()
    }

    fn sqs(records: &[(&str, String)]) -> Vec<u8> {
        let records: Vec<Value> = records
            .iter()
            .map(|(id, body)| json!({"messageId": id, "eventSource": "aws:sqs", "body": body}))
            .collect();
        json!({ "Records": records }).to_string().into_bytes()
    }

    fn call() -> Call<'static> {
        Call {
            deadline: Instant::now() + Duration::from_secs(10),
            trace_id: None,
            request_id: Some("req-1"),
        }
    }

    async fn direct(n: &Notifier<FakeSlack>, event: &[u8]) -> Result<Outcome, HandlerError> {
        match n.handle(event, &call()).await? {
            Response::Direct(outcome) => Ok(outcome),
            Response::Queue(_) => panic!("a queue batch"),
        }
    }

    #[tokio::test]
    async fn filtered_and_redelivered_notifications_are_counted_not_posted() {
        let n = notifier(vec![AlarmState::Alarm]);
        let event = sns(&[("m-1", alarm("cpu", "ALARM")), ("m-2", alarm("cpu", "OK"))]);
        let outcome = direct(&n, &event).await.unwrap();
        assert_eq!(
            (outcome.delivered, outcome.filtered, outcome.duplicates),
            (1, 1, 0)
        );
        // The same event again (SNS redelivers): the alarm was delivered, the OK filtered.
        let outcome = direct(&n, &event).await.unwrap();
        assert_eq!(
            (outcome.delivered, outcome.filtered, outcome.duplicates),
            (0, 1, 1)
        );
        assert_eq!(n.messages.posted.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_refused_notification_fails_the_invocation_and_its_retry_posts_it() {
        let n = notifier(Vec::new());
        let event = sns(&[
            ("m-1", alarm("fine", "ALARM")),
            ("m-2", alarm("refuse-me", "ALARM")),
        ]);
        let error = direct(&n, &event).await.unwrap_err();
        assert_eq!(error.error_type(), "SlackRejected");
        assert!(
            error
                .to_string()
                .starts_with("1 of 2 notifications not delivered (1 delivered)"),
            "{error}"
        );
        // Lambda's retry: the delivered one is skipped, the refused one tried again.
        let _ = direct(&n, &event).await;
        let posted = n.messages.posted.lock().unwrap().clone();
        assert_eq!(posted.len(), 3, "{posted:?}");
        assert!(posted[2].contains("refuse-me"), "{posted:?}");
    }

    #[tokio::test]
    async fn an_unconfirmed_post_is_delivered_and_counted() {
        let n = notifier(Vec::new());
        let outcome = direct(&n, &sns(&[("m-1", alarm("odd", "ALARM"))]))
            .await
            .unwrap();
        assert_eq!((outcome.delivered, outcome.unconfirmed), (1, 1));
        let outcome = direct(&n, &sns(&[("m-1", alarm("odd", "ALARM"))]))
            .await
            .unwrap();
        assert_eq!(outcome.duplicates, 1, "never sent again");
    }

    #[tokio::test]
    async fn a_batch_names_exactly_the_records_slack_refused() {
        let n = notifier(Vec::new());
        let event = sqs(&[
            ("q-1", alarm("a", "ALARM")),
            ("q-2", alarm("refuse-b", "ALARM")),
            ("q-3", alarm("c", "ALARM")),
            ("q-4", "   ".into()),
        ]);
        let Response::Queue(batch) = n.handle(&event, &call()).await.unwrap() else {
            panic!("not a batch")
        };
        let mut failed: Vec<String> = batch
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        failed.sort();
        assert_eq!(failed, ["q-2", "q-4"]);
    }
}
