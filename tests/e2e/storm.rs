//! The queue shape: SQS batches in, digests out, and a partial batch response naming exactly
//! the records Slack did not accept. The built binary under the Runtime API emulator, with
//! moto's Secrets Manager and a local Slack.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::slack::{error, ok};
use crate::support::{
    alarm_message_in, sns_envelope, sqs_event, Function, Harness, Options, Outcome,
};

/// Lambda's timeout for the queue's function in these tests.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(60);

fn failures(outcome: &Outcome) -> Vec<String> {
    let response = outcome.response();
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a partial batch response: {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

fn alarm_record(id: &str, name: &str, state: &str, minute: u32) -> (String, String) {
    let time = format!("2026-11-20T08:{minute:02}:00.000+0000");
    let message = alarm_message_in(name, state, "123456789012", "AWS/EC2", &time);
    (
        format!("sqs-{id}"),
        sns_envelope(
            &format!("sns-{id}"),
            &format!("{state}: \"{name}\""),
            &message,
        ),
    )
}

fn event_record(id: &str, status: &str) -> (String, String) {
    let event = serde_json::json!({
        "version": "0", "id": format!("ev-{id}"), "detail-type": "EMR Step Status Change",
        "source": "aws.emr", "account": "123456789012", "time": "2026-11-20T08:15:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"name": format!("step-{id}"), "state": status, "clusterId": "j-2AXXXXXXGAPLF"}
    });
    (format!("sqs-{id}"), event.to_string())
}

/// Every accepted post's JSON body, as text.
fn accepted_bodies(h: &Harness) -> Vec<String> {
    h.slack
        .accepted(&h.hook_path)
        .iter()
        .map(|p| p.body.to_string())
        .collect()
}

/// 1,000 distinct alarms in SQS batches of 100, handed to two warm instances over 10 s, at a
/// webhook that accepts one message a second and answers 429 beyond that. What the product
/// guarantees, whatever the machine's load: every alarm is named in a message Slack accepted
/// within 90 s, no invocation fails and no record is reported failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_storm_of_1000_alarms_reaches_slack_within_90_seconds() {
    const ALARMS: usize = 1000;
    const BATCH: usize = 100;
    let h = Harness::start(Options {
        env: vec![("RUST_LOG", "warn".into())],
        ..Options::default()
    })
    .await;
    h.slack.limit_rate(Duration::from_secs(1));
    let _second = Function::spawn(
        &h.runtime,
        &[
            ("SecretId".into(), h.secret_id.clone()),
            ("AWS_ENDPOINT_URL".into(), h.secrets.url()),
            ("SLACK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()),
            ("RUST_LOG".into(), "warn".into()),
        ],
    );
    let states = [
        "ALARM",
        "ALARM",
        "ALARM",
        "ALARM",
        "ALARM",
        "ALARM",
        "OK",
        "OK",
        "INSUFFICIENT_DATA",
        "ALARM",
    ];
    let accounts = ["123456789012", "210987654321", "555555555555"];
    let namespaces = ["AWS/EC2", "AWS/Lambda", "AWS/RDS", "AWS/ApplicationELB"];
    let names: Vec<String> = (0..ALARMS).map(|i| format!("storm-{i:04}")).collect();
    let records: Vec<(String, String)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let message = alarm_message_in(
                name,
                states[i % states.len()],
                accounts[i % accounts.len()],
                namespaces[i % namespaces.len()],
                &format!("2026-11-20T08:{:02}:{:02}.000+0000", i / 60 % 60, i % 60),
            );
            (
                format!("sqs-{i}"),
                sns_envelope(&format!("sns-{i}"), "storm", &message),
            )
        })
        .collect();
    let started = Instant::now();
    let mut running = Vec::new();
    for (n, batch) in records.chunks(BATCH).enumerate() {
        let runtime = h.runtime.clone();
        let event = sqs_event(batch);
        running.push(tokio::spawn(async move {
            runtime.invoke(event, QUEUE_TIMEOUT).await
        }));
        if n + 1 < ALARMS / BATCH {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let mut failed = Vec::new();
    for invocation in running {
        let (outcome, _) = invocation.await.unwrap();
        failed.extend(failures(&outcome));
    }
    let took = started.elapsed();
    let accepted = h.slack.accepted(&h.hook_path);
    let posts = h.slack.posts(&h.hook_path);
    let last = accepted.iter().map(|p| p.at).max().unwrap();
    eprintln!(
        "storm: {ALARMS} alarms in {} accepted messages ({} answers of 429), last one {:?} after the first batch, all invocations done in {took:?}",
        accepted.len(),
        posts.len() - accepted.len(),
        last - started,
    );
    assert!(failed.is_empty(), "records reported failed: {failed:?}");
    let mut named = BTreeSet::new();
    for post in &accepted {
        let body = post.body.to_string();
        for name in &names {
            if body.contains(&format!("|{name}>")) {
                named.insert(name.clone());
            }
        }
    }
    let missing: Vec<_> = names.iter().filter(|n| !named.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "{} alarms never named: {missing:?}",
        missing.len()
    );
    assert!(
        last - started <= Duration::from_secs(90),
        "last message {:?} after the first batch",
        last - started
    );
    for pair in accepted.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(999),
            "two messages accepted {gap:?} apart"
        );
    }
    // Digests, not one message per alarm.
    assert!(
        accepted.len() <= 2 * ALARMS / BATCH,
        "{} messages",
        accepted.len()
    );
}

/// The same SNS message twice in a batch, and an alarm that flapped: one digest, each alarm
/// once, the flapping one with its transitions. A redelivered batch posts nothing again.
#[tokio::test(flavor = "multi_thread")]
async fn duplicates_and_flapping_are_listed_once_and_redelivery_posts_nothing() {
    let h = Harness::start(Options::default()).await;
    let mut batch = vec![
        alarm_record("a1", "flappy", "ALARM", 1),
        alarm_record("a2", "flappy", "OK", 2),
        alarm_record("a3", "flappy", "ALARM", 3),
        alarm_record("b1", "steady", "ALARM", 1),
        alarm_record("c1", "quiet", "INSUFFICIENT_DATA", 2),
    ];
    // SQS delivered the same SNS message twice.
    let (_, again) = alarm_record("b1", "steady", "ALARM", 1);
    batch.push(("sqs-b1-again".into(), again));
    let (outcome, _) = h.runtime.invoke(sqs_event(&batch), QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), Vec::<String>::new());
    let bodies = accepted_bodies(&h);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body = &bodies[0];
    for name in ["flappy", "steady", "quiet"] {
        assert_eq!(
            body.matches(&format!("|{name}>")).count(),
            1,
            "{name}: {body}"
        );
    }
    assert!(body.contains("(ALARM → OK → ALARM)"), "{body}");
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["text"], "🔴 2 in ALARM · ⚪ 1 INSUFFICIENT_DATA");
    // Redelivered after a lost response: already posted by this instance.
    let (outcome, _) = h.runtime.invoke(sqs_event(&batch), QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), Vec::<String>::new());
    assert_eq!(accepted_bodies(&h).len(), 1);
}

/// Alarms and other events in one batch: an alarm digest, and the other events in a digest
/// of their own, each named.
#[tokio::test(flavor = "multi_thread")]
async fn a_mixed_batch_gets_an_alarm_digest_and_an_event_digest() {
    let h = Harness::start(Options::default()).await;
    let mut batch: Vec<(String, String)> = (0..4)
        .map(|i| alarm_record(&format!("a{i}"), &format!("mixed-alarm-{i}"), "ALARM", i))
        .collect();
    batch.extend((0..4).map(|i| {
        event_record(
            &format!("e{i}"),
            if i == 0 { "FAILED" } else { "COMPLETED" },
        )
    }));
    batch.push((
        "sqs-raw".into(),
        "Nightly export finished: 1,204 files".into(),
    ));
    let (outcome, _) = h.runtime.invoke(sqs_event(&batch), QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), Vec::<String>::new());
    let bodies = accepted_bodies(&h);
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    for i in 0..4 {
        assert!(
            bodies[0].contains(&format!("|mixed-alarm-{i}>")),
            "{}",
            bodies[0]
        );
        assert!(bodies[1].contains(&format!("step-e{i}")), "{}", bodies[1]);
    }
    assert!(
        bodies[1].contains("Nightly export finished"),
        "{}",
        bodies[1]
    );
    let events: Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(
        events["text"],
        "5 notifications: 🔴 1 failed · ℹ️ 1 info · ✅ 3 ok"
    );
}

/// A record that is not a notification comes back as a failure, for the dead-letter queue;
/// the rest of the batch is delivered.
#[tokio::test(flavor = "multi_thread")]
async fn a_poison_record_fails_alone() {
    let h = Harness::start(Options::default()).await;
    let batch = vec![
        alarm_record("good", "disk-full", "ALARM", 1),
        ("sqs-poison".into(), "   ".into()),
        (
            "sqs-broken".into(),
            r#"{"Type":"Notification","MessageId":"x","TopicArn":"arn:aws:sns:us-east-1:1:t"}"#
                .into(),
        ),
        ("sqs-text".into(), "deploy finished".into()),
    ];
    let (outcome, _) = h.runtime.invoke(sqs_event(&batch), QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), ["sqs-poison", "sqs-broken"]);
    let bodies = accepted_bodies(&h);
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    assert!(bodies[0].contains("disk-full"));
    assert!(bodies[1].contains("deploy finished"));
    let logs = h
        .function
        .output_after("record is not a notification", 2)
        .await;
    assert!(
        logs.contains("sqs-poison") && logs.contains("body: empty"),
        "{logs}"
    );
}

/// Slack goes down after the first message: exactly the records of the messages it did not
/// accept come back as failures.
#[tokio::test(flavor = "multi_thread")]
async fn an_outage_mid_batch_fails_exactly_the_undelivered_records() {
    let h = Harness::start(Options {
        env: vec![
            ("RUST_LOG", "info".into()),
            ("SLACK_MAX_ATTEMPTS", "1".into()),
        ],
        ..Options::default()
    })
    .await;
    h.slack.script(&h.hook_path, [ok()]);
    h.slack
        .always(&h.hook_path, error(503, "service_unavailable"));
    let mut batch: Vec<(String, String)> = (0..4)
        .map(|i| alarm_record(&format!("a{i}"), &format!("outage-alarm-{i}"), "ALARM", i))
        .collect();
    batch.extend((0..4).map(|i| event_record(&format!("e{i}"), "FAILED")));
    let (outcome, _) = h.runtime.invoke(sqs_event(&batch), QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), ["sqs-e0", "sqs-e1", "sqs-e2", "sqs-e3"]);
    assert_eq!(accepted_bodies(&h).len(), 1);
    assert_eq!(h.slack.posts(&h.hook_path).len(), 2);
    // Redelivered: the alarms were posted, so only the events go out again.
    h.slack.always(&h.hook_path, ok());
    let (outcome, _) = h.runtime.invoke(sqs_event(&batch), QUEUE_TIMEOUT).await;
    assert_eq!(failures(&outcome), Vec::<String>::new());
    let bodies = accepted_bodies(&h);
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies[1].contains("step-e0") && !bodies[1].contains("outage-alarm"),
        "{}",
        bodies[1]
    );
}
