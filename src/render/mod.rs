//! Notification → Slack payload: its source makes a card, and [`blocks`] lays the card out;
//! a queue batch's many notifications become [`digest`]s. Pure: no I/O, no env.

pub(crate) mod blocks;
pub(crate) mod digest;

use serde_json::Value;

pub use crate::model::card::colour;
use crate::model::{Body, Notification};
pub use blocks::check_limits;
pub(crate) use blocks::Payload;

/// Rendering choices that come from configuration, not from the event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderOptions {
    /// Slack mention added to ALARM notifications only, e.g. `<!here>`.
    pub mention: Option<String>,
}

/// Renders one notification as the exact body posted to the webhook (without `channel`).
pub(crate) fn render_payload(notification: &Notification, options: &RenderOptions) -> Payload {
    blocks::payload(&notification.body.card(), options.mention.as_deref())
}

/// [`render_payload`] as a JSON value, for printing and inspection.
pub fn render(notification: &Notification, options: &RenderOptions) -> Value {
    serde_json::to_value(render_payload(notification, options)).unwrap_or_default()
}

/// A short label used in logs and metrics.
pub(crate) fn describe(body: &Body) -> (&'static str, String) {
    body.describe()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alarm::{Alarm, AlarmState};
    use crate::sources::cloudwatch_alarm::tests::metric_alarm;

    #[test]
    fn mention_only_for_alarm_state() {
        let options = RenderOptions {
            mention: Some("<!here>".into()),
        };
        let mut a = metric_alarm();
        let n = |a: &Alarm| Notification::new(None, Body::Alarm(Box::new(a.clone())));
        let payload = render(&n(&a), &options).to_string();
        assert!(payload.contains("<!here>"));
        a.state = AlarmState::Ok;
        let payload = render(&n(&a), &options).to_string();
        assert!(!payload.contains("<!here>"));
    }

    #[test]
    fn fallback_reads_like_the_original() {
        let n = Notification::new(None, Body::Alarm(Box::new(metric_alarm())));
        let payload = render(&n, &RenderOptions::default());
        assert_eq!(
            payload["text"],
            "cpu-high state is now ALARM: Threshold Crossed"
        );
        assert_eq!(payload["attachments"][0]["color"], colour::ALARM);
        check_limits(&payload).unwrap();
    }
}
