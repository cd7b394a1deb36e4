//! AWS Trusted Advisor check results (`aws.trustedadvisor`, "Trusted Advisor Check Item
//! Refresh Notification"): one flagged item of a check, such as an exposed access key or a
//! service limit nearly reached.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, ParseError, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::escape;

pub(crate) const SOURCE: Source = Source::events("trusted-advisor", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.trustedadvisor"
        && event.detail_type == "Trusted Advisor Check Item Refresh Notification")
        .then(|| Ok(Body::new(read(detail, event))))
}

/// A check's item as its refresh left it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CheckItem {
    /// `Exposed Access Keys`, `IAM Group` …
    pub check: Option<String>,
    /// `ERROR`, `WARN` or `OK`.
    pub status: Option<String>,
    pub resource: Option<String>,
    /// What the check says of the item (`Current Usage`, `Limit Amount` …), as given.
    pub details: Vec<(String, String)>,
    pub account: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(d: &Obj, event: &Event) -> CheckItem {
    let details = obj_at(d, "check-item-detail")
        .map(|items| {
            items
                .iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) if !s.trim().is_empty() => Some((k.clone(), s.clone())),
                    Value::Number(n) => Some((k.clone(), n.to_string())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    CheckItem {
        check: str_at(d, "check-name"),
        status: str_at(d, "status").map(|s| s.trim().to_ascii_uppercase()),
        resource: str_at(d, "resource_id"),
        details,
        account: event.account.clone(),
        time: event.time,
    }
}

/// `ERROR` (Trusted Advisor's red: action recommended) is red, and critical for an access
/// key found in public, which anyone may be using now; `WARN` amber, `OK` green.
fn severity(check: Option<&str>, status: Option<&str>) -> Severity {
    match status {
        Some("ERROR") if check == Some("Exposed Access Keys") => Severity::Critical,
        Some("ERROR") => Severity::Error,
        Some("WARN") => Severity::Warning,
        Some("OK") => Severity::Ok,
        _ => Severity::Info,
    }
}

notice!(CheckItem, card, |it| it.check.clone().unwrap_or_default());

/// The item as a card: the check, its status, the resource, what the check says, and a link
/// to Trusted Advisor.
pub(crate) fn card(c: &CheckItem) -> Card {
    let severity = severity(c.check.as_deref(), c.status.as_deref());
    let check = c.check.as_deref().unwrap_or("check");
    let status = c.status.as_deref().unwrap_or("UNKNOWN");
    let resource = c
        .resource
        .as_deref()
        .map(|r| format!(" for {}", arn_short_name(r)))
        .unwrap_or_default();
    let mut m = Card::new(
        severity.emoji("🧭"),
        format!("Trusted Advisor {check}: {status}{resource}"),
        format!("Trusted Advisor {}: {}{}", escape(check), escape(status), escape(&resource)),
        severity,
    );
    if c.status.is_none() {
        m = m.grey();
    }
    let mut facts: Vec<(&str, Option<String>)> = vec![
        ("Check", Some(escape(check))),
        ("Status", Some(escape(status))),
        ("Resource", c.resource.as_deref().map(code)),
        ("Account", c.account.as_deref().map(escape)),
        ("Time", when(c.time)),
    ];
    facts.retain(|(_, v)| v.is_some());
    m.fields(facts);
    let details: Vec<String> = c.details.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    if let Some(list) = bullets(&details, 10) {
        m.section(format!("*Item*\n{list}"));
    }
    m.link(
        "Open Trusted Advisor",
        service_console_url("aws", Some("us-east-1"), "trustedadvisor/home#/dashboard"),
    );
    m
}
