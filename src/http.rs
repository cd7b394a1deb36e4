//! One HTTP stack for the process: reqwest over rustls, shared by the Slack client and the
//! AWS SDK, so proxies, trusted roots and the TLS library are the same for both.
//!
//! Trust is Mozilla's root store compiled in, plus the certificates in `SSL_CERT_FILE` when it
//! is set; the system store is never read, so a cold start parses no certificate files.
//! `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are honoured by reqwest itself.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

pub const USER_AGENT: &str = concat!("slack-alarm-notifier/", env!("CARGO_PKG_VERSION"));

/// Why the HTTP clients could not be built. Raised at start, never per request.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    /// `SSL_CERT_FILE` names a file that cannot be read or holds no usable certificate.
    #[error("SSL_CERT_FILE: {path}: {problem}")]
    CaFile { path: PathBuf, problem: String },
    /// reqwest refused the configuration (should not happen with the settings used here).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// The TLS settings every connection shares: built-in roots plus `extra_ca_file`'s.
pub fn tls_config(extra_ca_file: Option<&Path>) -> Result<rustls::ClientConfig, HttpSetupError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca_file {
        let problem = |problem: String| HttpSetupError::CaFile {
            path: path.to_owned(),
            problem,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| problem(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| problem(e.to_string()))?;
        if certs.is_empty() {
            return Err(problem("no PEM certificate in the file".into()));
        }
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(problem("no certificate in the file could be used".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A client builder with the shared TLS settings: HTTP/1.1, no redirects, the env proxies.
fn builder(tls: &rustls::ClientConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls.clone())
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .http1_only()
}

/// The client for Slack. Each request sets its own timeout from the invocation's deadline.
pub fn slack_client(tls: &rustls::ClientConfig) -> Result<reqwest::Client, HttpSetupError> {
    builder(tls).build().map_err(HttpSetupError::Client)
}

/// An HTTP client for the AWS SDK that sends through reqwest with the shared TLS settings.
/// The SDK's connect and read timeouts become the reqwest client's.
pub fn sdk_http_client(tls: rustls::ClientConfig) -> SharedHttpClient {
    SharedHttpClient::new(SdkHttpClient {
        tls,
        connectors: Mutex::new(Vec::new()),
    })
}

/// Timeouts a connector was built for: connect, read.
type TimeoutKey = (Option<Duration>, Option<Duration>);

/// The SDK asks for a connector on every attempt; one is built per set of timeouts, so
/// attempts share a connection pool.
struct SdkHttpClient {
    tls: rustls::ClientConfig,
    connectors: Mutex<Vec<(TimeoutKey, SharedHttpConnector)>>,
}

impl std::fmt::Debug for SdkHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkHttpClient").finish_non_exhaustive()
    }
}

impl HttpClient for SdkHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, connector)) = connectors.iter().find(|(k, _)| *k == key) {
            return connector.clone();
        }
        let mut b = builder(&self.tls);
        if let Some(t) = key.0 {
            b = b.connect_timeout(t);
        }
        if let Some(t) = key.1 {
            b = b.read_timeout(t);
        }
        let connector = SharedHttpConnector::new(SdkConnector {
            client: b.build().map_err(|e| e.without_url()),
        });
        connectors.push((key, connector.clone()));
        connector
    }
}

struct SdkConnector {
    /// An error here is reported on each request, where the SDK can surface it.
    client: Result<reqwest::Client, reqwest::Error>,
}

impl std::fmt::Debug for SdkConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkConnector").finish_non_exhaustive()
    }
}

/// The SDK retries `io` and `timeout` kinds; the URL is left out of every error.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    let timeout = e.is_timeout();
    let connect = e.is_connect();
    let e = e.without_url();
    if timeout {
        ConnectorError::timeout(e.into())
    } else if connect || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = match &self.client {
            Ok(c) => c.clone(),
            Err(e) => {
                let message = e.to_string();
                return HttpConnectorFuture::ready(Err(ConnectorError::user(message.into())));
            }
        };
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?;
            let (parts, body) = request.into_parts();
            // Secrets Manager requests are small JSON documents held in memory.
            let body = body
                .bytes()
                .ok_or_else(|| {
                    ConnectorError::user("streaming request bodies are not supported".into())
                })?
                .to_vec();
            let request = reqwest::Request::try_from(http::Request::from_parts(parts, body))
                .map_err(|e| ConnectorError::user(e.without_url().into()))?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let response: http::Response<reqwest::Body> = response.into();
            let (parts, body) = response.into_parts();
            // A streamed body: the SDK's trace logs print a buffered one, secret value and all.
            let body = SdkBody::from_body_1_x(body);
            let response = http::Response::from_parts(parts, body);
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, contents: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("http-tests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn an_extra_ca_file_is_added_to_the_built_in_roots() {
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).unwrap();
        let path = temp_file("ca.pem", &ca.cert.pem());
        assert!(tls_config(Some(&path)).is_ok());
        assert!(tls_config(None).is_ok());
    }

    #[test]
    fn an_unusable_ca_file_is_an_error_naming_the_variable() {
        let missing = PathBuf::from("/nonexistent/ca.pem");
        let empty = temp_file("empty.pem", "no certificate here\n");
        for path in [missing, empty] {
            let err = tls_config(Some(&path)).unwrap_err().to_string();
            assert!(
                err.starts_with("SSL_CERT_FILE: ") && err.contains(&path.display().to_string()),
                "{err}"
            );
        }
    }
}
