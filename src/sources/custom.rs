//! Custom notifications in the schema of AWS's managed chat integration (AWS Chatbot, now
//! Amazon Q Developer in chat applications), on SNS: `{"version": "1.0", "source": "custom",
//! "content": {…}, "metadata": {…}}`.
//!
//! The title is the card's title; the summary, or else the title, or else the
//! description's first line (cut short), its headline; the description its text; the next
//! steps a list; the additional context facts; the keywords, event type and related
//! resources small print.
//!
//! The schema has no severity, so it is read from the words of the keywords and the event
//! type (split at punctuation and at camel case, compared without case):
//! - `critical`, `fatal`, `failed`, `failure`, `error`, `outage` → red (error);
//! - else `warning`, `warn`, `degraded` → amber (warning);
//! - else `resolved`, `recovered`, `ok`, `succeeded`, `success` → green (ok);
//! - anything else is news (info).

use serde_json::Value;

use super::shared::*;
use super::{Body, SnsMessage, Source};
use crate::model::card::{Card, Part, Severity};
use crate::model::mrkdwn::{escape, escape_within};

pub(crate) const SOURCE: Source = Source::messages("custom", from_sns);

/// At most this many facts from the additional context, and items in each list.
const MAX_CONTEXT_FIELDS: usize = 10;
const MAX_ITEMS: usize = 10;

/// Ours when `source` is `custom`, `version` is 1.0 and there is a `content` object.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let obj = message.object()?;
    let version = match obj.get("version")? {
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    };
    let claimed = obj.get("source").and_then(Value::as_str) == Some("custom")
        && version == Some(1.0)
        && obj_at(obj, "content").is_some();
    claimed.then(|| Body::new(read(obj)))
}

/// A custom notification, as its author wrote it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CustomNotification {
    pub id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
    pub summary: Option<String>,
    pub event_type: Option<String>,
    pub thread_id: Option<String>,
    pub related_resources: Vec<String>,
    /// The author's own facts, in the order given (sorted by key).
    pub additional_context: Vec<(String, String)>,
}

/// Non-blank strings of a list; numbers and booleans as text.
fn strings(obj: Option<&Obj>, key: &str) -> Vec<String> {
    obj.map(|o| arr_at(o, key))
        .unwrap_or_default()
        .iter()
        .filter_map(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
        .collect()
}

fn read(obj: &Obj) -> CustomNotification {
    let content = obj_at(obj, "content");
    let metadata = obj_at(obj, "metadata");
    let text = |o: Option<&Obj>, key: &str| o.and_then(|o| str_at(o, key));
    let additional_context = metadata
        .and_then(|m| obj_at(m, "additionalContext"))
        .map(|context| {
            context
                .iter()
                .filter_map(|(k, v)| {
                    let value = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => return None,
                        Value::Number(_) | Value::Bool(_) => v.to_string(),
                        // Not in the schema: nested values as `path: value` lines.
                        other => path_value_lines(other, MAX_ITEMS).join("\n"),
                    };
                    (!value.trim().is_empty() && !k.trim().is_empty()).then(|| (k.clone(), value))
                })
                .collect()
        })
        .unwrap_or_default();
    CustomNotification {
        id: str_at(obj, "id"),
        title: text(content, "title"),
        description: text(content, "description"),
        next_steps: strings(content, "nextSteps"),
        keywords: strings(content, "keywords"),
        summary: text(metadata, "summary"),
        event_type: text(metadata, "eventType"),
        thread_id: text(metadata, "threadId"),
        related_resources: strings(metadata, "relatedResources"),
        additional_context,
    }
}

/// `DeploymentFailed`, `deploy-failed`, `DEPLOY_FAILED` → `deployment`, `failed`.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        let boundary = !c.is_alphanumeric() || (c.is_uppercase() && previous_lower);
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The severity the keywords and the event type say, by the rule in the module's docs.
pub(crate) fn severity(n: &CustomNotification) -> Severity {
    let said: Vec<String> = n
        .keywords
        .iter()
        .chain(&n.event_type)
        .flat_map(|t| words(t))
        .collect();
    let any = |list: &[&str]| said.iter().any(|w| list.contains(&w.as_str()));
    if any(&["critical", "fatal", "failed", "failure", "error", "outage"]) {
        Severity::Error
    } else if any(&["warning", "warn", "degraded"]) {
        Severity::Warning
    } else if any(&["resolved", "recovered", "ok", "succeeded", "success"]) {
        Severity::Ok
    } else {
        Severity::Info
    }
}

notice!(CustomNotification, card, |it| it
    .title
    .clone()
    .or_else(|| it.id.clone())
    .unwrap_or_default());

/// The notification as a card: title, description, next steps, facts and small print.
pub(crate) fn card(n: &CustomNotification) -> Card {
    let severity = severity(n);
    let title = n
        .title
        .as_deref()
        .or(n.summary.as_deref())
        .or(n.event_type.as_deref())
        .unwrap_or("Custom notification");
    // A notification with only a description is read by its first line on a phone.
    let first_line = n
        .description
        .as_deref()
        .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()));
    let headline = n
        .summary
        .as_deref()
        .or(n.title.as_deref())
        .or(n.event_type.as_deref())
        .or(first_line)
        .unwrap_or(title);
    let headline = escape_within(headline, 200);
    let mut m = Card::new(severity.emoji("📢"), title.to_owned(), headline, severity);
    if let Some(description) = n.description.as_deref().filter(|d| !d.trim().is_empty()) {
        m.parts.push(Part::Text(description.to_owned()));
    }
    if let Some(list) = bullets(&n.next_steps, MAX_ITEMS) {
        m.section(format!("*Next steps*\n{list}"));
    }
    m.fields(
        n.additional_context
            .iter()
            .take(MAX_CONTEXT_FIELDS)
            .map(|(k, v)| (escape(k), Some(escape(v))))
            .collect(),
    );
    let mut small = Vec::new();
    if let Some(event_type) = &n.event_type {
        small.push(format!("Event type: {}", escape(event_type)));
    }
    if !n.keywords.is_empty() {
        let keywords: Vec<String> = n.keywords.iter().take(MAX_ITEMS).map(|k| code(k)).collect();
        small.push(format!("Keywords: {}", keywords.join(" ")));
    }
    if !n.related_resources.is_empty() {
        let resources: Vec<String> = n
            .related_resources
            .iter()
            .take(MAX_ITEMS)
            .map(|r| escape(r))
            .collect();
        small.push(format!("Related: {}", resources.join(", ")));
    }
    if !small.is_empty() {
        m.context(small);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::parse_sns_message;

    fn notification(json: &str) -> CustomNotification {
        let value: Value = serde_json::from_str(json).unwrap();
        read(value.as_object().unwrap())
    }

    #[test]
    fn words_split_at_punctuation_and_case() {
        assert_eq!(words("DeploymentFailed"), vec!["deployment", "failed"]);
        assert_eq!(words("deploy-FAILED"), vec!["deploy", "failed"]);
        assert_eq!(words("DB_ERROR v2"), vec!["db", "error", "v2"]);
        // No word hides inside another: `token` is not `ok`.
        assert_eq!(words("token"), vec!["token"]);
    }

    #[test]
    fn keywords_and_event_type_set_the_severity() {
        let with = |keywords: &[&str], event_type: Option<&str>| CustomNotification {
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
            event_type: event_type.map(str::to_owned),
            ..Default::default()
        };
        assert_eq!(severity(&with(&["orders", "Critical"], None)), Severity::Error);
        assert_eq!(severity(&with(&[], Some("DeploymentFailed"))), Severity::Error);
        // The worst word wins.
        assert_eq!(severity(&with(&["warning", "error"], None)), Severity::Error);
        assert_eq!(severity(&with(&["latency-warning"], None)), Severity::Warning);
        assert_eq!(severity(&with(&["resolved"], Some("Incident"))), Severity::Ok);
        assert_eq!(severity(&with(&["OK"], None)), Severity::Ok);
        assert_eq!(severity(&with(&["token", "booking"], None)), Severity::Info);
        assert_eq!(severity(&with(&[], None)), Severity::Info);
    }

    #[test]
    fn only_the_custom_schema_is_claimed() {
        let kind = |text: &str| parse_sns_message(None, text, None).unwrap().describe().0;
        assert_eq!(
            kind(r#"{"version":"1.0","source":"custom","content":{"title":"t"}}"#),
            "custom"
        );
        assert_eq!(
            kind(r#"{"version":1.0,"source":"custom","content":{}}"#),
            "custom"
        );
        assert_eq!(kind(r#"{"version":"1.0","source":"custom"}"#), "text");
        assert_eq!(
            kind(r#"{"version":"2.0","source":"custom","content":{}}"#),
            "text"
        );
        assert_eq!(
            kind(r#"{"version":"1.0","source":"aws.ec2","content":{}}"#),
            "text"
        );
    }

    #[test]
    fn nulls_and_wrong_types_read_as_missing() {
        let n = notification(
            r#"{"version":"1.0","source":"custom","id":null,
                "content":{"title":7,"description":null,"nextSteps":"do it","keywords":[null,"a",{}]},
                "metadata":{"summary":[],"relatedResources":null,"additionalContext":{"k":null,"n":2,"deep":{"x":[1]}}}}"#,
        );
        assert_eq!(n.title.as_deref(), Some("7"));
        assert_eq!(n.description, None);
        assert!(n.next_steps.is_empty());
        assert_eq!(n.keywords, vec!["a"]);
        assert_eq!(n.summary, None);
        assert_eq!(
            n.additional_context,
            vec![("deep".into(), "x[0]: 1".into()), ("n".into(), "2".into())]
        );
        assert_eq!(card(&n).headline, "7");
        // Metadata may be missing entirely, and content empty.
        let n = notification(r#"{"version":"1.0","source":"custom","content":{}}"#);
        let empty = card(&n);
        assert_eq!(empty.title, "Custom notification");
        assert_eq!(empty.headline, "Custom notification");
        assert_eq!(empty.severity, Severity::Info);
        // With only a description, its first line is the headline.
        let n = notification(
            r#"{"version":"1.0","source":"custom","content":{"description":"\n Disk <90%> on db-1\nmore"}}"#,
        );
        assert_eq!(card(&n).headline, "Disk &lt;90%&gt; on db-1");
    }

    #[test]
    fn user_text_is_escaped() {
        let n = CustomNotification {
            title: Some("<!channel> deploy".into()),
            summary: Some("Deploy <!here> failed".into()),
            keywords: vec!["`x`".into()],
            related_resources: vec!["<@U1>".into()],
            additional_context: vec![("<k>".into(), "<v>".into())],
            ..Default::default()
        };
        let card = card(&n);
        assert_eq!(card.headline, "Deploy &lt;!here&gt; failed");
        // The title is plain text in the header, never parsed.
        assert_eq!(card.title, "<!channel> deploy");
        let parts = format!("{:?}", card.parts);
        assert!(!parts.contains("<@U1>") && !parts.contains("<v>"), "{parts}");
    }
}
