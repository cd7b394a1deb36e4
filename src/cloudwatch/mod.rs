//! CloudWatch, beyond the alarms it sends: an alarm's metric graph (the widget that describes
//! it, [`widget`], pure; the image CloudWatch draws, [`graph`]), and an alarm's resource tags
//! for routing ([`tags`]).

pub(crate) mod graph;
pub(crate) mod tags;
pub(crate) mod widget;
