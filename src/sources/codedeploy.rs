//! CodeDeploy deployments and the instances they deploy to (`aws.codedeploy`, "CodeDeploy
//! Deployment State-change Notification" and "CodeDeploy Instance State-change
//! Notification").

use chrono::{DateTime, Utc};

use super::shared::*;
use super::{Body, Event, Notice, Source};
use crate::card::{Card, Severity};
use crate::mrkdwn::escape;
use crate::parse::ParseError;

pub const SOURCE: Source = Source {
    name: "codedeploy",
    event: Some(from_event),
    sns: None,
    last_resort: false,
};

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    let instance = match event.detail_type.as_str() {
        "CodeDeploy Deployment State-change Notification" => false,
        "CodeDeploy Instance State-change Notification" => true,
        _ => return None,
    };
    (event.source == "aws.codedeploy").then(|| Ok(Body::new(read(instance, detail, event))))
}

/// A deployment, or one instance of it, that changed state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Deployment {
    pub application: Option<String>,
    pub deployment_group: Option<String>,
    pub deployment_id: Option<String>,
    /// `START`, `SUCCESS`, `FAILURE`, `STOP`, `READY`, …
    pub state: Option<String>,
    /// Set on instance events only.
    pub instance_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(instance: bool, d: &Obj, event: &Event) -> Deployment {
    let resources = event.resources.as_deref().unwrap_or_default();
    let arn = resources.iter().find_map(|r| parse_arn(r));
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
        account: event
            .account
            .clone()
            .or_else(|| arn.as_ref().and_then(|a| non_empty(a.account))),
        region: event
            .region
            .clone()
            .or_else(|| str_at(d, "region"))
            .or_else(|| arn.as_ref().and_then(|a| non_empty(a.region))),
        partition: arn.as_ref().and_then(|a| non_empty(a.partition)),
        time: event.time,
    }
}

/// How bad a deployment's or an instance's state is.
pub fn severity(state: &str) -> Severity {
    match state {
        "FAILURE" => Severity::Error,
        "STOP" => Severity::Warning,
        "SUCCESS" => Severity::Ok,
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
}

impl Notice for Deployment {
    fn card(&self) -> Card {
        card(self)
    }

    fn describe(&self) -> (&'static str, String) {
        (SOURCE.name, self.deployment_id.clone().unwrap_or_default())
    }
}

/// The deployment as a card: application, group, deployment, state, the instance if any,
/// and a link to the deployment.
pub fn card(c: &Deployment) -> Card {
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
    let text = format!("CodeDeploy{target} deployment{deployment}{instance} {state}");
    let mut m = Card::new(emoji, text.clone(), escape(&text), severity);
    if c.state.is_none() {
        m = m.grey();
    }
    m.fields(vec![
        ("Application", c.application.as_deref().map(escape)),
        ("Deployment group", c.deployment_group.as_deref().map(escape)),
        ("Deployment", c.deployment_id.as_deref().map(code)),
        ("State", Some(escape(state))),
        ("Instance", c.instance_id.as_deref().map(code)),
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
            crate::card::Part::Link { url, .. } => Some(url),
            _ => None,
        });
        assert_eq!(
            link.as_deref(),
            Some("https://cn-north-1.console.amazonaws.cn/codesuite/codedeploy/deployments/d-4K7QX2B9Z?region=cn-north-1")
        );
    }
}
