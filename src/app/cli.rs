//! The local command line: `render` an event to Slack payloads, or `send` it as Lambda would.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::app::config::Config;
use crate::deliver::Notifier;
use crate::deliver::Response;
use crate::ingest::{parse_delivery, Delivery};
use crate::model::Notification;
use crate::net::error_chain;
use crate::render::blocks::Payload;
use crate::render::{describe, render_payload, RenderOptions};
use crate::secret::{
    parse_secret, BotToken, Call, ChannelId, Rotation, SecretError, SecretSource, SlackSecret,
    WebhookUrl,
};
use crate::slack::{check_webhook, Answer, ApiBody, SlackClient, SlackError};

pub(crate) const USAGE: &str = "\
usage:
  slack-alarm-notifier render EVENT.json
      Print the Slack payloads for EVENT.json (a JSON array, one per notification). No network.
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
    Render { event: String },
    Send(SendArgs),
    Check(SecretArgs),
    Help,
    Version,
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
        "render" => Ok(Command::Render { event }),
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

/// Renders every notification in the event, or names the first bad record.
pub fn render_event(bytes: &[u8], options: &RenderOptions) -> Result<Vec<Value>, String> {
    render_event_with(bytes, options, crate::render::digest::DEFAULT_THRESHOLD)
}

/// [`render_event`] with a digest threshold: an SQS batch is shown as the messages it would
/// be posted as, digests included.
pub(crate) fn render_event_with(
    bytes: &[u8],
    options: &RenderOptions,
    digest_threshold: usize,
) -> Result<Vec<Value>, String> {
    let payloads = planned(bytes, options, digest_threshold, |_| true)?;
    Ok(payloads
        .into_iter()
        .map(|p| serde_json::to_value(p).unwrap_or_default())
        .collect())
}

/// The payloads an event becomes: one per notification, or for an SQS batch, what
/// [`crate::render::digest::plan`] makes of it. Notifications `keep` refuses are left out. A
/// record that is not a notification is an error.
fn planned(
    bytes: &[u8],
    options: &RenderOptions,
    digest_threshold: usize,
    mut keep: impl FnMut(&Notification) -> bool,
) -> Result<Vec<Payload>, String> {
    if let Some(request) = crate::rotation::RotationRequest::detect(bytes) {
        let step = request.map_or_else(|e| e.to_string(), |r| format!("step {}", r.step));
        return Err(format!(
            "a Secrets Manager rotation request ({step}), not a notification: the deployed function runs it against the secret; render and send show notifications only"
        ));
    }
    match parse_delivery(bytes).map_err(|e| e.to_string())? {
        Delivery::Direct(records) => {
            let mut out = Vec::new();
            for record in records {
                let notification = record.map_err(|e| e.to_string())?;
                if keep(&notification) {
                    out.push(render_payload(&notification, options));
                }
            }
            Ok(out)
        }
        Delivery::Queue(records) => {
            let mut batch = Vec::new();
            for record in records {
                let notification = record
                    .notification
                    .map_err(|e| format!("record {}: {e}", record.message_id))?;
                if keep(&notification) {
                    batch.push(notification);
                }
            }
            let refs: Vec<&Notification> = batch.iter().collect();
            Ok(
                crate::render::digest::plan(&refs, options, digest_threshold)
                    .into_iter()
                    .map(|o| o.payload)
                    .collect(),
            )
        }
    }
}

fn print_json(value: &Value) {
    say(&serde_json::to_string_pretty(value).unwrap_or_default());
}

/// Prints a line of output. No credential reaches it, whatever Slack echoed into an answer;
/// channel IDs may (`check` names the channel it checked).
fn say(line: &str) {
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
        Command::Render { event } => Config::from_env()
            .map_err(|e| e.to_string())
            .and_then(|config| {
                let options = RenderOptions {
                    mention: config.mention,
                };
                render_event_with(&read_input(&event)?, &options, config.digest_threshold)
            })
            .map(|payloads| print_json(&Value::Array(payloads))),
        Command::Send(args) => with_runtime(send(args)),
        Command::Check(args) => with_runtime(check(args)),
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
struct Setup {
    config: Config,
    tls: rustls::ClientConfig,
    slack: Arc<SlackClient>,
}

impl Setup {
    fn new(args: &SecretArgs) -> Result<Self, String> {
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
    fn secrets(
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
        let aws = crate::app::wiring::aws_sdk_config(&self.tls).await;
        if self.config.threads_table.is_some() {
            crate::app::wiring::require_region(&aws).map_err(|e| e.to_string())?;
        }
        let secrets = self.secrets(args, &aws)?;
        Ok(crate::app::wiring::notifier_with(
            &self.config,
            self.slack,
            &aws,
            secrets,
        ))
    }
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
        let messenger = &notifier.messages;
        let secret = messenger
            .secrets
            .get(&call)
            .await
            .map_err(|e| e.to_string())?;
        if let SlackSecret::Webhook { url, .. } = &*secret {
            messenger.slack.check(url).map_err(|e| e.to_string())?;
        }
        let keep = |notification: &Notification| match notifier.filtered_out(notification) {
            Some(why) => {
                let (kind, name) = describe(&notification.body);
                eprintln!("{kind} {name}: filtered out ({why}); would not be posted");
                false
            }
            None => true,
        };
        let payloads: Vec<Value> = planned(
            &bytes,
            &notifier.settings.render,
            notifier.settings.digest_threshold,
            keep,
        )?
        .into_iter()
        .map(|mut payload| {
            payload.channel = secret.channel().map(str::to_owned);
            serde_json::to_value(payload).unwrap_or_default()
        })
        .collect();
        print_json(&Value::Array(payloads));
        return Ok(());
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

/// Slack's answers to an empty message, read as the webhook's health.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WebhookHealth {
    /// 400 naming the missing text: the webhook exists and takes messages.
    Live,
    /// 403, 404 or 410: revoked, deleted, or its channel archived.
    Dead,
    /// Anything else: not evidence either way.
    Unknown,
}

/// What an answer to an empty payload says of the webhook. Slack refuses a message without
/// text with 400 `no_text` (legacy webhooks: `missing_text_or_fallback_or_attachments`).
pub(crate) fn webhook_health(answer: &Answer) -> WebhookHealth {
    match (answer.status, answer.reason.as_str()) {
        (400, "no_text" | "missing_text_or_fallback_or_attachments") => WebhookHealth::Live,
        (403 | 404 | 410, _) => WebhookHealth::Dead,
        _ => WebhookHealth::Unknown,
    }
}

/// Prints one check's line. A failure ends `check`: its reason is printed here already.
fn step<T>(
    name: &str,
    result: Result<T, String>,
    detail: impl FnOnce(&T) -> String,
) -> Result<T, String> {
    match result {
        Ok(value) => {
            say(&format!("ok    {name}: {}", detail(&value)));
            Ok(value)
        }
        Err(problem) => {
            say(&format!("FAIL  {name}: {problem}"));
            Err(String::new())
        }
    }
}

/// Prints a check that could not be made; it does not fail `check`.
fn skipped(name: &str, why: &str) {
    say(&format!("skip  {name}: {why}"));
}

/// With token rotation: whether the secret can be renewed, and when its token expires. Says
/// nothing for a plain token that does not expire. Never fails `check`.
fn rotation_line(token: &BotToken, rotation: &Rotation, now: SystemTime) {
    if let Some(line) = rotation_text(token.expose().starts_with("xoxe."), rotation, now) {
        say(&line);
    }
}

fn rotation_text(rotating: bool, rotation: &Rotation, now: SystemTime) -> Option<String> {
    if !rotating && !rotation.renewable {
        return None;
    }
    let expiry = match rotation.token_expires {
        None => "SLACK_TOKEN_EXPIRES_AT is not set, so when the token expires is unknown".into(),
        Some(at) => {
            let when = chrono::DateTime::<chrono::Utc>::from(at).format("%Y-%m-%d %H:%M UTC");
            match at.duration_since(now) {
                Ok(left) => format!(
                    "the token expires at {when}, in {}",
                    crate::threads::incident::human(left.as_secs())
                ),
                Err(e) => {
                    let ago = crate::threads::incident::human(e.duration().as_secs());
                    return Some(format!(
                        "warn  rotation: the token expired at {when}, {ago} ago: the last rotations failed (see the rotation function's log)"
                    ));
                }
            }
        }
    };
    Some(if rotation.renewable {
        format!("ok    rotation: SLACK_REFRESH_TOKEN, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET present; {expiry}")
    } else {
        format!("warn  rotation: a rotating token (xoxe.xoxb-) without SLACK_REFRESH_TOKEN, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: nothing can renew it, and it lasts 12 hours; {expiry}")
    })
}

/// What Slack's answer to an empty message says of the webhook.
fn verdict(answer: Result<Answer, reqwest::Error>) -> Result<String, String> {
    let answer = answer.map_err(|e| format!("no answer: {}", error_chain(&e)))?;
    let said = format!("HTTP {} {}", answer.status, answer.reason);
    match webhook_health(&answer) {
        WebhookHealth::Live => Ok(format!(
            "live (an empty message was refused with {said}; nothing was posted)"
        )),
        WebhookHealth::Dead => Err(format!("dead: Slack answered {said}")),
        WebhookHealth::Unknown => Err(format!(
            "unknown: Slack answered {said}, neither a live nor a dead webhook's answer"
        )),
    }
}

/// One line per check; the first failure stops the rest.
async fn check(args: SecretArgs) -> Result<(), String> {
    let call = Call {
        deadline: Instant::now() + args.timeout,
        trace_id: None,
        request_id: None,
    };
    let setup = step("configuration", Setup::new(&args), |setup| {
        let origin = match (&args.secret_file, &setup.config.secret_id) {
            (Some(path), _) => format!("file {path}"),
            (None, id) => format!("Secrets Manager, {}", id.as_deref().unwrap_or_default()),
        };
        format!("environment read; the secret comes from {origin}")
    })?;
    let aws = crate::app::wiring::aws_sdk_config(&setup.tls).await;
    let secret = match setup.secrets(&args, &aws) {
        Ok(source) => source.get(&call).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let secret = step("secret", secret, |s| match &**s {
        SlackSecret::Webhook { channel, .. } => {
            let channel = if channel.is_some() {
                " and SLACK_CHANNEL"
            } else {
                ""
            };
            format!("read: a webhook URL{channel}")
        }
        SlackSecret::App { .. } => {
            "read: SLACK_BOT_TOKEN and SLACK_CHANNEL (app mode, the Web API)".into()
        }
    })?;
    match &*secret {
        SlackSecret::Webhook { url, .. } => check_webhook_answers(&setup, url, &call).await,
        SlackSecret::App {
            token,
            channel,
            rotation,
        } => {
            rotation_line(token, rotation, SystemTime::now());
            check_app(&setup, token, channel, &call).await
        }
    }
}

/// The webhook's host, then its answer to an empty message.
async fn check_webhook_answers(
    setup: &Setup,
    url: &WebhookUrl,
    call: &Call<'_>,
) -> Result<(), String> {
    let target = check_webhook(url, &setup.config.webhook_hosts).map_err(|e| e.to_string());
    let target = step("webhook host", target, |url| {
        format!("{} is allowed", url.host_str().unwrap_or_default())
    })?;
    let timeout = call.deadline.saturating_duration_since(Instant::now());
    let answer = setup
        .slack
        .send_once(
            &target,
            b"{}".to_vec(),
            timeout.min(setup.config.attempt_timeout),
        )
        .await;
    step("webhook", verdict(answer), Clone::clone).map(|_| ())
}

/// A string field of a Web API answer, or `?`.
fn field<'a>(answer: &'a Value, pointer: &str) -> &'a str {
    answer
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("?")
}

/// App mode: `auth.test` says whose token it is, its scopes say whether it may post, and
/// `conversations.info` whether the bot is in the channel. Nothing is posted.
async fn check_app(
    setup: &Setup,
    token: &BotToken,
    channel: &ChannelId,
    call: &Call<'_>,
) -> Result<(), String> {
    let auth = setup
        .slack
        .call("auth.test", token, ApiBody::Form(&[]), call.deadline)
        .await
        .map_err(|e| e.to_string());
    let auth = step("auth.test", auth, |reply| {
        format!(
            "the token works: team {} ({}), bot user {} ({}), at {}",
            field(&reply.body, "/team"),
            field(&reply.body, "/team_id"),
            field(&reply.body, "/user"),
            field(&reply.body, "/user_id"),
            setup.config.api_url,
        )
    })?;
    let scopes: Option<Vec<&str>> = auth
        .scopes
        .as_deref()
        .map(|s| s.split(',').map(str::trim).collect());
    check_scopes(setup, scopes.as_deref())?;
    let bot = Bot {
        user: field(&auth.body, "/user"),
        public_posting: scopes
            .as_ref()
            .is_some_and(|s| s.contains(&"chat:write.public")),
    };
    check_channel(&setup.slack, token, channel, &bot, call).await
}

/// `chat:write`, which posting needs, and `files:write`, which graphs need (a warning).
fn check_scopes(setup: &Setup, scopes: Option<&[&str]>) -> Result<(), String> {
    let Some(scopes) = scopes else {
        skipped(
            "scopes",
            "Slack did not say which scopes the token has; chat:write not checked",
        );
        return Ok(());
    };
    let granted = if scopes.contains(&"chat:write") {
        Ok(())
    } else {
        Err(format!(
            "the token lacks chat:write, which posting needs (it has: {})",
            scopes.join(", ")
        ))
    };
    step("scopes", granted, |()| "chat:write granted".into())?;
    if !setup.config.metric_graphs {
        skipped("graphs", "METRIC_GRAPHS is off; files:write not needed");
    } else if scopes.contains(&"files:write") {
        say("ok    graphs: files:write granted, so metric graphs can be shared");
    } else {
        // Not a failure: messages still go out, only without their graphs.
        say("warn  graphs: the token lacks files:write, so messages go out without their metric graphs (add the scope, reinstall the app, or set METRIC_GRAPHS=false)");
    }
    Ok(())
}

/// What `auth.test` said of the bot, for the channel's check.
struct Bot<'a> {
    user: &'a str,
    /// `chat:write.public`: the bot may post to a public channel it is not in.
    public_posting: bool,
}

/// `conversations.info`: the bot is in `channel` (or may post to it), and it is not archived.
async fn check_channel(
    slack: &SlackClient,
    token: &BotToken,
    channel: &ChannelId,
    bot: &Bot<'_>,
    call: &Call<'_>,
) -> Result<(), String> {
    let info = slack
        .call(
            "conversations.info",
            token,
            ApiBody::Form(&[("channel", channel.as_str())]),
            call.deadline,
        )
        .await;
    let reply = match info {
        Err(SlackError::ApiRejected { code, detail, .. }) if code == "missing_scope" => {
            let needs = if detail.is_empty() {
                "a scope the token lacks".into()
            } else {
                detail
            };
            skipped(
                "channel",
                &format!(
                    "conversations.info answered missing_scope ({needs}; channels:read for a public channel); whether the bot is in {} was not checked",
                    channel.as_str()
                ),
            );
            return Ok(());
        }
        other => other.map_err(|e| e.to_string()),
    };
    let verdict = reply.and_then(|reply| membership(&reply.body["channel"], channel, bot));
    step("channel", verdict, Clone::clone).map(|_| ())
}

/// What `conversations.info`'s channel says of the bot's place in it.
fn membership(c: &Value, channel: &ChannelId, bot: &Bot<'_>) -> Result<String, String> {
    let name = format!("#{} ({})", field(c, "/name"), channel.as_str());
    let flag = |key: &str| c.get(key).and_then(Value::as_bool);
    if flag("is_archived") == Some(true) {
        return Err(format!("{name} is archived"));
    }
    match flag("is_member") {
        Some(true) => Ok(format!("{name}: the bot is a member")),
        Some(false) if bot.public_posting && flag("is_private") == Some(false) => Ok(format!(
            "{name}: the bot is not a member, but chat:write.public lets it post to a public channel"
        )),
        Some(false) => Err(format!(
            "the bot is not a member of {name}: invite it with /invite @{}",
            bot.user
        )),
        None => Err(format!("{name}: Slack did not say whether the bot is a member")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_rotation_line_says_whether_the_token_can_be_renewed_and_when_it_expires() {
        use std::time::{Duration, UNIX_EPOCH};
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let renewable = |expires: Option<u64>| Rotation {
            token_expires: expires.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
            renewable: true,
        };
        assert_eq!(rotation_text(false, &Rotation::default(), now), None);
        assert_eq!(
            rotation_text(true, &renewable(Some(1_800_000_000 + 7 * 3600 + 720)), now).unwrap(),
            "ok    rotation: SLACK_REFRESH_TOKEN, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET present; the token expires at 2027-01-15 15:12 UTC, in 7 h 12 min"
        );
        let expired = rotation_text(true, &renewable(Some(1_800_000_000 - 3 * 3600)), now).unwrap();
        assert!(
            expired
                .starts_with("warn  rotation: the token expired at 2027-01-15 05:00 UTC, 3 h ago"),
            "{expired}"
        );
        let stranded = rotation_text(true, &Rotation::default(), now).unwrap();
        assert!(
            stranded.starts_with(
                "warn  rotation: a rotating token (xoxe.xoxb-) without SLACK_REFRESH_TOKEN"
            ),
            "{stranded}"
        );
        assert!(
            stranded.ends_with("when the token expires is unknown"),
            "{stranded}"
        );
    }

    #[test]
    fn a_rotation_request_is_named_not_rendered() {
        let event = br#"{"SecretId":"s","ClientRequestToken":"v","Step":"finishSecret"}"#;
        let error = render_event(event, &RenderOptions::default()).unwrap_err();
        assert!(
            error.starts_with(
                "a Secrets Manager rotation request (step finishSecret), not a notification"
            ),
            "{error}"
        );
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
