//! `check`: one line per check of the configuration, the secret and Slack, without posting a
//! message. The first failure stops the rest.

use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::cli::{say, SecretArgs, Setup};
use crate::deliver::route::{Routes, Target};
use crate::net::error_chain;
use crate::secret::{BotToken, Call, ChannelId, Rotation, SlackSecret, WebhookUrl};
use crate::slack::{check_webhook, Answer, ApiBody, SlackClient, SlackError};

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
pub(super) async fn check(args: SecretArgs) -> Result<(), String> {
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
    let routes = check_routes_file(&setup)?;
    let aws = crate::app::wiring::cli_aws_config(&setup.tls).await;
    let secret = match setup.secrets(&args, &aws) {
        Ok(source) => source.get(&call).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let secret = step("secret", secret, |s| match &**s {
        SlackSecret::Webhook {
            url,
            hooks,
            channel,
        } => {
            let mut has = Vec::new();
            if url.is_some() {
                has.push("a webhook URL".to_owned());
            }
            if !hooks.is_empty() {
                has.push(format!("{} named webhooks (SLACK_HOOK_URLS)", hooks.len()));
            }
            if channel.is_some() {
                has.push("SLACK_CHANNEL".to_owned());
            }
            format!("read: {}", has.join(" and "))
        }
        SlackSecret::App { .. } => {
            "read: SLACK_BOT_TOKEN and SLACK_CHANNEL (app mode, the Web API)".into()
        }
    })?;
    route_targets(&routes, &secret);
    match &*secret {
        SlackSecret::Webhook { url, hooks, .. } => {
            if let Some(url) = url {
                check_webhook_answers(&setup, "webhook", url, &call).await?;
            }
            for (name, url) in hooks {
                check_webhook_answers(&setup, &format!("webhook {name}"), url, &call).await?;
            }
            Ok(())
        }
        SlackSecret::App {
            token,
            channel,
            rotation,
            signing,
        } => {
            rotation_line(token, rotation, SystemTime::now());
            signing_line(&setup, signing.as_ref())?;
            check_app(&setup, token, channel, &routes, &call).await
        }
    }
}

/// `ROUTES_FILE`: it loads (an error is what would be an init error), and no route stands
/// after one that takes everything.
fn check_routes_file(setup: &Setup) -> Result<Routes, String> {
    let Some(path) = &setup.config.routes_file else {
        return Ok(Routes::none());
    };
    let routes = step(
        "routes",
        crate::app::wiring::routes(&setup.config).map_err(|e| e.to_string()),
        |r| {
            let default = if r.default.is_some() {
                "a [default]"
            } else {
                "no [default] (what no route takes goes to the secret's own destination)"
            };
            format!(
                "{}: {} routes and {default}",
                path.display(),
                r.routes.len()
            )
        },
    )?;
    for (route, by) in routes.shadowed() {
        say(&format!(
            "warn  routes: route {route:?} can never match: route {by:?} before it takes everything and does not continue"
        ));
    }
    Ok(routes)
}

/// What the secret cannot serve of the routes' targets: a webhook name it lacks, a channel
/// with webhooks, a webhook in app mode. Warnings: the secret may be fixed before a
/// notification goes there.
fn route_targets(routes: &Routes, secret: &SlackSecret) {
    for target in routes.targets() {
        let problem = match (secret, target) {
            (SlackSecret::Webhook { hooks, .. }, Target::Webhook(name))
                if !hooks.contains_key(name) =>
            {
                format!("webhook {name:?} is not in the secret's SLACK_HOOK_URLS")
            }
            (SlackSecret::Webhook { .. }, Target::Channel(c)) => {
                format!("channel {c} needs app mode, but the secret holds webhooks")
            }
            (SlackSecret::App { .. }, Target::Webhook(name)) => {
                format!("webhook {name:?} needs a webhook secret, but the secret is app mode")
            }
            _ => continue,
        };
        say(&format!(
            "warn  routes: {problem}; notifications routed there fail until it is fixed"
        ));
    }
    if routes.default.is_none()
        && matches!(secret, SlackSecret::Webhook { url: None, .. })
        && !routes.routes.is_empty()
    {
        say(
            "warn  routes: no [default] and no SLACK_HOOK_URL: a notification no route takes fails",
        );
    }
}

/// The webhook's host, then its answer to an empty message.
async fn check_webhook_answers(
    setup: &Setup,
    name: &str,
    url: &WebhookUrl,
    call: &Call<'_>,
) -> Result<(), String> {
    let target = check_webhook(url, &setup.config.webhook_hosts).map_err(|e| e.to_string());
    let target = step(&format!("{name} host"), target, |url| {
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
    step(name, verdict(answer), Clone::clone).map(|_| ())
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
    routes: &Routes,
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
    match channel_verdict(&setup.slack, token, channel, &bot, call).await {
        Seen::Skipped(why) => skipped("channel", &why),
        Seen::Verdict(verdict) => {
            step("channel", verdict, Clone::clone)?;
        }
    }
    route_channels(setup, token, channel, routes, &bot, call).await;
    Ok(())
}

/// Each other channel a route posts to: a warning where the bot is not in it or cannot see
/// it, since only the notifications routed there would fail.
async fn route_channels(
    setup: &Setup,
    token: &BotToken,
    own: &ChannelId,
    routes: &Routes,
    bot: &Bot<'_>,
    call: &Call<'_>,
) {
    for target in routes.targets() {
        let Target::Channel(raw) = target else {
            continue;
        };
        if raw == own.as_str() {
            continue;
        }
        let Ok(channel) = crate::secret::channel_id(raw) else {
            continue; // the routes file's check refused it already
        };
        match channel_verdict(&setup.slack, token, &channel, bot, call).await {
            Seen::Verdict(Ok(line)) => say(&format!("ok    route channel: {line}")),
            Seen::Verdict(Err(problem)) => {
                // Slack's error codes do not name the channel; say which it is.
                let problem = if problem.contains(raw.as_str()) {
                    problem
                } else {
                    format!("{raw}: {problem}")
                };
                say(&format!(
                    "warn  route channel: {problem}; notifications routed there fail until it is fixed"
                ));
            }
            Seen::Skipped(why) => skipped("route channel", &why),
        }
    }
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
    let group = setup
        .config
        .actions
        .as_ref()
        .and_then(|a| a.allowed_usergroup.as_ref());
    if group.is_some() && !scopes.contains(&"usergroups:read") {
        // Not a failure: notifications go out; only mutes are refused to everyone.
        say("warn  actions: ACTIONS_ALLOWED_USERGROUP is set, but the token lacks usergroups:read, so no one can mute or unmute (add the scope and reinstall the app)");
    }
    Ok(())
}

/// With `ACTIONS` on: whether the secret holds a signing secret shaped like Slack's, without
/// which every click is refused. Without `ACTIONS`: nothing.
fn signing_line(setup: &Setup, signing: Option<&crate::secret::Credential>) -> Result<(), String> {
    if setup.config.actions.is_none() {
        return Ok(());
    }
    let verdict = match signing {
        None => Err("ACTIONS is on, but the secret has no SLACK_SIGNING_SECRET, so every click is refused (copy it from the Slack app's Basic Information, App Credentials)".to_owned()),
        Some(secret) => match crate::app::actions::verify::signing_secret_problem(secret.expose()) {
            Some(problem) => Err(format!("SLACK_SIGNING_SECRET {problem}")),
            None => Ok(()),
        },
    };
    step("signing", verdict, |()| {
        "SLACK_SIGNING_SECRET is present and well-formed, so clicks can be verified".into()
    })
}

/// What `auth.test` said of the bot, for the channel's check.
struct Bot<'a> {
    user: &'a str,
    /// `chat:write.public`: the bot may post to a public channel it is not in.
    public_posting: bool,
}

/// What `conversations.info` says of the bot and a channel.
enum Seen {
    Verdict(Result<String, String>),
    /// It could not be asked (the token lacks the scope): why.
    Skipped(String),
}

/// `conversations.info`: the bot is in `channel` (or may post to it), and it is not archived.
async fn channel_verdict(
    slack: &SlackClient,
    token: &BotToken,
    channel: &ChannelId,
    bot: &Bot<'_>,
    call: &Call<'_>,
) -> Seen {
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
            return Seen::Skipped(format!(
                "conversations.info answered missing_scope ({needs}; channels:read for a public channel); whether the bot is in {} was not checked",
                channel.as_str()
            ));
        }
        other => other.map_err(|e| e.to_string()),
    };
    Seen::Verdict(reply.and_then(|reply| membership(&reply.body["channel"], channel, bot)))
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
}
