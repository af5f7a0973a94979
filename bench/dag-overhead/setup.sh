#!/usr/bin/env bash
# Install the peer task runners used by bench/dag-overhead/run.sh, idempotently, into
# bench/dag-overhead/.peers/:
#   - ninja-build and hyperfine   (Debian apt, system-wide, only if missing; plus GNU time)
#   - @moonrepo/cli 2.5.5, nx 24.0.6 (npm) under the npm prefix .peers/npm
# Prints the resolved tool paths and versions and writes them to .peers/env.sh for run.sh.
# Safe to run repeatedly; network is only needed the first time.
set -euo pipefail

MOON_VERSION=2.5.5
NX_VERSION=24.0.6

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peers="$here/.peers"
npm_prefix="$peers/npm"
nm="$npm_prefix/node_modules"
mkdir -p "$peers"

log() { printf '[setup] %s\n' "$*" >&2; }

# --- ninja, hyperfine, GNU time (apt) ----------------------------------------------------------------
missing=()
command -v ninja >/dev/null 2>&1 || missing+=(ninja-build)
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]} == 0)); then
  log "ninja, hyperfine and /usr/bin/time already installed"
else
  log "installing ${missing[*]} with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q "${missing[@]}" >&2; then
    log "apt-get install failed; running apt-get update and retrying"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q "${missing[@]}" >&2
  fi
fi
command -v node >/dev/null 2>&1 || { log "node is required (Debian: apt-get install nodejs npm)"; exit 1; }

# --- moon and nx (npm prefix) --------------------------------------------------------------------------
pkg_version() { # installed version of npm package $1 under $nm, or nothing
  [[ -f "$nm/$1/package.json" ]] || return 0
  node -p "require(process.argv[1]).version" "$nm/$1/package.json" 2>/dev/null || true
}
if [[ "$(pkg_version @moonrepo/cli)" == "$MOON_VERSION" && "$(pkg_version nx)" == "$NX_VERSION" ]]; then
  log "@moonrepo/cli $MOON_VERSION and nx $NX_VERSION already installed"
else
  log "installing @moonrepo/cli@$MOON_VERSION nx@$NX_VERSION into $npm_prefix"
  mkdir -p "$npm_prefix"
  # A private package.json keeps npm from walking up into any parent project.
  [[ -f "$npm_prefix/package.json" ]] ||
    printf '{"name":"slipway-bench-dag-overhead-peers","private":true}\n' >"$npm_prefix/package.json"
  timeout 900 npm install --prefix "$npm_prefix" --no-audit --no-fund --loglevel=error --save-exact \
    "@moonrepo/cli@$MOON_VERSION" "nx@$NX_VERSION" >&2
fi

# moon: the platform package's native binary, not the .bin/moon Node shim (~175 ms per call).
moon_bin=""
for cand in "$nm"/@moonrepo/core-linux-*/moon; do
  if [[ -x "$cand" ]] && "$cand" --version >/dev/null 2>&1; then moon_bin="$cand"; break; fi
done
[[ -n "$moon_bin" ]] || { log "no runnable native moon binary under $nm/@moonrepo/core-linux-*"; exit 1; }
# nx: node on the CLI's JS entry (package.json "bin"), no .bin shim or npx.
nx_js="$(node -e '
  const path = require("path");
  const dir = process.argv[1];
  const pkg = require(path.join(dir, "package.json"));
  const bin = typeof pkg.bin === "string" ? pkg.bin : (pkg.bin.nx || Object.values(pkg.bin)[0]);
  console.log(path.resolve(dir, bin));
' "$nm/nx")"
[[ -f "$nx_js" ]] || { log "nx entry not found: $nx_js"; exit 1; }

# --- report ------------------------------------------------------------------------------------------
node_bin="$(command -v node)"
ninja_bin="$(command -v ninja)"
hyperfine_bin="$(command -v hyperfine)"
ninja_version="ninja $("$ninja_bin" --version)"
moon_version="$("$moon_bin" --version)"
nx_version="nx $(pkg_version nx), node $(node --version)"
hyperfine_version="$("$hyperfine_bin" --version)"

{
  printf 'NINJA=%q\n' "$ninja_bin"
  printf 'NINJA_VERSION=%q\n' "$ninja_version"
  printf 'MOON=%q\n' "$moon_bin"
  printf 'MOON_VERSION=%q\n' "$moon_version"
  printf 'NODE=%q\n' "$node_bin"
  printf 'NX_JS=%q\n' "$nx_js"
  printf 'NX_VERSION=%q\n' "$nx_version"
  printf 'PEERS_NODE_MODULES=%q\n' "$nm"
  printf 'HYPERFINE=%q\n' "$hyperfine_bin"
  printf 'HYPERFINE_VERSION=%q\n' "$hyperfine_version"
} >"$peers/env.sh"

echo "ninja:        $ninja_bin ($ninja_version)"
echo "moon:         $moon_bin ($moon_version)"
echo "nx:           $node_bin $nx_js ($nx_version)"
echo "node_modules: $nm"
echo "hyperfine:    $hyperfine_bin ($hyperfine_version)"
echo "time:         /usr/bin/time"
