//! The neutral card: what a Slack message says, with no AWS knowledge and no Block Kit.
//!
//! Sources build cards; [`crate::blocks`] lays them out within Slack's limits. Text marked
//! mrkdwn is already safe (user parts escaped); text marked as user text is raw, and the
//! layout escapes it where it knows how much room there is.

/// The colour bar's colours.
pub mod colour {
    pub const ALARM: &str = "#D0021B";
    pub const OK: &str = "#2EB67D";
    pub const NO_DATA: &str = "#9E9E9E";
    pub const WARNING: &str = "#F2A900";
    pub const INFO: &str = "#1D9BD1";
}

/// How bad the news is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
    Ok,
}

impl Severity {
    /// The header's emoji: red for failures, a warning sign, a tick for recoveries, and the
    /// source's own sign for routine news.
    pub fn emoji(self, routine: &'static str) -> &'static str {
        match self {
            Self::Critical | Self::Error => "🔴",
            Self::Warning => "⚠️",
            Self::Ok => "✅",
            Self::Info => routine,
        }
    }

    /// The colour a card of this severity gets unless it sets its own.
    pub fn colour(self) -> &'static str {
        match self {
            Self::Critical | Self::Error => colour::ALARM,
            Self::Warning => colour::WARNING,
            Self::Info => colour::INFO,
            Self::Ok => colour::OK,
        }
    }
}

/// One message.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// Shown before the title.
    pub emoji: &'static str,
    /// Plain text, never parsed as mrkdwn.
    pub title: String,
    /// The one-line notification text (mrkdwn).
    pub headline: String,
    pub severity: Severity,
    /// The colour bar: the severity's own, or grey where there is no data or no verdict.
    pub colour: &'static str,
    /// Whether a configured mention (e.g. `<!here>`) belongs on this card.
    pub mention: bool,
    /// The body, in order.
    pub parts: Vec<Part>,
}

/// A piece of a card's body.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Our own mrkdwn.
    Mrkdwn(String),
    /// User text under a bold title.
    Titled { title: &'static str, text: String },
    /// User text on its own.
    Text(String),
    /// User text in a code block.
    Code(String),
    /// Two-column facts: label and value, both mrkdwn.
    Fields(Vec<(String, String)>),
    /// Small print, one mrkdwn line each.
    Context(Vec<String>),
    /// A link button.
    Link { label: String, url: String },
}

impl Card {
    /// A card coloured by its severity.
    pub fn new(emoji: &'static str, title: String, headline: String, severity: Severity) -> Self {
        Self {
            emoji,
            title,
            headline,
            severity,
            colour: severity.colour(),
            mention: false,
            parts: Vec::new(),
        }
    }

    /// The same card with a grey bar: no data, or no verdict.
    pub fn grey(mut self) -> Self {
        self.colour = colour::NO_DATA;
        self
    }

    /// A section of our own mrkdwn (user parts already escaped).
    pub fn section(&mut self, mrkdwn: String) {
        self.parts.push(Part::Mrkdwn(mrkdwn));
    }

    /// A titled section of user text; nothing when there is no text.
    pub fn titled(&mut self, title: &'static str, user_text: Option<&str>) {
        if let Some(text) = user_text.filter(|t| !t.trim().is_empty()) {
            self.parts.push(Part::Titled {
                title,
                text: text.to_owned(),
            });
        }
    }

    /// Facts; empty values are left out.
    pub fn fields<K: Into<String>>(&mut self, pairs: Vec<(K, Option<String>)>) {
        let fields: Vec<(String, String)> = pairs
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| !v.trim().is_empty()).map(|v| (k.into(), v)))
            .collect();
        if !fields.is_empty() {
            self.parts.push(Part::Fields(fields));
        }
    }

    /// A link button; nothing without a URL.
    pub fn link(&mut self, label: &str, url: Option<String>) {
        if let Some(url) = url {
            self.parts.push(Part::Link {
                label: label.to_owned(),
                url,
            });
        }
    }

    /// Context lines; the layout leaves out empty ones.
    pub fn context(&mut self, lines: Vec<String>) {
        self.parts.push(Part::Context(lines));
    }
}
