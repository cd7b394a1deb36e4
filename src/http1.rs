//! A small HTTP/1.1 client codec: one request written whole, one response read whole.
//!
//! Generic over `Read`/`Write`, so it runs on a socket in production and on byte slices in
//! tests. It understands what the Lambda Runtime API sends: a status line, headers, and a
//! body framed by `Content-Length`, `chunked`, or the end of the connection.

use std::io::{self, BufRead, Read, Write};

/// Longest head (status line and headers) accepted.
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum Http1Error {
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The peer closed the connection before sending a byte of the response.
    #[error("the connection closed before a response")]
    ClosedBeforeResponse,
    #[error("malformed HTTP response: {0}")]
    Malformed(&'static str),
    #[error("response body of {0} bytes is over the {1}-byte limit")]
    TooLarge(u64, usize),
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The peer will close the connection (or has): it must not be reused.
    pub closes: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Writes a request with a `Content-Length` body in one `write_all`.
pub fn write_request(
    out: &mut impl Write,
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(160 + target.len() + body.len());
    write!(buf, "{method} {target} HTTP/1.1\r\nHost: {host}\r\n")?;
    for (name, value) in headers {
        write!(buf, "{name}: {value}\r\n")?;
    }
    if method != "GET" || !body.is_empty() {
        write!(buf, "Content-Length: {}\r\n", body.len())?;
    }
    buf.extend_from_slice(b"\r\n");
    buf.extend_from_slice(body);
    out.write_all(&buf)?;
    out.flush()
}

/// Reads one response. `max_body` bounds the body, whatever the peer announces.
pub fn read_response(input: &mut impl BufRead, max_body: usize) -> Result<Response, Http1Error> {
    let head = read_head(input)?;
    let mut header_slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut header_slots);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(Http1Error::Malformed("incomplete head")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Http1Error::Malformed("too many headers"))
        }
        Err(_) => return Err(Http1Error::Malformed("unparseable head")),
    }
    let status = parsed.code.ok_or(Http1Error::Malformed("no status"))?;
    let mut headers = Vec::with_capacity(parsed.headers.len());
    for h in parsed.headers.iter() {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| Http1Error::Malformed("a header value is not UTF-8"))?;
        headers.push((h.name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut response = Response {
        status,
        closes: parsed.version == Some(0),
        headers,
        body: Vec::new(),
    };
    if let Some(connection) = response.header("connection") {
        if connection.eq_ignore_ascii_case("close") {
            response.closes = true;
        }
    }
    // 1xx, 204 and 304 have no body.
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(response);
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        response.body = read_chunked(input, max_body)?;
    } else if let Some(length) = response.header("content-length") {
        let length: u64 = length
            .parse()
            .map_err(|_| Http1Error::Malformed("bad Content-Length"))?;
        if length > max_body as u64 {
            return Err(Http1Error::TooLarge(length, max_body));
        }
        let mut body = vec![0; length as usize];
        input.read_exact(&mut body)?;
        response.body = body;
    } else {
        // Framed by the end of the connection.
        let mut body = Vec::new();
        let read = input.take(max_body as u64 + 1).read_to_end(&mut body)?;
        if read > max_body {
            return Err(Http1Error::TooLarge(read as u64, max_body));
        }
        response.body = body;
        response.closes = true;
    }
    Ok(response)
}

fn read_head(input: &mut impl BufRead) -> Result<Vec<u8>, Http1Error> {
    let mut head = Vec::with_capacity(512);
    loop {
        let before = head.len();
        let n = input
            .take((MAX_HEAD + 1 - head.len()) as u64)
            .read_until(b'\n', &mut head)?;
        if n == 0 {
            return Err(if before == 0 {
                Http1Error::ClosedBeforeResponse
            } else {
                Http1Error::Malformed("the connection closed inside the head")
            });
        }
        if head.len() > MAX_HEAD {
            return Err(Http1Error::Malformed("head over 64 KiB"));
        }
        let line = &head[before..];
        if line == b"\r\n" || line == b"\n" {
            if before == 0 {
                // Tolerate a stray blank line before the status line.
                head.clear();
                continue;
            }
            return Ok(head);
        }
    }
}

fn read_chunked(input: &mut impl BufRead, max_body: usize) -> Result<Vec<u8>, Http1Error> {
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        input.take(1024).read_until(b'\n', &mut line)?;
        let text = std::str::from_utf8(&line).map_err(|_| Http1Error::Malformed("chunk size"))?;
        let size_field = text.split(';').next().unwrap_or_default().trim();
        let size =
            u64::from_str_radix(size_field, 16).map_err(|_| Http1Error::Malformed("chunk size"))?;
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                line.clear();
                let n = input.take(MAX_HEAD as u64).read_until(b'\n', &mut line)?;
                if n == 0 || line == b"\r\n" || line == b"\n" {
                    return Ok(body);
                }
            }
        }
        if body.len() as u64 + size > max_body as u64 {
            return Err(Http1Error::TooLarge(body.len() as u64 + size, max_body));
        }
        let start = body.len();
        body.resize(start + size as usize, 0);
        input.read_exact(&mut body[start..])?;
        line.clear();
        input.take(2).read_until(b'\n', &mut line)?;
        if line != b"\r\n" && line != b"\n" {
            return Err(Http1Error::Malformed("no line end after a chunk"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[u8]) -> Result<Response, Http1Error> {
        read_response(&mut &raw[..], 1024)
    }

    #[test]
    fn content_length_body_and_headers() {
        let r = read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nLambda-Runtime-Aws-Request-Id: abc\r\n\r\n{}extra").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"{}");
        assert_eq!(r.header("lambda-runtime-aws-request-id"), Some("abc"));
        assert!(!r.closes);
    }

    #[test]
    fn two_responses_on_one_connection() {
        let raw = b"HTTP/1.1 202 Accepted\r\nContent-Length: 4\r\n\r\nokokHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
        let mut input = &raw[..];
        assert_eq!(read_response(&mut input, 64).unwrap().body, b"okok");
        assert_eq!(read_response(&mut input, 64).unwrap().body, b"x");
    }

    #[test]
    fn chunked_body_with_extension_and_trailer() {
        let r = read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n").unwrap();
        assert_eq!(r.body, b"abcde");
    }

    #[test]
    fn body_to_end_of_connection_closes() {
        let r = read(b"HTTP/1.1 200 OK\r\n\r\nall of it").unwrap();
        assert_eq!(r.body, b"all of it");
        assert!(r.closes);
        assert!(
            read(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                .unwrap()
                .closes
        );
        assert!(
            read(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
                .unwrap()
                .closes
        );
    }

    #[test]
    fn limits_and_malformed_input_are_errors() {
        assert!(matches!(read(b""), Err(Http1Error::ClosedBeforeResponse)));
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n"),
            Err(Http1Error::TooLarge(99999, 1024))
        ));
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
            Err(Http1Error::Malformed(_))
        ));
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nContent-Le"),
            Err(Http1Error::Malformed(_))
        ));
        assert!(matches!(
            read(b"garbage\r\n\r\n"),
            Err(Http1Error::Malformed(_))
        ));
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            Err(Http1Error::Malformed(_))
        ));
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n"),
            Err(Http1Error::TooLarge(..))
        ));
        // A body cut short by the peer is an I/O error, not a short body.
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"),
            Err(Http1Error::Io(_))
        ));
        let mut long_head = b"HTTP/1.1 200 OK\r\n".to_vec();
        long_head.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        assert!(matches!(read(&long_head), Err(Http1Error::Malformed(_))));
    }

    #[test]
    fn requests_are_written_whole() {
        let mut out = Vec::new();
        write_request(
            &mut out,
            "POST",
            "/r/1/response",
            "127.0.0.1:9001",
            &[("Content-Type", "application/json")],
            b"{}",
        )
        .unwrap();
        assert_eq!(out, b"POST /r/1/response HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
        out.clear();
        write_request(&mut out, "GET", "/next", "h", &[], b"").unwrap();
        assert_eq!(out, b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    }
}
