//! An alarm's resource tags, for routes that match on them: CloudWatch's
//! `ListTagsForResource` on the alarm's ARN, kept per alarm for a while, since tags change
//! rarely and a storm repeats the same alarms.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::list_tags_for_resource::ListTagsForResourceError;

use crate::net::describe_sdk_error;

/// Tags read are kept this long.
pub(crate) const TAGS_TTL: Duration = Duration::from_secs(15 * 60);
/// One lookup's budget, always cut to the invocation's deadline: the notification waits for it.
pub(crate) const TAGS_TIMEOUT: Duration = Duration::from_secs(2);
/// Alarms whose tags are kept at most; past it, the oldest are read again.
const MAX_CACHED: usize = 10_000;

/// An alarm's tags, by key.
pub(crate) type Tags = BTreeMap<String, String>;

/// Why an alarm's tags could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TagsError {
    /// CloudWatch refused or failed the request: its code and message, never the raw answer.
    #[error("ListTagsForResource failed: {code}: {message}")]
    CloudWatch { code: String, message: String },
    #[error("ListTagsForResource did not answer within {0:?}")]
    Late(Duration),
}

/// Reads alarms' tags with one CloudWatch client, built once per process.
pub(crate) struct TagSource {
    client: aws_sdk_cloudwatch::Client,
    cache: Mutex<HashMap<String, (Instant, Tags)>>,
}

impl TagSource {
    pub(crate) fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self {
            client,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, arn: &str, fresh_only: bool) -> Option<Tags> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let (read, tags) = cache.get(arn)?;
        (!fresh_only || read.elapsed() < TAGS_TTL).then(|| tags.clone())
    }

    /// The tags of the alarm `arn`, read by `deadline`. When CloudWatch fails, the tags last
    /// read for it, however old, so that an OK goes where its ALARM went; else the error.
    pub(crate) async fn tags(&self, arn: &str, deadline: Instant) -> Result<Tags, TagsError> {
        if let Some(tags) = self.cached(arn, true) {
            return Ok(tags);
        }
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .min(TAGS_TIMEOUT);
        let request = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send();
        let read = match tokio::time::timeout(budget, request).await {
            Err(_) => Err(TagsError::Late(budget)),
            Ok(Err(e)) => Err(cloudwatch_error(&e)),
            Ok(Ok(output)) => Ok(output
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect::<Tags>()),
        };
        match read {
            Ok(tags) => {
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                if cache.len() >= MAX_CACHED {
                    cache.retain(|_, (read, _)| read.elapsed() < TAGS_TTL);
                }
                if cache.len() < MAX_CACHED {
                    cache.insert(arn.to_owned(), (Instant::now(), tags.clone()));
                }
                Ok(tags)
            }
            Err(e) => self.cached(arn, false).ok_or(e),
        }
    }
}

fn cloudwatch_error(e: &SdkError<ListTagsForResourceError>) -> TagsError {
    let (code, message) = describe_sdk_error(e);
    TagsError::CloudWatch { code, message }
}
