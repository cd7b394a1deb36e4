//! AWS Config rule compliance changes (`aws.config`, "Config Rules Compliance Change").

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::escape;
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("config", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.config" && event.detail_type == "Config Rules Compliance Change")
        .then(|| Ok(Body::new(read(detail, event))))
}

/// A resource's compliance with a Config rule, as it is now and as it was.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ComplianceChange {
    pub rule_name: Option<String>,
    pub rule_arn: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// `COMPLIANT`, `NON_COMPLIANT`, `NOT_APPLICABLE` or `INSUFFICIENT_DATA`.
    pub compliance: Option<String>,
    /// Absent on a resource's first evaluation.
    pub previous: Option<String>,
    pub annotation: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub recorded: Option<String>,
}

fn read(d: &Obj, event: &Event) -> ComplianceChange {
    let new = obj_at(d, "newEvaluationResult");
    let old = obj_at(d, "oldEvaluationResult");
    ComplianceChange {
        rule_name: str_at(d, "configRuleName"),
        rule_arn: str_at(d, "configRuleARN"),
        resource_type: str_at(d, "resourceType"),
        resource_id: str_at(d, "resourceId"),
        compliance: new.and_then(|n| str_at(n, "complianceType")),
        previous: old.and_then(|o| str_at(o, "complianceType")),
        annotation: new.and_then(|n| str_at(n, "annotation")),
        account: str_at(d, "awsAccountId").or_else(|| event.account.clone()),
        region: str_at(d, "awsRegion").or_else(|| event.region.clone()),
        recorded: new
            .and_then(|n| str_at(n, "resultRecordedTime"))
            .or_else(|| str_at(d, "notificationCreationTime")),
    }
}

/// Non-compliance is a warning; compliance is good news only when it ends non-compliance,
/// and otherwise routine.
pub(crate) fn severity(compliance: &str, previous: Option<&str>) -> Severity {
    match (compliance, previous) {
        ("NON_COMPLIANT", _) => Severity::Warning,
        ("COMPLIANT", Some("NON_COMPLIANT")) => Severity::Ok,
        _ => Severity::Info,
    }
}

notice!(ComplianceChange, card, |it| it.rule_name.clone().unwrap_or_default());

/// The change as a card: rule, resource, compliance now and before, the annotation, and a
/// link to the rule.
pub(crate) fn card(c: &ComplianceChange) -> Card {
    let compliance = c.compliance.as_deref().unwrap_or("UNKNOWN");
    let severity = severity(compliance, c.previous.as_deref());
    let emoji = match severity {
        Severity::Warning => "⚠️",
        Severity::Ok => "✅",
        _ => "📋",
    };
    let rule = c.rule_name.as_deref().unwrap_or("rule");
    let resource = [c.resource_type.as_deref(), c.resource_id.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let was = c
        .previous
        .as_deref()
        .filter(|p| *p != compliance)
        .map(|p| format!(" (was {p})"))
        .unwrap_or_default();
    let headline = format!(
        "Config rule {}: {}{}{}",
        escape(rule),
        if resource.is_empty() {
            String::new()
        } else {
            format!("{} ", escape(&resource))
        },
        escape(compliance),
        escape(&was)
    );
    let mut m = Card::new(
        emoji,
        format!("AWS Config: {rule} {compliance}"),
        headline,
        severity,
    );
    // The rule's own words on why, first.
    m.titled("Annotation", c.annotation.as_deref());
    m.fields(vec![
        ("Rule", Some(escape(rule))),
        (
            "Compliance",
            Some(format!("{}{}", escape(compliance), escape(&was))),
        ),
        ("Resource type", c.resource_type.as_deref().map(escape)),
        ("Resource", c.resource_id.as_deref().map(code)),
        ("Account", c.account.as_deref().map(escape)),
        ("Region", c.region.as_deref().map(escape)),
        ("Recorded", c.recorded.as_deref().map(when_text)),
    ]);
    let url = c.rule_name.as_deref().and_then(|name| {
        service_console_url(
            partition_of(c.rule_arn.as_deref()),
            c.region.as_deref(),
            &format!(
                "config/home?region={{region}}#/rules/details?configRuleName={}",
                url_encode(name)
            ),
        )
    });
    m.link("Open rule in AWS Config", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_compliance_warns_and_its_end_is_good_news() {
        assert_eq!(severity("NON_COMPLIANT", None), Severity::Warning);
        assert_eq!(
            severity("NON_COMPLIANT", Some("COMPLIANT")),
            Severity::Warning
        );
        assert_eq!(severity("COMPLIANT", Some("NON_COMPLIANT")), Severity::Ok);
    }

    #[test]
    fn other_changes_are_routine() {
        assert_eq!(severity("COMPLIANT", None), Severity::Info);
        assert_eq!(
            severity("COMPLIANT", Some("NOT_APPLICABLE")),
            Severity::Info
        );
        assert_eq!(
            severity("NOT_APPLICABLE", Some("NON_COMPLIANT")),
            Severity::Info
        );
        assert_eq!(severity("INSUFFICIENT_DATA", None), Severity::Info);
    }
}
