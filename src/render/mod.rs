//! Notification → Slack payload: its source makes a card, and [`blocks`] lays the card out;
//! a queue batch's many notifications become [`digest`]s. Pure: no I/O, no env.

pub(crate) mod blocks;
pub(crate) mod controls;
pub(crate) mod digest;

use serde_json::Value;

pub use crate::model::card::colour;
use crate::model::{Body, Notification};
pub use blocks::check_limits;
pub(crate) use blocks::Payload;

/// Rendering choices that come from configuration, not from the event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderOptions {
    /// Slack mention added to ALARM notifications, e.g. `<!here>`.
    pub mention: Option<String>,
    /// The mention goes on error and critical notifications too (a route's mention).
    pub mention_severe: bool,
}

impl RenderOptions {
    /// Whether a notification whose card is `card` gets the mention.
    pub(crate) fn mentions(&self, card: &crate::model::card::Card) -> bool {
        use crate::model::card::Severity;
        self.mention.is_some()
            && (card.mention
                || (self.mention_severe
                    && matches!(card.severity, Severity::Error | Severity::Critical)))
    }
}

/// Renders one notification as the exact body posted to the webhook (without `channel`).
pub(crate) fn render_payload(notification: &Notification, options: &RenderOptions) -> Payload {
    let card = notification.body.card();
    let mention = options
        .mention
        .as_deref()
        .filter(|_| options.mentions(&card));
    blocks::payload(&card, mention)
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
            mention_severe: false,
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
    fn a_routes_mention_goes_on_error_and_critical_notifications_too() {
        let severe = |text: &str| {
            let body = crate::sources::parse_sns_message(None, text, None).unwrap();
            Notification::new(None, body)
        };
        // An ECS task stopped by an error is an error card; a plain text notice is info.
        let error = severe(
            r#"{"source":"aws.ecs","detail-type":"ECS Task State Change","detail":{"lastStatus":"STOPPED","stopCode":"EssentialContainerExited","stoppedReason":"Essential container in task exited","containers":[{"name":"app","exitCode":1}]}}"#,
        );
        let info = severe("hello");
        assert!(matches!(
            error.body.card().severity,
            crate::model::card::Severity::Error | crate::model::card::Severity::Critical
        ));
        let route = RenderOptions {
            mention: Some("<!subteam^S1>".into()),
            mention_severe: true,
        };
        let global = RenderOptions {
            mention_severe: false,
            ..route.clone()
        };
        assert!(render(&error, &route).to_string().contains("<!subteam^S1>"));
        assert!(!render(&error, &global)
            .to_string()
            .contains("<!subteam^S1>"));
        assert!(!render(&info, &route).to_string().contains("<!subteam^S1>"));
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
