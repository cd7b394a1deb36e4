//! The routes file on the command line: `render --explain` says where each notification goes
//! and why, `send --dry-run` posts nothing and names each payload's destination, and `check`
//! fails on what would stop the function and warns on what only some notifications would hit.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

use crate::app::{app_secret, TOKEN};
use crate::support::slack_api::{SlackApi, CHANNEL};

const BIN: &str = env!("CARGO_BIN_EXE_slack-alarm-notifier");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The README's example, which these tests and `check` load.
fn example() -> PathBuf {
    root().join("examples/routes.toml")
}

/// A fresh file holding `text`.
fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(crate::support::unique("routes"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str], routes: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(BIN);
    command
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("RUST_LOG")
        .env("ROUTES_FILE", routes);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// `render --explain`'s explanation lines, and the payloads after them.
fn explained(output: &Output) -> (Vec<String>, Vec<Value>) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let at = stdout.find("\n[").expect("payloads after the explanation") + 1;
    let lines = stdout[..at].lines().map(str::to_owned).collect();
    (lines, serde_json::from_str(&stdout[at..]).unwrap())
}

fn channels(payloads: &[Value]) -> Vec<&str> {
    payloads
        .iter()
        .map(|p| p["channel"].as_str().unwrap_or("-"))
        .collect()
}

#[test]
fn render_explain_names_the_routes_that_matched_why_and_the_destination() {
    let event = root().join("events/sqs-alarm-batch.json");
    let output = run(
        &["render", "--explain", event.to_str().unwrap()],
        &example(),
        &[],
    );
    let (lines, payloads) = explained(&output);
    assert_eq!(
        lines[0],
        "(no --tag given: routes that match on tags match no alarm)"
    );
    let at = lines
        .iter()
        .position(|l| l == "alarm orders-db-cpu:")
        .unwrap();
    assert_eq!(
        lines[at + 1..at + 3],
        [
            "  route \"platform\" matched: namespace AWS/RDS",
            "  -> channel C0PLATFORM via route \"platform\", mentioning <!subteam^S0PLATONCALL> on ALARM, error and critical",
        ]
    );
    let at = lines
        .iter()
        .position(|l| l == "alarm orders-api-5xx:")
        .unwrap();
    assert_eq!(
        lines[at + 1..at + 3],
        [
            "  no route matched: it goes to the default",
            "  -> channel C0ALLALERTS via the default",
        ]
    );
    // The batch is planned per channel: three alarms for the default, one each; four for
    // platform, one digest with its mention.
    assert_eq!(
        channels(&payloads),
        ["C0ALLALERTS", "C0ALLALERTS", "C0ALLALERTS", "C0PLATFORM"]
    );
    assert!(payloads[3]["text"]
        .as_str()
        .unwrap()
        .starts_with("<!subteam^S0PLATONCALL> "));

    // With the alarms' tags given, payments takes them all.
    let output = run(
        &[
            "render",
            "--explain",
            "--tag",
            "team=payments",
            event.to_str().unwrap(),
        ],
        &example(),
        &[],
    );
    let (lines, payloads) = explained(&output);
    assert_eq!(
        lines[0..2],
        [
            "alarm orders-api-5xx:",
            "  route \"payments\" matched: tag team=payments"
        ]
    );
    assert_eq!(channels(&payloads), ["C0PAYMENTS"]);
}

#[test]
fn render_explain_shows_a_drop_and_a_fan_out() {
    let staging = json!({"Records": [{"Sns": {
        "MessageId": "m-1",
        "Message": crate::support::alarm_message_in("staging-web", "ALARM", "333333333333", "AWS/EC2", "2026-11-20T08:10:00.000+0000"),
    }}]});
    let finding = json!({
        "version": "0", "id": "e-1", "source": "aws.guardduty", "detail-type": "GuardDuty Finding",
        "account": "111111111111", "region": "eu-west-1", "time": "2026-11-20T08:10:00Z",
        "resources": [],
        "detail": {"id": "f", "type": "Recon:EC2/PortProbeUnprotectedPort", "severity": 8.0,
                   "title": "Port probed", "accountId": "111111111111", "region": "eu-west-1"}
    });
    let staging = file("staging.json", &staging.to_string());
    let (lines, payloads) = explained(&run(
        &["render", "--explain", staging.to_str().unwrap()],
        &example(),
        &[],
    ));
    assert_eq!(
        lines[2..],
        [
            "  route \"staging-noise\" matched: account 333333333333, alarm_name staging-web",
            "  dropped by route \"staging-noise\": posted nowhere for it",
        ]
    );
    assert!(payloads.is_empty());

    let fan_out = file(
        "fan-out.toml",
        &format!(
            "{}\n[[route]]\nname = \"everything-security\"\nmatch = {{ source = \"guardduty\" }}\nchannel = \"C0AUDITLOG\"\n",
            std::fs::read_to_string(example()).unwrap()
        ),
    );
    let finding = file("finding.json", &finding.to_string());
    let (lines, payloads) = explained(&run(
        &["render", "--explain", finding.to_str().unwrap()],
        &fan_out,
        &[],
    ));
    assert!(
        lines.contains(
            &"  route \"security\" matched: account 111111111111, source guardduty".to_owned()
        ),
        "{lines:?}"
    );
    assert_eq!(channels(&payloads), ["C0SECURITY", "C0AUDITLOG"]);
}

#[test]
fn an_invalid_routes_file_stops_render_with_the_line_and_column() {
    let bad = file(
        "bad.toml",
        "[[route]]\nname = \"a\"\nchannel = \"C0AAAAAAAA\"\nmention = \"<!here>\"\nmatch = { tag = { team = \"x\" } }\n",
    );
    let event = root().join("events/sns-alarm.json");
    let output = run(&["render", event.to_str().unwrap()], &bad, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: ROUTES_FILE: {}:5:11: unknown field `tag`",
            bad.display()
        )),
        "{stderr}"
    );
}

#[test]
fn dry_run_names_each_payloads_webhook_and_refuses_one_the_secret_lacks() {
    let routes = file(
        "webhooks.toml",
        "[[route]]\nname = \"db\"\nmatch = { namespace = \"AWS/RDS\" }\nwebhook = \"databases\"\n\n[default]\nwebhook = \"ops\"\n",
    );
    let secret = file(
        "secret.json",
        r#"{"SLACK_HOOK_URLS": {"databases": "https://hooks.slack.com/services/T1/B1/DBHOOKSECRET", "ops": "https://hooks.slack.com/services/T1/B2/OPSHOOKSECRET"}}"#,
    );
    let event = root().join("events/sqs-alarm-batch.json");
    let output = run(
        &[
            "send",
            event.to_str().unwrap(),
            "--dry-run",
            "--secret-file",
            secret.to_str().unwrap(),
        ],
        &routes,
        &[],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let payloads: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let to: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        to,
        [
            "payload 0: to webhook \"databases\" (SLACK_HOOK_URLS)",
            "payload 1: to webhook \"databases\" (SLACK_HOOK_URLS)",
            "payload 2: to webhook \"databases\" (SLACK_HOOK_URLS)",
            "payload 3: to webhook \"ops\" (SLACK_HOOK_URLS)",
        ]
    );
    // The three database alarms one each; the other four, one digest.
    assert_eq!(payloads.len(), 4);
    assert!(
        payloads[3]["text"]
            .as_str()
            .unwrap()
            .starts_with("🔴 3 in ALARM · ⚪ 1 INSUFFICIENT_DATA"),
        "{}",
        payloads[3]["text"]
    );
    assert!(!stdout.contains("SECRET") && !stderr.contains("SECRET"));

    let lacking = file(
        "lacking.json",
        r#"{"SLACK_HOOK_URLS": {"ops": "https://hooks.slack.com/services/T1/B2/OPSHOOKSECRET"}}"#,
    );
    let output = run(
        &[
            "send",
            event.to_str().unwrap(),
            "--dry-run",
            "--secret-file",
            lacking.to_str().unwrap(),
        ],
        &routes,
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "error: cannot post to webhook databases: the secret's SLACK_HOOK_URLS has no webhook of that name"
    );
    assert!(output.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_loads_the_routes_and_warns_on_what_some_notifications_would_hit() {
    let slack = crate::support::Slack::start().await;
    let routes = file(
        "check.toml",
        "[[route]]\nname = \"all\"\nwebhook = \"ops\"\n\n[[route]]\nname = \"never\"\nmatch = { account = \"1\" }\nwebhook = \"gone\"\n",
    );
    let secret = file(
        "secret.json",
        &json!({"SLACK_HOOK_URLS": {"ops": slack.url("/services/T0/B0/opswebhook")}}).to_string(),
    );
    let output = tokio::process::Command::new(BIN)
        .args(["check", "--secret-file"])
        .arg(&secret)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("RUST_LOG")
        .env("SLACK_WEBHOOK_HOSTS", "127.0.0.1")
        .env("ROUTES_FILE", &routes)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[1],
        format!(
            "ok    routes: {}: 2 routes and no [default] (what no route takes goes to the secret's own destination)",
            routes.display()
        )
    );
    assert_eq!(lines[2], "warn  routes: route \"never\" can never match: route \"all\" before it takes everything and does not continue");
    assert_eq!(
        lines[3],
        "ok    secret: read: 1 named webhooks (SLACK_HOOK_URLS)"
    );
    assert_eq!(lines[4], "warn  routes: webhook \"gone\" is not in the secret's SLACK_HOOK_URLS; notifications routed there fail until it is fixed");
    assert_eq!(
        lines[5],
        "warn  routes: no [default] and no SLACK_HOOK_URL: a notification no route takes fails"
    );
    assert!(
        lines[6].starts_with("ok    webhook ops host: 127.0.0.1 is allowed"),
        "{stdout}"
    );
    assert!(lines[7].starts_with("ok    webhook ops: live"), "{stdout}");
    assert_eq!(lines.len(), 8, "{stdout}");

    // What would stop the function stops check.
    let bad = file("bad.toml", "[[route]]\nname = \"a\"\nwebhook = \"\"\n");
    let output = tokio::process::Command::new(BIN)
        .args(["check", "--secret-file"])
        .arg(&secret)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("ROUTES_FILE", &bad)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout.lines().last().unwrap(),
        format!(
            "FAIL  routes: {}:1:1: route \"a\": webhook: an empty name",
            bad.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_in_app_mode_warns_for_each_route_channel_the_bot_cannot_post_to() {
    let api = SlackApi::start(TOKEN).await;
    api.set_scopes(&["chat:write", "files:write", "channels:read"]);
    api.add_channel("C0PAYMENTS", "payments", true);
    api.add_channel("C0SECURITY", "security", false);
    // C0PLATFORM and C0ALLALERTS are unknown to Slack.
    let secret = file("app.json", &app_secret(TOKEN, CHANNEL).to_string());
    let output = tokio::process::Command::new(BIN)
        .args(["check", "--secret-file"])
        .arg(&secret)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("RUST_LOG")
        .env("SLACK_API_URL", api.url())
        .env("SLACK_API_HOSTS", "127.0.0.1")
        .env("ROUTES_FILE", example())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(api.calls("chat.postMessage").is_empty(), "check posted");
    let routes: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("route channel"))
        .collect();
    assert_eq!(routes.len(), 4, "{stdout}");
    assert!(
        routes.contains(&"ok    route channel: #payments (C0PAYMENTS): the bot is a member"),
        "{stdout}"
    );
    assert!(
        routes.contains(&"warn  route channel: the bot is not a member of #security (C0SECURITY): invite it with /invite @alarmbot; notifications routed there fail until it is fixed"),
        "{stdout}"
    );
    let unknown: Vec<&&str> = routes
        .iter()
        .filter(|l| l.contains("C0PLATFORM") || l.contains("C0ALLALERTS"))
        .collect();
    assert_eq!(unknown.len(), 2, "{stdout}");
    assert!(
        unknown
            .iter()
            .all(|l| l.starts_with("warn  route channel: C0") && l.contains("channel_not_found")),
        "{stdout}"
    );
    let asked: Vec<String> = api
        .calls("conversations.info")
        .iter()
        .map(|c| c.args["channel"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        asked,
        [
            CHANNEL,
            "C0ALLALERTS",
            "C0PAYMENTS",
            "C0PLATFORM",
            "C0SECURITY"
        ]
    );
}
