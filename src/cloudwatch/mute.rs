//! Muting an alarm from Slack: a CloudWatch alarm mute rule (`PutAlarmMuteRule`) on that one
//! alarm, in its region, from this minute until the chosen time, and unmuting it
//! (`DeleteAlarmMuteRule`). A muted alarm keeps evaluating; only its actions, our
//! notifications among them, are held. The rule's name comes from the alarm, so a second mute
//! replaces the first.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::config::Region;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::types::{MuteTargets, Rule, Schedule};
use chrono::{DateTime, Utc};

use crate::net::describe_sdk_error;
use crate::threads::incident::AlarmRef;

/// What a rule's name starts with, so rules made from Slack are known for what they are.
const RULE_PREFIX: &str = "slack-mute-";
/// Of the alarm's name, this much is kept readable in the rule's; a hash tells apart the rest.
const NAME_PART: usize = 64;

/// Why CloudWatch did not mute or unmute. Never carries the SDK's raw answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MuteError {
    #[error("CloudWatch {operation} for alarm {alarm:?}: {code}{}", suffix(.detail))]
    CloudWatch {
        operation: &'static str,
        alarm: String,
        code: String,
        detail: String,
    },
    #[error("CloudWatch {operation} for alarm {alarm:?} did not answer within {budget:?}")]
    Late {
        operation: &'static str,
        alarm: String,
        budget: Duration,
    },
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// The mute rule's name for `alarm`: readable, within CloudWatch's characters, and the same
/// for the same alarm (its region and account are the rule's own).
pub(crate) fn rule_name(alarm: &AlarmRef) -> String {
    let readable: String = alarm
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(NAME_PART)
        .collect();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, alarm.name.as_bytes());
    let hash: String = digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{RULE_PREFIX}{readable}-{hash}")
}

/// The rule's one-time schedule: `at(…)` takes minutes, so it starts at this minute and lasts
/// until `until`, rounded up to a whole minute; the rule's expiry ends it at `until` itself.
pub(crate) fn schedule(now: u64, until: u64) -> (String, String) {
    let start = now - now % 60;
    let minutes = until.saturating_sub(start).div_ceil(60).max(1);
    let at = DateTime::<Utc>::from_timestamp(i64::try_from(start).unwrap_or(0), 0)
        .unwrap_or_default()
        .format("at(%Y-%m-%dT%H:%M)")
        .to_string();
    (at, format!("PT{minutes}M"))
}

/// Mutes and unmutes alarms, with one CloudWatch client built once per process.
pub(crate) struct MuteRules {
    client: aws_sdk_cloudwatch::Client,
}

impl MuteRules {
    pub(crate) fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }

    /// The client's configuration for `alarm`'s region, when it names one.
    fn in_region(alarm: &AlarmRef) -> aws_sdk_cloudwatch::config::Builder {
        let mut config = aws_sdk_cloudwatch::config::Builder::default();
        if let Some(region) = &alarm.region {
            config = config.region(Region::new(region.clone()));
        }
        config
    }

    /// Mutes `alarm` from `now` until `until` (epoch seconds), for `by`, by `deadline`.
    pub(crate) async fn mute(
        &self,
        alarm: &AlarmRef,
        by: &str,
        now: u64,
        until: u64,
        deadline: Instant,
    ) -> Result<(), MuteError> {
        let (expression, duration) = schedule(now, until);
        let schedule = Schedule::builder()
            .expression(expression)
            .duration(duration)
            .timezone("UTC")
            .build();
        let rule = Rule::builder().schedule(schedule).build();
        let expire =
            aws_smithy_types::DateTime::from_secs(i64::try_from(until).unwrap_or(i64::MAX));
        let request = self
            .client
            .put_alarm_mute_rule()
            .name(rule_name(alarm))
            .description(format!("Muted from Slack by {by}"))
            .rule(rule)
            .mute_targets(MuteTargets::builder().alarm_names(&alarm.name).build())
            .expire_date(expire)
            .customize()
            .config_override(Self::in_region(alarm))
            .send();
        run("PutAlarmMuteRule", alarm, deadline, request)
            .await
            .map(|_| ())
    }

    /// Unmutes `alarm`: its rule deleted. A rule already gone is no error.
    pub(crate) async fn unmute(
        &self,
        alarm: &AlarmRef,
        deadline: Instant,
    ) -> Result<(), MuteError> {
        let request = self
            .client
            .delete_alarm_mute_rule()
            .alarm_mute_rule_name(rule_name(alarm))
            .customize()
            .config_override(Self::in_region(alarm))
            .send();
        match run("DeleteAlarmMuteRule", alarm, deadline, request).await {
            Err(MuteError::CloudWatch { code, .. })
                if code == "ResourceNotFoundException" || code == "ResourceNotFound" =>
            {
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }
}

/// One call within the time left before `deadline`.
async fn run<T, E>(
    operation: &'static str,
    alarm: &AlarmRef,
    deadline: Instant,
    call: impl std::future::Future<Output = Result<T, SdkError<E>>>,
) -> Result<T, MuteError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let budget = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(budget, call).await {
        Err(_) => Err(MuteError::Late {
            operation,
            alarm: alarm.name.clone(),
            budget,
        }),
        Ok(Err(e)) => {
            let (code, detail) = describe_sdk_error(&e);
            Err(MuteError::CloudWatch {
                operation,
                alarm: alarm.name.clone(),
                code,
                detail,
            })
        }
        Ok(Ok(output)) => Ok(output),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(name: &str) -> AlarmRef {
        AlarmRef {
            name: name.into(),
            account: Some("123456789012".into()),
            region: Some("eu-west-1".into()),
        }
    }

    #[test]
    fn one_alarm_one_rule_name() {
        let a = rule_name(&alarm("cpu-high"));
        assert!(a.starts_with("slack-mute-cpu-high-"), "{a}");
        assert_eq!(a, rule_name(&alarm("cpu-high")));
        // Names that read alike still differ.
        assert_ne!(rule_name(&alarm("cpu high")), rule_name(&alarm("cpu/high")));
        let long = rule_name(&alarm(&"é".repeat(255)));
        assert!(long.len() <= RULE_PREFIX.len() + NAME_PART + 13, "{long}");
        assert!(long
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn the_schedule_starts_this_minute_and_covers_until() {
        // 2026-12-06T14:02:30Z, muted for an hour.
        let now = 1_796_565_750;
        assert_eq!(
            schedule(now, now + 3600),
            ("at(2026-12-06T14:02)".to_owned(), "PT61M".to_owned())
        );
        assert_eq!(schedule(now - 30, now - 30 + 3600).1, "PT60M");
        assert_eq!(schedule(now, now).1, "PT1M");
    }
}
