//! The README's pictures of a resolved thread and of a message with its graph, from what the
//! built function really sends: an incident in app mode with threads and graphs on (ALARM,
//! then OK 15 minutes later by the events' times) against the local Slack Web API, moto's
//! DynamoDB and the local CloudWatch. The test checks the thread's shape; with
//! `PREVIEW_OUT=<dir>` it also writes what Slack holds at the end to `<dir>/thread.json`, which
//! `docs/preview/screenshot.sh thread graph` draws.

use std::time::Duration;

use serde_json::{json, Value};

use crate::app::{app_secret, TOKEN};
use crate::support::cloudwatch::CloudWatch;
use crate::support::secrets::create_threads_table;
use crate::support::slack_api::{SlackApi, CHANNEL};
use crate::support::{event, Harness, Options};

const ALARM_ARN: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:prod-web-1-cpu-high";
/// The recovery, 15 minutes after events/sns-alarm.json's `StateChangeTime` (08:15:30; the
/// function measures an incident by the events' own times), three 5-minute datapoints below the
/// threshold after the last one above it.
const OK_AT: &str = "2026-11-20T08:30:30.917+0000";
const OK_REASON: &str =
    "Threshold Crossed: 3 out of the last 3 datapoints [41.2 (20/11/26 08:25:00), \
38.9 (20/11/26 08:20:00), 44.6 (20/11/26 08:15:00)] were not greater than the threshold (80.0) \
(minimum 3 datapoints for ALARM -> OK transition).";
/// Each invocation's deadline: room for moto and the graph on a busy machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// events/sns-ok.json, for the same alarm, recovering at [`OK_AT`].
fn recovery() -> Value {
    let mut ok = event("events/sns-ok.json");
    let sns = &mut ok["Records"][0]["Sns"];
    let mut message: Value = serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["AlarmArn"], ALARM_ARN);
    message["StateChangeTime"] = OK_AT.into();
    message["NewStateReason"] = OK_REASON.into();
    sns["Message"] = message.to_string().into();
    sns["Timestamp"] = "2026-11-20T08:30:31.204Z".into();
    ok
}

async fn harness(api: &SlackApi, cw: &CloudWatch, table: &str) -> Harness {
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("RUST_LOG", "info".into()),
            ("SLACK_API_URL", api.url()),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
            ("THREADS_TABLE", table.into()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", cw.url()),
            // Blank: the default, on.
            ("METRIC_GRAPHS", String::new()),
            // A busy machine must not cost the picture its graph or its thread.
            ("METRIC_GRAPH_TIMEOUT_SECONDS", "10".into()),
            ("THREADS_TIMEOUT_SECONDS", "8".into()),
        ],
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resolved_incident_is_one_thread_with_its_graphs_and_the_parent_says_resolved() {
    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    api.set_scopes(&["chat:write", "channels:read", "files:write"]);
    let cw = CloudWatch::start().await;
    let h = harness(&api, &cw, &table).await;

    let (outcome, _) = h
        .runtime
        .invoke(event("events/sns-alarm.json"), DEADLINE)
        .await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert_eq!(api.shared_files().len(), 1, "the ALARM's graph is shared");
    let (outcome, _) = h.runtime.invoke(recovery(), DEADLINE).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");

    // One parent; the OK replies in its thread.
    let posts = api.posted();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts[0].args.get("thread_ts").is_none(), "the ALARM opens");
    let parent_ts = posts[0].answer["ts"].as_str().unwrap().to_owned();
    assert_eq!(posts[1].args["thread_ts"], parent_ts.as_str());
    assert!(posts[1].args["text"]
        .as_str()
        .unwrap()
        .contains("state is now OK"));

    // Each state's graph, in the thread, drawn for the hours before its own change.
    let shared = api.shared_files();
    let widgets: Vec<Value> = cw.calls().into_iter().map(|c| c.widget).collect();
    assert_eq!((shared.len(), widgets.len()), (2, 2), "{:?}", cw.refused());
    for file in &shared {
        assert_eq!(file.channel, CHANNEL);
        assert_eq!(file.thread_ts.as_deref(), Some(parent_ts.as_str()));
        assert_eq!(file.filename, "prod-web-1-cpu-high.png");
        assert_eq!(file.bytes, cw.png);
    }
    let changes = [("ALARM", "08:15"), ("OK", "08:30")];
    for (widget, (state, at)) in widgets.iter().zip(changes) {
        // The state change is marked, clear of the right edge.
        assert_eq!(
            widget["annotations"]["vertical"],
            json!([{"label": format!("{state} at {at} UTC"), "value": format!("2026-11-20T{at}:30Z")}])
        );
        let end = if state == "OK" {
            "08:40:30"
        } else {
            "08:25:30"
        };
        assert_eq!(widget["end"], format!("2026-11-20T{end}Z"));
        assert_eq!(
            widget["metrics"][0],
            json!(["AWS/EC2", "CPUUtilization", "InstanceId", "i-0a1b2c3d4e5f67890",
                   {"stat": "Average", "period": 300}])
        );
        assert_eq!(
            widget["annotations"]["horizontal"][0],
            json!({"label": "Threshold (>)", "value": 80.0})
        );
    }

    // The thread in the order Slack shows it: the ALARM's graph, the OK, the OK's graph.
    let mut files = shared.iter().zip(&widgets);
    let mut replies = Vec::new();
    for call in api.all_calls().into_iter().filter(|c| c.ok()) {
        match call.method.as_str() {
            "chat.postMessage" if call.args.get("thread_ts").is_some() => {
                let ts = call.answer["ts"].as_str().unwrap();
                replies.push(json!({"type": "message", "ts": ts,
                                    "message": api.message(ts).unwrap()}));
            }
            "files.completeUploadExternal" => {
                let (file, widget) = files.next().unwrap();
                replies.push(json!({
                    "type": "file",
                    "file": {"id": file.id, "filename": file.filename, "title": file.title,
                             "channel": file.channel, "thread_ts": file.thread_ts,
                             "length": file.bytes.len()},
                    "widget": widget,
                }));
            }
            _ => {}
        }
    }
    let kinds: Vec<&str> = replies
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["file", "message", "file"]);

    // The parent, edited once: resolved, its own content kept under the status line.
    let updates = api.calls("chat.update");
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert!(updates[0].ok(), "{:?}", updates[0]);
    let parent = api.message(&parent_ts).unwrap();
    assert_eq!(parent["blocks"][0]["block_id"], "incident-status");
    assert_eq!(
        parent["blocks"][0]["elements"][0]["text"],
        "✅ Resolved after 15 min"
    );
    assert_eq!(
        parent["blocks"].as_array().unwrap()[1..],
        posts[0].args["blocks"].as_array().unwrap()[..]
    );
    assert_eq!(parent["attachments"], posts[0].args["attachments"]);

    if let Some(dir) = std::env::var_os("PREVIEW_OUT") {
        let mut posted = posts[0].args.clone();
        posted.as_object_mut().unwrap().remove("channel");
        let thread = json!({
            "channel": CHANNEL,
            "parent": {"ts": parent_ts, "posted": posted, "message": parent},
            "replies": replies,
        });
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("thread.json");
        std::fs::write(&path, serde_json::to_string_pretty(&thread).unwrap()).unwrap();
        eprintln!("wrote {}", path.display());
    }
}
