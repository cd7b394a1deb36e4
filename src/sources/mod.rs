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
use serde_json::Value;

use crate::card::Card;
use crate::parse::ParseError;
use shared::Obj;

pub mod alarm_links;
pub(crate) mod shared;

/// Declares each source's module and lists it in [`REGISTRY`], in the order they are asked.
macro_rules! registry {
    ($($source:ident),+ $(,)?) => {
        $(pub mod $source;)+

        /// Every source, in the order they are asked. The last resorts come last: any
        /// EventBridge event is a generic event, and any SNS message is text.
        pub const REGISTRY: &[Source] = &[$($source::SOURCE),+];
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
    stepfunctions,
    cloudtrail,
    ecr,
    access_analyzer,
    cost_anomaly,
    lambda_destination,
    eventbridge_generic,
    text,
];

/// An EventBridge event, delivered directly or inside an SNS message. Its envelope is read
/// leniently: `source` and `detail-type` are empty when the event leaves them out.
pub type Event = EventBridgeEvent<Value>;

/// Claims an EventBridge event (given with its `detail` as an object, empty if it is not
/// one), or passes with `None`.
pub type ClaimEvent = fn(&Event, &Obj) -> Option<Result<Body, ParseError>>;

/// Claims an SNS message, or passes with `None`.
pub type ClaimSns = fn(&SnsMessage<'_>) -> Option<Body>;

/// How a source recognises what is its own.
pub struct Source {
    /// The short label used in logs.
    pub name: &'static str,
    pub event: Option<ClaimEvent>,
    pub sns: Option<ClaimSns>,
    /// Claims whatever reaches it. An EventBridge event inside an SNS message is unwrapped
    /// before the first last resort is asked.
    pub last_resort: bool,
}

/// One SNS message as the sources see it.
pub struct SnsMessage<'a> {
    pub subject: Option<String>,
    pub text: &'a str,
    pub topic_arn: Option<String>,
    json: OnceCell<Option<Value>>,
}

impl<'a> SnsMessage<'a> {
    pub fn new(subject: Option<String>, text: &'a str, topic_arn: Option<String>) -> Self {
        Self {
            subject,
            text,
            topic_arn,
            json: OnceCell::new(),
        }
    }

    /// The parsed JSON, given up by the parse layer when it unwraps an EventBridge event.
    pub fn into_json(self) -> Option<Value> {
        self.json.into_inner().flatten()
    }

    /// The message as JSON, parsed once when a source first asks.
    pub fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_str(self.text).ok())
            .as_ref()
    }

    /// The message as a JSON object.
    pub fn object(&self) -> Option<&Obj> {
        self.json()?.as_object()
    }

    /// A JSON object or array: a document, not text.
    pub fn is_document(&self) -> bool {
        self.json().is_some_and(|v| v.is_object() || v.is_array())
    }
}

/// What a source reads a notification into: its own type, which makes its card.
pub trait Notice: std::fmt::Debug + Send + Sync {
    /// The card for Slack.
    fn card(&self) -> Card;

    /// Its source's label and a short name, for logs.
    fn describe(&self) -> (&'static str, String);
}

/// What a notification is about, in its source's own types. Alarms are kept apart: they
/// are filtered by name and state, which no other source is.
#[derive(Debug)]
pub enum Body {
    Alarm(Box<cloudwatch_alarm::Alarm>),
    Other(Box<dyn Notice>),
}

impl Body {
    /// Any source's notice but an alarm's.
    pub fn new(notice: impl Notice + 'static) -> Self {
        Body::Other(Box::new(notice))
    }

    fn notice(&self) -> &dyn Notice {
        match self {
            Body::Alarm(alarm) => alarm.as_ref(),
            Body::Other(notice) => notice.as_ref(),
        }
    }

    /// The card its source makes of it.
    pub fn card(&self) -> Card {
        self.notice().card()
    }

    /// Its source's label and a short name, for logs.
    pub fn describe(&self) -> (&'static str, String) {
        self.notice().describe()
    }
}
