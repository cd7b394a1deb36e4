//! GuardDuty findings (`aws.guardduty`, "GuardDuty Finding").

use super::shared::*;
use super::{Body, Event, Source, Notice};
use crate::card::{Card, Severity};
use crate::mrkdwn::{escape, escape_within};
use crate::parse::ParseError;

pub const SOURCE: Source = Source {
    name: "guardduty",
    event: Some(from_event),
    sns: None,
    last_resort: false,
};

/// A finding names itself by its `detail-type`; minimal events leave out the `source`.
fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (matches!(event.source.as_str(), "aws.guardduty" | "")
        && event.detail_type == "GuardDuty Finding")
        .then(|| Ok(Body::new(read(detail, event))))
}

/// A GuardDuty finding; `severity` is GuardDuty's score from 0 to 10.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GuardDutyFinding {
    pub title: Option<String>,
    pub finding_type: Option<String>,
    pub severity: Option<f64>,
    pub description: Option<String>,
    pub resource_type: Option<String>,
    pub finding_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub count: Option<u64>,
    pub updated_at: Option<String>,
}

fn read(d: &Obj, event: &Event) -> GuardDutyFinding {
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

fn severity_label(score: f64) -> (&'static str, Severity) {
    match score {
        s if s >= 9.0 => ("CRITICAL", Severity::Critical),
        s if s >= 7.0 => ("HIGH", Severity::Error),
        s if s >= 4.0 => ("MEDIUM", Severity::Warning),
        _ => ("LOW", Severity::Info),
    }
}

impl Notice for GuardDutyFinding {
    fn card(&self) -> Card {
        card(self)
    }

    fn describe(&self) -> (&'static str, String) {
        (SOURCE.name, self.finding_type.clone().unwrap_or_default())
    }
}

/// The finding as a card: severity, type, resource, and a link to the finding.
pub fn card(g: &GuardDutyFinding) -> Card {
    let (label, severity) = g
        .severity
        .map(severity_label)
        .unwrap_or(("UNKNOWN", Severity::Info));
    let title = g
        .title
        .as_deref()
        .or(g.finding_type.as_deref())
        .unwrap_or("finding");
    let fallback = format!("GuardDuty {label}: {}", escape_within(title, 200));
    let mut m = Card::new(
        "🛡️",
        format!("GuardDuty {label}: {title}"),
        fallback,
        severity,
    );
    if g.severity.is_none() {
        m = m.grey();
    }
    m.fields(vec![
        (
            "Severity",
            g.severity
                .map(|s| format!("{label} ({})", format_number(s))),
        ),
        ("Type", g.finding_type.as_deref().map(code)),
        ("Resource", g.resource_type.as_deref().map(escape)),
        ("Seen", g.count.map(|c| format!("{c} times"))),
        ("Account", g.account.as_deref().map(escape)),
        ("Region", g.region.as_deref().map(escape)),
        ("Updated", g.updated_at.as_deref().map(when_text)),
    ]);
    // GuardDuty's description usually repeats the title first; show only what it adds.
    let description = g.description.as_deref().map(|d| {
        d.strip_prefix(title)
            .map(|rest| rest.trim_start_matches(['.', ' ']))
            .unwrap_or(d)
    });
    m.titled("Description", description);
    let url = g.finding_id.as_ref().and_then(|id| {
        service_console_url(
            g.partition.as_deref().unwrap_or("aws"),
            g.region.as_deref(),
            &format!(
                "guardduty/home?region={{region}}#/findings?macros=current&fId={}",
                url_encode(id)
            ),
        )
    });
    m.link("Open in GuardDuty", url);
    m
}
