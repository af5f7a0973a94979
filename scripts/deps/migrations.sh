#!/usr/bin/env bash
# Oracle for crates/slipway-migrations: squawk, an independent linter of PostgreSQL
# migrations, run on the same fixtures as `slipway scan migrations` so the two can be compared.
# Idempotent: installed only when its pinned version is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${SLIPWAY_TEST_TOOLS:-${CARGO_TARGET_DIR:-$root/target}/test-tools}"
venv="$tools/venv"

SQUAWK_VERSION=2.70.0

log() { printf '[deps/migrations] %s\n' "$*" >&2; }

mkdir -p "$tools"

# `pip show` answers "Version: X" for an installed distribution; install when it differs.
pip_has() { "$1/bin/python" -m pip show "$2" 2>/dev/null | grep -x "Version: $3" >/dev/null; }

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if pip_has "$venv" squawk-cli "$SQUAWK_VERSION"; then
  log "squawk-cli $SQUAWK_VERSION already installed"
else
  log "pip install squawk-cli==$SQUAWK_VERSION"
  timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "squawk-cli==$SQUAWK_VERSION"
fi
"$venv/bin/squawk" --version >&2
