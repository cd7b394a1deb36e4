//! Safe text for Slack: mrkdwn escaping and truncation within Block Kit limits.

/// Shown where text was cut to fit Slack's limits.
pub const TRUNCATION_MARKER: &str = "… (truncated)";

/// Slack counts lengths in characters; UTF-16 units are the conservative reading.
pub fn slack_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn escape_char(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        _ => None,
    }
}

/// Escapes user text for mrkdwn, so `<!channel>` or `<@U123>` stay inert.
pub fn escape(text: &str) -> String {
    escape_within(text, usize::MAX)
}

/// Escapes and cuts to at most `max` UTF-16 units, ending with [`TRUNCATION_MARKER`] when cut.
/// Never splits an escape sequence or a character.
pub fn escape_within(text: &str, max: usize) -> String {
    // Escaping at most quintuples the length, and UTF-16 units never outnumber UTF-8 bytes.
    if text.len().saturating_mul(5) <= max {
        return escape_all(text);
    }
    let mut out = String::with_capacity(text.len().min(max));
    let mut len = 0;
    let budget = max.saturating_sub(slack_len(TRUNCATION_MARKER));
    for (i, c) in text.char_indices() {
        let mut buf = [0u8; 4];
        let piece = escape_char(c).unwrap_or_else(|| c.encode_utf8(&mut buf));
        let piece_len = slack_len(piece);
        if len + piece_len > budget {
            // Does the rest fit whole without a marker?
            let rest_len: usize = text[i..]
                .chars()
                .map(|c| escape_char(c).map_or(c.len_utf16(), str::len))
                .sum();
            if len + rest_len <= max {
                out.push_str(&escape_all(&text[i..]));
            } else {
                out.push_str(TRUNCATION_MARKER);
            }
            return out;
        }
        out.push_str(piece);
        len += piece_len;
    }
    out
}

/// Copies runs between the three special bytes whole: they are ASCII, so every cut falls
/// on a character boundary.
fn escape_all(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out
}

/// Cuts text that is already safe (our own mrkdwn) to `max` UTF-16 units.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max || slack_len(text) <= max {
        return text.to_owned();
    }
    let budget = max.saturating_sub(slack_len(TRUNCATION_MARKER));
    let mut out = String::new();
    let mut len = 0;
    for c in text.chars() {
        if len + c.len_utf16() > budget {
            break;
        }
        out.push(c);
        len += c.len_utf16();
    }
    // Don't leave half an entity such as `&am`.
    if let Some(amp) = out.rfind('&') {
        if !out[amp..].contains(';') {
            out.truncate(amp);
        }
    }
    out.push_str(TRUNCATION_MARKER);
    out
}

/// User text inside a code span or block: backtick runs could close it early, so break them up.
pub fn code_safe(text: &str) -> String {
    text.replace('`', "\u{2032}")
}

/// Whether `m` is a mention Slack turns into a notification: `<!here>`, `<!channel>`,
/// `<!everyone>`, a user group (`<!subteam^S0123>`) or a user (`<@U0123>`).
pub fn is_mention(m: &str) -> bool {
    let id_like = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    matches!(m, "<!here>" | "<!channel>" | "<!everyone>")
        || m.strip_prefix("<!subteam^")
            .and_then(|r| r.strip_suffix('>'))
            .is_some_and(id_like)
        || m.strip_prefix("<@")
            .and_then(|r| r.strip_suffix('>'))
            .is_some_and(id_like)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_become_inert() {
        assert_eq!(
            escape("<!channel> & <@U123>"),
            "&lt;!channel&gt; &amp; &lt;@U123&gt;"
        );
        assert_eq!(escape("é<ü>&🚨"), "é&lt;ü&gt;&amp;🚨");
        assert_eq!(escape(">"), "&gt;");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn short_text_is_untouched() {
        assert_eq!(escape_within("abc", 3), "abc");
        assert_eq!(escape_within("a&b", 7), "a&amp;b");
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let out = escape_within(&"x".repeat(5000), 3000);
        assert!(out.ends_with(TRUNCATION_MARKER));
        assert_eq!(slack_len(&out), 3000);
    }

    #[test]
    fn cut_never_splits_an_entity_or_a_character() {
        let out = escape_within(&"<".repeat(1000), 100);
        assert!(slack_len(&out) <= 100);
        assert!(out.trim_end_matches(TRUNCATION_MARKER).ends_with("&lt;"));
        let out = escape_within(&"日本語🚨".repeat(100), 50);
        assert!(slack_len(&out) <= 50);
        let out = truncate(&"a&amp;".repeat(100), 20);
        assert!(slack_len(&out) <= 20);
        assert!(!out.trim_end_matches(TRUNCATION_MARKER).contains("&am;"));
    }

    #[test]
    fn code_spans_cannot_be_closed_by_user_text() {
        assert!(!code_safe("a ``` b `c`").contains('`'));
    }
}
