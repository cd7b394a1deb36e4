//! The native chart's edge: CloudWatch's `GetMetricData` answers the request
//! [`crate::cloudwatch::chart`] makes, within the chart's own budget.

use std::time::Duration;

use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataError;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric as SdkMetric, MetricDataQuery, MetricStat, ScanBy, StandardUnit,
};
use chrono::{TimeZone, Utc};

use super::chart::{Answered, ChartRequest, Query, POINTS};
use crate::net::describe_sdk_error;

/// The most series, and points in each, kept of an answer: a chart shows a few of each.
const MAX_SERIES: usize = 20;
const MAX_POINTS: usize = 4 * POINTS;

/// Why CloudWatch gave no data for a chart.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChartError {
    /// CloudWatch refused or failed the request: its code and message, never the raw answer.
    #[error("GetMetricData failed: {code}: {message}")]
    CloudWatch { code: String, message: String },
    #[error("GetMetricData did not answer within {0:?}")]
    Late(Duration),
}

/// Reads metric data with one CloudWatch client, built once per process.
pub(crate) struct MetricData {
    client: aws_sdk_cloudwatch::Client,
    /// `METRIC_CHART_TIMEOUT_SECONDS`.
    pub(crate) budget: Duration,
}

impl MetricData {
    pub(crate) fn new(client: aws_sdk_cloudwatch::Client, budget: Duration) -> Self {
        Self { client, budget }
    }

    /// The answer to `request`, within `budget` (which the caller cuts to its deadline).
    pub(crate) async fn read(
        &self,
        request: &ChartRequest,
        budget: Duration,
    ) -> Result<Vec<Answered>, ChartError> {
        let time = |t: chrono::DateTime<Utc>| aws_smithy_types::DateTime::from_secs(t.timestamp());
        let sent = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(request.queries.iter().map(query).collect()))
            .start_time(time(request.start))
            .end_time(time(request.end))
            .scan_by(ScanBy::TimestampAscending)
            .send();
        let output = match tokio::time::timeout(budget, sent).await {
            Err(_) => return Err(ChartError::Late(budget)),
            Ok(Err(e)) => return Err(cloudwatch_error(&e)),
            Ok(Ok(output)) => output,
        };
        Ok(output
            .metric_data_results()
            .iter()
            .take(MAX_SERIES)
            .map(|r| Answered {
                id: r.id().unwrap_or_default().to_owned(),
                label: r.label().map(str::to_owned),
                points: r
                    .timestamps()
                    .iter()
                    .zip(r.values())
                    .take(MAX_POINTS)
                    .filter_map(|(t, v)| Some((Utc.timestamp_opt(t.secs(), 0).single()?, *v)))
                    .collect(),
            })
            .collect())
    }
}

/// One query as the SDK sends it; a metric without a statistic is read by its average.
fn query(q: &Query) -> MetricDataQuery {
    let period = i32::try_from(q.period).unwrap_or(i32::MAX);
    let mut built = MetricDataQuery::builder()
        .id(&q.id)
        .return_data(q.return_data)
        .set_label(q.label.clone())
        .set_expression(q.expression.clone());
    if let Some(m) = &q.metric {
        let metric = SdkMetric::builder()
            .metric_name(&m.name)
            .set_namespace(m.namespace.clone())
            .set_dimensions(Some(
                m.dimensions
                    .iter()
                    .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                    .collect(),
            ))
            .build();
        let stat = MetricStat::builder()
            .metric(metric)
            .period(period)
            .stat(m.statistic.as_deref().unwrap_or("Average"))
            .set_unit(m.unit.as_deref().map(StandardUnit::from))
            .build();
        built = built.metric_stat(stat);
    } else {
        built = built.period(period);
    }
    built.build()
}

fn cloudwatch_error(e: &SdkError<GetMetricDataError>) -> ChartError {
    let (code, message) = describe_sdk_error(e);
    ChartError::CloudWatch { code, message }
}
