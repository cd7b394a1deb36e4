//! Token rotation: the same binary as Secrets Manager's rotation function, through the Runtime
//! API, against moto's Secrets Manager (version stages, `PutSecretValue` with a
//! `ClientRequestToken`, `UpdateSecretVersionStage`) and a local Slack that renews token pairs
//! at `oauth.v2.access`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::secrets::Fault;
use crate::support::slack_api::{self, api_error, json_reply, server_error, SlackApi, CHANNEL};
use crate::support::{alarm_message, sns_event, unique, Harness, Options};

const TOKEN: &str = "xoxe.xoxb-1-FIRSTTOKENSECRET";
const REFRESH: &str = "xoxe-1-FIRSTREFRESHSECRET";
const CLIENT_ID: &str = "1111111111.2222222222";
const CLIENT_SECRET: &str = "CLIENTSECRETVALUE0042";
const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

fn rotating_secret() -> Value {
    json!({"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL": CHANNEL, "SLACK_REFRESH_TOKEN": REFRESH,
           "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET})
}

/// Slack with rotation on, and the function whose secret holds the first pair.
async fn start(log: &str) -> (SlackApi, Harness, String) {
    let api = SlackApi::start(TOKEN).await;
    api.enable_rotation(CLIENT_ID, CLIENT_SECRET, REFRESH);
    let secret = rotating_secret().to_string();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("RUST_LOG", log.into()),
            ("SLACK_API_URL", api.url()),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
        ],
    })
    .await;
    let arn = h
        .admin
        .describe_secret()
        .secret_id(&h.secret_id)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    (api, h, arn)
}

/// What Secrets Manager does before it calls `createSecret`: rotation on, and a new version
/// id at AWSPENDING with no value yet. moto's RotateSecret sets exactly that up, then fails to
/// invoke the (absent) function itself: the test invokes the steps instead.
async fn begin_rotation(h: &Harness) -> String {
    let version = request_rotation(h, true).await;
    let stages = stages(h).await;
    assert_eq!(
        stages.get(&version),
        Some(&vec!["AWSPENDING".to_owned()]),
        "{stages:?}"
    );
    assert!(
        !has_pending_value(h, &version).await,
        "no value at AWSPENDING yet"
    );
    version
}

/// `RotateSecret` with a rotation function moto does not have: it turns rotation on and adds
/// the new version at AWSPENDING (empty, or with `immediately` false a copy of the current
/// value), then fails to invoke the function. Returns the new version's id.
async fn request_rotation(h: &Harness, immediately: bool) -> String {
    let version = format!("{:0>40}", unique("rotation").replace('-', ""));
    let begun = h
        .admin
        .rotate_secret()
        .secret_id(&h.secret_id)
        .client_request_token(&version)
        .rotation_lambda_arn("arn:aws:lambda:us-east-1:123456789012:function:slack-token-rotation")
        .rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .schedule_expression("rate(4 hours)")
                // moto turns rotation on only for a rule in days.
                .automatically_after_days(1)
                .build(),
        )
        .rotate_immediately(immediately)
        .send()
        .await;
    assert!(begun.is_err(), "moto cannot run a rotation function itself");
    version
}

/// Whether the version holds a value at AWSPENDING.
async fn has_pending_value(h: &Harness, version: &str) -> bool {
    h.admin
        .get_secret_value()
        .secret_id(&h.secret_id)
        .version_id(version)
        .version_stage("AWSPENDING")
        .send()
        .await
        .is_ok()
}

async fn stages(h: &Harness) -> std::collections::HashMap<String, Vec<String>> {
    let described = h
        .admin
        .describe_secret()
        .secret_id(&h.secret_id)
        .send()
        .await
        .unwrap();
    assert_eq!(described.rotation_enabled(), Some(true));
    described
        .version_ids_to_stages()
        .cloned()
        .unwrap_or_default()
}

/// The value at a stage.
async fn value_at(h: &Harness, stage: &str) -> Value {
    let read = h
        .admin
        .get_secret_value()
        .secret_id(&h.secret_id)
        .version_stage(stage)
        .send()
        .await
        .unwrap();
    serde_json::from_str(read.secret_string().unwrap()).unwrap()
}

async fn step(
    h: &Harness,
    arn: &str,
    version: &str,
    step: &str,
) -> crate::support::runtime::Outcome {
    h.invoke(json!({"SecretId": arn, "ClientRequestToken": version, "Step": step}))
        .await
        .0
}

async fn rotate(h: &Harness, arn: &str, version: &str) {
    for name in STEPS {
        let outcome = step(h, arn, version, name).await;
        assert_eq!(outcome.response()["step"], name, "{outcome:?}");
    }
}

fn alarm(id: &str) -> Value {
    sns_event(&[(id, &alarm_message("rotation-cpu", "ALARM"))])
}

#[tokio::test(flavor = "multi_thread")]
async fn the_four_steps_renew_the_pair_and_make_it_current() {
    let (api, h, arn) = start("info").await;
    let before = value_at(&h, "AWSCURRENT").await;
    let version = begin_rotation(&h).await;

    let created = step(&h, &arn, &version, "createSecret").await;
    assert_eq!(
        created.response()["done"],
        "stored the new token pair as AWSPENDING"
    );
    let (live_token, live_refresh) = api.live_tokens();
    assert_ne!(live_token, TOKEN);
    let pending = value_at(&h, "AWSPENDING").await;
    assert_eq!(pending["SLACK_BOT_TOKEN"], live_token.as_str());
    assert_eq!(
        pending["SLACK_REFRESH_TOKEN"],
        live_refresh.unwrap().as_str()
    );
    assert_eq!(pending["SLACK_TEAM_ID"], slack_api::TEAM_ID);
    assert_eq!(pending["SLACK_BOT_USER_ID"], slack_api::BOT_USER_ID);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires = pending["SLACK_TOKEN_EXPIRES_AT"].as_u64().unwrap();
    assert!(
        expires > now + slack_api::EXPIRES_IN - 120 && expires <= now + slack_api::EXPIRES_IN,
        "{expires} vs now {now}"
    );
    for key in ["SLACK_CHANNEL", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"] {
        assert_eq!(pending[key], before[key], "{key} kept");
    }
    // Nothing current changed yet.
    assert_eq!(value_at(&h, "AWSCURRENT").await, before);

    let set = step(&h, &arn, &version, "setSecret").await;
    assert!(set.response()["done"]
        .as_str()
        .unwrap()
        .contains("Slack issued the token"));
    let tested = step(&h, &arn, &version, "testSecret").await;
    assert_eq!(tested.response()["step"], "testSecret");
    let auth_tests = api.calls("auth.test");
    assert_eq!(
        auth_tests.len(),
        2,
        "the new token and the current one: {auth_tests:?}"
    );
    assert_eq!(auth_tests[0].authorization, format!("Bearer {live_token}"));
    assert_eq!(auth_tests[1].authorization, format!("Bearer {TOKEN}"));
    assert_eq!(
        value_at(&h, "AWSCURRENT").await,
        before,
        "testSecret changes nothing"
    );

    let finished = step(&h, &arn, &version, "finishSecret").await;
    assert_eq!(finished.response()["done"], "the new token is AWSCURRENT");
    assert_eq!(value_at(&h, "AWSCURRENT").await, pending);
    let stages = stages(&h).await;
    assert_eq!(
        stages.get(&version),
        Some(&vec!["AWSCURRENT".to_owned()]),
        "{stages:?}"
    );
    assert!(
        stages
            .values()
            .any(|s| s == &vec!["AWSPREVIOUS".to_owned()]),
        "{stages:?}"
    );

    // One exchange, with the app's credentials and the first refresh token.
    let exchanges = api.calls("oauth.v2.access");
    assert_eq!(exchanges.len(), 1, "{exchanges:?}");
    let args = &exchanges[0].args;
    assert_eq!(args["grant_type"], "refresh_token");
    assert_eq!(args["refresh_token"], REFRESH);
    assert_eq!(args["client_id"], CLIENT_ID);
    assert_eq!(args["client_secret"], CLIENT_SECRET);
    assert_eq!(
        exchanges[0].authorization, "",
        "no bearer token on oauth.v2.access"
    );

    // A second rotation spends the refresh token the first one stored.
    let again = begin_rotation(&h).await;
    rotate(&h, &arn, &again).await;
    let exchanges = api.calls("oauth.v2.access");
    assert_eq!(exchanges.len(), 2);
    assert_eq!(
        exchanges[1].args["refresh_token"],
        pending["SLACK_REFRESH_TOKEN"]
    );
    assert!(exchanges[1].ok(), "{:?}", exchanges[1]);
    assert_eq!(
        value_at(&h, "AWSCURRENT").await["SLACK_BOT_TOKEN"],
        api.live_tokens().0.as_str()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_setup_check_without_an_immediate_rotation_passes_and_renews_nothing() {
    // A schedule created with RotateImmediatelyOnUpdate false: Secrets Manager puts a copy of
    // the current value at AWSPENDING and runs testSecret alone.
    let (api, h, arn) = start("info").await;
    let version = request_rotation(&h, false).await;
    assert_eq!(
        value_at(&h, "AWSPENDING").await,
        rotating_secret(),
        "a copy of the current value"
    );
    let tested = step(&h, &arn, &version, "testSecret").await;
    assert_eq!(
        tested.response()["done"],
        "the new token works for the same team and bot user"
    );
    assert!(api.calls("oauth.v2.access").is_empty(), "nothing renewed");
    assert_eq!(value_at(&h, "AWSCURRENT").await, rotating_secret());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_pending_version_is_tested_as_a_setup_check_and_never_made_current() {
    let (api, h, arn) = start("info").await;
    let before = value_at(&h, "AWSCURRENT").await;
    let version = begin_rotation(&h).await;
    // The setup check in the other shape Secrets Manager may give it: no value at all.
    let tested = step(&h, &arn, &version, "testSecret").await;
    assert_eq!(
        tested.response()["done"],
        "no new token yet (Secrets Manager's setup check): the current token works"
    );
    assert_eq!(
        api.calls("auth.test")[0].authorization,
        format!("Bearer {TOKEN}")
    );
    // A current token Slack refuses fails it.
    api.revoke();
    let failed = step(&h, &arn, &version, "testSecret").await;
    let (error_type, message) = failed.error();
    assert_eq!(error_type, "SlackTokenRejected", "{message}");
    // finishSecret never moves AWSCURRENT to a version without a usable value.
    let refused = step(&h, &arn, &version, "finishSecret").await;
    let (error_type, message) = refused.error();
    assert_eq!(error_type, "SecretInvalid", "{message}");
    assert!(message.contains("nothing to make current"), "{message}");
    assert_eq!(value_at(&h, "AWSCURRENT").await, before);
    assert!(api.calls("oauth.v2.access").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn create_secret_twice_exchanges_once_and_stores_one_version() {
    let (api, h, arn) = start("info").await;
    let version = begin_rotation(&h).await;
    let versions_before = stages(&h).await.len();
    for _ in 0..2 {
        let created = step(&h, &arn, &version, "createSecret").await;
        assert_eq!(created.response()["step"], "createSecret");
    }
    assert_eq!(api.calls("oauth.v2.access").len(), 1, "one exchange");
    assert_eq!(stages(&h).await.len(), versions_before, "no version added");
    assert_eq!(
        value_at(&h, "AWSPENDING").await["SLACK_BOT_TOKEN"],
        api.live_tokens().0.as_str(),
        "the pending version holds the pair of the one exchange"
    );
    let output = h
        .function
        .output_after("already holds the new token", 1)
        .await;
    assert!(output.contains("stored the new token pair"), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_test_secret_leaves_the_current_token_alone() {
    let (api, h, arn) = start("info").await;
    let before = value_at(&h, "AWSCURRENT").await;
    let version = begin_rotation(&h).await;
    step(&h, &arn, &version, "createSecret").await.response();

    // The new token is refused.
    api.script("auth.test", [api_error("invalid_auth")]);
    let failed = step(&h, &arn, &version, "testSecret").await;
    let (error_type, message) = failed.error();
    assert_eq!(error_type, "SlackTokenRejected", "{message}");
    assert_eq!(
        message,
        "testSecret: Slack refused the bot token on auth.test: invalid_auth"
    );

    // The new token belongs to another workspace.
    api.script(
        "auth.test",
        [json_reply(
            200,
            json!({"ok": true, "team_id": "T0OTHER", "user_id": "U0OTHER", "team": "Other"}),
        )],
    );
    let failed = step(&h, &arn, &version, "testSecret").await;
    let (error_type, message) = failed.error();
    assert_eq!(error_type, "RotationTokenMismatch", "{message}");
    assert!(
        message.contains("U0OTHER of team T0OTHER") && message.contains(slack_api::TEAM_ID),
        "{message}"
    );

    assert_eq!(
        value_at(&h, "AWSCURRENT").await,
        before,
        "AWSCURRENT untouched"
    );
    let stages = stages(&h).await;
    assert_eq!(
        stages.get(&version),
        Some(&vec!["AWSPENDING".to_owned()]),
        "{stages:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn finish_secret_repeated_changes_nothing_more() {
    let (_api, h, arn) = start("info").await;
    let version = begin_rotation(&h).await;
    rotate(&h, &arn, &version).await;
    let (current, stages_after) = (value_at(&h, "AWSCURRENT").await, stages(&h).await);
    let again = step(&h, &arn, &version, "finishSecret").await;
    assert_eq!(
        again.response()["done"],
        "the version is already AWSCURRENT; nothing to do"
    );
    assert_eq!(value_at(&h, "AWSCURRENT").await, current);
    assert_eq!(stages(&h).await, stages_after);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_used_refresh_token_fails_create_secret_by_its_slack_code() {
    let (api, h, arn) = start("info").await;
    let before = value_at(&h, "AWSCURRENT").await;
    // Someone else spent the stored refresh token.
    api.enable_rotation(CLIENT_ID, CLIENT_SECRET, "xoxe-1-SOMEONEELSES");
    let version = begin_rotation(&h).await;
    let failed = step(&h, &arn, &version, "createSecret").await;
    let (error_type, message) = failed.error();
    assert_eq!(error_type, "SlackRejected", "{message}");
    assert!(
        message.starts_with("createSecret: Slack refused oauth.v2.access: invalid_refresh_token"),
        "{message}"
    );
    assert!(message.contains("re-enter the app's tokens"), "{message}");
    assert_eq!(value_at(&h, "AWSCURRENT").await, before);
    assert!(!has_pending_value(&h, &version).await, "nothing stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exchange_without_a_clear_answer_is_not_sent_again_and_says_what_it_may_cost() {
    let (api, h, arn) = start("info").await;
    let before = value_at(&h, "AWSCURRENT").await;
    let version = begin_rotation(&h).await;
    api.script("oauth.v2.access", [server_error(503)]);
    let failed = step(&h, &arn, &version, "createSecret").await;
    let (error_type, message) = failed.error();
    assert_eq!(error_type, "RotationExchangeUnsure", "{message}");
    assert!(
        message.starts_with("createSecret: oauth.v2.access got no clear answer (")
            && message.contains("HTTP 503")
            && message.contains("invalid_refresh_token"),
        "{message}"
    );
    assert_eq!(api.calls("oauth.v2.access").len(), 1, "never sent twice");
    assert_eq!(value_at(&h, "AWSCURRENT").await, before);
    // Slack did not renew (the 503 came first): the retried step then succeeds.
    let created = step(&h, &arn, &version, "createSecret").await;
    assert_eq!(
        created.response()["done"],
        "stored the new token pair as AWSPENDING"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pair_that_cannot_be_stored_is_retried_then_named_as_lost() {
    let (api, h, arn) = start("info").await;
    let version = begin_rotation(&h).await;
    h.secrets.fail_operation(
        "PutSecretValue",
        Fault {
            status: 500,
            code: "InternalServiceError",
            message: "try later",
            raw_body: None,
        },
    );
    // The rotation function's own timeout (30 s): room for every try and the SDK's backoff.
    let event = json!({"SecretId": arn, "ClientRequestToken": version, "Step": "createSecret"});
    let (failed, _) = h.runtime.invoke(event, Duration::from_secs(30)).await;
    h.secrets.heal_operation("PutSecretValue");
    let (error_type, message) = failed.error();
    assert_eq!(error_type, "RotationTokensLost", "{message}");
    assert!(
        message.contains("must be re-entered") && message.contains("InternalServiceError"),
        "{message}"
    );
    assert_eq!(
        api.calls("oauth.v2.access").len(),
        1,
        "one exchange, never repeated"
    );
    let output = h.function.output_after("must be re-entered", 2).await;
    assert!(
        output
            .matches("storing the new token pair failed; trying again")
            .count()
            >= 2,
        "the put is retried:\n{output}"
    );
    // The new pair is nowhere: not in the logs, not in the error.
    let (live_token, live_refresh) = api.live_tokens();
    for leaked in [
        live_token.as_str(),
        live_refresh.as_deref().unwrap(),
        "RENEWED",
    ] {
        assert!(!output.contains(leaked), "{leaked} logged");
        assert!(!message.contains(leaked), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_without_rotation_enabled_or_a_foreign_version_is_refused() {
    let (api, h, arn) = start("info").await;
    let unknown = "0000000000000000000000000000000000000042";
    let refused = h
        .invoke(json!({"SecretId": arn, "ClientRequestToken": unknown, "Step": "createSecret"}))
        .await
        .0;
    let (error_type, message) = refused.error();
    assert_eq!(error_type, "RotationNotEnabled", "{message}");
    assert_eq!(
        message,
        format!("createSecret: rotation is not enabled for secret {arn}")
    );

    begin_rotation(&h).await;
    let refused = step(&h, &arn, unknown, "createSecret").await;
    let (error_type, message) = refused.error();
    assert_eq!(error_type, "RotationVersionInvalid", "{message}");
    assert!(message.contains(unknown), "{message}");
    let bad = h
        .invoke(json!({"SecretId": arn, "ClientRequestToken": unknown, "Step": "rotate"}))
        .await
        .0;
    assert_eq!(bad.error().0, "RotationRequestInvalid");
    assert!(api.calls("oauth.v2.access").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_notifier_posts_with_the_new_token_after_a_rotation() {
    let (api, h, arn) = start("info").await;
    // A warm notifier holding the first token.
    assert_eq!(
        h.invoke(alarm("before-rotation")).await.0.response()["delivered"],
        1
    );
    let version = begin_rotation(&h).await;
    rotate(&h, &arn, &version).await;
    // The old token reaches its expiry.
    api.expire_previous();
    assert_eq!(
        h.invoke(alarm("after-rotation")).await.0.response()["delivered"],
        1
    );
    let posts = api.posted();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(
        posts[1].authorization,
        format!("Bearer {}", api.live_tokens().0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_at_its_expiry_is_read_again_before_it_is_used() {
    let (api, h, arn) = start("info").await;
    // Tokens that expire within the notifier's margin: it reads the secret for every post.
    api.set_expires_in(30);
    let version = begin_rotation(&h).await;
    rotate(&h, &arn, &version).await;
    assert_eq!(
        h.invoke(alarm("near-expiry-1")).await.0.response()["delivered"],
        1
    );
    let read = "read Slack secret";
    let reads = h.function.output_after(read, 1).await.matches(read).count();
    // Renewed meanwhile, and the old token expired: the next post uses the new token without
    // trying the old one first.
    let again = begin_rotation(&h).await;
    rotate(&h, &arn, &again).await;
    api.expire_previous();
    assert_eq!(
        h.invoke(alarm("near-expiry-2")).await.0.response()["delivered"],
        1
    );
    // The notifier's own read (the rotation steps read the secret too, but log no such line).
    let output = h.function.output_after(read, reads + 1).await;
    assert_eq!(
        output.matches(read).count(),
        reads + 1,
        "read again for the second post"
    );
    let posts = api.calls("chat.postMessage");
    let tried: Vec<_> = posts.iter().map(|p| (&p.authorization, &p.error)).collect();
    assert_eq!(posts.len(), 2, "no post with the expired token: {tried:?}");
    assert!(posts.iter().all(|p| p.ok()), "{tried:?}");
    assert_eq!(
        posts[1].authorization,
        format!("Bearer {}", api.live_tokens().0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_says_a_rotated_secret_can_be_renewed_and_when_its_token_expires() {
    let (api, h, arn) = start("info").await;
    api.set_scopes(&["chat:write", "files:write", "channels:read"]);
    // The first pair as entered by hand: renewable, expiry unknown.
    let (code, stdout) = crate::app::check(&api, rotating_secret()).await;
    assert_eq!(code, Some(0), "{stdout}");
    let line = |stdout: &str| {
        stdout
            .lines()
            .find(|l| l.contains("rotation:"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        line(&stdout),
        "ok    rotation: SLACK_REFRESH_TOKEN, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET present; SLACK_TOKEN_EXPIRES_AT is not set, so when the token expires is unknown"
    );
    // After a rotation, the renewed secret says when its token expires.
    let version = begin_rotation(&h).await;
    rotate(&h, &arn, &version).await;
    let (code, stdout) = crate::app::check(&api, value_at(&h, "AWSCURRENT").await).await;
    assert_eq!(code, Some(0), "{stdout}");
    let renewed = line(&stdout);
    assert!(
        renewed.starts_with("ok    rotation: SLACK_REFRESH_TOKEN")
            && (renewed.ends_with(", in 11 h 59 min") || renewed.ends_with(", in 12 h")),
        "{stdout}"
    );
    assert!(stdout.lines().all(|l| l.starts_with("ok ")), "{stdout}");
    // A rotating token nothing can renew.
    let mut stranded = rotating_secret();
    stranded
        .as_object_mut()
        .unwrap()
        .remove("SLACK_REFRESH_TOKEN");
    let (_, stdout) = crate::app::check(&api, stranded).await;
    assert!(
        line(&stdout).starts_with("warn  rotation: a rotating token (xoxe.xoxb-) without"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_trace_logs_and_errors_never_contain_a_token_or_the_client_secret() {
    let (api, h, arn) = start("trace").await;
    let version = begin_rotation(&h).await;
    rotate(&h, &arn, &version).await;
    // A failing step too: its error must be clean as well.
    let again = begin_rotation(&h).await;
    step(&h, &arn, &again, "createSecret").await.response();
    api.script("auth.test", [api_error("invalid_auth")]);
    let failed = step(&h, &arn, &again, "testSecret").await;
    let (_, message) = failed.error();
    assert_eq!(
        h.invoke(alarm("after-rotation-trace")).await.0.response()["delivered"],
        1
    );
    let output = h.function.output_after("posted to Slack", 1).await;
    assert!(
        output.contains("TRACE") || output.contains("trace"),
        "the test must run at trace level"
    );
    assert!(output.contains("PutSecretValue"), "the store is traced");
    let (live_token, live_refresh) = api.live_tokens();
    for leaked in [
        TOKEN,
        REFRESH,
        CLIENT_SECRET,
        live_token.as_str(),
        live_refresh.as_deref().unwrap(),
        "TOKENSECRET",
        "REFRESHSECRET",
        "CLIENTSECRETVALUE",
    ] {
        let lines: Vec<&str> = output.lines().filter(|l| l.contains(leaked)).collect();
        assert!(
            lines.is_empty(),
            "log output contains {leaked:?}:\n{}",
            lines.join("\n")
        );
        assert!(!message.contains(leaked), "{message}");
    }
}
