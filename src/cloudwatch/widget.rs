//! An alarm's metric graph, as the `MetricWidget` JSON that CloudWatch's
//! `GetMetricWidgetImage` draws: the alarm's metric, math or anomaly band, its threshold, and
//! the hours before its state change. Pure: no network, no clock.

use std::time::Duration;

use chrono::SecondsFormat;
use serde_json::{json, Map, Value};

use crate::model::alarm::{Alarm, AlarmKind, Evaluation, Metric, MetricQuery};
use crate::sources::shared::is_region_code;

/// The image's size in pixels: wide enough to read in a Slack thread.
pub(crate) const WIDTH: u32 = 600;
pub(crate) const HEIGHT: u32 = 300;
/// How far back the graph starts from the state change.
pub(crate) const WINDOW: Duration = Duration::from_secs(3 * 3600);
/// How far past the state change it ends, so that the line marking the change is clear of the
/// edge.
pub(crate) const AFTER: Duration = Duration::from_secs(10 * 60);

/// The widget for `alarm`, or `None` for an alarm with nothing to draw (composite, unknown).
pub(crate) fn metric_widget(alarm: &Alarm) -> Option<Value> {
    let (metrics, evaluation, threshold) = match &alarm.kind {
        AlarmKind::Metric(c) => {
            let row = metric_row(&c.metric, None, true)?;
            (vec![row], &c.evaluation, c.evaluation.threshold)
        }
        AlarmKind::MetricMath(c) => (
            query_rows(&c.queries)?,
            &c.evaluation,
            c.evaluation.threshold,
        ),
        // The band is the threshold: it is drawn as a line, not an annotation.
        AlarmKind::Anomaly(c) => (
            anomaly_rows(c.band.as_deref(), &c.queries)?,
            &c.evaluation,
            None,
        ),
        AlarmKind::Composite(_) | AlarmKind::Unknown => return None,
    };
    let mut widget = json!({
        "metrics": metrics,
        "view": "timeSeries",
        "stacked": false,
        "title": alarm.name,
        "width": WIDTH,
        "height": HEIGHT,
    });
    let window = chrono::Duration::from_std(WINDOW).unwrap_or_default();
    let after = chrono::Duration::from_std(AFTER).unwrap_or_default();
    let mut annotations = Map::new();
    match alarm.time {
        Some(time) => {
            let at =
                |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
            widget["start"] = at(time - window).into();
            widget["end"] = at(time + after).into();
            annotations.insert(
                "vertical".into(),
                json!([{
                    "label": format!("{} at {} UTC", alarm.state.as_str(), time.format("%H:%M")),
                    "value": at(time),
                }]),
            );
        }
        None => widget["start"] = format!("-PT{}H", WINDOW.as_secs() / 3600).into(),
    }
    if let Some(period) = period(alarm, evaluation) {
        widget["period"] = period.into();
    }
    if let Some(region) = alarm.region.as_deref().filter(|r| is_region_code(r)) {
        widget["region"] = region.into();
    }
    if let Some(value) = threshold {
        annotations.insert(
            "horizontal".into(),
            json!([{
                "label": threshold_label(evaluation.comparison.as_deref()),
                "value": value,
            }]),
        );
    }
    if !annotations.is_empty() {
        widget["annotations"] = Value::Object(annotations);
    }
    Some(widget)
}

/// The alarm's period: its own, else its first metric's; `None` for an alarm with no metric.
pub(crate) fn alarm_period(alarm: &Alarm) -> Option<u64> {
    match &alarm.kind {
        AlarmKind::Metric(c) => period(alarm, &c.evaluation),
        AlarmKind::MetricMath(c) => period(alarm, &c.evaluation),
        AlarmKind::Anomaly(c) => period(alarm, &c.evaluation),
        AlarmKind::Composite(_) | AlarmKind::Unknown => None,
    }
}

/// The alarm's period: its own, else its first metric's.
fn period(alarm: &Alarm, evaluation: &Evaluation) -> Option<u64> {
    let from_queries = |queries: &[MetricQuery]| {
        queries
            .iter()
            .find_map(|q| q.metric.as_ref().and_then(|m| m.period_seconds))
    };
    evaluation.period_seconds.or(match &alarm.kind {
        AlarmKind::Metric(c) => c.metric.period_seconds,
        AlarmKind::MetricMath(c) => from_queries(&c.queries),
        AlarmKind::Anomaly(c) => from_queries(&c.queries),
        _ => None,
    })
}

fn threshold_label(comparison: Option<&str>) -> String {
    let sign = match comparison.unwrap_or_default() {
        "GreaterThanThreshold" => ">",
        "GreaterThanOrEqualToThreshold" => ">=",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "<=",
        _ => return "Threshold".into(),
    };
    format!("Threshold ({sign})")
}

/// `[namespace, name, dim, value, …, {options}]`; `None` for a metric without a name.
fn metric_row(metric: &Metric, id: Option<&str>, visible: bool) -> Option<Value> {
    if metric.name.is_empty() {
        return None;
    }
    let mut row = vec![
        Value::from(metric.namespace.clone().unwrap_or_default()),
        Value::from(metric.name.clone()),
    ];
    for (name, value) in &metric.dimensions {
        row.push(name.clone().into());
        row.push(value.clone().into());
    }
    let mut options = Map::new();
    if let Some(stat) = &metric.statistic {
        options.insert("stat".into(), stat.clone().into());
    }
    if let Some(period) = metric.period_seconds {
        options.insert("period".into(), period.into());
    }
    if let Some(id) = id {
        options.insert("id".into(), id.into());
    }
    if !visible {
        options.insert("visible".into(), false.into());
    }
    row.push(Value::Object(options));
    Some(Value::Array(row))
}

/// One row per query: an expression as `[{expression, id}]`, a metric as its row with its `id`
/// so expressions can name it. Queries that return no data are drawn hidden.
fn query_rows(queries: &[MetricQuery]) -> Option<Vec<Value>> {
    let rows: Vec<Value> = queries
        .iter()
        .filter_map(|q| {
            let id = Some(q.id.as_str()).filter(|id| !id.is_empty());
            let mut row = match (&q.expression, &q.metric) {
                (Some(expression), _) => {
                    let mut options = json!({"expression": expression});
                    if let Some(id) = id {
                        options["id"] = id.into();
                    }
                    if !q.return_data {
                        options["visible"] = false.into();
                    }
                    json!([options])
                }
                (None, Some(metric)) => metric_row(metric, id, q.return_data)?,
                (None, None) => return None,
            };
            if let Some(label) = &q.label {
                if let Some(options) = row
                    .as_array_mut()
                    .and_then(|r| r.last_mut())
                    .and_then(Value::as_object_mut)
                {
                    options.insert("label".into(), label.clone().into());
                }
            }
            Some(row)
        })
        .collect();
    (!rows.is_empty()).then_some(rows)
}

/// The metric and its band, shown whatever `ReturnData` says: the band is what was crossed.
fn anomaly_rows(band: Option<&str>, queries: &[MetricQuery]) -> Option<Vec<Value>> {
    let shown: Vec<MetricQuery> = queries
        .iter()
        .cloned()
        .map(|q| MetricQuery {
            return_data: true,
            ..q
        })
        .collect();
    let mut rows = query_rows(&shown)?;
    let listed = queries.iter().any(|q| q.expression.is_some());
    if let (Some(band), false) = (band, listed) {
        rows.push(json!([{"expression": band, "id": "ad1", "label": "Expected band"}]));
    }
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alarm::{AnomalyCondition, CompositeRule, MathCondition, MetricCondition};
    use crate::sources::cloudwatch_alarm::tests::metric_alarm;

    fn query(
        id: &str,
        expression: Option<&str>,
        metric: Option<Metric>,
        shown: bool,
    ) -> MetricQuery {
        MetricQuery {
            id: id.into(),
            label: None,
            expression: expression.map(str::to_owned),
            metric,
            return_data: shown,
        }
    }

    fn requests() -> Metric {
        Metric {
            namespace: Some("AWS/ApplicationELB".into()),
            name: "RequestCount".into(),
            dimensions: vec![("LoadBalancer".into(), "app/web/123".into())],
            statistic: Some("Sum".into()),
            period_seconds: Some(60),
            unit: None,
        }
    }

    #[test]
    fn a_metric_alarm_draws_its_metric_threshold_and_the_hours_before_its_change() {
        let mut alarm = metric_alarm();
        alarm.time = Some("2026-11-30T02:10:00Z".parse().unwrap());
        let AlarmKind::Metric(MetricCondition { metric, evaluation }) = &mut alarm.kind else {
            panic!("a metric alarm")
        };
        metric.namespace = Some("AWS/EC2".into());
        metric.dimensions = vec![("InstanceId".into(), "i-0abc".into())];
        evaluation.threshold = Some(80.0);
        evaluation.comparison = Some("GreaterThanThreshold".into());
        evaluation.period_seconds = Some(300);
        let widget = metric_widget(&alarm).unwrap();
        assert_eq!(
            widget,
            json!({
                "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-0abc",
                             widget["metrics"][0][4].clone()]],
                "view": "timeSeries",
                "stacked": false,
                "title": "cpu-high",
                "width": 600,
                "height": 300,
                "start": "2026-11-29T23:10:00Z",
                "end": "2026-11-30T02:20:00Z",
                "period": 300,
                "region": "us-east-1",
                "annotations": {
                    "horizontal": [{"label": "Threshold (>)", "value": 80.0}],
                    "vertical": [{"label": "ALARM at 02:10 UTC", "value": "2026-11-30T02:10:00Z"}],
                },
            })
        );
        assert_eq!(widget["metrics"][0][4]["stat"], "Average");
    }

    #[test]
    fn without_a_time_the_range_is_relative_and_without_a_region_it_is_the_clients() {
        let mut alarm = metric_alarm();
        alarm.time = None;
        alarm.region = Some("US East (N. Virginia)".into());
        let widget = metric_widget(&alarm).unwrap();
        assert_eq!(widget["start"], "-PT3H");
        assert!(widget.get("end").is_none());
        assert!(widget.get("region").is_none());
    }

    #[test]
    fn a_math_alarm_draws_its_expression_over_its_hidden_metrics() {
        let mut alarm = metric_alarm();
        let mut errors = requests();
        errors.name = "HTTPCode_Target_5XX_Count".into();
        alarm.kind = AlarmKind::MetricMath(MathCondition {
            queries: vec![
                MetricQuery {
                    label: Some("Error rate".into()),
                    ..query("e1", Some("100 * m2 / m1"), None, true)
                },
                query("m1", None, Some(requests()), false),
                query("m2", None, Some(errors), false),
            ],
            evaluation: Evaluation {
                threshold: Some(5.0),
                comparison: Some("GreaterThanOrEqualToThreshold".into()),
                period_seconds: Some(60),
                ..Evaluation::default()
            },
        });
        let widget = metric_widget(&alarm).unwrap();
        assert_eq!(
            widget["metrics"],
            json!([
                [{"expression": "100 * m2 / m1", "id": "e1", "label": "Error rate"}],
                ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/web/123",
                 {"stat": "Sum", "period": 60, "id": "m1", "visible": false}],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", "app/web/123",
                 {"stat": "Sum", "period": 60, "id": "m2", "visible": false}],
            ])
        );
        assert_eq!(widget["annotations"]["horizontal"][0]["value"], 5.0);
        assert_eq!(
            widget["annotations"]["horizontal"][0]["label"],
            "Threshold (>=)"
        );
        assert_eq!(widget["period"], 60);
    }

    #[test]
    fn an_anomaly_alarm_draws_its_band_and_no_threshold() {
        let mut alarm = metric_alarm();
        alarm.kind = AlarmKind::Anomaly(AnomalyCondition {
            band: Some("ANOMALY_DETECTION_BAND(m1, 2)".into()),
            queries: vec![
                query("m1", None, Some(requests()), true),
                query("ad1", Some("ANOMALY_DETECTION_BAND(m1, 2)"), None, true),
            ],
            evaluation: Evaluation {
                comparison: Some("LessThanLowerOrGreaterThanUpperThreshold".into()),
                ..Evaluation::default()
            },
        });
        let widget = metric_widget(&alarm).unwrap();
        assert_eq!(
            widget["metrics"][1],
            json!([{"expression": "ANOMALY_DETECTION_BAND(m1, 2)", "id": "ad1"}])
        );
        assert_eq!(widget["metrics"].as_array().unwrap().len(), 2);
        assert!(
            widget.pointer("/annotations/horizontal").is_none(),
            "the band is the threshold"
        );
        assert_eq!(widget["period"], 60, "the metric's period");
    }

    #[test]
    fn an_anomaly_band_given_apart_from_its_queries_is_added() {
        let mut alarm = metric_alarm();
        alarm.kind = AlarmKind::Anomaly(AnomalyCondition {
            band: Some("ANOMALY_DETECTION_BAND(m1)".into()),
            queries: vec![query("m1", None, Some(requests()), false)],
            evaluation: Evaluation::default(),
        });
        let metrics = metric_widget(&alarm).unwrap()["metrics"].clone();
        assert!(
            metrics[0][4].get("visible").is_none(),
            "the metric is shown"
        );
        assert_eq!(metrics[1][0]["expression"], "ANOMALY_DETECTION_BAND(m1)");
    }

    #[test]
    fn composite_unknown_and_nameless_alarms_have_no_graph() {
        let mut alarm = metric_alarm();
        alarm.kind = AlarmKind::Composite(CompositeRule::default());
        assert_eq!(metric_widget(&alarm), None);
        alarm.kind = AlarmKind::Unknown;
        assert_eq!(metric_widget(&alarm), None);
        alarm.kind = AlarmKind::Metric(MetricCondition::default());
        assert_eq!(metric_widget(&alarm), None);
        alarm.kind = AlarmKind::MetricMath(MathCondition::default());
        assert_eq!(metric_widget(&alarm), None);
    }
}
