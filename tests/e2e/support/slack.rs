//! A local Slack incoming-webhook server that answers like Slack, errors and rate limits included.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::{serve, serve_tls, Reply, Request};
use super::tls::TestCa;

#[derive(Debug, Clone)]
pub struct Post {
    pub path: String,
    pub content_type: String,
    pub body: Value,
    /// The body as it came, byte for byte.
    pub raw: Vec<u8>,
    pub status: u16,
    pub at: Instant,
}

#[derive(Default)]
struct State {
    /// Replies to use next, per path, before falling back to the default.
    scripts: HashMap<String, VecDeque<Reply>>,
    defaults: HashMap<String, Reply>,
    posts: Vec<Post>,
    /// When set, one accepted message per interval; faster posts get 429.
    min_interval: Option<Duration>,
    last_accepted: Option<Instant>,
    /// How long every request is held before it is answered.
    hold: Duration,
    in_flight: usize,
    max_in_flight: usize,
}

#[derive(Clone)]
pub struct Slack {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    tls: bool,
}

pub fn ok() -> Reply {
    Reply::new(200, "ok").header("content-type", "text/html")
}

/// A Slack error answer: status plus its short code body.
pub fn error(status: u16, code: &str) -> Reply {
    Reply::new(status, code).header("content-type", "text/html")
}

pub fn rate_limited(retry_after_secs: u64) -> Reply {
    error(429, "rate_limited").header("retry-after", &retry_after_secs.to_string())
}

impl Slack {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let addr = serve(move |req| answer(shared.clone(), req)).await;
        Self {
            addr,
            state,
            tls: false,
        }
    }

    /// Slack over HTTPS, with a certificate signed by `ca`.
    pub async fn start_tls(ca: &TestCa) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let addr = serve_tls(ca.acceptor(), move |req| answer(shared.clone(), req)).await;
        Self {
            addr,
            state,
            tls: true,
        }
    }

    /// The webhook URL for a path such as `/services/T0/B0/abc`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.addr.port())
    }

    pub fn script(&self, path: &str, replies: impl IntoIterator<Item = Reply>) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .entry(path.into())
            .or_default()
            .extend(replies);
    }

    pub fn always(&self, path: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .defaults
            .insert(path.into(), reply);
    }

    pub fn limit_rate(&self, min_interval: Duration) {
        self.state.lock().unwrap().min_interval = Some(min_interval);
    }

    /// Holds every request `hold` before answering it.
    pub fn hold_replies(&self, hold: Duration) {
        self.state.lock().unwrap().hold = hold;
    }

    /// The most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }

    /// Every request received on `path`, accepted or not.
    pub fn posts(&self, path: &str) -> Vec<Post> {
        self.state
            .lock()
            .unwrap()
            .posts
            .iter()
            .filter(|p| p.path == path)
            .cloned()
            .collect()
    }

    /// Requests on `path` that Slack accepted (200 `ok`).
    pub fn accepted(&self, path: &str) -> Vec<Post> {
        self.posts(path)
            .into_iter()
            .filter(|p| p.status == 200)
            .collect()
    }
}

/// Slack's answer to one request, held as long as the test asked.
async fn answer(state: Arc<Mutex<State>>, req: Request) -> Reply {
    let (reply, hold) = decide(&state, req);
    // Counted out on drop too: hyper drops this future if the client hangs up during the hold.
    let _in_flight = InFlight(state);
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    reply
}

/// Records the request, counts it in, and picks the reply and how long to hold it.
fn decide(state: &Mutex<State>, req: Request) -> (Reply, Duration) {
    let path = req.uri.path().to_owned();
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let content_type = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut s = state.lock().unwrap();
    s.in_flight += 1;
    s.max_in_flight = s.max_in_flight.max(s.in_flight);
    let scripted = s.scripts.get_mut(&path).and_then(VecDeque::pop_front);
    let mut reply = scripted
        .or_else(|| s.defaults.get(&path).cloned())
        .unwrap_or_else(ok);
    if req.method != hyper::Method::POST {
        reply = error(405, "invalid_method");
    } else if body.is_null() || !content_type.starts_with("application/json") {
        reply = error(400, "invalid_payload");
    } else if reply.status == 200
        && !["text", "blocks", "attachments"]
            .iter()
            .any(|k| body.get(k).is_some())
    {
        // A live webhook refuses a message with nothing to show.
        reply = error(400, "no_text");
    }
    if reply.status == 200 {
        if let Some(interval) = s.min_interval {
            let now = Instant::now();
            if let Some(wait) = s
                .last_accepted
                .map(|t| interval.saturating_sub(now - t))
                .filter(|w| !w.is_zero())
            {
                reply = rate_limited(wait.as_secs_f64().ceil() as u64);
            } else {
                s.last_accepted = Some(now);
            }
        }
    }
    s.posts.push(Post {
        path,
        content_type,
        body,
        raw: req.body.to_vec(),
        status: reply.status,
        at: Instant::now(),
    });
    (reply, s.hold)
}

struct InFlight(Arc<Mutex<State>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.lock() {
            s.in_flight -= 1;
        }
    }
}
