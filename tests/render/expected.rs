//! Each source's fixtures with the severity and headline they must get, listed in
//! `tests/fixtures/<source>/expected.txt`, one line per notification:
//!
//! ```text
//! pipeline-failed.json | error | CodePipeline orders-api-release FAILED
//! ```
//!
//! A fixture with several notifications has one line for each, in order. Lines starting
//! with `#` are comments.

use std::collections::BTreeMap;
use std::path::Path;

use slack_alarm_notifier::model::card::Severity;

use crate::{notifications, visible_texts};

fn severity_name(severity: Severity) -> String {
    format!("{severity:?}").to_lowercase()
}

/// The lines of each fixture in one source's folder: (severity, headline) per notification.
fn read_expected(dir: &Path) -> BTreeMap<String, Vec<(String, String)>> {
    let file = dir.join("expected.txt");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (every source's folder lists its fixtures' severity and headline)",
            file.display()
        )
    });
    let mut expected: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, " | ").collect();
        let [fixture, severity, headline] = parts[..] else {
            panic!(
                "{}:{}: expected `file | severity | headline`",
                file.display(),
                n + 1
            )
        };
        expected
            .entry(fixture.to_owned())
            .or_default()
            .push((severity.to_owned(), headline.to_owned()));
    }
    expected
}

fn source_dirs() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "only {} source folders", dirs.len());
    dirs
}

/// Every fixture in a source's folder has its severity and headline asserted, and every
/// listed fixture exists.
#[test]
fn every_fixture_gets_its_expected_severity_and_headline() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in source_dirs() {
        let mut expected = read_expected(&dir);
        let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        fixtures.sort();
        for path in fixtures {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let actual: Vec<(String, String)> = notifications(&path)
                .iter()
                .map(|(notification, payload)| {
                    let severity = severity_name(notification.body.card().severity);
                    (
                        severity,
                        payload["text"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            let wanted = expected.remove(&name).unwrap_or_default();
            if wanted != actual {
                let lines: Vec<String> = actual
                    .iter()
                    .map(|(s, h)| format!("{name} | {s} | {h}"))
                    .collect();
                failures.push(format!(
                    "{}: {name} expected {wanted:?}, got:\n{}",
                    dir.display(),
                    lines.join("\n")
                ));
            }
            checked += actual.len();
        }
        for name in expected.keys() {
            failures.push(format!("{}: {name} is listed but missing", dir.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(checked >= 33, "only {checked} notifications checked");
}

/// The colour bar follows the severity, except grey for an alarm with no data.
#[test]
fn the_colour_follows_the_severity() {
    for dir in source_dirs() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            for (notification, payload) in notifications(&path) {
                let card = notification.body.card();
                let colour = payload["attachments"][0]["color"].as_str().unwrap();
                assert!(
                    colour == card.severity.colour()
                        || colour == slack_alarm_notifier::model::card::colour::NO_DATA,
                    "{}: {colour} for {:?}",
                    path.display(),
                    card.severity
                );
            }
        }
    }
}

/// No message from a fixture shows JSON key syntax: documents become fields and
/// `path: value` lines, never a dump.
#[test]
fn no_fixture_shows_json_key_syntax() {
    for dir in source_dirs() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            for (_, payload) in notifications(&path) {
                for text in visible_texts(&payload) {
                    assert!(
                        !text.contains("\":") && !text.contains("{\""),
                        "{}: JSON key syntax in {text:?}",
                        path.display()
                    );
                }
            }
        }
    }
}
