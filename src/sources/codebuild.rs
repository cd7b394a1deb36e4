//! CodeBuild builds (`aws.codebuild`, "CodeBuild Build State Change").

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("codebuild", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.codebuild" && event.detail_type == "CodeBuild Build State Change")
        .then(|| Ok(Body::new(read(detail, event))))
}

/// A build that changed state, with the phase that failed, if one did.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Build {
    pub project: Option<String>,
    /// The build's ARN (`…:build/<project>:<uuid>`), or its `<project>:<uuid>` id.
    pub build_id: Option<String>,
    pub build_number: Option<u64>,
    pub status: Option<String>,
    pub failed_phase: Option<String>,
    /// What CodeBuild said of the failed phase, e.g. `COMMAND_EXECUTION_ERROR: …`.
    pub failed_phase_context: Vec<String>,
    pub initiator: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(d: &Obj, event: &Event) -> Build {
    let info = obj_at(d, "additional-information");
    // The first phase that ended in anything but success (FAILED, FAULT, TIMED_OUT, …).
    let failed = info
        .map(|i| arr_at(i, "phases"))
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_object)
        .find(|p| str_at(p, "phase-status").is_some_and(|s| s != "SUCCEEDED"));
    let build_id = str_at(d, "build-id");
    let arn = build_id.as_deref().and_then(parse_arn);
    let place = Place::of(event, arn.as_ref());
    Build {
        project: str_at(d, "project-name"),
        build_number: info.and_then(|i| uint_at(i, "build-number")),
        status: str_at(d, "build-status").map(|s| s.to_ascii_uppercase()),
        failed_phase: failed.and_then(|p| str_at(p, "phase-type")),
        failed_phase_context: failed
            .map(|p| arr_at(p, "phase-context"))
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.as_str().filter(|c| !c.trim().is_empty()))
            .map(str::to_owned)
            .collect(),
        initiator: info.and_then(|i| str_at(i, "initiator")),
        account: place.account,
        region: place.region,
        partition: place.partition,
        time: event.time,
        build_id,
    }
}

/// How bad a build status is.
pub(crate) fn severity(status: &str) -> Severity {
    match status {
        "FAILED" | "FAULT" | "TIMED_OUT" => Severity::Error,
        "STOPPED" => Severity::Warning,
        "SUCCEEDED" => Severity::Ok,
        _ => Severity::Info,
    }
}

/// `<project>:<uuid>`, from an ARN or as given.
fn short_id(build_id: &str) -> &str {
    build_id
        .split_once(":build/")
        .map_or(build_id, |(_, id)| id)
}

notice!(Build, card, |it| it.build_id.clone().unwrap_or_default());

/// The build as a card: status, the failed phase and why, and a link to the build.
pub(crate) fn card(b: &Build) -> Card {
    let status = b.status.as_deref().unwrap_or("UNKNOWN");
    let severity = severity(status);
    let emoji = severity.emoji("🏗️");
    let project = b.project.as_deref().unwrap_or("project");
    let number = b.build_number.map(|n| format!(" #{n}")).unwrap_or_default();
    let phase = b
        .failed_phase
        .as_deref()
        .filter(|_| severity != Severity::Ok)
        .map(|p| format!(" in {p}"))
        .unwrap_or_default();
    let mut headline = format!(
        "CodeBuild {}{number} build {}{}",
        escape(project),
        escape(status),
        escape(&phase)
    );
    if let Some(context) = b.failed_phase_context.first() {
        headline += &format!(": {}", escape_within(context, 200));
    }
    let mut m = Card::new(
        emoji,
        format!("CodeBuild {project}{number} build {status}{phase}"),
        headline,
        severity,
    );
    if b.status.is_none() {
        m = m.grey();
    }
    let context = b.failed_phase_context.join("\n");
    m.titled("Why", Some(context.as_str()));
    m.fields(vec![
        ("Project", b.project.as_deref().map(escape)),
        ("Status", Some(escape(status))),
        ("Failed phase", b.failed_phase.as_deref().map(escape)),
        ("Build", b.build_id.as_deref().map(|id| code(short_id(id)))),
        ("Started by", b.initiator.as_deref().map(escape)),
        ("Account", b.account.as_deref().map(escape)),
        ("Region", b.region.as_deref().map(escape)),
        ("Time", when(b.time)),
    ]);
    let url = match (b.project.as_deref(), b.build_id.as_deref()) {
        (Some(project), Some(id)) => {
            let account = b
                .account
                .as_deref()
                .map(|a| format!("{}/", url_encode(a)))
                .unwrap_or_default();
            service_console_url(
                b.partition.as_deref().unwrap_or("aws"),
                b.region.as_deref(),
                &format!(
                    "codesuite/codebuild/{account}projects/{}/build/{}/?region={{region}}",
                    url_encode(project),
                    url_encode(short_id(id))
                ),
            )
        }
        _ => None,
    };
    m.link("Open the build", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_severities() {
        for (status, expected) in [
            ("FAILED", Severity::Error),
            ("FAULT", Severity::Error),
            ("TIMED_OUT", Severity::Error),
            ("STOPPED", Severity::Warning),
            ("SUCCEEDED", Severity::Ok),
            ("IN_PROGRESS", Severity::Info),
        ] {
            assert_eq!(severity(status), expected, "{status}");
        }
    }

    #[test]
    fn the_short_id_drops_the_arn_prefix() {
        assert_eq!(
            short_id("arn:aws:codebuild:us-east-1:1:build/app:0f1e"),
            "app:0f1e"
        );
        assert_eq!(short_id("app:0f1e"), "app:0f1e");
    }

    #[test]
    fn the_failed_phase_and_its_context_lead_the_headline() {
        let b = Build {
            project: Some("app".into()),
            status: Some("FAILED".into()),
            failed_phase: Some("BUILD".into()),
            failed_phase_context: vec!["COMMAND_EXECUTION_ERROR: <!channel> exit 2".into()],
            ..Default::default()
        };
        let card = card(&b);
        assert_eq!(
            card.headline,
            "CodeBuild app build FAILED in BUILD: COMMAND_EXECUTION_ERROR: &lt;!channel&gt; exit 2"
        );
        assert_eq!(card.severity, Severity::Error);
    }
}
