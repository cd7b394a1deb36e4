//! A batch of notifications as messages: one each while the batch is small, digests beyond
//! that. Pure: no I/O. The queue path ([`crate::handler`]) posts what [`plan`] returns, and
//! `render` prints it.
//!
//! An alarm digest counts the alarms by their latest state in its header, then lists them
//! grouped by state and, within a state, by account, region and namespace: each as a link to
//! the alarm and a short reason. The same alarm seen more than once in a batch is listed once,
//! with its transitions (`ALARM → OK → ALARM`). Other notifications get a digest of their own,
//! grouped by severity. A digest that would break Slack's limits continues in further
//! messages, so every notification is named.

use std::collections::BTreeMap;

use crate::model::alarm::AlarmKind;
use crate::model::card::{Card, Part, Severity};
use crate::model::mrkdwn::{escape, escape_within, slack_len, truncate};
use crate::model::{Alarm, AlarmState, Body, Notification};
use crate::render::blocks::{limits, payload, Payload};
use crate::render::{render_payload, RenderOptions};
use crate::sources::cloudwatch_alarm::{alarm_console_url, metric_condition};

/// Up to this many notifications of a kind in a batch are posted one each.
pub(crate) const DEFAULT_THRESHOLD: usize = 3;

/// Sections per digest message: Slack's 50 blocks, less the header and a mention.
const SECTIONS_PER_MESSAGE: usize = limits::BLOCKS - 2;

/// A reason longer than this is cut in a digest line.
const REASON: usize = 120;

/// One message to post, and the notifications (indexes into the batch) it carries. If it is
/// not accepted, none of them was delivered.
#[derive(Debug)]
pub struct Outgoing {
    pub payload: Payload,
    pub members: Vec<usize>,
}

/// The messages for a batch: alarms and other notifications each posted one by one up to
/// `threshold` of them, and as digests beyond it.
pub fn plan(batch: &[&Notification], options: &RenderOptions, threshold: usize) -> Vec<Outgoing> {
    let (alarms, others): (Vec<usize>, Vec<usize>) =
        (0..batch.len()).partition(|&i| matches!(batch[i].body, Body::Alarm(_)));
    let one_each = |indexes: &[usize]| -> Vec<Outgoing> {
        indexes
            .iter()
            .map(|&i| Outgoing {
                payload: render_payload(batch[i], options),
                members: vec![i],
            })
            .collect()
    };
    let mut out = Vec::new();
    if alarms.len() <= threshold {
        out.extend(one_each(&alarms));
    } else {
        let alarm_list: Vec<(usize, &Alarm)> = alarms
            .iter()
            .filter_map(|&i| match &batch[i].body {
                Body::Alarm(a) => Some((i, a.as_ref())),
                Body::Other(_) => None,
            })
            .collect();
        out.extend(alarm_digest(&alarm_list, options));
    }
    if others.len() <= threshold {
        out.extend(one_each(&others));
    } else {
        let cards: Vec<(usize, Card)> = others.iter().map(|&i| (i, batch[i].body.card())).collect();
        out.extend(notice_digest(&cards, options));
    }
    out
}

/// One alarm as the digest lists it: its latest notification, and every state it reported.
struct Entry<'a> {
    latest: &'a Alarm,
    transitions: Vec<&'a AlarmState>,
    members: Vec<usize>,
}

/// The same alarm, whichever way it arrived.
fn identity(alarm: &Alarm) -> String {
    alarm.arn.clone().unwrap_or_else(|| {
        format!(
            "{}/{}/{}",
            alarm.account.as_deref().unwrap_or_default(),
            alarm.region.as_deref().unwrap_or_default(),
            alarm.name
        )
    })
}

fn entries<'a>(alarms: &[(usize, &'a Alarm)]) -> Vec<Entry<'a>> {
    // In the order the alarms changed state; the batch's order where a time is missing.
    let mut ordered: Vec<(usize, &Alarm)> = alarms.to_vec();
    ordered.sort_by_key(|(i, a)| (a.time, *i));
    let mut by_identity: BTreeMap<String, usize> = BTreeMap::new();
    let mut entries: Vec<Entry> = Vec::new();
    for (i, alarm) in ordered {
        match by_identity.get(&identity(alarm)) {
            Some(&at) => {
                let entry = &mut entries[at];
                entry.latest = alarm;
                entry.transitions.push(&alarm.state);
                entry.members.push(i);
            }
            None => {
                by_identity.insert(identity(alarm), entries.len());
                entries.push(Entry {
                    latest: alarm,
                    transitions: vec![&alarm.state],
                    members: vec![i],
                });
            }
        }
    }
    entries
}

/// States in the order a digest lists them, with their sign.
fn state_rank(state: &AlarmState) -> (u8, &'static str) {
    match state {
        AlarmState::Alarm => (0, "🔴"),
        AlarmState::InsufficientData => (1, "⚪"),
        AlarmState::Ok => (2, "🟢"),
        AlarmState::Unknown | AlarmState::Other(_) => (3, "❔"),
    }
}

fn namespace(alarm: &Alarm) -> &str {
    match &alarm.kind {
        AlarmKind::Metric(m) => m.metric.namespace.as_deref().unwrap_or("(no namespace)"),
        AlarmKind::MetricMath(_) => "metric math",
        AlarmKind::Anomaly(_) => "anomaly detection",
        AlarmKind::Composite(_) => "composite",
        AlarmKind::Unknown => "(no namespace)",
    }
}

/// `• <link|name> · CPUUtilization (Average, 5 min) > 80 for 3 of 3 datapoints (ALARM → OK → ALARM)`
fn alarm_line(entry: &Entry) -> String {
    let alarm = entry.latest;
    let name = escape_within(&alarm.name, 255);
    let shown = match alarm_console_url(alarm) {
        Some(url) => format!("<{url}|{name}>"),
        None => format!("*{name}*"),
    };
    let reason = match &alarm.kind {
        AlarmKind::Metric(m) => Some(escape_within(&metric_condition(m), REASON)),
        _ => alarm.reason.as_deref().map(|r| escape_within(r, REASON)),
    };
    let mut line = format!("• {shown}");
    if let Some(reason) = reason.filter(|r| !r.is_empty()) {
        line.push_str(&format!(" · {reason}"));
    }
    if entry.transitions.len() > 1 {
        let states: Vec<&str> = entry.transitions.iter().map(|s| s.as_str()).collect();
        line.push_str(&format!(" ({})", escape(&states.join(" → "))));
    }
    line
}

/// A heading and its lines, each line with the notifications it names.
type Group = (String, Vec<(String, Vec<usize>)>);

/// One digest message's worth of lines, each with the notifications it names.
struct Page {
    sections: Vec<String>,
    members: Vec<usize>,
}

/// Packs headed groups of lines into sections within Slack's section limit, and sections
/// into messages within its block limit. A group that goes on past a section or message
/// repeats its heading, marked as continued.
fn paginate(groups: Vec<Group>) -> Vec<Page> {
    let mut pages = vec![Page {
        sections: Vec::new(),
        members: Vec::new(),
    }];
    let mut section = String::new();
    let close = |pages: &mut Vec<Page>, section: &mut String| {
        if section.is_empty() {
            return;
        }
        if pages
            .last()
            .is_some_and(|p| p.sections.len() == SECTIONS_PER_MESSAGE)
        {
            pages.push(Page {
                sections: Vec::new(),
                members: Vec::new(),
            });
        }
        if let Some(page) = pages.last_mut() {
            page.sections.push(std::mem::take(section));
        }
    };
    for (heading, lines) in groups {
        close(&mut pages, &mut section);
        section = heading.clone();
        for (line, members) in lines {
            let line = truncate(&line, limits::SECTION_TEXT - slack_len(&heading) - 20);
            if slack_len(&section) + 1 + slack_len(&line) > limits::SECTION_TEXT {
                close(&mut pages, &mut section);
                section = format!("{heading} _(continued)_");
            }
            section.push('\n');
            section.push_str(&line);
            // The section's page is the one it will be closed into.
            let full = pages
                .last()
                .is_some_and(|p| p.sections.len() == SECTIONS_PER_MESSAGE);
            if full {
                pages.push(Page {
                    sections: Vec::new(),
                    members: Vec::new(),
                });
            }
            if let Some(page) = pages.last_mut() {
                page.members.extend(members);
            }
        }
    }
    close(&mut pages, &mut section);
    pages.retain(|p| !p.sections.is_empty());
    pages
}

/// Turns pages into payloads: the header on each, marked `(2/3)` after the first.
fn messages(
    pages: Vec<Page>,
    header: &str,
    severity: Severity,
    mention: bool,
    options: &RenderOptions,
) -> Vec<Outgoing> {
    let count = pages.len();
    pages
        .into_iter()
        .enumerate()
        .map(|(n, page)| {
            let title = if count > 1 {
                format!("{header} ({}/{count})", n + 1)
            } else {
                header.to_owned()
            };
            let mut card = Card::new("", title.clone(), escape(&title), severity);
            card.mention = mention && n == 0;
            card.parts = page.sections.into_iter().map(Part::Mrkdwn).collect();
            let mut members = page.members;
            members.sort_unstable();
            members.dedup();
            Outgoing {
                payload: payload(&card, options.mention.as_deref().filter(|_| card.mention)),
                members,
            }
        })
        .collect()
}

fn alarm_digest(alarms: &[(usize, &Alarm)], options: &RenderOptions) -> Vec<Outgoing> {
    let entries = entries(alarms);
    let mut groups: BTreeMap<(u8, String, String, String, String), Vec<&Entry>> = BTreeMap::new();
    for entry in &entries {
        let a = entry.latest;
        let (rank, _) = state_rank(&a.state);
        groups
            .entry((
                rank,
                a.state.as_str().to_owned(),
                a.account.clone().unwrap_or_default(),
                a.region.clone().unwrap_or_default(),
                namespace(a).to_owned(),
            ))
            .or_default()
            .push(entry);
    }
    let mut counts: BTreeMap<(u8, String), usize> = BTreeMap::new();
    for entry in &entries {
        let (rank, _) = state_rank(&entry.latest.state);
        *counts
            .entry((rank, entry.latest.state.as_str().to_owned()))
            .or_default() += 1;
    }
    let header = counts
        .iter()
        .map(|((rank, state), n)| {
            let sign = match rank {
                0 => "🔴",
                1 => "⚪",
                2 => "🟢",
                _ => "❔",
            };
            let label = if *rank == 0 {
                format!("in {state}")
            } else {
                state.clone()
            };
            format!("{sign} {n} {label}")
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let worst = entries
        .iter()
        .map(|e| state_rank(&e.latest.state).0)
        .min()
        .unwrap_or(3);
    let severity = match worst {
        0 => Severity::Critical,
        1 => Severity::Warning,
        2 => Severity::Ok,
        _ => Severity::Info,
    };
    let sections = groups
        .into_iter()
        .map(|((rank, state, account, region, namespace), list)| {
            let (_, sign) = state_rank(&list[0].latest.state);
            let _ = rank;
            let place: Vec<String> = [account, region, namespace]
                .into_iter()
                .filter(|p| !p.is_empty())
                .map(|p| escape(&p))
                .collect();
            let heading = format!(
                "{sign} *{} · {}* ({})",
                escape(&state),
                place.join(" · "),
                list.len()
            );
            let lines = list
                .into_iter()
                .map(|e| (alarm_line(e), e.members.clone()))
                .collect();
            (heading, lines)
        })
        .collect();
    messages(paginate(sections), &header, severity, worst == 0, options)
}

fn notice_digest(cards: &[(usize, Card)], options: &RenderOptions) -> Vec<Outgoing> {
    let rank = |s: Severity| match s {
        Severity::Critical | Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
        Severity::Ok => 3,
    };
    let label = ["failed", "warning", "info", "ok"];
    let sign = ["🔴", "⚠️", "ℹ️", "✅"];
    let mut groups: BTreeMap<usize, Vec<&(usize, Card)>> = BTreeMap::new();
    for item in cards {
        groups.entry(rank(item.1.severity)).or_default().push(item);
    }
    let header = format!(
        "{} notifications: {}",
        cards.len(),
        groups
            .iter()
            .map(|(r, list)| format!("{} {} {}", sign[*r], list.len(), label[*r]))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    let worst = groups.keys().next().copied().unwrap_or(2);
    let severity = [
        Severity::Error,
        Severity::Warning,
        Severity::Info,
        Severity::Ok,
    ][worst];
    let sections = groups
        .into_iter()
        .map(|(r, list)| {
            let heading = format!("{} *{}* ({})", sign[r], label[r], list.len());
            let lines = list
                .into_iter()
                .map(|(i, card)| (format!("• {}", truncate(&card.headline, 400)), vec![*i]))
                .collect();
            (heading, lines)
        })
        .collect();
    messages(paginate(sections), &header, severity, false, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::blocks::check_limits;
    use crate::sources::cloudwatch_alarm::tests::metric_alarm;
    use crate::sources::shared::parse_time;

    fn alarm(name: &str, state: AlarmState, account: &str, minute: u32) -> Notification {
        let mut a = metric_alarm();
        a.name = name.into();
        a.arn = Some(format!(
            "arn:aws:cloudwatch:us-east-1:{account}:alarm:{name}"
        ));
        a.account = Some(account.into());
        a.state = state;
        a.time = parse_time(&format!("2026-11-20T08:{minute:02}:00Z"));
        Notification::new(Some(format!("{name}-{minute}")), Body::Alarm(Box::new(a)))
    }

    fn texts(out: &[Outgoing]) -> String {
        out.iter()
            .map(|o| serde_json::to_string(&o.payload).unwrap())
            .collect()
    }

    #[test]
    fn small_batches_are_posted_one_each() {
        let batch: Vec<Notification> = (0..3)
            .map(|i| alarm(&format!("a{i}"), AlarmState::Alarm, "1", i))
            .collect();
        let refs: Vec<&Notification> = batch.iter().collect();
        let out = plan(&refs, &RenderOptions::default(), DEFAULT_THRESHOLD);
        assert_eq!(out.len(), 3);
        assert_eq!(
            out.iter().map(|o| o.members.clone()).collect::<Vec<_>>(),
            [[0], [1], [2]]
        );
    }

    #[test]
    fn a_digest_counts_groups_and_names_every_alarm_once() {
        let batch = [
            alarm("db-cpu", AlarmState::Alarm, "111111111111", 1),
            alarm("web-5xx", AlarmState::Alarm, "222222222222", 2),
            alarm("db-cpu", AlarmState::Ok, "111111111111", 3),
            alarm("queue-age", AlarmState::InsufficientData, "111111111111", 4),
            alarm("db-cpu", AlarmState::Alarm, "111111111111", 5),
        ];
        let refs: Vec<&Notification> = batch.iter().collect();
        let out = plan(&refs, &RenderOptions::default(), DEFAULT_THRESHOLD);
        assert_eq!(out.len(), 1);
        let p = &out[0].payload;
        assert_eq!(p.text, "🔴 2 in ALARM · ⚪ 1 INSUFFICIENT_DATA");
        assert_eq!(out[0].members, [0, 1, 2, 3, 4]);
        let body = texts(&out);
        assert_eq!(body.matches("|db-cpu>").count(), 1, "{body}");
        assert!(body.contains("(ALARM → OK → ALARM)"), "{body}");
        assert!(
            body.contains("🔴 *ALARM · 111111111111 · us-east-1 · (no namespace)* (1)"),
            "{body}"
        );
        check_limits(&serde_json::to_value(p).unwrap()).unwrap();
    }

    #[test]
    fn a_big_digest_continues_and_names_every_alarm() {
        let batch: Vec<Notification> = (0..1000)
            .map(|i| {
                let state = [
                    AlarmState::Alarm,
                    AlarmState::Ok,
                    AlarmState::InsufficientData,
                ][i % 3]
                    .clone();
                alarm(
                    &format!("storm-{i:04}-{}", "x".repeat(40)),
                    state,
                    &format!("{:012}", i % 7),
                    (i % 60) as u32,
                )
            })
            .collect();
        let refs: Vec<&Notification> = batch.iter().collect();
        let out = plan(
            &refs,
            &RenderOptions {
                mention: Some("<!here>".into()),
                mention_severe: false,
            },
            DEFAULT_THRESHOLD,
        );
        assert!(out.len() > 1, "{} messages", out.len());
        eprintln!("1000 alarms: {} messages", out.len());
        let mut members: Vec<usize> = out.iter().flat_map(|o| o.members.clone()).collect();
        members.sort_unstable();
        assert_eq!(
            members,
            (0..1000).collect::<Vec<_>>(),
            "each alarm in exactly one message"
        );
        for (n, o) in out.iter().enumerate() {
            let value = serde_json::to_value(&o.payload).unwrap();
            check_limits(&value).unwrap_or_else(|e| panic!("message {n}: {e}"));
            let body = value.to_string();
            for &m in &o.members {
                let Body::Alarm(a) = &batch[m].body else {
                    unreachable!()
                };
                assert!(
                    body.contains(&format!("|{}>", a.name)),
                    "message {n} lacks {}",
                    a.name
                );
            }
            assert!(
                o.payload
                    .text
                    .ends_with(&format!("({}/{})", n + 1, out.len())),
                "{}",
                o.payload.text
            );
            assert_eq!(body.contains("<!here>"), n == 0);
        }
    }

    #[test]
    fn other_notifications_get_their_own_digest_beyond_the_threshold() {
        let text = |t: &str| {
            Notification::new(
                None,
                crate::sources::parse_sns_message(Some(t.into()), "body", None).unwrap(),
            )
        };
        let mut batch: Vec<Notification> = (0..5).map(|i| text(&format!("note {i}"))).collect();
        batch.push(alarm("a", AlarmState::Alarm, "1", 1));
        let refs: Vec<&Notification> = batch.iter().collect();
        let out = plan(&refs, &RenderOptions::default(), DEFAULT_THRESHOLD);
        assert_eq!(out.len(), 2, "the alarm alone, the notes in one digest");
        assert_eq!(out[0].members, [5]);
        assert_eq!(out[1].members, [0, 1, 2, 3, 4]);
        assert_eq!(out[1].payload.text, "5 notifications: ℹ️ 5 info");
        let body = texts(&out[1..]);
        for i in 0..5 {
            assert!(body.contains(&format!("• note {i}")), "{body}");
        }
    }
}
