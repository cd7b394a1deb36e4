//! AWS DMS event notifications: the JSON a DMS event subscription publishes to SNS. It has
//! the shape of an RDS subscription message, read by [`super::rds::read_subscription`];
//! its event id (`…#DMS-EVENT-0078`) tells it apart.

use chrono::{DateTime, Utc};

use super::rds::{has_any, read_subscription, words, DONE_WORDS, FAILURE_WORDS};
use super::shared::*;
use super::{Body, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};

pub(crate) const SOURCE: Source = Source::messages("dms", from_sns);

/// The `Event Source` values of a DMS subscription message.
const SOURCE_TYPES: [&str; 4] = [
    "replication-instance",
    "replication-task",
    "replication-config",
    "endpoint",
];

/// Only a message with a `DMS-EVENT-…` id, or, without one, a DMS `Event Source`.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    read_sns(message).map(Body::new)
}

fn read_sns(message: &SnsMessage) -> Option<DmsEvent> {
    let m = read_subscription(message.object()?, "DMS", &SOURCE_TYPES)?;
    let (account, region, partition) = m.whereabouts(message.topic_arn.as_deref());
    Some(DmsEvent {
        source_type: m.source_type,
        source_id: m.source_id,
        event_id: m.event_id,
        message: m.message,
        time: m.time,
        link: m.link,
        account,
        region,
        partition,
    })
}

/// A DMS event about a replication task, instance or endpoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct DmsEvent {
    /// `replication-task`, `replication-instance`, …
    pub source_type: Option<String>,
    /// The task's or instance's identifier.
    pub source_id: Option<String>,
    /// `DMS-EVENT-0078`.
    pub event_id: Option<String>,
    /// What DMS said; a failure's reason follows on further lines.
    pub message: Option<String>,
    pub time: Option<DateTime<Utc>>,
    /// The console link the message gives.
    pub link: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
}

/// How bad a DMS event is. A failed task or instance is an error. A stopped task is a
/// warning, unless it stopped because its full load finished. Reading paused at a limit,
/// low storage and a failover under way are warnings; a resumed or completed step is
/// good news; creation, start and configuration changes are routine.
pub(crate) fn severity(event_id: Option<&str>, message: Option<&str>) -> Severity {
    let words = words(message);
    let id = event_id.unwrap_or_default();
    let finished_load = message.is_some_and(|m| m.contains("FULL_LOAD_ONLY_FINISHED"));
    if id == "DMS-EVENT-0078" || has_any(&words, &FAILURE_WORDS) && !finished_load {
        return Severity::Error;
    }
    if finished_load {
        return Severity::Ok;
    }
    let done = has_any(&words, &DONE_WORDS);
    if id == "DMS-EVENT-0079" || has_any(&words, &["stopped", "paused", "low", "limit"]) {
        return Severity::Warning;
    }
    if has_any(&words, &["failover"]) {
        return if done { Severity::Info } else { Severity::Warning };
    }
    if done {
        return Severity::Ok;
    }
    Severity::Info
}

impl DmsEvent {
    fn console_url(&self) -> Option<String> {
        let id = self.source_id.as_deref()?;
        let page = match self.source_type.as_deref()? {
            "replication-task" => "taskDetails",
            _ => return None,
        };
        service_console_url(
            self.partition.as_deref().unwrap_or("aws"),
            self.region.as_deref(),
            &format!("dms/v2/home?region={{region}}#{page}/{}", url_encode(id)),
        )
    }
}

notice!(DmsEvent, card, |it| format!(
    "{} {}",
    it.source_id.as_deref().unwrap_or_default(),
    it.event_id.as_deref().unwrap_or_default()
));

/// The event as a card: which task or instance, the event and what DMS said, and a link.
pub(crate) fn card(e: &DmsEvent) -> Card {
    let severity = severity(e.event_id.as_deref(), e.message.as_deref());
    let emoji = severity.emoji("🔁");
    let id = e.source_id.as_deref().unwrap_or("replication");
    // The first line, and the reason for a failure when the next line gives one.
    let mut lines = e
        .message
        .as_deref()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let first_line = lines.next().map(|first| match lines.next() {
        Some(reason) if reason.starts_with("Reason:") => format!("{first} {reason}"),
        _ => first.to_owned(),
    });
    let event = e
        .event_id
        .as_deref()
        .map(|id| format!(" {}", escape(id)))
        .unwrap_or_default();
    let headline = match first_line {
        Some(line) => format!("DMS {}{event}: {}", escape(id), escape_within(&line, 200)),
        None => format!("DMS {}{event}", escape(id)),
    };
    let kind = e
        .source_type
        .as_deref()
        .map(|t| format!("{} ", humanise(t).to_lowercase()))
        .unwrap_or_default();
    let mut m = Card::new(
        emoji,
        format!(
            "DMS {kind}{id}: {}",
            e.event_id.as_deref().unwrap_or("event")
        ),
        headline,
        severity,
    );
    m.titled("Message", e.message.as_deref());
    m.fields(vec![
        ("Identifier", Some(escape(id))),
        ("Event", e.event_id.as_deref().map(code)),
        (
            "Source type",
            e.source_type.as_deref().map(|t| escape(&humanise(t))),
        ),
        ("Account", e.account.as_deref().map(escape)),
        ("Region", e.region.as_deref().map(escape)),
        ("Time", when(e.time)),
    ]);
    m.link("Open in DMS", e.console_url().or_else(|| e.link.clone()));
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sns(v: serde_json::Value) -> Option<DmsEvent> {
        let text = v.to_string();
        let topic = "arn:aws:sns:eu-west-1:123456789012:dms-events";
        read_sns(&SnsMessage::new(None, &text, Some(topic.into())))
    }

    #[test]
    fn events_map_to_severities() {
        for (id, message, expected) in [
            ("DMS-EVENT-0078", "Replication task has failed.\nReason: Last Error Endpoint initialization failed.", Severity::Error),
            ("DMS-EVENT-0079", "Replication task has stopped.", Severity::Warning),
            (
                "DMS-EVENT-0079",
                "Replication task has stopped. Stop Reason FULL_LOAD_ONLY_FINISHED.",
                Severity::Ok,
            ),
            ("DMS-EVENT-0091", "Reading paused, swap files limit reached.", Severity::Warning),
            ("DMS-EVENT-0093", "Reading resumed.", Severity::Ok),
            ("DMS-EVENT-0069", "Replication task has started.", Severity::Info),
            ("DMS-EVENT-0074", "Replication task has been created.", Severity::Info),
        ] {
            assert_eq!(severity(Some(id), Some(message)), expected, "{id}: {message}");
        }
        assert_eq!(severity(None, None), Severity::Info);
    }

    #[test]
    fn dms_messages_are_claimed_and_rds_ones_are_not() {
        let dms = json!({
            "Event Source": "replication-task",
            "Event Time": "2026-11-20 10:02:11.480",
            "Identifier Link": "https://console.aws.amazon.com/dms/home?region=eu-west-1#tasks:ids=orders-cdc\nSourceId: orders-cdc ",
            "Event ID": "http://docs.aws.amazon.com/dms/latest/userguide/CHAP_Events.html#DMS-EVENT-0079 ",
            "Event Message": "Replication task has stopped."
        });
        let e = sns(dms).unwrap();
        // The source id hidden in the link is found.
        assert_eq!(e.source_id.as_deref(), Some("orders-cdc"));
        assert_eq!(e.event_id.as_deref(), Some("DMS-EVENT-0079"));
        assert_eq!(e.region.as_deref(), Some("eu-west-1"));
        assert_eq!(e.account.as_deref(), Some("123456789012"));
        let rds = json!({
            "Event Source": "db-instance",
            "Source ID": "orders-db",
            "Event ID": "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#RDS-EVENT-0002",
            "Event Message": "Finished DB Instance backup"
        });
        assert!(sns(rds).is_none());
    }

    #[test]
    fn missing_nulls_and_wrong_types_do_not_panic() {
        let e = sns(json!({
            "Event Source": "replication-task",
            "Event Time": null,
            "Identifier Link": 7,
            "SourceId": ["x"],
            "Event ID": null,
            "Event Message": "Replication task has failed."
        }))
        .unwrap();
        let c = card(&e);
        assert_eq!(c.severity, Severity::Error);
        assert_eq!(c.headline, "DMS replication: Replication task has failed.");
    }

    #[test]
    fn the_headline_names_the_task_the_event_and_the_first_line() {
        let e = DmsEvent {
            source_type: Some("replication-task".into()),
            source_id: Some("orders-cdc".into()),
            event_id: Some("DMS-EVENT-0078".into()),
            message: Some("Replication task has failed.\nReason: <!channel> gone".into()),
            region: Some("eu-west-1".into()),
            ..Default::default()
        };
        let c = card(&e);
        assert_eq!(
            c.headline,
            "DMS orders-cdc DMS-EVENT-0078: Replication task has failed. Reason: &lt;!channel&gt; gone"
        );
        assert_eq!(c.title, "DMS replication task orders-cdc: DMS-EVENT-0078");
        assert_eq!(
            e.console_url().as_deref(),
            Some("https://eu-west-1.console.aws.amazon.com/dms/v2/home?region=eu-west-1#taskDetails/orders-cdc")
        );
    }
}
