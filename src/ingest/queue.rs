//! The queue shape: an SQS batch whose records each carry one notification. Pure: no I/O.
//!
//! A record's body is one of three things: an SNS notification as SNS delivers it to a
//! subscribed queue (the JSON envelope with `Type`, `MessageId`, `TopicArn`, `Subject` and
//! `Message`), an EventBridge event (a rule with a queue target), or a raw message (raw
//! delivery on). What is inside goes through the same sources as the SNS path.

use serde_json::{Map, Value};

use crate::model::{at, malformed, Notification, ParseError};
use crate::sources::shared::str_at;
use crate::sources::{read_event, read_sns_message};

/// One record of a batch: its SQS message id (what a partial batch response names) and
/// what it carries.
#[derive(Debug)]
pub(crate) struct QueueRecord {
    pub message_id: String,
    pub notification: Result<Notification, ParseError>,
}

/// Whether `records` is an SQS batch rather than SNS records.
pub(crate) fn is_queue_batch(records: &[Value]) -> bool {
    records
        .first()
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some("aws:sqs")
}

/// Reads every record of an SQS batch; a bad record does not hide the good ones. A record
/// without a `messageId` cannot be named in a partial batch response, so it fails the batch.
pub(crate) fn parse_queue_batch(records: &[Value]) -> Result<Vec<QueueRecord>, ParseError> {
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let record = record
                .as_object()
                .ok_or_else(|| malformed(format!("Records[{i}]"), "expected an object"))?;
            let message_id = str_at(record, "messageId").ok_or_else(|| {
                malformed(
                    format!("Records[{i}].messageId"),
                    "missing: the record cannot be named",
                )
            })?;
            let notification =
                parse_record(record, &message_id).map_err(|e| at(format!("Records[{i}]"), e));
            Ok(QueueRecord {
                message_id,
                notification,
            })
        })
        .collect()
}

fn parse_record(record: &Map<String, Value>, message_id: &str) -> Result<Notification, ParseError> {
    let body = match record.get("body") {
        Some(Value::String(body)) if !body.trim().is_empty() => body.as_str(),
        Some(Value::String(_)) | Some(Value::Null) | None => {
            return Err(malformed("body", "empty: not a notification"))
        }
        Some(_) => return Err(malformed("body", "expected a string")),
    };
    let json: Option<Map<String, Value>> = match serde_json::from_str(body) {
        Ok(Value::Object(obj)) => Some(obj),
        _ => None,
    };
    let Some(obj) = json else {
        // Raw delivery of a text message.
        return raw(message_id, body);
    };
    if obj.get("Type").and_then(Value::as_str) == Some("Notification") {
        let message = match obj.get("Message") {
            Some(Value::String(m)) => m.as_str(),
            _ => {
                return Err(malformed(
                    "body.Message",
                    "an SNS notification without a message",
                ))
            }
        };
        let (body, origin) =
            read_sns_message(str_at(&obj, "Subject"), message, str_at(&obj, "TopicArn"))
                .map_err(|e| at("body".into(), e))?;
        return Ok(Notification {
            // The SNS message id: the same notification redelivered, through SNS or a queue,
            // has the same one.
            id: str_at(&obj, "MessageId").or_else(|| Some(message_id.to_owned())),
            body,
            origin,
        });
    }
    if obj.contains_key("detail-type") && obj.contains_key("detail") {
        let id = str_at(&obj, "id").or_else(|| Some(message_id.to_owned()));
        let (body, origin) = read_event(Value::Object(obj)).map_err(|e| at("body".into(), e))?;
        return Ok(Notification { id, body, origin });
    }
    // Raw delivery of a JSON message: an alarm, or another service's document.
    raw(message_id, body)
}

/// A message delivered raw (SNS raw delivery on): no envelope says where it came from.
fn raw(message_id: &str, body: &str) -> Result<Notification, ParseError> {
    let (body, origin) = read_sns_message(None, body, None)?;
    Ok(Notification {
        id: Some(message_id.to_owned()),
        body,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Body;

    fn record(id: &str, body: Value) -> Value {
        serde_json::json!({"messageId": id, "eventSource": "aws:sqs", "body": body})
    }

    #[test]
    fn each_body_shape_is_read() {
        let alarm = r#"{"AlarmName":"cpu","NewStateValue":"ALARM","NewStateReason":"r"}"#;
        let envelope = serde_json::json!({
            "Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
            "Subject": "ALARM: cpu", "Message": alarm,
        })
        .to_string();
        let event = r#"{"version":"0","id":"ev-1","detail-type":"x","source":"y","account":"1","time":"2026-11-20T08:14:55Z","region":"us-east-1","resources":[],"detail":{}}"#;
        let records = vec![
            record("m-1", envelope.into()),
            record("m-2", alarm.into()),
            record("m-3", event.into()),
            record("m-4", "disk almost full".into()),
        ];
        assert!(is_queue_batch(&records));
        let parsed = parse_queue_batch(&records).unwrap();
        let ids: Vec<_> = parsed
            .iter()
            .map(|r| {
                (
                    r.message_id.as_str(),
                    r.notification.as_ref().unwrap().id.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            ids,
            [
                ("m-1", Some("sns-1")),
                ("m-2", Some("m-2")),
                ("m-3", Some("ev-1")),
                ("m-4", Some("m-4"))
            ]
        );
        assert!(matches!(
            parsed[0].notification.as_ref().unwrap().body,
            Body::Alarm(_)
        ));
        assert!(matches!(
            parsed[1].notification.as_ref().unwrap().body,
            Body::Alarm(_)
        ));
        assert_eq!(
            parsed[2].notification.as_ref().unwrap().body.describe().0,
            "event"
        );
        assert_eq!(
            parsed[3].notification.as_ref().unwrap().body.describe().0,
            "text"
        );
    }

    #[test]
    fn poison_records_fail_alone() {
        let records = vec![
            record("ok", "hello".into()),
            record("empty", "  ".into()),
            record("null", Value::Null),
            record("number", 7.into()),
            record(
                "envelope",
                r#"{"Type":"Notification","MessageId":"x"}"#.into(),
            ),
        ];
        let parsed = parse_queue_batch(&records).unwrap();
        assert!(parsed[0].notification.is_ok());
        for r in &parsed[1..] {
            let err = r.notification.as_ref().unwrap_err().to_string();
            assert!(err.starts_with("Records["), "{}: {err}", r.message_id);
        }
        let err = parsed[4].notification.as_ref().unwrap_err().to_string();
        assert!(err.contains("without a message"), "{err}");
    }

    #[test]
    fn a_record_without_an_id_fails_the_batch() {
        let records = vec![serde_json::json!({"eventSource": "aws:sqs", "body": "x"})];
        let err = parse_queue_batch(&records).unwrap_err().to_string();
        assert!(err.contains("Records[0].messageId"), "{err}");
        assert!(!is_queue_batch(&[serde_json::json!({"Sns": {}})]));
    }
}
