#!/usr/bin/env bash
# Secret-scanning benchmark: `slipway scan secrets` vs gitleaks 8.30.1 and detect-secrets 1.5.0,
# in one invocation:
#   1. the labelled corpus (crates/slipway-secretscan/tests/corpus): findings, recall and
#      precision of each tool (score.py), time and peak RSS;
#   2. a large real source tree (>= 300 MB): slipway and gitleaks, best of --runs, plus slipway
#      pinned to one core (taskset -c 0) for the single-thread figure;
#   3. a ~10 MB subset of that tree: all three tools (detect-secrets is too slow for more).
# Prints tables and writes bench/secrets/results.json. See README.md.
#
#   bench/secrets/run.sh [--runs R]
#
# Env: SLIPWAY_BIN=path     use this binary and skip `cargo build --release`
#      SECRETS_BENCH_TREE   the real tree (default: $HOME/.cargo/registry/src)
#      SUBSET_MB            size of the detect-secrets subset (default 10)
#      BENCH_BUILD_TIMEOUT  seconds for the build (default 1800)
#      BENCH_RUN_TIMEOUT    seconds for one run of one tool (default 900)
set -euo pipefail

RUNS=3
usage() { sed -n '2,19s/^# \{0,1\}//p' "$0"; }
while (($#)); do
  case "$1" in
    --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
    --runs=*) RUNS="${1#*=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs must be a positive integer" >&2; exit 2; }
BUILD_TIMEOUT="${BENCH_BUILD_TIMEOUT:-1800}"
RUN_TIMEOUT="${BENCH_RUN_TIMEOUT:-900}"
SUBSET_MB="${SUBSET_MB:-10}"
TREE="${SECRETS_BENCH_TREE:-$HOME/.cargo/registry/src}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }
[[ -d "$TREE" ]] || die "SECRETS_BENCH_TREE=$TREE is not a directory"
TREE="$(cd "$TREE" && pwd)"

target="${CARGO_TARGET_DIR:-$root/target}"
if [[ -n "${SLIPWAY_BIN:-}" ]]; then
  slipway="$SLIPWAY_BIN"
  log "slipway: using SLIPWAY_BIN=$slipway (cargo build of slipway-cli skipped)"
  log "corpus generator: cargo build --release --example secrets_corpus"
  (cd "$root" && timeout "$BUILD_TIMEOUT" cargo build --release -p slipway-secretscan --example secrets_corpus)
else
  log "cargo build --release -p slipway-cli, and the corpus generator"
  (cd "$root" && timeout "$BUILD_TIMEOUT" cargo build --release -p slipway-cli &&
    timeout "$BUILD_TIMEOUT" cargo build --release -p slipway-secretscan --example secrets_corpus)
  slipway="$target/release/slipway"
fi
generator="$target/release/examples/secrets_corpus"
[[ -x "$slipway" ]] || die "slipway binary not found: $slipway (set SLIPWAY_BIN)"
[[ -x "$generator" ]] || die "corpus generator not found: $generator"
slipway_version="$(timeout 10 "$slipway" --version 2>/dev/null | head -n1 || true)"

log "install-peers.sh"
peers="$("$here/install-peers.sh")"
GITLEAKS="$(sed -n 's/^GITLEAKS=//p' <<<"$peers")"
GITLEAKS_VERSION="$(sed -n 's/^GITLEAKS_VERSION=//p' <<<"$peers")"
DETECT_SECRETS="$(sed -n 's/^DETECT_SECRETS=//p' <<<"$peers")"
DETECT_SECRETS_VERSION="$(sed -n 's/^DETECT_SECRETS_VERSION=//p' <<<"$peers")"
[[ -x "$GITLEAKS" && -x "$DETECT_SECRETS" ]] || die "install-peers.sh did not report the peers"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-secrets.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cores="$(nproc)"

# run NAME CMD...: runs CMD once under GNU time and a timeout, stdout to $tmp/NAME.stdout,
# appending `NAME wall_s peak_kib user_s sys_s` to $tmp/times. Exit statuses 0 and 1 are both
# normal (slipway exits 1 when the gate fails on findings); anything else is a failure.
run() {
  local name="$1" status=0
  shift
  timeout "$RUN_TIMEOUT" /usr/bin/time -f '%e %M %U %S' -o "$tmp/time.out" "$@" \
    >"$tmp/$name.stdout" 2>"$tmp/$name.stderr" || status=$?
  if ((status > 1)); then
    tail -n 20 "$tmp/$name.stderr" >&2
    die "$name failed with status $status (timeout: ${RUN_TIMEOUT}s)"
  fi
  echo "$name $(tail -n1 "$tmp/time.out")" >>"$tmp/times"
}
# scan_all PREFIX DIR: one run of each tool (reports in $tmp/PREFIX-TOOL.json). detect-secrets
# runs in DIR, so its paths are relative to it, and writes its report to stdout.
scan_all() {
  local prefix="$1" dir="$2"
  run "$prefix-slipway" "$slipway" scan secrets "$dir" --format json --output "$tmp/$prefix-slipway.json"
  run "$prefix-gitleaks" "$GITLEAKS" dir "$dir" --no-banner --exit-code 0 -f json -r "$tmp/$prefix-gitleaks.json"
  (cd "$dir" && run "$prefix-detect-secrets" "$DETECT_SECRETS" scan --all-files .)
  mv "$tmp/$prefix-detect-secrets.stdout" "$tmp/$prefix-detect-secrets.json"
}

# warm DIR: reads every file once so that every tool starts from the same warm page cache.
warm() { find "$1" -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true; }
tree_bytes() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
tree_files() { find "$1" -type f | wc -l; }

# --- 1. the labelled corpus ----------------------------------------------------------------------
log "corpus: generate"
"$generator" "$tmp/corpus" >"$tmp/corpus-summary.txt"
head -n1 "$tmp/corpus-summary.txt" >&2
corpus="$tmp/corpus/tree"
warm "$corpus"
log "corpus: slipway, gitleaks, detect-secrets"
scan_all corpus "$corpus"
python3 "$here/score.py" corpus --labels "$tmp/corpus/labels.json" --tree "$corpus" \
  --result "slipway:slipway:$tmp/corpus-slipway.json" \
  --result "gitleaks:gitleaks:$tmp/corpus-gitleaks.json" \
  --result "detect-secrets:detect-secrets:$tmp/corpus-detect-secrets.json" \
  --json "$tmp/corpus-score.json" >"$tmp/corpus-score.md" 2>"$tmp/corpus-misses.txt"
cat "$tmp/corpus-score.md"
# slipway's misses and false positives (file:line and rule only), for the rules' authors.
awk '/^[^ ]/ { show = ($1 == "slipway:") } show' "$tmp/corpus-misses.txt" >&2

# --- 2. the real tree ----------------------------------------------------------------------------
tree_size="$(tree_bytes "$TREE")"
tree_count="$(tree_files "$TREE")"
log "real tree: $TREE, $tree_size bytes in $tree_count files; warming the page cache"
((tree_size >= 300000000)) || echo "run.sh: warning: the tree has under 300 MB ($tree_size bytes)" >&2
warm "$TREE"
for i in $(seq "$RUNS"); do
  log "real tree: run $i of $RUNS"
  run tree-slipway "$slipway" scan secrets "$TREE" --format json --output "$tmp/tree-slipway.json"
  # One core: the scanner sizes its pool from the CPU affinity mask.
  run tree-slipway-1core taskset -c 0 "$slipway" scan secrets "$TREE" --format json \
    --output "$tmp/tree-slipway-1core.json"
  run tree-gitleaks "$GITLEAKS" dir "$TREE" --no-banner --exit-code 0 -f json -r "$tmp/tree-gitleaks.json"
done

# --- 3. the subset -------------------------------------------------------------------------------
log "subset: the first crates of the tree (sorted) that fit in ${SUBSET_MB} MB"
subset="$tmp/subset"
mkdir -p "$subset"
limit=$((SUBSET_MB * 1000000))
taken=0
while IFS= read -r dir; do
  size="$(tree_bytes "$dir")"
  # A crate that would overshoot the budget (some vendor whole C libraries) is passed over.
  ((taken + size > limit)) && continue
  cp -r "$dir" "$subset/"
  taken=$((taken + size))
  ((taken >= limit * 95 / 100)) && break
done < <(find "$TREE" -mindepth 2 -maxdepth 2 -type d | sort)
subset_size="$(tree_bytes "$subset")"
subset_count="$(tree_files "$subset")"
log "subset: $subset_size bytes in $subset_count files"
warm "$subset"
scan_all subset "$subset"

# --- results -------------------------------------------------------------------------------------
export BENCH_TMP="$tmp" BENCH_OUT="$here/results.json" BENCH_TREE="$TREE" BENCH_RUNS="$RUNS"
export BENCH_TREE_BYTES="$tree_size" BENCH_TREE_FILES="$tree_count" BENCH_SUBSET_BYTES="$subset_size"
export BENCH_SUBSET_FILES="$subset_count" BENCH_CORES="$cores" BENCH_SLIPWAY_VERSION="$slipway_version"
export GITLEAKS_VERSION DETECT_SECRETS_VERSION BENCH_SCORE="$here/score.py"
python3 - <<'PY'
import collections, datetime, json, os, subprocess

env = os.environ
tmp = env["BENCH_TMP"]
times = collections.defaultdict(list)
with open(os.path.join(tmp, "times")) as f:
    for line in f:
        name, wall, kib, user, system = line.split()
        times[name].append((float(wall), int(kib), float(user), float(system)))

def count(fmt, report, tree):
    out = subprocess.run(["python3", env["BENCH_SCORE"], "count", fmt, report, "--tree", tree],
                         check=True, capture_output=True, text=True)
    return int(out.stdout.strip())

def measured(name, size, fmt, tree):
    runs = times[name]
    wall, _, user, system = min(runs)
    return {
        "runs": len(runs),
        "best_wall_s": wall,
        "cpu_s_of_best": round(user + system, 2),
        "peak_rss_mib": round(max(r[1] for r in runs) / 1024, 1),
        "mb_per_s": round(size / 1e6 / wall, 2) if wall > 0 else None,
        # Under load wall time overstates cost; MB per CPU-second is the per-core figure.
        "mb_per_cpu_s": round(size / 1e6 / (user + system), 2) if user + system > 0 else None,
        "findings": count(fmt, os.path.join(tmp, f"{name}.json"), tree),
    }

tree, subset = env["BENCH_TREE"], os.path.join(tmp, "subset")
corpus = os.path.join(tmp, "corpus", "tree")
tree_bytes, subset_bytes = int(env["BENCH_TREE_BYTES"]), int(env["BENCH_SUBSET_BYTES"])
cores = int(env["BENCH_CORES"])
with open(os.path.join(tmp, "corpus-score.json")) as f:
    corpus_score = json.load(f)
corpus_bytes = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(corpus) for n in ns)
res = {
    "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "host": {"cores": cores, "loadavg_at_end": list(os.getloadavg())},
    "versions": {"slipway": env["BENCH_SLIPWAY_VERSION"], "gitleaks": env["GITLEAKS_VERSION"],
                 "detect-secrets": env["DETECT_SECRETS_VERSION"]},
    "corpus": {
        "bytes": corpus_bytes,
        "scores": {tool: {k: s[k] for k in ("findings", "secrets", "found", "false_positives", "recall", "precision")}
                   for tool, s in corpus_score.items()},
        "slipway_misses": corpus_score["slipway"]["misses"],
        "slipway_false_positives": corpus_score["slipway"]["false_positive_list"],
        "times": {tool: measured(f"corpus-{tool}", corpus_bytes, fmt, corpus)
                  for tool, fmt in (("slipway", "slipway"), ("gitleaks", "gitleaks"), ("detect-secrets", "detect-secrets"))},
    },
    "tree": {
        "path": tree, "bytes": tree_bytes, "files": int(env["BENCH_TREE_FILES"]), "runs": int(env["BENCH_RUNS"]),
        "slipway": measured("tree-slipway", tree_bytes, "slipway", tree),
        "slipway_scanned": {k: json.load(open(os.path.join(tmp, "tree-slipway.json")))[k]
                            for k in ("scanned_files", "scanned_bytes", "skipped")},
        "slipway_1_core": measured("tree-slipway-1core", tree_bytes, "slipway", tree),
        "gitleaks": measured("tree-gitleaks", tree_bytes, "gitleaks", tree),
    },
    "subset": {
        "bytes": subset_bytes, "files": int(env["BENCH_SUBSET_FILES"]),
        "slipway": measured("subset-slipway", subset_bytes, "slipway", subset),
        "gitleaks": measured("subset-gitleaks", subset_bytes, "gitleaks", subset),
        "detect-secrets": measured("subset-detect-secrets", subset_bytes, "detect-secrets", subset),
    },
}
t = res["tree"]
res["ratios"] = {
    "tree_slipway_over_gitleaks_mb_per_s": round(t["slipway"]["mb_per_s"] / t["gitleaks"]["mb_per_s"], 2),
    "tree_slipway_1_core_over_gitleaks_mb_per_s": round(t["slipway_1_core"]["mb_per_s"] / t["gitleaks"]["mb_per_s"], 2),
    "tree_slipway_mb_per_s_per_core": round(t["slipway"]["mb_per_s"] / cores, 2),
    "tree_slipway_over_gitleaks_mb_per_cpu_s": round(t["slipway"]["mb_per_cpu_s"] / t["gitleaks"]["mb_per_cpu_s"], 2),
    "subset_slipway_over_detect_secrets_mb_per_s": round(res["subset"]["slipway"]["mb_per_s"] / res["subset"]["detect-secrets"]["mb_per_s"], 1),
    "corpus_recall_slipway_minus_gitleaks": round(corpus_score["slipway"]["recall"] - corpus_score["gitleaks"]["recall"], 3),
}
with open(env["BENCH_OUT"], "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")

print(f"\nreal tree: {tree_bytes / 1e6:.1f} MB in {t['files']} files, {cores} cores, best of {t['runs']}, "
      f"load average at end {res['host']['loadavg_at_end'][0]:.1f}; slipway read {t['slipway_scanned']}")
print("| tool | wall s | CPU s | MB/s | MB per CPU-s | peak RSS MiB | findings |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, key in (("slipway", "slipway"), ("slipway, 1 core (taskset)", "slipway_1_core"), ("gitleaks", "gitleaks")):
    m = t[key]
    print(f"| {name} | {m['best_wall_s']} | {m['cpu_s_of_best']} | {m['mb_per_s']} | {m['mb_per_cpu_s']} | {m['peak_rss_mib']} | {m['findings']} |")
s = res["subset"]
print(f"\nsubset: {subset_bytes / 1e6:.1f} MB in {s['files']} files, 1 run each")
print("| tool | wall s | CPU s | MB/s | MB per CPU-s | peak RSS MiB | findings |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name in ("slipway", "gitleaks", "detect-secrets"):
    m = s[name]
    print(f"| {name} | {m['best_wall_s']} | {m['cpu_s_of_best']} | {m['mb_per_s']} | {m['mb_per_cpu_s']} | {m['peak_rss_mib']} | {m['findings']} |")
c = res["corpus"]["times"]
print(f"\ncorpus: {corpus_bytes} bytes, 1 run each")
print("| tool | wall s | peak RSS MiB |")
print("|---|---:|---:|")
for name in ("slipway", "gitleaks", "detect-secrets"):
    print(f"| {name} | {c[name]['best_wall_s']} | {c[name]['peak_rss_mib']} |")
print("\nratios:", json.dumps(res["ratios"], indent=2))
PY
