//! AWS Backup jobs: EventBridge's "… Job State Change" events, and the text notifications
//! a backup vault sends to SNS.

use super::shared::*;
use super::{Body, Event, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::both("backup", from_event, from_sns);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.backup" && event.detail_type.ends_with("Job State Change"))
        .then(|| Ok(Body::new(read_event(detail, event))))
}

/// Text only: a JSON document is never a vault's notification.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    if message.is_document() {
        return None;
    }
    let job = backup_from_text(message.subject.as_deref(), message.text)?;
    Some(Body::new(job))
}

/// An AWS Backup, copy or restore job, from an event or a vault's text notification.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct BackupJob {
    pub job_kind: Option<String>,
    pub job_id: Option<String>,
    pub state: Option<String>,
    /// A malware scan's `THREATS_FOUND` or `NO_THREATS_FOUND`.
    pub scan_result: Option<String>,
    pub status_message: Option<String>,
    pub vault: Option<String>,
    pub resource_arn: Option<String>,
    pub resource_type: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<String>,
}

fn read_event(d: &Obj, event: &Event) -> BackupJob {
    let (job_kind, job_id) = [
        ("Backup job", "backupJobId"),
        ("Copy job", "copyJobId"),
        ("Restore job", "restoreJobId"),
        ("Scan job", "scanJobId"),
    ]
    .iter()
    .find_map(|(kind, key)| str_at(d, key).map(|id| ((*kind).to_owned(), id)))
    .map_or((None, None), |(k, id)| (Some(k), Some(id)));
    BackupJob {
        job_kind: job_kind.or_else(|| {
            Some(
                event
                    .detail_type
                    .trim_end_matches(" State Change")
                    .to_owned(),
            )
        }),
        job_id,
        state: str_at(d, "state").or_else(|| str_at(d, "status")),
        scan_result: obj_at(d, "scanResult")
            .and_then(|r| str_at(r, "scanResultStatus"))
            .map(|r| r.trim().to_ascii_uppercase()),
        status_message: str_at(d, "statusMessage"),
        vault: str_at(d, "backupVaultName").or_else(|| str_at(d, "destinationBackupVaultArn")),
        resource_arn: str_at(d, "resourceArn"),
        resource_type: str_at(d, "resourceType"),
        account: event.account.clone(),
        region: event.region.clone(),
        time: str_at(d, "completionDate").or_else(|| str_at(d, "creationDate")),
    }
}

fn backup_from_text(subject: Option<&str>, text: &str) -> Option<BackupJob> {
    let is_backup = subject.is_some_and(|s| s.contains("AWS Backup"))
        || text.trim_start().starts_with("An AWS Backup job");
    if !is_backup {
        return None;
    }
    // AWS Backup writes `Key : Value` pairs as sentences on one line.
    let fields = key_value_lines(&text.replace(". ", "\n"));
    let find = |needle: &str| {
        fields
            .iter()
            .find(|(k, _)| k.to_ascii_lowercase().replace(' ', "").contains(needle))
            .map(|(_, v)| v.clone())
    };
    let first_sentence = text
        .split(['.', '\n'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let resource_arn = find("resourcearn");
    let arn = resource_arn.as_deref().and_then(parse_arn);
    Some(BackupJob {
        job_kind: Some("Backup job".into()),
        job_id: find("backupjobid").or_else(|| find("jobid")),
        state: find("state").or_else(|| {
            let lower = first_sentence.to_ascii_lowercase();
            ["completed", "failed", "expired", "aborted", "started"]
                .into_iter()
                .find(|w| lower.contains(w))
                .map(|w| w.to_ascii_uppercase())
        }),
        status_message: non_empty(&first_sentence),
        vault: find("vault"),
        account: arn.as_ref().and_then(|a| non_empty(a.account)),
        region: arn.as_ref().and_then(|a| non_empty(a.region)),
        resource_arn,
        resource_type: None,
        time: None,
        scan_result: None,
    })
}

impl BackupJob {
    /// The resource's own name: the last part of its ARN.
    pub(crate) fn resource_name(&self) -> Option<&str> {
        let arn = self.resource_arn.as_deref()?;
        let resource = parse_arn(arn).map_or(arn, |a| a.resource);
        resource.rsplit(['/', ':']).next().filter(|r| !r.is_empty())
    }
}

notice!(BackupJob, card, |it| it.job_id.clone().unwrap_or_default());

/// How bad a job is: a failed, aborted, expired or partial job is red, and so is a malware
/// scan that found threats, whatever its state says (`COMPLETED`); a scan completed with
/// issues is amber (part of it went unscanned); a completed job is green.
pub(crate) fn severity(state: &str, scan_result: Option<&str>) -> Severity {
    match (state, scan_result) {
        (_, Some("THREATS_FOUND")) => Severity::Error,
        ("FAILED" | "ABORTED" | "EXPIRED" | "PARTIAL", _) => Severity::Error,
        ("COMPLETED_WITH_ISSUES", _) => Severity::Warning,
        ("COMPLETED", _) => Severity::Ok,
        _ => Severity::Info,
    }
}

/// The job as a card: state, job, vault, resource, and a link to the jobs.
pub(crate) fn card(b: &BackupJob) -> Card {
    let state = b.state.as_deref().unwrap_or("UNKNOWN").to_ascii_uppercase();
    let threats = b.scan_result.as_deref() == Some("THREATS_FOUND");
    let severity = severity(&state, b.scan_result.as_deref());
    let kind = b.job_kind.as_deref().unwrap_or("Backup job");
    let mut headline = format!("AWS Backup: {} {}", escape(kind), escape(&state));
    if let Some(resource) = b.resource_name() {
        headline.push_str(&format!(" for {}", escape(resource)));
    }
    if threats {
        headline.push_str(": threats found");
    } else if severity == Severity::Error {
        if let Some(message) = &b.status_message {
            headline.push_str(&format!(": {}", escape_within(message, 200)));
        }
    }
    let mut m = Card::new(
        severity.emoji("💾"),
        format!(
            "AWS Backup: {kind} {state}{}",
            if threats { ": threats found" } else { "" }
        ),
        headline,
        severity,
    );
    m.titled("Message", b.status_message.as_deref());
    m.fields(vec![
        ("State", Some(escape(&state))),
        ("Scan result", b.scan_result.as_deref().map(escape)),
        ("Job ID", b.job_id.as_deref().map(code)),
        ("Vault", b.vault.as_deref().map(escape)),
        ("Resource type", b.resource_type.as_deref().map(escape)),
        ("Resource", b.resource_arn.as_deref().map(code)),
        ("Account", b.account.as_deref().map(escape)),
        ("Region", b.region.as_deref().map(escape)),
        ("Time", b.time.as_deref().map(when_text)),
    ]);
    let partition = partition_of(b.resource_arn.as_deref());
    m.link(
        "Open AWS Backup jobs",
        service_console_url(
            partition,
            b.region.as_deref(),
            "backup/home?region={region}#/jobs",
        ),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_that_found_threats_is_red_whatever_its_state() {
        for (state, result, expected) in [
            ("COMPLETED", Some("THREATS_FOUND"), Severity::Error),
            ("COMPLETED", Some("NO_THREATS_FOUND"), Severity::Ok),
            ("COMPLETED_WITH_ISSUES", Some("NO_THREATS_FOUND"), Severity::Warning),
            ("FAILED", None, Severity::Error),
            ("RUNNING", None, Severity::Info),
        ] {
            assert_eq!(severity(state, result), expected, "{state} {result:?}");
        }
        let job = BackupJob {
            job_kind: Some("Scan job".into()),
            state: Some("COMPLETED".into()),
            scan_result: Some("THREATS_FOUND".into()),
            status_message: Some("An AWS Backup scan job was successful completed.".into()),
            resource_arn: Some("arn:aws:ec2:us-west-2:1:instance/i-0515".into()),
            ..Default::default()
        };
        assert_eq!(
            card(&job).headline,
            "AWS Backup: Scan job COMPLETED for i-0515: threats found"
        );
    }
}
