//! The alarm as a card: its state, why, the condition in words, and where to look.

use super::super::shared::*;
use super::SOURCE;
use crate::model::alarm::*;
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{code_safe, escape, escape_within};

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
pub(crate) fn metric_condition(m: &MetricCondition) -> String {
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

notice!(Alarm, card, |it| it.name.clone());

/// What a kind of alarm adds to the card: facts, and sections under a title.
#[derive(Default)]
struct KindParts {
    facts: Vec<(&'static str, Option<String>)>,
    details: Vec<(&'static str, Option<String>)>,
}

/// The alarm as a card: state, reason, condition, and a link to the console.
pub(super) fn card(a: &Alarm) -> Card {
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
    let mut facts = vec![("State", Some(escape(&transition))), ("When", when(a.time))];
    let kind = kind_parts(&a.kind);
    facts.extend(kind.facts);
    facts.push(("Account", a.account.as_deref().map(escape)));
    facts.push(("Region", a.region.as_deref().map(escape)));
    m.fields(facts);
    for (title, body) in kind.details {
        if let Some(body) = body.filter(|b| !b.is_empty()) {
            m.section(format!("*{title}*\n{body}"));
        }
    }
    m.titled("Description", a.description.as_deref());
    m.link("View alarm in CloudWatch", alarm_console_url(a));
    for (label, url) in super::links::resource_links(a) {
        m.link(label, Some(url));
    }
    m
}

fn kind_parts(kind: &AlarmKind) -> KindParts {
    match kind {
        AlarmKind::Metric(c) => metric_parts(c),
        AlarmKind::MetricMath(c) => math_parts(c),
        AlarmKind::Anomaly(c) => anomaly_parts(c),
        AlarmKind::Composite(c) => composite_parts(c),
        AlarmKind::Unknown => KindParts::default(),
    }
}

/// A static threshold: the condition in words, the metric and its dimensions.
fn metric_parts(c: &MetricCondition) -> KindParts {
    let metric = [c.metric.namespace.as_deref().unwrap_or(""), &c.metric.name].join(" ");
    KindParts {
        facts: vec![
            ("Condition", Some(code(&metric_condition(c)))),
            ("Metric", Some(escape(metric.trim()))),
            (
                "Dimensions",
                dimension_list(&c.metric.dimensions).map(|d| escape(&d)),
            ),
            (
                "Treat missing data as",
                c.evaluation.treat_missing_data.as_deref().map(escape),
            ),
        ],
        details: Vec::new(),
    }
}

/// Each expression and metric of a query, one a line.
fn query_lines(queries: &[MetricQuery]) -> Option<String> {
    Some(queries.iter().map(query_line).collect::<Vec<_>>().join("\n"))
}

/// Metric math: the condition on the returned expression, then every query.
fn math_parts(c: &MathCondition) -> KindParts {
    let returned = c.queries.iter().find(|q| q.return_data).or(c.queries.first());
    let subject = returned
        .map(|q| q.label.clone().unwrap_or_else(|| q.id.clone()))
        .unwrap_or_else(|| "expression".into());
    KindParts {
        facts: vec![(
            "Condition",
            Some(code(&evaluation_line(&c.evaluation, &subject))),
        )],
        details: vec![("Metric math", query_lines(&c.queries))],
    }
}

/// Anomaly detection: the watched metric against its band, then every query.
fn anomaly_parts(c: &AnomalyCondition) -> KindParts {
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
    KindParts {
        facts: vec![
            ("Condition", Some(code(&condition))),
            ("Band", c.band.as_deref().map(code)),
        ],
        details: vec![("Metrics", query_lines(&c.queries))],
    }
}

/// A composite: its rule, and the children that triggered it, by name.
fn composite_parts(c: &CompositeRule) -> KindParts {
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
    KindParts {
        facts: vec![("Kind", Some("Composite alarm".into()))],
        details: vec![
            (
                "Rule",
                c.rule
                    .as_deref()
                    .map(|r| format!("```{}```", escape(&code_safe(r)))),
            ),
            ("Triggered by", bullets(&children, 10)),
        ],
    }
}

/// A link to the alarm in the CloudWatch console of the alarm's own partition.
pub(crate) fn alarm_console_url(alarm: &Alarm) -> Option<String> {
    let region = alarm.region.as_deref().filter(|r| is_region_code(r))?;
    let host = console_host(partition_of(alarm.arn.as_deref()), region);
    Some(format!(
        "https://{host}/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
        url_encode(&alarm.name)
    ))
}
