//! Event bytes → notifications. Pure: no I/O, no env.
//!
//! Three delivery shapes reach the function: SNS (`Records[].Sns`), a CloudWatch alarm's
//! direct Lambda action (`alarmData`), and EventBridge (`detail-type`). Fields are read
//! leniently: a missing or `null` optional field never fails an event.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::model::*;

/// Why an event, or one record in it, could not be understood.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    /// The bytes are not JSON.
    #[error("event is not valid JSON: {0}")]
    Json(String),
    /// The JSON is not any event shape this function handles.
    #[error("unrecognised event: expected an SNS event (Records), a CloudWatch alarm action (alarmData) or an EventBridge event (detail-type); got {0}")]
    UnknownShape(String),
    /// An SNS event with an empty `Records` list.
    #[error("SNS event has no records")]
    NoRecords,
    /// A record or field is present but not what AWS sends.
    #[error("{location}: {problem}")]
    Malformed { location: String, problem: String },
}

fn malformed(location: impl Into<String>, problem: impl Into<String>) -> ParseError {
    ParseError::Malformed {
        location: location.into(),
        problem: problem.into(),
    }
}

/// One entry per record: a bad record does not hide the good ones.
pub type Parsed = Vec<Result<Notification, ParseError>>;

/// Parses raw event bytes.
pub fn parse_event_bytes(bytes: &[u8]) -> Result<Parsed, ParseError> {
    if let Some(parsed) = parse_plain_sns(bytes) {
        return Ok(parsed);
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ParseError::Json(e.to_string()))?;
    parse_event(value)
}

/// The common case, an SNS event whose records are all well formed, read without building
/// a JSON tree of the envelope. Anything else returns `None` and takes the general path.
fn parse_plain_sns(bytes: &[u8]) -> Option<Parsed> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<Record<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Record<'a> {
        #[serde(rename = "Sns", borrow)]
        sns: Sns<'a>,
    }
    #[derive(serde::Deserialize)]
    struct Sns<'a> {
        #[serde(rename = "Message", borrow)]
        message: std::borrow::Cow<'a, str>,
        #[serde(rename = "MessageId", default)]
        message_id: Option<String>,
        #[serde(rename = "Subject", default)]
        subject: Option<String>,
        #[serde(rename = "TopicArn", default)]
        topic_arn: Option<String>,
    }
    let envelope: Envelope = serde_json::from_slice(bytes).ok()?;
    if envelope.records.is_empty() {
        return None;
    }
    // Same reading as the general path: blank strings count as absent.
    let present = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    Some(
        envelope
            .records
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let body = parse_sns_message(
                    present(r.sns.subject),
                    &r.sns.message,
                    present(r.sns.topic_arn),
                )
                .map_err(|e| at(format!("Records[{i}]"), e))?;
                Ok(Notification {
                    id: present(r.sns.message_id),
                    body,
                })
            })
            .collect(),
    )
}

/// Parses an event already decoded as JSON (as the Lambda runtime hands it over).
pub fn parse_event(value: Value) -> Result<Parsed, ParseError> {
    let Value::Object(obj) = value else {
        return Err(ParseError::UnknownShape(json_kind(&value).to_owned()));
    };
    if let Some(records) = obj.get("Records") {
        let Value::Array(records) = records else {
            return Err(malformed("Records", "expected an array"));
        };
        if records.is_empty() {
            return Err(ParseError::NoRecords);
        }
        return Ok(records
            .iter()
            .enumerate()
            .map(|(i, r)| parse_sns_record(r).map_err(|e| at(format!("Records[{i}]"), e)))
            .collect());
    }
    if obj.contains_key("alarmData") {
        return Ok(vec![parse_alarm_action(&obj)]);
    }
    if obj.contains_key("detail-type") {
        let id = str_at(&obj, "id");
        return Ok(vec![
            parse_eventbridge(Value::Object(obj)).map(|body| Notification { id, body })
        ]);
    }
    let keys: Vec<&str> = obj.keys().map(String::as_str).take(5).collect();
    Err(ParseError::UnknownShape(format!(
        "an object with keys {keys:?}"
    )))
}

fn at(prefix: String, err: ParseError) -> ParseError {
    match err {
        ParseError::Malformed { location, problem } => {
            malformed(format!("{prefix}.{location}"), problem)
        }
        other => malformed(prefix, other.to_string()),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---- field helpers: lenient readers over JSON objects ----

type Obj = Map<String, Value>;

/// A non-empty string field; numbers and booleans are shown as text.
fn str_at(obj: &Obj, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number field, also accepted as a numeric string.
fn num_at(obj: &Obj, key: &str) -> Option<f64> {
    match obj.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

fn uint_at(obj: &Obj, key: &str) -> Option<u64> {
    num_at(obj, key)
        .filter(|n| *n >= 0.0 && n.fract() == 0.0)
        .map(|n| n as u64)
}

fn obj_at<'a>(obj: &'a Obj, key: &str) -> Option<&'a Obj> {
    obj.get(key)?.as_object()
}

fn arr_at<'a>(obj: &'a Obj, key: &str) -> &'a [Value] {
    obj.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// AWS writes alarm times as `2021-09-02T16:03:39.434+0000`; EventBridge uses RFC 3339.
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn time_at(obj: &Obj, key: &str) -> Option<DateTime<Utc>> {
    str_at(obj, key).as_deref().and_then(parse_time)
}

/// The fields of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub fn parse_arn(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    Some(Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    })
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

// ---- SNS ----

fn parse_sns_record(record: &Value) -> Result<Notification, ParseError> {
    let record = record
        .as_object()
        .ok_or_else(|| malformed("record", "expected an object"))?;
    let sns = obj_at(record, "Sns").ok_or_else(|| malformed("Sns", "missing or not an object"))?;
    let message = match sns.get("Message") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Null) | None => return Err(malformed("Sns.Message", "missing")),
        Some(other) => {
            return Err(malformed(
                "Sns.Message",
                format!("expected a string, got {}", json_kind(other)),
            ))
        }
    };
    let subject = str_at(sns, "Subject");
    let topic_arn = str_at(sns, "TopicArn");
    let body = parse_sns_message(subject, message, topic_arn)?;
    Ok(Notification {
        id: str_at(sns, "MessageId"),
        body,
    })
}

/// Interprets one SNS message: a CloudWatch alarm, an EventBridge event, other JSON, or text.
pub fn parse_sns_message(
    subject: Option<String>,
    message: &str,
    topic_arn: Option<String>,
) -> Result<Body, ParseError> {
    if let Some(alarm) = plain_metric_alarm(message) {
        return Ok(Body::Alarm(Box::new(alarm)));
    }
    if let Ok(value) = serde_json::from_str::<Value>(message) {
        if let Value::Object(obj) = &value {
            if obj.contains_key("AlarmName") {
                return Ok(Body::Alarm(Box::new(alarm_from_sns(obj))));
            }
            if obj.contains_key("detail-type") && obj.contains_key("source") {
                return parse_eventbridge(value).map_err(|e| at("Sns.Message".into(), e));
            }
        }
        if value.is_object() || value.is_array() {
            let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| message.to_owned());
            return Ok(Body::Text(Box::new(TextMessage {
                subject,
                text,
                is_json: true,
                topic_arn,
            })));
        }
    }
    if let Some(budget) = budget_from_text(subject.as_deref(), message) {
        return Ok(Body::Budget(Box::new(budget)));
    }
    if let Some(backup) = backup_from_text(subject.as_deref(), message) {
        return Ok(Body::Backup(Box::new(backup)));
    }
    Ok(Body::Text(Box::new(TextMessage {
        subject,
        text: message.to_owned(),
        is_json: false,
        topic_arn,
    })))
}

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
            .or_else(|| str_at(obj, "Region")),
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
            .or_else(|| text(m.region)),
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

// ---- direct alarm action and EventBridge alarm detail (camelCase) ----

fn parse_alarm_action(obj: &Obj) -> Result<Notification, ParseError> {
    let data =
        obj_at(obj, "alarmData").ok_or_else(|| malformed("alarmData", "expected an object"))?;
    let arn = str_at(obj, "alarmArn");
    let mut alarm = alarm_from_detail(data, arn)?;
    alarm.account = alarm.account.or_else(|| str_at(obj, "accountId"));
    alarm.region = alarm.region.or_else(|| str_at(obj, "region"));
    alarm.time = alarm.time.or_else(|| time_at(obj, "time"));
    // The action event has no id; the alarm ARN and state time identify one transition.
    let id = alarm.time.map(|t| {
        format!(
            "{}@{}",
            alarm.arn.as_deref().unwrap_or(&alarm.name),
            t.timestamp_millis()
        )
    });
    Ok(Notification {
        id,
        body: Body::Alarm(Box::new(alarm)),
    })
}

fn alarm_from_detail(detail: &Obj, arn: Option<String>) -> Result<Alarm, ParseError> {
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

// ---- EventBridge ----

/// Parses an EventBridge event, delivered directly or inside an SNS message.
pub fn parse_eventbridge(value: Value) -> Result<Body, ParseError> {
    let event: EventBridgeEvent<Value> =
        serde_json::from_value(value).map_err(|e| malformed("EventBridge event", e.to_string()))?;
    let empty = Map::new();
    let detail = event.detail.as_object().unwrap_or(&empty);
    let resources = event.resources.clone().unwrap_or_default();
    let source = event.source.as_str();
    let detail_type = event.detail_type.as_str();
    let body = match (source, detail_type) {
        ("aws.cloudwatch", "CloudWatch Alarm State Change") => {
            let mut alarm = alarm_from_detail(detail, resources.first().cloned())
                .map_err(|e| at("detail".into(), e))?;
            alarm.account = alarm.account.or_else(|| event.account.clone());
            alarm.region = alarm.region.or_else(|| event.region.clone());
            alarm.time = alarm.time.or(event.time);
            Body::Alarm(Box::new(alarm))
        }
        ("aws.health", _) => Body::Health(Box::new(health(detail, &event))),
        ("aws.guardduty", "GuardDuty Finding") => {
            Body::GuardDuty(Box::new(guardduty(detail, &event)))
        }
        ("aws.securityhub", t)
            if t.starts_with("Security Hub Findings") && !arr_at(detail, "findings").is_empty() =>
        {
            Body::SecurityHub(Box::new(securityhub(detail, &event)))
        }
        ("aws.backup", t) if t.ends_with("Job State Change") => {
            Body::Backup(Box::new(backup(detail, &event)))
        }
        _ => Body::Event(Box::new(GenericEvent {
            source: event.source.clone(),
            detail_type: event.detail_type.clone(),
            account: event.account.clone(),
            region: event.region.clone(),
            time: event.time,
            resources,
            detail: event.detail.clone(),
        })),
    };
    Ok(body)
}

fn health(d: &Obj, event: &EventBridgeEvent<Value>) -> HealthEvent {
    let description = arr_at(d, "eventDescription")
        .iter()
        .filter_map(Value::as_object)
        .find(|x| str_at(x, "language").is_none_or(|l| l.starts_with("en")))
        .or_else(|| {
            arr_at(d, "eventDescription")
                .first()
                .and_then(Value::as_object)
        })
        .and_then(|x| str_at(x, "latestDescription"));
    HealthEvent {
        service: str_at(d, "service"),
        event_type_code: str_at(d, "eventTypeCode"),
        category: str_at(d, "eventTypeCategory"),
        status: str_at(d, "statusCode"),
        scope: str_at(d, "eventScopeCode"),
        description,
        start_time: str_at(d, "startTime"),
        end_time: str_at(d, "endTime"),
        affected_entities: arr_at(d, "affectedEntities")
            .iter()
            .filter_map(|e| e.as_object().and_then(|e| str_at(e, "entityValue")))
            .collect(),
        event_arn: str_at(d, "eventArn"),
        account: event.account.clone(),
        region: str_at(d, "eventRegion").or_else(|| event.region.clone()),
    }
}

fn guardduty(d: &Obj, event: &EventBridgeEvent<Value>) -> GuardDutyFinding {
    GuardDutyFinding {
        title: str_at(d, "title"),
        finding_type: str_at(d, "type"),
        severity: num_at(d, "severity"),
        description: str_at(d, "description"),
        resource_type: obj_at(d, "resource").and_then(|r| str_at(r, "resourceType")),
        finding_id: str_at(d, "id"),
        account: str_at(d, "accountId").or_else(|| event.account.clone()),
        region: str_at(d, "region").or_else(|| event.region.clone()),
        partition: str_at(d, "partition"),
        count: obj_at(d, "service").and_then(|s| uint_at(s, "count")),
        updated_at: str_at(d, "updatedAt"),
    }
}

fn securityhub(d: &Obj, event: &EventBridgeEvent<Value>) -> SecurityHubFinding {
    let findings = arr_at(d, "findings");
    let empty = Map::new();
    let f = findings
        .first()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    SecurityHubFinding {
        title: str_at(f, "Title"),
        severity_label: obj_at(f, "Severity").and_then(|s| str_at(s, "Label")),
        description: str_at(f, "Description"),
        product: str_at(f, "ProductName").or_else(|| str_at(f, "GeneratorId")),
        compliance_status: obj_at(f, "Compliance").and_then(|c| str_at(c, "Status")),
        workflow_status: obj_at(f, "Workflow").and_then(|w| str_at(w, "Status")),
        resources: arr_at(f, "Resources")
            .iter()
            .filter_map(|r| {
                let r = r.as_object()?;
                let id = str_at(r, "Id")?;
                Some(match str_at(r, "Type") {
                    Some(t) => format!("{t} {id}"),
                    None => id,
                })
            })
            .collect(),
        account: str_at(f, "AwsAccountId").or_else(|| event.account.clone()),
        region: str_at(f, "Region").or_else(|| event.region.clone()),
        finding_id: str_at(f, "Id"),
        updated_at: str_at(f, "UpdatedAt"),
        total_findings: findings.len(),
    }
}

fn backup(d: &Obj, event: &EventBridgeEvent<Value>) -> BackupJob {
    let (job_kind, job_id) = [
        ("Backup job", "backupJobId"),
        ("Copy job", "copyJobId"),
        ("Restore job", "restoreJobId"),
    ]
    .iter()
    .find_map(|(kind, key)| str_at(d, key).map(|id| ((*kind).to_owned(), id)))
    .map_or((None, None), |(k, id)| (Some(k), Some(id)));
    BackupJob {
        job_kind: job_kind.or_else(|| {
            Some(
                event
                    .detail_type
                    .trim_end_matches(" State Change")
                    .to_owned(),
            )
        }),
        job_id,
        state: str_at(d, "state").or_else(|| str_at(d, "status")),
        status_message: str_at(d, "statusMessage"),
        vault: str_at(d, "backupVaultName").or_else(|| str_at(d, "destinationBackupVaultArn")),
        resource_arn: str_at(d, "resourceArn"),
        resource_type: str_at(d, "resourceType"),
        account: event.account.clone(),
        region: event.region.clone(),
        time: str_at(d, "completionDate").or_else(|| str_at(d, "creationDate")),
    }
}

// ---- text notifications ----

/// `Key: Value` and `Key : Value` lines, in order.
fn key_value_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (k, v) = line.split_once(':')?;
            let (k, v) = (k.trim(), v.trim());
            let plausible_key =
                !k.is_empty() && k.len() <= 40 && !k.contains("//") && !k.starts_with('[');
            (plausible_key && !v.is_empty() && !v.starts_with("//"))
                .then(|| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

fn budget_from_text(subject: Option<&str>, text: &str) -> Option<BudgetAlert> {
    let is_budget = subject.is_some_and(|s| s.starts_with("AWS Budgets"))
        || text.trim_start().starts_with("AWS Budget Notification");
    if !is_budget {
        return None;
    }
    let account = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("AWS Account"))
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    let summary = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("You requested that we alert you"))
        .map(str::to_owned);
    Some(BudgetAlert {
        subject: subject.map(str::to_owned),
        summary,
        account,
        fields: key_value_lines(text),
    })
}

fn backup_from_text(subject: Option<&str>, text: &str) -> Option<BackupJob> {
    let is_backup = subject.is_some_and(|s| s.contains("AWS Backup"))
        || text.trim_start().starts_with("An AWS Backup job");
    if !is_backup {
        return None;
    }
    // AWS Backup writes `Key : Value` pairs as sentences on one line.
    let fields = key_value_lines(&text.replace(". ", "\n"));
    let find = |needle: &str| {
        fields
            .iter()
            .find(|(k, _)| k.to_ascii_lowercase().replace(' ', "").contains(needle))
            .map(|(_, v)| v.clone())
    };
    let first_sentence = text
        .split(['.', '\n'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let resource_arn = find("resourcearn");
    let arn = resource_arn.as_deref().and_then(parse_arn);
    Some(BackupJob {
        job_kind: Some("Backup job".into()),
        job_id: find("backupjobid").or_else(|| find("jobid")),
        state: find("state").or_else(|| {
            let lower = first_sentence.to_ascii_lowercase();
            ["completed", "failed", "expired", "aborted", "started"]
                .into_iter()
                .find(|w| lower.contains(w))
                .map(|w| w.to_ascii_uppercase())
        }),
        status_message: non_empty(&first_sentence),
        vault: find("vault"),
        account: arn.as_ref().and_then(|a| non_empty(a.account)),
        region: arn.as_ref().and_then(|a| non_empty(a.region)),
        resource_arn,
        resource_type: None,
        time: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sns_fast_path_agrees_with_the_general_path() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
        let mut checked = 0;
        for entry in std::fs::read_dir(root).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let general = parse_event(serde_json::from_slice(&bytes).unwrap()).unwrap();
            if let Some(fast) = parse_plain_sns(&bytes) {
                assert_eq!(fast, general);
                checked += 1;
            }
        }
        assert!(checked >= 9, "{checked}");
        // Wrong types fall back to the general path, which reads them leniently.
        let odd = br#"{"Records":[{"Sns":{"Message":"hi","Subject":7,"MessageId":"  "}}]}"#;
        assert!(parse_plain_sns(odd).is_none());
        assert!(parse_event_bytes(odd).unwrap()[0].is_ok());
    }

    /// Every alarm message in the repository's events and fixtures.
    fn alarm_messages() -> Vec<String> {
        let mut out = Vec::new();
        for dir in ["events", "tests/fixtures"] {
            let root = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
            for entry in std::fs::read_dir(root).unwrap() {
                let bytes = std::fs::read(entry.unwrap().path()).unwrap();
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

    #[test]
    fn times_in_both_aws_formats() {
        let a = parse_time("2021-09-02T16:03:39.434+0000").unwrap();
        let b = parse_time("2021-09-02T16:03:39.434Z").unwrap();
        assert_eq!(a, b);
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn arn_fields() {
        let arn = parse_arn("arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:a:b").unwrap();
        assert_eq!(
            (arn.partition, arn.region, arn.account, arn.resource),
            ("aws-cn", "cn-north-1", "123456789012", "alarm:a:b")
        );
        assert!(parse_arn("not-an-arn").is_none());
    }

    #[test]
    fn top_level_shapes_that_are_not_events_are_errors() {
        for input in ["null", "[]", "42", "\"x\"", "{}", "{\"foo\":1}"] {
            let err = parse_event_bytes(input.as_bytes()).unwrap_err();
            assert!(matches!(err, ParseError::UnknownShape(_)), "{input}: {err}");
        }
        assert_eq!(
            parse_event_bytes(b"{\"Records\":[]}").unwrap_err(),
            ParseError::NoRecords
        );
        assert!(matches!(
            parse_event_bytes(b"{\"Records\":").unwrap_err(),
            ParseError::Json(_)
        ));
    }

    #[test]
    fn a_bad_record_does_not_hide_the_good_one() {
        let event =
            r#"{"Records":[{"Sns":{"Message":"hello","MessageId":"1"}},{"Sns":{"Message":7}}]}"#;
        let parsed = parse_event_bytes(event.as_bytes()).unwrap();
        assert!(parsed[0].is_ok());
        let err = parsed[1].as_ref().unwrap_err().to_string();
        assert!(err.contains("Records[1].Sns.Message"), "{err}");
    }

    #[test]
    fn null_description_and_missing_trigger_are_fine() {
        let msg = r#"{"AlarmName":"a","AlarmDescription":null,"NewStateValue":"ALARM","NewStateReason":null}"#;
        let Body::Alarm(alarm) = parse_sns_message(None, msg, None).unwrap() else {
            panic!("not an alarm")
        };
        assert_eq!(alarm.description, None);
        assert_eq!(alarm.kind, AlarmKind::Unknown);
        assert_eq!(alarm.state, AlarmState::Alarm);
    }

    #[test]
    fn wrong_types_in_alarm_fields_degrade_to_missing() {
        let msg = r#"{"AlarmName":["x"],"NewStateValue":5,"StateChangeTime":{},"Trigger":{"MetricName":1,"Threshold":"abc","Period":-3,"Dimensions":"x"}}"#;
        let Body::Alarm(alarm) = parse_sns_message(None, msg, None).unwrap() else {
            panic!("not an alarm")
        };
        assert_eq!(alarm.name, "(unnamed alarm)");
        let AlarmKind::Metric(m) = alarm.kind else {
            panic!("{:?}", alarm.kind)
        };
        assert_eq!(m.evaluation.threshold, None);
        assert_eq!(m.evaluation.period_seconds, None);
        assert!(m.metric.dimensions.is_empty());
    }

    #[test]
    fn plain_json_is_pretty_printed_text() {
        let Body::Text(t) = parse_sns_message(Some("s".into()), r#"{"a":1}"#, None).unwrap() else {
            panic!()
        };
        assert!(t.is_json);
        assert_eq!(t.text, "{\n  \"a\": 1\n}");
    }

    #[test]
    fn key_value_lines_skip_urls() {
        let kv = key_value_lines(
            "Budget Name: x\n[1] https://example.com\nhttps://a.b/c\nAlert Type : ACTUAL",
        );
        assert_eq!(
            kv,
            vec![
                ("Budget Name".into(), "x".into()),
                ("Alert Type".into(), "ACTUAL".into())
            ]
        );
    }
}
