#!/usr/bin/env bash
# The test command: every crate's unit, integration and snapshot tests.
# CI=true makes snapshot tests fail instead of writing new snapshots.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -p slipway-cli
cargo nextest run --workspace --locked --no-fail-fast "$@"
