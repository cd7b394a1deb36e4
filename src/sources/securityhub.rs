//! Security Hub findings (`aws.securityhub`, "Security Hub Findings - …"); one message per
//! event, from its first finding.

use serde_json::{Map, Value};

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("securityhub", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.securityhub"
        && event.detail_type.starts_with("Security Hub Findings")
        && !arr_at(detail, "findings").is_empty())
    .then(|| Ok(Body::new(read(detail, event))))
}

/// The first Security Hub finding of an event.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct SecurityHubFinding {
    pub title: Option<String>,
    pub severity_label: Option<String>,
    pub description: Option<String>,
    pub product: Option<String>,
    pub compliance_status: Option<String>,
    pub workflow_status: Option<String>,
    /// `ACTIVE` or `ARCHIVED`.
    pub record_state: Option<String>,
    pub resources: Vec<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub finding_id: Option<String>,
    pub updated_at: Option<String>,
    /// How many findings the event carried (one message per event).
    pub total_findings: usize,
}

fn read(d: &Obj, event: &Event) -> SecurityHubFinding {
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
        record_state: str_at(f, "RecordState"),
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

notice!(SecurityHubFinding, card, |it| it.title.clone().unwrap_or_default());

impl SecurityHubFinding {
    /// Where the finding stands when it is no longer open: `resolved` (someone fixed it,
    /// or its control passes now), `suppressed` or `archived`.
    pub(crate) fn closed(&self) -> Option<&'static str> {
        let is = |v: &Option<String>, want: &str| {
            v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(want))
        };
        if is(&self.workflow_status, "RESOLVED") || is(&self.compliance_status, "PASSED") {
            Some("resolved")
        } else if is(&self.workflow_status, "SUPPRESSED") {
            Some("suppressed")
        } else if is(&self.record_state, "ARCHIVED") {
            Some("archived")
        } else {
            None
        }
    }
}

/// The finding as a card: severity, product, status, resources, and a link. A resolved
/// finding is good news and a suppressed or archived one is news, whatever its label:
/// Security Hub sends an update when someone closes a finding, and that is no alarm.
pub(crate) fn card(s: &SecurityHubFinding) -> Card {
    let label = s
        .severity_label
        .as_deref()
        .unwrap_or("UNKNOWN")
        .to_ascii_uppercase();
    let (severity, grey) = match (s.closed(), label.as_str()) {
        (Some("resolved"), _) => (Severity::Ok, false),
        (Some(_), _) => (Severity::Info, false),
        (None, "CRITICAL") => (Severity::Critical, false),
        (None, "HIGH") => (Severity::Error, false),
        (None, "MEDIUM") => (Severity::Warning, false),
        (None, "LOW") => (Severity::Info, false),
        _ => (Severity::Info, true),
    };
    let title = s.title.as_deref().unwrap_or("finding");
    let closed = s.closed().map(|c| format!(" ({c})")).unwrap_or_default();
    let fallback = format!(
        "Security Hub {label}: {}{closed}",
        escape_within(title, 200)
    );
    let mut m = Card::new(
        severity.emoji("🔐"),
        format!("Security Hub {label}: {title}{closed}"),
        fallback,
        severity,
    );
    if grey {
        m = m.grey();
    }
    m.fields(vec![
        ("Severity", Some(escape(&label))),
        ("Product", s.product.as_deref().map(escape)),
        ("Compliance", s.compliance_status.as_deref().map(escape)),
        ("Workflow", s.workflow_status.as_deref().map(escape)),
        ("Account", s.account.as_deref().map(escape)),
        ("Region", s.region.as_deref().map(escape)),
        ("Updated", s.updated_at.as_deref().map(when_text)),
    ]);
    m.titled("Description", s.description.as_deref());
    if let Some(list) = bullets(&s.resources, 10) {
        m.section(format!("*Resources*\n{list}"));
    }
    if s.total_findings > 1 {
        m.context(vec![format!(
            "…and {} more findings in this event",
            s.total_findings - 1
        )]);
    }
    let partition = partition_of(s.finding_id.as_deref());
    m.link(
        "Open in Security Hub",
        service_console_url(
            partition,
            s.region.as_deref(),
            "securityhub/home?region={region}#/findings",
        ),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(label: &str, workflow: &str, compliance: &str, record: &str) -> Card {
        card(&SecurityHubFinding {
            title: Some("S3 buckets should block <!here> public access".into()),
            severity_label: Some(label.into()),
            workflow_status: Some(workflow.into()),
            compliance_status: Some(compliance.into()),
            record_state: Some(record.into()),
            ..Default::default()
        })
    }

    #[test]
    fn an_open_finding_goes_by_its_label_and_a_closed_one_does_not() {
        let open = finding("HIGH", "NEW", "FAILED", "ACTIVE");
        assert_eq!(open.severity, Severity::Error);
        assert_eq!(
            open.headline,
            "Security Hub HIGH: S3 buckets should block &lt;!here&gt; public access"
        );
        let resolved = finding("HIGH", "RESOLVED", "FAILED", "ACTIVE");
        assert_eq!(resolved.severity, Severity::Ok);
        assert!(resolved.headline.ends_with(" (resolved)"), "{}", resolved.headline);
        assert_eq!(finding("CRITICAL", "NOTIFIED", "PASSED", "ACTIVE").severity, Severity::Ok);
        assert_eq!(finding("CRITICAL", "SUPPRESSED", "FAILED", "ACTIVE").severity, Severity::Info);
        let archived = finding("HIGH", "NEW", "FAILED", "ARCHIVED");
        assert_eq!(archived.severity, Severity::Info);
        assert_eq!(
            archived.title,
            "Security Hub HIGH: S3 buckets should block <!here> public access (archived)"
        );
    }
}
