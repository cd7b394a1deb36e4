//! A CloudWatch alarm's state change, as every delivery shape reads it: the core type that
//! threads, graphs, digests and routes share. Reading it is the alarm source's business
//! ([`crate::sources::cloudwatch_alarm`]).

use chrono::{DateTime, Utc};

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

impl Alarm {
    /// Every metric the alarm watches: its metric, or each metric of its expressions.
    pub fn metrics(&self) -> Vec<&Metric> {
        match &self.kind {
            AlarmKind::Metric(c) => vec![&c.metric],
            AlarmKind::MetricMath(MathCondition { queries, .. })
            | AlarmKind::Anomaly(AnomalyCondition { queries, .. }) => {
                queries.iter().filter_map(|q| q.metric.as_ref()).collect()
            }
            AlarmKind::Composite(_) | AlarmKind::Unknown => Vec::new(),
        }
    }
}
