//! Secrets never reach the logs, at the most verbose level, on success and failure alike.

use serde_json::json;

use crate::support::slack::error;
use crate::support::{alarm_message, sns_event, Fault, Harness, Options};

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

    // Three invocations: two posted, one not delivered.
    h.function.output_after("not delivered", 1).await;
    let output = h.function.output_after("posted to Slack", 2).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn trace_logs_never_contain_the_signing_secret() {
    use crate::actions::{
        ack, click, incident, mute, now, parent, send, setup, signed_event, status, ALARM, SIGNING,
        USER,
    };
    let s = setup(&[("RUST_LOG", "trace")]).await;
    let (ts, key) = incident(&s, &alarm_message(ALARM, "ALARM")).await;
    // A click that verifies, one that does not, and a mute CloudWatch refuses.
    let (done, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, ack(&key, "1.1")), now(), SIGNING),
    )
    .await;
    let forged = signed_event(
        &click(&s, &ts, USER, ack(&key, "1.2")),
        now(),
        "00000000000000000000000000000000",
    );
    let (refused, _) = send(&s, forged).await;
    s.mutes.fail(Some((500, "InternalServiceFault")));
    let (failed, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, mute(3600, "1.3")), now(), SIGNING),
    )
    .await;
    assert_eq!(
        (status(&done), status(&refused), status(&failed)),
        (200, 401, 200)
    );
    assert!(parent(&s, &ts).to_string().contains("Acknowledged"));
    let output = s.h.function.output_after("slack action", 2).await;
    assert!(
        output.contains("TRACE") || output.contains("trace"),
        "the test must run at trace level"
    );
    assert!(
        output.len() > 10_000,
        "expected verbose logs, got {} bytes",
        output.len()
    );
    let pieces: Vec<&str> = (0..=SIGNING.len() - 8)
        .map(|i| &SIGNING[i..i + 8])
        .collect();
    for piece in pieces {
        let lines: Vec<&str> = output.lines().filter(|l| l.contains(piece)).collect();
        assert!(
            lines.is_empty(),
            "log output contains {piece:?} of the signing secret:\n{}",
            lines.join("\n")
        );
    }
}

/// The leaked secret's path in the two tests below: it must appear nowhere.
const LEAKED_TOKEN: &str = "LEAKEDTOKEN0123456789abcdef";

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_secrets_manager_answer_never_reaches_the_error_or_the_logs() {
    let h = Harness::start(Options {
        env: vec![("RUST_LOG", "trace".into())],
        ..Options::default()
    })
    .await;
    // A 200 whose body holds the secret but is cut short, so the SDK cannot parse it.
    let secret =
        json!({"SLACK_HOOK_URL": format!("https://hooks.slack.com/services/T0/B0/{LEAKED_TOKEN}")});
    let body = json!({"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x", "SecretString": secret.to_string()}).to_string();
    h.secrets.fail_always(Fault {
        status: 200,
        raw_body: Some(body[..body.len() - 2].to_owned()),
        ..Fault::default()
    });
    let (outcome, _) = h
        .invoke(sns_event(&[("leak-1", &alarm_message("leak", "ALARM"))]))
        .await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SecretUnavailable", "{message}");
    assert!(
        message.starts_with(&format!("1 of 1 notifications not delivered (0 delivered); first failure: Secrets Manager: UnreadableResponse for secret {}", h.secret_id)),
        "{message}"
    );
    assert!(!message.contains(LEAKED_TOKEN), "{message}");
    let output = h.function.output_after("not delivered", 1).await;
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| l.contains(LEAKED_TOKEN))
        .collect();
    assert!(
        lines.is_empty(),
        "log lines with the secret:\n{}",
        lines.join("\n")
    );
    assert!(
        output.contains("UnreadableResponse"),
        "the failure must be logged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slack_answer_that_echoes_the_webhook_path_is_scrubbed() {
    let h = Harness::start(Options::default()).await;
    h.slack.always(
        &h.hook_path,
        error(404, &format!("Cannot POST {}", h.hook_path)),
    );
    let (outcome, _) = h
        .invoke(sns_event(&[("echo-1", &alarm_message("echo", "ALARM"))]))
        .await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackRejected");
    assert!(
        message.contains("HTTP 404 Cannot POST [redacted]"),
        "{message}"
    );
    let token = h.hook_path.rsplit('/').next().unwrap();
    for text in [
        message,
        h.function.output_after("not delivered", 1).await.as_str(),
    ] {
        assert!(!text.contains(token), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn app_mode_trace_logs_and_errors_never_contain_a_bot_token() {
    use crate::app::{app_harness, app_secret, NEW_TOKEN, TOKEN};
    use crate::support::slack_api::{server_error, SlackApi, CHANNEL};

    let api = SlackApi::start(TOKEN).await;
    let h = app_harness(&api, app_secret(TOKEN, CHANNEL), "trace").await;
    let e = |id: &str| sns_event(&[(id, &alarm_message("app-hygiene", "ALARM"))]);
    assert_eq!(h.invoke(e("app-ok-1")).await.0.response()["delivered"], 1);
    // A rotation picked up from the secret, after a 5xx.
    api.script("chat.postMessage", [server_error(500)]);
    api.rotate(NEW_TOKEN);
    h.put_secret(app_secret(NEW_TOKEN, CHANNEL).to_string())
        .await;
    assert_eq!(h.invoke(e("app-ok-2")).await.0.response()["delivered"], 1);
    // A refused token the secret still holds.
    api.revoke();
    let (failed, _) = h.invoke(e("app-fail-1")).await;
    let (error_type, message) = failed.error();
    assert_eq!(error_type, "SlackTokenRejected", "{message}");

    h.function.output_after("not delivered", 1).await;
    let output = h.function.output_after("posted to Slack", 2).await;
    assert!(
        output.contains("TRACE") || output.contains("trace"),
        "the test must run at trace level"
    );
    assert!(
        output.len() > 10_000,
        "expected verbose logs, got {} bytes",
        output.len()
    );
    // The tokens' distinctive parts, and the channel, as for the webhook's channel.
    for leaked in [TOKEN, NEW_TOKEN, "APPTOKENSECRET", CHANNEL] {
        let lines: Vec<&str> = output.lines().filter(|l| l.contains(leaked)).collect();
        assert!(
            lines.is_empty(),
            "log output contains {leaked:?}:\n{}",
            lines.join("\n")
        );
        assert!(!message.contains(leaked), "{message}");
    }
    assert_eq!(api.posted().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn threads_trace_logs_never_contain_the_channel_the_token_or_the_items() {
    use crate::app::{app_secret, TOKEN};
    use crate::support::secrets::create_threads_table;
    use crate::support::slack_api::{SlackApi, CHANNEL};
    use crate::support::{Harness, Options};

    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("RUST_LOG", "trace".into()),
            ("SLACK_API_URL", api.url()),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
            ("THREADS_TABLE", table),
        ],
    })
    .await;
    for (id, state) in [("hyg-t-1", "ALARM"), ("hyg-t-2", "OK")] {
        let e = sns_event(&[(id, &alarm_message("threads-hygiene", state))]);
        assert_eq!(h.invoke(e).await.0.response()["delivered"], 1);
    }
    let output = h.function.output_after("posted to Slack", 2).await;
    assert!(output.contains("DynamoDB"), "the table's calls are traced");
    // The items hold the channel, the parent's ts and its payload (with the channel). The
    // alarm's own text is not checked: the runtime traces the whole event.
    for leaked in [TOKEN, CHANNEL, "1795594531.0000"] {
        let lines: Vec<&str> = output.lines().filter(|l| l.contains(leaked)).collect();
        assert!(
            lines.is_empty(),
            "log output contains {leaked:?}:\n{}",
            lines.join("\n")
        );
    }
    assert_eq!(api.posted().len(), 2);
    assert_eq!(api.calls("chat.update").len(), 1);
}
