//! Routing (`ROUTES_FILE`) end to end: the built binary under the Runtime API emulator, moto's
//! Secrets Manager and DynamoDB, the local Slack Web API (app mode) or webhook servers, and a
//! local CloudWatch answering `ListTagsForResource` for the routes that match on tags.
//!
//! Every test asserts the exact channels (or webhooks) each notification reached, and that no
//! other got anything.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

use crate::app::{app_secret, TOKEN};
use crate::support::cloudwatch::{CloudWatch, TagsFault};
use crate::support::http::Reply;
use crate::support::secrets::{create_threads_table, dynamodb_admin};
use crate::support::slack_api::{api_error, server_error, Call, SlackApi, CHANNEL};
use crate::support::{sns_envelope, sns_event, sqs_event, Harness, Options, Outcome, Slack};

/// Lambda's timeout for a queue batch in these tests: generous, the result never depends on it.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(60);

const MAIN: &str = "123456789012";
const PROD: &str = "111111111111";
const STAGING: &str = "333333333333";

// ---------------------------------------------------------------------------------------------
// Events

fn arn(account: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch:us-east-1:{account}:alarm:{name}")
}

/// An SNS alarm message for `name` in `account`, on a metric of `namespace` with `dimensions`.
fn alarm_in(
    name: &str,
    state: &str,
    account: &str,
    namespace: &str,
    dimensions: &[(&str, &str)],
) -> String {
    let dimensions: Vec<Value> = dimensions
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    json!({
        "AlarmName": name,
        "AlarmDescription": null,
        "AWSAccountId": account,
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 1 datapoint [95.0] was greater than the threshold (80.0).",
        "StateChangeTime": "2026-11-20T08:15:30.852+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": arn(account, name),
        "OldStateValue": if state == "OK" { "ALARM" } else { "OK" },
        "Trigger": {"MetricName": "Errors", "Namespace": namespace, "Statistic": "SUM", "Period": 60,
                    "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 80.0,
                    "Dimensions": dimensions}
    })
    .to_string()
}

fn alarm(name: &str, state: &str, account: &str, namespace: &str) -> String {
    alarm_in(name, state, account, namespace, &[])
}

/// One SNS record, message id `id`.
fn sns_one(id: &str, message: &str) -> Value {
    sns_event(&[(id, message)])
}

/// A GuardDuty finding, as EventBridge hands it to the function directly.
fn guardduty(id: &str, account: &str, title: &str) -> Value {
    json!({
        "version": "0", "id": id, "source": "aws.guardduty", "detail-type": "GuardDuty Finding",
        "account": account, "region": "eu-west-1", "time": "2026-11-20T08:10:00Z",
        "resources": [],
        "detail": {"id": format!("finding-{id}"), "type": "Recon:EC2/PortProbeUnprotectedPort",
                   "severity": 8.0, "title": title, "accountId": account, "region": "eu-west-1"}
    })
}

/// An SQS record carrying an SNS alarm notification (raw delivery off).
fn queued(id: &str, message: &str) -> (String, String) {
    (
        format!("sqs-{id}"),
        sns_envelope(&format!("sns-{id}"), "alarm", message),
    )
}

// ---------------------------------------------------------------------------------------------
// The function

/// A routes file holding `text`, in a directory of its own. Its path holds no digits, so that
/// no piece of it can stand in a credential the function scrubs from its errors.
fn routes_file(text: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        ^ (N.fetch_add(1, Ordering::SeqCst) as u128) << 100;
    let mut n = seed ^ u128::from(std::process::id()) << 64;
    let mut letters = String::new();
    while n > 0 {
        letters.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    let dir = std::env::temp_dir().join(format!("e-routes-{letters}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("routes.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// App mode with routes: the function, the local Slack Web API (the bot in `channels` and the
/// secret's own [`CHANNEL`]), the local CloudWatch for tags, and the routes file.
struct Routed {
    h: Harness,
    api: SlackApi,
    cw: CloudWatch,
}

async fn app_with_routes(
    routes: &str,
    channels: &[&str],
    extra: &[(&'static str, String)],
) -> Routed {
    let api = SlackApi::start(TOKEN).await;
    for c in channels {
        api.add_channel(c, &c.to_ascii_lowercase(), true);
    }
    let cw = CloudWatch::start().await;
    let file = routes_file(routes);
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let mut env = vec![
        ("RUST_LOG", "info".to_owned()),
        ("SLACK_API_URL", api.url()),
        ("SLACK_API_HOSTS", "127.0.0.1".into()),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", cw.url()),
        ("ROUTES_FILE", file.display().to_string()),
    ];
    env.extend(extra.iter().cloned());
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env,
    })
    .await;
    Routed { h, api, cw }
}

/// The app-mode environment with threads in `table`.
fn threads_env(table: &str) -> Vec<(&'static str, String)> {
    vec![
        ("THREADS_TABLE", table.to_owned()),
        // moto on a busy machine may take more than the default 2 s.
        ("THREADS_TIMEOUT_SECONDS", "8".to_owned()),
    ]
}

/// The outcome's counts: (delivered, filtered, duplicates, dropped); `dropped` is left out of
/// the JSON when zero.
fn counts(outcome: &Outcome) -> (u64, u64, u64, u64) {
    let r = outcome.response();
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("no {k} in {r}"));
    let dropped = match r.get("dropped") {
        None => 0,
        Some(d) => d.as_u64().unwrap(),
    };
    (n("delivered"), n("filtered"), n("duplicates"), dropped)
}

fn failures(outcome: &Outcome) -> Vec<String> {
    let response = outcome.response();
    let mut failed: Vec<String> = response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a partial batch response: {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    failed.sort();
    failed
}

/// The channel of a `chat.postMessage` call.
fn channel_of(c: &Call) -> String {
    c.args["channel"].as_str().unwrap_or("-").to_owned()
}

/// The channels of `calls`, sorted (repeats kept: a channel posted twice shows twice).
fn channels(calls: &[Call]) -> Vec<String> {
    let mut channels: Vec<String> = calls.iter().map(channel_of).collect();
    channels.sort();
    channels
}

/// Of `names`, those a message mentions, sorted.
fn named_in(message: &Value, names: &[&str]) -> Vec<String> {
    let text = message.to_string();
    let mut found: Vec<String> = names
        .iter()
        .filter(|n| text.contains(*n))
        .map(|n| n.to_string())
        .collect();
    found.sort();
    found
}

/// For each channel, the alarms of `names` its accepted messages mention, sorted (repeats kept).
fn alarms_by_channel(calls: &[Call], names: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in calls {
        by.entry(channel_of(c))
            .or_default()
            .extend(named_in(&c.args, names));
    }
    for v in by.values_mut() {
        v.sort();
    }
    by
}

fn map(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, v)| {
            let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            v.sort();
            (k.to_string(), v)
        })
        .collect()
}

/// The route a log line is in: `route{route=NAME}`, the name quoted or not.
fn route_of(line: &str) -> Option<String> {
    let at = line.find("route{route=")? + "route{route=".len();
    let rest = &line[at..];
    let end = rest.find('}')?;
    Some(rest[..end].trim_matches('"').to_owned())
}

/// The lines of `logs` that contain `needle`.
fn lines_with<'a>(logs: &'a str, needle: &str) -> Vec<&'a str> {
    logs.lines().filter(|l| l.contains(needle)).collect()
}

/// How many of the lines containing `needle` are in each route's span; a line in no route's
/// span counts under `-`.
fn lines_by_route(logs: &str, needle: &str) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for line in lines_with(logs, needle) {
        *by.entry(route_of(line).unwrap_or_else(|| "-".into()))
            .or_default() += 1;
    }
    by
}

fn tally(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Waits up to 20 s for `cond` to hold.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < give_up, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Invokes with `event`, expects one notification delivered, and returns the channels Slack
/// accepted messages in during that invocation, sorted, with every call made in it.
async fn deliver_one(r: &Routed, event: Value) -> (Vec<String>, Vec<Call>) {
    let before = r.api.calls("chat.postMessage").len();
    let (outcome, _) = r.h.invoke(event).await;
    assert_eq!(counts(&outcome), (1, 0, 0, 0), "{outcome:?}");
    let calls: Vec<Call> = r.api.calls("chat.postMessage")[before..].to_vec();
    assert!(calls.iter().all(Call::ok), "{calls:?}");
    (channels(&calls), calls)
}

// ---------------------------------------------------------------------------------------------
// 1. Matchers

const MATCHERS: &str = r#"
# Tags first: a payments alarm goes to payments, whatever else it matches.
[[route]]
name = "payments"
match = { tags = { team = "payments" } }
channel = "C0PAYMENTS"
mention = "<!subteam^S0PAYONCALL>"

[[route]]
name = "prod-account"
match = { account = "111111111111" }
channel = "C0PRODACCT"

[[route]]
name = "security"
match = { source = "guardduty" }
channel = "C0SECURITY"

[[route]]
name = "databases"
match = { alarm_name = ["db-*", "*-rds-?"] }
channel = "C0DATABASE"

[[route]]
name = "queues"
match = { namespace = "AWS/SQS" }
channel = "C0QUEUES01"

[[route]]
name = "by-instance"
match = { dimension = "InstanceId=i-0abc*" }
channel = "C0INSTANCE"

[default]
channel = "C0ALLALERTS"
"#;

const MATCHER_CHANNELS: [&str; 7] = [
    "C0PAYMENTS",
    "C0PRODACCT",
    "C0SECURITY",
    "C0DATABASE",
    "C0QUEUES01",
    "C0INSTANCE",
    "C0ALLALERTS",
];

/// (message id, alarm name, account, namespace, dimensions, the one channel it must reach)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[tokio::test(flavor = "multi_thread")]
async fn alarms_routed_by_tag_account_source_name_and_namespace_reach_exactly_their_channels() {
    let r = app_with_routes(MATCHERS, &MATCHER_CHANNELS, &[]).await;
    r.cw.set_tags(&arn(MAIN, "checkout-latency"), &[("team", "payments")]);
    r.cw.set_tags(&arn(PROD, "checkout-web-cpu"), &[("team", "payments")]);
    r.cw.set_tags(&arn(PROD, "web-cpu"), &[("team", "web")]);
    let cases: [Case; 11] = [
        (
            "m-tag",
            "checkout-latency",
            MAIN,
            "AWS/ApplicationELB",
            &[],
            "C0PAYMENTS",
        ),
        // payments comes before prod-account: the first route that matches takes it.
        (
            "m-tag-first",
            "checkout-web-cpu",
            PROD,
            "AWS/EC2",
            &[],
            "C0PAYMENTS",
        ),
        // Tagged, but not team=payments.
        ("m-account", "web-cpu", PROD, "AWS/EC2", &[], "C0PRODACCT"),
        (
            "m-name",
            "db-connections",
            MAIN,
            "AWS/EC2",
            &[],
            "C0DATABASE",
        ),
        (
            "m-name-any",
            "orders-rds-1",
            MAIN,
            "AWS/EC2",
            &[],
            "C0DATABASE",
        ),
        // `?` is one character: orders-rds-12 is no database alarm.
        (
            "m-name-not",
            "orders-rds-12",
            MAIN,
            "AWS/EC2",
            &[],
            "C0ALLALERTS",
        ),
        (
            "m-namespace",
            "orders-queue-depth",
            MAIN,
            "AWS/SQS",
            &[],
            "C0QUEUES01",
        ),
        // databases comes before queues.
        (
            "m-name-first",
            "db-queue-age",
            MAIN,
            "AWS/SQS",
            &[],
            "C0DATABASE",
        ),
        (
            "m-dimension",
            "host-disk",
            MAIN,
            "CWAgent",
            &[("path", "/"), ("InstanceId", "i-0abc123")],
            "C0INSTANCE",
        ),
        (
            "m-dimension-not",
            "other-host-disk",
            MAIN,
            "CWAgent",
            &[("InstanceId", "i-0def456")],
            "C0ALLALERTS",
        ),
        (
            "m-default",
            "misc-lambda-errors",
            MAIN,
            "AWS/Lambda",
            &[],
            "C0ALLALERTS",
        ),
    ];
    for (id, name, account, namespace, dims, expected) in cases {
        let event = sns_one(id, &alarm_in(name, "ALARM", account, namespace, dims));
        let (got, calls) = deliver_one(&r, event).await;
        assert_eq!(got, [expected], "{name}");
        assert!(
            calls[0].args["text"].as_str().unwrap().contains(name),
            "{calls:?}"
        );
        // The route's own mention, on its messages only.
        let mentioned = calls[0].args.to_string().contains("S0PAYONCALL");
        assert_eq!(mentioned, expected == "C0PAYMENTS", "{name}: {calls:?}");
    }
    // Not alarms: the source matcher, and an account matcher on an event's account.
    let (got, _) = deliver_one(&r, guardduty("e-sec", "999999999999", "Port probed")).await;
    assert_eq!(got, ["C0SECURITY"], "a GuardDuty finding");
    let (got, _) = deliver_one(&r, guardduty("e-prod", PROD, "Port probed in prod")).await;
    assert_eq!(got, ["C0PRODACCT"], "prod-account comes before security");

    // Nothing anywhere else: every call of any method was one of those posts.
    let calls = r.api.all_calls();
    assert_eq!(calls.len(), 13, "{calls:?}");
    assert!(calls.iter().all(|c| c.method == "chat.postMessage"));
    assert!(r.api.posted_to(CHANNEL).is_empty(), "the secret's channel");
    // The tags of each alarm (and of no finding) were asked once.
    let mut asked = r.cw.tag_calls();
    asked.sort();
    let mut expected: Vec<String> = cases.iter().map(|c| arn(c.2, c.1)).collect();
    expected.sort();
    assert_eq!(asked, expected);
    assert!(r.cw.refused().is_empty(), "{:?}", r.cw.refused());

    // Every line about a delivery names its route.
    let logs = r.h.function.output_after("posted to Slack", 13).await;
    assert_eq!(
        lines_by_route(&logs, "posted to Slack"),
        tally(&[
            ("payments", 2),
            ("prod-account", 2),
            ("security", 1),
            ("databases", 3),
            ("queues", 1),
            ("by-instance", 1),
            ("default", 3),
        ]),
        "{logs}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. An OK follows its ALARM, and its thread

const TEAMS: &str = r#"
[[route]]
name = "payments"
match = { tags = { team = "payments" } }
channel = "C0PAYMENTS"

[[route]]
name = "platform"
match = { namespace = "AWS/RDS" }
channel = "C0PLATFORM"

[default]
channel = "C0ALLALERTS"
"#;

fn thread_ts(c: &Call) -> Option<&str> {
    c.args["thread_ts"].as_str()
}

async fn thread_item(table: &str, key: &str) -> Option<BTreeMap<String, AttributeValue>> {
    dynamodb_admin()
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(key.to_owned()))
        .send()
        .await
        .unwrap()
        .item
        .map(|i| i.into_iter().collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ok_follows_its_alarms_route_into_the_same_thread() {
    let table = create_threads_table().await;
    let channels = ["C0PAYMENTS", "C0PLATFORM", "C0ALLALERTS"];
    let r = app_with_routes(TEAMS, &channels, &threads_env(&table)).await;
    let checkout = arn(MAIN, "checkout-latency");
    r.cw.set_tags(&checkout, &[("team", "payments")]);
    let by_tag = |state: &str| alarm("checkout-latency", state, MAIN, "AWS/ApplicationELB");
    let by_namespace = |state: &str| alarm("orders-db-cpu", state, MAIN, "AWS/RDS");

    let (got, parent) = deliver_one(&r, sns_one("tag-alarm", &by_tag("ALARM"))).await;
    assert_eq!(got, ["C0PAYMENTS"]);
    assert_eq!(thread_ts(&parent[0]), None, "the ALARM opens the thread");
    let (got, parent2) = deliver_one(&r, sns_one("ns-alarm", &by_namespace("ALARM"))).await;
    assert_eq!(got, ["C0PLATFORM"]);
    assert_eq!(thread_ts(&parent2[0]), None);
    let (got, reply) = deliver_one(&r, sns_one("tag-ok", &by_tag("OK"))).await;
    assert_eq!(got, ["C0PAYMENTS"], "the OK goes where its ALARM went");
    let (got, reply2) = deliver_one(&r, sns_one("ns-ok", &by_namespace("OK"))).await;
    assert_eq!(got, ["C0PLATFORM"], "the OK goes where its ALARM went");

    for (parent, reply, channel) in [
        (&parent[0], &reply[0], "C0PAYMENTS"),
        (&parent2[0], &reply2[0], "C0PLATFORM"),
    ] {
        let ts = parent.answer["ts"].as_str().unwrap();
        assert_eq!(
            thread_ts(reply),
            Some(ts),
            "the OK is a reply in its thread"
        );
        assert!(
            reply.args["text"].as_str().unwrap().contains("OK"),
            "{reply:?}"
        );
        // The parent is resolved, in its own channel.
        let updates: Vec<Call> = r
            .api
            .calls("chat.update")
            .into_iter()
            .filter(|u| u.args["ts"] == ts)
            .collect();
        assert_eq!(updates.len(), 1, "{:?}", r.api.calls("chat.update"));
        assert!(updates[0].ok(), "{updates:?}");
        assert_eq!(updates[0].args["channel"], channel);
    }
    assert_eq!(r.api.calls("chat.update").len(), 2);
    assert!(r.api.posted_to("C0ALLALERTS").is_empty());
    assert!(r.api.posted_to(CHANNEL).is_empty());

    // The threads are kept per alarm and channel.
    let key = format!("alarm#{checkout}#C0PAYMENTS");
    let item = thread_item(&table, &key)
        .await
        .expect("the payments thread");
    assert_eq!(
        item["ts"].as_s().unwrap(),
        parent[0].answer["ts"].as_str().unwrap()
    );
    assert!(item.contains_key("resolved_at"), "{item:?}");
    let key = format!("alarm#{}#C0PLATFORM", arn(MAIN, "orders-db-cpu"));
    assert!(thread_item(&table, &key).await.is_some(), "{key}");
    // The tags were read once for the ALARM and its OK (kept for 15 minutes).
    assert_eq!(
        r.cw.tag_calls(),
        [checkout.clone(), arn(MAIN, "orders-db-cpu")]
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Fan-out

const FAN_OUT: &str = r#"
[[route]]
name = "dba"
match = { namespace = "AWS/RDS" }
channel = "C0DATABASE"
continue = true

# A second route to the same channel: it posts there once.
[[route]]
name = "dba-again"
match = { alarm_name = "orders-*" }
channel = "C0DATABASE"
continue = true

[[route]]
name = "prod"
match = { account = "123456789012" }
channel = "C0PRODACCT"

# After prod, which does not go on: what it matches, prod has taken.
[[route]]
name = "after-prod"
match = { account = "123456789012", namespace = "AWS/RDS" }
channel = "C0NEVERHERE"

[default]
channel = "C0ALLALERTS"
"#;

const FAN_OUT_CHANNELS: [&str; 4] = ["C0DATABASE", "C0PRODACCT", "C0NEVERHERE", "C0ALLALERTS"];

#[tokio::test(flavor = "multi_thread")]
async fn continue_fans_out_to_every_matching_route_each_channel_with_its_own_thread() {
    let table = create_threads_table().await;
    let r = app_with_routes(FAN_OUT, &FAN_OUT_CHANNELS, &threads_env(&table)).await;
    let rds = |state: &str| alarm("orders-db-cpu", state, MAIN, "AWS/RDS");

    let (got, parents) = deliver_one(&r, sns_one("fan-1", &rds("ALARM"))).await;
    assert_eq!(
        got,
        ["C0DATABASE", "C0PRODACCT"],
        "counted once, posted to both"
    );
    assert!(
        parents.iter().all(|p| thread_ts(p).is_none()),
        "{parents:?}"
    );
    let (got, replies) = deliver_one(&r, sns_one("fan-2", &rds("OK"))).await;
    assert_eq!(got, ["C0DATABASE", "C0PRODACCT"]);

    // One thread per channel: each OK a reply to its own channel's parent.
    for channel in ["C0DATABASE", "C0PRODACCT"] {
        let parent = parents.iter().find(|p| channel_of(p) == channel).unwrap();
        let reply = replies.iter().find(|p| channel_of(p) == channel).unwrap();
        let ts = parent.answer["ts"].as_str().unwrap();
        assert_eq!(thread_ts(reply), Some(ts), "{channel}");
        let key = format!("alarm#{}#{channel}", arn(MAIN, "orders-db-cpu"));
        let item = thread_item(&table, &key)
            .await
            .expect("a thread per channel");
        assert_eq!(item["ts"].as_s().unwrap(), ts);
    }
    let updated = channels(&r.api.calls("chat.update"));
    assert_eq!(
        updated,
        ["C0DATABASE", "C0PRODACCT"],
        "each parent resolved"
    );

    // Without continue, one route: prod takes an EC2 alarm of its account alone.
    let (got, _) = deliver_one(
        &r,
        sns_one("one-1", &alarm("web-cpu", "ALARM", MAIN, "AWS/EC2")),
    )
    .await;
    assert_eq!(got, ["C0PRODACCT"]);
    // A continuing route that is the only one to match: that route alone, not the default.
    let other = alarm("reports-db-cpu", "ALARM", "999999999999", "AWS/RDS");
    let (got, _) = deliver_one(&r, sns_one("one-2", &other)).await;
    assert_eq!(got, ["C0DATABASE"]);
    assert!(r.api.posted_to("C0NEVERHERE").is_empty());
    assert!(r.api.posted_to("C0ALLALERTS").is_empty());
    assert!(r.api.posted_to(CHANNEL).is_empty());

    let logs = r.h.function.output_after("posted to Slack", 6).await;
    assert_eq!(
        lines_by_route(&logs, "posted to Slack"),
        tally(&[("dba", 3), ("prod", 3)]),
        "{logs}"
    );
    assert!(r.cw.tag_calls().is_empty(), "no route matches on tags");
}

// ---------------------------------------------------------------------------------------------
// 4. Drop

const DROPS: &str = r#"
[[route]]
name = "staging-noise"
match = { account = "333333333333", alarm_name = "staging-*" }
drop = true

[default]
channel = "C0ALLALERTS"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_dropping_route_posts_nowhere_and_the_outcome_and_the_log_say_so() {
    let r = app_with_routes(DROPS, &["C0ALLALERTS"], &[]).await;
    let event = sns_event(&[
        ("drop-1", &alarm("staging-web", "ALARM", STAGING, "AWS/EC2")),
        ("drop-2", &alarm("prod-web", "ALARM", MAIN, "AWS/EC2")),
        // The name matches but not the account: not dropped.
        ("drop-3", &alarm("staging-db", "ALARM", MAIN, "AWS/EC2")),
    ]);
    let (outcome, _) = r.h.invoke(event).await;
    assert_eq!(counts(&outcome), (2, 0, 0, 1), "{outcome:?}");
    assert_eq!(outcome.response()["dropped"], 1);
    let posts = r.api.calls("chat.postMessage");
    assert_eq!(
        alarms_by_channel(&posts, &["staging-web", "prod-web", "staging-db"]),
        map(&[("C0ALLALERTS", &["prod-web", "staging-db"])])
    );
    assert!(posts.iter().all(Call::ok));

    // Its OK is dropped too (routes never look at the state), and an event of nothing but
    // drops succeeds.
    let ok = sns_one("drop-4", &alarm("staging-web", "OK", STAGING, "AWS/EC2"));
    let (outcome, _) = r.h.invoke(ok).await;
    assert_eq!(counts(&outcome), (0, 0, 0, 1), "{outcome:?}");
    assert_eq!(r.api.calls("chat.postMessage").len(), 2);

    let logs =
        r.h.function
            .output_after("dropped by its route; not posted", 2)
            .await;
    let dropped = lines_with(&logs, "dropped by its route; not posted");
    assert_eq!(dropped.len(), 2, "{logs}");
    for line in dropped {
        assert!(line.contains("staging-noise"), "the route: {line}");
        assert!(line.contains("staging-web"), "the alarm: {line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropping_route_in_a_queue_batch_posts_nowhere_fails_nothing_and_the_log_names_it() {
    let r = app_with_routes(DROPS, &["C0ALLALERTS"], &[]).await;
    let batch = sqs_event(&[
        queued("q-drop", &alarm("staging-web", "ALARM", STAGING, "AWS/EC2")),
        queued("q-keep", &alarm("prod-web", "ALARM", MAIN, "AWS/EC2")),
    ]);
    let (outcome, _) = r.h.runtime.invoke(batch, QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), Vec::<String>::new(), "{outcome:?}");
    let posts = r.api.calls("chat.postMessage");
    assert_eq!(
        alarms_by_channel(&posts, &["staging-web", "prod-web"]),
        map(&[("C0ALLALERTS", &["prod-web"])])
    );
    let logs = r.h.function.output_after("queue batch handled", 1).await;
    let handled = lines_with(&logs, "queue batch handled");
    assert!(handled[0].contains("dropped=1"), "{logs}");
    // As in a direct invocation, the log says which route dropped which alarm.
    let dropped = lines_with(&logs, "dropped by its route");
    assert_eq!(
        dropped.len(),
        1,
        "no line names the dropping route:\n{logs}"
    );
    assert!(dropped[0].contains("staging-noise"), "{logs}");
    assert!(dropped[0].contains("staging-web"), "{logs}");
}

// ---------------------------------------------------------------------------------------------
// 5. The default

#[tokio::test(flavor = "multi_thread")]
async fn without_a_default_what_no_route_takes_goes_to_the_secrets_channel_and_thread() {
    let table = create_threads_table().await;
    let routes = "[[route]]\nname = \"payments\"\nmatch = { alarm_name = \"pay-*\" }\nchannel = \"C0PAYMENTS\"\n";
    let r = app_with_routes(routes, &["C0PAYMENTS"], &threads_env(&table)).await;
    let (got, _) = deliver_one(
        &r,
        sns_one("d-1", &alarm("pay-api", "ALARM", MAIN, "AWS/EC2")),
    )
    .await;
    assert_eq!(got, ["C0PAYMENTS"]);
    let (got, parent) = deliver_one(
        &r,
        sns_one("d-2", &alarm("web-cpu", "ALARM", MAIN, "AWS/EC2")),
    )
    .await;
    assert_eq!(got, [CHANNEL], "the secret's SLACK_CHANNEL");
    let (got, reply) =
        deliver_one(&r, sns_one("d-3", &alarm("web-cpu", "OK", MAIN, "AWS/EC2"))).await;
    assert_eq!(got, [CHANNEL]);
    let ts = parent[0].answer["ts"].as_str().unwrap();
    assert_eq!(thread_ts(&reply[0]), Some(ts));
    // The secret's own channel keeps the thread key it had before routes.
    let item = thread_item(&table, &format!("alarm#{}", arn(MAIN, "web-cpu")))
        .await
        .expect("the thread under its old key");
    assert_eq!(item["ts"].as_s().unwrap(), ts);
    assert_eq!(r.api.calls("chat.postMessage").len(), 3);

    let logs = r.h.function.output_after("posted to Slack", 3).await;
    assert_eq!(
        lines_by_route(&logs, "posted to Slack"),
        tally(&[("payments", 1), ("default", 2)]),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_default_table_takes_what_no_route_takes_instead_of_the_secrets_channel() {
    let routes = "[[route]]\nname = \"payments\"\nmatch = { alarm_name = \"pay-*\" }\nchannel = \"C0PAYMENTS\"\n\n[default]\nchannel = \"C0ALLALERTS\"\nmention = \"<!here>\"\n";
    let r = app_with_routes(routes, &["C0PAYMENTS", "C0ALLALERTS"], &[]).await;
    let (got, _) = deliver_one(
        &r,
        sns_one("dd-1", &alarm("pay-api", "ALARM", MAIN, "AWS/EC2")),
    )
    .await;
    assert_eq!(got, ["C0PAYMENTS"]);
    let (got, calls) = deliver_one(
        &r,
        sns_one("dd-2", &alarm("web-cpu", "ALARM", MAIN, "AWS/EC2")),
    )
    .await;
    assert_eq!(got, ["C0ALLALERTS"]);
    assert!(
        calls[0].args["text"].as_str().unwrap().contains("<!here>"),
        "the default's mention: {calls:?}"
    );
    assert!(r.api.posted_to(CHANNEL).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 6. Webhook mode

/// Webhook mode: a secret made from the harness's own webhook URL, with the named webhooks of
/// two more local Slack servers.
struct Hooks {
    h: Harness,
    payments: Slack,
    ops: Slack,
}

const PAY_PATH: &str = "/services/T0HOOKS/B0FIRST/aaaabbbbccccdddd";
const OPS_PATH: &str = "/services/T0HOOKS/B0SECOND/eeeeffffgggghhhh";

async fn webhooks(routes: &str, with_default_hook: bool) -> Hooks {
    let (payments, ops) = (Slack::start().await, Slack::start().await);
    let (pay_url, ops_url) = (payments.url(PAY_PATH), ops.url(OPS_PATH));
    let file = routes_file(routes);
    let h = Harness::start(Options {
        secret: Some(Box::new(move |hook| {
            let mut secret = json!({"SLACK_HOOK_URLS": {"payments": pay_url, "ops": ops_url}});
            if with_default_hook {
                secret["SLACK_HOOK_URL"] = hook.into();
            }
            secret.to_string()
        })),
        env: vec![
            ("RUST_LOG", "info".into()),
            ("ROUTES_FILE", file.display().to_string()),
        ],
    })
    .await;
    Hooks { h, payments, ops }
}

/// Of `names`, the alarms each accepted post on `path` of `slack` mentions, sorted.
fn webhook_alarms(slack: &Slack, path: &str, names: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = slack
        .accepted(path)
        .iter()
        .flat_map(|p| named_in(&p.body, names))
        .collect();
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_routes_send_each_alarm_to_its_named_webhook_and_the_rest_to_slack_hook_url() {
    let routes = r#"
[[route]]
name = "payments"
match = { alarm_name = "pay-*" }
webhook = "payments"

[[route]]
name = "ops"
match = { namespace = ["AWS/EC2", "AWS/RDS"] }
webhook = "ops"
"#;
    let hk = webhooks(routes, true).await;
    let names = ["pay-api", "pay-db", "web-cpu", "orders-db", "lambda-errors"];
    let event = sns_event(&[
        (
            "w-1",
            &alarm("pay-api", "ALARM", MAIN, "AWS/ApplicationELB"),
        ),
        ("w-2", &alarm("pay-db", "ALARM", MAIN, "AWS/RDS")),
        ("w-3", &alarm("web-cpu", "ALARM", MAIN, "AWS/EC2")),
        ("w-4", &alarm("orders-db", "ALARM", MAIN, "AWS/RDS")),
        ("w-5", &alarm("lambda-errors", "ALARM", MAIN, "AWS/Lambda")),
    ]);
    let (outcome, _) = hk.h.invoke(event).await;
    assert_eq!(counts(&outcome), (5, 0, 0, 0), "{outcome:?}");
    assert_eq!(
        webhook_alarms(&hk.payments, PAY_PATH, &names),
        ["pay-api", "pay-db"]
    );
    assert_eq!(
        webhook_alarms(&hk.ops, OPS_PATH, &names),
        ["orders-db", "web-cpu"]
    );
    assert_eq!(
        webhook_alarms(&hk.h.slack, &hk.h.hook_path, &names),
        ["lambda-errors"]
    );
    // One post per alarm, nothing refused, nothing on another path.
    assert_eq!(hk.payments.posts(PAY_PATH).len(), 2);
    assert_eq!(hk.ops.posts(OPS_PATH).len(), 2);
    assert_eq!(hk.h.slack.posts(&hk.h.hook_path).len(), 1);
    let logs = hk.h.function.output_after("posted to Slack", 5).await;
    assert_eq!(
        lines_by_route(&logs, "posted to Slack"),
        tally(&[("payments", 2), ("ops", 2), ("default", 1)]),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_batch_in_webhook_mode_goes_to_each_webhook_with_a_default_webhook() {
    let routes = "[[route]]\nname = \"payments\"\nmatch = { alarm_name = \"pay-*\" }\nwebhook = \"payments\"\n\n[default]\nwebhook = \"ops\"\n";
    let hk = webhooks(routes, false).await;
    let names = ["pay-api", "pay-db", "web-cpu", "orders-db", "lambda-errors"];
    let batch = sqs_event(&[
        queued(
            "b-1",
            &alarm("pay-api", "ALARM", MAIN, "AWS/ApplicationELB"),
        ),
        queued("b-2", &alarm("web-cpu", "ALARM", MAIN, "AWS/EC2")),
        queued("b-3", &alarm("pay-db", "ALARM", MAIN, "AWS/RDS")),
        queued("b-4", &alarm("orders-db", "ALARM", MAIN, "AWS/RDS")),
        queued("b-5", &alarm("lambda-errors", "ALARM", MAIN, "AWS/Lambda")),
    ]);
    let (outcome, _) = hk.h.runtime.invoke(batch, QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), Vec::<String>::new(), "{outcome:?}");
    assert_eq!(
        webhook_alarms(&hk.payments, PAY_PATH, &names),
        ["pay-api", "pay-db"]
    );
    assert_eq!(
        webhook_alarms(&hk.ops, OPS_PATH, &names),
        ["lambda-errors", "orders-db", "web-cpu"]
    );
    assert!(
        hk.h.slack.posts(&hk.h.hook_path).is_empty(),
        "no SLACK_HOOK_URL"
    );
    assert!(hk.payments.posts(PAY_PATH).iter().all(|p| p.status == 200));
    assert!(hk.ops.posts(OPS_PATH).iter().all(|p| p.status == 200));
}

// ---------------------------------------------------------------------------------------------
// 7. Init errors

/// Starts the function with `secret` and the routes file `routes`, expects it to exit with one
/// init error, and returns the error's message with the routes file's path.
async fn init_error(secret: Value, routes: &str) -> (String, PathBuf) {
    let api = SlackApi::start(TOKEN).await;
    let file = routes_file(routes);
    let secret = secret.to_string();
    let mut h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("RUST_LOG", "info".into()),
            ("SLACK_API_URL", api.url()),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
            ("ROUTES_FILE", file.display().to_string()),
        ],
    })
    .await;
    let status = h
        .function
        .exit_status(Duration::from_secs(20))
        .await
        .expect("the function should exit when its routes file is refused");
    assert!(!status.success(), "{status:?}");
    let reports = h.runtime.init_errors.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let (error_type, message, header) = &reports[0];
    assert_eq!(
        (error_type.as_str(), header.as_str()),
        ("InvalidConfiguration", "InvalidConfiguration")
    );
    assert!(api.all_calls().is_empty(), "nothing sent to Slack");
    assert!(h.slack.posts(&h.hook_path).is_empty());
    (message.clone(), file)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_key_in_the_routes_file_is_an_init_error_at_its_line_and_column() {
    let routes = "[[route]]\nname = \"ok\"\nchannel = \"C0AAAAAAAA\"\n\n[[route]]\nname = \"a\"\nchannel = \"C0BBBBBBBB\"\nmatch = { tag = { team = \"x\" } }\n";
    let (message, file) = init_error(app_secret(TOKEN, CHANNEL), routes).await;
    let expected = format!("ROUTES_FILE: {}:8:11: unknown field `tag`", file.display());
    assert!(
        message.starts_with(&expected),
        "{message}\nwant: {expected}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_channel_in_the_routes_file_is_an_init_error_at_its_route() {
    let routes =
        "[default]\nchannel = \"C0AAAAAAAA\"\n\n[[route]]\nname = \"ops\"\nchannel = \"#ops\"\n";
    let (message, file) = init_error(app_secret(TOKEN, CHANNEL), routes).await;
    let expected = format!(
        "ROUTES_FILE: {}:4:1: route \"ops\": channel is a channel name",
        file.display()
    );
    assert!(
        message.starts_with(&expected),
        "{message}\nwant: {expected}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_naming_a_webhook_the_secret_lacks_is_an_init_error_at_its_route() {
    let slack = Slack::start().await;
    let secret = json!({"SLACK_HOOK_URLS": {"ops": slack.url(OPS_PATH)}});
    let routes = "[default]\nwebhook = \"ops\"\n\n[[route]]\nname = \"pay\"\nmatch = { alarm_name = \"pay-*\" }\nwebhook = \"payments\"\n";
    let (message, file) = init_error(secret, routes).await;
    let expected = format!(
        "ROUTES_FILE: {}:4:1: route \"pay\": webhook: cannot post to webhook payments: the secret's SLACK_HOOK_URLS has no webhook of that name",
        file.display()
    );
    assert_eq!(message, expected);
    assert!(slack.posts(OPS_PATH).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_channel_with_a_webhook_secret_is_an_init_error_at_its_route() {
    let slack = Slack::start().await;
    let secret = json!({"SLACK_HOOK_URL": slack.url(OPS_PATH)});
    let routes =
        "[[route]]\nname = \"pay\"\nmatch = { alarm_name = \"pay-*\" }\nchannel = \"C0PAYMENTS\"\n";
    let (message, file) = init_error(secret, routes).await;
    let expected = format!(
        "ROUTES_FILE: {}:1:1: route \"pay\": channel: ",
        file.display()
    );
    assert!(
        message.starts_with(&expected),
        "{message}\nwant: {expected}"
    );
    assert!(message.contains("needs app mode"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// 8. Tag lookups that fail

/// With `break_tags` making every lookup fail, a tagged alarm goes to the next route that
/// matches it, or the default, with the warning; once the lookups work again, to its route.
async fn a_failed_tag_lookup_goes_elsewhere(break_tags: impl Fn(&CloudWatch), causes: &[&str]) {
    let r = app_with_routes(TEAMS, &["C0PAYMENTS", "C0PLATFORM", "C0ALLALERTS"], &[]).await;
    let (checkout, orders) = (arn(MAIN, "checkout-latency"), arn(MAIN, "orders-db-cpu"));
    r.cw.set_tags(&checkout, &[("team", "payments")]);
    r.cw.set_tags(&orders, &[("team", "payments")]);
    break_tags(&r.cw);
    let tagged = |id: &str, state: &str| {
        sns_one(
            id,
            &alarm("checkout-latency", state, MAIN, "AWS/ApplicationELB"),
        )
    };
    let (got, _) = deliver_one(&r, tagged("t-1", "ALARM")).await;
    assert_eq!(got, ["C0ALLALERTS"], "no route but payments: the default");
    let rds = sns_one("t-2", &alarm("orders-db-cpu", "ALARM", MAIN, "AWS/RDS"));
    let (got, _) = deliver_one(&r, rds).await;
    assert_eq!(got, ["C0PLATFORM"], "the next route that matches");
    let logs =
        r.h.function
            .output_after("the alarm's tags could not be read", 2)
            .await;
    let warnings = lines_with(&logs, "the alarm's tags could not be read");
    assert_eq!(warnings.len(), 2, "{logs}");
    for line in warnings {
        assert!(line.contains("WARN"), "{line}");
        assert!(causes.iter().any(|c| line.contains(c)), "{line}");
    }
    let mut asked = r.cw.tag_calls();
    asked.dedup();
    assert_eq!(
        asked,
        [checkout.clone(), orders.clone()],
        "both were looked up"
    );

    // A failed lookup is not kept: once CloudWatch answers, the alarm goes to its route.
    r.cw.fail_tags(None);
    r.cw.hang(Duration::ZERO);
    let (got, _) = deliver_one(&r, tagged("t-3", "OK")).await;
    assert_eq!(got, ["C0PAYMENTS"]);
    assert_eq!(
        r.api.calls("chat.postMessage").len(),
        3,
        "never lost, never twice"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_tag_lookup_sends_the_alarm_to_another_route_or_the_default_with_a_warning() {
    a_failed_tag_lookup_goes_elsewhere(
        |cw| cw.fail_tags(Some(TagsFault::access_denied())),
        &["ListTagsForResource failed: AccessDenied: "],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_tag_lookup_sends_the_alarm_to_another_route_or_the_default_with_a_warning() {
    a_failed_tag_lookup_goes_elsewhere(
        |cw| cw.fail_tags(Some(TagsFault::internal())),
        &["ListTagsForResource failed: InternalServiceFault: "],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_lookup_past_its_budget_sends_the_alarm_to_the_default_with_a_warning() {
    a_failed_tag_lookup_goes_elsewhere(
        |cw| cw.hang(Duration::from_secs(8)),
        // The SDK's own timeout and the lookup's budget are both 2 s: either may end it.
        &["did not answer within 2s", "Timeout: "],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// 9. A batch across channels, one failing; its redelivery

const BATCH_ROUTES: &str = r#"
[[route]]
name = "dba"
match = { namespace = "AWS/RDS" }
channel = "C0DATABASE"
continue = true

[[route]]
name = "payments"
match = { alarm_name = "pay-*" }
channel = "C0PAYMENTS"

[default]
channel = "C0ALLALERTS"
"#;

const BATCH_NAMES: [&str; 6] = [
    "pay-api",
    "pay-db",
    "orders-db",
    "web-cpu",
    "pay-queue",
    "lambda-errors",
];

fn fan_out_batch() -> Value {
    sqs_event(&[
        queued("r1", &alarm("pay-api", "ALARM", MAIN, "AWS/ApplicationELB")),
        // Fans out: databases and payments.
        queued("r2", &alarm("pay-db", "ALARM", MAIN, "AWS/RDS")),
        queued("r3", &alarm("orders-db", "ALARM", MAIN, "AWS/RDS")),
        queued("r4", &alarm("web-cpu", "ALARM", MAIN, "AWS/EC2")),
        queued("r5", &alarm("pay-queue", "ALARM", MAIN, "AWS/SQS")),
        queued("r6", &alarm("lambda-errors", "ALARM", MAIN, "AWS/Lambda")),
    ])
}

/// A batch whose records go to three channels, payments refusing with `refusal`: exactly the
/// records routed to payments fail; after the channel is fixed, the same batch redelivered to
/// the same instance posts only to payments.
async fn a_batch_with_a_failing_channel(refusal: Reply, extra: &[(&'static str, String)]) {
    let bot_in = ["C0DATABASE", "C0PAYMENTS", "C0ALLALERTS"];
    let r = app_with_routes(BATCH_ROUTES, &bot_in, extra).await;
    r.api.refuse_posts_to("C0PAYMENTS", refusal);
    let (outcome, _) = r.h.runtime.invoke(fan_out_batch(), QUEUE_TIMEOUT).await;
    assert_eq!(
        failures(&outcome),
        ["sqs-r1", "sqs-r2", "sqs-r5"],
        "exactly the records routed to payments"
    );
    let first = r.api.posted();
    assert_eq!(
        alarms_by_channel(&first, &BATCH_NAMES),
        map(&[
            ("C0DATABASE", &["orders-db", "pay-db"]),
            ("C0ALLALERTS", &["lambda-errors", "web-cpu"]),
        ])
    );
    let refused: Vec<Call> = r
        .api
        .calls("chat.postMessage")
        .into_iter()
        .filter(|c| !c.ok())
        .collect();
    assert!(!refused.is_empty());
    assert!(
        refused.iter().all(|c| channel_of(c) == "C0PAYMENTS"),
        "only payments refused: {refused:?}"
    );

    let logs = r.h.function.output_after("queue batch handled", 1).await;
    let failed = lines_by_route(&logs, "not delivered");
    assert_eq!(failed.keys().collect::<Vec<_>>(), ["payments"], "{logs}");
    let posted = lines_by_route(&logs, "posted to Slack");
    assert_eq!(
        posted.keys().collect::<Vec<_>>(),
        ["dba", "default"],
        "{logs}"
    );

    // The channel is fixed; SQS redelivers the same batch to the same warm instance.
    r.api.heal_channel("C0PAYMENTS");
    let (outcome, _) = r.h.runtime.invoke(fan_out_batch(), QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), Vec::<String>::new(), "{outcome:?}");
    let again = r.api.posted()[first.len()..].to_vec();
    assert_eq!(
        alarms_by_channel(&again, &BATCH_NAMES),
        map(&[("C0PAYMENTS", &["pay-api", "pay-db", "pay-queue"])]),
        "only where it failed"
    );
    assert!(r.api.posted_to(CHANNEL).is_empty());
    eventually("the second batch's log", || {
        r.h.function.output().matches("queue batch handled").count() >= 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_reports_exactly_the_records_of_a_channel_not_found_and_its_redelivery_posts_only_there(
) {
    a_batch_with_a_failing_channel(api_error("channel_not_found"), &[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_reports_exactly_the_records_of_a_channel_answering_500_and_its_redelivery_posts_only_there(
) {
    a_batch_with_a_failing_channel(server_error(500), &[("SLACK_MAX_ATTEMPTS", "2".to_owned())])
        .await;
}

/// The same in a direct invocation: the invocation fails, and Lambda's retry of the same event
/// posts only to the channel that failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_direct_fan_out_with_a_failing_channel_fails_and_its_retry_posts_only_there() {
    let bot_in = ["C0DATABASE", "C0PAYMENTS", "C0ALLALERTS"];
    let r = app_with_routes(BATCH_ROUTES, &bot_in, &[]).await;
    r.api
        .refuse_posts_to("C0PAYMENTS", api_error("channel_not_found"));
    let event = sns_one("direct-fan", &alarm("pay-db", "ALARM", MAIN, "AWS/RDS"));
    let (outcome, _) = r.h.invoke(event.clone()).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackRejected", "{message}");
    assert!(message.contains("channel_not_found"), "{message}");
    assert_eq!(channels(&r.api.posted()), ["C0DATABASE"]);

    r.api.heal_channel("C0PAYMENTS");
    let (outcome, _) = r.h.invoke(event).await;
    assert_eq!(counts(&outcome), (1, 0, 0, 0), "{outcome:?}");
    assert_eq!(channels(&r.api.posted()), ["C0DATABASE", "C0PAYMENTS"]);
    // And once more: delivered everywhere, a redelivery posts nothing.
    let event = sns_one("direct-fan", &alarm("pay-db", "ALARM", MAIN, "AWS/RDS"));
    let (outcome, _) = r.h.invoke(event).await;
    assert_eq!(counts(&outcome), (0, 0, 1, 0), "{outcome:?}");
    assert_eq!(r.api.posted().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Per-route settings

#[tokio::test(flavor = "multi_thread")]
async fn a_routes_states_leave_out_the_others_for_that_route_only() {
    let routes = r#"
[[route]]
name = "pager"
match = { namespace = "AWS/RDS" }
channel = "C0PAGER001"
states = ["ALARM"]
continue = true

[[route]]
name = "log"
match = { alarm_name = "orders-*" }
channel = "C0DBLOG001"
"#;
    let r = app_with_routes(routes, &["C0PAGER001", "C0DBLOG001"], &[]).await;
    let rds = |name: &str, state: &str| alarm(name, state, MAIN, "AWS/RDS");
    let (got, _) = deliver_one(&r, sns_one("s-1", &rds("orders-db-cpu", "ALARM"))).await;
    assert_eq!(got, ["C0DBLOG001", "C0PAGER001"]);
    let (got, _) = deliver_one(&r, sns_one("s-2", &rds("orders-db-cpu", "OK"))).await;
    assert_eq!(got, ["C0DBLOG001"], "the pager takes no OK");
    // Left out by its only route: counted filtered, posted nowhere.
    let (outcome, _) =
        r.h.invoke(sns_one("s-3", &rds("reports-db-cpu", "OK")))
            .await;
    assert_eq!(counts(&outcome), (0, 1, 0, 0), "{outcome:?}");
    assert_eq!(r.api.calls("chat.postMessage").len(), 3);
}

// ---------------------------------------------------------------------------------------------
// The other matchers, and alarms in their other shapes

const MORE_MATCHERS: &str = r#"
[[route]]
name = "payments"
match = { tags = { team = "payments" } }
channel = "C0PAYMENTS"

[[route]]
name = "severe"
match = { severity = "error", detail_type = "GuardDuty Finding" }
channel = "C0SEVERE01"

[[route]]
name = "findings"
match = { detail_type = "GuardDuty*" }
channel = "C0FINDINGS"

[[route]]
name = "europe"
match = { region = ["eu-*", "ap-south-1"] }
channel = "C0EUROPE01"

[[route]]
name = "ops-topic"
match = { topic = "arn:aws:sns:*:*:ops-*" }
channel = "C0OPSTOPIC"

# Any severity at all: it never matches an alarm state change.
[[route]]
name = "any-severity"
match = { severity = "ok" }
channel = "C0ANYSEVER"

[default]
channel = "C0ALLALERTS"
"#;

/// An SNS event with one record of `message`, through `topic`.
fn through_topic(id: &str, message: &str, topic: &str) -> Value {
    let mut event = sns_one(id, message);
    event["Records"][0]["Sns"]["TopicArn"] = topic.into();
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn region_topic_detail_type_and_severity_matchers_and_every_alarm_shape_route_exactly() {
    let bot_in = [
        "C0PAYMENTS",
        "C0SEVERE01",
        "C0FINDINGS",
        "C0EUROPE01",
        "C0OPSTOPIC",
        "C0ANYSEVER",
        "C0ALLALERTS",
    ];
    let r = app_with_routes(MORE_MATCHERS, &bot_in, &[]).await;
    let eventbridge_arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:rds-free-storage-low";
    let direct_arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:lambda-errors";
    r.cw.set_tags(eventbridge_arn, &[("team", "payments")]);
    r.cw.set_tags(direct_arn, &[("team", "payments"), ("env", "prod")]);

    let mut severe = guardduty("g-high", "999999999999", "Port probed");
    severe["detail"]["severity"] = 8.0.into();
    let (got, _) = deliver_one(&r, severe).await;
    assert_eq!(got, ["C0SEVERE01"], "HIGH is error");
    let mut low = guardduty("g-low", "999999999999", "Port probed, low");
    low["detail"]["severity"] = 2.0.into();
    let (got, _) = deliver_one(&r, low).await;
    assert_eq!(got, ["C0FINDINGS"], "LOW is below error");

    // An alarm in Ireland: its region from the ARN, the message naming it "EU (Ireland)".
    let mut ireland: Value =
        serde_json::from_str(&alarm("eu-web-cpu", "ALARM", MAIN, "AWS/EC2")).unwrap();
    ireland["Region"] = "EU (Ireland)".into();
    ireland["AlarmArn"] = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:eu-web-cpu".into();
    let (got, _) = deliver_one(&r, sns_one("a-eu", &ireland.to_string())).await;
    assert_eq!(got, ["C0EUROPE01"]);

    let ops = through_topic(
        "a-topic",
        &alarm("web-cpu", "ALARM", MAIN, "AWS/EC2"),
        "arn:aws:sns:us-east-1:123456789012:ops-alarms",
    );
    let (got, _) = deliver_one(&r, ops).await;
    assert_eq!(got, ["C0OPSTOPIC"]);

    // An alarm of no route (any-severity never matches an alarm): the default.
    let (got, _) = deliver_one(
        &r,
        sns_one("a-plain", &alarm("web-cpu", "ALARM", MAIN, "AWS/EC2")),
    )
    .await;
    assert_eq!(got, ["C0ALLALERTS"]);

    // Tagged alarms through EventBridge and the alarm's direct Lambda action.
    let (got, _) = deliver_one(&r, crate::support::event("events/eventbridge-alarm.json")).await;
    assert_eq!(got, ["C0PAYMENTS"], "EventBridge");
    let (got, _) = deliver_one(&r, crate::support::event("events/direct-alarm-action.json")).await;
    assert_eq!(got, ["C0PAYMENTS"], "the direct alarm action");

    let mut asked = r.cw.tag_calls();
    asked.sort();
    let mut expected = vec![
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:eu-web-cpu".to_owned(),
        arn(MAIN, "web-cpu"),
        eventbridge_arn.to_owned(),
        direct_arn.to_owned(),
    ];
    expected.sort();
    assert_eq!(asked, expected, "once per alarm, none for a finding");
    assert!(r.api.posted_to("C0ANYSEVER").is_empty());
    assert!(r.api.posted_to(CHANNEL).is_empty());
    assert_eq!(r.api.calls("chat.postMessage").len(), 7);
}

/// A queue batch holding several notifications of the same alarm reads its tags once: the
/// cache is per alarm, and a batch of a storm repeats the same alarms.
#[tokio::test(flavor = "multi_thread")]
async fn a_batch_reads_each_alarms_tags_once() {
    let r = app_with_routes(TEAMS, &["C0PAYMENTS", "C0PLATFORM", "C0ALLALERTS"], &[]).await;
    let (checkout, orders) = (arn(MAIN, "checkout-latency"), arn(MAIN, "orders-db-cpu"));
    r.cw.set_tags(&checkout, &[("team", "payments")]);
    let mut records = Vec::new();
    for (i, state) in ["ALARM", "OK", "ALARM"].iter().enumerate() {
        records.push(queued(
            &format!("c{i}"),
            &alarm("checkout-latency", state, MAIN, "AWS/ApplicationELB"),
        ));
        records.push(queued(
            &format!("o{i}"),
            &alarm("orders-db-cpu", state, MAIN, "AWS/RDS"),
        ));
    }
    let (outcome, _) = r.h.runtime.invoke(sqs_event(&records), QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), Vec::<String>::new(), "{outcome:?}");
    let posts = r.api.posted();
    assert_eq!(
        channels(&posts)
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>(),
        ["C0PAYMENTS".to_owned(), "C0PLATFORM".to_owned()].into(),
        "{posts:?}"
    );
    let mut asked = r.cw.tag_calls();
    asked.sort();
    assert_eq!(asked, [checkout, orders], "one lookup per alarm");
}

// ---------------------------------------------------------------------------------------------
// Per-route threads and graphs

const GRAPH_SCOPES: [&str; 3] = ["chat:write", "channels:read", "files:write"];

fn graphs_on() -> (&'static str, String) {
    // Blank: the default, on.
    ("METRIC_GRAPHS", String::new())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_can_turn_threads_and_graphs_off_for_its_channel_only() {
    let table = create_threads_table().await;
    let routes = r#"
[[route]]
name = "quiet"
match = { namespace = "AWS/EC2" }
channel = "C0QUIET001"
threads = false
graphs = false
continue = true

[[route]]
name = "loud"
match = { namespace = "AWS/EC2" }
channel = "C0LOUD0001"
"#;
    let mut env = threads_env(&table);
    env.push(graphs_on());
    let r = app_with_routes(routes, &["C0QUIET001", "C0LOUD0001"], &env).await;
    r.api.set_scopes(&GRAPH_SCOPES);
    let cpu = |state: &str| alarm_in("web-cpu", state, MAIN, "AWS/EC2", &[("InstanceId", "i-1")]);
    let (got, parents) = deliver_one(&r, sns_one("g-1", &cpu("ALARM"))).await;
    assert_eq!(got, ["C0LOUD0001", "C0QUIET001"]);
    let (got, replies) = deliver_one(&r, sns_one("g-2", &cpu("OK"))).await;
    assert_eq!(got, ["C0LOUD0001", "C0QUIET001"]);

    let in_channel =
        |calls: &[Call], c: &str| calls.iter().find(|p| channel_of(p) == c).cloned().unwrap();
    let loud_ts = in_channel(&parents, "C0LOUD0001").answer["ts"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        thread_ts(&in_channel(&replies, "C0LOUD0001")),
        Some(loud_ts.as_str())
    );
    assert_eq!(
        thread_ts(&in_channel(&replies, "C0QUIET001")),
        None,
        "threads off: top-level"
    );
    assert_eq!(channels(&r.api.calls("chat.update")), ["C0LOUD0001"]);

    // Graphs: loud's ALARM and OK, in loud's thread; none for quiet.
    eventually("two graphs shared", || r.api.shared_files().len() >= 2).await;
    let shared = r.api.shared_files();
    assert_eq!(shared.len(), 2, "{shared:?}");
    for file in &shared {
        assert_eq!(file.channel, "C0LOUD0001");
        assert_eq!(file.thread_ts.as_deref(), Some(loud_ts.as_str()));
    }
    assert_eq!(r.cw.calls().len(), 2, "graphs drawn for loud only");
    let quiet_key = format!("alarm#{}#C0QUIET001", arn(MAIN, "web-cpu"));
    assert!(
        thread_item(&table, &quiet_key).await.is_none(),
        "no thread for quiet"
    );
}

/// With a fan-out to two channels with graphs, each graph's log line names the route whose
/// message it went with, as every line about a delivery does.
#[tokio::test(flavor = "multi_thread")]
async fn the_log_line_of_each_routes_graph_names_its_route() {
    let routes = r#"
[[route]]
name = "loud"
match = { namespace = "AWS/EC2" }
channel = "C0LOUD0001"
continue = true

[[route]]
name = "loud-too"
match = { alarm_name = "web-*" }
channel = "C0LOUD0002"
"#;
    let r = app_with_routes(routes, &["C0LOUD0001", "C0LOUD0002"], &[graphs_on()]).await;
    r.api.set_scopes(&GRAPH_SCOPES);
    let cpu = alarm_in(
        "web-cpu",
        "ALARM",
        MAIN,
        "AWS/EC2",
        &[("InstanceId", "i-1")],
    );
    let (got, posts) = deliver_one(&r, sns_one("gl-1", &cpu)).await;
    assert_eq!(got, ["C0LOUD0001", "C0LOUD0002"]);
    let mut shared: Vec<(String, Option<String>)> = r
        .api
        .shared_files()
        .into_iter()
        .map(|f| (f.channel, f.thread_ts))
        .collect();
    shared.sort();
    let mut expected: Vec<(String, Option<String>)> = posts
        .iter()
        .map(|p| (channel_of(p), p.answer["ts"].as_str().map(str::to_owned)))
        .collect();
    expected.sort();
    assert_eq!(
        shared, expected,
        "each channel's graph in its own message's thread"
    );
    let logs =
        r.h.function
            .output_after("metric graph shared in the message's thread", 2)
            .await;
    assert_eq!(
        lines_by_route(&logs, "metric graph shared"),
        tally(&[("loud", 1), ("loud-too", 1)]),
        "{logs}"
    );
}

// ---------------------------------------------------------------------------------------------
// A route the secret cannot serve, found out after start

/// The secret could not be read at start (it did not exist yet), so the routes could not be
/// checked against it: a notification routed to a webhook the secret lacks fails the
/// invocation (`RouteUnreachable`), and the others of the event are delivered.
#[tokio::test(flavor = "multi_thread")]
async fn a_route_the_secret_cannot_serve_found_after_start_fails_its_notifications() {
    let ops = Slack::start().await;
    let file = routes_file(
        "[[route]]\nname = \"pay\"\nmatch = { alarm_name = \"pay-*\" }\nwebhook = \"payments\"\n\n[default]\nwebhook = \"ops\"\n",
    );
    let h = Harness::start(Options {
        secret: None,
        env: vec![
            ("RUST_LOG", "info".into()),
            ("ROUTES_FILE", file.display().to_string()),
        ],
    })
    .await;
    h.function
        .output_after("the secret could not be read at start", 1)
        .await;
    h.admin
        .create_secret()
        .name(&h.secret_id)
        .secret_string(json!({"SLACK_HOOK_URLS": {"ops": ops.url(OPS_PATH)}}).to_string())
        .send()
        .await
        .expect("create the secret");
    let event = sns_event(&[
        ("u-1", &alarm("pay-api", "ALARM", MAIN, "AWS/EC2")),
        ("u-2", &alarm("web-cpu", "ALARM", MAIN, "AWS/EC2")),
    ]);
    let (outcome, _) = h.invoke(event).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "RouteUnreachable", "{message}");
    assert!(
        message.starts_with("1 of 2 notifications not delivered (1 delivered)"),
        "{message}"
    );
    assert!(message.contains("webhook payments"), "{message}");
    assert_eq!(
        webhook_alarms(&ops, OPS_PATH, &["pay-api", "web-cpu"]),
        ["web-cpu"]
    );
    assert!(h.slack.posts(&h.hook_path).is_empty());
}

/// In a queue batch, a record whose only route's `states` leave it out is filtered, as in a
/// direct invocation, and the batch's log line counts it so (not as a duplicate).
#[tokio::test(flavor = "multi_thread")]
async fn a_batch_counts_a_record_left_out_by_its_routes_states_as_filtered() {
    let routes = "[[route]]\nname = \"pager\"\nmatch = { namespace = \"AWS/RDS\" }\nchannel = \"C0PAGER001\"\nstates = [\"ALARM\"]\n";
    let r = app_with_routes(routes, &["C0PAGER001"], &[]).await;
    let batch = sqs_event(&[
        queued("st-1", &alarm("orders-db-cpu", "ALARM", MAIN, "AWS/RDS")),
        queued("st-2", &alarm("reports-db-cpu", "OK", MAIN, "AWS/RDS")),
    ]);
    let (outcome, _) = r.h.runtime.invoke(batch, QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), Vec::<String>::new(), "{outcome:?}");
    let posts = r.api.posted();
    assert_eq!(
        alarms_by_channel(&posts, &["orders-db-cpu", "reports-db-cpu"]),
        map(&[("C0PAGER001", &["orders-db-cpu"])])
    );
    let logs = r.h.function.output_after("queue batch handled", 1).await;
    let line = lines_with(&logs, "queue batch handled")[0];
    assert!(line.contains("filtered=1"), "{line}");
    assert!(line.contains("duplicates=0"), "{line}");
}

/// With threads, a fan-out whose second channel refuses: the invocation fails, and its retry
/// opens the thread only in that channel; the OK then goes into each channel's own thread.
#[tokio::test(flavor = "multi_thread")]
async fn with_threads_a_fan_out_retry_opens_the_thread_only_where_it_failed() {
    let table = create_threads_table().await;
    let r = app_with_routes(FAN_OUT, &FAN_OUT_CHANNELS, &threads_env(&table)).await;
    r.api
        .refuse_posts_to("C0PRODACCT", api_error("channel_not_found"));
    let rds = |state: &str| alarm("orders-db-cpu", state, MAIN, "AWS/RDS");
    let (outcome, _) = r.h.invoke(sns_one("tf-1", &rds("ALARM"))).await;
    assert_eq!(outcome.error().0, "SlackRejected", "{outcome:?}");
    assert_eq!(channels(&r.api.posted()), ["C0DATABASE"]);

    r.api.heal_channel("C0PRODACCT");
    let (got, retried) = deliver_one(&r, sns_one("tf-1", &rds("ALARM"))).await;
    assert_eq!(got, ["C0PRODACCT"], "only where it failed");
    assert_eq!(
        thread_ts(&retried[0]),
        None,
        "it opens that channel's thread"
    );
    let (got, replies) = deliver_one(&r, sns_one("tf-2", &rds("OK"))).await;
    assert_eq!(got, ["C0DATABASE", "C0PRODACCT"]);
    let parents = r.api.posted();
    for channel in ["C0DATABASE", "C0PRODACCT"] {
        let parent = parents
            .iter()
            .find(|p| channel_of(p) == channel && thread_ts(p).is_none())
            .unwrap();
        let reply = replies.iter().find(|p| channel_of(p) == channel).unwrap();
        assert_eq!(thread_ts(reply), parent.answer["ts"].as_str(), "{channel}");
    }
    assert_eq!(r.api.posted().len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_routes_file_is_an_init_error_naming_it() {
    let api = SlackApi::start(TOKEN).await;
    let dir = routes_file("").parent().unwrap().to_owned();
    let missing = dir.join("absent.toml");
    let secret = app_secret(TOKEN, CHANNEL).to_string();
    let mut h = Harness::start(Options {
        secret: Some(Box::new(move |_| secret.clone())),
        env: vec![
            ("SLACK_API_URL", api.url()),
            ("SLACK_API_HOSTS", "127.0.0.1".into()),
            ("ROUTES_FILE", missing.display().to_string()),
        ],
    })
    .await;
    let status = h.function.exit_status(Duration::from_secs(20)).await;
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
    let reports = h.runtime.init_errors.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, "InvalidConfiguration");
    let expected = format!(
        "ROUTES_FILE: {}:1:1: cannot read the routes file",
        missing.display()
    );
    assert!(reports[0].1.starts_with(&expected), "{reports:?}");
}

/// Two routes to one channel post there once; when the first one's `states` leave an OK out,
/// the second, which takes every state, still posts it there.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_route_to_the_same_channel_takes_what_the_firsts_states_leave_out() {
    let routes = r#"
[[route]]
name = "page-on-alarm"
match = { namespace = "AWS/RDS" }
channel = "C0DATABASE"
states = ["ALARM"]
mention = "<!here>"
continue = true

[[route]]
name = "everything"
match = { namespace = "AWS/RDS" }
channel = "C0DATABASE"
"#;
    let r = app_with_routes(routes, &["C0DATABASE"], &[]).await;
    let rds = |state: &str| alarm("orders-db-cpu", state, MAIN, "AWS/RDS");
    let (got, calls) = deliver_one(&r, sns_one("two-1", &rds("ALARM"))).await;
    assert_eq!(got, ["C0DATABASE"], "once");
    assert!(calls[0].args["text"].as_str().unwrap().contains("<!here>"));
    let (outcome, _) = r.h.invoke(sns_one("two-2", &rds("OK"))).await;
    assert_eq!(counts(&outcome), (1, 0, 0, 0), "{outcome:?}");
    assert_eq!(channels(&r.api.posted()), ["C0DATABASE", "C0DATABASE"]);
}
