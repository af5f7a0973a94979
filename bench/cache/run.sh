#!/usr/bin/env bash
# Cache save/restore benchmark: Slipway's archive code (pack into the content store, unpack from
# it) vs `tar -cf - | zstd -3` and `zstd -d | tar -xf -` on the same generated ~500 MB tree, in
# the same invocation, interleaved. Prints a table and writes bench/cache/results.json.
#
#   bench/cache/run.sh [--scale F] [--rounds R]
#
# --scale F   size of the data set relative to ~490 MB / 20k files (default 1)
# --rounds R  timed runs of each command, interleaved (default 5)
# Env: CAS_BENCH_BIN=path  use this cas-bench binary instead of building it.
#      TMPDIR              where the data set, store and outputs go: about (2R + 3) x 0.5 GB at
#                          scale 1, as restores are kept until the end (see bench.py).
set -euo pipefail

SCALE=1
ROUNDS=5
usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }
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

for tool in tar zstd python3; do
  command -v "$tool" >/dev/null || { log "installing $tool"; apt-get update -qq && apt-get install -y -qq "$tool"; }
done

if [[ -n "${CAS_BENCH_BIN:-}" ]]; then
  bin="$CAS_BENCH_BIN"
else
  log "cargo build --release -p slipway-cas --example cas-bench"
  (cd "$root" && cargo build --release -p slipway-cas --example cas-bench)
  bin="$root/target/release/examples/cas-bench"
fi
[[ -x "$bin" ]] || die "cas-bench not found or not executable: $bin"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-cache.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Paths go into shell command strings: keep them plain.
[[ "$tmp" =~ ^[A-Za-z0-9/._-]+$ ]] || die "temp dir path has unusual characters: $tmp"

log "generating the data set (scale $SCALE) in $tmp/data"
python3 "$here/gen.py" "$tmp/data" --scale "$SCALE" >&2
bytes="$(find "$tmp/data" -type f -printf '%s\n' | awk '{s += $1} END {print s}')"

# One untimed pack gives the digest to restore and checks the round trip before timing anything.
log "checking the round trip"
digest="$("$bin" pack "$tmp/store" "$tmp/data" | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')"
"$bin" unpack "$tmp/store" "$digest" "$tmp/check" >/dev/null
diff -r --no-dereference "$tmp/data" "$tmp/check" >/dev/null || die "restored tree differs from the original"
tar -cf - -C "$tmp/data" . | zstd -3 -T1 -q -o "$tmp/peer.tar.zst"

cat >"$tmp/spec.json" <<JSON
{
  "bytes": $bytes,
  "rounds": $ROUNDS,
  "groups": [
    {
      "name": "save",
      "baseline": "tar | zstd -3 -T1",
      "prepare": "rm -f $tmp/out.tar.zst && sync",
      "commands": {
        "slipway pack": "$bin pack $tmp/store $tmp/data",
        "tar | zstd -3 -T1": "tar -cf - -C $tmp/data . | zstd -3 -T1 -q -o $tmp/out.tar.zst",
        "tar | zstd -3 -T0": "tar -cf - -C $tmp/data . | zstd -3 -T0 -q -o $tmp/out.tar.zst"
      }
    },
    {
      "name": "restore",
      "baseline": "zstd -d | tar -xf -",
      "prepare": "mkdir $tmp/out-{n} && sync",
      "commands": {
        "slipway unpack": "$bin unpack $tmp/store $digest $tmp/out-{n}",
        "zstd -d | tar -xf -": "zstd -d -q -c < $tmp/peer.tar.zst | tar -xf - -C $tmp/out-{n}"
      }
    }
  ]
}
JSON

log "timing ($ROUNDS interleaved rounds; warm page cache)"
python3 "$here/bench.py" "$tmp/spec.json" "$here/results.json"
printf '\narchive sizes: slipway %s bytes, tar|zstd -3 %s bytes\n' \
  "$(find "$tmp/store/blobs" -type f -printf '%s\n')" "$(stat -c %s "$tmp/peer.tar.zst")"
printf 'versions: %s; %s; cpu: %s x %s\n' "$(zstd --version)" "$(tar --version | head -n1)" \
  "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
