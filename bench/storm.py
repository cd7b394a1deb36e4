#!/usr/bin/env python3
"""Alarm-storm benchmark: the release binary under a rate-limited local Slack.

Usage:
    python3 bench/storm.py [--case both|queue|sns|routed] [--out bench/results-storm.json]
                           [--binary PATH] [--no-build] [--sns-max-instances N]
                           [--retry-delays 60,120 | --no-retries]
    python3 bench/storm.py --case routed [--batch-size 1000] [--batching-window 10]
                           [--instances 2] [--timeout 30] [--arrival-seconds 1]
                           [--function-env NAME=VALUE ...]   (bench/storm_routed.py)

Two storms, on the servers of bench/run.py (local CA, moto behind the counting proxy, one
Runtime API emulator per function process), with a local Slack that accepts at most one
message per second and answers 429 with `Retry-After: 1` beyond that:

  queue: 1,000 alarms in SQS batches of 100, one batch a second for 10 s, handed to two warm
         instances (the event source mapping's maximum concurrency), timeout 60 s;
  sns:   60 alarms, one SNS event each, one every 50 ms, each to an idle instance or a new one
         (up to --sns-max-instances), timeout 30 s; a failed invocation is retried as Lambda
         retries asynchronous invocations (twice, 1 and 2 minutes after the failure).

Figures per storm: time from the first submission until the last alarm is in Slack, messages
Slack accepted, 429 answers, invocations and failed ones, billed function-seconds. See
bench/README.md ("Storms") for every definition. Takes about 2½ minutes with Lambda's retry
delays (4½ if a second retry is needed); run by hand, not part of --check or CI.

`--case routed` runs the routed storm of issue 21 alone (10,000 alarms over 10 routes, app
mode, a local Slack Web API that accepts one message per second per channel): see
bench/storm_routed.py and bench/README.md ("Routed storm"); its exit status is 1 when any of
its checks fails.

Exit status: 0 = measured, and the queue storm delivered every alarm; 1 = an alarm of the
queue storm was not named in an accepted message, a record was reported failed, an
invocation of the queue storm failed, or the benchmark could not measure; 2 = bad command line.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import run
import storm_routed
from run import BenchError, Handler, Server, now_ns

# --------------------------------------------------------------------------------------------
# The two storms
# --------------------------------------------------------------------------------------------
QUEUE_ALARMS = 1000
QUEUE_BATCH = 100                  # records per SQS batch (the event source mapping's BatchSize)
QUEUE_SUBMIT_INTERVAL_S = 1.0      # one batch a second: 10 batches over 10 s
QUEUE_INSTANCES = 2                # the event source mapping's maximum concurrency
QUEUE_TIMEOUT_S = 60

SNS_ALARMS = 60
SNS_INTERVAL_S = 0.05              # one SNS delivery every 50 ms
SNS_MAX_INSTANCES = 60             # one instance per concurrent delivery, up to this many
SNS_TIMEOUT_S = 30
SNS_RETRY_DELAYS_S = (60.0, 120.0)  # Lambda's two retries of an asynchronous invocation

SLACK_MIN_INTERVAL_NS = 1_000_000_000  # the local Slack accepts one message a second
SLACK_RETRY_AFTER = "1"
RATE_WINDOW_GAP_S = 1.5  # after the last accepted post, before a storm starts
LEAD_S = 0.2             # from scheduling the submissions to the first one
CASE_BUDGET_S = {"queue": 240.0, "sns": 900.0}  # a storm still running after this fails the run

STATES = ["ALARM"] * 6 + ["OK", "OK", "INSUFFICIENT_DATA", "ALARM"]
ACCOUNTS = ["123456789012", "210987654321", "555555555555"]
NAMESPACES = ["AWS/EC2", "AWS/Lambda", "AWS/RDS", "AWS/ApplicationELB"]
TOPIC_ARN = f"arn:aws:sns:{run.REGION}:{run.ACCOUNT}:alarms"
QUEUE_ARN = f"arn:aws:sqs:{run.REGION}:{run.ACCOUNT}:slack-alarm-notifier-queue"


# --------------------------------------------------------------------------------------------
# Events (the shapes of tests/e2e/support/mod.rs)
# --------------------------------------------------------------------------------------------
def alarm_message(name: str, state: str, account: str, namespace: str, time_: str) -> str:
    return json.dumps({
        "AlarmName": name,
        "AlarmDescription": None,
        "AWSAccountId": account,
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 1 datapoint [95.0] was greater than the "
                          "threshold (80.0).",
        "StateChangeTime": time_,
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{run.REGION}:{account}:alarm:{name}",
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "Errors", "Namespace": namespace, "Statistic": "SUM",
                    "Period": 60, "EvaluationPeriods": 1,
                    "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1.0,
                    "Dimensions": []},
    })


def storm_alarm(prefix: str, i: int) -> tuple[str, str]:
    """Alarm number `i` of a storm: distinct name, and state, account and namespace in turn."""
    name = f"{prefix}-{i:04d}"
    return name, alarm_message(name, STATES[i % len(STATES)], ACCOUNTS[i % len(ACCOUNTS)],
                               NAMESPACES[i % len(NAMESPACES)],
                               f"2026-11-20T08:{i // 60 % 60:02d}:{i % 60:02d}.000+0000")


def sns_envelope(message_id: str, subject: str, message: str) -> str:
    """An SNS notification as SNS delivers it to a subscribed queue (raw delivery off)."""
    return json.dumps({
        "Type": "Notification", "MessageId": message_id, "TopicArn": TOPIC_ARN,
        "Subject": subject, "Message": message, "Timestamp": "2026-11-20T08:15:31.123Z",
        "SignatureVersion": "1", "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    })


def sqs_event(records: list[tuple[str, str]]) -> bytes:
    """An SQS event with one record per (messageId, body)."""
    return json.dumps({"Records": [{
        "messageId": mid, "receiptHandle": f"AQEB{mid}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795594531123",
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                       "ApproximateFirstReceiveTimestamp": "1795594531130"},
        "messageAttributes": {}, "md5OfBody": "0", "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN, "awsRegion": run.REGION,
    } for mid, body in records]}, separators=(",", ":")).encode()


def sns_event(message_id: str, subject: str, message: str) -> bytes:
    """An SNS event with one record, as SNS invokes a subscribed function."""
    return json.dumps({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": f"{TOPIC_ARN}:sub",
        "Sns": {"Type": "Notification", "MessageId": message_id, "TopicArn": TOPIC_ARN,
                "Subject": subject, "Message": message,
                "Timestamp": "2026-11-20T08:15:31.123Z", "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {}},
    }]}, separators=(",", ":")).encode()


# --------------------------------------------------------------------------------------------
# A local Slack that accepts one message a second
# --------------------------------------------------------------------------------------------
class RateLimitedSlackHandler(Handler):
    def do_POST(self) -> None:
        body = self.read_body()
        slack: RateLimitedSlack = self.server.owner
        if self.path != run.SLACK_PATH:
            self.reply(404, b"no_service", content_type="text/html")
            return
        try:
            ok = isinstance(json.loads(body), dict)
        except ValueError:
            ok = False
        with slack.lock:
            received = now_ns()  # the whole request is in
            if not ok:
                status = 400
                slack.bad_posts += 1
            elif slack.last_accepted_ns is not None and \
                    received - slack.last_accepted_ns < SLACK_MIN_INTERVAL_NS:
                status = 429
            else:
                status = 200
                slack.last_accepted_ns = received
            slack.posts.append((received, status, body))
        if status == 200:
            self.reply(200, b"ok", content_type="text/html")
        elif status == 429:
            self.reply(429, b"rate_limited", {"Retry-After": SLACK_RETRY_AFTER},
                       content_type="text/html")
        else:
            self.reply(400, b"invalid_payload", content_type="text/html")

    def do_GET(self) -> None:
        self.reply(404, b"no_service", content_type="text/html")


class RateLimitedSlack:
    def __init__(self, tls):
        self.lock = threading.Lock()
        self.posts: list[tuple[int, int, bytes]] = []  # (received ns, status, body)
        self.bad_posts = 0
        self.last_accepted_ns: int | None = None  # kept across resets: the limit carries on
        self.server = Server(RateLimitedSlackHandler, self, tls).start()

    @property
    def url(self) -> str:
        return f"{self.server.scheme}://127.0.0.1:{self.server.port}{run.SLACK_PATH}"

    def take(self) -> list[tuple[int, int, bytes]]:
        """Every POST since the last call, and forget them."""
        with self.lock:
            posts, self.posts = self.posts, []
            return posts

    def wait_rate_window(self) -> None:
        """Sleeps until the last accepted post is RATE_WINDOW_GAP_S old."""
        with self.lock:
            last = self.last_accepted_ns
        if last is not None:
            left = (last - now_ns()) / 1e9 + RATE_WINDOW_GAP_S
            if left > 0:
                time.sleep(left)


# --------------------------------------------------------------------------------------------
# Lambda's side: events in, instances out
# --------------------------------------------------------------------------------------------
class Job:
    """One event as Lambda holds it: delivered to an instance, and again on a retry."""

    def __init__(self, key: str, body: bytes, names: list[str], records: list[str]):
        self.key, self.body, self.names, self.records = key, body, names, records
        self.attempts = 0
        self.outcome: str | None = None  # the last attempt's: response, error, timeout, died


class Pool:
    """Hands due events to idle instances, starts a new instance (a cold start, the event
    queued before the spawn) while fewer than `cap` exist, and otherwise keeps the event
    waiting. Each instance runs one invocation at a time, under a timeout: an instance that
    has not answered by then is killed, as Lambda does, and the invocation is billed its
    timeout. A failed invocation is retried after `retry_delays[attempt - 1]`."""

    def __init__(self, label: str, new_function, cap: int, timeout_s: float,
                 retry_delays: tuple[float, ...] = ()):
        self.label, self.new_function, self.cap = label, new_function, cap
        self.timeout_ns = int(timeout_s * 1e9)
        self.retry_delays = retry_delays
        self.cond = threading.Condition()
        self.heap: list = []  # (due ns, seq, job)
        self.seq = 0
        self.idle: list = []
        self.size = 0  # instances alive or starting
        self.started = 0
        self.busy = self.max_busy = self.max_size = 0
        self.outstanding = 0  # jobs not final yet
        self.records: list[dict] = []
        self.cold_starts: list[dict] = []
        self.errors: list[str] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._dispatch, daemon=True,
                                       name=f"pool-{label}")

    def start(self) -> "Pool":
        self.thread.start()
        return self

    def add_warm(self, fn) -> None:
        with self.cond:
            self.idle.append(fn)
            self.size += 1
            self.max_size = max(self.max_size, self.size)

    def submit(self, job: Job, due_ns: int) -> None:
        with self.cond:
            self.outstanding += 1
            self._push(job, due_ns)

    def _push(self, job: Job, due_ns: int) -> None:
        heapq.heappush(self.heap, (due_ns, self.seq, job))
        self.seq += 1
        self.cond.notify_all()

    def wait_all(self, budget_s: float) -> None:
        end = time.monotonic() + budget_s
        with self.cond:
            while self.outstanding and not self.errors:
                left = end - time.monotonic()
                if left <= 0:
                    raise BenchError(f"the {self.label} storm was still running after "
                                     f"{budget_s:g} s ({self.outstanding} events not final)")
                self.cond.wait(min(left, 0.5))
            if self.errors:
                raise BenchError(self.errors[0])

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.thread.join(timeout=5)

    def _dispatch(self) -> None:
        while True:
            with self.cond:
                while True:
                    if self.stopping:
                        return
                    now = now_ns()
                    if self.heap and self.heap[0][0] <= now and (self.idle
                                                                 or self.size < self.cap):
                        break
                    wait = 0.5
                    if self.heap and self.heap[0][0] > now:
                        wait = min(wait, (self.heap[0][0] - now) / 1e9)
                    self.cond.wait(wait)
                due, _, job = heapq.heappop(self.heap)
                fn = self.idle.pop() if self.idle else None
                if fn is None:
                    self.size += 1
                    self.started += 1
                    self.max_size = max(self.max_size, self.size)
                    label = f"{self.label}-{self.started - 1}"
                else:
                    label = fn.label
                self.busy += 1
                self.max_busy = max(self.max_busy, self.busy)
                job.attempts += 1
            threading.Thread(target=self._invoke, args=(fn, label, job, due), daemon=True,
                             name=f"invoke-{label}").start()

    def _invoke(self, fn, label: str, job: Job, due_ns: int) -> None:
        rec = {"job": job.key, "attempt": job.attempts, "instance": label, "cold": fn is None,
               "due_ns": due_ns}
        try:
            if fn is None:
                fn = self.new_function(label, self.timeout_ns // 1_000_000)
                init_ms, inv = fn.start(job.body)
                self.cold_starts.append({"instance": label, "init_ms": init_ms,
                                         "spawn_ns": fn.spawn_ns})
            else:
                inv = fn.rt.submit(job.body)
            outcome = self._wait(fn, inv)
        except BenchError as e:
            with self.cond:
                self.errors.append(f"{label}: {e}")
                self.cond.notify_all()
            return
        rec["outcome"] = outcome
        rec["dispatch_ns"] = inv.dispatch_ns
        if outcome in ("response", "error"):
            rec["done_ns"] = inv.done_ns
            rec["result"] = inv.result.decode(errors="replace")
        else:  # timeout (billed the timeout) or died (billed until then)
            rec["done_ns"] = inv.dispatch_ns + (self.timeout_ns if outcome == "timeout"
                                                else now_ns() - inv.dispatch_ns)
            rec["result"] = ""
        # Lambda bills the duration rounded up to the next millisecond.
        rec["billed_ms"] = math.ceil((rec["done_ns"] - rec["dispatch_ns"]) / 1e6)
        failed = outcome != "response"
        with self.cond:
            self.records.append(rec)
            self.busy -= 1
            if outcome in ("response", "error"):
                self.idle.append(fn)
            else:
                self.size -= 1
                threading.Thread(target=fn.stop, daemon=True).start()
            job.outcome = outcome
            if failed and job.attempts <= len(self.retry_delays):
                self._push(job, now_ns() + int(self.retry_delays[job.attempts - 1] * 1e9))
            else:
                self.outstanding -= 1
            self.cond.notify_all()

    def _wait(self, fn, inv) -> str:
        queued = now_ns()
        while True:
            if inv.done.wait(0.02):
                return inv.kind
            now = now_ns()
            if inv.dispatch_ns is None:
                if now - queued > 10e9:
                    raise BenchError("an idle instance did not take its event within 10 s"
                                     + fn.diag())
            elif now - inv.dispatch_ns > self.timeout_ns:
                fn.proc.kill()  # Lambda stops the instance at its timeout
                fn.proc.wait()
                if inv.done.is_set() and inv.done_ns - inv.dispatch_ns <= self.timeout_ns:
                    return inv.kind
                return "timeout"
            if fn.proc.poll() is not None:
                if inv.dispatch_ns is None:
                    raise BenchError(f"function exited with {fn.proc.returncode} before "
                                     "taking its event" + fn.diag())
                return "died"


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------
def named_alarms(body: bytes, pattern: re.Pattern) -> set[str]:
    """The storm's alarms a message names: as a digest line's link text (`<url|name>`) or in
    a single alarm's header (`🔴 ALARM: name`)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return set()
    names: set[str] = set()
    texts: list[str] = []

    def walk(v):
        if isinstance(v, dict):
            if v.get("type") == "header" and isinstance(v.get("text"), dict):
                texts.append("header:" + str(v["text"].get("text", "")))
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            texts.append(v)

    walk(payload)
    for t in texts:
        for m in pattern.finditer(t):
            name = m.group(1)
            if t.startswith("header:") or f"|{name}>" in t:
                names.add(name)
    return names


def summarize(pool: Pool, posts: list, t0_ns: int, alarms: list[str],
              pattern: re.Pattern, jobs: list[Job], gsv: int) -> dict:
    first_seen: dict[str, int] = {}
    seen_in = {a: 0 for a in alarms}
    accepted = [(t, body) for t, status, body in posts if status == 200]
    for t, body in accepted:
        for a in named_alarms(body, pattern):
            if a in seen_in:
                seen_in[a] += 1
                first_seen.setdefault(a, t)
    missing = [a for a in alarms if a not in first_seen]
    recs = sorted(pool.records, key=lambda r: r["dispatch_ns"])
    failed = [r for r in recs if r["outcome"] != "response"]
    reported_failed: list[str] = []
    for r in recs:
        if r["outcome"] == "response":
            try:
                items = json.loads(r["result"]).get("batchItemFailures")
            except (ValueError, AttributeError):
                items = None
            if items:
                reported_failed.extend(i.get("itemIdentifier", "?") for i in items)
    last_ns = max(first_seen.values()) if first_seen else None
    error_types: dict[str, int] = {}
    for r in failed:
        et = r["outcome"]
        if r["outcome"] == "error":
            try:
                et = json.loads(r["result"]).get("errorType") or "error"
            except (ValueError, AttributeError):
                et = "error"
        error_types[et] = error_types.get(et, 0) + 1
    by_attempt: dict[str, dict] = {}
    for r in recs:
        a = by_attempt.setdefault(str(r["attempt"]), {"invocations": 0, "failed": 0})
        a["invocations"] += 1
        a["failed"] += r["outcome"] != "response"
    billed_ms = sum(r["billed_ms"] for r in recs)
    per_second: dict[int, int] = {}
    for t, status, _ in posts:
        if status == 429:
            s = int((t - t0_ns) // 1_000_000_000)
            per_second[s] = per_second.get(s, 0) + 1
    return {
        "alarms": len(alarms),
        "last_alarm_in_slack_s": None if last_ns is None else (last_ns - t0_ns) / 1e9,
        "all_invocations_done_s": (max(r["done_ns"] for r in recs) - t0_ns) / 1e9
        if recs else None,
        "slack_accepted": len(accepted),
        "slack_429": sum(1 for _, s, _ in posts if s == 429),
        "slack_other": sum(1 for _, s, _ in posts if s not in (200, 429)),
        "invocations": len(recs),
        "failed_invocations": len(failed),
        "failed_by_type": error_types,
        "by_attempt": by_attempt,
        "billed_ms": billed_ms,
        "billed_function_seconds": billed_ms / 1000,
        "alarms_named": len(first_seen),
        "alarms_missing": missing,
        "alarms_named_more_than_once": sum(1 for c in seen_in.values() if c > 1),
        "records_reported_failed": reported_failed,
        "events_failed_after_last_attempt": [j.key for j in jobs if j.outcome != "response"],
        "instances": pool.max_size,
        "cold_starts": len(pool.cold_starts),
        "init_seconds_of_cold_starts": sum(c["init_ms"] for c in pool.cold_starts) / 1000,
        "max_concurrent_invocations": pool.max_busy,
        "get_secret_value": gsv,
        "invocation_log": [{
            "instance": r["instance"], "attempt": r["attempt"], "cold": r["cold"],
            "job": r["job"], "dispatch_s": round((r["dispatch_ns"] - t0_ns) / 1e9, 4),
            "duration_ms": round((r["done_ns"] - r["dispatch_ns"]) / 1e6, 3),
            "billed_ms": r["billed_ms"], "outcome": r["outcome"],
            "result": r["result"][:300]} for r in recs],
        "accepted_at_s": [round((t - t0_ns) / 1e9, 4) for t, _ in accepted],
        "slack_429_per_second": {str(k): v for k, v in sorted(per_second.items())},
    }


# --------------------------------------------------------------------------------------------
# The storms
# --------------------------------------------------------------------------------------------
class Storms:
    def __init__(self, binary: Path, env: dict, slack: RateLimitedSlack, proxy, tmp: Path):
        self.binary, self.env, self.slack, self.proxy, self.tmp = binary, env, slack, proxy, tmp
        self.functions: list = []

    def new_function(self, label: str, timeout_ms: int):
        fn = run.Function(self.binary, self.env, self.tmp / f"{label}.log")
        fn.label = label
        fn.rt.deadline_ms = timeout_ms
        self.functions.append(fn)
        return fn

    def queue(self) -> dict:
        slack = self.slack
        pool = Pool("queue", self.new_function, QUEUE_INSTANCES, QUEUE_TIMEOUT_S).start()
        try:
            # Two warm instances: each has served one batch of one alarm before the storm.
            for k in range(QUEUE_INSTANCES):
                fn = self.new_function(f"queue-{k}", QUEUE_TIMEOUT_S * 1000)
                name, message = storm_alarm("warm-up", k)
                _, inv = fn.start(sqs_event([(f"warm-{k}",
                                              sns_envelope(str(uuid.uuid4()), "warm-up",
                                                           message))]))
                fn.wait_done(inv)
                fn.completed = 1
                if inv.kind != "response" or json.loads(inv.result).get("batchItemFailures"):
                    raise BenchError(f"warm-up of {fn.label} failed: "
                                     + inv.result.decode(errors="replace") + fn.diag())
                fn.wait_parked()
                pool.add_warm(fn)
            slack.wait_rate_window()
            warm_posts = slack.take()
            if sum(1 for _, s, _ in warm_posts if s == 200) != QUEUE_INSTANCES:
                raise BenchError("warm-up: Slack accepted "
                                 f"{sum(1 for _, s, _ in warm_posts if s == 200)} messages, "
                                 f"expected {QUEUE_INSTANCES}")
            gsv0 = self.proxy.get_secret_value_count()

            names, jobs = [], []
            for b in range(QUEUE_ALARMS // QUEUE_BATCH):
                records, batch_names = [], []
                for i in range(b * QUEUE_BATCH, (b + 1) * QUEUE_BATCH):
                    name, message = storm_alarm("storm", i)
                    batch_names.append(name)
                    records.append((f"sqs-{i:04d}", sns_envelope(f"sns-{i:04d}-{uuid.uuid4()}",
                                                                  "storm", message)))
                names += batch_names
                jobs.append(Job(f"batch-{b}", sqs_event(records), batch_names,
                                [r[0] for r in records]))
            print(f"queue storm: {QUEUE_ALARMS} alarms in {len(jobs)} SQS batches of "
                  f"{QUEUE_BATCH}, one every {QUEUE_SUBMIT_INTERVAL_S:g} s, "
                  f"{QUEUE_INSTANCES} warm instances ...", flush=True)
            t0 = now_ns() + int(LEAD_S * 1e9)
            for b, job in enumerate(jobs):
                pool.submit(job, t0 + int(b * QUEUE_SUBMIT_INTERVAL_S * 1e9))
            pool.wait_all(CASE_BUDGET_S["queue"])
            time.sleep(0.2)  # any POST still being answered
            out = summarize(pool, slack.take(), t0, names,
                            re.compile(r"(storm-\d{4})"), jobs,
                            self.proxy.get_secret_value_count() - gsv0)
            out["config"] = {"alarms": QUEUE_ALARMS, "batch": QUEUE_BATCH,
                             "batches": len(jobs),
                             "submit_interval_s": QUEUE_SUBMIT_INTERVAL_S,
                             "instances": QUEUE_INSTANCES, "warm": True,
                             "timeout_s": QUEUE_TIMEOUT_S}
            return out
        finally:
            pool.stop()
            self.stop_functions()

    def sns(self, max_instances: int, retry_delays: tuple[float, ...]) -> dict:
        slack = self.slack
        slack.wait_rate_window()
        slack.take()
        gsv0 = self.proxy.get_secret_value_count()
        pool = Pool("sns", self.new_function, max_instances, SNS_TIMEOUT_S,
                    retry_delays).start()
        try:
            names, jobs = [], []
            for i in range(SNS_ALARMS):
                name, message = storm_alarm("sns-storm", i)
                names.append(name)
                jobs.append(Job(name, sns_event(str(uuid.uuid4()), f"ALARM: \"{name}\"",
                                                message), [name], []))
            print(f"SNS storm: {SNS_ALARMS} alarms, one SNS event every "
                  f"{SNS_INTERVAL_S * 1000:g} ms, up to {max_instances} instances, retries "
                  + (", ".join(f"{d:g} s" for d in retry_delays) + " after a failure"
                     if retry_delays else "off")
                  + " ...", flush=True)
            t0 = now_ns() + int(LEAD_S * 1e9)
            for i, job in enumerate(jobs):
                pool.submit(job, t0 + int(i * SNS_INTERVAL_S * 1e9))
            pool.wait_all(CASE_BUDGET_S["sns"])
            time.sleep(0.2)
            out = summarize(pool, slack.take(), t0, names,
                            re.compile(r"(sns-storm-\d{4})"), jobs,
                            self.proxy.get_secret_value_count() - gsv0)
            out["config"] = {"alarms": SNS_ALARMS, "interval_s": SNS_INTERVAL_S,
                             "max_instances": max_instances, "warm": False,
                             "timeout_s": SNS_TIMEOUT_S,
                             "retry_delays_s": list(retry_delays)}
            return out
        finally:
            pool.stop()
            self.stop_functions()

    def stop_functions(self) -> None:
        """Kills every function process and stops its emulator, in parallel (each emulator
        takes up to its poll interval to stop)."""
        fns, self.functions = self.functions, []
        threads = [threading.Thread(target=fn.stop, daemon=True) for fn in fns]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def fmt_s(v) -> str:
    return "n/a" if v is None else f"{v:.1f} s"


def markdown(res: dict) -> str:
    cases = [(k, res[k]) for k in ("queue", "sns") if k in res]
    head = {"queue": "{:,} alarms, SQS", "sns": "{:,} alarms, direct SNS"}
    rows = [
        ("last alarm in Slack, from the first submission",
         lambda c: fmt_s(c["last_alarm_in_slack_s"])),
        ("messages Slack accepted", lambda c: str(c["slack_accepted"])),
        ("429 answers", lambda c: str(c["slack_429"])),
        ("invocations (failed)", lambda c: f"{c['invocations']} ({c['failed_invocations']})"),
        ("failed in the first attempt",
         lambda c: f"{c['by_attempt'].get('1', {}).get('failed', 0)} of "
                   f"{c['by_attempt'].get('1', {}).get('invocations', 0)}"),
        ("billed function-seconds", lambda c: f"{c['billed_function_seconds']:.1f}"),
        ("alarms named in Slack (missing)",
         lambda c: f"{c['alarms_named']} of {c['alarms']} ({len(c['alarms_missing'])})"),
        ("records reported failed (partial batch response)",
         lambda c: str(len(c["records_reported_failed"])) if "batch" in c["config"] else "n/a"),
        ("events failed after the last attempt",
         lambda c: str(len(c["events_failed_after_last_attempt"]))),
        ("alarms posted more than once", lambda c: str(c["alarms_named_more_than_once"])),
        ("instances, most at once (cold starts)",
         lambda c: f"{c['instances']} ({c['cold_starts']})"),
        ("init of the cold starts, not billed above",
         lambda c: f"{c['init_seconds_of_cold_starts']:.2f} s"),
        ("GetSecretValue calls", lambda c: str(c["get_secret_value"])),
    ]
    out = ["| figure | " + " | ".join(head[k].format(c["alarms"]) for k, c in cases) + " |",
           "| --- |" + " --- |" * len(cases)]
    for label, f in rows:
        out.append(f"| {label} | " + " | ".join(f(c) for _, c in cases) + " |")
    mach = res["machine"]
    out.append("")
    notes = []
    if "sns" in res:
        d = res["sns"]["config"]["retry_delays_s"]
        notes.append("SNS retries " + (", ".join(f"{x:g} s" for x in d) + " after a failure"
                                       if d else "off: first attempts only"))
        notes.append(f"at most {res['sns']['config']['max_instances']} SNS instances")
    if notes:
        out.append("; ".join(notes) + ".")
    out.append(f"Machine: {mach['machine']}, {mach['nproc']} CPUs, {mach['cpu_model']}, "
               f"kernel {mach['kernel']}; {mach['rustc'] or 'rustc ?'}; "
               f"commit {(mach['git_commit'] or '?')[:12]}; date {mach['date']}; "
               f"load average {mach['loadavg_at_start'][0]:.2f} at start, "
               f"{mach.get('loadavg_at_end', ['?'])[0]} at end")
    return "\n".join(out)


def queue_failures(q: dict) -> list[str]:
    fails = []
    if q["alarms_missing"]:
        m = q["alarms_missing"]
        fails.append(f"{len(m)} alarm(s) never named in an accepted message: "
                     + ", ".join(m[:20]) + (" ..." if len(m) > 20 else ""))
    if q["records_reported_failed"]:
        r = q["records_reported_failed"]
        fails.append(f"{len(r)} record(s) reported failed: " + ", ".join(r[:20])
                     + (" ..." if len(r) > 20 else ""))
    if q["failed_invocations"]:
        fails.append(f"{q['failed_invocations']} invocation(s) failed: {q['failed_by_type']}")
    return fails


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Alarm storms through the slack-alarm-notifier binary, against a local "
                    "Slack that accepts one message a second (see bench/README.md).")
    p.add_argument("--case", choices=("both", "queue", "sns", "routed"), default="both",
                   help="which storm to run (default both: queue and sns; routed runs alone, "
                        "see bench/storm_routed.py)")
    p.add_argument("--out", type=Path, default=None,
                   help="JSON results file (default bench/results-storm.json, "
                        "bench/results-storm-routed.json with --case routed)")
    p.add_argument("--binary", type=Path, default=None,
                   help="function binary (default target/release/slack-alarm-notifier)")
    p.add_argument("--no-build", action="store_true", help="skip cargo build --release")
    p.add_argument("--sns-max-instances", type=int, default=SNS_MAX_INSTANCES,
                   help=f"most instances in the SNS storm (default {SNS_MAX_INSTANCES})")
    p.add_argument("--retry-delays", default=",".join(f"{d:g}" for d in SNS_RETRY_DELAYS_S),
                   help="seconds from a failed SNS invocation to its retries (default 60,120, "
                        "Lambda's)")
    p.add_argument("--no-retries", action="store_true",
                   help="no retries in the SNS storm: report the first attempts only")
    r = p.add_argument_group("routed storm (--case routed)")
    r.add_argument("--batch-size", type=int, default=storm_routed.BATCH_SIZE,
                   help="most records per batch (default 1000, the CDK app's BatchSize)")
    r.add_argument("--batching-window", type=float, default=storm_routed.BATCHING_WINDOW_S,
                   help="seconds a partial batch waits (default 10, the CDK app's window)")
    r.add_argument("--instances", type=int, default=storm_routed.INSTANCES,
                   help="the event source mapping's maximum concurrency (default 2)")
    r.add_argument("--timeout", type=int, default=storm_routed.TIMEOUT_S,
                   help="function timeout in seconds (default 30, the CDK app's)")
    r.add_argument("--arrival-seconds", type=float, default=storm_routed.ARRIVAL_S,
                   help="every alarm is in the queue this long after the first (default 1)")
    r.add_argument("--function-env", action="append", default=[], metavar="NAME=VALUE",
                   help="an extra environment variable for the function, e.g. "
                        "SLACK_MIN_INTERVAL_SECONDS=1.1 (repeatable)")
    a = p.parse_args(argv)
    env = {}
    for kv in a.function_env:
        k, eq, v = kv.partition("=")
        if not eq or not k:
            p.error(f"--function-env: NAME=VALUE, got {kv!r}")
        env[k] = v
    a.function_env = env
    if a.out is None:
        a.out = run.REPO / "bench" / ("results-storm-routed.json" if a.case == "routed"
                                      else "results-storm.json")
    if not 1 <= a.batch_size <= 10_000:
        p.error("--batch-size: 1 to 10000 (the event source mapping's range)")
    if a.batch_size > 10 and a.batching_window < 1:
        p.error("--batch-size above 10 needs a --batching-window of at least 1 s, as Lambda's")
    if not 0 <= a.batching_window <= 300:
        p.error("--batching-window: 0 to 300 seconds")
    if a.instances < 1 or a.timeout < 1 or a.arrival_seconds < 0:
        p.error("--instances and --timeout must be at least 1, --arrival-seconds at least 0")
    if a.sns_max_instances < 1:
        p.error("--sns-max-instances must be at least 1")
    if a.no_retries:
        a.retry_delays = ()
    else:
        try:
            a.retry_delays = tuple(float(x) for x in a.retry_delays.split(",") if x.strip())
        except ValueError:
            p.error("--retry-delays: seconds, comma-separated, e.g. 60,120")
        if len(a.retry_delays) > 2 or any(d < 0 for d in a.retry_delays):
            p.error("--retry-delays: at most two delays (Lambda retries twice), each >= 0")
    return a


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGHUP, _sigterm)
    sys.setswitchinterval(0.0005)
    started = time.monotonic()
    binary = (args.binary or run.default_binary()).resolve()
    if args.case == "routed":
        return storm_routed.main(args, binary)
    res: dict = {
        "ok": False,
        "config": {"case": args.case, "binary": str(binary), "build": not args.no_build,
                   "slack_accepts_per_second": 1, "slack_retry_after": SLACK_RETRY_AFTER},
        "machine": run.machine_info(),
    }
    moto_server = slack = proxy = storms = None
    tmp = Path(tempfile.mkdtemp(prefix="slack-notifier-storm-"))
    keep_tmp = False
    try:
        if not args.no_build:
            res["build_seconds"] = round(run.build(binary), 1)
        if not binary.is_file():
            raise BenchError(f"{binary} not found (build it, or pass --binary)")
        ca = run.LocalCA(tmp)
        moto_server, moto_port, boto3 = run.start_moto()
        slack = RateLimitedSlack(ca.server_context())
        proxy = run.CountingProxy(moto_port, ca.server_context())
        run.tls_self_test(ca, slack, proxy)
        run.create_secret(boto3, moto_port, slack.url)
        home = tmp / "home"
        home.mkdir()
        env = run.function_env(home, proxy.url, ca.ca_file)
        storms = Storms(binary, env, slack, proxy, tmp)

        if args.case in ("both", "queue"):
            res["queue"] = storms.queue()
            q = res["queue"]
            print(f"queue storm: last alarm in Slack after {fmt_s(q['last_alarm_in_slack_s'])}, "
                  f"{q['slack_accepted']} messages, {q['slack_429']} answers of 429", flush=True)
        if args.case in ("both", "sns"):
            res["sns"] = storms.sns(args.sns_max_instances, args.retry_delays)
            s = res["sns"]
            print(f"SNS storm: last alarm in Slack after {fmt_s(s['last_alarm_in_slack_s'])}, "
                  f"{s['slack_accepted']} messages, {s['slack_429']} answers of 429", flush=True)
        if slack.bad_posts:
            raise BenchError(f"Slack received {slack.bad_posts} malformed POST(s)")

        failures = queue_failures(res["queue"]) if "queue" in res else []
        res["failures"] = failures
        res["ok"] = not failures
        res["tls"] = {"slack": slack.server.tls_summary(),
                      "secretsmanager_proxy": proxy.server.tls_summary()}
        res["wall_seconds"] = round(time.monotonic() - started, 1)
        res["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        run.write_json(args.out, res)
        print()
        print(markdown(res))
        print(f"\nraw figures: {args.out}")
        if failures:
            keep_tmp = True
            for f in failures:
                print(f"STORM FAILED: queue: {f}", file=sys.stderr)
            print(f"(function logs kept in {tmp})", file=sys.stderr)
            return 1
        return 0
    except BenchError as e:
        keep_tmp = True
        res["error"] = str(e)
        res["wall_seconds"] = round(time.monotonic() - started, 1)
        try:
            run.write_json(args.out, res)
        except OSError:
            pass
        print(f"BENCHMARK FAILED: {e}\n(function logs kept in {tmp})", file=sys.stderr)
        return 1
    finally:
        if storms is not None:
            storms.stop_functions()
        for srv in (proxy, slack):
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
