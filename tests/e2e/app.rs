//! App mode: a bot token and a channel ID in the secret, messages through the Web API's
//! `chat.postMessage`, against a local Slack Web API and moto's Secrets Manager.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::slack_api::{self, api_error, rate_limited, server_error, SlackApi, CHANNEL};
use crate::support::{alarm_message, event, sns_event, Harness, Options};

pub const TOKEN: &str = "xoxb-1111-2222-APPTOKENSECRETONE";
pub const NEW_TOKEN: &str = "xoxe.xoxb-1-APPTOKENSECRETTWO";

/// The secret's value in app mode.
pub fn app_secret(token: &str, channel: &str) -> Value {
    json!({"SLACK_BOT_TOKEN": token, "SLACK_CHANNEL": channel})
}

/// A function whose secret is `secret`, pointed at `api`, logging at `log`.
pub async fn app_harness(api: &SlackApi, secret: Value, log: &str) -> Harness {
    let secret = secret.to_string();
    Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("RUST_LOG", log.into()),
            ("SLACK_API_URL", api.url()),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
        ],
    })
    .await
}

fn one_alarm(id: &str) -> Value {
    sns_event(&[(id, &alarm_message("cpu-high", "ALARM"))])
}

#[tokio::test(flavor = "multi_thread")]
async fn app_mode_posts_the_webhooks_blocks_with_the_channel_through_chat_post_message() {
    let api = SlackApi::start(TOKEN).await;
    let h = app_harness(&api, app_secret(TOKEN, CHANNEL), "info").await;
    let (outcome, _) = h.invoke(event("events/sns-alarm.json")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");

    let calls = api.all_calls();
    assert_eq!(calls.len(), 1, "one call in all: {calls:?}");
    let post = &calls[0];
    assert_eq!(post.method, "chat.postMessage");
    assert!(post.ok(), "{post:?}");
    assert_eq!(post.authorization, format!("Bearer {TOKEN}"));
    assert!(
        post.content_type.starts_with("application/json"),
        "{post:?}"
    );
    // Exactly what the webhook would get, plus the channel.
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/sns-alarm.json"
    ))
    .unwrap();
    let mut expected = slack_alarm_notifier::render_event(&bytes, &Default::default())
        .unwrap()
        .remove(0);
    assert!(expected.get("channel").is_none());
    expected["channel"] = json!(CHANNEL);
    assert_eq!(post.args, expected);
    assert!(!post.args["blocks"].as_array().unwrap().is_empty());
    assert!(h.slack.posts(&h.hook_path).is_empty(), "no webhook post");
    assert_eq!(h.secrets.get_calls(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_with_a_webhook_and_a_bot_token_uses_the_token() {
    let api = SlackApi::start(TOKEN).await;
    let secret = api.url();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |hook| {
            json!({"SLACK_HOOK_URL": hook, "SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL": CHANNEL})
                .to_string()
        })),
        env: vec![
            ("SLACK_API_URL", secret),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
        ],
    })
    .await;
    let (outcome, _) = h.invoke(one_alarm("both-1")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert_eq!(api.posted().len(), 1);
    assert!(
        h.slack.posts(&h.hook_path).is_empty(),
        "the webhook is unused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_replaced_from_the_secret_in_the_same_invocation() {
    let api = SlackApi::start(TOKEN).await;
    let h = app_harness(&api, app_secret(TOKEN, CHANNEL), "info").await;
    let (outcome, _) = h.invoke(one_alarm("before-rotation")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    // Slack rotates the token; the rotation job stores the new one in the secret.
    api.rotate(NEW_TOKEN);
    h.put_secret(app_secret(NEW_TOKEN, CHANNEL).to_string())
        .await;
    let (outcome, _) = h.invoke(one_alarm("after-rotation")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");

    let calls = api.calls("chat.postMessage");
    let seen: Vec<(String, Option<String>)> = calls
        .iter()
        .map(|c| (c.authorization.clone(), c.error.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (format!("Bearer {TOKEN}"), None),
            (format!("Bearer {TOKEN}"), Some("token_expired".into())),
            (format!("Bearer {NEW_TOKEN}"), None),
        ]
    );
    assert_eq!(h.secrets.get_calls(), 2, "cold read, then one refresh");
    // The new token is cached from then on.
    let (outcome, _) = h.invoke(one_alarm("later")).await;
    assert_eq!(outcome.response()["delivered"], 1);
    assert_eq!(h.secrets.get_calls(), 2);
    assert_eq!(api.posted().len(), 3);
    h.function
        .output_after("Slack refused the credential; re-reading the secret", 1)
        .await;
}

/// The token is refused with `code`, and the secret holds no other.
async fn a_refused_token_fails_clearly(refuse: impl Fn(&SlackApi), code: &str) {
    let api = SlackApi::start(TOKEN).await;
    let h = app_harness(&api, app_secret(TOKEN, CHANNEL), "info").await;
    refuse(&api);
    let (outcome, _) = h.invoke(one_alarm(code)).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackTokenRejected", "{message}");
    assert!(
        message.contains(&format!(
            "Slack refused the bot token on chat.postMessage: {code}; the secret, read again, holds the same bot token"
        )),
        "{message}"
    );
    assert_eq!(api.calls("chat.postMessage").len(), 1, "not retried");
    assert_eq!(h.secrets.get_calls(), 2, "cold read, then one refresh");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_still_in_the_secret_fails_clearly() {
    a_refused_token_fails_clearly(|api| api.rotate(NEW_TOKEN), "token_expired").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_fails_clearly() {
    a_refused_token_fails_clearly(SlackApi::revoke, "token_revoked").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_fails_clearly() {
    let api = SlackApi::start("xoxb-the-right-one").await;
    let h = app_harness(&api, app_secret(TOKEN, CHANNEL), "info").await;
    let (outcome, _) = h.invoke(one_alarm("wrong")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackTokenRejected");
    assert!(
        message.contains("invalid_auth; the secret, read again, holds the same bot token"),
        "{message}"
    );
    assert_eq!(h.secrets.get_calls(), 2, "cold read, then one refresh");
}

/// A permanent refusal: one call, no retry, no re-read of the secret, and Slack's code named.
async fn refused(api: SlackApi, channel: &str, code: &str, detail: &str) {
    let h = app_harness(&api, app_secret(TOKEN, channel), "info").await;
    let (outcome, _) = h.invoke(one_alarm(code)).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackRejected", "{message}");
    assert!(
        message.contains(&format!("Slack refused chat.postMessage: {code}{detail}")),
        "{message}"
    );
    assert_eq!(api.calls("chat.postMessage").len(), 1, "not retried");
    assert_eq!(h.secrets.get_calls(), 1, "the secret is not re-read");
    assert!(api.posted().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn channel_not_found_fails_the_invocation_naming_it() {
    let api = SlackApi::start(TOKEN).await;
    refused(
        api,
        "C0NOSUCH99",
        "channel_not_found",
        " (SLACK_CHANNEL names no channel the bot can see)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_channel_the_bot_is_not_in_fails_saying_to_invite_it() {
    let api = SlackApi::start(TOKEN).await;
    api.add_channel("C0OUTSIDE1", "elsewhere", false);
    refused(api, "C0OUTSIDE1", "not_in_channel", " (invite the app").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archived_channel_fails() {
    let api = SlackApi::start(TOKEN).await;
    api.archive(CHANNEL);
    refused(api, CHANNEL, "is_archived", "").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_chat_write_fails_naming_the_scope() {
    let api = SlackApi::start(TOKEN).await;
    api.set_scopes(&["channels:read"]);
    refused(
        api,
        CHANNEL,
        "missing_scope",
        " (the app needs the scope chat:write)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_blocks_fail_with_slacks_reason() {
    let api = SlackApi::start(TOKEN).await;
    api.script(
        "chat.postMessage",
        [slack_api::json_reply(
            200,
            json!({"ok": false, "error": "invalid_blocks",
                   "response_metadata": {"messages": ["[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]"]}}),
        )],
    );
    refused(
        api,
        CHANNEL,
        "invalid_blocks",
        " ([ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text])",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_is_waited_out_then_delivered_once() {
    let api = SlackApi::start(TOKEN).await;
    let h = app_harness(&api, app_secret(TOKEN, CHANNEL), "info").await;
    api.script("chat.postMessage", [rate_limited(1)]);
    let (outcome, took) = h.invoke(one_alarm("429")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let calls = api.calls("chat.postMessage");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].status, 429);
    assert!(calls[1].ok());
    assert!(
        calls[1].at - calls[0].at >= Duration::from_secs(1),
        "waited {:?}",
        calls[1].at - calls[0].at
    );
    assert!(took >= Duration::from_secs(1));
    assert_eq!(api.posted().len(), 1);
    assert_eq!(h.secrets.get_calls(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_and_slacks_passing_troubles_are_retried() {
    let api = SlackApi::start(TOKEN).await;
    let h = app_harness(&api, app_secret(TOKEN, CHANNEL), "info").await;
    api.script(
        "chat.postMessage",
        [server_error(503), api_error("internal_error")],
    );
    let (outcome, _) = h.invoke(one_alarm("5xx")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let errors: Vec<Option<String>> = api
        .calls("chat.postMessage")
        .into_iter()
        .map(|c| c.error)
        .collect();
    assert_eq!(
        errors,
        [Some("HTTP 503".into()), Some("internal_error".into()), None]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_server_errors_fail_visibly() {
    let api = SlackApi::start(TOKEN).await;
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("SLACK_API_URL", api.url()),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
            ("SLACK_MAX_ATTEMPTS", "2".into()),
        ],
    })
    .await;
    api.script("chat.postMessage", [server_error(500), server_error(502)]);
    let (outcome, _) = h.invoke(one_alarm("5xx-forever")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackUnavailable", "{message}");
    assert!(
        message.contains("Slack failed after 2 attempts: HTTP 502"),
        "{message}"
    );
    assert_eq!(api.calls("chat.postMessage").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_token_without_a_channel_is_a_clear_secret_error() {
    let api = SlackApi::start(TOKEN).await;
    let h = app_harness(&api, json!({"SLACK_BOT_TOKEN": TOKEN}), "info").await;
    let (outcome, _) = h.invoke(one_alarm("nochannel")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SecretInvalid", "{message}");
    assert!(
        message.contains(&h.secret_id) && message.contains("SLACK_CHANNEL is missing"),
        "{message}"
    );
    assert!(!message.contains(TOKEN), "{message}");
    assert!(api.all_calls().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_url_outside_its_hosts_is_an_init_error() {
    let api = SlackApi::start(TOKEN).await;
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let mut h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        // SLACK_API_HOSTS left at its default: slack.com and files.slack.com.
        env: vec![("SLACK_API_URL", api.url())],
    })
    .await;
    let status = h
        .function
        .exit_status(Duration::from_secs(10))
        .await
        .expect("the function should exit when SLACK_API_URL is refused");
    assert!(!status.success(), "{status:?}");
    let reports = h.runtime.init_errors.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, "InvalidConfiguration");
    assert_eq!(
        reports[0].1,
        r#"SLACK_API_URL: host "127.0.0.1" is not in SLACK_API_HOSTS"#
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_slack-alarm-notifier");

/// Runs `check` with the app-mode secret `secret` against `api`; its exit code and stdout.
/// Neither stdout nor stderr may hold the token.
pub async fn check(api: &SlackApi, secret: Value) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(crate::support::unique("app-check"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("secret.json");
    std::fs::write(&path, secret.to_string()).unwrap();
    let output = tokio::process::Command::new(BIN)
        .args(["check", "--secret-file"])
        .arg(&path)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("RUST_LOG", "trace")
        .env("SLACK_API_URL", api.url())
        .env("SLACK_API_HOSTS", "127.0.0.1")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let token = secret["SLACK_BOT_TOKEN"].as_str().unwrap();
    assert!(
        !stdout.contains(token) && !stderr.contains(token),
        "{stdout}{stderr}"
    );
    assert!(api.calls("chat.postMessage").is_empty(), "check posted");
    (output.status.code(), stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn check_in_app_mode_names_the_team_the_bot_and_the_channel() {
    let api = SlackApi::start(TOKEN).await;
    api.set_scopes(&["chat:write", "files:write", "channels:read"]);
    let (code, stdout) = check(&api, app_secret(TOKEN, CHANNEL)).await;
    assert_eq!(code, Some(0), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(lines.iter().all(|l| l.starts_with("ok ")), "{stdout}");
    assert!(lines[1].contains("app mode"), "{stdout}");
    assert!(
        lines[2].starts_with("ok    auth.test: the token works: team Acme Ops (T0ACME001), bot user alarmbot (U0ALARMBOT)"),
        "{stdout}"
    );
    assert_eq!(lines[3], "ok    scopes: chat:write granted");
    assert_eq!(
        lines[4],
        "ok    graphs: files:write granted, so metric graphs can be shared"
    );
    assert_eq!(
        lines[5],
        "ok    channel: #alerts (C0ALERTS01): the bot is a member"
    );
    let methods: Vec<String> = api.all_calls().into_iter().map(|c| c.method).collect();
    assert_eq!(methods, ["auth.test", "conversations.info"]);
    assert_eq!(
        api.calls("conversations.info")[0].args["channel"],
        CHANNEL,
        "sent as a form field"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_without_files_write_warns_that_graphs_stay_out() {
    let api = SlackApi::start(TOKEN).await;
    let (code, stdout) = check(&api, app_secret(TOKEN, CHANNEL)).await;
    assert_eq!(code, Some(0), "messages still go out: {stdout}");
    let warning = stdout.lines().find(|l| l.contains("graphs:")).unwrap();
    assert!(
        warning.starts_with("warn  graphs: the token lacks files:write")
            && warning.contains("METRIC_GRAPHS=false"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_without_channels_read_says_membership_was_not_checked() {
    let api = SlackApi::start(TOKEN).await;
    api.set_scopes(&["chat:write"]);
    let (code, stdout) = check(&api, app_secret(TOKEN, CHANNEL)).await;
    assert_eq!(code, Some(0), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("skip  channel: conversations.info answered missing_scope")
            && last.contains("channels:read")
            && last.ends_with("was not checked"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_fails_when_posting_would_fail() {
    // Not a member.
    let api = SlackApi::start(TOKEN).await;
    api.add_channel("C0OUTSIDE1", "elsewhere", false);
    let (code, stdout) = check(&api, app_secret(TOKEN, "C0OUTSIDE1")).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        stdout.lines().last().unwrap(),
        "FAIL  channel: the bot is not a member of #elsewhere (C0OUTSIDE1): invite it with /invite @alarmbot"
    );
    // Public posting without membership.
    api.set_scopes(&["chat:write", "chat:write.public", "channels:read"]);
    let (code, stdout) = check(&api, app_secret(TOKEN, "C0OUTSIDE1")).await;
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.lines().last().unwrap().contains("chat:write.public"),
        "{stdout}"
    );
    // No such channel.
    let (code, stdout) = check(&api, app_secret(TOKEN, "C0NOSUCH99")).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("FAIL  channel: Slack refused conversations.info: channel_not_found"),
        "{stdout}"
    );
    // No chat:write.
    api.set_scopes(&["channels:read"]);
    let (code, stdout) = check(&api, app_secret(TOKEN, CHANNEL)).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(
        stdout.lines().last().unwrap(),
        "FAIL  scopes: the token lacks chat:write, which posting needs (it has: channels:read)"
    );
    // A token Slack refuses: the check stops there.
    let (code, stdout) = check(&api, app_secret("xoxb-9-NOTTHETOKEN", CHANNEL)).await;
    assert_eq!(code, Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(
        lines[2],
        "FAIL  auth.test: Slack refused the bot token on auth.test: invalid_auth"
    );
}
