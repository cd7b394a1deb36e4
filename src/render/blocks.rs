//! Card → Slack payload: Block Kit within Slack's limits. Knows nothing of AWS.
//!
//! A payload has a short top-level `text` (the notification fallback), top-level `blocks`
//! with the header, and one attachment whose colour bar carries the state.

use serde::Serialize;
use serde_json::Value;

use crate::model::card::{Card, Part};
use crate::model::mrkdwn::{code_safe, escape_within, truncate};

/// Slack's Block Kit limits, with the fallback text kept far below its hard cap.
pub(crate) mod limits {
    pub(crate) const BLOCKS: usize = 50;
    pub(crate) const SECTION_TEXT: usize = 3000;
    pub(crate) const FIELDS: usize = 10;
    pub(crate) const FIELD_TEXT: usize = 2000;
    pub(crate) const HEADER_TEXT: usize = 150;
    pub(crate) const BUTTON_TEXT: usize = 75;
    pub(crate) const BUTTON_URL: usize = 3000;
    /// Buttons in one actions block.
    pub(crate) const ACTION_ELEMENTS: usize = 25;
    pub(crate) const CONTEXT_ELEMENTS: usize = 10;
    pub(crate) const TEXT_HARD: usize = 40_000;
    /// Our own cap for the fallback `text`: notifications show a line, not an essay.
    pub(crate) const FALLBACK_TEXT: usize = 300;

    /// The data visualization block, from Slack's reference
    /// (<https://docs.slack.dev/reference/block-kit/blocks/data-visualization-block>): its
    /// title, a line chart's series, a series' name and points, a category or point label,
    /// an axis title. Some crates allow 12 series; Slack's page says 6, which is kept here.
    pub(crate) const CHART_TITLE: usize = 50;
    pub(crate) const CHART_SERIES: usize = 6;
    pub(crate) const SERIES_NAME: usize = 20;
    pub(crate) const SERIES_POINTS: usize = 20;
    pub(crate) const CATEGORY_LABEL: usize = 20;
    pub(crate) const AXIS_LABEL: usize = 50;
    /// Data visualization blocks in one message.
    pub(crate) const CHARTS: usize = 2;
}

/// Lays a card out as the exact body posted to the webhook (without `channel`), with
/// `mention` (e.g. `<!here>`), which the caller gives when the card gets one.
pub(crate) fn payload(card: &Card, mention: Option<&str>) -> Payload {
    let mut blocks = Vec::new();
    for part in &card.parts {
        add_part(&mut blocks, part);
    }
    let header = if card.emoji.is_empty() {
        card.title.clone()
    } else {
        format!("{} {}", card.emoji, card.title)
    };
    let mut top = vec![Block::Header {
        text: Text::plain(truncate(&header, limits::HEADER_TEXT)),
    }];
    let mut fallback = card.headline.clone();
    if let Some(mention) = mention {
        top.push(Block::Section {
            text: Some(Text::mrkdwn(mention.to_owned())),
            fields: Vec::new(),
        });
        fallback = format!("{mention} {fallback}");
    }
    blocks.truncate(limits::BLOCKS - top.len());
    Payload {
        channel: None,
        text: truncate(&fallback, limits::FALLBACK_TEXT),
        blocks: top,
        attachments: vec![Attachment {
            color: card.colour,
            blocks,
        }],
    }
}

/// The blocks of one part of a card, within Slack's limits.
fn add_part(blocks: &mut Vec<Block>, part: &Part) {
    match part {
        Part::Mrkdwn(text) => section(blocks, text.clone()),
        Part::Titled { title, text } => {
            let head = format!("*{title}*\n");
            let body = escape_within(text, limits::SECTION_TEXT - head.len());
            section(blocks, format!("{head}{body}"));
        }
        Part::Text(text) => section(blocks, escape_within(text, limits::SECTION_TEXT)),
        Part::Code(text) => {
            let fence = 6;
            let body = escape_within(&code_safe(text), limits::SECTION_TEXT - fence);
            section(blocks, format!("```{body}```"));
        }
        Part::Fields(pairs) => {
            // Long lists split over sections.
            let mut fields: Vec<Text> = pairs
                .iter()
                .map(|(k, v)| Text::mrkdwn(truncate(&format!("*{k}*\n{v}"), limits::FIELD_TEXT)))
                .collect();
            while !fields.is_empty() {
                let rest = fields.split_off(fields.len().min(limits::FIELDS));
                blocks.push(Block::Section { text: None, fields });
                fields = rest;
            }
        }
        Part::Context(lines) => {
            let elements: Vec<Text> = lines
                .iter()
                .filter(|l| !l.is_empty())
                .take(limits::CONTEXT_ELEMENTS)
                .map(|l| Text::mrkdwn(truncate(l, limits::SECTION_TEXT)))
                .collect();
            if !elements.is_empty() {
                blocks.push(Block::Context { elements });
            }
        }
        Part::Link { label, url } => link(blocks, label, url),
    }
}

/// A link button; links in a row share one row of buttons. A URL too long for a button
/// makes none.
fn link(blocks: &mut Vec<Block>, label: &str, url: &str) {
    if url.len() > limits::BUTTON_URL {
        return;
    }
    let button = Button {
        kind: "button",
        text: Text::plain(truncate(label, limits::BUTTON_TEXT)),
        url: url.to_owned(),
    };
    match blocks.last_mut() {
        Some(Block::Actions { elements }) if elements.len() < limits::ACTION_ELEMENTS => {
            elements.push(button)
        }
        _ => blocks.push(Block::Actions {
            elements: vec![button],
        }),
    }
}

/// A section of safe mrkdwn, cut to fit; blank text makes none.
fn section(blocks: &mut Vec<Block>, mrkdwn: String) {
    if !mrkdwn.trim().is_empty() {
        blocks.push(Block::Section {
            text: Some(Text::mrkdwn(truncate(&mrkdwn, limits::SECTION_TEXT))),
            fields: Vec::new(),
        });
    }
}

// ---- the payload: typed, so it serializes without building a JSON tree first ----

/// The webhook's JSON body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payload {
    /// Honoured by legacy webhooks only; set from the secret's `SLACK_CHANNEL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The notification fallback.
    pub text: String,
    pub blocks: Vec<Block>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attachment {
    pub color: &'static str,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Header {
        text: Text,
    },
    Section {
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<Text>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text>,
    },
    Actions {
        elements: Vec<Button>,
    },
    Context {
        elements: Vec<Text>,
    },
    /// A chart Slack draws in the message itself.
    DataVisualization {
        title: String,
        chart: Chart,
    },
    /// A block made as JSON: an incident's buttons ([`crate::render::controls`]).
    #[serde(untagged)]
    Raw(Value),
}

/// A data visualization block's chart: only the line chart is used here.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Chart {
    Line {
        series: Vec<Series>,
        axis_config: AxisConfig,
    },
}

/// One line: a value for every category, in their order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    pub data: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub label: String,
    /// Always finite: JSON has no NaN, and serde would write `null`.
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxisConfig {
    pub categories: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y_label: Option<String>,
}

impl Payload {
    /// The payload with `chart` after its header (and mention); the text and attachment are
    /// unchanged.
    pub(crate) fn with_chart(mut self, chart: Block) -> Self {
        self.blocks.push(chart);
        self
    }

    /// Whether the payload carries a chart.
    pub(crate) fn has_chart(&self) -> bool {
        self.blocks
            .iter()
            .any(|b| matches!(b, Block::DataVisualization { .. }))
    }

    /// The same payload without its charts: what is posted when Slack refuses them.
    pub(crate) fn without_charts(&self) -> Self {
        let mut plain = self.clone();
        plain
            .blocks
            .retain(|b| !matches!(b, Block::DataVisualization { .. }));
        plain
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Text {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emoji: Option<bool>,
}

impl Text {
    fn mrkdwn(text: String) -> Self {
        Self {
            kind: "mrkdwn",
            text,
            emoji: None,
        }
    }

    fn plain(text: String) -> Self {
        Self {
            kind: "plain_text",
            text,
            emoji: Some(true),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: Text,
    pub url: String,
}

/// Checks a payload against Slack's limits; used by tests and the fuzz target.
pub fn check_limits(payload: &Value) -> Result<(), String> {
    use crate::model::mrkdwn::slack_len;
    let text = payload["text"].as_str().ok_or("no top-level text")?;
    if slack_len(text) > limits::TEXT_HARD {
        return Err("text too long".into());
    }
    let mut all_blocks: Vec<&Value> = payload["blocks"]
        .as_array()
        .map(|b| b.iter().collect())
        .unwrap_or_default();
    for att in payload["attachments"].as_array().into_iter().flatten() {
        let blocks = att["blocks"]
            .as_array()
            .ok_or("attachment without blocks")?;
        if blocks.len() > limits::BLOCKS {
            return Err("too many attachment blocks".into());
        }
        all_blocks.extend(blocks);
    }
    if payload["blocks"].as_array().map_or(0, Vec::len) > limits::BLOCKS {
        return Err("too many blocks".into());
    }
    check_charts(&all_blocks)?;
    for block in all_blocks {
        match block["type"].as_str() {
            Some("header") => {
                if slack_len(block["text"]["text"].as_str().unwrap_or_default())
                    > limits::HEADER_TEXT
                {
                    return Err("header too long".into());
                }
            }
            Some("section") => {
                if let Some(t) = block["text"]["text"].as_str() {
                    if slack_len(t) > limits::SECTION_TEXT {
                        return Err(format!("section text of {} characters", slack_len(t)));
                    }
                }
                if let Some(fields) = block["fields"].as_array() {
                    if fields.len() > limits::FIELDS {
                        return Err("too many fields".into());
                    }
                    if fields.iter().any(|f| {
                        slack_len(f["text"].as_str().unwrap_or_default()) > limits::FIELD_TEXT
                    }) {
                        return Err("field too long".into());
                    }
                }
                if block.get("text").is_none() && block.get("fields").is_none() {
                    return Err("empty section".into());
                }
            }
            Some("actions") => {
                if block["elements"].as_array().map_or(0, Vec::len) > limits::ACTION_ELEMENTS {
                    return Err("too many buttons".into());
                }
                for e in block["elements"].as_array().into_iter().flatten() {
                    if slack_len(e["text"]["text"].as_str().unwrap_or_default())
                        > limits::BUTTON_TEXT
                    {
                        return Err("button text too long".into());
                    }
                    if e["url"].as_str().unwrap_or_default().len() > limits::BUTTON_URL {
                        return Err("button url too long".into());
                    }
                }
            }
            Some("context") => {
                if block["elements"].as_array().map_or(0, Vec::len) > limits::CONTEXT_ELEMENTS {
                    return Err("too many context elements".into());
                }
            }
            Some("data_visualization") => {}
            other => return Err(format!("unexpected block type {other:?}")),
        }
    }
    Ok(())
}

/// The message's charts: at most two, each within Slack's limits.
fn check_charts(blocks: &[&Value]) -> Result<(), String> {
    let charts: Vec<&&Value> = blocks
        .iter()
        .filter(|b| b["type"] == "data_visualization")
        .collect();
    if charts.len() > limits::CHARTS {
        return Err(format!("{} charts in one message", charts.len()));
    }
    charts.into_iter().try_for_each(|b| check_chart(b))
}

/// A data visualization block against Slack's reference: a title, a line chart of 1 to 6
/// uniquely named series, each with exactly one finite value for every category, and labels
/// within their lengths.
fn check_chart(block: &Value) -> Result<(), String> {
    use crate::model::mrkdwn::slack_len;
    let text = |v: &Value| v.as_str().map(slack_len);
    match text(&block["title"]) {
        Some(1..=limits::CHART_TITLE) => {}
        other => return Err(format!("chart title of {other:?} characters")),
    }
    let chart = &block["chart"];
    if chart["type"] != "line" {
        return Err(format!("chart type {}", chart["type"]));
    }
    let axis = &chart["axis_config"];
    let categories: Vec<&str> = axis["categories"]
        .as_array()
        .ok_or("no categories")?
        .iter()
        .map(|c| c.as_str().unwrap_or_default())
        .collect();
    if categories.is_empty() || categories.len() > limits::SERIES_POINTS {
        return Err(format!("{} categories", categories.len()));
    }
    if categories
        .iter()
        .any(|c| c.is_empty() || slack_len(c) > limits::CATEGORY_LABEL)
    {
        return Err("a category label is empty or too long".into());
    }
    let unique: std::collections::BTreeSet<&&str> = categories.iter().collect();
    if unique.len() != categories.len() {
        return Err("two categories share a label".into());
    }
    for key in ["x_label", "y_label"] {
        if text(&axis[key]).is_some_and(|n| n == 0 || n > limits::AXIS_LABEL) {
            return Err(format!("{key} empty or too long"));
        }
    }
    let series = chart["series"].as_array().ok_or("no series")?;
    if series.is_empty() || series.len() > limits::CHART_SERIES {
        return Err(format!("{} series", series.len()));
    }
    let mut names = std::collections::BTreeSet::new();
    for s in series {
        let name = s["name"].as_str().unwrap_or_default();
        if name.is_empty() || slack_len(name) > limits::SERIES_NAME || !names.insert(name) {
            return Err(format!("series name {name:?} empty, too long or repeated"));
        }
        let data = s["data"].as_array().ok_or("a series without data")?;
        let labels: Vec<&str> = data
            .iter()
            .map(|p| p["label"].as_str().unwrap_or_default())
            .collect();
        if labels != categories {
            return Err(format!(
                "series {name:?} does not have one point per category"
            ));
        }
        if data
            .iter()
            .any(|p| !p["value"].as_f64().is_some_and(f64::is_finite))
        {
            return Err(format!("series {name:?} has a value that is not a number"));
        }
    }
    Ok(())
}
