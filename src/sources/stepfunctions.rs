//! Step Functions executions (`aws.states`, "Step Functions Execution Status Change").

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("stepfunctions", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.states" && event.detail_type == "Step Functions Execution Status Change")
        .then(|| Ok(Body::new(read(detail, event))))
}

/// An execution of a state machine that changed status.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Execution {
    pub execution_arn: Option<String>,
    pub state_machine_arn: Option<String>,
    /// The execution's name.
    pub name: Option<String>,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `PENDING_REDRIVE`.
    pub status: Option<String>,
    /// `States.TaskFailed`, `States.Timeout`, or a task's own error name.
    pub error: Option<String>,
    /// Text, or a JSON document as a string (a Lambda error, say).
    pub cause: Option<String>,
    pub started: Option<DateTime<Utc>>,
    pub stopped: Option<DateTime<Utc>>,
    pub redrive_count: Option<u64>,
    pub account: Option<String>,
    pub region: Option<String>,
}

fn read(d: &Obj, event: &Event) -> Execution {
    let millis = |key: &str| {
        num_at(d, key)
            .filter(|n| n.fract() == 0.0)
            .and_then(|n| DateTime::from_timestamp_millis(n as i64))
            .or_else(|| time_at(d, key))
    };
    Execution {
        execution_arn: str_at(d, "executionArn"),
        state_machine_arn: str_at(d, "stateMachineArn"),
        name: str_at(d, "name"),
        status: str_at(d, "status").map(|s| s.trim().to_ascii_uppercase()),
        error: str_at(d, "error"),
        cause: str_at(d, "cause"),
        started: millis("startDate"),
        stopped: millis("stopDate"),
        redrive_count: uint_at(d, "redriveCount").filter(|n| *n > 0),
        account: event.account.clone(),
        region: event.region.clone(),
    }
}

impl Execution {
    /// The state machine's name, from its ARN (`…:stateMachine:<name>[:version]`) or the
    /// execution's (`…:execution:<name>:<execution>`, `…:express:<name>:…`).
    pub(crate) fn state_machine(&self) -> Option<&str> {
        name_in_arn(self.state_machine_arn.as_deref(), &["stateMachine"]).or_else(|| {
            name_in_arn(self.execution_arn.as_deref(), &["execution", "express"])
        })
    }

    /// The execution's name, or the last part of its ARN.
    pub(crate) fn execution_name(&self) -> Option<&str> {
        self.name.as_deref().or_else(|| {
            let arn = self.execution_arn.as_deref()?;
            arn.rsplit(':').next().filter(|n| !n.is_empty())
        })
    }

    /// The cause as JSON, when it is a document.
    fn cause_document(&self) -> Option<Value> {
        let cause = self.cause.as_deref()?.trim();
        if !cause.starts_with(['{', '[']) {
            return None;
        }
        serde_json::from_str::<Value>(cause)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
    }

    /// The cause in a line: a document's error message, or the text's first line.
    fn short_cause(&self) -> Option<String> {
        match self.cause_document() {
            Some(doc) => {
                let obj = doc.as_object()?;
                ["errorMessage", "ErrorMessage", "message", "Message", "Cause", "cause"]
                    .iter()
                    .find_map(|k| str_at(obj, k))
            }
            None => self
                .cause
                .as_deref()?
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_owned),
        }
    }

    /// The cause to show: a document as `path: value` lines, text as it is.
    fn cause_text(&self) -> Option<String> {
        match self.cause_document() {
            Some(doc) => Some(path_value_lines(&doc, 20).join("\n")),
            None => self.cause.clone(),
        }
    }
}

/// The name after a resource type (one of `kinds`) in a Step Functions ARN.
fn name_in_arn<'a>(arn: Option<&'a str>, kinds: &[&str]) -> Option<&'a str> {
    let resource = parse_arn(arn?)?.resource;
    let (kind, rest) = resource.split_once(':')?;
    if !kinds.contains(&kind) {
        return None;
    }
    rest.split(':').next().filter(|n| !n.is_empty())
}

/// How bad an execution's status is: failed or timed out red; aborted amber (someone or
/// something stopped it: worth a look, not an outage); succeeded green; running routine.
pub(crate) fn severity(status: &str) -> Severity {
    match status {
        "FAILED" | "TIMED_OUT" => Severity::Error,
        "ABORTED" => Severity::Warning,
        "SUCCEEDED" => Severity::Ok,
        _ => Severity::Info,
    }
}

/// `4 min 12 s`, `1 h 3 min`, `850 ms`.
fn duration(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<String> {
    let ms = (to - from).num_milliseconds();
    if ms < 0 {
        return None;
    }
    let s = ms / 1000;
    Some(match s {
        0 => format!("{ms} ms"),
        1..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ if s % 3600 / 60 == 0 => format!("{} h", s / 3600),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    })
}

notice!(Execution, card, |it| format!(
    "{}/{}",
    it.state_machine().unwrap_or_default(),
    it.execution_name().unwrap_or_default()
));

/// The execution as a card: state machine, status, error and cause, and a link to the
/// execution.
pub(crate) fn card(x: &Execution) -> Card {
    let status = x.status.as_deref().unwrap_or("UNKNOWN");
    let severity = severity(status);
    let emoji = severity.emoji("🪜");
    let machine = x.state_machine().unwrap_or("state machine");
    let mut headline = format!("Step Functions {} {}", escape(machine), escape(status));
    let why: Vec<String> = [x.error.clone(), x.short_cause()]
        .into_iter()
        .flatten()
        .collect();
    if !why.is_empty() {
        headline += &format!(": {}", escape_within(&why.join(": "), 200));
    }
    let mut m = Card::new(
        emoji,
        format!("Step Functions {machine} {status}"),
        headline,
        severity,
    );
    if x.status.is_none() {
        m = m.grey();
    }
    m.titled("Cause", x.cause_text().as_deref());
    m.fields(vec![
        ("State machine", Some(escape(machine))),
        ("Execution", x.execution_name().map(code)),
        ("Status", Some(escape(status))),
        ("Error", x.error.as_deref().map(code)),
        ("Started", when(x.started)),
        (
            "Took",
            x.started.zip(x.stopped).and_then(|(a, b)| duration(a, b)),
        ),
        ("Redrives", x.redrive_count.map(|n| n.to_string())),
        ("Account", x.account.as_deref().map(escape)),
        ("Region", x.region.as_deref().map(escape)),
    ]);
    let url = x.execution_arn.as_deref().and_then(|arn| {
        service_console_url(
            partition_of(Some(arn)),
            x.region.as_deref(),
            &format!(
                "states/home?region={{region}}#/v2/executions/details/{}",
                url_encode(arn)
            ),
        )
    });
    m.link("Open the execution", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn execution(detail: Value) -> Execution {
        let e: Event = serde_json::from_value(json!({
            "version": "0",
            "id": "1",
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": "123456789012",
            "time": "2026-11-20T02:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail
        }))
        .unwrap();
        let d = e.detail.as_object().cloned().unwrap_or_default();
        assert!(matches!(from_event(&e, &d), Some(Ok(_))));
        read(&d, &e)
    }

    #[test]
    fn statuses_map_to_severities() {
        for (status, expected) in [
            ("FAILED", Severity::Error),
            ("TIMED_OUT", Severity::Error),
            ("ABORTED", Severity::Warning),
            ("SUCCEEDED", Severity::Ok),
            ("RUNNING", Severity::Info),
            ("PENDING_REDRIVE", Severity::Info),
        ] {
            assert_eq!(severity(status), expected, "{status}");
        }
    }

    #[test]
    fn names_come_from_the_arns() {
        let x = Execution {
            state_machine_arn: Some(
                "arn:aws:states:us-east-1:1:stateMachine:order-fulfilment:3".into(),
            ),
            execution_arn: Some("arn:aws:states:us-east-1:1:execution:order-fulfilment:run-7".into()),
            ..Default::default()
        };
        assert_eq!(x.state_machine(), Some("order-fulfilment"));
        assert_eq!(x.execution_name(), Some("run-7"));
        let express = Execution {
            execution_arn: Some("arn:aws:states:us-east-1:1:express:ingest:run-1:0a1b".into()),
            ..Default::default()
        };
        assert_eq!(express.state_machine(), Some("ingest"));
    }

    #[test]
    fn a_json_cause_reads_as_lines_and_its_message_leads_the_headline() {
        let x = execution(json!({
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:orders:run-1",
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
            "name": "run-1",
            "status": "FAILED",
            "startDate": 1795142400000u64,
            "stopDate": 1795142652000u64,
            "error": "PaymentDeclined",
            "cause": "{\"errorMessage\":\"card <!here> declined\",\"errorType\":\"PaymentDeclined\",\"stackTrace\":[\"a\",\"b\"]}"
        }));
        let c = card(&x);
        assert_eq!(
            c.headline,
            "Step Functions orders FAILED: PaymentDeclined: card &lt;!here&gt; declined"
        );
        assert_eq!(
            x.cause_text().unwrap(),
            "errorMessage: card <!here> declined\nerrorType: PaymentDeclined\nstackTrace[0]: a\nstackTrace[1]: b"
        );
        assert_eq!(
            duration(x.started.unwrap(), x.stopped.unwrap()).as_deref(),
            Some("4 min 12 s")
        );
        let start = x.started.unwrap();
        let hours = |s: i64| duration(start, start + chrono::Duration::seconds(s));
        assert_eq!(hours(3600).as_deref(), Some("1 h"));
        assert_eq!(hours(5400).as_deref(), Some("1 h 30 min"));
        assert_eq!(hours(-1), None);
    }

    #[test]
    fn a_text_cause_is_shown_as_it_is() {
        let x = execution(json!({"status": "TIMED_OUT", "cause": "{not json", "error": null}));
        assert_eq!(x.cause_text().as_deref(), Some("{not json"));
        assert_eq!(card(&x).headline, "Step Functions state machine TIMED_OUT: {not json");
    }

    #[test]
    fn missing_nulls_and_wrong_types_do_not_panic() {
        let x = execution(json!({
            "executionArn": 5,
            "stateMachineArn": "not-an-arn",
            "status": null,
            "startDate": "yesterday",
            "stopDate": -1.5,
            "cause": "[]",
            "redriveCount": "two"
        }));
        let c = card(&x);
        assert_eq!(c.headline, "Step Functions state machine UNKNOWN");
        assert_eq!(c.severity, Severity::Info);
        let empty = execution(json!(null));
        assert_eq!(card(&empty).severity, Severity::Info);
    }
}
