#!/usr/bin/env python3
"""Render Slack payloads (as printed by `slack-alarm-notifier render`) to one HTML page.

The page imitates how Slack shows a bot message with Block Kit blocks and a coloured
attachment, closely enough for README screenshots. Python 3 standard library only.

    cargo run -q -- render events/sns-alarm.json | python3 docs/preview/render_html.py - -o out.html
    python3 docs/preview/render_html.py payloads.json --index 0 -o out.html

Every piece of payload text is treated as untrusted: Slack's three entities
(&amp; &lt; &gt;) are decoded once and the result is HTML-escaped before it is placed
in the page, and link targets are kept only for http(s) and mailto URLs.
"""

import argparse
import datetime as dt
import html
import json
import math
import re
import sys

APP_NAME = "slack-alarm-notifier"

# ---------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------


def slack_unescape(text):
    """Undo Slack's escaping once. Other entities (e.g. &quot;) stay literal, as in Slack."""
    return re.sub(r"&(amp|lt|gt);", lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], text)


def esc(text):
    """Slack text -> safe HTML text."""
    return html.escape(slack_unescape(text), quote=True)


def safe_href(url):
    url = slack_unescape(url).strip()
    if re.match(r"(?i)^(https?:|mailto:)", url):
        return html.escape(url, quote=True)
    return None


def link_html(url, label):
    href = safe_href(url)
    if href is None:
        return '<span class="link">%s</span>' % label
    return '<a class="link" href="%s">%s</a>' % (href, label)


# A few shortcodes Slack would turn into emoji; the notifier itself uses Unicode emoji.
SHORTCODES = {
    "rotating_light": "\U0001F6A8", "red_circle": "\U0001F534", "large_green_circle": "\U0001F7E2",
    "white_check_mark": "\u2705", "warning": "\u26A0\uFE0F", "x": "\u274C", "fire": "\U0001F525",
    "information_source": "\u2139\uFE0F", "white_circle": "\u26AA", "bell": "\U0001F514",
    "shield": "\U0001F6E1\uFE0F", "stethoscope": "\U0001FA7A", "large_blue_circle": "\U0001F535",
}


_EMOJI_BASE = "\U0001F000-\U0001FAFF\u2600-\u27BF\u2B1B\u2B1C\u2B50\u2B55\u231A\u231B\u23E9-\u23FA"
EMOJI = re.compile("[%s][\uFE0F\U0001F3FB-\U0001F3FF]?(?:\u200D[%s]\uFE0F?)*" % (_EMOJI_BASE, _EMOJI_BASE))


def emojify(escaped_text):
    """Shortcodes -> emoji, and every emoji wrapped so it is drawn in colour (Slack shows
    images for them; without this, e.g. U+26AA would come out as a plain text glyph)."""
    text = re.sub(r":([a-z0-9_+-]+):", lambda m: SHORTCODES.get(m.group(1), m.group(0)), escaped_text)

    def wrap(m):
        e = m.group(0)
        if len(e) == 1 and e < "\U0001F000":
            e += "\uFE0F"  # ask for emoji presentation
        return '<span class="emoji">%s</span>' % e

    return EMOJI.sub(wrap, text)


# ---------------------------------------------------------------------------
# Dates: <!date^EPOCH^FORMAT^LINK|fallback>
# ---------------------------------------------------------------------------


def ordinal(n):
    if 10 <= n % 100 <= 20:
        return "%dth" % n
    return "%d%s" % (n, {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th"))


def format_date_token(epoch, fmt, tz):
    t = dt.datetime.fromtimestamp(epoch, tz)
    hour12 = t.hour % 12 or 12
    ampm = "AM" if t.hour < 12 else "PM"
    month, mon = t.strftime("%B"), t.strftime("%b")
    parts = {
        "date_num": t.strftime("%Y-%m-%d"),
        "date": "%s %s, %d" % (month, ordinal(t.day), t.year),
        "date_short": "%s %d, %d" % (mon, t.day, t.year),
        "date_long": "%s, %s %s, %d" % (t.strftime("%A"), month, ordinal(t.day), t.year),
        # The *_pretty forms say "today"/"yesterday" when they apply; a screenshot
        # is looked at on other days, so they are shown in their absolute form.
        "date_pretty": "%s %s, %d" % (month, ordinal(t.day), t.year),
        "date_short_pretty": "%s %s" % (mon, ordinal(t.day)),
        "date_long_pretty": "%s, %s %s" % (t.strftime("%A"), month, ordinal(t.day)),
        "time": "%d:%02d %s" % (hour12, t.minute, ampm),
        "time_secs": "%d:%02d:%02d %s" % (hour12, t.minute, t.second, ampm),
        "ago": "",
    }
    return re.sub(r"\{(\w+)\}", lambda m: parts.get(m.group(1), m.group(0)), fmt)


# ---------------------------------------------------------------------------
# mrkdwn -> HTML
# ---------------------------------------------------------------------------

ANGLE = re.compile(r"<([^<>\n]*)>")
BARE_URL = re.compile(r"\bhttps?://(?:(?!&gt;|&lt;)[^\s<>|])+")
BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
HOLE = re.compile(r"\x00(\d+)\x00")


class Mrkdwn:
    """Turns one mrkdwn string into HTML. Pieces that must not be touched by the
    bold/italic rules (links, mentions, dates, code) are parked in `holes`."""

    def __init__(self, tz):
        self.tz = tz
        self.holes = []

    def park(self, fragment):
        self.holes.append(fragment)
        return "\x00%d\x00" % (len(self.holes) - 1)

    def angle(self, inner, in_code=False):
        """One <...> token -> HTML (or plain label when inside code)."""
        target, _, label = inner.partition("|")
        if target.startswith("!date^"):
            bits = target.split("^")
            fallback = esc(label) if label else ""
            try:
                shown = esc(format_date_token(int(bits[1]), bits[2], self.tz))
            except (IndexError, ValueError, OverflowError, OSError):
                shown = fallback
            return '<span class="date" title="%s">%s</span>' % (fallback, shown)
        if target.startswith("!"):
            name = target[1:].split("^")[0]
            if name in ("here", "channel", "everyone"):
                text = "@" + name
            elif name == "subteam":
                text = label or "@group"
            else:
                text = label or "@" + name
            cls = "mention" if in_code else "mention broadcast"
            return '<span class="%s">%s</span>' % (cls, esc(text))
        if target.startswith("@"):
            text = label or "@" + target[1:]
            if not text.startswith("@"):
                text = "@" + text
            return '<span class="mention user">%s</span>' % esc(text)
        if target.startswith("#"):
            text = label or target[1:]
            return '<span class="mention channel">#%s</span>' % esc(text.lstrip("#"))
        shown = esc(label) if label else esc(target)
        if in_code:
            return shown
        return link_html(target, shown)

    def code_text(self, raw):
        """Text inside `code` or ```blocks```: tokens shown by label, no formatting."""
        out, pos = [], 0
        for m in ANGLE.finditer(raw):
            out.append(esc(raw[pos:m.start()]))
            out.append(self.angle(m.group(1), in_code=True))
            pos = m.end()
        out.append(esc(raw[pos:]))
        return "".join(out)

    def inline(self, raw):
        """One line of mrkdwn outside code blocks."""
        # Inline code first: nothing inside it is formatted.
        raw = re.sub(r"`([^`\n]+)`", lambda m: self.park("<code>%s</code>" % self.code_text(m.group(1))), raw)
        # Links, mentions and dates.
        raw = ANGLE.sub(lambda m: self.park(self.angle(m.group(1))), raw)

        # Bare URLs, which Slack links by itself; trailing punctuation stays outside.
        def bare(m):
            url = m.group(0)
            trail = re.search(r"[.,;:!?)\]'\"]+$", url)
            tail = ""
            if trail:
                url, tail = url[: trail.start()], url[trail.start():]
            return self.park(link_html(url, esc(url))) + tail

        raw = BARE_URL.sub(bare, raw)
        text = emojify(esc(raw))
        for _ in range(2):  # allows *_bold italic_*
            text = BOLD.sub(r"<b>\1</b>", text)
            text = ITALIC.sub(r"<i>\1</i>", text)
            text = STRIKE.sub(r"<s>\1</s>", text)
        return text

    def lines(self, raw):
        """Plain (non-fenced) text: lines, with `>` quotes."""
        out = []
        for line in raw.split("\n"):
            quote = re.match(r"^&gt;\s?(.*)$", line)
            if quote:
                out.append(("quote", self.inline(quote.group(1))))
            else:
                out.append(("line", self.inline(line)))
        html_parts = []
        for i, (kind, text) in enumerate(out):
            if kind == "quote":
                html_parts.append('<span class="quote">%s</span>' % (text or "&#8203;"))
            else:
                html_parts.append(text)
                if i + 1 < len(out) and out[i + 1][0] != "quote":
                    html_parts.append("<br>")
        return "".join(html_parts)

    def convert(self, raw):
        raw = raw.replace("\x00", "")
        parts, pos = [], 0
        for m in re.finditer(r"```(.*?)```", raw, flags=re.S):
            before = raw[pos:m.start()]
            if before.endswith("\n"):
                before = before[:-1]
            if before:
                parts.append(self.lines(before))
            body = m.group(1).strip("\n")
            parts.append('<pre class="codeblock">%s</pre>' % self.code_text(body))
            pos = m.end()
            if raw[pos:pos + 1] == "\n":
                pos += 1
        rest = raw[pos:]
        if rest or not parts:
            parts.append(self.lines(rest))
        text = "".join(parts)
        # Fill parked pieces back in (they may nest: code holding a mention).
        for _ in range(3):
            text = HOLE.sub(lambda m: self.holes[int(m.group(1))], text)
        return text


def text_obj(obj, tz):
    """A Block Kit text object -> HTML."""
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return Mrkdwn(tz).convert(text)
    out = esc(text.replace("\x00", ""))
    if obj.get("emoji", True):
        out = emojify(out)
    return out.replace("\n", "<br>")


# ---------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------


def render_button(el, tz):
    label = text_obj(el.get("text"), tz)
    style = el.get("style")
    cls = "button" + (" primary" if style == "primary" else " danger" if style == "danger" else "")
    url = el.get("url")
    href = safe_href(url) if isinstance(url, str) else None
    # One span for the label: in the flex box, the space after a leading emoji would be lost.
    if href:
        return '<a class="%s" href="%s"><span>%s</span></a>' % (cls, href, label)
    return '<span class="%s"><span>%s</span></span>' % (cls, label)


def render_select(el, tz):
    """A menu as Slack shows it in a message, closed: its choice, or its placeholder, and a caret."""
    shown = el.get("initial_option", {}).get("text") if isinstance(el.get("initial_option"), dict) else None
    label = text_obj(shown or el.get("placeholder"), tz)
    return '<span class="button select"><span>%s</span><span class="caret">&#9662;</span></span>' % label


def render_element(el, tz):
    kind = el.get("type")
    if kind == "button":
        return render_button(el, tz)
    if kind == "static_select":
        return render_select(el, tz)
    if kind in ("mrkdwn", "plain_text"):
        return '<span class="ctx-text">%s</span>' % text_obj(el, tz)
    if kind == "image":  # no network in screenshots: a neutral square
        return '<span class="ctx-image" title="%s"></span>' % esc(str(el.get("alt_text", "")))
    return ""


# ---------------------------------------------------------------------------
# Charts: the data visualization block (line charts), drawn from the payload's numbers
# ---------------------------------------------------------------------------

# One colour per series, in order (Slack picks its own; these are Slack's brand colours).
CHART_COLOURS = ["#1264A3", "#E01E5A", "#2EB67D", "#ECB22E", "#36C5F0", "#4A154B"]


def chart_labels(ticks, step):
    """Tick values as text, all in one style: enough decimals for the step, k/M/G/T for
    thousands and up, exponents for the very large or very small; nothing for an overflow."""
    big = max(abs(t) for t in ticks if math.isfinite(t)) if any(math.isfinite(t) for t in ticks) else 0

    def decimals(v):
        return next((d for d in range(7) if abs(round(v, d) - v) <= abs(v) * 1e-6), 6)

    out = []
    for t in ticks:
        if not math.isfinite(t):
            out.append("")
        elif t == 0:
            out.append("0")
        elif big >= 1e15 or big < 1e-3:
            out.append("%.3g" % t)
        elif big >= 1e4:
            unit, suffix = next((u, x) for u, x in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")) if big >= u)
            out.append("{:.{}f}{}".format(t / unit, decimals(step / unit), suffix))
        else:
            out.append("{:.{}f}".format(t, decimals(step)))
    return out


def chart_ticks(lo, hi, count=5):
    """About `count` round ticks covering [lo, hi] (0 included when every value is positive)."""
    if lo > 0:
        lo = 0.0
    if hi < 0:
        hi = 0.0
    # Work in a power of ten near the largest value: round steps stay round, nothing overflows.
    biggest = max(abs(lo), abs(hi))
    mag = 10.0 ** math.floor(math.log10(biggest)) if biggest else 1.0
    if not (mag and math.isfinite(mag)):
        mag = biggest
    a, b = lo / mag, hi / mag
    if b - a < 1e-9:  # every value 0
        b = 1.0
    raw = (b - a) / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first, last = math.floor(a / step + 1e-9), math.ceil(b / step - 1e-9)
    scaled = [i * step for i in range(first, last + 1)]
    return scaled, mag, step


def render_chart(block):
    """A data visualization block with a line chart, the way Slack draws one in a message:
    its title, the series as lines over the categories, axes with their labels and a legend.
    Only the payload's own numbers are drawn; a category without a value leaves a gap."""
    chart = block.get("chart") if isinstance(block.get("chart"), dict) else {}
    title = html.escape(str(block.get("title", "")))
    if chart.get("type") != "line":
        return '<div class="block chart"><div class="chart-title">%s</div></div>' % title
    axis = chart.get("axis_config") if isinstance(chart.get("axis_config"), dict) else {}
    cats = [str(c) for c in axis.get("categories") or []]
    index = {c: i for i, c in enumerate(cats)}
    series = []
    for s in chart.get("series") or []:
        if not isinstance(s, dict):
            continue
        points = {}
        for d in s.get("data") or []:
            if isinstance(d, dict) and str(d.get("label")) in index:
                v = d.get("value")
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    points[index[str(d.get("label"))]] = float(v)
        series.append((str(s.get("name", "")), points))
    values = [v for _, pts in series for v in pts.values()]
    if not cats or not values:
        return '<div class="block chart"><div class="chart-title">%s</div></div>' % title

    scaled, mag, step = chart_ticks(min(values), max(values))
    tick_text = chart_labels([t * mag for t in scaled], step * mag)
    y_label, x_label = axis.get("y_label"), axis.get("x_label")
    width, height = 600, 240
    left = 12 + 7 * max(len(t) for t in tick_text) + (22 if y_label else 0)
    right, top = 12, 10
    bottom = 26 + (22 if x_label else 0)
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = scaled[0], scaled[-1]

    def x(i):
        return left + (plot_w * (i + 0.5) / len(cats))

    def y(v):
        return top + plot_h * (1 - (v / mag - lo) / (hi - lo))

    svg = ['<svg class="chart-svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'xmlns="http://www.w3.org/2000/svg" font-size="11" fill="#616061">' % (width, height, width, height)]
    for t, text in zip(scaled, tick_text):
        ty = top + plot_h * (1 - (t - lo) / (hi - lo))
        svg.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"/>'
                   % (left, width - right, ty, ty, "#bbbbbb" if t == lo else "#ebebeb"))
        svg.append('<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>'
                   % (left - 6, ty, html.escape(text)))
    # Category labels: as many as fit, evenly spaced, the last one always shown.
    every = max(1, math.ceil(len(cats) / max(1, plot_w // (7 * max(len(c) for c in cats) + 14))))
    shown = [i for i in range(len(cats)) if (len(cats) - 1 - i) % every == 0]
    for i in shown:
        svg.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#bbbbbb"/>'
                   % (x(i), x(i), top + plot_h, top + plot_h + 4))
        svg.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                   % (x(i), top + plot_h + 18, html.escape(cats[i])))
    if x_label:
        svg.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#1d1c1d">%s</text>'
                   % (left + plot_w / 2, height - 6, html.escape(str(x_label))))
    if y_label:
        cy = top + plot_h / 2
        svg.append('<text x="12" y="%.1f" text-anchor="middle" fill="#1d1c1d" '
                   'transform="rotate(-90 12 %.1f)">%s</text>' % (cy, cy, html.escape(str(y_label))))
    for n, (_, pts) in enumerate(series):
        colour = CHART_COLOURS[n % len(CHART_COLOURS)]
        runs, run = [], []
        for i in range(len(cats)):  # a gap in the data breaks the line
            if i in pts:
                run.append("%.1f,%.1f" % (x(i), y(pts[i])))
            elif run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
        for r in runs:
            svg.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2" '
                       'stroke-linejoin="round" stroke-linecap="round"/>' % (" ".join(r), colour))
        for i, v in pts.items():
            svg.append('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>' % (x(i), y(v), colour))
    svg.append("</svg>")
    legend = "".join('<span class="chart-key"><span class="chart-swatch" style="background:%s"></span>%s</span>'
                     % (CHART_COLOURS[n % len(CHART_COLOURS)], html.escape(name))
                     for n, (name, _) in enumerate(series))
    return ('<div class="block chart"><div class="chart-title">%s</div>%s'
            '<div class="chart-legend">%s</div></div>' % (title, "".join(svg), legend))


def render_block(block, tz):
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "header":
        return '<div class="block header">%s</div>' % text_obj(block.get("text"), tz)
    if kind == "section":
        inner = []
        if block.get("text"):
            inner.append('<div class="section-text">%s</div>' % text_obj(block["text"], tz))
        if block.get("fields"):
            cells = "".join('<div class="field">%s</div>' % text_obj(f, tz) for f in block["fields"])
            inner.append('<div class="fields">%s</div>' % cells)
        acc = block.get("accessory")
        body = "".join(inner)
        if isinstance(acc, dict):
            body = '<div class="with-accessory"><div>%s</div><div class="accessory">%s</div></div>' % (
                body, render_element(acc, tz))
        return '<div class="block section">%s</div>' % body
    if kind == "actions":
        els = "".join(render_element(e, tz) for e in block.get("elements", []) if isinstance(e, dict))
        return '<div class="block actions">%s</div>' % els
    if kind == "context":
        els = "".join(render_element(e, tz) for e in block.get("elements", []) if isinstance(e, dict))
        return '<div class="block context">%s</div>' % els
    if kind == "divider":
        return '<div class="block divider"></div>'
    if kind == "data_visualization":
        return render_chart(block)
    if kind == "image":
        return '<div class="block image-placeholder">%s</div>' % esc(str(block.get("alt_text", "image")))
    return ""


def render_attachment(att, tz):
    colour = att.get("color", "#DDDDDD")
    if isinstance(colour, str) and re.fullmatch(r"[0-9A-Fa-f]{6}", colour):
        colour = "#" + colour
    if not (isinstance(colour, str) and re.fullmatch(r"#[0-9A-Fa-f]{3}(?:[0-9A-Fa-f]{3})?", colour)):
        colour = {"good": "#2EB67D", "warning": "#ECB22E", "danger": "#E01E5A"}.get(colour, "#DDDDDD")
    body = []
    # Legacy attachment fields, in case a payload uses them.
    if att.get("title"):
        body.append('<div class="block att-title">%s</div>' % esc(str(att["title"])))
    if att.get("text"):
        body.append('<div class="block section"><div class="section-text">%s</div></div>'
                    % Mrkdwn(tz).convert(str(att["text"])))
    if att.get("fields"):
        cells = []
        for f in att["fields"]:
            cls = "field" if f.get("short") else "field wide"
            cells.append('<div class="%s"><b>%s</b><br>%s</div>' % (
                cls, esc(str(f.get("title", ""))), Mrkdwn(tz).convert(str(f.get("value", "")))))
        body.append('<div class="block section"><div class="fields">%s</div></div>' % "".join(cells))
    body.extend(render_block(b, tz) for b in att.get("blocks", []))
    if att.get("footer"):
        body.append('<div class="block context"><span class="ctx-text">%s</span></div>' % esc(str(att["footer"])))
    return ('<div class="attachment"><div class="bar" style="background:%s"></div>'
            '<div class="att-body">%s</div></div>' % (colour, "".join(body)))


def first_epoch(payload):
    m = re.search(r"<!date\^(\d+)\^", json.dumps(payload))
    return int(m.group(1)) if m else None


def clock(t):
    return "%d:%02d %s" % (t.hour % 12 or 12, t.minute, "AM" if t.hour < 12 else "PM")


def time_label_of(payload, tz):
    """The time beside the app name: the payload's first date token, else its first ISO time."""
    epoch = first_epoch(payload)
    if epoch is not None:
        return clock(dt.datetime.fromtimestamp(epoch, tz))
    iso = re.search(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::\d\d(?:\.\d+)?)?(Z|UTC|[+-]\d\d:?\d\d)?",
                    json.dumps(payload))
    if iso:
        try:
            return clock(dt.datetime(*(int(iso.group(i)) for i in range(1, 6)), tzinfo=dt.timezone.utc).astimezone(tz))
        except ValueError:
            pass
    return None


def render_message(payload, tz, time_label):
    if time_label is None:
        time_label = time_label_of(payload, tz)
    if time_label is None:
        time_label = "9:41 AM"
    blocks = payload.get("blocks") or []
    top = "".join(render_block(b, tz) for b in blocks)
    if not blocks and payload.get("text"):
        top = '<div class="block section"><div class="section-text">%s</div></div>' % Mrkdwn(tz).convert(
            str(payload["text"]))
    atts = "".join(render_attachment(a, tz) for a in payload.get("attachments") or [] if isinstance(a, dict))
    return """
<div class="message">
  <div class="avatar" aria-hidden="true">%s</div>
  <div class="content">
    <div class="meta"><span class="name">%s</span><span class="app">APP</span><span class="time">%s</span></div>
    %s
    %s
  </div>
</div>""" % (AVATAR_SVG, APP_NAME, esc(time_label), top, atts)


# A bell on a rounded square, drawn here (no external images).
AVATAR_SVG = """<svg viewBox="0 0 36 36" width="36" height="36" xmlns="http://www.w3.org/2000/svg">
<rect width="36" height="36" rx="6" fill="#232F3E"/>
<path d="M18 8.5c-3.6 0-6.2 2.8-6.2 6.4v4.6l-2 3.1c-.4.6 0 1.4.8 1.4h14.8c.8 0 1.2-.8.8-1.4l-2-3.1v-4.6c0-3.6-2.6-6.4-6.2-6.4z" fill="#FF9900"/>
<path d="M15.2 25.4a2.8 2.8 0 0 0 5.6 0z" fill="#FF9900"/>
<circle cx="25.5" cy="10.5" r="3.2" fill="#E01E5A" stroke="#232F3E" stroke-width="1.4"/>
</svg>"""

CSS = """
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; background: #ffffff; }
body {
  font-family: "Lato", -apple-system, BlinkMacSystemFont, "Segoe UI", "Helvetica Neue", "Liberation Sans",
               Arial, "DejaVu Sans", sans-serif, "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji";
  font-size: 15px; line-height: 1.46668; color: #1d1c1d;
  -webkit-font-smoothing: antialiased;
}
.page { width: 720px; padding: 12px 0 14px; }
.message { display: flex; padding: 8px 20px 8px 20px; }
.message + .message { border-top: 1px solid #f0f0f0; }
.avatar { flex: 0 0 36px; width: 36px; height: 36px; margin: 4px 8px 0 0; border-radius: 6px; overflow: hidden; }
.avatar svg { display: block; }
.content { flex: 1 1 auto; min-width: 0; }
.meta { display: flex; align-items: baseline; gap: 4px; line-height: 22px; }
.name { font-weight: 900; font-size: 15px; }
.app {
  font-size: 10px; font-weight: 700; line-height: 14px; padding: 0 3px; border-radius: 2px;
  background: rgba(29,28,29,0.13); color: rgba(29,28,29,0.7); align-self: center; margin-left: 1px;
}
.time { font-size: 12px; color: #616061; margin-left: 3px; }
.block { margin-top: 4px; overflow-wrap: anywhere; }
.block:first-child { margin-top: 0; }
.header { font-size: 18px; font-weight: 900; line-height: 1.33; margin: 4px 0 6px; }
.section-text { white-space: normal; }
.fields { display: grid; grid-template-columns: 1fr 1fr; column-gap: 16px; row-gap: 8px; }
.section-text + .fields { margin-top: 8px; }
.field { min-width: 0; }
.field.wide { grid-column: 1 / span 2; }
.attachment { display: flex; margin: 6px 0 2px; }
.bar { flex: 0 0 4px; width: 4px; border-radius: 8px; }
.att-body { flex: 1 1 auto; min-width: 0; padding: 0 0 0 12px; }
.att-body > .block { margin-top: 12px; }
.att-body > .block:first-child { margin-top: 0; }
.att-body > .block.actions { margin-top: 12px; }
.att-title { font-weight: 700; }
b { font-weight: 900; }
code {
  font-family: Monaco, Menlo, Consolas, "Courier New", "Liberation Mono", "DejaVu Sans Mono", monospace;
  font-size: 12px; line-height: 1.5; color: #e01e5a; background: rgba(29,28,29,0.04);
  -webkit-box-decoration-break: clone; box-decoration-break: clone;
  border: 1px solid rgba(29,28,29,0.13); border-radius: 3px; padding: 2px 3px 1px;
}
pre.codeblock {
  font-family: Monaco, Menlo, Consolas, "Courier New", "Liberation Mono", "DejaVu Sans Mono", monospace;
  font-size: 12px; line-height: 1.5; margin: 4px 0; padding: 8px; white-space: pre-wrap;
  background: rgba(29,28,29,0.04); border: 1px solid rgba(29,28,29,0.13); border-radius: 4px;
}
.quote { display: block; border-left: 4px solid #dddddd; padding-left: 12px; }
a.link, span.link { color: #1264a3; text-decoration: none; }
.mention { border-radius: 3px; padding: 0 2px; }
.mention.broadcast { background: rgba(242,199,68,0.4); color: #1d1c1d; font-weight: 400; }
.mention.user, .mention.channel { background: rgba(29,155,209,0.1); color: #1264a3; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; }
.button {
  display: inline-flex; align-items: center; height: 28px; padding: 0 12px; border-radius: 4px;
  border: 1px solid rgba(29,28,29,0.3); background: #ffffff; color: #1d1c1d;
  font-size: 13px; font-weight: 700; text-decoration: none; white-space: nowrap;
}
.button.primary { background: #007a5a; border-color: #007a5a; color: #ffffff; }
.button.danger { color: #e01e5a; }
.button.select .caret { margin-left: 8px; font-size: 14px; font-weight: 400; color: #616061; }
.context { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; font-size: 12px; line-height: 1.5; color: #616061; }
.context b { font-weight: 700; }
.context code { font-size: 11px; }
.emoji { font-family: "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji", sans-serif; font-weight: 400; }
.ctx-image { display: inline-block; width: 16px; height: 16px; border-radius: 3px; background: #dddddd; }
.divider { border-top: 1px solid #dddddd; margin: 8px 0; }
.image-placeholder { color: #616061; font-style: italic; }
.with-accessory { display: flex; justify-content: space-between; gap: 12px; }
.chart { margin: 6px 0 10px; padding: 12px 16px 10px; border: 1px solid rgba(29,28,29,0.13); border-radius: 8px; }
.chart-title { font-weight: 700; margin-bottom: 6px; }
.chart-svg { display: block; max-width: 100%; height: auto; font-family: inherit; }
.chart-legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12px; color: #616061; margin-top: 4px; }
.chart-key { display: inline-flex; align-items: center; gap: 6px; }
.chart-swatch { display: inline-block; width: 12px; height: 3px; border-radius: 2px; }
"""


def render_page(payloads, tz, time_label=None, width=720):
    body = "".join(render_message(p, tz, time_label) for p in payloads if isinstance(p, dict))
    css = CSS.replace("width: 720px;", "width: %dpx;" % width)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width\">"
            "<title>%s preview</title><style>%s</style></head>"
            "<body><div class=\"page\">%s\n</div></body></html>\n") % (APP_NAME, css, body)


def parse_offset(text):
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("expected an offset like +00:00, -05:00 or +0530")
    minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
    return dt.timezone(dt.timedelta(minutes=-minutes if m.group(1) == "-" else minutes))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", nargs="?", default="-", help="JSON array of payloads (or one payload); - for stdin")
    ap.add_argument("-o", "--output", default="-", help="HTML file to write; - for stdout (default)")
    ap.add_argument("--index", type=int, help="render only this payload of the array (0 = first)")
    ap.add_argument("--viewer-utc-offset", type=parse_offset, default=dt.timezone.utc,
                    help="time zone used for <!date^...> tokens and the message time (default +00:00)")
    ap.add_argument("--time", help="time label beside the app name (default: from the first date token)")
    ap.add_argument("--width", type=int, default=720, help="message column width in px (default 720)")
    args = ap.parse_args(argv)

    if args.input == "-":
        data = json.load(sys.stdin)
    else:
        with open(args.input, encoding="utf-8") as f:
            data = json.load(f)
    payloads = data if isinstance(data, list) else [data]
    if args.index is not None:
        if not -len(payloads) <= args.index < len(payloads):
            ap.error("--index %d: input has %d payload(s)" % (args.index, len(payloads)))
        payloads = [payloads[args.index]]
    page = render_page(payloads, args.viewer_utc_offset, args.time, args.width)
    if args.output == "-":
        sys.stdout.write(page)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
