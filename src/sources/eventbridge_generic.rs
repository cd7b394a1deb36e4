//! Any other EventBridge event: its envelope as facts and its detail as a list. A last resort.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, Source, Notice};
use crate::card::{Card, Severity};
use crate::mrkdwn::{escape, escape_within};
use crate::parse::ParseError;

pub const SOURCE: Source = Source {
    name: "event",
    event: Some(from_event),
    sns: None,
    last_resort: true,
};

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
pub struct GenericEvent {
    pub source: String,
    pub detail_type: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub resources: Vec<String>,
    pub detail: serde_json::Value,
}

/// One line per top-level `detail` key; nested values as compact JSON.
fn compact_detail(detail: &Value) -> Option<String> {
    let lines: Vec<String> = match detail {
        Value::Object(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => escape(s),
                    other => code(&other.to_string()),
                };
                format!("• *{}*: {v}", escape(k))
            })
            .collect(),
        Value::Null => return None,
        Value::Object(_) => return None,
        other => vec![code(&other.to_string())],
    };
    Some(lines.join("\n"))
}

impl Notice for GenericEvent {
    fn card(&self) -> Card {
        card(self)
    }

    fn describe(&self) -> (&'static str, String) {
        (SOURCE.name, self.detail_type.clone())
    }
}

/// The event as a card: source, type, envelope facts, resources and detail.
pub fn card(e: &GenericEvent) -> Card {
    // A minimal event may have no `source`, or even no `detail-type`.
    let detail_type = non_empty(e.detail_type.trim()).unwrap_or_else(|| "EventBridge event".into());
    let fallback = match non_empty(e.source.trim()) {
        Some(source) => format!("{}: {}", escape(&source), escape_within(&detail_type, 200)),
        None => escape_within(&detail_type, 200),
    };
    let mut m = Card::new("📣", detail_type, fallback, Severity::Info);
    m.fields(vec![
        ("Source", non_empty(e.source.trim()).map(|s| code(&s))),
        ("Detail type", non_empty(e.detail_type.trim()).map(|t| escape(&t))),
        ("Account", e.account.as_deref().map(escape)),
        ("Region", e.region.as_deref().map(escape)),
        ("When", when(e.time)),
    ]);
    if let Some(list) = bullets(&e.resources, 10) {
        m.section(format!("*Resources*\n{list}"));
    }
    if let Some(detail) = compact_detail(&e.detail) {
        m.section(format!("*Detail*\n{detail}"));
    }
    m
}
