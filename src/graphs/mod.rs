//! An alarm's metric graph: the widget that describes it ([`widget`], pure) and CloudWatch,
//! which draws it ([`cloudwatch`]).

pub(crate) mod cloudwatch;
pub(crate) mod widget;
