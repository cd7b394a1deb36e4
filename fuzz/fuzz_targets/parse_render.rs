//! Any bytes: parsing never panics, every notification renders within Slack's limits with no
//! live mention taken from the input, and so does the batch as digests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slack_alarm_notifier::{check_limits, parse_event_bytes, plan, render, RenderOptions};

fn check(payload: &serde_json::Value) {
    if let Err(e) = check_limits(payload) {
        panic!("payload outside Slack's limits: {e}");
    }
    if let Some(text) = payload.get("text").and_then(|t| t.as_str()) {
        assert!(
            !text.contains("<!channel>") && !text.contains("<!here>") && !text.contains("<@"),
            "live mention in {text:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(records) = parse_event_bytes(data) else { return };
    let notifications: Vec<_> = records.into_iter().flatten().collect();
    let options = RenderOptions::default();
    for notification in &notifications {
        check(&render(notification, &options));
    }
    // The same notifications as one batch, digested however few they are.
    let batch: Vec<_> = notifications.iter().collect();
    let messages = plan(&batch, &options, 0);
    let mut named: Vec<usize> = messages.iter().flat_map(|m| m.members.clone()).collect();
    named.sort_unstable();
    assert_eq!(named, (0..batch.len()).collect::<Vec<_>>(), "a notification left out of the digests");
    for message in messages {
        check(&serde_json::to_value(&message.payload).unwrap());
    }
});
