//! The local loop users run: `cargo lambda watch --only-lambda-apis` serves the Runtime API, the
//! built binary polls it, and `cargo lambda invoke --data-file events/sns-alarm.json` gets the
//! answer. Real cargo-lambda (pinned in tests/requirements.txt), moto and a local Slack.
//!
//! `cargo lambda X` is `cargo-lambda lambda X`; the test runs the latter so that it needs no
//! `cargo` subcommand lookup on PATH. With `--only-lambda-apis` the emulator only reads
//! `cargo metadata --no-deps`: it builds nothing, starts nothing and needs no network.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::support::runtime::capture_into;
use crate::support::{secrets, unique, Function, Runtime, SecretsProxy, Slack};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// How long `cargo lambda watch` may take to listen (it starts in well under a second).
const WATCH_READY: Duration = Duration::from_secs(60);
/// How long one `cargo lambda invoke` may take, cold start and moto included.
const INVOKE_LIMIT: Duration = Duration::from_secs(120);
/// How long the function's log may lag behind the answer it sent.
const LOG_LAG: Duration = Duration::from_secs(10);

const INSTALL: &str = "cargo-lambda is needed for this test and was found neither in \
    .venv/bin nor on PATH. Install the pinned version with \
    `python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt` \
    (or run scripts/test-all.sh, which does that first)";

/// The pinned cargo-lambda in the repo's `.venv`, else the first one on PATH; fails if neither.
fn cargo_lambda() -> PathBuf {
    let venv = Path::new(ROOT).join(".venv/bin/cargo-lambda");
    if venv.is_file() {
        return venv;
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("cargo-lambda"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{INSTALL}"))
}

/// `cargo lambda <subcommand>`, run from the repo root, talking to loopback only.
fn cargo_lambda_command(bin: &Path, subcommand: &str) -> Command {
    let mut command = Command::new(bin);
    command
        .arg("lambda")
        .arg(subcommand)
        .current_dir(ROOT)
        // cargo-lambda's own log filter; a developer's RUST_LOG must not change its output.
        .env("RUST_LOG", "cargo_lambda=info")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env_remove(proxy);
    }
    command
}

/// Copies everything `child` writes on stdout and stderr into one buffer.
fn capture(child: &mut Child) -> Arc<Mutex<String>> {
    let out: Arc<Mutex<String>> = Arc::default();
    capture_into(child.stdout.take().expect("stdout"), out.clone());
    capture_into(child.stderr.take().expect("stderr"), out.clone());
    out
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind loopback")
        .port()
}

/// The value of `NAME=value` as the emulator prints it in its start-up instructions.
fn printed_var(output: &str, name: &str) -> Option<String> {
    let key = format!("{name}=");
    output.lines().find_map(|line| {
        let at = line.find(&key)?;
        line[at + key.len()..]
            .split_whitespace()
            .next()
            .map(str::to_owned)
    })
}

const FUNCTION_VARS: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// `cargo lambda watch --only-lambda-apis` on a free loopback port.
struct Watch {
    child: Child,
    port: u16,
    output: Arc<Mutex<String>>,
    /// What the emulator tells the user to set for the function, in [`FUNCTION_VARS`] order.
    function_env: Vec<(String, String)>,
}

impl Watch {
    /// Starts the emulator and waits until it listens. It is ready when it has printed its
    /// instructions for the function and accepted a connection, and is still running on the next
    /// poll: with its port taken, cargo lambda watch 1.9.2 prints the same instructions, then
    /// exits 0 without a word, while the port's owner accepts connections.
    async fn start(bin: &Path) -> Self {
        const ATTEMPTS: usize = 3;
        let mut exits = Vec::new();
        for _ in 0..ATTEMPTS {
            let port = free_port();
            let mut child = cargo_lambda_command(bin, "watch")
                .args(["--only-lambda-apis", "--invoke-address", "127.0.0.1", "-P"])
                .arg(port.to_string())
                .spawn()
                .expect("start cargo lambda watch");
            let output = capture(&mut child);
            let started = Instant::now();
            let mut ready_polls = 0;
            loop {
                let text = output.lock().unwrap().clone();
                if let Some(status) = child.try_wait().expect("wait for cargo lambda watch") {
                    // Most likely another process took the port after free_port(): try another.
                    exits.push(format!("port {port}: exited ({status}):\n{text}"));
                    break;
                }
                let function_env: Vec<(String, String)> = FUNCTION_VARS
                    .iter()
                    .filter_map(|name| Some((name.to_string(), printed_var(&text, name)?)))
                    .collect();
                let listening = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok();
                if listening && function_env.len() == FUNCTION_VARS.len() {
                    ready_polls += 1;
                    if ready_polls == 2 {
                        return Self {
                            child,
                            port,
                            output,
                            function_env,
                        };
                    }
                } else {
                    ready_polls = 0;
                }
                assert!(
                    started.elapsed() < WATCH_READY,
                    "cargo lambda watch was not serving on 127.0.0.1:{port} after {WATCH_READY:?} \
                     (listening: {listening}):\n{text}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        panic!(
            "cargo lambda watch exited before serving, {ATTEMPTS} times (it exits 0 and silently \
             when its port is taken):\n{}",
            exits.join("\n")
        )
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn show(output: &Output) -> String {
    format!(
        "exit: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The JSON the function answered with, as `cargo lambda invoke` prints it.
fn printed_json(stdout: &str) -> Option<Value> {
    serde_json::from_str(stdout.trim()).ok().or_else(|| {
        stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| serde_json::from_str(l.trim()).ok())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn cargo_lambda_invoke_through_watch_delivers_once() {
    let bin = cargo_lambda();
    let version = std::process::Command::new(&bin)
        .args(["lambda", "--version"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|e| panic!("{}: {e}. {INSTALL}", bin.display()));
    eprintln!("using {version} at {}", bin.display());

    let slack = Slack::start().await;
    let secrets = SecretsProxy::start().await;
    let hook_path = format!("/services/T0TEST/B0TEST/{}", unique("hooksecret"));
    let secret_id = unique("slack/webhook");
    secrets::admin_client()
        .create_secret()
        .name(&secret_id)
        .secret_string(serde_json::json!({ "SLACK_HOOK_URL": slack.url(&hook_path) }).to_string())
        .send()
        .await
        .expect("create secret in moto");

    let watch = Watch::start(&bin).await;
    let port = watch.port;
    let api = &watch.function_env[0].1;
    assert_eq!(
        api,
        &format!("http://127.0.0.1:{port}/.rt"),
        "the emulator's Runtime API address:\n{}",
        watch.output()
    );

    // Function::spawn wants a Runtime; this one stays idle, as the env below points the binary
    // at cargo lambda's emulator instead (env entries override the spawn's defaults).
    let idle = Runtime::start().await;
    let mut env: Vec<(String, String)> = vec![
        ("SecretId".into(), secret_id.clone()),
        ("AWS_ENDPOINT_URL".into(), secrets.url()),
        ("SLACK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()),
        ("RUST_LOG".into(), "info".into()),
    ];
    env.extend(watch.function_env.iter().cloned());
    let mut function = Function::spawn(&idle, &env);

    let invoke = cargo_lambda_command(&bin, "invoke")
        .args(["--invoke-address", "127.0.0.1", "-P"])
        .arg(port.to_string())
        .args(["--data-file", "events/sns-alarm.json"])
        .spawn()
        .expect("start cargo lambda invoke");
    let answered = invoke.wait_with_output();
    tokio::pin!(answered);
    let started = Instant::now();
    let output = loop {
        tokio::select! {
            output = &mut answered => break output.expect("wait for cargo lambda invoke"),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                assert!(
                    function.is_running(),
                    "the function exited during the invocation:\n{}\nwatch:\n{}",
                    function.output(),
                    watch.output()
                );
                assert!(
                    started.elapsed() < INVOKE_LIMIT,
                    "cargo lambda invoke had no answer after {INVOKE_LIMIT:?}\nfunction:\n{}\nwatch:\n{}",
                    function.output(),
                    watch.output()
                );
            }
        }
    };
    let context = || {
        format!(
            "invoke: {}\nfunction:\n{}\nwatch:\n{}",
            show(&output),
            function.output(),
            watch.output()
        )
    };

    assert!(output.status.success(), "{}", context());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answer = printed_json(&stdout).unwrap_or_else(|| panic!("no JSON answer: {}", context()));
    assert_eq!(answer["delivered"], 1, "{}", context());
    eprintln!("cargo lambda invoke answered {answer}");

    let posts = slack.posts(&hook_path);
    assert_eq!(
        posts.len(),
        1,
        "one POST on the webhook path: {}",
        context()
    );
    assert_eq!(slack.accepted(&hook_path).len(), 1, "{}", context());
    assert!(
        posts[0].body.to_string().contains("prod-web-1-cpu-high"),
        "{:?}",
        posts[0].body
    );
    assert_eq!(secrets.get_calls(), 1, "one cold read of the secret");

    // The emulator sends `Lambda-Runtime-Deadline-Ms: 600000`, a duration: one warning says so.
    let waited = Instant::now();
    let warnings = loop {
        let log = function.output();
        let warnings: Vec<String> = log
            .lines()
            .filter(|l| {
                let l = l.to_lowercase();
                l.contains("lambda-runtime-deadline-ms") && l.contains("duration")
            })
            .map(str::to_owned)
            .collect();
        if !warnings.is_empty() || waited.elapsed() > LOG_LAG {
            break warnings;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        warnings.len(),
        1,
        "one warning about the emulator's deadline: {}",
        context()
    );
    eprintln!("the function warned: {}", warnings[0]);
    assert!(
        warnings[0].to_lowercase().contains("warn"),
        "logged as a warning: {}",
        warnings[0]
    );

    assert!(
        function.is_running(),
        "the function keeps polling after the invocation"
    );
    let watched = watch.output();
    assert!(
        !watched.contains("Compiling") && !watched.contains("Finished"),
        "cargo lambda watch --only-lambda-apis must build nothing:\n{watched}"
    );
    drop(function);
    watch.stop().await;
}
