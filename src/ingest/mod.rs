//! Event bytes → notifications: the envelopes. Pure: no I/O, no env.
//!
//! Four delivery shapes reach the function: SNS (`Records[].Sns`), an SQS batch
//! (`Records[].body`, see [`crate::queue`]), a CloudWatch alarm's direct Lambda action
//! (`alarmData`), and EventBridge (`detail-type`). Each is unwrapped
//! here, and what it carries goes to the [`crate::sources`] registry. Fields are read
//! leniently: a missing or `null` optional field never fails an event.

use serde_json::Value;

pub(crate) mod queue;

use crate::model::{at, malformed, Body, Notification, ParseError};
use crate::sources::shared::{obj_at, str_at, time_at, Obj};
use crate::sources::{cloudwatch_alarm, read_event, read_sns_message};
use queue::QueueRecord;

/// One entry per record: a bad record does not hide the good ones.
pub(crate) type Parsed = Vec<Result<Notification, ParseError>>;

/// How an invocation's notifications arrived.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// A batch from an SQS queue: each record named by its message id, answered with a
    /// partial batch response.
    Queue(Vec<QueueRecord>),
    /// SNS records, an alarm action or an EventBridge event: the invocation fails as a whole.
    Direct(Parsed),
}

/// Parses raw event bytes, keeping an SQS batch's record ids.
pub(crate) fn parse_delivery(bytes: &[u8]) -> Result<Delivery, ParseError> {
    if let Some(parsed) = parse_plain_sns(bytes) {
        return Ok(Delivery::Direct(parsed));
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ParseError::Json(e.to_string()))?;
    if let Some(Value::Array(records)) = value.get("Records") {
        if queue::is_queue_batch(records) {
            return queue::parse_queue_batch(records).map(Delivery::Queue);
        }
    }
    parse_event(value).map(Delivery::Direct)
}

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
                let (body, origin) = read_sns_message(
                    present(r.sns.subject),
                    &r.sns.message,
                    present(r.sns.topic_arn),
                )
                .map_err(|e| at(format!("Records[{i}]"), e))?;
                Ok(Notification {
                    id: present(r.sns.message_id),
                    body,
                    origin,
                })
            })
            .collect(),
    )
}

/// Parses an event already decoded as JSON (as the Lambda runtime hands it over).
pub(crate) fn parse_event(value: Value) -> Result<Parsed, ParseError> {
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
        if queue::is_queue_batch(records) {
            let batch = queue::parse_queue_batch(records)?;
            return Ok(batch.into_iter().map(|r| r.notification).collect());
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
            read_event(Value::Object(obj)).map(|(body, origin)| Notification { id, body, origin })
        ]);
    }
    let keys: Vec<&str> = obj.keys().map(String::as_str).take(5).collect();
    Err(ParseError::UnknownShape(format!(
        "an object with keys {keys:?}"
    )))
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
    let (body, origin) = read_sns_message(subject, message, topic_arn)?;
    Ok(Notification {
        id: str_at(sns, "MessageId"),
        body,
        origin,
    })
}

// ---- direct alarm action ----

/// The direct alarm action: the alarm detail under `alarmData`, the rest around it.
fn parse_alarm_action(obj: &Obj) -> Result<Notification, ParseError> {
    let data =
        obj_at(obj, "alarmData").ok_or_else(|| malformed("alarmData", "expected an object"))?;
    let arn = str_at(obj, "alarmArn");
    let mut alarm = cloudwatch_alarm::alarm_from_detail(data, arn)?;
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
    Ok(Notification::new(id, Body::Alarm(Box::new(alarm))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alarm::{AlarmKind, AlarmState};
    use crate::sources::{parse_eventbridge, parse_sns_message, REGISTRY};

    #[test]
    fn the_sns_fast_path_agrees_with_the_general_path() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/events");
        let mut checked = 0;
        for entry in std::fs::read_dir(root).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let general = parse_event(serde_json::from_slice(&bytes).unwrap()).unwrap();
            if let Some(fast) = parse_plain_sns(&bytes) {
                assert_eq!(format!("{fast:?}"), format!("{general:?}"));
                checked += 1;
            }
        }
        assert!(checked >= 9, "{checked}");
        // Wrong types fall back to the general path, which reads them leniently.
        let odd = br#"{"Records":[{"Sns":{"Message":"hi","Subject":7,"MessageId":"  "}}]}"#;
        assert!(parse_plain_sns(odd).is_none());
        assert!(parse_event_bytes(odd).unwrap()[0].is_ok());
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
    fn plain_json_is_path_value_text() {
        let body = parse_sns_message(Some("s".into()), r#"{"a":1}"#, None).unwrap();
        assert_eq!(body.describe(), ("text", "s".to_owned()));
        let card = format!("{:?}", body.card().parts);
        assert!(card.contains(r#"Text("a: 1")"#), "{card}");
    }

    #[test]
    fn the_last_resorts_come_last_and_claim_everything() {
        let first = REGISTRY.iter().position(|s| s.last_resort).unwrap();
        assert!(REGISTRY[first..].iter().all(|s| s.last_resort));
        assert!(REGISTRY[first..].iter().any(|s| s.event.is_some()));
        assert!(REGISTRY.last().unwrap().sns.is_some());
    }

    /// The order the SNS if-chain had before sources were modules.
    #[test]
    fn sns_messages_are_claimed_in_the_old_order() {
        let kind = |subject: Option<&str>, message: &str| {
            let body = parse_sns_message(subject.map(str::to_owned), message, None).unwrap();
            body.describe().0
        };
        // An alarm's JSON is claimed before an EventBridge event inside SNS is unwrapped.
        let both = r#"{"AlarmName":"a","detail-type":"x","source":"y","detail":{}}"#;
        assert_eq!(kind(None, both), "alarm");
        let event = r#"{"version":"0","id":"1","detail-type":"x","source":"y","account":"1","time":"2026-11-20T08:14:55Z","region":"us-east-1","resources":[],"detail":{}}"#;
        assert_eq!(kind(None, event), "event");
        // Text forms never claim a JSON document, whatever the subject says.
        assert_eq!(kind(Some("AWS Budgets: b"), r#"{"a":1}"#), "text");
        assert_eq!(kind(Some("AWS Backup job"), "[1]"), "text");
        assert_eq!(kind(Some("AWS Budgets: b"), "42"), "budget");
        // Budgets before Backup.
        assert_eq!(kind(Some("AWS Budgets: AWS Backup costs"), "x"), "budget");
        assert_eq!(kind(Some("AWS Backup"), "x"), "backup");
        assert_eq!(kind(None, "hello"), "text");
    }

    fn describe_all(bytes: &str) -> Vec<(&'static str, String)> {
        parse_event_bytes(bytes.as_bytes())
            .unwrap()
            .into_iter()
            .map(|n| n.unwrap().body.describe())
            .collect()
    }

    #[test]
    fn a_guardduty_finding_without_a_source_is_still_a_finding() {
        let finding = r#"{"detail-type":"GuardDuty Finding","detail":{"type":"Recon:EC2/Portscan","severity":5}}"#;
        let guardduty = ("guardduty", "Recon:EC2/Portscan".to_owned());
        assert_eq!(describe_all(finding), vec![guardduty.clone()]);
        let sns = serde_json::json!({"Records": [{"Sns": {"Message": finding}}]}).to_string();
        assert_eq!(describe_all(&sns), vec![guardduty]);
        // Another service's source is not GuardDuty's, whatever its detail-type.
        let other = finding.replace("{\"detail-type\"", "{\"source\":\"my.app\",\"detail-type\"");
        assert_eq!(describe_all(&other)[0].0, "event");
    }

    #[test]
    fn an_odd_envelope_is_a_generic_event_not_an_error() {
        for event in [
            r#"{"detail-type":"x"}"#,
            r#"{"detail-type":null,"source":null,"detail":null}"#,
            r#"{"detail-type":5,"source":["a"],"time":"yesterday","resources":"r","account":1,"id":{},"detail":[1]}"#,
            r#"{"detail-type":"x","source":"y","time":"2021-09-02T16:03:39.434+0000","resources":[1,"arn:aws:s3:::b"]}"#,
        ] {
            let described = describe_all(event);
            assert_eq!(described[0].0, "event", "{event}");
        }
        let Ok(body) = parse_eventbridge(serde_json::json!({"detail-type": "x"})) else {
            panic!()
        };
        assert_eq!(body.card().headline, "x");
        let Ok(body) = parse_eventbridge(serde_json::json!({"detail": {}})) else {
            panic!()
        };
        assert_eq!(body.card().headline, "EventBridge event");
    }

    #[test]
    fn an_sns_message_carries_an_event_with_a_source_or_a_detail() {
        let kind = |message: &str| parse_sns_message(None, message, None).unwrap().describe().0;
        assert_eq!(kind(r#"{"detail-type":"x","detail":{}}"#), "event");
        assert_eq!(kind(r#"{"detail-type":"x","source":"y"}"#), "event");
        // Some JSON that happens to have a `detail-type` key is just JSON.
        assert_eq!(kind(r#"{"detail-type":"x","other":1}"#), "text");
        assert_eq!(kind(r#"{"detail-type":7,"detail":{}}"#), "text");
    }
}
