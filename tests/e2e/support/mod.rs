//! Real local parts for end-to-end tests: moto, a Slack server, a Lambda Runtime API.

pub mod cloudwatch;
pub mod http;
pub mod mute_rules;
pub mod proxy;
pub mod runtime;
pub mod secrets;
pub mod slack;
pub mod slack_api;
pub mod tls;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

pub use runtime::{Function, Outcome, Runtime};
pub use secrets::{Fault, SecretsProxy};
pub use slack::Slack;

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The Python that runs moto: `MOTO_PYTHON`, the repo's `.venv`, or `python3`.
pub fn python() -> String {
    if let Ok(p) = std::env::var("MOTO_PYTHON") {
        return p;
    }
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
    if std::path::Path::new(venv).exists() {
        return venv.into();
    }
    "python3".into()
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

pub fn event(name: &str) -> Value {
    let path = format!("{}/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

/// An SNS event with one record per `(message_id, message)`.
pub fn sns_event(messages: &[(&str, &str)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, message)| {
            serde_json::json!({
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:alarms:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": id,
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
                    "Subject": "test",
                    "Message": message,
                    "Timestamp": "2026-11-20T08:15:31.123Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {}
                }
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

pub fn alarm_message(name: &str, state: &str) -> String {
    serde_json::json!({
        "AlarmName": name,
        "AlarmDescription": null,
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 1 datapoint [95.0] was greater than the threshold (80.0).",
        "StateChangeTime": "2026-11-20T08:15:30.852+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "CPUUtilization", "Namespace": "AWS/EC2", "Statistic": "AVERAGE", "Period": 300,
                    "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 80.0}
    })
    .to_string()
}

/// Everything one end-to-end test needs, wired together.
pub struct Harness {
    pub slack: Slack,
    pub secrets: SecretsProxy,
    pub runtime: Runtime,
    pub function: Function,
    pub secret_id: String,
    pub admin: aws_sdk_secretsmanager::Client,
    pub hook_path: String,
}

/// Builds a secret's value from the webhook URL.
pub type SecretValue = Box<dyn Fn(&str) -> String>;

pub struct Options {
    /// `None`: create no secret.
    pub secret: Option<SecretValue>,
    pub env: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            secret: Some(Box::new(|url| {
                serde_json::json!({"SLACK_HOOK_URL": url, "SLACK_CHANNEL": "#oncall-secret-channel"}).to_string()
            })),
            env: vec![("RUST_LOG", "info".into())],
        }
    }
}

impl Harness {
    pub async fn start(options: Options) -> Self {
        Self::start_with(options, Slack::start().await, SecretsProxy::start().await).await
    }

    /// As [`Harness::start`], with Slack and Secrets Manager already started (over TLS, say).
    pub async fn start_with(options: Options, slack: Slack, secrets: SecretsProxy) -> Self {
        let runtime = Runtime::start().await;
        let admin = secrets::admin_client();
        let secret_id = unique("slack/webhook");
        let hook_path = format!("/services/T0TEST/B0TEST/{}", unique("hooksecret"));
        if let Some(value) = &options.secret {
            admin
                .create_secret()
                .name(&secret_id)
                .secret_string(value(&slack.url(&hook_path)))
                .send()
                .await
                .expect("create secret in moto");
        }
        let mut env: Vec<(String, String)> = vec![
            ("SecretId".into(), secret_id.clone()),
            ("AWS_ENDPOINT_URL".into(), secrets.url()),
            ("SLACK_WEBHOOK_HOSTS".into(), "127.0.0.1".into()),
            // moto draws no graphs; tests of the graph turn it on with a local CloudWatch.
            ("METRIC_GRAPHS".into(), "false".into()),
        ];
        env.extend(options.env.into_iter().map(|(k, v)| (k.to_owned(), v)));
        let function = Function::spawn(&runtime, &env);
        Self {
            slack,
            secrets,
            runtime,
            function,
            secret_id,
            admin,
            hook_path,
        }
    }

    pub async fn invoke(&self, event: Value) -> (Outcome, Duration) {
        self.runtime.invoke(event, TIMEOUT).await
    }

    pub async fn put_secret(&self, value: String) {
        self.admin
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(value)
            .send()
            .await
            .expect("put secret");
    }
}

/// An SNS notification as SNS delivers it to a subscribed queue (raw delivery off).
pub fn sns_envelope(message_id: &str, subject: &str, message: &str) -> String {
    serde_json::json!({
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
        "Subject": subject,
        "Message": message,
        "Timestamp": "2026-11-20T08:15:31.123Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    })
    .to_string()
}

/// An SQS event with one record per `(message_id, body)`.
pub fn sqs_event(records: &[(String, String)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            serde_json::json!({
                "messageId": id,
                "receiptHandle": format!("AQEB{id}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795594531123",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795594531130"
                },
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:slack-alarm-notifier-queue",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// An alarm message in `account` and `namespace`, changed to `state` at `time`.
pub fn alarm_message_in(
    name: &str,
    state: &str,
    account: &str,
    namespace: &str,
    time: &str,
) -> String {
    serde_json::json!({
        "AlarmName": name,
        "AlarmDescription": null,
        "AWSAccountId": account,
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 1 datapoint [95.0] was greater than the threshold (80.0).",
        "StateChangeTime": time,
        "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:{account}:alarm:{name}"),
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "Errors", "Namespace": namespace, "Statistic": "SUM", "Period": 60,
                    "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1.0,
                    "Dimensions": []}
    })
    .to_string()
}
