//! A local CloudWatch that answers `GetMetricWidgetImage` (moto has no such operation) and
//! `ListTagsForResource`, in the protocol aws-sdk-cloudwatch speaks: Smithy RPC v2 CBOR, `POST
//! /service/GraniteServiceVersion20100801/operation/<Operation>`.
//! - `GetMetricWidgetImage`: a CBOR map `{MetricWidget, OutputFormat}`, answered with a CBOR
//!   map `{MetricWidgetImage: bytes}`. It records each widget.
//! - `ListTagsForResource`: a CBOR map `{ResourceARN}`, answered with a CBOR map
//!   `{Tags: [{Key, Value}]}` from the tags a test gave that ARN (none: an empty list), or with
//!   the error a test set ([`TagsFault`]). It records each ARN asked.
//!
//! - `GetMetricData`: a CBOR map `{MetricDataQueries, StartTime, EndTime, ScanBy}`, answered
//!   with `{MetricDataResults: [{Id, Label, Timestamps, Values, StatusCode}], Messages}`: for
//!   each query that returns data, a point every period from `StartTime` to `EndTime`
//!   (`ANOMALY_DETECTION_BAND` gives two series, as a band has two edges), or the error a
//!   test set. It records each request, decoded.
//!
//! It can hang past any budget.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::http::{serve, Reply, Request};

const PATH: &str = "/service/GraniteServiceVersion20100801/operation/GetMetricWidgetImage";
const TAGS_PATH: &str = "/service/GraniteServiceVersion20100801/operation/ListTagsForResource";
const DATA_PATH: &str = "/service/GraniteServiceVersion20100801/operation/GetMetricData";

/// How `ListTagsForResource` fails while a test wants it to.
#[derive(Debug, Clone)]
pub struct TagsFault {
    pub status: u16,
    /// The error's `__type`.
    pub code: &'static str,
    pub message: &'static str,
}

impl TagsFault {
    /// IAM says no: HTTP 403, `AccessDenied`.
    pub fn access_denied() -> Self {
        Self {
            status: 403,
            code: "AccessDenied",
            message: "User is not authorized to perform: cloudwatch:ListTagsForResource",
        }
    }

    /// CloudWatch fails: HTTP 500, `InternalServiceFault`.
    pub fn internal() -> Self {
        Self {
            status: 500,
            code: "InternalServiceFault",
            message: "Internal service error",
        }
    }
}

/// One `GetMetricWidgetImage` request.
#[derive(Debug, Clone)]
pub struct WidgetCall {
    /// The widget JSON the function sent.
    pub widget: Value,
    pub output_format: Option<String>,
}

#[derive(Default)]
struct State {
    calls: Vec<WidgetCall>,
    /// Any other request: its path, and why it was refused.
    refused: Vec<String>,
    delay: Duration,
    /// The bytes answered instead of the PNG (a huge image, a page of HTML).
    image: Option<Vec<u8>>,
    /// Each alarm's tags, by ARN, in order.
    tags: HashMap<String, Vec<(String, String)>>,
    /// While set, every `ListTagsForResource` is answered with it.
    tags_fault: Option<TagsFault>,
    /// The `ResourceARN` of every `ListTagsForResource` call, in order (failed ones too).
    tag_calls: Vec<String>,
    /// Every `GetMetricData` request, decoded from CBOR into JSON (timestamps as seconds).
    data_calls: Vec<Value>,
    /// While set, every `GetMetricData` is answered with it.
    data_fault: Option<TagsFault>,
}

#[derive(Clone)]
pub struct CloudWatch {
    pub addr: SocketAddr,
    /// The image every call gets.
    pub png: Vec<u8>,
    state: Arc<Mutex<State>>,
}

impl CloudWatch {
    pub async fn start() -> Self {
        let png = tiny_png();
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, image) = (state.clone(), png.clone());
        let addr = serve(move |req| {
            let reply = answer(&shared, &image, req);
            async move { reply }
        })
        .await;
        Self { addr, png, state }
    }

    /// For `AWS_ENDPOINT_URL_CLOUDWATCH`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// Every answer waits this long first.
    pub fn hang(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Every later answer carries `bytes` as its image.
    pub fn answer_with(&self, bytes: Vec<u8>) {
        self.state.lock().unwrap().image = Some(bytes);
    }

    pub fn calls(&self) -> Vec<WidgetCall> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn refused(&self) -> Vec<String> {
        self.state.lock().unwrap().refused.clone()
    }

    /// The alarm `arn` has `tags` from now on.
    pub fn set_tags(&self, arn: &str, tags: &[(&str, &str)]) {
        self.state.lock().unwrap().tags.insert(
            arn.to_owned(),
            tags.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
    }

    /// Every later `ListTagsForResource` fails with `fault` (`None`: answers again).
    pub fn fail_tags(&self, fault: Option<TagsFault>) {
        self.state.lock().unwrap().tags_fault = fault;
    }

    /// Every `GetMetricData` request, decoded, in order, answered well or not.
    pub fn data_calls(&self) -> Vec<Value> {
        self.state.lock().unwrap().data_calls.clone()
    }

    /// Every later `GetMetricData` fails with `fault` (`None`: answers again).
    pub fn fail_data(&self, fault: Option<TagsFault>) {
        self.state.lock().unwrap().data_fault = fault;
    }

    /// The ARN of every `ListTagsForResource` call, in order, answered well or not.
    pub fn tag_calls(&self) -> Vec<String> {
        self.state.lock().unwrap().tag_calls.clone()
    }
}

/// Why a request is not one this server takes: wrong method, protocol or signature.
fn protocol_problem(req: &Request) -> Option<&'static str> {
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    if req.method != hyper::Method::POST {
        Some("unknown operation")
    } else if header("smithy-protocol") != "rpc-v2-cbor" {
        Some("smithy-protocol is not rpc-v2-cbor")
    } else if header("content-type") != "application/cbor" {
        Some("content-type is not application/cbor")
    } else if !header("authorization").starts_with("AWS4-HMAC-SHA256 ") {
        Some("not signed")
    } else {
        None
    }
}

fn answer(state: &Mutex<State>, png: &[u8], req: Request) -> Reply {
    if req.uri.path() == TAGS_PATH {
        return answer_tags(state, req);
    }
    if req.uri.path() == DATA_PATH {
        return answer_data(state, req);
    }
    let mut s = state.lock().unwrap();
    let problem = if req.uri.path() != PATH {
        Some("unknown operation")
    } else {
        protocol_problem(&req)
    };
    let fields = cbor::text_map(&req.body);
    let widget = fields.as_ref().and_then(|f| {
        f.iter()
            .find(|(k, _)| k == "MetricWidget")
            .and_then(|(_, v)| serde_json::from_str::<Value>(v).ok())
    });
    let (Some(widget), None) = (widget, problem) else {
        s.refused.push(format!(
            "{}: {}",
            req.uri.path(),
            problem.unwrap_or("no MetricWidget")
        ));
        return error("ValidationError", "bad request");
    };
    let output_format = fields
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "OutputFormat")
        .map(|(_, v)| v);
    s.calls.push(WidgetCall {
        widget,
        output_format,
    });
    let mut body = Vec::new();
    cbor::map_header(&mut body, 1);
    cbor::text(&mut body, "MetricWidgetImage");
    cbor::bytes(&mut body, s.image.as_deref().unwrap_or(png));
    Reply::new(200, body)
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
        .delayed(s.delay)
}

/// `ListTagsForResource`: the ARN's tags, or the fault set.
fn answer_tags(state: &Mutex<State>, req: Request) -> Reply {
    let mut s = state.lock().unwrap();
    let arn = cbor::text_map(&req.body).and_then(|fields| {
        fields
            .into_iter()
            .find(|(k, _)| k == "ResourceARN")
            .map(|(_, v)| v)
    });
    let (Some(arn), None) = (arn, protocol_problem(&req)) else {
        let why = protocol_problem(&req).unwrap_or("no ResourceARN");
        s.refused.push(format!("{}: {why}", req.uri.path()));
        return error("ValidationError", "bad request").delayed(s.delay);
    };
    s.tag_calls.push(arn.clone());
    if let Some(f) = &s.tags_fault {
        return error_with(f.status, f.code, f.message).delayed(s.delay);
    }
    let tags = s.tags.get(&arn).cloned().unwrap_or_default();
    let mut body = Vec::new();
    cbor::map_header(&mut body, 1);
    cbor::text(&mut body, "Tags");
    cbor::array_header(&mut body, tags.len() as u64);
    for (key, value) in &tags {
        cbor::map_header(&mut body, 2);
        cbor::text(&mut body, "Key");
        cbor::text(&mut body, key);
        cbor::text(&mut body, "Value");
        cbor::text(&mut body, value);
    }
    Reply::new(200, body)
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
        .delayed(s.delay)
}

/// `GetMetricData`: a series for each query that returns data, or the fault set.
fn answer_data(state: &Mutex<State>, req: Request) -> Reply {
    let mut s = state.lock().unwrap();
    let request = cbor::value(&req.body);
    let (Some(request), None) = (request, protocol_problem(&req)) else {
        let why = protocol_problem(&req).unwrap_or("not CBOR");
        s.refused.push(format!("{}: {why}", req.uri.path()));
        return error("ValidationError", "bad request").delayed(s.delay);
    };
    s.data_calls.push(request.clone());
    if let Some(f) = &s.data_fault {
        return error_with(f.status, f.code, f.message).delayed(s.delay);
    }
    let (start, end) = (
        request["StartTime"].as_f64().unwrap_or_default() as i64,
        request["EndTime"].as_f64().unwrap_or_default() as i64,
    );
    let queries = request["MetricDataQueries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut results = Vec::new();
    for q in queries.iter().filter(|q| q["ReturnData"] != false) {
        let period = q["MetricStat"]["Period"]
            .as_i64()
            .or(q["Period"].as_i64())
            .filter(|p| *p > 0)
            .unwrap_or(300);
        let times: Vec<i64> = (start..end).step_by(period as usize).collect();
        let id = q["Id"].as_str().unwrap_or_default();
        let label = q["Label"].as_str().unwrap_or(id);
        let band = q["Expression"]
            .as_str()
            .is_some_and(|e| e.contains("ANOMALY_DETECTION_BAND"));
        let line =
            |base: f64| -> Vec<f64> { (0..times.len()).map(|i| base + 4.0 * i as f64).collect() };
        if band {
            results.push((id, label, times.clone(), line(30.0)));
            results.push((id, label, times.clone(), line(0.0)));
        } else {
            results.push((id, label, times.clone(), line(10.0)));
        }
    }
    let mut body = Vec::new();
    cbor::map_header(&mut body, 2);
    cbor::text(&mut body, "MetricDataResults");
    cbor::array_header(&mut body, results.len() as u64);
    for (id, label, times, values) in &results {
        cbor::map_header(&mut body, 5);
        cbor::text(&mut body, "Id");
        cbor::text(&mut body, id);
        cbor::text(&mut body, "Label");
        cbor::text(&mut body, label);
        cbor::text(&mut body, "Timestamps");
        cbor::array_header(&mut body, times.len() as u64);
        for t in times {
            cbor::timestamp(&mut body, *t as u64);
        }
        cbor::text(&mut body, "Values");
        cbor::array_header(&mut body, values.len() as u64);
        for v in values {
            cbor::double(&mut body, *v);
        }
        cbor::text(&mut body, "StatusCode");
        cbor::text(&mut body, "Complete");
    }
    cbor::text(&mut body, "Messages");
    cbor::array_header(&mut body, 0);
    Reply::new(200, body)
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
        .delayed(s.delay)
}

/// An RPC v2 CBOR error: HTTP 400 and `{__type, message}`.
fn error(code: &str, message: &str) -> Reply {
    error_with(400, code, message)
}

/// An RPC v2 CBOR error at `status`: `{__type, message}`.
fn error_with(status: u16, code: &str, message: &str) -> Reply {
    let mut body = Vec::new();
    cbor::map_header(&mut body, 2);
    cbor::text(&mut body, "__type");
    cbor::text(&mut body, code);
    cbor::text(&mut body, "message");
    cbor::text(&mut body, message);
    Reply::new(status, body)
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
}

/// Just enough CBOR (RFC 8949) for these operations, and for the mute rules' server
/// ([`super::mute_rules`]): any item in as JSON; maps, arrays, text, byte strings, numbers and
/// timestamps out.
pub mod cbor {
    fn head(out: &mut Vec<u8>, major: u8, n: u64) {
        let m = major << 5;
        match n {
            0..=23 => out.push(m | n as u8),
            24..=0xff => out.extend([m | 24, n as u8]),
            0x100..=0xffff => {
                out.push(m | 25);
                out.extend((n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(m | 26);
                out.extend((n as u32).to_be_bytes());
            }
            _ => {
                out.push(m | 27);
                out.extend(n.to_be_bytes());
            }
        }
    }

    pub fn map_header(out: &mut Vec<u8>, len: u64) {
        head(out, 5, len);
    }

    pub fn array_header(out: &mut Vec<u8>, len: u64) {
        head(out, 4, len);
    }

    pub fn text(out: &mut Vec<u8>, s: &str) {
        head(out, 3, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }

    pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        head(out, 2, b.len() as u64);
        out.extend_from_slice(b);
    }

    pub fn double(out: &mut Vec<u8>, x: f64) {
        out.push(0xfb);
        out.extend(x.to_be_bytes());
    }

    /// Tag 1 (epoch seconds), as Smithy's RPC v2 CBOR writes a timestamp.
    pub fn timestamp(out: &mut Vec<u8>, secs: u64) {
        head(out, 6, 1);
        head(out, 0, secs);
    }

    /// Any CBOR item as JSON: maps with text keys, arrays, text, numbers, booleans, null;
    /// a tagged item (a timestamp) as its content; byte strings as arrays of bytes. `None` for
    /// anything else, or bytes after the item.
    pub fn value(input: &[u8]) -> Option<serde_json::Value> {
        let mut at = 0;
        let v = item(input, &mut at)?;
        (at == input.len()).then_some(v)
    }

    fn item(input: &[u8], at: &mut usize) -> Option<serde_json::Value> {
        use serde_json::Value;
        let first = *input.get(*at)?;
        if first >> 5 == 7 {
            *at += 1;
            let mut float = |n: usize| -> Option<f64> {
                let b = input.get(*at..*at + n)?;
                *at += n;
                Some(match n {
                    2 => half(u16::from_be_bytes([b[0], b[1]])),
                    4 => f64::from(f32::from_be_bytes(b.try_into().ok()?)),
                    _ => f64::from_be_bytes(b.try_into().ok()?),
                })
            };
            return match first & 0x1f {
                20 => Some(Value::Bool(false)),
                21 => Some(Value::Bool(true)),
                22 | 23 => Some(Value::Null),
                25 => float(2).map(Value::from),
                26 => float(4).map(Value::from),
                27 => float(8).map(Value::from),
                _ => None,
            };
        }
        let (major, len) = read_head(input, at)?;
        let until_break = |at: &mut usize| {
            if input.get(*at) == Some(&0xff) {
                *at += 1;
                true
            } else {
                false
            }
        };
        match major {
            0 => Some(Value::from(len?)),
            1 => Some(Value::from(-1 - i64::try_from(len?).ok()?)),
            2 | 3 => {
                let mut raw = Vec::new();
                match len {
                    Some(n) => {
                        let n = usize::try_from(n).ok()?;
                        raw.extend_from_slice(input.get(*at..*at + n)?);
                        *at += n;
                    }
                    None => {
                        while !until_break(at) {
                            let (_, n) = read_head(input, at)?;
                            let n = usize::try_from(n?).ok()?;
                            raw.extend_from_slice(input.get(*at..*at + n)?);
                            *at += n;
                        }
                    }
                }
                if major == 3 {
                    Some(Value::from(String::from_utf8(raw).ok()?))
                } else {
                    Some(Value::from(raw))
                }
            }
            4 => {
                let mut items = Vec::new();
                match len {
                    Some(n) => {
                        for _ in 0..n {
                            items.push(item(input, at)?);
                        }
                    }
                    None => {
                        while !until_break(at) {
                            items.push(item(input, at)?);
                        }
                    }
                }
                Some(Value::Array(items))
            }
            5 => {
                let mut map = serde_json::Map::new();
                let mut pair = |at: &mut usize| -> Option<()> {
                    let key = item(input, at)?.as_str()?.to_owned();
                    let value = item(input, at)?;
                    map.insert(key, value);
                    Some(())
                };
                match len {
                    Some(n) => {
                        for _ in 0..n {
                            pair(at)?;
                        }
                    }
                    None => {
                        while !until_break(at) {
                            pair(at)?;
                        }
                    }
                }
                Some(Value::Object(map))
            }
            6 => item(input, at),
            _ => None,
        }
    }

    /// An IEEE 754 half-precision float.
    fn half(bits: u16) -> f64 {
        let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
        let exponent = i32::from((bits >> 10) & 0x1f);
        let fraction = f64::from(bits & 0x3ff);
        sign * match exponent {
            0 => fraction * 2f64.powi(-24),
            31 if fraction == 0.0 => f64::INFINITY,
            31 => f64::NAN,
            e => (1.0 + fraction / 1024.0) * 2f64.powi(e - 15),
        }
    }

    /// The major type and argument at `at`; `None` for an indefinite length.
    fn read_head(input: &[u8], at: &mut usize) -> Option<(u8, Option<u64>)> {
        let first = *input.get(*at)?;
        *at += 1;
        let (major, info) = (first >> 5, first & 0x1f);
        let mut take = |n: usize| -> Option<u64> {
            let b = input.get(*at..*at + n)?;
            *at += n;
            Some(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
        };
        let arg = match info {
            0..=23 => Some(u64::from(info)),
            24 => Some(take(1)?),
            25 => Some(take(2)?),
            26 => Some(take(4)?),
            27 => Some(take(8)?),
            31 => None,
            _ => return None,
        };
        Some((major, arg))
    }

    fn read_text(input: &[u8], at: &mut usize) -> Option<String> {
        let (major, len) = read_head(input, at)?;
        let len = usize::try_from(len?).ok()?;
        if major != 3 {
            return None;
        }
        let s = std::str::from_utf8(input.get(*at..*at + len)?).ok()?;
        *at += len;
        Some(s.to_owned())
    }

    /// A map of text keys to text values, definite or indefinite, and nothing after it.
    pub fn text_map(input: &[u8]) -> Option<Vec<(String, String)>> {
        let mut at = 0;
        let (major, len) = read_head(input, &mut at)?;
        if major != 5 {
            return None;
        }
        let mut pairs = Vec::new();
        loop {
            match len {
                Some(n) if pairs.len() as u64 == n => break,
                None if input.get(at) == Some(&0xff) => {
                    at += 1;
                    break;
                }
                _ => {}
            }
            let key = read_text(input, &mut at)?;
            let value = read_text(input, &mut at)?;
            pairs.push((key, value));
        }
        (at == input.len()).then_some(pairs)
    }

    #[test]
    fn round_trip() {
        let mut out = Vec::new();
        map_header(&mut out, 1);
        text(&mut out, "MetricWidget");
        text(&mut out, &"x".repeat(300));
        assert_eq!(
            text_map(&out),
            Some(vec![("MetricWidget".into(), "x".repeat(300))])
        );
        // The SDK's encoder writes indefinite-length maps.
        let mut out = vec![0xbf];
        text(&mut out, "OutputFormat");
        text(&mut out, "png");
        out.push(0xff);
        assert_eq!(
            text_map(&out),
            Some(vec![("OutputFormat".into(), "png".into())])
        );
        let mut out = vec![0xbf];
        text(&mut out, "When");
        timestamp(&mut out, 1_764_000_000);
        text(&mut out, "Values");
        array_header(&mut out, 2);
        double(&mut out, 1.5);
        out.extend([0xf9, 0x3c, 0x00]);
        out.push(0xff);
        assert_eq!(
            value(&out),
            Some(serde_json::json!({"When": 1_764_000_000u64, "Values": [1.5, 1.0]}))
        );
    }
}

/// A valid 2×2 PNG (8-bit greyscale), built here: signature, IHDR, IDAT (zlib with one stored
/// block), IEND, each chunk with its CRC.
pub fn tiny_png() -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend(crc32(&body).to_be_bytes());
    }
    // Two rows, each a filter byte (none) and two pixels.
    let raw = [0u8, 0x00, 0xff, 0, 0xff, 0x00];
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend((raw.len() as u16).to_le_bytes());
    zlib.extend((!(raw.len() as u16)).to_le_bytes());
    zlib.extend_from_slice(&raw);
    zlib.extend(((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(2u32.to_be_bytes());
    ihdr.extend(2u32.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}
