//! Hostile answers and absurd settings: a Slack whose 200 breaks off, that echoes credentials
//! or asks for an hour's wait; a CloudWatch that sends 50 MB or HTML; a table holding items
//! this function never wrote; a thread Slack no longer has; a crash after a claim; a long
//! queue redelivered; and every setting that once passed and broke things later. Each test
//! holds the product to a promise: nothing doubled, nothing lost, nothing leaked.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

use crate::app::{app_harness, app_secret, TOKEN};
use crate::support::cloudwatch::CloudWatch;
use crate::support::http::{raw_server, RawAnswer};
use crate::support::secrets::{create_threads_table, dynamodb_admin};
use crate::support::slack_api::{json_reply, SlackApi, CHANNEL};
use crate::support::{
    alarm_message, slack, sns_envelope, sns_event, sqs_event, Function, Harness, Options, Runtime,
};

fn one_alarm(id: &str) -> Value {
    sns_event(&[(id, &alarm_message("cpu-high", "ALARM"))])
}

fn epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Every run of eight characters of `secret` past its public prefix: none may be in any output.
fn pieces(secret: &str) -> Vec<String> {
    let secret = ["xoxe.xoxb-", "xoxb-"]
        .iter()
        .find_map(|p| secret.strip_prefix(p))
        .unwrap_or(secret);
    let chars: Vec<char> = secret.chars().collect();
    chars.windows(8).map(|w| w.iter().collect()).collect()
}

fn assert_no_piece(secret: &str, text: &str, what: &str) {
    for piece in pieces(secret) {
        assert!(!text.contains(&piece), "{what} shows {piece:?}:\n{text}");
    }
}

/// A webhook at a server that writes `answer` to every request.
async fn raw_webhook(
    answer: &'static [u8],
    close: bool,
) -> (crate::support::http::RawServer, Harness) {
    let slack = raw_server(move |_| RawAnswer {
        bytes: answer.to_vec(),
        close,
    })
    .await;
    let port = slack.addr.port();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| {
            format!("http://127.0.0.1:{port}/services/T0TEST/B0TEST/hostilewebhook")
        })),
        env: vec![
            ("RUST_LOG", "info".into()),
            ("SLACK_TIMEOUT_SECONDS", "1".into()),
        ],
    })
    .await;
    (slack, h)
}

/// A 200 whose body never comes whole: it stops and the connection stays open (the read times
/// out), or the connection closes before the declared length. Slack took the message: it is
/// delivered once, flagged, and Lambda's retry of the same event posts nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_200_cut_short_is_delivered_once_and_never_sent_again() {
    const DRIP: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\no";
    for (what, close) in [
        ("a body that stops", false),
        ("a connection closed early", true),
    ] {
        let (slack, h) = raw_webhook(DRIP, close).await;
        let (outcome, took) = h.invoke(one_alarm(&format!("cut-{close}"))).await;
        assert_eq!(outcome.response()["delivered"], 1, "{what}: {outcome:?}");
        assert_eq!(outcome.response()["unconfirmed"], 1, "{what}: {outcome:?}");
        assert!(took < Duration::from_secs(8), "{what}: {took:?}");
        // Lambda retries the event (another record failed, say): nothing is sent again.
        let (outcome, _) = h.invoke(one_alarm(&format!("cut-{close}"))).await;
        assert_eq!(outcome.response()["duplicates"], 1, "{what}: {outcome:?}");
        assert_eq!(slack.requests().len(), 1, "{what}: one POST in all");
        let output = h
            .function
            .output_after("counted as delivered, and not sent again", 1)
            .await;
        assert!(!output.contains("hostilewebhook"), "{output}");
    }
}

/// The same for the Web API: `chat.postMessage` answered 200, then the body breaks off.
#[tokio::test(flavor = "multi_thread")]
async fn a_web_api_200_cut_short_is_delivered_once_and_never_sent_again() {
    const CUT: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 300\r\n\r\n{\"ok\":true,\"chan";
    let slack = raw_server(|_| RawAnswer {
        bytes: CUT.to_vec(),
        close: true,
    })
    .await;
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("RUST_LOG", "info".into()),
            (
                "SLACK_API_URL",
                format!("http://127.0.0.1:{}/api/", slack.addr.port()),
            ),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
        ],
    })
    .await;
    let (outcome, _) = h.invoke(one_alarm("api-cut")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert_eq!(outcome.response()["unconfirmed"], 1, "{outcome:?}");
    let (outcome, _) = h.invoke(one_alarm("api-cut")).await;
    assert_eq!(outcome.response()["duplicates"], 1, "{outcome:?}");
    let requests = slack.requests();
    assert_eq!(
        requests,
        ["POST /api/chat.postMessage HTTP/1.1"],
        "sent once"
    );
}

/// `Retry-After: 3600` is read as a minute: the invocation that got it fails at once (its
/// deadline is nearer), naming the capped wait; a later one posts once the minute is up.
#[tokio::test(flavor = "multi_thread")]
async fn an_hour_of_retry_after_holds_posts_back_a_minute_at_most() {
    let h = Harness::start(Options::default()).await;
    h.slack.script(&h.hook_path, [slack::rate_limited(3600)]);
    let (outcome, _) = h.invoke(one_alarm("limited-1")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackRateLimited", "{message}");
    assert!(message.contains("60s"), "{message}");
    assert!(!message.contains("3600"), "{message}");
    let limited_at = h.slack.posts(&h.hook_path)[0].at;
    let (outcome, _) = h
        .runtime
        .invoke(one_alarm("limited-2"), Duration::from_secs(80))
        .await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let accepted = h.slack.accepted(&h.hook_path);
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    let waited = accepted[0].at - limited_at;
    assert!(
        waited >= Duration::from_secs(59),
        "posted {waited:?} after the 429: Slack's wait was not honoured"
    );
}

/// App mode with graphs, CloudWatch answering with `image`.
async fn graph_harness(image: Vec<u8>) -> (SlackApi, CloudWatch, Harness) {
    let api = SlackApi::start(TOKEN).await;
    api.set_scopes(&["chat:write", "files:write"]);
    let cw = CloudWatch::start().await;
    cw.answer_with(image);
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("RUST_LOG", "info".into()),
            ("SLACK_API_URL", api.url()),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", cw.url()),
            ("METRIC_GRAPHS", "true".into()),
            ("METRIC_GRAPH_TIMEOUT_SECONDS", "8".into()),
        ],
    })
    .await;
    (api, cw, h)
}

/// A 50 MB "image" is not read (it is over the 4 MiB cap on any AWS answer): the message goes
/// out, no file is uploaded, and the process's memory stays near its idle size.
#[tokio::test(flavor = "multi_thread")]
async fn a_50_mb_graph_is_not_read_and_memory_stays_low() {
    let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
    huge.resize(50 * 1024 * 1024, 0x42);
    let (api, _cw, h) = graph_harness(huge).await;
    let (outcome, _) = tokio::time::timeout(
        Duration::from_secs(60),
        h.runtime
            .invoke(one_alarm("huge-graph"), Duration::from_secs(20)),
    )
    .await
    .expect("answered");
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let output = h.function.output_after("metric graph not shared", 1).await;
    assert!(output.contains("AnswerTooLarge"), "{output}");
    assert!(api.shared_files().is_empty());
    let peak = h.function.peak_rss_kib();
    eprintln!("peak RSS with a 50 MB graph answered: {peak} KiB");
    assert!(peak < 48 * 1024, "peak RSS {peak} KiB");
}

/// Bytes that are not a PNG (an HTML page) are never uploaded as the graph.
#[tokio::test(flavor = "multi_thread")]
async fn a_graph_that_is_not_a_png_is_not_uploaded() {
    let (api, cw, h) =
        graph_harness(b"<html><body>Service Unavailable</body></html>".to_vec()).await;
    let (outcome, _) = h.invoke(one_alarm("html-graph")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let output = h.function.output_after("metric graph not shared", 1).await;
    assert!(output.contains("not a PNG image"), "{output}");
    assert_eq!(cw.calls().len(), 1);
    assert!(api.shared_files().is_empty());
    assert!(api.calls("files.getUploadURLExternal").is_empty());
}

/// Three alarms in one event, each graph taking most of its budget: every message is out
/// before any graph is drawn.
#[tokio::test(flavor = "multi_thread")]
async fn graphs_never_take_the_time_of_undelivered_messages() {
    let (api, cw, h) = graph_harness(crate::support::cloudwatch::tiny_png()).await;
    cw.hang(Duration::from_millis(2500));
    let event = sns_event(&[
        ("starve-1", &alarm_message("api-1", "ALARM")),
        ("starve-2", &alarm_message("api-2", "ALARM")),
        ("starve-3", &alarm_message("api-3", "ALARM")),
    ]);
    let (outcome, _) = h.runtime.invoke(event, Duration::from_secs(6)).await;
    assert_eq!(outcome.response()["delivered"], 3, "{outcome:?}");
    let methods: Vec<String> = api.all_calls().into_iter().map(|c| c.method).collect();
    assert_eq!(
        methods[..3],
        ["chat.postMessage", "chat.postMessage", "chat.postMessage"],
        "{methods:?}"
    );
}

/// Slack echoing the token's tail in an error code, and the channel in its reason: neither
/// reaches the error or the logs, even at trace level.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_slack_echoes_back_reach_no_output() {
    let api = SlackApi::start(TOKEN).await;
    let tail = &TOKEN[TOKEN.len() - 12..];
    api.script(
        "chat.postMessage",
        [json_reply(
            200,
            json!({"ok": false, "error": format!("bad_token_tail_-{tail}"),
                   "response_metadata": {"messages": [format!("[ERROR] channel {CHANNEL} with {tail}")]}}),
        )],
    );
    let h = app_harness(&api, app_secret(TOKEN, CHANNEL), "trace").await;
    let (outcome, _) = h.invoke(one_alarm("echo")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackRejected", "{message}");
    assert!(message.contains("bad_token_tail_"), "{message}");
    let output = h.function.output_after("not delivered", 1).await;
    for (what, text) in [("the error", message), ("the logs", output.as_str())] {
        assert_no_piece(TOKEN, text, what);
        assert!(!text.contains(CHANNEL), "{what} shows the channel:\n{text}");
    }
}

/// `check` prints what `auth.test` says: a team name or scopes that echo the token show
/// nothing of it.
#[tokio::test(flavor = "multi_thread")]
async fn check_shows_no_piece_of_a_token_slack_echoes() {
    let api = SlackApi::start(TOKEN).await;
    api.script(
        "auth.test",
        [json_reply(
            200,
            json!({"ok": true, "team": format!("team {TOKEN}"), "team_id": "T0ACME001",
                   "user": "alarmbot", "user_id": "U0ALARMBOT"}),
        )
        .header("x-oauth-scopes", &format!("chat:write,{}", &TOKEN[5..]))],
    );
    let dir = std::env::temp_dir().join(crate::support::unique("check-echo"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("secret.json");
    std::fs::write(&file, app_secret(TOKEN, CHANNEL).to_string()).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_slack-alarm-notifier"))
        .args(["check", "--secret-file", file.to_str().unwrap()])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("SLACK_API_URL", api.url())
        .env("SLACK_API_HOSTS", "127.0.0.1")
        .env("RUST_LOG", "trace")
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("ok    auth.test"), "{text}");
    assert_no_piece(TOKEN, &text, "check");
}

/// A threads harness: app mode with threads in a new table.
async fn threads_harness(api: &SlackApi, extra: &[(&'static str, String)]) -> (String, Harness) {
    let table = create_threads_table().await;
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let mut env = vec![
        ("RUST_LOG", "info".to_owned()),
        ("SLACK_API_URL", api.url()),
        ("SLACK_API_HOSTS", "127.0.0.1".into()),
        ("THREADS_TABLE", table.clone()),
        ("THREADS_TIMEOUT_SECONDS", "8".to_owned()),
    ];
    env.extend(extra.iter().cloned());
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env,
    })
    .await;
    (table, h)
}

async fn put_item(table: &str, item: Vec<(&str, AttributeValue)>) {
    let mut put = dynamodb_admin().put_item().table_name(table);
    for (k, v) in item {
        put = put.item(k, v);
    }
    put.send().await.expect("put the item");
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Items under a message's key that are not claims as this function writes them hold nothing:
/// each message is posted.
#[tokio::test(flavor = "multi_thread")]
async fn a_message_item_the_table_cannot_read_never_suppresses_the_alarm() {
    let api = SlackApi::start(TOKEN).await;
    let (table, h) = threads_harness(&api, &[]).await;
    let now = epoch();
    let s = |v: &str| AttributeValue::S(v.into());
    let items: Vec<(&str, Vec<(&str, AttributeValue)>)> = vec![
        ("no-lease", vec![("claimed_at", n(now))]),
        ("text-lease", vec![("lease_until", s("tomorrow"))]),
        ("far-lease", vec![("lease_until", n(now + 3600))]),
        ("odd-delivered", vec![("delivered", s("yes"))]),
    ];
    for (id, mut attributes) in items.clone() {
        attributes.push(("pk", s(&format!("msg#{id}"))));
        attributes.push(("expires_at", n(now + 3600)));
        put_item(&table, attributes).await;
    }
    for (id, _) in items {
        let event = sns_event(&[(id, &alarm_message(&format!("unreadable-{id}"), "ALARM"))]);
        let (outcome, _) = h.invoke(event).await;
        assert_eq!(outcome.response()["delivered"], 1, "{id}: {outcome:?}");
    }
    assert_eq!(api.posted().len(), 4);
}

/// An incident's parent deleted in Slack: the next notification is posted top-level and
/// becomes the thread's parent, and the one after replies under it.
#[tokio::test(flavor = "multi_thread")]
async fn a_thread_slack_no_longer_has_gets_a_new_parent() {
    let api = SlackApi::start(TOKEN).await;
    let (_table, h) = threads_harness(&api, &[]).await;
    let alarm = |id: &str, state: &str| sns_event(&[(id, &alarm_message("gone-thread", state))]);
    let (outcome, _) = h.invoke(alarm("gone-1", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let first = api.posted()[0].answer["ts"].as_str().unwrap().to_owned();
    api.delete_message(&first);
    let (outcome, _) = h.invoke(alarm("gone-2", "OK")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let refused: Vec<_> = api
        .calls("chat.postMessage")
        .into_iter()
        .filter(|c| c.error.as_deref() == Some("thread_not_found"))
        .collect();
    assert_eq!(refused.len(), 1, "one reply refused");
    let posted = api.posted();
    assert_eq!(posted.len(), 2, "{posted:?}");
    assert!(posted[1].args.get("thread_ts").is_none(), "top-level");
    let second = posted[1].answer["ts"].as_str().unwrap().to_owned();
    let (outcome, _) = h.invoke(alarm("gone-3", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let posted = api.posted();
    assert_eq!(posted[2].args["thread_ts"], second.as_str(), "{posted:?}");
}

/// `ok: true` without a `ts` for a thread's parent: delivered, no empty timestamp stored, and
/// the OK after it is not sent into a thread named `""`.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_without_ts_leaves_no_empty_thread_behind() {
    let api = SlackApi::start(TOKEN).await;
    let (_table, h) = threads_harness(&api, &[]).await;
    api.script(
        "chat.postMessage",
        [json_reply(200, json!({"ok": true, "channel": CHANNEL}))],
    );
    let alarm = |id: &str, state: &str| sns_event(&[(id, &alarm_message("no-ts", state))]);
    let (outcome, _) = h.invoke(alarm("no-ts-1", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let (outcome, _) = h.invoke(alarm("no-ts-2", "OK")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    for call in api.all_calls() {
        assert_ne!(call.args["thread_ts"], "", "{call:?}");
        assert_ne!(call.args["ts"], "", "{call:?}");
    }
    assert!(api.calls("chat.update").is_empty());
}

/// A thread item whose `ts` is a number is unreadable: the ALARM opens a thread at once,
/// without waiting for a parent "still being posted".
#[tokio::test(flavor = "multi_thread")]
async fn a_thread_timestamp_of_the_wrong_type_costs_no_wait() {
    let api = SlackApi::start(TOKEN).await;
    let (table, h) = threads_harness(&api, &[]).await;
    let now = epoch();
    put_item(
        &table,
        vec![
            (
                "pk",
                AttributeValue::S(
                    "alarm#arn:aws:cloudwatch:us-east-1:123456789012:alarm:wrong-ts".into(),
                ),
            ),
            ("channel", AttributeValue::S(CHANNEL.into())),
            ("ts", n(1795594531)),
            ("opened_at", n(now)),
            ("alarms", n(1)),
            ("cycles", n(1)),
            ("version", n(3)),
            ("claimed_at", n(now)),
            ("expires_at", n(now + 3600)),
        ],
    )
    .await;
    let event = sns_event(&[("wrong-ts-1", &alarm_message("wrong-ts", "ALARM"))]);
    let (outcome, took) = h.invoke(event).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert!(took < Duration::from_millis(2500), "waited {took:?}");
    let output = h.function.output_after("treated as absent", 1).await;
    assert!(output.contains("ts is not a message timestamp"), "{output}");
}

/// A server that accepts connections and never answers: a request sent to it never reaches
/// Slack.
async fn black_hole() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// With a 15-minute function timeout, an instance that dies after claiming a message leaves a
/// claim of at most 50 s, and Lambda's retry of that invocation (the same request id) takes
/// it over at once: the alarm is posted, once. Another invocation still finds it held.
#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_a_crash_is_never_skipped_whatever_the_timeout() {
    let api = SlackApi::start(TOKEN).await;
    let hole = black_hole().await;
    let (table, mut h) = threads_harness(
        &api,
        &[
            (
                "SLACK_API_URL",
                format!("http://127.0.0.1:{}/api/", hole.port()),
            ),
            ("SLACK_TIMEOUT_SECONDS", "60".into()),
        ],
    )
    .await;
    let event = one_alarm("crash-1");
    let runtime = h.runtime.clone();
    let first = {
        let event = event.clone();
        tokio::spawn(async move {
            runtime
                .invoke_as("req-crash", event, Duration::from_secs(900))
                .await
        })
    };
    // Wait for the claim, then kill the instance mid-post.
    let key = AttributeValue::S("msg#crash-1".into());
    let claim = loop {
        let item = dynamodb_admin()
            .get_item()
            .table_name(&table)
            .key("pk", key.clone())
            .send()
            .await
            .unwrap()
            .item;
        if let Some(item) = item {
            break item;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    h.function.kill().await;
    first.abort();
    let number = |k: &str| claim[k].as_n().unwrap().parse::<u64>().unwrap();
    let lease = number("lease_until") - number("claimed_at");
    assert!(lease <= 50, "a 900 s invocation's claim lasts {lease} s");
    assert_eq!(claim["claimed_by"].as_s().unwrap(), "req-crash");

    let mut vars: Vec<(String, String)> = vec![
        ("SecretId".into(), h.secret_id.clone()),
        ("AWS_ENDPOINT_URL".into(), h.secrets.url()),
        ("METRIC_GRAPHS".into(), "false".into()),
        ("SLACK_API_URL".into(), api.url()),
        ("SLACK_API_HOSTS".into(), "127.0.0.1".into()),
        ("THREADS_TABLE".into(), table.clone()),
        ("THREADS_TIMEOUT_SECONDS".into(), "8".into()),
    ];
    vars.push(("RUST_LOG".into(), "info".into()));
    let _second = Function::spawn(&h.runtime, &vars);
    // Another delivery of the same message, within the lease: held.
    let (outcome, _) = h
        .runtime
        .invoke(event.clone(), Duration::from_secs(10))
        .await;
    assert_eq!(outcome.response()["duplicates"], 1, "{outcome:?}");
    // Lambda's retry of the invocation that died: posted.
    let (outcome, _) = h
        .runtime
        .invoke_as("req-crash", event, Duration::from_secs(10))
        .await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert_eq!(api.posted().len(), 1);
}

/// 2,000 alarms through the queue to one warm instance, then the first batch again: posted
/// once. (The instance once forgot all but the last 1,024.)
#[tokio::test(flavor = "multi_thread")]
async fn a_batch_redelivered_after_2000_alarms_posts_nothing() {
    let h = Harness::start(Options {
        env: vec![
            ("RUST_LOG", "warn".into()),
            ("SLACK_MIN_INTERVAL_SECONDS", "0".into()),
        ],
        ..Options::default()
    })
    .await;
    let batch = |b: usize| {
        let records: Vec<(String, String)> = (0..100)
            .map(|i| {
                let n = b * 100 + i;
                let message = alarm_message(&format!("storm-{n}"), "ALARM");
                (
                    format!("sqs-{n}"),
                    sns_envelope(&format!("sns-{n}"), "ALARM", &message),
                )
            })
            .collect();
        sqs_event(&records)
    };
    for b in 0..20 {
        let (outcome, _) = h.runtime.invoke(batch(b), Duration::from_secs(30)).await;
        assert_eq!(
            outcome.response()["batchItemFailures"],
            json!([]),
            "batch {b}: {outcome:?}"
        );
    }
    let before = h.slack.accepted(&h.hook_path).len();
    let (outcome, _) = h.runtime.invoke(batch(0), Duration::from_secs(30)).await;
    assert_eq!(
        outcome.response()["batchItemFailures"],
        json!([]),
        "{outcome:?}"
    );
    assert_eq!(h.slack.accepted(&h.hook_path).len(), before, "posted again");
}

/// What the function reports to Lambda's `/init/error` with `env`, less `unset`.
async fn init_error(env: &[(&str, &str)], unset: &[&str]) -> String {
    let runtime = Runtime::start().await;
    let mut vars: Vec<(String, String)> = vec![
        ("SecretId".into(), "slack/never-read".into()),
        ("RUST_LOG".into(), "info".into()),
    ];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut function = Function::spawn_without(&runtime, &vars, unset);
    let status = function
        .exit_status(Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("{env:?} -{unset:?}: still running:\n{}", function.output()));
    assert!(!status.success());
    let reports = runtime.init_errors.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "{env:?}: {reports:?}");
    assert_eq!(reports[0].0, "InvalidConfiguration");
    reports[0].1.clone()
}

/// Variables set, variables unset, and the variable the init error must name.
type Case = (
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
    &'static str,
);

/// Each value once accepted, and each broke things later: now an init error naming its
/// variable.
#[tokio::test(flavor = "multi_thread")]
async fn settings_that_broke_things_later_are_init_errors_naming_the_variable() {
    let cases: [Case; 14] = [
        (
            &[("SLACK_TIMEOUT_SECONDS", "0.000001")],
            &[],
            "SLACK_TIMEOUT_SECONDS",
        ),
        (&[("NOTIFY_STATES", ",")], &[], "NOTIFY_STATES"),
        (&[], &["AWS_REGION"], "AWS_REGION"),
        (
            &[("AWS_LAMBDA_MAX_CONCURRENCY", "abc")],
            &[],
            "AWS_LAMBDA_MAX_CONCURRENCY",
        ),
        (
            &[("AWS_LAMBDA_MAX_CONCURRENCY", "0")],
            &[],
            "AWS_LAMBDA_MAX_CONCURRENCY",
        ),
        (
            &[("AWS_LAMBDA_MAX_CONCURRENCY", "-1")],
            &[],
            "AWS_LAMBDA_MAX_CONCURRENCY",
        ),
        (
            &[("METRIC_GRAPH_TIMEOUT_SECONDS", "1e-9")],
            &[],
            "METRIC_GRAPH_TIMEOUT_SECONDS",
        ),
        (&[("THREADS_TABLE", "not a table!")], &[], "THREADS_TABLE"),
        (
            &[("THREADS_TABLE", "arn:aws:s3:::bucket")],
            &[],
            "THREADS_TABLE",
        ),
        (
            &[
                ("SLACK_API_URL", "http://127.0.0.1:9/"),
                ("SLACK_API_HOSTS", "127.0.0.1"),
            ],
            &[],
            "SLACK_API_URL",
        ),
        (&[("SSL_CERT_FILE", "/dev/zero")], &[], "SSL_CERT_FILE"),
        (&[("SSL_CERT_FILE", "/dev/urandom")], &[], "SSL_CERT_FILE"),
        (&[("SSL_CERT_FILE", "/proc/self")], &[], "SSL_CERT_FILE"),
        (
            &[("SLACK_TIMEOUT_SECONDS", "121")],
            &[],
            "SLACK_TIMEOUT_SECONDS",
        ),
    ];
    for (env, unset, variable) in cases {
        let message = init_error(env, unset).await;
        eprintln!("{env:?} -{unset:?}: {message}");
        assert!(message.starts_with(variable), "{env:?}: {message}");
    }
}

/// `AWS_LAMBDA_MAX_CONCURRENCY=5000` serves 64 at once, and says so.
#[tokio::test(flavor = "multi_thread")]
async fn an_absurd_concurrency_is_capped_and_logged() {
    let mut options = Options::default();
    options
        .env
        .push(("AWS_LAMBDA_MAX_CONCURRENCY", "5000".into()));
    let h = Harness::start(options).await;
    let output = h
        .function
        .output_after("more than this function serves at once", 1)
        .await;
    assert!(output.contains("asked=5000"), "{output}");
    let waited_since = std::time::Instant::now();
    while h.runtime.polling.lock().unwrap().0 < 64 {
        assert!(
            waited_since.elapsed() < Duration::from_secs(20),
            "{:?} polling",
            h.runtime.polling.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(h.runtime.polling.lock().unwrap().1, 64);
    let (outcome, _) = h.invoke(one_alarm("capped")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
}

/// A stage the secret has no version at reads as "not found": the error names the stage.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_version_stage_is_named() {
    let mut options = Options::default();
    options
        .env
        .push(("SECRET_VERSION_STAGE", "AWSPREVIOUS".into()));
    let h = Harness::start(options).await;
    let (outcome, _) = h.invoke(one_alarm("stage")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SecretNotFound", "{message}");
    assert!(message.contains("version stage AWSPREVIOUS"), "{message}");
}

/// Slack and Secrets Manager unreachable through a proxy: each error names the proxy, never
/// its credentials.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_proxy_is_named_without_its_credentials() {
    let dead = crate::support::http::refused_port();
    let proxy = format!("http://proxyuser:proxypass@127.0.0.1:{}", dead.port());
    // Slack through the proxy (as `localhost`), Secrets Manager around it.
    let h = Harness::start(Options {
        secret: Some(Box::new(|url| url.replace("127.0.0.1", "localhost"))),
        env: vec![
            ("RUST_LOG", "info".into()),
            ("SLACK_WEBHOOK_HOSTS", "127.0.0.1,localhost".into()),
            ("SLACK_MAX_ATTEMPTS", "1".into()),
            ("HTTP_PROXY", proxy.clone()),
            ("NO_PROXY", "127.0.0.1".into()),
        ],
    })
    .await;
    let (outcome, _) = h.invoke(one_alarm("proxied")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackUnreachable", "{message}");
    let named = format!(
        "through the proxy http://127.0.0.1:{} (HTTP_PROXY)",
        dead.port()
    );
    assert!(message.contains(&named), "{message}");
    assert!(
        !message.contains("proxypass") && !message.contains("proxyuser"),
        "{message}"
    );
    // Secrets Manager through it too.
    let h = Harness::start(Options {
        env: vec![("RUST_LOG", "info".into()), ("HTTP_PROXY", proxy)],
        ..Options::default()
    })
    .await;
    let (outcome, _) = h.invoke(one_alarm("proxied-aws")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SecretUnavailable", "{message}");
    assert!(message.contains(&named), "{message}");
    assert!(!message.contains("proxypass"), "{message}");
    let output = h.function.output();
    assert!(!output.contains("proxypass"), "{output}");
}
