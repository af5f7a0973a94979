#!/usr/bin/env bash
# Runs every dependency script of this directory, in name order.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for script in "$here"/*.sh; do
  [ "$(basename "$script")" = install.sh ] && continue
  echo "== test dependencies: $(basename "$script")"
  bash "$script"
done
