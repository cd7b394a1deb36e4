//! The Slack secret: its format, its redaction, and a cached Secrets Manager reader.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

mod credentials;
mod format;
pub(crate) mod redact;
mod store;

pub(crate) use credentials::{channel_id, BotToken, ChannelId, Credential, WebhookUrl};
pub(crate) use format::parse_secret;
pub(crate) use store::{Call, SecretSource, SecretStore};

/// The secret's key for when its bot token expires (epoch seconds), written by token rotation.
pub(crate) const TOKEN_EXPIRES_AT: &str = "SLACK_TOKEN_EXPIRES_AT";
/// A cached token this close to its expiry is read again, so no post outlives it.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// What the secret holds, and so how messages are posted.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum SlackSecret {
    /// Incoming webhooks: `SLACK_HOOK_URL`, and the named ones of `SLACK_HOOK_URLS` that
    /// routes send to (at least one of the two).
    Webhook {
        url: Option<WebhookUrl>,
        hooks: BTreeMap<String, WebhookUrl>,
        /// `SLACK_CHANNEL`: honoured only by legacy webhooks; app webhooks post to their own channel.
        channel: Option<String>,
    },
    /// App mode: the Web API with a bot token (`SLACK_BOT_TOKEN`) to one channel (`SLACK_CHANNEL`).
    App {
        token: BotToken,
        channel: ChannelId,
        rotation: Rotation,
        /// `SLACK_SIGNING_SECRET`: the app's signing secret, which Slack's interactivity
        /// requests are checked against (`ACTIONS`).
        signing: Option<Credential>,
    },
}

/// What an app-mode secret says of token rotation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rotation {
    /// `SLACK_TOKEN_EXPIRES_AT`: when the bot token expires, as the last renewal recorded it.
    pub token_expires: Option<SystemTime>,
    /// `SLACK_REFRESH_TOKEN`, `SLACK_CLIENT_ID` and `SLACK_CLIENT_SECRET` are all there, so
    /// the rotation function can renew the token.
    pub renewable: bool,
}

impl SlackSecret {
    /// The `channel` a payload is posted with.
    pub(crate) fn channel(&self) -> Option<&str> {
        match self {
            Self::Webhook { channel, .. } => channel.as_deref(),
            Self::App { channel, .. } => Some(channel.as_str()),
        }
    }

    /// Whether `other` holds the same credential (webhook URL or token) as this.
    pub(crate) fn same_credential(&self, other: &Self) -> bool {
        match (self, other) {
            (
                Self::Webhook {
                    url: a, hooks: ha, ..
                },
                Self::Webhook {
                    url: b, hooks: hb, ..
                },
            ) => a == b && ha == hb,
            (Self::App { token: a, .. }, Self::App { token: b, .. }) => a == b,
            _ => false,
        }
    }

    /// What the credential is, in words: `webhook` or `bot token`.
    pub(crate) fn credential(&self) -> &'static str {
        match self {
            Self::Webhook { .. } => "webhook",
            Self::App { .. } => "bot token",
        }
    }
}

impl fmt::Debug for SlackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Webhook {
                url,
                hooks,
                channel,
            } => f
                .debug_struct("Webhook")
                .field("url", url)
                .field("hooks", &hooks.keys().collect::<Vec<_>>())
                .field("channel", &channel.as_ref().map(|_| "[redacted]"))
                .finish(),
            Self::App {
                token,
                channel,
                rotation,
                signing,
            } => f
                .debug_struct("App")
                .field("token", token)
                .field("channel", channel)
                .field("rotation", rotation)
                .field("signing", signing)
                .finish(),
        }
    }
}

/// Why the secret could not be used. Messages name the secret id, never its value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretError {
    /// GetSecretValue failed. `code` is the AWS error code, or a name for what went wrong
    /// when AWS sent none; `detail` is a short, safe description.
    ///
    /// The SDK's error is not kept: it holds the raw response, which may be the secret itself.
    #[error("Secrets Manager: {code} for secret {secret_id}{}{}", stage_note(.code, .stage), detail_suffix(.detail))]
    Fetch {
        secret_id: String,
        /// The version stage asked for (`SECRET_VERSION_STAGE`).
        stage: String,
        code: String,
        detail: String,
    },
    /// GetSecretValue took longer than the invocation had left.
    #[error("reading secret {secret_id:?} did not finish before the invocation's deadline")]
    Timeout { secret_id: String },
    /// The secret is binary or empty.
    #[error("secret {secret_id:?} has no SecretString")]
    Empty { secret_id: String },
    /// A JSON secret with neither the webhook key nor the bot token key.
    #[error(
        "secret {secret_id:?} is JSON but has no string SLACK_HOOK_URL or SLACK_BOT_TOKEN (keys present: {keys})"
    )]
    MissingHookUrl { secret_id: String, keys: String },
    /// A key of the secret has a value that cannot be used. `problem` never quotes a credential.
    #[error("secret {secret_id:?}: {key} {problem}")]
    InvalidValue {
        secret_id: String,
        key: &'static str,
        problem: String,
    },
    /// Neither a JSON object nor a URL.
    #[error("secret {secret_id:?} is neither a JSON object with SLACK_HOOK_URL or SLACK_BOT_TOKEN nor a webhook URL")]
    Unrecognised { secret_id: String },
    /// A file given with `--secret-file` could not be read.
    #[error("cannot read secret file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A secret without a version at the stage asked for reads as not found: say which stage.
fn stage_note(code: &str, stage: &str) -> String {
    if code == "ResourceNotFoundException" {
        format!(" at version stage {stage} (no such secret, or no version of it at that stage: see SECRET_VERSION_STAGE)")
    } else {
        String::new()
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl SecretError {
    /// A short name for Lambda's `errorType`.
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            Self::Fetch { code, .. } => match code.as_str() {
                "ResourceNotFoundException" => "SecretNotFound",
                "AccessDeniedException" => "SecretAccessDenied",
                "DecryptionFailure" => "SecretDecryptionFailure",
                _ => "SecretUnavailable",
            },
            Self::Timeout { .. } => "SecretTimeout",
            Self::File { .. } => "SecretFileUnreadable",
            Self::Empty { .. }
            | Self::MissingHookUrl { .. }
            | Self::InvalidValue { .. }
            | Self::Unrecognised { .. } => "SecretInvalid",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format::token_expiry;
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn a_rotating_tokens_expiry_is_read_from_the_secret() {
        let at =
            |raw: &str| token_expiry(raw).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(
            at(r#"{"SLACK_TOKEN_EXPIRES_AT": 1800000000}"#),
            Some(1_800_000_000)
        );
        assert_eq!(
            at(r#"{"SLACK_TOKEN_EXPIRES_AT": " 1800000000 "}"#),
            Some(1_800_000_000)
        );
        for none in [
            r#"{"SLACK_TOKEN_EXPIRES_AT": "soon"}"#,
            r#"{"SLACK_TOKEN_EXPIRES_AT": -5}"#,
            "{}",
            "https://hooks.slack.com/x",
        ] {
            assert_eq!(at(none), None, "{none}");
        }
    }

    const URL: &str = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
    const TOKEN: &str = "xoxb-1111-2222-XXXXTOKENSECRET";

    fn webhook(s: &SlackSecret) -> &WebhookUrl {
        match s {
            SlackSecret::Webhook { url: Some(url), .. } => url,
            other => panic!("expected a webhook, got {other:?}"),
        }
    }

    #[test]
    fn json_and_plain_forms() {
        let s = parse_secret(
            "id",
            &format!(r##"{{"SLACK_HOOK_URL":"{URL}","SLACK_CHANNEL":"#ops"}}"##),
        )
        .unwrap();
        assert_eq!(webhook(&s).expose(), URL);
        assert_eq!(s.channel(), Some("#ops"));
        let s = parse_secret("id", &format!(" {URL}\n")).unwrap();
        assert_eq!(webhook(&s).expose(), URL);
        assert_eq!(s.channel(), None);
    }

    #[test]
    fn a_bot_token_and_a_channel_id_are_app_mode() {
        for token in [TOKEN, "xoxe.xoxb-1-MS0yLTIyMjI-abc123"] {
            let raw = format!(r#"{{"SLACK_BOT_TOKEN":" {token} ","SLACK_CHANNEL":"C0123ABCD"}}"#);
            let SlackSecret::App {
                token: t, channel, ..
            } = parse_secret("id", &raw).unwrap()
            else {
                panic!("{raw}: not app mode");
            };
            assert_eq!((t.expose(), channel.as_str()), (token, "C0123ABCD"));
        }
    }

    #[test]
    fn a_bot_token_wins_over_a_webhook() {
        let raw = format!(
            r#"{{"SLACK_HOOK_URL":"{URL}","SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"G0123ABCDEF"}}"#
        );
        let s = parse_secret("id", &raw).unwrap();
        assert!(matches!(s, SlackSecret::App { .. }), "{s:?}");
        assert_eq!(s.channel(), Some("G0123ABCDEF"));
        assert_eq!(s.credential(), "bot token");
    }

    #[test]
    fn app_mode_errors_name_the_key_and_never_the_token() {
        let cases = [
            (format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}"}}"#), "SLACK_CHANNEL is missing"),
            (
                format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"  "}}"#),
                "SLACK_CHANNEL is missing",
            ),
            (
                format!(r##"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"#alerts"}}"##),
                "SLACK_CHANNEL is a channel name",
            ),
            (
                format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"c0123abcd"}}"#),
                "SLACK_CHANNEL is not a channel ID",
            ),
            (
                format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"C012"}}"#),
                "SLACK_CHANNEL is not a channel ID",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"xoxp-1111-XXXXTOKENSECRET","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN is a user token (xoxp-…), not a bot token",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"xoxe-1-XXXXTOKENSECRET","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN is a refresh token (xoxe-…)",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"xapp-1-XXXXTOKENSECRET","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN is an app-level token (xapp-…)",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"XXXXTOKENSECRET","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN is not a bot token: it must start with xoxb-",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"xoxb-XXXXTOKENSECRET\r\nX-Evil: 1","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN has a bot token's prefix but not its shape",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":"xoxb-","SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN has a bot token's prefix but not its shape",
            ),
            (
                r#"{"SLACK_BOT_TOKEN":42,"SLACK_CHANNEL":"C0123ABCD"}"#.into(),
                "SLACK_BOT_TOKEN is not a string",
            ),
        ];
        for (raw, expected) in cases {
            let err = parse_secret("my/secret", &raw).unwrap_err();
            assert_eq!(err.error_type(), "SecretInvalid", "{raw}");
            let text = err.to_string();
            assert!(
                text.starts_with(&format!(r#"secret "my/secret": {expected}"#)),
                "{raw}: {text}"
            );
            let all = format!("{text} {err:?}");
            assert!(!all.contains("XXXXTOKENSECRET"), "{all}");
            assert!(
                !all.contains("alerts") && !all.contains("c0123abcd"),
                "{all}"
            );
        }
    }

    #[test]
    fn errors_never_show_the_value() {
        for raw in [
            format!(r#"{{"WRONG_KEY":"{URL}"}}"#),
            format!(r#"{{"SLACK_HOOK_URL":42,"x":"{URL}"}}"#),
            format!("{{not json {URL}"),
            "XXXXSECRET".to_owned(),
            String::new(),
        ] {
            let err = parse_secret("my/secret", &raw).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains("XXXXSECRET"), "{text}");
            assert!(text.contains("my/secret"), "{text}");
        }
    }

    #[test]
    fn missing_hook_names_the_keys_only() {
        let err = parse_secret("s", r#"{"HOOK":"https://hooks.slack.com/x"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"secret "s" is JSON but has no string SLACK_HOOK_URL or SLACK_BOT_TOKEN (keys present: HOOK)"#
        );
    }

    #[test]
    fn debug_is_redacted() {
        let s = parse_secret(
            "id",
            &format!(r##"{{"SLACK_HOOK_URL":"{URL}","SLACK_CHANNEL":"#private"}}"##),
        )
        .unwrap();
        let debug = format!("{s:?} {:?}", webhook(&s));
        assert!(
            !debug.contains("XXXXSECRET")
                && !debug.contains("hooks.slack.com")
                && !debug.contains("private"),
            "{debug}"
        );
        let s = parse_secret(
            "id",
            &format!(r#"{{"SLACK_BOT_TOKEN":"{TOKEN}","SLACK_CHANNEL":"C0123ABCD"}}"#),
        )
        .unwrap();
        let SlackSecret::App { token, channel, .. } = &s else {
            panic!()
        };
        let debug = format!("{s:?} {token:?} {channel:?}");
        assert!(
            !debug.contains("XXXXTOKENSECRET")
                && !debug.contains("xoxb")
                && !debug.contains("C0123ABCD"),
            "{debug}"
        );
    }

    #[test]
    fn the_same_credential() {
        let app = |token: &str| {
            parse_secret(
                "id",
                &format!(r#"{{"SLACK_BOT_TOKEN":"{token}","SLACK_CHANNEL":"C0123ABCD"}}"#),
            )
            .unwrap()
        };
        let hook = parse_secret("id", URL).unwrap();
        assert!(app(TOKEN).same_credential(&app(TOKEN)));
        assert!(!app(TOKEN).same_credential(&app("xoxb-new")));
        assert!(!app(TOKEN).same_credential(&hook));
        assert!(hook.same_credential(&hook.clone()));
    }
}
