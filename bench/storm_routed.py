#!/usr/bin/env python3
"""The routed storm (issue 21): 10,000 alarms over 10 routes, through the queue, to a local
Slack Web API that accepts one message per second per channel.

Run it through bench/storm.py:
    python3 bench/storm.py --case routed [--out bench/results-storm-routed.json] [--no-build]
        [--batch-size 1000] [--batching-window 10] [--instances 2] [--timeout 30]
        [--arrival-seconds 1]

The function runs in app mode (the secret holds SLACK_BOT_TOKEN and SLACK_CHANNEL) with
ROUTES_FILE naming ten routes, `team-K-*` -> channel C0TEAM000K. The alarms (team-K-NNNNN,
K = N mod 10) enter a modelled SQS queue within --arrival-seconds; a modelled event source
mapping hands batches of up to --batch-size records (within Lambda's 6 MB payload) to at
most --instances warm instances, each batch formed when an instance is free and either a
full batch is waiting or its oldest record has waited --batching-window seconds.

Checks (any failed: exit 1): every alarm named in an accepted message in its route's channel
and in no other; no record reported failed and no invocation failed; no two accepted messages
in one channel less than 1 s apart; the last alarm visible within 60 s of the first alarm
entering the queue. See bench/README.md ("Routed storm").
"""

from __future__ import annotations

import bisect
import datetime as _dt
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import run
import storm
from run import BenchError, Handler, Server, now_ns

# --------------------------------------------------------------------------------------------
# The storm, and the deployment it models (infra/lib/notifier-stack.ts with batching=true)
# --------------------------------------------------------------------------------------------
ALARMS = 10_000
ROUTES = 10
BATCH_SIZE = 1000            # BATCH_SIZE in notifier-stack.ts (a batching window is set)
BATCHING_WINDOW_S = 10.0     # DEFAULT_BATCHING_WINDOW_SECONDS in settings.ts
INSTANCES = 2                # BATCH_MAX_CONCURRENCY: the event source mapping's maximum concurrency
TIMEOUT_S = 30               # FUNCTION_TIMEOUT
ARRIVAL_S = 1.0              # every alarm has entered the queue this long after the first
MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's invocation payload limit: a batch never exceeds it
TARGET_LAST_VISIBLE_S = 60.0
SLACK_MIN_GAP_NS = 1_000_000_000  # one message per second per channel
SLACK_RETRY_AFTER = "1"
BUDGET_S = 300.0             # a storm still running after this fails the run

TOKEN = "xoxb-1111111111-2222222222222-BenchRoutedStormToken0"
DEFAULT_CHANNEL = "C0DEFAULT0"  # the secret's SLACK_CHANNEL: what no route takes goes there
SECRET_NAME = "bench/slack-alarm-notifier/app"
API_PATH = "/api/"
ALARM_RE = re.compile(r"(team-\d-\d{5})")


def channel_of(route: int) -> str:
    return f"C0TEAM{route:04d}"


def routes_toml() -> str:
    out = ["# The routed storm's routes (bench/storm_routed.py): one channel per team.\n"]
    for k in range(ROUTES):
        out.append(f'[[route]]\nname = "team-{k}"\nmatch = {{ alarm_name = "team-{k}-*" }}\n'
                   f'channel = "{channel_of(k)}"\n')
    return "\n".join(out)


def alarm(i: int) -> tuple[str, int, str]:
    """Alarm `i`: its name, its route, and its CloudWatch message. The route is i mod 10; the
    state turns with i // 10 (six ALARM, two OK, one INSUFFICIENT_DATA, one ALARM in ten), so
    every route gets every state; accounts and namespaces turn with i."""
    route = i % ROUTES
    name = f"team-{route}-{i:05d}"
    msg = storm.alarm_message(
        name, storm.STATES[(i // ROUTES) % len(storm.STATES)],
        storm.ACCOUNTS[i % len(storm.ACCOUNTS)], storm.NAMESPACES[i % len(storm.NAMESPACES)],
        f"2026-11-20T{8 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000+0000")
    return name, route, msg


def sqs_record(mid: str, body: str) -> bytes:
    """One record of an SQS event, serialized as storm.sqs_event serializes it."""
    return json.dumps({
        "messageId": mid, "receiptHandle": f"AQEB{mid}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795594531123",
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                       "ApproximateFirstReceiveTimestamp": "1795594531130"},
        "messageAttributes": {}, "md5OfBody": "0", "eventSource": "aws:sqs",
        "eventSourceARN": storm.QUEUE_ARN, "awsRegion": run.REGION,
    }, separators=(",", ":")).encode()


EVENT_HEAD, EVENT_TAIL = b'{"Records":[', b"]}"


# --------------------------------------------------------------------------------------------
# A local Slack Web API: chat.postMessage, one message per second per channel
# --------------------------------------------------------------------------------------------
class SlackApiHandler(Handler):
    def _answer(self, status: int, doc: dict, headers: dict | None = None) -> None:
        self.reply(status, json.dumps(doc, separators=(",", ":")).encode(), headers,
                   content_type="application/json; charset=utf-8")

    def do_POST(self) -> None:
        body = self.read_body()
        api: SlackApi = self.server.owner
        method = self.path[len(API_PATH):] if self.path.startswith(API_PATH) else None
        if method != "chat.postMessage":
            api.note_other(self.path)
            self._answer(200 if method else 404, {"ok": False, "error": "unknown_method"})
            return
        auth = self.headers.get("Authorization")
        if auth is None:
            api.note_other("not_authed")
            self._answer(200, {"ok": False, "error": "not_authed"})
            return
        if auth != f"Bearer {TOKEN}":
            api.note_other("invalid_auth")
            self._answer(200, {"ok": False, "error": "invalid_auth"})
            return
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError
        except ValueError:
            api.note_other("invalid_json")
            self._answer(200, {"ok": False, "error": "invalid_json"})
            return
        channel = payload.get("channel")
        if channel not in api.channels:
            api.note_other(f"channel_not_found {channel}")
            self._answer(200, {"ok": False, "error": "channel_not_found"})
            return
        if not (payload.get("text") or payload.get("blocks") or payload.get("attachments")):
            api.note_other("no_text")
            self._answer(200, {"ok": False, "error": "no_text"})
            return
        with api.lock:
            received = now_ns()  # the whole request is in
            last = api.last_accepted.get(channel)
            accepted = last is None or received - last >= SLACK_MIN_GAP_NS
            if accepted:
                api.last_accepted[channel] = received
                api.seq += 1
                ts = f"{time.time():.0f}.{api.seq:06d}"
            api.posts.append((received, 200 if accepted else 429, channel, body))
            api.ports.append(self.client_address[1])
        if not accepted:
            self._answer(429, {"ok": False, "error": "ratelimited"},
                         {"Retry-After": SLACK_RETRY_AFTER})
            return
        # As Slack does: the message echoed back, with its channel and ts.
        message = {"type": "message", "subtype": "bot_message", "bot_id": "B0BENCH0001",
                   "ts": ts}
        for k in ("text", "blocks", "attachments"):
            if k in payload:
                message[k] = payload[k]
        self._answer(200, {"ok": True, "channel": channel, "ts": ts, "message": message})

    def do_GET(self) -> None:
        self._answer(404, {"ok": False, "error": "unknown_method"})


class SlackApi:
    def __init__(self, tls, channels: set[str]):
        self.lock = threading.Lock()
        self.channels = channels
        self.posts: list[tuple[int, int, str, bytes]] = []  # (received ns, status, channel, body)
        self.ports: list[int] = []  # the client's TCP port of each post, for who sent it
        self.taken_ports: list[int] = []  # those of the posts take() returned last
        self.other: dict[str, int] = {}  # refused calls, by reason: none expected
        self.last_accepted: dict[str, int] = {}  # kept across take(): the limit carries on
        self.seq = 0
        self.server = Server(SlackApiHandler, self, tls).start()

    @property
    def url(self) -> str:
        return f"{self.server.scheme}://127.0.0.1:{self.server.port}{API_PATH}"

    def note_other(self, why: str) -> None:
        with self.lock:
            self.other[why] = self.other.get(why, 0) + 1

    def take(self) -> list[tuple[int, int, str, bytes]]:
        with self.lock:
            posts, self.posts = self.posts, []
            self.taken_ports, self.ports = self.ports, []
            return posts

    def wait_rate_window(self, gap_s: float = storm.RATE_WINDOW_GAP_S) -> None:
        """Sleeps until the last accepted post in any channel is `gap_s` old."""
        with self.lock:
            last = max(self.last_accepted.values(), default=None)
        if last is not None:
            left = (last - now_ns()) / 1e9 + gap_s
            if left > 0:
                time.sleep(left)


# --------------------------------------------------------------------------------------------
# The queue and the event source mapping
# --------------------------------------------------------------------------------------------
class Feeder:
    """The event source mapping: when an instance is free (idle, or one more may be started)
    and records are in the queue, takes up to `batch_size` of them within the payload limit,
    once a full batch is waiting, or the payload limit is reached, or the oldest waiting
    record has waited `window_ns`; hands the batch to the pool at once."""

    def __init__(self, pool: storm.Pool, records: list[bytes], names: list[str],
                 mids: list[str], arrival_ns: list[int], batch_size: int, window_ns: int):
        self.pool, self.records, self.names, self.mids = pool, records, names, mids
        self.arrival_ns, self.batch_size, self.window_ns = arrival_ns, batch_size, window_ns
        self.jobs: list[storm.Job] = []
        self.batches: list[dict] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="esm")

    def start(self) -> "Feeder":
        self.thread.start()
        return self

    def _take(self, i: int, arrived: int) -> int:
        """How many records from `i` go into one batch: at most batch_size of the `arrived`,
        and an event of at most MAX_PAYLOAD bytes."""
        size = len(EVENT_HEAD) + len(EVENT_TAIL)
        n = 0
        while n < min(arrived, self.batch_size):
            add = len(self.records[i + n]) + (1 if n else 0)
            if size + add > MAX_PAYLOAD:
                break
            size += add
            n += 1
        return n

    def _run(self) -> None:
        pool, i, total = self.pool, 0, len(self.records)
        while i < total:
            with pool.cond:
                while True:
                    if pool.stopping or pool.errors:
                        return
                    now = now_ns()
                    free = len(pool.idle) + (pool.cap - pool.size) - len(pool.heap)
                    wait = 0.05  # the pool notifies when an instance is free again
                    if free > 0:
                        arrived = bisect.bisect_right(self.arrival_ns, now) - i
                        if arrived > 0:
                            n = self._take(i, arrived)
                            if (n >= self.batch_size or n < arrived  # full, or payload-full
                                    or now - self.arrival_ns[i] >= self.window_ns):
                                break
                            # Wake when a batch is full, or the oldest record's window ends.
                            due = self.arrival_ns[i] + self.window_ns
                            fill = i + self.batch_size - 1
                            if fill < total:
                                due = min(due, self.arrival_ns[fill])
                        else:
                            due = self.arrival_ns[i]  # the next record to arrive
                        wait = min(wait, max(due - now, 0) / 1e9)
                    pool.cond.wait(max(wait, 0.0005))
                formed_ns = now
            event = EVENT_HEAD + b",".join(self.records[i:i + n]) + EVENT_TAIL
            job = storm.Job(f"batch-{len(self.jobs)}", event, self.names[i:i + n],
                            self.mids[i:i + n])
            self.batches.append({"batch": job.key, "records": n, "bytes": len(event),
                                 "first": i, "formed_ns": formed_ns,
                                 "oldest_waited_s": round((formed_ns - self.arrival_ns[i]) / 1e9, 4)})
            self.jobs.append(job)
            pool.submit(job, formed_ns)
            i += n
        self.done.set()

    def wait(self, end: float) -> None:
        while not self.done.wait(0.2):
            if self.pool.errors:
                raise BenchError(self.pool.errors[0])
            if time.monotonic() > end:
                raise BenchError(f"the routed storm was still running after {BUDGET_S:g} s "
                                 "(records still in the queue)")


# --------------------------------------------------------------------------------------------
# Figures and checks
# --------------------------------------------------------------------------------------------
def figures(pool: storm.Pool, feeder: Feeder, posts: list, t0_ns: int, names: list[str],
            route_of: dict[str, int], gsv: int, other: dict, arrival_ns: list[int]) -> dict:
    channels = [channel_of(k) for k in range(ROUTES)]
    # The generic figures (invocations, billed time, records reported failed, ...).
    out = storm.summarize(pool, [(t, s, b) for t, s, _, b in posts], t0_ns, names, ALARM_RE,
                          feeder.jobs, gsv)
    # Per channel, from the accepted messages alone.
    visible: dict[str, int] = {}           # alarm -> first accepted in its own channel
    seen_in_own = {a: 0 for a in names}
    misrouted: dict[str, list[str]] = {}   # alarm -> channels it wrongly appeared in
    per_channel = {c: {"accepted": 0, "429": 0, "alarms_named": 0, "first_s": None,
                       "last_s": None, "min_gap_s": None, "accepted_at_s": []}
                   for c in channels + [DEFAULT_CHANNEL]}
    last_in: dict[str, int] = {}
    gaps_below: list[dict] = []
    for t, status, ch, body in sorted(posts, key=lambda p: p[0]):
        pc = per_channel.setdefault(ch, {"accepted": 0, "429": 0, "alarms_named": 0,
                                         "first_s": None, "last_s": None, "min_gap_s": None,
                                         "accepted_at_s": []})
        if status == 429:
            pc["429"] += 1
            continue
        if status != 200:
            continue
        rel = round((t - t0_ns) / 1e9, 4)
        pc["accepted"] += 1
        pc["accepted_at_s"].append(rel)
        pc["first_s"] = rel if pc["first_s"] is None else pc["first_s"]
        pc["last_s"] = rel
        if ch in last_in:
            gap = (t - last_in[ch]) / 1e9
            pc["min_gap_s"] = gap if pc["min_gap_s"] is None else min(pc["min_gap_s"], gap)
            if t - last_in[ch] < SLACK_MIN_GAP_NS:
                gaps_below.append({"channel": ch, "at_s": rel, "gap_s": round(gap, 4)})
        last_in[ch] = t
        for a in storm.named_alarms(body, ALARM_RE):
            if a not in route_of:
                continue
            if ch == channel_of(route_of[a]):
                seen_in_own[a] += 1
                visible.setdefault(a, t)
                pc["alarms_named"] += 1
            else:
                misrouted.setdefault(a, []).append(ch)
    for pc in per_channel.values():
        if pc["min_gap_s"] is not None:
            pc["min_gap_s"] = round(pc["min_gap_s"], 4)
    missing = [a for a in names if a not in visible]
    # Each alarm's wait: from entering the queue to visible in its channel.
    waits = sorted((visible[a] - arrival_ns[i]) / 1e9 for i, a in enumerate(names) if a in visible)
    wait = {} if not waits else {
        "median_s": round(run.percentile(waits, 50), 3),
        "p90_s": round(run.percentile(waits, 90), 3),
        "max_s": round(waits[-1], 3)}
    last_ns = max(visible.values()) if visible else None
    out.update({
        "last_alarm_visible_s": None if last_ns is None else (last_ns - t0_ns) / 1e9,
        "alarms_visible_in_own_channel": len(visible),
        "alarm_wait_queue_to_visible": wait,
        "alarms_missing_from_own_channel": missing,
        "alarms_misrouted": {a: chs for a, chs in sorted(misrouted.items())},
        "alarms_in_own_channel_more_than_once": sum(1 for c in seen_in_own.values() if c > 1),
        "accepted_gaps_below_1s": gaps_below,
        "per_channel": per_channel,
        "slack_refused_other": dict(other),
        "batches": [{**b, "formed_s": round((b["formed_ns"] - t0_ns) / 1e9, 4)}
                    for b in feeder.batches],
    })
    for b in out["batches"]:
        b.pop("formed_ns", None)
    out.pop("last_alarm_in_slack_s", None)  # any channel: the routed figure replaces it
    out.pop("alarms_missing", None)
    out["alarms_named_any_channel"] = out.pop("alarms_named")
    # Per invocation: the batch it carried, and how much of its time was waiting.
    sizes = {b["batch"]: b["records"] for b in out["batches"]}
    recs = sorted(pool.records, key=lambda r: r["dispatch_ns"])  # summarize's order
    for rec, log in zip(recs, out["invocation_log"]):
        log["records"] = sizes.get(log["job"])
        try:
            items = json.loads(rec["result"]).get("batchItemFailures") or []
        except (ValueError, AttributeError):
            items = []
        log["records_failed"] = len(items)
    return out


def ports_of(functions, server_port: int) -> dict[int, str]:
    """The local TCP port of each connection a function process holds to the local Slack,
    mapped to the instance's label (from /proc/PID/fd and /proc/net/tcp*): who sent a post.
    A connection closed before the end is missed (its posts show as `?`)."""
    inode_to_label = {}
    for fn in functions:
        try:
            for fd in os.listdir(f"/proc/{fn.pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{fn.pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:["):
                    inode_to_label[link[8:-1]] = fn.label
        except (OSError, AttributeError, TypeError):
            continue
    out = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) < 10 or f[9] not in inode_to_label:
                continue
            if int(f[2].rsplit(":", 1)[1], 16) == server_port:
                out[int(f[1].rsplit(":", 1)[1], 16)] = inode_to_label[f[9]]
    return out


def by_instance(posts: list, ports: list[int], who: dict[int, str], t0_ns: int) -> dict:
    """Accepted and 429 answers per instance, and each channel's posts in order."""
    per: dict[str, dict] = {}
    timeline: dict[str, list] = {}
    last_ok: dict[str, str] = {}  # channel -> who sent its last accepted message
    for (t, status, ch, _), port in sorted(zip(posts, ports), key=lambda x: x[0][0]):
        label = who.get(port, "?")
        d = per.setdefault(label, {"accepted": 0, "429": 0, "429_after_own": 0})
        if status == 200:
            d["accepted"] += 1
            last_ok[ch] = label
        else:
            d["429"] += 1
            # Refused because of this instance's own last message in the channel: its pacing
            # did not hold it back.
            d["429_after_own"] += last_ok.get(ch) == label != "?"
        timeline.setdefault(ch, []).append([round((t - t0_ns) / 1e9, 4), label, status])
    for v in timeline.values():
        v.sort()
    return {"per_instance": per, "timeline_by_channel": timeline}


def log_counts(functions) -> dict:
    """Per instance, from its log: the 429s it waited out, and the groups it gave up on."""
    out = {}
    for fn in functions:
        try:
            text = fn.log_path.read_text(errors="replace")
        except OSError:
            continue
        out[fn.label] = {
            "rate_limit_waits": text.count("Slack rate limit; waiting"),
            "groups_not_delivered": text.count("not delivered"),
            "not_delivered_rate_limited": sum(1 for line in text.splitlines()
                                              if "not delivered" in line
                                              and "SlackRateLimited" in line),
        }
    return out


def failures(r: dict) -> list[str]:
    f = []
    m = r["alarms_missing_from_own_channel"]
    if m:
        f.append(f"{len(m)} alarm(s) never named in an accepted message in their route's "
                 "channel: " + ", ".join(m[:20]) + (" ..." if len(m) > 20 else ""))
    if r["alarms_misrouted"]:
        items = list(r["alarms_misrouted"].items())
        f.append(f"{len(items)} alarm(s) named in another channel than their route's: "
                 + ", ".join(f"{a} in {','.join(c)}" for a, c in items[:10])
                 + (" ..." if len(items) > 10 else ""))
    if r["records_reported_failed"]:
        x = r["records_reported_failed"]
        f.append(f"{len(x)} record(s) reported failed: " + ", ".join(x[:20])
                 + (" ..." if len(x) > 20 else ""))
    if r["failed_invocations"]:
        f.append(f"{r['failed_invocations']} invocation(s) failed: {r['failed_by_type']}")
    if r["accepted_gaps_below_1s"]:
        g = r["accepted_gaps_below_1s"]
        f.append(f"{len(g)} accepted message(s) less than 1 s after the last in their channel: "
                 + ", ".join(f"{x['channel']} at {x['at_s']} s (+{x['gap_s']} s)" for x in g[:10]))
    if r["slack_refused_other"]:
        f.append(f"Slack refused calls other than by rate limit: {r['slack_refused_other']}")
    lv = r["last_alarm_visible_s"]
    if lv is not None and lv > TARGET_LAST_VISIBLE_S:
        f.append(f"the last alarm was visible in its channel {lv:.1f} s after the first "
                 f"entered the queue (target: within {TARGET_LAST_VISIBLE_S:g} s)")
    return f


def markdown(res: dict) -> str:
    r, c = res["routed"], res["routed"]["config"]
    lv = r["last_alarm_visible_s"]
    rows = [
        ("last alarm visible in its channel, from the first entering the queue",
         "n/a" if lv is None else f"{lv:.1f} s (target ≤ {TARGET_LAST_VISIBLE_S:g} s)"),
        ("each alarm from entering the queue to visible: median / p90 / max",
         " / ".join(f"{r['alarm_wait_queue_to_visible'].get(k, 0):.1f} s"
                    for k in ("median_s", "p90_s", "max_s"))),
        ("messages Slack accepted (per channel: min–max)",
         f"{r['slack_accepted']} ({min(r['per_channel'][ch]['accepted'] for ch in r['channels'])}"
         f"–{max(r['per_channel'][ch]['accepted'] for ch in r['channels'])})"),
        ("429 answers", str(r["slack_429"])),
        ("invocations (failed)", f"{r['invocations']} ({r['failed_invocations']})"),
        ("records reported failed", str(len(r["records_reported_failed"]))),
        ("alarms visible in their own channel (missing, misrouted)",
         f"{r['alarms_visible_in_own_channel']:,} of {r['alarms']:,} "
         f"({len(r['alarms_missing_from_own_channel'])}, {len(r['alarms_misrouted'])})"),
        ("alarms named twice in their channel", str(r["alarms_in_own_channel_more_than_once"])),
        ("accepted messages < 1 s apart in one channel", str(len(r["accepted_gaps_below_1s"]))),
        ("smallest gap between accepted messages in one channel",
         f"{min(r['per_channel'][ch]['min_gap_s'] for ch in r['channels'] if r['per_channel'][ch]['min_gap_s'] is not None):.3f} s"
         if any(r['per_channel'][ch]['min_gap_s'] is not None for ch in r['channels']) else "n/a"),
        ("all invocations done", storm.fmt_s(r["all_invocations_done_s"])),
        ("billed function-seconds", f"{r['billed_function_seconds']:.1f}"),
        ("GetSecretValue calls", str(r["get_secret_value"])),
        ("accepted / 429 by instance (429s right after its own accepted message)", "; ".join(
            f"{k}: {v['accepted']} / {v['429']} ({v['429_after_own']} after its own)"
            for k, v in sorted(r["slack_by_instance"]["per_instance"].items()))),
    ]
    out = [f"Routed storm: {r['alarms']:,} alarms over {ROUTES} routes; batches of up to "
           f"{c['batch_size']} ({len(r['batches'])} batches), window {c['batching_window_s']:g} s, "
           f"{c['instances']} warm instances, timeout {c['timeout_s']} s, all alarms in the "
           f"queue within {c['arrival_s']:g} s; Slack 1 message/s/channel.", "",
           "| figure | value |", "| --- | --- |"]
    out += [f"| {k} | {v} |" for k, v in rows]
    out += ["", "| channel | accepted | 429 | alarms named | first | last |",
            "| --- | --- | --- | --- | --- | --- |"]
    for ch in r["channels"]:
        pc = r["per_channel"][ch]
        out.append(f"| {ch} | {pc['accepted']} | {pc['429']} | {pc['alarms_named']} | "
                   f"{storm.fmt_s(pc['first_s'])} | {storm.fmt_s(pc['last_s'])} |")
    mach = res["machine"]
    out.append("")
    out.append(f"Machine: {mach['machine']}, {mach['nproc']} CPUs, {mach['cpu_model']}, "
               f"kernel {mach['kernel']}; {mach['rustc'] or 'rustc ?'}; "
               f"commit {(mach['git_commit'] or '?')[:12]}"
               f"{' (src/ or Cargo.* modified in the work tree)' if mach.get('git_modified') else ''}; "
               f"binary built {res['config'].get('binary_built', '?')}; date {mach['date']}; "
               f"load average {mach['loadavg_at_start'][0]:.2f} at start, "
               f"{mach.get('loadavg_at_end', ['?'])[0]} at end")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------
def routed(binary: Path, env: dict, api: SlackApi, proxy, tmp: Path, args) -> dict:
    functions: list = []

    def new_function(label: str, timeout_ms: int):
        fn = run.Function(binary, env, tmp / f"{label}.log")
        fn.label = label
        fn.rt.deadline_ms = timeout_ms
        functions.append(fn)
        return fn

    pool = storm.Pool("routed", new_function, args.instances, args.timeout).start()
    try:
        # Warm instances: each has served one batch of one alarm, which no route takes (it
        # goes to the secret's channel), so each holds the secret and a Slack connection.
        for k in range(args.instances):
            fn = new_function(f"routed-{k}", args.timeout * 1000)
            name, msg = f"warm-up-{k:04d}", storm.alarm_message(
                f"warm-up-{k:04d}", "ALARM", run.ACCOUNT, "AWS/EC2",
                "2026-11-20T07:59:00.000+0000")
            _, inv = fn.start(EVENT_HEAD + sqs_record(
                f"warm-{k}", storm.sns_envelope(str(uuid.uuid4()), "warm-up", msg)) + EVENT_TAIL)
            fn.wait_done(inv)
            fn.completed = 1
            if inv.kind != "response" or json.loads(inv.result).get("batchItemFailures"):
                raise BenchError(f"warm-up of {fn.label} failed: "
                                 + inv.result.decode(errors="replace") + fn.diag())
            fn.wait_parked()
            pool.add_warm(fn)
        api.wait_rate_window()
        warm = api.take()
        if sum(1 for p in warm if p[1] == 200) != args.instances or any(
                p[2] != DEFAULT_CHANNEL for p in warm):
            raise BenchError(f"warm-up: expected {args.instances} messages in {DEFAULT_CHANNEL}, "
                             f"Slack saw {[(p[1], p[2]) for p in warm]}")
        gsv0 = proxy.get_secret_value_count()

        names, mids, records, route_of = [], [], [], {}
        for i in range(ALARMS):
            name, route, msg = alarm(i)
            names.append(name)
            route_of[name] = route
            mid = f"sqs-{i:05d}"
            mids.append(mid)
            records.append(sqs_record(mid, storm.sns_envelope(
                f"sns-{i:05d}-{uuid.uuid4()}", f'ALARM: "{name}"', msg)))
        print(f"routed storm: {ALARMS:,} alarms over {ROUTES} routes into the queue within "
              f"{args.arrival_seconds:g} s; batches of up to {args.batch_size}, window "
              f"{args.batching_window:g} s, {args.instances} warm instances, timeout "
              f"{args.timeout} s ...", flush=True)
        t0 = now_ns() + int(storm.LEAD_S * 1e9)
        arrival = [t0 + int(i * args.arrival_seconds * 1e9 / ALARMS) for i in range(ALARMS)]
        feeder = Feeder(pool, records, names, mids, arrival, args.batch_size,
                        int(args.batching_window * 1e9)).start()
        end = time.monotonic() + BUDGET_S
        feeder.wait(end)
        pool.wait_all(max(end - time.monotonic(), 1.0))
        time.sleep(0.2)  # any POST still being answered
        posts = api.take()
        who = ports_of(functions, api.server.port)
        out = figures(pool, feeder, posts, t0, names, route_of,
                      proxy.get_secret_value_count() - gsv0, api.other, arrival)
        out["slack_by_instance"] = by_instance(posts, api.taken_ports, who, t0)
        out["channels"] = [channel_of(k) for k in range(ROUTES)]
        out["function_logs"] = log_counts(functions)
        out["config"] = {"alarms": ALARMS, "routes": ROUTES, "batch_size": args.batch_size,
                         "batching_window_s": args.batching_window,
                         "instances": args.instances, "warm": True,
                         "timeout_s": args.timeout, "arrival_s": args.arrival_seconds,
                         "max_payload_bytes": MAX_PAYLOAD,
                         "digest_threshold": args.function_env.get("DIGEST_THRESHOLD",
                                                                   "default (3)"),
                         "slack_min_interval_seconds": args.function_env.get(
                             "SLACK_MIN_INTERVAL_SECONDS", "default (1)"),
                         "target_last_visible_s": TARGET_LAST_VISIBLE_S}
        return out
    finally:
        pool.stop()
        threads = [threading.Thread(target=fn.stop, daemon=True) for fn in functions]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)


def main(args, binary: Path) -> int:
    started = time.monotonic()
    res: dict = {
        "ok": False,
        "config": {"case": "routed", "binary": str(binary), "build": not args.no_build,
                   "slack_accepts_per_second_per_channel": 1,
                   "slack_retry_after": SLACK_RETRY_AFTER},
        "machine": run.machine_info(),
    }
    # The commit, and the files of src/ and Cargo.* that differ from it in the work tree now
    # (edits made after the binary was built do not count: compare config.binary_built).
    res["machine"]["git_modified"] = (run.run_cmd(
        ["git", "-C", str(run.REPO), "status", "--porcelain", "--untracked-files=no", "--",
         "src", "Cargo.toml", "Cargo.lock"]) or "").splitlines()
    moto_server = api = proxy = None
    tmp = Path(tempfile.mkdtemp(prefix="slack-notifier-routed-"))
    keep_tmp = False
    try:
        if not args.no_build:
            res["build_seconds"] = round(run.build(binary), 1)
        if not binary.is_file():
            raise BenchError(f"{binary} not found (build it, or pass --binary)")
        res["config"]["binary_built"] = _dt.datetime.fromtimestamp(
            binary.stat().st_mtime, _dt.timezone.utc).isoformat(timespec="seconds")
        ca = run.LocalCA(tmp)
        moto_server, moto_port, boto3 = run.start_moto()
        api = SlackApi(ca.server_context(),
                       {channel_of(k) for k in range(ROUTES)} | {DEFAULT_CHANNEL})
        proxy = run.CountingProxy(moto_port, ca.server_context())
        run.tls_self_test(ca, api, proxy)
        sm = boto3.client("secretsmanager", region_name=run.REGION,
                          endpoint_url=f"http://127.0.0.1:{moto_port}",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        sm.create_secret(Name=SECRET_NAME, SecretString=json.dumps(
            {"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL": DEFAULT_CHANNEL}))
        sm.get_secret_value(SecretId=SECRET_NAME)  # warm moto's backend
        routes_file = tmp / "routes.toml"
        routes_file.write_text(routes_toml())
        home = tmp / "home"
        home.mkdir()
        env = run.function_env(home, proxy.url, ca.ca_file)
        env.update({"SecretId": SECRET_NAME, "ROUTES_FILE": str(routes_file),
                    "SLACK_API_URL": api.url, "SLACK_API_HOSTS": "127.0.0.1"})
        env.update(args.function_env)
        res["config"]["function_env_extra"] = dict(args.function_env)
        res["routes_file"] = routes_file.read_text()

        res["routed"] = r = routed(binary, env, api, proxy, tmp, args)
        fails = failures(r)
        res["failures"] = fails
        res["ok"] = not fails
        res["tls"] = {"slack": api.server.tls_summary(),
                      "secretsmanager_proxy": proxy.server.tls_summary()}
        res["wall_seconds"] = round(time.monotonic() - started, 1)
        res["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        run.write_json(args.out, res)
        print()
        print(markdown(res))
        print(f"\nraw figures: {args.out}")
        if fails:
            keep_tmp = True
            for f in fails:
                print(f"STORM FAILED: routed: {f}")
            print(f"(function logs kept in {tmp})")
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
        print(f"BENCHMARK FAILED: {e}\n(function logs kept in {tmp})")
        return 1
    finally:
        for srv in (proxy, api):
            if srv is not None:
                srv.server.stop()
        if moto_server is not None:
            try:
                moto_server.stop()
            except Exception as e:  # noqa: BLE001
                print(f"warning: stopping moto: {e}")
        if not keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
