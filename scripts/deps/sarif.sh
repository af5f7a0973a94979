#!/usr/bin/env bash
# Oracles for crates/slipway-sarif: check-jsonschema validates what we write against the
# official SARIF 2.1.0 schema, and semgrep is a real scanner whose SARIF we ingest.
# Idempotent: each tool is installed only when its pinned version is missing.
#
# The schema comes from the npm package @microsoft/jest-sarif (MIT), which ships the OASIS
# SARIF 2.1.0 schema (`sarif-2.1.0-rtm.5.json`, the final 2.1.0 schema as published on
# SchemaStore); its path is written to `$tools/sarif-schema.path` for the tests.
#
# semgrep pins its dependencies tightly (they conflict with check-jsonschema's), so it gets a
# virtual environment of its own, `$tools/semgrep-venv`, instead of the shared one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${SLIPWAY_TEST_TOOLS:-${CARGO_TARGET_DIR:-$root/target}/test-tools}"
venv="$tools/venv"
semgrep_venv="$tools/semgrep-venv"

CHECK_JSONSCHEMA_VERSION=0.39.0
SEMGREP_VERSION=1.180.0
JEST_SARIF_VERSION=1.0.0-beta.0

log() { printf '[deps/sarif] %s\n' "$*" >&2; }

mkdir -p "$tools"

# `pip show` answers "Version: X" for an installed distribution; install when it differs.
pip_has() { "$1/bin/python" -m pip show "$2" 2>/dev/null | grep -x "Version: $3" >/dev/null; }

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if pip_has "$venv" check-jsonschema "$CHECK_JSONSCHEMA_VERSION"; then
  log "check-jsonschema $CHECK_JSONSCHEMA_VERSION already installed"
else
  log "pip install check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
  timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
fi

[ -x "$semgrep_venv/bin/python" ] || python3 -m venv "$semgrep_venv"
if pip_has "$semgrep_venv" semgrep "$SEMGREP_VERSION"; then
  log "semgrep $SEMGREP_VERSION already installed"
else
  log "pip install semgrep==$SEMGREP_VERSION (into its own venv)"
  timeout 1200 "$semgrep_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "semgrep==$SEMGREP_VERSION"
fi

schema="$tools/node/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"
if grep -F "\"version\": \"$JEST_SARIF_VERSION\"" \
  "$tools/node/node_modules/@microsoft/jest-sarif/package.json" >/dev/null 2>&1 && [ -f "$schema" ]; then
  log "@microsoft/jest-sarif $JEST_SARIF_VERSION already installed"
else
  if ! command -v npm >/dev/null 2>&1; then
    log "apt-get install npm"
    apt-get install -y -qq npm || { apt-get update -qq && apt-get install -y -qq npm; }
  fi
  log "npm install @microsoft/jest-sarif@$JEST_SARIF_VERSION"
  mkdir -p "$tools/node"
  timeout 600 npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$tools/node" \
    "@microsoft/jest-sarif@$JEST_SARIF_VERSION"
fi
[ -f "$schema" ] || { log "the SARIF schema is missing from @microsoft/jest-sarif: $schema"; exit 1; }
printf '%s\n' "$schema" >"$tools/sarif-schema.path"
log "SARIF 2.1.0 schema: $schema"
