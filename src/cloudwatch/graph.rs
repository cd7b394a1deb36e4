//! The metric graph's edge: CloudWatch's `GetMetricWidgetImage` draws the widget
//! ([`crate::widget`]) as a PNG, which is then shared in Slack beside the alarm's message.

use std::time::Duration;

use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::get_metric_widget_image::GetMetricWidgetImageError;

use crate::net::describe_sdk_error;

/// The eight bytes every PNG file starts with.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Why CloudWatch drew no graph.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GraphError {
    /// CloudWatch refused or failed the request: its code and message, never the raw answer.
    #[error("GetMetricWidgetImage failed: {code}: {message}")]
    CloudWatch { code: String, message: String },
    /// CloudWatch answered without an image.
    #[error("GetMetricWidgetImage answered without an image")]
    NoImage,
    /// CloudWatch answered with bytes that are not a PNG: nothing is uploaded.
    #[error("GetMetricWidgetImage answered with {bytes} bytes that are not a PNG image")]
    NotPng { bytes: usize },
}

/// Draws metric widgets with one CloudWatch client, built once per process.
pub(crate) struct GraphSource {
    client: aws_sdk_cloudwatch::Client,
    /// `METRIC_GRAPH_TIMEOUT_SECONDS`.
    pub budget: Duration,
}

impl GraphSource {
    pub(crate) fn new(client: aws_sdk_cloudwatch::Client, budget: Duration) -> Self {
        Self { client, budget }
    }

    /// The PNG CloudWatch draws for `widget` (a `MetricWidget` JSON document).
    pub(crate) async fn image(&self, widget: &str) -> Result<Vec<u8>, GraphError> {
        let output = self
            .client
            .get_metric_widget_image()
            .metric_widget(widget)
            .output_format("png")
            .send()
            .await
            .map_err(|e| cloudwatch_error(&e))?;
        let image = output
            .metric_widget_image
            .map(aws_smithy_types::Blob::into_inner)
            .filter(|bytes| !bytes.is_empty())
            .ok_or(GraphError::NoImage)?;
        if !image.starts_with(PNG_SIGNATURE) {
            return Err(GraphError::NotPng { bytes: image.len() });
        }
        Ok(image)
    }
}

fn cloudwatch_error(e: &SdkError<GetMetricWidgetImageError>) -> GraphError {
    let (code, message) = describe_sdk_error(e);
    GraphError::CloudWatch { code, message }
}
