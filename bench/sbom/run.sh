#!/usr/bin/env bash
# SBOM-generation benchmark: `slipway sbom` vs `syft scan dir:` on the lockfile-rich monorepo that
# setup.sh generates, both writing CycloneDX JSON to a file. Prints a table and writes
# bench/sbom/results.json. See README.md.
#
#   bench/sbom/run.sh [--runs R]
#
# Env: SLIPWAY_BIN=path   use this binary and skip `cargo build --release`;
#      BENCH_BUILD_TIMEOUT (s, default 1800) bounds the build; BENCH_RUN_TIMEOUT (s, default 120)
#      bounds one run of one tool.
set -euo pipefail

RUNS=10
WARMUP=2
usage() { sed -n '2,9s/^# \{0,1\}//p' "$0"; }
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
RUN_TIMEOUT="${BENCH_RUN_TIMEOUT:-120}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

if [[ -n "${SLIPWAY_BIN:-}" ]]; then
  slipway="$SLIPWAY_BIN"
  log "slipway: using SLIPWAY_BIN=$slipway (cargo build skipped)"
else
  log "slipway: cargo build --release -p slipway-cli"
  (cd "$root" && timeout "$BUILD_TIMEOUT" cargo build --release -p slipway-cli)
  slipway="${CARGO_TARGET_DIR:-$root/target}/release/slipway"
fi
[[ -x "$slipway" ]] || die "slipway binary not found: $slipway (set SLIPWAY_BIN)"
slipway_version="$(timeout 10 "$slipway" --version 2>/dev/null | head -n1 || true)"

log "setup.sh (peers and the generated monorepo)"
"$here/setup.sh" >&2
# shellcheck source=/dev/null
source "$here/.peers/env.sh" # SYFT SYFT_VERSION HYPERFINE HYPERFINE_VERSION
export SYFT_CHECK_FOR_APP_UPDATE=false

work="$here/work"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-sbom.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
[[ "$tmp$work" =~ ^[A-Za-z0-9/._-]+$ ]] || die "paths have unusual characters: $tmp $work"

slipway_cmd="$slipway sbom $work --format cyclonedx --output $tmp/slipway.cdx.json"
syft_cmd="$SYFT scan -q dir:$work -o cyclonedx-json=$tmp/syft.cdx.json"

log "sanity: one run of each, component counts"
timeout "$RUN_TIMEOUT" $slipway_cmd 2>"$tmp/slipway.stderr" || { cat "$tmp/slipway.stderr" >&2; die "slipway failed"; }
tail -n1 "$tmp/slipway.stderr" >&2
timeout "$RUN_TIMEOUT" $syft_cmd || die "syft failed"

log "hyperfine: --warmup $WARMUP --runs $RUNS"
budget=$(((WARMUP + RUNS) * 2 * RUN_TIMEOUT + 60))
timeout "$budget" "$HYPERFINE" -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
  --export-json "$tmp/hyperfine.json" -n slipway "$slipway_cmd" -n syft "$syft_cmd" >&2 ||
  die "hyperfine failed or exceeded ${budget}s"

log "peak RSS: max of 3 runs each"
rss() {
  local max=0 kib
  for _ in 1 2 3; do
    timeout "$RUN_TIMEOUT" /usr/bin/time -f %M -o "$tmp/time.out" "$@" >/dev/null 2>&1 || true
    kib="$(tail -n1 "$tmp/time.out")"
    [[ "$kib" =~ ^[0-9]+$ ]] || die "could not read peak RSS: $(cat "$tmp/time.out")"
    ((kib > max)) && max="$kib"
  done
  echo "$max"
}
# shellcheck disable=SC2086
slipway_rss="$(rss $slipway_cmd)"
# shellcheck disable=SC2086
syft_rss="$(rss $syft_cmd)"

export BENCH_TMP="$tmp" BENCH_OUT="$here/results.json" BENCH_WORK="$work" BENCH_RUNS="$RUNS" BENCH_WARMUP="$WARMUP"
export BENCH_SLIPWAY_VERSION="$slipway_version" BENCH_SLIPWAY_RSS="$slipway_rss" BENCH_SYFT_RSS="$syft_rss"
export BENCH_SLIPWAY_CMD="$slipway_cmd" BENCH_SYFT_CMD="$syft_cmd" SYFT_VERSION HYPERFINE_VERSION
python3 - <<'PY'
import collections, datetime, json, os

env = os.environ
tmp = env["BENCH_TMP"]

def components(path):
    with open(path) as f:
        bom = json.load(f)
    kinds = collections.Counter()
    for c in bom.get("components", []):
        if c.get("type") == "file":
            continue
        purl = c.get("purl", "")
        kinds[purl[4:].split("/", 1)[0] if purl.startswith("pkg:") else "(no purl)"] += 1
    return sum(kinds.values()), dict(sorted(kinds.items()))

lockfiles = collections.Counter()
for dirpath, _, names in os.walk(env["BENCH_WORK"]):
    for name in names:
        if name in ("package-lock.json", "Cargo.lock", "uv.lock", "requirements.txt"):
            lockfiles[name] += 1

with open(os.path.join(tmp, "hyperfine.json")) as f:
    runs = {r["command"]: r for r in json.load(f)["results"]}
s, y = runs["slipway"], runs["syft"]
total_s, by_type_s = components(os.path.join(tmp, "slipway.cdx.json"))
total_y, by_type_y = components(os.path.join(tmp, "syft.cdx.json"))
res = {
    "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "host": {"cpus": os.cpu_count(), "loadavg_at_end": list(os.getloadavg())},
    "params": {"runs": int(env["BENCH_RUNS"]), "warmup": int(env["BENCH_WARMUP"])},
    "versions": {"slipway": env["BENCH_SLIPWAY_VERSION"], "syft": env["SYFT_VERSION"],
                 "hyperfine": env["HYPERFINE_VERSION"]},
    "lockfiles": dict(lockfiles),
    "tools": {},
}
for name, r, cmd, rss, total, by_type in (
    ("slipway", s, env["BENCH_SLIPWAY_CMD"], env["BENCH_SLIPWAY_RSS"], total_s, by_type_s),
    ("syft", y, env["BENCH_SYFT_CMD"], env["BENCH_SYFT_RSS"], total_y, by_type_y),
):
    res["tools"][name] = {
        "command": cmd, "mean_s": r["mean"], "stddev_s": r.get("stddev"), "median_s": r["median"],
        "min_s": r["min"], "max_s": r["max"], "user_s": r["user"], "system_s": r["system"],
        "times_s": r["times"], "peak_rss_kib": int(rss), "components": total, "components_by_type": by_type,
    }
res["syft_over_slipway"] = y["mean"] / s["mean"]
with open(env["BENCH_OUT"], "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")

def t(mean, sd):
    return "%.1f ms ± %.1f" % (mean * 1e3, (sd or 0) * 1e3) if mean < 1 else "%.3f s ± %.3f" % (mean, sd or 0)

print("lockfiles: " + ", ".join("%d %s" % (n, k) for k, n in sorted(lockfiles.items())))
print("%-8s %20s %10s %11s  %s" % ("tool", "mean ± σ", "peak RSS", "components", "by purl type"))
for name in ("slipway", "syft"):
    x = res["tools"][name]
    print("%-8s %20s %7.1f MiB %11d  %s" % (name, t(x["mean_s"], x["stddev_s"]), x["peak_rss_kib"] / 1024,
                                            x["components"], x["components_by_type"]))
print("syft / slipway: %.1fx" % res["syft_over_slipway"])
print("wrote %s" % env["BENCH_OUT"])
PY
