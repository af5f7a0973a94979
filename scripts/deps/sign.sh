#!/usr/bin/env bash
# Oracles for slipway-sign's interoperability tests (crates/slipway-sign/tests/oracles.rs):
# from PyPI securesystemslib (DSSE), in-toto-attestation (Statement v1), sigstore (its bundle
# models) and PyNaCl (secretbox, for the encrypted key format); from npm @sigstore/verify
# (key-based bundle verification); from Debian openssl (blob signatures).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${SLIPWAY_TEST_TOOLS:-${CARGO_TARGET_DIR:-$root/target}/test-tools}"
venv="$tools/venv"
node_prefix="$tools/node"

apt_missing=()
command -v openssl >/dev/null || apt_missing+=(openssl)
command -v node >/dev/null || apt_missing+=(nodejs)
command -v npm >/dev/null || apt_missing+=(npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_missing+=(python3-venv)
if [ ${#apt_missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${apt_missing[@]}"
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
python_pins=(securesystemslib[crypto]==1.6.0 in-toto-attestation==0.9.3 sigstore==4.5.1 pynacl==1.6.2)
if ! "$venv/bin/python" - "${python_pins[@]}" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    if version(name.split("[")[0]) != wanted:
        sys.exit(1)
PY
then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${python_pins[@]}"
fi

npm_package="@sigstore/verify"
npm_version="3.1.1"
installed="$(node -p 'require(process.argv[1]).version' \
  "$node_prefix/node_modules/$npm_package/package.json" 2>/dev/null || true)"
if [ "$installed" != "$npm_version" ]; then
  mkdir -p "$node_prefix"
  npm install --silent --no-audit --no-fund --prefix "$node_prefix" "$npm_package@$npm_version"
fi
