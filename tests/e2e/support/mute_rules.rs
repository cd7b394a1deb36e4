//! A local CloudWatch for alarm mute rules (moto has none): `PutAlarmMuteRule` and
//! `DeleteAlarmMuteRule` in the protocol aws-sdk-cloudwatch speaks, Smithy RPC v2 CBOR
//! (`POST /service/GraniteServiceVersion20100801/operation/<Operation>`, signed). It keeps the
//! rules by name, records every request as JSON, and can fail or hang while a test wants it to.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::cloudwatch::cbor;
use super::http::{serve, Reply, Request};

const PREFIX: &str = "/service/GraniteServiceVersion20100801/operation/";

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct MuteCall {
    pub operation: String,
    /// The CBOR body as JSON (a timestamp as its epoch seconds).
    pub input: Value,
}

#[derive(Default)]
struct State {
    rules: BTreeMap<String, Value>,
    calls: Vec<MuteCall>,
    /// While set, every request is answered with this status and `__type`.
    fault: Option<(u16, String)>,
    delay: Duration,
}

#[derive(Clone)]
pub struct MuteRules {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl MuteRules {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let addr = serve(move |req| {
            let reply = answer(&shared, &req);
            async move { reply }
        })
        .await;
        Self { addr, state }
    }

    /// For `AWS_ENDPOINT_URL_CLOUDWATCH`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    pub fn calls(&self) -> Vec<MuteCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The rules that exist now, by name.
    pub fn rules(&self) -> BTreeMap<String, Value> {
        self.state.lock().unwrap().rules.clone()
    }

    /// Every later request fails with `status` and `code` (`None`: answers again).
    pub fn fail(&self, fault: Option<(u16, &str)>) {
        self.state.lock().unwrap().fault = fault.map(|(s, c)| (s, c.to_owned()));
    }

    /// Every later answer waits this long first (the request is still acted on).
    pub fn hang(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }
}

fn cbor_reply(status: u16, body: Vec<u8>) -> Reply {
    Reply::new(status, body)
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
}

fn error(status: u16, code: &str) -> Reply {
    let mut body = Vec::new();
    cbor::map_header(&mut body, 2);
    for text in ["__type", code, "message", "refused by the test"] {
        cbor::text(&mut body, text);
    }
    cbor_reply(status, body)
}

fn answer(state: &Mutex<State>, req: &Request) -> Reply {
    let mut s = state.lock().unwrap();
    let operation = req
        .uri
        .path()
        .strip_prefix(PREFIX)
        .unwrap_or_default()
        .to_owned();
    let signed = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    let is_cbor = req
        .headers
        .get("smithy-protocol")
        .and_then(|v| v.to_str().ok())
        == Some("rpc-v2-cbor");
    let input = cbor::value(&req.body).unwrap_or(Value::Null);
    s.calls.push(MuteCall {
        operation: operation.clone(),
        input: input.clone(),
    });
    let delay = s.delay;
    if !signed || !is_cbor || !input.is_object() {
        return error(400, "ValidationException").delayed(delay);
    }
    if let Some((status, code)) = s.fault.clone() {
        return error(status, &code).delayed(delay);
    }
    let name = |key: &str| input[key].as_str().unwrap_or_default().to_owned();
    let reply = match operation.as_str() {
        "PutAlarmMuteRule" => {
            s.rules.insert(name("Name"), input.clone());
            cbor_reply(200, vec![0xa0])
        }
        "DeleteAlarmMuteRule" => match s.rules.remove(&name("AlarmMuteRuleName")) {
            Some(_) => cbor_reply(200, vec![0xa0]),
            None => error(404, "ResourceNotFoundException"),
        },
        _ => error(400, "UnknownOperationException"),
    };
    reply.delayed(delay)
}
