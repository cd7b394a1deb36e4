//! A local CloudWatch for alarm mute rules (moto has none): `PutAlarmMuteRule` and
//! `DeleteAlarmMuteRule` in the protocol aws-sdk-cloudwatch speaks, Smithy RPC v2 CBOR
//! (`POST /service/GraniteServiceVersion20100801/operation/<Operation>`, signed). It keeps the
//! rules by name, records every request as JSON, and can fail or hang while a test wants it to.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};

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
    let mut body = vec![0xa2];
    for text in ["__type", code, "message", "refused by the test"] {
        put_text(&mut body, text);
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
    let cbor = req
        .headers
        .get("smithy-protocol")
        .and_then(|v| v.to_str().ok())
        == Some("rpc-v2-cbor");
    let input = decode(&req.body).unwrap_or(Value::Null);
    s.calls.push(MuteCall {
        operation: operation.clone(),
        input: input.clone(),
    });
    let delay = s.delay;
    if !signed || !cbor || !input.is_object() {
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

fn put_text(out: &mut Vec<u8>, text: &str) {
    let n = text.len();
    match n {
        0..=23 => out.push(0x60 | n as u8),
        24..=0xff => out.extend([0x78, n as u8]),
        _ => {
            out.push(0x79);
            out.extend((n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(text.as_bytes());
}

/// CBOR (RFC 8949) as JSON: maps, arrays, text, numbers, booleans, and a timestamp (tag 1)
/// as its number. Anything else, or bytes left over, is `None`.
pub fn decode(input: &[u8]) -> Option<Value> {
    let mut at = 0;
    let value = item(input, &mut at)?;
    (at == input.len()).then_some(value)
}

fn argument(input: &[u8], at: &mut usize, info: u8) -> Option<Option<u64>> {
    let mut take = |n: usize| -> Option<u64> {
        let bytes = input.get(*at..*at + n)?;
        *at += n;
        Some(bytes.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b)))
    };
    Some(match info {
        0..=23 => Some(u64::from(info)),
        24 => Some(take(1)?),
        25 => Some(take(2)?),
        26 => Some(take(4)?),
        27 => Some(take(8)?),
        31 => None,
        _ => return None,
    })
}

fn item(input: &[u8], at: &mut usize) -> Option<Value> {
    let first = *input.get(*at)?;
    *at += 1;
    let (major, info) = (first >> 5, first & 0x1f);
    if major == 7 {
        return simple(input, at, info);
    }
    let arg = argument(input, at, info)?;
    match major {
        0 => Some(json!(arg?)),
        1 => Some(json!(-1 - i64::try_from(arg?).ok()?)),
        3 => {
            let len = usize::try_from(arg?).ok()?;
            let text = std::str::from_utf8(input.get(*at..*at + len)?).ok()?;
            *at += len;
            Some(Value::String(text.to_owned()))
        }
        4 => {
            let mut items = Vec::new();
            while !end(input, at, arg, items.len()) {
                items.push(item(input, at)?);
            }
            Some(Value::Array(items))
        }
        5 => {
            let mut map = Map::new();
            while !end(input, at, arg, map.len()) {
                let Value::String(key) = item(input, at)? else {
                    return None;
                };
                map.insert(key, item(input, at)?);
            }
            Some(Value::Object(map))
        }
        6 => item(input, at),
        _ => None,
    }
}

/// Whether a container of `len` items (`None`: indefinite) ends here, after `count`.
fn end(input: &[u8], at: &mut usize, len: Option<u64>, count: usize) -> bool {
    match len {
        Some(n) => count as u64 == n,
        None if input.get(*at) == Some(&0xff) => {
            *at += 1;
            true
        }
        None => false,
    }
}

fn simple(input: &[u8], at: &mut usize, info: u8) -> Option<Value> {
    let mut float = |n: usize| -> Option<[u8; 8]> {
        let bytes = input.get(*at..*at + n)?;
        *at += n;
        let mut out = [0u8; 8];
        out[..n].copy_from_slice(bytes);
        Some(out)
    };
    match info {
        20 => Some(Value::Bool(false)),
        21 => Some(Value::Bool(true)),
        22 | 23 => Some(Value::Null),
        26 => {
            let b = float(4)?;
            Some(json!(f32::from_be_bytes([b[0], b[1], b[2], b[3]])))
        }
        27 => Some(json!(f64::from_be_bytes(float(8)?))),
        _ => None,
    }
}

#[test]
fn decodes_what_the_sdk_writes() {
    // {"Name": "r", "ExpireDate": 1(1.5e9), "MuteTargets": {"AlarmNames": ["a"]}} with an
    // indefinite outer map, as the SDK's encoder writes.
    let mut body = vec![0xbf];
    put_text(&mut body, "Name");
    put_text(&mut body, "r");
    put_text(&mut body, "ExpireDate");
    body.extend([0xc1, 0xfb]);
    body.extend(1.5e9f64.to_be_bytes());
    put_text(&mut body, "MuteTargets");
    body.push(0xa1);
    put_text(&mut body, "AlarmNames");
    body.push(0x81);
    put_text(&mut body, "a");
    body.push(0xff);
    assert_eq!(
        decode(&body),
        Some(json!({"Name": "r", "ExpireDate": 1.5e9, "MuteTargets": {"AlarmNames": ["a"]}}))
    );
    assert_eq!(decode(&[0xbf]), None);
}
