//! AWS Health events (`aws.health`).

use serde_json::Value;

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::escape;
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("health", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.health").then(|| Ok(Body::new(read(detail, event))))
}

/// An AWS Health event: a service issue, a scheduled change, or an account notification.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct HealthEvent {
    pub service: Option<String>,
    pub event_type_code: Option<String>,
    pub category: Option<String>,
    pub status: Option<String>,
    pub scope: Option<String>,
    pub description: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub affected_entities: Vec<String>,
    pub event_arn: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
}

fn read(d: &Obj, event: &Event) -> HealthEvent {
    let description = arr_at(d, "eventDescription")
        .iter()
        .filter_map(Value::as_object)
        .find(|x| str_at(x, "language").is_none_or(|l| l.starts_with("en")))
        .or_else(|| {
            arr_at(d, "eventDescription")
                .first()
                .and_then(Value::as_object)
        })
        .and_then(|x| str_at(x, "latestDescription"));
    HealthEvent {
        service: str_at(d, "service"),
        event_type_code: str_at(d, "eventTypeCode"),
        category: str_at(d, "eventTypeCategory"),
        status: str_at(d, "statusCode"),
        scope: str_at(d, "eventScopeCode"),
        description,
        start_time: str_at(d, "startTime"),
        end_time: str_at(d, "endTime"),
        affected_entities: arr_at(d, "affectedEntities")
            .iter()
            .filter_map(|e| e.as_object().and_then(|e| str_at(e, "entityValue")))
            .collect(),
        event_arn: str_at(d, "eventArn"),
        account: event.account.clone(),
        region: str_at(d, "eventRegion").or_else(|| event.region.clone()),
    }
}

impl HealthEvent {
    /// The event type in words: `AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED` is "Instance
    /// retirement scheduled" (the `AWS_<SERVICE>_` prefix goes).
    pub(crate) fn what(&self) -> String {
        let code = self.event_type_code.as_deref().unwrap_or("event");
        let service = self.service.as_deref().unwrap_or_default();
        let short = code
            .strip_prefix("AWS_")
            .and_then(|rest| rest.strip_prefix(service))
            .and_then(|rest| rest.strip_prefix('_'))
            .filter(|rest| !rest.is_empty())
            .unwrap_or(code);
        humanise(short)
    }
}

notice!(HealthEvent, card, |it| it.event_type_code.clone().unwrap_or_default());

/// The event as a card: what, when, where, and a link to AWS Health.
pub(crate) fn card(h: &HealthEvent) -> Card {
    let closed = h.status.as_deref() == Some("closed");
    let (severity, grey) = match h.category.as_deref() {
        Some("issue") if closed => (Severity::Ok, false),
        Some("issue") => (Severity::Warning, false),
        Some("scheduledChange") => (Severity::Info, false),
        _ => (Severity::Info, true),
    };
    let code_text = h.event_type_code.as_deref().unwrap_or("event");
    let service = h.service.as_deref().unwrap_or("AWS");
    let mut headline = format!("AWS Health {}: {}", escape(service), escape(&h.what()));
    if let Some(first) = h.affected_entities.first() {
        headline.push_str(&format!(" for {}", escape(first)));
        if h.affected_entities.len() > 1 {
            headline.push_str(&format!(" and {} more", h.affected_entities.len() - 1));
        }
    } else if let Some(region) = &h.region {
        headline.push_str(&format!(" in {}", escape(region)));
    }
    if closed {
        headline.push_str(" (resolved)");
    }
    let mut m = Card::new(
        severity.emoji("🩺"),
        format!("AWS Health: {service} {code_text}"),
        headline,
        severity,
    );
    if grey {
        m = m.grey();
    }
    m.fields(vec![
        ("Service", Some(escape(service))),
        (
            "Category",
            h.category.as_deref().map(|c| escape(&humanise(c))),
        ),
        ("Status", h.status.as_deref().map(|c| escape(&humanise(c)))),
        ("Scope", h.scope.as_deref().map(|c| escape(&humanise(c)))),
        ("Start", h.start_time.as_deref().map(when_text)),
        ("End", h.end_time.as_deref().map(when_text)),
        ("Account", h.account.as_deref().map(escape)),
        ("Region", h.region.as_deref().map(escape)),
    ]);
    m.titled("Description", h.description.as_deref());
    if let Some(list) = bullets(&h.affected_entities, 10) {
        m.section(format!("*Affected resources*\n{list}"));
    }
    let url = h.event_arn.as_ref().map(|arn| format!("https://health.aws.amazon.com/health/home#/account/event-log?eventID={}&eventTab=details", url_encode(arn)));
    m.link("Open in AWS Health", url);
    m
}
