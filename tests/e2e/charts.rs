//! Native charts (`METRIC_CHARTS`): the alarm's data read from a local CloudWatch
//! (`GetMetricData` in RPC v2 CBOR) and drawn by Slack in the message, in webhook and app
//! mode; the message never waits past the chart's budget or fails for it; a destination that
//! refuses the block gets the message once more without it, and no chart for a while.

use std::time::Duration;

use serde_json::Value;

use crate::app::{app_secret, TOKEN};
use crate::support::cloudwatch::{CloudWatch, TagsFault};
use crate::support::slack::error;
use crate::support::slack_api::{api_error, SlackApi, CHANNEL};
use crate::support::{alarm_message, event, sns_event, Harness, Options};

/// Webhook mode with charts read from `cw`, plus `extra`.
async fn webhook(cw: &CloudWatch, extra: &[(&'static str, &str)]) -> Harness {
    let mut env = vec![
        ("RUST_LOG", "info".to_owned()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", cw.url()),
        ("METRIC_CHARTS", "true".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    Harness::start(Options {
        env,
        ..Options::default()
    })
    .await
}

fn alarm(id: &str, name: &str) -> Value {
    sns_event(&[(id, &alarm_message(name, "ALARM"))])
}

/// The charts of a posted message.
fn charts(body: &Value) -> Vec<Value> {
    body["blocks"]
        .as_array()
        .map(|b| {
            b.iter()
                .filter(|b| b["type"] == "data_visualization")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_message_carries_the_alarms_chart() {
    let cw = CloudWatch::start().await;
    let h = webhook(&cw, &[]).await;
    let (outcome, _) = h.invoke(alarm("chart-1", "cpu-high")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");

    let calls = cw.data_calls();
    assert_eq!(calls.len(), 1, "{:?}", cw.refused());
    let query = &calls[0]["MetricDataQueries"][0];
    assert_eq!(query["Id"], "m1");
    assert_eq!(query["ReturnData"], true);
    assert_eq!(
        query["MetricStat"]["Metric"]["MetricName"],
        "CPUUtilization"
    );
    assert_eq!(query["MetricStat"]["Metric"]["Namespace"], "AWS/EC2");
    assert_eq!(query["MetricStat"]["Period"], 300);
    assert_eq!(query["MetricStat"]["Stat"], "Average");
    // The 20 periods up to the one in which the state changed (08:15:30).
    assert_eq!(calls[0]["EndTime"].as_f64(), Some(1_795_162_800.0), "08:20");
    assert_eq!(
        calls[0]["StartTime"].as_f64(),
        Some(1_795_156_800.0),
        "06:40"
    );

    let posts = h.slack.accepted(&h.hook_path);
    assert_eq!(posts.len(), 1);
    let chart = &charts(&posts[0].body)[0];
    assert_eq!(chart["title"], "cpu-high");
    let series = chart["chart"]["series"].as_array().unwrap();
    assert_eq!(series[0]["name"], "CPUUtilization");
    assert_eq!(series[0]["data"].as_array().unwrap().len(), 20);
    assert_eq!(series[1]["name"], "Threshold");
    assert_eq!(series[1]["data"][0]["value"], 80.0);
    assert_eq!(chart["chart"]["axis_config"]["categories"][19], "08:15");
    assert_eq!(
        posts[0].body["text"],
        "cpu-high state is now ALARM: Threshold Crossed: 1 datapoint [95.0] was greater than the threshold (80.0).",
        "the top-level text is unchanged"
    );
    slack_alarm_notifier::check_limits(&posts[0].body).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_mode_message_carries_the_chart_and_its_thread_the_graph() {
    let api = SlackApi::start(TOKEN).await;
    api.set_scopes(&["chat:write", "channels:read", "files:write"]);
    let cw = CloudWatch::start().await;
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("RUST_LOG", "info".to_owned()),
            ("SLACK_API_URL", api.url()),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", cw.url()),
            ("METRIC_CHARTS", "true".into()),
            ("METRIC_GRAPHS", "true".into()),
        ],
    })
    .await;
    let (outcome, _) = h.invoke(event("events/sns-anomaly-band.json")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let posted = api.posted();
    assert_eq!(posted.len(), 1);
    let chart = &charts(&posted[0].args)[0];
    let names: Vec<&str> = chart["chart"]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["CPUUtilization", "Band high", "Band low"]);
    assert_eq!(cw.data_calls().len(), 1);
    assert_eq!(cw.calls().len(), 1, "the PNG graph too");
    let shared = api.shared_files();
    assert_eq!(shared.len(), 1);
    assert_eq!(
        shared[0].thread_ts.as_deref(),
        posted[0].answer["ts"].as_str()
    );
}

/// The message goes out without the chart, and the log says why.
async fn without_chart(h: &Harness, id: &str, why: &str) {
    let (outcome, _) = h.invoke(alarm(id, "cpu-high")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let posts = h.slack.accepted(&h.hook_path);
    assert_eq!(posts.len(), 1);
    assert!(charts(&posts[0].body).is_empty());
    let log = h
        .function
        .output_after("metric chart not read; the message goes without it", 1)
        .await;
    assert!(log.contains(why), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_slower_than_the_budget_costs_only_the_chart() {
    let cw = CloudWatch::start().await;
    // Far past the invocation's 10 s: had the message waited for CloudWatch, it would have
    // missed the deadline and failed.
    cw.hang(Duration::from_secs(60));
    let h = webhook(&cw, &[("METRIC_CHART_TIMEOUT_SECONDS", "0.3")]).await;
    without_chart(&h, "chart-slow", "did not answer within 300ms").await;
    assert_eq!(cw.data_calls().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloudwatch_error_costs_only_the_chart() {
    let cw = CloudWatch::start().await;
    cw.fail_data(Some(TagsFault::access_denied()));
    let h = webhook(&cw, &[]).await;
    without_chart(&h, "chart-denied", "GetMetricData failed: AccessDenied").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_refusing_the_block_gets_it_once_more_without_and_no_chart_after() {
    let cw = CloudWatch::start().await;
    let h = webhook(&cw, &[]).await;
    h.slack.script(&h.hook_path, [error(400, "invalid_blocks")]);
    let (outcome, _) = h.invoke(alarm("refused-1", "cpu-high")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let posts = h.slack.posts(&h.hook_path);
    assert_eq!(posts.len(), 2, "exactly one more post");
    assert_eq!((posts[0].status, posts[1].status), (400, 200));
    assert_eq!(charts(&posts[0].body).len(), 1);
    assert!(charts(&posts[1].body).is_empty());
    let mut first = posts[0].body.clone();
    first["blocks"]
        .as_array_mut()
        .unwrap()
        .retain(|b| b["type"] != "data_visualization");
    assert_eq!(first, posts[1].body, "the same message, without its chart");

    // The next alarm within the hour: no chart asked for, none sent, one post.
    let (outcome, _) = h.invoke(alarm("refused-2", "disk-full")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let posts = h.slack.posts(&h.hook_path);
    assert_eq!(posts.len(), 3);
    assert!(charts(&posts[2].body).is_empty());
    assert_eq!(cw.data_calls().len(), 1, "CloudWatch is not asked again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_channel_refusing_the_block_gets_it_once_more_without() {
    let api = SlackApi::start(TOKEN).await;
    let cw = CloudWatch::start().await;
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("RUST_LOG", "info".to_owned()),
            ("SLACK_API_URL", api.url()),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", cw.url()),
            ("METRIC_CHARTS", "true".into()),
        ],
    })
    .await;
    api.script("chat.postMessage", [api_error("invalid_blocks")]);
    let (outcome, _) = h.invoke(alarm("refused-app", "cpu-high")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let posts = api.calls("chat.postMessage");
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].error.as_deref(), Some("invalid_blocks"));
    assert!(posts[1].ok());
    assert!(charts(&posts[1].args).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_charts_off_cloudwatch_is_not_asked_and_the_message_is_the_same() {
    let cw = CloudWatch::start().await;
    let off = webhook(&cw, &[("METRIC_CHARTS", "")]).await;
    let (outcome, _) = off.invoke(alarm("off-1", "cpu-high")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert!(cw.data_calls().is_empty(), "no GetMetricData");
    let plain = off.slack.accepted(&off.hook_path).remove(0);
    assert!(charts(&plain.body).is_empty());

    // Charts on but none drawn: byte for byte the message charts off sends.
    cw.fail_data(Some(TagsFault::internal()));
    let on = webhook(&cw, &[]).await;
    let (outcome, _) = on.invoke(alarm("off-1", "cpu-high")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let failed = on.slack.accepted(&on.hook_path).remove(0);
    assert_eq!(failed.raw, plain.raw);
    let rendered = std::process::Command::new(env!("CARGO_BIN_EXE_slack-alarm-notifier"))
        .args(["render", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            let message = alarm("off-1", "cpu-high").to_string();
            child.stdin.take().unwrap().write_all(message.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let mut rendered: Value = serde_json::from_slice(&rendered.stdout).unwrap();
    rendered[0]["channel"] = "#oncall-secret-channel".into();
    assert_eq!(
        plain.body, rendered[0],
        "what render prints, with the legacy channel"
    );
}

/// `render EVENT --metric-data FILE`, with `env`: its exit code, output and error.
fn render(file: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slack-alarm-notifier"))
        .current_dir(root)
        .args(["render", "events/sns-alarm.json", "--metric-data", file])
        .env_remove("METRIC_CHARTS")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn render_draws_the_chart_from_a_recorded_answer_and_names_a_bad_one() {
    let on = [("METRIC_CHARTS", "true")];
    let (code, out, _) = render("tests/metric-data/cpu.json", &on);
    assert_eq!(code, Some(0));
    let payloads: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(charts(&payloads[0])[0]["title"], "prod-web-1-cpu-high");

    let (code, _, err) = render("tests/metric-data/cpu.json", &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("METRIC_CHARTS=true"), "{err}");
    let dir = std::env::temp_dir().join(crate::support::unique("metric-data"));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"MetricDataResults":[{"Id":"m1","Timestamps":[1],"Values":[1]}]}"#,
    )
    .unwrap();
    for (file, says) in [
        (
            bad.to_str().unwrap(),
            "Timestamps[0] is not an ISO 8601 time",
        ),
        (
            "tests/metric-data/missing.json",
            "cannot read tests/metric-data/missing.json",
        ),
        ("events", "cannot read events"),
    ] {
        let (code, _, err) = render(file, &on);
        assert_eq!(code, Some(1), "{file}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(says),
            "{file}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}
