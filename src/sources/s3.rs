//! S3 event notifications a bucket publishes to SNS (`{"Records":[{"eventSource":"aws:s3",…}]}`
//! inside the SNS message), and the test event S3 sends when a notification is set up.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::shared::*;
use super::{Body, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};

pub(crate) const SOURCE: Source = Source::messages("s3", from_sns);

/// S3's own JSON: records whose `eventSource` is `aws:s3`, or the test event.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    let obj = message.object()?;
    let is_test = obj.get("Service").and_then(Value::as_str) == Some("Amazon S3")
        && obj.get("Event").and_then(Value::as_str) == Some("s3:TestEvent");
    if is_test {
        return Some(Body::new(read_test(obj)));
    }
    let notice = read(obj);
    (!notice.records.is_empty()).then(|| Body::new(notice))
}

/// The records of one S3 notification.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct S3Notice {
    pub records: Vec<S3Record>,
}

/// One event on one object.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct S3Record {
    /// `ObjectCreated:Put`, `Replication:OperationFailedReplication`, `s3:TestEvent`, …
    pub event_name: String,
    pub bucket: Option<String>,
    pub bucket_arn: Option<String>,
    /// Decoded: S3 writes keys URL-encoded, with `+` for a space.
    pub key: Option<String>,
    pub size: Option<u64>,
    pub version_id: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub principal: Option<String>,
    pub source_ip: Option<String>,
    /// Why replication failed, or the storage class or tier the object moved to.
    pub detail: Option<String>,
    pub destination_bucket: Option<String>,
}

fn read(obj: &Obj) -> S3Notice {
    let records = arr_at(obj, "Records")
        .iter()
        .filter_map(Value::as_object)
        .filter(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:s3"))
        .map(read_record)
        .collect();
    S3Notice { records }
}

fn read_record(r: &Obj) -> S3Record {
    let empty = Obj::new();
    let s3 = obj_at(r, "s3").unwrap_or(&empty);
    let bucket = obj_at(s3, "bucket").unwrap_or(&empty);
    let object = obj_at(s3, "object").unwrap_or(&empty);
    let replication = obj_at(r, "replicationEventData");
    let nested = |outer: &str, inner: &str, key: &str| {
        obj_at(r, outer)
            .and_then(|o| obj_at(o, inner))
            .and_then(|o| str_at(o, key))
    };
    let detail = replication
        .and_then(|x| str_at(x, "failureReason"))
        .or_else(|| nested("lifecycleEventData", "transitionEventData", "destinationStorageClass"))
        .or_else(|| {
            obj_at(r, "intelligentTieringEventData").and_then(|x| str_at(x, "destinationAccessTier"))
        });
    S3Record {
        event_name: str_at(r, "eventName").unwrap_or_else(|| "event".into()),
        bucket: str_at(bucket, "name"),
        bucket_arn: str_at(bucket, "arn"),
        key: str_at(object, "key").map(|k| decode_key(&k)),
        size: uint_at(object, "size"),
        version_id: str_at(object, "versionId"),
        region: str_at(r, "awsRegion"),
        time: time_at(r, "eventTime"),
        principal: obj_at(r, "userIdentity").and_then(|u| str_at(u, "principalId")),
        source_ip: obj_at(r, "requestParameters").and_then(|p| str_at(p, "sourceIPAddress")),
        detail,
        destination_bucket: replication.and_then(|x| str_at(x, "destinationBucket")).map(|b| {
            // An ARN, `arn:aws:s3:::name`: the name is what people know.
            b.rsplit(':').next().unwrap_or(&b).to_owned()
        }),
    }
}

fn read_test(obj: &Obj) -> S3Notice {
    S3Notice {
        records: vec![S3Record {
            event_name: "s3:TestEvent".into(),
            bucket: str_at(obj, "Bucket"),
            time: time_at(obj, "Time"),
            ..S3Record::default()
        }],
    }
}

/// An object key as S3 writes it in a notification, decoded: `+` is a space and `%XX` a
/// byte. A `%` not followed by two hex digits is kept as it is.
pub(crate) fn decode_key(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An event in words, and how bad it is.
pub(crate) fn event_label(event_name: &str) -> (&'static str, Severity) {
    let name = event_name.strip_prefix("s3:").unwrap_or(event_name);
    let (family, action) = name.split_once(':').unwrap_or((name, ""));
    match (family, action) {
        ("ObjectCreated", _) => ("object created", Severity::Info),
        ("ObjectRemoved", "DeleteMarkerCreated") => ("delete marker created", Severity::Info),
        ("ObjectRemoved", _) => ("object deleted", Severity::Info),
        ("ObjectRestore", "Post") => ("restore started", Severity::Info),
        ("ObjectRestore", "Completed") => ("restore completed", Severity::Info),
        ("ObjectRestore", "Delete") => ("restored copy expired", Severity::Info),
        ("ReducedRedundancyLostObject", _) => ("Reduced Redundancy object lost", Severity::Error),
        ("Replication", "OperationFailedReplication") => ("replication failed", Severity::Error),
        ("Replication", "OperationMissedThreshold") => {
            ("replication missed its threshold", Severity::Warning)
        }
        ("Replication", "OperationReplicatedAfterThreshold") => {
            ("replicated after its threshold", Severity::Info)
        }
        ("Replication", _) => ("replication", Severity::Info),
        ("LifecycleExpiration", "DeleteMarkerCreated") => {
            ("delete marker created by lifecycle", Severity::Info)
        }
        ("LifecycleExpiration", _) => ("expired by lifecycle", Severity::Info),
        ("LifecycleTransition", _) => ("transitioned by lifecycle", Severity::Info),
        ("IntelligentTiering", _) => ("moved to an archive tier", Severity::Info),
        ("ObjectTagging", _) => ("object tags changed", Severity::Info),
        ("ObjectAcl", _) => ("object ACL changed", Severity::Info),
        ("TestEvent", _) => ("test event", Severity::Info),
        _ => ("event", Severity::Info),
    }
}

/// Events after which the object is no longer there to open.
fn object_gone(event_name: &str) -> bool {
    ["ObjectRemoved", "LifecycleExpiration", "ReducedRedundancyLostObject"]
        .iter()
        .any(|family| event_name.starts_with(family))
}

/// Worst first.
fn rank(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 0,
        Severity::Error => 1,
        Severity::Warning => 2,
        Severity::Info => 3,
        Severity::Ok => 4,
    }
}

/// `512 B`, `1.5 KiB`, `12.3 MiB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", format_number((value * 10.0).round() / 10.0), UNITS[unit])
}

impl S3Record {
    /// `bucket/key`, or whichever of them there is.
    fn location(&self) -> String {
        match (self.bucket.as_deref(), self.key.as_deref()) {
            (Some(b), Some(k)) => format!("{b}/{k}"),
            (Some(b), None) => b.to_owned(),
            (None, Some(k)) => k.to_owned(),
            (None, None) => "(unknown object)".to_owned(),
        }
    }

    /// What goes in brackets after it: the reason or new class, else the size of a new
    /// object.
    fn qualifier(&self) -> Option<String> {
        self.detail.clone().or_else(|| {
            self.size
                .filter(|_| self.event_name.starts_with("ObjectCreated"))
                .map(human_size)
        })
    }

    /// The object's page in the S3 console, or its bucket's when the object is gone.
    fn console_url(&self) -> Option<String> {
        let bucket = self.bucket.as_deref()?;
        let partition = partition_of(self.bucket_arn.as_deref());
        let region = self.region.as_deref();
        match self.key.as_deref() {
            Some(key) if !object_gone(&self.event_name) => {
                s3_object_url(partition, region, bucket, key)
            }
            key => {
                let folder = key
                    .and_then(|k| k.rsplit_once('/'))
                    .map(|(folder, _)| format!("&prefix={}", url_encode(&format!("{folder}/"))))
                    .unwrap_or_default();
                service_console_url(
                    partition,
                    region,
                    &format!(
                        "s3/buckets/{}?region={{region}}&bucketType=general{folder}",
                        url_encode(bucket)
                    ),
                )
            }
        }
    }

    fn line(&self) -> String {
        let (label, _) = event_label(&self.event_name);
        let mut line = format!("{label}: {}", self.key.as_deref().unwrap_or("(no key)"));
        if let Some(q) = self.qualifier() {
            line.push_str(&format!(" ({q})"));
        }
        line
    }
}

impl S3Notice {
    /// The record the card leads with: the worst.
    fn lead(&self) -> Option<&S3Record> {
        self.records
            .iter()
            .min_by_key(|r| rank(event_label(&r.event_name).1))
    }

    pub(crate) fn severity(&self) -> Severity {
        self.lead()
            .map(|r| event_label(&r.event_name).1)
            .unwrap_or(Severity::Info)
    }

    /// The one bucket all records are in.
    fn bucket(&self) -> Option<&str> {
        let first = self.records.first()?.bucket.as_deref()?;
        self.records
            .iter()
            .all(|r| r.bucket.as_deref() == Some(first))
            .then_some(first)
    }
}

notice!(S3Notice, card, |it| it
    .lead()
    .map(|r| r.event_name.clone())
    .unwrap_or_default());

/// How many records a card lists.
const MAX_RECORDS: usize = 10;

/// The title (plain text) and the headline (escaped): the lead record and how many more,
/// or, when none is worse than amber, how many of what happened in the bucket.
fn title_and_headline(
    n: &S3Notice,
    lead: &S3Record,
    label: &str,
    lead_severity: Severity,
) -> (String, String) {
    let count = n.records.len();
    let same_label = n
        .records
        .iter()
        .all(|r| event_label(&r.event_name).0 == label);
    if lead.event_name == "s3:TestEvent" {
        let bucket = lead.bucket.as_deref().unwrap_or("bucket");
        (
            format!("S3 test event: {bucket}"),
            format!("S3 test event: {}", escape(bucket)),
        )
    } else if count == 1 || rank(lead_severity) <= rank(Severity::Warning) {
        let location = lead.location();
        let qualifier = lead
            .qualifier()
            .map(|q| format!(" ({})", escape(&q)))
            .unwrap_or_default();
        let more = match count - 1 {
            0 => String::new(),
            1 => " and 1 more event".into(),
            m => format!(" and {m} more events"),
        };
        (
            format!("S3 {label}: {location}"),
            format!(
                "S3 {label}: {}{qualifier}{more}",
                escape_within(&location, 200)
            ),
        )
    } else {
        let place = n.bucket().map(|b| format!(" in {b}")).unwrap_or_default();
        let what = if same_label {
            format!("S3 {label} ×{count}")
        } else {
            format!("S3: {count} events")
        };
        (format!("{what}{place}"), format!("{what}{}", escape(&place)))
    }
}

/// The notification as a card: what happened to which object, its facts, and a link to it;
/// several records are listed, led by the worst.
pub(crate) fn card(n: &S3Notice) -> Card {
    let severity = n.severity();
    let emoji = severity.emoji("🪣");
    let Some(lead) = n.lead() else {
        return Card::new(emoji, "S3 notification".into(), "S3 notification".into(), severity);
    };
    let (label, lead_severity) = event_label(&lead.event_name);
    let count = n.records.len();
    let (title, headline) = title_and_headline(n, lead, label, lead_severity);
    let mut m = Card::new(emoji, title, headline, severity);
    if count == 1 {
        m.fields(vec![
            ("Bucket", lead.bucket.as_deref().map(escape)),
            ("Key", lead.key.as_deref().map(code)),
            ("Size", lead.size.map(human_size)),
            ("Event", Some(code(&lead.event_name))),
            (
                if lead.event_name.starts_with("Replication") {
                    "Reason"
                } else {
                    "Now in"
                },
                lead.detail.as_deref().map(escape),
            ),
            ("Destination bucket", lead.destination_bucket.as_deref().map(escape)),
            ("Version", lead.version_id.as_deref().map(code)),
            ("By", lead.principal.as_deref().map(code)),
            ("Source IP", lead.source_ip.as_deref().map(escape)),
            ("Region", lead.region.as_deref().map(escape)),
            ("When", when(lead.time)),
        ]);
    } else {
        let mut records: Vec<&S3Record> = n.records.iter().collect();
        records.sort_by_key(|r| rank(event_label(&r.event_name).1));
        let lines: Vec<String> = records.iter().map(|r| r.line()).collect();
        if let Some(list) = bullets(&lines, MAX_RECORDS) {
            m.section(format!("*Objects*\n{list}"));
        }
        m.fields(vec![
            ("Bucket", n.bucket().map(escape)),
            ("Region", lead.region.as_deref().map(escape)),
            ("When", when(lead.time)),
        ]);
    }
    let url = if count == 1 {
        lead.console_url()
    } else {
        S3Record {
            key: None,
            ..lead.clone()
        }
        .console_url()
    };
    let label = match (count, lead.key.is_some() && !object_gone(&lead.event_name)) {
        (1, true) => "Open object in S3",
        _ => "Open bucket in S3",
    };
    m.link(label, url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(json: &str) -> Option<S3Notice> {
        let message = SnsMessage::new(None, json, None);
        from_sns(&message)?;
        let obj = message.object()?;
        Some(if obj.contains_key("Service") {
            read_test(obj)
        } else {
            read(obj)
        })
    }

    #[test]
    fn keys_are_decoded() {
        assert_eq!(decode_key("invoices/2026/inv+001%281%29.pdf"), "invoices/2026/inv 001(1).pdf");
        assert_eq!(decode_key("caf%C3%A9.txt"), "café.txt");
        assert_eq!(decode_key("100%"), "100%");
        assert_eq!(decode_key("a%2"), "a%2");
        assert_eq!(decode_key("a%zz"), "a%zz");
        assert_eq!(decode_key("%FF"), "\u{FFFD}");
        assert_eq!(decode_key(""), "");
    }

    #[test]
    fn losses_and_failed_replication_are_red() {
        let severity = |name: &str| event_label(name).1;
        assert_eq!(severity("ReducedRedundancyLostObject"), Severity::Error);
        assert_eq!(severity("Replication:OperationFailedReplication"), Severity::Error);
        assert_eq!(severity("Replication:OperationMissedThreshold"), Severity::Warning);
        for name in [
            "ObjectCreated:CompleteMultipartUpload",
            "ObjectRemoved:DeleteMarkerCreated",
            "LifecycleExpiration:Delete",
            "LifecycleTransition",
            "IntelligentTiering",
            "ObjectRestore:Completed",
            "s3:TestEvent",
            "Something:New",
            "",
        ] {
            assert_eq!(severity(name), Severity::Info, "{name}");
        }
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5 MiB");
    }

    #[test]
    fn a_replication_failure_leads_the_card() {
        let n = notice(
            r#"{"Records":[
            {"eventSource":"aws:s3","eventName":"ObjectCreated:Put","awsRegion":"us-east-1","s3":{"bucket":{"name":"b"},"object":{"key":"x","size":10}}},
            {"eventSource":"aws:s3","eventName":"Replication:OperationFailedReplication","awsRegion":"us-east-1",
             "s3":{"bucket":{"name":"b"},"object":{"key":"a+b.csv"}},"replicationEventData":{"failureReason":"AssumeRoleNotPermitted","destinationBucket":"arn:aws:s3:::dst"}}]}"#,
        )
        .unwrap();
        assert_eq!(n.records[1].destination_bucket.as_deref(), Some("dst"));
        let shown = card(&n);
        assert_eq!(shown.severity, Severity::Error);
        assert_eq!(
            shown.headline,
            "S3 replication failed: b/a b.csv (AssumeRoleNotPermitted) and 1 more event"
        );
    }

    #[test]
    fn odd_messages_do_not_panic() {
        for json in [
            r#"{"Records":[]}"#,
            r#"{"Records":[{"eventSource":"aws:sqs"}]}"#,
            r#"{"Records":"x"}"#,
            r#"{"Service":"Amazon S3","Event":"s3:ObjectCreated"}"#,
            "Records",
        ] {
            assert!(notice(json).is_none(), "{json}");
        }
        let n = notice(r#"{"Records":[{"eventSource":"aws:s3","eventName":null,"s3":{"bucket":7,"object":{"key":null,"size":-1}}}]}"#)
            .unwrap();
        let shown = card(&n);
        assert_eq!(shown.headline, "S3 event: (unknown object)");
        assert_eq!(shown.severity, Severity::Info);
        let n = notice(r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-20T10:00:00.000Z","Bucket":"b<!here>"}"#)
            .unwrap();
        assert_eq!(card(&n).headline, "S3 test event: b&lt;!here&gt;");
    }
}
