//! Reading the secret: from Secrets Manager, cached for its time to live and read again at a
//! rotating token's expiry, or from a file (`--secret-file`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::format::parse_secret;
use super::{SecretError, SlackSecret, EXPIRY_MARGIN};

struct Cached {
    secret: Arc<SlackSecret>,
    fetched: Instant,
    /// When the bot token expires, if the secret says (a rotating token).
    token_expires: Option<SystemTime>,
}

/// Reads the secret from Secrets Manager and keeps it for `ttl`.
pub(crate) struct SecretStore {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    stage: String,
    ttl: Duration,
    cached: Mutex<Option<Cached>>,
    /// One read at a time: concurrent invocations of a cold instance share the first read.
    reading: tokio::sync::Mutex<()>,
}

impl SecretStore {
    pub(crate) fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
        stage: String,
        ttl: Duration,
    ) -> Self {
        Self {
            client,
            secret_id,
            stage,
            ttl,
            cached: Mutex::new(None),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<Arc<SlackSecret>> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        let cached = cached.as_ref().filter(|c| c.fetched.elapsed() < self.ttl)?;
        if let Some(expires) = cached.token_expires {
            if SystemTime::now() + EXPIRY_MARGIN >= expires {
                tracing::debug!(secret_id = %self.secret_id, "the cached bot token is at its expiry; reading the secret again");
                return None;
            }
        }
        Some(cached.secret.clone())
    }

    /// Drops the cached value so the next read goes to Secrets Manager.
    pub(crate) fn invalidate(&self) {
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn timeout(&self) -> SecretError {
        SecretError::Timeout {
            secret_id: self.secret_id.clone(),
        }
    }

    /// The cached value, or one read, shared with any invocation already reading.
    async fn get(&self, call: &Call<'_>) -> Result<Arc<SlackSecret>, SecretError> {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let _reading = tokio::time::timeout_at(call.deadline.into(), self.reading.lock())
            .await
            .map_err(|_| self.timeout())?;
        match self.fresh() {
            Some(s) => Ok(s),
            None => self.fetch(call).await,
        }
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Arc<SlackSecret>, SecretError> {
        let started = Instant::now();
        let trace_id = call.trace_id.map(str::to_owned);
        let request = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(&self.stage)
            .customize()
            .mutate_request(move |request| {
                // The invocation's own trace header: with concurrent invocations the
                // runtime cannot set `_X_AMZN_TRACE_ID` for the SDK to read.
                if let Some(trace_id) = &trace_id {
                    let _ = request
                        .headers_mut()
                        .try_insert("X-Amzn-Trace-Id", trace_id.clone());
                }
            })
            .send();
        let output = tokio::time::timeout_at(call.deadline.into(), request)
            .await
            .map_err(|_| self.timeout())?
            .map_err(|e| {
                let (code, detail) = crate::net::describe_sdk_error(&e);
                SecretError::Fetch {
                    secret_id: self.secret_id.clone(),
                    stage: self.stage.clone(),
                    code,
                    detail,
                }
            })?;
        let raw = output.secret_string().ok_or_else(|| SecretError::Empty {
            secret_id: self.secret_id.clone(),
        })?;
        let secret = Arc::new(parse_secret(&self.secret_id, raw)?);
        let token_expires = match &*secret {
            SlackSecret::App { rotation, .. } => rotation.token_expires,
            SlackSecret::Webhook { .. } => None,
        };
        tracing::info!(secret_id = %self.secret_id, stage = %self.stage, elapsed_ms = started.elapsed().as_millis() as u64, "read Slack secret");
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            secret: secret.clone(),
            fetched: Instant::now(),
            token_expires,
        });
        Ok(secret)
    }
}

/// What a secret read needs to know of the invocation it serves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    /// No read outlives this.
    pub deadline: Instant,
    /// The X-Ray trace header, passed on to Secrets Manager.
    pub trace_id: Option<&'a str>,
    /// Lambda's request id: a retry of a failed asynchronous invocation has the same one.
    pub request_id: Option<&'a str>,
}

/// Where the webhook comes from: Secrets Manager, or a fixed value (`--secret-file`).
pub(crate) enum SecretSource {
    Manager(SecretStore),
    Fixed(Arc<SlackSecret>),
}

impl SecretSource {
    /// The cached secret, or a fresh read when there is none or it has expired.
    pub(crate) async fn get(&self, call: &Call<'_>) -> Result<Arc<SlackSecret>, SecretError> {
        match self {
            Self::Fixed(s) => Ok(s.clone()),
            Self::Manager(store) => store.get(call).await,
        }
    }

    /// Reads again now, e.g. after Slack says the webhook is gone.
    pub(crate) async fn refresh(&self, call: &Call<'_>) -> Result<Arc<SlackSecret>, SecretError> {
        match self {
            Self::Fixed(s) => Ok(s.clone()),
            Self::Manager(store) => {
                store.invalidate();
                store.get(call).await
            }
        }
    }

    /// Forgets the cached value, so a later invocation reads again.
    pub(crate) fn invalidate(&self) {
        if let Self::Manager(store) = self {
            store.invalidate();
        }
    }
}
