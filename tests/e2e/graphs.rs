//! Metric graphs in app mode: the message first, then the alarm's graph, drawn by a local
//! CloudWatch (`GetMetricWidgetImage` in RPC v2 CBOR) and shared through the local Slack Web
//! API's external upload, in the message's thread.

use std::time::Duration;

use serde_json::{json, Value};

use crate::app::{app_secret, TOKEN};
use crate::support::cloudwatch::CloudWatch;
use crate::support::secrets::create_threads_table;
use crate::support::slack_api::{rate_limited, SlackApi, CHANNEL};
use crate::support::{alarm_message, event, sns_event, Harness, Options};

const SCOPES: [&str; 3] = ["chat:write", "channels:read", "files:write"];

/// App mode against `api`, graphs drawn by `cw`, plus `extra`.
async fn harness(api: &SlackApi, cw: &CloudWatch, extra: &[(&'static str, &str)]) -> Harness {
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let mut env = vec![
        ("RUST_LOG", "info".to_owned()),
        ("SLACK_API_URL", api.url()),
        ("SLACK_API_HOSTS", "127.0.0.1".into()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", cw.url()),
        // Blank: the default, on.
        ("METRIC_GRAPHS", String::new()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env,
    })
    .await
}

async fn start() -> (SlackApi, CloudWatch) {
    let api = SlackApi::start(TOKEN).await;
    api.set_scopes(&SCOPES);
    (api, CloudWatch::start().await)
}

fn alarm(id: &str, state: &str) -> Value {
    sns_event(&[(id, &alarm_message("cpu-high", state))])
}

fn methods(api: &SlackApi) -> Vec<String> {
    api.all_calls().into_iter().map(|c| c.method).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_is_posted_then_its_graph_is_shared_in_the_messages_thread() {
    let (api, cw) = start().await;
    let h = harness(&api, &cw, &[]).await;
    let (outcome, _) = h.invoke(alarm("graph-1", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");

    let calls = cw.calls();
    assert_eq!(calls.len(), 1, "{:?}", cw.refused());
    assert_eq!(calls[0].output_format.as_deref(), Some("png"));
    let widget = &calls[0].widget;
    assert_eq!(widget["metrics"][0][0], "AWS/EC2");
    assert_eq!(widget["metrics"][0][1], "CPUUtilization");
    assert_eq!(widget["metrics"][0][2]["stat"], "Average");
    assert_eq!(
        widget["annotations"],
        json!({"horizontal": [{"label": "Threshold (>)", "value": 80.0}],
               "vertical": [{"label": "ALARM at 08:15 UTC", "value": "2026-11-20T08:15:30Z"}]})
    );
    assert_eq!(widget["region"], "us-east-1");
    assert_eq!(widget["start"], "2026-11-20T05:15:30Z");
    assert_eq!(
        widget["end"], "2026-11-20T08:25:30Z",
        "10 minutes past the change"
    );
    assert_eq!(widget["period"], 300);
    assert_eq!(widget["title"], "cpu-high");
    assert_eq!(
        (widget["width"].as_u64(), widget["height"].as_u64()),
        (Some(600), Some(300))
    );

    // The message first, then the upload.
    assert_eq!(
        methods(&api),
        [
            "chat.postMessage",
            "files.getUploadURLExternal",
            "upload",
            "files.completeUploadExternal"
        ]
    );
    let calls = api.all_calls();
    assert!(calls.iter().all(|c| c.ok()), "{calls:?}");
    assert_eq!(calls[1].args["length"], cw.png.len().to_string());
    assert_eq!(calls[2].authorization, "", "the upload URL gets no token");
    let post = &api.posted()[0];
    let shared = api.shared_files();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].bytes, cw.png, "the PNG arrives intact");
    assert_eq!(shared[0].channel, CHANNEL);
    assert_eq!(shared[0].thread_ts.as_deref(), post.answer["ts"].as_str());
    assert_eq!(shared[0].title.as_deref(), Some("cpu-high"));
    assert_eq!(shared[0].filename, "cpu-high.png");
    h.function
        .output_after("metric graph shared in the message's thread", 1)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_math_alarms_graph_draws_its_expression() {
    let (api, cw) = start().await;
    let h = harness(&api, &cw, &[]).await;
    let (outcome, _) = h.invoke(event("events/sns-metric-math.json")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let widget = &cw.calls()[0].widget;
    assert_eq!(
        widget["metrics"][0],
        json!([{"expression": "m1/m2*100", "id": "e1", "label": "Error rate"}])
    );
    assert_eq!(widget["metrics"][1][1], "5XXError");
    assert_eq!(widget["metrics"][1][4]["visible"], false);
    assert_eq!(widget["annotations"]["horizontal"][0]["value"], 5.0);
    assert_eq!(api.shared_files().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn in_an_incident_thread_every_graph_goes_to_the_thread() {
    let (api, cw) = start().await;
    let table = create_threads_table().await;
    let h = harness(
        &api,
        &cw,
        &[("THREADS_TABLE", &table), ("THREADS_TIMEOUT_SECONDS", "8")],
    )
    .await;
    for (id, state) in [("thread-graph-1", "ALARM"), ("thread-graph-2", "OK")] {
        let (outcome, _) = h.invoke(alarm(id, state)).await;
        assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    }
    let posts = api.posted();
    assert_eq!(posts.len(), 2);
    let parent = posts[0].answer["ts"].as_str().unwrap().to_owned();
    assert_eq!(
        posts[1].args["thread_ts"],
        parent.as_str(),
        "the OK is a reply"
    );
    let shared = api.shared_files();
    assert_eq!(shared.len(), 2);
    for file in &shared {
        assert_eq!(file.thread_ts.as_deref(), Some(parent.as_str()));
        assert_eq!(file.channel, CHANNEL);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_graph_past_its_budget_is_dropped_and_the_message_is_on_time() {
    let (api, cw) = start().await;
    cw.hang(Duration::from_secs(8));
    let h = harness(&api, &cw, &[("METRIC_GRAPH_TIMEOUT_SECONDS", "1")]).await;
    let (outcome, took) = h.invoke(alarm("late-graph", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(api.posted().len(), 1);
    assert_eq!(methods(&api), ["chat.postMessage"], "no upload");
    let output = h.function.output_after("metric graph not shared", 1).await;
    let line = output
        .lines()
        .find(|l| l.contains("metric graph not shared"))
        .unwrap();
    assert!(line.contains("WARN"), "{line}");
    assert!(!output.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_files_write_still_delivers_the_message() {
    let (api, cw) = start().await;
    api.set_scopes(&["chat:write", "channels:read"]);
    let h = harness(&api, &cw, &[]).await;
    let (outcome, _) = h.invoke(alarm("no-scope", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert_eq!(
        api.calls("files.getUploadURLExternal")[0].error.as_deref(),
        Some("missing_scope")
    );
    assert!(api.shared_files().is_empty());
    let output = h.function.output_after("metric graph not shared", 1).await;
    assert!(output.contains("missing_scope"), "{output}");
    assert!(!output.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_upload_drops_the_graph_and_holds_no_message_back() {
    let (api, cw) = start().await;
    api.script("files.getUploadURLExternal", [rate_limited(30)]);
    let h = harness(&api, &cw, &[]).await;
    let (outcome, _) = h.invoke(alarm("limited-1", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert!(api.shared_files().is_empty());
    h.function.output_after("metric graph not shared", 1).await;
    // Slack limits files.* apart from chat.postMessage: the next message goes at once.
    let (outcome, took) = h.invoke(alarm("limited-2", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(api.posted().len(), 2);
    assert_eq!(api.shared_files().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn metric_graphs_false_asks_cloudwatch_nothing() {
    let (api, cw) = start().await;
    let h = harness(&api, &cw, &[("METRIC_GRAPHS", "false")]).await;
    let (outcome, _) = h.invoke(alarm("graphs-off", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert!(cw.calls().is_empty() && cw.refused().is_empty());
    assert_eq!(methods(&api), ["chat.postMessage"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_composite_alarm_has_no_graph() {
    let (api, cw) = start().await;
    let h = harness(&api, &cw, &[]).await;
    let (outcome, _) = h.invoke(event("events/sns-composite.json")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert!(cw.calls().is_empty() && cw.refused().is_empty());
    assert_eq!(methods(&api), ["chat.postMessage"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_mode_has_no_graph() {
    let cw = CloudWatch::start().await;
    let h = Harness::start(Options {
        env: vec![
            ("RUST_LOG", "info".into()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", cw.url()),
            ("METRIC_GRAPHS", "true".into()),
        ],
        ..Options::default()
    })
    .await;
    let (outcome, _) = h.invoke(alarm("webhook-graph", "ALARM")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert_eq!(h.slack.posts(&h.hook_path).len(), 1);
    assert!(cw.calls().is_empty() && cw.refused().is_empty());
}
