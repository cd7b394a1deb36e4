//! The notification: what parsing produces and rendering consumes. Its body is in its
//! source's own types (see [`crate::sources`]).

pub use crate::sources::cloudwatch_alarm::{Alarm, AlarmState};
pub use crate::sources::Body;

/// One thing to tell Slack about: an alarm, another AWS notification, or plain text.
#[derive(Debug)]
pub struct Notification {
    /// Identity used to drop redeliveries (the SNS `MessageId` or the EventBridge `id`).
    pub id: Option<String>,
    pub body: Body,
}
