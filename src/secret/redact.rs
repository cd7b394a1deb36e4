//! Credentials kept out of every output, whatever a server echoes back.
//!
//! Each credential the process handles (a webhook's path, a bot token, a refresh token, the
//! app's client secret) is registered here when it is read. Every output point (log lines, the
//! error reported to Lambda, the command line's output) passes its text through [`scrub`],
//! which replaces any run of [`PIECE`] or more characters that also stands in a credential.
//! So a server that echoes a token, or only its tail, inside an error code cannot put it in a
//! log. Channel IDs are registered as private too: they say what the alarms are about, and
//! the README promises they stay out of logs and errors (`check` may print them).

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{OnceLock, RwLock};

/// The shortest piece of a credential that is taken out of an output.
pub(crate) const PIECE: usize = 8;
pub(crate) const REDACTED: &str = "[redacted]";

/// What kind of value a registered one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A token, a webhook's path, a client secret: never in any output.
    Credential,
    /// A channel ID: out of logs and errors, but `check` shows it on purpose.
    Private,
}

#[derive(Default)]
struct Pieces {
    /// Every run of `PIECE` bytes of every value, as a number.
    windows: HashSet<u64>,
    /// Values shorter than `PIECE`, matched whole.
    short: Vec<String>,
}

impl Pieces {
    fn add(&mut self, value: &str) {
        let bytes = value.as_bytes();
        if bytes.len() < PIECE {
            if !self.short.iter().any(|s| s == value) {
                self.short.push(value.to_owned());
            }
            return;
        }
        self.windows.extend(bytes.windows(PIECE).map(window));
    }

    fn is_empty(&self) -> bool {
        self.windows.is_empty() && self.short.is_empty()
    }

    /// Marks in `covered` every byte of `text` that stands in a registered value's piece.
    fn mark(&self, text: &[u8], covered: &mut [bool]) {
        if !self.windows.is_empty() {
            for (i, w) in text.windows(PIECE).enumerate() {
                if self.windows.contains(&window(w)) {
                    covered[i..i + PIECE].fill(true);
                }
            }
        }
        for value in &self.short {
            let v = value.as_bytes();
            for (i, w) in text.windows(v.len()).enumerate() {
                if w == v {
                    covered[i..i + v.len()].fill(true);
                }
            }
        }
    }
}

fn window(bytes: &[u8]) -> u64 {
    let mut w = [0u8; PIECE];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

#[derive(Default)]
struct Registry {
    credentials: Pieces,
    private: Pieces,
}

fn registry() -> &'static RwLock<Registry> {
    static REGISTRY: OnceLock<RwLock<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(RwLock::default)
}

/// The public prefixes of Slack's tokens: they say what a token is, and our own messages
/// name them (`xoxe.xoxb-`), so only what follows is secret.
const TOKEN_PREFIXES: [&str; 7] = [
    "xoxe.xoxb-",
    "xoxe.xoxp-",
    "xoxb-",
    "xoxp-",
    "xoxe-",
    "xapp-",
    "xoxa-",
];

/// Registers `value` so that no output shows it, or any piece of it. Blank values are ignored.
pub(crate) fn register(kind: Kind, value: &str) {
    let value = value.trim();
    let value = TOKEN_PREFIXES
        .iter()
        .find_map(|p| value.strip_prefix(p))
        .unwrap_or(value);
    if value.is_empty() {
        return;
    }
    let mut registry = registry().write().unwrap_or_else(|e| e.into_inner());
    match kind {
        Kind::Credential => registry.credentials.add(value),
        Kind::Private => registry.private.add(value),
    }
}

/// Registers the parts of a webhook URL that are its credential: the path's segments and
/// the query, not the scheme and host (`hooks.slack.com` says nothing).
pub(crate) fn register_webhook(url: &str) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let Some((_, path)) = rest.split_once('/') else {
        return;
    };
    for part in path.split(['/', '?', '&', '=']) {
        // `services` is in every webhook's path, and in ordinary words; a part shorter than a
        // piece (`T0`) would take common letters out of every line.
        if part != "services" && part.len() >= PIECE {
            register(Kind::Credential, part);
        }
    }
}

/// `text` without any piece of a registered value.
pub(crate) fn scrub(text: &str) -> Cow<'_, str> {
    scrub_with(text, true)
}

/// `text` without any piece of a credential; channel IDs are left (for `check`).
pub(crate) fn scrub_credentials(text: &str) -> Cow<'_, str> {
    scrub_with(text, false)
}

fn scrub_with(text: &str, private_too: bool) -> Cow<'_, str> {
    let registry = registry().read().unwrap_or_else(|e| e.into_inner());
    if registry.credentials.is_empty() && (!private_too || registry.private.is_empty()) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut covered = vec![false; bytes.len()];
    registry.credentials.mark(bytes, &mut covered);
    if private_too {
        registry.private.mark(bytes, &mut covered);
    }
    if !covered.contains(&true) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if !covered[i] {
            let start = i;
            while i < bytes.len() && !covered[i] {
                i += 1;
            }
            out.push_str(&text[floor(text, start)..floor(text, i)]);
            continue;
        }
        while i < bytes.len() && covered[i] {
            i += 1;
        }
        // A piece that ends inside a character takes the whole character.
        while i < bytes.len() && !text.is_char_boundary(i) {
            i += 1;
        }
        out.push_str(REDACTED);
    }
    Cow::Owned(out)
}

/// The char boundary at or before `i`.
fn floor(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    // The registry is global: each test uses values no other test registers.

    #[test]
    fn a_credential_and_any_piece_of_it_are_taken_out() {
        let token = "xoxb-1111-2222-AAAAredactTESTtoken";
        register(Kind::Credential, token);
        // The public prefix says what the token is; the rest is gone.
        assert_eq!(scrub(&format!("bad {token}!")), "bad xoxb-[redacted]!");
        assert_eq!(
            scrub("a rotating token (xoxe.xoxb-)"),
            "a rotating token (xoxe.xoxb-)"
        );
        // Slack echoing the tail inside an error code.
        let tail = &token[token.len() - 9..];
        let echoed = format!("bad_token_tail_{tail}");
        assert_eq!(scrub(&echoed), "bad_token_tail_[redacted]");
        // Seven characters are not a piece.
        assert_eq!(scrub("AAAAred and more"), "AAAAred and more");
        assert_eq!(scrub("nothing secret here"), "nothing secret here");
    }

    #[test]
    fn a_webhooks_path_is_a_credential_its_host_is_not() {
        register_webhook(
            "https://hooks.slack.com/services/T0WEBHOOK/B0WEBHOOK/WEBHOOKredactSECRET",
        );
        let text =
            "Cannot POST /services/T0WEBHOOK/B0WEBHOOK/WEBHOOKredactSECRET at hooks.slack.com";
        let scrubbed = scrub(text);
        assert!(!scrubbed.contains("redactSECRET"), "{scrubbed}");
        assert!(!scrubbed.contains("T0WEBHOOK"), "{scrubbed}");
        assert!(scrubbed.contains("hooks.slack.com"), "{scrubbed}");
        assert!(scrubbed.contains("/services/"), "{scrubbed}");
    }

    #[test]
    fn channel_ids_are_private_but_check_may_show_them() {
        register(Kind::Private, "C0PRIVATEREDACT");
        assert_eq!(scrub("in C0PRIVATEREDACT"), "in [redacted]");
        assert_eq!(
            scrub_credentials("in C0PRIVATEREDACT"),
            "in C0PRIVATEREDACT"
        );
    }

    #[test]
    fn multibyte_text_around_a_piece_survives() {
        register(Kind::Credential, "ünïcødeSECRETvalue");
        let scrubbed = scrub("日本 ünïcødeSECRETvalue 語");
        assert_eq!(scrubbed, "日本 [redacted] 語");
        let partial = scrub("x ødeSECRETv y");
        assert!(!partial.contains("SECRET"), "{partial}");
    }

    #[test]
    fn short_values_are_matched_whole() {
        register(Kind::Credential, "s3cr#t");
        assert_eq!(scrub("a s3cr#t b"), "a [redacted] b");
    }
}
