//! CloudWatch, beyond the alarms it sends: an alarm's native chart (what to ask
//! `GetMetricData` and its answer as a block, [`chart`], pure; the asking, [`metric_data`]),
//! an alarm's metric graph (the widget that describes it, [`widget`], pure; the image
//! CloudWatch draws, [`graph`]), an alarm's resource tags for routing ([`tags`]), and muting
//! an alarm from Slack ([`mute`]).

pub(crate) mod chart;
pub(crate) mod graph;
pub(crate) mod metric_data;
pub(crate) mod mute;
pub(crate) mod tags;
pub(crate) mod widget;
