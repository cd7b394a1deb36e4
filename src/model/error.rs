//! Why an event, or one record in it, could not be understood: the error envelopes and
//! sources share, so neither has to import the other.

/// Why an event, or one record in it, could not be understood.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    /// The bytes are not JSON.
    #[error("event is not valid JSON: {0}")]
    Json(String),
    /// The JSON is not any event shape this function handles.
    #[error("unrecognised event: expected an SNS or SQS event (Records), a CloudWatch alarm action (alarmData) or an EventBridge event (detail-type); got {0}")]
    UnknownShape(String),
    /// An SNS event with an empty `Records` list.
    #[error("SNS event has no records")]
    NoRecords,
    /// A record or field is present but not what AWS sends.
    #[error("{location}: {problem}")]
    Malformed { location: String, problem: String },
}

pub fn malformed(location: impl Into<String>, problem: impl Into<String>) -> ParseError {
    ParseError::Malformed {
        location: location.into(),
        problem: problem.into(),
    }
}

/// `err`, placed under `prefix` (`Records[0]`, `body`).
pub fn at(prefix: String, err: ParseError) -> ParseError {
    match err {
        ParseError::Malformed { location, problem } => {
            malformed(format!("{prefix}.{location}"), problem)
        }
        other => malformed(prefix, other.to_string()),
    }
}
