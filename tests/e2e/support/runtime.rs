//! A Lambda Runtime API emulator, and the function process it drives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, oneshot};

use super::http::{serve, Reply};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function reported for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error { error_type: String, message: String },
}

impl Outcome {
    pub fn response(&self) -> &Value {
        match self {
            Self::Response(v) => v,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    pub fn error(&self) -> (&str, &str) {
        match self {
            Self::Error {
                error_type,
                message,
            } => (error_type, message),
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

struct Pending {
    id: String,
    timeout: Duration,
    event: Value,
    dispatched: oneshot::Sender<()>,
}

#[derive(Clone)]
pub struct Runtime {
    pub addr: SocketAddr,
    queue: mpsc::UnboundedSender<Pending>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    next_id: Arc<AtomicU64>,
    /// Every `/init/error` report: (errorType, errorMessage, the error-type header).
    pub init_errors: Arc<Mutex<Vec<(String, String, String)>>>,
    /// `/invocation/next` requests waiting for an event now, and the most there ever were.
    pub polling: Arc<Mutex<(usize, usize)>>,
}

/// One `/invocation/next` request waiting, counted until it ends or its client goes away.
struct Polling(Arc<Mutex<(usize, usize)>>);

impl Polling {
    fn start(count: Arc<Mutex<(usize, usize)>>) -> Self {
        {
            let mut c = count.lock().unwrap();
            c.0 += 1;
            c.1 = c.1.max(c.0);
        }
        Self(count)
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        self.0.lock().unwrap().0 -= 1;
    }
}

/// The X-Ray trace header the emulator hands out with request `id`.
pub fn trace_id_for(id: &str) -> String {
    format!(
        "Root=1-5f000000-{:0>24};Parent=0000000000000001;Sampled=0",
        id.trim_start_matches("req-")
    )
}

fn error_report(req: &super::http::Request) -> (String, String, String) {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let header = req
        .headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        body["errorType"].as_str().unwrap_or_default().to_owned(),
        body["errorMessage"].as_str().unwrap_or_default().to_owned(),
        header,
    )
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

impl Runtime {
    pub async fn start() -> Self {
        let (queue, rx) = mpsc::unbounded_channel::<Pending>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>> = Arc::default();
        let init_errors: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
        let polling: Arc<Mutex<(usize, usize)>> = Arc::default();
        let (w, ie, p) = (waiting.clone(), init_errors.clone(), polling.clone());
        let addr = serve(move |req| {
            let (rx, waiting, init_errors, polling) =
                (rx.clone(), w.clone(), ie.clone(), p.clone());
            async move {
                let path = req
                    .uri
                    .path()
                    .strip_prefix(PREFIX)
                    .unwrap_or_default()
                    .to_owned();
                if path == "/invocation/next" {
                    let poll = Polling::start(polling);
                    let next = rx.lock().await.recv().await;
                    drop(poll);
                    let Some(next) = next else {
                        return Reply::new(500, "runtime closed");
                    };
                    // As in Lambda, the deadline runs from when the function gets the event.
                    let deadline_ms = epoch_ms() + next.timeout.as_millis() as u64;
                    let _ = next.dispatched.send(());
                    return Reply::new(200, next.event.to_string())
                        .header("content-type", "application/json")
                        .header("lambda-runtime-aws-request-id", &next.id)
                        .header("lambda-runtime-deadline-ms", &deadline_ms.to_string())
                        .header(
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:us-east-1:123456789012:function:slack-alarm-notifier",
                        )
                        .header("lambda-runtime-trace-id", &trace_id_for(&next.id));
                }
                let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                let outcome = match parts.as_slice() {
                    ["invocation", id, "response"] => (
                        id.to_string(),
                        Outcome::Response(serde_json::from_slice(&req.body).unwrap_or(Value::Null)),
                    ),
                    ["invocation", id, "error"] => {
                        let (error_type, message, _) = error_report(&req);
                        (
                            id.to_string(),
                            Outcome::Error {
                                error_type,
                                message,
                            },
                        )
                    }
                    ["init", "error"] => {
                        init_errors.lock().unwrap().push(error_report(&req));
                        return Reply::new(202, r#"{"status":"OK"}"#);
                    }
                    _ => return Reply::new(404, "not found"),
                };
                if let Some(tx) = waiting.lock().unwrap().remove(&outcome.0) {
                    let _ = tx.send(outcome.1);
                }
                Reply::new(202, r#"{"status":"OK"}"#)
            }
        })
        .await;
        Self {
            addr,
            queue,
            waiting,
            next_id: Arc::default(),
            init_errors,
            polling,
        }
    }

    /// Invokes the function with a deadline `timeout` after it picks the event up, as Lambda would.
    /// Returns the outcome and how long it ran; panics if the function outlives the deadline by 2 s.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> (Outcome, Duration) {
        let id = format!("req-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        self.invoke_as(&id, event, timeout).await
    }

    /// As [`Runtime::invoke`], with request id `id`: Lambda's retry of an asynchronous
    /// invocation has the same id as the attempt that failed.
    pub async fn invoke_as(
        &self,
        id: &str,
        event: Value,
        timeout: Duration,
    ) -> (Outcome, Duration) {
        let id = id.to_owned();
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap().insert(id.clone(), tx);
        let (dispatched, picked_up) = oneshot::channel();
        self.queue
            .send(Pending {
                id,
                timeout,
                event,
                dispatched,
            })
            .expect("queue open");
        tokio::time::timeout(Duration::from_secs(300), picked_up)
            .await
            .expect("no function instance picked the event up")
            .expect("dispatch");
        let started = Instant::now();
        let outcome = tokio::time::timeout(timeout + Duration::from_secs(2), rx)
            .await
            .expect("the function did not answer before Lambda would have killed it")
            .expect("answer");
        (outcome, started.elapsed())
    }
}

/// A home directory with nothing in it, so no AWS profile is read.
fn empty_home() -> &'static std::path::Path {
    static HOME: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let home = std::env::temp_dir().join(super::unique("empty-home"));
        std::fs::create_dir_all(&home).expect("create an empty home");
        home
    })
}

/// The built binary, running as a Lambda function against a [`Runtime`].
pub struct Function {
    child: tokio::process::Child,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
}

fn capture(pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static) -> Arc<Mutex<String>> {
    let out: Arc<Mutex<String>> = Arc::default();
    capture_into(pipe, out.clone());
    out
}

/// Appends everything `pipe` yields to `sink`, until it closes.
pub fn capture_into(
    mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    sink: Arc<Mutex<String>>,
) {
    tokio::spawn(async move {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
}

impl Function {
    pub fn spawn(runtime: &Runtime, env: &[(String, String)]) -> Self {
        Self::spawn_without(runtime, env, &[])
    }

    /// As [`Function::spawn`], with the variables in `unset` left out of its environment.
    pub fn spawn_without(runtime: &Runtime, env: &[(String, String)], unset: &[&str]) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_slack-alarm-notifier"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // No AWS profile files: an empty home, as on Lambda.
            .env("HOME", empty_home())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("127.0.0.1:{}", runtime.addr.port()),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "slack-alarm-notifier")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        for k in unset {
            command.env_remove(k);
        }
        let mut child = command.spawn().expect("start the function binary");
        let stdout = capture(child.stdout.take().unwrap());
        let stderr = capture(child.stderr.take().unwrap());
        Self {
            child,
            stdout,
            stderr,
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// Kills the process at once, as Lambda does an instance that ran out of memory.
    pub async fn kill(&mut self) {
        self.child.kill().await.expect("kill the function");
    }

    /// The process's peak resident memory so far, in KiB (`VmHWM`).
    pub fn peak_rss_kib(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }

    /// Waits up to `limit` for the process to exit; its status, or `None` if still running.
    pub async fn exit_status(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .map(|s| s.expect("wait"))
    }

    /// Everything the process wrote once `needle` has appeared `count` times; panics after
    /// 10 s. Lines logged before an invocation's result may still be in the pipe when the
    /// result arrives, so a test that reads the logs waits for the last line it expects.
    pub async fn output_after(&self, needle: &str, count: usize) -> String {
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            let output = self.output();
            if output.matches(needle).count() >= count {
                return output;
            }
            assert!(
                Instant::now() < give_up,
                "{needle:?} not logged {count} times:\n{output}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything the process wrote so far.
    pub fn output(&self) -> String {
        format!(
            "{}{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }
}
