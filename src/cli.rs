//! The local command line: `render` an event to Slack payloads, or `send` it as Lambda would.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::Config;
use crate::handler::Notifier;
use crate::parse::parse_event_bytes;
use crate::render::{render, render_payload, RenderOptions};
use crate::secret::{parse_secret, SecretError, SecretSource};
use crate::slack::SlackClient;

pub const USAGE: &str = "\
usage:
  slack-alarm-notifier render EVENT.json
      Print the Slack payloads for EVENT.json (a JSON array, one per notification). No network.
  slack-alarm-notifier send EVENT.json [--secret-id ID | --secret-file FILE] [--dry-run] [--timeout SECONDS]
      Run the Lambda path locally: read the webhook from Secrets Manager (--secret-id, or env SecretId)
      or from FILE (the secret's value), then post. --dry-run prints the payloads instead.
Use - for EVENT.json to read standard input. Under Lambda (AWS_LAMBDA_RUNTIME_API set) it serves invocations.";

/// Parsed command line.
#[derive(Debug, PartialEq)]
pub enum Command {
    Render { event: String },
    Send(SendArgs),
    Help,
    Version,
}

#[derive(Debug, PartialEq, Default)]
pub struct SendArgs {
    pub event: String,
    pub secret_id: Option<String>,
    pub secret_file: Option<String>,
    pub dry_run: bool,
    pub timeout: Duration,
}

pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut it = args.iter();
    let command = match it.next().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => return Ok(Command::Help),
        Some("-V" | "--version") => return Ok(Command::Version),
        Some(c) => c,
    };
    let mut event = None;
    let mut send = SendArgs {
        timeout: Duration::from_secs(30),
        ..Default::default()
    };
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--secret-id" if command == "send" => send.secret_id = Some(value("--secret-id")?),
            "--secret-file" if command == "send" => {
                send.secret_file = Some(value("--secret-file")?)
            }
            "--dry-run" if command == "send" => send.dry_run = true,
            "--timeout" if command == "send" => {
                let raw = value("--timeout")?;
                let secs: f64 = raw
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && *s <= 900.0)
                    .ok_or_else(|| format!("--timeout: expected 0 to 900 seconds, got {raw:?}"))?;
                send.timeout = Duration::from_secs_f64(secs);
            }
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag} for {command}"))
            }
            path if event.is_none() => event = Some(path.to_owned()),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    let event = event.ok_or_else(|| format!("{command}: missing EVENT.json"))?;
    match command {
        "render" => Ok(Command::Render { event }),
        "send" => {
            if send.secret_id.is_some() && send.secret_file.is_some() {
                return Err("give --secret-id or --secret-file, not both".into());
            }
            send.event = event;
            Ok(Command::Send(send))
        }
        other => Err(format!("unknown command {other:?}")),
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

/// Renders every notification in the event, or names the first bad record.
pub fn render_event(bytes: &[u8], options: &RenderOptions) -> Result<Vec<Value>, String> {
    let records = parse_event_bytes(bytes).map_err(|e| e.to_string())?;
    records
        .into_iter()
        .map(|r| r.map(|n| render(&n, options)).map_err(|e| e.to_string()))
        .collect()
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Runs the command line and returns the process exit code.
pub fn main(args: &[String]) -> ExitCode {
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
        Command::Render { event } => Config::from_env()
            .map_err(|e| e.to_string())
            .and_then(|config| {
                let options = RenderOptions {
                    mention: config.mention,
                };
                render_event(&read_input(&event)?, &options)
            })
            .map(|payloads| print_json(&Value::Array(payloads))),
        Command::Send(args) => {
            crate::init_cli_logging();
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(send(args)),
                Err(e) => Err(format!("cannot start the async runtime: {e}")),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.lines().collect::<Vec<_>>().join(" "));
            ExitCode::FAILURE
        }
    }
}

async fn send(args: SendArgs) -> Result<(), String> {
    let deadline = Instant::now() + args.timeout;
    let bytes = read_input(&args.event)?;
    let mut config = Config::from_env().map_err(|e| e.to_string())?;
    if let Some(id) = args.secret_id {
        config.secret_id = Some(id);
    }
    let notifier = match &args.secret_file {
        Some(path) => {
            let raw = std::fs::read_to_string(path).map_err(|source| {
                SecretError::File {
                    path: path.clone(),
                    source,
                }
                .to_string()
            })?;
            let secret = parse_secret(path, &raw).map_err(|e| e.to_string())?;
            let slack = SlackClient::new(
                crate::transport::Transport::new(),
                config.webhook_hosts.clone(),
                config.attempt_timeout,
                config.max_attempts.get(),
            );
            Notifier::new(&config, SecretSource::Fixed(Arc::new(secret)), slack)
        }
        None => crate::lambda::notifier_from_config(&config)
            .await
            .map_err(|e| e.to_string())?,
    };
    if args.dry_run {
        let secret = notifier
            .secrets
            .get(deadline)
            .await
            .map_err(|e| e.to_string())?;
        notifier
            .slack
            .check(&secret.webhook)
            .map_err(|e| e.to_string())?;
        let records = parse_event_bytes(&bytes).map_err(|e| e.to_string())?;
        let mut payloads = Vec::new();
        for record in records {
            let mut payload = render_payload(
                &record.map_err(|e| e.to_string())?,
                &notifier.render_options,
            );
            payload.channel.clone_from(&secret.channel);
            payloads.push(serde_json::to_value(payload).unwrap_or_default());
        }
        print_json(&Value::Array(payloads));
        return Ok(());
    }
    let outcome = notifier
        .handle(&bytes, deadline)
        .await
        .map_err(|e| e.to_string())?;
    print_json(&serde_json::to_value(outcome).unwrap_or_default());
    Ok(())
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
            Ok(Command::Render {
                event: "e.json".into()
            })
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
        assert_eq!(s.secret_file.as_deref(), Some("s"));
        assert_eq!(parse_args(&args(&[])), Ok(Command::Help));
    }

    #[test]
    fn rejects_bad_usage() {
        for bad in [
            &["render"][..],
            &["render", "a", "b"],
            &["render", "a", "--dry-run"],
            &["send", "a", "--secret-id"],
            &["frobnicate", "a"],
            &["send", "a", "--timeout", "0"],
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
