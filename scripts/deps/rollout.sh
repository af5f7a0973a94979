#!/usr/bin/env bash
# Tools of slipway-proxy's tests and of bench/rollout. Idempotent: each tool is installed only
# when it is missing.
#  - promtool (Debian package prometheus): lints the /metrics exposition;
#  - prometheus-client (PyPI): the reference Python parser of the text format, which the tests
#    use to read label values back (escapes included);
#  - wrk: the load generator of bench/rollout;
#  - nginx: the peer proxy bench/rollout compares against (the bench runs its own instance from
#    a temporary prefix; the package's service is not used).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${SLIPWAY_TEST_TOOLS:-${CARGO_TARGET_DIR:-$root/target}/test-tools}"
venv="$tools/venv"

PROMETHEUS_CLIENT_VERSION=0.26.0

need_apt=()
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v nginx >/dev/null || need_apt+=(nginx)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

mkdir -p "$tools"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -m pip show prometheus-client 2>/dev/null \
  | grep -x "Version: $PROMETHEUS_CLIENT_VERSION" >/dev/null; then
  echo "installing prometheus-client $PROMETHEUS_CLIENT_VERSION"
  "$venv/bin/python" -m pip install -q "prometheus-client==$PROMETHEUS_CLIENT_VERSION"
fi
