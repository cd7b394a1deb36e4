//! CloudWatch, beyond the alarms it sends: an alarm's metric graph (the widget that describes
//! it, [`widget`], pure; the image CloudWatch draws, [`graph`]), and an alarm's resource tags
//! for routing ([`tags`]), and muting an alarm from Slack ([`mute`]).

pub(crate) mod graph;
pub(crate) mod mute;
pub(crate) mod tags;
pub(crate) mod widget;
