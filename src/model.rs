//! The project's own notification types: what parsing produces and rendering consumes.

use chrono::{DateTime, Utc};

/// One thing to tell Slack about: an alarm, another AWS notification, or plain text.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Identity used to drop redeliveries (the SNS `MessageId` or the EventBridge `id`).
    pub id: Option<String>,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Alarm(Box<Alarm>),
    Health(Box<HealthEvent>),
    GuardDuty(Box<GuardDutyFinding>),
    SecurityHub(Box<SecurityHubFinding>),
    Backup(Box<BackupJob>),
    Budget(Box<BudgetAlert>),
    Event(Box<GenericEvent>),
    Text(Box<TextMessage>),
}

/// A CloudWatch alarm state change, from any of the three delivery shapes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Alarm {
    pub name: String,
    pub description: Option<String>,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    pub reason: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub account: Option<String>,
    /// Region code (`us-east-1`), taken from the ARN where possible.
    pub region: Option<String>,
    pub arn: Option<String>,
    pub kind: AlarmKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AlarmState {
    Alarm,
    Ok,
    InsufficientData,
    /// A value AWS may add later; shown as given.
    #[default]
    Unknown,
    Other(String),
}

impl AlarmState {
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_uppercase().as_str() {
            "ALARM" => Self::Alarm,
            "OK" => Self::Ok,
            "INSUFFICIENT_DATA" => Self::InsufficientData,
            "" => Self::Unknown,
            _ => Self::Other(raw.trim().to_owned()),
        }
    }

    /// The name AWS uses for the state.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Alarm => "ALARM",
            Self::Ok => "OK",
            Self::InsufficientData => "INSUFFICIENT_DATA",
            Self::Unknown => "UNKNOWN",
            Self::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum AlarmKind {
    /// One metric against a static threshold.
    Metric(MetricCondition),
    /// A metric math expression against a static threshold.
    MetricMath(MathCondition),
    /// A metric against an anomaly detection band.
    Anomaly(AnomalyCondition),
    Composite(CompositeRule),
    /// Not enough was given to tell the kind.
    #[default]
    Unknown,
}

/// Evaluation settings shared by metric, math and anomaly alarms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    pub comparison: Option<String>,
    pub threshold: Option<f64>,
    pub period_seconds: Option<u64>,
    pub evaluation_periods: Option<u64>,
    pub datapoints_to_alarm: Option<u64>,
    pub treat_missing_data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metric {
    pub namespace: Option<String>,
    pub name: String,
    pub dimensions: Vec<(String, String)>,
    /// `Average`, `p99`, `TM(10%:90%)`…
    pub statistic: Option<String>,
    pub period_seconds: Option<u64>,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricCondition {
    pub metric: Metric,
    pub evaluation: Evaluation,
}

/// One entry of a metric math alarm: an expression or a metric.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricQuery {
    pub id: String,
    pub label: Option<String>,
    pub expression: Option<String>,
    pub metric: Option<Metric>,
    pub return_data: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MathCondition {
    pub queries: Vec<MetricQuery>,
    pub evaluation: Evaluation,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnomalyCondition {
    /// The `ANOMALY_DETECTION_BAND(...)` expression.
    pub band: Option<String>,
    pub queries: Vec<MetricQuery>,
    pub evaluation: Evaluation,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompositeRule {
    pub rule: Option<String>,
    pub triggering_children: Vec<ChildAlarm>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChildAlarm {
    pub arn: String,
    pub state: Option<AlarmState>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthEvent {
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

#[derive(Debug, Clone, PartialEq, Default)]
pub struct GuardDutyFinding {
    pub title: Option<String>,
    pub finding_type: Option<String>,
    pub severity: Option<f64>,
    pub description: Option<String>,
    pub resource_type: Option<String>,
    pub finding_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub count: Option<u64>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SecurityHubFinding {
    pub title: Option<String>,
    pub severity_label: Option<String>,
    pub description: Option<String>,
    pub product: Option<String>,
    pub compliance_status: Option<String>,
    pub workflow_status: Option<String>,
    pub resources: Vec<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub finding_id: Option<String>,
    pub updated_at: Option<String>,
    /// How many findings the event carried (one message per event).
    pub total_findings: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackupJob {
    pub job_kind: Option<String>,
    pub job_id: Option<String>,
    pub state: Option<String>,
    pub status_message: Option<String>,
    pub vault: Option<String>,
    pub resource_arn: Option<String>,
    pub resource_type: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct BudgetAlert {
    pub subject: Option<String>,
    pub summary: Option<String>,
    pub account: Option<String>,
    /// `Key: Value` lines from the alert, in order.
    pub fields: Vec<(String, String)>,
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

/// Anything that is not a known notification, shown as text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextMessage {
    pub subject: Option<String>,
    pub text: String,
    /// True when `text` is pretty-printed JSON.
    pub is_json: bool,
    pub topic_arn: Option<String>,
}
