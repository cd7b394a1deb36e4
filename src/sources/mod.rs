//! One module per source of notifications, tried in the order of [`REGISTRY`].
//!
//! A source recognises its own events (an EventBridge `source` and `detail-type`, an SNS
//! message's shape or text), reads them into its own types, and turns those into a
//! [`Card`]. The parse layer unwraps the envelopes (SNS records, a direct alarm action,
//! EventBridge) and hands what is inside to the registry. Pure: no I/O, no env.
//!
//! Adding a source: write `src/sources/<source>.rs` with its types, a `SOURCE` and a
//! `card` function, then list it here: a `mod` line, a [`Body`] variant, a [`REGISTRY`]
//! entry, and its arms in [`Body::card`] and [`Body::describe`].

use std::cell::OnceCell;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

use crate::card::Card;
use crate::parse::ParseError;
use shared::Obj;

pub mod acm;
pub mod backup;
pub mod budgets;
pub mod cloudformation;
pub mod cloudwatch_alarm;
pub mod codebuild;
pub mod codepipeline;
pub mod config_rules;
pub mod ecs;
pub mod eventbridge_generic;
pub mod guardduty;
pub mod health;
pub mod securityhub;
pub(crate) mod shared;
pub mod text;

/// Every source, in the order they are asked. The last resorts come last: any EventBridge
/// event is a generic event, and any SNS message is text.
pub const REGISTRY: &[Source] = &[
    cloudwatch_alarm::SOURCE,
    health::SOURCE,
    guardduty::SOURCE,
    securityhub::SOURCE,
    budgets::SOURCE,
    backup::SOURCE,
    codepipeline::SOURCE,
    codebuild::SOURCE,
    ecs::SOURCE,
    cloudformation::SOURCE,
    config_rules::SOURCE,
    acm::SOURCE,
    eventbridge_generic::SOURCE,
    text::SOURCE,
];

/// An EventBridge event, delivered directly or inside an SNS message.
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

/// What a notification is about, in its source's own types.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Alarm(Box<cloudwatch_alarm::Alarm>),
    Health(Box<health::HealthEvent>),
    GuardDuty(Box<guardduty::GuardDutyFinding>),
    SecurityHub(Box<securityhub::SecurityHubFinding>),
    Backup(Box<backup::BackupJob>),
    Budget(Box<budgets::BudgetAlert>),
    CodePipeline(Box<codepipeline::PipelineExecution>),
    CodeBuild(Box<codebuild::Build>),
    EcsTask(Box<ecs::EcsTask>),
    CloudFormation(Box<cloudformation::StackChange>),
    ConfigCompliance(Box<config_rules::ComplianceChange>),
    Certificate(Box<acm::CertificateExpiry>),
    Event(Box<eventbridge_generic::GenericEvent>),
    Text(Box<text::TextMessage>),
}

impl Body {
    /// The card its source makes of it.
    pub fn card(&self) -> Card {
        match self {
            Body::Alarm(a) => cloudwatch_alarm::card(a),
            Body::Health(h) => health::card(h),
            Body::GuardDuty(g) => guardduty::card(g),
            Body::SecurityHub(s) => securityhub::card(s),
            Body::Backup(b) => backup::card(b),
            Body::Budget(b) => budgets::card(b),
            Body::CodePipeline(p) => codepipeline::card(p),
            Body::CodeBuild(b) => codebuild::card(b),
            Body::EcsTask(t) => ecs::card(t),
            Body::CloudFormation(c) => cloudformation::card(c),
            Body::ConfigCompliance(c) => config_rules::card(c),
            Body::Certificate(c) => acm::card(c),
            Body::Event(e) => eventbridge_generic::card(e),
            Body::Text(t) => text::card(t),
        }
    }

    /// Its source's label and a short name, for logs.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            Body::Alarm(a) => (cloudwatch_alarm::SOURCE.name, a.name.clone()),
            Body::Health(h) => (
                health::SOURCE.name,
                h.event_type_code.clone().unwrap_or_default(),
            ),
            Body::GuardDuty(g) => (
                guardduty::SOURCE.name,
                g.finding_type.clone().unwrap_or_default(),
            ),
            Body::SecurityHub(s) => (
                securityhub::SOURCE.name,
                s.title.clone().unwrap_or_default(),
            ),
            Body::Backup(b) => (backup::SOURCE.name, b.job_id.clone().unwrap_or_default()),
            Body::Budget(b) => (budgets::SOURCE.name, b.subject.clone().unwrap_or_default()),
            Body::CodePipeline(p) => (
                codepipeline::SOURCE.name,
                p.pipeline.clone().unwrap_or_default(),
            ),
            Body::CodeBuild(b) => (
                codebuild::SOURCE.name,
                b.build_id.clone().unwrap_or_default(),
            ),
            Body::EcsTask(t) => (ecs::SOURCE.name, t.task_id().unwrap_or_default().to_owned()),
            Body::CloudFormation(c) => (
                cloudformation::SOURCE.name,
                c.stack_name().unwrap_or_default().to_owned(),
            ),
            Body::ConfigCompliance(c) => (
                config_rules::SOURCE.name,
                c.rule_name.clone().unwrap_or_default(),
            ),
            Body::Certificate(c) => (acm::SOURCE.name, c.common_name.clone().unwrap_or_default()),
            Body::Event(e) => (eventbridge_generic::SOURCE.name, e.detail_type.clone()),
            Body::Text(t) => (text::SOURCE.name, t.subject.clone().unwrap_or_default()),
        }
    }
}
