//! A metric alarm's graph, shared in its message's thread once every message of the event is
//! out: drawn by CloudWatch, within its own budget. It never fails a notification.

use std::time::{Duration, Instant};

use super::Notifier;
use crate::cloudwatch::graph::{GraphError, GraphSource};
use crate::model::Alarm;
use crate::secret::Call;
use crate::slack::messenger::{File, Messages, SendError, Spot};

/// Why an alarm's message went without its graph.
#[derive(Debug, thiserror::Error)]
enum NotShared {
    #[error(transparent)]
    Drawing(#[from] GraphError),
    /// A Slack call of the file upload failed.
    #[error(transparent)]
    Sharing(#[from] SendError),
    /// The graph took longer than its budget (`METRIC_GRAPH_TIMEOUT_SECONDS`, or what was
    /// left of the invocation).
    #[error("the graph was not shared within its budget of {budget:?}")]
    Late { budget: Duration },
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

impl<M: Messages> Notifier<M> {
    /// Shares `alarm`'s metric graph in the thread at `spot`, within the graph's budget and
    /// the invocation's deadline. A graph that fails or is late is a warning.
    pub(super) async fn share_graph(&self, alarm: &Alarm, spot: &Spot, call: &Call<'_>) {
        let Some(graphs) = &self.graphs else { return };
        let Some(widget) = crate::cloudwatch::widget::metric_widget(alarm) else {
            return;
        };
        let started = Instant::now();
        let deadline = (started + graphs.budget).min(call.deadline);
        let budget = deadline.saturating_duration_since(started);
        let shared = tokio::time::timeout_at(
            deadline.into(),
            self.draw_and_share(graphs, alarm, &widget.to_string(), spot, call, deadline),
        )
        .await
        .unwrap_or(Err(NotShared::Late { budget }));
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

    async fn draw_and_share(
        &self,
        graphs: &GraphSource,
        alarm: &Alarm,
        widget: &str,
        spot: &Spot,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<usize, NotShared> {
        let image = graphs.image(widget).await?;
        let filename = graph_filename(&alarm.name);
        let file = File {
            filename: &filename,
            title: &alarm.name,
            bytes: &image,
        };
        self.messages.share(file, spot, call, deadline).await?;
        Ok(image.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
