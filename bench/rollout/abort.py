#!/usr/bin/env python3
"""Abort time: how long from the analysis verdict to 0% canary traffic, and how many requests
the switch itself drops.

Builds the example twice (a healthy and a failing version, 30% of /api/* answering 500), runs
`slipway up bench`, keeps a steady load on the environment's proxy, and promotes the failing
digest N times (`--force-known-bad` after the first abort). Each abort's event records when the
failing verdict was decided and when the proxy's canary weight reached 0; the load generator
records every response. A request the switch drops is one the proxy answered itself (502, 503,
504) or one that failed at the socket; the failing release's own 500s are expected.

    python3 bench/rollout/abort.py [--aborts 20] [--rate 200] [--slipway PATH]
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ENVIRONMENT = """
environments:
  bench:
    readiness: { path: /readyz, interval: 100ms }
    strategy:
      canary:
        steps:
          - weight: 50
          - analysis: { use: error-rate }
          - weight: 100

analysis:
  error-rate:
    provider: proxy
    metric: error_rate
    success: "value < 0.02"
    interval: 1s
    count: 3
    min-samples: 20
"""


def run(cmd, cwd, check=True):
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=ENV)
    if check and out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}\n{out.stdout[-2000:]}")
    return out


def build(repo, slipway, artifact_env):
    text = (ROOT / "examples/hello-service/slipway.yml").read_text().split("\n# Build once")[0]
    text = text.replace('    paths: ["src/**", "Cargo.toml", "Cargo.lock"]\n', "")
    text = text.replace(
        '      entrypoint: ["hello-service"]',
        f'      entrypoint: ["hello-service"]\n      env: {{ {artifact_env} }}',
    )
    (repo / "slipway.yml").write_text(text + ENVIRONMENT)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "--allow-empty", "-m", artifact_env], repo)
    out = run([slipway, "run", "--event", "manual", "--job", "build", "--json"], repo)
    for line in out.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "run_artifact":
            return event["digest"]
    sys.exit("the build made no artifact")


def status(repo, slipway):
    return json.loads(run([slipway, "rollout", "status", "bench", "--json"], repo).stdout)


def wait(repo, slipway, done, what, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        current = status(repo, slipway)
        if done(current):
            return current
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}: {json.dumps(current, indent=1)[:2000]}")


class Load:
    def __init__(self, host, port, rate, workers=4):
        self.samples = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        interval = workers / rate
        self.threads = [
            threading.Thread(target=self.worker, args=(host, port, interval), daemon=True)
            for _ in range(workers)
        ]
        for thread in self.threads:
            thread.start()

    def worker(self, host, port, interval):
        next_at = time.time()
        while not self.stop.is_set():
            at = time.time()
            try:
                conn = http.client.HTTPConnection(host, port, timeout=10)
                conn.request("GET", "/api/hello")
                response = conn.getresponse()
                response.read()
                sample = (at, response.status, response.getheader("x-slipway-version", ""))
                conn.close()
            except OSError as error:
                sample = (at, 0, type(error).__name__)
            with self.lock:
                self.samples.append(sample)
            next_at += interval
            time.sleep(max(0.0, next_at - time.time()))

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join()
        return self.samples


def percentile(values, q):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--aborts", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--slipway")
    args = parser.parse_args()
    slipway = args.slipway and str(Path(args.slipway).resolve())
    if not slipway:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "slipway-cli"], cwd=ROOT, check=True)
        slipway = str(ROOT / "target/release/slipway")

    work = Path(tempfile.mkdtemp(prefix="slipway-abort-bench."))
    repo = work / "repo"
    shutil.copytree(ROOT / "examples/hello-service", repo, ignore=shutil.ignore_patterns("target"))
    shutil.rmtree(repo / ".slipway", ignore_errors=True)
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["git", "config", "user.email", "bench@slipway.invalid"], repo)
    run(["git", "config", "user.name", "bench"], repo)
    healthy = build(repo, slipway, 'HELLO_VERSION: "healthy"')
    failing = build(repo, slipway, 'HELLO_VERSION: "failing", HELLO_ERROR_RATE: "0.3"')

    up = subprocess.Popen([slipway, "up", "bench", "--json"], cwd=repo, stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        address = json.loads(up.stdout.readline())["address"].removeprefix("http://")
        host, port = address.rsplit(":", 1)
        run([slipway, "promote", healthy, "--to", "bench"], repo)
        wait(repo, slipway, lambda s: s["phase"] == "succeeded" and s["stable"] == healthy, "the healthy release")
        load = Load(host, int(port), args.rate)
        time.sleep(1)
        aborts = []
        for attempt in range(args.aborts):
            extra = ["--force-known-bad"] if attempt else []
            run([slipway, "promote", failing, "--to", "bench", *extra], repo)
            aborted = wait(repo, slipway, lambda s: s["phase"] == "aborted" and s["release"] not in [a["release"] for a in aborts], "an abort")
            event = next(e for e in aborted["events"] if e["kind"] == "aborted")
            aborts.append({
                "release": aborted["release"],
                "abort_ms": event["detail"]["abort_ms"],
                "weight_zero_at_ms": event["detail"]["weight_zero_at_ms"],
            })
            time.sleep(0.5)
        samples = load.finish()
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)

    abort_ms = [a["abort_ms"] for a in aborts if a["abort_ms"] is not None]
    dropped = [s for s in samples if s[1] not in (200, 500)]
    canary_after_zero = sum(
        1
        for a in aborts
        for s in samples
        if s[2] == a["release"] and s[0] * 1000 > a["weight_zero_at_ms"] + 5
    )
    result = {
        "benchmark": "rollout abort time",
        "date": time.strftime("%Y-%m-%d"),
        "cores": os.cpu_count(),
        "load_average_at_end": list(os.getloadavg()),
        "aborts": len(aborts),
        "rate_rps": args.rate,
        "abort_ms_p50": percentile(abort_ms, 0.5),
        "abort_ms_p99": percentile(abort_ms, 0.99),
        "abort_ms_max": max(abort_ms),
        "abort_ms_mean": round(statistics.mean(abort_ms), 2),
        "requests": len(samples),
        "requests_dropped_by_switch": len(dropped),
        "canary_requests_started_after_weight_zero": canary_after_zero,
        "release_500s": sum(1 for s in samples if s[1] == 500),
        "goal": "p99 under 100 ms, zero requests dropped by the switch",
    }
    print(json.dumps(result, indent=2))
    (Path(__file__).parent / "abort-results.json").write_text(json.dumps(result, indent=2) + "\n")


ENV = {k: v for k, v in os.environ.items() if k not in ("SLIPWAY_STATE_DIR", "CARGO_TARGET_DIR")}

if __name__ == "__main__":
    main()
