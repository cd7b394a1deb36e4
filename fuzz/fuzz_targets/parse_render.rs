//! Any bytes: parsing never panics, and every notification renders within Slack's limits
//! with no live mention taken from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slack_alarm_notifier::parse::parse_event_bytes;
use slack_alarm_notifier::render::{check_limits, render, RenderOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(records) = parse_event_bytes(data) else { return };
    for notification in records.into_iter().flatten() {
        let payload = render(&notification, &RenderOptions::default());
        if let Err(e) = check_limits(&payload) {
            panic!("payload outside Slack's limits: {e}");
        }
        if let Some(text) = payload.get("text").and_then(|t| t.as_str()) {
            assert!(!text.contains("<!channel>") && !text.contains("<!here>") && !text.contains("<@"), "live mention in {text:?}");
        }
    }
});
