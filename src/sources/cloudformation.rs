//! CloudFormation stack and resource status changes, and stack drift detection
//! (`aws.cloudformation`), and the `Key='value'` notifications CloudFormation publishes to a
//! stack's own notification topics.

use chrono::{DateTime, Utc};

use super::shared::*;
use super::{Body, Event, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::both("cloudformation", from_event, from_sns);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    let kind = match event.detail_type.as_str() {
        "CloudFormation Stack Status Change" => ChangeKind::Stack,
        "CloudFormation Resource Status Change" => ChangeKind::Resource,
        "CloudFormation Drift Detection Status Change" => ChangeKind::Drift,
        _ => return None,
    };
    (event.source == "aws.cloudformation")
        .then(|| Ok(Body::new(read(kind, detail, event))))
}

/// A stack notification (`StackId='…'`, `ResourceStatus='…'` lines): text only, and only
/// when it names a status and a stack.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    if message.is_document() {
        return None;
    }
    let fields = quoted_fields(message.text);
    let has = |key: &str| field(&fields, key).is_some();
    (has("ResourceStatus") && (has("StackId") || has("StackName")))
        .then(|| Body::new(read_sns(&fields)))
}

/// The `Key='value'` pairs of a stack notification, in order. A value may run over several
/// lines (a JSON `ResourceProperties`): a line that starts with another `Key='` ends it.
fn quoted_fields(text: &str) -> Vec<(&str, String)> {
    fn starts_field(line: &str) -> Option<(&str, &str)> {
        let (key, rest) = line.split_once("='")?;
        let plausible = key.len() <= 40
            && key.starts_with(|c: char| c.is_ascii_alphabetic())
            && key.chars().all(|c| c.is_ascii_alphanumeric());
        plausible.then_some((key, rest))
    }
    let mut fields: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        match (starts_field(line), fields.last_mut()) {
            (Some((key, rest)), _) => fields.push((key, rest.to_owned())),
            (None, Some((_, value))) => {
                value.push('\n');
                value.push_str(line);
            }
            (None, None) => {}
        }
    }
    for (_, value) in &mut fields {
        let trimmed = value.trim_end();
        let unquoted = trimmed.strip_suffix('\'').unwrap_or(trimmed);
        *value = unquoted.to_owned();
    }
    fields
}

/// A field's value; CloudFormation writes `''` or `'null'` for none.
fn field<'a>(fields: &'a [(&str, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty() && *v != "null")
}

/// How many `path: value` lines of a resource's properties a card shows.
const MAX_PROPERTY_LINES: usize = 6;

fn read_sns(fields: &[(&str, String)]) -> StackChange {
    let get = |key: &str| field(fields, key).map(str::to_owned);
    let stack_id = get("StackId").or_else(|| get("StackName"));
    let arn = stack_id.as_deref().and_then(parse_arn);
    let stack_level = get("ResourceType").as_deref() == Some("AWS::CloudFormation::Stack")
        && match (get("LogicalResourceId"), get("StackName")) {
            (Some(resource), Some(stack)) => resource == stack,
            (None, _) => true,
            (Some(_), None) => get("PhysicalResourceId") == get("StackId"),
        };
    let properties = field(fields, "ResourceProperties").map(|raw| {
        match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(value) => path_value_lines(&value, MAX_PROPERTY_LINES).join("\n"),
            Err(_) => raw.replace("\\n", "\n"),
        }
    });
    StackChange {
        kind: if stack_level {
            ChangeKind::Stack
        } else {
            ChangeKind::Resource
        },
        status: get("ResourceStatus"),
        // Some reasons carry `\n` written out.
        status_reason: get("ResourceStatusReason").map(|r| r.replace("\\n", "\n").trim().to_owned()),
        logical_resource_id: get("LogicalResourceId").filter(|_| !stack_level),
        physical_resource_id: get("PhysicalResourceId").filter(|_| !stack_level),
        resource_type: get("ResourceType").filter(|_| !stack_level),
        properties: properties.filter(|p| !p.trim().is_empty()),
        principal: get("PrincipalId"),
        account: get("Namespace").or_else(|| arn.as_ref().and_then(|a| non_empty(a.account))),
        region: arn.as_ref().and_then(|a| non_empty(a.region)),
        time: get("Timestamp").as_deref().and_then(parse_time),
        stack_id,
        ..StackChange::default()
    }
}

/// What changed: the stack, one of its resources, or its drift detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ChangeKind {
    #[default]
    Stack,
    Resource,
    Drift,
}

/// A status change of a CloudFormation stack or of one of its resources, or the result of
/// a drift detection.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct StackChange {
    pub kind: ChangeKind,
    /// The stack's ARN.
    pub stack_id: Option<String>,
    /// The stack's or resource's status; for drift, the stack's drift status.
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub logical_resource_id: Option<String>,
    pub physical_resource_id: Option<String>,
    pub resource_type: Option<String>,
    /// Stack notifications only: the resource's properties as `path: value` lines.
    pub properties: Option<String>,
    /// Stack notifications only: who started the operation.
    pub principal: Option<String>,
    /// Drift only: the state of the detection itself.
    pub detection_status: Option<String>,
    /// Drift only; CloudFormation writes -1 while detection runs, read here as none.
    pub drifted_resources: Option<u64>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

impl StackChange {
    /// The name inside the stack ARN (`…:stack/NAME/ID`), or the ARN when it is not one.
    pub(crate) fn stack_name(&self) -> Option<&str> {
        let id = self.stack_id.as_deref()?;
        Some(
            parse_arn(id)
                .and_then(|a| a.resource.strip_prefix("stack/"))
                .and_then(|rest| rest.split('/').next())
                .filter(|name| !name.is_empty())
                .unwrap_or(id),
        )
    }
}

fn read(kind: ChangeKind, d: &Obj, event: &Event) -> StackChange {
    let status = obj_at(d, "status-details");
    let from_status = |key: &str| status.and_then(|s| str_at(s, key));
    StackChange {
        kind,
        stack_id: str_at(d, "stack-id").or_else(|| {
            event
                .resources
                .as_ref()
                .and_then(|r| r.first())
                .filter(|r| !r.trim().is_empty())
                .cloned()
        }),
        status: match kind {
            ChangeKind::Drift => from_status("stack-drift-status"),
            _ => from_status("status"),
        },
        // AWS often ends a reason with ". ".
        status_reason: from_status("status-reason").map(|r| r.trim().to_owned()),
        logical_resource_id: str_at(d, "logical-resource-id"),
        physical_resource_id: str_at(d, "physical-resource-id"),
        resource_type: str_at(d, "resource-type"),
        properties: None,
        principal: None,
        detection_status: from_status("detection-status"),
        drifted_resources: obj_at(d, "drift-detection-details")
            .and_then(|x| uint_at(x, "drifted-stack-resource-count")),
        account: event.account.clone(),
        region: event.region.clone(),
        time: event.time,
    }
}

/// A stack or resource status: failures and rollbacks are errors, finished operations good
/// news, anything under way or skipped routine.
pub(crate) fn status_severity(status: &str) -> Severity {
    if status.ends_with("_FAILED") || status.contains("ROLLBACK") {
        Severity::Error
    } else if status.ends_with("_IN_PROGRESS") {
        Severity::Info
    } else if status.ends_with("_COMPLETE") {
        Severity::Ok
    } else {
        Severity::Info
    }
}

/// A drift detection: drift is a warning. So is a detection that failed: it is no outage,
/// but nobody knows whether the stack drifted.
pub(crate) fn drift_severity(drift_status: &str, detection_status: Option<&str>) -> Severity {
    match (drift_status, detection_status) {
        (_, Some("DETECTION_FAILED")) | ("DRIFTED", _) => Severity::Warning,
        (_, Some("DETECTION_IN_PROGRESS")) => Severity::Info,
        ("IN_SYNC", _) => Severity::Ok,
        _ => Severity::Info,
    }
}

/// The status to show: a drift detection that failed says so, not the stack's stale drift
/// status.
fn drift_or_status(c: &StackChange) -> &str {
    match (c.kind, c.detection_status.as_deref()) {
        (ChangeKind::Drift, Some(failed @ "DETECTION_FAILED")) => failed,
        _ => c.status.as_deref().unwrap_or("UNKNOWN"),
    }
}

notice!(StackChange, card, |it| it.stack_name().unwrap_or_default().to_owned());

/// The title (plain text) and the headline (escaped, with the drift count and the reason).
fn title_and_headline(c: &StackChange, stack: &str, status: &str) -> (String, String) {
    let (title, mut headline) = match (c.kind, c.logical_resource_id.as_deref()) {
        (ChangeKind::Drift, _) => (
            format!("CloudFormation {stack} drift: {status}"),
            format!("CloudFormation {} drift: {}", escape(stack), escape(status)),
        ),
        (ChangeKind::Resource, Some(resource)) => (
            format!("CloudFormation {stack}: {resource} {status}"),
            format!(
                "CloudFormation {}: {}{} {}",
                escape(stack),
                escape(resource),
                c.resource_type
                    .as_deref()
                    .map(|t| format!(" ({})", escape(t)))
                    .unwrap_or_default(),
                escape(status)
            ),
        ),
        _ => (
            format!("CloudFormation {stack} {status}"),
            format!("CloudFormation {} {}", escape(stack), escape(status)),
        ),
    };
    if let Some(n) = c.drifted_resources.filter(|_| status == "DRIFTED") {
        let s = if n == 1 { "" } else { "s" };
        headline.push_str(&format!(" ({n} resource{s})"));
    }
    if let Some(reason) = &c.status_reason {
        // One line: a reason may run over several.
        let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        headline.push_str(&format!(": {}", escape_within(&reason, 200)));
    }
    (title, headline)
}

/// The change as a card: stack, status and reason, the resource if any, and a link to the
/// stack's events (or its drifts).
pub(crate) fn card(c: &StackChange) -> Card {
    let status = drift_or_status(c);
    let stack = c.stack_name().unwrap_or("stack");
    let severity = match c.kind {
        ChangeKind::Drift => drift_severity(
            c.status.as_deref().unwrap_or("UNKNOWN"),
            c.detection_status.as_deref(),
        ),
        _ => status_severity(status),
    };
    let emoji = severity.emoji("🏗️");
    let (title, headline) = title_and_headline(c, stack, status);
    let mut m = Card::new(emoji, title, headline, severity);
    m.titled("Reason", c.status_reason.as_deref());
    m.fields(vec![
        ("Stack", Some(escape(stack))),
        ("Status", Some(escape(status))),
        ("Resource", c.logical_resource_id.as_deref().map(escape)),
        ("Resource type", c.resource_type.as_deref().map(escape)),
        ("Physical ID", c.physical_resource_id.as_deref().map(code)),
        (
            "Detection",
            c.detection_status
                .as_deref()
                .filter(|_| c.kind == ChangeKind::Drift)
                .map(escape),
        ),
        (
            "Drifted resources",
            c.drifted_resources
                .filter(|_| c.kind == ChangeKind::Drift)
                .map(|n| n.to_string()),
        ),
        ("Started by", c.principal.as_deref().map(code)),
        ("Account", c.account.as_deref().map(escape)),
        ("Region", c.region.as_deref().map(escape)),
        ("When", when(c.time)),
    ]);
    m.titled("Resource properties", c.properties.as_deref());
    add_link(&mut m, c);
    m
}

/// A link to the stack's events, or to its drifts.
fn add_link(m: &mut Card, c: &StackChange) {
    let page = match c.kind {
        ChangeKind::Drift => "drifts",
        _ => "events",
    };
    let url = c.stack_id.as_deref().and_then(|id| {
        service_console_url(
            partition_of(Some(id)),
            c.region.as_deref(),
            &format!(
                "cloudformation/home?region={{region}}#/stacks/{page}?stackId={}",
                url_encode(id)
            ),
        )
    });
    let label = match c.kind {
        ChangeKind::Drift => "Open stack drifts",
        _ => "Open stack events",
    };
    m.link(label, url);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_rollbacks_are_errors() {
        for status in [
            "CREATE_FAILED",
            "UPDATE_FAILED",
            "DELETE_FAILED",
            "ROLLBACK_IN_PROGRESS",
            "ROLLBACK_COMPLETE",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_FAILED",
            "IMPORT_ROLLBACK_COMPLETE",
        ] {
            assert_eq!(status_severity(status), Severity::Error, "{status}");
        }
    }

    #[test]
    fn finished_operations_are_ok_and_the_rest_info() {
        for status in [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "DELETE_COMPLETE",
            "IMPORT_COMPLETE",
        ] {
            assert_eq!(status_severity(status), Severity::Ok, "{status}");
        }
        for status in [
            "CREATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "DELETE_SKIPPED",
            "REVIEW_IN_PROGRESS",
            "",
        ] {
            assert_eq!(status_severity(status), Severity::Info, "{status}");
        }
    }

    #[test]
    fn drift_is_a_warning() {
        let complete = Some("DETECTION_COMPLETE");
        assert_eq!(drift_severity("DRIFTED", complete), Severity::Warning);
        assert_eq!(drift_severity("IN_SYNC", complete), Severity::Ok);
        assert_eq!(
            drift_severity("UNKNOWN", Some("DETECTION_FAILED")),
            Severity::Warning
        );
        assert_eq!(
            drift_severity("UNKNOWN", Some("DETECTION_IN_PROGRESS")),
            Severity::Info
        );
    }

    #[test]
    fn a_failed_drift_detection_says_so() {
        let c = StackChange {
            kind: ChangeKind::Drift,
            status: Some("UNKNOWN".into()),
            detection_status: Some("DETECTION_FAILED".into()),
            ..StackChange::default()
        };
        let card = card(&c);
        assert_eq!(
            card.headline,
            "CloudFormation stack drift: DETECTION_FAILED"
        );
        assert_eq!(card.severity, Severity::Warning);
    }

    #[test]
    fn the_stack_name_comes_from_its_arn() {
        let mut c = StackChange {
            stack_id: Some(
                "arn:aws:cloudformation:eu-west-1:123456789012:stack/orders-api/0b1f7a30-8e2c-11f1-9c4d-0a1b2c3d4e5f"
                    .into(),
            ),
            ..StackChange::default()
        };
        assert_eq!(c.stack_name(), Some("orders-api"));
        c.stack_id = Some("orders-api".into());
        assert_eq!(c.stack_name(), Some("orders-api"));
        c.stack_id = None;
        assert_eq!(c.stack_name(), None);
    }

    fn sns(text: &str) -> Option<StackChange> {
        let message = SnsMessage::new(None, text, None);
        from_sns(&message)?;
        Some(read_sns(&quoted_fields(text)))
    }

    #[test]
    fn a_stack_notification_reads_its_quoted_lines() {
        let text = "StackId='arn:aws:cloudformation:us-east-1:123456789012:stack/orders-api/1'\n\
            Timestamp='2026-11-20T14:02:51.377Z'\nLogicalResourceId='Queue'\n\
            ResourceProperties='{\n  \"QueueName\": \"it's\",\n  \"Tags\": [1, 2]\n}'\n\
            ResourceStatus='CREATE_FAILED'\nResourceStatusReason='line one\\nline two'\n\
            ResourceType='AWS::SQS::Queue'\nStackName='orders-api'\n";
        let c = sns(text).unwrap();
        assert_eq!(c.kind, ChangeKind::Resource);
        assert_eq!(c.stack_name(), Some("orders-api"));
        assert_eq!(c.logical_resource_id.as_deref(), Some("Queue"));
        assert_eq!(c.status_reason.as_deref(), Some("line one\nline two"));
        assert_eq!(
            c.properties.as_deref(),
            Some("QueueName: it's\nTags[0]: 1\nTags[1]: 2")
        );
        assert_eq!(c.region.as_deref(), Some("us-east-1"));
        assert_eq!(c.account.as_deref(), Some("123456789012"));
        assert!(c.time.is_some());
        let card = card(&c);
        assert_eq!(card.severity, Severity::Error);
        assert_eq!(
            card.headline,
            "CloudFormation orders-api: Queue (AWS::SQS::Queue) CREATE_FAILED: line one line two"
        );
    }

    #[test]
    fn a_stack_level_notification_is_about_the_stack() {
        let text = "StackName='web'\nLogicalResourceId='web'\nResourceType='AWS::CloudFormation::Stack'\n\
            ResourceStatus='UPDATE_COMPLETE'\nResourceStatusReason=''\nResourceProperties='null'\n";
        let c = sns(text).unwrap();
        assert_eq!(c.kind, ChangeKind::Stack);
        assert_eq!((c.status_reason.clone(), c.properties.clone()), (None, None));
        let card = card(&c);
        assert_eq!(card.headline, "CloudFormation web UPDATE_COMPLETE");
        assert_eq!(card.severity, Severity::Ok);
        // A nested stack is a resource of its parent.
        let nested = text.replace("LogicalResourceId='web'", "LogicalResourceId='Network'");
        assert_eq!(sns(&nested).unwrap().kind, ChangeKind::Resource);
    }

    #[test]
    fn odd_stack_notifications_are_not_claimed_or_read_leniently() {
        for text in [
            "",
            "hello",
            "ResourceStatus='CREATE_FAILED'",
            "StackName=''\nResourceStatus='x'",
            "{\"StackId\":\"a\",\"ResourceStatus\":\"b\"}",
        ] {
            assert!(sns(text).is_none(), "{text:?}");
        }
        // No closing quote, junk lines, a properties value that is not JSON.
        let c = sns("junk\nStackName='s\nResourceStatus='DELETE_FAILED'\nResourceProperties='{oops\n").unwrap();
        assert_eq!(c.stack_name(), Some("s"));
        assert_eq!(c.properties.as_deref(), Some("{oops"));
        assert_eq!(card(&c).severity, Severity::Error);
    }
}
