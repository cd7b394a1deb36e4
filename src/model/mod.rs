//! What flows between the stages: a [`Notification`] (an id and a [`Body`]), the [`Notice`]
//! every source's type is, the neutral [`card::Card`] it becomes, and the alarm type the
//! later stages share. Pure: no I/O.

pub mod alarm;
pub mod card;
mod error;
pub mod mrkdwn;

pub use alarm::{Alarm, AlarmState};
pub use error::{at, malformed, ParseError};

use card::Card;

/// One thing to tell Slack about: an alarm, another AWS notification, or plain text.
#[derive(Debug)]
pub struct Notification {
    /// Identity used to drop redeliveries (the SNS `MessageId` or the EventBridge `id`).
    pub id: Option<String>,
    pub body: Body,
    /// What its envelope said of where it came from.
    pub origin: Origin,
}

impl Notification {
    /// A notification whose envelope said nothing of where it came from.
    pub fn new(id: Option<String>, body: Body) -> Self {
        Self {
            id,
            body,
            origin: Origin::default(),
        }
    }
}

/// Where a notification came from, as its envelope says: what routes match on beside its
/// body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The SNS topic it was published to.
    pub topic: Option<String>,
    /// An EventBridge event's `detail-type`.
    pub detail_type: Option<String>,
    /// The account and region of the event, else of the topic (an alarm says its own).
    pub account: Option<String>,
    pub region: Option<String>,
}

impl Origin {
    /// What an SNS topic's ARN says: the topic, its account and region.
    pub fn of_topic(topic: Option<String>) -> Self {
        let arn = topic.as_deref().and_then(|t| {
            let mut parts = t.splitn(6, ':');
            (parts.next() == Some("arn")).then_some(())?;
            let (_partition, _service) = (parts.next()?, parts.next()?);
            Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
        });
        let (region, account) = arn.unwrap_or_default();
        let present = |s: String| (!s.is_empty()).then_some(s);
        Self {
            topic,
            detail_type: None,
            account: present(account),
            region: present(region),
        }
    }

    /// This origin with what an EventBridge event carried inside it says, where it says it.
    pub fn with_event(self, event: Origin) -> Self {
        Self {
            topic: self.topic,
            detail_type: event.detail_type.or(self.detail_type),
            account: event.account.or(self.account),
            region: event.region.or(self.region),
        }
    }
}

/// What a source reads a notification into: its own type, which makes its card.
pub trait Notice: std::fmt::Debug + Send + Sync {
    /// The card for Slack.
    fn card(&self) -> Card;

    /// Its source's label and a short name, for logs.
    fn describe(&self) -> (&'static str, String);
}

/// What a notification is about, in its source's own types. Alarms are kept apart: they
/// are filtered by name and state, which no other source is.
#[derive(Debug)]
pub enum Body {
    Alarm(Box<Alarm>),
    Other(Box<dyn Notice>),
}

impl Body {
    /// Any source's notice but an alarm's.
    pub fn new(notice: impl Notice + 'static) -> Self {
        Body::Other(Box::new(notice))
    }

    fn notice(&self) -> &dyn Notice {
        match self {
            Body::Alarm(alarm) => alarm.as_ref(),
            Body::Other(notice) => notice.as_ref(),
        }
    }

    /// The card its source makes of it.
    pub fn card(&self) -> Card {
        self.notice().card()
    }

    /// Its source's label and a short name, for logs.
    pub fn describe(&self) -> (&'static str, String) {
        self.notice().describe()
    }
}
