//! Secrets never reach the logs, at the most verbose level, on success and failure alike.

use serde_json::json;

use crate::support::slack::error;
use crate::support::{alarm_message, sns_event, Harness, Options};

#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_never_contain_the_webhook_or_secret_fields() {
    let h = Harness::start(Options {
        secret: Some(Box::new(|url| {
            json!({"SLACK_HOOK_URL": url, "SLACK_CHANNEL": "#channel-from-secret"}).to_string()
        })),
        env: vec![("RUST_LOG", "trace".into())],
    })
    .await;
    let e = |id: &str| sns_event(&[(id, &alarm_message("hygiene", "ALARM"))]);
    assert_eq!(h.invoke(e("ok-1")).await.0.response()["delivered"], 1);
    h.slack.script(
        &h.hook_path,
        [error(500, "rollup_error"), error(404, "no_service")],
    );
    let (failed, _) = h.invoke(e("fail-1")).await;
    let (_, message) = failed.error();
    h.slack
        .script(&h.hook_path, [crate::support::slack::rate_limited(1)]);
    assert_eq!(h.invoke(e("ok-2")).await.0.response()["delivered"], 1);

    let output = h.function.output();
    assert!(
        output.contains("TRACE") || output.contains("trace"),
        "the test must run at trace level"
    );
    assert!(
        output.len() > 10_000,
        "expected verbose logs, got {} bytes",
        output.len()
    );
    let secret_path = h.hook_path.rsplit('/').next().unwrap();
    for leaked in [h.hook_path.as_str(), secret_path, "channel-from-secret"] {
        let lines: Vec<&str> = output.lines().filter(|l| l.contains(leaked)).collect();
        assert!(
            lines.is_empty(),
            "log output contains {leaked:?}:\n{}",
            lines.join("\n")
        );
        assert!(
            !message.contains(leaked),
            "error message contains {leaked:?}"
        );
    }
}
