//! AWS Budgets alerts, which arrive on SNS as text.

use super::shared::*;
use super::{Body, SnsMessage, Source};
use crate::model::card::{Card, Severity};
use crate::model::mrkdwn::{escape, escape_within};

pub(crate) const SOURCE: Source = Source::messages("budget", from_sns);

/// Text only: a JSON document is never a Budgets alert.
fn from_sns(message: &SnsMessage) -> Option<Body> {
    if message.is_document() {
        return None;
    }
    let budget = budget_from_text(message.subject.as_deref(), message.text)?;
    Some(Body::new(budget))
}

/// An AWS Budgets alert, read from its text.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct BudgetAlert {
    pub subject: Option<String>,
    pub summary: Option<String>,
    pub account: Option<String>,
    /// `Key: Value` lines from the alert, in order.
    pub fields: Vec<(String, String)>,
}

fn budget_from_text(subject: Option<&str>, text: &str) -> Option<BudgetAlert> {
    let is_budget = subject.is_some_and(|s| s.starts_with("AWS Budgets"))
        || text.trim_start().starts_with("AWS Budget Notification");
    if !is_budget {
        return None;
    }
    let account = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("AWS Account"))
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    let summary = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("You requested that we alert you"))
        .map(str::to_owned);
    Some(BudgetAlert {
        subject: subject.map(str::to_owned),
        summary,
        account,
        fields: key_value_lines(text),
    })
}

notice!(BudgetAlert, card, |it| it.subject.clone().unwrap_or_default());

/// The alert as a card: its summary and its `Key: Value` lines as facts.
pub(crate) fn card(b: &BudgetAlert) -> Card {
    let subject = b.subject.as_deref().unwrap_or("AWS Budgets alert");
    let mut m = Card::new(
        Severity::Warning.emoji("💰"),
        subject.to_owned(),
        escape_within(subject, 200),
        Severity::Warning,
    );
    m.titled("Summary", b.summary.as_deref());
    let mut facts: Vec<(&str, Option<String>)> = b
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), Some(escape(v))))
        .collect();
    facts.push(("Account", b.account.as_deref().map(escape)));
    // Keys are user-visible labels from AWS's text; escape them too.
    let facts: Vec<(String, Option<String>)> =
        facts.into_iter().map(|(k, v)| (escape(k), v)).collect();
    m.fields(facts.iter().map(|(k, v)| (k.as_str(), v.clone())).collect());
    m.link(
        "Open AWS Budgets",
        Some("https://console.aws.amazon.com/billing/home#/budgets".into()),
    );
    m
}
