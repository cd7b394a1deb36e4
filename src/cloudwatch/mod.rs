//! CloudWatch, beyond the alarms it sends: an alarm's metric graph (the widget that describes
//! it, [`widget`], pure; the image CloudWatch draws, [`graph`]).

pub(crate) mod graph;
pub(crate) mod widget;
