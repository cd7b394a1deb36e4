//! An incident's buttons (`ACTIONS`): Acknowledge, Mute for a while, Unmute, on the parent
//! message of its thread, and the lines that say who acknowledged or muted it. Pure: the
//! parent is JSON in and JSON out, as the threads table keeps it.

use serde_json::{json, Value};

use super::blocks::{limits, Block, Payload};

/// The actions block's id: the buttons are found, and swapped, by it.
pub(crate) const ACTIONS_BLOCK: &str = "incident-actions";
/// The context lines under the buttons: who acknowledged; who muted, until when; why there
/// is no mute.
pub(crate) const ACK_LINE: &str = "incident-ack";
pub(crate) const MUTE_LINE: &str = "incident-mute";
pub(crate) const NO_MUTE_LINE: &str = "incident-no-mute";
/// The lines in the order they stand under the buttons.
const LINES: [&str; 3] = [NO_MUTE_LINE, ACK_LINE, MUTE_LINE];
/// The `action_id`s Slack sends back.
pub(crate) const ACK: &str = "incident_ack";
pub(crate) const MUTE: &str = "incident_mute";
pub(crate) const UNMUTE: &str = "incident_unmute";
/// The mute's choices: the option's label and its value, the mute's length in seconds.
pub(crate) const MUTE_CHOICES: [(&str, u64); 3] = [
    ("1 hour", 3600),
    ("4 hours", 4 * 3600),
    ("24 hours", 24 * 3600),
];
/// Slack's limit on a button's value, which carries the thread's key.
pub(crate) const BUTTON_VALUE: usize = 2000;

/// What the buttons offer of muting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MuteOffer {
    /// The alarm can be muted: the select of lengths (swapped for Unmute once muted, by
    /// [`with_mute_control`]).
    Mute,
    /// It cannot be muted from here: no mute control, and a line that says why.
    Unavailable(String),
}

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text, "emoji": true})
}

fn ack_button(key: &str) -> Value {
    json!({"type": "button", "action_id": ACK, "text": plain("👀 Acknowledge"), "value": key})
}

fn mute_select() -> Value {
    let options: Vec<Value> = MUTE_CHOICES
        .iter()
        .map(|(label, secs)| json!({"text": plain(label), "value": secs.to_string()}))
        .collect();
    json!({"type": "static_select", "action_id": MUTE, "placeholder": plain("🔕 Mute for…"), "options": options})
}

fn unmute_button(key: &str) -> Value {
    json!({"type": "button", "action_id": UNMUTE, "text": plain("🔔 Unmute"), "value": key})
}

fn line(id: &str, text: &str) -> Value {
    json!({"type": "context", "block_id": id, "elements": [{"type": "mrkdwn", "text": text}]})
}

/// The buttons for the incident whose thread is stored under `key`, as blocks; none when the
/// key would not fit a button's value.
pub(crate) fn controls(key: &str, offer: &MuteOffer) -> Vec<Value> {
    if key.is_empty() || key.len() > BUTTON_VALUE {
        return Vec::new();
    }
    let mut elements = vec![ack_button(key)];
    match offer {
        MuteOffer::Mute => elements.push(mute_select()),
        MuteOffer::Unavailable(_) => {}
    }
    let mut blocks =
        vec![json!({"type": "actions", "block_id": ACTIONS_BLOCK, "elements": elements})];
    if let MuteOffer::Unavailable(why) = offer {
        blocks.push(line(NO_MUTE_LINE, why));
    }
    blocks
}

/// `payload` with the incident's buttons under its header, within Slack's 50 blocks.
pub(crate) fn with_controls(mut payload: Payload, key: &str, offer: &MuteOffer) -> Payload {
    let blocks = controls(key, offer);
    let attached: usize = payload.attachments.iter().map(|a| a.blocks.len()).sum();
    // Room for the status, acknowledgement and mute lines added later.
    let room = limits::BLOCKS.saturating_sub(attached + payload.blocks.len() + 3);
    if blocks.len() <= room {
        payload.blocks.extend(blocks.into_iter().map(Block::Raw));
    }
    payload
}

/// The top-level blocks of a stored parent message.
fn blocks_of(parent: &mut Value) -> &mut Vec<Value> {
    if !parent["blocks"].is_array() {
        parent["blocks"] = Value::Array(Vec::new());
    }
    match parent.get_mut("blocks") {
        Some(Value::Array(blocks)) => blocks,
        _ => unreachable!("set to an array above"),
    }
}

/// `parent` with the context line `id` saying `text` under its buttons (replacing the line it
/// had), or without that line for `None`.
pub(crate) fn with_line(parent: &Value, id: &str, text: Option<&str>) -> Value {
    let mut updated = parent.clone();
    let blocks = blocks_of(&mut updated);
    blocks.retain(|b| b["block_id"] != id);
    if let Some(text) = text {
        // Under the buttons, in one order whatever came first: acknowledged, then muted.
        let rank = |id: &Value| LINES.iter().position(|l| id == l);
        let mine = rank(&Value::from(id));
        let at = match blocks.iter().position(|b| b["block_id"] == ACTIONS_BLOCK) {
            None => blocks.len(),
            Some(i) => {
                let before = blocks[i + 1..]
                    .iter()
                    .take_while(|b| rank(&b["block_id"]) < mine && rank(&b["block_id"]).is_some())
                    .count();
                i + 1 + before
            }
        };
        blocks.insert(at, line(id, text));
    }
    updated
}

/// `parent` with its mute control as `muted` says: Unmute while muted, the select otherwise.
/// A parent without buttons is returned as it is.
pub(crate) fn with_mute_control(parent: &Value, key: &str, muted: bool) -> Value {
    let mut updated = parent.clone();
    let blocks = blocks_of(&mut updated);
    let Some(Value::Array(elements)) = blocks
        .iter_mut()
        .find(|b| b["block_id"] == ACTIONS_BLOCK)
        .and_then(|b| b.get_mut("elements"))
    else {
        return updated;
    };
    let control = if muted {
        unmute_button(key)
    } else {
        mute_select()
    };
    match elements
        .iter()
        .position(|e| e["action_id"] == MUTE || e["action_id"] == UNMUTE)
    {
        Some(i) => elements[i] = control,
        None => elements.push(control),
    }
    updated
}

/// The thread key a message's buttons carry: the Acknowledge button's value.
pub(crate) fn key_in(message: &Value) -> Option<&str> {
    message["blocks"]
        .as_array()?
        .iter()
        .find(|b| b["block_id"] == ACTIONS_BLOCK)?["elements"]
        .as_array()?
        .iter()
        .find(|e| e["action_id"] == ACK)?["value"]
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Body, Notification};
    use crate::render::{check_limits, render_payload, RenderOptions};
    use crate::sources::cloudwatch_alarm::tests::metric_alarm;

    const KEY: &str = "alarm#arn:aws:cloudwatch:eu-west-1:123456789012:alarm:cpu-high";

    fn parent(offer: &MuteOffer) -> Value {
        let n = Notification::new(None, Body::Alarm(Box::new(metric_alarm())));
        let payload = with_controls(render_payload(&n, &RenderOptions::default()), KEY, offer);
        serde_json::to_value(payload).unwrap()
    }

    fn actions(parent: &Value) -> Vec<String> {
        parent["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == ACTIONS_BLOCK)
            .map(|b| {
                b["elements"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["action_id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn an_alarm_of_this_account_gets_acknowledge_and_mute() {
        let p = parent(&MuteOffer::Mute);
        check_limits(&p).unwrap();
        assert_eq!(actions(&p), [ACK, MUTE]);
        assert_eq!(key_in(&p), Some(KEY));
        let select = &p["blocks"][1]["elements"][1];
        let values: Vec<&str> = select["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["3600", "14400", "86400"]);
        // The console's link buttons stay where they were.
        assert!(p["attachments"][0]["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["type"] == "actions"));
    }

    #[test]
    fn another_accounts_alarm_says_why_it_has_no_mute() {
        let p = parent(&MuteOffer::Unavailable("not this account".into()));
        assert_eq!(actions(&p), [ACK]);
        let why = p["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == NO_MUTE_LINE)
            .unwrap();
        assert_eq!(why["elements"][0]["text"], "not this account");
    }

    #[test]
    fn lines_sit_under_the_buttons_and_replace_their_own() {
        let p = parent(&MuteOffer::Mute);
        let p = with_line(&p, MUTE_LINE, Some("🔕 muted"));
        let p = with_line(&p, ACK_LINE, Some("👀 first"));
        let p = with_line(&p, ACK_LINE, Some("👀 second"));
        let ids: Vec<&str> = p["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["block_id"].as_str().unwrap_or("-"))
            .collect();
        assert_eq!(ids, ["-", ACTIONS_BLOCK, ACK_LINE, MUTE_LINE]);
        assert!(p.to_string().contains("👀 second") && !p.to_string().contains("👀 first"));
        let p = with_line(&p, MUTE_LINE, None);
        assert!(!p.to_string().contains(MUTE_LINE));
    }

    #[test]
    fn the_mute_control_swaps_with_unmute_and_back() {
        let p = parent(&MuteOffer::Mute);
        let muted = with_mute_control(&p, KEY, true);
        assert_eq!(actions(&muted), [ACK, UNMUTE]);
        assert_eq!(with_mute_control(&muted, KEY, false), p);
        let bare = json!({"text": "x", "blocks": []});
        assert_eq!(with_mute_control(&bare, KEY, true), bare);
    }

    #[test]
    fn a_key_too_long_for_a_button_makes_none() {
        assert!(controls(&"k".repeat(BUTTON_VALUE + 1), &MuteOffer::Mute).is_empty());
        assert!(controls("", &MuteOffer::Mute).is_empty());
        assert_eq!(controls("k", &MuteOffer::Mute).len(), 1);
    }
}
