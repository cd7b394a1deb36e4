//! Acting from Slack (`ACTIONS`): clicks on an incident's buttons arrive as function URL
//! events through the Runtime API, signed as Slack signs them, and act on moto's threads
//! table, a local CloudWatch's mute rules and the local Slack Web API.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::app::TOKEN;
use crate::support::mute_rules::MuteRules;
use crate::support::runtime::Outcome;
use crate::support::secrets::create_threads_table;
use crate::support::slack_api::{Call, SlackApi, CHANNEL, TEAM_ID};
use crate::support::{alarm_message, alarm_message_in, sns_event, Harness, Options};

/// Shaped like Slack's signing secrets (32 letters and digits), and nowhere in any output.
pub(crate) const SIGNING: &str = "5f1a2b3c4d5e6f708192a3b4c5d6e7f8";
pub(crate) const ALARM: &str = "checkout-errors";
pub(crate) const USER: &str = "U0ONCALL01";
const HOME: &str = "123456789012";

pub(crate) struct Setup {
    pub(crate) h: Harness,
    pub(crate) api: SlackApi,
    pub(crate) mutes: MuteRules,
    table: String,
}

pub(crate) async fn setup(extra: &[(&'static str, &str)]) -> Setup {
    let table = create_threads_table().await;
    let api = SlackApi::start(TOKEN).await;
    api.set_scopes(&["chat:write", "channels:read", "usergroups:read"]);
    let mutes = MuteRules::start().await;
    let secret = json!({"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL": CHANNEL, "SLACK_SIGNING_SECRET": SIGNING}).to_string();
    let mut env = vec![
        ("RUST_LOG", "info".to_owned()),
        ("SLACK_API_URL", api.url()),
        ("SLACK_API_HOSTS", "127.0.0.1".into()),
        ("THREADS_TABLE", table.clone()),
        ("THREADS_TIMEOUT_SECONDS", "8".into()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", mutes.url()),
        ("ACTIONS", "true".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env,
    })
    .await;
    Setup {
        h,
        api,
        mutes,
        table,
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let mut data = format!("v0:{timestamp}:").into_bytes();
    data.extend_from_slice(body);
    let tag = aws_lc_rs::hmac::sign(&key, &data);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("v0={hex}")
}

/// A function URL event (payload 2.0) carrying `body` with `headers`.
fn url_event(headers: Value, body: &str, base64: bool) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": headers,
        "requestContext": {"accountId": "anonymous", "apiId": "abc123", "domainName": "abc123.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc123", "requestId": "r-1", "routeKey": "$default", "stage": "$default",
            "time": "06/Dec/2026:14:02:30 +0000", "timeEpoch": 1_796_565_750_000u64,
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "Slackbot 1.0"}},
        "body": body, "isBase64Encoded": base64,
    })
}

/// `payload`, form-encoded and signed `at` (epoch seconds) with `secret`, as a function URL event.
pub(crate) fn signed_event(payload: &Value, at: u64, secret: &str) -> Value {
    let body = format!("payload={}", encode(&payload.to_string()));
    let ts = at.to_string();
    let headers = json!({"content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts, "x-slack-signature": sign(secret, &ts, body.as_bytes())});
    url_event(headers, &body, false)
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The incident's parent as Slack has it now.
pub(crate) fn parent(s: &Setup, ts: &str) -> Value {
    s.api.message(ts).expect("the parent is in Slack")
}

fn block<'a>(message: &'a Value, id: &str) -> Option<&'a Value> {
    message["blocks"]
        .as_array()?
        .iter()
        .find(|b| b["block_id"] == id)
}

fn controls(message: &Value) -> Vec<String> {
    block(message, "incident-actions")
        .map(|b| {
            b["elements"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["action_id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn line(message: &Value, id: &str) -> Option<String> {
    block(message, id).map(|b| b["elements"][0]["text"].as_str().unwrap().to_owned())
}

/// Posts an ALARM, and gives the parent's `ts` and the key its buttons carry.
pub(crate) async fn incident(s: &Setup, message: &str) -> (String, String) {
    let (outcome, _) = s.h.invoke(sns_event(&[("open-1", message)])).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let posted = s.api.posted();
    let ts = posted[0].answer["ts"].as_str().unwrap().to_owned();
    let key = block(&parent(s, &ts), "incident-actions")
        .map(|b| b["elements"][0]["value"].as_str().unwrap().to_owned())
        .unwrap_or_default();
    (ts, key)
}

/// A click on `action` (its fields) by `user`, on the message `ts`.
pub(crate) fn click(s: &Setup, ts: &str, user: &str, action: Value) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "acme"},
        "user": {"id": user, "username": "someone"},
        "channel": {"id": CHANNEL, "name": "alerts"},
        "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL},
        "message": parent(s, ts),
        "response_url": s.api.response_url(),
        "actions": [action],
    })
}

pub(crate) fn ack(key: &str, action_ts: &str) -> Value {
    json!({"type": "button", "action_id": "incident_ack", "block_id": "incident-actions", "value": key, "action_ts": action_ts})
}

pub(crate) fn mute(secs: u64, action_ts: &str) -> Value {
    json!({"type": "static_select", "action_id": "incident_mute", "block_id": "incident-actions",
        "selected_option": {"text": {"type": "plain_text", "text": "1 hour"}, "value": secs.to_string()}, "action_ts": action_ts})
}

fn unmute(key: &str, action_ts: &str) -> Value {
    json!({"type": "button", "action_id": "incident_unmute", "block_id": "incident-actions", "value": key, "action_ts": action_ts})
}

pub(crate) async fn send(s: &Setup, event: Value) -> (Outcome, Duration) {
    s.h.invoke(event).await
}

pub(crate) fn status(outcome: &Outcome) -> i64 {
    outcome.response()["statusCode"]
        .as_i64()
        .unwrap_or_default()
}

/// Replies posted in the thread of `ts`.
fn replies(s: &Setup, ts: &str) -> Vec<Call> {
    s.api
        .posted()
        .into_iter()
        .filter(|c| c.args["thread_ts"] == ts)
        .collect()
}

/// Nothing secret in the function's output or answers.
fn nothing_leaked(s: &Setup, answers: &[&Outcome]) {
    let output = s.h.function.output();
    for secret in [SIGNING, &SIGNING[..8], &SIGNING[24..], TOKEN] {
        assert!(!output.contains(secret), "the output shows {secret:?}");
        for a in answers {
            assert!(!a.response().to_string().contains(secret));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alarm_gets_acknowledge_and_mute_and_acknowledge_records_who_and_when() {
    let s = setup(&[]).await;
    let (ts, key) = incident(&s, &alarm_message(ALARM, "ALARM")).await;
    let before = parent(&s, &ts);
    assert_eq!(controls(&before), ["incident_ack", "incident_mute"]);
    assert!(
        key.starts_with("alarm#arn:aws:cloudwatch:us-east-1:123456789012:alarm:"),
        "{key}"
    );
    // The console's buttons are still there.
    assert!(before["attachments"][0]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["type"] == "actions"));

    let started = Instant::now();
    let (outcome, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, ack(&key, "100.1")), now(), SIGNING),
    )
    .await;
    assert_eq!(status(&outcome), 200, "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let after = parent(&s, &ts);
    let acked = line(&after, "incident-ack").expect("an acknowledgement line");
    assert!(
        acked.starts_with(&format!("👀 Acknowledged by <@{USER}> at ")) && acked.ends_with(" UTC"),
        "{acked}"
    );
    assert_eq!(s.api.calls("chat.update").len(), 1);
    let thread = replies(&s, &ts);
    assert_eq!(thread.len(), 1, "{thread:?}");
    assert!(thread[0].args["text"]
        .as_str()
        .unwrap()
        .contains(&format!("<@{USER}> acknowledged")));
    assert!(
        s.mutes.calls().is_empty(),
        "acknowledging calls no CloudWatch"
    );
    assert!(
        s.api.responses().is_empty(),
        "success needs no ephemeral message"
    );
    let item = crate::support::secrets::dynamodb_admin()
        .get_item()
        .table_name(&s.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(key.clone()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["ack_by"].as_s().unwrap(), USER);
    let output = s.h.function.output_after("slack action", 1).await;
    let audit = output.lines().find(|l| l.contains("slack action")).unwrap();
    for part in [USER, ALARM, "acknowledge", "done"] {
        assert!(audit.contains(part), "{audit}");
    }

    // A second click, by someone else: told who acknowledged, and nothing changes.
    let (outcome, _) = send(
        &s,
        signed_event(
            &click(&s, &ts, "U0SOMEONE2", ack(&key, "100.2")),
            now(),
            SIGNING,
        ),
    )
    .await;
    assert_eq!(status(&outcome), 200);
    assert_eq!(parent(&s, &ts), after);
    assert_eq!(s.api.calls("chat.update").len(), 1);
    let told = s.api.responses();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["response_type"], "ephemeral");
    assert!(
        told[0]["text"]
            .as_str()
            .unwrap()
            .contains(&format!("Already acknowledged by <@{USER}>")),
        "{told:?}"
    );

    // The OK resolves the parent and keeps the acknowledgement.
    let (outcome, _) =
        s.h.invoke(sns_event(&[("ok-1", &alarm_message(ALARM, "OK"))]))
            .await;
    assert_eq!(outcome.response()["delivered"], 1);
    let resolved = parent(&s, &ts);
    assert!(
        line(&resolved, "incident-status")
            .unwrap()
            .starts_with("✅ Resolved"),
        "{resolved}"
    );
    assert_eq!(line(&resolved, "incident-ack"), Some(acked));
    nothing_leaked(&s, &[&outcome]);
}

#[tokio::test(flavor = "multi_thread")]
async fn mute_for_an_hour_then_unmute() {
    let s = setup(&[]).await;
    let (ts, key) = incident(&s, &alarm_message(ALARM, "ALARM")).await;
    let before = parent(&s, &ts);
    let at = now();
    let (outcome, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, mute(3600, "200.1")), at, SIGNING),
    )
    .await;
    assert_eq!(status(&outcome), 200, "{outcome:?}");
    let calls = s.mutes.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].operation, "PutAlarmMuteRule");
    let input = &calls[0].input;
    let name = input["Name"].as_str().unwrap();
    assert!(name.starts_with("slack-mute-checkout-errors-"), "{name}");
    assert_eq!(input["MuteTargets"]["AlarmNames"], json!([ALARM]));
    let expires = input["ExpireDate"].as_f64().unwrap() as u64;
    assert!(expires >= at + 3600 && expires <= now() + 3600, "{input}");
    let expression = input["Rule"]["Schedule"]["Expression"].as_str().unwrap();
    assert!(
        expression.starts_with("at(")
            && input["Rule"]["Schedule"]["Duration"]
                .as_str()
                .unwrap()
                .starts_with("PT"),
        "{input}"
    );
    let muted = parent(&s, &ts);
    assert_eq!(controls(&muted), ["incident_ack", "incident_unmute"]);
    let says = line(&muted, "incident-mute").unwrap();
    assert!(
        says.starts_with("🔕 Muted until ") && says.ends_with(&format!("by <@{USER}>")),
        "{says}"
    );
    assert_eq!(replies(&s, &ts).len(), 1);
    assert!(s.api.responses().is_empty());

    // A second mute replaces the rule rather than adding one.
    let (outcome, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, mute(14_400, "200.2")), now(), SIGNING),
    )
    .await;
    assert_eq!(status(&outcome), 200);
    assert_eq!(s.mutes.rules().len(), 1);

    let (outcome, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, unmute(&key, "200.3")), now(), SIGNING),
    )
    .await;
    assert_eq!(status(&outcome), 200, "{outcome:?}");
    let last = s.mutes.calls().pop().unwrap();
    assert_eq!(
        (
            last.operation.as_str(),
            last.input["AlarmMuteRuleName"].as_str()
        ),
        ("DeleteAlarmMuteRule", Some(name))
    );
    assert!(s.mutes.rules().is_empty());
    let unmuted = parent(&s, &ts);
    assert_eq!(controls(&unmuted), ["incident_ack", "incident_mute"]);
    assert_eq!(line(&unmuted, "incident-mute"), None);
    assert_eq!(
        unmuted["blocks"], before["blocks"],
        "the parent is as it was before the mute"
    );
    assert!(replies(&s, &ts).last().unwrap().args["text"]
        .as_str()
        .unwrap()
        .contains("unmuted"));
    nothing_leaked(&s, &[&outcome]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_click_delivered_twice_acts_once() {
    let s = setup(&[]).await;
    let (ts, _) = incident(&s, &alarm_message(ALARM, "ALARM")).await;
    let event = signed_event(&click(&s, &ts, USER, mute(3600, "300.1")), now(), SIGNING);
    for _ in 0..2 {
        let (outcome, _) = send(&s, event.clone()).await;
        assert_eq!(status(&outcome), 200);
    }
    assert_eq!(s.mutes.calls().len(), 1, "{:?}", s.mutes.calls());
    assert_eq!(s.api.calls("chat.update").len(), 1);
    assert_eq!(replies(&s, &ts).len(), 1);
    assert!(
        s.api.responses().is_empty(),
        "a repeat is not news to the user"
    );
}

/// What a refused request leaves: the message as it was, no mute, no reply.
fn nothing_done(s: &Setup, ts: &str, before: &Value) {
    assert_eq!(&parent(s, ts), before);
    assert!(s.mutes.calls().is_empty(), "{:?}", s.mutes.calls());
    assert!(s.api.calls("chat.update").is_empty());
    assert!(replies(s, ts).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_that_do_not_verify_get_401_and_nothing_else() {
    let s = setup(&[]).await;
    let (ts, key) = incident(&s, &alarm_message(ALARM, "ALARM")).await;
    let before = parent(&s, &ts);
    let payload = click(&s, &ts, USER, ack(&key, "400.1"));
    let body = format!("payload={}", encode(&payload.to_string()));
    let t = now();
    let stale = (t - 360).to_string();
    let ahead = (t + 360).to_string();
    let fresh = t.to_string();
    let header =
        |ts: &str, sig: String| json!({"x-slack-request-timestamp": ts, "x-slack-signature": sig});
    let b64 = aws_smithy_types::base64::encode(body.as_bytes());
    let cases = [
        (
            "a bad signature",
            url_event(
                header(
                    &fresh,
                    sign("another-secret-entirely-000000000", &fresh, body.as_bytes()),
                ),
                &body,
                false,
            ),
        ),
        (
            "six minutes old",
            url_event(
                header(&stale, sign(SIGNING, &stale, body.as_bytes())),
                &body,
                false,
            ),
        ),
        (
            "six minutes ahead",
            url_event(
                header(&ahead, sign(SIGNING, &ahead, body.as_bytes())),
                &body,
                false,
            ),
        ),
        ("no headers", url_event(json!({}), &body, false)),
        (
            "no signature",
            url_event(json!({"x-slack-request-timestamp": fresh}), &body, false),
        ),
        // Signed over the base64 text, not over the body it stands for.
        (
            "a base64 body signed as text",
            url_event(
                header(&fresh, sign(SIGNING, &fresh, b64.as_bytes())),
                &b64,
                true,
            ),
        ),
    ];
    for (case, event) in cases {
        let (outcome, _) = send(&s, event).await;
        assert_eq!(status(&outcome), 401, "{case}: {outcome:?}");
        nothing_done(&s, &ts, &before);
        nothing_leaked(&s, &[&outcome]);
    }
    assert!(
        s.api.responses().is_empty(),
        "an unverified request gets no answer in Slack"
    );
    let output = s.h.function.output();
    assert!(
        !output.contains("incident_ack"),
        "the body of a refused request is not logged"
    );
    // The same body, base64-encoded by Lambda and signed as Slack signs it, is taken.
    let (outcome, _) = send(
        &s,
        url_event(
            header(&fresh, sign(SIGNING, &fresh, body.as_bytes())),
            &b64,
            true,
        ),
    )
    .await;
    assert_eq!(status(&outcome), 200, "{outcome:?}");
    assert!(line(&parent(&s, &ts), "incident-ack").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn verified_requests_that_are_not_clicks_get_400_or_413() {
    let s = setup(&[]).await;
    let (ts, _) = incident(&s, &alarm_message(ALARM, "ALARM")).await;
    let before = parent(&s, &ts);
    let t = now().to_string();
    let signed = |body: &str, base64: bool| {
        let raw = if base64 {
            aws_smithy_types::base64::decode(body).unwrap_or_default()
        } else {
            body.as_bytes().to_vec()
        };
        url_event(
            json!({"x-slack-request-timestamp": t, "x-slack-signature": sign(SIGNING, &t, &raw)}),
            body,
            base64,
        )
    };
    let huge = format!("payload={}", "a".repeat(2 * 1024 * 1024));
    for (case, event, expected) in [
        (
            "malformed JSON",
            signed("payload=%7B%22type%22%3A", false),
            400,
        ),
        ("no payload", signed("text=hello", false), 400),
        ("a 2 MB body", signed(&huge, false), 413),
        (
            "a body that says base64 and is not",
            signed("payload=%%%", true),
            400,
        ),
    ] {
        let (outcome, _) = send(&s, event).await;
        assert_eq!(status(&outcome), expected, "{case}: {outcome:?}");
        nothing_done(&s, &ts, &before);
    }
    // An event that is not a function URL event at all is a notification, and fails as one.
    let (outcome, _) = send(&s, json!({"rawPath": "/"})).await;
    let (error_type, _) = outcome.error();
    assert_eq!(error_type, "MalformedEvent", "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn clicks_from_elsewhere_or_on_unknown_messages_are_refused_and_audited() {
    let s = setup(&[("ACTIONS_ALLOWED_USERGROUP", "S0ONCALL01")]).await;
    s.api.add_usergroup("S0ONCALL01", &[USER]);
    s.api.add_channel("C0OTHER001", "other", true);
    let (ts, key) = incident(&s, &alarm_message(ALARM, "ALARM")).await;
    let before = parent(&s, &ts);
    let mut team = click(&s, &ts, USER, ack(&key, "500.1"));
    team["team"]["id"] = "T0OTHERTEAM".into();
    let mut channel = click(&s, &ts, USER, ack(&key, "500.2"));
    channel["channel"]["id"] = "C0OTHER001".into();
    channel["container"]["channel_id"] = "C0OTHER001".into();
    let unknown_key = click(
        &s,
        &ts,
        USER,
        ack(
            "alarm#arn:aws:cloudwatch:us-east-1:123456789012:alarm:nope",
            "500.3",
        ),
    );
    let mut wrong_ts = click(&s, &ts, USER, ack(&key, "500.4"));
    wrong_ts["container"]["message_ts"] = "9999.0001".into();
    let outsider = click(&s, &ts, "U0STRANGER", mute(3600, "500.5"));
    let unknown_action = click(
        &s,
        &ts,
        USER,
        json!({"action_id": "delete_alarm", "value": key, "action_ts": "500.6"}),
    );
    let cases = [
        ("another team", team, "another workspace"),
        ("another channel", channel, "not one the notifier posts to"),
        (
            "a message the table does not know",
            unknown_key,
            "not one of the notifier's incidents",
        ),
        (
            "another message's ts",
            wrong_ts,
            "not one of the notifier's incidents",
        ),
        ("a user outside the allowed group", outsider, "may mute"),
        (
            "an unknown action id",
            unknown_action,
            "not one of the incident's buttons",
        ),
    ];
    for (i, (case, payload, why)) in cases.into_iter().enumerate() {
        let (outcome, _) = send(&s, signed_event(&payload, now(), SIGNING)).await;
        assert_eq!(status(&outcome), 200, "{case}: {outcome:?}");
        nothing_done(&s, &ts, &before);
        let told = s.api.responses();
        assert_eq!(told.len(), i + 1, "{case}: {told:?}");
        let text = told[i]["text"].as_str().unwrap();
        assert!(
            told[i]["response_type"] == "ephemeral"
                && text.starts_with("🚫 Not allowed")
                && text.contains(why),
            "{case}: {text}"
        );
        let output = s.h.function.output_after("slack action", i + 1).await;
        assert!(
            output
                .lines()
                .filter(|l| l.contains("slack action") && l.contains("refused"))
                .count()
                > i,
            "{case}"
        );
        nothing_leaked(&s, &[&outcome]);
    }
    // A member of the group may mute.
    let (outcome, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, mute(3600, "500.9")), now(), SIGNING),
    )
    .await;
    assert_eq!(status(&outcome), 200);
    assert_eq!(s.mutes.rules().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloudwatch_error_or_timeout_is_told_within_three_seconds_and_changes_nothing() {
    let s = setup(&[]).await;
    let (ts, _) = incident(&s, &alarm_message(ALARM, "ALARM")).await;
    let before = parent(&s, &ts);
    s.mutes.fail(Some((403, "AccessDeniedException")));
    let started = Instant::now();
    let (outcome, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, mute(3600, "600.1")), now(), SIGNING),
    )
    .await;
    assert_eq!(status(&outcome), 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(parent(&s, &ts), before);
    let told = s.api.responses();
    assert!(
        told[0]["text"]
            .as_str()
            .unwrap()
            .contains("AccessDeniedException"),
        "{told:?}"
    );

    // CloudWatch takes the mute but answers too late: the user is told in time, and the
    // mute that went through is deleted.
    s.mutes.fail(None);
    s.mutes.hang(Duration::from_secs(6));
    let started = Instant::now();
    let (outcome, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, mute(3600, "600.2")), now(), SIGNING),
    )
    .await;
    assert_eq!(status(&outcome), 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(parent(&s, &ts), before);
    let told = s.api.responses();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        told[1]["text"].as_str().unwrap().contains("did not answer"),
        "{told:?}"
    );
    let deleted = s
        .mutes
        .calls()
        .iter()
        .any(|c| c.operation == "DeleteAlarmMuteRule");
    assert!(deleted, "{:?}", s.mutes.calls());
    assert!(s.mutes.rules().is_empty());
    // The item is as it was: a later mute works.
    s.mutes.hang(Duration::ZERO);
    let (outcome, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, mute(3600, "600.3")), now(), SIGNING),
    )
    .await;
    assert_eq!(status(&outcome), 200);
    assert_eq!(
        controls(&parent(&s, &ts)),
        ["incident_ack", "incident_unmute"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_accounts_or_regions_alarm_has_no_mute_and_says_why() {
    let s = setup(&[]).await;
    let message = alarm_message_in(
        ALARM,
        "ALARM",
        "210987654321",
        "AWS/EC2",
        "2026-11-20T08:15:30.852+0000",
    );
    let (ts, key) = incident(&s, &message).await;
    let p = parent(&s, &ts);
    assert_eq!(controls(&p), ["incident_ack"]);
    let why = line(&p, "incident-no-mute").unwrap();
    assert!(
        why.contains("210987654321") && why.contains(HOME) && why.starts_with("🔕 No Mute here: "),
        "{why}"
    );
    // A forged mute on it is refused.
    let (outcome, _) = send(
        &s,
        signed_event(&click(&s, &ts, USER, mute(3600, "700.1")), now(), SIGNING),
    )
    .await;
    assert_eq!(status(&outcome), 200);
    assert!(s.mutes.calls().is_empty());
    assert!(s.api.responses()[0]["text"]
        .as_str()
        .unwrap()
        .contains("cannot be muted from here: this alarm is in AWS account 210987654321"));
    assert!(!key.is_empty());

    // The function's own account, another region: the mute rule could not be made there.
    let s = setup(&[]).await;
    let elsewhere = alarm_message(ALARM, "ALARM").replace("us-east-1", "eu-west-1");
    let (ts, _) = incident(&s, &elsewhere).await;
    let p = parent(&s, &ts);
    assert_eq!(controls(&p), ["incident_ack"]);
    let why = line(&p, "incident-no-mute").unwrap();
    assert!(
        why.contains("eu-west-1") && why.contains("us-east-1"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_actions_messages_are_byte_identical_and_urls_get_404() {
    let on = setup(&[]).await;
    let off = setup(&[("ACTIONS", "false")]).await;
    let message = alarm_message(ALARM, "ALARM");
    incident(&on, &message).await;
    incident(&off, &message).await;
    let (with, without) = (&on.api.posted()[0].args, &off.api.posted()[0].args);
    assert!(block(without, "incident-actions").is_none());
    // Today's message is the one with the buttons taken out.
    let mut stripped = with.clone();
    stripped["blocks"]
        .as_array_mut()
        .unwrap()
        .retain(|b| b["block_id"] != "incident-actions");
    assert_eq!(
        serde_json::to_string(&stripped).unwrap(),
        serde_json::to_string(without).unwrap()
    );
    let rendered = std::process::Command::new(env!("CARGO_BIN_EXE_slack-alarm-notifier"))
        .args(["render", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(sns_event(&[("open-1", &message)]).to_string().as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let rendered: Value = serde_json::from_slice(&rendered.stdout).unwrap_or(Value::Null);
    let mut posted = without.clone();
    posted.as_object_mut().unwrap().remove("channel");
    assert_eq!(posted, rendered[0], "what is posted is what render prints");
    let (outcome, _) = send(
        &off,
        signed_event(&json!({"type": "block_actions"}), now(), SIGNING),
    )
    .await;
    assert_eq!(status(&outcome), 404, "{outcome:?}");
}

/// `check` with ACTIONS on, for `secret`: its exit code and stdout.
async fn check_actions(api: &SlackApi, secret: Value, group: bool) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(crate::support::unique("actions-check"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("secret.json");
    std::fs::write(&path, secret.to_string()).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_slack-alarm-notifier"));
    command
        .args(["check", "--secret-file"])
        .arg(&path)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("SLACK_API_URL", api.url())
        .env("SLACK_API_HOSTS", "127.0.0.1")
        .env("THREADS_TABLE", "slack-threads")
        .env("ACTIONS", "true");
    if group {
        command.env("ACTIONS_ALLOWED_USERGROUP", "S0ONCALL01");
    }
    let output = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    for secret in [SIGNING, &SIGNING[..8], TOKEN] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{stdout}{stderr}"
        );
    }
    (output.status.code(), stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn check_says_whether_the_signing_secret_is_there_and_well_formed() {
    let api = SlackApi::start(TOKEN).await;
    let good = json!({"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL": CHANNEL, "SLACK_SIGNING_SECRET": SIGNING});
    let (code, stdout) = check_actions(&api, good.clone(), false).await;
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.lines().any(|l| l == "ok    signing: SLACK_SIGNING_SECRET is present and well-formed, so clicks can be verified"),
        "{stdout}"
    );
    let (code, stdout) = check_actions(
        &api,
        json!({"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL": CHANNEL}),
        false,
    )
    .await;
    assert_ne!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("FAIL  signing: ACTIONS is on, but the secret has no SLACK_SIGNING_SECRET"),
        "{stdout}"
    );
    let short = json!({"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL": CHANNEL, "SLACK_SIGNING_SECRET": &SIGNING[..20]});
    let (code, stdout) = check_actions(&api, short, false).await;
    assert_ne!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("FAIL  signing: SLACK_SIGNING_SECRET is not 32 characters long"),
        "{stdout}"
    );
    // A user group the token cannot read: a warning, not a failure.
    let (code, stdout) = check_actions(&api, good, true).await;
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "warn  actions: ACTIONS_ALLOWED_USERGROUP is set, but the token lacks usergroups:read"
        ),
        "{stdout}"
    );
}
