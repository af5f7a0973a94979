#!/usr/bin/env bash
# Artifact packaging benchmark: Slipway's image packaging (deterministic tar, gzip or zstd, both
# sha256 digests, publish into the content store) vs `tar | gzip -6` (and `| pigz -6`) and
# `tar | zstd -3 -T1` on the same generated ~200 MB artifact directory, in the same invocation,
# interleaved. Prints a table and writes bench/package/results.json.
#
#   bench/package/run.sh [--scale F] [--rounds R]
#
# --scale F   size of the data set relative to ~200 MB / 4,000 files (default 1)
# --rounds R  timed runs of each command after one warm-up run, interleaved (default 5)
# Env: PACKAGE_BENCH_BIN=path  use this package-bench binary instead of building it.
#      TMPDIR                  where the data set, stores and outputs go (about 0.6 GB at scale 1).
set -euo pipefail

SCALE=1
ROUNDS=5
usage() { sed -n '2,13s/^# \{0,1\}//p' "$0"; }
while (($#)); do
  case "$1" in
    --scale) SCALE="${2:?--scale needs a value}"; shift 2 ;;
    --rounds) ROUNDS="${2:?--rounds needs a value}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds must be a positive integer" >&2; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

updated=""
for tool in tar gzip zstd python3; do
  if ! command -v "$tool" >/dev/null; then
    log "installing $tool"
    [[ -n "$updated" ]] || { apt-get update -qq; updated=1; }
    apt-get install -y -qq "$tool"
  fi
done
# pigz is an extra line: the table goes on without it when it cannot be installed.
if ! command -v pigz >/dev/null; then
  log "installing pigz (optional)"
  { [[ -n "$updated" ]] || apt-get update -qq; } && apt-get install -y -qq pigz || true
fi

if [[ -n "${PACKAGE_BENCH_BIN:-}" ]]; then
  bin="$PACKAGE_BENCH_BIN"
else
  log "cargo build --release -p slipway-artifact --example package-bench"
  (cd "$root" && cargo build --release -p slipway-artifact --example package-bench)
  bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/package-bench"
fi
[[ -x "$bin" ]] || die "package-bench not found or not executable: $bin"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-package.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Paths go into shell command strings: keep them plain.
[[ "$tmp" =~ ^[A-Za-z0-9/._-]+$ ]] || die "temp dir path has unusual characters: $tmp"

log "generating the data set (scale $SCALE) in $tmp/data"
python3 "$here/gen.py" "$tmp/data" --scale "$SCALE" >&2
bytes="$(find "$tmp/data" -type f -printf '%s\n' | awk '{s += $1} END {print s}')"

tar_cmd="tar -cf - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C $tmp/data ."

# One untimed run of each compression checks what Slipway wrote before anything is timed: the
# same digest again when packaging on one core only (`taskset -c 0`: one compression worker
# instead of one per core), `tar -xzf` / `tar --zstd -xf` restore the tree, and Python's gzip
# module (or the zstd CLI) gives back exactly the tar stream the image config names as its
# diff_id.
one_core=()
if command -v taskset >/dev/null && (($(nproc) > 1)); then one_core=(taskset -c 0); fi
layer_size() { # STORE COMPRESSION: packages, checks, prints the layer's size
  local store="$1" compression="$2" out digest again layer config
  out="$("$bin" "$store" "$tmp/data" --compression "$compression")"
  again="$("${one_core[@]}" "$bin" "$tmp/again-$compression" "$tmp/data" --compression "$compression")"
  [[ "$out" == *'"digest":"'* ]] || die "unexpected package-bench output: $out"
  digest="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["digest"])' "$out")"
  [[ "$digest" == "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["digest"])' "$again")" ]] ||
    die "$compression: packaging the same tree again${one_core:+ on one core} gave another digest"
  layer="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["layer_digest"].split(":")[1])' "$out")"
  layer="$store/blobs/sha256/$layer"
  config="$(python3 - "$store" "$digest" <<'PY'
import json, sys
store, digest = sys.argv[1], sys.argv[2].split(":")[1]
manifest = json.load(open(f"{store}/blobs/sha256/{digest}"))
config = json.load(open(f"{store}/blobs/sha256/{manifest['config']['digest'].split(':')[1]}"))
print(config["rootfs"]["diff_ids"][0])
PY
)"
  mkdir -p "$tmp/check-$compression"
  if [[ "$compression" == gzip ]]; then
    tar -xzf "$layer" -C "$tmp/check-$compression"
    python3 - "$layer" "$config" <<'PY' || die "gzip: Python's gzip module disagrees with the diff_id"
import gzip, hashlib, sys
h = hashlib.sha256()
with gzip.open(sys.argv[1], "rb") as f:
    while chunk := f.read(1 << 20):
        h.update(chunk)
sys.exit(0 if "sha256:" + h.hexdigest() == sys.argv[2] else 1)
PY
  else
    tar --zstd -xf "$layer" -C "$tmp/check-$compression"
    [[ "sha256:$(zstd -d -q -c "$layer" | sha256sum | cut -d' ' -f1)" == "$config" ]] ||
      die "zstd: the zstd CLI disagrees with the diff_id"
  fi
  diff -r --no-dereference "$tmp/data" "$tmp/check-$compression/app" >/dev/null ||
    die "$compression: the extracted layer differs from the source tree"
  rm -rf "$tmp/check-$compression" "$tmp/again-$compression"
  stat -c %s "$layer"
}
log "checking Slipway's layers (digest stable, extracts with tar, diff_id matches)"
gzip_size="$(layer_size "$tmp/check-store-gzip" gzip)"
zstd_size="$(layer_size "$tmp/check-store-zstd" zstd)"
rm -rf "$tmp/check-store-gzip" "$tmp/check-store-zstd"
$tar_cmd | gzip -6 >"$tmp/peer.tar.gz"
$tar_cmd | zstd -3 -T1 -q -o "$tmp/peer.tar.zst"
peer_gzip_size="$(stat -c %s "$tmp/peer.tar.gz")"
peer_zstd_size="$(stat -c %s "$tmp/peer.tar.zst")"
pigz_entry=""
if command -v pigz >/dev/null; then
  $tar_cmd | pigz -6 >"$tmp/peer.pigz.tar.gz"
  pigz_entry=",
        \"tar | pigz -6\": {\"run\": \"$tar_cmd | pigz -6 > $tmp/out\", \"size\": $(stat -c %s "$tmp/peer.pigz.tar.gz")}"
fi
rm -f "$tmp"/peer.*

cat >"$tmp/spec.json" <<JSON
{
  "bytes": $bytes,
  "rounds": $ROUNDS,
  "groups": [
    {
      "name": "gzip",
      "baseline": "tar | gzip -6",
      "prepare": "rm -rf $tmp/store $tmp/out && sync",
      "commands": {
        "slipway package (gzip)": {"run": "$bin $tmp/store $tmp/data --compression gzip", "size": $gzip_size},
        "tar | gzip -6": {"run": "$tar_cmd | gzip -6 > $tmp/out", "size": $peer_gzip_size}$pigz_entry
      }
    },
    {
      "name": "zstd",
      "baseline": "tar | zstd -3 -T1",
      "prepare": "rm -rf $tmp/store $tmp/out && sync",
      "commands": {
        "slipway package (zstd)": {"run": "$bin $tmp/store $tmp/data --compression zstd", "size": $zstd_size},
        "tar | zstd -3 -T1": {"run": "$tar_cmd | zstd -3 -T1 -q -o $tmp/out", "size": $peer_zstd_size}
      }
    }
  ]
}
JSON

log "timing (a warm-up run of each command, then $ROUNDS interleaved rounds)"
python3 "$here/bench.py" "$tmp/spec.json" "$here/results.json"
printf 'versions: %s; %s; %s; %s; cpu: %s x %s\n' "$(gzip --version | head -n1)" \
  "$(command -v pigz >/dev/null && pigz --version 2>&1 | head -n1 || echo 'no pigz')" \
  "$(zstd --version)" "$(tar --version | head -n1)" \
  "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
