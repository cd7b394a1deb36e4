#!/usr/bin/env python3
"""Cold-start and warm-invocation benchmark for the slack-alarm-notifier Lambda binary.

Usage:
    python3 bench/run.py [--cold N] [--warm M] [--out bench/results.json]
                         [--binary PATH] [--no-build] [--check] [--floor] [--charts]

Everything runs on 127.0.0.1 with OS-assigned ports:
  * a local CA, made at start with `cryptography`, signs one leaf certificate for 127.0.0.1
    and localhost; the function trusts the CA through SSL_CERT_FILE;
  * moto's server (in this process, in a thread, plain HTTP) holds the Slack secret;
  * a counting proxy in front of moto (HTTPS) counts `secretsmanager.GetSecretValue` calls;
  * a local "Slack" (HTTPS) answers 200 `ok`, counts POSTs and timestamps them;
  * a Lambda Runtime API emulator (plain HTTP, one per function process) hands out events
    and timestamps the runtime's requests;
  * with --charts, a local CloudWatch (HTTPS) answers GetMetricData in Smithy RPC v2 CBOR
    with 20 points a series, and everything is measured twice, METRIC_CHARTS off then on.

Needs Python 3.10 or newer and `pip install 'moto[server]'` (which brings boto3 and cryptography). See
bench/README.md for the exact definitions of every figure.

Exit status: 0 = measured (and, with --check, every gate passed);
1 = the benchmark could not measure (an invocation failed, Slack saw the wrong number of
posts, a process died or timed out, the build failed, ...);
3 = --check gate exceeded; 2 = bad command line.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import json
import logging
import os
import platform
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# --------------------------------------------------------------------------------------------
# --check gates. Timing figures are reported but never gate (the machine is noisy).
# --------------------------------------------------------------------------------------------
CHECK_MAX_BINARY_MIB = 8.0
CHECK_MAX_PEAK_RSS_MIB = 12.0
CHECK_MAX_WARM_GET_SECRET_VALUE = 0

# Targets shown in the table and the JSON (informational; only the gates above fail --check).
TARGET_INIT_MS = 6.0
TARGET_ON_CPU_MS = 0.35
TARGET_COLD_NOTIFICATION_MS = 12.0

# Run sizes.
DEFAULT_COLD = 7
DEFAULT_WARM = 300
MIN_COLD = 5  # below these a full run is refused; --check runs may be smaller
MIN_WARM = 200

# Time limits (seconds).
INIT_TIMEOUT_S = 10.0
INVOCATION_TIMEOUT_S = 30.0
INVOCATION_DEADLINE_MS = 30_000  # Lambda-Runtime-Deadline-Ms = now + this (epoch ms)
PARK_TIMEOUT_S = 5.0  # waiting for the runtime to come back to /next after a response
KILL_TIMEOUT_S = 5.0
HANDSHAKE_TIMEOUT_S = 10.0  # a TLS client that connects and never finishes the handshake
BUILD_TIMEOUT_S = 2400.0
TOTAL_BUDGET_S = 1200.0  # whole measurement phase (after the build)

MIB = 1048576
REPO = Path(__file__).resolve().parent.parent
EVENT_FILE = REPO / "events" / "sns-alarm.json"
BINARY_NAME = "slack-alarm-notifier"

REGION = "us-east-1"
ACCOUNT = "123456789012"
FUNCTION_NAME = "slack-alarm-notifier-bench"
SECRET_NAME = "bench/slack-alarm-notifier/webhook"
SLACK_PATH = "/services/T/B/x"
GET_SECRET_VALUE_TARGET = "secretsmanager.GetSecretValue"
SELF_TEST_PATH = "/bench-tls-self-test"


class BenchError(Exception):
    """The benchmark cannot produce trustworthy figures."""


def now_ns() -> int:
    return time.perf_counter_ns()


# --------------------------------------------------------------------------------------------
# Local CA: one CA certificate and one leaf for 127.0.0.1 / localhost, made at start
# --------------------------------------------------------------------------------------------
class LocalCA:
    """Writes ca.pem (what the function trusts via SSL_CERT_FILE), leaf.pem and leaf.key."""

    def __init__(self, directory: Path):
        try:
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
        except ImportError as e:
            raise BenchError(f"{e}; install with: pip install 'moto[server]' "
                             "(it brings cryptography)") from e
        import ipaddress

        now = _dt.datetime.now(_dt.timezone.utc)
        not_before, not_after = now - _dt.timedelta(hours=1), now + _dt.timedelta(days=1)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                "slack-alarm-notifier bench CA")])
        ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(ca_ski, critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        self.ca_file = directory / "ca.pem"
        self.leaf_file = directory / "leaf.pem"
        self.key_file = directory / "leaf.key"
        self.ca_file.write_bytes(ca_cert.public_bytes(pem))
        self.leaf_file.write_bytes(leaf_cert.public_bytes(pem))
        self.key_file.write_bytes(leaf_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        self.key_file.chmod(0o600)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.leaf_file, self.key_file)
        ctx.set_alpn_protocols(["http/1.1"])  # keep-alive HTTP/1.1, never h2
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


# --------------------------------------------------------------------------------------------
# Small HTTP/1.1 keep-alive server plumbing (plain, or TLS with the local CA)
# --------------------------------------------------------------------------------------------
class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler_cls, owner, tls: ssl.SSLContext | None = None):
        self.owner = owner
        self.tls = tls
        self.tls_lock = threading.Lock()
        self.handshakes = 0           # completed TLS handshakes (= TLS connections)
        self.resumed = 0              # of which resumed a session
        self.handshake_failures: list[str] = []
        self.tls_errors_after_handshake = 0  # e.g. a killed process's connection
        self.connections = 0          # accepted TCP connections
        super().__init__(("127.0.0.1", 0), handler_cls)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name=f"{type(owner).__name__}-server")

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def scheme(self) -> str:
        return "http" if self.tls is None else "https"

    def get_request(self):
        sock, addr = self.socket.accept()
        self.connections += 1  # only the serving thread accepts
        if self.tls is None:
            return sock, addr
        # The handshake runs in the connection's own thread (finish_request), not here.
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address) -> None:
        if self.tls is not None:
            request.settimeout(HANDSHAKE_TIMEOUT_S)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError) as e:
                with self.tls_lock:
                    self.handshake_failures.append(f"{type(e).__name__}: {e}")
                return
            request.settimeout(None)
            with self.tls_lock:
                self.handshakes += 1
                if request.session_reused:
                    self.resumed += 1
        super().finish_request(request, client_address)

    def tls_counts(self) -> tuple[int, int]:
        with self.tls_lock:
            return self.handshakes, len(self.handshake_failures)

    def reset_tls_counts(self) -> None:
        with self.tls_lock:
            self.handshakes = self.resumed = self.connections = 0

    def tls_summary(self) -> dict:
        with self.tls_lock:
            return {"handshakes": self.handshakes, "resumed": self.resumed,
                    "handshake_failures": list(self.handshake_failures),
                    "errors_after_handshake": self.tls_errors_after_handshake}

    def handle_error(self, request, client_address) -> None:
        # A killed function process resets its connections; that is expected, not news.
        err = sys.exc_info()[1]
        if isinstance(err, ssl.SSLError):
            with self.tls_lock:
                self.tls_errors_after_handshake += 1
            return
        if isinstance(err, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def start(self) -> "Server":
        self._thread.start()
        return self

    def stop(self) -> None:
        try:
            self.shutdown()
        finally:
            self.server_close()
            self._thread.join(timeout=5)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # sets TCP_NODELAY on each accepted socket
    server_version = "bench"
    sys_version = ""

    def log_message(self, *args) -> None:  # silence per-request logging
        pass

    def read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, code: int, body: bytes = b"", headers: dict | None = None,
              content_type: str = "application/json") -> None:
        """Writes the whole response (status, headers, body) in one send, with Content-Length."""
        reason = self.responses.get(code, ("",))[0]
        lines = [f"HTTP/1.1 {code} {reason}", f"Content-Type: {content_type}",
                 f"Content-Length: {len(body)}"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


# --------------------------------------------------------------------------------------------
# Local Slack
# --------------------------------------------------------------------------------------------
class SlackHandler(Handler):
    def do_POST(self) -> None:
        body = self.read_body()
        received = now_ns()  # the whole request is in: this is when Slack "has" the message
        slack: Slack = self.server.owner
        ok = self.path == SLACK_PATH
        payload = None
        if ok:
            try:
                payload = json.loads(body)
                ok = isinstance(payload, dict)
            except ValueError:
                ok = False
        # --charts only (both passes): whether the message carries a native chart.
        chart = find_block(payload, CHART_BLOCK_TYPE) if ok and slack.inspect else None
        with slack.lock:
            slack.posts += 1
            slack.post_ns.append(received)
            if not ok:
                slack.bad_posts += 1
            if chart is not None:
                slack.chart_posts += 1
                if slack.first_chart is None:
                    slack.first_chart = chart
        if ok:
            self.reply(200, b"ok", content_type="text/html")
        else:
            self.reply(400 if self.path == SLACK_PATH else 404,
                       b"invalid_payload" if self.path == SLACK_PATH else b"no_service",
                       content_type="text/html")

    def do_GET(self) -> None:
        self.reply(404, b"no_service", content_type="text/html")


def find_block(value, block_type: str):
    """The first block of `block_type` anywhere in a Slack payload (blocks, attachments)."""
    if isinstance(value, dict):
        if value.get("type") == block_type:
            return value
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)) and (found := find_block(v, block_type)) is not None:
                return found
    return None


class Slack:
    def __init__(self, tls: ssl.SSLContext | None, inspect: bool = False):
        self.lock = threading.Lock()
        self.inspect = inspect  # count posts that carry a data_visualization block
        self.chart_posts = 0
        self.first_chart = None  # the first data_visualization block posted, as a sample
        self.posts = 0
        self.post_ns: list[int] = []  # when each POST had been received (monotonic ns)
        self.bad_posts = 0
        self.server = Server(SlackHandler, self, tls).start()

    @property
    def url(self) -> str:
        return f"{self.server.scheme}://127.0.0.1:{self.server.port}{SLACK_PATH}"

    def count(self) -> int:
        with self.lock:
            return self.posts

    def chart_count(self) -> int:
        with self.lock:
            return self.chart_posts

    def received_ns(self, index: int) -> int:
        """Arrival time of the POST number `index` (0-based, in arrival order)."""
        with self.lock:
            return self.post_ns[index]


# --------------------------------------------------------------------------------------------
# Counting proxy in front of moto
# --------------------------------------------------------------------------------------------
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
              "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
              "content-length"}


class ProxyHandler(Handler):
    def forward(self) -> None:
        proxy: CountingProxy = self.server.owner
        body = self.read_body()
        if self.path == SELF_TEST_PATH:  # the bench's own TLS check; not forwarded or counted
            self.reply(200, b"ok", content_type="text/plain")
            return
        target = self.headers.get("X-Amz-Target") or ""
        proxy.record(target)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
        try:
            conn.request(self.command, self.path, body=body if body or self.command in
                         ("POST", "PUT", "PATCH") else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP}
            ctype = out.pop("Content-Type", None) or out.pop("content-type", None) or "text/plain"
            self.reply(resp.status, data, out, content_type=ctype)
        except OSError as e:
            self.close_connection = True
            self.reply(502, f"proxy: {e}".encode(), content_type="text/plain")
        finally:
            conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = forward


class CountingProxy:
    def __init__(self, upstream_port: int, tls: ssl.SSLContext | None):
        self.upstream_port = upstream_port  # moto, plain HTTP
        self.lock = threading.Lock()
        self.by_target: dict[str, int] = {}
        self.server = Server(ProxyHandler, self, tls).start()

    @property
    def url(self) -> str:
        return f"{self.server.scheme}://127.0.0.1:{self.server.port}"

    def record(self, target: str) -> None:
        with self.lock:
            key = target or "(no X-Amz-Target)"
            self.by_target[key] = self.by_target.get(key, 0) + 1

    def get_secret_value_count(self) -> int:
        with self.lock:
            return self.by_target.get(GET_SECRET_VALUE_TARGET, 0)


# --------------------------------------------------------------------------------------------
# Local CloudWatch (--charts): GetMetricData in Smithy RPC v2 CBOR, as aws-sdk-cloudwatch speaks
# --------------------------------------------------------------------------------------------
CW_PREFIX = "/service/GraniteServiceVersion20100801/operation/"
GET_METRIC_DATA_PATH = CW_PREFIX + "GetMetricData"
CHART_BLOCK_TYPE = "data_visualization"


class CborError(ValueError):
    pass


def cbor_decode(data: bytes):
    """Just enough CBOR (RFC 8949) for a GetMetricData request: maps, arrays, text, bytes,
    integers, floats, booleans, null, tags (a timestamp: its content), indefinite lengths."""
    import struct

    at = 0

    def take(n: int) -> bytes:
        nonlocal at
        if at + n > len(data):
            raise CborError("truncated")
        b = data[at:at + n]
        at += n
        return b

    def head() -> tuple[int, int, int | None]:
        first = take(1)[0]
        major, info = first >> 5, first & 0x1f
        if info < 24:
            return major, info, info
        if info in (24, 25, 26, 27):
            return major, info, int.from_bytes(take(1 << (info - 24)), "big")
        if info == 31:
            return major, info, None
        raise CborError(f"bad additional info {info}")

    def is_break() -> bool:
        nonlocal at
        if at < len(data) and data[at] == 0xff:
            at += 1
            return True
        return False

    def item():
        major, info, n = head()
        if major == 0:
            return n
        if major == 1:
            return -1 - n
        if major in (2, 3):
            if n is None:
                parts = []
                while not is_break():
                    _, _, k = head()
                    parts.append(take(k))
                raw = b"".join(parts)
            else:
                raw = take(n)
            return raw.decode() if major == 3 else raw
        if major == 4:
            out = []
            if n is None:
                while not is_break():
                    out.append(item())
            else:
                out = [item() for _ in range(n)]
            return out
        if major == 5:
            out = {}
            count = 0
            while (not is_break()) if n is None else count < n:
                key = item()
                out[key] = item()
                count += 1
            return out
        if major == 6:
            return item()
        # major 7
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            h = n
            sign = -1.0 if h >> 15 else 1.0
            e, f = (h >> 10) & 0x1f, h & 0x3ff
            if e == 0:
                return sign * f * 2.0 ** -24
            if e == 31:
                return sign * float("inf") if f == 0 else float("nan")
            return sign * (1 + f / 1024) * 2.0 ** (e - 15)
        if info == 26:
            return struct.unpack(">f", n.to_bytes(4, "big"))[0]
        if info == 27:
            return struct.unpack(">d", n.to_bytes(8, "big"))[0]
        raise CborError(f"unsupported simple value {info}")

    value = item()
    if at != len(data):
        raise CborError("bytes after the item")
    return value


def _cbor_head(major: int, n: int) -> bytes:
    m = major << 5
    if n < 24:
        return bytes([m | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([m | info]) + n.to_bytes(size, "big")
    raise CborError("integer too large")


def cbor_encode(value) -> bytes:
    """Maps with text keys, lists, text, floats (float64), non-negative ints, and
    CborTimestamp (tag 1, epoch seconds as float64, as Smithy writes a timestamp)."""
    import struct

    if isinstance(value, CborTimestamp):
        return _cbor_head(6, 1) + b"\xfb" + struct.pack(">d", value.seconds)
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, int) and value >= 0:
        return _cbor_head(0, value)
    if isinstance(value, str):
        raw = value.encode()
        return _cbor_head(3, len(raw)) + raw
    if isinstance(value, list):
        return _cbor_head(4, len(value)) + b"".join(cbor_encode(v) for v in value)
    if isinstance(value, dict):
        return _cbor_head(5, len(value)) + b"".join(
            cbor_encode(k) + cbor_encode(v) for k, v in value.items())
    raise CborError(f"cannot encode {type(value).__name__}")


class CborTimestamp:
    def __init__(self, seconds: float):
        self.seconds = float(seconds)


class CloudWatchHandler(Handler):
    def do_POST(self) -> None:
        body = self.read_body()
        cw: CloudWatch = self.server.owner
        if self.path == SELF_TEST_PATH:
            self.reply(200, b"ok", content_type="text/plain")
            return
        problem = None
        request = None
        if self.path != GET_METRIC_DATA_PATH:
            problem = f"unknown operation {self.path}"
        elif self.headers.get("smithy-protocol") != "rpc-v2-cbor":
            problem = "smithy-protocol is not rpc-v2-cbor"
        elif (self.headers.get("Content-Type") or "") != "application/cbor":
            problem = "content-type is not application/cbor"
        elif not (self.headers.get("Authorization") or "").startswith("AWS4-HMAC-SHA256 "):
            problem = "not signed"
        else:
            try:
                request = cbor_decode(body)
            except (CborError, UnicodeDecodeError) as e:
                problem = f"not CBOR: {e}"
            if problem is None and not (isinstance(request, dict) and isinstance(
                    request.get("MetricDataQueries"), list)):
                problem = "no MetricDataQueries"
        if problem is not None:
            cw.refuse(problem)
            self.reply(400, cbor_encode({"__type": "ValidationError", "message": problem}),
                       {"smithy-protocol": "rpc-v2-cbor"}, content_type="application/cbor")
            return
        answer, points = cw.answer(request)
        cw.record(request, points)
        self.reply(200, answer, {"smithy-protocol": "rpc-v2-cbor"},
                   content_type="application/cbor")

    def do_GET(self) -> None:
        if self.path == SELF_TEST_PATH:
            self.reply(200, b"ok", content_type="text/plain")
            return
        self.server.owner.refuse(f"GET {self.path}")
        self.reply(404, b"", content_type="application/cbor")


class CloudWatch:
    """Answers GetMetricData: for each query that returns data, a point every period from
    StartTime to EndTime (the function asks for 20 periods), values rising by 4 from 10."""

    def __init__(self, tls: ssl.SSLContext | None):
        self.lock = threading.Lock()
        self.calls = 0            # GetMetricData requests answered
        self.points = 0           # data points answered, over all series
        self.query_ids: dict[str, int] = {}
        self.refused: list[str] = []
        self.server = Server(CloudWatchHandler, self, tls).start()

    @property
    def url(self) -> str:
        return f"{self.server.scheme}://127.0.0.1:{self.server.port}"

    @staticmethod
    def answer(request: dict) -> tuple[bytes, int]:
        start = int(request.get("StartTime") or 0)
        end = int(request.get("EndTime") or 0)
        results, points = [], 0
        for q in request["MetricDataQueries"]:
            if not isinstance(q, dict) or q.get("ReturnData") is False:
                continue
            stat = q.get("MetricStat") if isinstance(q.get("MetricStat"), dict) else {}
            period = int(stat.get("Period") or q.get("Period") or 300)
            period = period if period > 0 else 300
            times = list(range(start, end, period))[-100:]
            qid = str(q.get("Id", ""))
            results.append({
                "Id": qid,
                "Label": str(q.get("Label") or qid),
                "Timestamps": [CborTimestamp(t) for t in times],
                "Values": [10.0 + 4.0 * i for i in range(len(times))],
                "StatusCode": "Complete",
            })
            points += len(times)
        return cbor_encode({"MetricDataResults": results, "Messages": []}), points

    def record(self, request: dict, points: int) -> None:
        with self.lock:
            self.calls += 1
            self.points += points
            for q in request["MetricDataQueries"]:
                qid = str(q.get("Id", "")) if isinstance(q, dict) else "?"
                self.query_ids[qid] = self.query_ids.get(qid, 0) + 1

    def refuse(self, why: str) -> None:
        with self.lock:
            self.refused.append(why)

    def counts(self) -> tuple[int, int]:
        """(GetMetricData calls answered, requests refused)."""
        with self.lock:
            return self.calls, len(self.refused)

    def summary(self) -> dict:
        with self.lock:
            return {"get_metric_data_calls": self.calls, "points_answered": self.points,
                    "query_ids": dict(self.query_ids), "refused": list(self.refused)}


# --------------------------------------------------------------------------------------------
# Lambda Runtime API emulator (one per function process)
# --------------------------------------------------------------------------------------------
class Invocation:
    def __init__(self, body: bytes):
        self.request_id = str(uuid.uuid4())
        self.body = body
        self.dispatch_ns: int | None = None
        self.done_ns: int | None = None
        self.kind: str | None = None  # "response" or "error"
        self.result: bytes = b""
        self.done = threading.Event()

    @property
    def duration_ms(self) -> float:
        return (self.done_ns - self.dispatch_ns) / 1e6


class RuntimeHandler(Handler):
    """Plain HTTP, as Lambda's own Runtime API. One thread per connection: the runtime may
    hold a long-poll GET /next on one connection and post on another."""

    PREFIX = "/2018-06-01/runtime/"

    def do_GET(self) -> None:
        arrived = now_ns()
        rt: RuntimeApi = self.server.owner
        if self.path != self.PREFIX + "invocation/next":
            self.reply(404, b'{"errorType":"NotFound"}')
            return
        inv = rt.take_next(arrived)
        if inv is None:  # emulator stopping
            self.close_connection = True
            self.reply(503, b'{"errorType":"ServiceUnavailable"}')
            return
        wall_ms = time.time_ns() // 1_000_000
        trace = (f"Root=1-{wall_ms // 1000:08x}-{uuid.uuid4().hex[:24]};"
                 f"Parent={uuid.uuid4().hex[:16]};Sampled=0")
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            # Like Lambda: the deadline as a Unix epoch time in milliseconds.
            "Lambda-Runtime-Deadline-Ms": str(wall_ms + rt.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn":
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION_NAME}",
            "Lambda-Runtime-Trace-Id": trace,
        }
        inv.dispatch_ns = now_ns()
        self.reply(200, inv.body, headers)

    def do_POST(self) -> None:
        body = self.read_body()
        received = now_ns()
        rt: RuntimeApi = self.server.owner
        path = self.path
        if path == self.PREFIX + "init/error":
            rt.init_error(body)
            self.reply(202, b'{"status":"OK"}')
            return
        if path.startswith(self.PREFIX + "invocation/"):
            rest = path[len(self.PREFIX + "invocation/"):]
            req_id, _, kind = rest.partition("/")
            if kind in ("response", "error") and rt.complete(req_id, kind, body, received):
                self.reply(202, b'{"status":"OK"}')
                return
            self.reply(400, b'{"errorType":"InvalidRequestID"}')
            return
        self.reply(404, b'{"errorType":"NotFound"}')


class RuntimeApi:
    def __init__(self):
        self.cond = threading.Condition()
        self.pending: list[Invocation] = []
        self.inflight: dict[str, Invocation] = {}
        self.stopping = False
        self.next_calls = 0
        self.first_next_ns: int | None = None
        self.first_next = threading.Event()
        # Called once, in the handler thread, when the first GET /next arrives and before any
        # event is handed out (the function's init on-CPU is read there).
        self.first_next_hook = None
        self.first_next_hook_ms: float | None = None  # how long the hook held the dispatch
        self.init_error_body: bytes | None = None
        self.deadline_ms = INVOCATION_DEADLINE_MS  # the function's timeout, as Lambda sends it
        self.server = Server(RuntimeHandler, self).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    # -- called from handler threads
    def take_next(self, arrived_ns: int) -> Invocation | None:
        with self.cond:
            self.next_calls += 1
            first = self.first_next_ns is None
            if first:
                self.first_next_ns = arrived_ns
        if first:
            if self.first_next_hook is not None:
                t = now_ns()
                self.first_next_hook()
                self.first_next_hook_ms = (now_ns() - t) / 1e6
            self.first_next.set()
        with self.cond:
            self.cond.notify_all()
            while not self.pending and not self.stopping:
                self.cond.wait(0.5)
            if self.stopping:
                return None
            inv = self.pending.pop(0)
            self.inflight[inv.request_id] = inv
            return inv

    def complete(self, req_id: str, kind: str, body: bytes, received_ns: int) -> bool:
        with self.cond:
            inv = self.inflight.pop(req_id, None)
            if inv is None:
                return False
            inv.done_ns, inv.kind, inv.result = received_ns, kind, body
        inv.done.set()
        return True

    def init_error(self, body: bytes) -> None:
        with self.cond:
            self.init_error_body = body
            self.cond.notify_all()
        self.first_next.set()

    # -- called from the controller
    def submit(self, body: bytes) -> Invocation:
        inv = Invocation(body)
        with self.cond:
            self.pending.append(inv)
            self.cond.notify_all()
        return inv

    def next_call_count(self) -> int:
        with self.cond:
            return self.next_calls

    def wait_next_calls(self, count: int, timeout: float) -> bool:
        """Waits until the runtime has made `count` GET /next requests (i.e. is parked)."""
        end = time.monotonic() + timeout
        with self.cond:
            while self.next_calls < count:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.1))
        return True

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.server.stop()


# --------------------------------------------------------------------------------------------
# /proc readers
# --------------------------------------------------------------------------------------------
def on_cpu_ns(pid: int) -> tuple[int, int]:
    """Sum of the first field of /proc/PID/task/*/schedstat (ns on CPU), and the task count.
    Raw os.open/os.read: about 3 µs per task, since the emulator calls it at the first
    GET /next, before it hands out the event."""
    total, tasks = 0, 0
    base = f"/proc/{pid}/task/"
    for tid in os.listdir(base):
        try:
            fd = os.open(base + tid + "/schedstat", os.O_RDONLY)
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended between listdir and open
        try:
            total += int(os.read(fd, 128).split(None, 1)[0])
            tasks += 1
        except (OSError, ValueError, IndexError):
            pass
        finally:
            os.close(fd)
    return total, tasks


def proc_status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {field}")


def utime_stime_ticks(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime (fields 14 and 15)


# --------------------------------------------------------------------------------------------
# Function processes
# --------------------------------------------------------------------------------------------
class _Popen(subprocess.Popen):
    """Makes itself known before its constructor returns: Popen sets `pid` as soon as the
    child exists, then waits for the exec and more (up to a few ms with busy threads), and
    the child's first GET /next can arrive before that."""

    def __init__(self, owner: "Function", *args, **kwargs):
        owner._popen = self
        super().__init__(*args, **kwargs)


class Function:
    """One function process with its own Runtime API emulator."""

    def __init__(self, binary: Path, base_env: dict, log_path: Path):
        self.binary = binary
        self.base_env = base_env
        self.log_path = log_path
        self.rt = RuntimeApi()
        self.rt.first_next_hook = self._read_init_cpu
        self.proc: subprocess.Popen | None = None
        self.spawn_ns: int | None = None
        self.popen_ms: float | None = None
        self._popen: _Popen | None = None
        self.init_cpu_ns: int | None = None  # on-CPU when the first GET /next arrived
        self.init_tasks: int | None = None
        self.completed = 0  # invocations answered so far (counted by the caller)
        self.posts_before_spawn = 0  # Slack's POST count when the process was spawned
        # --charts: (GetMetricData calls, Slack posts with a chart) when it was spawned
        self.charts_before_spawn = (0, 0)
        self.extra_report = None  # callable -> str, added to error messages
        self._log = None

    def _read_init_cpu(self) -> None:
        # Runs in the emulator's thread, possibly before Popen has returned.
        end = time.monotonic() + 2.0
        while (pid := getattr(self._popen, "pid", None)) is None:
            if time.monotonic() > end:
                return
            time.sleep(0.0001)
        try:
            self.init_cpu_ns, self.init_tasks = on_cpu_ns(pid)
        except OSError:
            pass

    def start(self, first_event: bytes | None = None) -> tuple[float, Invocation | None]:
        """Spawns the process; returns init time in ms (spawn → first GET /next) and, with
        `first_event`, that event's invocation: it is queued before the spawn, so the first
        GET /next gets it at once, as in a cold start on Lambda."""
        first = self.rt.submit(first_event) if first_event is not None else None
        env = dict(self.base_env, AWS_LAMBDA_RUNTIME_API=self.rt.address)
        self._log = open(self.log_path, "wb")
        self.spawn_ns = now_ns()
        self.proc = _Popen(self, [str(self.binary)], env=env, stdin=subprocess.DEVNULL,
                           stdout=self._log, stderr=subprocess.STDOUT, cwd=env["HOME"],
                           start_new_session=True)
        self.popen_ms = (now_ns() - self.spawn_ns) / 1e6  # diagnostic: Popen's own share
        end = time.monotonic() + INIT_TIMEOUT_S
        while not self.rt.first_next.wait(0.02):
            if self.rt.init_error_body is not None:
                break
            if self.proc.poll() is not None:
                raise BenchError(f"function exited with {self.proc.returncode} during init"
                                 + self.init_error_text() + self.diag())
            if time.monotonic() > end:
                raise BenchError(f"no GET /runtime/invocation/next within {INIT_TIMEOUT_S} s"
                                 + self.diag())
        if self.rt.init_error_body is not None:
            raise BenchError("function reported an init error" + self.init_error_text()
                             + self.diag())
        return (self.rt.first_next_ns - self.spawn_ns) / 1e6, first

    def init_error_text(self) -> str:
        body = self.rt.init_error_body
        return "" if body is None else ": POST /init/error " + body.decode(errors="replace")

    def invoke(self, body: bytes) -> Invocation:
        return self.wait_done(self.rt.submit(body))

    def wait_done(self, inv: Invocation) -> Invocation:
        end = time.monotonic() + INVOCATION_TIMEOUT_S
        while not inv.done.wait(0.05):
            if self.proc.poll() is not None:
                raise BenchError(f"function exited with {self.proc.returncode} during an "
                                 "invocation" + self.diag())
            if time.monotonic() > end:
                raise BenchError(f"invocation {inv.request_id} got no response within "
                                 f"{INVOCATION_TIMEOUT_S} s" + self.diag())
        return inv

    def wait_parked(self) -> None:
        """Waits until the runtime is back in GET /next after the last response."""
        if not self.rt.wait_next_calls(self.completed + 1, PARK_TIMEOUT_S):
            raise BenchError("runtime did not come back to GET /next within "
                             f"{PARK_TIMEOUT_S} s" + self.diag())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def diag(self) -> str:
        """What goes with an error: the servers' TLS handshake failures, then the log tail."""
        return (self.extra_report() if self.extra_report else "") + self.log_tail()

    def log_tail(self, n: int = 30) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()[-n:]
        except OSError:
            return ""
        return ("\n--- last lines of the function's output (" + str(self.log_path) + ") ---\n"
                + "\n".join(lines)) if lines else ""

    def stop(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                try:  # its own session: kill the whole group (covers wrapper scripts too)
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(KILL_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if self._log is not None:
                self._log.close()
            self.rt.stop()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default 'linear')."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def run_cmd(args: list[str]) -> str | None:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30,
                              check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def machine_info() -> dict:
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "machine": platform.machine(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "rustc": run_cmd(["rustc", "-V"]),
        "git_commit": run_cmd(["git", "-C", str(REPO), "rev-parse", "HEAD"]),
        # Other work on the machine inflates wall-clock figures; keep the load with the results.
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def is_stripped(binary: Path) -> bool | None:
    if shutil.which("readelf"):
        out = run_cmd(["readelf", "-S", "-W", str(binary)])
        if out:
            return ".symtab" not in out
    if shutil.which("file"):
        out = run_cmd(["file", "-b", str(binary)])
        if out:
            if "not stripped" in out:
                return False
            if "stripped" in out:
                return True
    return None


def build(binary: Path) -> float:
    print("building: cargo build --release --locked", flush=True)
    t = time.monotonic()
    try:
        r = subprocess.run(["cargo", "build", "--release", "--locked"], cwd=REPO,
                           timeout=BUILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"cargo build --release took over {BUILD_TIMEOUT_S} s") from e
    except FileNotFoundError as e:
        raise BenchError("cargo not found (use --no-build --binary PATH)") from e
    if r.returncode != 0:
        raise BenchError(f"cargo build --release failed ({r.returncode})")
    if not binary.is_file():
        raise BenchError(f"build finished but {binary} does not exist")
    return time.monotonic() - t


def start_moto():
    try:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer
        import boto3
    except ImportError as e:
        raise BenchError(f"{e}; install with: pip install 'moto[server]'") from e
    for name in ("werkzeug", "moto", "botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("werkzeug").addHandler(logging.NullHandler())
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    return server, port, boto3


def tls_self_test(ca: LocalCA, slack: "Slack", proxy: "CountingProxy",
                  cloudwatch: "CloudWatch | None" = None) -> None:
    """Python's own client must trust every TLS server through ca.pem, with the IP checked:
    so a handshake failure later is the function's, not the set-up's."""
    servers = [("Slack", slack.server), ("Secrets Manager proxy", proxy.server)]
    if cloudwatch is not None:
        servers.append(("CloudWatch", cloudwatch.server))
    for name, srv in servers:
        conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=10,
                                           context=ca.client_context())
        try:
            conn.request("GET", SELF_TEST_PATH)
            conn.getresponse().read()
        except (OSError, http.client.HTTPException) as e:
            raise BenchError(f"TLS self-test against the local {name} failed: {e}") from e
        finally:
            conn.close()
        srv.reset_tls_counts()


def create_secret(boto3, moto_port: int, slack_url: str) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION,
                      endpoint_url=f"http://127.0.0.1:{moto_port}",
                      aws_access_key_id="bench", aws_secret_access_key="bench")
    sm.create_secret(Name=SECRET_NAME, SecretString=json.dumps({"SLACK_HOOK_URL": slack_url}))
    # Warm moto's lazily loaded backend, directly (not through the counting proxy).
    got = json.loads(sm.get_secret_value(SecretId=SECRET_NAME)["SecretString"])
    if got.get("SLACK_HOOK_URL") != slack_url:
        raise BenchError("moto returned a different secret than the one stored")


def function_env(home: Path, endpoint_url: str, ca_file: Path) -> dict:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "AKIABENCHDUMMY000000",
        "AWS_SECRET_ACCESS_KEY": "bench-dummy-secret-key",
        "AWS_ENDPOINT_URL": endpoint_url,
        # The local CA; the function adds it to its compiled-in Mozilla roots.
        "SSL_CERT_FILE": str(ca_file),
        "AWS_CONFIG_FILE": str(home / "nonexistent-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "nonexistent-aws-credentials"),
        # Never let the SDK reach for the instance metadata service (not a loopback address).
        "AWS_EC2_METADATA_DISABLED": "true",
        "SecretId": SECRET_NAME,
        "SLACK_WEBHOOK_HOSTS": "127.0.0.1",
    }


class EventFactory:
    """The SNS event with a distinct Records[0].Sns.MessageId per invocation."""

    def __init__(self, path: Path):
        self.template = json.loads(path.read_text())
        try:
            self.template["Records"][0]["Sns"]["MessageId"]
        except (KeyError, IndexError, TypeError) as e:
            raise BenchError(f"{path} has no Records[0].Sns.MessageId") from e
        self.n = 0

    def make(self) -> bytes:
        self.n += 1
        self.template["Records"][0]["Sns"]["MessageId"] = str(uuid.uuid4())
        return json.dumps(self.template, separators=(",", ":")).encode()


class Bench:
    def __init__(self, binary: Path, env: dict, slack: Slack, proxy: CountingProxy,
                 tmp: Path, deadline: float, floor: bool = False,
                 cloudwatch: "CloudWatch | None" = None, charts: bool | None = None,
                 label: str = ""):
        self.binary, self.env, self.slack, self.proxy = binary, env, slack, proxy
        self.tmp, self.deadline = tmp, deadline
        # --floor: every event is filtered out, so nothing is posted.
        self.floor = floor
        # --charts: the local CloudWatch, and whether every invocation must read it once and
        # post a chart (True) or neither (False); None: not checked (the default runs).
        self.cloudwatch, self.charts = cloudwatch, charts
        self.label = label  # prefix of the function logs' names
        self.events = EventFactory(EVENT_FILE)
        self.functions: list[Function] = []
        self.invocations = 0

    def new_function(self, label: str) -> Function:
        fn = Function(self.binary, self.env, self.tmp / f"{self.label}{label}.log")
        fn.extra_report = self.tls_report
        self.functions.append(fn)
        return fn

    def invoke_checked(self, fn: Function, queued: Invocation | None = None) -> float:
        """One invocation that must succeed and post exactly once; returns its duration (ms).
        `queued`: an invocation already queued (before the spawn); wait for it instead."""
        if time.monotonic() > self.deadline:
            raise BenchError(f"total time budget of {TOTAL_BUDGET_S} s exceeded")
        posts_before = self.slack.count()
        charts_before = self.chart_counts()
        if queued is None:
            inv = fn.invoke(self.events.make())
        else:
            posts_before = fn.posts_before_spawn
            charts_before = fn.charts_before_spawn
            inv = fn.wait_done(queued)
        fn.completed += 1
        self.invocations += 1
        posts = self.slack.count() - posts_before
        if inv.kind != "response":
            raise BenchError(f"invocation {self.invocations} failed (POST /{inv.kind}): "
                             + inv.result.decode(errors="replace") + fn.diag())
        try:
            outcome = json.loads(inv.result)
        except ValueError:
            outcome = None
        expected = {"delivered": 0, "filtered": 1} if self.floor else {"delivered": 1}
        if not isinstance(outcome, dict) or any(outcome.get(k) != v for k, v in expected.items()):
            raise BenchError(f"invocation {self.invocations}: expected {expected}, got "
                             f"{inv.result.decode(errors='replace')}" + fn.diag())
        if posts != (0 if self.floor else 1):
            raise BenchError(f"invocation {self.invocations}: Slack received {posts} POSTs, "
                             f"expected exactly {0 if self.floor else 1}" + fn.diag())
        if self.charts is not None:
            calls, charted = (a - b for a, b in zip(self.chart_counts(), charts_before))
            want = 1 if self.charts else 0
            if calls != want or charted != want:
                raise BenchError(f"invocation {self.invocations} (charts "
                                 f"{'on' if self.charts else 'off'}): {calls} GetMetricData "
                                 f"call(s) and {charted} post(s) with a {CHART_BLOCK_TYPE} "
                                 f"block, expected {want} and {want}" + fn.diag())
        return inv.duration_ms

    def tls_handshakes(self) -> int:
        """Completed TLS handshakes so far, at every server the function talks to."""
        n = self.slack.server.tls_counts()[0] + self.proxy.server.tls_counts()[0]
        if self.cloudwatch is not None:
            n += self.cloudwatch.server.tls_counts()[0]
        return n

    def chart_counts(self) -> tuple[int, int]:
        """(GetMetricData calls, Slack posts with a chart) so far; (0, 0) without --charts."""
        if self.cloudwatch is None:
            return 0, 0
        return self.cloudwatch.counts()[0], self.slack.chart_count()

    def tls_report(self) -> str:
        """TLS handshake failures seen so far, for error messages (e.g. an untrusted CA)."""
        out = []
        servers = [("Slack", self.slack.server), ("Secrets Manager proxy", self.proxy.server)]
        if self.cloudwatch is not None:
            servers.append(("CloudWatch", self.cloudwatch.server))
        for name, srv in servers:
            fails = srv.tls_summary()["handshake_failures"]
            if fails:
                out.append(f"{name}: {len(fails)} TLS handshake failure(s), last: {fails[-1]}")
        return ("\n" + "\n".join(out)) if out else ""

    def start_cold(self, fn: Function) -> tuple[float, Invocation]:
        """Queues one event, spawns the process, and waits for its first GET /next."""
        fn.posts_before_spawn = self.slack.count()
        fn.charts_before_spawn = self.chart_counts()
        init_ms, inv = fn.start(self.events.make())
        return init_ms, inv

    def cold_notification_ms(self, fn: Function) -> float | None:
        """Spawn → the local Slack has received the first invocation's POST."""
        if self.floor:
            return None
        return (self.slack.received_ns(fn.posts_before_spawn) - fn.spawn_ns) / 1e6

    def cold(self, i: int) -> dict:
        fn = self.new_function(f"cold-{i}")
        gsv0 = self.proxy.get_secret_value_count()
        tls0 = self.tls_handshakes()
        gmd0 = self.chart_counts()[0]
        try:
            init_ms, inv = self.start_cold(fn)
            gsv_init = self.proxy.get_secret_value_count() - gsv0
            first_ms = self.invoke_checked(fn, inv)
            notify_ms = self.cold_notification_ms(fn)
            fn.wait_parked()
            first_cpu, _ = on_cpu_ns(fn.pid)
            if fn.init_cpu_ns is None:
                raise BenchError("could not read the function's on-CPU time at its first "
                                 "GET /next" + fn.log_tail())
            return {
                "init_ms": init_ms,
                "first_invocation_ms": first_ms,
                "cold_notification_ms": notify_ms,
                "init_on_cpu_ms": fn.init_cpu_ns / 1e6,
                "init_tasks": fn.init_tasks,
                # The emulator reads /proc for init on-CPU before it hands out the event: this
                # long, inside cold notification (not inside init or first invocation).
                "init_cpu_read_ms": fn.rt.first_next_hook_ms,
                "popen_ms": fn.popen_ms,
                "first_invocation_on_cpu_ms": (first_cpu - fn.init_cpu_ns) / 1e6,
                "get_secret_value_during_init": gsv_init,
                "get_secret_value": self.proxy.get_secret_value_count() - gsv0,
                **({"get_metric_data": self.chart_counts()[0] - gmd0}
                   if self.cloudwatch is not None else {}),
                "tls_handshakes": self.tls_handshakes() - tls0,
                "runtime_api_connections": fn.rt.server.connections,
                "vm_hwm_mib": proc_status_kib(fn.pid, "VmHWM") / 1024,
            }
        finally:
            fn.stop()

    def warm(self, m: int) -> dict:
        fn = self.new_function("warm")
        try:
            gsv0 = self.proxy.get_secret_value_count()
            init_ms, inv = self.start_cold(fn)
            first_ms = self.invoke_checked(fn, inv)
            notify_ms = self.cold_notification_ms(fn)
            fn.wait_parked()
            gsv_cold = self.proxy.get_secret_value_count() - gsv0
            cpu0, tasks0 = on_cpu_ns(fn.pid)
            ticks0 = utime_stime_ticks(fn.pid)
            gsv1 = self.proxy.get_secret_value_count()
            gmd1 = self.chart_counts()[0]
            tls1 = self.tls_handshakes()
            conns1 = fn.rt.server.connections
            durations = [self.invoke_checked(fn) for _ in range(m)]
            fn.wait_parked()
            cpu1, tasks1 = on_cpu_ns(fn.pid)
            ticks1 = utime_stime_ticks(fn.pid)
            gsv_warm = self.proxy.get_secret_value_count() - gsv1
            gmd_warm = self.chart_counts()[0] - gmd1
            tls_warm = self.tls_handshakes() - tls1
            hwm = proc_status_kib(fn.pid, "VmHWM") / 1024
            rss = proc_status_kib(fn.pid, "VmRSS") / 1024
            rss_anon = proc_status_kib(fn.pid, "RssAnon") / 1024
            rss_file = proc_status_kib(fn.pid, "RssFile") / 1024
            hz = os.sysconf("SC_CLK_TCK")
            return {
                "init_ms": init_ms,
                "first_invocation_ms": first_ms,
                "cold_notification_ms": notify_ms,
                "init_on_cpu_ms": None if fn.init_cpu_ns is None else fn.init_cpu_ns / 1e6,
                "get_secret_value_cold": gsv_cold,
                # New TLS connections during the warm loop: 0 when keep-alive holds.
                "tls_handshakes_warm": tls_warm,
                "runtime_api_connections_at_start_of_warm_loop": conns1,
                "runtime_api_connections_at_end": fn.rt.server.connections,
                "get_secret_value_warm": gsv_warm,
                **({"get_metric_data_warm": gmd_warm} if self.cloudwatch is not None else {}),
                "durations_ms": durations,
                "on_cpu_ns_before": cpu0,
                "on_cpu_ns_after": cpu1,
                "tasks_before": tasks0,
                "tasks_after": tasks1,
                "on_cpu_per_invocation_ms": (cpu1 - cpu0) / m / 1e6,
                "utime_stime_per_invocation_ms_crosscheck":
                    ((ticks1[0] + ticks1[1]) - (ticks0[0] + ticks0[1])) / hz * 1000 / m,
                # Clock-tick resolution: meaningful over a few hundred invocations or more.
                "utime_per_invocation_ms": (ticks1[0] - ticks0[0]) / hz * 1000 / m,
                "stime_per_invocation_ms": (ticks1[1] - ticks0[1]) / hz * 1000 / m,
                "vm_hwm_mib": hwm,
                "vm_rss_mib_end": rss,
                "rss_anon_mib_end": rss_anon,
                "rss_file_mib_end": rss_file,
            }
        finally:
            fn.stop()

    def stop_all(self) -> None:
        for fn in self.functions:
            try:
                fn.stop()
            except Exception as e:  # keep cleaning up the others
                print(f"warning: cleanup: {e}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# One measurement: cold starts and a warm process
# --------------------------------------------------------------------------------------------
def measure(args: argparse.Namespace, bench: Bench, slack: Slack, size: int,
            stripped: bool | None) -> dict:
    """The cold starts, then the warm process, with `bench`; its summary, per-start figures,
    raw durations and warm-process figures."""
    posts0 = slack.count()
    colds = []
    for i in range(args.cold):
        c = bench.cold(i)
        colds.append(c)
        notify = c["cold_notification_ms"]
        print(f"cold {i + 1}/{args.cold}: init {c['init_ms']:.2f} ms "
              f"({c['init_on_cpu_ms']:.2f} ms on CPU), first invocation "
              f"{c['first_invocation_ms']:.2f} ms, cold notification "
              + ("n/a" if notify is None else f"{notify:.2f} ms")
              + f", GetSecretValue {c['get_secret_value']}"
              + (f", GetMetricData {c['get_metric_data']}" if bench.cloudwatch else ""),
              flush=True)
    print(f"warm: 1 cold + {args.warm} warm invocations in one process ...", flush=True)
    w = bench.warm(args.warm)

    slack_posts = slack.count() - posts0
    if slack.bad_posts:
        raise BenchError(f"Slack received {slack.bad_posts} malformed POST(s)")
    if slack_posts != (0 if args.floor else bench.invocations):
        raise BenchError(f"Slack received {slack_posts} POSTs for {bench.invocations} "
                         "invocations")

    d = w["durations_ms"]
    return {
        "summary": {
            "init_ms_median": statistics.median(c["init_ms"] for c in colds),
            "first_invocation_ms_median":
                statistics.median(c["first_invocation_ms"] for c in colds),
            "init_on_cpu_ms_median": statistics.median(c["init_on_cpu_ms"] for c in colds),
            "cold_notification_ms_median": None if args.floor else
                statistics.median(c["cold_notification_ms"] for c in colds),
            "warm_p50_ms": percentile(d, 50),
            "warm_p99_ms": percentile(d, 99),
            "on_cpu_per_warm_invocation_ms": w["on_cpu_per_invocation_ms"],
            "peak_rss_mib": w["vm_hwm_mib"],
            "binary_bytes": size,
            "binary_mib": size / MIB,
            "binary_stripped": stripped,
            "get_secret_value_warm": w["get_secret_value_warm"],
            "get_secret_value_per_warm_invocation": w["get_secret_value_warm"] / args.warm,
            "get_secret_value_per_cold_start": [c["get_secret_value"] for c in colds],
            "invocations": bench.invocations,
            "slack_posts": slack_posts,
            "failed_invocations": 0,
        },
        "cold_starts": colds,
        "raw": {
            "init_ms": [c["init_ms"] for c in colds],
            "init_on_cpu_ms": [c["init_on_cpu_ms"] for c in colds],
            "first_invocation_ms": [c["first_invocation_ms"] for c in colds],
            "cold_notification_ms": [c["cold_notification_ms"] for c in colds],
            "warm_invocation_ms": d,
        },
        "warm_process": {k: v for k, v in w.items() if k != "durations_ms"},
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def fmt_ok(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return "yes" if value <= target else "**no**"


def targets(s: dict) -> dict:
    """The informational targets (never gate), with the measured value and whether it meets."""
    out = {}
    for key, target, value in (
            ("init_ms", TARGET_INIT_MS, s["init_ms_median"]),
            ("on_cpu_per_warm_invocation_ms", TARGET_ON_CPU_MS,
             s["on_cpu_per_warm_invocation_ms"]),
            ("cold_notification_ms", TARGET_COLD_NOTIFICATION_MS,
             s["cold_notification_ms_median"])):
        out[key] = {"target": target, "value": value,
                    "met": None if value is None else value <= target}
    return out


def markdown(res: dict) -> str:
    s = res["summary"]
    mach = res["machine"]
    n, m = res["config"]["cold"], res["config"]["warm"]
    stripped = {True: "stripped", False: "NOT stripped", None: "strip state unknown"}[
        s["binary_stripped"]]
    notify = s["cold_notification_ms_median"]
    rows = [
        (f"init (median of {n} cold starts)", f"{s['init_ms_median']:.2f} ms",
         f"≤ {TARGET_INIT_MS:g} ms", fmt_ok(s["init_ms_median"], TARGET_INIT_MS)),
        ("init on-CPU (median; informational)", f"{s['init_on_cpu_ms_median']:.2f} ms", "", ""),
        (f"first invocation (median of {n})", f"{s['first_invocation_ms_median']:.2f} ms", "", ""),
        (f"cold notification (median of {n})",
         "n/a (nothing posted)" if notify is None else f"{notify:.2f} ms",
         f"≤ {TARGET_COLD_NOTIFICATION_MS:g} ms",
         "" if notify is None else fmt_ok(notify, TARGET_COLD_NOTIFICATION_MS)),
        (f"warm p50 ({m} invocations)", f"{s['warm_p50_ms']:.3f} ms", "", ""),
        (f"warm p99 ({m} invocations)", f"{s['warm_p99_ms']:.3f} ms", "", ""),
        ("on-CPU per warm invocation", f"{s['on_cpu_per_warm_invocation_ms']:.4f} ms",
         f"≤ {TARGET_ON_CPU_MS:g} ms", fmt_ok(s["on_cpu_per_warm_invocation_ms"],
                                               TARGET_ON_CPU_MS)),
        ("peak RSS (VmHWM, warm process)", f"{s['peak_rss_mib']:.2f} MiB",
         f"≤ {CHECK_MAX_PEAK_RSS_MIB:g} MiB (gate)",
         fmt_ok(s["peak_rss_mib"], CHECK_MAX_PEAK_RSS_MIB)),
        ("binary size", f"{s['binary_mib']:.2f} MiB ({stripped})",
         f"≤ {CHECK_MAX_BINARY_MIB:g} MiB (gate)", fmt_ok(s["binary_mib"], CHECK_MAX_BINARY_MIB)),
        ("GetSecretValue per warm invocation",
         f"{s['get_secret_value_per_warm_invocation']:g} ({s['get_secret_value_warm']} in {m})",
         "0 (gate)", fmt_ok(s["get_secret_value_per_warm_invocation"], 0)),
        ("GetSecretValue per cold start",
         ", ".join(str(c) for c in s["get_secret_value_per_cold_start"]), "1",
         "yes" if all(c == 1 for c in s["get_secret_value_per_cold_start"]) else "**no**"),
    ]
    if res["config"].get("floor"):
        # Nothing is posted or read: only the on-CPU figure means anything here.
        rows = [(a, b, "", "") for a, b, _, _ in rows
                if not a.startswith(("GetSecretValue per cold", "cold notification"))]
    out = ["| metric | value | target | meets |", "| --- | --- | --- | --- |"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    out.append("")
    out.append(machine_line(mach))
    return "\n".join(out)


def machine_line(mach: dict) -> str:
    return (f"Machine: {mach['machine']}, {mach['nproc']} CPUs, {mach['cpu_model']}, "
            f"kernel {mach['kernel']}; {mach['rustc'] or 'rustc ?'}; "
            f"commit {(mach['git_commit'] or '?')[:12]}; date {mach['date']}; "
            f"load average {mach['loadavg_at_start'][0]:.2f} at start, "
            f"{mach.get('loadavg_at_end', ['?'])[0]} at end")


def markdown_charts(res: dict) -> str:
    """--charts: the two passes side by side."""
    off, on = res["passes"]["off"]["summary"], res["passes"]["on"]["summary"]
    n, m = res["config"]["cold"], res["config"]["warm"]

    def row(label: str, fmt) -> str:
        return f"| {label} | {fmt(off)} | {fmt(on)} |"

    def cold_gmd(s: dict) -> str:
        return f"{sum(s['get_metric_data_per_cold_start'])} in {n} cold starts"

    out = ["| figure | charts off | charts on |", "| --- | --- | --- |",
           row(f"cold notification (median of {n})",
               lambda s: f"{s['cold_notification_ms_median']:.2f} ms"),
           row(f"init (median of {n}; on CPU)",
               lambda s: f"{s['init_ms_median']:.2f} ms ({s['init_on_cpu_ms_median']:.2f} ms)"),
           row(f"first invocation (median of {n})",
               lambda s: f"{s['first_invocation_ms_median']:.2f} ms"),
           row(f"warm p50 ({m} invocations)", lambda s: f"{s['warm_p50_ms']:.3f} ms"),
           row(f"warm p99 ({m} invocations)", lambda s: f"{s['warm_p99_ms']:.3f} ms"),
           row("on-CPU per warm invocation",
               lambda s: f"{s['on_cpu_per_warm_invocation_ms']:.4f} ms"),
           row("peak RSS (VmHWM, warm process)", lambda s: f"{s['peak_rss_mib']:.2f} MiB"),
           row("GetMetricData calls (all invocations)",
               lambda s: f"{s['get_metric_data_calls']} of {s['invocations']} invocations"),
           row("GetMetricData calls (cold starts / warm loop)",
               lambda s: f"{cold_gmd(s)} / {s['get_metric_data_warm']} in {m}"),
           row(f"posts with a `{CHART_BLOCK_TYPE}` block",
               lambda s: f"{s['posts_with_chart']} of {s['slack_posts']}"),
           ""]
    cw = res["cloudwatch"]
    out.append(f"Local CloudWatch (HTTPS, Smithy RPC v2 CBOR): {cw['get_metric_data_calls']} "
               f"GetMetricData calls, {cw['points_answered']} points answered, query ids "
               f"{cw['query_ids']}, {len(cw['refused'])} requests refused.")
    out.append(machine_line(res["machine"]))
    return "\n".join(out)


def check_gates(res: dict) -> list[str]:
    s = res["summary"]
    fails = []
    if s["binary_mib"] > CHECK_MAX_BINARY_MIB:
        fails.append(f"binary size {s['binary_mib']:.2f} MiB > {CHECK_MAX_BINARY_MIB:g} MiB")
    if s["peak_rss_mib"] > CHECK_MAX_PEAK_RSS_MIB:
        fails.append(f"peak RSS {s['peak_rss_mib']:.2f} MiB > {CHECK_MAX_PEAK_RSS_MIB:g} MiB")
    if s["get_secret_value_warm"] > CHECK_MAX_WARM_GET_SECRET_VALUE:
        fails.append(f"{s['get_secret_value_warm']} GetSecretValue call(s) during warm "
                     f"invocations (allowed {CHECK_MAX_WARM_GET_SECRET_VALUE})")
    return fails


def write_json(path: Path, res: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(res, indent=2) + "\n")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Cold-start / warm-invocation benchmark of the slack-alarm-notifier binary "
                    "under a local Lambda Runtime API, moto Secrets Manager and a local Slack.")
    p.add_argument("--cold", type=int, default=DEFAULT_COLD,
                   help=f"cold starts (fresh processes); default {DEFAULT_COLD}, "
                        f"at least {MIN_COLD} unless --check")
    p.add_argument("--warm", type=int, default=DEFAULT_WARM,
                   help=f"warm invocations in one process; default {DEFAULT_WARM}, "
                        f"at least {MIN_WARM} unless --check")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON results file (default bench/results.json; "
                        "bench/results-check.json with --check)")
    p.add_argument("--binary", type=Path, default=None,
                   help="function binary (default target/release/slack-alarm-notifier)")
    p.add_argument("--no-build", action="store_true", help="skip cargo build --release")
    p.add_argument("--floor", action="store_true",
                   help="measure the Lambda loop alone: the same event, filtered out by "
                        "NOTIFY_STATES=OK, so no secret is read and nothing is rendered or "
                        "posted (default output bench/results-floor.json)")
    p.add_argument("--charts", action="store_true",
                   help="run the cold and warm measurements twice, METRIC_CHARTS off then on "
                        "(a local CloudWatch answering GetMetricData), and report them side by "
                        "side; every invocation must read CloudWatch once and post a chart with "
                        "charts on, and neither with them off (default output "
                        "bench/results-charts.json)")
    p.add_argument("--check", action="store_true",
                   help="CI gate: exit 3 if binary > %g MiB, peak RSS > %g MiB or any "
                        "GetSecretValue on warm invocations" % (CHECK_MAX_BINARY_MIB,
                                                                 CHECK_MAX_PEAK_RSS_MIB))
    a = p.parse_args(argv)
    if a.cold < 1 or a.warm < 1:
        p.error("--cold and --warm must be at least 1")
    if not a.check and (a.cold < MIN_COLD or a.warm < MIN_WARM):
        p.error(f"a full run needs --cold >= {MIN_COLD} and --warm >= {MIN_WARM} "
                "(smaller runs are only for --check)")
    if a.floor and a.check:
        p.error("--floor is a measurement, not a gate: use it without --check")
    if a.floor and a.charts:
        p.error("--floor posts nothing, so it draws no chart: use --charts without it")
    if a.out is None:
        name = "results-check.json" if a.check else "results-floor.json" if a.floor else \
            "results-charts.json" if a.charts else "results.json"
        a.out = REPO / "bench" / name
    return a


def default_binary() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR")
    base = Path(target) if target else REPO / "target"
    if not base.is_absolute():
        base = REPO / base
    return base / "release" / BINARY_NAME


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGHUP, _sigterm)
    sys.setswitchinterval(0.0005)  # quicker hand-offs between the emulator's threads
    started = time.monotonic()
    binary = (args.binary or default_binary()).resolve()
    res: dict = {
        "ok": False,
        "config": {"cold": args.cold, "warm": args.warm, "check": args.check,
                   "floor": args.floor,
                   **({"charts": True} if args.charts else {}),
                   "binary": str(binary), "event": str(EVENT_FILE.relative_to(REPO)),
                   "build": not args.no_build},
        "machine": machine_info(),
    }
    moto_server = slack = proxy = bench = cloudwatch = None
    benches: list[Bench] = []  # --charts: one per pass
    tmp = Path(tempfile.mkdtemp(prefix="slack-notifier-bench-"))
    keep_tmp = False
    try:
        if not args.no_build:
            res["build_seconds"] = round(build(binary), 1)
        if not binary.is_file():
            raise BenchError(f"{binary} not found (build it, or pass --binary)")
        size = binary.stat().st_size
        stripped = is_stripped(binary)

        ca = LocalCA(tmp)
        moto_server, moto_port, boto3 = start_moto()
        slack = Slack(ca.server_context(), inspect=args.charts)
        proxy = CountingProxy(moto_port, ca.server_context())
        if args.charts:
            cloudwatch = CloudWatch(ca.server_context())  # HTTPS, as CloudWatch itself
        tls_self_test(ca, slack, proxy, cloudwatch)
        create_secret(boto3, moto_port, slack.url)
        home = tmp / "home"
        home.mkdir()
        env = function_env(home, proxy.url, ca.ca_file)
        if args.floor:
            env["NOTIFY_STATES"] = "OK"
        if not args.charts:
            bench = Bench(binary, env, slack, proxy, tmp, time.monotonic() + TOTAL_BUDGET_S,
                          floor=args.floor)
            res.update(measure(args, bench, slack, size, stripped))
            res["secretsmanager_requests_by_target"] = dict(proxy.by_target)
            res["targets"] = targets(res["summary"])
            res["tls"] = {"ca_file": "ca.pem (made at start, passed as SSL_CERT_FILE)",
                          "slack": slack.server.tls_summary(),
                          "secretsmanager_proxy": proxy.server.tls_summary()}
        else:
            # The same measurements twice, the environment differing only in METRIC_CHARTS:
            # both passes point CloudWatch at the local one (the "off" pass must not call it).
            env["AWS_ENDPOINT_URL_CLOUDWATCH"] = cloudwatch.url
            res["passes"] = {}
            for name, on in (("off", False), ("on", True)):
                pass_env = dict(env, METRIC_CHARTS="true" if on else "false")
                bench = Bench(binary, pass_env, slack, proxy, tmp,
                              time.monotonic() + TOTAL_BUDGET_S, cloudwatch=cloudwatch,
                              charts=on, label=f"charts-{name}-")
                benches.append(bench)
                print(f"-- charts {name} (METRIC_CHARTS={pass_env['METRIC_CHARTS']})", flush=True)
                gmd0 = cloudwatch.counts()[0]
                charted0 = slack.chart_count()
                p = measure(args, bench, slack, size, stripped)
                s = p["summary"]
                s["get_metric_data_calls"] = cloudwatch.counts()[0] - gmd0
                s["get_metric_data_per_cold_start"] = [c["get_metric_data"]
                                                       for c in p["cold_starts"]]
                s["get_metric_data_warm"] = p["warm_process"]["get_metric_data_warm"]
                s["posts_with_chart"] = slack.chart_count() - charted0
                # Asserted per invocation too (Bench.invoke_checked); again here, in total.
                want = s["invocations"] if on else 0
                if s["get_metric_data_calls"] != want or s["posts_with_chart"] != want:
                    raise BenchError(
                        f"charts {name}: {s['get_metric_data_calls']} GetMetricData calls and "
                        f"{s['posts_with_chart']} posts with a {CHART_BLOCK_TYPE} block for "
                        f"{s['invocations']} invocations, expected {want} and {want}")
                if on and s["get_metric_data_calls"] <= 0:
                    raise BenchError("charts on: no GetMetricData call was made")
                p["targets"] = targets(s)
                res["passes"][name] = p
            refused = cloudwatch.summary()["refused"]
            if refused:
                raise BenchError(f"the local CloudWatch refused {len(refused)} request(s), "
                                 f"first: {refused[0]}")
            res["cloudwatch"] = cloudwatch.summary()
            res["sample_chart_block"] = slack.first_chart
            res["secretsmanager_requests_by_target"] = dict(proxy.by_target)
            res["tls"] = {"ca_file": "ca.pem (made at start, passed as SSL_CERT_FILE)",
                          "slack": slack.server.tls_summary(),
                          "secretsmanager_proxy": proxy.server.tls_summary(),
                          "cloudwatch": cloudwatch.server.tls_summary()}
        res["ok"] = True
        if not args.charts:
            gates = check_gates(res) if args.check else []
        else:  # every gate, on each pass
            gates = [f"charts {name}: {g}" for name, p in res["passes"].items()
                     for g in (check_gates(p) if args.check else [])]
        res["check"] = {"enabled": args.check, "failures": gates,
                        "thresholds": {"binary_mib": CHECK_MAX_BINARY_MIB,
                                       "peak_rss_mib": CHECK_MAX_PEAK_RSS_MIB,
                                       "warm_get_secret_value": CHECK_MAX_WARM_GET_SECRET_VALUE}}
        res["wall_seconds"] = round(time.monotonic() - started, 1)
        res["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        write_json(args.out, res)
        print()
        print(markdown_charts(res) if args.charts else markdown(res))
        print(f"\nraw figures: {args.out}")
        if args.check:
            if gates:
                for g in gates:
                    print(f"CHECK FAILED: {g}", file=sys.stderr)
                return 3
            print("check passed (binary size, peak RSS, no GetSecretValue on warm invocations, "
                  "every invocation succeeded)")
        return 0
    except BenchError as e:
        keep_tmp = True
        res["error"] = str(e)
        res["wall_seconds"] = round(time.monotonic() - started, 1)
        try:
            write_json(args.out, res)
        except OSError:
            pass
        print(f"BENCHMARK FAILED: {e}\n(function logs kept in {tmp})", file=sys.stderr)
        return 1
    finally:
        for b in benches if benches else [bench]:
            if b is not None:
                b.stop_all()
        for srv in (proxy, slack, cloudwatch):
            if srv is not None:
                srv.server.stop()
        if moto_server is not None:
            try:
                moto_server.stop()
            except Exception as e:
                print(f"warning: stopping moto: {e}", file=sys.stderr)
        if not keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
