//! The DynamoDB table of incident threads (`THREADS_TABLE`): an item per alarm (see
//! [`crate::incident`]) and an item per delivered SNS message, each written conditionally so
//! that instances racing on the same alarm or message agree, and each expiring after a week.
//!
//! Every call is bounded by the invocation's deadline, less the time kept for Slack: the table
//! is a nicety, and its failure must never cost a notification. Only GetItem and PutItem are
//! used (the grants infra/ gives): what is dropped is overwritten, not deleted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::threads::incident::{AlarmRef, Mark, Thread, ITEM_TTL};

/// One call may take this long at most by default, retries included (the SDK's operation
/// timeout; `THREADS_TIMEOUT_SECONDS`).
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// One attempt of a call that may take `call` (the SDK's attempt timeout): room for two
/// attempts and the backoff between them.
pub(crate) fn attempt_timeout(call: Duration) -> Duration {
    call.mul_f64(0.35)
}
/// Attempts per call, and the backoff between them (throttling, 5xx, connection errors).
pub(crate) const MAX_ATTEMPTS: u32 = 2;
pub(crate) const BACKOFF: Duration = Duration::from_millis(100);
/// The SDK's operation timeout fires first, with its cause; this one is the backstop.
const BACKSTOP: Duration = Duration::from_millis(250);
/// Time left for Slack: a call that would eat into it is not made.
const SLACK_RESERVE: Duration = Duration::from_secs(2);
/// A call with less time than this is not started.
const MIN_CALL: Duration = Duration::from_millis(50);
/// The longest a message's claim holds: less than the minute Lambda waits before it retries
/// a failed asynchronous invocation, so a retry after a crash never finds the claim still
/// held, whatever the function's timeout.
pub(crate) const CLAIM_LEASE: Duration = Duration::from_secs(50);

/// Why the table could not be used. Never carries the SDK's error, whose raw response holds
/// items (alarm names, channels).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ThreadsError {
    /// DynamoDB answered with an error (`ResourceNotFoundException`, throttling, access
    /// denied …) or could not be reached. `code` is AWS's code, or what went wrong; `detail`
    /// a short, safe description.
    #[error("DynamoDB {operation} on table {table}: {code}{}", detail_suffix(.detail))]
    Aws {
        operation: &'static str,
        table: String,
        code: String,
        detail: String,
    },
    /// The call did not finish in the time the invocation could spare.
    #[error("DynamoDB {operation} on table {table} did not finish in time")]
    Timeout {
        operation: &'static str,
        table: String,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// The threads table.
pub(crate) struct ThreadStore {
    client: Client,
    table: String,
    call_timeout: Duration,
    /// Time a call leaves for Slack before the deadline it is given.
    reserve: Duration,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl ThreadStore {
    pub(crate) fn new(client: Client, table: String, call_timeout: Duration) -> Self {
        Self {
            client,
            table,
            call_timeout,
            reserve: SLACK_RESERVE,
        }
    }

    /// A store whose calls may run to the deadline they are given: for callers whose
    /// deadlines already leave Slack its time (a click's budget).
    pub(crate) fn without_slack_reserve(self) -> Self {
        Self {
            reserve: Duration::ZERO,
            ..self
        }
    }

    /// Runs one SDK call within the time the invocation can spare; `Ok(false)` when DynamoDB
    /// refused it for its condition.
    async fn run<T, E, F>(
        &self,
        operation: &'static str,
        deadline: Instant,
        call: F,
    ) -> Result<Option<T>, ThreadsError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        F: std::future::Future<Output = Result<T, SdkError<E>>>,
    {
        let timeout = || ThreadsError::Timeout {
            operation,
            table: self.table.clone(),
        };
        let left = deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(self.reserve)
            .min(self.call_timeout + BACKSTOP);
        if left < MIN_CALL {
            return Err(timeout());
        }
        match tokio::time::timeout(left, call).await {
            Err(_) => Err(timeout()),
            Ok(Ok(output)) => Ok(Some(output)),
            Ok(Err(e)) if e.code() == Some("ConditionalCheckFailedException") => Ok(None),
            Ok(Err(e)) => {
                let (code, detail) = crate::net::describe_sdk_error(&e);
                Err(ThreadsError::Aws {
                    operation,
                    table: self.table.clone(),
                    code,
                    detail,
                })
            }
        }
    }

    /// Records SNS message `id` as being delivered by invocation `owner` until `lease_until`
    /// (epoch seconds, at most [`CLAIM_LEASE`] from `now`); `false` when another delivery has
    /// it: delivered, or another invocation's claim within its lease. A claim whose invocation
    /// died lapses with its lease; Lambda's retry of that invocation (the same request id)
    /// takes it over at once. An item that is not a claim as this function writes them (no
    /// lease, a lease of another type, or one further off than a lease can be) holds nothing.
    pub(crate) async fn claim_message(
        &self,
        id: &str,
        owner: &str,
        now: u64,
        lease_until: u64,
        deadline: Instant,
    ) -> Result<bool, ThreadsError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&format!("msg#{id}")))
            .item("claimed_at", n(now))
            .item("claimed_by", s(owner))
            .item("lease_until", n(lease_until))
            .item("expires_at", n(now + ITEM_TTL.as_secs()))
            .condition_expression(
                "attribute_not_exists(pk) OR released = :yes OR NOT (delivered = :yes \
                 OR (lease_until BETWEEN :now AND :latest AND NOT (claimed_by = :me)))",
            )
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":latest", n(now + CLAIM_LEASE.as_secs()))
            .expression_attribute_values(":me", s(owner))
            .send();
        Ok(self.run("PutItem", deadline, put).await?.is_some())
    }

    /// Records message `id` as delivered: its claim then holds for good (until the TTL).
    pub(crate) async fn mark_delivered(
        &self,
        id: &str,
        now: u64,
        deadline: Instant,
    ) -> Result<(), ThreadsError> {
        self.settle_message(id, "delivered", now, deadline).await
    }

    /// Releases message `id`, so that Lambda's retry of a failed delivery posts it.
    pub(crate) async fn release_message(
        &self,
        id: &str,
        now: u64,
        deadline: Instant,
    ) -> Result<(), ThreadsError> {
        self.settle_message(id, "released", now, deadline).await
    }

    /// Replaces message `id`'s claim with how it ended: `delivered` or `released`.
    async fn settle_message(
        &self,
        id: &str,
        outcome: &'static str,
        now: u64,
        deadline: Instant,
    ) -> Result<(), ThreadsError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&format!("msg#{id}")))
            .item(outcome, AttributeValue::Bool(true))
            .item("expires_at", n(now + ITEM_TTL.as_secs()))
            .send();
        self.run("PutItem", deadline, put).await.map(|_| ())
    }

    /// The thread stored under `key`, read consistently. An item that is not a thread as
    /// this function writes them is as good as none (a warning says so): with a version that
    /// can be read, it comes back expired, so the next write replaces it under that version;
    /// without one, as absent, which a write without a version may replace.
    pub(crate) async fn load(
        &self,
        key: &str,
        deadline: Instant,
    ) -> Result<Option<Thread>, ThreadsError> {
        let get = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .consistent_read(true)
            .send();
        let output = self.run("GetItem", deadline, get).await?;
        let Some(item) = output.and_then(|o| o.item) else {
            return Ok(None);
        };
        match from_item(&item) {
            Ok(thread) => Ok(Some(thread)),
            Err(problem) => {
                let version = item
                    .get("version")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                tracing::warn!(table = %self.table, key, problem, "an item in the threads table is not a thread; treated as absent");
                Ok(version.map(Thread::unreadable))
            }
        }
    }

    /// Writes `thread` under `key` if the item is still at `expected` (`None`: if there is no
    /// item); `false` when another instance wrote first.
    pub(crate) async fn save(
        &self,
        key: &str,
        thread: &Thread,
        expected: Option<u64>,
        deadline: Instant,
    ) -> Result<bool, ThreadsError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(key, thread)));
        put = match expected {
            None => put
                .condition_expression(
                    "attribute_not_exists(pk) OR NOT attribute_type(version, :number)",
                )
                .expression_attribute_values(":number", s("N")),
            Some(v) => put
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(v)),
        };
        Ok(self.run("PutItem", deadline, put.send()).await?.is_some())
    }

    /// Drops `claim` (stored under `key`), whose parent could not be posted: it is written
    /// back as long abandoned, so the next ALARM opens the thread afresh at once.
    pub(crate) async fn abandon(
        &self,
        key: &str,
        claim: &Thread,
        deadline: Instant,
    ) -> Result<(), ThreadsError> {
        let abandoned = Thread {
            claimed_at: 0,
            version: claim.version + 1,
            ..claim.clone()
        };
        self.save(key, &abandoned, Some(claim.version), deadline)
            .await
            .map(|_| ())
    }
}

fn to_item(key: &str, t: &Thread) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        ("pk".to_owned(), s(key)),
        ("channel".to_owned(), s(&t.channel)),
        ("opened_at".to_owned(), n(t.opened_at)),
        ("alarms".to_owned(), n(t.alarms.into())),
        ("cycles".to_owned(), n(t.cycles.into())),
        ("version".to_owned(), n(t.version)),
        ("claimed_at".to_owned(), n(t.claimed_at)),
        ("expires_at".to_owned(), n(t.expires_at)),
    ]);
    if let Some(ts) = &t.ts {
        item.insert("ts".into(), s(ts));
    }
    if let Some(at) = t.resolved_at {
        item.insert("resolved_at".into(), n(at));
    }
    if let Some(parent) = &t.parent {
        item.insert("parent".into(), s(parent));
    }
    if let Some(alarm) = &t.alarm {
        item.insert("alarm_name".into(), s(&alarm.name));
        for (key, value) in [
            ("alarm_account", &alarm.account),
            ("alarm_region", &alarm.region),
        ] {
            if let Some(value) = value {
                item.insert(key.into(), s(value));
            }
        }
    }
    for (prefix, mark, time) in [("ack", &t.ack, "ack_at"), ("muted", &t.mute, "muted_until")] {
        if let Some(mark) = mark {
            item.insert(format!("{prefix}_by"), s(&mark.by));
            item.insert(time.into(), n(mark.at));
        }
    }
    if let Some(action) = &t.last_action {
        item.insert("last_action".into(), s(action));
    }
    item
}

/// A mark (`ack_by` and `ack_at`, say); both or neither.
fn mark(by: Option<String>, at: Option<u64>) -> Result<Option<Mark>, &'static str> {
    match (by, at) {
        (Some(by), Some(at)) => Ok(Some(Mark { by, at })),
        (None, None) => Ok(None),
        _ => Err("an acknowledgement or mute is half there"),
    }
}

fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Thread, &'static str> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let number = |k: &'static str| -> Result<Option<u64>, &'static str> {
        match item.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_n()
                .ok()
                .and_then(|n| n.parse().ok())
                .map(Some)
                .ok_or("a number attribute is not a whole number"),
        }
    };
    let required = |k: &'static str| number(k)?.ok_or("a number attribute is missing");
    let small = |k: &'static str| -> Result<u32, &'static str> {
        u32::try_from(required(k)?).map_err(|_| "a count is out of range")
    };
    let ts = match item.get("ts") {
        None => None,
        Some(AttributeValue::S(ts)) if !ts.is_empty() => Some(ts.clone()),
        Some(_) => return Err("ts is not a message timestamp"),
    };
    Ok(Thread {
        channel: text("channel").ok_or("no channel")?,
        ts,
        opened_at: required("opened_at")?,
        resolved_at: number("resolved_at")?,
        alarms: small("alarms")?,
        cycles: small("cycles")?,
        parent: text("parent"),
        version: required("version")?,
        claimed_at: required("claimed_at")?,
        expires_at: required("expires_at")?,
        alarm: text("alarm_name").map(|name| AlarmRef {
            name,
            account: text("alarm_account"),
            region: text("alarm_region"),
        }),
        ack: mark(text("ack_by"), number("ack_at")?)?,
        mute: mark(text("muted_by"), number("muted_until")?)?,
        last_action: text("last_action"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip() {
        let claim = Thread::claim("C0ALERTS01", 100, None);
        assert_eq!(from_item(&to_item("alarm#a", &claim)), Ok(claim.clone()));
        let mut posted = claim.posted("C0ALERTS01", "1.000200", "{\"text\":\"x\"}".into());
        posted.resolved_at = Some(160);
        assert_eq!(from_item(&to_item("alarm#a", &posted)), Ok(posted.clone()));
        posted.alarm = Some(AlarmRef {
            name: "cpu-high".into(),
            account: Some("123456789012".into()),
            region: None,
        });
        posted.ack = Some(Mark {
            by: "U0ONCALL01".into(),
            at: 150,
        });
        posted.mute = Some(Mark {
            by: "U0ONCALL01".into(),
            at: 3750,
        });
        posted.last_action = Some("1795594531.123456".into());
        let item = to_item("alarm#a", &posted);
        assert_eq!(item["pk"], s("alarm#a"));
        assert_eq!(item["expires_at"], n(100 + ITEM_TTL.as_secs()));
        assert_eq!(from_item(&item), Ok(posted));
    }

    #[test]
    fn a_half_mark_is_malformed() {
        let mut item = to_item("alarm#a", &Thread::claim("C0ALERTS01", 100, None));
        item.insert("ack_by".into(), s("U0ONCALL01"));
        assert!(from_item(&item).is_err());
    }

    #[test]
    fn a_foreign_item_is_malformed() {
        let mut item = to_item("alarm#a", &Thread::claim("C0ALERTS01", 100, None));
        item.insert("version".into(), s("one"));
        assert!(from_item(&item).is_err());
        item.remove("channel");
        assert_eq!(from_item(&item), Err("no channel"));
    }

    #[test]
    fn a_timestamp_that_is_not_one_is_malformed() {
        let posted =
            Thread::claim("C0ALERTS01", 100, None).posted("C0ALERTS01", "1.2", "{}".into());
        for ts in [n(1), s(""), AttributeValue::Bool(true)] {
            let mut item = to_item("alarm#a", &posted);
            item.insert("ts".into(), ts.clone());
            assert_eq!(
                from_item(&item),
                Err("ts is not a message timestamp"),
                "{ts:?}"
            );
        }
    }
}
