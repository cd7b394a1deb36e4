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
