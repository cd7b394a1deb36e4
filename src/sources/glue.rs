//! AWS Glue job runs (`aws.glue`): "Glue Job State Change", and "Glue Job Run Status" for a
//! run that has gone on longer than its notify-delay threshold.

use chrono::{DateTime, Utc};

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("glue", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    let running_long = match event.detail_type.as_str() {
        "Glue Job State Change" => false,
        "Glue Job Run Status" => true,
        _ => return None,
    };
    (event.source == "aws.glue").then(|| Ok(Body::new(read(running_long, detail, event))))
}

/// A Glue job run that changed state, or that is running longer than it should.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct GlueJobRun {
    /// A "Glue Job Run Status" event: the run passed its notify-delay threshold.
    pub running_long: bool,
    pub job_name: Option<String>,
    /// `jr_…`.
    pub run_id: Option<String>,
    /// `SUCCEEDED`, `FAILED`, `TIMEOUT`, `STOPPED`, `ERROR`, `RUNNING`.
    pub state: Option<String>,
    pub message: Option<String>,
    /// The threshold, in minutes, a long run passed.
    pub notify_delay_minutes: Option<u64>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(running_long: bool, d: &Obj, event: &Event) -> GlueJobRun {
    GlueJobRun {
        running_long,
        job_name: str_at(d, "jobName"),
        run_id: str_at(d, "jobRunId"),
        state: str_at(d, "state").map(|s| s.trim().to_ascii_uppercase()),
        message: str_at(d, "message").map(|m| m.trim().to_owned()),
        notify_delay_minutes: obj_at(d, "notificationCondition")
            .and_then(|c| uint_at(c, "NotifyDelayAfter")),
        account: event.account.clone(),
        region: event.region.clone(),
        time: event.time,
    }
}

/// How bad a run's state is: failed, timed out or in error is red, stopped or running
/// too long amber, succeeded green.
pub(crate) fn severity(state: Option<&str>, running_long: bool) -> Severity {
    match state {
        Some("FAILED" | "TIMEOUT" | "ERROR") => Severity::Error,
        Some("STOPPED") => Severity::Warning,
        Some("SUCCEEDED") => Severity::Ok,
        _ if running_long => Severity::Warning,
        _ => Severity::Info,
    }
}

notice!(GlueJobRun, card, |it| it.job_name.clone().unwrap_or_default());

/// The run as a card: job, state, what Glue said, and a link to the run.
pub(crate) fn card(r: &GlueJobRun) -> Card {
    let severity = severity(r.state.as_deref(), r.running_long);
    let emoji = severity.emoji("🧪");
    let job = r.job_name.as_deref().unwrap_or("run");
    let state = r.state.as_deref().unwrap_or("UNKNOWN");
    let still = if r.running_long && state == "RUNNING" {
        "still "
    } else {
        ""
    };
    let mut headline = format!("Glue job {} {still}{}", escape(job), escape(state));
    // A success's message only says so again.
    if let Some(message) = r.message.as_deref().filter(|_| severity != Severity::Ok) {
        headline += &format!(": {}", escape_within(message, 200));
    }
    let mut m = Card::new(
        emoji,
        format!("Glue job {job} {still}{state}"),
        headline,
        severity,
    );
    if r.state.is_none() {
        m = m.grey();
    }
    m.titled("Message", r.message.as_deref());
    m.fields(vec![
        ("Job", Some(escape(job))),
        ("State", Some(escape(state))),
        ("Run", r.run_id.as_deref().map(code)),
        (
            "Notify delay",
            r.notify_delay_minutes.map(|n| {
                let s = if n == 1 { "" } else { "s" };
                format!("{n} minute{s}")
            }),
        ),
        ("Account", r.account.as_deref().map(escape)),
        ("Region", r.region.as_deref().map(escape)),
        ("Time", when(r.time)),
    ]);
    let url = r.job_name.as_deref().and_then(|job| {
        let region = r.region.as_deref()?;
        let page = match r.run_id.as_deref() {
            Some(run) => format!("job/{}/run/{}", url_encode(job), url_encode(run)),
            None => format!("job/{}/runs", url_encode(job)),
        };
        service_console_url(
            partition_of_region(region),
            Some(region),
            &format!("gluestudio/home?region={{region}}#/{page}"),
        )
    });
    m.link("Open the job run", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn run(detail_type: &str, detail: Value) -> GlueJobRun {
        let e: Event = serde_json::from_value(json!({
            "version": "0",
            "id": "1",
            "detail-type": detail_type,
            "source": "aws.glue",
            "account": "123456789012",
            "time": "2026-11-20T02:00:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": detail
        }))
        .unwrap();
        let d = e.detail.as_object().cloned().unwrap_or_default();
        match from_event(&e, &d) {
            Some(Ok(_)) => read(detail_type == "Glue Job Run Status", &d, &e),
            _ => panic!("not claimed"),
        }
    }

    #[test]
    fn states_map_to_severities() {
        for (state, long, expected) in [
            ("FAILED", false, Severity::Error),
            ("TIMEOUT", false, Severity::Error),
            ("ERROR", false, Severity::Error),
            ("STOPPED", false, Severity::Warning),
            ("SUCCEEDED", false, Severity::Ok),
            ("RUNNING", true, Severity::Warning),
            ("RUNNING", false, Severity::Info),
        ] {
            assert_eq!(severity(Some(state), long), expected, "{state}");
        }
    }

    #[test]
    fn a_failed_run_says_why_and_links_to_the_run() {
        let r = run(
            "Glue Job State Change",
            json!({"jobName": "nightly orders", "state": "FAILED", "jobRunId": "jr_0a1b", "message": "SystemExit: 1 <!here>"}),
        );
        let c = card(&r);
        assert_eq!(
            c.headline,
            "Glue job nightly orders FAILED: SystemExit: 1 &lt;!here&gt;"
        );
        assert!(c.parts.iter().any(|p| matches!(p, crate::model::card::Part::Link { url, .. }
            if url == "https://eu-west-1.console.aws.amazon.com/gluestudio/home?region=eu-west-1#/job/nightly%20orders/run/jr_0a1b")));
    }

    #[test]
    fn a_long_run_is_still_running() {
        let r = run(
            "Glue Job Run Status",
            json!({"jobName": "etl", "state": "RUNNING", "jobRunId": "jr_1", "notificationCondition": {"NotifyDelayAfter": 30}}),
        );
        assert_eq!(card(&r).headline, "Glue job etl still RUNNING");
        assert_eq!(r.notify_delay_minutes, Some(30));
    }

    #[test]
    fn missing_nulls_and_wrong_types_do_not_panic() {
        let r = run(
            "Glue Job State Change",
            json!({"jobName": null, "state": ["FAILED"], "jobRunId": 5, "notificationCondition": "x"}),
        );
        let c = card(&r);
        assert_eq!(c.headline, "Glue job run UNKNOWN");
        assert_eq!(c.severity, Severity::Info);
        let empty = run("Glue Job State Change", json!(null));
        assert_eq!(card(&empty).severity, Severity::Info);
    }
}
