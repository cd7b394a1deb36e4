//! ACM certificate expiry (`aws.acm`, "ACM Certificate Approaching Expiration", "ACM
//! Certificate Renewal Action Required" and "ACM Certificate Expired").

use super::shared::*;
use super::{Body, Event, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::escape;
use super::ParseError;

pub(crate) const SOURCE: Source = Source::events("acm", from_event);

fn from_event(event: &Event, detail: &Obj) -> Option<Result<Body, ParseError>> {
    let (expired, renewal_action) = match event.detail_type.as_str() {
        "ACM Certificate Approaching Expiration" => (false, false),
        "ACM Certificate Renewal Action Required" => (false, true),
        "ACM Certificate Expired" => (true, false),
        _ => return None,
    };
    (event.source == "aws.acm")
        .then(|| Ok(Body::new(read(expired, renewal_action, detail, event))))
}

/// An ACM certificate that is about to expire, or has.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CertificateExpiry {
    pub expired: bool,
    /// ACM could not renew it without someone's help (a validation, say).
    pub renewal_action: bool,
    pub arn: Option<String>,
    pub common_name: Option<String>,
    pub days_to_expiry: Option<u64>,
    /// Given on expired events only.
    pub expires_at: Option<String>,
    pub certificate_type: Option<String>,
    pub in_use: Option<bool>,
    pub account: Option<String>,
    pub region: Option<String>,
}

impl CertificateExpiry {
    /// The certificate's id, the last part of its ARN.
    pub(crate) fn short_id(&self) -> Option<&str> {
        let arn = self.arn.as_deref()?;
        Some(
            parse_arn(arn)
                .and_then(|a| a.resource.strip_prefix("certificate/"))
                .unwrap_or(arn),
        )
    }
}

fn read(expired: bool, renewal_action: bool, d: &Obj, event: &Event) -> CertificateExpiry {
    CertificateExpiry {
        expired,
        renewal_action,
        arn: event
            .resources
            .as_ref()
            .and_then(|r| r.iter().find(|r| r.contains(":certificate/")))
            .cloned(),
        common_name: str_at(d, "CommonName"),
        days_to_expiry: uint_at(d, "DaysToExpiry"),
        expires_at: str_at(d, "CertificateExpirationDate"),
        certificate_type: str_at(d, "CertificateType"),
        in_use: d.get("InUse").and_then(serde_json::Value::as_bool),
        account: event.account.clone(),
        region: event.region.clone(),
    }
}

/// An expired certificate still in use is critical: its clients fail now. Expired and not
/// in use, or a week or less left, is an error; any other approaching expiry or renewal
/// that needs action is a warning. ACM sends an approaching expiry once a day, from 45
/// days ahead (30 for a public certificate), for a certificate that is still to expire: an
/// imported one must be reimported, and one ACM renews is waiting on someone (a
/// validation, a renewal that failed). Each asks for action.
pub(crate) fn severity(c: &CertificateExpiry) -> Severity {
    match (c.expired, c.days_to_expiry) {
        (true, _) if c.in_use == Some(true) => Severity::Critical,
        (true, _) | (false, Some(0..=7)) => Severity::Error,
        (false, _) => Severity::Warning,
    }
}

/// "expires in 10 days", "expires today", "expired", "needs action to renew: expires in
/// 10 days".
fn when_phrase(c: &CertificateExpiry) -> String {
    let when = match (c.expired, c.days_to_expiry) {
        (true, _) => "expired".into(),
        (false, Some(0)) => "expires today".into(),
        (false, Some(1)) => "expires in 1 day".into(),
        (false, Some(n)) => format!("expires in {n} days"),
        (false, None) => "expires soon".into(),
    };
    if c.renewal_action {
        format!("needs action to renew: {when}")
    } else {
        when
    }
}

notice!(CertificateExpiry, card, |it| it.common_name.clone().unwrap_or_default());

/// The certificate as a card: name, days left, id, and a link to it in ACM.
pub(crate) fn card(c: &CertificateExpiry) -> Card {
    let severity = severity(c);
    let emoji = match severity {
        Severity::Critical | Severity::Error => "🔴",
        _ => "🔏",
    };
    let name = c
        .common_name
        .as_deref()
        .or(c.short_id())
        .unwrap_or("certificate");
    let phrase = when_phrase(c);
    let mut m = Card::new(
        emoji,
        format!("ACM certificate {name} {phrase}"),
        format!("ACM certificate {} {phrase}", escape(name)),
        severity,
    );
    m.fields(vec![
        ("Common name", c.common_name.as_deref().map(escape)),
        (
            "Days to expiry",
            c.days_to_expiry
                .filter(|_| !c.expired)
                .map(|d| d.to_string()),
        ),
        ("Expires", c.expires_at.as_deref().map(when_text)),
        ("Certificate", c.short_id().map(code)),
        ("Type", c.certificate_type.as_deref().map(escape)),
        (
            "In use",
            c.in_use.map(|u| if u { "yes" } else { "no" }.to_owned()),
        ),
        ("Account", c.account.as_deref().map(escape)),
        ("Region", c.region.as_deref().map(escape)),
    ]);
    let url = c.short_id().and_then(|id| {
        service_console_url(
            partition_of(c.arn.as_deref()),
            c.region.as_deref(),
            &format!(
                "acm/home?region={{region}}#/certificates/{}",
                url_encode(id)
            ),
        )
    });
    m.link("Open in ACM", url);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearer_expiry_is_worse() {
        let sev = |expired: bool, days: Option<u64>, in_use: Option<bool>| {
            severity(&CertificateExpiry {
                expired,
                days_to_expiry: days,
                in_use,
                ..Default::default()
            })
        };
        assert_eq!(sev(false, Some(45), None), Severity::Warning);
        assert_eq!(sev(false, Some(31), None), Severity::Warning);
        assert_eq!(sev(false, Some(30), None), Severity::Warning);
        assert_eq!(sev(false, Some(8), Some(true)), Severity::Warning);
        assert_eq!(sev(false, Some(7), None), Severity::Error);
        assert_eq!(sev(false, Some(0), Some(true)), Severity::Error);
        assert_eq!(sev(false, None, None), Severity::Warning);
        assert_eq!(sev(true, None, None), Severity::Error);
        assert_eq!(sev(true, Some(0), Some(false)), Severity::Error);
        assert_eq!(sev(true, Some(0), Some(true)), Severity::Critical);
    }

    #[test]
    fn the_short_id_is_the_arns_last_part() {
        let mut c = CertificateExpiry {
            arn: Some(
                "arn:aws:acm:us-east-1:123456789012:certificate/4f8a2c6e-1b3d-4e5f-9a7c-0d2e4f6a8b1c"
                    .into(),
            ),
            ..CertificateExpiry::default()
        };
        assert_eq!(c.short_id(), Some("4f8a2c6e-1b3d-4e5f-9a7c-0d2e4f6a8b1c"));
        c.days_to_expiry = Some(1);
        assert_eq!(when_phrase(&c), "expires in 1 day");
        c.renewal_action = true;
        assert_eq!(when_phrase(&c), "needs action to renew: expires in 1 day");
        c.renewal_action = false;
        c.expired = true;
        assert_eq!(when_phrase(&c), "expired");
    }
}
