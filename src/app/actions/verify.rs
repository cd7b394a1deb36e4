//! Slack's request signature: `X-Slack-Signature` is `v0=` and the hex of HMAC-SHA256, keyed
//! with the app's signing secret, over `v0:{X-Slack-Request-Timestamp}:{raw body}`. Checked
//! before anything else is read of a request. Pure.

use aws_lc_rs::hmac;

/// A request signed longer ago, or further ahead, than this is refused (a replay).
pub(crate) const MAX_SKEW_SECS: u64 = 5 * 60;
const VERSION: &str = "v0";

/// Why a request is refused before it is read. Never carries the request's body or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("no {0} header")]
    MissingHeader(&'static str),
    #[error("X-Slack-Request-Timestamp is not a time in seconds")]
    BadTimestamp,
    #[error("the request was signed {0} s away from now, more than {MAX_SKEW_SECS} s")]
    Stale(u64),
    #[error("X-Slack-Signature is not v0= and 64 hex digits")]
    BadSignatureFormat,
    #[error("the signature does not match the signing secret")]
    Mismatch,
}

/// What the signature is checked with: the request's two headers as received, and its raw
/// body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signed<'a> {
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// Checks `request` against `secret` at `now` (epoch seconds). The comparison is
/// constant-time (aws-lc-rs's `hmac::verify`).
pub(crate) fn verify(request: &Signed<'_>, secret: &[u8], now: u64) -> Result<(), Refusal> {
    let timestamp = request
        .timestamp
        .ok_or(Refusal::MissingHeader("X-Slack-Request-Timestamp"))?;
    let signature = request
        .signature
        .ok_or(Refusal::MissingHeader("X-Slack-Signature"))?;
    let at: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Refusal::BadTimestamp)?;
    let skew = now.abs_diff(at);
    if skew > MAX_SKEW_SECS {
        return Err(Refusal::Stale(skew));
    }
    let tag = signature
        .strip_prefix("v0=")
        .and_then(hex)
        .ok_or(Refusal::BadSignatureFormat)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut signed = Vec::with_capacity(request.body.len() + timestamp.len() + 4);
    signed.extend_from_slice(VERSION.as_bytes());
    signed.push(b':');
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b':');
    signed.extend_from_slice(request.body);
    hmac::verify(&key, &signed, &tag).map_err(|_| Refusal::Mismatch)
}

/// 64 hex digits as 32 bytes.
fn hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Why `raw` is not shaped like a Slack signing secret (32 letters and digits), or `None`.
/// Never quotes it.
pub(crate) fn signing_secret_problem(raw: &str) -> Option<&'static str> {
    if raw.len() != 32 {
        Some("is not 32 characters long, as Slack's signing secrets are")
    } else if !raw.chars().all(|c| c.is_ascii_alphanumeric()) {
        Some("has characters other than letters and digits")
    } else {
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Slack's worked example, from "Verifying requests from Slack"
    /// (https://api.slack.com/docs/verifying-requests-from-slack).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn signed<'a>(timestamp: &'a str, signature: &'a str, body: &'a [u8]) -> Signed<'a> {
        Signed {
            timestamp: Some(timestamp),
            signature: Some(signature),
            body,
        }
    }

    /// Signs `body` at `timestamp` as Slack does, for tests.
    pub(crate) fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let mut data = format!("v0:{timestamp}:").into_bytes();
        data.extend_from_slice(body);
        let tag = hmac::sign(&key, &data);
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("v0={hex}")
    }

    #[test]
    fn slacks_documented_example_verifies() {
        let at: u64 = TIMESTAMP.parse().unwrap();
        let request = signed(TIMESTAMP, SIGNATURE, BODY.as_bytes());
        assert_eq!(verify(&request, SECRET.as_bytes(), at), Ok(()));
        assert_eq!(sign(SECRET, TIMESTAMP, BODY.as_bytes()), SIGNATURE);
        // Upper-case hex is the same tag.
        let upper = format!("v0={}", SIGNATURE[3..].to_ascii_uppercase());
        assert_eq!(
            verify(
                &signed(TIMESTAMP, &upper, BODY.as_bytes()),
                SECRET.as_bytes(),
                at
            ),
            Ok(())
        );
    }

    #[test]
    fn any_change_is_a_mismatch() {
        let at: u64 = TIMESTAMP.parse().unwrap();
        let mut body = BODY.as_bytes().to_vec();
        body[10] ^= 1;
        assert_eq!(
            verify(&signed(TIMESTAMP, SIGNATURE, &body), SECRET.as_bytes(), at),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(
                &signed(TIMESTAMP, SIGNATURE, BODY.as_bytes()),
                b"another secret",
                at
            ),
            Err(Refusal::Mismatch)
        );
        let later = (at + 1).to_string();
        assert_eq!(
            verify(
                &signed(&later, SIGNATURE, BODY.as_bytes()),
                SECRET.as_bytes(),
                at
            ),
            Err(Refusal::Mismatch)
        );
    }

    #[test]
    fn the_window_is_five_minutes_either_way() {
        let at: u64 = TIMESTAMP.parse().unwrap();
        let request = signed(TIMESTAMP, SIGNATURE, BODY.as_bytes());
        for now in [at + 300, at - 300] {
            assert_eq!(verify(&request, SECRET.as_bytes(), now), Ok(()));
        }
        assert_eq!(
            verify(&request, SECRET.as_bytes(), at + 360),
            Err(Refusal::Stale(360))
        );
        assert_eq!(
            verify(&request, SECRET.as_bytes(), at - 360),
            Err(Refusal::Stale(360))
        );
    }

    #[test]
    fn malformed_headers_are_named() {
        let at: u64 = TIMESTAMP.parse().unwrap();
        let body = BODY.as_bytes();
        let not_hex = format!("{}zz", &SIGNATURE[..64]);
        let cases = [
            (
                Signed {
                    timestamp: None,
                    signature: Some(SIGNATURE),
                    body,
                },
                Refusal::MissingHeader("X-Slack-Request-Timestamp"),
            ),
            (
                Signed {
                    timestamp: Some(TIMESTAMP),
                    signature: None,
                    body,
                },
                Refusal::MissingHeader("X-Slack-Signature"),
            ),
            (signed("soon", SIGNATURE, body), Refusal::BadTimestamp),
            (
                signed(TIMESTAMP, "v1=abc", body),
                Refusal::BadSignatureFormat,
            ),
            (
                signed(TIMESTAMP, &SIGNATURE[..60], body),
                Refusal::BadSignatureFormat,
            ),
            (
                signed(TIMESTAMP, &not_hex, body),
                Refusal::BadSignatureFormat,
            ),
            (signed(TIMESTAMP, "v0=é", body), Refusal::BadSignatureFormat),
        ];
        for (request, refusal) in cases {
            assert_eq!(verify(&request, SECRET.as_bytes(), at), Err(refusal));
        }
    }

    #[test]
    fn signing_secrets_are_checked_for_shape_only() {
        assert_eq!(signing_secret_problem(SECRET), None);
        assert!(signing_secret_problem("short").is_some());
        assert!(signing_secret_problem(&format!("{} ", &SECRET[..31])).is_some());
    }
}
