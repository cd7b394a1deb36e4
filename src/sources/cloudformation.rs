//! CloudFormation stack and resource status changes, and stack drift detection
//! (`aws.cloudformation`).

use chrono::{DateTime, Utc};

use super::shared::*;
use super::{Body, Event, Source, Notice};
use crate::card::{Card, Severity};
use crate::mrkdwn::{escape, escape_within};
use crate::parse::ParseError;

pub const SOURCE: Source = Source {
    name: "cloudformation",
    event: Some(from_event),
    sns: None,
    last_resort: false,
};

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

/// What changed: the stack, one of its resources, or its drift detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChangeKind {
    #[default]
    Stack,
    Resource,
    Drift,
}

/// A status change of a CloudFormation stack or of one of its resources, or the result of
/// a drift detection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StackChange {
    pub kind: ChangeKind,
    /// The stack's ARN.
    pub stack_id: Option<String>,
    /// The stack's or resource's status; for drift, the stack's drift status.
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub logical_resource_id: Option<String>,
    pub physical_resource_id: Option<String>,
    pub resource_type: Option<String>,
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
    pub fn stack_name(&self) -> Option<&str> {
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
pub fn status_severity(status: &str) -> Severity {
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
pub fn drift_severity(drift_status: &str, detection_status: Option<&str>) -> Severity {
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

impl Notice for StackChange {
    fn card(&self) -> Card {
        card(self)
    }

    fn describe(&self) -> (&'static str, String) {
        (SOURCE.name, self.stack_name().unwrap_or_default().to_owned())
    }
}

/// The change as a card: stack, status and reason, the resource if any, and a link to the
/// stack's events (or its drifts).
pub fn card(c: &StackChange) -> Card {
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
        headline.push_str(&format!(": {}", escape_within(reason, 200)));
    }
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
        ("Account", c.account.as_deref().map(escape)),
        ("Region", c.region.as_deref().map(escape)),
        ("When", when(c.time)),
    ]);
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
    m
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
}
