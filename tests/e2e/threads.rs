//! Threads in app mode: one thread per incident, kept in a DynamoDB table (moto), posted to
//! the local Slack Web API, across one or two function instances.

use std::time::Duration;

use serde_json::Value;

use crate::app::{app_secret, TOKEN};
use crate::support::secrets::{create_threads_table, dynamodb_admin};
use crate::support::slack_api::api_error;
use crate::support::slack_api::{Call, SlackApi, CHANNEL};
use crate::support::{alarm_message, sns_event, Fault, Function, Harness, Options, TIMEOUT};

const ALARM: &str = "db-latency";

/// The app-mode environment with threads in `table`, plus `extra`.
fn env(api: &SlackApi, table: &str, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("RUST_LOG", "info".to_owned()),
        ("SLACK_API_URL", api.url()),
        ("SLACK_API_HOSTS", "127.0.0.1".into()),
        ("THREADS_TABLE", table.to_owned()),
        // moto on a busy machine may take more than the default 2 s; these tests are about
        // what the table decides, not how fast it answers.
        ("THREADS_TIMEOUT_SECONDS", "8".to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    env
}

async fn harness(api: &SlackApi, table: &str, extra: &[(&'static str, &str)]) -> Harness {
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: env(api, table, extra),
    })
    .await
}

/// A second instance of the same function, polling the same Runtime API.
fn second_instance(h: &Harness, api: &SlackApi, table: &str) -> Function {
    let mut vars: Vec<(String, String)> = vec![
        ("SecretId".into(), h.secret_id.clone()),
        ("AWS_ENDPOINT_URL".into(), h.secrets.url()),
        // As the harness: moto draws no graphs.
        ("METRIC_GRAPHS".into(), "false".into()),
    ];
    vars.extend(
        env(api, table, &[])
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
    );
    Function::spawn(&h.runtime, &vars)
}

fn notification(id: &str, state: &str) -> Value {
    sns_event(&[(id, &alarm_message(ALARM, state))])
}

async fn delivered(h: &Harness, event: Value) {
    let (outcome, _) = h.invoke(event).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
}

fn thread_ts(c: &Call) -> Option<&str> {
    c.args["thread_ts"].as_str()
}

/// The `ts` of the `index`th parent (top-level message) Slack accepted.
fn posted_ts(api: &SlackApi, index: usize) -> String {
    let parents: Vec<Call> = api
        .posted()
        .into_iter()
        .filter(|c| thread_ts(c).is_none())
        .collect();
    parents[index].answer["ts"].as_str().unwrap().to_owned()
}

/// The status line at the top of a message's blocks.
fn status_of(message: &Value) -> String {
    assert_eq!(
        message["blocks"][0]["block_id"], "incident-status",
        "{message}"
    );
    message["blocks"][0]["elements"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_then_ok_makes_one_parent_one_reply_and_resolves_the_parent() {
    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    let h = harness(&api, &table, &[]).await;
    delivered(&h, notification("open-1", "ALARM")).await;
    delivered(&h, notification("ok-1", "OK")).await;

    let posts = api.posted();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(thread_ts(&posts[0]), None, "the ALARM is the parent");
    let parent_ts = posted_ts(&api, 0);
    assert_eq!(thread_ts(&posts[1]), Some(parent_ts.as_str()));
    assert!(
        posts[1].args.get("reply_broadcast").is_none(),
        "THREAD_BROADCAST defaults to false"
    );
    assert!(posts[1].args["text"].as_str().unwrap().contains("OK"));

    let updates = api.calls("chat.update");
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert!(updates[0].ok(), "{:?}", updates[0]);
    assert_eq!(updates[0].args["ts"], parent_ts.as_str());
    assert_eq!(updates[0].args["channel"], CHANNEL);
    let parent = api.message(&parent_ts).unwrap();
    let status = status_of(&parent);
    assert!(status.starts_with("✅ Resolved after "), "{status}");
    // The parent keeps what it said, under the status line.
    let original = &posts[0].args;
    assert_eq!(
        parent["blocks"].as_array().unwrap()[1..],
        original["blocks"].as_array().unwrap()[..]
    );
    assert_eq!(parent["attachments"], original["attachments"]);
    assert_eq!(parent["text"], original["text"]);

    // The table holds the resolved thread, expiring in a week.
    let item = dynamodb_admin()
        .get_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "alarm#arn:aws:cloudwatch:us-east-1:123456789012:alarm:{ALARM}"
            )),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the thread's item");
    assert_eq!(item["ts"].as_s().unwrap(), &parent_ts);
    assert!(item.contains_key("resolved_at"));
    let expires: u64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(expires.abs_diff(now + 7 * 24 * 3600) < 60, "{expires}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_soon_after_recovery_reopens_the_thread_as_flapping() {
    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    let h = harness(&api, &table, &[("THREAD_BROADCAST", "true")]).await;
    delivered(&h, notification("flap-1", "ALARM")).await;
    delivered(&h, notification("flap-2", "OK")).await;
    delivered(&h, notification("flap-3", "ALARM")).await;

    let posts = api.posted();
    assert_eq!(posts.len(), 3, "{posts:?}");
    let parent_ts = posted_ts(&api, 0);
    assert_eq!(thread_ts(&posts[0]), None);
    for reply in &posts[1..] {
        assert_eq!(thread_ts(reply), Some(parent_ts.as_str()), "{reply:?}");
        assert_eq!(reply.args["reply_broadcast"], true);
    }
    let status = status_of(&api.message(&parent_ts).unwrap());
    assert!(status.starts_with("🔁 Flapping: ALARM again "), "{status}");
    assert!(status.ends_with("(cycle 2)"), "{status}");
    assert_eq!(api.calls("chat.update").len(), 2);

    // Then an ALARM while it is open: still the same thread, counted.
    delivered(&h, notification("flap-4", "ALARM")).await;
    let status = status_of(&api.message(&parent_ts).unwrap());
    assert_eq!(status, "🔴 ALARM again (3rd time)");
    assert_eq!(
        api.posted()
            .iter()
            .filter(|c| thread_ts(c).is_none())
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_after_the_reopen_window_starts_a_new_thread() {
    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    let h = harness(&api, &table, &[("THREAD_REOPEN_MINUTES", "0")]).await;
    delivered(&h, notification("late-1", "ALARM")).await;
    delivered(&h, notification("late-2", "OK")).await;
    delivered(&h, notification("late-3", "ALARM")).await;
    let parents: Vec<Call> = api
        .posted()
        .into_iter()
        .filter(|c| thread_ts(c).is_none())
        .collect();
    assert_eq!(parents.len(), 2, "{:?}", api.posted());
    assert_eq!(api.posted().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_alarm_at_two_instances_at_once_makes_one_parent() {
    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    // The winner's parent takes a while, so the other instance meets its claim.
    api.delay_posts(Duration::from_millis(400));
    let h = harness(&api, &table, &[]).await;
    let second = second_instance(&h, &api, &table);
    let invoke = |id: &str| {
        let (runtime, event) = (h.runtime.clone(), notification(id, "ALARM"));
        tokio::spawn(async move { runtime.invoke(event, TIMEOUT).await })
    };
    let (a, b) = (invoke("race-a"), invoke("race-b"));
    for outcome in [a.await.unwrap().0, b.await.unwrap().0] {
        assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    }
    let posts = api.posted();
    assert_eq!(posts.len(), 2, "both notifications are posted: {posts:?}");
    let parents: Vec<&Call> = posts.iter().filter(|c| thread_ts(c).is_none()).collect();
    assert_eq!(parents.len(), 1, "one parent: {posts:?}");
    let parent_ts = posted_ts(&api, 0);
    assert!(posts
        .iter()
        .any(|c| thread_ts(c) == Some(parent_ts.as_str())));
    let status = status_of(&api.message(&parent_ts).unwrap());
    assert_eq!(status, "🔴 ALARM again (2nd time)");
    // Both instances served one each; a log line may reach the pipe a moment after the answer.
    let give_up = std::time::Instant::now() + Duration::from_secs(5);
    let logged = loop {
        let logged = format!("{}{}", h.function.output(), second.output());
        if logged.matches("posted to Slack").count() >= 2 || std::time::Instant::now() > give_up {
            break logged;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(logged.matches("posted to Slack").count(), 2, "{logged}");
    assert!(!h.function.output().is_empty() && !second.output().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_sns_message_at_two_instances_is_posted_once() {
    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    api.delay_posts(Duration::from_millis(300));
    let h = harness(&api, &table, &[]).await;
    let _second = second_instance(&h, &api, &table);
    let invoke = || {
        let (runtime, event) = (h.runtime.clone(), notification("same-message", "ALARM"));
        tokio::spawn(async move { runtime.invoke(event, TIMEOUT).await })
    };
    let (a, b) = (invoke(), invoke());
    let outcomes = [a.await.unwrap().0, b.await.unwrap().0];
    let sum = |key: &str| -> u64 {
        outcomes
            .iter()
            .map(|o| o.response()[key].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        (sum("delivered"), sum("duplicates")),
        (1, 1),
        "{outcomes:?}"
    );
    assert_eq!(api.posted().len(), 1, "{:?}", api.posted());
}

/// Without a usable table, both notifications go out top-level, with a warning each.
async fn a_failing_table_still_delivers(h: Harness, api: SlackApi, cause: &str) {
    for (id, state) in [("fail-1", "ALARM"), ("fail-2", "OK")] {
        let (outcome, took) = h.invoke(notification(id, state)).await;
        assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
    let posts = api.posted();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts.iter().all(|c| thread_ts(c).is_none()), "{posts:?}");
    assert!(api.calls("chat.update").is_empty());
    let logs = h
        .function
        .output_after("threads table unavailable; posting top-level", 2)
        .await;
    assert!(logs.contains(cause), "{logs}");
    assert!(logs.contains("WARN"), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_table_still_delivers_top_level_with_a_warning() {
    let api = SlackApi::start(TOKEN).await;
    let h = harness(&api, "no-such-threads-table", &[]).await;
    a_failing_table_still_delivers(h, api, "ResourceNotFoundException").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_table_still_delivers_top_level_with_a_warning() {
    let api = SlackApi::start(TOKEN).await;
    let closed = crate::support::http::refused_port();
    let endpoint = format!("http://127.0.0.1:{}", closed.port());
    let h = harness(&api, "threads", &[("AWS_ENDPOINT_URL_DYNAMODB", &endpoint)]).await;
    a_failing_table_still_delivers(h, api, "RequestFailed").await;
}

/// DynamoDB answering with an error on every call, the table itself fine.
async fn a_table_error_still_delivers(code: &'static str, status: u16) {
    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    let h = harness(&api, &table, &[]).await;
    h.secrets.fail_dynamodb(Fault {
        status,
        code,
        message: "injected by the test",
        raw_body: None,
    });
    a_failing_table_still_delivers(h, api, code).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_table_still_delivers_top_level_with_a_warning() {
    a_table_error_still_delivers("ProvisionedThroughputExceededException", 400).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_access_denied_still_delivers_top_level_with_a_warning() {
    a_table_error_still_delivers("AccessDeniedException", 400).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parent_slack_refused_is_posted_by_lambdas_retry_of_the_same_message() {
    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    let h = harness(&api, &table, &[]).await;
    api.script("chat.postMessage", [api_error("invalid_blocks")]);
    let (outcome, _) = h.invoke(notification("retried", "ALARM")).await;
    assert_eq!(outcome.error().0, "SlackRejected");
    // Lambda retries the same event: the message is not taken for a duplicate, and the
    // dropped claim does not hold the thread up.
    let (outcome, took) = h.invoke(notification("retried", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    let posts = api.posted();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(thread_ts(&posts[0]), None, "it opens the thread");
    delivered(&h, notification("retried-ok", "OK")).await;
    let parent_ts = posted_ts(&api, 0);
    assert_eq!(thread_ts(&api.posted()[1]), Some(parent_ts.as_str()));
}

/// An invocation that died after claiming a message (killed at its deadline, say) leaves a
/// claim without a delivery: once its lease has passed, Lambda's retry posts the message. A
/// claim within its lease holds. A delivered message stays claimed, so a later redelivery
/// is skipped.
#[tokio::test(flavor = "multi_thread")]
async fn a_claim_left_by_a_dead_invocation_lapses_and_a_delivered_one_holds() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    let h = harness(&api, &table, &[]).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claim = |id: &str, lease_until: u64| {
        dynamodb_admin()
            .put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S(format!("msg#{id}")))
            .item("claimed_at", AttributeValue::N((now - 100).to_string()))
            .item("lease_until", AttributeValue::N(lease_until.to_string()))
            .item("expires_at", AttributeValue::N((now + 3600).to_string()))
            .send()
    };
    claim("died", now - 40).await.unwrap();
    claim("in-flight", now + 30).await.unwrap();
    delivered(&h, notification("died", "ALARM")).await;
    assert_eq!(api.posted().len(), 1);
    // Another invocation still holds this one.
    let (outcome, _) = h.invoke(notification("in-flight", "ALARM")).await;
    assert_eq!(outcome.response()["duplicates"], 1, "{outcome:?}");
    assert_eq!(api.posted().len(), 1);
    // Delivered: a redelivery is skipped even from a fresh instance's point of view.
    let item = dynamodb_admin()
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("msg#died".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the message's item");
    assert_eq!(
        item.get("delivered").and_then(|d| d.as_bool().ok()),
        Some(&true)
    );
    let (outcome, _) = h.invoke(notification("died", "ALARM")).await;
    assert_eq!(outcome.response()["duplicates"], 1, "{outcome:?}");
    assert_eq!(api.posted().len(), 1);
}
