//! Notification → Slack payload. Pure: no I/O, no env.
//!
//! A payload has a short top-level `text` (the notification fallback), top-level `blocks`
//! with the header, and one attachment whose colour bar carries the state.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::Value;

pub use crate::blocks::{check_limits, limits, Payload};
pub use crate::card::colour;
use crate::card::{Card, Part, Severity};
use crate::model::*;
use crate::mrkdwn::{code_safe, escape, escape_within};
use crate::parse::{parse_arn, parse_time};

/// Rendering choices that come from configuration, not from the event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderOptions {
    /// Slack mention added to ALARM notifications only, e.g. `<!here>`.
    pub mention: Option<String>,
}

/// Renders one notification as the exact body posted to the webhook (without `channel`).
pub fn render_payload(notification: &Notification, options: &RenderOptions) -> Payload {
    let card = match &notification.body {
        Body::Alarm(a) => alarm(a),
        Body::Health(h) => health(h),
        Body::GuardDuty(g) => guardduty(g),
        Body::SecurityHub(s) => securityhub(s),
        Body::Backup(b) => backup(b),
        Body::Budget(b) => budget(b),
        Body::Event(e) => generic_event(e),
        Body::Text(t) => text_message(t),
    };
    crate::blocks::payload(&card, options.mention.as_deref())
}

/// [`render_payload`] as a JSON value, for printing and inspection.
pub fn render(notification: &Notification, options: &RenderOptions) -> Value {
    serde_json::to_value(render_payload(notification, options)).unwrap_or_default()
}

/// A short label used in logs and metrics.
pub fn describe(body: &Body) -> (&'static str, String) {
    match body {
        Body::Alarm(a) => ("alarm", a.name.clone()),
        Body::Health(h) => ("health", h.event_type_code.clone().unwrap_or_default()),
        Body::GuardDuty(g) => ("guardduty", g.finding_type.clone().unwrap_or_default()),
        Body::SecurityHub(s) => ("securityhub", s.title.clone().unwrap_or_default()),
        Body::Backup(b) => ("backup", b.job_id.clone().unwrap_or_default()),
        Body::Budget(b) => ("budget", b.subject.clone().unwrap_or_default()),
        Body::Event(e) => ("event", e.detail_type.clone()),
        Body::Text(t) => ("text", t.subject.clone().unwrap_or_default()),
    }
}

// ---- shared pieces ----

/// `2021-09-02 16:03:39 UTC`, wrapped so each reader also sees it in their own time zone.
fn when(time: Option<DateTime<Utc>>) -> Option<String> {
    let t = time?;
    // Written out rather than through chrono's format-string interpreter, which costs more.
    let utc = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    Some(format!(
        "{utc}\n<!date^{}^{{date_short_pretty}} {{time_secs}} (your time)|{utc}>",
        t.timestamp()
    ))
}

/// A time AWS gave as text (ISO 8601, or RFC 2822 as AWS Health writes it), shown like
/// alarm times; text that is not a time is shown as it is.
fn when_text(raw: &str) -> String {
    let parsed = parse_time(raw).or_else(|| {
        DateTime::parse_from_rfc2822(raw.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
    });
    when(parsed).unwrap_or_else(|| escape(raw))
}

/// `scheduledChange` → `Scheduled change`, `ACCOUNT_SPECIFIC` → `Account specific`.
fn humanise(code: &str) -> String {
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

/// The console host for an ARN partition, and whether the region goes into the host name.
fn console_host(partition: &str, region: &str) -> String {
    match partition {
        "aws-cn" => format!("{region}.console.amazonaws.cn"),
        "aws-us-gov" => "console.amazonaws-us-gov.com".into(),
        _ => format!("{region}.console.aws.amazon.com"),
    }
}

fn partition_of(arn: Option<&str>) -> &str {
    arn.and_then(parse_arn)
        .map(|a| a.partition)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(text: &str) -> String {
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

/// A link to the alarm in the CloudWatch console of the alarm's own partition.
pub fn alarm_console_url(alarm: &Alarm) -> Option<String> {
    let region = alarm.region.as_deref().filter(|r| is_region_code(r))?;
    let host = console_host(partition_of(alarm.arn.as_deref()), region);
    Some(format!(
        "https://{host}/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
        url_encode(&alarm.name)
    ))
}

fn service_console_url(partition: &str, region: Option<&str>, path: &str) -> Option<String> {
    let region = region.filter(|r| is_region_code(r))?;
    Some(format!("https://{}/{path}", console_host(partition, region)).replace("{region}", region))
}

/// `us-east-1`, `cn-north-1`, `us-gov-west-1`: not a display name like `US East (N. Virginia)`.
fn is_region_code(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn code(text: &str) -> String {
    format!("`{}`", escape(&code_safe(text)))
}

/// A bulleted list of user strings, at most `max` shown.
fn bullets(items: &[String], max: usize) -> Option<String> {
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

// ---- alarms ----

/// `arn:aws:cloudwatch:us-east-1:123:alarm:name` → `name`, wherever it stands in the text.
fn shorten_alarm_arns(text: &str) -> String {
    text.split(' ')
        .map(|word| match parse_arn(word) {
            Some(arn) if arn.service == "cloudwatch" => {
                arn.resource.strip_prefix("alarm:").unwrap_or(word)
            }
            _ => word,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Emoji, label, severity, and whether the bar is grey (no data, or a state we don't know).
fn state_look(state: &AlarmState) -> (&'static str, &'static str, Severity, bool) {
    match state {
        AlarmState::Alarm => ("🔴", "ALARM", Severity::Critical, false),
        AlarmState::Ok => ("✅", "OK – recovered", Severity::Ok, false),
        AlarmState::InsufficientData => (
            "⚪",
            "INSUFFICIENT DATA – data gap",
            Severity::Warning,
            true,
        ),
        AlarmState::Unknown | AlarmState::Other(_) => ("❔", "", Severity::Info, true),
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let s = format!("{n:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn format_period(seconds: u64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{} day", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn comparison_symbol(op: &str) -> &str {
    match op {
        "GreaterThanOrEqualToThreshold" => "≥",
        "GreaterThanThreshold" => ">",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "≤",
        "LessThanLowerOrGreaterThanUpperThreshold" => "outside the band",
        "LessThanLowerThreshold" => "below the band",
        "GreaterThanUpperThreshold" => "above the band",
        other => other,
    }
}

/// `for 3 of 3 datapoints`
fn datapoints(e: &Evaluation) -> Option<String> {
    let periods = e.evaluation_periods?;
    let needed = e.datapoints_to_alarm.unwrap_or(periods);
    Some(format!("for {needed} of {periods} datapoints"))
}

/// `CPUUtilization (Average, 5 min) > 80 for 3 of 3 datapoints`
pub fn metric_condition(m: &MetricCondition) -> String {
    let mut parts = vec![m.metric.name.clone()];
    let mut inner = Vec::new();
    inner.extend(m.metric.statistic.clone());
    inner.extend(
        m.metric
            .period_seconds
            .or(m.evaluation.period_seconds)
            .map(format_period),
    );
    if !inner.is_empty() {
        parts[0] = format!("{} ({})", parts[0], inner.join(", "));
    }
    match &m.evaluation.comparison {
        Some(op) => parts.push(comparison_symbol(op).to_owned()),
        // The alarm-action event gives the threshold but not the operator.
        None if m.evaluation.threshold.is_some() => parts.push("vs threshold".to_owned()),
        None => {}
    }
    if let Some(t) = m.evaluation.threshold {
        let unit = m
            .metric
            .unit
            .as_deref()
            .filter(|u| *u != "None")
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        parts.push(format!("{}{unit}", format_number(t)));
    }
    parts.extend(datapoints(&m.evaluation));
    parts.join(" ")
}

fn dimension_list(dims: &[(String, String)]) -> Option<String> {
    (!dims.is_empty()).then(|| {
        dims.iter()
            .map(|(k, v)| format!("{}={}", k, v))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

fn query_line(q: &MetricQuery) -> String {
    let id = escape(&q.id);
    let what = match (&q.expression, &q.metric) {
        (Some(expr), _) => code(expr),
        (None, Some(m)) => {
            let stat = m
                .statistic
                .as_deref()
                .map(|s| format!(" ({})", escape(s)))
                .unwrap_or_default();
            let ns = m
                .namespace
                .as_deref()
                .map(|n| format!("{} ", escape(n)))
                .unwrap_or_default();
            let dims = dimension_list(&m.dimensions)
                .map(|d| format!(" [{}]", escape(&d)))
                .unwrap_or_default();
            format!("{ns}{}{stat}{dims}", escape(&m.name))
        }
        (None, None) => "?".into(),
    };
    let label = q
        .label
        .as_deref()
        .map(|l| format!(" “{}”", escape(l)))
        .unwrap_or_default();
    format!("• *{id}*{label}: {what}")
}

fn evaluation_line(e: &Evaluation, subject: &str) -> String {
    let mut parts = vec![subject.to_owned()];
    match &e.comparison {
        Some(op) => parts.push(comparison_symbol(op).to_owned()),
        None if e.threshold.is_some() => parts.push("vs threshold".to_owned()),
        None => {}
    }
    if let Some(t) = e.threshold {
        parts.push(format_number(t));
    }
    parts.extend(datapoints(e));
    if let Some(p) = e.period_seconds {
        parts.push(format!("(period {})", format_period(p)));
    }
    parts.join(" ")
}

fn alarm(a: &Alarm) -> Card {
    let (emoji, label, severity, grey) = state_look(&a.state);
    let label = if label.is_empty() {
        a.state.as_str().to_owned()
    } else {
        label.to_owned()
    };
    // Composite reasons name children by ARN; the name is what a reader looks for.
    let reason = match &a.kind {
        AlarmKind::Composite(_) => a.reason.as_deref().map(shorten_alarm_arns),
        _ => a.reason.clone(),
    };
    let shown_reason = reason.as_deref().unwrap_or("no reason given");
    // Reads like the original one-liner, kept short for phone notifications.
    let fallback = format!(
        "{} state is now {}: {}",
        escape(&a.name),
        escape(a.state.as_str()),
        escape_within(shown_reason, 200)
    );
    let mut m = Card::new(emoji, format!("{label}: {}", a.name), fallback, severity);
    if grey {
        m = m.grey();
    }
    m.mention = a.state == AlarmState::Alarm;

    m.titled("Reason", reason.as_deref());
    let transition = match &a.previous_state {
        Some(prev) => format!("{} → {}", prev.as_str(), a.state.as_str()),
        None => a.state.as_str().to_owned(),
    };
    // An unknown state is the event's own text.
    let transition = escape(&transition);
    let mut facts: Vec<(&str, Option<String>)> =
        vec![("State", Some(transition)), ("When", when(a.time))];
    let mut details: Vec<(String, Option<String>)> = Vec::new();
    match &a.kind {
        AlarmKind::Metric(c) => {
            facts.push(("Condition", Some(code(&metric_condition(c)))));
            facts.push((
                "Metric",
                Some(escape(
                    [c.metric.namespace.as_deref().unwrap_or(""), &c.metric.name]
                        .join(" ")
                        .trim(),
                )),
            ));
            facts.push((
                "Dimensions",
                dimension_list(&c.metric.dimensions).map(|d| escape(&d)),
            ));
            facts.push((
                "Treat missing data as",
                c.evaluation.treat_missing_data.as_deref().map(escape),
            ));
        }
        AlarmKind::MetricMath(c) => {
            let returned = c
                .queries
                .iter()
                .find(|q| q.return_data)
                .or(c.queries.first());
            let subject = returned
                .map(|q| q.label.clone().unwrap_or_else(|| q.id.clone()))
                .unwrap_or_else(|| "expression".into());
            facts.push((
                "Condition",
                Some(code(&evaluation_line(&c.evaluation, &subject))),
            ));
            details.push((
                "Metric math".into(),
                Some(
                    c.queries
                        .iter()
                        .map(query_line)
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            ));
        }
        AlarmKind::Anomaly(c) => {
            let direction = c
                .evaluation
                .comparison
                .as_deref()
                .map(comparison_symbol)
                .unwrap_or("outside the band");
            let watched = c
                .queries
                .iter()
                .find(|q| q.metric.is_some() && q.return_data)
                .or_else(|| c.queries.iter().find(|q| q.metric.is_some()));
            let name = watched
                .and_then(|q| q.metric.as_ref())
                .map(|m| m.name.clone())
                .unwrap_or_else(|| "metric".into());
            let mut condition = format!("{name} {direction}");
            if let Some(d) = datapoints(&c.evaluation) {
                condition = format!("{condition} {d}");
            }
            facts.push(("Condition", Some(code(&condition))));
            facts.push(("Band", c.band.as_deref().map(code)));
            details.push((
                "Metrics".into(),
                Some(
                    c.queries
                        .iter()
                        .map(query_line)
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            ));
        }
        AlarmKind::Composite(c) => {
            facts.push(("Kind", Some("Composite alarm".into())));
            details.push((
                "Rule".into(),
                c.rule
                    .as_deref()
                    .map(|r| format!("```{}```", escape(&code_safe(r)))),
            ));
            let children: Vec<String> = c
                .triggering_children
                .iter()
                .map(|ch| {
                    let name = parse_arn(&ch.arn)
                        .and_then(|a| a.resource.strip_prefix("alarm:").map(str::to_owned))
                        .unwrap_or_else(|| ch.arn.clone());
                    match &ch.state {
                        Some(s) => format!("{name} ({})", s.as_str()),
                        None => name,
                    }
                })
                .collect();
            details.push(("Triggered by".into(), bullets(&children, 10)));
        }
        AlarmKind::Unknown => {}
    }
    facts.push(("Account", a.account.as_deref().map(escape)));
    facts.push(("Region", a.region.as_deref().map(escape)));
    m.fields(facts);
    for (title, body) in details {
        if let Some(body) = body.filter(|b| !b.is_empty()) {
            m.section(format!("*{title}*\n{body}"));
        }
    }
    m.titled("Description", a.description.as_deref());
    m.link("View alarm in CloudWatch", alarm_console_url(a));
    m
}

// ---- other AWS notifications ----

fn health(h: &HealthEvent) -> Card {
    let (severity, grey) = match h.category.as_deref() {
        Some("issue") => (Severity::Warning, false),
        Some("scheduledChange") => (Severity::Info, false),
        _ => (Severity::Info, true),
    };
    let code_text = h.event_type_code.as_deref().unwrap_or("event");
    let service = h.service.as_deref().unwrap_or("AWS");
    let fallback = format!("AWS Health: {} {}", escape(service), escape(code_text));
    let mut m = Card::new(
        "🩺",
        format!("AWS Health: {service} {code_text}"),
        fallback,
        severity,
    );
    if grey {
        m = m.grey();
    }
    m.fields(vec![
        ("Service", Some(escape(service))),
        (
            "Category",
            h.category.as_deref().map(|c| escape(&humanise(c))),
        ),
        ("Status", h.status.as_deref().map(|c| escape(&humanise(c)))),
        ("Scope", h.scope.as_deref().map(|c| escape(&humanise(c)))),
        ("Start", h.start_time.as_deref().map(when_text)),
        ("End", h.end_time.as_deref().map(when_text)),
        ("Account", h.account.as_deref().map(escape)),
        ("Region", h.region.as_deref().map(escape)),
    ]);
    m.titled("Description", h.description.as_deref());
    if let Some(list) = bullets(&h.affected_entities, 10) {
        m.section(format!("*Affected resources*\n{list}"));
    }
    let url = h.event_arn.as_ref().map(|arn| format!("https://health.aws.amazon.com/health/home#/account/event-log?eventID={}&eventTab=details", url_encode(arn)));
    m.link("Open in AWS Health", url);
    m
}

fn severity_label(score: f64) -> (&'static str, Severity) {
    match score {
        s if s >= 9.0 => ("CRITICAL", Severity::Critical),
        s if s >= 7.0 => ("HIGH", Severity::Error),
        s if s >= 4.0 => ("MEDIUM", Severity::Warning),
        _ => ("LOW", Severity::Info),
    }
}

fn guardduty(g: &GuardDutyFinding) -> Card {
    let (label, severity) = g
        .severity
        .map(severity_label)
        .unwrap_or(("UNKNOWN", Severity::Info));
    let title = g
        .title
        .as_deref()
        .or(g.finding_type.as_deref())
        .unwrap_or("finding");
    let fallback = format!("GuardDuty {label}: {}", escape_within(title, 200));
    let mut m = Card::new(
        "🛡️",
        format!("GuardDuty {label}: {title}"),
        fallback,
        severity,
    );
    if g.severity.is_none() {
        m = m.grey();
    }
    m.fields(vec![
        (
            "Severity",
            g.severity
                .map(|s| format!("{label} ({})", format_number(s))),
        ),
        ("Type", g.finding_type.as_deref().map(code)),
        ("Resource", g.resource_type.as_deref().map(escape)),
        ("Seen", g.count.map(|c| format!("{c} times"))),
        ("Account", g.account.as_deref().map(escape)),
        ("Region", g.region.as_deref().map(escape)),
        ("Updated", g.updated_at.as_deref().map(when_text)),
    ]);
    // GuardDuty's description usually repeats the title first; show only what it adds.
    let description = g.description.as_deref().map(|d| {
        d.strip_prefix(title)
            .map(|rest| rest.trim_start_matches(['.', ' ']))
            .unwrap_or(d)
    });
    m.titled("Description", description);
    let url = g.finding_id.as_ref().and_then(|id| {
        service_console_url(
            g.partition.as_deref().unwrap_or("aws"),
            g.region.as_deref(),
            &format!(
                "guardduty/home?region={{region}}#/findings?macros=current&fId={}",
                url_encode(id)
            ),
        )
    });
    m.link("Open in GuardDuty", url);
    m
}

fn securityhub(s: &SecurityHubFinding) -> Card {
    let label = s
        .severity_label
        .as_deref()
        .unwrap_or("UNKNOWN")
        .to_ascii_uppercase();
    let (severity, grey) = match label.as_str() {
        "CRITICAL" => (Severity::Critical, false),
        "HIGH" => (Severity::Error, false),
        "MEDIUM" => (Severity::Warning, false),
        "LOW" => (Severity::Info, false),
        _ => (Severity::Info, true),
    };
    let title = s.title.as_deref().unwrap_or("finding");
    let fallback = format!("Security Hub {label}: {}", escape_within(title, 200));
    let mut m = Card::new(
        "🔐",
        format!("Security Hub {label}: {title}"),
        fallback,
        severity,
    );
    if grey {
        m = m.grey();
    }
    m.fields(vec![
        ("Severity", Some(escape(&label))),
        ("Product", s.product.as_deref().map(escape)),
        ("Compliance", s.compliance_status.as_deref().map(escape)),
        ("Workflow", s.workflow_status.as_deref().map(escape)),
        ("Account", s.account.as_deref().map(escape)),
        ("Region", s.region.as_deref().map(escape)),
        ("Updated", s.updated_at.as_deref().map(when_text)),
    ]);
    m.titled("Description", s.description.as_deref());
    if let Some(list) = bullets(&s.resources, 10) {
        m.section(format!("*Resources*\n{list}"));
    }
    if s.total_findings > 1 {
        m.context(vec![format!(
            "…and {} more findings in this event",
            s.total_findings - 1
        )]);
    }
    let partition = partition_of(s.finding_id.as_deref());
    m.link(
        "Open in Security Hub",
        service_console_url(
            partition,
            s.region.as_deref(),
            "securityhub/home?region={region}#/findings",
        ),
    );
    m
}

fn backup(b: &BackupJob) -> Card {
    let state = b.state.as_deref().unwrap_or("UNKNOWN").to_ascii_uppercase();
    let (emoji, severity) = match state.as_str() {
        "COMPLETED" => ("✅", Severity::Ok),
        "FAILED" | "ABORTED" | "EXPIRED" | "PARTIAL" => ("🔴", Severity::Error),
        _ => ("💾", Severity::Info),
    };
    let kind = b.job_kind.as_deref().unwrap_or("Backup job");
    let fallback = format!("AWS Backup: {} {}", escape(kind), escape(&state));
    let mut m = Card::new(
        emoji,
        format!("AWS Backup: {kind} {state}"),
        fallback,
        severity,
    );
    m.titled("Message", b.status_message.as_deref());
    m.fields(vec![
        ("State", Some(escape(&state))),
        ("Job ID", b.job_id.as_deref().map(code)),
        ("Vault", b.vault.as_deref().map(escape)),
        ("Resource type", b.resource_type.as_deref().map(escape)),
        ("Resource", b.resource_arn.as_deref().map(code)),
        ("Account", b.account.as_deref().map(escape)),
        ("Region", b.region.as_deref().map(escape)),
        ("Time", b.time.as_deref().map(when_text)),
    ]);
    let partition = partition_of(b.resource_arn.as_deref());
    m.link(
        "Open AWS Backup jobs",
        service_console_url(
            partition,
            b.region.as_deref(),
            "backup/home?region={region}#/jobs",
        ),
    );
    m
}

fn budget(b: &BudgetAlert) -> Card {
    let subject = b.subject.as_deref().unwrap_or("AWS Budgets alert");
    let mut m = Card::new(
        "💰",
        subject.to_owned(),
        escape_within(subject, 200),
        Severity::Warning,
    );
    m.titled("Summary", b.summary.as_deref());
    let mut facts: Vec<(&str, Option<String>)> = b
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), Some(escape(v))))
        .collect();
    facts.push(("Account", b.account.as_deref().map(escape)));
    // Keys are user-visible labels from AWS's text; escape them too.
    let facts: Vec<(String, Option<String>)> =
        facts.into_iter().map(|(k, v)| (escape(k), v)).collect();
    m.fields(facts.iter().map(|(k, v)| (k.as_str(), v.clone())).collect());
    m.link(
        "Open AWS Budgets",
        Some("https://console.aws.amazon.com/billing/home#/budgets".into()),
    );
    m
}

/// One line per top-level `detail` key; nested values as compact JSON.
fn compact_detail(detail: &Value) -> Option<String> {
    let lines: Vec<String> = match detail {
        Value::Object(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => escape(s),
                    other => code(&other.to_string()),
                };
                format!("• *{}*: {v}", escape(k))
            })
            .collect(),
        Value::Null => return None,
        Value::Object(_) => return None,
        other => vec![code(&other.to_string())],
    };
    Some(lines.join("\n"))
}

fn generic_event(e: &GenericEvent) -> Card {
    let fallback = format!(
        "{}: {}",
        escape(&e.source),
        escape_within(&e.detail_type, 200)
    );
    let mut m = Card::new("📣", e.detail_type.clone(), fallback, Severity::Info);
    m.fields(vec![
        ("Source", Some(code(&e.source))),
        ("Detail type", Some(escape(&e.detail_type))),
        ("Account", e.account.as_deref().map(escape)),
        ("Region", e.region.as_deref().map(escape)),
        ("When", when(e.time)),
    ]);
    if let Some(list) = bullets(&e.resources, 10) {
        m.section(format!("*Resources*\n{list}"));
    }
    if let Some(detail) = compact_detail(&e.detail) {
        m.section(format!("*Detail*\n{detail}"));
    }
    m
}

fn text_message(t: &TextMessage) -> Card {
    let topic = t
        .topic_arn
        .as_deref()
        .and_then(parse_arn)
        .map(|a| a.resource.to_owned());
    let subject = match (&t.subject, topic) {
        (Some(s), _) => s.clone(),
        (None, Some(topic)) => format!("Message on {topic}"),
        (None, None) => "Notification".to_owned(),
    };
    let subject = subject.as_str();
    let first_line = t
        .text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let fallback = if t.subject.is_some() || t.is_json {
        escape_within(subject, 200)
    } else {
        escape_within(first_line, 200)
    };
    let mut m = Card::new("📨", subject.to_owned(), fallback, Severity::Info);
    m.parts.push(if t.is_json {
        Part::Code(t.text.clone())
    } else {
        Part::Text(t.text.clone())
    });
    if let Some(topic) = &t.topic_arn {
        m.context(vec![format!("via {}", escape(topic))]);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric_alarm() -> Alarm {
        Alarm {
            name: "cpu-high".into(),
            state: AlarmState::Alarm,
            previous_state: Some(AlarmState::Ok),
            reason: Some("Threshold Crossed".into()),
            region: Some("us-east-1".into()),
            arn: Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu-high".into()),
            kind: AlarmKind::Metric(MetricCondition {
                metric: Metric {
                    name: "CPUUtilization".into(),
                    statistic: Some("Average".into()),
                    period_seconds: Some(300),
                    ..Default::default()
                },
                evaluation: Evaluation {
                    comparison: Some("GreaterThanThreshold".into()),
                    threshold: Some(80.0),
                    evaluation_periods: Some(3),
                    datapoints_to_alarm: Some(3),
                    ..Default::default()
                },
            }),
            ..Default::default()
        }
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

    #[test]
    fn condition_in_words() {
        let AlarmKind::Metric(c) = metric_alarm().kind else {
            unreachable!()
        };
        assert_eq!(
            metric_condition(&c),
            "CPUUtilization (Average, 5 min) > 80 for 3 of 3 datapoints"
        );
    }

    #[test]
    fn console_links_follow_the_partition() {
        let mut a = metric_alarm();
        a.name = "a b/c".into();
        assert_eq!(
            alarm_console_url(&a).unwrap(),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/a%20b%2Fc"
        );
        a.arn = Some("arn:aws-cn:cloudwatch:cn-north-1:1:alarm:x".into());
        a.region = Some("cn-north-1".into());
        assert!(alarm_console_url(&a)
            .unwrap()
            .starts_with("https://cn-north-1.console.amazonaws.cn/"));
        a.arn = Some("arn:aws-us-gov:cloudwatch:us-gov-west-1:1:alarm:x".into());
        a.region = Some("us-gov-west-1".into());
        assert!(alarm_console_url(&a).unwrap().starts_with(
            "https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1"
        ));
        a.region = Some("US East (N. Virginia)".into());
        assert_eq!(alarm_console_url(&a), None);
    }

    #[test]
    fn mention_only_for_alarm_state() {
        let options = RenderOptions {
            mention: Some("<!here>".into()),
        };
        let mut a = metric_alarm();
        let n = |a: &Alarm| Notification {
            id: None,
            body: Body::Alarm(Box::new(a.clone())),
        };
        let payload = render(&n(&a), &options).to_string();
        assert!(payload.contains("<!here>"));
        a.state = AlarmState::Ok;
        let payload = render(&n(&a), &options).to_string();
        assert!(!payload.contains("<!here>"));
    }

    #[test]
    fn fallback_reads_like_the_original() {
        let n = Notification {
            id: None,
            body: Body::Alarm(Box::new(metric_alarm())),
        };
        let payload = render(&n, &RenderOptions::default());
        assert_eq!(
            payload["text"],
            "cpu-high state is now ALARM: Threshold Crossed"
        );
        assert_eq!(payload["attachments"][0]["color"], colour::ALARM);
        check_limits(&payload).unwrap();
    }
}
