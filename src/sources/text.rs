//! Anything else on SNS, shown as text: a JSON document as `path: value` lines, text as it
//! is. The last resort.

use super::shared::*;
use super::{Body, SnsMessage, Source};
use crate::model::card::{Card, Part, Severity};
use crate::model::mrkdwn::{escape, escape_within};

pub(crate) const SOURCE: Source = Source {
    name: "text",
    event: None,
    sns: Some(from_sns),
    last_resort: true,
};

/// Enough to show a sizeable document; Slack's section limit cuts the rest.
const MAX_JSON_LINES: usize = 80;

fn from_sns(message: &SnsMessage) -> Option<Body> {
    Some(Body::new(read(message)))
}

/// The message as text; a JSON document becomes `path: value` lines.
pub(crate) fn read(message: &SnsMessage) -> TextMessage {
    let (text, is_json) = match message.json().filter(|v| v.is_object() || v.is_array()) {
        Some(value) => (
            path_value_lines(value, MAX_JSON_LINES).join("\n"),
            true,
        ),
        None => (message.text.to_owned(), false),
    };
    TextMessage {
        subject: message.subject.clone(),
        text,
        is_json,
        topic_arn: message.topic_arn.clone(),
    }
}

/// Anything that is not a known notification, shown as text.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct TextMessage {
    pub subject: Option<String>,
    pub text: String,
    /// True when `text` was a JSON document.
    pub is_json: bool,
    pub topic_arn: Option<String>,
}

notice!(TextMessage, card, |it| it.subject.clone().unwrap_or_default());

/// The message as a card: its subject as the title, its text as the body.
pub(crate) fn card(t: &TextMessage) -> Card {
    let topic = t
        .topic_arn
        .as_deref()
        .and_then(parse_arn)
        .map(|a| a.resource.to_owned());
    let subject = match (&t.subject, topic) {
        (Some(s), _) => s.clone(),
        (None, Some(topic)) => format!("Message on {topic}"),
        (None, None) => "Notification".to_owned(),
    };
    let subject = subject.as_str();
    let first_line = t
        .text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let fallback = if t.subject.is_some() || t.is_json {
        escape_within(subject, 200)
    } else {
        escape_within(first_line, 200)
    };
    let mut m = Card::new("📨", subject.to_owned(), fallback, Severity::Info);
    m.parts.push(Part::Text(t.text.clone()));
    if let Some(topic) = &t.topic_arn {
        m.context(vec![format!("via {}", escape(topic))]);
    }
    m
}
