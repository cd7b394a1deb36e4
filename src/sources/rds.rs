//! RDS events: EventBridge's "RDS DB … Event"s (`aws.rds`), and the JSON an RDS event
//! subscription publishes to SNS.
//!
//! DMS event subscriptions publish the same shape of message, so the reader of that
//! message ([`read_subscription`]) lives here and `dms` calls it; the two are told apart
//! by the prefix of the event id (`RDS-EVENT-…`, `DMS-EVENT-…`).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::both("rds", from_event, from_sns);

/// The EventBridge detail types read here, with the source type each is about.
const DETAIL_TYPES: [(&str, &str); 6] = [
    ("RDS DB Instance Event", "db-instance"),
    ("RDS DB Cluster Event", "db-cluster"),
    ("RDS DB Snapshot Event", "db-snapshot"),
    ("RDS DB Cluster Snapshot Event", "db-cluster-snapshot"),
    ("RDS DB Parameter Group Event", "db-parameter-group"),
    ("RDS DB Security Group Event", "db-security-group"),
];

/// The `Event Source` values of an RDS subscription message.
const SOURCE_TYPES: [&str; 10] = [
    "db-instance",
    "db-cluster",
    "db-snapshot",
    "db-cluster-snapshot",
    "db-parameter-group",
    "db-security-group",
    "db-proxy",
    "custom-engine-version",
    "blue-green-deployment",
    "db-shard-group",
];

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    if event.source != "aws.rds" {
        return None;
    }
    let (_, source_type) = DETAIL_TYPES
        .iter()
        .find(|(detail_type, _)| *detail_type == event.detail_type)?;
    Some(Ok(Body::new(read_event(detail, event, source_type))))
}

/// Only a message with an `RDS-EVENT-…` id, or, without one, an RDS `Event Source`.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let m = read_subscription(message.object()?, "RDS", &SOURCE_TYPES)?;
    Some(Body::new(from_subscription(m, message.topic_arn.as_deref())))
}

/// An RDS event about a DB instance, cluster, snapshot or parameter group.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RdsEvent {
    /// `db-instance`, `db-cluster`, `db-snapshot`, …
    pub source_type: Option<String>,
    /// The instance's, cluster's, snapshot's or group's name.
    pub identifier: Option<String>,
    pub source_arn: Option<String>,
    /// `RDS-EVENT-0031`.
    pub event_id: Option<String>,
    /// `failure`, `low storage`, `failover`, …; a subscription message names none, so
    /// they come from the event id where it is a known one.
    pub categories: Vec<String>,
    pub message: Option<String>,
    pub time: Option<DateTime<Utc>>,
    /// The console link a subscription message gives.
    pub link: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
}

fn read_event(d: &Obj, event: &Event, detail_source_type: &str) -> RdsEvent {
    let source_arn = str_at(d, "SourceArn");
    let arn = source_arn.as_deref().and_then(parse_arn);
    let event_id = str_at(d, "EventID").and_then(|id| event_code(&id));
    let mut categories: Vec<String> = arr_at(d, "EventCategories")
        .iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    if categories.is_empty() {
        categories.extend(event_id.as_deref().and_then(known_category).map(str::to_owned));
    }
    let place = Place::of(event, arn.as_ref());
    RdsEvent {
        source_type: str_at(d, "SourceType")
            .map(|t| normal_source_type(&t))
            .or_else(|| Some(detail_source_type.to_owned())),
        identifier: str_at(d, "SourceIdentifier")
            .or_else(|| arn.as_ref().and_then(|a| arn_name(a.resource))),
        event_id,
        categories,
        message: str_at(d, "Message").map(|m| m.trim().to_owned()),
        time: time_at(d, "Date").or(event.time),
        link: None,
        account: place.account,
        region: place.region,
        partition: place.partition,
        source_arn,
    }
}

fn from_subscription(m: SubscriptionMessage, topic_arn: Option<&str>) -> RdsEvent {
    let (account, region, partition) = m.whereabouts(topic_arn);
    let categories = m
        .event_id
        .as_deref()
        .and_then(known_category)
        .map(|c| vec![c.to_owned()])
        .unwrap_or_default();
    RdsEvent {
        source_type: m.source_type,
        identifier: m.source_id,
        source_arn: m.source_arn,
        event_id: m.event_id,
        categories,
        message: m.message,
        time: m.time,
        link: m.link,
        account,
        region,
        partition,
    }
}

/// EventBridge writes `DB_INSTANCE` and `CLUSTER`; subscriptions write `db-instance` and
/// `db-cluster`.
fn normal_source_type(raw: &str) -> String {
    let t = raw.trim().to_ascii_lowercase().replace('_', "-");
    let prefixed = format!("db-{t}");
    if !t.starts_with("db-") && SOURCE_TYPES.contains(&prefixed.as_str()) {
        prefixed
    } else {
        t
    }
}

/// The name at the end of an RDS ARN's resource (`db:orders-db`, `cluster:orders`).
fn arn_name(resource: &str) -> Option<String> {
    let name = resource.rsplit_once(':').map_or(resource, |(_, name)| name);
    non_empty(name.trim())
}

// ---- the message an RDS or DMS event subscription publishes to SNS ----

/// What an RDS or DMS event subscription says, before either reads it as its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct SubscriptionMessage {
    /// `Event Source`: `db-instance`, `replication-task`, …
    pub source_type: Option<String>,
    pub time: Option<DateTime<Utc>>,
    /// `Identifier Link`, when it is a console link.
    pub link: Option<String>,
    pub source_id: Option<String>,
    pub source_arn: Option<String>,
    /// The event's code, from the documentation URL in `Event ID`: `RDS-EVENT-0031`.
    pub event_id: Option<String>,
    pub message: Option<String>,
}

impl SubscriptionMessage {
    /// Account, region and partition: from the source's ARN, else the region from the
    /// console link, else the topic's ARN.
    pub(crate) fn whereabouts(
        &self,
        topic_arn: Option<&str>,
    ) -> (Option<String>, Option<String>, Option<String>) {
        let source = self.source_arn.as_deref().and_then(parse_arn);
        let topic = topic_arn.and_then(parse_arn);
        let pick = |f: for<'a> fn(&Arn<'a>) -> &'a str| {
            source
                .as_ref()
                .and_then(|a| non_empty(f(a)))
                .or_else(|| topic.as_ref().and_then(|a| non_empty(f(a))))
        };
        let region = source
            .as_ref()
            .and_then(|a| non_empty(a.region))
            .or_else(|| self.link.as_deref().and_then(region_in_link))
            .or_else(|| topic.as_ref().and_then(|a| non_empty(a.region)));
        (pick(|a| a.account), region, pick(|a| a.partition))
    }
}

/// Reads a subscription message when it is `service`'s (`RDS`, `DMS`): its `Event ID`
/// ends in `#<service>-EVENT-…`, or, with no event id, its `Event Source` is one of
/// `source_types`.
pub(crate) fn read_subscription(
    obj: &Obj,
    service: &str,
    source_types: &[&str],
) -> Option<SubscriptionMessage> {
    let event_id = str_at(obj, "Event ID").and_then(|id| event_code(&id));
    let source_type = str_at(obj, "Event Source").map(|s| s.trim().to_owned());
    let ours = match &event_id {
        Some(id) => id
            .strip_prefix(service)
            .is_some_and(|rest| rest.starts_with("-EVENT-")),
        None => {
            source_type
                .as_deref()
                .is_some_and(|s| source_types.contains(&s))
                && str_at(obj, "Event Message").is_some()
        }
    };
    if !ours {
        return None;
    }
    // DMS has been seen to write its source id inside the link: "https://…\nSourceId: x ".
    let raw_link = str_at(obj, "Identifier Link").unwrap_or_default();
    let mut lines = raw_link.lines();
    let link = lines.next().and_then(console_link);
    let id_in_link = lines
        .filter_map(|l| l.trim().strip_prefix("SourceId:"))
        .map(str::trim)
        .find(|id| !id.is_empty())
        .map(str::to_owned);
    Some(SubscriptionMessage {
        source_type,
        time: str_at(obj, "Event Time").as_deref().and_then(event_time),
        link,
        source_id: ["Source ID", "SourceId", "SourceID"]
            .iter()
            .find_map(|k| str_at(obj, k))
            .map(|id| id.trim().to_owned())
            .or(id_in_link),
        source_arn: str_at(obj, "Source ARN").map(|a| a.trim().to_owned()),
        event_id,
        message: str_at(obj, "Event Message").map(|m| m.trim().to_owned()),
    })
}

/// `RDS-EVENT-0031` from itself or from a documentation URL ending in `#RDS-EVENT-0031 `.
pub(crate) fn event_code(raw: &str) -> Option<String> {
    let code = raw.rsplit('#').next()?.trim().to_ascii_uppercase();
    let valid = code.contains("-EVENT-")
        && code.len() <= 40
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then_some(code)
}

/// Subscriptions write `2026-11-20 03:14:07.123`, in UTC.
fn event_time(raw: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
        .or_else(|| parse_time(raw))
}

/// The `region=` of a console link.
fn region_in_link(link: &str) -> Option<String> {
    let (_, rest) = link.split_once("region=")?;
    let region = rest.split(['&', '#', '/']).next()?;
    is_region_code(region).then(|| region.to_owned())
}

// ---- severity ----

/// The categories of event ids whose meaning is clear, for subscription messages, which
/// name no category.
const KNOWN_EVENTS: [(&str, &str); 22] = [
    ("RDS-EVENT-0001", "backup"),
    ("RDS-EVENT-0002", "backup"),
    ("RDS-EVENT-0003", "deletion"),
    ("RDS-EVENT-0004", "availability"),
    ("RDS-EVENT-0005", "creation"),
    ("RDS-EVENT-0006", "availability"),
    ("RDS-EVENT-0007", "low storage"),
    ("RDS-EVENT-0013", "failover"),
    ("RDS-EVENT-0015", "failover"),
    ("RDS-EVENT-0020", "recovery"),
    ("RDS-EVENT-0021", "recovery"),
    ("RDS-EVENT-0022", "availability"),
    ("RDS-EVENT-0031", "failure"),
    ("RDS-EVENT-0034", "failover"),
    ("RDS-EVENT-0035", "failure"),
    ("RDS-EVENT-0036", "failure"),
    ("RDS-EVENT-0045", "read replica"),
    ("RDS-EVENT-0049", "failover"),
    ("RDS-EVENT-0087", "notification"),
    ("RDS-EVENT-0088", "notification"),
    ("RDS-EVENT-0089", "low storage"),
    ("RDS-EVENT-0221", "failure"),
];

fn known_category(event_id: &str) -> Option<&'static str> {
    KNOWN_EVENTS
        .iter()
        .find(|(id, _)| *id == event_id)
        .map(|(_, category)| *category)
}

/// The message's words, lower case.
pub(crate) fn words(message: Option<&str>) -> Vec<String> {
    message
        .unwrap_or_default()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

pub(crate) fn has_any(words: &[String], wanted: &[&str]) -> bool {
    words.iter().any(|w| wanted.contains(&w.as_str()))
}

/// Words that say something went wrong.
pub(crate) const FAILURE_WORDS: [&str; 5] = ["failed", "failure", "error", "unable", "cannot"];
/// Words that say something is running short or falling behind.
pub(crate) const DEGRADED_WORDS: [&str; 10] = [
    "low",
    "exhausted",
    "exceeds",
    "exceeded",
    "exceeding",
    "delayed",
    "degraded",
    "insufficient",
    "throttled",
    "full",
];
/// Words that say something finished.
pub(crate) const DONE_WORDS: [&str; 5] = ["complete", "completed", "finished", "recovered", "resumed"];

/// How bad an RDS event is. The instance that failed and the storage that filled up
/// (the database shut down) are the worst; any other failure is an error; low storage
/// and other shortfalls, any failover, a recovery under way and a shutdown are warnings;
/// a finished backup or recovery is good news; the rest is routine.
///
/// A failover is amber even once it completed: the primary failed or was taken away,
/// clients lost their connections, and someone should find out why.
pub(crate) fn severity(event_id: Option<&str>, categories: &[String], message: Option<&str>) -> Severity {
    let id = event_id.unwrap_or_default();
    if matches!(id, "RDS-EVENT-0031" | "RDS-EVENT-0221") {
        return Severity::Critical;
    }
    let has = |c: &str| categories.iter().any(|x| x.trim().eq_ignore_ascii_case(c));
    let words = words(message);
    let done = has_any(&words, &DONE_WORDS);
    if has("failure") || id == "RDS-EVENT-0007" {
        return Severity::Error;
    }
    if has("recovery") && done {
        return Severity::Ok;
    }
    if has_any(&words, &FAILURE_WORDS) {
        return Severity::Error;
    }
    if has("low storage") || has_any(&words, &DEGRADED_WORDS) {
        return Severity::Warning;
    }
    if has("failover") || has("recovery") {
        return Severity::Warning;
    }
    if has("availability") && (has_any(&words, &["shutdown"]) || message_says(message, "shut down"))
    {
        return Severity::Warning;
    }
    if has("backup") && done {
        return Severity::Ok;
    }
    Severity::Info
}

fn message_says(message: Option<&str>, phrase: &str) -> bool {
    message.is_some_and(|m| m.to_lowercase().contains(phrase))
}

// ---- the card ----

/// `DB instance`, `DB cluster snapshot`, …
pub(crate) fn source_type_words(source_type: &str) -> String {
    match source_type.strip_prefix("db-") {
        Some(rest) => format!("DB {}", rest.replace('-', " ")),
        None => humanise(source_type).replace("Rds", "RDS"),
    }
}

impl RdsEvent {
    fn console_url(&self) -> Option<String> {
        let id = self.identifier.as_deref()?;
        let page = match self.source_type.as_deref()? {
            "db-instance" => format!("database:id={};is-cluster=false", url_encode(id)),
            "db-cluster" => format!("database:id={};is-cluster=true", url_encode(id)),
            "db-parameter-group" => format!(
                "parameter-groups-detail:ids={};type=DbParameterGroup;editing=false",
                url_encode(id)
            ),
            "db-snapshot" if self.link.is_none() => format!("db-snapshot:id={}", url_encode(id)),
            _ => return None,
        };
        service_console_url(
            self.partition.as_deref().unwrap_or("aws"),
            self.region.as_deref(),
            &format!("rds/home?region={{region}}#{page}"),
        )
    }
}

notice!(RdsEvent, card, |it| format!(
    "{} {}",
    it.identifier.as_deref().unwrap_or_default(),
    it.event_id.as_deref().unwrap_or_default()
));

/// The event as a card: which database, the event and what RDS said, and a link to it.
pub(crate) fn card(e: &RdsEvent) -> Card {
    let severity = severity(e.event_id.as_deref(), &e.categories, e.message.as_deref());
    let emoji = severity.emoji("🛢️");
    let identifier = e.identifier.as_deref().unwrap_or("database");
    let first_line = e
        .message
        .as_deref()
        .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()));
    let event = e
        .event_id
        .as_deref()
        .map(|id| format!(" {}", escape(id)))
        .unwrap_or_default();
    let headline = match first_line {
        Some(line) => format!(
            "RDS {}{event}: {}",
            escape(identifier),
            escape_within(line, 200)
        ),
        None => format!("RDS {}{event}", escape(identifier)),
    };
    let kind = e
        .source_type
        .as_deref()
        .map(|t| format!("{} ", source_type_words(t)))
        .unwrap_or_default();
    let what = e
        .categories
        .first()
        .cloned()
        .or_else(|| e.event_id.clone())
        .unwrap_or_else(|| "event".into());
    let mut m = Card::new(
        emoji,
        format!("RDS {kind}{identifier}: {what}"),
        headline,
        severity,
    );
    m.titled("Message", e.message.as_deref());
    m.fields(vec![
        ("Identifier", Some(escape(identifier))),
        ("Event", e.event_id.as_deref().map(code)),
        (
            "Category",
            Some(e.categories.join(", ")).map(|c| escape(&c)),
        ),
        (
            "Source type",
            e.source_type.as_deref().map(|t| escape(&source_type_words(t))),
        ),
        ("Account", e.account.as_deref().map(escape)),
        ("Region", e.region.as_deref().map(escape)),
        ("Time", when(e.time)),
    ]);
    m.link("Open in RDS", e.console_url().or_else(|| e.link.clone()));
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Obj {
        v.as_object().unwrap().clone()
    }

    fn sev(id: &str, categories: &[&str], message: &str) -> Severity {
        let categories: Vec<String> = categories.iter().map(|c| (*c).to_owned()).collect();
        severity(Some(id), &categories, Some(message))
    }

    #[test]
    fn events_map_to_severities() {
        for (id, categories, message, expected) in [
            ("RDS-EVENT-0031", &["failure"][..], "The DB instance has failed.", Severity::Critical),
            ("RDS-EVENT-0221", &["failure"], "Storage full; the database was shut down.", Severity::Critical),
            ("RDS-EVENT-0035", &["failure"], "The DB instance has invalid parameters.", Severity::Error),
            ("RDS-EVENT-0045", &["read replica"], "An error occurred in replication.", Severity::Error),
            ("RDS-EVENT-0089", &["low storage"], "Free storage is low at 8%.", Severity::Warning),
            ("RDS-EVENT-0013", &["failover"], "A Multi-AZ failover has started.", Severity::Warning),
            ("RDS-EVENT-0049", &["failover"], "A Multi-AZ failover has completed.", Severity::Warning),
            ("RDS-EVENT-0004", &["availability"], "DB instance shutdown.", Severity::Warning),
            ("RDS-EVENT-0006", &["availability"], "DB instance restarted.", Severity::Info),
            ("RDS-EVENT-0020", &["recovery"], "Recovery of the DB instance has started.", Severity::Warning),
            ("RDS-EVENT-0021", &["recovery"], "Recovery of the DB instance is complete.", Severity::Ok),
            ("RDS-EVENT-0002", &["backup"], "Finished DB instance backup.", Severity::Ok),
            ("RDS-EVENT-0001", &["backup"], "Backing up DB instance.", Severity::Info),
            ("RDS-EVENT-0037", &["configuration change"], "Updated parameter max_connections to 500.", Severity::Info),
        ] {
            assert_eq!(sev(id, categories, message), expected, "{id}: {message}");
        }
        assert_eq!(severity(None, &[], None), Severity::Info);
    }

    #[test]
    fn source_types_read_the_same_from_both_deliveries() {
        assert_eq!(normal_source_type("DB_INSTANCE"), "db-instance");
        assert_eq!(normal_source_type("CLUSTER"), "db-cluster");
        assert_eq!(normal_source_type("CLUSTER_SNAPSHOT"), "db-cluster-snapshot");
        assert_eq!(normal_source_type("db-parameter-group"), "db-parameter-group");
        assert_eq!(normal_source_type("SOMETHING_NEW"), "something-new");
        assert_eq!(source_type_words("db-cluster-snapshot"), "DB cluster snapshot");
    }

    #[test]
    fn event_codes_come_from_documentation_links() {
        assert_eq!(
            event_code("http://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.html#RDS-EVENT-0002 ").as_deref(),
            Some("RDS-EVENT-0002")
        );
        assert_eq!(event_code("dms-event-0079").as_deref(), Some("DMS-EVENT-0079"));
        assert_eq!(event_code("https://example.com/#top"), None);
        assert_eq!(event_code("RDS-EVENT-<!here>"), None);
    }

    #[test]
    fn a_subscription_message_is_claimed_by_its_own_service_only() {
        let rds = obj(json!({
            "Event Source": "db-instance",
            "Event Time": "2026-11-20 03:14:07.123",
            "Identifier Link": "https://console.aws.amazon.com/rds/home?region=eu-west-1#dbinstance:id=orders-db",
            "Source ID": "orders-db",
            "Event ID": "http://docs.amazonwebservices.com/AmazonRDS/latest/UserGuide/USER_Events.html#RDS-EVENT-0002",
            "Event Message": "Finished DB Instance backup"
        }));
        let m = read_subscription(&rds, "RDS", &SOURCE_TYPES).unwrap();
        assert_eq!(m.source_id.as_deref(), Some("orders-db"));
        assert_eq!(
            m.time.unwrap().to_rfc3339(),
            "2026-11-20T03:14:07.123+00:00"
        );
        assert_eq!(m.whereabouts(None).1.as_deref(), Some("eu-west-1"));
        assert!(read_subscription(&rds, "DMS", &["replication-task"]).is_none());
        // No event id: the source type decides.
        let bare = obj(json!({"Event Source": "db-cluster", "Event Message": "x"}));
        assert!(read_subscription(&bare, "RDS", &SOURCE_TYPES).is_some());
        assert!(read_subscription(&bare, "DMS", &["replication-task"]).is_none());
        // Anything else is not ours.
        assert!(read_subscription(&obj(json!({"Event Message": "x"})), "RDS", &SOURCE_TYPES).is_none());
    }

    #[test]
    fn missing_nulls_and_wrong_types_do_not_panic() {
        let m = obj(json!({
            "Event Source": null,
            "Event Time": 12,
            "Identifier Link": ["not", "a", "link"],
            "Source ID": null,
            "Event ID": "RDS-EVENT-0031",
            "Event Message": {"nested": true}
        }));
        let e = from_subscription(read_subscription(&m, "RDS", &SOURCE_TYPES).unwrap(), None);
        assert_eq!(e.categories, vec!["failure".to_owned()]);
        let c = card(&e);
        assert_eq!(c.severity, Severity::Critical);
        assert_eq!(c.headline, "RDS database RDS-EVENT-0031");
        assert!(c.parts.iter().all(|p| !matches!(p, crate::model::card::Part::Link { .. })));
    }

    #[test]
    fn links_that_are_not_console_links_are_dropped() {
        assert!(console_link("https://console.aws.amazon.com/rds/home?region=us-east-1").is_some());
        assert!(console_link("https://eu-west-1.console.aws.amazon.com/dms/v2/home").is_some());
        assert!(console_link("https://evil.example.com/console.aws.amazon.com").is_none());
        assert!(console_link("javascript:alert(1)").is_none());
    }

    #[test]
    fn the_headline_names_the_database_the_event_and_the_message() {
        let e = RdsEvent {
            source_type: Some("db-instance".into()),
            identifier: Some("orders-db".into()),
            event_id: Some("RDS-EVENT-0031".into()),
            categories: vec!["failure".into()],
            message: Some("The DB instance has failed <!here>.".into()),
            region: Some("us-east-1".into()),
            ..Default::default()
        };
        let c = card(&e);
        assert_eq!(
            c.headline,
            "RDS orders-db RDS-EVENT-0031: The DB instance has failed &lt;!here&gt;."
        );
        assert_eq!(c.title, "RDS DB instance orders-db: failure");
        assert_eq!(
            e.console_url().as_deref(),
            Some("https://us-east-1.console.aws.amazon.com/rds/home?region=us-east-1#database:id=orders-db;is-cluster=false")
        );
    }
}
