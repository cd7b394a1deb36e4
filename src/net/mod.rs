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

mod errors;

pub(crate) use errors::{describe_sdk_error, error_chain};

pub(crate) const USER_AGENT: &str = concat!("slack-alarm-notifier/", env!("CARGO_PKG_VERSION"));
/// The most read of any AWS answer. The largest legitimate ones are a metric graph's PNG
/// (tens of KiB) and a DynamoDB item (400 KiB at most); a larger answer is cut off with an
/// error, so that no answer can take the function past its memory.
pub(crate) const MAX_AWS_ANSWER: usize = 4 * 1024 * 1024;
/// `SSL_CERT_FILE` is read up to this size: a bundle of every public CA is about 200 KiB.
pub(crate) const MAX_CA_FILE: u64 = 1024 * 1024;

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
        let pem = read_ca_file(path).map_err(problem)?;
        let certs = CertificateDer::pem_slice_iter(&pem)
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

/// The bytes of a CA file: a regular file (not a device or a pipe, which could hang or never
/// end), of at most [`MAX_CA_FILE`] bytes.
fn read_ca_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_CA_FILE {
        return Err(format!(
            "{} bytes, more than a CA bundle's {MAX_CA_FILE}",
            meta.len()
        ));
    }
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE + 1)
        .read_to_end(&mut pem)
        .map_err(|e| e.to_string())?;
    if pem.len() as u64 > MAX_CA_FILE {
        return Err(format!("more than a CA bundle's {MAX_CA_FILE} bytes"));
    }
    Ok(pem)
}

/// The proxy the environment sends a request for `url` through (`HTTPS_PROXY`, `HTTP_PROXY`
/// or `ALL_PROXY`, less `NO_PROXY`, as reqwest reads them), named without its credentials:
/// `http://proxy.internal:3128 (HTTPS_PROXY)`. `None` when the request goes direct.
pub(crate) fn proxy_for(url: &reqwest::Url) -> Option<String> {
    let env = |names: &[&'static str]| {
        names.iter().find_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (*name, v))
        })
    };
    let scheme_vars: &[&'static str] = if url.scheme() == "https" {
        &["HTTPS_PROXY", "https_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy"]
    };
    let (name, raw) = env(scheme_vars).or_else(|| env(&["ALL_PROXY", "all_proxy"]))?;
    let host = url
        .host_str()?
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    if let Some((_, no_proxy)) = env(&["NO_PROXY", "no_proxy"]) {
        let exempt = no_proxy.split(',').map(str::trim).any(|entry| {
            let entry = entry.trim_start_matches('.').to_ascii_lowercase();
            entry == "*" || host == entry || host.ends_with(&format!(".{entry}"))
        });
        if exempt {
            return None;
        }
    }
    let parsed = reqwest::Url::parse(raw.trim())
        .ok()
        .filter(|u| u.has_host())
        .or_else(|| reqwest::Url::parse(&format!("http://{}", raw.trim())).ok());
    let shown = match parsed {
        Some(p) => format!(
            "{}://{}{}",
            p.scheme(),
            p.host_str().unwrap_or_default(),
            p.port().map(|port| format!(":{port}")).unwrap_or_default()
        ),
        None => "(unparseable)".into(),
    };
    Some(format!("{shown} ({name})"))
}

/// ` (through the proxy …)`, or nothing for a direct request.
pub(crate) fn through(proxy: &Option<String>) -> String {
    proxy
        .as_deref()
        .map(|p| format!(" (through the proxy {p})"))
        .unwrap_or_default()
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
pub(crate) fn slack_client(tls: &rustls::ClientConfig) -> Result<reqwest::Client, HttpSetupError> {
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

/// The SDK retries `io` and `timeout` kinds; the URL is left out of every error, and a
/// connection that failed through a proxy names it.
fn connector_error(e: reqwest::Error, proxy: Option<String>) -> ConnectorError {
    let timeout = e.is_timeout();
    let connect = e.is_connect();
    let e = e.without_url();
    let retried = connect || e.is_request() || e.is_body();
    let e: aws_smithy_runtime_api::box_error::BoxError = match proxy {
        Some(proxy) if connect => Box::new(ViaProxy { source: e, proxy }),
        _ => Box::new(e),
    };
    if timeout {
        ConnectorError::timeout(e)
    } else if retried {
        ConnectorError::io(e)
    } else {
        ConnectorError::other(e, None)
    }
}

/// A connection error through a proxy, which the error names.
#[derive(Debug)]
struct ViaProxy {
    source: reqwest::Error,
    proxy: String,
}

impl std::fmt::Display for ViaProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (through the proxy {})", self.source, self.proxy)
    }
}

impl std::error::Error for ViaProxy {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.source)
    }
}

/// An AWS answer whose `Content-Length` is over [`MAX_AWS_ANSWER`]: not read at all.
#[derive(Debug)]
struct AnswerTooLarge;

impl std::fmt::Display for AnswerTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the answer is larger than {MAX_AWS_ANSWER} bytes")
    }
}

impl std::error::Error for AnswerTooLarge {}

/// Whether `error`, or a cause of it, is an AWS answer over [`MAX_AWS_ANSWER`].
pub(crate) fn is_answer_too_large(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<http_body_util::LengthLimitError>() || e.is::<AnswerTooLarge>() {
            return true;
        }
        next = e.source();
    }
    false
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
            let proxy = proxy_for(request.url());
            let response = client
                .execute(request)
                .await
                .map_err(|e| connector_error(e, proxy))?;
            if response
                .content_length()
                .is_some_and(|n| n > MAX_AWS_ANSWER as u64)
            {
                return Err(ConnectorError::other(Box::new(AnswerTooLarge), None));
            }
            let response: http::Response<reqwest::Body> = response.into();
            let (parts, body) = response.into_parts();
            // A streamed body: the SDK's trace logs print a buffered one, secret value and all.
            // No more than the limit is ever read of it.
            let body = SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_AWS_ANSWER));
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
