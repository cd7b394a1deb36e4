//! One module per source of notifications, tried in the order of [`REGISTRY`].
//!
//! A source recognises its own events (an EventBridge `source` and `detail-type`, an SNS
//! message's shape or text), reads them into its own types, and turns those into a
//! [`Card`]. The parse layer unwraps the envelopes (SNS records, a direct alarm action,
//! EventBridge) and hands what is inside to the registry. Pure: no I/O, no env.
//!
//! Adding a source: write `src/sources/<source>.rs` with its types, a `SOURCE` and an
//! `impl Notice`, add its name to the `registry!` list below (before the last resorts), and
//! put its fixtures and their `expected.txt` in `tests/fixtures/<source>/`.

use std::cell::OnceCell;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::{Map, Value};

pub(crate) use crate::model::{at, malformed, Body, Notice, Origin, ParseError};
use shared::{parse_time, Obj};

pub(crate) mod shared;

/// `impl Notice` for a source's type `$type`: its card is `$card(self)`, and logs name it
/// by its source and `$name`, computed from the notice bound to `$it`.
macro_rules! notice {
    ($type:ty, $card:path, |$it:ident| $name:expr) => {
        impl $crate::model::Notice for $type {
            fn card(&self) -> $crate::model::card::Card {
                $card(self)
            }

            fn describe(&self) -> (&'static str, String) {
                let $it = self;
                (SOURCE.name, $name)
            }
        }
    };
}

/// Declares each source's module and lists it in [`REGISTRY`], in the order they are asked.
macro_rules! registry {
    ($($source:ident),+ $(,)?) => {
        $(pub(crate) mod $source;)+

        /// Every source, in the order they are asked. The last resorts come last: any
        /// EventBridge event is a generic event, and any SNS message is text.
        pub(crate) const REGISTRY: &[Source] = &[$($source::SOURCE),+];
    };
}

registry![
    cloudwatch_alarm,
    health,
    guardduty,
    securityhub,
    budgets,
    backup,
    codepipeline,
    codebuild,
    ecs,
    cloudformation,
    config_rules,
    acm,
    codedeploy,
    ec2,
    autoscaling,
    batch,
    elasticbeanstalk,
    ses,
    s3,
    codestar_notifications,
    custom,
    rds,
    dms,
    inspector2,
    glue,
    trusted_advisor,
    stepfunctions,
    cloudtrail,
    ecr,
    access_analyzer,
    cost_anomaly,
    lambda_destination,
    eventbridge_generic,
    text,
];

/// Every source's name, as routes' `source` matchers name them.
pub(crate) fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|s| s.name).collect()
}

/// An EventBridge event, delivered directly or inside an SNS message. Its envelope is read
/// leniently: `source` and `detail-type` are empty when the event leaves them out.
pub(crate) type Event = EventBridgeEvent<Value>;

/// Claims an EventBridge event (given with its `detail` as an object, empty if it is not
/// one), or passes with `None`.
pub(crate) type ClaimEvent = fn(&Event, &Obj) -> Option<Result<Body, ParseError>>;

/// Claims an SNS message, or passes with `None`.
pub(crate) type ClaimSns = fn(&SnsMessage<'_>) -> Option<Body>;

/// How a source recognises what is its own.
pub(crate) struct Source {
    /// The short label used in logs.
    pub name: &'static str,
    pub event: Option<ClaimEvent>,
    pub sns: Option<ClaimSns>,
    /// Claims whatever reaches it. An EventBridge event inside an SNS message is unwrapped
    /// before the first last resort is asked.
    pub last_resort: bool,
}

impl Source {
    /// A source of EventBridge events (directly, or inside an SNS message).
    pub(crate) const fn events(name: &'static str, claim: ClaimEvent) -> Self {
        Self {
            name,
            event: Some(claim),
            sns: None,
            last_resort: false,
        }
    }

    /// A source of SNS messages of its own shape.
    pub(crate) const fn messages(name: &'static str, claim: ClaimSns) -> Self {
        Self {
            name,
            event: None,
            sns: Some(claim),
            last_resort: false,
        }
    }

    /// A source of both.
    pub(crate) const fn both(name: &'static str, event: ClaimEvent, sns: ClaimSns) -> Self {
        Self {
            name,
            event: Some(event),
            sns: Some(sns),
            last_resort: false,
        }
    }
}

/// One SNS message as the sources see it.
pub(crate) struct SnsMessage<'a> {
    pub subject: Option<String>,
    pub text: &'a str,
    pub topic_arn: Option<String>,
    json: OnceCell<Option<Value>>,
}

impl<'a> SnsMessage<'a> {
    pub(crate) fn new(subject: Option<String>, text: &'a str, topic_arn: Option<String>) -> Self {
        Self {
            subject,
            text,
            topic_arn,
            json: OnceCell::new(),
        }
    }

    /// The parsed JSON, given up by the parse layer when it unwraps an EventBridge event.
    pub(crate) fn into_json(self) -> Option<Value> {
        self.json.into_inner().flatten()
    }

    /// The message as JSON, parsed once when a source first asks.
    pub(crate) fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_str(self.text).ok())
            .as_ref()
    }

    /// The message as a JSON object.
    pub(crate) fn object(&self) -> Option<&Obj> {
        self.json()?.as_object()
    }

    /// A JSON object or array: a document, not text.
    pub(crate) fn is_document(&self) -> bool {
        self.json().is_some_and(|v| v.is_object() || v.is_array())
    }
}

// ---- dispatch ----

/// Interprets one SNS message: each source in [`REGISTRY`] order may claim it, and an
/// EventBridge event inside it is unwrapped before the last resorts.
pub fn parse_sns_message(
    subject: Option<String>,
    message: &str,
    topic_arn: Option<String>,
) -> Result<Body, ParseError> {
    read_sns_message(subject, message, topic_arn).map(|(body, _)| body)
}

/// As [`parse_sns_message`], with the notification's origin: its topic and, for an event
/// inside the message, the event's `detail-type`, account and region.
pub(crate) fn read_sns_message(
    subject: Option<String>,
    message: &str,
    topic_arn: Option<String>,
) -> Result<(Body, Origin), ParseError> {
    let origin = Origin::of_topic(topic_arn.clone());
    let message = SnsMessage::new(subject, message, topic_arn);
    // A minimal event may leave out `source` (a GuardDuty finding still names itself by its
    // `detail-type`); a `detail-type` with neither `source` nor `detail` is just JSON.
    let carries_event = |message: &SnsMessage| {
        message.object().is_some_and(|obj| {
            obj.get("detail-type").is_some_and(Value::is_string)
                && (obj.contains_key("source") || obj.contains_key("detail"))
        })
    };
    for source in REGISTRY {
        if source.last_resort && carries_event(&message) {
            let event = message.into_json().unwrap_or_default();
            let (body, event) = read_event(event).map_err(|e| at("Sns.Message".into(), e))?;
            return Ok((body, origin.with_event(event)));
        }
        if let Some(body) = source.sns.and_then(|claim| claim(&message)) {
            return Ok((body, origin));
        }
    }
    // Not reached: text, the last resort, claims every message.
    Ok((Body::new(text::read(&message)), origin))
}

/// Parses an EventBridge event, delivered directly or inside an SNS message, and hands it
/// to the first source in [`REGISTRY`] order that claims it.
pub(crate) fn parse_eventbridge(value: Value) -> Result<Body, ParseError> {
    read_event(value).map(|(body, _)| body)
}

/// As [`parse_eventbridge`], with what the envelope says of where the event came from.
pub(crate) fn read_event(value: Value) -> Result<(Body, Origin), ParseError> {
    let event: Event = serde_json::from_value(lenient_envelope(value))
        .map_err(|e| malformed("EventBridge event", e.to_string()))?;
    let empty = Map::new();
    let detail = event.detail.as_object().unwrap_or(&empty);
    let body = REGISTRY
        .iter()
        .filter_map(|source| source.event)
        .find_map(|claim| claim(&event, detail))
        // Not reached: the generic event, a last resort, claims every event.
        .unwrap_or_else(|| Err(malformed("EventBridge event", "no source claims it")))?;
    let present = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let origin = Origin {
        topic: None,
        detail_type: Some(event.detail_type.clone()).filter(|d| !d.is_empty()),
        account: present(&event.account),
        region: present(&event.region),
    };
    Ok((body, origin))
}

/// The envelope as the EventBridge type reads it, whatever was left out: a missing or odd
/// `source` or `detail-type` becomes empty text, a missing `detail` null, and an optional
/// field of the wrong type (or a time that is not one) is dropped. An event is never lost
/// to its envelope: at worst it is a generic event.
fn lenient_envelope(mut value: Value) -> Value {
    let Value::Object(obj) = &mut value else {
        return value;
    };
    for key in ["source", "detail-type"] {
        let text = match obj.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            _ => String::new(),
        };
        obj.insert(key.to_owned(), Value::String(text));
    }
    obj.entry("detail").or_insert(Value::Null);
    for key in ["version", "id", "account", "region"] {
        if !obj.get(key).is_some_and(Value::is_string) {
            obj.remove(key);
        }
    }
    match obj.get("time").and_then(Value::as_str).and_then(parse_time) {
        Some(time) => {
            obj.insert("time".to_owned(), Value::String(time.to_rfc3339()));
        }
        None => {
            obj.remove("time");
        }
    }
    match obj.get_mut("resources") {
        Some(Value::Array(items)) => items.retain(Value::is_string),
        _ => {
            obj.remove("resources");
        }
    }
    value
}
