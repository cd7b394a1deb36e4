#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: renders each sample event with the notifier,
# turns the first payload into an HTML page (render_html.py) and photographs it with
# headless Chromium, then trims the picture to the message with ImageMagick.
#
#   bash docs/preview/screenshot.sh            # all layouts
#   bash docs/preview/screenshot.sh alarm ok   # only these
#
# Environment: SCALE (device pixel ratio, default 2), COLOURS (PNG palette size, default
# 64), KEEP_HTML=1 keeps the work folder (payloads, pages) and prints where it is,
# INSTALL=0 never runs apt-get (otherwise missing chromium/imagemagick/emoji font are
# installed when running as root).
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

# name|event file|extra environment for the render (KEY=VALUE, space separated)
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
for entry in "${layouts[@]}"; do
  IFS='|' read -r name event extra <<<"$entry"
  if [ "${#wanted[@]}" -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then
    continue
  fi
  json="$work/$name.json"
  page="$work/$name.html"
  raw="$work/$name.raw.png"
  png="$out_dir/$name.png"

  # A clean configuration, plus this layout's extras.
  env_args=(-u ALARM_MENTION -u NOTIFY_STATES -u ALARM_NAME_INCLUDE -u ALARM_NAME_EXCLUDE)
  if [ -n "$extra" ]; then
    read -r -a extra_vars <<<"$extra"
    env_args+=("${extra_vars[@]}")
  fi
  (cd "$root" && env "${env_args[@]}" cargo run -q -- render "$event") >"$json"
  python3 "$here/render_html.py" "$json" --index 0 -o "$page"

  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --force-device-scale-factor="$scale" \
    --window-size="$width,$tall" --screenshot="$raw" "file://$page" >"$work/chromium.log" 2>&1 || {
      cat "$work/chromium.log" >&2; echo "chromium failed for $name" >&2; exit 1; }

  # Keep everything from the top down to the last non-white row, plus padding.
  read -r h y < <("$convert" "$raw" -trim -format '%h %Y\n' info: | head -n1)
  keep=$(( y + h + bottom_pad * scale ))
  "$convert" "$raw" -crop "$(( crop_width * scale ))x${keep}+0+0" +repage -strip \
    +dither -colors "$colours" -define png:compression-level=9 "$png"
  printf '%-20s %5s KB  %s\n' "$name.png" "$(( ($(stat -c %s "$png") + 1023) / 1024 ))" "$(identify -format '%wx%h' "$png")"
done

if [ "${KEEP_HTML:-0}" = 1 ]; then echo "HTML pages and payloads kept in $work" >&2; fi
