#!/usr/bin/env bash
# Proxy overhead benchmark: the same wrk load against hello-service directly, through Slipway's
# weighted proxy (crates/slipway-proxy, example weighted_proxy) and through nginx (upstream with
# keepalive), in one invocation. Two load profiles per target:
#   latency:    1 thread, 1 connection  -> the proxy's added latency (p50/p99) without queueing
#   throughput: 2 threads, 64 connections -> requests/s at saturation
# It also reads the CPU time (user + system) the proxy process spent per request, which varies
# less than throughput when other work shares the cores. Prints a table and writes
# bench/rollout/results.json.
#
#   bench/rollout/run.sh [--duration SECONDS] [--rounds R]
#
# --duration S  length of each timed wrk run (default 10)
# --rounds R    interleaved rounds of every (profile, target) run; the median is reported
#               (default 1)
# Needs wrk and nginx (bash scripts/deps/rollout.sh installs both).
set -euo pipefail

DURATION=10
ROUNDS=1
usage() { sed -n '2,18s/^# \{0,1\}//p' "$0"; }
while (($#)); do
  case "$1" in
    --duration) DURATION="${2:?--duration needs a value}"; shift 2 ;;
    --rounds) ROUNDS="${2:?--rounds needs a value}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --duration must be a positive integer" >&2; exit 2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds must be a positive integer" >&2; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

command -v wrk >/dev/null && command -v nginx >/dev/null || bash "$root/scripts/deps/rollout.sh"
command -v wrk >/dev/null || die "wrk is missing"
command -v nginx >/dev/null || die "nginx is missing"
command -v curl >/dev/null || { log "installing curl"; apt-get update -qq && apt-get install -y -qq curl; }

log "building release binaries"
(cd "$root" && cargo build --release --quiet -p slipway-proxy --example weighted_proxy)
(cd "$root" && cargo build --release --quiet --manifest-path examples/hello-service/Cargo.toml)
proxy_target="$(cd "$root" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
hello_target="$(cd "$root/examples/hello-service" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
proxy_bin="$proxy_target/release/examples/weighted_proxy"
hello_bin="$hello_target/release/hello-service"
[[ -x "$proxy_bin" ]] || die "not built: $proxy_bin"
[[ -x "$hello_bin" ]] || die "not built: $hello_bin"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/slipway-bench-rollout.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Starts "$@" in the background with stdout to $1.out and waits for "listening on http://ADDR".
listening_address() {
  local name="$1" deadline=$((SECONDS + 20)) address=""
  while [[ -z "$address" ]]; do
    ((SECONDS < deadline)) || die "$name did not start: $(cat "$tmp/$name.out" "$tmp/$name.err" 2>/dev/null)"
    sleep 0.1
    address="$(sed -n 's|.*listening on http://\([^ ]*\).*|\1|p' "$tmp/$name.out" | head -n 1)"
  done
  echo "$address"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

log "starting hello-service"
BIND=127.0.0.1 PORT=0 HELLO_VERSION=bench "$hello_bin" >"$tmp/hello.out" 2>"$tmp/hello.err" &
pids+=($!)
hello_pid=$!
backend="$(listening_address hello)"

log "starting weighted_proxy"
"$proxy_bin" --listen 127.0.0.1:0 --environment bench --backend "v1=$backend@10000" \
  >"$tmp/proxy.out" 2>"$tmp/proxy.err" &
pids+=($!)
proxy_pid=$!
proxy="$(listening_address proxy)"

log "starting nginx"
nginx_port="$(free_port)"
user_line=""
# Run as root, nginx would hand its workers to "nobody"; keep them on the current user.
[[ "$(id -u)" == 0 ]] && user_line="user $(id -un);"
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<EOF
$user_line
worker_processes auto;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  upstream backend {
    server $backend;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx.out" 2>"$tmp/nginx.err" &
pids+=($!)
nginx_pid=$!
nginx_address="127.0.0.1:$nginx_port"

# All three answer the same request before anything is timed.
for address in "$backend" "$proxy" "$nginx_address"; do
  deadline=$((SECONDS + 20))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$address/api/hello" 2>/dev/null || true)" == 200 ]]; do
    ((SECONDS < deadline)) || die "http://$address/api/hello does not answer 200"
    sleep 0.1
  done
done

declare -A url=(
  [direct]="http://$backend/api/hello"
  [slipway]="http://$proxy/api/hello"
  [nginx]="http://$nginx_address/api/hello"
)
# The CPU time a proxy spends per request is steadier than its throughput on a busy machine:
# clock ticks (user + system) of a process and its children (nginx's workers).
cpu_ticks() {
  local total=0 pid stat fields
  for pid in "$1" $(pgrep -P "$1" || true); do
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
    # Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    read -r -a fields <<<"${stat##*) }"
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}
declare -A process=([direct]="" [slipway]="$proxy_pid" [nginx]="$nginx_pid")

declare -A profile=(
  [latency]="-t1 -c1"
  [throughput]="-t2 -c64"
)

log "warming up"
for target in direct slipway nginx; do
  wrk -t2 -c64 -d2s "${url[$target]}" >/dev/null
done

: >"$tmp/runs.txt"
for round in $(seq 1 "$ROUNDS"); do
  for name in latency throughput; do
    for target in direct slipway nginx; do
      log "round $round: $name, $target (${DURATION}s)"
      proxy_before=0 backend_before="$(cpu_ticks "$hello_pid")"
      [[ -n "${process[$target]}" ]] && proxy_before="$(cpu_ticks "${process[$target]}")"
      # shellcheck disable=SC2086 # the profile is a list of wrk flags
      wrk ${profile[$name]} -d"${DURATION}s" --latency "${url[$target]}" >"$tmp/wrk.out"
      proxy_ticks=0 backend_ticks=$(($(cpu_ticks "$hello_pid") - backend_before))
      [[ -n "${process[$target]}" ]] && proxy_ticks=$(($(cpu_ticks "${process[$target]}") - proxy_before))
      printf '%s %s %s %s %s\n' "$round" "$name" "$target" "$proxy_ticks" "$backend_ticks" >>"$tmp/runs.txt"
      cat "$tmp/wrk.out" >>"$tmp/runs.txt"
      printf '%s\n' "--end--" >>"$tmp/runs.txt"
    done
  done
done

python3 - "$tmp/runs.txt" "$here/results.json" "$DURATION" "$ROUNDS" <<'PY'
import datetime, json, os, re, statistics, subprocess, sys

runs_path, out_path, duration, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}

def millis(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * UNITS[unit]

results = {}
block = []
for line in open(runs_path):
    line = line.rstrip("\n")
    if line == "--end--":
        head, body = block[0].split(), "\n".join(block[1:])
        p50 = millis(re.search(r"^\s+50%\s+(\S+)", body, re.M).group(1))
        p99 = millis(re.search(r"^\s+99%\s+(\S+)", body, re.M).group(1))
        rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", body, re.M).group(1))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", body)
        socket_errors = re.search(r"Socket errors: (.*)", body)
        requests = int(re.search(r"^\s*(\d+) requests in", body, re.M).group(1))
        tick = 1_000_000 / os.sysconf("SC_CLK_TCK")
        results.setdefault(head[1], {}).setdefault(head[2], []).append({
            "p50_ms": p50, "p99_ms": p99, "requests_per_s": rps,
            "proxy_cpu_us_per_request": int(head[3]) * tick / requests,
            "backend_cpu_us_per_request": int(head[4]) * tick / requests,
            "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else None,
        })
        block = []
    else:
        block.append(line)

def median(runs, key):
    return statistics.median(run[key] for run in runs)

summary = {}
for profile, targets in results.items():
    summary[profile] = {
        target: {
            "p50_ms": round(median(runs, "p50_ms"), 3),
            "p99_ms": round(median(runs, "p99_ms"), 3),
            "requests_per_s": round(median(runs, "requests_per_s"), 1),
            "proxy_cpu_us_per_request": round(median(runs, "proxy_cpu_us_per_request"), 2),
            "backend_cpu_us_per_request": round(median(runs, "backend_cpu_us_per_request"), 2),
            "non_2xx": sum(run["non_2xx"] for run in runs),
            "socket_errors": [run["socket_errors"] for run in runs if run["socket_errors"]],
        }
        for target, runs in targets.items()
    }

def added(profile, key, target):
    return round(summary[profile][target][key] - summary[profile]["direct"][key], 3)

derived = {
    "added_latency_ms": {
        target: {"p50": added("latency", "p50_ms", target), "p99": added("latency", "p99_ms", target)}
        for target in ("slipway", "nginx")
    },
    "added_latency_under_load_ms": {
        target: {"p50": added("throughput", "p50_ms", target), "p99": added("throughput", "p99_ms", target)}
        for target in ("slipway", "nginx")
    },
    "throughput_ratio_slipway_vs_nginx": round(
        summary["throughput"]["slipway"]["requests_per_s"] / summary["throughput"]["nginx"]["requests_per_s"], 3),
    "proxy_cpu_ratio_slipway_vs_nginx": round(
        summary["throughput"]["slipway"]["proxy_cpu_us_per_request"] / summary["throughput"]["nginx"]["proxy_cpu_us_per_request"], 3),
    "throughput_ratio_slipway_vs_direct": round(
        summary["throughput"]["slipway"]["requests_per_s"] / summary["throughput"]["direct"]["requests_per_s"], 3),
}
wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
document = {
    "benchmark": "rollout proxy overhead",
    "date": datetime.date.today().isoformat(),
    "cores": os.cpu_count(),
    "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    "duration_s": duration,
    "rounds": rounds,
    "profiles": {"latency": "wrk -t1 -c1 --latency", "throughput": "wrk -t2 -c64 --latency"},
    "backend": "examples/hello-service (release), GET /api/hello",
    "tools": {"wrk": wrk_version, "nginx": nginx_version},
    "results": summary,
    "derived": derived,
}
with open(out_path, "w") as out:
    json.dump(document, out, indent=2)
    out.write("\n")

print(f"{'profile':<11} {'target':<8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>10} {'proxy CPU us/req':>17} {'non-2xx':>8}")
for profile in ("latency", "throughput"):
    for target in ("direct", "slipway", "nginx"):
        row = summary[profile][target]
        print(f"{profile:<11} {target:<8} {row['p50_ms']:>8.3f} {row['p99_ms']:>8.3f} {row['requests_per_s']:>10.1f} {row['proxy_cpu_us_per_request']:>17.2f} {row['non_2xx']:>8}")
print()
print(json.dumps(derived, indent=2))
PY
