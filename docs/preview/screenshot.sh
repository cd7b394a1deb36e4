#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: renders each sample event with the notifier,
# turns the first payload into an HTML page (render_html.py) and photographs it with
# headless Chromium, then trims the picture to the message with ImageMagick.
# The `thread`, `graph`, `actions` and `actions-thread` layouts are drawn (render_thread.py) from
# what the local Slack Web API received in the end-to-end tests tests/e2e/preview.rs, run here
# with PREVIEW_OUT; like every end-to-end test they need moto (MOTO_PYTHON, or the .venv).
#
#   bash docs/preview/screenshot.sh              # all layouts
#   bash docs/preview/screenshot.sh alarm ok     # only these
#   bash docs/preview/screenshot.sh thread graph # the resolved thread, the graph
#   bash docs/preview/screenshot.sh actions actions-thread  # the buttons, acted on
#
# Environment: SCALE (device pixel ratio, default 2), COLOURS (PNG palette size, default
# 64), KEEP_HTML=1 keeps the work folder (payloads, pages) and prints where it is,
# INSTALL=0 never runs apt-get (otherwise missing chromium/imagemagick/emoji font are
# installed when running as root). CARGO_TARGET_DIR and the like are cargo's own.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out_dir="$root/docs/screenshots"
scale="${SCALE:-2}"      # 2 = sharp on high-density screens
colours="${COLOURS:-64}" # palette size; keeps each PNG well under 150 KB
width=760          # browser window; the page is 720 px wide
crop_width=720     # message column incl. its 20 px side margins
tall=3000          # first-pass window height; the picture is trimmed afterwards
bottom_pad=16      # white space kept under the last line, in CSS px

# name|event file|extra environment for the render (KEY=VALUE, space separated)[|extra render arguments]
layouts=(
  "alarm|events/sns-alarm.json|ALARM_MENTION=<!here>"
  "ok|events/sns-ok.json|"
  "insufficient-data|events/sns-insufficient-data.json|"
  "metric-math|events/sns-metric-math.json|"
  "composite|events/sns-composite.json|"
  "guardduty|tests/fixtures/guardduty/finding-high.json|"
  "health|tests/fixtures/health/sns-instance-retirement.json|"
  "backup|tests/fixtures/backup/backup-job-failed.json|"
  "pipeline-failed|tests/fixtures/codepipeline/pipeline-failed.json|"
  "ecs-task-stopped|tests/fixtures/ecs/task-stopped-exit-1.json|"
  "config-non-compliant|tests/fixtures/config/non-compliant.json|"
  "digest|events/sqs-alarm-batch.json|"
  # The native chart, from a recorded GetMetricData answer instead of CloudWatch.
  "chart|events/sns-alarm.json|METRIC_CHARTS=true|--metric-data tests/metric-data/cpu.json"
)

# Drawn from the preview tests' threads: name|render_thread.py layout|the test's JSON|device
# pixel ratio (empty: SCALE). The thread holds two full messages and two graphs: at 2x it would
# pass 150 KB, so it is taken at 1.5x (it is shown at the README's column width all the same).
# `actions` and `actions-thread` are the incident acted on from its buttons (ACTIONS=true).
previews=(
  "thread|thread|thread.json|1.5"
  "graph|graph|thread.json|"
  "actions|posted|actions.json|"
  "actions-thread|thread|actions.json|1.5"
)

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/convert ] || need_apt+=(imagemagick)   # /usr/bin: the real ImageMagick
fc-list 2>/dev/null | grep -i "Noto Color Emoji" >/dev/null || need_apt+=(fonts-noto-color-emoji)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "${INSTALL:-1}" = 1 ] && [ "$(id -u)" = 0 ]; then
    echo "installing: ${need_apt[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing: ${need_apt[*]} (apt-get install -y ${need_apt[*]})" >&2
    exit 1
  fi
fi
convert=/usr/bin/convert

work="$(mktemp -d)"
profile="$(mktemp -d)"
cleanup() { rm -rf "$profile"; [ "${KEEP_HTML:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$out_dir"

# Build once up front so the per-event runs are quick (waits if cargo is busy).
(cd "$root" && cargo build -q)

wanted=("$@")
is_wanted() { [ "${#wanted[@]}" -eq 0 ] || [[ " ${wanted[*]} " == *" $1 "* ]]; }

# Photographs page $2 at device pixel ratio $3 into docs/screenshots/$1.png: everything from
# the top down to the last non-white row, plus padding, the message column's width.
photograph() {
  local name="$1" page="$2" ratio="$3"
  local raw="$work/$name.raw.png" png="$out_dir/$name.png" h y keep
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --force-device-scale-factor="$ratio" \
    --window-size="$width,$tall" --screenshot="$raw" "file://$page" >"$work/chromium.log" 2>&1 || {
      cat "$work/chromium.log" >&2; echo "chromium failed for $name" >&2; exit 1; }

  read -r h y < <("$convert" "$raw" -trim -format '%h %Y\n' info: | head -n1)
  keep=$(( y + h + $(px "$bottom_pad" "$ratio") ))
  "$convert" "$raw" -crop "$(px "$crop_width" "$ratio")x${keep}+0+0" +repage -strip \
    +dither -colors "$colours" -define png:compression-level=9 "$png"
  printf '%-20s %5s KB  %s\n' "$name.png" "$(( ($(stat -c %s "$png") + 1023) / 1024 ))" "$(identify -format '%wx%h' "$png")"
}
# CSS pixels times a ratio that may have a fraction, in device pixels.
px() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", a * b + 0.5 }'; }

for entry in "${layouts[@]}"; do
  IFS='|' read -r name event extra render_args <<<"$entry"
  is_wanted "$name" || continue
  json="$work/$name.json"
  page="$work/$name.html"

  # A clean configuration, plus this layout's extras.
  env_args=(-u ALARM_MENTION -u NOTIFY_STATES -u ALARM_NAME_INCLUDE -u ALARM_NAME_EXCLUDE -u METRIC_CHARTS)
  if [ -n "$extra" ]; then
    read -r -a extra_vars <<<"$extra"
    env_args+=("${extra_vars[@]}")
  fi
  read -r -a more_args <<<"${render_args:-}"
  (cd "$root" && env "${env_args[@]}" cargo run -q -- render "$event" ${more_args[@]+"${more_args[@]}"}) >"$json"
  python3 "$here/render_html.py" "$json" --index 0 -o "$page"
  photograph "$name" "$page" "$scale"
done

ran_preview=0
for entry in "${previews[@]}"; do
  IFS='|' read -r name layout source ratio <<<"$entry"
  is_wanted "$name" || continue
  if [ "$ran_preview" = 0 ]; then
    # The incidents, once, through the built function; their threads are written as JSON.
    (cd "$root" && PREVIEW_OUT="$work/preview" cargo test -q --locked --test e2e preview::) \
      >"$work/preview.log" 2>&1 || { cat "$work/preview.log" >&2; echo "the preview test failed" >&2; exit 1; }
    ran_preview=1
  fi
  page="$work/$name.html"
  python3 "$here/render_thread.py" "$layout" "$work/preview/$source" -o "$page"
  photograph "$name" "$page" "${SCALE:-${ratio:-$scale}}"
done

if [ "${KEEP_HTML:-0}" = 1 ]; then echo "HTML pages and payloads kept in $work" >&2; fi
