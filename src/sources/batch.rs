//! AWS Batch jobs (`aws.batch`, "Batch Job State Change").

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("batch", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.batch" && event.detail_type == "Batch Job State Change")
        .then(|| Ok(Body::new(read(detail, event))))
}

/// A Batch job that changed state, with how its container ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct BatchJob {
    pub job_name: Option<String>,
    pub job_id: Option<String>,
    pub job_arn: Option<String>,
    /// The queue's ARN (`…:job-queue/<name>`), or its name.
    pub queue: Option<String>,
    /// `SUBMITTED`, `PENDING`, `RUNNABLE`, `STARTING`, `RUNNING`, `SUCCEEDED`, `FAILED`.
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub exit_code: Option<i64>,
    /// The container's own reason, e.g. `OutOfMemoryError: Container killed due to …`.
    pub container_reason: Option<String>,
    pub log_stream: Option<String>,
    /// How many attempts ran, and how many the retry strategy allows.
    pub attempts: usize,
    pub max_attempts: Option<u64>,
    /// The job definition's ARN (`…:job-definition/<name>:<revision>`), or its name.
    pub job_definition: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(d: &Obj, event: &Event) -> BatchJob {
    let attempts = arr_at(d, "attempts");
    // The job's container, else the last attempt's.
    let last_attempt = attempts
        .iter()
        .rev()
        .filter_map(Value::as_object)
        .find_map(|a| obj_at(a, "container"));
    let container = obj_at(d, "container");
    let from_container = |key: &str| {
        container
            .and_then(|c| str_at(c, key))
            .or_else(|| last_attempt.and_then(|c| str_at(c, key)))
    };
    let exit_code = |c: &Obj| c.get("exitCode").and_then(Value::as_i64);
    let job_arn = str_at(d, "jobArn").or_else(|| {
        event
            .resources
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|r| r.contains(":job/"))
            .cloned()
    });
    let arn = job_arn.as_deref().and_then(parse_arn);
    let place = Place::of(event, arn.as_ref());
    BatchJob {
        job_name: str_at(d, "jobName"),
        job_id: str_at(d, "jobId").or_else(|| {
            arn.as_ref()
                .and_then(|a| a.resource.strip_prefix("job/"))
                .and_then(non_empty)
        }),
        queue: str_at(d, "jobQueue"),
        status: str_at(d, "status").map(|s| s.trim().to_ascii_uppercase()),
        status_reason: str_at(d, "statusReason").map(|s| s.trim().to_owned()),
        exit_code: container
            .and_then(exit_code)
            .or_else(|| last_attempt.and_then(exit_code)),
        container_reason: from_container("reason").map(|s| s.trim().to_owned()),
        log_stream: from_container("logStreamName"),
        attempts: attempts.len(),
        max_attempts: obj_at(d, "retryStrategy").and_then(|r| uint_at(r, "attempts")),
        job_definition: str_at(d, "jobDefinition"),
        account: place.account,
        region: place.region,
        partition: place.partition,
        time: event.time,
        job_arn,
    }
}

/// The part of an ARN after `marker`, or the text as given when it is no such ARN.
fn name_after<'a>(arn: &'a str, marker: &str) -> &'a str {
    arn.split_once(marker).map_or(arn, |(_, name)| name)
}

impl BatchJob {
    pub(crate) fn queue_name(&self) -> Option<&str> {
        self.queue.as_deref().map(|q| name_after(q, ":job-queue/"))
    }

    /// `name:revision`.
    pub(crate) fn definition_name(&self) -> Option<&str> {
        self.job_definition
            .as_deref()
            .map(|d| name_after(d, ":job-definition/"))
    }

    /// `exit 1`, `exit 137; OutOfMemoryError: …`, or the container's reason alone.
    fn exit(&self) -> Option<String> {
        match (self.exit_code, self.container_reason.as_deref()) {
            (Some(code), Some(reason)) => Some(format!("exit {code}; {reason}")),
            (Some(code), None) => Some(format!("exit {code}")),
            (None, Some(reason)) => Some(reason.to_owned()),
            (None, None) => None,
        }
    }
}

/// How bad a job status is.
pub(crate) fn severity(status: &str) -> Severity {
    match status {
        "FAILED" => Severity::Error,
        "SUCCEEDED" => Severity::Ok,
        _ => Severity::Info,
    }
}

notice!(BatchJob, card, |it| it.job_id.clone().unwrap_or_default());

/// The job as a card: status, why it failed and how its container exited, and a link
/// to the job.
pub(crate) fn card(j: &BatchJob) -> Card {
    let status = j.status.as_deref().unwrap_or("UNKNOWN");
    let severity = severity(status);
    let emoji = severity.emoji("🧮");
    let name = j.job_name.as_deref().or(j.job_id.as_deref()).unwrap_or("job");
    let title = format!("Batch job {name} {status}");
    let mut headline = escape(&title);
    if severity == Severity::Error {
        if let Some(reason) = &j.status_reason {
            headline += &format!(": {}", escape_within(reason, 200));
        }
        if let Some(exit) = j.exit() {
            headline += &format!(" ({})", escape_within(&exit, 200));
        }
    } else if severity == Severity::Info && j.attempts > 0 {
        // Back in the queue after an attempt ended: a retry, and how that attempt ended.
        if let Some(exit) = j.exit() {
            let of = j.max_attempts.map(|m| format!(" of {m}")).unwrap_or_default();
            headline += &format!(
                " (retrying after attempt {}{of}: {})",
                j.attempts,
                escape_within(&exit, 200)
            );
        }
    }
    let mut m = Card::new(emoji, title, headline, severity);
    if j.status.is_none() {
        m = m.grey();
    }
    // A job that succeeded says its container exited; that is no news.
    if severity != Severity::Ok {
        m.titled("Status reason", j.status_reason.as_deref());
        m.titled("Container reason", j.container_reason.as_deref());
    }
    m.fields(vec![
        ("Job", j.job_name.as_deref().map(escape)),
        ("Job ID", j.job_id.as_deref().map(code)),
        ("Queue", j.queue_name().map(escape)),
        ("Status", Some(escape(status))),
        (
            // A job still under way shows how its last attempt ended.
            if severity == Severity::Info {
                "Last exit code"
            } else {
                "Exit code"
            },
            j.exit_code.map(|c| c.to_string()),
        ),
        (
            "Attempts",
            match (j.attempts, j.max_attempts) {
                (0, _) => None,
                (n, Some(max)) => Some(format!("{n} of {max}")),
                (n, None) => Some(n.to_string()),
            },
        ),
        ("Job definition", j.definition_name().map(escape)),
        ("Log stream", j.log_stream.as_deref().map(code)),
        ("Account", j.account.as_deref().map(escape)),
        ("Region", j.region.as_deref().map(escape)),
        ("Time", when(j.time)),
    ]);
    let url = j.job_id.as_deref().and_then(|id| {
        service_console_url(
            j.partition.as_deref().unwrap_or("aws"),
            j.region.as_deref(),
            &format!("batch/home?region={{region}}#jobs/detail/{}", url_encode(id)),
        )
    });
    m.link("Open the job", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(detail: serde_json::Value) -> BatchJob {
        let e: Event = serde_json::from_value(serde_json::json!({
            "version": "0",
            "id": "1",
            "detail-type": "Batch Job State Change",
            "source": "aws.batch",
            "account": "123456789012",
            "time": "2026-11-20T02:31:08Z",
            "region": "eu-west-1",
            "resources": ["arn:aws:batch:eu-west-1:123456789012:job/5b0f2c1e"],
            "detail": detail
        }))
        .unwrap();
        let d = e.detail.as_object().cloned().unwrap_or_default();
        read(&d, &e)
    }

    #[test]
    fn statuses_map_to_severities() {
        for (status, expected) in [
            ("FAILED", Severity::Error),
            ("SUCCEEDED", Severity::Ok),
            ("RUNNABLE", Severity::Info),
            ("RUNNING", Severity::Info),
        ] {
            assert_eq!(severity(status), expected, "{status}");
        }
    }

    #[test]
    fn a_failure_names_the_reason_and_the_exit() {
        let job = claim(serde_json::json!({
            "jobName": "nightly-report",
            "status": "FAILED",
            "statusReason": "Essential container in task exited",
            "jobQueue": "arn:aws:batch:eu-west-1:123456789012:job-queue/reports",
            "retryStrategy": {"attempts": 2},
            "attempts": [
                {"container": {"exitCode": 137, "reason": "OutOfMemoryError: Container killed due to memory usage"}},
                {"container": {"exitCode": 1, "logStreamName": "nightly-report/default/9a8b"}}
            ],
            "container": {"exitCode": 1}
        }));
        assert_eq!(job.exit_code, Some(1));
        assert_eq!(job.queue_name(), Some("reports"));
        assert_eq!(job.log_stream.as_deref(), Some("nightly-report/default/9a8b"));
        let card = card(&job);
        assert_eq!(
            card.headline,
            "Batch job nightly-report FAILED: Essential container in task exited (exit 1)"
        );
        assert_eq!(card.severity, Severity::Error);
        assert!(format!("{:?}", card.parts).contains("\"2 of 2\""));
    }

    #[test]
    fn the_last_attempt_stands_in_for_a_missing_container() {
        let job = claim(serde_json::json!({
            "jobName": "<!here>",
            "status": "FAILED",
            "attempts": [{"container": {"exitCode": 137, "reason": "OutOfMemoryError: Container killed"}}]
        }));
        assert_eq!(
            card(&job).headline,
            "Batch job &lt;!here&gt; FAILED (exit 137; OutOfMemoryError: Container killed)"
        );
    }

    #[test]
    fn a_retry_says_how_the_last_attempt_ended() {
        let job = claim(serde_json::json!({
            "jobName": "ledger-reconcile",
            "status": "RUNNABLE",
            "retryStrategy": {"attempts": 3},
            "attempts": [{"container": {"exitCode": 137, "reason": "OutOfMemoryError: Container killed"}}],
            "container": {"image": "x"}
        }));
        let card = card(&job);
        assert_eq!(
            card.headline,
            "Batch job ledger-reconcile RUNNABLE (retrying after attempt 1 of 3: exit 137; OutOfMemoryError: Container killed)"
        );
        assert_eq!(card.severity, Severity::Info);
    }

    #[test]
    fn missing_nulls_and_wrong_types_do_not_panic() {
        for detail in [
            serde_json::json!({}),
            serde_json::json!(null),
            serde_json::json!({"jobName": null, "status": 3, "attempts": {"a": 1}, "container": [], "retryStrategy": "x"}),
            serde_json::json!({"attempts": [null, 1, {"container": null}], "container": {"exitCode": "1"}}),
        ] {
            let job = claim(detail);
            assert_eq!(job.job_id.as_deref(), Some("5b0f2c1e"));
            let card = card(&job);
            assert!(card.headline.starts_with("Batch job 5b0f2c1e"), "{}", card.headline);
        }
    }

    #[test]
    fn names_come_from_the_arns() {
        let job = BatchJob {
            queue: Some("reports".into()),
            job_definition: Some(
                "arn:aws:batch:eu-west-1:123456789012:job-definition/nightly-report:7".into(),
            ),
            ..Default::default()
        };
        assert_eq!(job.queue_name(), Some("reports"));
        assert_eq!(job.definition_name(), Some("nightly-report:7"));
    }
}
