#!/usr/bin/env bash
# DAG-overhead benchmark: the same 50 trivial jobs (a chain c01..c10, then f01..f40 each needing c10;
# every job runs `true`) run by `slipway run`, ninja (the floor), moon and nx, in one hyperfine call.
# Prints a table (median, mean ± σ, peak RSS, ratios) and writes bench/dag-overhead/results.json.
#
#   bench/dag-overhead/run.sh [--runs R]
#
# Env: SLIPWAY_BIN=path   use this binary and skip `cargo build` (e.g. a stand-in script, to test the
#                         harness); BENCH_BUILD_TIMEOUT (s, default 1800) bounds the cargo build;
#                         BENCH_RUN_TIMEOUT (s, default 60) bounds one run of one tool.
set -euo pipefail

RUNS=10
WARMUP=2
CONCURRENCY=2 # every runner: 2 jobs at once (slipway --jobs 2, ninja -j2, moon -c 2, nx --parallel=2)
usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; }
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
RUN_TIMEOUT="${BENCH_RUN_TIMEOUT:-60}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { printf '\n== %s\n' "$*" >&2; }
warn() { printf '   WARNING: %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# --- slipway ----------------------------------------------------------------------------------------
if [[ -n "${SLIPWAY_BIN:-}" ]]; then
  slipway="$(realpath "$SLIPWAY_BIN" 2>/dev/null || true)"
  [[ -n "$slipway" ]] || die "SLIPWAY_BIN not found: $SLIPWAY_BIN"
  log "slipway: using SLIPWAY_BIN=$slipway (cargo build skipped)"
else
  log "slipway: cargo build --release -p slipway-cli"
  (cd "$root" && timeout "$BUILD_TIMEOUT" cargo build --release -p slipway-cli)
  slipway="$root/target/release/slipway"
fi
[[ -x "$slipway" ]] || die "slipway binary not found or not executable: $slipway (set SLIPWAY_BIN)"
slipway_version="$(timeout 10 "$slipway" --version 2>/dev/null | head -n1 || true)"
[[ -n "$slipway_version" ]] || slipway_version="unknown ($slipway)"

# --- peers ----------------------------------------------------------------------------------------------
log "peers: setup.sh"
"$here/setup.sh" >&2
# shellcheck source=/dev/null
source "$here/.peers/env.sh" # NINJA MOON NODE NX_JS PEERS_NODE_MODULES HYPERFINE and *_VERSION

# Runner environment, for every command below (the sanity runs, hyperfine, the RSS runs).
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false # nx: no daemon, no cloud, no terminal UI
export MOON_HOME="$here/.peers/moon-home"             # moon's user dir (plugins, id) stays in .peers

# --- fixture ----------------------------------------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-dag.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Paths go unquoted into hyperfine -N commands: keep them plain.
[[ "$tmp" =~ ^[A-Za-z0-9/._-]+$ ]] || die "temp dir path has unusual characters: $tmp"
for p in "$slipway" "$NINJA" "$MOON" "$NODE" "$NX_JS"; do
  [[ "$p" =~ ^[A-Za-z0-9/._@+-]+$ ]] || die "tool path has unusual characters: $p"
done
repo="$tmp/repo"
python3 "$here/gen.py" "$repo" --node-modules "$PEERS_NODE_MODULES"
log "fixture repo in $repo ($(git -C "$repo" rev-parse --short HEAD) on $(git -C "$repo" branch --show-current))"

TOOLS=(slipway ninja moon nx)
CHAIN=() FAN=()
for i in $(seq -w 1 10); do CHAIN+=("c$i"); done
for i in $(seq -w 1 40); do FAN+=("f$i"); done
ALL_JOBS="$(IFS=,; echo "${CHAIN[*]},${FAN[*]}")"
moon_targets=()
for f in "${FAN[@]}"; do moon_targets+=("p:$f"); done
nx_targets="$(IFS=,; echo "${FAN[*]}")"

# The exact command timed for TOOL, run in the fixture repo, one word per line (no shell involved).
cmd_for() {
  case "$1" in
    slipway) printf '%s\n' "$slipway" run --jobs "$CONCURRENCY" ;;
    ninja) printf '%s\n' "$NINJA" "-j$CONCURRENCY" ;;
    # The native binary (not the Node shim); --force bypasses the cache so every task runs.
    moon) printf '%s\n' "$MOON" run --concurrency "$CONCURRENCY" --force "${moon_targets[@]}" ;;
    # node on nx's JS entry (no npx / .bin shim); --skipNxCache so every task runs.
    nx) printf '%s\n' "$NODE" "$NX_JS" run-many -t "$nx_targets" -p p --outputStyle=static --skipNxCache \
      "--parallel=$CONCURRENCY" ;;
  esac
}
cmd_str() { cmd_for "$@" | paste -sd' '; }

# run_in_repo OUT CMD...: run CMD in the fixture repo with the per-run timeout, output to OUT; echoes rc.
run_in_repo() {
  local out="$1" rc=0
  shift
  (cd "$repo" && timeout "$RUN_TIMEOUT" "$@") >"$out" 2>&1 || rc=$?
  ((rc != 124)) || die "timed out after ${RUN_TIMEOUT}s: $*"
  echo "$rc"
}

# --- sanity: each tool really runs all 50 jobs ----------------------------------------------------------
sanity="$tmp/sanity.tsv"
: >"$sanity"
log "sanity: each tool once (twice for ninja/moon/nx: the second run proves nothing is skipped)"
ms_now() { date +%s%3N; }

# slipway: `slipway run --json` must exit 0 and print 50 finished-job events (JSON, one per line).
out="$tmp/sanity-slipway.txt"
mapfile -t cmd < <(cmd_for slipway)
t0="$(ms_now)"
rc="$(run_in_repo "$out" "${cmd[@]}" --json)"
t1="$(ms_now)"
if ((rc != 0)); then
  tail -n 30 "$out" >&2
  die "slipway run exited $rc"
fi
# Prints "<finished successful jobs among the 50> <JSON lines seen>".
read -r finished json_lines < <(python3 - "$out" "$ALL_JOBS" <<'PY'
import json, re, sys
want = set(sys.argv[2].split(","))
ok_status = {"success", "succeeded", "successful", "ok", "passed", "pass", "done", "finished", "completed"}
finish_words = {"finish", "finished", "complete", "completed", "done", "end", "ended"}
done, seen = set(), 0
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if not isinstance(o, dict):
            continue
        seen += 1
        kind = " ".join(str(o.get(k, "")) for k in ("event", "type", "kind"))
        words = set(re.split(r"[^a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", kind).lower()))
        if not words & finish_words:
            continue
        job = next((o[k] for k in ("job", "job_id", "jobId", "id", "name") if k in o), None)
        if isinstance(job, dict):
            job = job.get("id", job.get("name"))
        if job not in want:
            continue
        status = next((o[k] for k in ("status", "result", "outcome", "conclusion") if k in o), None)
        if status is None or str(status).lower() in ok_status:
            done.add(job)
print(len(done), seen)
PY
)
printf '%-8s exit %s, %s finished job events (of %s JSON lines), %s ms\n' slipway "$rc" "$finished" "$json_lines" \
  "$((t1 - t0))" >&2
if ((finished != 50)); then
  head -n 20 "$out" >&2
  if [[ -n "${SLIPWAY_BIN:-}" ]]; then
    warn "slipway run --json did not report 50 finished jobs (SLIPWAY_BIN stand-in?); continuing"
  else
    die "slipway run --json reported $finished finished jobs, expected 50"
  fi
fi
printf 'slipway\t%s\t%s\t%s\n' "$rc" "$finished" "$((t1 - t0))" >>"$sanity"

# ninja: every invocation must run all 50 edges ("[50/50]"), not "no work to do".
mapfile -t cmd < <(cmd_for ninja)
for pass in 1 2; do
  out="$tmp/sanity-ninja-$pass.txt"
  t0="$(ms_now)"
  rc="$(run_in_repo "$out" "${cmd[@]}")"
  t1="$(ms_now)"
  n="$(grep -cE '^\[[0-9]+/50\] ' "$out" || true)"
  printf '%-8s run %s: exit %s, %s of 50 edges run, %s ms\n' ninja "$pass" "$rc" "$n" "$((t1 - t0))" >&2
  { ((rc == 0)) && ((n == 50)) && grep -q '^\[50/50\] ' "$out"; } || { cat "$out" >&2; die "ninja did not run 50 edges"; }
done
printf 'ninja\t%s\t%s\t%s\n' "$rc" "$n" "$((t1 - t0))" >>"$sanity"

# moon: .moon/cache/runReport.json must list 50 run-task actions with status "passed" (not "cached").
# The first run also sets up moon's cache and user dir (slow, once).
mapfile -t cmd < <(cmd_for moon)
for pass in 1 2; do
  out="$tmp/sanity-moon-$pass.txt"
  rm -f "$repo/.moon/cache/runReport.json"
  t0="$(ms_now)"
  rc="$(run_in_repo "$out" "${cmd[@]}")"
  t1="$(ms_now)"
  n="$(python3 -c '
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print(0); sys.exit()
print(sum(1 for a in r.get("actions", [])
          if (a.get("node") or {}).get("action") == "run-task" and a.get("status") == "passed"))
' "$repo/.moon/cache/runReport.json")"
  printf '%-8s run %s: exit %s, %s of 50 tasks run (not cached), %s ms\n' moon "$pass" "$rc" "$n" "$((t1 - t0))" >&2
  { ((rc == 0)) && ((n == 50)); } || { tail -n 30 "$out" >&2; die "moon did not run 50 tasks"; }
  moon_first_ms="${moon_first_ms:-$((t1 - t0))}"
done
printf 'moon\t%s\t%s\t%s\n' "$rc" "$n" "$((t1 - t0))" >>"$sanity"

# nx: 50 distinct "> nx run p:<task>" lines, none from the cache.
mapfile -t cmd < <(cmd_for nx)
for pass in 1 2; do
  out="$tmp/sanity-nx-$pass.txt"
  t0="$(ms_now)"
  rc="$(run_in_repo "$out" "${cmd[@]}")"
  t1="$(ms_now)"
  n="$(awk '/^> nx run p:[cf][0-9][0-9]/ && !/[Cc]ache/ { print $4 }' "$out" | sort -u | wc -l)"
  cached="$(awk '/^> nx run p:/ && /[Cc]ache/ { c++ } END { print c + 0 }' "$out")"
  printf '%-8s run %s: exit %s, %s of 50 tasks run (%s from cache), %s ms\n' nx "$pass" "$rc" "$n" "$cached" \
    "$((t1 - t0))" >&2
  { ((rc == 0)) && ((n == 50)) && ((cached == 0)); } || { tail -n 30 "$out" >&2; die "nx did not run 50 tasks"; }
done
printf 'nx\t%s\t%s\t%s\n' "$rc" "$n" "$((t1 - t0))" >>"$sanity"

# --- timing (hyperfine) -----------------------------------------------------------------------------------
# -N: no intermediate shell. No --prepare is needed: ninja's outputs are never written (every edge is
# always dirty), moon runs --force, nx --skipNxCache. hyperfine aborts if any run exits non-zero.
budget=$(((WARMUP + RUNS) * ${#TOOLS[@]} * RUN_TIMEOUT + 60))
log "hyperfine: --warmup $WARMUP --runs $RUNS, in $repo"
args=()
for tool in "${TOOLS[@]}"; do args+=(-n "$tool" "$(cmd_str "$tool")"); done
(cd "$repo" && timeout "$budget" "$HYPERFINE" -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
  --export-json "$tmp/hyperfine.json" "${args[@]}") >&2 ||
  die "hyperfine failed or exceeded ${budget}s"

# --- peak RSS (/usr/bin/time -f %M, KiB; max of 3 runs) -----------------------------------------------------
# GNU time reports the largest single process among the command and its waited-for children.
rss="$tmp/rss.tsv"
: >"$rss"
log "peak RSS: max of 3 runs each"
for tool in "${TOOLS[@]}"; do
  mapfile -t cmd < <(cmd_for "$tool")
  max=0
  for _ in 1 2 3; do
    rc="$(run_in_repo "$tmp/rss-run.out" /usr/bin/time -f %M -o "$tmp/time.out" "${cmd[@]}")"
    ((rc == 0)) || { tail -n 20 "$tmp/rss-run.out" >&2; die "$tool exited $rc during the RSS runs"; }
    kib="$(tail -n1 "$tmp/time.out")"
    [[ "$kib" =~ ^[0-9]+$ ]] || die "could not read peak RSS for $tool: $(cat "$tmp/time.out")"
    if ((kib > max)); then max="$kib"; fi
  done
  printf '%s\t%s\n' "$tool" "$max" >>"$rss"
done

cmds="$tmp/commands.tsv"
: >"$cmds"
for tool in "${TOOLS[@]}"; do printf '%s\t%s\n' "$tool" "$(cmd_str "$tool")" >>"$cmds"; done

# --- report -------------------------------------------------------------------------------------------------
log "results"
export BENCH_RUNS="$RUNS" BENCH_WARMUP="$WARMUP" BENCH_CONCURRENCY="$CONCURRENCY" BENCH_TMP="$tmp"
export BENCH_OUT="$here/results.json" BENCH_SLIPWAY="$slipway" BENCH_SLIPWAY_VERSION="$slipway_version"
export BENCH_SLIPWAY_STANDIN="${SLIPWAY_BIN:+1}" BENCH_MOON_FIRST_MS="$moon_first_ms"
export NINJA_VERSION MOON_VERSION NX_VERSION HYPERFINE_VERSION
python3 - <<'PY'
import datetime, json, os, platform

env = os.environ
tmp = env["BENCH_TMP"]
tools = ["slipway", "ninja", "moon", "nx"]
JOBS = 50

def rows(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]

sanity = {t: {"exit_code": int(rc), "jobs_run": int(n), "wall_ms": int(ms)} for t, rc, n, ms in rows(os.path.join(tmp, "sanity.tsv"))}
rss = {t: int(kib) for t, kib in rows(os.path.join(tmp, "rss.tsv"))}
cmds = {t: c for t, c in rows(os.path.join(tmp, "commands.tsv"))}
with open(os.path.join(tmp, "hyperfine.json")) as f:
    hf = {r["command"]: r for r in json.load(f)["results"]}

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

med = {t: hf[t]["median"] for t in tools}
def ratio(a, b):
    return a / b if b > 0 else None

res = {
    "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "host": {"cpus": os.cpu_count(), "cpu": cpu_model(), "kernel": platform.release(),
             "loadavg_at_end": list(os.getloadavg())},
    "params": {"jobs": JOBS, "runs": int(env["BENCH_RUNS"]), "warmup": int(env["BENCH_WARMUP"]),
               "concurrency": int(env["BENCH_CONCURRENCY"])},
    "versions": {"slipway": env["BENCH_SLIPWAY_VERSION"], "ninja": env["NINJA_VERSION"],
                 "moon": env["MOON_VERSION"], "nx": env["NX_VERSION"], "hyperfine": env["HYPERFINE_VERSION"]},
    "slipway_stand_in": bool(env.get("BENCH_SLIPWAY_STANDIN")),
    "moon_first_run_ms": int(env["BENCH_MOON_FIRST_MS"]),
    "tools": {},
}
for t in tools:
    r = hf[t]
    res["tools"][t] = {
        "command": cmds[t],
        "median_s": r["median"], "mean_s": r["mean"], "stddev_s": r.get("stddev"),
        "min_s": r["min"], "max_s": r["max"], "user_s": r["user"], "system_s": r["system"],
        "times_s": r["times"],
        "peak_rss_kib": rss[t],
        "ratio_to_slipway": ratio(med[t], med["slipway"]),   # medians: tool / slipway
        "ratio_to_ninja": ratio(med[t], med["ninja"]),       # medians: tool / ninja
        "per_job_s": med[t] / JOBS,
        "sanity": sanity[t],
    }
s, n, m = med["slipway"], med["ninja"], med["moon"]
res["slipway"] = {
    "per_job_overhead_vs_ninja_s": (s - n) / JOBS,
    "per_job_s": s / JOBS,
    "slipway_over_ninja": ratio(s, n),
    "moon_over_slipway": ratio(m, s),
    "goals": {
        "at_most_2x_ninja": {"target": 2.0, "value": ratio(s, n), "met": s <= 2 * n},
        "at_least_10x_faster_than_moon": {"target": 10.0, "value": ratio(m, s), "met": m >= 10 * s},
    },
}
with open(env["BENCH_OUT"], "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")

def ft(x):
    return "%.3f s" % x if x >= 1 else "%.1f ms" % (x * 1e3)
def fms(mean, sd):
    if mean >= 1:
        return "%.3f s ± %.3f" % (mean, sd or 0)
    return "%.1f ms ± %.1f" % (mean * 1e3, (sd or 0) * 1e3)
def fr(x):
    return "n/a" if x is None else ("%.2fx" % x if x < 10 else "%.1fx" % x)

print()
print("50-job DAG (chain of 10, then fan-out of 40; every job runs `true`), %d jobs at once; "
      "%d runs after %d warm-up" % (res["params"]["concurrency"], res["params"]["runs"], res["params"]["warmup"]))
hdr = "%-8s %10s %20s %13s %13s %11s" % ("tool", "median", "mean ± σ", "peak RSS MB", "vs slipway", "vs ninja")
print(hdr)
print("-" * len(hdr))
for t in tools:
    x = res["tools"][t]
    print("%-8s %10s %20s %13.1f %13s %11s" % (
        t, ft(x["median_s"]), fms(x["mean_s"], x["stddev_s"]), x["peak_rss_kib"] / 1024,
        "-" if t == "slipway" else fr(x["ratio_to_slipway"]), "-" if t == "ninja" else fr(x["ratio_to_ninja"])))
print("(ratios are medians: that tool / slipway, that tool / ninja; RSS in MiB)")
sw = res["slipway"]
print()
print("slipway per job: %.2f ms overhead over ninja ((slipway − ninja median) / 50); %.2f ms all-in (median / 50)" % (
    sw["per_job_overhead_vs_ninja_s"] * 1e3, sw["per_job_s"] * 1e3))
g = sw["goals"]
print("goal: slipway ≤ 2× ninja          -> %s  (slipway / ninja = %s)" % (
    "met" if g["at_most_2x_ninja"]["met"] else "NOT met", fr(sw["slipway_over_ninja"])))
print("goal: slipway ≥ 10× faster than moon -> %s  (moon / slipway = %s)" % (
    "met" if g["at_least_10x_faster_than_moon"]["met"] else "NOT met", fr(sw["moon_over_slipway"])))
print("moon's first run in a fresh repo (cache set-up, not timed above): %s" % ft(res["moon_first_run_ms"] / 1e3))
if res["slipway_stand_in"]:
    print("\nNOTE: slipway was SLIPWAY_BIN=%s; its numbers are not slipway's." % env["BENCH_SLIPWAY"])
print("\nwrote %s" % env["BENCH_OUT"])
PY
