//! GuardDuty findings (`aws.guardduty`, "GuardDuty Finding") and Malware Protection for
//! S3's scan results ("GuardDuty Malware Protection Object Scan Result").

use chrono::{DateTime, Utc};

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("guardduty", from_event);

/// A finding names itself by its `detail-type`; minimal events leave out the `source`.
fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    match (event.source.as_str(), event.detail_type.as_str()) {
        ("aws.guardduty" | "", "GuardDuty Finding") => Some(Ok(Body::new(read(detail, event)))),
        ("aws.guardduty", "GuardDuty Malware Protection Object Scan Result") => {
            Some(Ok(Body::new(read_scan(detail, event))))
        }
        _ => None,
    }
}

/// A GuardDuty finding; `severity` is GuardDuty's score from 0 to 10.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct GuardDutyFinding {
    pub title: Option<String>,
    pub finding_type: Option<String>,
    pub severity: Option<f64>,
    pub description: Option<String>,
    pub resource_type: Option<String>,
    pub finding_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub count: Option<u64>,
    pub updated_at: Option<String>,
}

fn read(d: &Obj, event: &Event) -> GuardDutyFinding {
    GuardDutyFinding {
        title: str_at(d, "title"),
        finding_type: str_at(d, "type"),
        severity: num_at(d, "severity"),
        description: str_at(d, "description"),
        resource_type: obj_at(d, "resource").and_then(|r| str_at(r, "resourceType")),
        finding_id: str_at(d, "id"),
        account: str_at(d, "accountId").or_else(|| event.account.clone()),
        region: str_at(d, "region").or_else(|| event.region.clone()),
        partition: str_at(d, "partition"),
        count: obj_at(d, "service").and_then(|s| uint_at(s, "count")),
        updated_at: str_at(d, "updatedAt"),
    }
}

fn severity_label(score: f64) -> (&'static str, Severity) {
    match score {
        s if s >= 9.0 => ("CRITICAL", Severity::Critical),
        s if s >= 7.0 => ("HIGH", Severity::Error),
        s if s >= 4.0 => ("MEDIUM", Severity::Warning),
        _ => ("LOW", Severity::Info),
    }
}

notice!(GuardDutyFinding, card, |it| it.finding_type.clone().unwrap_or_default());

/// The finding as a card: severity, type, resource, and a link to the finding.
pub(crate) fn card(g: &GuardDutyFinding) -> Card {
    let (label, severity) = g
        .severity
        .map(severity_label)
        .unwrap_or(("UNKNOWN", Severity::Info));
    let title = g
        .title
        .as_deref()
        .or(g.finding_type.as_deref())
        .unwrap_or("finding");
    let fallback = format!("GuardDuty {label}: {}", escape_within(title, 200));
    let mut m = Card::new(
        "🛡️",
        format!("GuardDuty {label}: {title}"),
        fallback,
        severity,
    );
    if g.severity.is_none() {
        m = m.grey();
    }
    m.fields(vec![
        (
            "Severity",
            g.severity
                .map(|s| format!("{label} ({})", format_number(s))),
        ),
        ("Type", g.finding_type.as_deref().map(code)),
        ("Resource", g.resource_type.as_deref().map(escape)),
        ("Seen", g.count.map(|c| format!("{c} times"))),
        ("Account", g.account.as_deref().map(escape)),
        ("Region", g.region.as_deref().map(escape)),
        ("Updated", g.updated_at.as_deref().map(when_text)),
    ]);
    // GuardDuty's description usually repeats the title first; show only what it adds.
    let description = g.description.as_deref().map(|d| {
        d.strip_prefix(title)
            .map(|rest| rest.trim_start_matches(['.', ' ']))
            .unwrap_or(d)
    });
    m.titled("Description", description);
    let url = g.finding_id.as_ref().and_then(|id| {
        service_console_url(
            g.partition.as_deref().unwrap_or("aws"),
            g.region.as_deref(),
            &format!(
                "guardduty/home?region={{region}}#/findings?macros=current&fId={}",
                url_encode(id)
            ),
        )
    });
    m.link("Open in GuardDuty", url);
    m
}

/// A Malware Protection for S3 scan of one uploaded object.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct MalwareScan {
    /// `COMPLETED`, `SKIPPED` or `FAILED`.
    pub scan_status: Option<String>,
    /// `THREATS_FOUND`, `NO_THREATS_FOUND`, `UNSUPPORTED`, `ACCESS_DENIED` or `FAILED`.
    pub result: Option<String>,
    /// The names of the threats found.
    pub threats: Vec<String>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub version_id: Option<String>,
    /// The Malware Protection plan that scanned it.
    pub plan_arn: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read_scan(d: &Obj, event: &Event) -> MalwareScan {
    let object = obj_at(d, "s3ObjectDetails");
    let result = obj_at(d, "scanResultDetails");
    let upper = |s: String| s.trim().to_ascii_uppercase();
    MalwareScan {
        scan_status: str_at(d, "scanStatus").map(upper),
        result: result.and_then(|r| str_at(r, "scanResultStatus")).map(upper),
        threats: result
            .map(|r| arr_at(r, "threats"))
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t.as_object().and_then(|t| str_at(t, "name")))
            .collect(),
        bucket: object.and_then(|o| str_at(o, "bucketName")),
        key: object.and_then(|o| str_at(o, "objectKey")),
        version_id: object.and_then(|o| str_at(o, "versionId")),
        plan_arn: event
            .resources
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|r| r.contains(":malware-protection-plan/"))
            .cloned(),
        account: event.account.clone(),
        region: event.region.clone(),
        time: event.time,
    }
}

impl MalwareScan {
    /// Threats found is as bad as GuardDuty's own finding for a malicious S3 object
    /// (HIGH, red); a scan that failed or was denied leaves the object unchecked (amber);
    /// a clean scan is good news; a skipped or unsupported object is news.
    pub(crate) fn severity(&self) -> Severity {
        match (self.scan_status.as_deref(), self.result.as_deref()) {
            (_, Some("THREATS_FOUND")) => Severity::Error,
            (Some("FAILED"), _) | (_, Some("FAILED" | "ACCESS_DENIED")) => Severity::Warning,
            (_, Some("NO_THREATS_FOUND")) => Severity::Ok,
            _ => Severity::Info,
        }
    }

    /// `bucket/key`, or whichever of the two is known.
    fn object(&self) -> String {
        match (self.bucket.as_deref(), self.key.as_deref()) {
            (Some(bucket), Some(key)) => format!("{bucket}/{key}"),
            (bucket, key) => bucket.or(key).unwrap_or("an S3 object").to_owned(),
        }
    }

    /// What the scan found, in words.
    fn outcome(&self) -> String {
        match (self.scan_status.as_deref(), self.result.as_deref()) {
            (_, Some("THREATS_FOUND")) => "threats found in".into(),
            (_, Some("NO_THREATS_FOUND")) => "no threats found in".into(),
            (_, Some(result)) => format!("{} for", humanise(result).to_lowercase()),
            (Some(status), None) => format!("scan {} for", status.to_lowercase()),
            (None, None) => "scan of".into(),
        }
    }
}

notice!(MalwareScan, scan_card, |it| it.object());

/// The scan as a card: `GuardDuty malware scan: threats found in <bucket>/<key>
/// (<threat>)`, the threats, and a link to the object.
pub(crate) fn scan_card(s: &MalwareScan) -> Card {
    let severity = s.severity();
    let object = s.object();
    let title = format!("GuardDuty malware scan: {} {object}", s.outcome());
    let mut headline = escape_within(&title, 250);
    if let Some(first) = s.threats.first() {
        headline.push_str(&format!(" ({})", escape_within(first, 100)));
        if s.threats.len() > 1 {
            headline.push_str(&format!(" and {} more", s.threats.len() - 1));
        }
    }
    let mut m = Card::new(severity.emoji("🛡️"), title, headline, severity);
    if let Some(list) = bullets(&s.threats, 10) {
        m.section(format!("*Threats*\n{list}"));
    }
    m.fields(vec![
        ("Bucket", s.bucket.as_deref().map(escape)),
        ("Object", s.key.as_deref().map(code)),
        ("Version", s.version_id.as_deref().map(code)),
        ("Scan status", s.scan_status.as_deref().map(escape)),
        ("Result", s.result.as_deref().map(escape)),
        ("Account", s.account.as_deref().map(escape)),
        ("Region", s.region.as_deref().map(escape)),
        ("Time", when(s.time)),
    ]);
    let partition = partition_of(s.plan_arn.as_deref());
    let url = s
        .bucket
        .as_deref()
        .zip(s.key.as_deref())
        .and_then(|(bucket, key)| s3_object_url(partition, s.region.as_deref(), bucket, key));
    m.link("Open the object", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(status: &str, result: Option<&str>) -> MalwareScan {
        MalwareScan {
            scan_status: Some(status.into()),
            result: result.map(str::to_owned),
            bucket: Some("uploads".into()),
            key: Some("in/<!here>.pdf".into()),
            ..Default::default()
        }
    }

    #[test]
    fn scan_results_map_to_severities() {
        for (status, result, expected) in [
            ("COMPLETED", Some("THREATS_FOUND"), Severity::Error),
            ("COMPLETED", Some("NO_THREATS_FOUND"), Severity::Ok),
            ("FAILED", None, Severity::Warning),
            ("SKIPPED", Some("ACCESS_DENIED"), Severity::Warning),
            ("SKIPPED", Some("UNSUPPORTED"), Severity::Info),
        ] {
            assert_eq!(scan(status, result).severity(), expected, "{status} {result:?}");
        }
    }

    #[test]
    fn the_headline_says_threats_were_found_and_names_them() {
        let mut s = scan("COMPLETED", Some("THREATS_FOUND"));
        s.threats = vec!["EICAR-Test-File (not a virus)".into(), "Other".into()];
        assert_eq!(
            scan_card(&s).headline,
            "GuardDuty malware scan: threats found in uploads/in/&lt;!here&gt;.pdf \
             (EICAR-Test-File (not a virus)) and 1 more"
        );
        assert_eq!(
            scan_card(&scan("SKIPPED", Some("ACCESS_DENIED"))).headline,
            "GuardDuty malware scan: access denied for uploads/in/&lt;!here&gt;.pdf"
        );
    }

    #[test]
    fn an_odd_scan_result_does_not_panic() {
        let event: Event = serde_json::from_value(serde_json::json!({
            "source": "aws.guardduty",
            "detail-type": "GuardDuty Malware Protection Object Scan Result",
            "detail": {"scanStatus": 3, "s3ObjectDetails": [], "scanResultDetails": {"threats": [null, {"name": 1}]}}
        }))
        .unwrap();
        let detail = event.detail.as_object().cloned().unwrap_or_default();
        let card = from_event(&event, &detail).unwrap().unwrap().card();
        assert_eq!(card.headline, "GuardDuty malware scan: scan 3 for an S3 object (1)");
        assert_eq!(card.severity, Severity::Info);
    }
}
