//! Rendering, checked without I/O: golden snapshots of every event file, and properties
//! that must hold for any text an alarm can carry.

mod charts;
mod expected;
mod golden;
mod properties;

use serde_json::Value;
use slack_alarm_notifier::render_event;
use slack_alarm_notifier::RenderOptions;

/// Every event file: the console events and the extra test fixtures, including those in a
/// folder of their source's (`tests/fixtures/<source>/`).
pub fn event_files() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let entries = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect()
    };
    let mut files: Vec<_> = ["events", "tests/fixtures"]
        .iter()
        .flat_map(|dir| entries(&root.join(dir)))
        .flat_map(|p| if p.is_dir() { entries(&p) } else { vec![p] })
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the event files, found {}",
        files.len()
    );
    files
}

/// Each notification in the file with the payload it gets on its own (an SQS batch's
/// notifications too, which `render_file` shows as digests).
pub fn notifications(
    path: &std::path::Path,
) -> Vec<(slack_alarm_notifier::model::Notification, Value)> {
    let bytes = std::fs::read(path).unwrap();
    slack_alarm_notifier::parse_event_bytes(&bytes)
        .unwrap()
        .into_iter()
        .map(|n| {
            let n = n.unwrap();
            let payload = slack_alarm_notifier::render(&n, &RenderOptions::default());
            (n, payload)
        })
        .collect()
}

pub fn render_file(path: &std::path::Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap();
    render_event(&bytes, &RenderOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// All text Slack parses as mrkdwn, including the fallback. `plain_text` objects are inert
/// (Slack never turns them into mentions or links), so they are left out.
pub fn visible_texts(payload: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if map.get("type").and_then(Value::as_str) == Some("plain_text") {
                    return;
                }
                if let Some(Value::String(t)) = map.get("text") {
                    out.push(t.clone());
                }
                for (k, child) in map {
                    if k != "url" {
                        walk(child, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(payload, &mut out);
    out
}
