#!/usr/bin/env bash
# Audit log benchmark (bench/audit/README.md):
#  1. append throughput: run status changes on SQLite (file, WAL), each one transaction that
#     updates the run and appends its audit entry, release build;
#  2. verify throughput on a log of N entries (default 1,000,000): `slipway audit verify` over
#     the store, `slipway audit verify --file` over its JSONL export, and (when the test venv
#     has `cryptography`) scripts/audit-verify.py, each against the floor `sha256sum` of the
#     same export, in the same invocation. Writes bench/audit/results.json.
#
#   bench/audit/run.sh [--entries N] [--appends N] [--rounds R]
#
# Env: TMPDIR  where the store and export go (about 0.8 GB per million entries).
set -euo pipefail

ENTRIES=1000000
APPENDS=5000
ROUNDS=3
usage() { sed -n '2,13s/^# \{0,1\}//p' "$0"; }
while (($#)); do
  case "$1" in
    --entries) ENTRIES="${2:?--entries needs a value}"; shift 2 ;;
    --appends) APPENDS="${2:?--appends needs a value}"; shift 2 ;;
    --rounds) ROUNDS="${2:?--rounds needs a value}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
log() { printf '\n== %s\n' "$*" >&2; }

log "cargo build --release (slipway, audit_bench)"
(cd "$root" && cargo build --release -q -p slipway-cli --bin slipway && cargo build --release -q -p slipway-store --example audit_bench)
slipway="$target/release/slipway"
bench="$target/release/examples/audit_bench"
python="${SLIPWAY_TEST_TOOLS:-$target/test-tools}/venv/bin/python"

work="$(mktemp -d "${TMPDIR:-/tmp}/slipway-audit-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
state="$work/state"
export SLIPWAY_KEY_PASSPHRASE=bench SLIPWAY_ACTOR=bench@example.org
unset SLIPWAY_SIGNING_KEY

# Seconds a command takes, its output discarded (exit code 1 allowed: a not-ok verify is
# still timed, and checked below).
seconds() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || [ $? -eq 1 ]
  end=$(date +%s%N)
  awk -v start="$start" -v end="$end" 'BEGIN { printf "%.4f\n", (end - start) / 1e9 }'
}

log "append: $APPENDS status changes, each with its audit entry in one transaction"
append_json="$("$bench" append "$state/append" "$APPENDS")"
echo "$append_json" >&2

log "fill: $ENTRIES entries (fast path), then one command that appends and signs the due checkpoints"
fill_json="$("$bench" fill "$state/log" "$ENTRIES")"
echo "$fill_json" >&2
seal_seconds=$(seconds "$slipway" keys generate -o "$work/key" --state-dir "$state/log")
"$slipway" audit verify --state-dir "$state/log" --json > "$work/verify.json" || true
"$slipway" audit export --state-dir "$state/log" -o "$work/export.jsonl" 2>/dev/null
export_bytes=$(stat -c %s "$work/export.jsonl")
python3 - "$work/verify.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["ok"], report
print(f"verify: {report['entries']} entries, {report['checkpoints_verified']} checkpoints", file=sys.stderr)
PY

have_python=0
"$python" -c 'import cryptography' 2>/dev/null && have_python=1

log "timing, $ROUNDS rounds, interleaved"
: > "$work/times"
for round in $(seq "$ROUNDS"); do
  cat "$work/export.jsonl" > /dev/null  # the same warm page cache for every contender
  echo "sha256sum $(seconds sha256sum "$work/export.jsonl")" >> "$work/times"
  echo "verify_store $(seconds "$slipway" audit verify --state-dir "$state/log")" >> "$work/times"
  echo "verify_file $(seconds "$slipway" audit verify --file "$work/export.jsonl")" >> "$work/times"
  if [ "$have_python" = 1 ]; then
    echo "python $(seconds "$python" "$root/scripts/audit-verify.py" "$work/export.jsonl")" >> "$work/times"
  fi
  echo "round $round: $(tail -n +$(( (round - 1) * (3 + have_python) + 1 )) "$work/times" | tr '\n' ' ')" >&2
done

python3 - "$here/results.json" "$work/times" "$ENTRIES" "$export_bytes" "$seal_seconds" "$append_json" "$fill_json" <<'PY'
import json, statistics, sys, os, platform
out, times_path, entries, export_bytes, seal_seconds, append_json, fill_json = sys.argv[1:]
entries, export_bytes = int(entries), int(export_bytes)
times = {}
for line in open(times_path):
    name, value = line.split()
    times.setdefault(name, []).append(float(value))
median = {name: statistics.median(values) for name, values in times.items()}
append = json.loads(append_json)
floor = median["sha256sum"]
result = {
    "machine": {"cores": os.cpu_count(), "load_average": os.getloadavg()[0], "python": platform.python_version()},
    "append": {
        "entries": append["entries"],
        "seconds": round(append["seconds"], 3),
        "entries_per_second": round(append["entries"] / append["seconds"], 1),
        "what": "set_run_status: UPDATE runs + run.finished entry, one transaction each, SQLite WAL synchronous=NORMAL",
    },
    "fill": json.loads(fill_json),
    "seal_seconds": float(seal_seconds),
    "verify": {
        "entries": entries,
        "export_bytes": export_bytes,
        "rounds": {name: values for name, values in times.items()},
        "median_seconds": median,
        "entries_per_second": {name: round(entries / value) for name, value in median.items() if name != "sha256sum"},
        "ratio_to_sha256sum": {name: round(value / floor, 2) for name, value in median.items() if name != "sha256sum"},
        "goal": "within 3x of sha256sum",
    },
}
json.dump(result, open(out, "w"), indent=2)
open(out, "a").write("\n")
print(json.dumps(result["verify"]["ratio_to_sha256sum"]), file=sys.stderr)
print(f"append: {result['append']['entries_per_second']} entries/s", file=sys.stderr)
PY
log "wrote $here/results.json"
