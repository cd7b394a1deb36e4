//! Amazon Inspector findings (`aws.inspector2`, "Inspector2 Finding"): a vulnerable package
//! or an open network path in an ECR image, an EC2 instance or a Lambda function.

use serde_json::Value;

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("inspector2", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.inspector2" && event.detail_type == "Inspector2 Finding")
        .then(|| Ok(Body::new(read(detail, event))))
}

/// An Inspector finding.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct InspectorFinding {
    /// `CVE-2026-0001 - openssl`.
    pub title: Option<String>,
    pub description: Option<String>,
    /// `CRITICAL`, `HIGH`, `MEDIUM`, `LOW`, `INFORMATIONAL`, `UNTRIAGED`.
    pub severity: Option<String>,
    /// `ACTIVE`, `SUPPRESSED`, `CLOSED`.
    pub status: Option<String>,
    /// `PACKAGE_VULNERABILITY`, `NETWORK_REACHABILITY`, `CODE_VULNERABILITY`.
    pub finding_type: Option<String>,
    pub finding_arn: Option<String>,
    pub score: Option<f64>,
    /// `CVE-2026-0001`.
    pub vulnerability_id: Option<String>,
    pub packages: Vec<Package>,
    /// `YES`, `NO`, `PARTIAL`.
    pub fix_available: Option<String>,
    pub exploit_available: Option<String>,
    pub remediation: Option<String>,
    pub resource: Option<Resource>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub first_observed: Option<String>,
    pub updated: Option<String>,
}

/// A vulnerable package, and the version that fixes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Package {
    pub name: Option<String>,
    pub version: Option<String>,
    pub fixed_in: Option<String>,
    pub manager: Option<String>,
}

/// The resource the finding is in.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Resource {
    /// `AWS_ECR_CONTAINER_IMAGE`, `AWS_EC2_INSTANCE`, `AWS_LAMBDA_FUNCTION`, …
    pub kind: Option<String>,
    /// An instance id or an ARN.
    pub id: Option<String>,
    /// What to call it: `repository:tag`, the instance id, the function's name.
    pub name: Option<String>,
    /// Its `Name` tag, when that is not already its name.
    pub tag_name: Option<String>,
    pub partition: Option<String>,
}

fn read(d: &Obj, event: &Event) -> InspectorFinding {
    let vulnerability = obj_at(d, "packageVulnerabilityDetails");
    let packages = vulnerability
        .map(|v| arr_at(v, "vulnerablePackages"))
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_object)
        .map(|p| Package {
            name: str_at(p, "name"),
            version: str_at(p, "version"),
            fixed_in: str_at(p, "fixedInVersion"),
            manager: str_at(p, "packageManager"),
        })
        .collect();
    let resource = arr_at(d, "resources")
        .iter()
        .filter_map(Value::as_object)
        .next()
        .map(read_resource);
    InspectorFinding {
        title: str_at(d, "title"),
        description: str_at(d, "description"),
        severity: str_at(d, "severity").map(|s| s.trim().to_ascii_uppercase()),
        status: str_at(d, "status").map(|s| s.trim().to_ascii_uppercase()),
        finding_type: str_at(d, "type"),
        finding_arn: str_at(d, "findingArn"),
        score: num_at(d, "inspectorScore"),
        vulnerability_id: vulnerability.and_then(|v| str_at(v, "vulnerabilityId")),
        packages,
        fix_available: str_at(d, "fixAvailable"),
        exploit_available: str_at(d, "exploitAvailable"),
        remediation: obj_at(d, "remediation")
            .and_then(|r| obj_at(r, "recommendation"))
            .and_then(|r| str_at(r, "text"))
            // Inspector writes this when it has nothing to say.
            .filter(|t| !t.trim().eq_ignore_ascii_case("None Provided")),
        resource,
        account: str_at(d, "awsAccountId").or_else(|| event.account.clone()),
        region: event.region.clone(),
        first_observed: str_at(d, "firstObservedAt"),
        updated: str_at(d, "updatedAt"),
    }
}

fn read_resource(r: &Obj) -> Resource {
    let kind = str_at(r, "type");
    let id = str_at(r, "id");
    let details = obj_at(r, "details");
    let name = match kind.as_deref() {
        Some("AWS_ECR_CONTAINER_IMAGE") => details
            .and_then(|d| obj_at(d, "awsEcrContainerImage"))
            .and_then(|image| {
                let repository = str_at(image, "repositoryName")?;
                let tag = arr_at(image, "imageTags")
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|t| !t.trim().is_empty());
                Some(match tag {
                    Some(tag) => format!("{repository}:{tag}"),
                    None => repository,
                })
            }),
        Some("AWS_LAMBDA_FUNCTION") => details
            .and_then(|d| obj_at(d, "awsLambdaFunction"))
            .and_then(|f| str_at(f, "functionName")),
        _ => None,
    };
    let name = name.or_else(|| id.as_deref().map(short_resource_id));
    Resource {
        tag_name: obj_at(r, "tags")
            .and_then(|t| str_at(t, "Name"))
            .filter(|t| Some(t) != name.as_ref()),
        name,
        partition: str_at(r, "partition"),
        kind,
        id,
    }
}

/// A resource's name from its id: `i-0abc…` as it is; from an ARN, the function's name or
/// the part after the resource type.
fn short_resource_id(id: &str) -> String {
    match parse_arn(id) {
        Some(arn) => {
            let resource = arn.resource;
            let rest = resource
                .split_once(['/', ':'])
                .map_or(resource, |(_, rest)| rest);
            // `function:name:version` → `name`; `repository/name/sha256:…` → `name`.
            rest.split(['/', ':']).next().unwrap_or(rest).to_owned()
        }
        None => id.to_owned(),
    }
}

/// Inspector's events write times as `Fri Nov 20 08:14:55.021 UTC 2026`; ISO 8601 is
/// read too, and anything else is shown as it is.
fn inspector_time(raw: &str) -> String {
    when(parse_utc_text_time(raw)).unwrap_or_else(|| when_text(raw))
}

/// How bad a finding is: Inspector's own severity, good news once it is closed, and
/// news once someone suppressed it (a suppression rule judged it acceptable).
pub(crate) fn severity(severity: Option<&str>, status: Option<&str>) -> Severity {
    match status {
        Some("CLOSED") => return Severity::Ok,
        Some("SUPPRESSED") => return Severity::Info,
        _ => {}
    }
    match severity {
        Some("CRITICAL") => Severity::Critical,
        Some("HIGH") => Severity::Error,
        Some("MEDIUM") => Severity::Warning,
        _ => Severity::Info,
    }
}

/// `ECR image`, `EC2 instance`, `Lambda function`.
fn resource_kind_words(kind: &str) -> String {
    match kind {
        "AWS_ECR_CONTAINER_IMAGE" => "ECR image".into(),
        "AWS_EC2_INSTANCE" => "EC2 instance".into(),
        "AWS_LAMBDA_FUNCTION" => "Lambda function".into(),
        "AWS_ECR_REPOSITORY" => "ECR repository".into(),
        other => humanise(other.strip_prefix("AWS_").unwrap_or(other)),
    }
}

/// One line per package: `openssl 3.0.7-r0, fixed in 3.0.8-r0 (OS)`.
fn package_line(p: &Package) -> String {
    let mut line = p.name.clone().unwrap_or_else(|| "package".into());
    if let Some(version) = &p.version {
        line += &format!(" {version}");
    }
    match p.fixed_in.as_deref() {
        Some("NotAvailable") | None => line += ", no fixed version yet",
        Some(fixed) => line += &format!(", fixed in {fixed}"),
    }
    if let Some(manager) = &p.manager {
        line += &format!(" ({manager})");
    }
    line
}

notice!(InspectorFinding, card, |it| it.title.clone().unwrap_or_default());

/// The resource as a fact: its kind in words, its name, and its tag.
fn resource_fact(r: &Resource) -> Option<String> {
    let name = r.name.as_deref()?;
    let tag = r
        .tag_name
        .as_deref()
        .map(|t| format!(" ({})", escape(t)))
        .unwrap_or_default();
    Some(match r.kind.as_deref() {
        Some(kind) => format!(
            "{}: {}{tag}",
            escape(&resource_kind_words(kind)),
            code(name)
        ),
        None => format!("{}{tag}", code(name)),
    })
}

/// The finding in Inspector's console, in its resource's partition.
fn finding_url(f: &InspectorFinding) -> Option<String> {
    let partition = f
        .resource
        .as_ref()
        .and_then(|r| r.partition.as_deref())
        .unwrap_or_else(|| partition_of(f.finding_arn.as_deref()));
    f.finding_arn.as_deref().and_then(|arn| {
        service_console_url(
            partition,
            f.region.as_deref(),
            &format!(
                "inspector/v2/home?region={{region}}#/findings/all?findingArn={}",
                url_encode(arn)
            ),
        )
    })
}

/// The finding as a card: severity, the vulnerability and the packages that fix it, the
/// resource, and a link to the finding.
pub(crate) fn card(f: &InspectorFinding) -> Card {
    let severity = severity(f.severity.as_deref(), f.status.as_deref());
    let label = f.severity.as_deref().unwrap_or("UNKNOWN");
    let closed = match f.status.as_deref() {
        Some("CLOSED") => " closed",
        Some("SUPPRESSED") => " suppressed",
        _ => "",
    };
    let emoji = severity.emoji("🔎");
    let title = f
        .title
        .as_deref()
        .or(f.vulnerability_id.as_deref())
        .or(f.finding_type.as_deref())
        .unwrap_or("finding");
    let resource = f.resource.as_ref().and_then(|r| r.name.as_deref());
    let place = resource.map(|r| format!(" in {r}")).unwrap_or_default();
    let headline = format!(
        "Inspector {}{closed}: {}{}",
        escape(label),
        escape_within(title, 200),
        escape(&place)
    );
    let mut m = Card::new(
        emoji,
        format!("Inspector {label}{closed}: {title}{place}"),
        headline,
        severity,
    );
    if f.severity.is_none() {
        m = m.grey();
    }
    let packages: Vec<String> = f.packages.iter().map(package_line).collect();
    if let Some(list) = bullets(&packages, 10) {
        m.section(format!("*Vulnerable packages*\n{list}"));
    }
    m.fields(vec![
        (
            "Severity",
            Some(match f.score {
                Some(score) => format!("{} (score {})", escape(label), format_number(score)),
                None => escape(label),
            }),
        ),
        ("Status", f.status.as_deref().map(escape)),
        ("Vulnerability", f.vulnerability_id.as_deref().map(code)),
        ("Fix available", f.fix_available.as_deref().map(escape)),
        ("Exploit available", f.exploit_available.as_deref().map(escape)),
        ("Resource", f.resource.as_ref().and_then(resource_fact)),
        ("Account", f.account.as_deref().map(escape)),
        ("Region", f.region.as_deref().map(escape)),
        ("First seen", f.first_observed.as_deref().map(inspector_time)),
        (
            "Updated",
            f.updated
                .as_deref()
                .filter(|u| Some(*u) != f.first_observed.as_deref())
                .map(inspector_time),
        ),
    ]);
    m.titled("Remediation", f.remediation.as_deref());
    m.titled("Description", f.description.as_deref());
    let url = finding_url(f);
    m.link("Open in Inspector", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail: Value) -> Event {
        serde_json::from_value(json!({
            "version": "0",
            "id": "1",
            "detail-type": "Inspector2 Finding",
            "source": "aws.inspector2",
            "account": "123456789012",
            "time": "2026-11-20T08:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail
        }))
        .unwrap()
    }

    fn finding(detail: Value) -> InspectorFinding {
        let e = event(detail);
        let d = e.detail.as_object().cloned().unwrap_or_default();
        read(&d, &e)
    }

    #[test]
    fn severities_and_a_closed_finding() {
        for (sev, status, expected) in [
            ("CRITICAL", "ACTIVE", Severity::Critical),
            ("HIGH", "ACTIVE", Severity::Error),
            ("MEDIUM", "ACTIVE", Severity::Warning),
            ("LOW", "ACTIVE", Severity::Info),
            ("INFORMATIONAL", "ACTIVE", Severity::Info),
            ("CRITICAL", "CLOSED", Severity::Ok),
            ("CRITICAL", "SUPPRESSED", Severity::Info),
        ] {
            assert_eq!(severity(Some(sev), Some(status)), expected, "{sev} {status}");
        }
    }

    #[test]
    fn inspector_times_are_read() {
        assert!(inspector_time("Fri Nov 20 08:14:55.021 UTC 2026")
            .starts_with("2026-11-20 08:14:55 UTC\n<!date^"));
        assert!(inspector_time("2026-11-20T08:14:55Z").starts_with("2026-11-20 08:14:55 UTC"));
        assert_eq!(inspector_time("soon"), "soon");
    }

    #[test]
    fn resources_get_short_names() {
        assert_eq!(short_resource_id("i-0abc"), "i-0abc");
        assert_eq!(
            short_resource_id("arn:aws:lambda:us-east-1:1:function:resize-images:3"),
            "resize-images"
        );
        assert_eq!(
            short_resource_id("arn:aws:ecr:us-east-1:1:repository/checkout-service/sha256:0a1b"),
            "checkout-service"
        );
        let f = finding(json!({
            "resources": [{
                "type": "AWS_ECR_CONTAINER_IMAGE",
                "id": "arn:aws:ecr:us-east-1:1:repository/checkout-service/sha256:0a1b",
                "details": {"awsEcrContainerImage": {"repositoryName": "checkout-service", "imageTags": [null, "v1.42"]}}
            }]
        }));
        assert_eq!(
            f.resource.unwrap().name.as_deref(),
            Some("checkout-service:v1.42")
        );
    }

    #[test]
    fn missing_nulls_and_wrong_types_do_not_panic() {
        let f = finding(json!({
            "title": null,
            "severity": 7,
            "status": ["ACTIVE"],
            "inspectorScore": "not a number",
            "packageVulnerabilityDetails": {"vulnerablePackages": [null, 3, {"name": null}]},
            "resources": "i-0abc",
            "remediation": {"recommendation": null}
        }));
        let c = card(&f);
        assert_eq!(c.severity, Severity::Info);
        assert_eq!(c.headline, "Inspector 7: finding");
        let empty = finding(json!(null));
        assert_eq!(card(&empty).headline, "Inspector UNKNOWN: finding");
    }

    #[test]
    fn the_headline_names_the_severity_the_vulnerability_and_the_resource() {
        let f = finding(json!({
            "title": "CVE-2026-0001 - openssl <!here>",
            "severity": "HIGH",
            "status": "ACTIVE",
            "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/0a1b",
            "packageVulnerabilityDetails": {
                "vulnerabilityId": "CVE-2026-0001",
                "vulnerablePackages": [{"name": "openssl", "version": "3.0.7", "fixedInVersion": "3.0.8", "packageManager": "OS"}]
            },
            "resources": [{"type": "AWS_EC2_INSTANCE", "id": "i-0abc"}]
        }));
        let c = card(&f);
        assert_eq!(
            c.headline,
            "Inspector HIGH: CVE-2026-0001 - openssl &lt;!here&gt; in i-0abc"
        );
        assert_eq!(package_line(&f.packages[0]), "openssl 3.0.7, fixed in 3.0.8 (OS)");
    }
}
