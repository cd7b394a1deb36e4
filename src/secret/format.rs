//! The secret's formats: a JSON object for app mode or a webhook, or a bare webhook URL.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::credentials::{bot_token, channel_id, Credential, WebhookUrl};
use super::{Rotation, SecretError, SlackSecret, TOKEN_EXPIRES_AT};

/// Parses a secret value: `{"SLACK_BOT_TOKEN": "xoxb-...", "SLACK_CHANNEL": "C..."}` (app
/// mode, which wins when a webhook is there too), `{"SLACK_HOOK_URL": "...", "SLACK_CHANNEL":
/// "..."}`, or a bare webhook URL.
pub(crate) fn parse_secret(secret_id: &str, raw: &str) -> Result<SlackSecret, SecretError> {
    let raw = raw.trim();
    let unrecognised = || SecretError::Unrecognised {
        secret_id: secret_id.into(),
    };
    if raw.starts_with('{') {
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(raw) else {
            return Err(unrecognised());
        };
        let fields = Fields { secret_id, obj };
        return if fields.obj.contains_key("SLACK_BOT_TOKEN") {
            fields.app(raw)
        } else {
            fields.webhook()
        };
    }
    // A URL stored as a JSON string, quotes and all.
    if let Ok(Value::String(unquoted)) = serde_json::from_str::<Value>(raw) {
        if unquoted.trim() != raw {
            return parse_secret(secret_id, &unquoted);
        }
    }
    if raw.starts_with("https://") || raw.starts_with("http://") {
        return Ok(SlackSecret::Webhook {
            url: Some(WebhookUrl::new(raw)),
            hooks: BTreeMap::new(),
            channel: None,
        });
    }
    if raw.is_empty() {
        return Err(SecretError::Empty {
            secret_id: secret_id.into(),
        });
    }
    Err(unrecognised())
}

/// A JSON secret's fields, read with errors that name the secret and the key.
struct Fields<'a> {
    secret_id: &'a str,
    obj: Map<String, Value>,
}

impl Fields<'_> {
    /// A key's text, trimmed; blank is absent.
    fn text(&self, key: &str) -> Option<&str> {
        self.obj
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    fn invalid(&self, key: &'static str, problem: impl Into<String>) -> SecretError {
        SecretError::InvalidValue {
            secret_id: self.secret_id.into(),
            key,
            problem: problem.into(),
        }
    }

    /// App mode: a bot token and the channel to post to; `raw` carries the token's expiry.
    fn app(&self, raw: &str) -> Result<SlackSecret, SecretError> {
        let token = self.obj["SLACK_BOT_TOKEN"]
            .as_str()
            .map(str::trim)
            .ok_or_else(|| self.invalid("SLACK_BOT_TOKEN", "is not a string"))?;
        let token = bot_token(token).map_err(|p| self.invalid("SLACK_BOT_TOKEN", p))?;
        let channel = self.text("SLACK_CHANNEL").ok_or_else(|| {
            self.invalid(
                "SLACK_CHANNEL",
                "is missing: a bot token needs the ID of the channel to post to (such as C0123ABCD)",
            )
        })?;
        let channel = channel_id(channel).map_err(|p| self.invalid("SLACK_CHANNEL", p))?;
        let rotation = Rotation {
            token_expires: token_expiry(raw),
            renewable: [
                "SLACK_REFRESH_TOKEN",
                "SLACK_CLIENT_ID",
                "SLACK_CLIENT_SECRET",
            ]
            .iter()
            .all(|key| self.text(key).is_some()),
        };
        // Kept as it is: `check` says whether it is well-formed, and a request is only ever
        // verified against it, so a bad one refuses clicks without stopping a notification.
        let signing = self.text("SLACK_SIGNING_SECRET").map(Credential::new);
        Ok(SlackSecret::App {
            token,
            channel,
            rotation,
            signing,
        })
    }

    /// A webhook (`SLACK_HOOK_URL`), named ones (`SLACK_HOOK_URLS`) or both, and the channel a
    /// legacy webhook honours.
    fn webhook(&self) -> Result<SlackSecret, SecretError> {
        let url = self.text("SLACK_HOOK_URL").map(WebhookUrl::new);
        let hooks = self.hooks()?;
        if url.is_none() && hooks.is_empty() {
            let mut keys: Vec<&str> = self.obj.keys().map(String::as_str).collect();
            keys.sort_unstable();
            return Err(SecretError::MissingHookUrl {
                secret_id: self.secret_id.into(),
                keys: if keys.is_empty() {
                    "none".into()
                } else {
                    keys.join(", ")
                },
            });
        }
        let channel = self.text("SLACK_CHANNEL").map(str::to_owned);
        if let Some(channel) = &channel {
            super::redact::register(super::redact::Kind::Private, channel);
        }
        Ok(SlackSecret::Webhook {
            url,
            hooks,
            channel,
        })
    }

    /// `SLACK_HOOK_URLS`: webhooks by the names routes give them.
    fn hooks(&self) -> Result<BTreeMap<String, WebhookUrl>, SecretError> {
        let Some(value) = self.obj.get("SLACK_HOOK_URLS") else {
            return Ok(BTreeMap::new());
        };
        let Value::Object(hooks) = value else {
            return Err(self.invalid(
                "SLACK_HOOK_URLS",
                "is not an object of webhook URLs by name",
            ));
        };
        hooks
            .iter()
            .map(|(name, url)| match url.as_str().map(str::trim) {
                Some(url) if !url.is_empty() => Ok((name.clone(), WebhookUrl::new(url))),
                _ => Err(self.invalid(
                    "SLACK_HOOK_URLS",
                    format!("has {name:?} without a URL string"),
                )),
            })
            .collect()
    }
}

/// When the secret's bot token expires: its `SLACK_TOKEN_EXPIRES_AT`, a number or a string of
/// epoch seconds. `None` for a token that does not expire or a value that is not a time.
pub(crate) fn token_expiry(raw: &str) -> Option<SystemTime> {
    let value: Value = serde_json::from_str(raw.trim()).ok()?;
    let field = value.get(TOKEN_EXPIRES_AT)?;
    let seconds = field
        .as_u64()
        .or_else(|| field.as_str()?.trim().parse().ok())?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}
