//! The Lambda Runtime API client: one keep-alive loopback connection, blocking reads.
//!
//! Between invocations the function only waits for the next event, so a blocking socket is
//! all it needs; the async runtime is entered only to handle an event.

use std::io::{self, BufReader};
use std::net::TcpStream;

use crate::http1::{read_response, write_request, Http1Error, Response};

const API_VERSION: &str = "2018-06-01";
/// Lambda's own limit on an event is 6 MB; anything far beyond is not an event.
const MAX_EVENT: usize = 16 * 1024 * 1024;
const MAX_REPLY: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    #[error("AWS_LAMBDA_RUNTIME_API {0:?} is not host:port")]
    BadAddress(String),
    #[error("cannot reach the Runtime API at {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: io::Error,
    },
    #[error("Runtime API {what}: {source}")]
    Exchange {
        what: &'static str,
        #[source]
        source: Http1Error,
    },
    #[error("Runtime API {what} answered {status}: {body}")]
    Status {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("Runtime API event without a usable {0} header")]
    MissingHeader(&'static str),
}

/// One event handed out by `GET /runtime/invocation/next`.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    /// Epoch milliseconds.
    pub deadline_ms: u64,
    pub trace_id: Option<String>,
    pub event: Vec<u8>,
}

pub struct RuntimeApi {
    address: String,
    prefix: String,
    connection: Option<BufReader<TcpStream>>,
}

impl RuntimeApi {
    /// `address` as Lambda sets `AWS_LAMBDA_RUNTIME_API`: `host:port`, with or without
    /// `http://` and a path prefix (as local emulators give it).
    pub fn new(address: &str) -> Result<Self, RuntimeApiError> {
        let bare = address.strip_prefix("http://").unwrap_or(address);
        let (authority, path) = bare.split_once('/').unwrap_or((bare, ""));
        let valid = authority
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !valid || path.contains(char::is_whitespace) {
            return Err(RuntimeApiError::BadAddress(address.to_owned()));
        }
        let path = path.trim_end_matches('/');
        let prefix = if path.is_empty() {
            format!("/{API_VERSION}/runtime")
        } else {
            format!("/{path}/{API_VERSION}/runtime")
        };
        Ok(Self {
            address: authority.to_owned(),
            prefix,
            connection: None,
        })
    }

    /// Waits for the next event.
    pub fn next_invocation(&mut self) -> Result<Invocation, RuntimeApiError> {
        const WHAT: &str = "next invocation";
        let target = format!("{}/invocation/next", self.prefix);
        let response = self.exchange(WHAT, "GET", &target, &[], b"", MAX_EVENT)?;
        if response.status != 200 {
            return Err(status_error(WHAT, &response));
        }
        let request_id = response
            .header("lambda-runtime-aws-request-id")
            .filter(|id| is_path_safe(id))
            .ok_or(RuntimeApiError::MissingHeader(
                "Lambda-Runtime-Aws-Request-Id",
            ))?
            .to_owned();
        let deadline_ms = response
            .header("lambda-runtime-deadline-ms")
            .and_then(|d| d.parse().ok())
            .ok_or(RuntimeApiError::MissingHeader("Lambda-Runtime-Deadline-Ms"))?;
        let trace_id = response
            .header("lambda-runtime-trace-id")
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        Ok(Invocation {
            request_id,
            deadline_ms,
            trace_id,
            event: response.body,
        })
    }

    /// Reports the result of an invocation.
    pub fn respond(&mut self, request_id: &str, body: &[u8]) -> Result<(), RuntimeApiError> {
        let target = format!("{}/invocation/{request_id}/response", self.prefix);
        let headers = [("Content-Type", "application/json")];
        self.post("invocation response", &target, &headers, body)
    }

    /// Reports a failed invocation; Lambda retries and routes it from here.
    pub fn fail(
        &mut self,
        request_id: &str,
        error_type: &str,
        message: &str,
    ) -> Result<(), RuntimeApiError> {
        let target = format!("{}/invocation/{request_id}/error", self.prefix);
        self.post_error("invocation error", &target, error_type, message)
    }

    /// Reports that the function cannot start.
    pub fn init_failed(&mut self, error_type: &str, message: &str) -> Result<(), RuntimeApiError> {
        let target = format!("{}/init/error", self.prefix);
        self.post_error("init error", &target, error_type, message)
    }

    fn post_error(
        &mut self,
        what: &'static str,
        target: &str,
        error_type: &str,
        message: &str,
    ) -> Result<(), RuntimeApiError> {
        let body = serde_json::to_vec(&serde_json::json!({
            "errorType": error_type,
            "errorMessage": message,
        }))
        .unwrap_or_default();
        // A header value must be one line of visible ASCII.
        let header_type: String = error_type
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .collect();
        let headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Function-Error-Type", header_type.as_str()),
        ];
        self.post(what, target, &headers, &body)
    }

    fn post(
        &mut self,
        what: &'static str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), RuntimeApiError> {
        let response = self.exchange(what, "POST", target, headers, body, MAX_REPLY)?;
        if !(200..300).contains(&response.status) {
            return Err(status_error(what, &response));
        }
        Ok(())
    }

    /// One request and its response. A kept-alive connection the server has since closed is
    /// replaced once, when nothing of the response had arrived.
    fn exchange(
        &mut self,
        what: &'static str,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        max_body: usize,
    ) -> Result<Response, RuntimeApiError> {
        let reused = self.connection.is_some();
        match self.exchange_once(method, target, headers, body, max_body) {
            Err(e) if reused && is_stale_connection(&e) => {
                self.connection = None;
                self.exchange_once(method, target, headers, body, max_body)
            }
            other => other,
        }
        .map_err(|e| {
            self.connection = None;
            match e {
                ExchangeError::Connect(source) => RuntimeApiError::Connect {
                    address: self.address.clone(),
                    source,
                },
                ExchangeError::Http(source) => RuntimeApiError::Exchange { what, source },
            }
        })
    }

    fn exchange_once(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        max_body: usize,
    ) -> Result<Response, ExchangeError> {
        let connection = match &mut self.connection {
            Some(c) => c,
            None => {
                let stream = TcpStream::connect(&self.address).map_err(ExchangeError::Connect)?;
                // Requests are written whole; don't hold the last segment back.
                stream.set_nodelay(true).map_err(ExchangeError::Connect)?;
                self.connection
                    .insert(BufReader::with_capacity(16 * 1024, stream))
            }
        };
        write_request(
            connection.get_mut(),
            method,
            target,
            &self.address,
            headers,
            body,
        )
        .map_err(|e| ExchangeError::Http(e.into()))?;
        let response = read_response(connection, max_body).map_err(ExchangeError::Http)?;
        if response.closes {
            self.connection = None;
        }
        Ok(response)
    }
}

enum ExchangeError {
    Connect(io::Error),
    Http(Http1Error),
}

fn is_stale_connection(e: &ExchangeError) -> bool {
    match e {
        ExchangeError::Http(Http1Error::ClosedBeforeResponse) => true,
        ExchangeError::Http(Http1Error::Io(io)) => matches!(
            io.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
        ),
        _ => false,
    }
}

fn status_error(what: &'static str, response: &Response) -> RuntimeApiError {
    let mut body = String::from_utf8_lossy(&response.body).into_owned();
    if body.len() > 512 {
        let mut cut = 512;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    RuntimeApiError::Status {
        what,
        status: response.status,
        body,
    }
}

/// Request ids go into a URL path: only the characters a UUID-like id has.
fn is_path_safe(id: &str) -> bool {
    id.bytes().any(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_lambda_and_emulators_give_them() {
        let api = RuntimeApi::new("127.0.0.1:9001").unwrap();
        assert_eq!(
            (api.address.as_str(), api.prefix.as_str()),
            ("127.0.0.1:9001", "/2018-06-01/runtime")
        );
        let api = RuntimeApi::new("http://127.0.0.1:9000/.rt/").unwrap();
        assert_eq!(
            (api.address.as_str(), api.prefix.as_str()),
            ("127.0.0.1:9000", "/.rt/2018-06-01/runtime")
        );
        for bad in ["", "localhost", ":9001", "host:port", "h:99999", "h:1/a b"] {
            assert!(
                matches!(RuntimeApi::new(bad), Err(RuntimeApiError::BadAddress(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn request_ids_that_would_bend_the_url_are_refused() {
        assert!(is_path_safe("8476a536-e9f4-11e8-9739-2dfe598c3fcd"));
        for bad in ["", "..", "a/b", "a b", "a?b", "a%2f", "../x", "a\r\nb"] {
            assert!(!is_path_safe(bad), "{bad:?}");
        }
    }

    /// A Runtime API stand-in that answers each connection's first request with the next
    /// canned reply, then closes the connection without saying so. Returns its address and
    /// the requests it saw (request line and body).
    fn one_request_per_connection(
        replies: Vec<&'static str>,
    ) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use std::io::{BufRead, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for (tcp, reply) in listener.incoming().zip(replies) {
                let mut reader = BufReader::new(tcp.unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                record.lock().unwrap().push(format!(
                    "{}{}",
                    request_line.trim_end(),
                    String::from_utf8(body).unwrap()
                ));
                reader.get_mut().write_all(reply.as_bytes()).unwrap();
            }
        });
        (address, seen)
    }

    #[test]
    fn an_event_then_its_result_over_a_connection_the_server_dropped() {
        let (address, seen) = one_request_per_connection(vec![
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-1\r\nLambda-Runtime-Deadline-Ms: 1700000000000\r\nLambda-Runtime-Trace-Id: Root=1-a\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        ]);
        let mut api = RuntimeApi::new(&address).unwrap();
        let invocation = api.next_invocation().unwrap();
        assert_eq!(invocation.request_id, "r-1");
        assert_eq!(invocation.deadline_ms, 1_700_000_000_000);
        assert_eq!(invocation.trace_id.as_deref(), Some("Root=1-a"));
        assert_eq!(invocation.event, b"{}");
        // The kept-alive connection is gone: the result goes over a new one.
        api.respond("r-1", b"{\"delivered\":1}").unwrap();
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                "GET /2018-06-01/runtime/invocation/next HTTP/1.1".to_owned(),
                "POST /2018-06-01/runtime/invocation/r-1/response HTTP/1.1{\"delivered\":1}"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn unusable_answers_are_errors() {
        let (address, _) = one_request_per_connection(vec![
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Deadline-Ms: 1\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: ../x\r\nLambda-Runtime-Deadline-Ms: 1\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops",
            "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\n\r\ntoo long",
        ]);
        let mut api = RuntimeApi::new(&address).unwrap();
        assert!(matches!(
            api.next_invocation(),
            Err(RuntimeApiError::MissingHeader(
                "Lambda-Runtime-Aws-Request-Id"
            ))
        ));
        assert!(matches!(
            api.next_invocation(),
            Err(RuntimeApiError::MissingHeader(
                "Lambda-Runtime-Aws-Request-Id"
            ))
        ));
        let err = api.next_invocation().unwrap_err();
        assert_eq!(
            err.to_string(),
            "Runtime API next invocation answered 500: oops"
        );
        let err = api.respond("r-2", b"{}").unwrap_err();
        assert!(
            matches!(err, RuntimeApiError::Status { status: 413, .. }),
            "{err}"
        );
    }
}
