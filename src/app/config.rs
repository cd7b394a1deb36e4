//! Typed configuration, read from the environment once at start.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::deliver::Filter;
use crate::model::AlarmState;
use crate::threads::incident::ThreadSettings;

pub(crate) const DEFAULT_STAGE: &str = "AWSCURRENT";
pub(crate) const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);
pub(crate) const DEFAULT_WEBHOOK_HOSTS: &str = "hooks.slack.com,hooks.slack-gov.com";
/// Slack's Web API, for app mode.
pub(crate) const DEFAULT_API_URL: &str = "https://slack.com/api/";
pub(crate) const DEFAULT_API_HOSTS: &str = "slack.com,files.slack.com";
pub(crate) const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_MAX_ATTEMPTS: NonZeroU32 = NonZeroU32::new(4).expect("non-zero");
const MAX_ATTEMPTS: NonZeroU32 = NonZeroU32::new(20).expect("non-zero");
const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);
const THREADS_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(10));
const DEFAULT_REOPEN_MINUTES: u64 = crate::threads::incident::DEFAULT_REOPEN.as_secs() / 60;
/// Slack accepts about one message per second per webhook.
pub(crate) const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(1);
/// A thread lives seven days ([`crate::threads::incident::ITEM_TTL`]); a longer reopen window means nothing.
pub(crate) const MAX_REOPEN_MINUTES: u64 = 7 * 24 * 60;
/// The metric graph's own budget: a late graph is dropped, the message is already posted.
pub(crate) const DEFAULT_GRAPH_TIMEOUT: Duration = Duration::from_secs(3);
/// Longer than this, a graph would hold the invocation up for little.
pub(crate) const MAX_GRAPH_TIMEOUT: Duration = Duration::from_secs(30);
/// Shorter than this, CloudWatch could never draw a graph in time.
pub(crate) const MIN_GRAPH_TIMEOUT: Duration = Duration::from_millis(500);
/// The native chart's budget: the message waits for it, so it is short.
pub(crate) const DEFAULT_CHART_TIMEOUT: Duration = Duration::from_secs(1);
/// Shorter than this, CloudWatch could rarely answer; longer, the alarm would wait too long.
pub(crate) const CHART_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(5));
/// One HTTP attempt to Slack is allowed this long at least (a TLS handshake and an answer) and
/// at most (past it, a hung connection only burns the invocation).
pub(crate) const MIN_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
pub(crate) const MAX_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(120);
/// The most invocations one process serves at once on Lambda Managed Instances: each mostly
/// waits on Slack, which takes about one message a second per channel, so more would only
/// hold connections open.
pub(crate) const MAX_CONCURRENCY: u32 = 64;
/// The environment variable Lambda Managed Instances sets, read by `lambda_runtime` itself.
pub(crate) const CONCURRENCY_VAR: &str = "AWS_LAMBDA_MAX_CONCURRENCY";

/// Why the environment could not be turned into a [`Config`].
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name}: {problem}")]
    Invalid { name: &'static str, problem: String },
    /// No region for the AWS clients: neither `AWS_REGION` nor the AWS profile names one.
    #[error(
        "AWS_REGION is not set, and no AWS profile names a region: set AWS_REGION (Lambda sets it)"
    )]
    NoRegion,
}

fn invalid(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        problem: problem.into(),
    }
}

/// Everything the notifier reads from its environment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    /// `SecretId`: name or ARN of the Slack secret. Optional here; required where a secret is read.
    pub secret_id: Option<String>,
    /// `SECRET_VERSION_STAGE`
    pub secret_stage: String,
    /// `SECRET_CACHE_TTL_SECONDS`
    pub secret_ttl: Duration,
    /// `SLACK_WEBHOOK_HOSTS`, lower-cased.
    pub webhook_hosts: Vec<String>,
    /// `SLACK_API_URL`: the Web API's base, checked against `SLACK_API_HOSTS`, ending in `/`.
    pub api_url: reqwest::Url,
    /// `SLACK_API_HOSTS`, lower-cased.
    pub api_hosts: Vec<String>,
    /// `SLACK_TIMEOUT_SECONDS`: one HTTP attempt, always cut to the invocation's remaining time.
    pub attempt_timeout: Duration,
    /// `SLACK_MAX_ATTEMPTS`
    pub max_attempts: NonZeroU32,
    pub filter: Filter,
    /// `ALARM_MENTION`
    pub mention: Option<String>,
    /// `SSL_CERT_FILE`: CA certificates trusted besides the built-in roots.
    pub extra_ca_file: Option<std::path::PathBuf>,
    /// `DIGEST_THRESHOLD`: in a queue batch, up to this many alarms (and as many other
    /// notifications) are posted one each; more become a digest.
    pub digest_threshold: usize,
    /// `SLACK_MIN_INTERVAL_SECONDS`: the least time between two posts of a queue batch.
    pub min_interval: Duration,
    /// `THREADS_TABLE`: the DynamoDB table of incident threads (app mode); none, no threads.
    pub threads_table: Option<String>,
    /// `THREAD_REOPEN_MINUTES` and `THREAD_BROADCAST`.
    pub thread_settings: ThreadSettings,
    /// `THREADS_TIMEOUT_SECONDS`: one call to the threads table, retries included; past it the
    /// notification goes out top-level.
    pub threads_timeout: Duration,
    /// `METRIC_GRAPHS`: in app mode, a metric alarm's graph is shared in its message's thread.
    pub metric_graphs: bool,
    /// `METRIC_GRAPH_TIMEOUT_SECONDS`: the graph's budget, cut to the invocation's deadline.
    pub metric_graph_timeout: Duration,
    /// `METRIC_CHARTS`: a metric alarm's message carries its chart, drawn by Slack.
    pub metric_charts: bool,
    /// `METRIC_CHART_TIMEOUT_SECONDS`: the chart's budget, cut to the invocation's deadline.
    pub metric_chart_timeout: Duration,
    /// `ROUTES_FILE`: where each notification goes (see [`crate::deliver::route`]).
    pub routes_file: Option<std::path::PathBuf>,
    /// `ACTIONS`: buttons on alarm messages, and the interactivity endpoint that acts on them;
    /// `None` when off.
    pub actions: Option<ActionsConfig>,
    /// `AWS_LAMBDA_MAX_CONCURRENCY`, set by Lambda Managed Instances; at most
    /// [`MAX_CONCURRENCY`] are served (see [`cap_concurrency`]).
    pub max_concurrency: Option<u32>,
}

/// Acting from Slack (`ACTIONS=true`), and who may mute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ActionsConfig {
    /// `ACTIONS_ALLOWED_USERS`: user IDs that may mute and unmute; empty, no list.
    pub allowed_users: Vec<String>,
    /// `ACTIONS_ALLOWED_USERGROUP`: a user group whose members may mute and unmute.
    pub allowed_usergroup: Option<String>,
}

impl ActionsConfig {
    /// Whether anyone may mute without being on a list.
    pub(crate) fn anyone_may_mute(&self) -> bool {
        self.allowed_users.is_empty() && self.allowed_usergroup.is_none()
    }
}

/// A Slack ID starting with one of `prefixes`, then capital letters and digits.
fn slack_id(raw: &str, prefixes: &[char]) -> bool {
    (9..=20).contains(&raw.len())
        && raw.starts_with(prefixes)
        && raw
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `ACTIONS`, `ACTIONS_ALLOWED_USERS` and `ACTIONS_ALLOWED_USERGROUP`. Acknowledgements and
/// mutes are kept in the threads table, so actions need it.
fn actions<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    threads: bool,
) -> Result<Option<ActionsConfig>, ConfigError> {
    let users = env.get("ACTIONS_ALLOWED_USERS").map(|r| list(&r));
    let group = env
        .get("ACTIONS_ALLOWED_USERGROUP")
        .map(|g| g.trim().to_owned());
    if !env.flag("ACTIONS", false)? {
        return match (&users, &group) {
            (None, None) => Ok(None),
            (Some(_), _) => Err(invalid(
                "ACTIONS_ALLOWED_USERS",
                "is set, but ACTIONS is not true",
            )),
            (_, Some(_)) => Err(invalid(
                "ACTIONS_ALLOWED_USERGROUP",
                "is set, but ACTIONS is not true",
            )),
        };
    }
    if !threads {
        return Err(invalid(
            "ACTIONS",
            "needs THREADS_TABLE: acknowledgements and mutes are kept in the threads table",
        ));
    }
    let users = users.unwrap_or_default();
    if let Some(bad) = users.iter().find(|u| !slack_id(u, &['U', 'W'])) {
        return Err(invalid(
            "ACTIONS_ALLOWED_USERS",
            format!("{bad:?} is not a user ID (U or W and at least 8 more capital letters or digits, such as U0123ABCD)"),
        ));
    }
    if let Some(bad) = group.as_ref().filter(|g| !slack_id(g, &['S'])) {
        return Err(invalid(
            "ACTIONS_ALLOWED_USERGROUP",
            format!("{bad:?} is not a user group ID (S and at least 8 more capital letters or digits, such as S0123ABCD)"),
        ));
    }
    Ok(Some(ActionsConfig {
        allowed_users: users,
        allowed_usergroup: group,
    }))
}

fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A list of host names, lower-cased; an empty one is an error naming `name`.
fn hosts(name: &'static str, raw: &str) -> Result<Vec<String>, ConfigError> {
    let hosts: Vec<String> = list(raw).iter().map(|h| h.to_ascii_lowercase()).collect();
    if hosts.is_empty() {
        return Err(invalid(name, "names no host"));
    }
    Ok(hosts)
}

/// The Web API's base URL, held to the same rules as a webhook's, with a `/` to join methods to.
fn api_url(raw: &str, api_hosts: &[String]) -> Result<reqwest::Url, ConfigError> {
    let mut url = crate::slack::check_url(raw.trim(), api_hosts, "SLACK_API_HOSTS")
        .map_err(|problem| invalid("SLACK_API_URL", problem))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "SLACK_API_URL",
            "a query or fragment is not allowed",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    if !url.path().ends_with("/api/") {
        return Err(invalid(
            "SLACK_API_URL",
            format!(
                "the path {:?} does not end in /api/, where Slack's Web API methods are",
                url.path()
            ),
        ));
    }
    Ok(url)
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`), any case.
fn boolean(name: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(invalid(
            name,
            format!("expected true or false, got {raw:?}"),
        )),
    }
}

/// Seconds between `min` and `max`, or the error naming `name` and the range.
fn seconds_within(
    name: &'static str,
    raw: Option<String>,
    default: Duration,
    (min, max): (Duration, Duration),
) -> Result<Duration, ConfigError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    let value = seconds(name, &raw)?;
    if value < min || value > max {
        return Err(invalid(
            name,
            format!(
                "must be between {} and {} seconds, got {raw:?}",
                min.as_secs_f64(),
                max.as_secs_f64()
            ),
        ));
    }
    Ok(value)
}

/// A whole number between `min` and `max`, or the error naming `name` and the range.
fn whole_within<T>(
    name: &'static str,
    raw: Option<String>,
    default: T,
    (min, max): (T, T),
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = raw else {
        return Ok(default);
    };
    raw.trim()
        .parse::<T>()
        .ok()
        .filter(|n| *n >= min && *n <= max)
        .ok_or_else(|| invalid(name, format!("expected {min} to {max}, got {raw:?}")))
}

/// A DynamoDB table's name (3 to 255 of `A-Z a-z 0-9 _ - .`) or its ARN.
fn table_name(raw: &str) -> Result<String, ConfigError> {
    let raw = raw.trim();
    let name = match raw.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            match parts.as_slice() {
                [_partition, "dynamodb", region, account, resource]
                    if !region.is_empty()
                        && account.len() == 12
                        && account.chars().all(|c| c.is_ascii_digit()) =>
                {
                    resource.strip_prefix("table/").unwrap_or_default()
                }
                _ => {
                    return Err(invalid(
                        "THREADS_TABLE",
                        "an ARN that is not a DynamoDB table's (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)",
                    ))
                }
            }
        }
        None => raw,
    };
    let valid = (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return Err(invalid(
            "THREADS_TABLE",
            "not a table name (3 to 255 letters, digits, _, - or .) or a table's ARN",
        ));
    }
    Ok(raw.to_owned())
}

/// `AWS_LAMBDA_MAX_CONCURRENCY`: a whole number from 1; `lambda_runtime` would take anything
/// else for 1 without a word.
fn concurrency(raw: &str) -> Result<u32, ConfigError> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            invalid(
                CONCURRENCY_VAR,
                format!("expected a whole number from 1, got {raw:?}"),
            )
        })
}

/// Holds `AWS_LAMBDA_MAX_CONCURRENCY` to [`MAX_CONCURRENCY`] in this process's environment,
/// where `lambda_runtime` reads it; what it was, when it was more. Call it before any other
/// thread starts: the environment is changed in place.
pub(crate) fn cap_concurrency() -> Option<u32> {
    let asked = std::env::var(CONCURRENCY_VAR)
        .ok()?
        .trim()
        .parse::<u32>()
        .ok()?;
    if asked <= MAX_CONCURRENCY {
        return None;
    }
    std::env::set_var(CONCURRENCY_VAR, MAX_CONCURRENCY.to_string());
    Some(asked)
}

fn seconds(name: &'static str, raw: &str) -> Result<Duration, ConfigError> {
    let n: f64 = raw
        .trim()
        .parse()
        .map_err(|_| invalid(name, format!("expected a number of seconds, got {raw:?}")))?;
    if !(0.0..=86_400.0).contains(&n) {
        return Err(invalid(name, "must be between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(n))
}

/// `NOTIFY_STATES`: alarm states, at least one.
fn states(raw: &str) -> Result<Vec<AlarmState>, ConfigError> {
    let states = list(raw)
        .iter()
        .map(|s| match AlarmState::parse(s) {
            AlarmState::Other(_) | AlarmState::Unknown => Err(invalid(
                "NOTIFY_STATES",
                format!("unknown state {s:?}; use ALARM, OK or INSUFFICIENT_DATA"),
            )),
            state => Ok(state),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if states.is_empty() {
        return Err(invalid(
            "NOTIFY_STATES",
            format!("names no state ({raw:?}); use ALARM, OK or INSUFFICIENT_DATA, or leave it unset for all"),
        ));
    }
    Ok(states)
}

/// Accepts the mention forms Slack turns into notifications.
fn mention(raw: &str) -> Result<String, ConfigError> {
    let m = raw.trim();
    if crate::model::mrkdwn::is_mention(m) {
        Ok(m.to_owned())
    } else {
        Err(invalid(
            "ALARM_MENTION",
            format!("expected <!here>, <!channel>, <!subteam^ID> or <@USERID>, got {m:?}"),
        ))
    }
}

/// The environment through a lookup: blank values are unset, and each reader names its
/// variable in its error.
struct Env<F>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }

    /// `name` read by `parse`, which names it in its error; `None` when unset.
    fn parsed<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, ConfigError>,
    ) -> Result<Option<T>, ConfigError> {
        self.get(name).map(|raw| parse(&raw)).transpose()
    }

    fn seconds(
        &self,
        name: &'static str,
        default: Duration,
        range: (Duration, Duration),
    ) -> Result<Duration, ConfigError> {
        seconds_within(name, self.get(name), default, range)
    }

    fn whole<T>(&self, name: &'static str, default: T, range: (T, T)) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        whole_within(name, self.get(name), default, range)
    }

    fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        Ok(self
            .parsed(name, |raw| boolean(name, raw))?
            .unwrap_or(default))
    }
}

/// `NOTIFY_STATES`, `ALARM_NAME_INCLUDE` and `ALARM_NAME_EXCLUDE`.
fn alarm_filter<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Filter, ConfigError> {
    let patterns = |name| env.get(name).map(|r| list(&r)).unwrap_or_default();
    Ok(Filter {
        states: env.parsed("NOTIFY_STATES", states)?.unwrap_or_default(),
        include: patterns("ALARM_NAME_INCLUDE"),
        exclude: patterns("ALARM_NAME_EXCLUDE"),
    })
}

/// `THREAD_REOPEN_MINUTES` and `THREAD_BROADCAST`.
fn thread_settings<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<ThreadSettings, ConfigError> {
    let minutes = env.whole(
        "THREAD_REOPEN_MINUTES",
        DEFAULT_REOPEN_MINUTES,
        (0, MAX_REOPEN_MINUTES),
    )?;
    Ok(ThreadSettings {
        reopen: Duration::from_secs(minutes * 60),
        broadcast: env.flag("THREAD_BROADCAST", false)?,
    })
}

impl Config {
    /// Reads the process environment.
    pub(crate) fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let api_hosts = hosts(
            "SLACK_API_HOSTS",
            &env.or("SLACK_API_HOSTS", DEFAULT_API_HOSTS),
        )?;
        let threads_table = env.parsed("THREADS_TABLE", table_name)?;
        Ok(Self {
            actions: actions(&env, threads_table.is_some())?,
            secret_id: env.get("SecretId").map(|s| s.trim().to_owned()),
            secret_stage: env
                .or("SECRET_VERSION_STAGE", DEFAULT_STAGE)
                .trim()
                .to_owned(),
            secret_ttl: env.seconds(
                "SECRET_CACHE_TTL_SECONDS",
                DEFAULT_CACHE_TTL,
                (Duration::ZERO, DAY),
            )?,
            webhook_hosts: hosts(
                "SLACK_WEBHOOK_HOSTS",
                &env.or("SLACK_WEBHOOK_HOSTS", DEFAULT_WEBHOOK_HOSTS),
            )?,
            api_url: api_url(&env.or("SLACK_API_URL", DEFAULT_API_URL), &api_hosts)?,
            api_hosts,
            attempt_timeout: env.seconds(
                "SLACK_TIMEOUT_SECONDS",
                DEFAULT_ATTEMPT_TIMEOUT,
                (MIN_ATTEMPT_TIMEOUT, MAX_ATTEMPT_TIMEOUT),
            )?,
            max_attempts: env.whole(
                "SLACK_MAX_ATTEMPTS",
                DEFAULT_MAX_ATTEMPTS,
                (NonZeroU32::MIN, MAX_ATTEMPTS),
            )?,
            filter: alarm_filter(&env)?,
            mention: env.parsed("ALARM_MENTION", mention)?,
            extra_ca_file: env.get("SSL_CERT_FILE").map(std::path::PathBuf::from),
            digest_threshold: env.whole(
                "DIGEST_THRESHOLD",
                crate::render::digest::DEFAULT_THRESHOLD,
                (0, 100),
            )?,
            min_interval: env.seconds(
                "SLACK_MIN_INTERVAL_SECONDS",
                DEFAULT_MIN_INTERVAL,
                (Duration::ZERO, MINUTE),
            )?,
            threads_table,
            thread_settings: thread_settings(&env)?,
            threads_timeout: env.seconds(
                "THREADS_TIMEOUT_SECONDS",
                crate::threads::store::CALL_TIMEOUT,
                THREADS_TIMEOUT_RANGE,
            )?,
            metric_graphs: env.flag("METRIC_GRAPHS", true)?,
            metric_graph_timeout: env.seconds(
                "METRIC_GRAPH_TIMEOUT_SECONDS",
                DEFAULT_GRAPH_TIMEOUT,
                (MIN_GRAPH_TIMEOUT, MAX_GRAPH_TIMEOUT),
            )?,
            metric_charts: env.flag("METRIC_CHARTS", false)?,
            metric_chart_timeout: env.seconds(
                "METRIC_CHART_TIMEOUT_SECONDS",
                DEFAULT_CHART_TIMEOUT,
                CHART_TIMEOUT_RANGE,
            )?,
            max_concurrency: env.parsed(CONCURRENCY_VAR, concurrency)?,
            routes_file: env.get("ROUTES_FILE").map(|p| p.trim().into()),
        })
    }

    /// The secret's id, required wherever Secrets Manager is read.
    pub(crate) fn require_secret_id(&self) -> Result<&str, ConfigError> {
        self.secret_id
            .as_deref()
            .ok_or(ConfigError::Missing("SecretId"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.secret_stage, "AWSCURRENT");
        assert_eq!(c.secret_ttl, DEFAULT_CACHE_TTL);
        assert_eq!(
            c.webhook_hosts,
            vec!["hooks.slack.com", "hooks.slack-gov.com"]
        );
        assert_eq!(c.api_url.as_str(), "https://slack.com/api/");
        assert_eq!(c.api_hosts, vec!["slack.com", "files.slack.com"]);
        assert_eq!(c.filter, Filter::default());
        assert_eq!(c.digest_threshold, 3);
        assert_eq!(c.min_interval, Duration::from_secs(1));
        assert_eq!(c.require_secret_id(), Err(ConfigError::Missing("SecretId")));
        assert_eq!(c.threads_table, None);
        assert_eq!(c.thread_settings, ThreadSettings::default());
        assert_eq!(c.thread_settings.reopen, Duration::from_secs(3600));
        assert!(c.metric_graphs);
        assert_eq!(c.metric_graph_timeout, Duration::from_secs(3));
        assert!(!c.metric_charts);
        assert_eq!(c.metric_chart_timeout, Duration::from_secs(1));
    }

    #[test]
    fn chart_settings() {
        let c = config(&[
            ("METRIC_CHARTS", "true"),
            ("METRIC_CHART_TIMEOUT_SECONDS", "0.25"),
        ])
        .unwrap();
        assert!(c.metric_charts);
        assert_eq!(c.metric_chart_timeout, Duration::from_millis(250));
        let c = config(&[("METRIC_CHART_TIMEOUT_SECONDS", "5")]).unwrap();
        assert_eq!(c.metric_chart_timeout, CHART_TIMEOUT_RANGE.1);
    }

    #[test]
    fn graph_settings() {
        let c = config(&[
            ("METRIC_GRAPHS", "false"),
            ("METRIC_GRAPH_TIMEOUT_SECONDS", "1.5"),
        ])
        .unwrap();
        assert!(!c.metric_graphs);
        assert_eq!(c.metric_graph_timeout, Duration::from_millis(1500));
        let c = config(&[
            ("METRIC_GRAPHS", " "),
            ("METRIC_GRAPH_TIMEOUT_SECONDS", "30"),
        ])
        .unwrap();
        assert!(c.metric_graphs, "blank is the default");
        assert_eq!(c.metric_graph_timeout, MAX_GRAPH_TIMEOUT);
    }

    #[test]
    fn thread_settings() {
        let c = config(&[
            ("THREADS_TABLE", " slack-threads "),
            ("THREAD_REOPEN_MINUTES", "0"),
            ("THREAD_BROADCAST", "TRUE"),
        ])
        .unwrap();
        assert_eq!(c.threads_table.as_deref(), Some("slack-threads"));
        assert_eq!(c.threads_timeout, crate::threads::store::CALL_TIMEOUT);
        assert_eq!(c.thread_settings.reopen, Duration::ZERO);
        assert!(c.thread_settings.broadcast);
        let c = config(&[
            ("THREAD_REOPEN_MINUTES", "10080"),
            ("THREAD_BROADCAST", "no"),
        ])
        .unwrap();
        assert_eq!(c.thread_settings.reopen, Duration::from_secs(10080 * 60));
        assert!(!c.thread_settings.broadcast);
    }

    #[test]
    fn invalid_values_are_named() {
        for (k, v) in [
            ("SECRET_CACHE_TTL_SECONDS", "soon"),
            ("SECRET_CACHE_TTL_SECONDS", "-1"),
            ("SLACK_MAX_ATTEMPTS", "0"),
            ("SLACK_TIMEOUT_SECONDS", "0"),
            ("NOTIFY_STATES", "ALARM,BROKEN"),
            ("ALARM_MENTION", "@here"),
            ("ALARM_MENTION", "<@U1> <!channel>"),
            ("SLACK_WEBHOOK_HOSTS", " , "),
            ("DIGEST_THRESHOLD", "-1"),
            ("DIGEST_THRESHOLD", "101"),
            ("SLACK_MIN_INTERVAL_SECONDS", "61"),
            ("SLACK_MIN_INTERVAL_SECONDS", "fast"),
            ("THREADS_TIMEOUT_SECONDS", "0"),
            ("THREADS_TIMEOUT_SECONDS", "11"),
            ("SLACK_API_HOSTS", ","),
            ("SLACK_API_URL", "not a url"),
            ("SLACK_API_URL", "https://evil.example/api/"),
            ("SLACK_API_URL", "http://slack.com/api/"),
            ("SLACK_API_URL", "https://user:pw@slack.com/api/"),
            ("SLACK_API_URL", "https://slack.com/api/?x=1"),
            ("THREAD_REOPEN_MINUTES", "-5"),
            ("THREAD_REOPEN_MINUTES", "1.5"),
            ("THREAD_REOPEN_MINUTES", "10081"),
            ("THREAD_BROADCAST", "maybe"),
            ("METRIC_GRAPHS", "sometimes"),
            ("METRIC_GRAPH_TIMEOUT_SECONDS", "0"),
            ("METRIC_GRAPH_TIMEOUT_SECONDS", "31"),
            ("METRIC_GRAPH_TIMEOUT_SECONDS", "soon"),
            ("METRIC_CHARTS", "maybe"),
            ("METRIC_CHART_TIMEOUT_SECONDS", "0.05"),
            ("METRIC_CHART_TIMEOUT_SECONDS", "6"),
            ("METRIC_CHART_TIMEOUT_SECONDS", "fast"),
            // Values that once passed, and broke things later.
            ("SLACK_TIMEOUT_SECONDS", "0.000001"),
            ("SLACK_TIMEOUT_SECONDS", "121"),
            ("NOTIFY_STATES", ","),
            ("NOTIFY_STATES", " , ,"),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "abc"),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "0"),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "-1"),
            ("METRIC_GRAPH_TIMEOUT_SECONDS", "1e-9"),
            ("THREADS_TABLE", "a"),
            ("THREADS_TABLE", "my table"),
            ("THREADS_TABLE", "arn:aws:s3:::bucket"),
            ("THREADS_TABLE", "arn:aws:dynamodb:us-east-1:123:table/x"),
            ("SLACK_API_URL", "https://slack.com/"),
            ("SLACK_API_URL", "https://slack.com/api/chat.postMessage"),
        ] {
            let err = config(&[(k, v)]).unwrap_err();
            assert!(err.to_string().starts_with(k), "{k}={v}: {err}");
        }
    }

    #[test]
    fn bounded_values_at_their_limits() {
        let c = config(&[
            ("SLACK_TIMEOUT_SECONDS", "1"),
            ("METRIC_GRAPH_TIMEOUT_SECONDS", "0.5"),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "5000"),
            (
                "THREADS_TABLE",
                "arn:aws:dynamodb:eu-west-1:123456789012:table/slack-threads",
            ),
            ("NOTIFY_STATES", "ALARM,"),
        ])
        .unwrap();
        assert_eq!(c.attempt_timeout, MIN_ATTEMPT_TIMEOUT);
        assert_eq!(c.metric_graph_timeout, MIN_GRAPH_TIMEOUT);
        // Valid, and held to MAX_CONCURRENCY where lambda_runtime reads it (cap_concurrency).
        assert_eq!(c.max_concurrency, Some(5000));
        assert!(c.threads_table.unwrap().ends_with("table/slack-threads"));
        assert_eq!(c.filter.states, vec![AlarmState::Alarm]);
    }

    #[test]
    fn the_api_url_follows_its_hosts() {
        let c = config(&[
            ("SLACK_API_URL", "http://127.0.0.1:9000/api"),
            ("SLACK_API_HOSTS", "127.0.0.1"),
        ])
        .unwrap();
        assert_eq!(c.api_url.as_str(), "http://127.0.0.1:9000/api/");
        assert_eq!(
            c.api_url.join("chat.postMessage").unwrap().as_str(),
            "http://127.0.0.1:9000/api/chat.postMessage"
        );
        let c = config(&[("SLACK_API_URL", "https://FILES.slack.com/api/")]).unwrap();
        assert_eq!(c.api_url.host_str(), Some("files.slack.com"));
        // The default URL is refused when the hosts leave slack.com out.
        let err = config(&[("SLACK_API_HOSTS", "127.0.0.1")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"SLACK_API_URL: host "slack.com" is not in SLACK_API_HOSTS"#
        );
    }

    #[test]
    fn filters() {
        let c = config(&[
            ("NOTIFY_STATES", "alarm, ok"),
            ("ALARM_NAME_INCLUDE", "prod-*"),
            ("ALARM_NAME_EXCLUDE", "*-canary"),
        ])
        .unwrap();
        assert_eq!(c.filter.reject_reason("prod-api", &AlarmState::Alarm), None);
        assert!(c
            .filter
            .reject_reason("prod-api", &AlarmState::InsufficientData)
            .is_some());
        assert!(c
            .filter
            .reject_reason("dev-api", &AlarmState::Alarm)
            .is_some());
        assert!(c
            .filter
            .reject_reason("prod-api-canary", &AlarmState::Alarm)
            .is_some());
    }

    #[test]
    fn actions_need_the_threads_table_and_name_who_may_mute() {
        assert_eq!(config(&[]).unwrap().actions, None);
        let c = config(&[("ACTIONS", "true"), ("THREADS_TABLE", "slack-threads")]).unwrap();
        let actions = c.actions.unwrap();
        assert!(actions.anyone_may_mute());
        let c = config(&[
            ("ACTIONS", "yes"),
            ("THREADS_TABLE", "slack-threads"),
            ("ACTIONS_ALLOWED_USERS", "U0123ABCD, W0123ABCDE"),
            ("ACTIONS_ALLOWED_USERGROUP", " S0ONCALL01 "),
        ])
        .unwrap();
        let actions = c.actions.unwrap();
        assert_eq!(actions.allowed_users, ["U0123ABCD", "W0123ABCDE"]);
        assert_eq!(actions.allowed_usergroup.as_deref(), Some("S0ONCALL01"));
        assert!(!actions.anyone_may_mute());
        for (vars, named) in [
            (vec![("ACTIONS", "true")], "ACTIONS"),
            (vec![("ACTIONS", "on")], "ACTIONS"),
            (
                vec![("ACTIONS_ALLOWED_USERS", "U0123ABCD")],
                "ACTIONS_ALLOWED_USERS",
            ),
            (
                vec![
                    ("ACTIONS", "false"),
                    ("ACTIONS_ALLOWED_USERGROUP", "S0ONCALL01"),
                ],
                "ACTIONS_ALLOWED_USERGROUP",
            ),
            (
                vec![
                    ("ACTIONS", "true"),
                    ("THREADS_TABLE", "t-1"),
                    ("ACTIONS_ALLOWED_USERS", "@alice"),
                ],
                "ACTIONS_ALLOWED_USERS",
            ),
            (
                vec![
                    ("ACTIONS", "true"),
                    ("THREADS_TABLE", "t-1"),
                    ("ACTIONS_ALLOWED_USERGROUP", "U0123ABCD"),
                ],
                "ACTIONS_ALLOWED_USERGROUP",
            ),
        ] {
            let err = config(&vars).unwrap_err().to_string();
            assert!(err.starts_with(named), "{vars:?}: {err}");
        }
    }

    #[test]
    fn mentions() {
        for ok in ["<!here>", "<!channel>", "<!subteam^S0123>", "<@U0123ABC>"] {
            assert_eq!(
                config(&[("ALARM_MENTION", ok)]).unwrap().mention.as_deref(),
                Some(ok)
            );
        }
    }
}
