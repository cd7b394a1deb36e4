//! Any other EventBridge event: what it is about and its status in the headline, its
//! envelope as facts and its detail as `path: value` lines. A last resort.
//!
//! The status is the first of `detail`'s top-level `state`, `status`, `lastStatus` or
//! `result` (any case), or else a key ending in `State` or `Status` (e.g.
//! `TrainingJobStatus`, but not a previous, desired or secondary one). Its severity:
//! - FAILED, FAILURE, ERROR, TIMED_OUT, TIMEOUT, ABORTED → red (error);
//! - STOPPED, CANCELLED, CANCELED, INTERRUPTED, NON_COMPLIANT, DEGRADED, IMPAIRED,
//!   UNHEALTHY, WARNING → amber (warning): work that did not finish, or something not
//!   well;
//! - SUCCEEDED, SUCCESS, COMPLETED, OK, COMPLIANT, HEALTHY → green (ok);
//! - anything else, or none, is news (info).
//!
//! Compared without case, spaces, hyphens or underscores, so `TimedOut` is `TIMED_OUT`.
//!
//! A top-level `…Reason` string (`FailureReason`, `stoppedReason`) is shown as the why.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source {
    name: "event",
    event: Some(from_event),
    sns: None,
    last_resort: true,
};

/// Enough of the detail to act on; Slack's section limit cuts the rest.
const MAX_DETAIL_LINES: usize = 40;

fn from_event(event: &Event, _detail: &Obj) -> Option<Result<Body, ParseError>> {
    Some(Ok(Body::new(read(event))))
}

/// Any event, as it is.
pub(crate) fn read(event: &Event) -> GenericEvent {
    GenericEvent {
        source: event.source.clone(),
        detail_type: event.detail_type.clone(),
        account: event.account.clone(),
        region: event.region.clone(),
        time: event.time,
        resources: event.resources.clone().unwrap_or_default(),
        detail: event.detail.clone(),
    }
}

/// An EventBridge event with no dedicated layout.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct GenericEvent {
    pub source: String,
    pub detail_type: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub resources: Vec<String>,
    pub detail: serde_json::Value,
}

impl GenericEvent {
    fn detail(&self) -> Option<&Obj> {
        self.detail.as_object()
    }

    /// The status the detail gives, as written.
    pub(crate) fn status(&self) -> Option<String> {
        let detail = self.detail()?;
        let lower = |k: &String| k.to_ascii_lowercase();
        ["state", "status", "laststatus", "result"]
            .iter()
            .find_map(|wanted| {
                detail
                    .keys()
                    .find(|k| lower(k) == *wanted)
                    .and_then(|k| str_at(detail, k))
            })
            .or_else(|| {
                detail
                    .keys()
                    .filter(|k| {
                        let k = lower(k);
                        (k.ends_with("state") || k.ends_with("status"))
                            && !["previous", "old", "desired", "secondary"]
                                .iter()
                                .any(|p| k.starts_with(p))
                    })
                    .find_map(|k| str_at(detail, k))
            })
    }

    /// Why, when the detail says: a top-level string such as `FailureReason`,
    /// `stoppedReason` or `reason`, with its key.
    pub(crate) fn reason(&self) -> Option<(String, String)> {
        let detail = self.detail()?;
        detail
            .keys()
            .filter(|k| k.to_ascii_lowercase().ends_with("reason"))
            .find_map(|k| str_at(detail, k).map(|r| (k.clone(), r)))
    }

    /// What the event is about: the first resource's short name, or else a name or id
    /// in the detail.
    pub(crate) fn subject(&self) -> Option<String> {
        if let Some(resource) = self.resources.iter().find(|r| !r.trim().is_empty()) {
            return Some(arn_short_name(resource).to_owned());
        }
        let detail = self.detail()?;
        let lower = |k: &String| k.to_ascii_lowercase();
        let named = |suffix: &str| {
            detail
                .keys()
                .filter(|k| lower(k).ends_with(suffix))
                .find_map(|k| str_at(detail, k))
        };
        named("name").or_else(|| named("id"))
    }
}

/// How bad a status is, by the rule in the module's docs.
pub(crate) fn severity(status: &str) -> Severity {
    let key: String = status
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect();
    match key.as_str() {
        "FAILED" | "FAILURE" | "ERROR" | "TIMEDOUT" | "TIMEOUT" | "ABORTED" => Severity::Error,
        "STOPPED" | "CANCELLED" | "CANCELED" | "INTERRUPTED" | "NONCOMPLIANT" | "DEGRADED"
        | "IMPAIRED" | "UNHEALTHY" | "WARNING" => Severity::Warning,
        "SUCCEEDED" | "SUCCESS" | "COMPLETED" | "OK" | "COMPLIANT" | "HEALTHY" => Severity::Ok,
        _ => Severity::Info,
    }
}

notice!(GenericEvent, card, |it| it.detail_type.clone());

/// The event as a card: what it is about and its status, why if the detail says, the
/// envelope as facts, the resources, and the rest of the detail as lines.
pub(crate) fn card(e: &GenericEvent) -> Card {
    let status = e.status();
    let severity = status.as_deref().map_or(Severity::Info, severity);
    // A minimal event may have no `source`, or even no `detail-type`.
    let kind = [e.detail_type.trim(), e.source.trim()]
        .into_iter()
        .find(|k| !k.is_empty())
        .unwrap_or("EventBridge event");
    // `SageMaker Training Job State Change: orders-forecast Failed`.
    let what = [e.subject(), status.clone()]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let title = if what.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {what}")
    };
    let headline = escape_within(&title, 250);
    let mut m = Card::new(severity.emoji("📣"), title, headline, severity);
    let reason = e.reason();
    m.titled("Why", reason.as_ref().map(|(_, r)| r.as_str()));
    m.fields(vec![
        ("Status", status.as_deref().map(escape)),
        ("Source", non_empty(e.source.trim()).map(|s| code(&s))),
        ("Detail type", non_empty(e.detail_type.trim()).map(|t| escape(&t))),
        ("Account", e.account.as_deref().map(escape)),
        ("Region", e.region.as_deref().map(escape)),
        ("When", when(e.time)),
    ]);
    if let Some(list) = bullets(&e.resources, 10) {
        m.section(format!("*Resources*\n{list}"));
    }
    let lines = match (&e.detail, &reason) {
        (Value::Null, _) => Vec::new(),
        // The reason is shown above; the rest as lines.
        (Value::Object(detail), Some((key, _))) => {
            let mut rest = detail.clone();
            rest.remove(key);
            path_value_lines(&Value::Object(rest), MAX_DETAIL_LINES)
        }
        (detail, _) => path_value_lines(detail, MAX_DETAIL_LINES),
    };
    m.titled("Detail", Some(lines.join("\n").as_str()));
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(resources: &[&str], detail: Value) -> GenericEvent {
        GenericEvent {
            source: "aws.sagemaker".into(),
            detail_type: "SageMaker Training Job State Change".into(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
            detail,
            ..Default::default()
        }
    }

    #[test]
    fn statuses_map_to_severities_whatever_their_case() {
        for (status, expected) in [
            ("FAILED", Severity::Error),
            ("Failed", Severity::Error),
            ("failure", Severity::Error),
            ("TIMED_OUT", Severity::Error),
            ("TimedOut", Severity::Error),
            ("Aborted", Severity::Error),
            ("stopped", Severity::Warning),
            ("NON_COMPLIANT", Severity::Warning),
            ("Degraded", Severity::Warning),
            ("CANCELLED", Severity::Warning),
            ("Canceled", Severity::Warning),
            ("INTERRUPTED", Severity::Warning),
            ("Unhealthy", Severity::Warning),
            ("IMPAIRED", Severity::Warning),
            ("Completed", Severity::Ok),
            ("SUCCESS", Severity::Ok),
            ("healthy", Severity::Ok),
            ("InProgress", Severity::Info),
            ("pending", Severity::Info),
        ] {
            assert_eq!(severity(status), expected, "{status}");
        }
    }

    #[test]
    fn the_status_is_the_common_field_or_one_ending_in_status() {
        let status = |detail: Value| event(&[], detail).status();
        assert_eq!(status(json!({"State": "RUNNING"})).as_deref(), Some("RUNNING"));
        assert_eq!(status(json!({"lastStatus": "STOPPED"})).as_deref(), Some("STOPPED"));
        // `state` comes before `status`, whatever the keys' order.
        assert_eq!(
            status(json!({"status": "b", "state": "a"})).as_deref(),
            Some("a")
        );
        assert_eq!(
            status(json!({"SecondaryStatus": "Training", "TrainingJobStatus": "Failed"}))
                .as_deref(),
            Some("Failed")
        );
        assert_eq!(status(json!({"previousState": "x"})), None);
        // Not a string: no status.
        assert_eq!(status(json!({"state": {"value": "x"}, "status": null})), None);
        assert_eq!(status(json!("text")), None);
        assert_eq!(status(Value::Null), None);
    }

    #[test]
    fn the_subject_is_the_first_resource_or_a_name_in_the_detail() {
        let arn = "arn:aws:sagemaker:us-east-1:123456789012:training-job/orders-forecast";
        assert_eq!(
            event(&[arn], json!({})).subject().as_deref(),
            Some("orders-forecast")
        );
        assert_eq!(
            event(&["arn:aws:lambda:us-east-1:1:function:resize"], json!({}))
                .subject()
                .as_deref(),
            Some("resize")
        );
        assert_eq!(
            event(&["plain"], json!({})).subject().as_deref(),
            Some("plain")
        );
        assert_eq!(
            event(&[], json!({"stepId": "s-1", "name": "Load"}))
                .subject()
                .as_deref(),
            Some("Load")
        );
        assert_eq!(
            event(&[], json!({"clusterId": "j-1"})).subject().as_deref(),
            Some("j-1")
        );
        assert_eq!(event(&[], json!([1, 2])).subject(), None);
    }

    #[test]
    fn the_headline_says_what_which_and_how() {
        let e = event(
            &["arn:aws:sagemaker:us-east-1:123456789012:training-job/my-job"],
            json!({"TrainingJobStatus": "Failed", "FailureReason": "<!here> OOM"}),
        );
        let card = card(&e);
        assert_eq!(card.headline, "SageMaker Training Job State Change: my-job Failed");
        assert_eq!(card.severity, Severity::Error);
        // The reason is shown once, above the rest of the detail.
        let titled: Vec<(&str, &str)> = card
            .parts
            .iter()
            .filter_map(|p| match p {
                crate::model::card::Part::Titled { title, text } => Some((*title, text.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            titled,
            vec![("Why", "<!here> OOM"), ("Detail", "TrainingJobStatus: Failed")]
        );
        // Without a subject or a status, the detail type alone.
        let card = super::card(&event(&[], Value::Null));
        assert_eq!(card.headline, "SageMaker Training Job State Change");
        assert_eq!(card.severity, Severity::Info);
        assert!(!card
            .parts
            .iter()
            .any(|p| matches!(p, crate::model::card::Part::Titled { .. })));
    }

    #[test]
    fn user_text_in_the_headline_is_escaped() {
        let e = event(&["<!channel>"], json!({"status": "a&b"}));
        assert_eq!(
            card(&e).headline,
            "SageMaker Training Job State Change: &lt;!channel&gt; a&amp;b"
        );
    }
}
