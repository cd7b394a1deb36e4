//! What happens to each notification of an event: screened ([`screen`]: the filters and the
//! record of what was delivered), rendered, and posted through the Slack side
//! ([`crate::slack::Messages`]), which the code here never asks whether it is a webhook. One
//! message each for direct deliveries ([`direct`]), digests for a queue batch ([`batch`]),
//! an alarm in its incident's thread with threads on ([`threaded`]), and a metric alarm's
//! graph once every message is out ([`graph`]).

mod batch;
mod direct;
mod graph;
mod screen;
mod threaded;

use std::sync::Mutex;
use std::time::Duration;

use aws_lambda_events::sqs::SqsBatchResponse;
use serde::Serialize;

pub(crate) use screen::Filter;

use crate::graphs::cloudwatch::GraphSource;
use crate::ingest::{parse_delivery, Delivery};
use crate::model::ParseError;
use crate::render::RenderOptions;
use crate::secret::Call;
use crate::slack::messenger::{Messages, Messenger, SendError};
use crate::threads::incident::ThreadSettings;
use crate::threads::store::ThreadStore;
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
}

/// The long-lived parts of the function, built once per process.
pub(crate) struct Notifier<M: Messages = Messenger> {
    pub(crate) settings: Settings,
    /// The Slack side.
    pub(crate) messages: M,
    recent: Mutex<RecentIds>,
    /// `THREADS_TABLE` (app mode): one thread per incident.
    threads: Option<Threads>,
    /// `METRIC_GRAPHS` (app mode): a metric alarm's graph beside its message.
    graphs: Option<GraphSource>,
}

impl<M: Messages> Notifier<M> {
    pub(crate) fn new(settings: Settings, messages: M) -> Self {
        Self {
            settings,
            messages,
            recent: Mutex::new(RecentIds::new(screen::RECENT_IDS)),
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

    /// Filters apply to alarms; other notifications always go through. `None`: posted.
    pub(crate) fn filtered_out(&self, n: &crate::model::Notification) -> Option<&'static str> {
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

/// The one warning for a message Slack took with HTTP 200 and an odd answer.
fn unconfirmed(why: &str, name: &str) {
    tracing::warn!(name, why, "Slack answered HTTP 200 but its answer could not be read; counted as delivered, and not sent again");
}
