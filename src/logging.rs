//! Logging setup: Lambda's advanced logging controls, without a regex engine in the binary.
//!
//! `AWS_LAMBDA_LOG_LEVEL` wins over `RUST_LOG`; both take a level or `target=level` directives
//! (`info,aws_smithy_runtime=warn`). `AWS_LAMBDA_LOG_FORMAT=JSON` gives one JSON object per line.

use std::io::Write;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

const DEFAULT_FILTER: &str = "info";

/// The filter from a directive string; anything unparsable falls back to INFO.
pub fn filter_from(directives: Option<&str>) -> Targets {
    let parsed = directives.and_then(|d| {
        let d = d.trim().to_ascii_lowercase();
        // A bare word that is not a level parses as a target name; treat it as a mistake.
        d.parse::<Targets>()
            .ok()
            .filter(|t| t.default_level().is_some() || d.contains('='))
    });
    parsed.unwrap_or_else(|| DEFAULT_FILTER.parse().expect("valid default"))
}

/// Installs the global subscriber, writing to `writer`.
pub fn init<W>(writer: W)
where
    W: for<'w> MakeWriter<'w, Writer: Write> + Send + Sync + 'static,
{
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let filter = filter_from(level.as_deref());
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if json {
        registry.with(fmt.json()).try_init()
    } else {
        registry.with(fmt.with_ansi(false)).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::level_filters::LevelFilter;

    #[test]
    fn levels_and_directives() {
        assert_eq!(
            filter_from(Some("DEBUG")).default_level(),
            Some(LevelFilter::DEBUG)
        );
        assert_eq!(
            filter_from(Some("warn,aws_smithy_runtime=error")).default_level(),
            Some(LevelFilter::WARN)
        );
        assert_eq!(filter_from(None).default_level(), Some(LevelFilter::INFO));
        assert_eq!(
            filter_from(Some("!!!")).default_level(),
            Some(LevelFilter::INFO)
        );
    }
}
