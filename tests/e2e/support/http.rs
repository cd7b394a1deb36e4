//! A tiny HTTP/1.1 server for test doubles: each request is read whole, then answered.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Method, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// Serves `handler` on a free loopback port until the test's runtime ends.
pub async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    serve_on(None, handler).await
}

/// As [`serve`], but over TLS with `acceptor`'s certificate.
pub async fn serve_tls<F, Fut>(acceptor: TlsAcceptor, handler: F) -> SocketAddr
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    serve_on(Some(acceptor), handler).await
}

async fn serve_on<F, Fut>(acceptor: Option<TlsAcceptor>, handler: F) -> SocketAddr
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (handler, acceptor) = (handler.clone(), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    None => serve_connection(stream, handler).await,
                    // A client that rejects the certificate ends here, which is its business.
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            serve_connection(stream, handler).await;
                        }
                    }
                }
            });
        }
    });
    addr
}

async fn serve_connection<S, F, Fut>(stream: S, handler: Arc<F>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let handler = handler.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let reply = handler(Request {
                method: parts.method,
                uri: parts.uri,
                headers: parts.headers,
                body,
            })
            .await;
            if !reply.delay.is_zero() {
                tokio::time::sleep(reply.delay).await;
            }
            let mut response = Response::builder().status(reply.status);
            for (k, v) in &reply.headers {
                response = response.header(k, v);
            }
            Ok::<_, Infallible>(
                response
                    .body(Full::new(Bytes::from(reply.body)))
                    .expect("response"),
            )
        }
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// A port that accepts connections and closes them at once (a reset mid-request).
pub async fn closing_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_zero_linger();
            drop(stream);
        }
    });
    addr
}

/// A loopback port with nothing listening.
pub fn refused_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local addr")
}

/// What a [`raw_server`] writes for one request, and whether it hangs up after.
pub struct RawAnswer {
    pub bytes: Vec<u8>,
    pub close: bool,
}

/// A server that writes exact bytes, for answers no well-behaved server would give.
#[derive(Clone)]
pub struct RawServer {
    pub addr: SocketAddr,
    /// The request line of every request received, with the number of its connection.
    requests: Arc<std::sync::Mutex<Vec<(usize, String)>>>,
}

impl RawServer {
    /// The request line of every request received, in order.
    pub fn requests(&self) -> Vec<String> {
        let requests = self.requests.lock().unwrap();
        requests.iter().map(|(_, line)| line.clone()).collect()
    }

    /// How many connections carried the requests.
    pub fn connections(&self) -> usize {
        let requests = self.requests.lock().unwrap();
        let mut connections: Vec<usize> = requests.iter().map(|(c, _)| *c).collect();
        connections.sort_unstable();
        connections.dedup();
        connections.len()
    }
}

/// Answers the `n`th request (from 0) it receives with `answer(n)`, keeping connections alive
/// unless told to close. Request bodies are read by `Content-Length`.
pub async fn raw_server<F>(answer: F) -> RawServer
where
    F: Fn(usize) -> RawAnswer + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let requests: Arc<std::sync::Mutex<Vec<(usize, String)>>> = Arc::default();
    let (seen, answer) = (requests.clone(), Arc::new(answer));
    tokio::spawn(async move {
        let mut connection = 0;
        while let Ok((mut stream, _)) = listener.accept().await {
            let (seen, answer) = (seen.clone(), answer.clone());
            connection += 1;
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(line) = read_request(&mut stream, &mut buf).await {
                    let n = {
                        let mut seen = seen.lock().unwrap();
                        seen.push((connection, line));
                        seen.len() - 1
                    };
                    let RawAnswer { bytes, close } = answer(n);
                    if stream.write_all(&bytes).await.is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    RawServer { addr, requests }
}

/// Reads one request (head, then a `Content-Length` body) off `stream`; its request line.
/// `buf` carries bytes already read past the previous request.
async fn read_request(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 || !read_more(stream, buf).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        if !read_more(stream, buf).await {
            return None;
        }
    }
    buf.drain(..head_end + length);
    Some(head.lines().next().unwrap_or_default().to_owned())
}

async fn read_more(stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}
