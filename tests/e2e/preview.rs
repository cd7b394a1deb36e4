//! The README's pictures of a resolved thread and of a message with its graph, from what the
//! built function really sends: an incident in app mode with threads and graphs on (ALARM,
//! then OK 15 minutes later by the events' times) against the local Slack Web API, moto's
//! DynamoDB and the local CloudWatch. The test checks the thread's shape; with
//! `PREVIEW_OUT=<dir>` it also writes what Slack holds at the end to `<dir>/thread.json`, which
//! `docs/preview/screenshot.sh thread graph` draws. The second test does the same for acting from
//! Slack (`ACTIONS=true`), into `<dir>/actions.json` for `screenshot.sh actions actions-thread`.

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

/// The README's pictures of acting from Slack (`ACTIONS=true`): the ALARM of
/// events/sns-alarm.json as first posted, with its buttons; then, through signed clicks,
/// Acknowledge and Mute 1 hour, then the OK. The test checks the parent's lines and buttons and
/// the replies in order; with `PREVIEW_OUT=<dir>` it writes what Slack holds to
/// `<dir>/actions.json` (shaped like `thread.json`), which
/// `docs/preview/screenshot.sh actions actions-thread` draws.
#[tokio::test(flavor = "multi_thread")]
async fn an_incident_acknowledged_muted_then_resolved_from_its_buttons() {
    use crate::actions::{ack, click, line, mute, now, parent, send, setup, signed_event};
    use crate::actions::{status, SIGNING, USER};

    // No graphs: this picture is about the buttons.
    let s = setup(&[("METRIC_GRAPHS", "false")]).await;
    // A click is signed now and answered with the time now, so the incident is moved to a few
    // minutes ago: its times, datapoints included, by a whole number of 5-minute periods.
    let by = minutes_ago(now());
    let (outcome, _) =
        s.h.invoke(shifted(&event("events/sns-alarm.json"), by))
            .await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let posts = s.api.posted();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let ts = posts[0].answer["ts"].as_str().unwrap().to_owned();
    let first = parent(&s, &ts);
    let block = |message: &Value, id: &str| -> Value {
        message["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    // What each control shows: a button's label, a menu's placeholder.
    let controls = |message: &Value| -> Vec<String> {
        let actions = block(message, "incident-actions");
        actions["elements"]
            .as_array()
            .map(|els| {
                els.iter()
                    .map(|e| {
                        let text = if e["type"] == "static_select" {
                            &e["placeholder"]["text"]
                        } else {
                            &e["text"]["text"]
                        };
                        format!("{}:{}", e["type"].as_str().unwrap(), text.as_str().unwrap())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        controls(&first),
        ["button:👀 Acknowledge", "static_select:🔕 Mute for…"]
    );
    let select = &block(&first, "incident-actions")["elements"][1];
    let options: Vec<&str> = select["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(options, ["1 hour", "4 hours", "24 hours"]);
    let key = block(&first, "incident-actions")["elements"][0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(key.ends_with(ALARM_ARN), "{key}");

    // When each click was made: its reply's time, which the reply itself does not carry.
    let mut clicked = Vec::new();
    for action in [ack(&key, "500.1"), mute(3600, "500.2")] {
        let at = now();
        let (outcome, _) = send(&s, signed_event(&click(&s, &ts, USER, action), at, SIGNING)).await;
        assert_eq!(status(&outcome), 200, "{outcome:?}");
        clicked.push(at);
    }
    assert_eq!(s.mutes.rules().len(), 1);
    let (outcome, _) = s.h.invoke(shifted(&recovery(), by)).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");

    // The parent as edited: resolved, who acknowledged, who muted until when, and Unmute.
    let last = parent(&s, &ts);
    assert_eq!(
        line(&last, "incident-status").as_deref(),
        Some("✅ Resolved after 15 min")
    );
    let acked = line(&last, "incident-ack").unwrap();
    assert!(
        acked.starts_with(&format!("👀 Acknowledged by <@{USER}> at ")) && acked.ends_with(" UTC"),
        "{acked}"
    );
    let muted = line(&last, "incident-mute").unwrap();
    assert!(
        muted.starts_with("🔕 Muted until ") && muted.ends_with(&format!(" UTC by <@{USER}>")),
        "{muted}"
    );
    assert_eq!(
        controls(&last),
        ["button:👀 Acknowledge", "button:🔔 Unmute"]
    );

    // The replies in order: the acknowledgement, the mute, the OK.
    let replies: Vec<Value> = s
        .api
        .posted()
        .into_iter()
        .filter(|c| c.args["thread_ts"] == ts.as_str())
        .enumerate()
        .map(|(i, c)| {
            let reply_ts = c.answer["ts"].as_str().unwrap().to_owned();
            json!({"type": "message", "ts": reply_ts, "at": clicked.get(i),
                   "message": s.api.message(&reply_ts).unwrap()})
        })
        .collect();
    let texts: Vec<&str> = replies
        .iter()
        .map(|r| r["message"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(
        texts[0].contains(&format!("<@{USER}> acknowledged")),
        "{texts:?}"
    );
    assert!(texts[1].contains(&format!("<@{USER}> muted")), "{texts:?}");
    assert!(texts[2].contains("state is now OK"), "{texts:?}");

    if let Some(dir) = std::env::var_os("PREVIEW_OUT") {
        let mut posted = posts[0].args.clone();
        posted.as_object_mut().unwrap().remove("channel");
        let thread = json!({
            "channel": CHANNEL,
            "parent": {"ts": ts, "posted": posted, "message": last},
            "replies": replies,
        });
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("actions.json");
        std::fs::write(&path, serde_json::to_string_pretty(&thread).unwrap()).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

/// How far to move the sample incident (ALARM at 08:15:30 on 2026-11-20) so that its ALARM is
/// between one and six minutes before `now` (epoch seconds), by whole 5-minute periods.
fn minutes_ago(now: u64) -> chrono::TimeDelta {
    let alarm = sample_time(0, 15, 30).and_utc().timestamp();
    let periods = (now as i64 - 60 - alarm).div_euclid(300);
    chrono::TimeDelta::seconds(periods * 300)
}

fn sample_time(h: u32, m: u32, s: u32) -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
        .unwrap()
        .and_hms_opt(8 + h, m, s)
        .unwrap()
}

/// `event` with every time of the sample incident (08:00 to 08:30:31 on 2026-11-20, in the
/// forms the events write them) moved `by`.
fn shifted(event: &Value, by: chrono::TimeDelta) -> Value {
    // (minute, second, millisecond) of each ISO time in events/sns-alarm.json and recovery().
    let iso = [(15, 30, 852), (15, 31, 123), (30, 30, 917), (30, 31, 204)];
    let mut pairs = Vec::new();
    for (m, s, ms) in iso {
        let t = sample_time(0, m, s) + chrono::TimeDelta::milliseconds(ms);
        for form in ["%Y-%m-%dT%H:%M:%S%.3f+0000", "%Y-%m-%dT%H:%M:%S%.3fZ"] {
            pairs.push((
                t.format(form).to_string(),
                (t + by).format(form).to_string(),
            ));
        }
    }
    // The datapoints a state reason quotes, `20/11/26 08:10:00`.
    for m in (0..=30).step_by(5) {
        let t = sample_time(0, m, 0);
        let form = "%d/%m/%y %H:%M:%S";
        pairs.push((
            t.format(form).to_string(),
            (t + by).format(form).to_string(),
        ));
    }
    // Through placeholders, so that a moved time is never moved again.
    let mut text = event.to_string();
    for (i, (from, _)) in pairs.iter().enumerate() {
        text = text.replace(from.as_str(), &format!("@@time{i}@@"));
    }
    for (i, (_, to)) in pairs.iter().enumerate().rev() {
        text = text.replace(&format!("@@time{i}@@"), to);
    }
    serde_json::from_str(&text).unwrap()
}
