//! The network around the function: TLS trust, proxies, and Slack answers that break HTTP's rules.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::support::http::{raw_server, serve, RawAnswer, Reply};
use crate::support::proxy::ConnectProxy;
use crate::support::tls::TestCa;
use crate::support::{alarm_message, sns_event, Harness, Options, SecretsProxy, Slack};

/// Slack's success, byte for byte.
const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";
const ERROR_500: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n\
                           content-length: 12\r\n\r\nrollup_error";
/// A 200 whose body is a first chunk, then one of 2^64 - 1 bytes.
const HUGE_CHUNK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\
                            transfer-encoding: chunked\r\n\r\n2\r\nok\r\nffffffffffffffff\r\n";

fn one_alarm(id: &str) -> serde_json::Value {
    sns_event(&[(id, &alarm_message("cpu-high", "ALARM"))])
}

fn env(vars: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    vars.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// The webhook path, and its last segment alone, must appear nowhere.
async fn assert_no_webhook_path(h: &Harness, message: &str) {
    let secret_segment = h.hook_path.rsplit('/').next().unwrap();
    let output = h.function.output_after("not delivered", 1).await;
    for leaked in [h.hook_path.as_str(), secret_segment] {
        assert!(
            !message.contains(leaked),
            "error message names {leaked:?}: {message}"
        );
        let lines: Vec<&str> = output.lines().filter(|l| l.contains(leaked)).collect();
        assert!(
            lines.is_empty(),
            "output names {leaked:?}:\n{}",
            lines.join("\n")
        );
    }
}

/// Slack and Secrets Manager over TLS, the function trusting `ca` through SSL_CERT_FILE.
async fn tls_harness(ca: &TestCa, mut vars: Vec<(&'static str, String)>) -> Harness {
    vars.push(ca.trust_env());
    Harness::start_with(
        Options {
            env: vars,
            ..Options::default()
        },
        Slack::start_tls(ca).await,
        SecretsProxy::start_tls(ca).await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn slack_and_secrets_manager_over_tls_go_through_the_https_proxy() {
    let ca = TestCa::new();
    let proxy = ConnectProxy::start().await;
    let vars = env(&[("RUST_LOG", "info"), ("HTTPS_PROXY", &proxy.url())]);
    let h = tls_harness(&ca, vars).await;
    let (outcome, _) = h.invoke(one_alarm("tls-via-proxy")).await;
    assert_eq!(
        outcome.response()["delivered"],
        1,
        "{outcome:?}\n{}",
        h.function.output()
    );
    assert_eq!(h.slack.accepted(&h.hook_path).len(), 1);
    assert_eq!(h.secrets.get_calls(), 1);
    let connects = proxy.connects();
    for (what, port) in [
        ("Slack", h.slack.addr.port()),
        ("Secrets Manager", h.secrets.addr.port()),
    ] {
        assert!(
            connects.contains(&format!("127.0.0.1:{port}")),
            "no CONNECT to {what} (port {port}): {connects:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_proxy_sends_straight_to_the_listed_hosts() {
    let ca = TestCa::new();
    let proxy = ConnectProxy::start().await;
    let vars = env(&[
        ("RUST_LOG", "info"),
        ("HTTPS_PROXY", &proxy.url()),
        ("NO_PROXY", "127.0.0.1"),
    ]);
    let h = tls_harness(&ca, vars).await;
    let (outcome, _) = h.invoke(one_alarm("no-proxy")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert_eq!(h.secrets.get_calls(), 1);
    assert_eq!(proxy.connects(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_unreachable_and_never_names_the_webhook() {
    let ca = TestCa::new();
    // No SSL_CERT_FILE: the CA is unknown to the function.
    let h = Harness::start_with(
        Options {
            env: env(&[("RUST_LOG", "trace")]),
            ..Options::default()
        },
        Slack::start_tls(&ca).await,
        SecretsProxy::start().await,
    )
    .await;
    let (outcome, _) = h.invoke(one_alarm("untrusted")).await;
    let (error_type, message) = outcome.error();
    eprintln!("untrusted certificate: {error_type}: {message}");
    assert_eq!(error_type, "SlackUnreachable", "{message}");
    assert!(
        message.contains("certificate"),
        "the cause is lost: {message}"
    );
    assert!(
        h.slack.posts(&h.hook_path).is_empty(),
        "a request got past the handshake"
    );
    assert_no_webhook_path(&h, message).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stray_response_after_a_500_is_never_read_as_the_retrys_answer() {
    // The 500 and a well-formed 200 `ok` that nobody asked for, in one write.
    let slack = raw_server(|_| RawAnswer {
        bytes: [ERROR_500, OK].concat(),
        close: false,
    })
    .await;
    let port = slack.addr.port();
    let h = Harness::start(Options {
        secret: Some(Box::new(move |_| {
            format!("http://127.0.0.1:{port}/services/T0TEST/B0TEST/stray")
        })),
        env: env(&[("RUST_LOG", "info"), ("SLACK_MAX_ATTEMPTS", "2")]),
    })
    .await;
    let (outcome, _) = h.invoke(one_alarm("stray")).await;
    let (error_type, message) = outcome.error();
    assert_eq!(error_type, "SlackUnavailable", "{message}");
    assert!(message.contains("500"), "{message}");
    let requests = slack.requests();
    eprintln!(
        "stray response: {} requests on {} connections; {error_type}: {message}",
        requests.len(),
        slack.connections()
    );
    assert_eq!(requests.len(), 2, "one request per attempt: {requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r == "POST /services/T0TEST/B0TEST/stray HTTP/1.1"),
        "{requests:?}"
    );
}

/// A 200 whose body breaks off (an impossible chunk size, after some or none of it) is
/// Slack's acceptance all the same: counted as delivered, unconfirmed, and never sent again.
#[tokio::test(flavor = "multi_thread")]
async fn a_200_whose_body_breaks_off_is_delivered_once_and_the_process_lives_on() {
    // 0: the huge chunk, of which 64 KiB arrive before the hang-up;
    // 1: a hang-up right after the huge chunk's size line; 2: a healthy Slack.
    let phase = Arc::new(AtomicUsize::new(0));
    let current = phase.clone();
    let slack = raw_server(move |_| {
        let phase = current.load(Ordering::SeqCst);
        if phase == 2 {
            return RawAnswer {
                bytes: OK.to_vec(),
                close: false,
            };
        }
        let mut bytes = HUGE_CHUNK.to_vec();
        if phase == 0 {
            bytes.extend(std::iter::repeat_n(b'x', 64 * 1024));
        }
        RawAnswer { bytes, close: true }
    })
    .await;
    let port = slack.addr.port();
    let mut h = Harness::start(Options {
        secret: Some(Box::new(move |_| {
            format!("http://127.0.0.1:{port}/services/T0TEST/B0TEST/chunked")
        })),
        env: env(&[("RUST_LOG", "info"), ("SLACK_MAX_ATTEMPTS", "2")]),
    })
    .await;
    for (i, what) in ["64 KiB then a hang-up", "an immediate hang-up"]
        .iter()
        .enumerate()
    {
        phase.store(i, Ordering::SeqCst);
        let (outcome, _) = h.invoke(one_alarm(&format!("chunked-{i}"))).await;
        eprintln!("a 200 that breaks off, {what}: {outcome:?}");
        assert_eq!(outcome.response()["delivered"], 1, "{what}: {outcome:?}");
        assert_eq!(outcome.response()["unconfirmed"], 1, "{what}: {outcome:?}");
        assert_eq!(slack.requests().len(), i + 1, "{what}: sent once");
        assert!(h.function.is_running(), "{}", h.function.output());
    }
    let output = h
        .function
        .output_after("counted as delivered, and not sent again", 2)
        .await;
    assert!(!output.contains("panicked"), "{output}");
    assert!(!output.contains("/services/"), "{output}");
    // And it still works, confirmed.
    phase.store(2, Ordering::SeqCst);
    let (outcome, _) = h.invoke(one_alarm("after-chunked")).await;
    assert_eq!(outcome.response()["delivered"], 1, "{outcome:?}");
    assert!(
        outcome.response().get("unconfirmed").is_none(),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_is_never_followed() {
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let hits = elsewhere_hits.clone();
    let elsewhere = serve(move |_| {
        hits.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Reply::new(200, "ok"))
    })
    .await;
    let h = Harness::start(Options::default()).await;
    let location = format!(
        "http://127.0.0.1:{}/services/T0TEST/B0TEST/elsewhere",
        elsewhere.port()
    );
    h.slack.always(
        &h.hook_path,
        Reply::new(302, "").header("location", &location),
    );
    let (outcome, _) = h.invoke(one_alarm("redirect")).await;
    let (error_type, message) = outcome.error();
    eprintln!("redirect: {error_type}: {message}");
    assert_eq!(error_type, "SlackRejected", "{message}");
    assert!(message.contains("302"), "{message}");
    assert!(!h.slack.posts(&h.hook_path).is_empty());
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
    assert!(!message.contains(&location), "{message}");
    assert_no_webhook_path(&h, message).await;
}
