//! Elastic Beanstalk environment notifications: the text an environment's notification topic
//! carries (`Timestamp: …`, `Message: …`, `Environment: …`, `Application: …` lines).

use chrono::{DateTime, NaiveDateTime, Utc};

use super::shared::*;
use super::{Body, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};

pub(crate) const SOURCE: Source = Source::messages("elasticbeanstalk", from_sns);

const SUBJECT_PREFIX: &str = "AWS Elastic Beanstalk Notification";

/// Text only: the subject names Elastic Beanstalk, or the text has the environment's lines.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    if message.is_document() {
        return None;
    }
    let notice = read(
        message.subject.as_deref(),
        message.text,
        message.topic_arn.as_deref(),
    );
    let by_subject = message
        .subject
        .as_deref()
        .is_some_and(|s| s.trim_start().starts_with(SUBJECT_PREFIX));
    let by_text = notice.message.is_some()
        && notice.environment.is_some()
        && notice.process_id.is_some();
    (by_subject || by_text).then(|| Body::new(notice))
}

/// One notification about an Elastic Beanstalk environment.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct BeanstalkNotice {
    /// What happened, e.g. `Environment health has transitioned from Ok to Severe. …`.
    pub message: Option<String>,
    pub environment: Option<String>,
    pub application: Option<String>,
    pub url: Option<String>,
    /// As Elastic Beanstalk writes it: `Tue Sep 18 01:53:46 UTC 2018`.
    pub timestamp: Option<String>,
    pub request_id: Option<String>,
    pub process_id: Option<String>,
    pub topic_arn: Option<String>,
}

/// The labels of a notification's lines; a line with none of them continues the one before.
const LABELS: [&str; 7] = [
    "Environment URL",
    "Environment",
    "Application",
    "Timestamp",
    "Message",
    "RequestId",
    "NotificationProcessId",
];

fn read(subject: Option<&str>, text: &str, topic_arn: Option<&str>) -> BeanstalkNotice {
    let mut fields: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        let labelled = LABELS.iter().find_map(|label| {
            let rest = line.trim_start().strip_prefix(label)?.strip_prefix(':')?;
            Some((*label, rest.trim()))
        });
        match (labelled, fields.last_mut()) {
            (Some((label, value)), _) => fields.push((label, value.to_owned())),
            (None, Some(("Message", message))) if !line.trim().is_empty() => {
                message.push(' ');
                message.push_str(line.trim());
            }
            _ => {}
        }
    }
    let get = |label: &str| {
        fields
            .iter()
            .find(|(l, _)| *l == label)
            .and_then(|(_, v)| non_empty(v.trim()))
    };
    // The subject repeats the message, cut short; it stands in when the text has none.
    let from_subject = subject
        .and_then(|s| s.trim().strip_prefix(SUBJECT_PREFIX))
        .map(|s| s.trim_start_matches([' ', '-']).trim().to_owned())
        .filter(|s| !s.is_empty());
    BeanstalkNotice {
        message: get("Message").or(from_subject),
        environment: get("Environment"),
        application: get("Application"),
        url: get("Environment URL"),
        timestamp: get("Timestamp"),
        request_id: get("RequestId"),
        process_id: get("NotificationProcessId"),
        topic_arn: topic_arn.map(str::to_owned),
    }
}

impl BeanstalkNotice {
    /// `(from, to)` of `Environment health has transitioned from Ok to Severe.`
    pub(crate) fn health_transition(&self) -> Option<(&str, &str)> {
        let message = self.message.as_deref()?;
        let at = message.find("has transitioned from ")?;
        let rest = &message[at + "has transitioned from ".len()..];
        let (from, rest) = rest.split_once(" to ")?;
        let to = rest.split(['.', ',', ';', '\n']).next()?.trim();
        let from = from.trim();
        (!from.is_empty() && !to.is_empty() && from.len() <= 20 && to.len() <= 20)
            .then_some((from, to))
    }

    /// What the message adds after its first sentence (for a health change, the causes).
    fn detail(&self) -> Option<&str> {
        let message = self.message.as_deref()?;
        let (_, rest) = message.split_once(". ")?;
        Some(rest.trim()).filter(|r| !r.is_empty())
    }

    /// The region in the environment's URL (`…​.us-east-1.elasticbeanstalk.com`), else the
    /// topic's.
    pub(crate) fn region(&self) -> Option<String> {
        let from_url = self.url.as_deref().and_then(|url| {
            let host = url.split("://").last()?.split(['/', ':']).next()?;
            let labels: Vec<&str> = host.split('.').collect();
            let at = labels.iter().position(|l| *l == "elasticbeanstalk")?;
            let region = labels.get(at.checked_sub(1)?)?;
            is_region_code(region).then(|| (*region).to_owned())
        });
        from_url.or_else(|| {
            let arn = parse_arn(self.topic_arn.as_deref()?)?;
            non_empty(arn.region).filter(|r| is_region_code(r))
        })
    }

    fn account(&self) -> Option<String> {
        let arn = parse_arn(self.topic_arn.as_deref()?)?;
        non_empty(arn.account)
    }

    pub(crate) fn time(&self) -> Option<DateTime<Utc>> {
        let raw = self.timestamp.as_deref()?.trim();
        parse_time(raw).or_else(|| {
            // `Tue Sep 18 01:53:46 UTC 2018`: always UTC.
            let without_zone = raw.replacen(" UTC ", " ", 1);
            NaiveDateTime::parse_from_str(&without_zone, "%a %b %d %H:%M:%S %Y")
                .ok()
                .map(|t| t.and_utc())
        })
    }
}

/// A health status's severity: enhanced health (Severe, Degraded, Warning, Ok) and basic
/// health's colours (Red, Yellow, Green).
pub(crate) fn health_severity(status: &str) -> Severity {
    match status.to_ascii_lowercase().as_str() {
        "severe" | "red" => Severity::Error,
        "degraded" | "warning" | "yellow" => Severity::Warning,
        "ok" | "green" => Severity::Ok,
        _ => Severity::Info,
    }
}

/// Words that mean an operation failed.
const FAILURE_WORDS: [&str; 7] = [
    "failed",
    "failure",
    "error",
    "unable to",
    "could not",
    "timed out",
    "aborted",
];

/// How bad the news is: a health change by where it ended, otherwise failures red, work
/// done green, the rest routine.
pub(crate) fn severity(n: &BeanstalkNotice) -> Severity {
    if let Some((_, to)) = n.health_transition() {
        return health_severity(to);
    }
    let message = n.message.as_deref().unwrap_or_default().to_ascii_lowercase();
    if FAILURE_WORDS.iter().any(|w| message.contains(w)) {
        Severity::Error
    } else if message.contains("successfully")
        || message.contains("was deployed to running")
        || message.contains("completed successfully")
    {
        Severity::Ok
    } else {
        Severity::Info
    }
}

notice!(BeanstalkNotice, card, |it| it.environment.clone().unwrap_or_default());

/// The notification as a card: the environment, what happened to it, and a link to its
/// application in the Elastic Beanstalk console.
pub(crate) fn card(n: &BeanstalkNotice) -> Card {
    let severity = severity(n);
    let emoji = severity.emoji("🌱");
    let environment = n.environment.as_deref().unwrap_or("environment");
    let message = n.message.as_deref().unwrap_or("notification");
    let (title, headline) = match n.health_transition() {
        Some((from, to)) => {
            let detail = n
                .detail()
                .map(|d| format!(": {}", escape_within(d, 200)))
                .unwrap_or_default();
            (
                format!("Elastic Beanstalk {environment} health is {to}"),
                format!(
                    "Elastic Beanstalk {} health is {} (was {}){detail}",
                    escape(environment),
                    escape(to),
                    escape(from)
                ),
            )
        }
        None => (
            format!("Elastic Beanstalk {environment}"),
            format!(
                "Elastic Beanstalk {}: {}",
                escape(environment),
                escape_within(message, 200)
            ),
        ),
    };
    let mut m = Card::new(emoji, title, headline, severity);
    m.titled("Message", n.message.as_deref());
    let region = n.region();
    m.fields(vec![
        ("Environment", n.environment.as_deref().map(escape)),
        ("Application", n.application.as_deref().map(escape)),
        (
            "Health",
            n.health_transition()
                .map(|(from, to)| format!("{} → {}", escape(from), escape(to))),
        ),
        ("URL", n.url.as_deref().map(escape)),
        ("Account", n.account().as_deref().map(escape)),
        ("Region", region.as_deref().map(escape)),
        (
            "When",
            when(n.time()).or_else(|| n.timestamp.as_deref().map(escape)),
        ),
        ("Request ID", n.request_id.as_deref().map(code)),
    ]);
    // The notification names the environment but not its id, which the environment's own
    // page needs: the application's page lists its environments.
    let url = n.application.as_deref().and_then(|app| {
        service_console_url(
            partition_of(n.topic_arn.as_deref()),
            region.as_deref(),
            &format!(
                "elasticbeanstalk/home?region={{region}}#/application/overview?applicationName={}",
                url_encode(app)
            ),
        )
    });
    m.link("Open in Elastic Beanstalk", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEVERE: &str = "Timestamp: Fri Nov 20 14:05:12 UTC 2026\nMessage: Environment health has transitioned from Ok to Severe. 100.0 % of the requests are failing with HTTP 5xx.\n\nEnvironment: orders-api-prod\nApplication: orders-api\n\nEnvironment URL: http://orders-api-prod.eba-x7k2p9qm.eu-west-1.elasticbeanstalk.com\nNotificationProcessId: 1f3a5c7e-9b1d-4f3a-8c5e-7a9b1d3f5a7c";

    fn notice(subject: Option<&str>, text: &str) -> Option<BeanstalkNotice> {
        let message = SnsMessage::new(subject.map(str::to_owned), text, None);
        from_sns(&message)?;
        Some(read(subject, text, None))
    }

    #[test]
    fn a_health_change_reads_its_lines() {
        let n = notice(None, SEVERE).unwrap();
        assert_eq!(n.environment.as_deref(), Some("orders-api-prod"));
        assert_eq!(n.application.as_deref(), Some("orders-api"));
        assert_eq!(n.health_transition(), Some(("Ok", "Severe")));
        assert_eq!(n.region().as_deref(), Some("eu-west-1"));
        assert_eq!(
            n.time().map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-20T14:05:12+00:00")
        );
        let card = card(&n);
        assert_eq!(card.severity, Severity::Error);
        assert_eq!(
            card.headline,
            "Elastic Beanstalk orders-api-prod health is Severe (was Ok): 100.0 % of the requests are failing with HTTP 5xx."
        );
    }

    #[test]
    fn severity_follows_the_message() {
        let of = |message: &str| {
            severity(&BeanstalkNotice {
                message: Some(message.into()),
                ..BeanstalkNotice::default()
            })
        };
        assert_eq!(
            of("Environment health has transitioned from Ok to Degraded."),
            Severity::Warning
        );
        assert_eq!(
            of("Environment health has transitioned from Severe to Ok."),
            Severity::Ok
        );
        assert_eq!(
            of("Environment health has transitioned from Ok to Info. Application update in progress."),
            Severity::Info
        );
        assert_eq!(
            of("Environment health has transitioned from GREEN to RED."),
            Severity::Error
        );
        assert_eq!(
            of("Failed to deploy application. Unsuccessful command execution on instance id(s) 'i-1'."),
            Severity::Error
        );
        assert_eq!(
            of("New application version was deployed to running EC2 instances."),
            Severity::Ok
        );
        assert_eq!(of("Environment update is starting."), Severity::Info);
        assert_eq!(of(""), Severity::Info);
    }

    #[test]
    fn odd_notifications_do_not_panic() {
        // Only the subject: its message stands in.
        let n = notice(
            Some("AWS Elastic Beanstalk Notification - Environment health has transitioned from Ok to Warning"),
            "",
        )
        .unwrap();
        assert_eq!(n.health_transition(), Some(("Ok", "Warning")));
        assert_eq!(
            card(&n).headline,
            "Elastic Beanstalk environment health is Warning (was Ok)"
        );
        // Not Elastic Beanstalk's.
        assert!(notice(Some("Hello"), "Message: hi\nEnvironment: x").is_none());
        assert!(notice(Some(SUBJECT_PREFIX), "{\"Message\":1}").is_none());
        // A message over several lines, a bad time, a URL without a region.
        let n = notice(
            Some(SUBJECT_PREFIX),
            "Timestamp: yesterday\nMessage: Failed to deploy\n  on 2 instances.\nEnvironment: a <!here>\nEnvironment URL: http://example.com\nhas transitioned from  to ",
        )
        .unwrap();
        assert_eq!(n.message.as_deref(), Some("Failed to deploy on 2 instances."));
        assert_eq!((n.time(), n.region()), (None, None));
        let card = card(&n);
        assert_eq!(card.severity, Severity::Error);
        assert!(card.headline.contains("a &lt;!here&gt;"), "{}", card.headline);
    }
}
