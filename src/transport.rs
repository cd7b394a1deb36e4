//! One TLS configuration and one HTTP client implementation for the whole process: the Slack
//! webhook and the AWS SDK both send through [`crate::https`], so root certificates are set up
//! once, and only when the first request needs them.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use crate::http1::Response;
use crate::https::{Client, HttpsError, Target};

/// Longest an SDK request may take when the SDK sets no timeouts of its own. Callers bound
/// their wait further (the secret read by the invocation's deadline).
const SDK_REQUEST_BUDGET: Duration = Duration::from_secs(30);
/// A secret is at most 64 KiB, JSON-escaped in the answer; other AWS answers are smaller.
const SDK_MAX_BODY: usize = 1024 * 1024;

/// The process's TLS configuration, built on first use.
#[derive(Debug, Default)]
pub struct Transport {
    tls: OnceLock<Arc<rustls::ClientConfig>>,
}

/// TLS with the Mozilla root store compiled into the binary: no certificate files are read at
/// start, and Slack's and AWS's public CAs are all there.
fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc-rs supports the default TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth()
}

impl Transport {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The TLS configuration every connection shares; the first call builds it.
    pub fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls.get_or_init(|| Arc::new(tls_config())).clone()
    }

    /// A client for one origin at a time, with this transport's TLS.
    pub fn client(self: &Arc<Self>) -> Client {
        let transport = self.clone();
        Client::new(Arc::new(move || transport.tls()))
    }

    /// An SDK HTTP client that sends through this transport, with a kept-alive connection.
    pub fn sdk_http_client(self: &Arc<Self>) -> SharedHttpClient {
        let connector = SdkConnector {
            transport: self.clone(),
            client: Arc::new(Mutex::new(self.client())),
            budget: SDK_REQUEST_BUDGET,
        };
        http_client_fn(move |settings, _components| {
            let budget = match (settings.connect_timeout(), settings.read_timeout()) {
                (Some(connect), Some(read)) => connect + read,
                _ => SDK_REQUEST_BUDGET,
            };
            SharedHttpConnector::new(SdkConnector {
                budget,
                ..connector.clone()
            })
        })
    }
}

#[derive(Clone)]
struct SdkConnector {
    transport: Arc<Transport>,
    client: Arc<Mutex<Client>>,
    budget: Duration,
}

impl std::fmt::Debug for SdkConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkConnector")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// What the SDK asked for, owned, so it can move to a blocking thread.
struct SdkRequest {
    method: String,
    target: Target,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl SdkRequest {
    fn new(request: &HttpRequest) -> Result<Self, ConnectorError> {
        let user = |message: &str| ConnectorError::user(message.to_owned().into());
        let url =
            url::Url::parse(request.uri()).map_err(|_| user("the request URI is not a URL"))?;
        let target = Target::from_url(&url).ok_or_else(|| user("only http and https URIs"))?;
        // Secrets Manager requests are small JSON documents held in memory.
        let body = request
            .body()
            .bytes()
            .ok_or_else(|| user("streaming request bodies are not supported"))?
            .to_vec();
        let headers = request
            .headers()
            .iter()
            // Written by the client itself, from the URI and the body.
            .filter(|(name, _)| {
                !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length")
            })
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Ok(Self {
            method: request.method().to_owned(),
            target,
            headers,
            body,
        })
    }

    fn send(&self, client: &mut Client, budget: Duration) -> Result<Response, HttpsError> {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        client.request(
            &self.method,
            &self.target,
            &headers,
            &self.body,
            budget,
            SDK_MAX_BODY,
        )
    }
}

/// The SDK retries `io` and `timeout` kinds. Errors carry no URL.
fn connector_error(e: HttpsError) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if matches!(e, HttpsError::Tls(_)) {
        ConnectorError::other(e.into(), None)
    } else {
        ConnectorError::io(e.into())
    }
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let this = self.clone();
        HttpConnectorFuture::new(async move {
            let request = SdkRequest::new(&request)?;
            // Blocking I/O on a helper thread, so the SDK's and our own timeouts keep running.
            let response = tokio::task::spawn_blocking(move || {
                // A request abandoned by a timeout may still hold the kept-alive connection.
                match this.client.try_lock() {
                    Ok(mut client) => request.send(&mut client, this.budget),
                    Err(_) => request.send(&mut this.transport.client(), this.budget),
                }
            })
            .await
            .map_err(|e| ConnectorError::other(e.into(), None))?
            .map_err(connector_error)?;
            let status = StatusCode::try_from(response.status)
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            // A streamed body: the SDK's trace logs print a buffered body, secret value and all.
            let body = http_body_util::Full::new(bytes::Bytes::from(response.body));
            let mut out = HttpResponse::new(status, SdkBody::from_body_1_x(body));
            for (name, value) in response.headers {
                out.headers_mut().append(name, value);
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_configuration_is_built_once_on_first_use() {
        let t = Transport::default();
        assert!(t.tls.get().is_none());
        assert!(Arc::ptr_eq(&t.tls(), &t.tls()));
    }

    #[test]
    fn the_root_store_is_not_empty() {
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        let _ = tls_config();
    }
}
