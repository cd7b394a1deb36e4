//! Secrets Manager rotation of the Slack bot token (token rotation on in the Slack app).
//!
//! Secrets Manager invokes the function with `{"SecretId", "ClientRequestToken", "Step"}` four
//! times: `createSecret` renews the token pair at `oauth.v2.access` and stores it as the
//! `AWSPENDING` version, `setSecret` has nothing to do (Slack issued the token), `testSecret`
//! checks the new token with `auth.test`, `finishSecret` makes it `AWSCURRENT`. Every step may
//! be retried, so each one first looks at what is already done.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::secret::{parse_secret, BotToken, Credential, SlackSecret, TOKEN_EXPIRES_AT};
use crate::slack::{ApiBody, RefreshGrant, SlackClient, SlackError};

pub(crate) const AWSCURRENT: &str = "AWSCURRENT";
pub(crate) const AWSPENDING: &str = "AWSPENDING";

/// The secret's keys that rotation reads and writes, beside `SLACK_BOT_TOKEN`.
pub(crate) const REFRESH_TOKEN: &str = "SLACK_REFRESH_TOKEN";
pub(crate) const CLIENT_ID: &str = "SLACK_CLIENT_ID";
pub(crate) const CLIENT_SECRET: &str = "SLACK_CLIENT_SECRET";
/// Who the token belongs to, recorded at each renewal: `testSecret` compares with them when
/// the current token has already expired and `auth.test` can no longer say.
pub(crate) const TEAM_ID: &str = "SLACK_TEAM_ID";
pub(crate) const BOT_USER_ID: &str = "SLACK_BOT_USER_ID";

/// Time kept for storing a new pair: the exchange never starts with less than this left.
const STORE_RESERVE: Duration = Duration::from_secs(4);
/// `PutSecretValue` of a new pair is tried this many times (each with the SDK's own retries).
const STORE_ATTEMPTS: u32 = 4;
const STORE_BACKOFF: Duration = Duration::from_millis(250);
/// The longest token life `oauth.v2.access` is believed: Slack's rotating tokens live 12 hours.
pub(crate) const MAX_TOKEN_LIFE: Duration = Duration::from_secs(7 * 24 * 3600);

/// The four steps of a rotation, named as Secrets Manager names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Step {
    #[serde(rename = "createSecret")]
    Create,
    #[serde(rename = "setSecret")]
    Set,
    #[serde(rename = "testSecret")]
    Test,
    #[serde(rename = "finishSecret")]
    Finish,
}

impl Step {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "createSecret" => Some(Self::Create),
            "setSecret" => Some(Self::Set),
            "testSecret" => Some(Self::Test),
            "finishSecret" => Some(Self::Finish),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Create => "createSecret",
            Self::Set => "setSecret",
            Self::Test => "testSecret",
            Self::Finish => "finishSecret",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One rotation step, as Secrets Manager asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RotationRequest {
    /// The secret's ARN (or name).
    pub secret_id: String,
    /// The new version's id (`ClientRequestToken`); not a credential.
    pub version: String,
    pub step: Step,
}

impl RotationRequest {
    /// `Some` when `event` has the rotation shape (`Step` and `ClientRequestToken`), with the
    /// request or why it cannot be one; `None` for any other event.
    pub(crate) fn detect(event: &[u8]) -> Option<Result<Self, RotationError>> {
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(event) else {
            return None;
        };
        if !fields.contains_key("Step") || !fields.contains_key("ClientRequestToken") {
            return None;
        }
        let text = |key: &str| {
            fields
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| RotationError::BadRequest(format!("{key} is not a string")))
        };
        Some((|| {
            let step = text("Step")?;
            let step = Step::parse(step).ok_or_else(|| {
                RotationError::BadRequest(format!(
                    "Step {:?} is none of createSecret, setSecret, testSecret, finishSecret",
                    step.chars().take(40).collect::<String>()
                ))
            })?;
            Ok(Self {
                secret_id: text("SecretId")?.to_owned(),
                version: text("ClientRequestToken")?.to_owned(),
                step,
            })
        })())
    }
}

/// What a step did, returned to Secrets Manager (which only looks at success or failure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct StepDone {
    pub step: Step,
    pub done: &'static str,
}

/// Why a rotation step failed. Never carries a token, a refresh token or the client secret.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RotationError {
    #[error("rotation request: {0}")]
    BadRequest(String),
    #[error("{step}: rotation is not enabled for secret {secret_id}")]
    NotEnabled { step: Step, secret_id: String },
    #[error("{step}: {version} is not a version of secret {secret_id}")]
    UnknownVersion {
        step: Step,
        secret_id: String,
        version: String,
    },
    #[error(
        "{step}: version {version} of secret {secret_id} is not AWSPENDING (its stages: {stages})"
    )]
    NotPending {
        step: Step,
        secret_id: String,
        version: String,
        stages: String,
    },
    /// A Secrets Manager call failed: the AWS error code and a safe description.
    #[error("{step}: Secrets Manager {operation} on secret {secret_id}: {code}{}", suffix(.detail))]
    Aws {
        step: Step,
        operation: &'static str,
        secret_id: String,
        code: String,
        detail: String,
    },
    /// The secret's value cannot be rotated; `problem` never quotes a credential.
    #[error("{step}: secret {secret_id} {problem}")]
    Secret {
        step: Step,
        secret_id: String,
        problem: String,
    },
    #[error("{step}: {source}")]
    Slack {
        step: Step,
        #[source]
        source: SlackError,
    },
    /// Slack renewed the pair and revoked the refresh token used, but the pair was not stored.
    #[error(
        "createSecret: Slack issued a new token pair, but it was not stored in secret {secret_id} \
         ({problem}). Slack has revoked the refresh token that was used, so the app's tokens must be \
         re-entered: reinstall the Slack app and put its new bot token and refresh token into the secret"
    )]
    PairNotStored { secret_id: String, problem: String },
    /// `oauth.v2.access` got no clear answer: the pair may have been renewed and lost.
    #[error(
        "createSecret: oauth.v2.access got no clear answer ({source}). If Slack renewed the pair \
         anyway, the refresh token in the secret is spent and the next rotation fails with \
         invalid_refresh_token; the app's tokens must then be re-entered"
    )]
    ExchangeUnsure {
        #[source]
        source: SlackError,
    },
    #[error("testSecret: the pending token is bot user {pending_user} of team {pending_team}, but the current one is bot user {current_user} of team {current_team}")]
    OtherIdentity {
        pending_team: String,
        pending_user: String,
        current_team: String,
        current_user: String,
    },
    #[error("{step}: no time left before the invocation's deadline{}", suffix(.detail))]
    Deadline { step: Step, detail: String },
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl RotationError {
    /// A short name for Lambda's `errorType`.
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "RotationRequestInvalid",
            Self::NotEnabled { .. } => "RotationNotEnabled",
            Self::UnknownVersion { .. } | Self::NotPending { .. } => "RotationVersionInvalid",
            Self::Aws { .. } => "SecretsManagerFailed",
            Self::Secret { .. } => "SecretInvalid",
            Self::Slack { source, .. } => source.error_type(),
            Self::PairNotStored { .. } => "RotationTokensLost",
            Self::ExchangeUnsure { .. } => "RotationExchangeUnsure",
            Self::OtherIdentity { .. } => "RotationTokenMismatch",
            Self::Deadline { .. } => "RotationTimeout",
        }
    }
}

/// A secret that can be rotated: app mode, with the refresh token and the app's credentials.
pub(crate) struct RotatingSecret {
    fields: Map<String, Value>,
    pub refresh_token: Credential,
    pub client_id: String,
    pub client_secret: Credential,
}

impl RotatingSecret {
    /// Reads the current value; the problem never quotes a credential.
    pub(crate) fn parse(secret_id: &str, raw: &str) -> Result<Self, String> {
        match parse_secret(secret_id, raw) {
            Ok(SlackSecret::App { .. }) => {}
            Ok(SlackSecret::Webhook { .. }) => {
                return Err("holds a webhook, not a bot token: only an app-mode secret (SLACK_BOT_TOKEN) can be rotated".into())
            }
            Err(e) => return Err(format!("cannot be used: {e}")),
        }
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(raw.trim()) else {
            return Err("is not a JSON object".into());
        };
        let text = |key: &str| -> Result<String, String> {
            match fields.get(key) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                Some(_) => Err(format!("has a {key} that is not a string")),
                None => Err(format!(
                    "has no {key}: token rotation needs {REFRESH_TOKEN}, {CLIENT_ID} and {CLIENT_SECRET} beside the bot token"
                )),
            }
        };
        let refresh_token = text(REFRESH_TOKEN)?;
        if !refresh_token.starts_with("xoxe-") {
            return Err(format!(
                "has a {REFRESH_TOKEN} that is not a refresh token (it must start with xoxe-)"
            ));
        }
        Ok(Self {
            refresh_token: Credential::new(refresh_token),
            client_id: text(CLIENT_ID)?,
            client_secret: Credential::new(text(CLIENT_SECRET)?),
            fields,
        })
    }

    /// The secret as it is, with the pair and expiry from `oauth.v2.access`'s answer, and who
    /// the token belongs to. Every other key is kept.
    pub(crate) fn renewed(&self, answer: &Value, now: SystemTime) -> Result<String, String> {
        let text = |key: &str| {
            answer
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let (Some(access), Some(refresh)) = (text("access_token"), text("refresh_token")) else {
            return Err(
                "oauth.v2.access answered ok without an access_token and a refresh_token".into(),
            );
        };
        crate::secret::redact::register(crate::secret::redact::Kind::Credential, access);
        crate::secret::redact::register(crate::secret::redact::Kind::Credential, refresh);
        let mut fields = self.fields.clone();
        fields.insert("SLACK_BOT_TOKEN".into(), access.into());
        fields.insert(REFRESH_TOKEN.into(), refresh.into());
        match answer.get("expires_in").and_then(Value::as_u64) {
            Some(seconds) => {
                // An absurd life would wrap into the past, and the secret be read on every
                // invocation; Slack's tokens live 12 hours.
                let seconds = seconds.min(MAX_TOKEN_LIFE.as_secs());
                let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
                fields.insert(TOKEN_EXPIRES_AT.into(), now.saturating_add(seconds).into());
            }
            None => {
                fields.remove(TOKEN_EXPIRES_AT);
            }
        }
        if let Some(team) = answer.pointer("/team/id").and_then(Value::as_str) {
            fields.insert(TEAM_ID.into(), team.into());
        }
        if let Some(user) = text("bot_user_id") {
            fields.insert(BOT_USER_ID.into(), user.into());
        }
        Ok(Value::Object(fields).to_string())
    }
}

async fn auth_test(
    slack: &SlackClient,
    token: &BotToken,
    deadline: Instant,
) -> Result<crate::slack::ApiReply, SlackError> {
    slack
        .call("auth.test", token, ApiBody::Form(&[]), deadline)
        .await
}

/// Names the secret's keys and the client id, never a value that is a credential.
impl fmt::Debug for RotatingSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotatingSecret")
            .field("keys", &self.fields.keys().collect::<Vec<_>>())
            .field("refresh_token", &self.refresh_token)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}

/// Whose token it is: the team and the bot user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub team_id: String,
    pub user_id: String,
}

impl Identity {
    /// From `auth.test`'s answer.
    pub(crate) fn from_auth_test(answer: &Value) -> Option<Self> {
        let text = |key: &str| answer.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(Self {
            team_id: text("team_id")?,
            user_id: text("user_id")?,
        })
    }

    /// As the secret recorded it at the last renewal.
    pub(crate) fn recorded(raw: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(raw.trim()).ok()?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        Some(Self {
            team_id: text(TEAM_ID)?,
            user_id: text(BOT_USER_ID)?,
        })
    }
}

/// Where a step stands before it does anything.
enum Standing {
    /// The version is already `AWSCURRENT`: the rotation is done.
    Current,
    /// The version is `AWSPENDING`; every version's stages.
    Pending(HashMap<String, Vec<String>>),
}

/// Runs rotation steps against Secrets Manager and Slack.
pub(crate) struct Rotator {
    secrets: aws_sdk_secretsmanager::Client,
}

impl Rotator {
    pub(crate) fn new(secrets: aws_sdk_secretsmanager::Client) -> Self {
        Self { secrets }
    }

    pub(crate) async fn run(
        &self,
        slack: &SlackClient,
        request: &RotationRequest,
        deadline: Instant,
    ) -> Result<StepDone, RotationError> {
        let RotationRequest {
            secret_id,
            version,
            step,
        } = request;
        tracing::info!(step = step.name(), secret_id = %secret_id, version = %version, "rotation step");
        let done = match self.standing(request, deadline).await? {
            Standing::Current => "the version is already AWSCURRENT; nothing to do",
            Standing::Pending(versions) => match step {
                Step::Create => self.create(slack, request, deadline).await?,
                Step::Set => "nothing to do: Slack issued the token, so it already accepts it",
                Step::Test => self.test(slack, request, deadline).await?,
                Step::Finish => self.finish(request, &versions, deadline).await?,
            },
        };
        tracing::info!(step = step.name(), secret_id = %secret_id, version = %version, "{done}");
        Ok(StepDone { step: *step, done })
    }

    /// As AWS's rotation template does first: rotation is on, the version is the secret's,
    /// and it is `AWSPENDING` (or already `AWSCURRENT`).
    async fn standing(
        &self,
        request: &RotationRequest,
        deadline: Instant,
    ) -> Result<Standing, RotationError> {
        let RotationRequest {
            secret_id,
            version,
            step,
        } = request;
        let described = self
            .aws(
                request,
                "DescribeSecret",
                deadline,
                self.secrets.describe_secret().secret_id(secret_id).send(),
            )
            .await?;
        if described.rotation_enabled() != Some(true) {
            return Err(RotationError::NotEnabled {
                step: *step,
                secret_id: secret_id.clone(),
            });
        }
        let versions = described
            .version_ids_to_stages()
            .cloned()
            .unwrap_or_default();
        let Some(stages) = versions.get(version) else {
            return Err(RotationError::UnknownVersion {
                step: *step,
                secret_id: secret_id.clone(),
                version: version.clone(),
            });
        };
        if stages.iter().any(|s| s == AWSCURRENT) {
            return Ok(Standing::Current);
        }
        if !stages.iter().any(|s| s == AWSPENDING) {
            return Err(RotationError::NotPending {
                step: *step,
                secret_id: secret_id.clone(),
                version: version.clone(),
                stages: if stages.is_empty() {
                    "none".into()
                } else {
                    stages.join(", ")
                },
            });
        }
        Ok(Standing::Pending(versions))
    }

    /// Renews the pair at Slack and stores it as the pending version, unless it holds a value.
    async fn create(
        &self,
        slack: &SlackClient,
        request: &RotationRequest,
        deadline: Instant,
    ) -> Result<&'static str, RotationError> {
        if self.pending(request, deadline).await?.is_some() {
            return Ok("the pending version already holds the new token; nothing to do");
        }
        let current = self.current(request, deadline).await?;
        let rotating = RotatingSecret::parse(&request.secret_id, &current)
            .map_err(|problem| self.invalid(request, problem))?;
        // Once Slack has answered, the old refresh token is gone: keep time to store the pair.
        let exchange_deadline = deadline
            .checked_sub(STORE_RESERVE)
            .filter(|d| *d > Instant::now())
            .ok_or_else(|| RotationError::Deadline {
                step: Step::Create,
                detail:
                    "not enough time to renew the token and store it; nothing was sent to Slack"
                        .into(),
            })?;
        let grant = RefreshGrant {
            refresh_token: &rotating.refresh_token,
            client_id: &rotating.client_id,
            client_secret: &rotating.client_secret,
        };
        let answer = slack
            .refresh_token(&grant, exchange_deadline)
            .await
            .map_err(|source| match source {
                // Slack may have renewed the pair without the answer arriving.
                SlackError::Timeout { .. } | SlackError::Unavailable { .. } => {
                    RotationError::ExchangeUnsure { source }
                }
                SlackError::Transport { source: ref e, .. } if !e.is_connect() => {
                    RotationError::ExchangeUnsure { source }
                }
                SlackError::AnswerUnreadable { .. } => RotationError::ExchangeUnsure { source },
                source => RotationError::Slack {
                    step: Step::Create,
                    source,
                },
            })?;
        tracing::info!(secret_id = %request.secret_id, "Slack issued a new token pair");
        let renewed = rotating
            .renewed(&answer.body, SystemTime::now())
            .map_err(|problem| RotationError::PairNotStored {
                secret_id: request.secret_id.clone(),
                problem,
            })?;
        self.store_pending(request, renewed, deadline).await?;
        Ok("stored the new token pair as AWSPENDING")
    }

    /// `PutSecretValue` of the new pair, tried again and again: it is idempotent under the
    /// version's id, and the pair exists nowhere else.
    async fn store_pending(
        &self,
        request: &RotationRequest,
        value: String,
        deadline: Instant,
    ) -> Result<(), RotationError> {
        let mut problem = String::new();
        for attempt in 1..=STORE_ATTEMPTS {
            let put = self
                .secrets
                .put_secret_value()
                .secret_id(&request.secret_id)
                .client_request_token(&request.version)
                .secret_string(value.clone())
                .version_stages(AWSPENDING)
                .send();
            match tokio::time::timeout_at(deadline.into(), put).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => {
                    let (code, detail) = crate::net::describe_sdk_error(&e);
                    problem = format!("PutSecretValue: {code}{}", suffix(&detail));
                }
                Err(_) => {
                    let late = "PutSecretValue did not finish before the invocation's deadline";
                    problem = if problem.is_empty() {
                        late.into()
                    } else {
                        format!("{problem}; then {late}")
                    };
                    break;
                }
            }
            tracing::warn!(secret_id = %request.secret_id, attempt, error = %problem, "storing the new token pair failed; trying again");
            let wait = STORE_BACKOFF * attempt;
            if attempt == STORE_ATTEMPTS || Instant::now() + wait >= deadline {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        tracing::error!(secret_id = %request.secret_id, error = %problem, "the new token pair was not stored; the app's tokens must be re-entered");
        Err(RotationError::PairNotStored {
            secret_id: request.secret_id.clone(),
            problem,
        })
    }

    /// `auth.test` with the pending token: it works, for the same team and bot user as now.
    async fn test(
        &self,
        slack: &SlackClient,
        request: &RotationRequest,
        deadline: Instant,
    ) -> Result<&'static str, RotationError> {
        let pending = self.pending(request, deadline).await?;
        let current = self.current(request, deadline).await?;
        let old_token = self.bot_token(request, &current, AWSCURRENT)?;
        let slack_error = |source| RotationError::Slack {
            step: Step::Test,
            source,
        };
        // Secrets Manager checks a new schedule by running testSecret alone; createSecret
        // always stores a value before it, so an empty version is that check.
        let Some(pending) = pending else {
            auth_test(slack, &old_token, deadline)
                .await
                .map_err(slack_error)?;
            return Ok("no new token yet (Secrets Manager's setup check): the current token works");
        };
        let new_token = self.bot_token(request, &pending, AWSPENDING)?;
        let pending_answer = auth_test(slack, &new_token, deadline)
            .await
            .map_err(slack_error)?;
        let unreadable = || {
            slack_error(SlackError::Rejected {
                status: 200,
                reason: "auth.test answered without team_id and user_id".into(),
            })
        };
        let pending_identity =
            Identity::from_auth_test(&pending_answer.body).ok_or_else(unreadable)?;
        let current_identity = match auth_test(slack, &old_token, deadline).await {
            Ok(answer) => Identity::from_auth_test(&answer.body).ok_or_else(unreadable)?,
            // An expired current token cannot say whose it is; the last renewal recorded it.
            Err(SlackError::TokenRejected { code, .. }) => Identity::recorded(&current)
                .ok_or_else(|| {
                    self.invalid(
                        request,
                        format!(
                            "has a current token Slack refuses ({code}) and no {TEAM_ID}/{BOT_USER_ID} to compare the new one with"
                        ),
                    )
                })?,
            Err(e) => return Err(slack_error(e)),
        };
        if pending_identity != current_identity {
            return Err(RotationError::OtherIdentity {
                pending_team: pending_identity.team_id,
                pending_user: pending_identity.user_id,
                current_team: current_identity.team_id,
                current_user: current_identity.user_id,
            });
        }
        Ok("the new token works for the same team and bot user")
    }

    /// Moves `AWSCURRENT` to the new version, and takes `AWSPENDING` off it.
    async fn finish(
        &self,
        request: &RotationRequest,
        versions: &HashMap<String, Vec<String>>,
        deadline: Instant,
    ) -> Result<&'static str, RotationError> {
        // Never make current what the notifier could not use.
        let pending = self.pending(request, deadline).await?.ok_or_else(|| {
            self.invalid(
                request,
                format!(
                    "has no value at version {} (AWSPENDING): nothing to make current",
                    request.version
                ),
            )
        })?;
        self.bot_token(request, &pending, AWSPENDING)?;
        let current = versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == AWSCURRENT))
            .map(|(id, _)| id.as_str());
        let mut moving = self
            .secrets
            .update_secret_version_stage()
            .secret_id(&request.secret_id)
            .version_stage(AWSCURRENT)
            .move_to_version_id(&request.version);
        if let Some(current) = current {
            moving = moving.remove_from_version_id(current);
        }
        self.aws(request, "UpdateSecretVersionStage", deadline, moving.send())
            .await?;
        // Both end states are valid for Secrets Manager; without the label, the next rotation
        // sees no rotation in progress.
        let unlabel = self
            .secrets
            .update_secret_version_stage()
            .secret_id(&request.secret_id)
            .version_stage(AWSPENDING)
            .remove_from_version_id(&request.version)
            .send();
        if let Err(e) = self
            .aws(request, "UpdateSecretVersionStage", deadline, unlabel)
            .await
        {
            tracing::warn!(secret_id = %request.secret_id, error = %e, "the new version is AWSCURRENT, but AWSPENDING stays on it");
        }
        Ok("the new token is AWSCURRENT")
    }

    /// The value at `AWSCURRENT`.
    async fn current(
        &self,
        request: &RotationRequest,
        deadline: Instant,
    ) -> Result<String, RotationError> {
        let read = self
            .secrets
            .get_secret_value()
            .secret_id(&request.secret_id)
            .version_stage(AWSCURRENT)
            .send();
        let output = self.aws(request, "GetSecretValue", deadline, read).await?;
        output
            .secret_string()
            .map(str::to_owned)
            .ok_or_else(|| self.invalid(request, "has no SecretString at AWSCURRENT".into()))
    }

    /// The value of the pending version, if it holds one yet.
    async fn pending(
        &self,
        request: &RotationRequest,
        deadline: Instant,
    ) -> Result<Option<String>, RotationError> {
        let read = self
            .secrets
            .get_secret_value()
            .secret_id(&request.secret_id)
            .version_id(&request.version)
            .version_stage(AWSPENDING)
            .send();
        match self.aws(request, "GetSecretValue", deadline, read).await {
            Ok(output) => Ok(output.secret_string().map(str::to_owned)),
            Err(RotationError::Aws { code, .. }) if code == "ResourceNotFoundException" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One Secrets Manager call, bounded by the deadline; its error told safely.
    async fn aws<T, E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        request: &RotationRequest,
        operation: &'static str,
        deadline: Instant,
        call: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<T, RotationError> {
        match tokio::time::timeout_at(deadline.into(), call).await {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(e)) => {
                let (code, detail) = crate::net::describe_sdk_error(&e);
                Err(RotationError::Aws {
                    step: request.step,
                    operation,
                    secret_id: request.secret_id.clone(),
                    code,
                    detail,
                })
            }
            Err(_) => Err(RotationError::Deadline {
                step: request.step,
                detail: format!("Secrets Manager {operation} did not answer"),
            }),
        }
    }

    /// The bot token of the value at `stage`, which must be an app-mode secret.
    fn bot_token(
        &self,
        request: &RotationRequest,
        raw: &str,
        stage: &str,
    ) -> Result<BotToken, RotationError> {
        match parse_secret(&request.secret_id, raw) {
            Ok(SlackSecret::App { token, .. }) => Ok(token),
            Ok(SlackSecret::Webhook { .. }) => Err(self.invalid(
                request,
                format!("holds a webhook at {stage}, not a bot token"),
            )),
            Err(e) => Err(self.invalid(request, format!("cannot be used at {stage}: {e}"))),
        }
    }

    fn invalid(&self, request: &RotationRequest, problem: String) -> RotationError {
        RotationError::Secret {
            step: request.step,
            secret_id: request.secret_id.clone(),
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BOT: &str = "xoxe.xoxb-1-OLDTOKENSECRET";
    const REFRESH: &str = "xoxe-1-OLDREFRESHSECRET";
    const CLIENT_SECRET_VALUE: &str = "CLIENTSECRETVALUE";

    fn secret(extra: Value) -> String {
        let mut value = json!({
            "SLACK_BOT_TOKEN": BOT,
            "SLACK_CHANNEL": "C0ALERTS01",
            "SLACK_REFRESH_TOKEN": REFRESH,
            "SLACK_CLIENT_ID": "1111.2222",
            "SLACK_CLIENT_SECRET": CLIENT_SECRET_VALUE,
            "OTHER": "kept",
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                value.as_object_mut().unwrap().remove(k);
            } else {
                value[k] = v.clone();
            }
        }
        value.to_string()
    }

    #[test]
    fn a_rotation_event_is_told_from_a_notification() {
        let request = RotationRequest::detect(
            br#"{"SecretId":"arn:aws:secretsmanager:eu-west-1:1:secret:s-AbC123","ClientRequestToken":"v-1","Step":"testSecret"}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(request.step, Step::Test);
        assert_eq!(request.version, "v-1");
        assert!(request.secret_id.ends_with("s-AbC123"));
        for other in [
            &br#"{"Records":[]}"#[..],
            br#"{"detail-type":"x","Step":"createSecret"}"#,
            b"not json",
            b"[1]",
        ] {
            assert!(RotationRequest::detect(other).is_none());
        }
    }

    #[test]
    fn a_broken_rotation_event_says_what_is_wrong() {
        let error = |event: &str| {
            RotationRequest::detect(event.as_bytes())
                .unwrap()
                .unwrap_err()
                .to_string()
        };
        assert!(
            error(r#"{"SecretId":"s","ClientRequestToken":"v","Step":"rotateSecret"}"#)
                .contains("Step \"rotateSecret\" is none of createSecret")
        );
        assert_eq!(
            error(r#"{"ClientRequestToken":"v","Step":"createSecret"}"#),
            "rotation request: SecretId is not a string"
        );
        assert_eq!(
            error(r#"{"SecretId":"s","ClientRequestToken":7,"Step":"createSecret"}"#),
            "rotation request: ClientRequestToken is not a string"
        );
    }

    #[test]
    fn only_an_app_secret_with_its_refresh_credentials_rotates() {
        assert!(RotatingSecret::parse("s", &secret(json!({}))).is_ok());
        let problem = |extra: Value| RotatingSecret::parse("s", &secret(extra)).unwrap_err();
        assert!(
            problem(json!({"SLACK_REFRESH_TOKEN": null})).contains("has no SLACK_REFRESH_TOKEN")
        );
        assert!(problem(json!({"SLACK_CLIENT_ID": null})).contains("has no SLACK_CLIENT_ID"));
        assert!(problem(json!({"SLACK_CLIENT_SECRET": 5}))
            .contains("SLACK_CLIENT_SECRET that is not a string"));
        assert!(
            problem(json!({"SLACK_REFRESH_TOKEN": "xoxb-1-NOTAREFRESH"}))
                .contains("must start with xoxe-")
        );
        assert!(problem(json!({"SLACK_BOT_TOKEN": null, "SLACK_HOOK_URL": "https://hooks.slack.com/services/T/B/X"}))
            .contains("holds a webhook"));
        assert!(problem(json!({"SLACK_CHANNEL": null})).contains("SLACK_CHANNEL"));
        for extra in [
            json!({"SLACK_REFRESH_TOKEN": "xoxb-1-NOTAREFRESH"}),
            json!({"SLACK_CLIENT_ID": null}),
        ] {
            let p = problem(extra);
            for secret in [BOT, REFRESH, CLIENT_SECRET_VALUE, "NOTAREFRESH"] {
                assert!(!p.contains(secret), "{p}");
            }
        }
    }

    #[test]
    fn debug_output_names_keys_never_credentials() {
        let rotating = RotatingSecret::parse("s", &secret(json!({}))).unwrap();
        let shown = format!("{rotating:?}");
        assert!(
            shown.contains("SLACK_REFRESH_TOKEN") && shown.contains("1111.2222"),
            "{shown}"
        );
        for secret in [BOT, REFRESH, CLIENT_SECRET_VALUE, "C0ALERTS01"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn the_renewed_secret_has_the_new_pair_its_expiry_and_owner_and_keeps_the_rest() {
        let rotating = RotatingSecret::parse("s", &secret(json!({}))).unwrap();
        let answer = json!({"ok": true, "access_token": "xoxe.xoxb-1-NEW", "refresh_token": "xoxe-1-NEWREFRESH",
            "expires_in": 43200, "token_type": "bot", "team": {"id": "T1", "name": "Acme"}, "bot_user_id": "U1"});
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let renewed: Value =
            serde_json::from_str(&rotating.renewed(&answer, now).unwrap()).unwrap();
        assert_eq!(
            renewed,
            json!({"SLACK_BOT_TOKEN": "xoxe.xoxb-1-NEW", "SLACK_CHANNEL": "C0ALERTS01",
                "SLACK_REFRESH_TOKEN": "xoxe-1-NEWREFRESH", "SLACK_CLIENT_ID": "1111.2222",
                "SLACK_CLIENT_SECRET": CLIENT_SECRET_VALUE, "OTHER": "kept",
                "SLACK_TOKEN_EXPIRES_AT": 1_800_043_200u64, "SLACK_TEAM_ID": "T1", "SLACK_BOT_USER_ID": "U1"})
        );
        assert_eq!(
            Identity::recorded(&renewed.to_string()),
            Some(Identity {
                team_id: "T1".into(),
                user_id: "U1".into()
            })
        );
        // No expiry given: none kept from before.
        let rotating =
            RotatingSecret::parse("s", &secret(json!({"SLACK_TOKEN_EXPIRES_AT": 5}))).unwrap();
        let renewed = rotating
            .renewed(
                &json!({"access_token": "xoxb-2-NEW", "refresh_token": "xoxe-1-R"}),
                now,
            )
            .unwrap();
        assert!(!renewed.contains("SLACK_TOKEN_EXPIRES_AT"), "{renewed}");
        assert!(rotating
            .renewed(&json!({"ok": true, "access_token": "xoxb-2-NEW"}), now)
            .is_err());
        // An absurd life is held to a week, not wrapped into the past.
        let renewed: Value = serde_json::from_str(
            &rotating
                .renewed(
                    &json!({"access_token": "xoxb-2-NEW", "refresh_token": "xoxe-1-R",
                            "expires_in": u64::MAX - 5}),
                    now,
                )
                .unwrap(),
        )
        .unwrap();
        let since = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(
            renewed["SLACK_TOKEN_EXPIRES_AT"].as_u64(),
            Some(since + MAX_TOKEN_LIFE.as_secs())
        );
    }

    #[test]
    fn errors_name_the_step_and_a_lost_pair_says_to_re_enter_the_tokens() {
        let lost = RotationError::PairNotStored {
            secret_id: "slack/app".into(),
            problem: "PutSecretValue: InternalServiceError".into(),
        };
        let text = lost.to_string();
        assert!(
            text.starts_with("createSecret: Slack issued a new token pair"),
            "{text}"
        );
        assert!(
            text.contains("must be re-entered") && text.contains("InternalServiceError"),
            "{text}"
        );
        assert_eq!(lost.error_type(), "RotationTokensLost");
        let slack = RotationError::Slack {
            step: Step::Create,
            source: SlackError::ApiRejected {
                method: "oauth.v2.access",
                code: "invalid_refresh_token".into(),
                detail: String::new(),
            },
        };
        assert_eq!(
            slack.to_string(),
            "createSecret: Slack refused oauth.v2.access: invalid_refresh_token"
        );
    }
}
