//! The credentials a secret holds, each in a type whose `Debug` never shows it, and each
//! registered with [`super::redact`] as it is made, so that no output shows it either.

use std::fmt;

/// A webhook URL. Its path is a credential, so `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct WebhookUrl(String);

impl WebhookUrl {
    /// The URL, registered so that no output shows its path ([`crate::redact`]).
    pub(crate) fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        crate::secret::redact::register_webhook(&url);
        Self(url)
    }

    /// The URL itself, for the HTTP request only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookUrl([redacted])")
    }
}

/// A Slack bot token (`xoxb-…`, or `xoxe.xoxb-…` with token rotation). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct BotToken(String);

impl BotToken {
    /// The token itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken([redacted])")
    }
}

/// Another credential the secret holds for token rotation: the refresh token, the app's client
/// secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credential(String);

impl Credential {
    /// The value, registered so that no output shows it ([`crate::redact`]).
    pub(crate) fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::secret::redact::register(crate::secret::redact::Kind::Credential, &value);
        Self(value)
    }

    /// The value itself, for the request that needs it only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential([redacted])")
    }
}

/// The prefixes of a bot token: plain, and rotating (an expiring token carries `xoxe.`).
const BOT_TOKEN_PREFIXES: [&str; 2] = ["xoxb-", "xoxe.xoxb-"];
/// Other Slack credentials, named when one is stored in place of a bot token.
const OTHER_TOKENS: [(&str, &str); 5] = [
    ("xoxp-", "a user token"),
    ("xoxe.xoxp-", "a rotating user token"),
    ("xoxe-", "a refresh token"),
    ("xapp-", "an app-level token"),
    ("xoxa-", "a workspace app token"),
];
/// Slack's bot tokens are well under this; a longer value is not one.
const MAX_TOKEN_LEN: usize = 512;

/// Checks a bot token's shape. The problem names a known prefix at most, never the token.
pub(super) fn bot_token(raw: &str) -> Result<BotToken, String> {
    let Some(rest) = BOT_TOKEN_PREFIXES.iter().find_map(|p| raw.strip_prefix(p)) else {
        let what = OTHER_TOKENS
            .iter()
            .find(|(prefix, _)| raw.starts_with(prefix))
            .map_or("not a bot token".to_owned(), |(prefix, name)| {
                format!("{name} ({prefix}…), not a bot token")
            });
        return Err(format!(
            "is {what}: it must start with xoxb- (or xoxe.xoxb- with token rotation)"
        ));
    };
    // It goes into an HTTP header: nothing but the characters Slack's tokens are made of.
    if rest.is_empty()
        || raw.len() > MAX_TOKEN_LEN
        || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(
            "has a bot token's prefix but not its shape (letters, digits and dashes)".into(),
        );
    }
    crate::secret::redact::register(crate::secret::redact::Kind::Credential, raw);
    Ok(BotToken(raw.to_owned()))
}

/// A channel ID (`C0123ABCD`): a public (`C`) or private (`G`) channel, or a DM (`D`).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ChannelId(String);

impl ChannelId {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Kept out of logs like the webhook's channel: a channel says what the alarms are about.
impl fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChannelId([redacted])")
    }
}

/// Checks a channel ID's shape. The problem never quotes the value.
pub(crate) fn channel_id(raw: &str) -> Result<ChannelId, String> {
    if raw.starts_with('#') || raw.starts_with('@') {
        return Err(
            "is a channel name; app mode needs the channel's ID (such as C0123ABCD, \
                    shown at the bottom of the channel's details)"
                .into(),
        );
    }
    let shaped = raw.len() >= 9
        && raw.len() <= 20
        && raw.starts_with(['C', 'G', 'D'])
        && raw
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !shaped {
        return Err(
            "is not a channel ID (C, G or D and at least 8 more capital letters or digits, such as C0123ABCD)"
                .into(),
        );
    }
    crate::secret::redact::register(crate::secret::redact::Kind::Private, raw);
    Ok(ChannelId(raw.to_owned()))
}
