//! Reading an alarm from its SNS message (PascalCase, `Trigger`, `AlarmRule`), the text of an
//! older plain metric alarm, and the detail of EventBridge's event or the direct action
//! (camelCase).

use std::borrow::Cow;

use serde_json::Value;

use super::super::shared::*;
use crate::model::alarm::*;
use crate::model::{malformed, ParseError};

// ---- reading: SNS (PascalCase) ----

/// The SNS form of an alarm (PascalCase, `Trigger` for metric alarms, `AlarmRule` for composites).
pub(super) fn alarm_from_sns(obj: &Obj) -> Alarm {
    let arn = str_at(obj, "AlarmArn");
    let parsed_arn = arn.as_deref().and_then(parse_arn);
    let kind = if let Some(rule) = str_at(obj, "AlarmRule") {
        AlarmKind::Composite(CompositeRule {
            rule: Some(rule),
            triggering_children: arr_at(obj, "TriggeringChildren")
                .iter()
                .filter_map(Value::as_object)
                .filter_map(|c| {
                    Some(ChildAlarm {
                        arn: str_at(c, "Arn")?,
                        state: obj_at(c, "State")
                            .and_then(|s| str_at(s, "Value"))
                            .map(|v| AlarmState::parse(&v)),
                    })
                })
                .collect(),
        })
    } else if let Some(trigger) = obj_at(obj, "Trigger") {
        kind_from_trigger(trigger)
    } else {
        AlarmKind::Unknown
    };
    Alarm {
        name: str_at(obj, "AlarmName").unwrap_or_else(|| "(unnamed alarm)".into()),
        description: str_at(obj, "AlarmDescription"),
        state: AlarmState::parse(&str_at(obj, "NewStateValue").unwrap_or_default()),
        previous_state: str_at(obj, "OldStateValue").map(|s| AlarmState::parse(&s)),
        reason: str_at(obj, "NewStateReason"),
        time: time_at(obj, "StateChangeTime"),
        account: str_at(obj, "AWSAccountId")
            .or_else(|| parsed_arn.as_ref().and_then(|a| non_empty(a.account))),
        region: parsed_arn
            .as_ref()
            .and_then(|a| non_empty(a.region))
            .or_else(|| str_at(obj, "Region").map(region_from_display)),
        arn,
        kind,
    }
}

/// Text of the message, borrowed where it can be.
type Text<'a> = Option<Cow<'a, str>>;
/// A metric alarm's SNS message, exactly as CloudWatch writes it: the common case, read
/// without building a JSON tree.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Message<'a> {
    #[serde(borrow)]
    alarm_name: Cow<'a, str>,
    #[serde(borrow, default)]
    alarm_description: Text<'a>,
    #[serde(rename = "AWSAccountId", borrow, default)]
    aws_account_id: Text<'a>,
    #[serde(borrow, default)]
    new_state_value: Text<'a>,
    #[serde(borrow, default)]
    new_state_reason: Text<'a>,
    #[serde(borrow, default)]
    state_change_time: Text<'a>,
    #[serde(borrow, default)]
    region: Text<'a>,
    #[serde(borrow, default)]
    alarm_arn: Text<'a>,
    #[serde(borrow, default)]
    old_state_value: Text<'a>,
    #[serde(default)]
    alarm_rule: Option<serde::de::IgnoredAny>,
    #[serde(borrow)]
    trigger: Trigger<'a>,
}
/// The message's `Trigger`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Trigger<'a> {
    #[serde(borrow)]
    metric_name: Cow<'a, str>,
    #[serde(borrow, default)]
    namespace: Text<'a>,
    #[serde(borrow, default)]
    statistic_type: Text<'a>,
    #[serde(borrow, default)]
    statistic: Text<'a>,
    #[serde(borrow, default)]
    extended_statistic: Text<'a>,
    #[serde(borrow, default)]
    unit: Text<'a>,
    #[serde(borrow, default)]
    dimensions: Vec<Dimension<'a>>,
    #[serde(default)]
    period: Option<f64>,
    #[serde(default)]
    evaluation_periods: Option<f64>,
    #[serde(default)]
    datapoints_to_alarm: Option<f64>,
    #[serde(borrow, default)]
    comparison_operator: Text<'a>,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(borrow, default)]
    treat_missing_data: Text<'a>,
    #[serde(default)]
    metrics: Option<serde::de::IgnoredAny>,
}
/// One of the trigger's `Dimensions`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Dimension<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    value: Text<'a>,
}

/// As `str_at` reads: blank text is absent.
fn text(s: Text) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).map(Cow::into_owned)
}

fn finite(n: Option<f64>) -> Option<f64> {
    n.filter(|n| n.is_finite())
}

fn whole(n: Option<f64>) -> Option<u64> {
    finite(n)
        .filter(|n| *n >= 0.0 && n.fract() == 0.0)
        .map(|n| n as u64)
}

/// The trigger as a metric condition.
fn plain_condition(t: Trigger) -> MetricCondition {
    let evaluation = Evaluation {
        comparison: text(t.comparison_operator),
        threshold: finite(t.threshold),
        period_seconds: whole(t.period),
        evaluation_periods: whole(t.evaluation_periods),
        datapoints_to_alarm: whole(t.datapoints_to_alarm),
        treat_missing_data: text(t.treat_missing_data),
    };
    let extended = text(t.extended_statistic);
    let statistic = if text(t.statistic_type).as_deref() == Some("ExtendedStatistic") {
        extended
    } else {
        text(t.statistic).or(extended)
    };
    MetricCondition {
        metric: Metric {
            namespace: text(t.namespace),
            name: t.metric_name.into_owned(),
            dimensions: t
                .dimensions
                .into_iter()
                .map(|d| (d.name.into_owned(), text(d.value).unwrap_or_default()))
                .collect(),
            statistic: statistic.map(|s| normalise_statistic(&s)),
            period_seconds: evaluation.period_seconds,
            unit: text(t.unit),
        },
        evaluation,
    }
}

/// The common case, a single-metric alarm with every field of the expected type, read
/// without building a JSON tree. Anything else (a composite, metric math, a number given as
/// text, a blank name) returns `None` and takes the lenient path, which reads the same
/// message the same way.
pub(super) fn plain_metric_alarm(message: &str) -> Option<Alarm> {
    let m: Message = serde_json::from_str(message).ok()?;
    let blank = |s: &str| s.trim().is_empty();
    if m.alarm_rule.is_some()
        || m.trigger.metrics.is_some()
        || blank(&m.alarm_name)
        || blank(&m.trigger.metric_name)
        || m.trigger.dimensions.iter().any(|d| blank(&d.name))
    {
        return None;
    }
    let kind = AlarmKind::Metric(plain_condition(m.trigger));
    let arn = text(m.alarm_arn);
    let parsed_arn = arn.as_deref().and_then(parse_arn);
    Some(Alarm {
        name: m.alarm_name.into_owned(),
        description: text(m.alarm_description),
        state: AlarmState::parse(&text(m.new_state_value).unwrap_or_default()),
        previous_state: text(m.old_state_value).map(|s| AlarmState::parse(&s)),
        reason: text(m.new_state_reason),
        time: text(m.state_change_time).as_deref().and_then(parse_time),
        account: text(m.aws_account_id)
            .or_else(|| parsed_arn.as_ref().and_then(|a| non_empty(a.account))),
        region: parsed_arn
            .as_ref()
            .and_then(|a| non_empty(a.region))
            .or_else(|| text(m.region).map(region_from_display)),
        arn,
        kind,
    })
}

fn evaluation_from_trigger(t: &Obj) -> Evaluation {
    Evaluation {
        comparison: str_at(t, "ComparisonOperator"),
        threshold: num_at(t, "Threshold"),
        period_seconds: uint_at(t, "Period"),
        evaluation_periods: uint_at(t, "EvaluationPeriods"),
        datapoints_to_alarm: uint_at(t, "DatapointsToAlarm"),
        treat_missing_data: str_at(t, "TreatMissingData"),
    }
}

/// SNS statistics come upper-cased (`AVERAGE`); show them as the console does.
fn normalise_statistic(stat: &str) -> String {
    match stat.to_ascii_uppercase().as_str() {
        "AVERAGE" => "Average".into(),
        "SUM" => "Sum".into(),
        "MINIMUM" => "Minimum".into(),
        "MAXIMUM" => "Maximum".into(),
        "SAMPLECOUNT" | "SAMPLE_COUNT" => "SampleCount".into(),
        _ => stat.to_owned(),
    }
}

/// Dimensions come as `[{"name":..,"value":..}]` in SNS and as `{"Name": "value"}` elsewhere.
fn dimensions(value: Option<&Value>) -> Vec<(String, String)> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .filter_map(|d| {
                let name = str_at(d, "name").or_else(|| str_at(d, "Name"))?;
                let value = str_at(d, "value")
                    .or_else(|| str_at(d, "Value"))
                    .unwrap_or_default();
                Some((name, value))
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn kind_from_trigger(t: &Obj) -> AlarmKind {
    let evaluation = evaluation_from_trigger(t);
    let metrics = arr_at(t, "Metrics");
    if !metrics.is_empty() {
        let queries: Vec<MetricQuery> = metrics
            .iter()
            .filter_map(Value::as_object)
            .map(|q| metric_query(q, &PASCAL))
            .collect();
        return math_or_anomaly(queries, evaluation, str_at(t, "ThresholdMetricId"));
    }
    let Some(name) = str_at(t, "MetricName") else {
        return AlarmKind::Unknown;
    };
    let statistic = if str_at(t, "StatisticType").as_deref() == Some("ExtendedStatistic") {
        str_at(t, "ExtendedStatistic")
    } else {
        str_at(t, "Statistic").or_else(|| str_at(t, "ExtendedStatistic"))
    };
    AlarmKind::Metric(MetricCondition {
        metric: Metric {
            namespace: str_at(t, "Namespace"),
            name,
            dimensions: dimensions(t.get("Dimensions")),
            statistic: statistic.map(|s| normalise_statistic(&s)),
            period_seconds: evaluation.period_seconds,
            unit: str_at(t, "Unit"),
        },
        evaluation,
    })
}

/// Key names of a metric query: SNS messages use PascalCase, the alarm-action and
/// EventBridge shapes camelCase.
struct QueryKeys {
    metric_stat: &'static str,
    metric: &'static str,
    namespace: &'static str,
    name: &'static str,
    dimensions: &'static str,
    stat: &'static str,
    period: &'static str,
    unit: &'static str,
    id: &'static str,
    label: &'static str,
    expression: &'static str,
    return_data: &'static str,
}

const PASCAL: QueryKeys = QueryKeys {
    metric_stat: "MetricStat",
    metric: "Metric",
    namespace: "Namespace",
    name: "MetricName",
    dimensions: "Dimensions",
    stat: "Stat",
    period: "Period",
    unit: "Unit",
    id: "Id",
    label: "Label",
    expression: "Expression",
    return_data: "ReturnData",
};

const CAMEL: QueryKeys = QueryKeys {
    metric_stat: "metricStat",
    metric: "metric",
    namespace: "namespace",
    name: "name",
    dimensions: "dimensions",
    stat: "stat",
    period: "period",
    unit: "unit",
    id: "id",
    label: "label",
    expression: "expression",
    return_data: "returnData",
};

fn metric_query(m: &Obj, keys: &QueryKeys) -> MetricQuery {
    let metric = obj_at(m, keys.metric_stat).and_then(|stat| {
        let metric = obj_at(stat, keys.metric)?;
        Some(Metric {
            namespace: str_at(metric, keys.namespace),
            name: str_at(metric, keys.name)?,
            dimensions: dimensions(metric.get(keys.dimensions)),
            statistic: str_at(stat, keys.stat),
            period_seconds: uint_at(stat, keys.period),
            unit: str_at(stat, keys.unit),
        })
    });
    MetricQuery {
        id: str_at(m, keys.id).unwrap_or_default(),
        label: str_at(m, keys.label),
        expression: str_at(m, keys.expression),
        metric,
        return_data: m
            .get(keys.return_data)
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }
}

fn is_band(expression: &str) -> bool {
    expression
        .trim_start()
        .to_ascii_uppercase()
        .starts_with("ANOMALY_DETECTION_BAND")
}

/// Sorts a list of metric queries into a single metric, metric math or an anomaly band.
fn math_or_anomaly(
    queries: Vec<MetricQuery>,
    evaluation: Evaluation,
    threshold_id: Option<String>,
) -> AlarmKind {
    let band = queries
        .iter()
        .find(|q| {
            q.expression.as_deref().is_some_and(is_band)
                || threshold_id.as_deref() == Some(q.id.as_str())
        })
        .and_then(|q| q.expression.clone());
    let band_comparison = evaluation
        .comparison
        .as_deref()
        .is_some_and(|c| c.contains("LowerThreshold") || c.contains("UpperThreshold"));
    if band.is_some() || band_comparison {
        return AlarmKind::Anomaly(AnomalyCondition {
            band,
            queries,
            evaluation,
        });
    }
    if queries.iter().all(|q| q.expression.is_none()) && queries.len() == 1 {
        let query = queries.into_iter().next().unwrap_or_default();
        if let Some(metric) = query.metric {
            return AlarmKind::Metric(MetricCondition { metric, evaluation });
        }
        return AlarmKind::Unknown;
    }
    AlarmKind::MetricMath(MathCondition {
        queries,
        evaluation,
    })
}

// ---- reading: direct alarm action and EventBridge alarm detail (camelCase) ----

pub(crate) fn alarm_from_detail(detail: &Obj, arn: Option<String>) -> Result<Alarm, ParseError> {
    let name = str_at(detail, "alarmName").ok_or_else(|| malformed("alarmName", "missing"))?;
    let state = obj_at(detail, "state");
    let previous = obj_at(detail, "previousState");
    let config = obj_at(detail, "configuration");
    let reason_data = state
        .and_then(|s| s.get("reasonData"))
        .and_then(|r| match r {
            Value::String(s) => serde_json::from_str::<Value>(s).ok(),
            other => Some(other.clone()),
        })
        .and_then(|v| v.as_object().cloned());
    let kind = match config {
        Some(c) if str_at(c, "alarmRule").is_some() => AlarmKind::Composite(CompositeRule {
            rule: str_at(c, "alarmRule"),
            triggering_children: reason_data
                .as_ref()
                .map(|r| arr_at(r, "triggeringAlarms"))
                .unwrap_or(&[])
                .iter()
                .filter_map(Value::as_object)
                .filter_map(|c| {
                    Some(ChildAlarm {
                        arn: str_at(c, "arn")?,
                        state: obj_at(c, "state")
                            .and_then(|s| str_at(s, "value"))
                            .map(|v| AlarmState::parse(&v)),
                    })
                })
                .collect(),
        }),
        Some(c) => {
            let queries: Vec<MetricQuery> = arr_at(c, "metrics")
                .iter()
                .filter_map(Value::as_object)
                .map(|q| metric_query(q, &CAMEL))
                .collect();
            let evaluation = Evaluation {
                threshold: reason_data.as_ref().and_then(|r| num_at(r, "threshold")),
                comparison: str_at(c, "comparisonOperator"),
                period_seconds: reason_data.as_ref().and_then(|r| uint_at(r, "period")),
                evaluation_periods: uint_at(c, "evaluationPeriods"),
                datapoints_to_alarm: uint_at(c, "datapointsToAlarm"),
                treat_missing_data: str_at(c, "treatMissingData"),
            };
            if queries.is_empty() {
                AlarmKind::Unknown
            } else {
                math_or_anomaly(queries, evaluation, str_at(c, "thresholdMetricId"))
            }
        }
        None => AlarmKind::Unknown,
    };
    let parsed_arn = arn.as_deref().and_then(parse_arn);
    Ok(Alarm {
        name,
        description: config.and_then(|c| str_at(c, "description")),
        state: AlarmState::parse(&state.and_then(|s| str_at(s, "value")).unwrap_or_default()),
        previous_state: previous
            .and_then(|s| str_at(s, "value"))
            .map(|v| AlarmState::parse(&v)),
        reason: state.and_then(|s| str_at(s, "reason")),
        time: state.and_then(|s| time_at(s, "timestamp")),
        account: parsed_arn.as_ref().and_then(|a| non_empty(a.account)),
        region: parsed_arn.as_ref().and_then(|a| non_empty(a.region)),
        arn,
        kind,
    })
}

/// The region's code for a display name such as `EU - Ireland`; an unknown name as it is.
fn region_from_display(region: String) -> String {
    match super::links::region_code(&region) {
        Some(code) => code.to_owned(),
        None => region,
    }
}
