//! CodeDeploy deployments and the instances they deploy to: EventBridge's events
//! (`aws.codedeploy`, "CodeDeploy Deployment State-change Notification" and "CodeDeploy
//! Instance State-change Notification"), and the JSON a deployment group's triggers
//! publish to SNS, whose `deploymentOverview`, `errorInformation` and
//! `rollbackInformation` are objects written as JSON strings.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::both("codedeploy", from_event, from_sns);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    let instance = match event.detail_type.as_str() {
        "CodeDeploy Deployment State-change Notification" => false,
        "CodeDeploy Instance State-change Notification" => true,
        _ => return None,
    };
    (event.source == "aws.codedeploy").then(|| Ok(Body::new(read(instance, detail, event))))
}

/// A trigger's message: a deployment's (`status`) or an instance's (`instanceStatus`).
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let obj = message.object()?;
    let trigger = str_at(obj, "deploymentId").is_some()
        && (obj.contains_key("eventTriggerName") || obj.contains_key("deploymentGroupName"))
        && (obj.contains_key("status") || obj.contains_key("instanceStatus"));
    trigger.then(|| Body::new(read_trigger(obj)))
}

/// A deployment, or one instance of it, that changed state.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Deployment {
    pub application: Option<String>,
    pub deployment_group: Option<String>,
    pub deployment_id: Option<String>,
    /// EventBridge's `START`, `SUCCESS`, `FAILURE`, `STOP`, `READY`, …; a trigger's
    /// `CREATED`, `IN_PROGRESS`, `SUCCEEDED`, `FAILED`, `STOPPED`, …
    pub state: Option<String>,
    /// Set on instance events only.
    pub instance_id: Option<String>,
    /// The trigger that sent it, for trigger messages.
    pub trigger: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The lifecycle event that failed on an instance, e.g. `AfterInstall`.
    pub failed_step: Option<String>,
    /// Instances per state (`Succeeded`, `Failed`, …), as the trigger counts them.
    pub overview: Vec<(String, u64)>,
    /// The deployment this one rolls back.
    pub rollback_of: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(instance: bool, d: &Obj, event: &Event) -> Deployment {
    let resources = event.resources.as_deref().unwrap_or_default();
    let arn = resources.iter().find_map(|r| parse_arn(r));
    let place = Place::of(event, arn.as_ref());
    Deployment {
        application: str_at(d, "application"),
        deployment_group: str_at(d, "deploymentGroup"),
        deployment_id: str_at(d, "deploymentId"),
        state: str_at(d, "state").map(|s| s.trim().to_ascii_uppercase()),
        // An instance event names the instance; the deployment event does not.
        instance_id: instance
            .then(|| {
                str_at(d, "instanceId").or_else(|| {
                    resources
                        .iter()
                        .find_map(|r| r.split_once(":instance/"))
                        .and_then(|(_, id)| non_empty(id))
                })
            })
            .flatten(),
        account: place.account,
        region: event.region.clone().or_else(|| str_at(d, "region")).or(place.region),
        partition: place.partition,
        time: event.time,
        ..Deployment::default()
    }
}

/// A trigger's message, deployment or instance.
fn read_trigger(obj: &Obj) -> Deployment {
    let nested = |key: &str| nested_at(obj, key).and_then(|v| v.as_object().cloned());
    let error = nested("errorInformation");
    let rollback = nested("rollbackInformation");
    let overview = nested("deploymentOverview")
        .map(|o| {
            ["Succeeded", "Failed", "Skipped", "InProgress", "Pending"]
                .iter()
                .filter_map(|k| uint_at(&o, k).map(|n| ((*k).to_owned(), n)))
                .collect()
        })
        .unwrap_or_default();
    let failed_step = nested_at(obj, "lifecycleEvents")
        .as_ref()
        .and_then(Value::as_array)
        .and_then(|events| {
            events.iter().filter_map(Value::as_object).find_map(|e| {
                let failed = str_at(e, "LifecycleEventStatus")
                    .is_some_and(|s| s.eq_ignore_ascii_case("failed"));
                failed.then(|| str_at(e, "LifecycleEvent")).flatten()
            })
        });
    let region = str_at(obj, "region");
    let instance_id = str_at(obj, "instanceId").map(|i| match i.split_once(":instance/") {
        Some((_, id)) if !id.is_empty() => id.to_owned(),
        _ => i,
    });
    Deployment {
        application: str_at(obj, "applicationName"),
        deployment_group: str_at(obj, "deploymentGroupName"),
        deployment_id: str_at(obj, "deploymentId"),
        state: str_at(obj, "status")
            .or_else(|| str_at(obj, "instanceStatus"))
            .map(|s| s.trim().to_ascii_uppercase()),
        instance_id,
        trigger: str_at(obj, "eventTriggerName"),
        error_code: error.as_ref().and_then(|e| str_at(e, "ErrorCode")),
        error_message: error.as_ref().and_then(|e| str_at(e, "ErrorMessage")),
        failed_step,
        overview,
        rollback_of: rollback.and_then(|r| str_at(&r, "RollbackTriggeringDeploymentId")),
        account: str_at(obj, "accountId"),
        partition: region.as_deref().map(|r| partition_of_region(r).to_owned()),
        region,
        time: ["completeTime", "lastUpdatedAt", "createTime"]
            .iter()
            .find_map(|k| str_at(obj, k).as_deref().and_then(trigger_time)),
    }
}

/// Triggers write `Fri Oct 14 08:46:18 UTC 2022`; the documentation shows epoch seconds.
fn trigger_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    parse_time(raw)
        .or_else(|| parse_utc_text_time(raw))
        .or_else(|| {
            let seconds: f64 = raw.parse().ok().filter(|s: &f64| s.is_finite())?;
            DateTime::from_timestamp_millis((seconds * 1000.0) as i64)
        })
}

/// How bad a deployment's or an instance's state is, in either vocabulary.
pub(crate) fn severity(state: &str) -> Severity {
    match state {
        "FAILURE" | "FAILED" => Severity::Error,
        "STOP" | "STOPPED" => Severity::Warning,
        "SUCCESS" | "SUCCEEDED" => Severity::Ok,
        _ => Severity::Info,
    }
}

impl Deployment {
    /// `application/group`, or whichever of the two is known.
    fn target(&self) -> Option<String> {
        match (self.application.as_deref(), self.deployment_group.as_deref()) {
            (Some(app), Some(group)) => Some(format!("{app}/{group}")),
            (app, group) => app.or(group).map(str::to_owned),
        }
    }

    /// Why it failed or stopped: `CODE: message`, or the lifecycle event that failed.
    pub(crate) fn failure(&self) -> Option<String> {
        match (self.error_code.as_deref(), self.error_message.as_deref()) {
            (Some(code), Some(message)) => Some(format!("{code}: {message}")),
            (code, message) => code
                .or(message)
                .map(str::to_owned)
                .or_else(|| self.failed_step.as_ref().map(|s| format!("{s} failed"))),
        }
    }

    /// `1 succeeded, 2 failed`, leaving out states with none.
    fn overview_text(&self) -> Option<String> {
        let parts: Vec<String> = self
            .overview
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(state, n)| format!("{n} {}", humanise(state).to_lowercase()))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

notice!(Deployment, card, |it| it.deployment_id.clone().unwrap_or_default());

/// The deployment as a card: application, group, deployment, state, the instance if any,
/// and a link to the deployment.
pub(crate) fn card(c: &Deployment) -> Card {
    let state = c.state.as_deref().unwrap_or("UNKNOWN");
    let severity = severity(state);
    let emoji = severity.emoji("🚀");
    let target = c.target().map(|t| format!(" {t}")).unwrap_or_default();
    let deployment = c
        .deployment_id
        .as_deref()
        .map(|id| format!(" {id}"))
        .unwrap_or_default();
    let instance = c
        .instance_id
        .as_deref()
        .map(|i| format!(": instance {i}"))
        .unwrap_or_default();
    let rollback = c
        .rollback_of
        .as_deref()
        .map(|id| format!(" (rolling back {id})"))
        .unwrap_or_default();
    let text = format!("CodeDeploy{target} deployment{deployment}{instance} {state}{rollback}");
    let mut headline = escape(&text);
    let failure = c.failure().filter(|_| severity != Severity::Ok);
    if let Some(why) = &failure {
        headline.push_str(&format!(": {}", escape_within(why, 200)));
    }
    let mut m = Card::new(emoji, text, headline, severity);
    if c.state.is_none() {
        m = m.grey();
    }
    m.titled("Error", c.error_message.as_deref());
    m.fields(vec![
        ("Application", c.application.as_deref().map(escape)),
        ("Deployment group", c.deployment_group.as_deref().map(escape)),
        ("Deployment", c.deployment_id.as_deref().map(code)),
        ("State", Some(escape(state))),
        ("Error code", c.error_code.as_deref().map(code)),
        ("Failed step", c.failed_step.as_deref().map(escape)),
        ("Instance", c.instance_id.as_deref().map(code)),
        ("Instances", c.overview_text()),
        ("Trigger", c.trigger.as_deref().map(escape)),
        ("Account", c.account.as_deref().map(escape)),
        ("Region", c.region.as_deref().map(escape)),
        ("Time", when(c.time)),
    ]);
    let url = c.deployment_id.as_deref().and_then(|id| {
        service_console_url(
            c.partition.as_deref().unwrap_or("aws"),
            c.region.as_deref(),
            &format!(
                "codesuite/codedeploy/deployments/{}?region={{region}}",
                url_encode(id)
            ),
        )
    });
    m.link("Open the deployment", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(detail_type: &str, detail: serde_json::Value) -> Event {
        serde_json::from_value(serde_json::json!({
            "version": "0",
            "id": "1",
            "detail-type": detail_type,
            "source": "aws.codedeploy",
            "account": "123456789012",
            "time": "2026-11-20T09:11:40Z",
            "region": "us-east-1",
            "resources": [
                "arn:aws-cn:codedeploy:cn-north-1:123456789012:application:orders-api",
                "arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0a1b"
            ],
            "detail": detail
        }))
        .unwrap()
    }

    fn claim(detail_type: &str, detail: serde_json::Value) -> Option<Card> {
        let e = event(detail_type, detail);
        let d = e.detail.as_object().cloned().unwrap_or_default();
        from_event(&e, &d).map(|body| body.unwrap().card())
    }

    #[test]
    fn states_map_to_severities() {
        for (state, expected) in [
            ("FAILURE", Severity::Error),
            ("STOP", Severity::Warning),
            ("SUCCESS", Severity::Ok),
            ("START", Severity::Info),
            ("READY", Severity::Info),
            ("FAILED", Severity::Error),
            ("STOPPED", Severity::Warning),
            ("SUCCEEDED", Severity::Ok),
            ("IN_PROGRESS", Severity::Info),
        ] {
            assert_eq!(severity(state), expected, "{state}");
        }
    }

    #[test]
    fn the_headline_names_the_target_the_deployment_and_the_instance() {
        let card = claim(
            "CodeDeploy Instance State-change Notification",
            serde_json::json!({
                "application": "orders-api",
                "deploymentGroup": "<!here>",
                "deploymentId": "d-4K7QX2B9Z",
                "instanceId": "i-0a1b",
                "state": "failure"
            }),
        )
        .unwrap();
        assert_eq!(
            card.headline,
            "CodeDeploy orders-api/&lt;!here&gt; deployment d-4K7QX2B9Z: instance i-0a1b FAILURE"
        );
        assert_eq!(card.severity, Severity::Error);
    }

    #[test]
    fn missing_nulls_and_wrong_types_do_not_panic() {
        for detail in [
            serde_json::json!({}),
            serde_json::json!(null),
            serde_json::json!("text"),
            serde_json::json!({"application": null, "deploymentId": 7, "state": ["x"]}),
        ] {
            let card = claim("CodeDeploy Deployment State-change Notification", detail).unwrap();
            assert!(card.headline.starts_with("CodeDeploy"), "{}", card.headline);
        }
        let card = claim(
            "CodeDeploy Deployment State-change Notification",
            serde_json::json!({"application": null, "deploymentId": 7}),
        )
        .unwrap();
        assert_eq!(card.headline, "CodeDeploy deployment 7 UNKNOWN");
    }

    #[test]
    fn the_instance_comes_from_the_resources_when_the_detail_lacks_it() {
        let e = event(
            "CodeDeploy Instance State-change Notification",
            serde_json::json!({"state": "START"}),
        );
        let d = Obj::new();
        let deployment = read(true, &d, &e);
        assert_eq!(deployment.instance_id.as_deref(), Some("i-0a1b"));
        assert_eq!(deployment.partition.as_deref(), Some("aws-cn"));
        assert!(read(false, &d, &e).instance_id.is_none());
    }

    fn trigger(message: serde_json::Value) -> Option<Card> {
        let text = message.to_string();
        from_sns(&SnsMessage::new(None, &text, None)).map(|b| b.card())
    }

    #[test]
    fn a_failed_trigger_says_why_from_its_nested_json() {
        let card = trigger(serde_json::json!({
            "region": "eu-west-2",
            "accountId": "123456789012",
            "eventTriggerName": "deploy-events",
            "applicationName": "orders-api",
            "deploymentId": "d-MAIN",
            "deploymentGroupName": "prod",
            "createTime": "Fri Oct 14 08:38:46 UTC 2022",
            "completeTime": "Fri Oct 14 08:46:18 UTC 2022",
            "deploymentOverview": "{\"Succeeded\":1,\"Failed\":2,\"Skipped\":0,\"InProgress\":0,\"Pending\":0}",
            "status": "FAILED",
            "errorInformation": "{\"ErrorCode\":\"HEALTH_CONSTRAINTS\",\"ErrorMessage\":\"Too many <!here> instances failed\"}",
            "rollbackInformation": "{}"
        }))
        .unwrap();
        assert_eq!(
            card.headline,
            "CodeDeploy orders-api/prod deployment d-MAIN FAILED: HEALTH_CONSTRAINTS: Too many &lt;!here&gt; instances failed"
        );
        assert_eq!(card.severity, Severity::Error);
        let parts = format!("{:?}", card.parts);
        assert!(parts.contains("1 succeeded, 2 failed"), "{parts}");
        assert!(parts.contains("2022-10-14 08:46:18 UTC"), "{parts}");
    }

    #[test]
    fn trigger_states_and_shapes() {
        // The documented shape: nested objects, mixed-case status, epoch times.
        let card = trigger(serde_json::json!({
            "eventTriggerName": "t", "deploymentId": "d-1", "deploymentGroupName": "g",
            "status": "Stopped", "createTime": "1446744188.595",
            "deploymentOverview": {"Failed": "0", "Succeeded": "3"}
        }))
        .unwrap();
        assert_eq!(card.headline, "CodeDeploy g deployment d-1 STOPPED");
        assert_eq!(card.severity, Severity::Warning);
        // An instance trigger names the instance and the lifecycle event that failed.
        let card = trigger(serde_json::json!({
            "eventTriggerName": "t", "deploymentId": "d-1",
            "instanceId": "arn:aws:ec2:us-east-2:1:instance/i-4965", "instanceStatus": "Failed",
            "lifecycleEvents": [{"LifecycleEvent": "AfterInstall", "LifecycleEventStatus": "Failed"}]
        }))
        .unwrap();
        assert_eq!(
            card.headline,
            "CodeDeploy deployment d-1: instance i-4965 FAILED: AfterInstall failed"
        );
        // A rollback says what it rolls back; success is green.
        let card = trigger(serde_json::json!({
            "eventTriggerName": "t", "deploymentId": "d-2", "status": "SUCCEEDED",
            "rollbackInformation": "{\"RollbackTriggeringDeploymentId\":\"d-1\"}"
        }))
        .unwrap();
        assert_eq!(card.headline, "CodeDeploy deployment d-2 SUCCEEDED (rolling back d-1)");
        assert_eq!(card.severity, Severity::Ok);
    }

    #[test]
    fn odd_trigger_messages_do_not_panic_and_others_are_not_claimed() {
        let card = trigger(serde_json::json!({
            "eventTriggerName": null, "deploymentId": "d-1", "deploymentGroupName": ["g"],
            "status": 5, "errorInformation": "{not json", "deploymentOverview": "[1]",
            "lifecycleEvents": "oops", "createTime": "yesterday", "instanceId": ":instance/"
        }))
        .unwrap();
        assert_eq!(card.headline, "CodeDeploy deployment d-1: instance :instance/ 5");
        assert!(trigger(serde_json::json!({"deploymentId": "d-1", "status": "FAILED"})).is_none());
        assert!(trigger(serde_json::json!({"eventTriggerName": "t", "status": "FAILED"})).is_none());
    }

    #[test]
    fn other_events_are_not_claimed() {
        assert!(claim("CodeDeploy Lifecycle Event", serde_json::json!({})).is_none());
    }

    #[test]
    fn the_link_opens_the_deployment_in_its_partition() {
        let c = Deployment {
            deployment_id: Some("d-4K7QX2B9Z".into()),
            region: Some("cn-north-1".into()),
            partition: Some("aws-cn".into()),
            ..Default::default()
        };
        let link = card(&c).parts.into_iter().find_map(|p| match p {
            crate::model::card::Part::Link { url, .. } => Some(url),
            _ => None,
        });
        assert_eq!(
            link.as_deref(),
            Some("https://cn-north-1.console.amazonaws.cn/codesuite/codedeploy/deployments/d-4K7QX2B9Z?region=cn-north-1")
        );
    }
}
