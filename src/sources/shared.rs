//! What several sources use: lenient readers over JSON objects, AWS ARNs, times and console
//! links, and small mrkdwn pieces.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use serde_json::{Map, Value};

use crate::model::mrkdwn::{code_safe, escape};

// ---- field helpers: lenient readers over JSON objects ----

pub(crate) type Obj = Map<String, Value>;

/// A non-empty string field; numbers and booleans are shown as text.
pub(crate) fn str_at(obj: &Obj, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number field, also accepted as a numeric string.
pub(crate) fn num_at(obj: &Obj, key: &str) -> Option<f64> {
    match obj.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

pub(crate) fn uint_at(obj: &Obj, key: &str) -> Option<u64> {
    num_at(obj, key)
        .filter(|n| *n >= 0.0 && n.fract() == 0.0)
        .map(|n| n as u64)
}

pub(crate) fn obj_at<'a>(obj: &'a Obj, key: &str) -> Option<&'a Obj> {
    obj.get(key)?.as_object()
}

pub(crate) fn arr_at<'a>(obj: &'a Obj, key: &str) -> &'a [Value] {
    obj.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A field as JSON, where an object or array written as a JSON string is read as what it
/// holds (Auto Scaling's `Details`, CodeDeploy's `errorInformation`).
pub(crate) fn nested_at(obj: &Obj, key: &str) -> Option<Value> {
    match obj.get(key)? {
        Value::String(s) if s.trim_start().starts_with(['{', '[']) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

pub(crate) fn time_at(obj: &Obj, key: &str) -> Option<DateTime<Utc>> {
    str_at(obj, key).as_deref().and_then(parse_time)
}

pub(crate) fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

// ---- AWS ----

/// AWS writes alarm times as `2021-09-02T16:03:39.434+0000`; EventBridge uses RFC 3339.
pub(crate) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Inspector and CodeDeploy's triggers write times as `Fri Nov 20 08:14:55.021 UTC 2026`,
/// the fraction optional.
pub(crate) fn parse_utc_text_time(raw: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(raw.trim(), "%a %b %d %H:%M:%S%.f UTC %Y")
        .ok()
        .map(|t| t.and_utc())
}

/// The fields of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Where an event happened: the envelope's account and region, else its resource ARN's; the
/// partition from the ARN.
pub(crate) struct Place {
    pub(crate) account: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) partition: Option<String>,
}

impl Place {
    pub(crate) fn of(event: &super::Event, arn: Option<&Arn>) -> Self {
        Self {
            account: event
                .account
                .clone()
                .or_else(|| arn.and_then(|a| non_empty(a.account))),
            region: event
                .region
                .clone()
                .or_else(|| arn.and_then(|a| non_empty(a.region))),
            partition: arn.and_then(|a| non_empty(a.partition)),
        }
    }
}

pub(crate) fn parse_arn(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    Some(Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    })
}

/// `arn:…:training-job/orders-forecast` → `orders-forecast`; `…:function:resize` →
/// `resize`; anything not an ARN as it is.
pub(crate) fn arn_short_name(resource: &str) -> &str {
    let Some(arn) = parse_arn(resource) else {
        return resource;
    };
    let tail = arn.resource.rsplit('/').next().unwrap_or(arn.resource);
    let tail = tail.rsplit(':').next().unwrap_or(tail);
    if tail.is_empty() {
        resource
    } else {
        tail
    }
}

/// The console host for an ARN partition, and whether the region goes into the host name.
pub(crate) fn console_host(partition: &str, region: &str) -> String {
    match partition {
        "aws-cn" => format!("{region}.console.amazonaws.cn"),
        "aws-us-gov" => "console.amazonaws-us-gov.com".into(),
        _ => format!("{region}.console.aws.amazon.com"),
    }
}

pub(crate) fn partition_of(arn: Option<&str>) -> &str {
    arn.and_then(parse_arn)
        .map(|a| a.partition)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// The partition a region code belongs to, for events that carry no ARN.
pub(crate) fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Percent-encodes everything but unreserved characters.
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn service_console_url(
    partition: &str,
    region: Option<&str>,
    path: &str,
) -> Option<String> {
    let region = region.filter(|r| is_region_code(r))?;
    Some(format!("https://{}/{path}", console_host(partition, region)).replace("{region}", region))
}

/// An S3 object's page in the console.
pub(crate) fn s3_object_url(
    partition: &str,
    region: Option<&str>,
    bucket: &str,
    key: &str,
) -> Option<String> {
    service_console_url(
        partition,
        region,
        &format!(
            "s3/object/{}?region={{region}}&bucketType=general&prefix={}",
            url_encode(bucket),
            url_encode(key)
        ),
    )
}

/// A link a message gives into the AWS console, or nothing: it is shown as a button, so
/// anything else (another host, a script, a link with spaces) is dropped.
pub(crate) fn console_link(raw: &str) -> Option<String> {
    let link = raw.trim();
    let host = link
        .strip_prefix("https://")?
        .split(['/', '?', '#'])
        .next()?;
    let console = [
        "console.aws.amazon.com",
        "console.amazonaws.cn",
        "console.amazonaws-us-gov.com",
    ]
    .iter()
    .any(|c| host == *c || host.ends_with(&format!(".{c}")));
    (console && !link.chars().any(char::is_whitespace) && link.len() <= 1000)
        .then(|| link.to_owned())
}

/// `us-east-1`, `cn-north-1`, `us-gov-west-1`: not a display name like `US East (N. Virginia)`.
pub(crate) fn is_region_code(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `Key: Value` and `Key : Value` lines, in order.
pub(crate) fn key_value_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (k, v) = line.split_once(':')?;
            let (k, v) = (k.trim(), v.trim());
            let plausible_key =
                !k.is_empty() && k.len() <= 40 && !k.contains("//") && !k.starts_with('[');
            (plausible_key && !v.is_empty() && !v.starts_with("//"))
                .then(|| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// A JSON document as `path: value` lines, leaves only, keys in order
/// (serde_json keeps objects sorted): `a.b: 1`,
/// `items[0].name: x`. Empty objects and arrays are left out; a string holding more lines
/// keeps them. At most `max` lines, then a count of the rest.
pub(crate) fn path_value_lines(value: &Value, max: usize) -> Vec<String> {
    fn walk(
        path: &mut String,
        value: &Value,
        out: &mut Vec<String>,
        total: &mut usize,
        max: usize,
    ) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    walk(path, child, out, total, max);
                    path.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(path, child, out, total, max);
                    path.truncate(len);
                }
            }
            leaf => {
                *total += 1;
                if out.len() < max {
                    let shown = match leaf {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    out.push(if path.is_empty() {
                        shown
                    } else {
                        format!("{path}: {shown}")
                    });
                }
            }
        }
    }
    let (mut out, mut total) = (Vec::new(), 0);
    walk(&mut String::new(), value, &mut out, &mut total, max);
    if total > out.len() {
        out.push(format!("…and {} more values", total - out.len()));
    }
    out
}

// ---- mrkdwn pieces ----

/// `2021-09-02 16:03:39 UTC`: written out rather than through chrono's format-string
/// interpreter, which costs more.
pub(crate) fn utc_text(t: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2021-09-02 16:03:39 UTC`, wrapped so each reader also sees it in their own time zone.
pub(crate) fn when(time: Option<DateTime<Utc>>) -> Option<String> {
    let t = time?;
    let utc = utc_text(t);
    Some(format!(
        "{utc}\n<!date^{}^{{date_short_pretty}} {{time_secs}} (your time)|{utc}>",
        t.timestamp()
    ))
}

/// A time AWS gave as text (ISO 8601, or RFC 2822 as AWS Health writes it), shown like
/// alarm times; text that is not a time is shown as it is.
pub(crate) fn when_text(raw: &str) -> String {
    let parsed = parse_time(raw).or_else(|| {
        DateTime::parse_from_rfc2822(raw.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    });
    when(parsed).unwrap_or_else(|| escape(raw))
}

/// `scheduledChange` → `Scheduled change`, `ACCOUNT_SPECIFIC` → `Account specific`.
pub(crate) fn humanise(code: &str) -> String {
    let mut words = String::with_capacity(code.len() + 4);
    let mut previous_lower = false;
    for c in code.chars() {
        if c == '_' || c == '-' {
            words.push(' ');
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            words.push(' ');
        }
        previous_lower = c.is_lowercase();
        words.extend(c.to_lowercase());
    }
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

pub(crate) fn code(text: &str) -> String {
    format!("`{}`", escape(&code_safe(text)))
}

/// A bulleted list of user strings, at most `max` shown.
pub(crate) fn bullets(items: &[String], max: usize) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let mut out: Vec<String> = items
        .iter()
        .take(max)
        .map(|i| format!("• {}", escape(i)))
        .collect();
    if items.len() > max {
        out.push(format!("…and {} more", items.len() - max));
    }
    Some(out.join("\n"))
}

pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let s = format!("{n:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_both_aws_formats() {
        let a = parse_time("2021-09-02T16:03:39.434+0000").unwrap();
        let b = parse_time("2021-09-02T16:03:39.434Z").unwrap();
        assert_eq!(a, b);
        assert!(parse_time("yesterday").is_none());
        let c = parse_utc_text_time("Fri Nov 20 08:14:55.021 UTC 2026").unwrap();
        let d = parse_utc_text_time("Fri Nov 20 08:14:55 UTC 2026").unwrap();
        assert_eq!(c.timestamp(), d.timestamp());
        assert!(parse_utc_text_time("Mon Nov 20 08:14:55 UTC 2026").is_none());
    }

    #[test]
    fn arn_fields() {
        let arn = parse_arn("arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:a:b").unwrap();
        assert_eq!(
            (arn.partition, arn.region, arn.account, arn.resource),
            ("aws-cn", "cn-north-1", "123456789012", "alarm:a:b")
        );
        assert!(parse_arn("not-an-arn").is_none());
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("eu-west-1"), "aws");
    }

    #[test]
    fn key_value_lines_skip_urls() {
        let kv = key_value_lines(
            "Budget Name: x\n[1] https://example.com\nhttps://a.b/c\nAlert Type : ACTUAL",
        );
        assert_eq!(
            kv,
            vec![
                ("Budget Name".into(), "x".into()),
                ("Alert Type".into(), "ACTUAL".into())
            ]
        );
    }

    #[test]
    fn documents_read_as_path_value_lines() {
        let doc = serde_json::json!({
            "level": "error",
            "details": {"amount": 49.99, "tags": ["a", "b"], "empty": {}},
            "items": [{"name": "x", "ok": true}],
            "note": null
        });
        assert_eq!(
            path_value_lines(&doc, 10),
            vec![
                "details.amount: 49.99",
                "details.tags[0]: a",
                "details.tags[1]: b",
                "items[0].name: x",
                "items[0].ok: true",
                "level: error",
                "note: null",
            ]
        );
        let cut = path_value_lines(&doc, 2);
        assert_eq!(cut.last().unwrap(), "…and 5 more values");
        assert_eq!(
            path_value_lines(&serde_json::json!("plain"), 5),
            vec!["plain"]
        );
    }

    #[test]
    fn nested_json_strings_read_as_what_they_hold() {
        let obj = serde_json::json!({
            "a": "{\"Failed\":\"1\"}", "b": {"x": 1}, "c": "[1]", "d": "{broken", "e": "text"
        });
        let obj = obj.as_object().unwrap();
        assert_eq!(
            nested_at(obj, "a"),
            Some(serde_json::json!({"Failed": "1"}))
        );
        assert_eq!(nested_at(obj, "b"), Some(serde_json::json!({"x": 1})));
        assert_eq!(nested_at(obj, "c"), Some(serde_json::json!([1])));
        assert_eq!(nested_at(obj, "d"), None);
        assert_eq!(nested_at(obj, "e"), Some(serde_json::json!("text")));
        assert_eq!(nested_at(obj, "missing"), None);
    }

    #[test]
    fn aws_codes_and_times_read_as_words() {
        assert_eq!(humanise("scheduledChange"), "Scheduled change");
        assert_eq!(humanise("ACCOUNT_SPECIFIC"), "Account specific");
        assert_eq!(humanise("open"), "Open");
        assert!(when_text("Sat, 28 Nov 2026 12:00:00 GMT")
            .starts_with("2026-11-28 12:00:00 UTC\n<!date^"));
        assert!(when_text("2026-11-20T08:14:55.021Z").starts_with("2026-11-20 08:14:55 UTC"));
        assert_eq!(when_text("soon <!here>"), "soon &lt;!here&gt;");
    }
}
