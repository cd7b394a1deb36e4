#!/usr/bin/env python3
"""Local AWS and a local Slack, for running the function with no AWS account or Slack workspace.

Starts moto's server (Secrets Manager, and DynamoDB in app mode) on a free loopback port,
stores a secret in it that points at a local Slack served by this script on another free
loopback port, and prints the environment the function needs. The local Slack answers like
Slack and prints every message it receives. Runs until Ctrl-C (or SIGTERM), then stops moto.

    .venv/bin/python scripts/local-aws.py            # a webhook, as in webhook mode
    .venv/bin/python scripts/local-aws.py --app      # a bot token and a channel (app mode)

moto comes from tests/requirements.txt (`bash scripts/test-all.sh` installs it into .venv).
Run with another Python, the script restarts itself with .venv/bin/python when moto is missing.
Everything listens on 127.0.0.1 only. Standard library only, besides moto's server.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A webhook path shaped like Slack's (/services/T…/B…/…); the host is the local Slack.
WEBHOOK_PATH = "/services/TLOCAL000/BLOCAL000/local-webhook-secret"
# App mode: a bot token and a channel ID of the shapes the function accepts.
BOT_TOKEN = "xoxb-000000000000-000000000000-LocalSlackToken0000"
CHANNEL = "C0LOCAL000"
CHANNEL_NAME = "local-alerts"
SCOPES = "chat:write,channels:read"
MOTO_READY_SECONDS = 60
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")
# Everything here is on loopback: never through a proxy the environment names.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A loopback port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_moto() -> None:
    """Restarts under the repository's .venv when this Python has no moto; else says how."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        venv = ROOT / ".venv" / "bin" / "python"
        # A venv's python is often a symlink to the system's: tell them apart by sys.prefix.
        if venv.is_file() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
            os.execv(str(venv), [str(venv), str(Path(__file__).resolve()), *sys.argv[1:]])
        sys.exit(
            "error: moto is not installed for this Python. Install it with\n"
            "  python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt\n"
            "(or run `bash scripts/test-all.sh` once), then run\n"
            "  .venv/bin/python scripts/local-aws.py"
        )


def die_with_parent() -> None:
    """In the child, before moto starts: on Linux, end it if this script dies without stopping it
    (a SIGKILL, say). Elsewhere a killed script may leave moto running."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Moto:
    """moto's server as a child process in its own session, so Ctrl-C reaches only this script,
    which then stops moto itself."""

    def __init__(self, port: int, log: Path):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def wait_ready(self, stop: threading.Event) -> None:
        deadline = time.monotonic() + MOTO_READY_SECONDS
        while time.monotonic() < deadline and not stop.is_set():
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto's server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with DIRECT.open(f"{self.url}/moto-api/", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        if stop.is_set():
            raise RuntimeError("stopped before moto's server was ready")
        raise RuntimeError(f"moto's server did not answer within {MOTO_READY_SECONDS} s:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])

    def call(self, service: str, target: str, content_type: str, region: str, body: dict) -> dict:
        """One JSON-protocol call. The Authorization header is not a real signature: moto reads
        only its credential scope, which names the service and the region."""
        request = urllib.request.Request(
            self.url + "/",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Amz-Target": target,
                "Authorization": (
                    f"AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/{service}/aws4_request, "
                    "SignedHeaders=content-type;host;x-amz-target, Signature=0"
                ),
            },
        )
        try:
            with DIRECT.open(request, timeout=30) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"moto answered {target} with HTTP {e.code}: {e.read()[:500]!r}") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Slack:
    """A local Slack: an incoming webhook, and with `app` the Web API methods the function calls."""

    def __init__(self, show_json: bool, app: bool):
        self.show_json = show_json
        self.app = app
        self.lock = threading.Lock()
        self.count = 0
        self.last_ts = 0.0
        slack = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, content_type, answer, headers = slack.answer(self, body)
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # the messages are printed instead
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def say(self, lines: list[str]) -> None:
        with self.lock:
            try:
                print("\n".join(lines), flush=True)
            except OSError:  # nobody reads our output any more (a closed pipe): answer all the same
                pass

    def show(self, what: str, message: dict) -> None:
        """Prints one received message: its number, what it was, its `text`, and with --json all."""
        with self.lock:
            self.count += 1
            number = self.count
        stamp = time.strftime("%H:%M:%S")
        lines = [f"[local Slack {stamp}] message {number}: {what}"]
        text = message.get("text")
        lines.append(f"  text: {text}" if isinstance(text, str) else "  (no top-level text)")
        blocks = message.get("blocks") if isinstance(message.get("blocks"), list) else []
        attachments = message.get("attachments") if isinstance(message.get("attachments"), list) else []
        headers = [b["text"]["text"] for b in blocks
                   if isinstance(b, dict) and b.get("type") == "header" and isinstance(b.get("text"), dict)
                   and isinstance(b["text"].get("text"), str)]
        if headers:
            lines.append(f"  header: {headers[0]}")
        plural = lambda n, word: f"{n} {word}" + ("" if n == 1 else "s")  # noqa: E731
        lines.append(f"  {plural(len(blocks), 'block')}, {plural(len(attachments), 'attachment')}"
                     + ("" if self.show_json else " (--json prints the whole message)"))
        if self.show_json:
            lines.append(json.dumps(message, indent=2, ensure_ascii=False))
        self.say(lines)

    def answer(self, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, str, str, dict]:
        path = urllib.parse.urlsplit(request.path).path
        if path == WEBHOOK_PATH:
            return self.webhook(body)
        if self.app and path.startswith("/api/"):
            return self.web_api(path.removeprefix("/api/"), request, body)
        # What Slack answers for a webhook URL it does not know.
        return 404, "text/plain", "no_service", {}

    def webhook(self, body: bytes) -> tuple[int, str, str, dict]:
        try:
            message = json.loads(body)
        except ValueError:
            return 400, "text/plain", "invalid_payload", {}
        if not isinstance(message, dict):
            return 400, "text/plain", "invalid_payload", {}
        if not any(message.get(k) for k in ("text", "blocks", "attachments")):
            # What Slack answers to an empty message, the one `check` posts.
            self.say([f"[local Slack {time.strftime('%H:%M:%S')}] an empty message (as `check` sends): answered 400 no_text"])
            return 400, "text/plain", "no_text", {}
        self.show("webhook", message)
        return 200, "text/plain", "ok", {}

    def next_ts(self) -> str:
        with self.lock:
            self.last_ts = max(time.time(), self.last_ts + 0.000001)
            return f"{self.last_ts:.6f}"

    def web_api(self, method: str, request: BaseHTTPRequestHandler, body: bytes) -> tuple[int, str, str, dict]:
        def reply(answer: dict, headers: dict | None = None) -> tuple[int, str, str, dict]:
            return 200, "application/json; charset=utf-8", json.dumps(answer), headers or {}

        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return reply({"ok": False, "error": "invalid_auth"})
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            try:
                args = json.loads(body or b"{}")
            except ValueError:
                return reply({"ok": False, "error": "invalid_json"})
        else:
            args = dict(urllib.parse.parse_qsl(body.decode(errors="replace")))
        if not isinstance(args, dict):
            return reply({"ok": False, "error": "invalid_arguments"})
        channel = args.get("channel", CHANNEL)
        if method == "chat.postMessage":
            ts = self.next_ts()
            thread = args.get("thread_ts")
            self.show(f"chat.postMessage ts {ts}" + (f", reply in thread {thread}" if thread else ""), args)
            return reply({"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts, "text": args.get("text", "")}})
        if method == "chat.update":
            self.show(f"chat.update of ts {args.get('ts')}", args)
            return reply({"ok": True, "channel": channel, "ts": args.get("ts"), "text": args.get("text", "")})
        if method == "auth.test":
            return reply(
                {"ok": True, "url": f"{self.url}/", "team": "Local Slack", "team_id": "TLOCAL000",
                 "user": "alarms", "user_id": "ULOCAL000", "bot_id": "BLOCAL000"},
                {"X-OAuth-Scopes": SCOPES},
            )
        if method == "conversations.info":
            return reply({"ok": True, "channel": {"id": channel, "name": CHANNEL_NAME, "is_member": True,
                                                  "is_archived": False, "is_private": False}})
        self.say([f"[local Slack {time.strftime('%H:%M:%S')}] {method}: not served here, answered unknown_method"])
        return reply({"ok": False, "error": "unknown_method"})


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Local AWS (moto) and a local Slack for the function, on loopback, until Ctrl-C.",
    )
    parser.add_argument("--app", action="store_true",
                        help="app mode: the secret holds a bot token and a channel, the local Slack serves "
                             "chat.postMessage, chat.update, auth.test and conversations.info, and a threads "
                             "table is created in moto's DynamoDB")
    parser.add_argument("--json", action="store_true", help="print each message's whole JSON, not just its text")
    parser.add_argument("--secret-id", default="slack/webhook", help="the secret's name (default: %(default)s)")
    parser.add_argument("--region", default="us-east-1", help="the region for moto and the function (default: %(default)s)")
    parser.add_argument("--runtime-port", type=int, default=9000,
                        help="the port `cargo lambda watch -P` listens on, for the printed commands (default: %(default)s)")
    parser.add_argument("--secret-file", type=Path,
                        help="also write the secret's value to this file, for `--secret-file` (default: a temporary "
                             "file, printed); removed on exit")
    parser.add_argument("--env-file", type=Path,
                        help="also write the function's variables (not the AWS_LAMBDA_ ones) to this file, one "
                             "KEY=VALUE a line, for `cargo lambda watch --env-file` or `set -a; . FILE`")
    args = parser.parse_args()
    ensure_moto()

    workdir = Path(tempfile.mkdtemp(prefix="local-aws-"))
    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    secret_file = args.secret_file or workdir / "secret.json"
    slack = Slack(show_json=args.json, app=args.app)
    moto = Moto(free_port(), workdir / "moto.log")
    try:
        slack.start()
        moto.wait_ready(stop)
        if args.app:
            secret = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_CHANNEL": CHANNEL}
        else:
            secret = {"SLACK_HOOK_URL": slack.url + WEBHOOK_PATH}
        moto.call("secretsmanager", "secretsmanager.CreateSecret", "application/x-amz-json-1.1", args.region,
                  {"Name": args.secret_id, "SecretString": json.dumps(secret)})
        secret_file.write_text(json.dumps(secret))

        function_env = {
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_REGION": args.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "SecretId": args.secret_id,
            "SLACK_WEBHOOK_HOSTS": "127.0.0.1",
        }
        if any(os.environ.get(v) for v in PROXY_VARIABLES):
            # The function honours the proxy variables; loopback must not go through them.
            function_env["NO_PROXY"] = "127.0.0.1,localhost"
        if args.app:
            table = "slack-alarm-threads"
            moto.call("dynamodb", "DynamoDB_20120810.CreateTable", "application/x-amz-json-1.0", args.region, {
                "TableName": table,
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            })
            function_env |= {
                "SLACK_API_URL": f"{slack.url}/api/",
                "SLACK_API_HOSTS": "127.0.0.1",
                "THREADS_TABLE": table,
                # moto has no GetMetricWidgetImage, so there is no graph to draw locally.
                "METRIC_GRAPHS": "false",
            }
        lambda_env = {
            "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{args.runtime_port}/.rt",
            "AWS_LAMBDA_FUNCTION_NAME": "slack-alarm-notifier",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
        }
        if args.env_file:
            args.env_file.write_text("".join(f"{k}={v}\n" for k, v in function_env.items()))

        def exports(env: dict) -> list[str]:
            return [f"export {k}={shlex.quote(v)}" for k, v in env.items()]

        port = args.runtime_port
        mode = "app mode: a bot token and a channel" if args.app else "a webhook"
        where = f"{slack.url}/api/" if args.app else slack.url + WEBHOOK_PATH
        print("\n".join([
            f"Local AWS (moto) at {moto.url}, region {args.region}: secret {args.secret_id!r} holds {mode}.",
            f"Local Slack at {where} (the secret's value is also in {secret_file}).",
            "",
            "The function's variables, for terminal 3 below, and for `check` and `send` in any terminal:",
            *("  " + line for line in exports(function_env)),
            "",
            "Terminal 2, the Runtime API emulator:",
            f"  cargo lambda watch --only-lambda-apis --invoke-address 127.0.0.1 -P {port}",
            "",
            "Terminal 3, the function: the variables above, and",
            *("  " + line for line in exports(lambda_env)),
            "  cargo run --release",
            "",
            "Terminal 4, an event:",
            f"  cargo lambda invoke --invoke-address 127.0.0.1 -P {port} --data-file events/sns-alarm.json",
            "",
            "Or without the emulator, in a terminal with the function's variables (not the AWS_LAMBDA_ ones):",
            "  cargo run --release -- check",
            "  cargo run --release -- send events/sns-alarm.json",
            "",
            "Messages posted to the local Slack appear below, in this terminal (terminal 1).",
            "Ctrl-C here stops moto and the local Slack.",
            "",
        ]), flush=True)

        while not stop.wait(0.5):
            if moto.proc.poll() is not None:
                print(f"error: moto's server exited with {moto.proc.returncode}:\n{moto.tail()}", file=sys.stderr)
                return 1
        try:
            print("stopping", flush=True)
        except OSError:
            pass
        return 0
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        moto.stop()
        slack.stop()
        secret_file.unlink(missing_ok=True)
        for leftover in workdir.iterdir():
            leftover.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    sys.exit(main())
