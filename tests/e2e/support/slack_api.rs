//! A local Slack Web API: `chat.postMessage` (with `thread_ts`), `chat.update`, `auth.test`,
//! `conversations.info`, and the external file upload (`files.getUploadURLExternal`, the
//! upload URL it hands out, served here too, and `files.completeUploadExternal`), answering as
//! Slack does. It checks the bearer token, answers most errors with HTTP 200 and
//! `{"ok": false, "error": "..."}`, and takes scripted faults (429 with `Retry-After`, 5xx).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Map, Value};

use super::http::{serve, Reply, Request};

pub const TEAM: &str = "Acme Ops";
pub const TEAM_ID: &str = "T0ACME001";
pub const BOT_USER: &str = "alarmbot";
pub const BOT_USER_ID: &str = "U0ALARMBOT";

/// One request, as the server read it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The whole `Authorization` header ("" when absent).
    pub authorization: String,
    pub content_type: String,
    /// The arguments: the JSON body, or the form fields as an object of strings.
    pub args: Value,
    pub status: u16,
    /// `error` of an `ok: false` answer.
    pub error: Option<String>,
    /// The JSON answer (`Null` when it was not JSON).
    pub answer: Value,
    pub at: Instant,
}

impl Call {
    pub fn ok(&self) -> bool {
        self.status == 200 && self.error.is_none()
    }
}

#[derive(Debug, Clone)]
struct Channel {
    name: String,
    is_member: bool,
    is_private: bool,
    is_archived: bool,
}

struct State {
    /// The one token accepted.
    token: String,
    /// Tokens rotated away: answered `token_expired`.
    expired: Vec<String>,
    /// Tokens revoked: answered `token_revoked`.
    revoked: Vec<String>,
    scopes: Vec<String>,
    channels: HashMap<String, Channel>,
    /// Answers to give next, per method, before the token is even looked at.
    scripts: HashMap<String, VecDeque<Reply>>,
    calls: Vec<Call>,
    next_ts: u64,
    /// Messages posted, by `ts`: their channel and the message as it is now.
    messages: HashMap<String, (String, Value)>,
    /// `chat.postMessage` answers only after this long (races between instances).
    post_delay: Option<std::time::Duration>,
    /// This server's address, for the upload URLs it hands out.
    addr: Option<SocketAddr>,
    /// Files by id: as announced by `files.getUploadURLExternal`, then their bytes.
    files: HashMap<String, File>,
    /// Files shared by `files.completeUploadExternal`, in order.
    shared: Vec<SharedFile>,
    /// Tokens still accepted beside `token`: a renewed token's predecessor, until it expires.
    still_valid: Vec<String>,
    /// Token rotation on: the app's credentials and its one live refresh token.
    oauth: Option<OAuthApp>,
    /// `chat.postMessage` to one of these channels gets its answer, until the test heals it.
    refused_channels: HashMap<String, Reply>,
    /// User groups by ID, with their members (`usergroups.users.list`).
    usergroups: HashMap<String, Vec<String>>,
    /// What was POSTed to the interactions' `response_url`s, in order.
    responses: Vec<Value>,
}

/// A Slack app with token rotation on.
struct OAuthApp {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    /// Pairs issued so far.
    issued: u32,
    /// The life of the tokens it issues, in seconds.
    expires_in: u64,
}

/// The rotating token's life, as `oauth.v2.access` says (12 hours).
pub const EXPIRES_IN: u64 = 43_200;

#[derive(Debug, Clone)]
struct File {
    filename: String,
    length: usize,
    bytes: Option<Vec<u8>>,
}

/// A file `files.completeUploadExternal` shared.
#[derive(Debug, Clone)]
pub struct SharedFile {
    pub id: String,
    pub filename: String,
    pub title: Option<String>,
    pub channel: String,
    pub thread_ts: Option<String>,
    /// The bytes POSTed to its upload URL.
    pub bytes: Vec<u8>,
}

const UPLOAD_PATH: &str = "/upload/v1/";
/// Where an interaction's `response_url` points, as `hooks.slack.com/actions/…` does.
const RESPONSE_PATH: &str = "/actions/";

/// The public channel the bot is in, unless a test says otherwise.
pub const CHANNEL: &str = "C0ALERTS01";

#[derive(Clone)]
pub struct SlackApi {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

/// An `ok: false` answer, at HTTP 200 as Slack sends most of them.
pub fn api_error(code: &str) -> Reply {
    json_reply(200, json!({"ok": false, "error": code}))
}

/// Slack's rate limit: 429, `Retry-After` in seconds, and `ratelimited`.
pub fn rate_limited(retry_after_secs: u64) -> Reply {
    json_reply(429, json!({"ok": false, "error": "ratelimited"}))
        .header("retry-after", &retry_after_secs.to_string())
}

/// A 5xx with an HTML body, as Slack's edge sends them.
pub fn server_error(status: u16) -> Reply {
    Reply::new(status, "<html><body>Service Unavailable</body></html>")
        .header("content-type", "text/html")
}

/// A JSON answer, for scripting one the helpers above don't make.
pub fn json_reply(status: u16, body: Value) -> Reply {
    Reply::new(status, body.to_string()).header("content-type", "application/json; charset=utf-8")
}

impl SlackApi {
    /// A workspace where `token` is the bot's token, with scopes `chat:write` and
    /// `channels:read`, and the bot a member of [`CHANNEL`].
    pub async fn start(token: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            token: token.to_owned(),
            expired: Vec::new(),
            revoked: Vec::new(),
            scopes: vec!["chat:write".into(), "channels:read".into()],
            channels: HashMap::new(),
            scripts: HashMap::new(),
            calls: Vec::new(),
            next_ts: 1,
            messages: HashMap::new(),
            post_delay: None,
            addr: None,
            files: HashMap::new(),
            shared: Vec::new(),
            still_valid: Vec::new(),
            oauth: None,
            refused_channels: HashMap::new(),
            usergroups: HashMap::new(),
            responses: Vec::new(),
        }));
        let shared = state.clone();
        let addr = serve(move |req| {
            let shared = shared.clone();
            async move { answer(&shared, req) }
        })
        .await;
        state.lock().unwrap().addr = Some(addr);
        let api = Self { addr, state };
        api.add_channel(CHANNEL, "alerts", true);
        api
    }

    /// A user group and its members, for `usergroups.users.list`.
    pub fn add_usergroup(&self, id: &str, members: &[&str]) {
        self.state()
            .usergroups
            .insert(id.into(), members.iter().map(|m| m.to_string()).collect());
    }

    /// A `response_url` for an interaction, served here.
    pub fn response_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}{RESPONSE_PATH}T0ACME001/1/response",
            self.addr.port()
        )
    }

    /// What the function POSTed to `response_url`s (ephemeral messages), in order.
    pub fn responses(&self) -> Vec<Value> {
        self.state().responses.clone()
    }

    /// The base URL, for `SLACK_API_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api/", self.addr.port())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Token rotation: `new` is the token from now on, and the old one is expired.
    pub fn rotate(&self, new: &str) {
        let mut s = self.state();
        let old = std::mem::replace(&mut s.token, new.to_owned());
        s.expired.push(old);
    }

    /// Token rotation on: `oauth.v2.access` renews the pair for this client and refresh token.
    pub fn enable_rotation(&self, client_id: &str, client_secret: &str, refresh_token: &str) {
        self.state().oauth = Some(OAuthApp {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_token: refresh_token.into(),
            issued: 0,
            expires_in: EXPIRES_IN,
        });
    }

    /// Tokens issued from now on live `seconds` (with rotation on).
    pub fn set_expires_in(&self, seconds: u64) {
        if let Some(app) = self.state().oauth.as_mut() {
            app.expires_in = seconds;
        }
    }

    /// The tokens renewed away reach their expiry: answered `token_expired` from now on.
    pub fn expire_previous(&self) {
        let mut s = self.state();
        let old = std::mem::take(&mut s.still_valid);
        s.expired.extend(old);
    }

    /// The bot token accepted now, and the live refresh token (with rotation on).
    pub fn live_tokens(&self) -> (String, Option<String>) {
        let s = self.state();
        let refresh = s.oauth.as_ref().map(|o| o.refresh_token.clone());
        (s.token.clone(), refresh)
    }

    /// The app was uninstalled: the token is revoked.
    pub fn revoke(&self) {
        let mut s = self.state();
        let old = std::mem::take(&mut s.token);
        s.revoked.push(old);
    }

    pub fn set_scopes(&self, scopes: &[&str]) {
        self.state().scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    pub fn add_channel(&self, id: &str, name: &str, is_member: bool) {
        self.state().channels.insert(
            id.into(),
            Channel {
                name: name.into(),
                is_member,
                is_private: id.starts_with('G'),
                is_archived: false,
            },
        );
    }

    pub fn archive(&self, id: &str) {
        if let Some(c) = self.state().channels.get_mut(id) {
            c.is_archived = true;
        }
    }

    /// Answers the next calls of `method` with `replies`, in order, whatever their token.
    pub fn script(&self, method: &str, replies: impl IntoIterator<Item = Reply>) {
        self.state()
            .scripts
            .entry(method.into())
            .or_default()
            .extend(replies);
    }

    /// Every call of `method`, answered well or not.
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.state()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Every call of any method.
    pub fn all_calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Slows every `chat.postMessage` answer by `delay`.
    pub fn delay_posts(&self, delay: std::time::Duration) {
        self.state().post_delay = Some(delay);
    }

    /// A message as it is now (after any `chat.update`), by its `ts`.
    pub fn message(&self, ts: &str) -> Option<Value> {
        self.state().messages.get(ts).map(|(_, m)| m.clone())
    }

    /// Someone deleted the message `ts`: a reply in its thread is answered `thread_not_found`.
    pub fn delete_message(&self, ts: &str) {
        self.state().messages.remove(ts);
    }

    /// The files shared, in order.
    pub fn shared_files(&self) -> Vec<SharedFile> {
        self.state().shared.clone()
    }

    /// Every `chat.postMessage` to `channel` is answered with `reply` (after the token is
    /// checked), until [`SlackApi::heal_channel`].
    pub fn refuse_posts_to(&self, channel: &str, reply: Reply) {
        self.state().refused_channels.insert(channel.into(), reply);
    }

    /// `chat.postMessage` to `channel` is answered as usual again.
    pub fn heal_channel(&self, channel: &str) {
        self.state().refused_channels.remove(channel);
    }

    /// The messages Slack accepted in `channel`.
    pub fn posted_to(&self, channel: &str) -> Vec<Call> {
        self.posted()
            .into_iter()
            .filter(|c| c.args["channel"] == channel)
            .collect()
    }

    /// The messages Slack accepted.
    pub fn posted(&self) -> Vec<Call> {
        self.calls("chat.postMessage")
            .into_iter()
            .filter(Call::ok)
            .collect()
    }
}

/// The arguments of a request: a JSON body, or form fields (Slack's read methods take only these).
fn arguments(content_type: &str, body: &[u8]) -> Option<Value> {
    if content_type.starts_with("application/json") {
        return serde_json::from_slice(body).ok();
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let url = reqwest::Url::parse(&format!(
            "http://form.invalid/?{}",
            String::from_utf8_lossy(body)
        ))
        .ok()?;
        let fields: Map<String, Value> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Some(Value::Object(fields));
    }
    None
}

fn answer(state: &Mutex<State>, req: Request) -> Reply {
    let mut s = state.lock().unwrap();
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (authorization, content_type) = (header("authorization"), header("content-type"));
    let method = req
        .uri
        .path()
        .strip_prefix("/api/")
        .unwrap_or_default()
        .to_owned();
    if req.uri.path().starts_with(RESPONSE_PATH) {
        let body = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        s.responses.push(body);
        return Reply::new(200, "ok").header("content-type", "text/plain");
    }
    if let Some(file_id) = req.uri.path().strip_prefix(UPLOAD_PATH) {
        let reply = receive_upload(&mut s, file_id, &req.body);
        let call = Call {
            method: "upload".into(),
            authorization,
            content_type,
            args: json!({"file_id": file_id, "length": req.body.len()}),
            status: reply.status,
            error: (reply.status != 200).then(|| format!("HTTP {}", reply.status)),
            answer: Value::Null,
            at: Instant::now(),
        };
        s.calls.push(call);
        return reply;
    }
    let args = arguments(&content_type, &req.body);
    let scripted = s.scripts.get_mut(&method).and_then(VecDeque::pop_front);
    let reply = match scripted {
        Some(reply) => reply,
        None if req.method != hyper::Method::POST => api_error("invalid_method"),
        None => respond(&mut s, &method, &authorization, args.as_ref()),
    };
    let reply = match s.post_delay {
        Some(delay) if method == "chat.postMessage" => reply.delayed(delay),
        _ => reply,
    };
    let answer = serde_json::from_slice::<Value>(&reply.body).unwrap_or(Value::Null);
    let error = Some(&answer)
        .filter(|b| b["ok"] == false)
        .map(|b| b["error"].as_str().unwrap_or_default().to_owned());
    s.calls.push(Call {
        method,
        authorization,
        content_type,
        args: args.unwrap_or(Value::Null),
        status: reply.status,
        error: if reply.status == 200 {
            error
        } else {
            Some(format!("HTTP {}", reply.status))
        },
        answer,
        at: Instant::now(),
    });
    reply
}

/// Slack's answer to a well-formed request: the token first, then the method's own checks.
fn respond(s: &mut State, method: &str, authorization: &str, args: Option<&Value>) -> Reply {
    if method == "oauth.v2.access" {
        return renew(s, args);
    }
    let Some(token) = authorization.strip_prefix("Bearer ") else {
        return api_error("not_authed");
    };
    if s.expired.iter().any(|t| t == token) {
        return api_error("token_expired");
    }
    if s.revoked.iter().any(|t| t == token) {
        return api_error("token_revoked");
    }
    let accepted =
        (token == s.token && !s.token.is_empty()) || s.still_valid.iter().any(|t| t == token);
    if !accepted {
        return api_error("invalid_auth");
    }
    let scopes = s.scopes.join(",");
    let with_scopes = |reply: Reply| reply.header("x-oauth-scopes", &scopes);
    let missing_scope = |needed: &str| {
        json_reply(
            200,
            json!({"ok": false, "error": "missing_scope", "needed": needed, "provided": scopes}),
        )
    };
    let arg = |name: &str| args.and_then(|a| a.get(name)).and_then(Value::as_str);
    let reply = match method {
        "auth.test" => json_reply(
            200,
            json!({"ok": true, "url": "https://acme-ops.slack.com/", "team": TEAM, "user": BOT_USER,
                   "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "B0ALARMBOT",
                   "is_enterprise_install": false}),
        ),
        "chat.postMessage" => {
            if !s.scopes.iter().any(|x| x == "chat:write") {
                return with_scopes(missing_scope("chat:write"));
            }
            let Some(args) = args.filter(|a| a.is_object()) else {
                return with_scopes(api_error("invalid_arguments"));
            };
            let channel = arg("channel").unwrap_or_default();
            if let Some(reply) = s.refused_channels.get(channel) {
                return with_scopes(reply.clone());
            }
            let Some(c) = s.channels.get(channel).cloned() else {
                return with_scopes(api_error("channel_not_found"));
            };
            if c.is_archived {
                return with_scopes(api_error("is_archived"));
            }
            if !c.is_member {
                return with_scopes(api_error("not_in_channel"));
            }
            if ["blocks", "attachments"]
                .iter()
                .any(|k| args.get(*k).is_some_and(|v| !v.is_array()))
            {
                return with_scopes(api_error("invalid_blocks"));
            }
            if !["text", "blocks", "attachments"]
                .iter()
                .any(|k| args.get(*k).is_some())
            {
                return with_scopes(api_error("no_text"));
            }
            let thread_ts = arg("thread_ts");
            if let Some(parent) = thread_ts {
                if s.messages.get(parent).is_none_or(|(c, _)| c != channel) {
                    return with_scopes(api_error("thread_not_found"));
                }
            }
            if args.get("reply_broadcast").is_some_and(|v| !v.is_boolean()) {
                return with_scopes(api_error("invalid_arguments"));
            }
            let ts = format!("1795594531.{:06}", s.next_ts);
            s.next_ts += 1;
            let mut message = json!({"type": "message", "user": BOT_USER_ID, "ts": ts});
            for key in ["text", "blocks", "attachments", "thread_ts"] {
                if let Some(v) = args.get(key) {
                    message[key] = v.clone();
                }
            }
            s.messages
                .insert(ts.clone(), (channel.to_owned(), message.clone()));
            json_reply(
                200,
                json!({"ok": true, "channel": channel, "ts": ts, "message": message}),
            )
        }
        "chat.update" => {
            let Some(args) = args.filter(|a| a.is_object()) else {
                return with_scopes(api_error("invalid_arguments"));
            };
            let (channel, ts) = (
                arg("channel").unwrap_or_default(),
                arg("ts").unwrap_or_default(),
            );
            if !s.channels.contains_key(channel) {
                return with_scopes(api_error("channel_not_found"));
            }
            let Some((posted_in, message)) = s.messages.get_mut(ts) else {
                return with_scopes(api_error("message_not_found"));
            };
            if posted_in != channel {
                return with_scopes(api_error("message_not_found"));
            }
            if ["blocks", "attachments"]
                .iter()
                .any(|k| args.get(*k).is_some_and(|v| !v.is_array()))
            {
                return with_scopes(api_error("invalid_blocks"));
            }
            // As Slack does: what is sent replaces what was there.
            for key in ["text", "blocks", "attachments"] {
                match args.get(key) {
                    Some(v) => message[key] = v.clone(),
                    None => {
                        if let Some(m) = message.as_object_mut() {
                            m.remove(key);
                        }
                    }
                }
            }
            json_reply(
                200,
                json!({"ok": true, "channel": channel, "ts": ts, "text": message["text"], "message": message}),
            )
        }
        "conversations.info" => {
            let channel = arg("channel").unwrap_or_default();
            let needed = if channel.starts_with('G') {
                "groups:read"
            } else {
                "channels:read"
            };
            if !s.scopes.iter().any(|x| x == needed) {
                return with_scopes(missing_scope(needed));
            }
            match s.channels.get(channel) {
                None => api_error("channel_not_found"),
                Some(c) => json_reply(
                    200,
                    json!({"ok": true, "channel": {
                        "id": channel, "name": c.name, "is_channel": !c.is_private,
                        "is_private": c.is_private, "is_archived": c.is_archived,
                        "is_member": c.is_member}}),
                ),
            }
        }
        "files.getUploadURLExternal" => {
            if !s.scopes.iter().any(|x| x == "files:write") {
                return with_scopes(missing_scope("files:write"));
            }
            let filename = arg("filename").unwrap_or_default().to_owned();
            let length = arg("length").and_then(|l| l.parse::<usize>().ok());
            let (false, Some(length)) = (filename.is_empty(), length.filter(|l| *l > 0)) else {
                return with_scopes(api_error("invalid_arguments"));
            };
            let id = format!("F0GRAPH{:04}", s.files.len() + 1);
            let port = s.addr.map(|a| a.port()).unwrap_or_default();
            let upload_url = format!("http://127.0.0.1:{port}{UPLOAD_PATH}{id}");
            s.files.insert(
                id.clone(),
                File {
                    filename,
                    length,
                    bytes: None,
                },
            );
            json_reply(
                200,
                json!({"ok": true, "upload_url": upload_url, "file_id": id}),
            )
        }
        "files.completeUploadExternal" => {
            if !s.scopes.iter().any(|x| x == "files:write") {
                return with_scopes(missing_scope("files:write"));
            }
            // Form fields carry `files` as a JSON string; a JSON body, as an array.
            let files: Option<Vec<Value>> = match args.and_then(|a| a.get("files")) {
                Some(Value::String(text)) => serde_json::from_str(text).ok(),
                Some(Value::Array(list)) => Some(list.clone()),
                _ => None,
            };
            let Some(files) = files.filter(|f| !f.is_empty()) else {
                return with_scopes(api_error("invalid_arguments"));
            };
            let channel = arg("channel_id").unwrap_or_default().to_owned();
            let thread_ts = arg("thread_ts").map(str::to_owned);
            match s.channels.get(&channel) {
                None => return with_scopes(api_error("channel_not_found")),
                Some(c) if !c.is_member => return with_scopes(api_error("not_in_channel")),
                _ => {}
            }
            if let Some(parent) = &thread_ts {
                if s.messages.get(parent).is_none_or(|(c, _)| *c != channel) {
                    return with_scopes(api_error("thread_not_found"));
                }
            }
            let mut done = Vec::new();
            for f in &files {
                let id = f["id"].as_str().unwrap_or_default();
                let Some(file) = s.files.get(id) else {
                    return with_scopes(api_error("file_not_found"));
                };
                // Slack refuses a file whose bytes never came, or came short.
                let Some(bytes) = file.bytes.clone().filter(|b| b.len() == file.length) else {
                    return with_scopes(api_error("file_upload_incomplete"));
                };
                done.push(SharedFile {
                    id: id.to_owned(),
                    filename: file.filename.clone(),
                    title: f["title"].as_str().map(str::to_owned),
                    channel: channel.clone(),
                    thread_ts: thread_ts.clone(),
                    bytes,
                });
            }
            let answer: Vec<Value> = done
                .iter()
                .map(|f| json!({"id": f.id, "title": f.title.clone().unwrap_or_else(|| f.filename.clone())}))
                .collect();
            s.shared.extend(done);
            json_reply(200, json!({"ok": true, "files": answer}))
        }
        "usergroups.users.list" => {
            if !s.scopes.iter().any(|sc| sc == "usergroups:read") {
                return with_scopes(api_error("missing_scope"));
            }
            match s.usergroups.get(arg("usergroup").unwrap_or_default()) {
                None => api_error("no_such_subteam"),
                Some(users) => json_reply(200, json!({"ok": true, "users": users})),
            }
        }
        _ => api_error("unknown_method"),
    };
    with_scopes(reply)
}

/// The bytes of a file, POSTed to its upload URL: Slack answers `OK - <length>`.
/// `oauth.v2.access` with `grant_type=refresh_token`: the client's credentials in the form, the
/// live refresh token spent for a new pair. The old bot token stays valid until it expires.
fn renew(s: &mut State, args: Option<&Value>) -> Reply {
    let arg = |name: &str| {
        args.and_then(|a| a.get(name))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let Some(app) = s.oauth.as_mut() else {
        return api_error("invalid_client_id");
    };
    if arg("grant_type") != "refresh_token" {
        return api_error("invalid_grant_type");
    }
    if arg("client_id") != app.client_id {
        return api_error("invalid_client_id");
    }
    if arg("client_secret") != app.client_secret {
        return api_error("bad_client_secret");
    }
    if arg("refresh_token") != app.refresh_token {
        return api_error("invalid_refresh_token");
    }
    app.issued += 1;
    let (n, expires_in) = (app.issued, app.expires_in);
    let (access, refresh) = (
        format!("xoxe.xoxb-1-RENEWED{n}TOKENSECRET"),
        format!("xoxe-1-RENEWED{n}REFRESHSECRET"),
    );
    app.refresh_token = refresh.clone();
    let old = std::mem::replace(&mut s.token, access.clone());
    s.still_valid.push(old);
    json_reply(
        200,
        json!({"ok": true, "app_id": "A0ALARMAPP", "access_token": access, "token_type": "bot",
               "scope": s.scopes.join(","), "bot_user_id": BOT_USER_ID,
               "team": {"id": TEAM_ID, "name": TEAM}, "enterprise": null,
               "is_enterprise_install": false, "refresh_token": refresh, "expires_in": expires_in}),
    )
}

fn receive_upload(s: &mut State, file_id: &str, body: &[u8]) -> Reply {
    let Some(file) = s.files.get_mut(file_id) else {
        return Reply::new(404, "Not Found");
    };
    file.bytes = Some(body.to_vec());
    Reply::new(200, format!("OK - {}", body.len())).header("content-type", "text/plain")
}
