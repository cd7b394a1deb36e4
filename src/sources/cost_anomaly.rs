//! AWS Cost Anomaly Detection alerts: the JSON an alert subscription publishes to SNS,
//! and EventBridge's "Anomaly Detected" (`aws.ce`), whose detail has the same fields
//! (but `dimensionValue` where SNS writes `dimensionalValue`).
//!
//! Spend above the expected is news nobody planned: amber. An anomaly whose total impact
//! reaches [`LARGE_IMPACT_USD`] is red, since money is leaving faster than anyone should
//! wait until morning to look at. Cost Explorer states impacts in US dollars.

use chrono::{DateTime, Datelike, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::both("cost-anomaly", from_event, from_sns);

/// The total impact, in US dollars, from which an anomaly is red.
pub(crate) const LARGE_IMPACT_USD: f64 = 1000.0;

/// At most this many root causes are listed.
const MAX_CAUSES: usize = 5;

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.ce" && event.detail_type == "Anomaly Detected")
        .then(|| Ok(Body::new(read(detail, event.time))))
}

/// An anomaly's own message: an `anomalyId` with its impact or its monitor.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let obj = message.object()?;
    let ours = str_at(obj, "anomalyId").is_some()
        && (obj_at(obj, "impact").is_some() || obj.contains_key("monitorArn"));
    ours.then(|| Body::new(read(obj, None)))
}

/// One root cause: where the extra spend comes from.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RootCause {
    pub service: Option<String>,
    pub region: Option<String>,
    pub usage_type: Option<String>,
    pub linked_account: Option<String>,
    pub linked_account_name: Option<String>,
    /// Its share of the impact, in dollars, when given.
    pub contribution: Option<f64>,
}

/// A cost anomaly: how much above the expected, since when, and why.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CostAnomaly {
    pub anomaly_id: Option<String>,
    /// What the monitor watches that went up: a service, an account, a tag's value.
    pub dimension: Option<String>,
    pub monitor_name: Option<String>,
    pub total_impact: Option<f64>,
    pub max_impact: Option<f64>,
    pub actual_spend: Option<f64>,
    pub expected_spend: Option<f64>,
    pub impact_percentage: Option<f64>,
    pub start: Option<String>,
    /// None while the anomaly goes on.
    pub end: Option<String>,
    /// The biggest contributor first.
    pub root_causes: Vec<RootCause>,
    pub account: Option<String>,
    pub account_name: Option<String>,
    pub link: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(d: &Obj, time: Option<DateTime<Utc>>) -> CostAnomaly {
    let impact = obj_at(d, "impact");
    let number = |key: &str| impact.and_then(|i| num_at(i, key));
    let mut root_causes: Vec<RootCause> = arr_at(d, "rootCauses")
        .iter()
        .filter_map(Value::as_object)
        .map(|c| RootCause {
            service: str_at(c, "service"),
            region: str_at(c, "region"),
            usage_type: str_at(c, "usageType"),
            linked_account: str_at(c, "linkedAccount"),
            linked_account_name: str_at(c, "linkedAccountName"),
            contribution: obj_at(c, "impact").and_then(|i| num_at(i, "contribution")),
        })
        .collect();
    // Stable: causes without a contribution keep AWS's order.
    root_causes.sort_by(|a, b| {
        let c = |r: &RootCause| r.contribution.unwrap_or(0.0);
        c(b).total_cmp(&c(a))
    });
    CostAnomaly {
        anomaly_id: str_at(d, "anomalyId"),
        dimension: str_at(d, "dimensionalValue").or_else(|| str_at(d, "dimensionValue")),
        monitor_name: str_at(d, "monitorName"),
        total_impact: number("totalImpact"),
        max_impact: number("maxImpact"),
        actual_spend: number("totalActualSpend"),
        expected_spend: number("totalExpectedSpend"),
        impact_percentage: number("totalImpactPercentage"),
        start: str_at(d, "anomalyStartDate"),
        end: str_at(d, "anomalyEndDate"),
        root_causes,
        account: str_at(d, "accountId"),
        account_name: str_at(d, "accountName"),
        link: str_at(d, "anomalyDetailsLink").and_then(|l| console_link(&l)),
        time,
    }
}

/// `$3,612.78`, `-$4.10`.
pub(crate) fn dollars(amount: f64) -> String {
    let cents = (amount.abs() * 100.0).round() as u64;
    let whole = (cents / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0.0 && cents > 0 { "-" } else { "" };
    format!("{sign}${grouped}.{:02}", cents % 100)
}

/// `2026-11-18`, from an anomaly's dates; other text as it is.
fn day(raw: &str) -> String {
    parse_time(raw).map_or_else(
        || raw.to_owned(),
        |t| format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day()),
    )
}

impl RootCause {
    /// `Amazon EC2, us-east-1, BoxUsage:c5.9xlarge, prod (987654321098)`, leaving out
    /// the service when it is the anomaly's own dimension.
    fn words(&self, dimension: Option<&str>) -> String {
        let account = match (&self.linked_account_name, &self.linked_account) {
            (Some(name), Some(id)) if name != id => Some(format!("{name} ({id})")),
            (name, id) => name.clone().or_else(|| id.clone()),
        };
        let service = self.service.clone().filter(|s| Some(s.as_str()) != dimension);
        [&service, &self.region, &self.usage_type, &account]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl CostAnomaly {
    /// Amber, or red from [`LARGE_IMPACT_USD`].
    pub(crate) fn severity(&self) -> Severity {
        match self.total_impact {
            Some(impact) if impact >= LARGE_IMPACT_USD => Severity::Error,
            _ => Severity::Warning,
        }
    }

    /// The title's words: where and how much.
    fn summary(&self) -> String {
        let place = self
            .dimension
            .as_deref()
            .map(|d| format!(" in {d}"))
            .unwrap_or_default();
        let mut text = format!("Cost anomaly{place}");
        if let Some(impact) = self.total_impact {
            text.push_str(&format!(": {} above expected", dollars(impact)));
            if let Some(pct) = self.impact_percentage {
                text.push_str(&format!(" (+{}%)", format_number(pct.round())));
            }
        }
        text
    }

    /// The headline's words: the summary and the top cause.
    fn headline(&self) -> String {
        let mut text = self.summary();
        let dimension = self.dimension.as_deref();
        if let Some(cause) = self.root_causes.first().map(|c| c.words(dimension)) {
            if !cause.is_empty() {
                text.push_str(&format!("; top cause: {cause}"));
            }
        }
        text
    }
}

notice!(CostAnomaly, card, |it| it.anomaly_id.clone().unwrap_or_default());

/// The anomaly as a card: the impact in money, its root causes, and a link to it.
pub(crate) fn card(a: &CostAnomaly) -> Card {
    let severity = a.severity();
    let mut m = Card::new(
        severity.emoji("💸"),
        a.summary(),
        escape_within(&a.headline(), 300),
        severity,
    );
    let causes: Vec<String> = a
        .root_causes
        .iter()
        .map(|c| match c.contribution {
            Some(amount) => format!("{}: {}", c.words(None), dollars(amount)),
            None => c.words(None),
        })
        .filter(|line| !line.is_empty())
        .collect();
    if let Some(list) = bullets(&causes, MAX_CAUSES) {
        m.section(format!("*Root causes*\n{list}"));
    }
    let account = match (&a.account_name, &a.account) {
        (Some(name), Some(id)) => Some(format!("{name} ({id})")),
        (name, id) => name.clone().or_else(|| id.clone()),
    };
    m.fields(vec![
        ("Total impact", a.total_impact.map(dollars)),
        ("Actual spend", a.actual_spend.map(dollars)),
        ("Expected spend", a.expected_spend.map(dollars)),
        ("Worst day", a.max_impact.map(dollars)),
        ("Since", a.start.as_deref().map(|s| escape(&day(s)))),
        (
            "Until",
            Some(a.end.as_deref().map_or("ongoing".to_owned(), |e| escape(&day(e)))),
        ),
        ("Monitor", a.monitor_name.as_deref().map(escape)),
        ("Account", account.as_deref().map(escape)),
        ("Time", when(a.time)),
    ]);
    m.link("Open the anomaly", a.link.clone());
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn anomaly(message: Value) -> Option<Card> {
        let text = message.to_string();
        from_sns(&SnsMessage::new(None, &text, None)).map(|b| b.card())
    }

    #[test]
    fn money_reads_as_money() {
        assert_eq!(dollars(3612.784), "$3,612.78");
        assert_eq!(dollars(1_234_567.0), "$1,234,567.00");
        assert_eq!(dollars(0.5), "$0.50");
        assert_eq!(dollars(-4.1), "-$4.10");
        assert_eq!(dollars(-0.001), "$0.00");
    }

    #[test]
    fn the_headline_says_how_much_and_why() {
        let card = anomaly(json!({
            "anomalyId": "a1", "dimensionalValue": "Amazon EC2", "monitorArn": "arn:aws:ce::1:anomalymonitor/m",
            "impact": {"totalImpact": 3612.78, "totalImpactPercentage": 200.71},
            "anomalyEndDate": null,
            "rootCauses": [
                {"service": "Amazon EC2", "region": "us-east-1", "impact": {"contribution": 12}},
                {"service": "Amazon EC2", "region": "eu-west-1", "usageType": "<!here>",
                 "linkedAccount": "987654321098", "linkedAccountName": "prod", "impact": {"contribution": 3000}}
            ],
            "anomalyDetailsLink": "https://evil.example.com/"
        }))
        .unwrap();
        assert_eq!(
            card.headline,
            "Cost anomaly in Amazon EC2: $3,612.78 above expected (+201%); top cause: eu-west-1, &lt;!here&gt;, prod (987654321098)"
        );
        assert_eq!(card.severity, Severity::Error);
        let parts = format!("{:?}", card.parts);
        assert!(parts.contains("ongoing") && !parts.contains("evil"), "{parts}");
    }

    #[test]
    fn small_anomalies_are_amber_and_odd_ones_do_not_panic() {
        let small = anomaly(json!({"anomalyId": "a", "impact": {"totalImpact": "11.82"}})).unwrap();
        assert_eq!(small.headline, "Cost anomaly: $11.82 above expected");
        assert_eq!(small.severity, Severity::Warning);
        let odd = anomaly(json!({
            "anomalyId": "a", "monitorArn": null, "impact": [], "rootCauses": [null, {"service": 1}]
        }))
        .unwrap();
        assert_eq!(odd.headline, "Cost anomaly; top cause: 1");
        assert!(anomaly(json!({"anomalyId": "a"})).is_none());
        assert!(anomaly(json!({"impact": {"totalImpact": 1}})).is_none());
    }
}
