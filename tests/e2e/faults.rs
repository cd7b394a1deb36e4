//! The fault matrix: each fault ends in exactly one delivery or a visible failure.

use std::time::Duration;

use serde_json::json;

use crate::support::http::{closing_server, refused_port};
use crate::support::slack::{error, ok, rate_limited};
use crate::support::{alarm_message, sns_event, Fault, Harness, Options, TIMEOUT};

/// The row's tally: requests Slack received on the webhook, and GetSecretValue calls.
fn assert_tally(h: &Harness, posts: usize, secret_calls: usize) {
    assert_eq!(
        h.slack.posts(&h.hook_path).len(),
        posts,
        "POSTs to the webhook"
    );
    assert_eq!(h.secrets.get_calls(), secret_calls, "GetSecretValue calls");
}

/// The alarm name of every message Slack accepted, in order (the first word of `text`).
fn accepted_alarm_names(h: &Harness) -> Vec<String> {
    h.slack
        .accepted(&h.hook_path)
        .iter()
        .map(|p| {
            let text = p.body["text"].as_str().unwrap_or_default();
            text.split(' ').next().unwrap_or_default().to_owned()
        })
        .collect()
}

fn one_alarm(id: &str) -> serde_json::Value {
    sns_event(&[(id, &alarm_message("cpu-high", "ALARM"))])
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_is_waited_out_then_delivered_once() {
    let h = Harness::start(Options::default()).await;
    h.slack.script(&h.hook_path, [rate_limited(1), ok()]);
    let (outcome, took) = h.invoke(one_alarm("429")).await;
    assert_eq!(outcome.response()["delivered"], 1);
    let posts = h.slack.posts(&h.hook_path);
    assert_eq!(posts.len(), 2);
    assert_eq!(h.slack.accepted(&h.hook_path).len(), 1);
    assert!(
        posts[1].at - posts[0].at >= Duration::from_secs(1),
        "waited {:?}",
        posts[1].at - posts[0].at
    );
    assert!(took >= Duration::from_secs(1));
    assert_tally(&h, 2, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_with_backoff() {
    let h = Harness::start(Options::default()).await;
    h.slack.script(
        &h.hook_path,
        [
            error(500, "rollup_error"),
            error(503, "service_unavailable"),
            ok(),
        ],
    );
    let (outcome, took) = h.invoke(one_alarm("5xx")).await;
    assert_eq!(outcome.response()["delivered"], 1);
    assert_eq!(h.slack.posts(&h.hook_path).len(), 3);
    assert_eq!(h.slack.accepted(&h.hook_path).len(), 1);
    assert!(took < TIMEOUT);
    assert_tally(&h, 3, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_server_errors_fail_visibly() {
    let h = Harness::start(Options {
        env: vec![("SLACK_MAX_ATTEMPTS", "3".into())],
        ..Options::default()
    })
    .await;
    h.slack.always(&h.hook_path, error(500, "rollup_error"));
    let (outcome, took) = h.invoke(one_alarm("5xx-forever")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackUnavailable");
    assert!(
        message.contains("rollup_error") && message.contains("3 attempts"),
        "{message}"
    );
    assert_tally(&h, 3, 1);
    assert!(took < TIMEOUT);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_slack_fails_before_the_deadline() {
    let h = Harness::start(Options::default()).await;
    h.slack
        .always(&h.hook_path, ok().delayed(Duration::from_secs(60)));
    let timeout = Duration::from_secs(3);
    let (outcome, took) = h.runtime.invoke(one_alarm("hang"), timeout).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackTimeout", "{message}");
    assert!(
        took < timeout,
        "answered after {took:?}, past the {timeout:?} deadline"
    );
    assert!(!h.slack.posts(&h.hook_path).is_empty());
    assert_eq!(h.secrets.get_calls(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_is_retried_then_fails() {
    let port = refused_port().port();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| {
            format!("http://127.0.0.1:{port}/services/T/B/refused")
        })),
        ..Options::default()
    })
    .await;
    let (outcome, _) = h.invoke(one_alarm("refused")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackUnreachable");
    assert!(message.contains("4 attempts"), "{message}");
    assert!(!message.contains("/services/"), "{message}");
    assert_eq!(h.secrets.get_calls(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_reset_is_retried_then_fails() {
    let addr = closing_server().await;
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| {
            format!("http://127.0.0.1:{}/services/T/B/reset", addr.port())
        })),
        ..Options::default()
    })
    .await;
    let (outcome, _) = h.invoke(one_alarm("reset")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackUnreachable", "{message}");
    assert!(!message.contains("/services/"), "{message}");
    assert_eq!(h.secrets.get_calls(), 1);
}

async fn rotation(status: u16, code: &str) {
    let h = Harness::start(Options::default()).await;
    let (outcome, _) = h.invoke(one_alarm("before-rotation")).await;
    assert_eq!(outcome.response()["delivered"], 1);
    // The webhook is rotated: the old URL is dead, the secret holds the new one.
    h.slack.always(&h.hook_path, error(status, code));
    let new_path = "/services/T0TEST/B0NEW/rotated";
    h.put_secret(json!({"SLACK_HOOK_URL": h.slack.url(new_path)}).to_string())
        .await;
    let (outcome, _) = h.invoke(one_alarm("after-rotation")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert_eq!(h.slack.accepted(new_path).len(), 1);
    assert_eq!(
        h.slack.posts(&h.hook_path).len(),
        2,
        "one good post before, one rejected after"
    );
    assert_eq!(h.secrets.get_calls(), 2, "cold read, then one refresh");
    // And the new URL is cached from then on.
    let (outcome, _) = h.invoke(one_alarm("later")).await;
    assert_eq!(outcome.response()["delivered"], 1);
    assert_eq!(h.secrets.get_calls(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_webhook_404_is_picked_up_in_the_same_invocation() {
    rotation(404, "no_service").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_webhook_403_is_picked_up_in_the_same_invocation() {
    rotation(403, "invalid_token").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_webhook_keeps_failing_visibly() {
    let mut h = Harness::start(Options::default()).await;
    h.slack
        .always(&h.hook_path, error(410, "channel_is_archived"));
    for i in 0..2 {
        let (outcome, _) = h.invoke(one_alarm(&format!("revoked-{i}"))).await;
        let (error_type, message) = outcome.error();
        assert_eq!(error_type, "SlackRejected");
        assert!(message.contains("channel_is_archived"), "{message}");
    }
    assert!(h.function.is_running());
    // Each invocation re-read the secret, looking for a new webhook.
    assert_eq!(h.secrets.get_calls(), 4);
    assert_eq!(h.slack.posts(&h.hook_path).len(), 2, "a 410 is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_payload_is_not_retried() {
    let h = Harness::start(Options::default()).await;
    h.slack
        .script(&h.hook_path, [error(400, "invalid_payload")]);
    let (outcome, _) = h.invoke(one_alarm("400")).await;
    assert!(outcome.error().1.contains("invalid_payload"));
    assert_tally(&h, 1, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_secret_names_the_secret_and_the_cause() {
    let h = Harness::start(Options {
        secret: None,
        ..Options::default()
    })
    .await;
    let (outcome, _) = h.invoke(one_alarm("nosecret")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SecretNotFound");
    assert!(
        message.contains(&h.secret_id) && message.contains("ResourceNotFoundException"),
        "{message}"
    );
    assert!(h.slack.posts(&h.hook_path).is_empty());
}

async fn injected_secret_fault(code: &'static str, expected_type: &str) {
    let h = Harness::start(Options::default()).await;
    h.secrets.fail_always(Fault {
        status: 400,
        code,
        message: "injected by the test",
        ..Fault::default()
    });
    let (outcome, _) = h.invoke(one_alarm(code)).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, expected_type, "{message}");
    assert!(
        message.contains(&h.secret_id) && message.contains(code),
        "{message}"
    );
    // Not retryable: one call, no posts.
    assert_tally(&h, 0, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn access_denied_names_the_secret_and_the_cause() {
    injected_secret_fault("AccessDeniedException", "SecretAccessDenied").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn decryption_failure_names_the_secret_and_the_cause() {
    injected_secret_fault("DecryptionFailure", "SecretDecryptionFailure").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_retried() {
    let h = Harness::start(Options::default()).await;
    h.secrets.fail_next(Fault {
        status: 400,
        code: "ThrottlingException",
        message: "Rate exceeded",
        ..Fault::default()
    });
    let (outcome, _) = h.invoke(one_alarm("throttled")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert_tally(&h, 1, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_without_the_hook_url_is_a_clear_config_error() {
    let h = Harness::start(Options {
        secret: Some(Box::new(|url| {
            json!({"WEBHOOK": url, "SLACK_CHANNEL": "#hidden-channel"}).to_string()
        })),
        ..Options::default()
    })
    .await;
    let (outcome, _) = h.invoke(one_alarm("nohook")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SecretInvalid");
    assert!(
        message.contains("SLACK_HOOK_URL") && message.contains(&h.secret_id),
        "{message}"
    );
    let output = h.function.output_after("not delivered", 1).await;
    for leaked in [h.hook_path.as_str(), "hidden-channel"] {
        assert!(!message.contains(leaked), "{message}");
        assert!(!output.contains(leaked));
    }
    assert_tally(&h, 0, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redelivered_message_is_posted_once() {
    let h = Harness::start(Options::default()).await;
    let e = one_alarm("same-message-id");
    assert_eq!(h.invoke(e.clone()).await.0.response()["delivered"], 1);
    let (outcome, _) = h.invoke(e).await;
    assert_eq!(outcome.response()["duplicates"], 1);
    assert_eq!(outcome.response()["delivered"], 0);
    assert_tally(&h, 1, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_failure_keeps_the_others_and_a_retry_posts_only_the_failed_one() {
    let h = Harness::start(Options::default()).await;
    let e = sns_event(&[
        ("p1", &alarm_message("first", "ALARM")),
        ("p2", &alarm_message("second", "ALARM")),
        ("p3", &alarm_message("third", "OK")),
    ]);
    h.slack
        .script(&h.hook_path, [ok(), error(400, "invalid_payload"), ok()]);
    let (outcome, _) = h.invoke(e.clone()).await;
    let (_, message) = outcome.error();
    assert!(
        message.starts_with("1 of 3 notifications not delivered (2 delivered)"),
        "{message}"
    );
    assert_eq!(h.slack.accepted(&h.hook_path).len(), 2);
    // Lambda's retry of the same event: the two delivered records are skipped.
    let (outcome, _) = h.invoke(e).await;
    assert_eq!(outcome.response()["delivered"], 1);
    assert_eq!(outcome.response()["duplicates"], 2);
    let names = accepted_alarm_names(&h);
    assert_eq!(names, ["first", "third", "second"]);
    assert_tally(&h, 4, 1);
}

/// 60 alarms at a webhook that accepts about one per second, spread over two warm instances.
///
/// What the product guarantees, whatever the machine's load: each alarm is delivered, or its
/// invocation fails visibly and Lambda's retry delivers it; none is posted twice. The retries
/// here stand in for Lambda's (it retries a failed asynchronous invocation twice).
#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_storm_is_delivered_in_full() {
    const ALARMS: usize = 60;
    const ATTEMPTS: usize = 3;
    let h = Harness::start(Options {
        env: vec![("RUST_LOG", "warn".into())],
        ..Options::default()
    })
    .await;
    h.slack.limit_rate(Duration::from_secs(1));
    let second = crate::support::Function::spawn(
        &h.runtime,
        &[
            ("SecretId".into(), h.secret_id.clone()),
            ("AWS_ENDPOINT_URL".into(), h.secrets.url()),
            ("SLACK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()),
        ],
    );
    let started = std::time::Instant::now();
    let mut pending: Vec<usize> = (0..ALARMS).collect();
    let mut failures = Vec::new();
    let mut invocations = 0;
    for attempt in 1..=ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let mut running = Vec::new();
        for &i in &pending {
            let runtime = h.runtime.clone();
            let e = sns_event(&[(
                &format!("storm-{i}"),
                &alarm_message(&format!("storm-{i}"), "ALARM"),
            )]);
            running.push((
                i,
                tokio::spawn(async move { runtime.invoke(e, Duration::from_secs(30)).await }),
            ));
            invocations += 1;
            if attempt == 1 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        pending.clear();
        for (i, invocation) in running {
            let (outcome, _) = invocation.await.unwrap();
            if let crate::support::Outcome::Error {
                error_type,
                message,
            } = outcome
            {
                failures.push(format!(
                    "storm-{i}, attempt {attempt}: {error_type}: {message}"
                ));
                pending.push(i);
            }
        }
    }
    let took = started.elapsed();
    drop(second);
    let posts = h.slack.posts(&h.hook_path);
    let accepted = accepted_alarm_names(&h);
    let delivered: std::collections::BTreeSet<&String> = accepted.iter().collect();
    eprintln!(
        "alarm storm: {} of {ALARMS} alarms delivered in {took:?}, {} invocations \
         ({} failed and retried), {} answers of 429 waited out",
        delivered.len(),
        invocations,
        failures.len(),
        posts.len() - accepted.len(),
    );
    assert!(
        pending.is_empty(),
        "not delivered after {ATTEMPTS} attempts: {failures:#?}"
    );
    assert_eq!(delivered.len(), ALARMS, "{failures:#?}");
    assert_eq!(
        accepted.len(),
        ALARMS,
        "an alarm was posted twice: {accepted:?}"
    );
}

/// A loopback port whose accept queue is full: new connections get no answer at all, as
/// with an endpoint behind a firewall that drops packets.
async fn unanswered_port() -> (std::net::SocketAddr, Vec<tokio::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fill the queue; the listener never accepts. Connections beyond it hang in SYN_SENT.
    let mut held = Vec::new();
    for _ in 0..4 {
        match tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => held.push(stream),
            _ => break,
        }
    }
    std::mem::forget(listener);
    (addr, held)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswering_secrets_manager_fails_on_the_connect_timeout_not_the_deadline() {
    let (addr, _held) = unanswered_port().await;
    let h = Harness::start(Options {
        env: vec![("AWS_ENDPOINT_URL", format!("http://{addr}"))],
        ..Options::default()
    })
    .await;
    let deadline = Duration::from_secs(40);
    let (outcome, took) = h.runtime.invoke(one_alarm("blackhole"), deadline).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SecretUnavailable", "{message} after {took:?}");
    assert!(message.contains("connection timed out"), "{message}");
    // The SDK's three attempts, each cut at its 3.1 s connect timeout, and its backoff between
    // them (at most 1 s and 2 s), plus 2 s to spare. Without the connect timeout each attempt
    // waits for the kernel instead (7 s or more here), or the read runs into the deadline.
    let budget = Duration::from_millis(3 * 3_100 + 3_000 + 2_000);
    eprintln!("unanswering Secrets Manager: failed after {took:?} (budget {budget:?})");
    assert!(took < budget, "{took:?}: {message}");
    assert!(h.slack.posts(&h.hook_path).is_empty());
}
