//! For any strings in an alarm's fields: no live mention leaks, no limit is exceeded.

use proptest::prelude::*;
use serde_json::json;
use slack_alarm_notifier::model::Notification;
use slack_alarm_notifier::parse_sns_message;
use slack_alarm_notifier::{check_limits, render, RenderOptions};

use crate::visible_texts;

/// Strings biased towards what breaks Slack: mentions, links, entities, backticks, long runs.
fn nasty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<!channel>".to_owned()),
        Just("<!here>".to_owned()),
        Just("<@U024BE7LH>".to_owned()),
        Just("<!subteam^S123>".to_owned()),
        Just("<https://evil.example|click>".to_owned()),
        Just("&amp;&lt;".to_owned()),
        Just("```".to_owned()),
        Just("*_~`".to_owned()),
        Just("本番🚨".to_owned()),
        "\\PC{0,40}",
        "[<>&!@#^|a-z]{0,20}",
        "x{0,3000}",
    ];
    prop::collection::vec(piece, 0..8).prop_map(|parts| parts.concat())
}

fn alarm_json(
    name: &str,
    description: &str,
    reason: &str,
    metric: &str,
    dimension: &str,
    rule: Option<&str>,
    state: &str,
) -> String {
    let mut alarm = json!({
        "AlarmName": name,
        "AlarmDescription": description,
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "OldStateValue": state,
        "NewStateReason": reason,
        "StateChangeTime": "2026-11-20T08:15:30.852+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
        "Trigger": {"MetricName": metric, "Namespace": metric, "Statistic": "AVERAGE", "Period": 60,
                    "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1.0,
                    "Dimensions": [{"name": dimension, "value": dimension}]}
    });
    if let Some(rule) = rule {
        alarm["AlarmRule"] = json!(rule);
        alarm["TriggeringChildren"] = json!([{"Arn": format!("arn:aws:cloudwatch:us-east-1:1:alarm:{name}"), "State": {"Value": "ALARM"}}]);
    }
    alarm.to_string()
}

/// Our own markup is the date token; any other `<` in visible text would be live.
fn live_markup(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        let tail = &rest[i..];
        if !tail.starts_with("<!date^") {
            return Some(tail.chars().take(30).collect());
        }
        rest = &tail[1..];
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_mention_leaks_and_limits_hold(
        name in nasty(), description in nasty(), reason in nasty(), metric in nasty(), dimension in nasty(),
        rule in proptest::option::of(nasty()), subject in proptest::option::of(nasty()),
        state in prop_oneof![Just("ALARM".to_owned()), Just("OK".to_owned()), nasty()],
    ) {
        let message = alarm_json(&name, &description, &reason, &metric, &dimension, rule.as_deref(), &state);
        for text_message in [message.clone(), description.clone()] {
            let body = parse_sns_message(subject.clone(), &text_message, None).unwrap();
            let payload = render(&Notification::new(None, body), &RenderOptions::default());
            prop_assert!(check_limits(&payload).is_ok(), "{:?}", check_limits(&payload));
            for text in visible_texts(&payload) {
                prop_assert!(live_markup(&text).is_none(), "live markup {:?} in {:?}", live_markup(&text), text);
            }
        }
    }

    #[test]
    fn a_configured_mention_is_the_only_live_markup(name in nasty(), reason in nasty()) {
        let message = alarm_json(&name, "", &reason, "m", "d", None, "ALARM");
        let body = parse_sns_message(None, &message, None).unwrap();
        let options = RenderOptions { mention: Some("<!here>".into()), mention_severe: false };
        let payload = render(&Notification::new(None, body), &options);
        let all: String = visible_texts(&payload).concat();
        prop_assert!(all.contains("<!here>"));
        let without_ours = all.replace("<!here>", "");
        prop_assert!(live_markup(&without_ours).is_none(), "{:?}", live_markup(&without_ours));
    }
}
