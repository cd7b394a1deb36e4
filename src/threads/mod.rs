//! One Slack thread per alarm incident: the decision ([`incident`], pure) and the DynamoDB
//! table that keeps it ([`store`]).

pub(crate) mod incident;
pub(crate) mod store;
