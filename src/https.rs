//! A blocking HTTP/1.1 client for the webhook: one kept-alive connection, TLS by rustls.
//!
//! A warm post is one `send` and one `recv` on a connection that is already open. Every read
//! and write is bounded by the attempt's deadline, including DNS, connect and the handshake.

use std::io::{self, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::http1::{read_response, write_request, Http1Error, Response};

/// A connection used this recently is taken as still open without a look: servers keep
/// idle connections for many seconds, and a post on one that just closed is retried.
const FRESH: Duration = Duration::from_secs(1);
/// Socket timeouts are reset only when they drift this far from the time left, so a warm
/// post makes no `setsockopt` calls. A read may end this much past the deadline.
const TIMEOUT_TOLERANCE: Duration = Duration::from_millis(100);
pub const USER_AGENT: &str = concat!("slack-alarm-notifier/", env!("CARGO_PKG_VERSION"));

/// Why one request got no response. Never carries the URL's path, where the webhook's
/// secret is.
#[derive(Debug, thiserror::Error)]
pub enum HttpsError {
    #[error("DNS lookup of {host} failed: {source}")]
    Resolve {
        host: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot connect: {0}")]
    Connect(#[source] io::Error),
    #[error("TLS: {0}")]
    Tls(#[source] rustls::Error),
    #[error("{0}")]
    Exchange(#[source] Http1Error),
}

impl HttpsError {
    pub fn is_timeout(&self) -> bool {
        let io = match self {
            Self::Resolve { source, .. } | Self::Connect(source) => source,
            Self::Exchange(Http1Error::Io(source)) => source,
            _ => return false,
        };
        io.kind() == io::ErrorKind::TimedOut
    }
}

/// Where a request goes, worked out once per webhook URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// The `Host` header: the host, and the port when not the scheme's default.
    authority: String,
    /// Path and query.
    path: String,
}

/// The path is the webhook's secret: `Debug` leaves it out.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("tls", &self.tls)
            .field("authority", &self.authority)
            .field("path", &"(redacted)")
            .finish()
    }
}

impl Target {
    /// `None` for schemes other than http and https, or a URL without a host.
    pub fn from_url(url: &url::Url) -> Option<Self> {
        let tls = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let host = url.host_str()?.to_owned();
        let port = url.port_or_known_default()?;
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        Some(Self {
            tls,
            host,
            port,
            authority,
            path,
        })
    }

    fn same_origin(&self, other: &Target) -> bool {
        self.tls == other.tls && self.host == other.host && self.port == other.port
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(s) => s,
            Self::Tls(s) => &s.sock,
        }
    }
}

/// A stream whose every read and write ends by `deadline`.
struct Timed {
    stream: Stream,
    deadline: Instant,
    socket_timeout: Option<Duration>,
}

impl Timed {
    /// Time left, with the socket's timeouts brought within tolerance of it.
    fn bound(&mut self) -> io::Result<()> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
        }
        let drifted = self
            .socket_timeout
            .is_none_or(|t| t.abs_diff(remaining) > TIMEOUT_TOLERANCE);
        if drifted {
            let tcp = self.stream.tcp();
            tcp.set_read_timeout(Some(remaining))?;
            tcp.set_write_timeout(Some(remaining))?;
            self.socket_timeout = Some(remaining);
        }
        Ok(())
    }

    /// Runs `op` until it completes or the deadline passes; a socket timeout that fires
    /// early (within the tolerance) is retried.
    fn io<T>(&mut self, mut op: impl FnMut(&mut Stream) -> io::Result<T>) -> io::Result<T> {
        loop {
            self.bound()?;
            match op(&mut self.stream) {
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    self.socket_timeout = None;
                }
                other => return other,
            }
        }
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io(|s| match s {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        })
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io(|s| match s {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io(|s| match s {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        })
    }
}

struct Connection {
    target: Target,
    io: BufReader<Timed>,
    last_used: Instant,
}

impl Connection {
    /// Still open, with nothing unread: the peer may close an idle connection at any time,
    /// and a frozen Lambda instance notices only when it thaws. One non-blocking peek.
    fn reusable(&self) -> bool {
        if !self.io.buffer().is_empty() {
            return false;
        }
        if self.last_used.elapsed() < FRESH {
            return true;
        }
        let mut byte = 0u8;
        // SAFETY: `fd` is this connection's open socket and `byte` is valid for one byte.
        let peeked = unsafe {
            libc::recv(
                self.io.get_ref().stream.tcp().as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        // -1 with EAGAIN: open and quiet. 0: closed. Data: a TLS alert or stray bytes.
        peeked < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }
}

/// One origin's connection, opened on first use and kept while the peer allows.
pub struct Client {
    tls: Arc<dyn Fn() -> Arc<ClientConfig> + Send + Sync>,
    connection: Option<Connection>,
}

impl Client {
    /// `tls` is called when the first TLS connection needs a configuration.
    pub fn new(tls: Arc<dyn Fn() -> Arc<ClientConfig> + Send + Sync>) -> Self {
        Self {
            tls,
            connection: None,
        }
    }

    /// Sends one request and reads the whole response (a body of at most `max_body` bytes),
    /// all within `budget`. `Host` and `Content-Length` are written here; `headers` are the rest.
    pub fn request(
        &mut self,
        method: &str,
        target: &Target,
        headers: &[(&str, &str)],
        body: &[u8],
        budget: Duration,
        max_body: usize,
    ) -> Result<Response, HttpsError> {
        // A HEAD answer announces a body it does not send; nothing here needs one.
        if method.eq_ignore_ascii_case("HEAD") {
            return Err(HttpsError::Exchange(Http1Error::Malformed(
                "HEAD requests are not supported",
            )));
        }
        let deadline = Instant::now() + budget;
        let reuse = self
            .connection
            .take()
            .filter(|c| c.target.same_origin(target) && c.reusable());
        let mut connection = match reuse {
            Some(c) => c,
            None => self.connect(target, deadline)?,
        };
        connection.io.get_mut().deadline = deadline;
        let io = &mut connection.io;
        let response = write_request(
            io.get_mut(),
            method,
            &target.path,
            &target.authority,
            headers,
            body,
        )
        .map_err(Http1Error::from)
        .and_then(|()| read_final_response(io, max_body))
        .map_err(HttpsError::Exchange)?;
        if !response.closes {
            connection.last_used = Instant::now();
            self.connection = Some(connection);
        }
        Ok(response)
    }

    fn connect(&self, target: &Target, deadline: Instant) -> Result<Connection, HttpsError> {
        let remaining = || deadline.saturating_duration_since(Instant::now());
        let addresses = resolve(&target.host, target.port, remaining()).map_err(|source| {
            HttpsError::Resolve {
                host: target.host.clone(),
                source,
            }
        })?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        let mut tcp = None;
        for address in addresses {
            let left = remaining();
            if left.is_zero() {
                last = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
                break;
            }
            match TcpStream::connect_timeout(&address, left) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let tcp = tcp.ok_or(HttpsError::Connect(last))?;
        // Requests are written whole; don't hold the last segment back.
        tcp.set_nodelay(true).map_err(HttpsError::Connect)?;
        let stream = if target.tls {
            let name = ServerName::try_from(target.host.trim_matches(['[', ']']).to_owned())
                .map_err(|_| {
                    HttpsError::Tls(rustls::Error::General("invalid server name".into()))
                })?;
            let session = ClientConnection::new((self.tls)(), name).map_err(HttpsError::Tls)?;
            Stream::Tls(Box::new(StreamOwned::new(session, tcp)))
        } else {
            Stream::Plain(tcp)
        };
        Ok(Connection {
            target: target.clone(),
            io: BufReader::with_capacity(
                8 * 1024,
                Timed {
                    stream,
                    deadline,
                    socket_timeout: None,
                },
            ),
            last_used: Instant::now(),
        })
    }
}

/// The response after any interim (1xx) ones.
fn read_final_response(
    io: &mut impl std::io::BufRead,
    max_body: usize,
) -> Result<Response, Http1Error> {
    loop {
        let response = read_response(io, max_body)?;
        if !(100..200).contains(&response.status) {
            return Ok(response);
        }
    }
}

/// IP literals directly; names on a helper thread, so a stuck resolver cannot outlast
/// the budget.
fn resolve(host: &str, port: u16, budget: Duration) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let name = format!("{host}:{port}");
    std::thread::Builder::new()
        .name("dns".into())
        .spawn(move || {
            let _ = tx.send(name.to_socket_addrs().map(Vec::from_iter));
        })?;
    rx.recv_timeout(budget)
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "DNS lookup timed out"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::from_url(&url::Url::parse(url).unwrap()).unwrap()
    }

    #[test]
    fn targets_from_urls() {
        let t = target("https://hooks.slack.com/services/T/B/x");
        assert_eq!(
            (
                t.tls,
                t.host.as_str(),
                t.port,
                t.authority.as_str(),
                t.path.as_str()
            ),
            (
                true,
                "hooks.slack.com",
                443,
                "hooks.slack.com",
                "/services/T/B/x"
            )
        );
        let t = target("http://127.0.0.1:9000/a/b?c=d");
        assert_eq!(
            (t.tls, t.port, t.authority.as_str(), t.path.as_str()),
            (false, 9000, "127.0.0.1:9000", "/a/b?c=d")
        );
        let t = target("http://[::1]:81/");
        assert_eq!(
            (t.host.as_str(), t.authority.as_str()),
            ("[::1]", "[::1]:81")
        );
        assert!(Target::from_url(&url::Url::parse("ftp://h/x").unwrap()).is_none());
        let debug = format!(
            "{:?}",
            target("https://hooks.slack.com/services/T/B/SECRETPART")
        );
        assert!(
            !debug.contains("SECRETPART") && debug.contains("hooks.slack.com"),
            "{debug}"
        );
    }

    #[test]
    fn head_requests_are_refused_before_connecting() {
        let mut client = client_with(tls_pair().0);
        let t = target("http://127.0.0.1:9/x");
        let err = client
            .request("HEAD", &t, &[], b"", Duration::from_secs(1), 64)
            .unwrap_err();
        assert!(err.to_string().contains("HEAD"), "{err}");
    }

    #[test]
    fn interim_responses_are_skipped() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let r = read_final_response(&mut &raw[..], 64).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
    }

    #[test]
    fn resolving_ip_literals_needs_no_lookup() {
        assert_eq!(
            resolve("[::1]", 5, Duration::ZERO).unwrap(),
            vec!["[::1]:5".parse().unwrap()]
        );
        assert_eq!(
            resolve("127.0.0.1", 5, Duration::ZERO).unwrap(),
            vec!["127.0.0.1:5".parse().unwrap()]
        );
    }

    /// A loopback HTTP/1.1 server: answers `ok` to each request, closing after `per_connection`
    /// responses; with `tls`, behind the given certificate. Records (connection, path, body).
    struct TestServer {
        port: u16,
        seen: Seen,
    }

    /// (connection number, path, body) of every request.
    type Seen = Arc<std::sync::Mutex<Vec<(usize, String, Vec<u8>)>>>;

    fn serve_requests(
        stream: &mut (impl Read + Write),
        connection: usize,
        per_connection: usize,
        seen: &std::sync::Mutex<Vec<(usize, String, Vec<u8>)>>,
    ) {
        let mut reader = BufReader::new(stream);
        for _ in 0..per_connection {
            let mut head = Vec::new();
            loop {
                let mut line = Vec::new();
                if std::io::BufRead::read_until(&mut reader, b'\n', &mut line).unwrap_or(0) == 0 {
                    return;
                }
                head.extend_from_slice(&line);
                if line == b"\r\n" {
                    break;
                }
            }
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut request = httparse::Request::new(&mut headers);
            request.parse(&head).unwrap();
            let length: usize = request
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock()
                .unwrap()
                .push((connection, request.path.unwrap().to_owned(), body));
            let out = reader.get_mut();
            out.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
            )
            .unwrap();
            out.flush().unwrap();
        }
    }

    impl TestServer {
        fn start(tls: Option<Arc<rustls::ServerConfig>>, per_connection: usize) -> Self {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let seen: Seen = Arc::default();
            let record = seen.clone();
            std::thread::spawn(move || {
                for (n, tcp) in listener.incoming().enumerate() {
                    let Ok(tcp) = tcp else { return };
                    let (record, tls) = (record.clone(), tls.clone());
                    std::thread::spawn(move || match tls {
                        Some(config) => {
                            let session = rustls::ServerConnection::new(config).unwrap();
                            let mut stream = StreamOwned::new(session, tcp);
                            serve_requests(&mut stream, n, per_connection, &record);
                            stream.conn.send_close_notify();
                            let _ = stream.flush();
                        }
                        None => {
                            let mut tcp = tcp;
                            serve_requests(&mut tcp, n, per_connection, &record);
                        }
                    });
                }
            });
            Self { port, seen }
        }
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::aws_lc_rs::default_provider())
    }

    /// A self-signed certificate for `localhost`, and client and server configurations
    /// built from it.
    fn tls_pair() -> (Arc<ClientConfig>, Arc<rustls::ServerConfig>) {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = certified.cert.der().clone();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let client = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        (Arc::new(client), Arc::new(server))
    }

    fn client_with(tls: Arc<ClientConfig>) -> Client {
        Client::new(Arc::new(move || tls.clone()))
    }

    fn post(
        client: &mut Client,
        t: &Target,
        body: &[u8],
        budget: Duration,
    ) -> Result<Response, HttpsError> {
        client.request(
            "POST",
            t,
            &[("Content-Type", "application/json")],
            body,
            budget,
            1024,
        )
    }

    #[test]
    fn posts_over_tls_reuse_one_connection() {
        let (client_tls, server_tls) = tls_pair();
        let server = TestServer::start(Some(server_tls), 10);
        let mut client = client_with(client_tls);
        let t = target(&format!(
            "https://localhost:{}/services/T/B/secret",
            server.port
        ));
        for body in [&b"{\"text\":\"one\"}"[..], b"{\"text\":\"two\"}"] {
            let r = post(&mut client, &t, body, Duration::from_secs(5)).unwrap();
            assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
        }
        let seen = server.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2);
        assert!(
            seen.iter()
                .all(|(conn, path, _)| *conn == 0 && path == "/services/T/B/secret"),
            "{seen:?}"
        );
        assert_eq!(seen[1].2, b"{\"text\":\"two\"}");
    }

    #[test]
    fn an_untrusted_certificate_fails_without_naming_the_path() {
        let (_, server_tls) = tls_pair();
        let server = TestServer::start(Some(server_tls), 1);
        // The production roots: the test certificate is not among them.
        let mut client = client_with(Arc::new(
            crate::transport::Transport::new().tls().as_ref().clone(),
        ));
        let t = target(&format!(
            "https://localhost:{}/services/T/B/secret",
            server.port
        ));
        let err = post(&mut client, &t, b"{}", Duration::from_secs(5)).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("UnknownIssuer") || text.contains("invalid peer certificate"),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");
        assert!(server.seen.lock().unwrap().is_empty());
    }

    #[test]
    fn a_connection_the_server_closed_is_not_reused() {
        // One response per connection, without `Connection: close`, as an idle timeout would.
        let server = TestServer::start(None, 1);
        let mut client = client_with(tls_pair().0);
        let t = target(&format!("http://127.0.0.1:{}/x", server.port));
        for _ in 0..3 {
            let r = post(&mut client, &t, b"{}", Duration::from_secs(5)).unwrap();
            assert_eq!(r.status, 200);
            // Past `FRESH`, so the client looks before reusing.
            std::thread::sleep(FRESH + Duration::from_millis(50));
        }
        let connections: Vec<usize> = server.seen.lock().unwrap().iter().map(|s| s.0).collect();
        assert_eq!(connections, vec![0, 1, 2]);
    }

    #[test]
    fn a_silent_server_times_out_within_the_budget() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut client = client_with(tls_pair().0);
        let t = target(&format!("http://127.0.0.1:{port}/x"));
        let started = Instant::now();
        let err = post(&mut client, &t, b"{}", Duration::from_millis(300)).unwrap_err();
        let took = started.elapsed();
        assert!(err.is_timeout(), "{err:?}");
        assert!(
            took >= Duration::from_millis(300)
                && took < Duration::from_millis(300) + TIMEOUT_TOLERANCE * 3,
            "{took:?}"
        );
        drop(listener);
    }
}
