//! EC2 instance state changes and Spot interruption warnings (`aws.ec2`, "EC2 Instance
//! State-change Notification" and "EC2 Spot Instance Interruption Warning").

use chrono::{DateTime, Duration, Utc};

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::escape;
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("ec2", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    let kind = match event.detail_type.as_str() {
        "EC2 Instance State-change Notification" => Kind::StateChange,
        "EC2 Spot Instance Interruption Warning" => Kind::SpotInterruption,
        _ => return None,
    };
    (event.source == "aws.ec2").then(|| Ok(Body::new(read(kind, detail, event))))
}

/// A state change, or a warning that a Spot instance is about to be interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Kind {
    #[default]
    StateChange,
    SpotInterruption,
}

/// An EC2 instance that changed state, or is about to be interrupted.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct InstanceNotice {
    pub kind: Kind,
    pub instance_id: Option<String>,
    /// State changes: `pending`, `running`, `stopping`, `stopped`, `shutting-down`,
    /// `terminated`.
    pub state: Option<String>,
    /// Spot interruptions: `terminate`, `stop` or `hibernate`.
    pub action: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(kind: Kind, d: &Obj, event: &Event) -> InstanceNotice {
    let resource = event
        .resources
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|r| r.contains(":instance/"));
    let arn = resource.and_then(|r| parse_arn(r));
    let place = Place::of(event, arn.as_ref());
    InstanceNotice {
        kind,
        instance_id: str_at(d, "instance-id").or_else(|| {
            resource
                .and_then(|r| r.split_once(":instance/"))
                .and_then(|(_, id)| non_empty(id))
        }),
        state: str_at(d, "state").map(|s| s.trim().to_ascii_lowercase()),
        action: str_at(d, "instance-action").map(|s| s.trim().to_ascii_lowercase()),
        account: place.account,
        region: place.region,
        partition: place.partition,
        time: event.time,
    }
}

/// How bad an instance state is. An instance that stops or terminates takes capacity
/// away: a degradation unless someone meant it, which the event cannot tell, so amber.
/// Starting and running are routine.
pub(crate) fn state_severity(state: &str) -> Severity {
    match state {
        "stopping" | "stopped" | "shutting-down" | "terminated" => Severity::Warning,
        _ => Severity::Info,
    }
}

impl InstanceNotice {
    /// When the interruption happens: two minutes after the warning, except hibernation,
    /// which starts at once.
    pub(crate) fn interruption_time(&self) -> Option<DateTime<Utc>> {
        let warned = self.time?;
        Some(match self.action.as_deref() {
            Some("hibernate") => warned,
            _ => warned + Duration::minutes(2),
        })
    }

    pub(crate) fn severity(&self) -> Severity {
        match self.kind {
            Kind::SpotInterruption => Severity::Warning,
            Kind::StateChange => state_severity(self.state.as_deref().unwrap_or_default()),
        }
    }
}

/// `terminate` → `terminated`, `stop` → `stopped`, `hibernate` → `hibernated`.
fn past_tense(action: &str) -> String {
    match action {
        "stop" => "stopped".into(),
        a if a.ends_with('e') => format!("{a}d"),
        a => format!("{a}ed"),
    }
}


notice!(InstanceNotice, card, |it| it.instance_id.clone().unwrap_or_default());

/// The instance as a card: its state, or the Spot action and when it happens, and a link
/// to the instance.
pub(crate) fn card(i: &InstanceNotice) -> Card {
    let severity = i.severity();
    let instance = i.instance_id.as_deref().unwrap_or("instance");
    let (emoji, text) = match i.kind {
        Kind::StateChange => {
            let state = i.state.as_deref().unwrap_or("in an unknown state");
            (
                severity.emoji("🖥️"),
                format!("EC2 instance {instance} {state}"),
            )
        }
        Kind::SpotInterruption => {
            let verb = i
                .action
                .as_deref()
                .map(past_tense)
                .unwrap_or_else(|| "interrupted".into());
            let at = match (i.action.as_deref(), i.interruption_time()) {
                (Some("hibernate"), _) => " now".to_owned(),
                (_, Some(t)) => format!(" at {}", utc_text(t)),
                (_, None) => " in 2 minutes".to_owned(),
            };
            (
                severity.emoji("🖥️"),
                format!("EC2 Spot interruption: {instance} will be {verb}{at}"),
            )
        }
    };
    let mut m = Card::new(emoji, text.clone(), escape(&text), severity);
    let grey = match i.kind {
        Kind::StateChange => i.state.is_none(),
        Kind::SpotInterruption => false,
    };
    if grey {
        m = m.grey();
    }
    m.fields(vec![
        ("Instance", i.instance_id.as_deref().map(code)),
        ("State", i.state.as_deref().map(escape)),
        ("Spot action", i.action.as_deref().map(escape)),
        (
            "Interruption at",
            i.interruption_time()
                .filter(|_| i.kind == Kind::SpotInterruption)
                .and_then(|t| when(Some(t))),
        ),
        ("Account", i.account.as_deref().map(escape)),
        ("Region", i.region.as_deref().map(escape)),
        (
            match i.kind {
                Kind::StateChange => "Time",
                Kind::SpotInterruption => "Warned at",
            },
            when(i.time),
        ),
    ]);
    let url = i.instance_id.as_deref().and_then(|id| {
        service_console_url(
            i.partition.as_deref().unwrap_or("aws"),
            i.region.as_deref(),
            &format!(
                "ec2/home?region={{region}}#InstanceDetails:instanceId={}",
                url_encode(id)
            ),
        )
    });
    m.link("Open the instance", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(detail_type: &str, detail: serde_json::Value) -> Option<Card> {
        let e: Event = serde_json::from_value(serde_json::json!({
            "version": "0",
            "id": "1",
            "detail-type": detail_type,
            "source": "aws.ec2",
            "account": "123456789012",
            "time": "2026-11-20T08:15:31Z",
            "region": "us-east-1",
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b"],
            "detail": detail
        }))
        .unwrap();
        let d = e.detail.as_object().cloned().unwrap_or_default();
        from_event(&e, &d).map(|body| body.unwrap().card())
    }

    #[test]
    fn stops_and_terminations_are_amber_and_the_rest_routine() {
        for state in ["stopping", "stopped", "shutting-down", "terminated"] {
            assert_eq!(state_severity(state), Severity::Warning, "{state}");
        }
        for state in ["pending", "running", ""] {
            assert_eq!(state_severity(state), Severity::Info, "{state}");
        }
    }

    #[test]
    fn a_spot_warning_says_what_happens_and_when() {
        let card = claim(
            "EC2 Spot Instance Interruption Warning",
            serde_json::json!({"instance-id": "i-0a1b", "instance-action": "terminate"}),
        )
        .unwrap();
        assert_eq!(
            card.headline,
            "EC2 Spot interruption: i-0a1b will be terminated at 2026-11-20 08:17:31 UTC"
        );
        assert_eq!(card.severity, Severity::Warning);
        let card = claim(
            "EC2 Spot Instance Interruption Warning",
            serde_json::json!({"instance-id": "i-0a1b", "instance-action": "hibernate"}),
        )
        .unwrap();
        assert_eq!(
            card.headline,
            "EC2 Spot interruption: i-0a1b will be hibernated now"
        );
        let card = claim(
            "EC2 Spot Instance Interruption Warning",
            serde_json::json!({"instance-action": "stop"}),
        )
        .unwrap();
        assert_eq!(
            card.headline,
            "EC2 Spot interruption: i-0a1b will be stopped at 2026-11-20 08:17:31 UTC"
        );
    }

    #[test]
    fn missing_nulls_and_wrong_types_do_not_panic() {
        for detail in [
            serde_json::json!({}),
            serde_json::json!(null),
            serde_json::json!([1, 2]),
            serde_json::json!({"instance-id": null, "state": {"name": "running"}}),
        ] {
            let card = claim("EC2 Instance State-change Notification", detail.clone()).unwrap();
            assert_eq!(card.headline, "EC2 instance i-0a1b in an unknown state");
            assert_eq!(card.severity, Severity::Info);
            let card = claim("EC2 Spot Instance Interruption Warning", detail).unwrap();
            assert_eq!(
                card.headline,
                "EC2 Spot interruption: i-0a1b will be interrupted at 2026-11-20 08:17:31 UTC"
            );
        }
    }

    #[test]
    fn names_are_escaped() {
        let card = claim(
            "EC2 Instance State-change Notification",
            serde_json::json!({"instance-id": "<!channel>", "state": "running"}),
        )
        .unwrap();
        assert_eq!(card.headline, "EC2 instance &lt;!channel&gt; running");
    }

    #[test]
    fn other_ec2_events_are_not_claimed() {
        assert!(claim("EBS Volume Notification", serde_json::json!({})).is_none());
    }
}
