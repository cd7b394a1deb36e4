//! CloudWatch alarms, from all three delivery shapes: an SNS message (PascalCase, `Trigger`
//! for metric alarms, `AlarmRule` for composites), EventBridge's "CloudWatch Alarm State
//! Change", and the alarm's direct Lambda action (unwrapped by the parse layer).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, SnsMessage, Source, Notice};
use crate::card::{Card, Severity};
use crate::mrkdwn::{code_safe, escape, escape_within};
use crate::parse::{at, malformed, ParseError};

pub const SOURCE: Source = Source {
    name: "alarm",
    event: Some(from_event),
    sns: Some(from_sns),
    last_resort: false,
};

/// "CloudWatch Alarm State Change"; the event fills what the detail leaves out.
fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    if event.source != "aws.cloudwatch" || event.detail_type != "CloudWatch Alarm State Change" {
        return None;
    }
    let arn = event.resources.as_ref().and_then(|r| r.first()).cloned();
    Some(
        alarm_from_detail(detail, arn)
            .map_err(|e| at("detail".into(), e))
            .map(|mut alarm| {
                alarm.account = alarm.account.or_else(|| event.account.clone());
                alarm.region = alarm.region.or_else(|| event.region.clone());
                alarm.time = alarm.time.or(event.time);
                Body::Alarm(Box::new(alarm))
            }),
    )
}

/// The SNS form: a JSON object with `AlarmName`.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let alarm = plain_metric_alarm(message.text).or_else(|| {
        message
            .object()
            .filter(|obj| obj.contains_key("AlarmName"))
            .map(alarm_from_sns)
    })?;
    Some(Body::Alarm(Box::new(alarm)))
}

// ---- types ----

/// A CloudWatch alarm state change, from any of the three delivery shapes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alarm {
    pub name: String,
    pub description: Option<String>,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    pub reason: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub account: Option<String>,
    /// Region code (`us-east-1`), taken from the ARN where possible.
    pub region: Option<String>,
    pub arn: Option<String>,
    pub kind: AlarmKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AlarmState {
    Alarm,
    Ok,
    InsufficientData,
    /// A value AWS may add later; shown as given.
    #[default]
    Unknown,
    Other(String),
}

impl AlarmState {
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_uppercase().as_str() {
            "ALARM" => Self::Alarm,
            "OK" => Self::Ok,
            "INSUFFICIENT_DATA" => Self::InsufficientData,
            "" => Self::Unknown,
            _ => Self::Other(raw.trim().to_owned()),
        }
    }

    /// The name AWS uses for the state.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Alarm => "ALARM",
            Self::Ok => "OK",
            Self::InsufficientData => "INSUFFICIENT_DATA",
            Self::Unknown => "UNKNOWN",
            Self::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum AlarmKind {
    /// One metric against a static threshold.
    Metric(MetricCondition),
    /// A metric math expression against a static threshold.
    MetricMath(MathCondition),
    /// A metric against an anomaly detection band.
    Anomaly(AnomalyCondition),
    Composite(CompositeRule),
    /// Not enough was given to tell the kind.
    #[default]
    Unknown,
}

/// Evaluation settings shared by metric, math and anomaly alarms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    pub comparison: Option<String>,
    pub threshold: Option<f64>,
    pub period_seconds: Option<u64>,
    pub evaluation_periods: Option<u64>,
    pub datapoints_to_alarm: Option<u64>,
    pub treat_missing_data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metric {
    pub namespace: Option<String>,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
    /// `Average`, `p99`, `TM(10%:90%)`…
    pub statistic: Option<String>,
    pub period_seconds: Option<u64>,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricCondition {
    pub metric: Metric,
    pub evaluation: Evaluation,
}

/// One entry of a metric math alarm: an expression or a metric.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricQuery {
    pub id: String,
    pub label: Option<String>,
    pub expression: Option<String>,
    pub metric: Option<Metric>,
    pub return_data: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MathCondition {
    pub queries: Vec<MetricQuery>,
    pub evaluation: Evaluation,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnomalyCondition {
    /// The `ANOMALY_DETECTION_BAND(...)` expression.
    pub band: Option<String>,
    pub queries: Vec<MetricQuery>,
    pub evaluation: Evaluation,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompositeRule {
    pub rule: Option<String>,
    pub triggering_children: Vec<ChildAlarm>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChildAlarm {
    pub arn: String,
    pub state: Option<AlarmState>,
}

// ---- reading: SNS (PascalCase) ----

/// The SNS form of an alarm (PascalCase, `Trigger` for metric alarms, `AlarmRule` for composites).
fn alarm_from_sns(obj: &Obj) -> Alarm {
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

/// The common case, a single-metric alarm with every field of the expected type, read
/// without building a JSON tree. Anything else (a composite, metric math, a number given as
/// text, a blank name) returns `None` and takes the lenient path, which reads the same
/// message the same way.
fn plain_metric_alarm(message: &str) -> Option<Alarm> {
    use std::borrow::Cow;
    type Text<'a> = Option<Cow<'a, str>>;
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
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Dimension<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
        #[serde(borrow, default)]
        value: Text<'a>,
    }
    let m: Message = serde_json::from_str(message).ok()?;
    let t = m.trigger;
    let blank = |s: &str| s.trim().is_empty();
    if m.alarm_rule.is_some()
        || t.metrics.is_some()
        || blank(&m.alarm_name)
        || blank(&t.metric_name)
        || t.dimensions.iter().any(|d| blank(&d.name))
    {
        return None;
    }
    // As `str_at` reads: blank text is absent.
    let text = |s: Text| s.filter(|s| !blank(s)).map(Cow::into_owned);
    let finite = |n: Option<f64>| n.filter(|n| n.is_finite());
    let whole = |n: Option<f64>| {
        finite(n)
            .filter(|n| *n >= 0.0 && n.fract() == 0.0)
            .map(|n| n as u64)
    };
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
    let kind = AlarmKind::Metric(MetricCondition {
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
    });
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

// ---- the card ----

/// `arn:aws:cloudwatch:us-east-1:123:alarm:name` → `name`, wherever it stands in the text.
fn shorten_alarm_arns(text: &str) -> String {
    text.split(' ')
        .map(|word| match parse_arn(word) {
            Some(arn) if arn.service == "cloudwatch" => {
                arn.resource.strip_prefix("alarm:").unwrap_or(word)
            }
            _ => word,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Emoji, label, severity, and whether the bar is grey (no data, or a state we don't know).
fn state_look(state: &AlarmState) -> (&'static str, &'static str, Severity, bool) {
    match state {
        AlarmState::Alarm => ("🔴", "ALARM", Severity::Critical, false),
        AlarmState::Ok => ("✅", "OK – recovered", Severity::Ok, false),
        AlarmState::InsufficientData => (
            "⚪",
            "INSUFFICIENT DATA – data gap",
            Severity::Warning,
            true,
        ),
        AlarmState::Unknown | AlarmState::Other(_) => ("❔", "", Severity::Info, true),
    }
}

fn format_period(seconds: u64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{} day", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn comparison_symbol(op: &str) -> &str {
    match op {
        "GreaterThanOrEqualToThreshold" => "≥",
        "GreaterThanThreshold" => ">",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "≤",
        "LessThanLowerOrGreaterThanUpperThreshold" => "outside the band",
        "LessThanLowerThreshold" => "below the band",
        "GreaterThanUpperThreshold" => "above the band",
        other => other,
    }
}

/// `for 3 of 3 datapoints`
fn datapoints(e: &Evaluation) -> Option<String> {
    let periods = e.evaluation_periods?;
    let needed = e.datapoints_to_alarm.unwrap_or(periods);
    Some(format!("for {needed} of {periods} datapoints"))
}

/// `CPUUtilization (Average, 5 min) > 80 for 3 of 3 datapoints`
pub fn metric_condition(m: &MetricCondition) -> String {
    let mut parts = vec![m.metric.name.clone()];
    let mut inner = Vec::new();
    inner.extend(m.metric.statistic.clone());
    inner.extend(
        m.metric
            .period_seconds
            .or(m.evaluation.period_seconds)
            .map(format_period),
    );
    if !inner.is_empty() {
        parts[0] = format!("{} ({})", parts[0], inner.join(", "));
    }
    match &m.evaluation.comparison {
        Some(op) => parts.push(comparison_symbol(op).to_owned()),
        // The alarm-action event gives the threshold but not the operator.
        None if m.evaluation.threshold.is_some() => parts.push("vs threshold".to_owned()),
        None => {}
    }
    if let Some(t) = m.evaluation.threshold {
        let unit = m
            .metric
            .unit
            .as_deref()
            .filter(|u| *u != "None")
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        parts.push(format!("{}{unit}", format_number(t)));
    }
    parts.extend(datapoints(&m.evaluation));
    parts.join(" ")
}

fn dimension_list(dims: &[(String, String)]) -> Option<String> {
    (!dims.is_empty()).then(|| {
        dims.iter()
            .map(|(k, v)| format!("{}={}", k, v))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

fn query_line(q: &MetricQuery) -> String {
    let id = escape(&q.id);
    let what = match (&q.expression, &q.metric) {
        (Some(expr), _) => code(expr),
        (None, Some(m)) => {
            let stat = m
                .statistic
                .as_deref()
                .map(|s| format!(" ({})", escape(s)))
                .unwrap_or_default();
            let ns = m
                .namespace
                .as_deref()
                .map(|n| format!("{} ", escape(n)))
                .unwrap_or_default();
            let dims = dimension_list(&m.dimensions)
                .map(|d| format!(" [{}]", escape(&d)))
                .unwrap_or_default();
            format!("{ns}{}{stat}{dims}", escape(&m.name))
        }
        (None, None) => "?".into(),
    };
    let label = q
        .label
        .as_deref()
        .map(|l| format!(" “{}”", escape(l)))
        .unwrap_or_default();
    format!("• *{id}*{label}: {what}")
}

fn evaluation_line(e: &Evaluation, subject: &str) -> String {
    let mut parts = vec![subject.to_owned()];
    match &e.comparison {
        Some(op) => parts.push(comparison_symbol(op).to_owned()),
        None if e.threshold.is_some() => parts.push("vs threshold".to_owned()),
        None => {}
    }
    if let Some(t) = e.threshold {
        parts.push(format_number(t));
    }
    parts.extend(datapoints(e));
    if let Some(p) = e.period_seconds {
        parts.push(format!("(period {})", format_period(p)));
    }
    parts.join(" ")
}

impl Notice for Alarm {
    fn card(&self) -> Card {
        card(self)
    }

    fn describe(&self) -> (&'static str, String) {
        (SOURCE.name, self.name.clone())
    }
}

/// The alarm as a card: state, reason, condition, and a link to the console.
pub fn card(a: &Alarm) -> Card {
    let (emoji, label, severity, grey) = state_look(&a.state);
    let label = if label.is_empty() {
        a.state.as_str().to_owned()
    } else {
        label.to_owned()
    };
    // Composite reasons name children by ARN; the name is what a reader looks for.
    let reason = match &a.kind {
        AlarmKind::Composite(_) => a.reason.as_deref().map(shorten_alarm_arns),
        _ => a.reason.clone(),
    };
    let shown_reason = reason.as_deref().unwrap_or("no reason given");
    // Reads like the original one-liner, kept short for phone notifications.
    let fallback = format!(
        "{} state is now {}: {}",
        escape(&a.name),
        escape(a.state.as_str()),
        escape_within(shown_reason, 200)
    );
    let mut m = Card::new(emoji, format!("{label}: {}", a.name), fallback, severity);
    if grey {
        m = m.grey();
    }
    m.mention = a.state == AlarmState::Alarm;

    m.titled("Reason", reason.as_deref());
    let transition = match &a.previous_state {
        Some(prev) => format!("{} → {}", prev.as_str(), a.state.as_str()),
        None => a.state.as_str().to_owned(),
    };
    // An unknown state is the event's own text.
    let transition = escape(&transition);
    let mut facts: Vec<(&str, Option<String>)> =
        vec![("State", Some(transition)), ("When", when(a.time))];
    let mut details: Vec<(String, Option<String>)> = Vec::new();
    match &a.kind {
        AlarmKind::Metric(c) => {
            facts.push(("Condition", Some(code(&metric_condition(c)))));
            facts.push((
                "Metric",
                Some(escape(
                    [c.metric.namespace.as_deref().unwrap_or(""), &c.metric.name]
                        .join(" ")
                        .trim(),
                )),
            ));
            facts.push((
                "Dimensions",
                dimension_list(&c.metric.dimensions).map(|d| escape(&d)),
            ));
            facts.push((
                "Treat missing data as",
                c.evaluation.treat_missing_data.as_deref().map(escape),
            ));
        }
        AlarmKind::MetricMath(c) => {
            let returned = c
                .queries
                .iter()
                .find(|q| q.return_data)
                .or(c.queries.first());
            let subject = returned
                .map(|q| q.label.clone().unwrap_or_else(|| q.id.clone()))
                .unwrap_or_else(|| "expression".into());
            facts.push((
                "Condition",
                Some(code(&evaluation_line(&c.evaluation, &subject))),
            ));
            details.push((
                "Metric math".into(),
                Some(
                    c.queries
                        .iter()
                        .map(query_line)
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            ));
        }
        AlarmKind::Anomaly(c) => {
            let direction = c
                .evaluation
                .comparison
                .as_deref()
                .map(comparison_symbol)
                .unwrap_or("outside the band");
            let watched = c
                .queries
                .iter()
                .find(|q| q.metric.is_some() && q.return_data)
                .or_else(|| c.queries.iter().find(|q| q.metric.is_some()));
            let name = watched
                .and_then(|q| q.metric.as_ref())
                .map(|m| m.name.clone())
                .unwrap_or_else(|| "metric".into());
            let mut condition = format!("{name} {direction}");
            if let Some(d) = datapoints(&c.evaluation) {
                condition = format!("{condition} {d}");
            }
            facts.push(("Condition", Some(code(&condition))));
            facts.push(("Band", c.band.as_deref().map(code)));
            details.push((
                "Metrics".into(),
                Some(
                    c.queries
                        .iter()
                        .map(query_line)
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            ));
        }
        AlarmKind::Composite(c) => {
            facts.push(("Kind", Some("Composite alarm".into())));
            details.push((
                "Rule".into(),
                c.rule
                    .as_deref()
                    .map(|r| format!("```{}```", escape(&code_safe(r)))),
            ));
            let children: Vec<String> = c
                .triggering_children
                .iter()
                .map(|ch| {
                    let name = parse_arn(&ch.arn)
                        .and_then(|a| a.resource.strip_prefix("alarm:").map(str::to_owned))
                        .unwrap_or_else(|| ch.arn.clone());
                    match &ch.state {
                        Some(s) => format!("{name} ({})", s.as_str()),
                        None => name,
                    }
                })
                .collect();
            details.push(("Triggered by".into(), bullets(&children, 10)));
        }
        AlarmKind::Unknown => {}
    }
    facts.push(("Account", a.account.as_deref().map(escape)));
    facts.push(("Region", a.region.as_deref().map(escape)));
    m.fields(facts);
    for (title, body) in details {
        if let Some(body) = body.filter(|b| !b.is_empty()) {
            m.section(format!("*{title}*\n{body}"));
        }
    }
    m.titled("Description", a.description.as_deref());
    m.link("View alarm in CloudWatch", alarm_console_url(a));
    for (label, url) in super::alarm_links::resource_links(a) {
        m.link(label, Some(url));
    }
    m
}

/// The region's code for a display name such as `EU - Ireland`; an unknown name as it is.
fn region_from_display(region: String) -> String {
    match super::alarm_links::region_code(&region) {
        Some(code) => code.to_owned(),
        None => region,
    }
}

/// A link to the alarm in the CloudWatch console of the alarm's own partition.
pub fn alarm_console_url(alarm: &Alarm) -> Option<String> {
    let region = alarm.region.as_deref().filter(|r| is_region_code(r))?;
    let host = console_host(partition_of(alarm.arn.as_deref()), region);
    Some(format!(
        "https://{host}/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
        url_encode(&alarm.name)
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A static-threshold CPU alarm in ALARM, for tests here and in the layout.
    pub(crate) fn metric_alarm() -> Alarm {
        Alarm {
            name: "cpu-high".into(),
            state: AlarmState::Alarm,
            previous_state: Some(AlarmState::Ok),
            reason: Some("Threshold Crossed".into()),
            region: Some("us-east-1".into()),
            arn: Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high".into()),
            kind: AlarmKind::Metric(MetricCondition {
                metric: Metric {
                    name: "CPUUtilization".into(),
                    statistic: Some("Average".into()),
                    period_seconds: Some(300),
                    ..Default::default()
                },
                evaluation: Evaluation {
                    comparison: Some("GreaterThanThreshold".into()),
                    threshold: Some(80.0),
                    evaluation_periods: Some(3),
                    datapoints_to_alarm: Some(3),
                    ..Default::default()
                },
            }),
            ..Default::default()
        }
    }

    #[test]
    fn condition_in_words() {
        let AlarmKind::Metric(c) = metric_alarm().kind else {
            unreachable!()
        };
        assert_eq!(
            metric_condition(&c),
            "CPUUtilization (Average, 5 min) > 80 for 3 of 3 datapoints"
        );
    }

    #[test]
    fn console_links_follow_the_partition() {
        let mut a = metric_alarm();
        a.name = "a b/c".into();
        assert_eq!(
            alarm_console_url(&a).unwrap(),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/a%20b%2Fc"
        );
        a.arn = Some("arn:aws-cn:cloudwatch:cn-north-1:1:alarm:x".into());
        a.region = Some("cn-north-1".into());
        assert!(alarm_console_url(&a)
            .unwrap()
            .starts_with("https://cn-north-1.console.amazonaws.cn/"));
        a.arn = Some("arn:aws-us-gov:cloudwatch:us-gov-west-1:1:alarm:x".into());
        a.region = Some("us-gov-west-1".into());
        assert!(alarm_console_url(&a).unwrap().starts_with(
            "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1"
        ));
        a.region = Some("US East (N. Virginia)".into());
        assert_eq!(alarm_console_url(&a), None);
    }

    /// Every alarm message in the repository's events and fixtures.
    fn alarm_messages() -> Vec<String> {
        let mut out = Vec::new();
        for dir in ["events", "tests/fixtures"] {
            let root = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
            let paths = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
                let entries = std::fs::read_dir(dir).unwrap();
                entries.map(|entry| entry.unwrap().path()).collect()
            };
            // Fixtures may sit in a folder of their source's: tests/fixtures/<source>/.
            let files = paths(root.as_ref()).into_iter().flat_map(|p| {
                if p.is_dir() {
                    paths(&p)
                } else {
                    vec![p]
                }
            });
            for path in files {
                let bytes = std::fs::read(path).unwrap();
                let Ok(Value::Object(event)) = serde_json::from_slice::<Value>(&bytes) else {
                    continue;
                };
                for record in arr_at(&event, "Records") {
                    if let Some(message) = record["Sns"]["Message"].as_str() {
                        if message.contains("AlarmName") {
                            out.push(message.to_owned());
                        }
                    }
                }
            }
        }
        out
    }

    /// The lenient path's reading of an alarm message.
    fn general_alarm(message: &str) -> Option<Alarm> {
        match serde_json::from_str::<Value>(message).ok()? {
            Value::Object(obj) if obj.contains_key("AlarmName") => Some(alarm_from_sns(&obj)),
            _ => None,
        }
    }

    #[test]
    fn the_alarm_fast_path_agrees_with_the_general_path() {
        let messages = alarm_messages();
        assert!(messages.len() >= 6, "{}", messages.len());
        let mut fast = 0;
        for message in &messages {
            if let Some(alarm) = plain_metric_alarm(message) {
                assert_eq!(Some(alarm), general_alarm(message), "{message}");
                fast += 1;
            }
        }
        // Single-metric alarms take the fast path; composites and math do not.
        assert!(
            fast >= 3 && fast < messages.len(),
            "{fast} of {}",
            messages.len()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
        /// Any field of an alarm message set to any kind of JSON value: the fast path either
        /// steps aside or reads exactly what the lenient path reads.
        #[test]
        fn the_alarm_fast_path_never_reads_differently(
            pick in 0usize..1000,
            field in proptest::sample::select(vec![
                "AlarmName", "AlarmDescription", "AWSAccountId", "NewStateValue", "NewStateReason",
                "StateChangeTime", "Region", "AlarmArn", "OldStateValue", "AlarmRule", "Trigger",
                "Trigger.MetricName", "Trigger.Namespace", "Trigger.StatisticType", "Trigger.Statistic",
                "Trigger.ExtendedStatistic", "Trigger.Unit", "Trigger.Dimensions", "Trigger.Period",
                "Trigger.EvaluationPeriods", "Trigger.DatapointsToAlarm", "Trigger.ComparisonOperator",
                "Trigger.Threshold", "Trigger.TreatMissingData", "Trigger.Metrics",
                "Trigger.Dimensions.0", "Trigger.Dimensions.0.name", "Trigger.Dimensions.0.value",
                "Trigger.Dimensions.0.Name", "Trigger.Dimensions.0.Value",
            ]),
            replacement in proptest::sample::select(vec![
                "null", "\"\"", "\"  \"", "\"text\"", "\"42\"", "42", "-1", "2.5", "1e300", "true",
                "[]", "[1]", "{}", "{\"name\":\"k\",\"value\":\"v\"}", "\"ExtendedStatistic\"",
                "\"p99\"", "\"arn:aws-cn:cloudwatch:cn-north-1:1:alarm:x\"",
                "\"2021-09-02T16:03:39.434+0000\"", "\"<!here>\"",
            ]),
            remove in proptest::bool::ANY,
        ) {
            let messages = alarm_messages();
            let mut value: Value = serde_json::from_str(&messages[pick % messages.len()]).unwrap();
            let path: Vec<&str> = field.split('.').collect();
            let (last, parents) = path.split_last().unwrap();
            let mut node = &mut value;
            for step in parents {
                node = match step.parse::<usize>() {
                    Ok(i) => match node.get_mut(i) { Some(n) => n, None => return Ok(()) },
                    Err(_) => match node.get_mut(*step) { Some(n) => n, None => return Ok(()) },
                };
            }
            let replacement: Value = serde_json::from_str(replacement).unwrap();
            match (node, last.parse::<usize>()) {
                (Value::Array(items), Ok(i)) if i < items.len() => {
                    if remove { items.remove(i); } else { items[i] = replacement; }
                }
                (Value::Object(map), Err(_)) => {
                    if remove { map.remove(*last); } else { map.insert((*last).to_owned(), replacement); }
                }
                _ => return Ok(()),
            }
            let message = value.to_string();
            if let Some(fast) = plain_metric_alarm(&message) {
                proptest::prop_assert_eq!(Some(fast), general_alarm(&message), "{}", message);
            }
        }
    }
}
