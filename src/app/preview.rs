//! What an event becomes, without posting: `render` (with `--explain`, the routing that led
//! there) and `send --dry-run`. One message per notification and destination; an SQS batch
//! as the messages and digests each destination would get.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cloudwatch::chart::{self, Answered};
use crate::deliver::route::{Destination, Explained, Facts, Routes, Routing, Tags, Target};
use crate::ingest::{parse_delivery, Delivery};
use crate::model::Notification;
use crate::render::blocks::{Block, Payload};
use crate::render::{describe, render_payload, RenderOptions};

/// One message, and where it would go.
pub(super) struct Planned {
    pub(super) destination: Destination,
    pub(super) payload: Payload,
}

impl Planned {
    /// The payload as printed: with its channel when the destination is a channel.
    pub(super) fn to_json(&self, secret_channel: Option<&str>) -> Value {
        let mut payload = self.payload.clone();
        payload.channel = match &self.destination.target {
            Target::Channel(c) => Some(c.clone()),
            Target::Secret => secret_channel.map(str::to_owned),
            Target::Webhook(_) => None,
        };
        serde_json::to_value(payload).unwrap_or_default()
    }
}

/// An event's notifications, and whether they came as a queue batch. A record that is not a
/// notification is an error naming it.
pub(super) fn notifications(bytes: &[u8]) -> Result<(Vec<Notification>, bool), String> {
    if let Some(request) = crate::rotation::RotationRequest::detect(bytes) {
        let step = request.map_or_else(|e| e.to_string(), |r| format!("step {}", r.step));
        return Err(format!(
            "a Secrets Manager rotation request ({step}), not a notification: the deployed function runs it against the secret; render and send show notifications only"
        ));
    }
    match parse_delivery(bytes).map_err(|e| e.to_string())? {
        Delivery::Direct(records) => records
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()
            .map(|n| (n, false)),
        Delivery::Queue(records) => records
            .into_iter()
            .map(|r| {
                r.notification
                    .map_err(|e| format!("record {}: {e}", r.message_id))
            })
            .collect::<Result<_, _>>()
            .map(|n| (n, true)),
    }
}

/// The messages `notifications` become, each at the destinations of its `routings` (one per
/// notification) whose states take it. A queue batch is planned per destination, digests
/// included, as the function posts it, without charts; other alarms carry their chart drawn
/// from `metric_data`, a recorded `GetMetricData` answer, when one is given.
pub(super) fn plan(
    notifications: &[Notification],
    routings: &[Routing],
    queue: bool,
    options: &RenderOptions,
    digest_threshold: usize,
    metric_data: Option<&[Answered]>,
) -> Vec<Planned> {
    let mut out = Vec::new();
    let mut groups: BTreeMap<&Target, (&Destination, Vec<&Notification>)> = BTreeMap::new();
    for (n, routing) in notifications.iter().zip(routings) {
        for destination in routing.destinations.iter().filter(|d| d.takes(n)) {
            if queue {
                groups
                    .entry(&destination.target)
                    .or_insert_with(|| (destination, Vec::new()))
                    .1
                    .push(n);
            } else {
                let payload = render_payload(n, &destination.render_options(options));
                let payload = match metric_data.and_then(|data| recorded_chart(n, data)) {
                    Some(chart) => payload.with_chart(chart),
                    None => payload,
                };
                out.push(Planned {
                    destination: destination.clone(),
                    payload,
                });
            }
        }
    }
    for (destination, members) in groups.into_values() {
        let options = destination.render_options(options);
        out.extend(
            crate::render::digest::plan(&members, &options, digest_threshold)
                .into_iter()
                .map(|o| Planned {
                    destination: destination.clone(),
                    payload: o.payload,
                }),
        );
    }
    out
}

/// An alarm's chart from a recorded answer, as the function would draw it.
fn recorded_chart(n: &Notification, data: &[Answered]) -> Option<Block> {
    let crate::model::Body::Alarm(alarm) = &n.body else {
        return None;
    };
    let request = chart::request(alarm, chrono::Utc::now())?;
    chart::block(alarm, &request, data)
}

/// Renders every notification in the event, or names the first bad record.
pub fn render_event(bytes: &[u8], options: &RenderOptions) -> Result<Vec<Value>, String> {
    let threshold = crate::render::digest::DEFAULT_THRESHOLD;
    render_routed(bytes, &Routes::none(), None, options, threshold, None)
        .map(|(_, payloads)| payloads)
}

/// As [`render_event`], each alarm with its chart drawn from `metric_data`: the JSON that `aws
/// cloudwatch get-metric-data` prints. A bad file is an error naming what is wrong.
pub fn render_event_with_metric_data(
    bytes: &[u8],
    metric_data: &str,
    options: &RenderOptions,
) -> Result<Vec<Value>, String> {
    let data = chart::recorded(metric_data)?;
    let threshold = crate::render::digest::DEFAULT_THRESHOLD;
    render_routed(
        bytes,
        &Routes::none(),
        None,
        options,
        threshold,
        Some(&data),
    )
    .map(|(_, payloads)| payloads)
}

/// The payloads of `bytes` under `routes`, with `tags` as every alarm's tags, and the lines
/// of `render --explain`.
pub(super) fn render_routed(
    bytes: &[u8],
    routes: &Routes,
    tags: Option<&Tags>,
    options: &RenderOptions,
    digest_threshold: usize,
    metric_data: Option<&[Answered]>,
) -> Result<(Vec<String>, Vec<Value>), String> {
    let (notifications, queue) = notifications(bytes)?;
    let mut lines = Vec::new();
    if routes.need_tags() && tags.is_none() {
        lines.push("(no --tag given: routes that match on tags match no alarm)".to_owned());
    }
    let mut routings = Vec::new();
    for n in &notifications {
        let (routing, matched) = routes.route(&facts(n, tags));
        lines.extend(explain(n, &matched, &routing));
        routings.push(routing);
    }
    let planned = plan(
        &notifications,
        &routings,
        queue,
        options,
        digest_threshold,
        metric_data,
    );
    let payloads = planned.iter().map(|p| p.to_json(None)).collect();
    Ok((lines, payloads))
}

/// What the routes look at in `n`, with `tags` for an alarm.
pub(super) fn facts<'a>(n: &'a Notification, tags: Option<&'a Tags>) -> Facts<'a> {
    let tags = tags.filter(|_| matches!(n.body, crate::model::Body::Alarm(_)));
    Facts::of(n, n.body.card().severity, tags)
}

/// Where `target` is, in words.
pub(super) fn place(target: &Target) -> String {
    match target {
        Target::Secret => "the secret's own channel or webhook".into(),
        Target::Channel(c) => format!("channel {c}"),
        Target::Webhook(name) => format!("webhook {name:?} (SLACK_HOOK_URLS)"),
    }
}

/// `render --explain`: for each notification, the routes that matched it and why, and where
/// it goes.
pub(super) fn explain(n: &Notification, matched: &[Explained], routing: &Routing) -> Vec<String> {
    let (kind, name) = describe(&n.body);
    let mut lines = vec![format!("{kind} {name}:")];
    for m in matched {
        let why = if m.because.is_empty() {
            "it matches everything".to_owned()
        } else {
            m.because.join(", ")
        };
        lines.push(format!("  route {:?} matched: {why}", m.route));
    }
    if matched.is_empty() {
        lines.push("  no route matched: it goes to the default".into());
    }
    for route in &routing.dropped_by {
        lines.push(format!(
            "  dropped by route {route:?}: posted nowhere for it"
        ));
    }
    for d in &routing.destinations {
        let mention = d
            .settings
            .mention
            .as_deref()
            .map(|m| format!(", mentioning {m} on ALARM, error and critical"))
            .unwrap_or_default();
        let states = if d.takes(n) {
            ""
        } else {
            " (but its route's states leave this one out)"
        };
        lines.push(format!(
            "  -> {} via {}{mention}{states}",
            place(&d.target),
            d.route
                .as_deref()
                .map_or("the default".to_owned(), |r| format!("route {r:?}")),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_request_is_named_not_rendered() {
        let event = br#"{"SecretId":"s","ClientRequestToken":"v","Step":"finishSecret"}"#;
        let error = render_event(event, &RenderOptions::default()).unwrap_err();
        assert!(
            error.starts_with(
                "a Secrets Manager rotation request (step finishSecret), not a notification"
            ),
            "{error}"
        );
    }
}
