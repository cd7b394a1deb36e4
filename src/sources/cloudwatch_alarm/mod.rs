//! CloudWatch alarms, from all three delivery shapes: an SNS message (PascalCase, `Trigger`
//! for metric alarms, `AlarmRule` for composites), EventBridge's "CloudWatch Alarm State
//! Change", and the alarm's direct Lambda action (unwrapped by the parse layer).

use super::shared::*;
use super::{at, Body, Event, ParseError, SnsMessage, Source};

pub(crate) const SOURCE: Source = Source::both("alarm", from_event, from_sns);

/// "CloudWatch Alarm State Change"; the event fills what the detail leaves out.
fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    if event.source != "aws.cloudwatch" || event.detail_type != "CloudWatch Alarm State Change" {
        return None;
    }
    let arn = event.resources.as_ref().and_then(|r| r.first()).cloned();
    Some(
        alarm_from_detail(detail, arn)
            .map_err(|e| at("detail".into(), e))
            .map(|mut alarm| {
                alarm.account = alarm.account.or_else(|| event.account.clone());
                alarm.region = alarm.region.or_else(|| event.region.clone());
                alarm.time = alarm.time.or(event.time);
                Body::Alarm(Box::new(alarm))
            }),
    )
}

/// The SNS form: a JSON object with `AlarmName`.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let alarm = plain_metric_alarm(message.text).or_else(|| {
        message
            .object()
            .filter(|obj| obj.contains_key("AlarmName"))
            .map(alarm_from_sns)
    })?;
    Some(Body::Alarm(Box::new(alarm)))
}

mod card;
pub(crate) mod links;
mod read;

pub(crate) use card::{alarm_console_url, metric_condition};
pub(crate) use read::alarm_from_detail;
use read::{alarm_from_sns, plain_metric_alarm};

#[cfg(test)]
pub(crate) mod tests {
    use super::card::*;
    use super::read::*;
    use super::*;
    use crate::model::alarm::*;
    use serde_json::Value;

    /// A static-threshold CPU alarm in ALARM, for tests here and in the layout.
    pub(crate) fn metric_alarm() -> Alarm {
        Alarm {
            name: "cpu-high".into(),
            state: AlarmState::Alarm,
            previous_state: Some(AlarmState::Ok),
            reason: Some("Threshold Crossed".into()),
            region: Some("us-east-1".into()),
            arn: Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high".into()),
            kind: AlarmKind::Metric(MetricCondition {
                metric: Metric {
                    name: "CPUUtilization".into(),
                    statistic: Some("Average".into()),
                    period_seconds: Some(300),
                    ..Default::default()
                },
                evaluation: Evaluation {
                    comparison: Some("GreaterThanThreshold".into()),
                    threshold: Some(80.0),
                    evaluation_periods: Some(3),
                    datapoints_to_alarm: Some(3),
                    ..Default::default()
                },
            }),
            ..Default::default()
        }
    }

    #[test]
    fn condition_in_words() {
        let AlarmKind::Metric(c) = metric_alarm().kind else {
            unreachable!()
        };
        assert_eq!(
            metric_condition(&c),
            "CPUUtilization (Average, 5 min) > 80 for 3 of 3 datapoints"
        );
    }

    #[test]
    fn console_links_follow_the_partition() {
        let mut a = metric_alarm();
        a.name = "a b/c".into();
        assert_eq!(
            alarm_console_url(&a).unwrap(),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/a%20b%2Fc"
        );
        a.arn = Some("arn:aws-cn:cloudwatch:cn-north-1:1:alarm:x".into());
        a.region = Some("cn-north-1".into());
        assert!(alarm_console_url(&a)
            .unwrap()
            .starts_with("https://cn-north-1.console.amazonaws.cn/"));
        a.arn = Some("arn:aws-us-gov:cloudwatch:us-gov-west-1:1:alarm:x".into());
        a.region = Some("us-gov-west-1".into());
        assert!(alarm_console_url(&a).unwrap().starts_with(
            "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1"
        ));
        a.region = Some("US East (N. Virginia)".into());
        assert_eq!(alarm_console_url(&a), None);
    }

    /// Every alarm message in the repository's events and fixtures.
    fn alarm_messages() -> Vec<String> {
        let mut out = Vec::new();
        for dir in ["events", "tests/fixtures"] {
            let root = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
            let paths = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
                let entries = std::fs::read_dir(dir).unwrap();
                entries.map(|entry| entry.unwrap().path()).collect()
            };
            // Fixtures may sit in a folder of their source's: tests/fixtures/<source>/.
            let files = paths(root.as_ref()).into_iter().flat_map(|p| {
                if p.is_dir() {
                    paths(&p)
                } else {
                    vec![p]
                }
            });
            for path in files {
                let bytes = std::fs::read(path).unwrap();
                let Ok(Value::Object(event)) = serde_json::from_slice::<Value>(&bytes) else {
                    continue;
                };
                for record in arr_at(&event, "Records") {
                    if let Some(message) = record["Sns"]["Message"].as_str() {
                        if message.contains("AlarmName") {
                            out.push(message.to_owned());
                        }
                    }
                }
            }
        }
        out
    }

    /// The lenient path's reading of an alarm message.
    fn general_alarm(message: &str) -> Option<Alarm> {
        match serde_json::from_str::<Value>(message).ok()? {
            Value::Object(obj) if obj.contains_key("AlarmName") => Some(alarm_from_sns(&obj)),
            _ => None,
        }
    }

    #[test]
    fn the_alarm_fast_path_agrees_with_the_general_path() {
        let messages = alarm_messages();
        assert!(messages.len() >= 6, "{}", messages.len());
        let mut fast = 0;
        for message in &messages {
            if let Some(alarm) = plain_metric_alarm(message) {
                assert_eq!(Some(alarm), general_alarm(message), "{message}");
                fast += 1;
            }
        }
        // Single-metric alarms take the fast path; composites and math do not.
        assert!(
            fast >= 3 && fast < messages.len(),
            "{fast} of {}",
            messages.len()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
        /// Any field of an alarm message set to any kind of JSON value: the fast path either
        /// steps aside or reads exactly what the lenient path reads.
        #[test]
        fn the_alarm_fast_path_never_reads_differently(
            pick in 0usize..1000,
            field in proptest::sample::select(vec![
                "AlarmName", "AlarmDescription", "AWSAccountId", "NewStateValue", "NewStateReason",
                "StateChangeTime", "Region", "AlarmArn", "OldStateValue", "AlarmRule", "Trigger",
                "Trigger.MetricName", "Trigger.Namespace", "Trigger.StatisticType", "Trigger.Statistic",
                "Trigger.ExtendedStatistic", "Trigger.Unit", "Trigger.Dimensions", "Trigger.Period",
                "Trigger.EvaluationPeriods", "Trigger.DatapointsToAlarm", "Trigger.ComparisonOperator",
                "Trigger.Threshold", "Trigger.TreatMissingData", "Trigger.Metrics",
                "Trigger.Dimensions.0", "Trigger.Dimensions.0.name", "Trigger.Dimensions.0.value",
                "Trigger.Dimensions.0.Name", "Trigger.Dimensions.0.Value",
            ]),
            replacement in proptest::sample::select(vec![
                "null", "\"\"", "\"  \"", "\"text\"", "\"42\"", "42", "-1", "2.5", "1e300", "true",
                "[]", "[1]", "{}", "{\"name\":\"k\",\"value\":\"v\"}", "\"ExtendedStatistic\"",
                "\"p99\"", "\"arn:aws-cn:cloudwatch:cn-north-1:1:alarm:x\"",
                "\"2021-09-02T16:03:39.434+0000\"", "\"<!here>\"",
            ]),
            remove in proptest::bool::ANY,
        ) {
            let messages = alarm_messages();
            let mut value: Value = serde_json::from_str(&messages[pick % messages.len()]).unwrap();
            let path: Vec<&str> = field.split('.').collect();
            let (last, parents) = path.split_last().unwrap();
            let mut node = &mut value;
            for step in parents {
                node = match step.parse::<usize>() {
                    Ok(i) => match node.get_mut(i) { Some(n) => n, None => return Ok(()) },
                    Err(_) => match node.get_mut(*step) { Some(n) => n, None => return Ok(()) },
                };
            }
            let replacement: Value = serde_json::from_str(replacement).unwrap();
            match (node, last.parse::<usize>()) {
                (Value::Array(items), Ok(i)) if i < items.len() => {
                    if remove { items.remove(i); } else { items[i] = replacement; }
                }
                (Value::Object(map), Err(_)) => {
                    if remove { map.remove(*last); } else { map.insert((*last).to_owned(), replacement); }
                }
                _ => return Ok(()),
            }
            let message = value.to_string();
            if let Some(fast) = plain_metric_alarm(&message) {
                proptest::prop_assert_eq!(Some(fast), general_alarm(&message), "{}", message);
            }
        }
    }
}
