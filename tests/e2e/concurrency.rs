//! Lambda Managed Instances: one process serving several invocations at once.

use std::time::{Duration, Instant};

use crate::support::{alarm_message, sns_event, Harness, Options};

fn alarm(id: &str) -> serde_json::Value {
    sns_event(&[(id, &alarm_message(id, "ALARM"))])
}

#[tokio::test(flavor = "multi_thread")]
async fn max_concurrency_four_serves_four_invocations_at_once() {
    let h = Harness::start(Options {
        env: vec![
            ("RUST_LOG", "info".into()),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "4".into()),
        ],
        ..Options::default()
    })
    .await;
    // Start-up and the cold secret read happen here, outside what is measured.
    let (outcome, _) = h.invoke(alarm("warm-up")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");

    let hold = Duration::from_secs(1);
    h.slack.hold_replies(hold);
    let started = Instant::now();
    let outcomes = tokio::join!(
        h.invoke(alarm("at-once-0")),
        h.invoke(alarm("at-once-1")),
        h.invoke(alarm("at-once-2")),
        h.invoke(alarm("at-once-3")),
    );
    let wall = started.elapsed();
    let max_in_flight = h.slack.max_in_flight();
    eprintln!(
        "4 invocations, Slack holding each post {hold:?}: {wall:?} wall, {max_in_flight} posts in flight at most"
    );
    for (outcome, _) in [outcomes.0, outcomes.1, outcomes.2, outcomes.3] {
        assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    }
    assert_eq!(h.slack.accepted(&h.hook_path).len(), 5);
    assert_eq!(max_in_flight, 4, "Slack never had the four posts at once");
    // One at a time would take four holds at least.
    assert!(wall < 4 * hold, "took {wall:?}");
}
