#!/usr/bin/env bash
# Oracle for crates/slipway-policy: regopy, the Python binding of rego-cpp (an independent
# Rego implementation), evaluates the built-in policy pack over the same bundles as regorus so
# that the two can be compared rule by rule.
# Idempotent: installed only when its pinned version is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${SLIPWAY_TEST_TOOLS:-${CARGO_TARGET_DIR:-$root/target}/test-tools}"
venv="$tools/venv"

REGOPY_VERSION=1.5.2

log() { printf '[deps/policy] %s\n' "$*" >&2; }

mkdir -p "$tools"

# `pip show` answers "Version: X" for an installed distribution; install when it differs.
pip_has() { "$1/bin/python" -m pip show "$2" 2>/dev/null | grep -x "Version: $3" >/dev/null; }

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if pip_has "$venv" regopy "$REGOPY_VERSION"; then
  log "regopy $REGOPY_VERSION already installed"
else
  log "pip install regopy==$REGOPY_VERSION"
  timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "regopy==$REGOPY_VERSION"
fi
"$venv/bin/python" -c 'import regopy; print("regopy", regopy.__version__)' >&2
