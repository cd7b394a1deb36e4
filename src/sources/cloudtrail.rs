//! CloudTrail records on EventBridge: console sign-ins ("AWS Console Sign In via
//! CloudTrail", `aws.signin`) and API calls ("AWS API Call via CloudTrail").
//!
//! Who did it comes first, because that is what decides how bad it is:
//! - the root user signing in without MFA → critical: the account's every power, behind a
//!   password alone;
//! - the root user signing in with MFA → amber: legitimate but rare, so someone should
//!   confirm it was planned; red would be cried wolf at every planned root task;
//! - a failed sign-in → amber, root or not: nobody got in, but someone tried;
//! - any other sign-in event or API call by root → amber;
//! - anyone else's sign-in or API call → news (info), its error shown if it had one.

use chrono::{DateTime, Utc};

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("cloudtrail", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    let sign_in = match event.detail_type.as_str() {
        "AWS Console Sign In via CloudTrail" => true,
        "AWS API Call via CloudTrail" => false,
        _ => return None,
    };
    Some(Ok(Body::new(read(sign_in, detail, event))))
}

/// One CloudTrail record: who did what, from where, and how it went.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct TrailRecord {
    /// A console sign-in event rather than an API call.
    pub sign_in: bool,
    /// `ConsoleLogin`, `CreateAccessKey`, …
    pub event_name: Option<String>,
    /// `signin.amazonaws.com`, `iam.amazonaws.com`, …
    pub event_source: Option<String>,
    /// `Root`, `IAMUser`, `AssumedRole`, `FederatedUser`, `IdentityCenterUser`, …
    pub identity_type: Option<String>,
    /// The user name, role session or service, as far as the record says.
    pub who: Option<String>,
    pub identity_arn: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// A sign-in's `Success` or `Failure`.
    pub result: Option<String>,
    /// Whether MFA was used: a sign-in's `MFAUsed`, an API call's session attribute.
    pub mfa: Option<bool>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub event_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

fn read(sign_in: bool, d: &Obj, event: &Event) -> TrailRecord {
    let identity = obj_at(d, "userIdentity");
    let text = |o: Option<&Obj>, key: &str| o.and_then(|o| str_at(o, key));
    let session = identity.and_then(|i| obj_at(i, "sessionContext"));
    let yes_no = |v: String| match v.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    };
    let mfa = text(obj_at(d, "additionalEventData"), "MFAUsed")
        .or_else(|| text(session.and_then(|s| obj_at(s, "attributes")), "mfaAuthenticated"))
        .and_then(yes_no);
    TrailRecord {
        sign_in,
        event_name: str_at(d, "eventName"),
        event_source: str_at(d, "eventSource"),
        identity_type: text(identity, "type"),
        who: identity.and_then(who),
        identity_arn: text(identity, "arn"),
        source_ip: str_at(d, "sourceIPAddress"),
        user_agent: str_at(d, "userAgent"),
        result: text(obj_at(d, "responseElements"), "ConsoleLogin"),
        mfa,
        error_code: str_at(d, "errorCode"),
        error_message: str_at(d, "errorMessage"),
        event_id: str_at(d, "eventID"),
        account: event
            .account
            .clone()
            .or_else(|| str_at(d, "recipientAccountId")),
        region: str_at(d, "awsRegion").or_else(|| event.region.clone()),
        time: time_at(d, "eventTime").or(event.time),
    }
}

/// The name of who acted: a user's name, a role and its session, or the service.
fn who(identity: &Obj) -> Option<String> {
    let arn_tail = str_at(identity, "arn").and_then(|arn| {
        let resource = parse_arn(&arn).map(|a| a.resource.to_owned())?;
        let tail = resource.split_once('/').map(|(_, rest)| rest.to_owned())?;
        non_empty(&tail)
    });
    match str_at(identity, "type").as_deref() {
        Some("Root") => Some("root".into()),
        Some("AssumedRole") => arn_tail,
        Some("AWSService") => str_at(identity, "invokedBy"),
        _ => str_at(identity, "userName")
            .filter(|n| n != "HIDDEN_DUE_TO_SECURITY_REASONS")
            .or(arn_tail)
            .or_else(|| str_at(identity, "principalId")),
    }
}

impl TrailRecord {
    pub(crate) fn is_root(&self) -> bool {
        self.identity_type.as_deref() == Some("Root")
    }

    /// A sign-in that AWS refused.
    pub(crate) fn failed(&self) -> bool {
        self.result
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("failure"))
    }

    fn console_login(&self) -> bool {
        self.sign_in && self.event_name.as_deref() == Some("ConsoleLogin")
    }

    /// How bad it is, by the rule in the module's docs.
    pub(crate) fn severity(&self) -> Severity {
        if self.failed() {
            Severity::Warning
        } else if self.is_root() && self.console_login() && self.mfa != Some(true) {
            Severity::Critical
        } else if self.is_root() {
            Severity::Warning
        } else {
            Severity::Info
        }
    }

    /// `root`, `IAM user alice`, `assumed role deploy/ci-run-42`.
    fn actor(&self) -> String {
        let kind = match self.identity_type.as_deref() {
            Some("Root") => return "root".into(),
            Some("IAMUser") => "IAM user".to_owned(),
            Some("AssumedRole") => "assumed role".to_owned(),
            Some(other) => humanise(other).to_lowercase(),
            None => "unknown identity".to_owned(),
        };
        match &self.who {
            Some(name) => format!("{kind} {name}"),
            None => kind,
        }
    }

    /// `iam:CreateAccessKey`, from the event source and name.
    fn action(&self) -> String {
        let service = self
            .event_source
            .as_deref()
            .map(|s| s.trim_end_matches(".amazonaws.com"));
        match (service, self.event_name.as_deref()) {
            (Some(service), Some(name)) => format!("{service}:{name}"),
            (service, name) => name.or(service).unwrap_or("an API").to_owned(),
        }
    }

    /// The headline's words, before escaping.
    fn summary(&self) -> String {
        let from = self
            .source_ip
            .as_deref()
            .map(|ip| format!(" from {ip}"))
            .unwrap_or_default();
        let mfa = match self.mfa {
            Some(true) => " with MFA",
            Some(false) => " without MFA",
            None => "",
        };
        if self.console_login() && self.failed() {
            format!("Console sign-in FAILED for {}{from}", self.actor())
        } else if self.console_login() && self.is_root() {
            format!("Root console sign-in{mfa}{from}")
        } else if self.console_login() {
            format!("{} signed in to the console{mfa}{from}", capitalise(&self.actor()))
        } else {
            let name = self.event_name.as_deref().unwrap_or("an event");
            let what = if self.sign_in { name.to_owned() } else { self.action() };
            format!("{} called {what}{from}", capitalise(&self.actor()))
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

notice!(TrailRecord, card, |it| it.event_name.clone().unwrap_or_default());

/// The record as a card: who did what from where, how it went, and a link to the event.
pub(crate) fn card(r: &TrailRecord) -> Card {
    let severity = r.severity();
    let summary = r.summary();
    let mut headline = escape_within(&summary, 250);
    let error = match (r.error_code.as_deref(), r.error_message.as_deref()) {
        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
        (code, message) => code.or(message).map(str::to_owned),
    };
    if let Some(error) = &error {
        headline.push_str(&format!(": {}", escape_within(error, 200)));
    }
    let emoji = severity.emoji(if r.sign_in { "🔑" } else { "👣" });
    let mut m = Card::new(emoji, format!("CloudTrail: {summary}"), headline, severity);
    m.fields(vec![
        ("Who", Some(escape(&r.actor()))),
        ("Identity", r.identity_arn.as_deref().map(code)),
        ("Event", Some(code(&r.action()))),
        ("Result", r.result.as_deref().map(escape)),
        (
            "MFA",
            r.mfa.map(|used| if used { "yes" } else { "no" }.to_owned()),
        ),
        ("Error", error.as_deref().map(escape)),
        ("Source IP", r.source_ip.as_deref().map(code)),
        ("Account", r.account.as_deref().map(escape)),
        ("Region", r.region.as_deref().map(escape)),
        ("Time", when(r.time)),
    ]);
    if let Some(agent) = &r.user_agent {
        m.context(vec![format!("User agent: {}", escape_within(agent, 300))]);
    }
    let url = r.event_id.as_deref().and_then(|id| {
        service_console_url(
            partition_of(r.identity_arn.as_deref()),
            r.region.as_deref(),
            &format!("cloudtrailv2/home?region={{region}}#/events/{}", url_encode(id)),
        )
    });
    m.link("Open in CloudTrail", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn record(detail_type: &str, detail: Value) -> Card {
        let event: Event = serde_json::from_value(json!({
            "detail-type": detail_type, "source": "aws.signin", "account": "123456789012",
            "region": "us-east-1", "detail": detail
        }))
        .unwrap();
        let d = event.detail.as_object().cloned().unwrap_or_default();
        from_event(&event, &d).unwrap().unwrap().card()
    }

    fn sign_in(kind: &str, name: Option<&str>, result: &str, mfa: &str) -> Card {
        record(
            "AWS Console Sign In via CloudTrail",
            json!({
                "userIdentity": {"type": kind, "userName": name, "arn": "arn:aws:iam::123456789012:root"},
                "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
                "sourceIPAddress": "198.51.100.7",
                "responseElements": {"ConsoleLogin": result},
                "additionalEventData": {"MFAUsed": mfa},
                "errorMessage": (result == "Failure").then_some("Failed authentication")
            }),
        )
    }

    #[test]
    fn sign_ins_are_judged_by_who_and_how() {
        let root = sign_in("Root", None, "Success", "No");
        assert_eq!(root.headline, "Root console sign-in without MFA from 198.51.100.7");
        assert_eq!(root.severity, Severity::Critical);
        let root_mfa = sign_in("Root", None, "Success", "Yes");
        assert_eq!(root_mfa.headline, "Root console sign-in with MFA from 198.51.100.7");
        assert_eq!(root_mfa.severity, Severity::Warning);
        let failed = sign_in("IAMUser", Some("HIDDEN_DUE_TO_SECURITY_REASONS"), "Failure", "No");
        assert_eq!(
            failed.headline,
            "Console sign-in FAILED for IAM user from 198.51.100.7: Failed authentication"
        );
        assert_eq!(failed.severity, Severity::Warning);
        let user = sign_in("IAMUser", Some("<!here>"), "Success", "Yes");
        assert_eq!(
            user.headline,
            "IAM user &lt;!here&gt; signed in to the console with MFA from 198.51.100.7"
        );
        assert_eq!(user.severity, Severity::Info);
    }

    #[test]
    fn api_calls_name_the_caller_and_the_call() {
        let call = |identity: Value, error: Option<&str>| {
            record(
                "AWS API Call via CloudTrail",
                json!({
                    "userIdentity": identity, "eventSource": "iam.amazonaws.com",
                    "eventName": "CreateAccessKey", "errorCode": error
                }),
            )
        };
        let root = call(json!({"type": "Root", "arn": "arn:aws:iam::1:root"}), None);
        assert_eq!(root.headline, "Root called iam:CreateAccessKey");
        assert_eq!(root.severity, Severity::Warning);
        let role = call(
            json!({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/deploy/ci-42"}),
            Some("AccessDenied"),
        );
        assert_eq!(
            role.headline,
            "Assumed role deploy/ci-42 called iam:CreateAccessKey: AccessDenied"
        );
        assert_eq!(role.severity, Severity::Info);
    }

    #[test]
    fn odd_records_do_not_panic() {
        for detail in [
            json!(null),
            json!({"userIdentity": "root", "responseElements": null, "additionalEventData": 7}),
            json!({"userIdentity": {"type": 1, "arn": ["x"]}, "eventName": {}, "eventTime": "x"}),
        ] {
            let card = record("AWS API Call via CloudTrail", detail.clone());
            assert!(card.headline.contains("called"), "{}", card.headline);
            let card = record("AWS Console Sign In via CloudTrail", detail);
            assert_eq!(card.severity, Severity::Info, "{}", card.headline);
        }
        // A root record that names no event is still root's, and amber.
        let card = record(
            "AWS Console Sign In via CloudTrail",
            json!({"userIdentity": {"type": "Root"}, "eventName": "PasswordRecoveryRequested"}),
        );
        assert_eq!(card.headline, "Root called PasswordRecoveryRequested");
        assert_eq!(card.severity, Severity::Warning);
    }
}
