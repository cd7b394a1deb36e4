//! moto's Secrets Manager, started once per test binary, behind a per-test counting proxy.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use std::io::{BufRead, BufReader};

use super::http::{serve, serve_tls, Reply, Request};
use super::tls::TestCa;

/// The moto server's port. The Python process exits when this test process closes its stdin.
pub fn moto_port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/moto_server.py");
        let mut child = std::process::Command::new(super::python())
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto (pip install 'moto[server]', or set MOTO_PYTHON)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read moto's port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("moto printed {line:?}, not a port"));
        // The pipe stays open for the life of this process; when it closes, moto exits.
        std::mem::forget(child.stdin.take());
        std::mem::forget(child);
        port
    })
}

/// An SDK client straight to moto, for setting secrets up (not counted).
pub fn admin_client() -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(format!("http://127.0.0.1:{}", moto_port()))
        .http_client(slack_alarm_notifier::sdk_http_client(
            slack_alarm_notifier::tls_config(None).expect("built-in roots"),
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// A fault to answer GetSecretValue with instead of forwarding it.
#[derive(Clone, Debug, Default)]
pub struct Fault {
    pub status: u16,
    pub code: &'static str,
    pub message: &'static str,
    /// Sent as the whole body instead of an AWS error document.
    pub raw_body: Option<String>,
}

/// Forwards Secrets Manager calls to moto, counting GetSecretValue and injecting faults.
#[derive(Clone)]
pub struct SecretsProxy {
    pub addr: SocketAddr,
    get_calls: Arc<AtomicUsize>,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    always: Arc<Mutex<Option<Fault>>>,
    /// The `X-Amzn-Trace-Id` header of every GetSecretValue call ("" when absent).
    pub trace_ids: Arc<Mutex<Vec<String>>>,
    /// A fault for every DynamoDB call (`X-Amz-Target` starting `DynamoDB_`).
    dynamodb_fault: Arc<Mutex<Option<Fault>>>,
    /// A fault for every call of one Secrets Manager operation but GetSecretValue, by name.
    operation_faults: Arc<Mutex<HashMap<String, Fault>>>,
    tls: bool,
}

impl SecretsProxy {
    pub async fn start() -> Self {
        Self::start_on(None).await
    }

    /// The proxy over HTTPS, with a certificate signed by `ca`.
    pub async fn start_tls(ca: &TestCa) -> Self {
        Self::start_on(Some(ca)).await
    }

    async fn start_on(ca: Option<&TestCa>) -> Self {
        let get_calls = Arc::new(AtomicUsize::new(0));
        let faults: Arc<Mutex<VecDeque<Fault>>> = Arc::default();
        let always: Arc<Mutex<Option<Fault>>> = Arc::default();
        let trace_ids: Arc<Mutex<Vec<String>>> = Arc::default();
        let traces = trace_ids.clone();
        let dynamodb_fault: Arc<Mutex<Option<Fault>>> = Arc::default();
        let dynamo = dynamodb_fault.clone();
        let operation_faults: Arc<Mutex<HashMap<String, Fault>>> = Arc::default();
        let operations = operation_faults.clone();
        let moto = format!("http://127.0.0.1:{}", moto_port());
        let client = reqwest::Client::new();
        let (calls, queued, fixed) = (get_calls.clone(), faults.clone(), always.clone());
        let handler = move |req: Request| {
            let (calls, queued, fixed, client, moto, traces, dynamo, operations) = (
                calls.clone(),
                queued.clone(),
                fixed.clone(),
                client.clone(),
                moto.clone(),
                traces.clone(),
                dynamo.clone(),
                operations.clone(),
            );
            async move {
                let target = req
                    .headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if target.starts_with("DynamoDB_") {
                    if let Some(f) = dynamo.lock().unwrap().clone() {
                        let body = format!(
                            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{}","message":"{}"}}"#,
                            f.code, f.message
                        );
                        return Reply::new(f.status, body)
                            .header("content-type", "application/x-amz-json-1.0");
                    }
                }
                let operation = target.strip_prefix("secretsmanager.").unwrap_or_default();
                if let Some(f) = operations.lock().unwrap().get(operation).cloned() {
                    let body = format!(r#"{{"__type":"{}","message":"{}"}}"#, f.code, f.message);
                    return Reply::new(f.status, body)
                        .header("content-type", "application/x-amz-json-1.1")
                        .header("x-amzn-errortype", f.code);
                }
                if target == "secretsmanager.GetSecretValue" {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let trace = req
                        .headers
                        .get("x-amzn-trace-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    traces.lock().unwrap().push(trace.to_owned());
                    let fault = queued
                        .lock()
                        .unwrap()
                        .pop_front()
                        .or_else(|| fixed.lock().unwrap().clone());
                    if let Some(Fault {
                        status,
                        raw_body: Some(body),
                        ..
                    }) = &fault
                    {
                        return Reply::new(*status, body.clone())
                            .header("content-type", "application/x-amz-json-1.1");
                    }
                    if let Some(f) = fault {
                        let body =
                            format!(r#"{{"__type":"{}","message":"{}"}}"#, f.code, f.message);
                        return Reply::new(f.status, body)
                            .header("content-type", "application/x-amz-json-1.1")
                            .header("x-amzn-errortype", f.code);
                    }
                }
                let mut forward = client.request(
                    req.method.clone(),
                    format!(
                        "{moto}{}",
                        req.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
                    ),
                );
                for (k, v) in &req.headers {
                    if k != "host" && k != "content-length" {
                        forward = forward.header(k, v);
                    }
                }
                let response = forward
                    .body(req.body.to_vec())
                    .send()
                    .await
                    .expect("moto answers");
                let status = response.status().as_u16();
                let headers: Vec<(String, String)> = response
                    .headers()
                    .iter()
                    .filter(|(k, _)| {
                        *k != "content-length" && *k != "transfer-encoding" && *k != "connection"
                    })
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                    .collect();
                let body = response.bytes().await.unwrap_or_default().to_vec();
                let mut reply = Reply::new(status, body);
                reply.headers = headers;
                reply
            }
        };
        let addr = match ca {
            None => serve(handler).await,
            Some(ca) => serve_tls(ca.acceptor(), handler).await,
        };
        Self {
            addr,
            get_calls,
            faults,
            always,
            trace_ids,
            dynamodb_fault,
            operation_faults,
            tls: ca.is_some(),
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.addr.port())
    }

    pub fn get_calls(&self) -> usize {
        self.get_calls.load(Ordering::SeqCst)
    }

    pub fn fail_next(&self, fault: Fault) {
        self.faults.lock().unwrap().push_back(fault);
    }

    pub fn fail_always(&self, fault: Fault) {
        *self.always.lock().unwrap() = Some(fault);
    }

    /// Answers every DynamoDB call with `fault` instead of forwarding it.
    /// Every call of Secrets Manager's `operation` (e.g. `PutSecretValue`) fails with `fault`.
    pub fn fail_operation(&self, operation: &str, fault: Fault) {
        self.operation_faults
            .lock()
            .unwrap()
            .insert(operation.into(), fault);
    }

    /// Secrets Manager's `operation` reaches moto again.
    pub fn heal_operation(&self, operation: &str) {
        self.operation_faults.lock().unwrap().remove(operation);
    }

    pub fn fail_dynamodb(&self, fault: Fault) {
        *self.dynamodb_fault.lock().unwrap() = Some(fault);
    }
}

/// A DynamoDB client straight to moto, for creating and reading the threads table.
pub fn dynamodb_admin() -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .endpoint_url(format!("http://127.0.0.1:{}", moto_port()))
        .http_client(slack_alarm_notifier::sdk_http_client(
            slack_alarm_notifier::tls_config(None).expect("built-in roots"),
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Creates a threads table in moto as infra/ does: partition key `pk` (string), TTL on
/// `expires_at`. Returns its name, unique to the test.
pub async fn create_threads_table() -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let name = super::unique("threads");
    let admin = dynamodb_admin();
    admin
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create the threads table in moto");
    admin
        .update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL");
    name
}
