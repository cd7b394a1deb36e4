#!/usr/bin/env bash
# Installs the test-only dependencies, then runs every test: Rust unit, golden, property and
# end-to-end tests, the test of scripts/local-aws.py, the quick benchmark gate, and the infra
# tests. The supply-chain check (cargo deny) runs in .ci/run, which then runs this script.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step() { printf '\n==> %s\n' "$*"; }

# The installs wait mostly on the network and the disk, so they run while cargo compiles.
# A job still running when this script stops (a failure, Ctrl-C) is stopped with it.
logs=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$logs"' EXIT
(
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
) >"$logs/pip" 2>&1 &
pip_job=$!
(cd infra && npm ci --no-audit --no-fund) >"$logs/npm" 2>&1 &
npm_job=$!
# Waits for a background install and shows what it printed; stops here if it failed.
installed() {
  local status=0
  wait "$1" || status=$?
  cat "$2"
  if [ "$status" -ne 0 ]; then
    echo "error: $3 failed (exit $status)" >&2
    exit "$status"
  fi
}

step "cargo test: build (while pip installs moto, cfn-lint and cargo-lambda into .venv, and npm infra's packages)"
cargo test --locked --all-targets --no-run

step "Python test tools (moto, cfn-lint, cargo-lambda) in .venv"
installed "$pip_job" "$logs/pip" "pip install -r tests/requirements.txt"
export MOTO_PYTHON="$root/.venv/bin/python"
export PATH="$root/.venv/bin:$PATH"

step "cargo test (unit, golden snapshots, properties, CLI, end to end through the Lambda Runtime API)"
# insta never writes snapshots here: a changed rendering fails until it is reviewed.
INSTA_UPDATE=no cargo test --locked --all-targets
# The debug binary cargo test built; the script's test runs `send` and `check` with it.
export SLACK_ALARM_NOTIFIER_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/slack-alarm-notifier"

step "scripts/local-aws.py (moto and a local Slack for trying the function without AWS)"
.venv/bin/python scripts/test_local_aws.py

step "benchmark gate (binary size, peak RSS, no Secrets Manager calls when warm)"
cargo build --locked --release
.venv/bin/python bench/run.py --no-build --cold 3 --warm 50 --check --out target/bench-quick.json

step "infra: npm ci (from the start), tests (assertions, cdk-nag), synth, cfn-lint"
installed "$npm_job" "$logs/npm" "npm ci in infra"
bootstrap_dir="$root/target/bootstrap"
mkdir -p "$bootstrap_dir"
cp "${CARGO_TARGET_DIR:-$root/target}/release/slack-alarm-notifier" "$bootstrap_dir/bootstrap"
(
  cd infra
  npm test
  npm run synth -- -c bootstrapDir="$bootstrap_dir"
  npm run lint:cfn
)

step "all tests passed"
