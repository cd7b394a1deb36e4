//! Amazon SES feedback: bounce, complaint and delivery notifications on SNS
//! (`notificationType`), the event-publishing form (`eventType`), and the same events on
//! EventBridge (`aws.ses`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, Event, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};
use super::ParseError;

pub(crate) const SOURCE: Source = Source::both("ses", from_event, from_sns);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    (event.source == "aws.ses" && detail.contains_key("mail"))
        .then(|| Ok(Body::new(read(detail, None))))
}

/// SES's JSON: a `notificationType` or `eventType` with the `mail` it is about, or the
/// message confirming a topic was subscribed.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let obj = message.object()?;
    let kind = kind_of(obj)?;
    let is_ses = obj_at(obj, "mail").is_some() || kind == "AmazonSnsSubscriptionSucceeded";
    is_ses.then(|| Body::new(read(obj, message.topic_arn.as_deref())))
}

/// `notificationType`, or `eventType` in the event-publishing form: text, never a number.
fn kind_of(obj: &Obj) -> Option<String> {
    ["notificationType", "eventType"]
        .iter()
        .find_map(|key| obj.get(*key)?.as_str())
        .and_then(|kind| non_empty(kind.trim()))
}

/// One SES notification about one message sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct SesNotice {
    /// `Bounce`, `Complaint`, `Delivery`, `Reject`, `DeliveryDelay`, …
    pub kind: String,
    /// `Permanent`, `Transient` or `Undetermined`.
    pub bounce_type: Option<String>,
    pub bounce_sub_type: Option<String>,
    /// A complaint's type: `abuse`, `fraud`, …
    pub feedback_type: Option<String>,
    /// Why: a reject's reason, a rendering failure's error, a delay's type.
    pub reason: Option<String>,
    /// The recipients this notification is about, else the message's.
    pub recipients: Vec<Recipient>,
    /// The sender (`mail.source`).
    pub from: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    /// The sending identity's ARN (`…:identity/example.com`).
    pub source_arn: Option<String>,
    pub account: Option<String>,
    pub configuration_set: Option<String>,
    pub smtp_response: Option<String>,
    pub reporting_mta: Option<String>,
    pub remote_mta_ip: Option<String>,
    pub template: Option<String>,
    /// The subscription confirmation's text.
    pub text: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub topic_arn: Option<String>,
}

/// One recipient and what the receiving server said about it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Recipient {
    pub address: String,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
}

/// The key of the object that describes each kind of notification.
fn kind_key(kind: &str) -> String {
    match kind {
        "Rendering Failure" => "failure".into(),
        "DeliveryDelay" => "deliveryDelay".into(),
        other => {
            let mut chars = other.chars();
            chars
                .next()
                .map(|c| c.to_lowercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

fn read(obj: &Obj, topic_arn: Option<&str>) -> SesNotice {
    let kind = kind_of(obj).unwrap_or_else(|| "Notification".into());
    let empty = Obj::new();
    let what = obj_at(obj, &kind_key(&kind)).unwrap_or(&empty);
    let mail = obj_at(obj, "mail").unwrap_or(&empty);
    let headers = obj_at(mail, "commonHeaders");
    let recipient = |v: &Value| match v {
        Value::String(s) => non_empty(s.trim()).map(|address| Recipient {
            address,
            ..Recipient::default()
        }),
        Value::Object(r) => str_at(r, "emailAddress").map(|address| Recipient {
            address,
            status: str_at(r, "status"),
            diagnostic: str_at(r, "diagnosticCode"),
        }),
        _ => None,
    };
    let listed: Vec<Recipient> = [
        "bouncedRecipients",
        "complainedRecipients",
        "delayedRecipients",
        "recipients",
    ]
    .iter()
    .flat_map(|key| arr_at(what, key))
    .filter_map(recipient)
    .collect();
    let recipients = if listed.is_empty() {
        arr_at(mail, "destination")
            .iter()
            .filter_map(recipient)
            .collect()
    } else {
        listed
    };
    let tag = |name: &str| {
        obj_at(mail, "tags")
            .map(|tags| arr_at(tags, name))
            .and_then(|values| values.first())
            .and_then(Value::as_str)
            .and_then(|s| non_empty(s.trim()))
    };
    let source_arn = str_at(mail, "sourceArn");
    SesNotice {
        bounce_type: str_at(what, "bounceType"),
        bounce_sub_type: str_at(what, "bounceSubType"),
        feedback_type: str_at(what, "complaintFeedbackType"),
        reason: str_at(what, "reason")
            .or_else(|| str_at(what, "errorMessage"))
            .or_else(|| str_at(what, "delayType")),
        recipients,
        from: str_at(mail, "source"),
        subject: headers.and_then(|h| str_at(h, "subject")),
        message_id: str_at(mail, "messageId"),
        account: str_at(mail, "sendingAccountId").or_else(|| {
            source_arn
                .as_deref()
                .and_then(parse_arn)
                .and_then(|a| non_empty(a.account))
        }),
        source_arn,
        configuration_set: tag("ses:configuration-set"),
        smtp_response: str_at(what, "smtpResponse"),
        reporting_mta: str_at(what, "reportingMTA"),
        remote_mta_ip: str_at(what, "remoteMtaIp"),
        template: str_at(what, "templateName"),
        text: str_at(obj, "message"),
        time: time_at(what, "timestamp").or_else(|| time_at(mail, "timestamp")),
        topic_arn: topic_arn.map(str::to_owned),
        kind,
    }
}

impl SesNotice {
    fn is_bounce(&self) -> bool {
        self.kind == "Bounce"
    }

    /// The sending identity, from its ARN: a domain or an address.
    pub(crate) fn identity(&self) -> Option<&str> {
        let arn = parse_arn(self.source_arn.as_deref()?)?;
        arn.resource
            .strip_prefix("identity/")
            .filter(|i| !i.is_empty())
    }

    /// The region of the sending identity, else of the topic.
    pub(crate) fn region(&self) -> Option<String> {
        [self.source_arn.as_deref(), self.topic_arn.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(parse_arn)
            .find_map(|a| non_empty(a.region).filter(|r| is_region_code(r)))
    }

    /// What happened, in words: `permanent bounce`, `complaint`, `delivery delay`.
    fn what(&self) -> String {
        match (self.kind.as_str(), self.bounce_type.as_deref()) {
            ("Bounce", Some(t)) => format!("{} bounce", t.to_lowercase()),
            ("AmazonSnsSubscriptionSucceeded", _) => "notifications subscribed".into(),
            (kind, _) => humanise(kind).to_lowercase(),
        }
    }

    /// The detail in brackets after the recipients: the bounce's subtype, the complaint's
    /// type, the reason.
    fn qualifier(&self) -> Option<&str> {
        if self.is_bounce() {
            self.bounce_sub_type.as_deref()
        } else {
            self.feedback_type
                .as_deref()
                .or(self.reason.as_deref())
                .or(self.template.as_deref())
        }
    }
}

/// A permanent bounce or a complaint hurts the sender's reputation: amber. Mail SES refused
/// to send or could not render is red, a delay amber, a delivery green; the rest routine.
pub(crate) fn severity(n: &SesNotice) -> Severity {
    match n.kind.as_str() {
        "Bounce" => match n.bounce_type.as_deref() {
            Some("Permanent") => Severity::Warning,
            _ => Severity::Info,
        },
        "Complaint" | "DeliveryDelay" => Severity::Warning,
        "Reject" | "Rendering Failure" => Severity::Error,
        "Delivery" => Severity::Ok,
        _ => Severity::Info,
    }
}

notice!(SesNotice, card, |it| it.kind.clone());

/// How many recipients a card lists.
const MAX_RECIPIENTS: usize = 10;

/// The notification as a card: what happened to whom, each recipient's diagnostic, the
/// message it was about, and a link to the sending identity.
pub(crate) fn card(n: &SesNotice) -> Card {
    let severity = severity(n);
    let emoji = severity.emoji("✉️");
    let what = n.what();
    let who = n.recipients.first().map(|first| match n.recipients.len() {
        1 => first.address.clone(),
        len => format!("{} and {} more", first.address, len - 1),
    });
    let qualifier = n.qualifier();
    let title = match &who {
        Some(who) => format!("SES {what}: {who}"),
        None => format!("SES {what}"),
    };
    let mut headline = format!("SES {}", escape(&what));
    match (&who, n.text.as_deref()) {
        (Some(who), _) => headline.push_str(&format!(": {}", escape_within(who, 200))),
        (None, Some(text)) => headline.push_str(&format!(": {}", escape_within(text, 200))),
        (None, None) => {}
    }
    if let Some(q) = qualifier {
        headline.push_str(&format!(" ({})", escape_within(q, 100)));
    }
    let mut m = Card::new(emoji, title, headline, severity);
    let lines: Vec<String> = n
        .recipients
        .iter()
        .map(|r| {
            let mut line = r.address.clone();
            if let Some(status) = &r.status {
                line.push_str(&format!(" ({status})"));
            }
            if let Some(diagnostic) = &r.diagnostic {
                line.push_str(&format!(": {diagnostic}"));
            }
            line
        })
        .collect();
    if let Some(list) = bullets(&lines, MAX_RECIPIENTS) {
        m.section(format!("*Recipients*\n{list}"));
    }
    if n.recipients.is_empty() {
        m.titled("Message", n.text.as_deref());
    }
    let kind = match (n.bounce_type.as_deref(), n.bounce_sub_type.as_deref()) {
        (Some(t), Some(sub)) => Some(format!("{} / {}", escape(t), escape(sub))),
        (Some(t), None) => Some(escape(t)),
        _ => None,
    };
    m.fields(vec![
        ("Bounce type", kind),
        ("Complaint type", n.feedback_type.as_deref().map(escape)),
        ("Reason", n.reason.as_deref().map(|r| escape_within(r, 500))),
        ("Template", n.template.as_deref().map(escape)),
        ("From", n.from.as_deref().map(escape)),
        ("Subject", n.subject.as_deref().map(|s| escape_within(s, 300))),
        ("SMTP response", n.smtp_response.as_deref().map(code)),
        ("Reporting MTA", n.reporting_mta.as_deref().map(escape)),
        ("Remote MTA IP", n.remote_mta_ip.as_deref().map(escape)),
        ("Configuration set", n.configuration_set.as_deref().map(escape)),
        ("Message ID", n.message_id.as_deref().map(code)),
        ("Account", n.account.as_deref().map(escape)),
        ("Region", n.region().as_deref().map(escape)),
        ("When", when(n.time)),
    ]);
    let region = n.region();
    let url = n.identity().and_then(|identity| {
        service_console_url(
            partition_of(n.source_arn.as_deref()),
            region.as_deref(),
            &format!("ses/home?region={{region}}#/identities/{}", url_encode(identity)),
        )
    });
    m.link("Open identity in SES", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(json: &str) -> Option<SesNotice> {
        let message = SnsMessage::new(None, json, None);
        from_sns(&message)?;
        Some(read(message.object()?, None))
    }

    #[test]
    fn a_permanent_bounce_names_its_recipients() {
        let n = notice(
            r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
            "bouncedRecipients":[{"emailAddress":"alice@example.com","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"},
            {"emailAddress":"bob@example.com"}],"timestamp":"2026-11-20T10:00:00.000Z"},
            "mail":{"source":"orders@example.com","sourceArn":"arn:aws:ses:eu-west-1:123456789012:identity/example.com",
            "destination":["alice@example.com","bob@example.com"],"commonHeaders":{"subject":"Your order"}}}"#,
        )
        .unwrap();
        assert_eq!(n.identity(), Some("example.com"));
        assert_eq!(n.region().as_deref(), Some("eu-west-1"));
        assert_eq!(n.account.as_deref(), Some("123456789012"));
        let shown = card(&n);
        assert_eq!(shown.severity, Severity::Warning);
        assert_eq!(
            shown.headline,
            "SES permanent bounce: alice@example.com and 1 more (General)"
        );
    }

    #[test]
    fn each_kind_has_its_severity() {
        let of = |json: &str| severity(&notice(json).unwrap());
        let with = |rest: &str| format!(r#"{{"mail":{{}},{rest}}}"#);
        assert_eq!(
            of(&with(r#""notificationType":"Bounce","bounce":{"bounceType":"Transient"}"#)),
            Severity::Info
        );
        assert_eq!(of(&with(r#""notificationType":"Complaint""#)), Severity::Warning);
        assert_eq!(of(&with(r#""eventType":"Delivery""#)), Severity::Ok);
        assert_eq!(
            of(&with(r#""eventType":"Reject","reject":{"reason":"Bad content"}"#)),
            Severity::Error
        );
        assert_eq!(of(&with(r#""eventType":"Open""#)), Severity::Info);
    }

    #[test]
    fn odd_notifications_do_not_panic() {
        // Not SES's.
        for json in [
            r#"{"notificationType":"Bounce"}"#,
            r#"{"mail":{}}"#,
            r#"{"notificationType":5,"mail":{}}"#,
            "Bounce",
        ] {
            assert!(notice(json).is_none(), "{json}");
        }
        // Wrong types and nulls everywhere.
        let n = notice(
            r#"{"eventType":"Bounce","mail":{"destination":"x","commonHeaders":null,"tags":[1]},
            "bounce":{"bounceType":null,"bouncedRecipients":[null,7,{"emailAddress":null},{"emailAddress":"a@b.c"}]}}"#,
        )
        .unwrap();
        assert_eq!(n.recipients.len(), 1);
        let shown = card(&n);
        assert_eq!(shown.headline, "SES bounce: a@b.c");
        assert_eq!(shown.severity, Severity::Info);
        // The subscription confirmation.
        let n = notice(r#"{"notificationType":"AmazonSnsSubscriptionSucceeded","message":"You have successfully subscribed <x>"}"#)
            .unwrap();
        assert_eq!(
            card(&n).headline,
            "SES notifications subscribed: You have successfully subscribed &lt;x&gt;"
        );
    }
}
