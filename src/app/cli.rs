//! The local command line: `render` an event to Slack payloads, or `send` it as Lambda would.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::preview;
use crate::app::config::Config;
use crate::deliver::route::Tags;
use crate::deliver::Notifier;
use crate::deliver::Response;
use crate::render::{describe, RenderOptions};
use crate::secret::{parse_secret, Call, SecretError, SecretSource, SlackSecret};
use crate::slack::SlackClient;

pub(crate) const USAGE: &str = "\
usage:
  slack-alarm-notifier render EVENT.json [--explain] [--tag KEY=VALUE]... [--metric-data FILE]
      Print the Slack payloads for EVENT.json (a JSON array, one per notification and
      destination). No network. With ROUTES_FILE set, --explain prints first, for each
      notification, the routes it matched, why, and where it goes; --tag gives every alarm
      that tag, for routes that match on tags. With METRIC_CHARTS=true, --metric-data FILE
      draws each alarm's chart from FILE, the output of aws cloudwatch get-metric-data.
  slack-alarm-notifier send EVENT.json [--secret-id ID | --secret-file FILE] [--dry-run] [--timeout SECONDS]
      Run the Lambda path locally: read the webhook from Secrets Manager (--secret-id, or env SecretId)
      or from FILE (the secret's value), then post. --dry-run prints the payloads instead.
  slack-alarm-notifier check [--secret-id ID | --secret-file FILE] [--timeout SECONDS]
      Check the configuration, the secret and the webhook (or, in app mode, the bot token and
      the channel) without posting a message.
Use - for EVENT.json to read standard input. Under Lambda (AWS_LAMBDA_RUNTIME_API set) it serves invocations.";

const MAX_TIMEOUT_SECONDS: f64 = 900.0;

/// Parsed command line.
#[derive(Debug, PartialEq)]
pub(crate) enum Command {
    Render(RenderArgs),
    Send(SendArgs),
    Check(SecretArgs),
    Help,
    Version,
}

/// `render`'s event, and what `--explain` and `--tag` ask.
#[derive(Debug, PartialEq, Default)]
pub(crate) struct RenderArgs {
    pub event: String,
    /// Print, before the payloads, the routes each notification matched and why.
    pub explain: bool,
    /// `--tag KEY=VALUE`: the tags every alarm has, for routes that match on tags.
    pub tags: Tags,
    /// `--metric-data FILE`: a recorded `GetMetricData` answer to draw alarms' charts from.
    pub metric_data: Option<String>,
}

/// Where the secret comes from, and how long the command may take.
#[derive(Debug, PartialEq, Default)]
pub(crate) struct SecretArgs {
    pub secret_id: Option<String>,
    pub secret_file: Option<String>,
    pub timeout: Duration,
}

#[derive(Debug, PartialEq, Default)]
pub(crate) struct SendArgs {
    pub event: String,
    pub secret: SecretArgs,
    pub dry_run: bool,
}

pub(crate) fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut it = args.iter();
    let command = match it.next().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("-V" | "--version") => return Ok(Command::Version),
        Some(c @ ("render" | "send" | "check")) => c,
        Some(other) => return Err(format!("unknown command {other:?}")),
    };
    let mut event = None;
    let mut dry_run = false;
    let mut explain = false;
    let mut tags = Tags::new();
    let mut metric_data = None;
    let mut secret = SecretArgs {
        timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let reads_secret = command != "render";
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--secret-id" if reads_secret => secret.secret_id = Some(value("--secret-id")?),
            "--secret-file" if reads_secret => secret.secret_file = Some(value("--secret-file")?),
            "--dry-run" if command == "send" => dry_run = true,
            "--explain" if command == "render" => explain = true,
            "--metric-data" if command == "render" => metric_data = Some(value("--metric-data")?),
            "--tag" if command == "render" => {
                let raw = value("--tag")?;
                let (key, tag) = raw
                    .split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or_else(|| format!("--tag: expected KEY=VALUE, got {raw:?}"))?;
                tags.insert(key.to_owned(), tag.to_owned());
            }
            "--timeout" if reads_secret => {
                let raw = value("--timeout")?;
                let secs: f64 = raw
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && *s <= MAX_TIMEOUT_SECONDS)
                    .ok_or_else(|| {
                        format!("--timeout: expected a number of seconds above 0 and at most 900, got {raw:?}")
                    })?;
                secret.timeout = Duration::from_secs_f64(secs);
            }
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag} for {command}"))
            }
            path if event.is_none() && command != "check" => event = Some(path.to_owned()),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    if secret.secret_id.is_some() && secret.secret_file.is_some() {
        return Err("give --secret-id or --secret-file, not both".into());
    }
    if command == "check" {
        return Ok(Command::Check(secret));
    }
    let event = event.ok_or_else(|| format!("{command}: missing EVENT.json"))?;
    match command {
        "render" => Ok(Command::Render(RenderArgs {
            event,
            explain,
            tags,
            metric_data,
        })),
        _ => Ok(Command::Send(SendArgs {
            event,
            secret,
            dry_run,
        })),
    }
}

fn read_input(path: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

/// `render`: the payloads, after the routing that led there with `--explain`.
fn render(args: &RenderArgs) -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let routes = crate::app::wiring::routes(&config).map_err(|e| format!("ROUTES_FILE: {e}"))?;
    let options = RenderOptions {
        mention: config.mention.clone(),
        mention_severe: false,
    };
    let tags = (!args.tags.is_empty()).then_some(&args.tags);
    let metric_data = match &args.metric_data {
        None => None,
        Some(_) if !config.metric_charts => {
            return Err("--metric-data draws the charts METRIC_CHARTS=true sends: set it".into())
        }
        Some(path) => Some(read_metric_data(path)?),
    };
    let (lines, payloads) = preview::render_routed(
        &read_input(&args.event)?,
        &routes,
        tags,
        &options,
        config.digest_threshold,
        metric_data.as_deref(),
    )?;
    if args.explain {
        for line in lines {
            say(&line);
        }
    }
    print_json(&Value::Array(payloads));
    Ok(())
}

/// A recorded answer is a few kilobytes; anything past this is not one.
const MAX_METRIC_DATA: u64 = 8 * 1024 * 1024;

/// `--metric-data FILE`, read with a cap and parsed, or what is wrong with it.
fn read_metric_data(path: &str) -> Result<Vec<crate::cloudwatch::chart::Answered>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(file, MAX_METRIC_DATA + 1),
        &mut text,
    )
    .map_err(|e| format!("cannot read {path}: {e}"))?;
    if text.len() as u64 > MAX_METRIC_DATA {
        return Err(format!("{path}: larger than {MAX_METRIC_DATA} bytes"));
    }
    crate::cloudwatch::chart::recorded(&text).map_err(|e| format!("{path}: {e}"))
}

fn print_json(value: &Value) {
    say(&serde_json::to_string_pretty(value).unwrap_or_default());
}

/// Prints a line of output. No credential reaches it, whatever Slack echoed into an answer;
/// channel IDs may (`check` names the channel it checked).
pub(super) fn say(line: &str) {
    println!("{}", crate::secret::redact::scrub_credentials(line));
}

/// Runs the command line and returns the process exit code.
pub(crate) fn main(args: &[String]) -> ExitCode {
    let command = match parse_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{USAGE}");
            Ok(())
        }
        Command::Version => {
            println!("slack-alarm-notifier {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Render(args) => render(&args),
        Command::Send(args) => with_runtime(send(args)),
        Command::Check(args) => with_runtime(super::check::check(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is_empty() {
                let line = e.lines().collect::<Vec<_>>().join(" ");
                eprintln!("error: {}", crate::secret::redact::scrub(&line));
            }
            ExitCode::FAILURE
        }
    }
}

fn with_runtime(work: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    crate::app::init_cli_logging().map_err(|e| e.to_string())?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?
        .block_on(work)
}

/// The secret's value in a `--secret-file`.
fn read_secret_file(path: &str) -> Result<SlackSecret, String> {
    let raw = std::fs::read_to_string(path).map_err(|source| {
        SecretError::File {
            path: path.to_owned(),
            source,
        }
        .to_string()
    })?;
    parse_secret(path, &raw).map_err(|e| e.to_string())
}

/// The configuration and clients `send` and `check` use, before any secret is read.
pub(super) struct Setup {
    pub(super) config: Config,
    pub(super) tls: rustls::ClientConfig,
    pub(super) slack: Arc<SlackClient>,
}

impl Setup {
    pub(super) fn new(args: &SecretArgs) -> Result<Self, String> {
        let mut config = Config::from_env().map_err(|e| e.to_string())?;
        if let Some(id) = &args.secret_id {
            config.secret_id = Some(id.clone());
        }
        if args.secret_file.is_none() && config.secret_id.is_none() {
            return Err(
                "no secret: give --secret-id ID or --secret-file FILE (or set SecretId)".into(),
            );
        }
        let tls =
            crate::net::tls_config(config.extra_ca_file.as_deref()).map_err(|e| e.to_string())?;
        let slack = crate::app::wiring::slack_client(&config, &tls).map_err(|e| e.to_string())?;
        Ok(Self {
            config,
            tls,
            slack: Arc::new(slack),
        })
    }

    /// The secret from the file, or a Secrets Manager reader (nothing is read yet).
    pub(super) fn secrets(
        &self,
        args: &SecretArgs,
        aws: &aws_config::SdkConfig,
    ) -> Result<SecretSource, String> {
        match &args.secret_file {
            Some(path) => Ok(SecretSource::Fixed(Arc::new(read_secret_file(path)?))),
            None => crate::app::wiring::require_region(aws)
                .and_then(|()| crate::app::wiring::secret_store(&self.config, aws))
                .map(SecretSource::Manager)
                .map_err(|e| e.to_string()),
        }
    }

    /// The notifier the function runs, threads and graphs included, with the secret from
    /// `args`.
    async fn notifier(self, args: &SecretArgs) -> Result<Notifier, String> {
        let aws = crate::app::wiring::cli_aws_config(&self.tls).await;
        if self.config.threads_table.is_some() {
            crate::app::wiring::require_region(&aws).map_err(|e| e.to_string())?;
        }
        let secrets = self.secrets(args, &aws)?;
        let routes = crate::app::wiring::routes(&self.config).map_err(|e| e.to_string())?;
        let tags = routes
            .need_tags()
            .then(|| crate::app::wiring::tag_source(&aws));
        Ok(
            crate::app::wiring::notifier_with(&self.config, self.slack, &aws, Arc::new(secrets))
                .with_routes(routes, tags),
        )
    }
}

/// `send --dry-run`: the payloads the function would post, after its filters and routes,
/// with the secret read and each destination's way there checked. Nothing is posted.
async fn dry_run(notifier: &Notifier, bytes: &[u8], call: &Call<'_>) -> Result<(), String> {
    let messenger = &notifier.messages;
    let secret = messenger
        .secrets
        .get(call)
        .await
        .map_err(|e| e.to_string())?;
    let (notifications, queue) = preview::notifications(bytes)?;
    let mut kept = Vec::new();
    for n in notifications {
        match notifier.filtered_out(&n) {
            Some(why) => {
                let (kind, name) = describe(&n.body);
                eprintln!("{kind} {name}: filtered out ({why}); would not be posted");
            }
            None => kept.push(n),
        }
    }
    let mut routings = Vec::new();
    for n in &kept {
        let routing = notifier.routing(n, call).await;
        for d in &routing.destinations {
            messenger
                .reachable(&secret, &d.target)
                .map_err(|e| e.to_string())?;
        }
        routings.push(routing);
    }
    let settings = &notifier.settings;
    let planned = preview::plan(
        &kept,
        &routings,
        queue,
        &settings.render,
        settings.digest_threshold,
        None,
    );
    if notifier.routes.any() {
        for (i, p) in planned.iter().enumerate() {
            eprintln!("payload {i}: to {}", preview::place(&p.destination.target));
        }
    }
    let payloads = planned
        .iter()
        .map(|p| p.to_json(secret.channel()))
        .collect();
    print_json(&Value::Array(payloads));
    Ok(())
}

async fn send(args: SendArgs) -> Result<(), String> {
    let call = Call {
        deadline: Instant::now() + args.secret.timeout,
        trace_id: None,
        request_id: None,
    };
    let bytes = read_input(&args.event)?;
    let notifier = Setup::new(&args.secret)?.notifier(&args.secret).await?;
    if args.dry_run {
        return dry_run(&notifier, &bytes, &call).await;
    }
    let response = notifier
        .handle(&bytes, &call)
        .await
        .map_err(|e| e.to_string())?;
    print_json(&serde_json::to_value(&response).unwrap_or_default());
    match response {
        Response::Queue(batch) if !batch.batch_item_failures.is_empty() => Err(format!(
            "{} records not delivered",
            batch.batch_item_failures.len()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_commands() {
        assert_eq!(
            parse_args(&args(&["render", "e.json"])),
            Ok(Command::Render(RenderArgs {
                event: "e.json".into(),
                ..Default::default()
            }))
        );
        let Ok(Command::Send(s)) = parse_args(&args(&[
            "send",
            "e.json",
            "--secret-file",
            "s",
            "--dry-run",
        ])) else {
            panic!()
        };
        assert!(s.dry_run);
        assert_eq!(s.secret.secret_file.as_deref(), Some("s"));
        assert_eq!(
            parse_args(&args(&["check", "--secret-id", "slack/dev"])),
            Ok(Command::Check(SecretArgs {
                secret_id: Some("slack/dev".into()),
                secret_file: None,
                timeout: Duration::from_secs(30),
            }))
        );
        assert_eq!(parse_args(&args(&[])), Ok(Command::Help));
    }

    #[test]
    fn rejects_bad_usage() {
        for bad in [
            &["render"][..],
            &["render", "a", "b"],
            &["render", "a", "--dry-run"],
            &["render", "a", "--metric-data"],
            &["send", "a", "--metric-data", "f"],
            &["send", "a", "--secret-id"],
            &["frobnicate", "a"],
            &["send", "a", "--timeout", "0"],
            &["check", "a"],
            &["check", "--dry-run"],
            &["check", "--secret-id", "a", "--secret-file", "b"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
