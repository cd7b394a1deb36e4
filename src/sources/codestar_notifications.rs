//! Developer Tools notification rules (CodeStar Notifications) on SNS: an event of
//! CodePipeline, CodeBuild, CodeDeploy or CodeCommit in a shape of its own, with
//! `detailType` in camel case, the rule's `notificationRuleArn` and the rule's
//! `additionalAttributes`.
//!
//! The message is turned back into the EventBridge event it was made from and handed to
//! the registry, so a failed pipeline or build reads the same whichever way it came; the
//! generic event shows what no source claims. The card gains the rule's extra attributes
//! and the rule's id in small print.

use serde_json::{Map, Value};

use super::shared::*;
use super::{eventbridge_generic, Body, Event, Notice, SnsMessage, Source};
use crate::model::card::{Card, Part};
use crate::model::mrkdwn::escape;
use super::parse_eventbridge;

pub(crate) const SOURCE: Source = Source::messages("codestar-notification", from_sns);

/// At most this many `path: value` lines of the rule's extra attributes.
const MAX_ATTRIBUTE_LINES: usize = 20;

/// A JSON object with a notification rule's ARN, a camel-case `detailType` and a `source`.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let obj = message.object()?;
    let rule = str_at(obj, "notificationRuleArn")
        .filter(|arn| parse_arn(arn).is_some_and(|a| a.service == "codestar-notifications"))?;
    let value = to_event(obj)?;
    // What `parse_eventbridge` reads; the value is built to fit, so this does not fail.
    let event: Event = serde_json::from_value(value.clone()).ok()?;
    let body = parse_eventbridge(value)
        // A source that claims the event but cannot read it: show it as it is.
        .unwrap_or_else(|_| Body::new(eventbridge_generic::read(&event)));
    let attributes = obj
        .get("additionalAttributes")
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        .cloned();
    Some(match body {
        // No notification rule sends alarms; if one did, it keeps its filters.
        alarm @ Body::Alarm(_) => alarm,
        Body::Other(inner) => Body::new(ViaRule {
            inner,
            rule,
            attributes,
        }),
    })
}

/// The EventBridge event a notification was made from: `detail-type` from `detailType`,
/// and only the envelope fields that have the types EventBridge gives them.
pub(crate) fn to_event(obj: &Obj) -> Option<Value> {
    let detail_type = str_at(obj, "detailType")?;
    let source = str_at(obj, "source")?;
    let mut event = Map::new();
    event.insert("version".into(), "0".into());
    event.insert("detail-type".into(), detail_type.into());
    event.insert("source".into(), source.into());
    for key in ["id", "account", "region"] {
        if let Some(value) = str_at(obj, key) {
            event.insert(key.into(), value.into());
        }
    }
    if let Some(time) = time_at(obj, "time") {
        event.insert("time".into(), time.to_rfc3339().into());
    }
    let resources: Vec<Value> = arr_at(obj, "resources")
        .iter()
        .filter(|r| r.as_str().is_some_and(|r| !r.trim().is_empty()))
        .cloned()
        .collect();
    event.insert("resources".into(), resources.into());
    let detail = match obj.get("detail") {
        Some(Value::Null) | None => Value::Object(Map::new()),
        Some(detail) => detail.clone(),
    };
    event.insert("detail".into(), detail);
    Some(Value::Object(event))
}

/// An event's own notice, as a notification rule delivered it.
#[derive(Debug)]
pub(crate) struct ViaRule {
    pub inner: Box<dyn Notice>,
    /// The rule's ARN.
    pub rule: String,
    /// What the rule adds to the event (`additionalAttributes`), e.g. the failed stage.
    pub attributes: Option<Value>,
}

impl Notice for ViaRule {
    fn card(&self) -> Card {
        card(self)
    }

    fn describe(&self) -> (&'static str, String) {
        self.inner.describe()
    }
}

/// `notificationrule/3866bf…`: the rule's id, from its ARN.
fn rule_id(arn: &str) -> &str {
    parse_arn(arn)
        .map(|a| a.resource)
        .filter(|r| !r.is_empty())
        .unwrap_or(arn)
}

/// The rule's extra attributes as lines: a pipeline's failed stage and actions in words,
/// anything else as `path: value` lines. `shown` is what the card already says, so a note
/// it repeats is left out.
fn attribute_lines(attributes: &Obj, shown: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = attributes.clone();
    if let Some(stage) = str_at(attributes, "failedStage") {
        lines.push(format!("Failed stage: {stage}"));
    }
    for action in arr_at(attributes, "failedActions")
        .iter()
        .filter_map(Value::as_object)
    {
        let name = str_at(action, "action").unwrap_or_else(|| "(unnamed)".into());
        lines.push(match str_at(action, "additionalInformation") {
            Some(info) => format!("Failed action {name}: {info}"),
            None => format!("Failed action {name}"),
        });
    }
    if !lines.is_empty() {
        // The count is the list's length.
        for key in ["failedStage", "failedActions", "failedActionCount"] {
            rest.remove(key);
        }
    }
    if str_at(attributes, "additionalInformation").is_some_and(|i| shown.contains(&escape(&i))) {
        rest.remove("additionalInformation");
    }
    if !rest.is_empty() {
        lines.extend(path_value_lines(&Value::Object(rest), MAX_ATTRIBUTE_LINES));
    }
    lines
}

/// The event's own card, with the rule's extra attributes before its link and the rule
/// in small print at the end.
pub(crate) fn card(v: &ViaRule) -> Card {
    let mut m = v.inner.card();
    let lines = match &v.attributes {
        Some(Value::Object(attributes)) => attribute_lines(attributes, &m.headline),
        _ => Vec::new(),
    };
    if !lines.is_empty() {
        let part = Part::Titled {
            title: "From the notification rule",
            text: lines.join("\n"),
        };
        // Before the link button, if there is one, so the button stays last.
        let at = m
            .parts
            .iter()
            .position(|p| matches!(p, Part::Link { .. }))
            .unwrap_or(m.parts.len());
        m.parts.insert(at, part);
    }
    m.context(vec![format!(
        "Sent by notification rule {}",
        code(rule_id(&v.rule))
    )]);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::card::Severity;
    use crate::sources::parse_sns_message;

    const RULE: &str = "arn:aws:codestar-notifications:us-east-1:123456789012:notificationrule/0a1b2c3d4e5f";

    fn notification(source: &str, detail_type: &str, detail: Value) -> String {
        serde_json::json!({
            "account": "123456789012",
            "detailType": detail_type,
            "region": "us-east-1",
            "source": source,
            "time": "2026-11-20T09:12:44Z",
            "notificationRuleArn": RULE,
            "detail": detail,
            "resources": ["arn:aws:codedeploy:us-east-1:123456789012:application:orders-api"],
            "additionalAttributes": {}
        })
        .to_string()
    }

    #[test]
    fn a_codedeploy_notification_becomes_its_eventbridge_event() {
        let text = notification(
            "aws.codedeploy",
            "CodeDeploy Deployment State-change Notification",
            serde_json::json!({"application": "orders-api", "state": "FAILURE"}),
        );
        let message: Value = serde_json::from_str(&text).unwrap();
        let event = to_event(message.as_object().unwrap()).unwrap();
        assert_eq!(event["source"], "aws.codedeploy");
        assert_eq!(
            event["detail-type"],
            "CodeDeploy Deployment State-change Notification"
        );
        assert_eq!(event["detail"]["state"], "FAILURE");
        assert_eq!(event["time"], "2026-11-20T09:12:44+00:00");
        let event: Event = serde_json::from_value(event).unwrap();
        assert_eq!(event.account.as_deref(), Some("123456789012"));
        assert_eq!(event.resources.unwrap().len(), 1);
        // Whatever source claims it, the rule's id is shown.
        let body = parse_sns_message(None, &text, None).unwrap();
        let card = format!("{:?}", body.card().parts);
        assert!(card.contains("notificationrule/0a1b2c3d4e5f"), "{card}");
    }

    #[test]
    fn a_codebuild_notification_reads_like_the_event() {
        let detail = serde_json::json!({
            "project-name": "checkout-service",
            "build-status": "FAILED",
            "build-id": "arn:aws:codebuild:us-east-1:123456789012:build/checkout-service:1"
        });
        let text = notification("aws.codebuild", "CodeBuild Build State Change", detail);
        let body = parse_sns_message(None, &text, None).unwrap();
        assert_eq!(body.describe().0, "codebuild");
        let card = body.card();
        assert_eq!(card.severity, Severity::Error);
        assert!(card.headline.starts_with("CodeBuild checkout-service build FAILED"));
    }

    #[test]
    fn odd_fields_never_fail_the_message() {
        for text in [
            // Wrong types and nulls everywhere but the two that make it an event.
            format!(
                r#"{{"notificationRuleArn":"{RULE}","detailType":"CodeBuild Build State Change","source":"aws.codebuild","account":7,"region":null,"time":"soon","resources":[1,null,"x"],"detail":null,"additionalAttributes":[]}}"#
            ),
            format!(
                r#"{{"notificationRuleArn":"{RULE}","detailType":"Odd","source":"aws.codecommit","detail":"text"}}"#
            ),
        ] {
            let body = parse_sns_message(None, &text, None).unwrap();
            let card = body.card();
            assert!(!card.headline.is_empty());
        }
    }

    #[test]
    fn only_a_notification_rules_message_is_claimed() {
        let kind = |text: &str| parse_sns_message(None, text, None).unwrap().describe().0;
        // No rule ARN, or not a notification rule's: not ours.
        assert_eq!(
            kind(r#"{"detailType":"CodeBuild Build State Change","source":"aws.codebuild","detail":{}}"#),
            "text"
        );
        assert_eq!(
            kind(r#"{"notificationRuleArn":"arn:aws:sns:us-east-1:1:x","detailType":"x","source":"y"}"#),
            "text"
        );
        // A rule without a detail type is not an event.
        let no_type = format!(r#"{{"notificationRuleArn":"{RULE}","source":"aws.codebuild"}}"#);
        assert_eq!(kind(&no_type), "text");
    }

    #[test]
    fn a_note_the_card_already_shows_is_left_out() {
        let attributes = serde_json::json!({"additionalInformation": "Build terminated with state: FAILED"});
        let attributes = attributes.as_object().unwrap();
        assert!(attribute_lines(attributes, "CodePipeline x action Build FAILED: Build terminated with state: FAILED").is_empty());
        assert_eq!(
            attribute_lines(attributes, "CodePipeline x FAILED"),
            vec!["additionalInformation: Build terminated with state: FAILED"]
        );
    }

    #[test]
    fn the_rules_id_is_the_arns_resource() {
        assert_eq!(rule_id(RULE), "notificationrule/0a1b2c3d4e5f");
        assert_eq!(rule_id("odd"), "odd");
    }

    #[test]
    fn the_rules_attributes_come_before_the_link_and_read_as_lines() {
        let text = serde_json::json!({
            "account": "123456789012",
            "detailType": "CodePipeline Pipeline Execution State Change",
            "region": "us-east-1",
            "source": "aws.codepipeline",
            "time": "2026-11-20T09:12:44Z",
            "notificationRuleArn": RULE,
            "detail": {"pipeline": "orders-api-release", "execution-id": "e-1", "state": "FAILED"},
            "resources": ["arn:aws:codepipeline:us-east-1:123456789012:orders-api-release"],
            "additionalAttributes": {
                "failedStage": "Build <!here>",
                "failedActionCount": 2,
                "failedActions": [{"action": "Unit", "additionalInformation": "exit 1"}, {"action": null}],
                "other": {"note": "x"}
            }
        })
        .to_string();
        let card = parse_sns_message(None, &text, None).unwrap().card();
        assert_eq!(card.headline, "CodePipeline orders-api-release FAILED");
        let titled = card
            .parts
            .iter()
            .position(|p| matches!(p, Part::Titled { title: "From the notification rule", text } if text == "Failed stage: Build <!here>\nFailed action Unit: exit 1\nFailed action (unnamed)\nother.note: x"))
            .unwrap();
        let link = card
            .parts
            .iter()
            .position(|p| matches!(p, Part::Link { .. }))
            .unwrap();
        assert!(titled < link);
        assert!(matches!(card.parts.last(), Some(Part::Context(_))));
    }
}
