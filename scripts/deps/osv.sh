#!/usr/bin/env bash
# Oracles for slipway-osv's version-ordering and CVSS tests (crates/slipway-osv/tests/versions*.rs,
# tests/cvss*.rs): from PyPI `cvss` (CVSS v2/v3.x/v4.0 base scores), `packaging` (PEP 440) and
# `packaging-legacy` (the pre-PEP 440 versions PyPI still holds, as OSV.dev reads them);
# from Debian `dpkg` (dpkg --compare-versions), `ruby` (Gem::Version) and Maven's own
# ComparableVersion (libmaven3-core-java, run by a headless Java runtime).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${SLIPWAY_TEST_TOOLS:-${CARGO_TARGET_DIR:-$root/target}/test-tools}"
venv="$tools/venv"

apt_missing=()
command -v dpkg >/dev/null || apt_missing+=(dpkg)
command -v ruby >/dev/null || apt_missing+=(ruby)
command -v java >/dev/null || apt_missing+=(default-jre-headless)
[ -f /usr/share/java/maven-artifact-3.x.jar ] || apt_missing+=(libmaven3-core-java)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_missing+=(python3-venv)
if [ ${#apt_missing[@]} -gt 0 ]; then
  timeout 900 apt-get update -qq && timeout 900 apt-get install -y -qq "${apt_missing[@]}"
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
python_pins=(cvss==3.6 packaging==26.3 packaging-legacy==23.0.post0)
if ! "$venv/bin/python" - "${python_pins[@]}" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    if version(name) != wanted:
        sys.exit(1)
PY
then
  timeout 900 "$venv/bin/python" -m pip install -q --disable-pip-version-check "${python_pins[@]}"
fi
