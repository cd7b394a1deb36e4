//! The clients, built once per process from the configuration, and wired into the function:
//! the Slack client, the AWS SDK's shared configuration (region, credentials, the one HTTP
//! stack), Secrets Manager, the threads table and CloudWatch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::actions::Actions;
use crate::app::config::{Config, ConfigError};
use crate::cloudwatch::graph::GraphSource;
use crate::cloudwatch::metric_data::MetricData;
use crate::cloudwatch::mute::MuteRules;
use crate::cloudwatch::tags::{TagSource, TAGS_TIMEOUT};
use crate::deliver::chart::Charts;
use crate::deliver::route::file::RoutesError;
use crate::deliver::route::{Routes, Target};
use crate::deliver::{Notifier, Settings};
use crate::net::HttpSetupError;
use crate::render::RenderOptions;
use crate::rotation::Rotator;
use crate::secret::{Call, SecretSource, SecretStore};
use crate::slack::messenger::Messenger;
use crate::slack::SlackClient;
use crate::threads::store::ThreadStore;

/// Why the function could not start serving.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Http(#[from] HttpSetupError),
    /// `ROUTES_FILE` names a file that is not a routes file this function can use.
    #[error("ROUTES_FILE: {0}")]
    Routes(#[from] RoutesError),
}

/// What the deployed function serves: notifications, rotation steps of the Slack token, and,
/// with `ACTIONS`, clicks on the incidents' buttons.
pub(crate) struct Function {
    pub(crate) notifier: Notifier,
    pub(crate) rotator: Rotator,
    pub(crate) actions: Option<Actions>,
    /// The Slack client the notifier posts with, which rotation renews tokens with too.
    pub(crate) slack: Arc<SlackClient>,
}

/// Builds the function from configuration.
pub(crate) async fn function_from_config(config: &Config) -> Result<Function, InitError> {
    let tls = crate::net::tls_config(config.extra_ca_file.as_deref())?;
    let aws = aws_sdk_config(&tls).await;
    require_region(&aws)?;
    let secrets = Arc::new(SecretSource::Manager(secret_store(config, &aws)?));
    let slack = Arc::new(slack_client(config, &tls)?);
    let routes = routes(config)?;
    let tags = routes.need_tags().then(|| tag_source(&aws));
    let actions = actions(config, &slack, &aws, &routes, &secrets)?;
    let notifier = notifier_with(config, slack.clone(), &aws, secrets).with_routes(routes, tags);
    secret_serves_routes(&notifier).await?;
    Ok(Function {
        notifier,
        rotator: Rotator::new(aws_sdk_secretsmanager::Client::new(&aws)),
        actions,
        slack,
    })
}

/// The interactivity endpoint, with `ACTIONS`: the notifier's secret reader, the threads table with
/// no time kept back (a click's budget already leaves Slack its share), and CloudWatch for
/// mute rules, retried once.
fn actions(
    config: &Config,
    slack: &Arc<SlackClient>,
    aws: &aws_config::SdkConfig,
    routes: &Routes,
    secrets: &Arc<SecretSource>,
) -> Result<Option<Actions>, InitError> {
    let (Some(actions), Some(table)) = (&config.actions, &config.threads_table) else {
        return Ok(None);
    };
    let messenger = Messenger {
        slack: slack.clone(),
        secrets: secrets.clone(),
    };
    let store = thread_store(aws, table.clone(), config.threads_timeout).without_slack_reserve();
    let retries = aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(2);
    let cloudwatch = aws_sdk_cloudwatch::config::Builder::from(aws)
        .retry_config(retries)
        .build();
    let mutes = MuteRules::new(aws_sdk_cloudwatch::Client::from_conf(cloudwatch));
    let channels = routes
        .targets()
        .into_iter()
        .filter_map(|t| match t {
            Target::Channel(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    Ok(Some(Actions::new(
        messenger,
        store,
        mutes,
        actions.clone(),
        channels,
    )))
}

/// How long init waits for the secret, to check the routes against it.
const INIT_SECRET_BUDGET: Duration = Duration::from_secs(3);

/// A route the secret cannot serve (a webhook name it lacks, a channel with a webhook
/// secret) is an init error, not a failure at the first alarm routed there. The secret is
/// read now, and kept for the first invocation, which would read it anyway; when it cannot
/// be read, the routes are checked as each notification is posted.
async fn secret_serves_routes(notifier: &Notifier) -> Result<(), InitError> {
    let routes = &notifier.routes;
    let places = routes.places();
    if places
        .iter()
        .all(|(_, target, _)| **target == Target::Secret)
    {
        return Ok(());
    }
    let call = Call {
        deadline: Instant::now() + INIT_SECRET_BUDGET,
        trace_id: None,
        request_id: None,
    };
    let secret = match notifier.messages.secrets.get(&call).await {
        Ok(secret) => secret,
        Err(e) => {
            tracing::warn!(error = %e, "the secret could not be read at start; each route's destination is checked when a notification goes there");
            return Ok(());
        }
    };
    for (route, target, at) in places {
        if let Err(e) = notifier.messages.reachable(&secret, target) {
            let whose = route.map_or("[default]".to_owned(), |r| format!("route {r:?}"));
            let key = if matches!(target, Target::Webhook(_)) {
                "webhook"
            } else {
                "channel"
            };
            return Err(routes.error_at(at, format!("{whose}: {key}: {e}")).into());
        }
    }
    Ok(())
}

/// The routes of `ROUTES_FILE`; none when it is unset.
pub(crate) fn routes(config: &Config) -> Result<Routes, RoutesError> {
    match &config.routes_file {
        None => Ok(Routes::none()),
        Some(path) => crate::deliver::route::file::load(path, &crate::sources::names()),
    }
}

/// CloudWatch for alarms' tags: the SDK gives up within the lookup's budget, and retries once.
pub(crate) fn tag_source(aws: &aws_config::SdkConfig) -> TagSource {
    let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
        .operation_timeout(TAGS_TIMEOUT)
        .connect_timeout(TAGS_TIMEOUT)
        .build();
    let retries = aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(2);
    let config = aws_sdk_cloudwatch::config::Builder::from(aws)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    TagSource::new(aws_sdk_cloudwatch::Client::from_conf(config))
}

/// How notifications are screened, rendered and paced, from `config`.
pub(crate) fn settings(config: &Config) -> Settings {
    Settings {
        filter: config.filter.clone(),
        render: RenderOptions {
            mention: config.mention.clone(),
            mention_severe: false,
        },
        digest_threshold: config.digest_threshold,
        min_interval: config.min_interval,
    }
}

/// The notifier as the function wires it, posting with `slack` and the secret from
/// `secrets`: threads with `THREADS_TABLE`, charts with `METRIC_CHARTS`, metric graphs unless
/// `METRIC_GRAPHS` is off.
/// `send` uses it too.
pub(crate) fn notifier_with(
    config: &Config,
    slack: Arc<SlackClient>,
    aws: &aws_config::SdkConfig,
    secrets: Arc<SecretSource>,
) -> Notifier {
    let notifier = Notifier::new(settings(config), Messenger { slack, secrets });
    let notifier = match &config.threads_table {
        None => notifier,
        Some(table) => notifier.with_threads(
            thread_store(aws, table.clone(), config.threads_timeout),
            config.thread_settings,
        ),
    };
    let notifier = if config.actions.is_some() {
        notifier.with_actions()
    } else {
        notifier
    };
    let notifier = if config.metric_charts {
        notifier.with_charts(Charts::new(chart_source(aws, config.metric_chart_timeout)))
    } else {
        notifier
    };
    if config.metric_graphs {
        notifier.with_graphs(graph_source(aws, config.metric_graph_timeout))
    } else {
        notifier
    }
}

/// CloudWatch for native charts, without retries, since the message waits. The chart's own
/// timer (`MetricData::read`) ends the call at its budget.
fn chart_source(aws: &aws_config::SdkConfig, budget: Duration) -> MetricData {
    let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
        .connect_timeout(budget)
        .build();
    let retries = aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(1);
    let config = aws_sdk_cloudwatch::config::Builder::from(aws)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    MetricData::new(aws_sdk_cloudwatch::Client::from_conf(config), budget)
}

/// CloudWatch for metric graphs: the SDK gives up within the graph's budget, and retries once.
fn graph_source(aws: &aws_config::SdkConfig, budget: Duration) -> GraphSource {
    let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
        .operation_timeout(budget)
        .connect_timeout(budget)
        .build();
    let retries = aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(2);
    let config = aws_sdk_cloudwatch::config::Builder::from(aws)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    GraphSource::new(aws_sdk_cloudwatch::Client::from_conf(config), budget)
}

/// The SDK's shared configuration: the default credential chain, the region from
/// `AWS_REGION` or the AWS profile, sending through the shared HTTP stack. The region is not
/// asked of EC2's instance metadata, whose failure fills a local run with the SDK's warnings.
pub(crate) async fn aws_sdk_config(tls: &rustls::ClientConfig) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region_chain())
        .http_client(crate::net::sdk_http_client(tls.clone()))
        .load()
        .await
}

/// Where the region comes from: `AWS_REGION`, else the AWS profile; never EC2's metadata.
fn region_chain() -> aws_config::meta::region::RegionProviderChain {
    aws_config::meta::region::RegionProviderChain::first_try(
        aws_config::environment::EnvironmentVariableRegionProvider::new(),
    )
    .or_else(aws_config::profile::ProfileFileRegionProvider::new())
}

/// [`aws_sdk_config`] for the command line. Without a region, an empty configuration: the
/// SDK's credential chain would otherwise ask EC2's metadata for one and warn on a laptop,
/// and whatever needs AWS says the region is missing ([`require_region`]).
pub(crate) async fn cli_aws_config(tls: &rustls::ClientConfig) -> aws_config::SdkConfig {
    if region_chain().region().await.is_none() {
        return aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
    }
    aws_sdk_config(tls).await
}

/// Every AWS call needs a region: without one, each would fail later with the SDK's
/// `missing signing region`.
pub(crate) fn require_region(aws: &aws_config::SdkConfig) -> Result<(), ConfigError> {
    aws.region().map(|_| ()).ok_or(ConfigError::NoRegion)
}

/// The threads table's client: short timeouts and one quick retry, so a slow or throttled
/// table costs little of the invocation.
fn thread_store(aws: &aws_config::SdkConfig, table: String, call: Duration) -> ThreadStore {
    let attempt = crate::threads::store::attempt_timeout(call);
    let timeouts = aws_smithy_types::timeout::TimeoutConfig::builder()
        .operation_timeout(call)
        .operation_attempt_timeout(attempt)
        .connect_timeout(attempt)
        .build();
    // Throttling is retried once, soon: backing off for seconds would only delay the post.
    let retries = aws_smithy_types::retry::RetryConfig::standard()
        .with_max_attempts(crate::threads::store::MAX_ATTEMPTS)
        .with_initial_backoff(crate::threads::store::BACKOFF)
        .with_max_backoff(crate::threads::store::BACKOFF);
    let config = aws_sdk_dynamodb::config::Builder::from(aws)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    ThreadStore::new(aws_sdk_dynamodb::Client::from_conf(config), table, call)
}

/// The cached Secrets Manager reader for `SecretId`.
pub(crate) fn secret_store(
    config: &Config,
    aws: &aws_config::SdkConfig,
) -> Result<SecretStore, ConfigError> {
    let secret_id = config.require_secret_id()?.to_owned();
    Ok(SecretStore::new(
        aws_sdk_secretsmanager::Client::new(aws),
        secret_id,
        config.secret_stage.clone(),
        config.secret_ttl,
    ))
}

/// The Slack client (webhooks and Web API) with the configured limits.
pub(crate) fn slack_client(
    config: &Config,
    tls: &rustls::ClientConfig,
) -> Result<SlackClient, HttpSetupError> {
    Ok(SlackClient::new(
        crate::net::slack_client(tls)?,
        config.webhook_hosts.clone(),
        config.api_hosts.clone(),
        config.api_url.clone(),
        config.attempt_timeout,
        config.max_attempts.get(),
    ))
}
