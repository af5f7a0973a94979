#!/usr/bin/env bash
# Tools for slipway-analysis's tests: Debian's prometheus (crates/slipway-analysis/tests/prometheus.rs
# starts a real server that scrapes a test exporter, crates/slipway-cli/tests/rollout_prometheus.rs
# one that scrapes the proxy of `slipway up`) and, from PyPI, scipy and statsmodels (the oracles
# for the Mann-Whitney U and two-proportion z tests in tests/statistics.rs).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${SLIPWAY_TEST_TOOLS:-${CARGO_TARGET_DIR:-$root/target}/test-tools}"
venv="$tools/venv"

apt_missing=()
[ -x /usr/bin/prometheus ] || apt_missing+=(prometheus)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_missing+=(python3-venv)
if [ ${#apt_missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
python_pins=(scipy==1.16.3 statsmodels==0.14.5)
if ! "$venv/bin/python" - "${python_pins[@]}" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    if version(name) != wanted:
        sys.exit(1)
PY
then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${python_pins[@]}"
fi
