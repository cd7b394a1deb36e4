//! EC2 Auto Scaling launches and terminations, successful or not: EventBridge's events
//! (`aws.autoscaling`, "EC2 Instance Launch Successful" and the like) and the JSON an
//! Auto Scaling group publishes to the SNS topic of its notification configuration
//! (`"Event": "autoscaling:EC2_INSTANCE_LAUNCH_ERROR"`, …), test notifications included.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::both("autoscaling", from_event, from_sns);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    if event.source != "aws.autoscaling" {
        return None;
    }
    let (kind, failed) = match event.detail_type.as_str() {
        "EC2 Instance Launch Successful" => (ActivityKind::Launch, false),
        "EC2 Instance Launch Unsuccessful" => (ActivityKind::Launch, true),
        "EC2 Instance Terminate Successful" => (ActivityKind::Terminate, false),
        "EC2 Instance Terminate Unsuccessful" => (ActivityKind::Terminate, true),
        _ => return None,
    };
    let mut activity = read(detail, kind, failed);
    activity.account = event.account.clone().or(activity.account);
    activity.region = event.region.clone().or(activity.region);
    activity.time = event.time.or(activity.time);
    if activity.partition.is_none() {
        activity.partition = event
            .resources
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find_map(|r| parse_arn(r).and_then(|a| non_empty(a.partition)));
    }
    Some(Ok(Body::new(activity)))
}

/// Only Auto Scaling's own notification: an `autoscaling:` event from the service.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let obj = message.object()?;
    let code = str_at(obj, "Event")?;
    let from_auto_scaling = str_at(obj, "Service").as_deref() == Some("AWS Auto Scaling")
        || obj.contains_key("AutoScalingGroupName")
        || obj.contains_key("AutoScalingGroupARN");
    if !code.starts_with("autoscaling:") || !from_auto_scaling {
        return None;
    }
    let (kind, failed) = match code.as_str() {
        "autoscaling:EC2_INSTANCE_LAUNCH" => (ActivityKind::Launch, false),
        "autoscaling:EC2_INSTANCE_LAUNCH_ERROR" => (ActivityKind::Launch, true),
        "autoscaling:EC2_INSTANCE_TERMINATE" => (ActivityKind::Terminate, false),
        "autoscaling:EC2_INSTANCE_TERMINATE_ERROR" => (ActivityKind::Terminate, true),
        "autoscaling:TEST_NOTIFICATION" => (ActivityKind::Test, false),
        other => (
            ActivityKind::Other(other.trim_start_matches("autoscaling:").to_owned()),
            other.ends_with("_ERROR"),
        ),
    };
    Some(Body::new(read(obj, kind, failed)))
}

/// What the group did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum ActivityKind {
    #[default]
    Launch,
    Terminate,
    /// Sent when a notification configuration is set up.
    Test,
    /// An `autoscaling:` event of another kind, by its code.
    Other(String),
}

/// A scaling activity of an Auto Scaling group: an instance launched or terminated, or
/// not.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ScalingActivity {
    pub kind: ActivityKind,
    pub failed: bool,
    pub group: Option<String>,
    pub group_arn: Option<String>,
    pub instance_id: Option<String>,
    /// `InProgress`, `Successful`, `Failed`, `Cancelled`, …
    pub status_code: Option<String>,
    /// Why it failed, when it did.
    pub status_message: Option<String>,
    pub description: Option<String>,
    /// What started it, e.g. a policy changing the desired capacity.
    pub cause: Option<String>,
    pub activity_id: Option<String>,
    pub availability_zone: Option<String>,
    pub subnet: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

/// The fields both forms share: EventBridge's `detail` and the SNS message use the same
/// names.
fn read(d: &Obj, kind: ActivityKind, failed: bool) -> ScalingActivity {
    // `Details` is an object, or (as the API gives it) an object written as a string.
    let details = nested_at(d, "Details");
    let details = details.as_ref().and_then(Value::as_object);
    let group_arn = str_at(d, "AutoScalingGroupARN");
    let arn = group_arn.as_deref().and_then(parse_arn);
    let status_code = str_at(d, "StatusCode");
    ScalingActivity {
        failed: failed || status_code.as_deref() == Some("Failed"),
        kind,
        group: str_at(d, "AutoScalingGroupName").or_else(|| {
            arn.as_ref()
                .and_then(|a| a.resource.split_once("autoScalingGroupName/"))
                .and_then(|(_, name)| non_empty(name))
        }),
        instance_id: str_at(d, "EC2InstanceId"),
        status_code,
        status_message: str_at(d, "StatusMessage").map(|s| s.trim().to_owned()),
        description: str_at(d, "Description").map(|s| s.trim().to_owned()),
        cause: str_at(d, "Cause").map(|s| s.trim().to_owned()),
        activity_id: str_at(d, "ActivityId"),
        availability_zone: details.and_then(|x| str_at(x, "Availability Zone")),
        subnet: details.and_then(|x| str_at(x, "Subnet ID")),
        account: str_at(d, "AccountId").or_else(|| arn.as_ref().and_then(|a| non_empty(a.account))),
        region: arn.as_ref().and_then(|a| non_empty(a.region)),
        partition: arn.as_ref().and_then(|a| non_empty(a.partition)),
        time: time_at(d, "EndTime").or_else(|| time_at(d, "Time")),
        group_arn,
    }
}

impl ScalingActivity {
    /// Why it failed: the status message, else the reason inside the description
    /// (`Launching a new EC2 instance.  Status Reason: …`), else the description.
    /// AWS ends the message with `Launching EC2 instance failed.`, which the headline
    /// already says; that sentence is left out.
    pub(crate) fn failure(&self) -> Option<&str> {
        let why = self.status_message.as_deref().or_else(|| {
            let description = self.description.as_deref()?;
            Some(
                description
                    .split_once("Status Reason:")
                    .map_or(description, |(_, reason)| reason.trim()),
            )
        })?;
        let trimmed = ["Launching EC2 instance failed.", "Terminating EC2 instance failed."]
            .iter()
            .find_map(|tail| why.strip_suffix(tail))
            .map_or(why, str::trim_end);
        Some(if trimmed.is_empty() { why } else { trimmed })
    }

    /// Why an instance was taken out of service, e.g. `an ELB system health check
    /// failure`; not a mere difference between desired and actual capacity.
    pub(crate) fn taken_out_because(&self) -> Option<&str> {
        let cause = self.cause.as_deref()?;
        let (_, rest) = cause.split_once("taken out of service in response to ")?;
        let reason = rest.split_once('.').map_or(rest, |(r, _)| r).trim();
        (!reason.is_empty() && !reason.contains("difference between desired and actual"))
            .then_some(reason)
    }

    /// Whether it was taken out of service because a health or status check failed
    /// (EC2, ELB, or one the application set), not to scale in or rebalance.
    pub(crate) fn unhealthy(&self) -> bool {
        self.taken_out_because().is_some_and(|why| {
            let why = why.to_ascii_lowercase();
            why.contains("health") || why.contains("status check")
        })
    }

    /// `(from, to)` of the desired capacity, when the cause says it changed.
    pub(crate) fn capacity_change(&self) -> Option<(u64, u64)> {
        let cause = self.cause.as_deref()?;
        let (_, rest) = cause.split_once("desired capacity from ")?;
        let mut words = rest.split_whitespace();
        let from = words.next()?.parse().ok()?;
        (words.next()? == "to").then_some(())?;
        let to = words
            .next()?
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()?;
        Some((from, to))
    }
}

/// A failed launch or termination is an error; a termination because a health or status
/// check failed is a warning (the group replaced it, but an instance was unhealthy);
/// everything else is routine.
pub(crate) fn severity(a: &ScalingActivity) -> Severity {
    if a.failed {
        Severity::Error
    } else if a.kind == ActivityKind::Terminate && a.unhealthy() {
        Severity::Warning
    } else {
        Severity::Info
    }
}

notice!(ScalingActivity, card, |it| it.group.clone().unwrap_or_default());

/// The title (plain text) and the headline (the same words, escaped, with a failure's
/// reason).
fn title_and_headline(
    a: &ScalingActivity,
    group: &str,
    instance: Option<&str>,
    capacity: &str,
) -> (String, String) {
    match (&a.kind, a.failed) {
        (ActivityKind::Test, _) => {
            let t = format!("Auto Scaling {group}: test notification");
            (t.clone(), escape(&t))
        }
        (ActivityKind::Other(code), _) => {
            let t = format!("Auto Scaling {group}: {code}");
            (t.clone(), escape(&t))
        }
        (kind, true) => {
            let what = match (kind, instance) {
                (ActivityKind::Terminate, Some(i)) => format!("termination of {i} failed"),
                (ActivityKind::Terminate, None) => "instance termination failed".to_owned(),
                (_, Some(i)) => format!("launch of {i} failed"),
                (_, None) => "instance launch failed".to_owned(),
            };
            let title = format!("Auto Scaling {group}: {what}");
            let mut headline = escape(&title);
            if let Some(why) = a.failure() {
                headline += &format!(": {}", escape_within(why, 200));
            }
            (title, headline)
        }
        (kind, false) => {
            let verb = match kind {
                ActivityKind::Terminate => "terminated",
                _ => "launched",
            };
            let t = format!(
                "Auto Scaling {group} {verb} {}{capacity}",
                instance.unwrap_or("an instance")
            );
            (t.clone(), escape(&t))
        }
    }
}

/// The activity as a card: what happened to which instance, why, the cause, and a link
/// to the group's activity.
pub(crate) fn card(a: &ScalingActivity) -> Card {
    let severity = severity(a);
    let emoji = severity.emoji("⚖️");
    let group = a.group.as_deref().unwrap_or("group");
    let instance = a.instance_id.as_deref();
    // What led to it: the capacity change, or why the instance was taken out of service.
    let capacity = match (a.capacity_change(), &a.kind) {
        (Some((from, to)), _) => format!(" (desired capacity {from} → {to})"),
        (None, ActivityKind::Terminate) => a
            .taken_out_because()
            .map(|r| format!(" (in response to {r})"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let (title, headline) = title_and_headline(a, group, instance, &capacity);
    let mut m = Card::new(emoji, title, headline, severity);
    if a.failed {
        m.titled("Why", a.failure());
    }
    m.titled("Cause", a.cause.as_deref());
    m.fields(vec![
        ("Group", a.group.as_deref().map(escape)),
        ("Instance", a.instance_id.as_deref().map(code)),
        (
            // AWS says `InProgress` of a launch or termination that went well.
            "Status",
            a.status_code
                .as_deref()
                .filter(|s| a.failed || *s != "InProgress")
                .map(escape),
        ),
        ("Availability zone", a.availability_zone.as_deref().map(escape)),
        ("Subnet", a.subnet.as_deref().map(code)),
        ("Activity", a.activity_id.as_deref().map(code)),
        ("Account", a.account.as_deref().map(escape)),
        ("Region", a.region.as_deref().map(escape)),
        ("Time", when(a.time)),
    ]);
    let url = a.group.as_deref().and_then(|name| {
        service_console_url(
            a.partition.as_deref().unwrap_or("aws"),
            a.region.as_deref(),
            &format!(
                "ec2/home?region={{region}}#AutoScalingGroupDetails:id={};view=activity",
                url_encode(name)
            ),
        )
    });
    m.link("Open the group's activity", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sns(message: serde_json::Value) -> Option<Card> {
        let text = message.to_string();
        let m = SnsMessage::new(None, &text, None);
        from_sns(&m).map(|b| b.card())
    }

    #[test]
    fn only_auto_scalings_own_notifications_are_claimed() {
        assert!(sns(serde_json::json!({"Event": "deploy", "Service": "AWS Auto Scaling"})).is_none());
        assert!(sns(serde_json::json!({"Event": "autoscaling:EC2_INSTANCE_LAUNCH"})).is_none());
        assert!(sns(serde_json::json!({"Event": 3, "AutoScalingGroupName": "g"})).is_none());
        // A lifecycle hook's message has no Event: not this source's.
        assert!(sns(serde_json::json!({
            "Service": "AWS Auto Scaling",
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"
        }))
        .is_none());
        let text = "autoscaling:EC2_INSTANCE_LAUNCH_ERROR";
        assert!(from_sns(&SnsMessage::new(None, text, None)).is_none());
    }

    #[test]
    fn a_failed_launch_says_why() {
        let card = sns(serde_json::json!({
            "Service": "AWS Auto Scaling",
            "Event": "autoscaling:EC2_INSTANCE_LAUNCH_ERROR",
            "AutoScalingGroupName": "web",
            "EC2InstanceId": "",
            "StatusCode": "Failed",
            "StatusMessage": "",
            "Description": "Launching a new EC2 instance.  Status Reason: The image id 'ami-1' does not exist. Launching EC2 instance failed."
        }))
        .unwrap();
        assert_eq!(
            card.headline,
            "Auto Scaling web: instance launch failed: The image id 'ami-1' does not exist."
        );
        assert_eq!(card.severity, Severity::Error);
    }

    #[test]
    fn routine_activity_shows_the_capacity_change() {
        let a = ScalingActivity {
            kind: ActivityKind::Terminate,
            group: Some("web".into()),
            instance_id: Some("i-1".into()),
            cause: Some("At 2026-11-20T10:00:00Z a monitor alarm triggered policy scale-in changing the desired capacity from 3 to 2.  At 2026-11-20T10:00:05Z instance i-1 was selected for termination.".into()),
            ..Default::default()
        };
        assert_eq!(a.capacity_change(), Some((3, 2)));
        let card = card(&a);
        assert_eq!(
            card.headline,
            "Auto Scaling web terminated i-1 (desired capacity 3 → 2)"
        );
        assert_eq!(card.severity, Severity::Info);
    }

    #[test]
    fn an_unhealthy_instance_says_why_it_was_replaced() {
        let mut a = ScalingActivity {
            kind: ActivityKind::Terminate,
            group: Some("web".into()),
            instance_id: Some("i-1".into()),
            cause: Some("At 2026-11-20T11:31:02Z an instance was taken out of service in response to an ELB system health check failure.".into()),
            ..Default::default()
        };
        assert_eq!(
            card(&a).headline,
            "Auto Scaling web terminated i-1 (in response to an ELB system health check failure)"
        );
        assert_eq!(card(&a).severity, Severity::Warning);
        a.cause = Some("At 2026-11-20T11:31:02Z an instance was taken out of service in response to an EC2 instance status check failure.".into());
        assert_eq!(card(&a).severity, Severity::Warning);
        for routine in [
            "a difference between desired and actual capacity, shrinking the capacity from 2 to 1",
            "an EC2 instance rebalance recommendation",
        ] {
            a.cause = Some(format!("At 2026-11-20T11:31:02Z an instance was taken out of service in response to {routine}."));
            assert_eq!(card(&a).severity, Severity::Info, "{routine}");
        }
        assert_eq!(card(&a).headline, "Auto Scaling web terminated i-1 (in response to an EC2 instance rebalance recommendation)");
        a.cause = Some("At 2026-11-20T11:31:02Z an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from 2 to 1.".into());
        assert_eq!(card(&a).headline, "Auto Scaling web terminated i-1");
        a.failed = true;
        a.status_message = Some("Launching EC2 instance failed.".into());
        assert_eq!(a.failure(), Some("Launching EC2 instance failed."));
    }

    #[test]
    fn missing_nulls_and_wrong_types_do_not_panic() {
        for message in [
            serde_json::json!({"Event": "autoscaling:EC2_INSTANCE_TERMINATE_ERROR", "AutoScalingGroupName": null, "Service": "AWS Auto Scaling", "Details": "not json", "Cause": ["x"]}),
            serde_json::json!({"Event": "autoscaling:EC2_INSTANCE_LAUNCH", "AutoScalingGroupARN": "arn:aws:autoscaling:eu-west-1:1:autoScalingGroup:u:autoScalingGroupName/", "Details": null}),
            serde_json::json!({"Event": "autoscaling:SOMETHING_NEW", "AutoScalingGroupName": {"a": 1}}),
        ] {
            let card = sns(message).unwrap();
            assert!(card.headline.starts_with("Auto Scaling group"), "{}", card.headline);
        }
        let a = ScalingActivity {
            cause: Some("changing the desired capacity from x to 2".into()),
            ..Default::default()
        };
        assert_eq!(a.capacity_change(), None);
    }

    #[test]
    fn the_group_and_region_come_from_the_arn() {
        let card = sns(serde_json::json!({
            "Event": "autoscaling:TEST_NOTIFICATION",
            "AutoScalingGroupARN": "arn:aws-us-gov:autoscaling:us-gov-west-1:123456789012:autoScalingGroup:0a1b:autoScalingGroupName/orders <api>",
            "Details": "{\"Availability Zone\":\"us-gov-west-1a\"}"
        }))
        .unwrap();
        assert_eq!(card.headline, "Auto Scaling orders &lt;api&gt;: test notification");
        let parts = format!("{:?}", card.parts);
        assert!(parts.contains("us-gov-west-1a"), "{parts}");
        assert!(
            parts.contains("https://console.amazonaws-us-gov.com/ec2/home?region=us-gov-west-1#AutoScalingGroupDetails:id=orders%20%3Capi%3E;view=activity"),
            "{parts}"
        );
    }
}
