#!/usr/bin/env bash
# Copies every console event and test fixture into the fuzzer's seed corpus, named after
# where it came from (events__sns-alarm.json, ecs__task-stopped-exit-1.json). Run it after
# adding a fixture; tests/render checks that none is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="$root/fuzz/corpus/parse_render"
mkdir -p "$corpus"
for file in "$root"/events/*.json "$root"/tests/fixtures/*/*.json; do
  dir="$(basename "$(dirname "$file")")"
  cp "$file" "$corpus/${dir}__$(basename "$file")"
done
echo "seeded $(ls "$corpus" | wc -l) inputs into ${corpus#"$root"/}"
