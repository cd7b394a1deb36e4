//! Logging setup: Lambda's advanced logging controls, without a regex engine in the binary.
//!
//! `AWS_LAMBDA_LOG_LEVEL` wins over `RUST_LOG`; both take a level or `target=level` directives
//! (`info,aws_smithy_runtime=warn`). `AWS_LAMBDA_LOG_FORMAT=JSON` gives one JSON object per line.
//! Under Lambda, every line logged during an invocation carries the runtime's span, with the
//! request id (`requestId`) and the X-Ray trace id.

use std::io::Write;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

use crate::app::config::ConfigError;

const DEFAULT_FILTER: &str = "info";
/// The HTTP connection pool's target.
const QUIET_TARGET: &str = "hyper_util";

/// The filter from a directive string, or why it cannot be one.
pub(crate) fn filter_from(name: &'static str, directives: &str) -> Result<Targets, ConfigError> {
    let invalid = || {
        ConfigError::Invalid {
        name,
        problem: format!(
            "expected a level (trace, debug, info, warn, error) or target=level directives, got {directives:?}"
        ),
    }
    };
    // Lambda's controls also offer FATAL, which tracing has not: the nearest is ERROR.
    let d = directives
        .trim()
        .to_ascii_lowercase()
        .replace("fatal", "error");
    let valid_target = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '-')
    };
    // Targets' parser takes a bare word for a target name: every item must have a level.
    for item in d.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let ok = match item.split_once('=') {
            Some((target, level)) => {
                valid_target(target) && (level.parse::<tracing::Level>().is_ok() || level == "off")
            }
            None => item.parse::<tracing::Level>().is_ok() || item == "off",
        };
        if !ok {
            return Err(invalid());
        }
    }
    let mut targets = d.parse::<Targets>().map_err(|_| invalid())?;
    // The connection pool logs from tasks of its own, outside any invocation, so its lines
    // carry no request id: kept at INFO unless named.
    if !d.contains(QUIET_TARGET) {
        targets = targets.with_target(QUIET_TARGET, tracing::Level::INFO);
    }
    Ok(targets)
}

/// The directives in force: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO.
fn filter_from_env() -> Result<Targets, ConfigError> {
    for name in ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"] {
        if let Some(value) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            return filter_from(name, &value);
        }
    }
    Ok(DEFAULT_FILTER.parse().expect("valid default"))
}

/// Installs the global subscriber, writing to `writer`. An invalid level is returned as an
/// error, with logging at INFO installed so that the error itself can be logged.
pub(crate) fn init<W>(writer: W) -> Result<(), ConfigError>
where
    W: for<'w> MakeWriter<'w, Writer: Write> + Send + Sync + 'static,
{
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let (filter, result) = match filter_from_env() {
        Ok(f) => (f, Ok(())),
        Err(e) => (DEFAULT_FILTER.parse().expect("valid default"), Err(e)),
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(Scrubbed(writer));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry
            .with(fmt.json().with_filter(no_dynamodb_traces()))
            .try_init()
    } else {
        registry
            .with(fmt.with_ansi(false).with_filter(no_dynamodb_traces()))
            .try_init()
    };
    result
}

/// A writer whose lines never show a credential ([`crate::redact`]), whatever a server
/// echoed into them.
struct Scrubbed<W>(W);

impl<'a, W> MakeWriter<'a> for Scrubbed<W>
where
    W: MakeWriter<'a, Writer: Write>,
{
    type Writer = ScrubbedLine<W::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedLine(self.0.make_writer())
    }
}

/// The formatter writes each event in one call, so a credential is never split across two.
struct ScrubbedLine<W>(W);

impl<W: Write> Write for ScrubbedLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self
                .0
                .write_all(crate::secret::redact::scrub(text).as_bytes())?,
            Err(_) => self.0.write_all(
                crate::secret::redact::scrub(&String::from_utf8_lossy(buf)).as_bytes(),
            )?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Drops the SDK's TRACE events inside a DynamoDB call: they print requests, answers and
/// outputs whole, and the threads table's items hold the channel and the parent's content.
/// (Secrets Manager's outputs redact themselves, and their answers are marked sensitive.)
fn no_dynamodb_traces<S>() -> impl tracing_subscriber::layer::Filter<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::filter::dynamic_filter_fn(|meta, cx| {
        let sdk_trace = meta.is_event()
            && *meta.level() == tracing::Level::TRACE
            && !meta.target().starts_with(env!("CARGO_CRATE_NAME"));
        !(sdk_trace
            && cx
                .lookup_current()
                .is_some_and(|span| span.scope().any(|s| s.name().starts_with("DynamoDB."))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::level_filters::LevelFilter;

    #[test]
    fn levels_and_directives() {
        let level = |d| filter_from("RUST_LOG", d).unwrap().default_level();
        assert_eq!(level("DEBUG"), Some(LevelFilter::DEBUG));
        assert_eq!(level("FATAL"), Some(LevelFilter::ERROR));
        assert_eq!(
            level("warn,aws_smithy_runtime=error"),
            Some(LevelFilter::WARN)
        );
        assert_eq!(level("aws_smithy_runtime=error"), None);
    }

    #[test]
    fn the_connection_pool_stays_at_info_unless_named() {
        use tracing::Level;
        let filter = filter_from("RUST_LOG", "debug").unwrap();
        assert!(filter.would_enable("slack_alarm_notifier", &Level::DEBUG));
        assert!(!filter.would_enable("hyper_util::client::legacy::pool", &Level::DEBUG));
        assert!(filter.would_enable("hyper_util::client::legacy::pool", &Level::INFO));
        let named = filter_from("RUST_LOG", "debug,hyper_util=trace").unwrap();
        assert!(named.would_enable("hyper_util::client::legacy::pool", &Level::TRACE));
    }

    #[test]
    fn invalid_directives_name_the_variable() {
        for bad in [
            "bogus!!",
            "!!!",
            "verbose",
            "info,aws_smithy_runtime=loud",
            "=info",
        ] {
            let err = filter_from("AWS_LAMBDA_LOG_LEVEL", bad).unwrap_err();
            assert!(
                err.to_string().starts_with("AWS_LAMBDA_LOG_LEVEL")
                    && err.to_string().contains(bad),
                "{bad}: {err}"
            );
        }
    }
}
