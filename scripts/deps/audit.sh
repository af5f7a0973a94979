#!/usr/bin/env bash
# Oracles for the audit log's tests: python3 (its json module re-computes entry hashes,
# crates/slipway-audit/tests/python_oracle.rs), the `cryptography` package in the test venv
# (scripts/audit-verify.py, run by crates/slipway-cli/tests/audit.rs), and Debian's sqlite3
# (the CLI test edits the store directly to tamper with it).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${SLIPWAY_TEST_TOOLS:-${CARGO_TARGET_DIR:-$root/target}/test-tools}"
venv="$tools/venv"

apt_missing=()
command -v python3 >/dev/null || apt_missing+=(python3)
command -v sqlite3 >/dev/null || apt_missing+=(sqlite3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_missing+=(python3-venv)
if [ ${#apt_missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${apt_missing[@]}"
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# The same version scripts/deps/sign.sh's sigstore pulls in, so the shared venv stays consistent.
pin="cryptography==50.0.2"
if [ "$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("cryptography"))' 2>/dev/null)" != "${pin#*==}" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$pin"
fi
