//! ECR image scans: basic scanning's "ECR Image Scan" (`aws.ecr`), and the same count of
//! findings from enhanced scanning, Amazon Inspector's "Inspector2 Scan"
//! (`aws.inspector2`), whose `repository-name` is the repository's ARN.
//!
//! An image is as bad as its worst findings: CRITICAL → critical, HIGH → red (error),
//! MEDIUM → amber (warning), only LOW, INFORMATIONAL or UNDEFINED → news (info), none
//! → green (ok). A scan that failed is amber: the image is unchecked.

use chrono::{DateTime, Utc};

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::escape;
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("ecr", from_event);

/// ECR's severities, worst first.
const LEVELS: [&str; 6] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"];

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    let ours = matches!(
        (event.source.as_str(), event.detail_type.as_str()),
        ("aws.ecr", "ECR Image Scan") | ("aws.inspector2", "Inspector2 Scan")
    );
    ours.then(|| Ok(Body::new(read(detail, event))))
}

/// One image's scan: its findings counted by severity.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ImageScan {
    pub repository: Option<String>,
    pub tags: Vec<String>,
    pub digest: Option<String>,
    /// `COMPLETE`, `FAILED`, Inspector's `INITIAL_SCAN_COMPLETE`, …
    pub scan_status: Option<String>,
    /// Findings per severity, worst first, leaving out severities with none.
    pub counts: Vec<(&'static str, u64)>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub partition: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(d: &Obj, event: &Event) -> ImageScan {
    let counts = obj_at(d, "finding-severity-counts");
    let resources = event.resources.as_deref().unwrap_or_default();
    let arn = resources.iter().find_map(|r| parse_arn(r));
    // Basic scanning gives the name; enhanced scanning the ARN.
    let repository = str_at(d, "repository-name").map(|name| {
        parse_arn(&name)
            .and_then(|a| a.resource.strip_prefix("repository/").and_then(non_empty))
            .unwrap_or(name)
    });
    ImageScan {
        repository,
        tags: arr_at(d, "image-tags")
            .iter()
            .filter_map(|t| t.as_str().and_then(|t| non_empty(t.trim())))
            .collect(),
        digest: str_at(d, "image-digest"),
        scan_status: str_at(d, "scan-status").map(|s| s.trim().to_ascii_uppercase()),
        counts: LEVELS
            .iter()
            .filter_map(|level| {
                let n = counts.and_then(|c| uint_at(c, level))?;
                (n > 0).then_some((*level, n))
            })
            .collect(),
        account: event.account.clone(),
        region: event.region.clone(),
        partition: arn.and_then(|a| non_empty(a.partition)),
        time: event.time,
    }
}

impl ImageScan {
    fn failed(&self) -> bool {
        self.scan_status.as_deref().is_some_and(|s| s.contains("FAIL"))
    }

    /// How bad the image is, by the rule in the module's docs.
    pub(crate) fn severity(&self) -> Severity {
        match self.counts.first().map(|(level, _)| *level) {
            _ if self.failed() => Severity::Warning,
            Some("CRITICAL") => Severity::Critical,
            Some("HIGH") => Severity::Error,
            Some("MEDIUM") => Severity::Warning,
            Some(_) => Severity::Info,
            None => Severity::Ok,
        }
    }

    /// `repository:tag`, or `repository@sha256:0123456789ab` without a tag.
    fn image(&self) -> String {
        let repository = self.repository.as_deref().unwrap_or("image");
        match (self.tags.first(), self.digest.as_deref()) {
            (Some(tag), _) => format!("{repository}:{tag}"),
            (None, Some(digest)) => {
                let short: String = digest.chars().take("sha256:".len() + 12).collect();
                format!("{repository}@{short}")
            }
            (None, None) => repository.to_owned(),
        }
    }

    /// `2 critical, 5 high`.
    fn counts_text(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(level, n)| format!("{n} {}", level.to_lowercase()))
            .collect();
        parts.join(", ")
    }

    /// The image's page in the ECR console.
    fn console_url(&self) -> Option<String> {
        let repository: Vec<String> = self.repository.as_deref()?.split('/').map(url_encode).collect();
        service_console_url(
            self.partition.as_deref().unwrap_or("aws"),
            self.region.as_deref(),
            &format!(
                "ecr/repositories/private/{}/{}/_/image/{}/details?region={{region}}",
                url_encode(self.account.as_deref()?),
                repository.join("/"),
                url_encode(self.digest.as_deref()?)
            ),
        )
    }
}

notice!(ImageScan, card, |it| it.image());

/// The scan as a card: `ECR image scan: checkout:v1.4 has 2 critical, 5 high findings`,
/// the counts, the image, and a link to it.
pub(crate) fn card(s: &ImageScan) -> Card {
    let severity = s.severity();
    let image = s.image();
    let what = if s.failed() {
        format!("scan {} for {image}", s.scan_status.as_deref().unwrap_or("FAILED"))
    } else if s.counts.is_empty() {
        format!("{image} has no findings")
    } else {
        format!("{image} has {} findings", s.counts_text())
    };
    let text = format!("ECR image scan: {what}");
    let mut m = Card::new(severity.emoji("🐳"), text.clone(), escape(&text), severity);
    m.fields(
        s.counts
            .iter()
            .map(|(level, n)| (humanise(level), Some(n.to_string())))
            .collect(),
    );
    m.fields(vec![
        ("Repository", s.repository.as_deref().map(escape)),
        (
            "Tags",
            (!s.tags.is_empty()).then(|| s.tags.iter().map(|t| code(t)).collect::<Vec<_>>().join(" ")),
        ),
        ("Digest", s.digest.as_deref().map(code)),
        ("Scan status", s.scan_status.as_deref().map(escape)),
        ("Account", s.account.as_deref().map(escape)),
        ("Region", s.region.as_deref().map(escape)),
        ("Time", when(s.time)),
    ]);
    m.link("Open the image", s.console_url());
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scan(detail: serde_json::Value) -> Card {
        let event: Event = serde_json::from_value(json!({
            "detail-type": "ECR Image Scan", "source": "aws.ecr", "account": "123456789012",
            "region": "eu-west-1", "detail": detail
        }))
        .unwrap();
        let d = event.detail.as_object().cloned().unwrap_or_default();
        from_event(&event, &d).unwrap().unwrap().card()
    }

    #[test]
    fn the_worst_finding_sets_the_severity() {
        for (counts, expected) in [
            (json!({"CRITICAL": 2, "HIGH": 5}), Severity::Critical),
            (json!({"HIGH": 1, "LOW": 9}), Severity::Error),
            (json!({"MEDIUM": 3, "CRITICAL": 0}), Severity::Warning),
            (json!({"LOW": 4, "INFORMATIONAL": 1}), Severity::Info),
            (json!({}), Severity::Ok),
        ] {
            let card = scan(json!({"scan-status": "COMPLETE", "finding-severity-counts": counts}));
            assert_eq!(card.severity, expected, "{counts}");
        }
        let failed = scan(json!({"scan-status": "FAILED", "repository-name": "web"}));
        assert_eq!(failed.severity, Severity::Warning);
        assert_eq!(failed.headline, "ECR image scan: scan FAILED for web");
    }

    #[test]
    fn the_headline_names_the_image_and_counts_its_findings() {
        let card = scan(json!({
            "scan-status": "COMPLETE", "repository-name": "shop/<!here>",
            "image-tags": ["v1.4", "latest"], "image-digest": "sha256:7f5b2640fe6fb4f46592dfd3410c4a79",
            "finding-severity-counts": {"HIGH": 5, "CRITICAL": 2, "TOTAL": 7}
        }));
        assert_eq!(
            card.headline,
            "ECR image scan: shop/&lt;!here&gt;:v1.4 has 2 critical, 5 high findings"
        );
        let untagged = scan(json!({"repository-name": "web", "image-digest": "sha256:7f5b2640fe6fb4f4659"}));
        assert_eq!(untagged.headline, "ECR image scan: web@sha256:7f5b2640fe6f has no findings");
    }

    #[test]
    fn enhanced_scans_name_the_repository_from_its_arn() {
        let event: Event = serde_json::from_value(json!({
            "detail-type": "Inspector2 Scan", "source": "aws.inspector2", "account": "1",
            "region": "us-east-2",
            "detail": {
                "scan-status": "INITIAL_SCAN_COMPLETE",
                "repository-name": "arn:aws:ecr:us-east-2:1:repository/amazon/ecs-sample",
                "finding-severity-counts": {"CRITICAL": 7, "HIGH": 61, "MEDIUM": 62, "TOTAL": 158},
                "image-digest": "sha256:abc", "image-tags": ["latest"]
            }
        }))
        .unwrap();
        let d = event.detail.as_object().cloned().unwrap();
        let card = from_event(&event, &d).unwrap().unwrap().card();
        assert_eq!(
            card.headline,
            "ECR image scan: amazon/ecs-sample:latest has 7 critical, 61 high, 62 medium findings"
        );
        let parts = format!("{:?}", card.parts);
        assert!(
            parts.contains("https://us-east-2.console.aws.amazon.com/ecr/repositories/private/1/amazon/ecs-sample/_/image/sha256%3Aabc/details?region=us-east-2"),
            "{parts}"
        );
    }

    #[test]
    fn odd_scans_do_not_panic() {
        let card = scan(json!({
            "scan-status": null, "repository-name": 3, "image-tags": [null, 1, " "],
            "finding-severity-counts": {"CRITICAL": -1, "HIGH": "2", "MEDIUM": 1.5}
        }));
        assert_eq!(card.headline, "ECR image scan: 3 has 2 high findings");
        assert_eq!(scan(json!(null)).headline, "ECR image scan: image has no findings");
    }
}
