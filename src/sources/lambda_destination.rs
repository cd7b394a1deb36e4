//! Lambda invocation records, which an asynchronously invoked function sends to its
//! on-failure or on-success destination: as JSON on SNS, or as EventBridge's "Lambda
//! Function Invocation Result - Failure" / "- Success" (`lambda`), the record as detail.
//!
//! A record of a failure (retries exhausted, the event too old to run) is red: the event
//! was dropped, and only the record is left of it. A success is green.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, SnsMessage, Source};
use crate::model::card::{Card, Part, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::both("lambda-destination", from_event, from_sns);

/// Enough of the event that failed to recognise it.
const MAX_PAYLOAD_LINES: usize = 15;
/// Enough of a stack trace to see where it failed.
const MAX_TRACE_LINES: usize = 10;

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    let ours = event.source == "lambda"
        && event
            .detail_type
            .starts_with("Lambda Function Invocation Result");
    ours.then(|| Ok(Body::new(read(detail))))
}

/// A record names its function and why it was sent.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let obj = message.object()?;
    let context = obj_at(obj, "requestContext")?;
    let ours = str_at(context, "functionArn").is_some() && str_at(context, "condition").is_some();
    ours.then(|| Body::new(read(obj)))
}

/// What became of one asynchronous invocation.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct InvocationRecord {
    /// `arn:aws:lambda:…:function:<name>[:<qualifier>]`.
    pub function_arn: Option<String>,
    /// `Success`, `RetriesExhausted`, `EventAgeExceeded`, …
    pub condition: Option<String>,
    pub attempts: Option<u64>,
    pub request_id: Option<String>,
    pub status_code: Option<u64>,
    pub executed_version: Option<String>,
    /// `Handled` or `Unhandled`, when the function returned an error.
    pub function_error: Option<String>,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub trace: Vec<String>,
    /// The event it was invoked with, as `path: value` lines.
    pub request: Vec<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(d: &Obj) -> InvocationRecord {
    let request = obj_at(d, "requestContext");
    let response = obj_at(d, "responseContext");
    let payload = d.get("responsePayload");
    // An error is an object; a runtime that crashed may leave a JSON string or text.
    let parsed = match payload {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
        other => other.cloned(),
    };
    let error = parsed.as_ref().and_then(Value::as_object);
    let text = |o: Option<&Obj>, key: &str| o.and_then(|o| str_at(o, key));
    let raw_text = payload.and_then(Value::as_str).filter(|_| error.is_none());
    InvocationRecord {
        function_arn: text(request, "functionArn"),
        condition: text(request, "condition"),
        attempts: request.and_then(|r| uint_at(r, "approximateInvokeCount")),
        request_id: text(request, "requestId"),
        status_code: response.and_then(|r| uint_at(r, "statusCode")),
        executed_version: text(response, "executedVersion"),
        function_error: text(response, "functionError"),
        error_type: text(error, "errorType"),
        error_message: text(error, "errorMessage").or_else(|| raw_text.and_then(non_empty)),
        trace: error
            .map(|e| arr_at(e, "trace"))
            .unwrap_or_default()
            .iter()
            .filter_map(|l| l.as_str().map(str::to_owned))
            .collect(),
        request: d
            .get("requestPayload")
            .filter(|p| !p.is_null())
            .map(|p| path_value_lines(p, MAX_PAYLOAD_LINES))
            .unwrap_or_default(),
        time: time_at(d, "timestamp"),
    }
}

impl InvocationRecord {
    /// Anything but a success is a failure.
    pub(crate) fn failed(&self) -> bool {
        !self
            .condition
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("success"))
            || self.function_error.is_some()
    }

    pub(crate) fn severity(&self) -> Severity {
        if self.failed() {
            Severity::Error
        } else {
            Severity::Ok
        }
    }

    /// The function's name, without its version or alias.
    pub(crate) fn function(&self) -> Option<&str> {
        let arn = self.function_arn.as_deref()?;
        let after = parse_arn(arn)
            .and_then(|a| a.resource.strip_prefix("function:"))
            .unwrap_or(arn);
        after.split(':').next().filter(|name| !name.is_empty())
    }

    /// `errorType: errorMessage`, or the condition in words.
    fn why(&self) -> String {
        match (self.error_type.as_deref(), self.error_message.as_deref()) {
            (Some(kind), Some(message)) => format!("{kind}: {message}"),
            (kind, message) => kind
                .or(message)
                .map(str::to_owned)
                .unwrap_or_else(|| humanise(self.condition.as_deref().unwrap_or("no reason given")).to_lowercase()),
        }
    }

    /// ` (after 3 attempts)`; nothing when unknown.
    fn attempts_text(&self) -> String {
        match self.attempts {
            Some(0) => " (never ran)".to_owned(),
            Some(1) => " (after 1 attempt)".to_owned(),
            Some(n) => format!(" (after {n} attempts)"),
            None => String::new(),
        }
    }

    fn console_url(&self) -> Option<String> {
        let arn = parse_arn(self.function_arn.as_deref()?)?;
        service_console_url(
            arn.partition,
            Some(arn.region),
            &format!(
                "lambda/home?region={{region}}#/functions/{}",
                url_encode(self.function()?)
            ),
        )
    }
}

notice!(InvocationRecord, card, |it| it.function().unwrap_or_default().to_owned());

/// The record as a card: `Lambda <function> failed: <errorType>: <errorMessage> (after N
/// attempts)`, the trace, the event, and a link to the function.
pub(crate) fn card(r: &InvocationRecord) -> Card {
    let severity = r.severity();
    let function = r.function().unwrap_or("function");
    let attempts = r.attempts_text();
    let (title, headline) = if r.failed() {
        let why = r.why();
        (
            format!("Lambda {function} failed"),
            format!(
                "Lambda {} failed: {}{attempts}",
                escape(function),
                escape_within(&why, 250)
            ),
        )
    } else {
        // A first-time success needs no count.
        let attempts = if r.attempts > Some(1) { attempts.as_str() } else { "" };
        let text = format!("Lambda {function} succeeded{attempts}");
        (text.clone(), escape(&text))
    };
    let mut m = Card::new(severity.emoji("λ"), title, headline, severity);
    if r.failed() {
        m.titled("Error", Some(r.why().as_str()));
    }
    if !r.trace.is_empty() {
        let trace: Vec<&str> = r.trace.iter().take(MAX_TRACE_LINES).map(String::as_str).collect();
        m.parts.push(Part::Code(trace.join("\n")));
    }
    m.fields(vec![
        ("Function", Some(escape(function))),
        ("Version", r.executed_version.as_deref().map(escape)),
        ("Condition", r.condition.as_deref().map(code)),
        ("Attempts", r.attempts.map(|n| n.to_string())),
        ("Function error", r.function_error.as_deref().map(escape)),
        ("Status code", r.status_code.map(|c| c.to_string())),
        ("Request", r.request_id.as_deref().map(code)),
        ("Time", when(r.time)),
    ]);
    m.titled("Event", Some(r.request.join("\n").as_str()));
    m.link("Open the function", r.console_url());
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(message: Value) -> Option<Card> {
        let text = message.to_string();
        from_sns(&SnsMessage::new(None, &text, None)).map(|b| b.card())
    }

    #[test]
    fn a_failure_names_the_function_the_error_and_the_attempts() {
        let card = record(json!({
            "version": "1.0",
            "timestamp": "2026-11-20T10:12:05.568Z",
            "requestContext": {
                "requestId": "e4b46cbf", "condition": "RetriesExhausted", "approximateInvokeCount": 3,
                "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:resize-images:$LATEST"
            },
            "requestPayload": {"key": "a.png"},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "<Boom>", "errorMessage": "disk full", "trace": ["at x"]}
        }))
        .unwrap();
        assert_eq!(
            card.headline,
            "Lambda resize-images failed: &lt;Boom&gt;: disk full (after 3 attempts)"
        );
        assert_eq!(card.severity, Severity::Error);
        let parts = format!("{:?}", card.parts);
        assert!(parts.contains("key: a.png") && parts.contains("at x"), "{parts}");
        assert!(
            parts.contains("https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/resize-images"),
            "{parts}"
        );
    }

    #[test]
    fn an_old_event_a_crash_and_a_success() {
        let old = record(json!({
            "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:f", "condition": "EventAgeExceeded", "approximateInvokeCount": 0}
        }))
        .unwrap();
        assert_eq!(old.headline, "Lambda f failed: event age exceeded (never ran)");
        let crash = record(json!({
            "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:f:live", "condition": "RetriesExhausted", "approximateInvokeCount": 1},
            "responsePayload": "RequestId: 1 Error: Runtime exited with error: signal: killed"
        }))
        .unwrap();
        assert_eq!(
            crash.headline,
            "Lambda f failed: RequestId: 1 Error: Runtime exited with error: signal: killed (after 1 attempt)"
        );
        let ok = record(json!({
            "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:f", "condition": "Success", "approximateInvokeCount": 1},
            "responseContext": {"statusCode": 200}, "responsePayload": {"done": true}
        }))
        .unwrap();
        assert_eq!(ok.headline, "Lambda f succeeded");
        assert_eq!(ok.severity, Severity::Ok);
    }

    #[test]
    fn odd_records_do_not_panic_and_others_are_not_claimed() {
        let card = record(json!({
            "requestContext": {"functionArn": "not-an-arn", "condition": 7, "approximateInvokeCount": -2},
            "responsePayload": [1], "requestPayload": "text", "timestamp": null
        }))
        .unwrap();
        assert_eq!(card.headline, "Lambda not-an-arn failed: 7");
        assert!(record(json!({"requestContext": {"functionArn": "x"}})).is_none());
        assert!(record(json!({"requestContext": "x", "condition": "Success"})).is_none());
    }
}
