//! A click, read from a verified interactivity request: `application/x-www-form-urlencoded`
//! with one field, `payload`, holding Slack's `block_actions` JSON. Pure.

use serde::Deserialize;
use serde_json::Value;

use crate::render::controls::{key_in, ACK, MUTE, MUTE_CHOICES, UNMUTE};

/// What the click asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Acknowledge,
    /// Mute for this many seconds, one of the offered lengths.
    Mute(u64),
    Unmute,
    /// An action id (or a mute length) these buttons never offer: refused.
    Unknown(String),
}

impl Action {
    /// The action's name in audit lines.
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Mute(_) => "mute",
            Self::Unmute => "unmute",
            Self::Unknown(id) => id,
        }
    }
}

/// One click on an incident's buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Click {
    /// The workspace (`team.id`), the user and the channel, as Slack says.
    pub team: String,
    pub user: String,
    pub channel: String,
    /// The message the buttons are on.
    pub message_ts: String,
    pub action: Action,
    /// The thread's key the buttons carry; checked against the table before it is trusted.
    pub key: String,
    /// Slack's time of the click: the same click delivered twice has the same one.
    pub action_ts: String,
    /// Where to answer the user (an ephemeral message).
    pub response_url: Option<String>,
}

/// Why a request's body is not a click. Never quotes the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Malformed {
    #[error("the body has no payload field")]
    NoPayload,
    #[error("the payload is not JSON of an interaction: {0}")]
    NotJson(String),
    #[error("the interaction is a {0:?}, not a button's (block_actions)")]
    NotBlockActions(String),
    #[error("the interaction has no {0}")]
    Missing(&'static str),
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

#[derive(Deserialize)]
struct Container {
    message_ts: Option<String>,
}

#[derive(Deserialize)]
struct Selected {
    value: String,
}

#[derive(Deserialize)]
struct Pressed {
    #[serde(default)]
    action_id: String,
    value: Option<String>,
    selected_option: Option<Selected>,
    action_ts: Option<String>,
}

#[derive(Deserialize)]
struct Interaction {
    #[serde(rename = "type")]
    kind: String,
    team: Option<Id>,
    user: Option<Id>,
    channel: Option<Id>,
    container: Option<Container>,
    #[serde(default)]
    message: Value,
    #[serde(default)]
    actions: Vec<Pressed>,
    response_url: Option<String>,
}

/// Reads the click in a request's raw (decoded) body.
pub(crate) fn parse(body: &[u8]) -> Result<Click, Malformed> {
    let payload = form_urlencoded::parse(body)
        .find(|(name, _)| name == "payload")
        .map(|(_, value)| value)
        .ok_or(Malformed::NoPayload)?;
    let interaction: Interaction = serde_json::from_str(&payload)
        .map_err(|e| Malformed::NotJson(format!("line {} column {}", e.line(), e.column())))?;
    if interaction.kind != "block_actions" {
        return Err(Malformed::NotBlockActions(
            interaction.kind.chars().take(40).collect(),
        ));
    }
    let pressed = interaction
        .actions
        .first()
        .ok_or(Malformed::Missing("actions"))?;
    let action = match pressed.action_id.as_str() {
        ACK => Action::Acknowledge,
        UNMUTE => Action::Unmute,
        MUTE => {
            let secs = pressed
                .selected_option
                .as_ref()
                .and_then(|o| o.value.parse::<u64>().ok())
                .filter(|secs| MUTE_CHOICES.iter().any(|(_, s)| s == secs));
            secs.map_or_else(
                || Action::Unknown("incident_mute (a length not offered)".into()),
                Action::Mute,
            )
        }
        other => Action::Unknown(other.chars().take(64).collect()),
    };
    // A select carries no value of its own: the key is on the Acknowledge button beside it.
    let key = pressed
        .value
        .clone()
        .or_else(|| key_in(&interaction.message).map(str::to_owned))
        .unwrap_or_default();
    let message_ts = interaction
        .container
        .and_then(|c| c.message_ts)
        .or_else(|| interaction.message["ts"].as_str().map(str::to_owned))
        .ok_or(Malformed::Missing("container.message_ts"))?;
    Ok(Click {
        team: interaction.team.ok_or(Malformed::Missing("team"))?.id,
        user: interaction.user.ok_or(Malformed::Missing("user"))?.id,
        channel: interaction.channel.ok_or(Malformed::Missing("channel"))?.id,
        message_ts,
        action,
        key,
        action_ts: pressed.action_ts.clone().unwrap_or_default(),
        response_url: interaction.response_url,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A `block_actions` payload as Slack sends it for a click on `action` (a JSON object of
    /// the action's fields), form-encoded.
    pub(crate) fn form(payload: &Value) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
            .into_bytes()
    }

    pub(crate) fn interaction(action: Value) -> Value {
        json!({
            "type": "block_actions",
            "team": {"id": "T0ACME001", "domain": "acme"},
            "user": {"id": "U0ONCALL01", "username": "alice"},
            "channel": {"id": "C0ALERTS01", "name": "alerts"},
            "container": {"type": "message", "message_ts": "1.0001", "channel_id": "C0ALERTS01"},
            "message": {"ts": "1.0001", "blocks": [{"type": "actions", "block_id": "incident-actions",
                "elements": [{"type": "button", "action_id": "incident_ack", "value": "alarm#k"}]}]},
            "response_url": "https://hooks.slack.com/actions/T0ACME001/1/abc",
            "actions": [action],
        })
    }

    #[test]
    fn a_button_and_a_select_are_read() {
        let ack = parse(&form(&interaction(
            json!({"action_id": "incident_ack", "value": "alarm#k", "action_ts": "9.1"}),
        )))
        .unwrap();
        assert_eq!(ack.action, Action::Acknowledge);
        assert_eq!(
            (ack.team.as_str(), ack.user.as_str(), ack.channel.as_str()),
            ("T0ACME001", "U0ONCALL01", "C0ALERTS01")
        );
        assert_eq!(
            (
                ack.key.as_str(),
                ack.message_ts.as_str(),
                ack.action_ts.as_str()
            ),
            ("alarm#k", "1.0001", "9.1")
        );
        let mute = parse(&form(&interaction(
            json!({"action_id": "incident_mute", "type": "static_select",
            "selected_option": {"value": "14400"}, "action_ts": "9.2"}),
        )))
        .unwrap();
        assert_eq!(mute.action, Action::Mute(14_400));
        assert_eq!(
            mute.key, "alarm#k",
            "the key comes from the Acknowledge button beside it"
        );
        let unmute = parse(&form(&interaction(
            json!({"action_id": "incident_unmute", "value": "alarm#k"}),
        )))
        .unwrap();
        assert_eq!(unmute.action, Action::Unmute);
    }

    #[test]
    fn unknown_actions_and_lengths_are_named_not_acted_on() {
        let other = parse(&form(&interaction(
            json!({"action_id": "delete_everything", "value": "x"}),
        )))
        .unwrap();
        assert_eq!(other.action, Action::Unknown("delete_everything".into()));
        let long = parse(&form(&interaction(
            json!({"action_id": "incident_mute", "selected_option": {"value": "999999"}}),
        )))
        .unwrap();
        assert!(matches!(long.action, Action::Unknown(_)));
    }

    #[test]
    fn malformed_bodies_are_errors_never_panics() {
        assert_eq!(parse(b""), Err(Malformed::NoPayload));
        assert_eq!(parse(b"text=hello"), Err(Malformed::NoPayload));
        assert!(matches!(
            parse(b"payload=%7Bnot+json"),
            Err(Malformed::NotJson(_))
        ));
        assert!(matches!(
            parse(b"payload=%FF%FE"),
            Err(Malformed::NotJson(_))
        ));
        let mut view = interaction(json!({}));
        view["type"] = "view_submission".into();
        assert_eq!(
            parse(&form(&view)),
            Err(Malformed::NotBlockActions("view_submission".into()))
        );
        let mut none = interaction(json!({"action_id": "incident_ack"}));
        none["actions"] = json!([]);
        assert_eq!(parse(&form(&none)), Err(Malformed::Missing("actions")));
        let mut teamless = interaction(json!({"action_id": "incident_ack"}));
        teamless.as_object_mut().unwrap().remove("team");
        assert_eq!(parse(&form(&teamless)), Err(Malformed::Missing("team")));
        let deep = format!("payload={}", "%5B".repeat(10_000));
        assert!(matches!(parse(deep.as_bytes()), Err(Malformed::NotJson(_))));
    }
}
