//! The local CLI: `render` works offline on every event, and bad input never panics or hangs.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{alarm_message, sns_event};

const BIN: &str = env!("CARGO_BIN_EXE_slack-alarm-notifier");

fn render_bytes(input: &[u8]) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["render", "-"])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (output, started.elapsed())
}

/// Either a JSON array on stdout (exit 0) or one `error:` line on stderr (exit 1); never a panic.
fn assert_clean(label: &str, input: &[u8]) -> Option<Vec<Value>> {
    let (output, took) = render_bytes(input);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(took < Duration::from_secs(20), "{label}: took {took:?}");
    assert!(!stderr.contains("panicked"), "{label}: {stderr}");
    match output.status.code() {
        Some(0) => {
            let payloads: Vec<Value> = serde_json::from_slice(&output.stdout)
                .unwrap_or_else(|e| panic!("{label}: stdout is not JSON: {e}"));
            for p in &payloads {
                slack_alarm_notifier::check_limits(p).unwrap_or_else(|e| panic!("{label}: {e}"));
            }
            Some(payloads)
        }
        Some(1) => {
            assert_eq!(stderr.lines().count(), 1, "{label}: {stderr}");
            assert!(stderr.starts_with("error: "), "{label}: {stderr}");
            assert!(output.stdout.is_empty(), "{label}");
            None
        }
        other => panic!("{label}: exit {other:?}, stderr {stderr}"),
    }
}

#[test]
fn render_prints_one_payload_per_notification_or_a_digest_per_batch() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let entries = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect()
    };
    for dir in ["events", "tests/fixtures"] {
        // Fixtures may sit in a folder of their source's: tests/fixtures/<source>/.
        // Only the events: a source's folder also holds its expected.txt.
        let files = entries(&root.join(dir))
            .into_iter()
            .flat_map(|p| if p.is_dir() { entries(&p) } else { vec![p] })
            .filter(|p| p.extension().is_some_and(|e| e == "json"));
        for path in files {
            let event: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let records = event["Records"].as_array();
            let queue = records
                .and_then(|r| r.first())
                .is_some_and(|r| r["eventSource"] == "aws:sqs");
            // A queue batch beyond the digest threshold is shown as its digests.
            let expected = match records {
                Some(r) if queue && r.len() > 3 => 1,
                Some(r) => r.len(),
                None => 1,
            };
            let output = Command::new(BIN)
                .arg("render")
                .arg(&path)
                .env_remove("AWS_LAMBDA_RUNTIME_API")
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr)
            );
            let payloads: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(payloads.len(), expected, "{}", path.display());
        }
    }
}

#[test]
fn bad_input_gets_a_clear_error() {
    let nested_arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let nested_objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let event = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/sns-alarm.json"
    ))
    .unwrap();
    for (label, input, expect) in [
        (
            "nested arrays",
            nested_arrays.into_bytes(),
            "recursion limit",
        ),
        (
            "nested objects",
            nested_objects.into_bytes(),
            "recursion limit",
        ),
        (
            "invalid UTF-8",
            b"{\"Records\":[{\"Sns\":{\"Message\":\"\xff\xfe\"}}]}".to_vec(),
            "not valid JSON",
        ),
        ("null", b"null".to_vec(), "got null"),
        ("array", b"[1,2]".to_vec(), "got an array"),
        ("empty", Vec::new(), "not valid JSON"),
        (
            "truncated",
            event[..event.len() / 2].to_vec(),
            "not valid JSON",
        ),
        ("binary", vec![0u8, 159, 146, 150, 7, 255], "not valid JSON"),
    ] {
        assert!(assert_clean(label, &input).is_none(), "{label} should fail");
        let (output, _) = render_bytes(&input);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expect), "{label}: {stderr}");
    }
}

#[test]
fn a_deeply_nested_message_is_shown_as_text() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let payloads = assert_clean(
        "nested message",
        sns_event(&[("deep", &deep)]).to_string().as_bytes(),
    )
    .unwrap();
    assert!(payloads[0]["attachments"][0]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap()
        .starts_with("[[[["));
}

#[test]
fn a_seven_megabyte_event_renders_within_limits() {
    let huge = "CPU is on fire & <!channel> ".repeat(7 * 1024 * 1024 / 28);
    let mut alarm: Value = serde_json::from_str(&alarm_message("huge", "ALARM")).unwrap();
    alarm["AlarmDescription"] = json!(huge);
    alarm["NewStateReason"] = json!(huge);
    let input = sns_event(&[("huge", &alarm.to_string())]).to_string();
    assert!(input.len() > 7_000_000);
    let payloads = assert_clean("7 MB", input.as_bytes()).unwrap();
    assert!(payloads[0].to_string().len() < 20_000);
}

#[test]
fn wrong_types_in_every_alarm_field_never_panic() {
    let base: Value = serde_json::from_str(&alarm_message("typed", "ALARM")).unwrap();
    let wrong = [
        json!(null),
        json!(7),
        json!(-1.5e300),
        json!(true),
        json!([1, "x"]),
        json!({"x": {}}),
        json!(""),
    ];
    let mut cases = 0;
    for key in base.as_object().unwrap().keys() {
        for value in &wrong {
            let mut alarm = base.clone();
            alarm[key.as_str()] = value.clone();
            assert_clean(
                &format!("{key}={value}"),
                sns_event(&[("t", &alarm.to_string())])
                    .to_string()
                    .as_bytes(),
            )
            .expect("an alarm with a bad field still renders");
            cases += 1;
        }
    }
    for key in base["Trigger"].as_object().unwrap().keys() {
        for value in &wrong {
            let mut alarm = base.clone();
            alarm["Trigger"][key.as_str()] = value.clone();
            assert_clean(
                &format!("Trigger.{key}={value}"),
                sns_event(&[("t", &alarm.to_string())])
                    .to_string()
                    .as_bytes(),
            )
            .expect("renders");
            cases += 1;
        }
    }
    // The direct alarm-action and EventBridge shapes, field by field.
    let direct: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/events/direct-alarm-action.json"
        ))
        .unwrap(),
    )
    .unwrap();
    for pointer in [
        "/alarmData",
        "/alarmData/alarmName",
        "/alarmData/state",
        "/alarmData/state/value",
        "/alarmData/state/reasonData",
        "/alarmData/configuration",
        "/alarmData/configuration/metrics",
        "/time",
        "/alarmArn",
    ] {
        for value in &wrong {
            let mut event = direct.clone();
            *event.pointer_mut(pointer).unwrap() = value.clone();
            assert_clean(&format!("{pointer}={value}"), event.to_string().as_bytes());
            cases += 1;
        }
    }
    assert!(cases > 100);
}

#[test]
fn send_with_a_secret_file_posts_nothing_in_dry_run_and_hides_the_url() {
    let dir = std::env::temp_dir().join(crate::support::unique("cli-secret"));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("secret.json");
    std::fs::write(&secret, r##"{"SLACK_HOOK_URL":"https://hooks.slack.com/services/T1/B1/DRYRUNSECRET","SLACK_CHANNEL":"#dry"}"##).unwrap();
    let output = Command::new(BIN)
        .args([
            "send",
            concat!(env!("CARGO_MANIFEST_DIR"), "/events/sns-alarm.json"),
            "--secret-file",
        ])
        .arg(&secret)
        .arg("--dry-run")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let payloads: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(payloads[0]["channel"], "#dry");
    assert!(!stdout.contains("DRYRUNSECRET") && !stderr.contains("DRYRUNSECRET"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["render"][..],
        &["bogus", "x"],
        &["send", "x", "--secret-id"],
    ] {
        let output = Command::new(BIN)
            .args(args)
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("usage:"));
    }
    let output = Command::new(BIN)
        .args(["render", "/nonexistent/event.json"])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr)
        .starts_with("error: cannot read /nonexistent/event.json"));
}

/// Writes `value` to a fresh secret file.
fn secret_file(value: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(crate::support::unique("cli-secret"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("secret.json");
    std::fs::write(&path, value).unwrap();
    path
}

#[test]
fn dry_run_applies_the_filters_and_says_what_it_left_out() {
    let secret = secret_file(r#"{"SLACK_HOOK_URL":"https://hooks.slack.com/services/T1/B1/X"}"#);
    let output = Command::new(BIN)
        .args([
            "send",
            concat!(env!("CARGO_MANIFEST_DIR"), "/events/sns-alarm.json"),
            "--dry-run",
            "--secret-file",
        ])
        .arg(&secret)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("NOTIFY_STATES", "OK")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let payloads: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(payloads.is_empty(), "{payloads:?}");
    assert!(
        stderr.contains("filtered out (state not in NOTIFY_STATES)"),
        "{stderr}"
    );
}

#[test]
fn send_without_a_secret_names_both_ways_to_give_one() {
    let output = Command::new(BIN)
        .args([
            "send",
            concat!(env!("CARGO_MANIFEST_DIR"), "/events/sns-alarm.json"),
        ])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("SecretId")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--secret-id") && stderr.contains("--secret-file"),
        "{stderr}"
    );
}

#[test]
fn a_timeout_of_zero_is_refused_without_contradiction() {
    let output = Command::new(BIN)
        .args(["send", "e.json", "--timeout", "0"])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr
            .contains("--timeout: expected a number of seconds above 0 and at most 900, got \"0\""),
        "{stderr}"
    );
}

#[test]
fn an_invalid_log_level_stops_the_command() {
    let secret = secret_file("https://hooks.slack.com/services/T1/B1/X");
    let output = Command::new(BIN)
        .args(["check", "--secret-file"])
        .arg(&secret)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("AWS_LAMBDA_LOG_LEVEL")
        .env("RUST_LOG", "bogus!!")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("RUST_LOG") && stderr.contains("bogus!!"),
        "{stderr}"
    );
}

/// Runs `check` against a local Slack's webhook; its exit code and stdout.
async fn check_against(slack: &crate::support::Slack, path: &str) -> (Option<i32>, String) {
    let secret = secret_file(&format!(r#""{}""#, slack.url(path)));
    let output = tokio::process::Command::new(BIN)
        .args(["check", "--secret-file"])
        .arg(&secret)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("RUST_LOG")
        .env("SLACK_WEBHOOK_HOSTS", "127.0.0.1")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stdout.contains(path) && !stderr.contains(path),
        "{stdout}{stderr}"
    );
    (output.status.code(), stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn check_tells_a_live_webhook_from_a_dead_one_without_posting() {
    let slack = crate::support::Slack::start().await;
    let (live, dead, odd) = (
        "/services/T0/B0/livewebhook",
        "/services/T0/B0/deadwebhook",
        "/services/T0/B0/oddwebhook",
    );
    slack.always(dead, crate::support::slack::error(404, "no_service"));
    slack.always(odd, crate::support::slack::error(500, "rollup_error"));

    let (code, stdout) = check_against(&slack, live).await;
    assert_eq!(code, Some(0), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines.iter().all(|l| l.starts_with("ok ")), "{stdout}");
    assert!(
        lines[3].contains("live") && lines[3].contains("no_text"),
        "{stdout}"
    );

    let (code, stdout) = check_against(&slack, dead).await;
    assert_eq!(code, Some(1), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("FAIL  webhook: dead") && last.contains("404 no_service"),
        "{stdout}"
    );

    let (code, stdout) = check_against(&slack, odd).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("FAIL  webhook: unknown"),
        "{stdout}"
    );

    // One empty message each; Slack showed none of them.
    for path in [live, dead, odd] {
        let posts = slack.posts(path);
        assert_eq!(posts.len(), 1, "{path}");
        assert_eq!(posts[0].body, serde_json::json!({}));
    }
    assert!(slack.accepted(live).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_stops_at_a_secret_it_cannot_use() {
    let slack = crate::support::Slack::start().await;
    let secret = secret_file(r#"{"WEBHOOK":"https://hooks.slack.com/x"}"#);
    let output = tokio::process::Command::new(BIN)
        .args(["check", "--secret-file"])
        .arg(&secret)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("ok    configuration"), "{stdout}");
    assert!(
        lines[1].starts_with("FAIL  secret:") && lines[1].contains("SLACK_HOOK_URL"),
        "{stdout}"
    );
    assert!(slack.posts("/x").is_empty());
}

/// `check --secret-id ID` against moto, with dummy credentials and no profile.
async fn check_secret_id(secret_id: &str) -> (Option<i32>, String, String) {
    let output = tokio::process::Command::new(BIN)
        .args(["check", "--secret-id", secret_id])
        .env_clear()
        .env("HOME", std::env::temp_dir())
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", crate::support::secrets::moto_port()),
        )
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("SLACK_WEBHOOK_HOSTS", "127.0.0.1")
        .output()
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reads_the_secret_from_secrets_manager() {
    let slack = crate::support::Slack::start().await;
    let secret_id = crate::support::unique("check/webhook");
    let path = "/services/T0/B0/checkthroughmoto";
    crate::support::secrets::admin_client()
        .create_secret()
        .name(&secret_id)
        .secret_string(serde_json::json!({"SLACK_HOOK_URL": slack.url(path)}).to_string())
        .send()
        .await
        .unwrap();
    let (code, stdout, stderr) = check_secret_id(&secret_id).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("Secrets Manager, {secret_id}")),
        "{stdout}"
    );
    assert!(stdout.lines().last().unwrap().contains("live"), "{stdout}");
    assert!(!stdout.contains(path) && !stderr.contains(path));
    // A secret that does not exist fails the secret's line with the AWS error code.
    let (code, stdout, _) = check_secret_id("no/such/secret").await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.lines().last().unwrap().starts_with(
            "FAIL  secret: Secrets Manager: ResourceNotFoundException for secret no/such/secret"
        ),
        "{stdout}"
    );
}
