//! Golden files: a change in rendering shows up as a reviewed snapshot diff.

use slack_alarm_notifier::{check_limits, colour};

use slack_alarm_notifier::model::Body;

use crate::{event_files, render_file, visible_texts};

#[test]
fn every_event_file_matches_its_snapshot() {
    for path in event_files() {
        let payloads = render_file(&path);
        let dir = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let name = format!("{dir}__{}", path.file_stem().unwrap().to_string_lossy());
        insta::assert_json_snapshot!(name, payloads);
    }
}

#[test]
fn every_payload_is_within_slacks_limits() {
    for path in event_files() {
        for payload in render_file(&path) {
            check_limits(&payload).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

/// Alarms from every partition link to their own console and carry a state colour.
#[test]
fn alarm_payloads_link_to_the_right_console_with_a_state_colour() {
    let mut alarms = 0;
    for path in event_files() {
        let raw = std::fs::read_to_string(&path).unwrap();
        for (notification, payload) in crate::notifications(&path) {
            if !matches!(notification.body, Body::Alarm(_)) {
                continue;
            }
            let body = payload.to_string();
            let url = body
                .split("\"url\":\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_else(|| panic!("{}: no console link", path.display()));
            let expected_host = if raw.contains("arn:aws-cn:") {
                ".console.amazonaws.cn/"
            } else if raw.contains("arn:aws-us-gov:") {
                "https://console.amazonaws-us-gov.com/"
            } else {
                ".console.aws.amazon.com/"
            };
            assert!(
                url.contains(expected_host) && url.contains("/cloudwatch/home?region="),
                "{}: {url}",
                path.display()
            );
            let colour = payload["attachments"][0]["color"].as_str().unwrap();
            assert!(
                [colour::ALARM, colour::OK, colour::NO_DATA].contains(&colour),
                "{}: {colour}",
                path.display()
            );
            // No raw JSON for alarms: the message is prose and fields, not the SNS body.
            for text in visible_texts(&payload) {
                for key in [
                    "AlarmName",
                    "NewStateValue",
                    "\"Trigger\"",
                    "alarmData",
                    "{\"",
                ] {
                    assert!(
                        !text.contains(key),
                        "{}: raw JSON {key:?} shown in {text:?}",
                        path.display()
                    );
                }
            }
            alarms += 1;
        }
    }
    assert!(alarms >= 14, "only {alarms} alarm payloads checked");
}

#[test]
fn other_aws_sources_get_their_own_layouts() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, header) in [
        (
            "tests/fixtures/health/sns-instance-retirement.json",
            "AWS Health: EC2 AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
        ),
        (
            "tests/fixtures/guardduty/finding-high.json",
            "GuardDuty HIGH",
        ),
        (
            "tests/fixtures/securityhub/sns-finding-high.json",
            "Security Hub HIGH",
        ),
        (
            "tests/fixtures/backup/backup-job-failed.json",
            "AWS Backup: Backup job FAILED",
        ),
        (
            "tests/fixtures/backup/sns-backup-job-completed.json",
            "AWS Backup: Backup job COMPLETED",
        ),
        (
            "tests/fixtures/budgets/sns-monthly-cost.json",
            "AWS Budgets: monthly-cost",
        ),
        (
            "tests/fixtures/ec2/instance-pending.json",
            "EC2 instance i-0a1b2c3d4e5f67890 stopped",
        ),
    ] {
        let payload = &render_file(&root.join(file))[0];
        let shown = payload["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(shown.contains(header), "{file}: header {shown:?}");
        for text in visible_texts(payload) {
            assert!(!text.contains("{\""), "{file}: raw JSON in {text:?}");
        }
    }
}

#[test]
fn hostile_text_is_escaped_and_cut() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let payload = &render_file(&root.join("tests/fixtures/cloudwatch/sns-alarm-hostile.json"))[0];
    let body = visible_texts(payload).concat();
    for live in ["<!channel>", "<!here>", "<@U", "<https://evil"] {
        assert!(!body.contains(live), "live {live:?} in {body}");
    }
    assert!(body.contains("&lt;!channel&gt;"));
    // The header is plain_text: shown as written, never parsed into a mention.
    assert_eq!(payload["blocks"][0]["text"]["type"], "plain_text");
    assert!(body.contains("… (truncated)"));
}

#[test]
fn unicode_names_render_intact() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let payload = &render_file(&root.join("tests/fixtures/cloudwatch/sns-alarm-unicode.json"))[0];
    let header = payload["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(header.contains("本番-API-レイテンシ高"), "{header}");
}

/// Every event file seeds the fuzzer (`bash fuzz/seed.sh`), so it starts from each shape the
/// sources know.
#[test]
fn every_event_file_seeds_the_fuzzer() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse_render");
    let seeds: std::collections::HashSet<Vec<u8>> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let missing: Vec<_> = event_files()
        .into_iter()
        .filter(|path| !seeds.contains(&std::fs::read(path).unwrap()))
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "not in the fuzz corpus (run bash fuzz/seed.sh): {missing:?}"
    );
}
