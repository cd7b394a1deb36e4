#!/usr/bin/env python3
"""Draw an incident's Slack thread, as the end-to-end test recorded it, to one HTML page.

The input is the `thread.json` that `PREVIEW_OUT=<dir> cargo test --test e2e preview::` writes:
what the local Slack Web API holds once an ALARM and its OK went through the built function
(the parent as posted and as edited by chat.update, the replies in order, each shared file's
metadata and the GetMetricWidgetImage widget JSON the function sent for it). Python 3 standard
library only; the messages are drawn by render_html.py.

    python3 docs/preview/render_thread.py thread thread.json -o thread.html   # the resolved thread
    python3 docs/preview/render_thread.py graph thread.json -o graph.html     # the ALARM and its graph
    python3 docs/preview/render_thread.py posted actions.json -o actions.html # the ALARM, alone
    python3 docs/preview/render_thread.py thread actions.json -o actions-thread.html

`actions.json` is the same shape, from the preview test of acting from Slack (ACTIONS=true): the
parent as posted with its buttons and as edited after Acknowledge, Mute 1 hour and the OK, and
the replies. Buttons and menus are drawn as Slack shows them, closed and without their menus.

About the graph: in Slack, the image in the thread is the PNG CloudWatch draws for the widget.
There is no CloudWatch here (the test's local one answers a 2x2 placeholder), so this script
draws the widget's content itself, as an SVG in CloudWatch's style: its title, metrics or
expressions with their stat and period, the threshold annotation or the anomaly band, its time
window and any vertical annotation. The data points are examples: the datapoints the thread's
alarm reasons quote are placed at their times, and the other periods are made up.
"""

import argparse
import datetime as dt
import html
import json
import math
import random
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in docs/preview
import render_html as rh  # noqa: E402

# ---------------------------------------------------------------------------
# The widget, drawn (see the module's docstring: example data, not CloudWatch's)
# ---------------------------------------------------------------------------

LINE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"]
THRESHOLD_COLOUR = "#d62728"
BAND_FILL = "rgba(127,127,127,0.22)"
GRID = "#e9ebed"
AXIS_TEXT = "#5f6b7a"
TEXT = "#16191f"

# `92.4 (20/11/26 08:10:00)`, as CloudWatch writes datapoints in a state reason.
REASON_POINT = re.compile(r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?) \((\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)\)")


def reason_points(payloads):
    """{epoch: value} of the datapoints quoted in the payloads' text (the alarm reasons)."""
    points = {}
    for p in payloads:
        for m in REASON_POINT.finditer(json.dumps(p, ensure_ascii=False)):
            value, d, mo, y, h, mi, s = m.groups()
            try:
                t = dt.datetime(2000 + int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=dt.timezone.utc)
            except ValueError:
                continue
            points[int(t.timestamp())] = float(value)
    return points


def parse_time(text):
    """The widget's `start`/`end` in epoch seconds; `None` unless ISO 8601 UTC (a relative
    `-PT3H` start is taken as the 3 hours before `end`)."""
    if not isinstance(text, str):
        return None
    try:
        return int(dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp())
    except ValueError:
        return None


def human_period(seconds):
    if seconds % 3600 == 0:
        return "%d h" % (seconds // 3600)
    if seconds % 60 == 0:
        return "%d min" % (seconds // 60)
    return "%d s" % seconds


def series_of(widget):
    """The rows drawn as lines: [(label, detail, kind)] with kind 'metric', 'expression' or 'band'."""
    out = []
    period = widget.get("period")
    for row in widget.get("metrics") or []:
        if not isinstance(row, list) or not row:
            continue
        opts = row[-1] if isinstance(row[-1], dict) else {}
        if opts.get("visible") is False:
            continue
        every = opts.get("period", period)
        if "expression" in opts:
            expr = str(opts["expression"])
            kind = "band" if "ANOMALY_DETECTION_BAND" in expr.upper() else "expression"
            label = str(opts.get("label") or opts.get("id") or expr)
            detail = expr if label != expr else ""
            if every and kind != "band":
                detail = ", ".join(x for x in (detail, human_period(int(every))) if x)
            out.append((label, detail, kind))
            continue
        names = [x for x in row if isinstance(x, str)]
        if len(names) < 2:
            continue
        label = str(opts.get("label") or names[1])
        bits = [str(opts["stat"])] if opts.get("stat") else []
        if every:
            bits.append(human_period(int(every)))
        out.append((label, ", ".join(bits), "metric"))
    return out


def nice_step(span, ticks=5):
    raw = span / max(ticks, 1)
    mag = 10 ** int(("%e" % raw).split("e")[1])
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def example_values(times, threshold, breach_above, known, seed, calm):
    """One value per time: `known` where the reasons give it, else a made-up calm value on the
    threshold's safe side, leaning toward a known value a few periods ahead. Each made-up value
    depends only on `seed` and its time, so two graphs of one metric agree where they overlap.
    `calm` gets the calm series alone (an anomaly band is drawn around it)."""
    scale = abs(threshold) if threshold else 100.0
    base = (0.5 if breach_above else 1.5) * scale if threshold else 0.5 * scale
    phase = random.Random(seed).uniform(0, 2 * math.pi)

    def jitter(t):
        return random.Random("%s|%d" % (seed, t)).uniform(-1, 1)

    values = [base + scale * (0.05 * math.sin(t / 2700 + phase) + 0.03 * math.sin(t / 1000 + 2 * phase)
                              + 0.025 * jitter(t)) for t in times]
    calm[:] = values
    if not known and threshold is not None:
        # Nothing quoted: the last three periods breach, as an ALARM's would.
        for i in range(max(0, len(times) - 3), len(times)):
            values[i] = threshold + (0.1 if breach_above else -0.1) * scale * (1.5 + jitter(times[i]) / 2)
        return values
    for i, t in enumerate(times):
        if t in known:
            values[i] = known[t]
            continue
        # Lean toward a known value within three periods, staying on the safe side.
        ahead = [(j, times[j]) for j in range(i + 1, min(len(times), i + 4)) if times[j] in known]
        if ahead:
            j, tj = ahead[0]
            w = 1 - (j - i) / 4
            v = w * known[tj] + (1 - w) * values[i]
            if threshold is not None:
                v = min(v, threshold - 0.06 * scale) if breach_above else max(v, threshold + 0.06 * scale)
            values[i] = v
    return values


def chart_svg(widget, known, width_px):
    """The widget as an SVG of its own size (600x300), shown `width_px` wide."""
    W = int(widget.get("width") or 600)
    H = int(widget.get("height") or 300)
    end = parse_time(widget.get("end"))
    start = parse_time(widget.get("start"))
    if end is None:
        end = max(known) if known else int(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp())
    if start is None:
        start = end - 3 * 3600
    period = int(widget.get("period") or 300)
    series = series_of(widget)
    hlines = [a for a in (widget.get("annotations") or {}).get("horizontal") or [] if isinstance(a, dict)]
    vlines = [a for a in (widget.get("annotations") or {}).get("vertical") or [] if isinstance(a, dict)]
    threshold = next((float(a["value"]) for a in hlines if isinstance(a.get("value"), (int, float))), None)
    label0 = str(hlines[0].get("label", "")) if hlines else ""
    breach_above = "<" not in label0

    # Complete periods inside the window, at their start, as CloudWatch plots them. The graph
    # is drawn at the state change, so no period after it has data yet.
    changed = [parse_time(a.get("value")) for a in vlines]
    last = min([end] + [t for t in changed if t is not None])
    first = -(-start // period) * period
    times = list(range(first, last - period + 1, period))
    seed = json.dumps(widget.get("metrics"), sort_keys=True)
    lines = [s for s in series if s[2] != "band"]
    band = next((s for s in series if s[2] == "band"), None)
    data, calm = [], []
    for n, _ in enumerate(lines or [None]):
        data.append(example_values(times, threshold, breach_above, known if n == 0 else {},
                                   "%s|%d" % (seed, n), calm if n == 0 else []))

    # Plot area and scales.
    left, right, top = 46, W - 16, 40
    legend_rows = 1 + (len(lines) + len(hlines) + (1 if band else 0)) // 4
    bottom = H - 30 - 16 * legend_rows
    all_values = [v for vs in data for v in vs] + ([threshold] if threshold is not None else [])
    lo, hi = min(all_values + [0]), max(all_values + [1])
    if band:
        hi *= 1.25
    step = nice_step(hi - lo or 1)
    y_min = step * (lo // step) if lo < 0 else 0
    y_max = step * -(-(hi * 1.04) // step)

    def x(t):
        return left + (t - start) * (right - left) / max(end - start, 1)

    def y(v):
        return bottom - (v - y_min) * (bottom - top) / max(y_max - y_min, 1e-9)

    def num(v):
        return ("%.0f" % v) if float(v).is_integer() or abs(v) >= 100 else ("%g" % round(v, 2))

    e = html.escape
    out = ['<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg" '
           'font-family="Amazon Ember, Helvetica Neue, Roboto, Arial, sans-serif">' % (W, H, width_px, width_px * H // W),
           '<rect width="%d" height="%d" fill="#ffffff"/>' % (W, H),
           '<text x="12" y="22" font-size="14" font-weight="700" fill="%s">%s</text>'
           % (TEXT, e(str(widget.get("title") or "")))]
    # Grid and the y axis.
    v = y_min
    while v <= y_max + 1e-9:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1"/>' % (left, right, y(v), y(v), GRID))
        out.append('<text x="%d" y="%.1f" font-size="11" fill="%s" text-anchor="end">%s</text>'
                   % (left - 6, y(v) + 4, AXIS_TEXT, num(v)))
        v += step
    # The x axis: every half hour (every hour past 6 h), in UTC as GetMetricWidgetImage draws by default.
    tick = 1800 if end - start <= 6 * 3600 else 3600
    t = -(-start // tick) * tick
    while t <= end and x(t) <= W - 18:
        label = dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%H:%M")
        out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s"/>' % (x(t), x(t), bottom, bottom + 4, "#aab7b8"))
        out.append('<text x="%.1f" y="%d" font-size="11" fill="%s" text-anchor="middle">%s</text>'
                   % (x(t), bottom + 17, AXIS_TEXT, label))
        t += tick
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#aab7b8"/>' % (left, right, bottom, bottom))
    # The anomaly band around the first line.
    if band and calm and times:
        width = [0.18 * (abs(v) + 1) for v in calm]
        mid = [smooth(calm, i) for i in range(len(times))]
        upper = ["%.1f,%.1f" % (x(t), y(m + w)) for t, m, w in zip(times, mid, width)]
        lower = ["%.1f,%.1f" % (x(t), y(m - w)) for t, m, w in zip(times, mid, width)]
        out.append('<polygon points="%s" fill="%s" stroke="none"/>' % (" ".join(upper + lower[::-1]), BAND_FILL))
    # Threshold annotations.
    for a in hlines:
        if isinstance(a.get("value"), (int, float)):
            yy = y(float(a["value"]))
            out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"/>'
                       % (left, right, yy, yy, a.get("color") or THRESHOLD_COLOUR))
    # Vertical annotations (the notifier sends none today; drawn if it ever does).
    for a in vlines:
        at = parse_time(a.get("value"))
        if at is not None and start <= at <= end:
            out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-dasharray="4 3"/>'
                       % (x(at), x(at), top, bottom, a.get("color") or AXIS_TEXT))
            if a.get("label"):
                out.append('<text x="%.1f" y="%d" font-size="11" fill="%s" text-anchor="end">%s</text>'
                           % (x(at) - 4, top + 10, AXIS_TEXT, e(str(a["label"]))))
    # The lines.
    for n, values in enumerate(data[:len(lines)]):
        colour = LINE_COLOURS[n % len(LINE_COLOURS)]
        pts = " ".join("%.1f,%.1f" % (x(t), y(v)) for t, v in zip(times, values))
        out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="1.6" stroke-linejoin="round"/>' % (pts, colour))
    # The legend: each line with its stat and period, then the band and the annotations.
    items = [(LINE_COLOURS[n % len(LINE_COLOURS)], "box", label, detail) for n, (label, detail, _) in enumerate(lines)]
    if band:
        items.append((BAND_FILL, "box", band[0], band[1]))
    for a in hlines:
        value = a.get("value")
        items.append((a.get("color") or THRESHOLD_COLOUR, "line", str(a.get("label") or "Threshold"),
                      num(float(value)) if isinstance(value, (int, float)) else ""))
    lx, ly = left, bottom + 38
    for colour, shape, label, detail in items:
        if shape == "box":
            out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (lx, ly - 9, colour))
        else:
            out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"/>' % (lx - 1, lx + 11, ly - 4, ly - 4, colour))
        text = '<tspan fill="%s">%s</tspan>' % (TEXT, e(label))
        if detail:
            text += '<tspan fill="%s"> %s</tspan>' % (AXIS_TEXT, e(detail if shape == "line" else "(%s)" % detail))
        out.append('<text x="%d" y="%d" font-size="11.5">%s</text>' % (lx + 15, ly, text))
        lx += 15 + int(6.4 * (len(label) + len(detail) + 3)) + 18
        if lx > right - 120:
            lx, ly = left, ly + 16
    out.append("</svg>")
    return "".join(out)


def smooth(values, i, k=2):
    window = values[max(0, i - k): i + k + 1]
    return sum(window) / len(window)


# ---------------------------------------------------------------------------
# The thread pane
# ---------------------------------------------------------------------------

CSS = """
.pane-head { display: flex; align-items: baseline; gap: 8px; padding: 2px 20px 12px; border-bottom: 1px solid #dddddd; margin-bottom: 8px; }
.pane-head .title { font-size: 18px; font-weight: 900; }
.pane-head .channel { font-size: 13px; color: #616061; }
.pane-head .close { margin-left: auto; font-size: 20px; line-height: 1; color: #616061; }
.replies { display: flex; align-items: center; gap: 12px; padding: 4px 20px 6px; font-size: 13px; color: #616061; }
.replies::after { content: ""; flex: 1 1 auto; border-top: 1px solid #dddddd; }
.message + .message { border-top: 0; }  /* a thread has no rules between messages */
.file-title { font-size: 13px; color: #616061; margin: 2px 0 6px; }
.file-title .caret { font-size: 10px; margin-left: 2px; }
.file-image { display: inline-block; border: 1px solid rgba(29,28,29,0.13); border-radius: 8px; overflow: hidden; line-height: 0; }
.file-image svg { display: block; }
"""


def file_message(reply, known, time_label, image_width):
    f = reply.get("file") or {}
    title = str(f.get("title") or f.get("filename") or "image")
    svg = chart_svg(reply.get("widget") or {}, known, image_width)
    return """
<div class="message">
  <div class="avatar" aria-hidden="true">%s</div>
  <div class="content">
    <div class="meta"><span class="name">%s</span><span class="app">APP</span><span class="time">%s</span></div>
    <div class="file-title">%s <span class="caret">&#9660;</span></div>
    <div class="file-image" title="%s">%s</div>
  </div>
</div>""" % (rh.AVATAR_SVG, rh.APP_NAME, rh.esc(time_label), rh.esc(title), rh.esc(str(f.get("filename") or "")), svg)


def at_label(epoch, tz):
    """A reply's time from its `at` (epoch seconds, when the test clicked), if it has one."""
    if not isinstance(epoch, (int, float)):
        return None
    return rh.clock(dt.datetime.fromtimestamp(epoch, tz))


def replies_label(n):
    return "1 reply" if n == 1 else "%d replies" % n


def render_thread(parent, replies, known, tz, channel, image_width):
    """The thread pane: its header, the parent, "N replies", then each reply in order."""
    last_time = rh.time_label_of(parent, tz) or "9:41 AM"
    parts = ['<div class="pane-head"><span class="title">Thread</span><span class="channel"># %s</span>'
             '<span class="close">&#215;</span></div>' % rh.esc(channel),
             rh.render_message(parent, tz, last_time),
             '<div class="replies">%s</div>' % replies_label(len(replies))]
    for r in replies:
        if r.get("type") == "file":
            # A shared file has no payload of its own: it follows its message by a moment.
            parts.append(file_message(r, known, last_time, image_width))
        else:
            message = r.get("message") or {}
            last_time = rh.time_label_of(message, tz) or at_label(r.get("at"), tz) or last_time
            parts.append(rh.render_message(message, tz, last_time))
    return "".join(parts)


def page(body, width):
    css = rh.CSS.replace("width: 720px;", "width: %dpx;" % width) + CSS
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width\">"
            "<title>%s thread preview</title><style>%s</style></head>"
            "<body><div class=\"page\">%s\n</div></body></html>\n") % (rh.APP_NAME, css, body)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("layout", choices=["thread", "graph", "posted"],
                    help="thread: the parent as edited and every reply; graph: the parent as first "
                         "posted and its first reply, the graph; posted: the parent as first posted, "
                         "alone, as the channel shows it")
    ap.add_argument("input", help="thread.json (or actions.json) written by the preview test; - for stdin")
    ap.add_argument("-o", "--output", default="-", help="HTML file to write; - for stdout (default)")
    ap.add_argument("--channel", default="alerts", help="channel name in the pane's header (default alerts)")
    ap.add_argument("--image-width", type=int, help="graph width in px (default 360 for thread, 600 for graph)")
    ap.add_argument("--viewer-utc-offset", type=rh.parse_offset, default=dt.timezone.utc,
                    help="time zone used for <!date^...> tokens and message times (default +00:00)")
    ap.add_argument("--width", type=int, default=720, help="pane width in px (default 720)")
    args = ap.parse_args(argv)

    if args.input == "-":
        data = json.load(sys.stdin)
    else:
        with open(args.input, encoding="utf-8") as f:
            data = json.load(f)
    parent = data.get("parent") or {}
    replies = [r for r in data.get("replies") or [] if isinstance(r, dict)]
    messages = [parent.get("posted") or {}] + [r.get("message") or {} for r in replies if r.get("type") == "message"]
    known = reason_points(messages)
    if args.layout == "thread":
        body = render_thread(parent.get("message") or parent.get("posted") or {}, replies, known,
                             args.viewer_utc_offset, args.channel, args.image_width or 360)
    elif args.layout == "posted":
        posted = parent.get("posted") or {}
        body = rh.render_message(posted, args.viewer_utc_offset, rh.time_label_of(posted, args.viewer_utc_offset))
    else:
        first_file = next((r for r in replies if r.get("type") == "file"), None)
        if first_file is None:
            ap.error("the thread has no shared file")
        body = render_thread(parent.get("posted") or {}, [first_file], known,
                             args.viewer_utc_offset, args.channel, args.image_width or 600)
    out = page(body, args.width)
    if args.output == "-":
        sys.stdout.write(out)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
