//! IAM Access Analyzer findings (`aws.access-analyzer`, "Access Analyzer Finding"): a
//! resource whose policy lets someone outside the zone of trust in.
//!
//! The headline names the exposed resource and who it is exposed to, not the analyzer.
//! Public access → red (error); access for another account or principal → amber
//! (warning); a resolved finding or a deleted resource → green (ok); an archived finding
//! (someone judged the access intended) → news (info).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("access-analyzer", from_event);

/// At most this many actions in the headline; the facts list them all.
const HEADLINE_ACTIONS: usize = 3;

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.access-analyzer" && event.detail_type == "Access Analyzer Finding")
        .then(|| Ok(Body::new(read(detail, event))))
}

/// A finding about one resource's external access.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct AccessFinding {
    /// The resource's ARN (or name).
    pub resource: Option<String>,
    /// `AWS::S3::Bucket`, `AWS::IAM::Role`, …
    pub resource_type: Option<String>,
    /// Who is let in, as the policy names them: (`AWS`, `444455556666`), (`AWS`, `*`), …
    pub principals: Vec<(String, String)>,
    pub actions: Vec<String>,
    /// The policy's conditions on that access.
    pub conditions: Vec<(String, String)>,
    pub is_public: bool,
    pub is_deleted: bool,
    /// `ACTIVE`, `ARCHIVED` or `RESOLVED`.
    pub status: Option<String>,
    pub analyzer_arn: Option<String>,
    pub finding_id: Option<String>,
    pub owner_account: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

/// A value as text: a string, or each of a list's strings.
fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        _ => Vec::new(),
    }
}

/// An object's entries as (key, text) pairs, a list's items each on its own.
fn pairs(obj: Option<&Obj>) -> Vec<(String, String)> {
    obj.into_iter()
        .flatten()
        .flat_map(|(k, v)| texts(v).into_iter().map(move |t| (k.clone(), t)))
        .collect()
}

fn read(d: &Obj, event: &Event) -> AccessFinding {
    let principals = pairs(obj_at(d, "principal"));
    let flag = |key: &str| d.get(key).and_then(Value::as_bool) == Some(true);
    AccessFinding {
        resource: str_at(d, "resource"),
        resource_type: str_at(d, "resourceType"),
        is_public: flag("isPublic") || principals.iter().any(|(_, p)| p == "*"),
        principals,
        actions: d.get("action").map(texts).unwrap_or_default(),
        conditions: pairs(obj_at(d, "condition")),
        is_deleted: flag("isDeleted"),
        status: str_at(d, "status").map(|s| s.trim().to_ascii_uppercase()),
        analyzer_arn: str_at(d, "analyzerArn"),
        finding_id: str_at(d, "id"),
        owner_account: str_at(d, "resourceOwnerAccount"),
        account: event.account.clone().or_else(|| str_at(d, "accountId")),
        region: event.region.clone(),
        time: time_at(d, "updatedAt").or(event.time),
    }
}

/// `AWS::S3::Bucket` → `S3 bucket`; a type not listed → its parts, `Foo Bar`.
fn resource_kind(resource_type: &str) -> String {
    const KINDS: [(&str, &str); 17] = [
        ("AWS::S3::Bucket", "S3 bucket"),
        ("AWS::S3Express::DirectoryBucket", "S3 directory bucket"),
        ("AWS::IAM::Role", "IAM role"),
        ("AWS::IAM::User", "IAM user"),
        ("AWS::KMS::Key", "KMS key"),
        ("AWS::Lambda::Function", "Lambda function"),
        ("AWS::Lambda::LayerVersion", "Lambda layer"),
        ("AWS::SQS::Queue", "SQS queue"),
        ("AWS::SNS::Topic", "SNS topic"),
        ("AWS::SecretsManager::Secret", "secret"),
        ("AWS::EFS::FileSystem", "EFS file system"),
        ("AWS::EC2::Snapshot", "EBS snapshot"),
        ("AWS::ECR::Repository", "ECR repository"),
        ("AWS::RDS::DBSnapshot", "RDS snapshot"),
        ("AWS::RDS::DBClusterSnapshot", "RDS cluster snapshot"),
        ("AWS::DynamoDB::Table", "DynamoDB table"),
        ("AWS::DynamoDB::Stream", "DynamoDB stream"),
    ];
    KINDS
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map(|(_, kind)| (*kind).to_owned())
        .unwrap_or_else(|| resource_type.trim_start_matches("AWS::").replace("::", " "))
}

/// One principal in words: `account 444455556666`, `lambda.amazonaws.com`, an ARN.
fn principal_words(kind: &str, value: &str) -> String {
    let account = value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit());
    match kind {
        "AWS" if account => format!("account {value}"),
        "AWS" => value.to_owned(),
        "CanonicalUser" => format!("canonical user {value}"),
        other => format!("{other} {value}"),
    }
}

impl AccessFinding {
    /// How bad it is, by the rule in the module's docs.
    pub(crate) fn severity(&self) -> Severity {
        match self.status.as_deref() {
            Some("RESOLVED") => Severity::Ok,
            _ if self.is_deleted => Severity::Ok,
            Some("ARCHIVED") => Severity::Info,
            _ if self.is_public => Severity::Error,
            _ => Severity::Warning,
        }
    }

    /// `S3 bucket orders-exports`.
    fn subject(&self) -> String {
        let kind = self.resource_type.as_deref().map(resource_kind);
        let name = self.resource.as_deref().map(arn_short_name);
        match (kind, name) {
            (Some(kind), Some(name)) => format!("{kind} {name}"),
            (kind, name) => kind
                .or(name.map(str::to_owned))
                .unwrap_or_else(|| "a resource".to_owned()),
        }
    }

    /// `is public`, `is shared with account 444455556666 and 1 more`; in the past tense
    /// once the access is gone.
    fn exposure(&self) -> String {
        let verb = if self.severity() == Severity::Ok { "was" } else { "is" };
        if self.is_public {
            return format!("{verb} public");
        }
        match self.principals.first() {
            Some((kind, value)) => {
                let more = match self.principals.len() {
                    1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                format!("{verb} shared with {}{more}", principal_words(kind, value))
            }
            None => format!("{verb} shared outside the account"),
        }
    }

    fn console_url(&self) -> Option<String> {
        let arn = parse_arn(self.analyzer_arn.as_deref()?)?;
        let analyzer = arn.resource.strip_prefix("analyzer/")?;
        service_console_url(
            arn.partition,
            self.region.as_deref().or(Some(arn.region)),
            &format!(
                "access-analyzer/home?region={{region}}#/findings/details/{}/{}",
                url_encode(analyzer),
                url_encode(self.finding_id.as_deref()?)
            ),
        )
    }
}

notice!(AccessFinding, card, |it| it.resource.clone().unwrap_or_default());

/// The finding as a card: the resource, who it is exposed to and for what, and a link.
pub(crate) fn card(f: &AccessFinding) -> Card {
    let severity = f.severity();
    let state = match (f.status.as_deref(), f.is_deleted) {
        (Some("RESOLVED"), _) => " resolved",
        (_, true) => " (resource deleted)",
        (Some("ARCHIVED"), _) => " archived",
        _ => "",
    };
    let text = format!("Access Analyzer{state}: {} {}", f.subject(), f.exposure());
    let mut headline = escape_within(&text, 250);
    if !f.actions.is_empty() {
        let shown: Vec<&str> = f.actions.iter().take(HEADLINE_ACTIONS).map(String::as_str).collect();
        let more = f.actions.len().saturating_sub(HEADLINE_ACTIONS);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        headline.push_str(&format!(" ({}{more})", escape_within(&shown.join(", "), 200)));
    }
    let mut m = Card::new(severity.emoji("🔓"), text, headline, severity);
    let line = |(k, v): &(String, String)| format!("{k}: {v}");
    let principals: Vec<String> = f.principals.iter().map(line).collect();
    let conditions: Vec<String> = f.conditions.iter().map(line).collect();
    m.fields(vec![
        ("Resource", f.resource.as_deref().map(code)),
        ("Type", f.resource_type.as_deref().map(escape)),
        ("Principal", bullets(&principals, 10)),
        ("Actions", bullets(&f.actions, 10)),
        ("Condition", bullets(&conditions, 10)),
        ("Public", Some(if f.is_public { "yes" } else { "no" }.to_owned())),
        ("Status", f.status.as_deref().map(escape)),
        ("Owner", f.owner_account.as_deref().map(escape)),
        ("Region", f.region.as_deref().map(escape)),
        ("Updated", when(f.time)),
    ]);
    if let Some(analyzer) = &f.analyzer_arn {
        m.context(vec![format!("Analyzer: {}", escape(analyzer))]);
    }
    m.link("Open the finding", f.console_url());
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(detail: Value) -> Card {
        let event: Event = serde_json::from_value(json!({
            "detail-type": "Access Analyzer Finding", "source": "aws.access-analyzer",
            "account": "111122223333", "region": "us-west-2",
            "resources": ["arn:aws:access-analyzer:us-west-2:111122223333:analyzer/DevAccountAnalyzer"],
            "detail": detail
        }))
        .unwrap();
        let d = event.detail.as_object().cloned().unwrap_or_default();
        from_event(&event, &d).unwrap().unwrap().card()
    }

    #[test]
    fn the_headline_names_the_resource_and_who_gets_in() {
        let public = finding(json!({
            "resource": "arn:aws:s3:::orders-exports", "resourceType": "AWS::S3::Bucket",
            "principal": {"AWS": "*"}, "action": ["s3:GetObject", "s3:ListBucket"],
            "isPublic": true, "status": "ACTIVE"
        }));
        assert_eq!(
            public.headline,
            "Access Analyzer: S3 bucket orders-exports is public (s3:GetObject, s3:ListBucket)"
        );
        assert_eq!(public.severity, Severity::Error);
        let shared = finding(json!({
            "resource": "arn:aws:iam::111122223333:role/<!here>", "resourceType": "AWS::IAM::Role",
            "principal": {"AWS": ["444455556666", "arn:aws:iam::555566667777:root"]},
            "action": ["sts:AssumeRole"], "isPublic": false, "status": "ACTIVE"
        }));
        assert_eq!(
            shared.headline,
            "Access Analyzer: IAM role &lt;!here&gt; is shared with account 444455556666 and 1 more (sts:AssumeRole)"
        );
        assert_eq!(shared.severity, Severity::Warning);
    }

    #[test]
    fn resolved_archived_and_deleted_findings() {
        let with = |status: &str, deleted: bool| {
            finding(json!({
                "resource": "arn:aws:sqs:us-west-2:111122223333:jobs", "resourceType": "AWS::SQS::Queue",
                "principal": {"AWS": "444455556666"}, "isPublic": false, "status": status,
                "isDeleted": deleted
            }))
        };
        let resolved = with("RESOLVED", false);
        assert_eq!(
            resolved.headline,
            "Access Analyzer resolved: SQS queue jobs was shared with account 444455556666"
        );
        assert_eq!(resolved.severity, Severity::Ok);
        assert_eq!(with("ACTIVE", true).severity, Severity::Ok);
        assert_eq!(with("ARCHIVED", false).severity, Severity::Info);
    }

    #[test]
    fn odd_findings_do_not_panic() {
        for detail in [
            json!(null),
            json!({"principal": "*", "action": "s3:*", "condition": [], "isPublic": "yes"}),
            json!({"principal": {"Federated": [1, null]}, "resourceType": "AWS::New::Thing", "status": 3}),
        ] {
            let card = finding(detail);
            assert!(card.headline.starts_with("Access Analyzer"), "{}", card.headline);
        }
        let card = finding(json!({"resourceType": "AWS::New::Thing", "principal": {"Federated": "idp"}}));
        assert_eq!(card.headline, "Access Analyzer: New Thing is shared with Federated idp");
    }
}
