#!/usr/bin/env python3
"""Tests scripts/local-aws.py as a newcomer uses it: start it, read the variables it prints,
post to its local Slack (by hand, and with the function's `send`), stop it with Ctrl-C.

    .venv/bin/python scripts/test_local_aws.py

`send` runs the binary named by SLACK_ALARM_NOTIFIER_BIN (scripts/test-all.sh sets it to the
debug build `cargo test` made); without it, the binary in target/debug is used if there is one,
else those tests are skipped (and say so).
"""

from __future__ import annotations

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
import unittest
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "local-aws.py"
READY = "Messages posted to the local Slack appear below"
START_LIMIT = 90  # moto's server starts in a few seconds; the machine may be busy
WAIT_LIMIT = 30


def binary() -> Path | None:
    named = os.environ.get("SLACK_ALARM_NOTIFIER_BIN")
    if named:
        return Path(named)  # named on purpose: a missing file fails the test
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    found = target / "debug" / "slack-alarm-notifier"
    return found if found.is_file() else None


class LocalAws:
    """scripts/local-aws.py running, its output collected line by line."""

    def __init__(self, *args: str):
        self.dir = Path(tempfile.mkdtemp(prefix="test-local-aws-"))
        self.secret_file = self.dir / "secret.json"
        self.proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--secret-file", str(self.secret_file), *args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.ended = False  # the script closed its output (it exited)
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(READY, START_LIMIT)
        self.env = {}
        for line in self.output().splitlines():
            if line.strip().startswith("export "):
                key, _, value = shlex.split(line.strip())[1].partition("=")
                self.env[key] = value

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def output(self) -> str:
        with self.changed:
            return "".join(self.lines)

    def wait_for(self, text: str, limit: float = WAIT_LIMIT) -> str:
        deadline = time.monotonic() + limit
        with self.changed:
            while text not in "".join(self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    break
                self.changed.wait(min(left, 0.5))
            out = "".join(self.lines)
        if text not in out:
            raise AssertionError(f"{text!r} not printed within {limit} s; the script printed:\n{out}")
        return out

    def interrupt(self) -> int:
        """Ctrl-C, as in a terminal; the script's exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=WAIT_LIMIT)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # the script stops moto on SIGTERM as on Ctrl-C
            try:
                self.proc.wait(timeout=WAIT_LIMIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        for leftover in self.dir.iterdir():
            leftover.unlink()
        self.dir.rmdir()

    def function_env(self) -> dict:
        """This process's environment with the printed variables, less the Lambda ones (so the
        binary runs as the command-line tool) and any proxy or AWS profile of the caller."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "SLACK_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"))
               and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env |= {k: v for k, v in self.env.items() if not k.startswith("AWS_LAMBDA_")}
        env["NO_PROXY"] = "127.0.0.1,localhost"
        return env


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy


def post(url: str, body: bytes, headers: dict) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with DIRECT.open(request, timeout=10) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def aws(env: dict, service: str, target: str, content_type: str, body: dict) -> dict:
    """A JSON-protocol call to moto in the printed region (moto reads the region from the
    credential scope; the signature itself is not checked)."""
    status, answer, _ = post(env["AWS_ENDPOINT_URL"] + "/", json.dumps(body).encode(), {
        "Content-Type": content_type,
        "X-Amz-Target": target,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={env['AWS_ACCESS_KEY_ID']}/20260101/"
                         f"{env['AWS_REGION']}/{service}/aws4_request, SignedHeaders=host, Signature=0",
    })
    if status != 200:
        raise AssertionError(f"moto answered {target} with {status}: {answer[:300]!r}")
    return json.loads(answer)


def secret_value(env: dict) -> dict:
    answer = aws(env, "secretsmanager", "secretsmanager.GetSecretValue", "application/x-amz-json-1.1",
                 {"SecretId": env["SecretId"]})
    return json.loads(answer["SecretString"])


def refuses_connections(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        return False
    except OSError:
        return True


class WebhookMode(unittest.TestCase):
    local: LocalAws

    @classmethod
    def setUpClass(cls) -> None:
        cls.local = LocalAws()
        cls.addClassCleanup(cls.local.close)

    def test_prints_every_variable_the_function_needs(self) -> None:
        env = self.local.env
        for key in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                    "SecretId", "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION"):
            self.assertTrue(env.get(key), f"{key} not printed:\n{self.local.output()}")
        self.assertEqual(env["SLACK_WEBHOOK_HOSTS"], "127.0.0.1")
        self.assertTrue(env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:"), env["AWS_ENDPOINT_URL"])
        self.assertEqual(env["AWS_LAMBDA_RUNTIME_API"], "http://127.0.0.1:9000/.rt")
        self.assertIn("cargo lambda watch --only-lambda-apis --invoke-address 127.0.0.1 -P 9000", self.local.output())

    def test_the_secret_names_the_local_slack_which_answers_and_prints_like_slack(self) -> None:
        hook = secret_value(self.local.env)["SLACK_HOOK_URL"]
        self.assertTrue(hook.startswith("http://127.0.0.1:"), hook)
        self.assertEqual(json.loads(self.local.secret_file.read_text()), {"SLACK_HOOK_URL": hook})

        status, body, _ = post(hook, json.dumps({"text": "a test message 7f3a", "blocks": []}).encode(),
                               {"Content-Type": "application/json"})
        self.assertEqual((status, body), (200, b"ok"))
        self.local.wait_for("text: a test message 7f3a")

        # What `check` sends, and what Slack answers to it.
        status, body, _ = post(hook, b"{}", {"Content-Type": "application/json"})
        self.assertEqual((status, body), (400, b"no_text"))
        status, body, _ = post(hook.rsplit("/", 1)[0] + "/other", b'{"text":"x"}', {})
        self.assertEqual((status, body), (404, b"no_service"))

    def test_send_and_check_with_the_printed_variables(self) -> None:
        exe = binary()
        if exe is None:
            self.skipTest("no slack-alarm-notifier binary (set SLACK_ALARM_NOTIFIER_BIN or run cargo build)")
        env = self.local.function_env()
        sent = subprocess.run([str(exe), "send", "events/sns-alarm.json"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(sent.returncode, 0, sent.stderr)
        self.assertEqual(json.loads(sent.stdout)["delivered"], 1, sent.stdout)
        self.local.wait_for("text: prod-web-1-cpu-high state is now ALARM")

        checked = subprocess.run([str(exe), "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                                 timeout=60)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)

        # --secret-file needs no AWS at all.
        offline = {k: v for k, v in env.items() if not k.startswith("AWS_") and k != "SecretId"}
        sent = subprocess.run([str(exe), "send", "events/sns-ok.json", "--secret-file", str(self.local.secret_file)],
                              cwd=ROOT, env=offline, capture_output=True, text=True, timeout=60)
        self.assertEqual(sent.returncode, 0, sent.stderr)
        self.local.wait_for("text: prod-web-1-cpu-high state is now OK")


class Stopping(unittest.TestCase):
    def setUp(self) -> None:
        self.local = LocalAws()
        self.addCleanup(self.local.close)

    def test_ctrl_c_stops_moto_and_the_local_slack(self) -> None:
        hook = secret_value(self.local.env)["SLACK_HOOK_URL"]
        self.assertEqual(self.local.interrupt(), 0, self.local.output())
        self.assertTrue(refuses_connections(self.local.env["AWS_ENDPOINT_URL"]), "moto still listens")
        self.assertTrue(refuses_connections(hook.split("/services/")[0]), "the local Slack still listens")
        self.assertFalse(self.local.secret_file.exists(), "the secret file was left behind")


class AppMode(unittest.TestCase):
    local: LocalAws
    env: dict

    @classmethod
    def setUpClass(cls) -> None:
        cls.local = LocalAws("--app")
        cls.addClassCleanup(cls.local.close)
        cls.env = cls.local.env

    def api(self, method: str, body: dict, token: str | None = None) -> tuple[dict, dict]:
        token = token or secret_value(self.env)["SLACK_BOT_TOKEN"]
        status, answer, headers = post(self.env["SLACK_API_URL"] + method, json.dumps(body).encode(), {
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {token}",
        })
        self.assertEqual(status, 200)
        return json.loads(answer), headers

    def test_the_web_api_answers_like_slack(self) -> None:
        secret = secret_value(self.env)
        self.assertTrue(secret["SLACK_BOT_TOKEN"].startswith("xoxb-"))
        self.assertEqual(self.env["SLACK_API_HOSTS"], "127.0.0.1")
        self.assertTrue(self.env["SLACK_API_URL"].startswith("http://127.0.0.1:"))

        answer, _ = self.api("chat.postMessage", {"channel": secret["SLACK_CHANNEL"], "text": "an app message 51c2"})
        self.assertIs(answer["ok"], True, answer)
        self.assertEqual(answer["channel"], secret["SLACK_CHANNEL"])
        self.assertRegex(answer["ts"], r"^\d+\.\d{6}$")
        self.local.wait_for("text: an app message 51c2")

        answer, _ = self.api("chat.postMessage", {"channel": secret["SLACK_CHANNEL"], "text": "x"}, token="xoxb-wrong")
        self.assertEqual(answer, {"ok": False, "error": "invalid_auth"})
        answer, headers = self.api("auth.test", {})
        self.assertIs(answer["ok"], True)
        self.assertIn("chat:write", headers.get("X-OAuth-Scopes", ""))

    def test_a_threads_table_is_there(self) -> None:
        table = aws(self.env, "dynamodb", "DynamoDB_20120810.DescribeTable", "application/x-amz-json-1.0",
                    {"TableName": self.env["THREADS_TABLE"]})["Table"]
        self.assertEqual(table["KeySchema"], [{"AttributeName": "pk", "KeyType": "HASH"}])

    def test_send_and_check_in_app_mode(self) -> None:
        exe = binary()
        if exe is None:
            self.skipTest("no slack-alarm-notifier binary (set SLACK_ALARM_NOTIFIER_BIN or run cargo build)")
        env = self.local.function_env()
        checked = subprocess.run([str(exe), "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                                 timeout=60)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        sent = subprocess.run([str(exe), "send", "events/sns-alarm.json"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(sent.returncode, 0, sent.stderr)
        out = self.local.wait_for("text: prod-web-1-cpu-high state is now ALARM")
        self.assertIn("chat.postMessage", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
