//! One TLS configuration for the whole process: the webhook client (`https`) and the AWS
//! SDK's HTTP client share it, so root certificates are set up once, and only when the first
//! request needs them.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// The process's TLS configuration and the SDK's HTTP client, each built on first use.
#[derive(Debug, Default)]
pub struct Transport {
    tls: OnceLock<Arc<rustls::ClientConfig>>,
    client: OnceLock<reqwest::Client>,
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

    /// With a given TLS configuration, e.g. one that trusts a test certificate.
    pub fn with_tls(tls: rustls::ClientConfig) -> Arc<Self> {
        let transport = Self::default();
        let _ = transport.tls.set(Arc::new(tls));
        Arc::new(transport)
    }

    /// The TLS configuration every connection shares; the first call builds it.
    pub fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.tls.get_or_init(|| Arc::new(tls_config())).clone()
    }

    /// The SDK's client; the first call builds it.
    pub fn client(&self) -> Result<&reqwest::Client, reqwest::Error> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .use_preconfigured_tls((*self.tls()).clone())
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(self.client.get_or_init(|| client))
    }

    /// An SDK HTTP client that sends through this transport.
    pub fn sdk_http_client(self: &Arc<Self>) -> SharedHttpClient {
        let transport = self.clone();
        http_client_fn(move |_settings, _components| {
            SharedHttpConnector::new(SdkConnector(transport.clone()))
        })
    }
}

#[derive(Debug, Clone)]
struct SdkConnector(Arc<Transport>);

/// SDK errors must not carry a URL either; the SDK retries `io` and `timeout` kinds.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    let e = e.without_url();
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let transport = self.0.clone();
        HttpConnectorFuture::new(async move {
            let client = transport.client().map_err(connector_error)?;
            let method = reqwest::Method::from_bytes(request.method().as_bytes())
                .map_err(|e| ConnectorError::user(e.into()))?;
            // Secrets Manager requests are small JSON documents held in memory.
            let body = request
                .body()
                .bytes()
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            let mut builder = client.request(method, request.uri());
            for (name, value) in request.headers() {
                builder = builder.header(name, value);
            }
            let response = builder.body(body).send().await.map_err(connector_error)?;
            let (parts, body) = http::Response::from(response).into_parts();
            let status = StatusCode::try_from(parts.status.as_u16())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            // A streamed body: the SDK's trace logs print a buffered body, secret value and all.
            let mut out = HttpResponse::new(status, SdkBody::from_body_1_x(body));
            for (name, value) in &parts.headers {
                if let Ok(value) = value.to_str() {
                    out.headers_mut()
                        .append(name.as_str().to_owned(), value.to_owned());
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_built_once_on_first_use() {
        let t = Transport::default();
        assert!(t.client.get().is_none());
        let a = t.client().unwrap() as *const _;
        let b = t.client().unwrap() as *const _;
        assert_eq!(a, b);
    }

    #[test]
    fn the_root_store_is_not_empty() {
        assert!(webpki_roots::TLS_SERVER_ROOTS.len() > 100);
        let _ = tls_config();
    }
}
