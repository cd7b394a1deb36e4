//! The core path: every event shape delivered once, the secret cached, failures visible.

use serde_json::json;

use crate::support::{alarm_message, event, sns_event, Harness, Options};

const EVENTS: &[&str] = &[
    "events/sns-alarm.json",
    "events/sns-ok.json",
    "events/sns-insufficient-data.json",
    "events/sns-metric-math.json",
    "events/sns-anomaly-band.json",
    "events/sns-composite.json",
    "events/sns-null-description.json",
    "events/sns-plain-text.json",
    "events/sns-console-default.json",
    "events/direct-alarm-action.json",
    "events/eventbridge-alarm.json",
    "events/eventbridge-alarm-composite.json",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_event_posts_once_to_the_secrets_webhook_and_channel() {
    let h = Harness::start(Options::default()).await;
    for (i, name) in EVENTS.iter().enumerate() {
        let (outcome, _) = h.invoke(event(name)).await;
        assert_eq!(outcome.response()["delivered"], 1, "{name}: {outcome:?}");
        let posts = h.slack.posts(&h.hook_path);
        assert_eq!(posts.len(), i + 1, "{name}: one POST per event");
        let post = posts.last().unwrap();
        assert_eq!(post.content_type, "application/json");
        assert_eq!(post.body["channel"], "#oncall-secret-channel", "{name}");
        assert!(
            post.body["text"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}"
        );
    }
    // One cold read, then every warm invocation used the cache.
    assert_eq!(h.secrets.get_calls(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_test_event_posts_its_message() {
    let h = Harness::start(Options::default()).await;
    let (outcome, _) = h.invoke(event("events/sns-console-default.json")).await;
    assert_eq!(outcome.response()["delivered"], 1);
    let body = h.slack.accepted(&h.hook_path)[0].body.to_string();
    assert!(body.contains("Hello from SNS!"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fallback_text_reads_like_the_original() {
    let h = Harness::start(Options::default()).await;
    let (outcome, _) = h
        .invoke(sns_event(&[("m1", &alarm_message("cpu-high", "ALARM"))]))
        .await;
    assert_eq!(outcome.response()["delivered"], 1);
    let text = h.slack.accepted(&h.hook_path)[0].body["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(text, "cpu-high state is now ALARM: Threshold Crossed: 1 datapoint [95.0] was greater than the threshold (80.0).");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_url_secret_works_without_a_channel() {
    let h = Harness::start(Options {
        secret: Some(Box::new(|url| url.to_owned())),
        ..Options::default()
    })
    .await;
    let (outcome, _) = h.invoke(event("events/sns-alarm.json")).await;
    assert_eq!(outcome.response()["delivered"], 1);
    assert!(h.slack.accepted(&h.hook_path)[0]
        .body
        .get("channel")
        .is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_webhook_fails_every_invocation_and_the_process_stays_up() {
    let mut h = Harness::start(Options::default()).await;
    h.slack.always(
        &h.hook_path,
        crate::support::slack::error(404, "no_service"),
    );
    for i in 0..3 {
        let (outcome, _) = h
            .invoke(sns_event(&[(
                &format!("dead-{i}"),
                &alarm_message("a", "ALARM"),
            )]))
            .await;
        let (error_type, message) = outcome.error();
        assert_eq!(error_type, "SlackRejected");
        assert!(
            message.contains("404") && message.contains("no_service"),
            "{message}"
        );
        assert!(
            h.function.is_running(),
            "the process must survive a failed invocation"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_configuration_is_an_init_error_and_the_process_exits() {
    let mut options = Options::default();
    options.env.push(("NOTIFY_STATES", "ALARM,BOGUS".into()));
    let mut h = Harness::start(options).await;
    let status = h
        .function
        .exit_status(std::time::Duration::from_secs(10))
        .await
        .expect("the function should exit when its configuration is invalid");
    assert!(!status.success(), "{status:?}");
    let reports = h.runtime.init_errors.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let (error_type, message, header) = &reports[0];
    assert_eq!(
        (error_type.as_str(), header.as_str()),
        ("InvalidConfiguration", "InvalidConfiguration")
    );
    assert!(
        message.contains("NOTIFY_STATES") && message.contains("BOGUS"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_invocations_trace_header_goes_with_the_secret_read() {
    let h = Harness::start(Options::default()).await;
    let (outcome, _) = h.invoke(event("events/sns-alarm.json")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    let traces = h.secrets.trace_ids.lock().unwrap().clone();
    assert_eq!(traces, vec![crate::support::runtime::trace_id_for("req-0")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_event_fails_with_a_named_cause() {
    let mut h = Harness::start(Options::default()).await;
    let (outcome, _) = h.invoke(json!({"hello": "world"})).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "MalformedEvent");
    assert!(message.contains("unrecognised event"), "{message}");
    let (outcome, _) = h
        .invoke(json!({"Records": [{"Sns": {"Message": 5}}]}))
        .await;
    assert!(
        outcome.error().1.contains("Records[0].Sns.Message"),
        "{outcome:?}"
    );
    assert!(h.function.is_running());
    assert!(h.slack.posts(&h.hook_path).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn filtered_states_are_a_success_that_posts_nothing() {
    let h = Harness::start(Options {
        env: vec![
            ("NOTIFY_STATES", "ALARM,OK".into()),
            ("ALARM_MENTION", "<!here>".into()),
        ],
        ..Options::default()
    })
    .await;
    let (outcome, _) = h.invoke(event("events/sns-insufficient-data.json")).await;
    assert_eq!(outcome.response()["filtered"], 1);
    assert_eq!(outcome.response()["delivered"], 0);
    assert!(h.slack.posts(&h.hook_path).is_empty());
    let (outcome, _) = h.invoke(event("events/sns-alarm.json")).await;
    assert_eq!(outcome.response()["delivered"], 1);
    assert!(h.slack.accepted(&h.hook_path)[0]
        .body
        .to_string()
        .contains("<!here>"));
    h.function.output_after("filtered out", 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_host_outside_the_allow_list_is_refused() {
    let h = Harness::start(Options {
        secret: Some(Box::new(|url| url.replace("127.0.0.1", "localhost"))),
        ..Options::default()
    })
    .await;
    let (outcome, _) = h.invoke(event("events/sns-alarm.json")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "WebhookNotAllowed");
    assert!(message.contains("SLACK_WEBHOOK_HOSTS"), "{message}");
    assert!(h.slack.posts(&h.hook_path).is_empty());
}

/// Invokes a delivered and a failed event; the request ids of the two invocations.
async fn two_invocations(h: &Harness) -> [String; 2] {
    h.slack.script(
        &h.hook_path,
        [
            crate::support::slack::ok(),
            crate::support::slack::error(400, "invalid_payload"),
        ],
    );
    let (first, _) = h
        .invoke(sns_event(&[("log-1", &alarm_message("log-a", "ALARM"))]))
        .await;
    assert_eq!(first.response()["delivered"], 1, "{first:?}");
    let (second, _) = h
        .invoke(sns_event(&[("log-2", &alarm_message("log-b", "ALARM"))]))
        .await;
    assert_eq!(second.error().0, "SlackRejected");
    ["req-0".into(), "req-1".into()]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_log_line_of_an_invocation_carries_its_request_id() {
    let h = Harness::start(Options::default()).await;
    let ids = two_invocations(&h).await;
    h.function.output_after("not delivered", 1).await;
    let output = h.function.stdout.lock().unwrap().clone();
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    // The cold secret read, the post, and the failure at least.
    assert!(lines.len() >= 4, "{output}");
    for line in &lines {
        let tagged: Vec<&String> = ids
            .iter()
            .filter(|id| line.contains(&format!("requestId=\"{id}\"")))
            .collect();
        assert_eq!(tagged.len(), 1, "no request id in: {line}\n{output}");
    }
    let posted = lines
        .iter()
        .find(|l| l.contains("posted to Slack"))
        .unwrap();
    assert!(posted.contains("requestId=\"req-0\""), "{posted}");
    let failed = lines.iter().find(|l| l.contains("not delivered")).unwrap();
    assert!(failed.contains("requestId=\"req-1\""), "{failed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_carry_the_request_id_on_every_line() {
    let h = Harness::start(Options {
        env: vec![
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
        ],
        ..Options::default()
    })
    .await;
    let ids = two_invocations(&h).await;
    h.function.output_after("not delivered", 1).await;
    let output = h.function.stdout.lock().unwrap().clone();
    let mut count = 0;
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        let record: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        // The invocation's span is the outermost; a route or record span may be inside it.
        let id = record["spans"][0]["requestId"].as_str().unwrap_or_default();
        assert!(ids.iter().any(|i| i == id), "no request id in: {line}");
        count += 1;
    }
    assert!(count >= 4, "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_log_level_is_an_init_error() {
    let mut h = Harness::start(Options {
        env: vec![("AWS_LAMBDA_LOG_LEVEL", "LOUD".into())],
        ..Options::default()
    })
    .await;
    let status = h
        .function
        .exit_status(std::time::Duration::from_secs(10))
        .await
        .expect("the function should exit when its log level is invalid");
    assert!(!status.success(), "{status:?}");
    let reports = h.runtime.init_errors.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, "InvalidConfiguration");
    assert!(
        reports[0].1.contains("AWS_LAMBDA_LOG_LEVEL") && reports[0].1.contains("LOUD"),
        "{reports:?}"
    );
}
