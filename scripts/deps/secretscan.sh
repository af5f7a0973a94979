#!/usr/bin/env bash
# What slipway-secretscan's tests need: Debian git (crates/slipway-secretscan/tests/git.rs
# builds scratch repositories and scans their history through the git CLI).
set -euo pipefail
if ! command -v git >/dev/null; then
  apt-get update -qq && apt-get install -y -qq git
fi
