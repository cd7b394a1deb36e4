//! A metric alarm's native chart in its message (`METRIC_CHARTS`): read from CloudWatch
//! within its own small budget before the message goes out, and never at the alarm's cost.
//! A message Slack refuses because of the chart goes out once more without it, and that
//! destination gets no chart for a while.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Notifier;
use crate::cloudwatch::chart;
use crate::cloudwatch::metric_data::MetricData;
use crate::model::{Body, Notification};
use crate::render::blocks::Block;
use crate::render::Payload;
use crate::secret::Call;
use crate::slack::messenger::{Messages, Posted, SendError, Spot, Target};
use crate::slack::SlackError;

/// How long a destination that refused a chart gets none: long enough that a storm does not
/// pay a second post per alarm, short enough to notice when Slack starts taking them.
pub(crate) const CHART_PAUSE: Duration = Duration::from_secs(3600);
/// Slack's codes for blocks it will not take, from a webhook's body or the Web API's `error`.
const REFUSALS: [&str; 2] = ["invalid_blocks", "invalid_blocks_format"];

/// The chart's data source, and the destinations that refused a chart lately.
pub(crate) struct Charts {
    pub(crate) source: MetricData,
    refused: Mutex<HashMap<Target, Instant>>,
}

impl Charts {
    pub(crate) fn new(source: MetricData) -> Self {
        Self {
            source,
            refused: Mutex::new(HashMap::new()),
        }
    }

    fn refused(&self) -> std::sync::MutexGuard<'_, HashMap<Target, Instant>> {
        self.refused.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether Slack refused a message for its blocks.
fn refused_blocks(e: &SendError) -> bool {
    match e {
        SendError::Slack(SlackError::Rejected {
            status: 400,
            reason,
        }) => REFUSALS.iter().any(|code| reason.trim() == *code),
        SendError::Slack(SlackError::ApiRejected { code, .. }) => REFUSALS.contains(&code.as_str()),
        _ => false,
    }
}

impl<M: Messages> Notifier<M> {
    /// Charts from `charts`.
    pub(crate) fn with_charts(mut self, charts: Charts) -> Self {
        self.charts = Some(charts);
        self
    }

    /// Whether a message to `target` may carry a chart: charts are on, and it has not refused
    /// one within [`CHART_PAUSE`].
    pub(super) fn takes_charts(&self, target: &Target) -> bool {
        let Some(charts) = &self.charts else {
            return false;
        };
        let mut refused = charts.refused();
        match refused.get(target) {
            Some(at) if at.elapsed() < CHART_PAUSE => false,
            Some(_) => {
                refused.remove(target);
                true
            }
            None => true,
        }
    }

    /// `n`'s chart, when it is a metric, math or anomaly alarm and CloudWatch answers within
    /// the chart's budget, which is never more than half of what is left of the invocation.
    /// Anything else is a warning, and the message goes without it.
    pub(super) async fn chart_for(&self, n: &Notification, call: &Call<'_>) -> Option<Block> {
        let charts = self.charts.as_ref()?;
        let Body::Alarm(alarm) = &n.body else {
            return None;
        };
        let request = chart::request(alarm, chrono::Utc::now())?;
        let started = Instant::now();
        let budget = charts
            .source
            .budget
            .min(call.deadline.saturating_duration_since(started) / 2);
        let read = charts.source.read(&request, budget).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match read {
            Ok(answer) => {
                let block = chart::block(alarm, &request, &answer);
                if block.is_none() {
                    tracing::info!(alarm = %alarm.name, elapsed_ms, "CloudWatch has no data for the chart; the message goes without it");
                }
                block
            }
            Err(e) => {
                tracing::warn!(alarm = %alarm.name, error = %e, elapsed_ms, "metric chart not read; the message goes without it");
                None
            }
        }
    }

    /// Notes that `target` refused a chart, and says so once.
    fn chart_refused(&self, target: &Target, e: &SendError) {
        if let Some(charts) = &self.charts {
            charts.refused().insert(target.clone(), Instant::now());
        }
        tracing::warn!(error = %e, destination = %target.key(), pause_s = CHART_PAUSE.as_secs(), "Slack refused the message with its chart; posting it again without, and no charts to this destination for a while");
    }

    /// `payload` as it was posted to `target`: without its chart when `target` refused it,
    /// so that a thread's parent is later updated without it too.
    pub(super) fn as_posted(&self, payload: &Payload, target: &Target) -> Payload {
        match payload.has_chart() && !self.takes_charts(target) {
            true => payload.without_charts(),
            false => payload.clone(),
        }
    }

    /// Posts `payload` to `target`; refused for its chart, once more without it. A message
    /// Slack took is never sent again.
    pub(super) async fn post_payload(
        &self,
        payload: &Payload,
        target: &Target,
        call: &Call<'_>,
    ) -> Result<Posted, SendError> {
        match self.messages.post(payload, target, call).await {
            Err(e) if payload.has_chart() && refused_blocks(&e) => {
                self.chart_refused(target, &e);
                self.messages
                    .post(&payload.without_charts(), target, call)
                    .await
            }
            other => other,
        }
    }

    /// Replies with `payload` in the thread of `parent`, as [`Notifier::post_payload`] posts.
    pub(super) async fn reply_payload(
        &self,
        payload: &Payload,
        target: &Target,
        parent: &Spot,
        broadcast: bool,
        call: &Call<'_>,
    ) -> Result<Posted, SendError> {
        match self.messages.reply(payload, parent, broadcast, call).await {
            Err(e) if payload.has_chart() && refused_blocks(&e) => {
                self.chart_refused(target, &e);
                self.messages
                    .reply(&payload.without_charts(), parent, broadcast, call)
                    .await
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refusal_of_the_blocks_is_one_of_the_chart() {
        let webhook = |status, reason: &str| {
            SendError::Slack(SlackError::Rejected {
                status,
                reason: reason.into(),
            })
        };
        let api = |code: &str| {
            SendError::Slack(SlackError::ApiRejected {
                method: "chat.postMessage",
                code: code.into(),
                detail: String::new(),
            })
        };
        assert!(refused_blocks(&webhook(400, "invalid_blocks")));
        assert!(refused_blocks(&webhook(400, "invalid_blocks_format")));
        assert!(refused_blocks(&api("invalid_blocks")));
        assert!(!refused_blocks(&webhook(400, "invalid_payload")));
        assert!(!refused_blocks(&webhook(404, "invalid_blocks")));
        assert!(!refused_blocks(&api("channel_not_found")));
    }
}
