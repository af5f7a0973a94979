#!/usr/bin/env python3
"""Times commands in interleaved rounds after a warm-up round and reports medians: bench/package's
timing driver (adapted from bench/cache/bench.py).

    bench.py SPEC.json OUT.json

SPEC: {"bytes": N, "rounds": R,
       "groups": [{"name": "gzip", "baseline": "tar | gzip -6", "prepare": "shell",
                   "commands": {"label": {"run": "shell", "size": N}, ...}}]}

Every group first runs each of its commands once untimed (the warm-up round: it reads the data
set into the page cache and lets the store directories and output files exist once, so the first
timed command is not charged for cold reads). Then each round runs every command once, in a
rotating order, after the group's `prepare` (which includes `sync`, so one run's writeback is not
charged to the next). Wall time is measured around the shell; CPU time is the children's
user+system time from getrusage. `size` is the compressed output size, measured by run.sh.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def run(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"bench.py: command failed ({proc.returncode}): {cmd}\n{proc.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    spec = json.load(open(sys.argv[1]))
    mb = spec["bytes"] / 1e6
    results = {"bytes": spec["bytes"], "rounds": spec["rounds"], "loadavg_before": os.getloadavg(), "groups": []}
    for group in spec["groups"]:
        labels = list(group["commands"])
        for label in labels:
            subprocess.run(["bash", "-c", group["prepare"]], check=True)
            wall, _ = run(group["commands"][label]["run"])
            print(f"  {group['name']:5} warm-up: {label:26} {wall:6.2f} s wall (not counted)", file=sys.stderr)
        times = {label: [] for label in labels}
        for r in range(spec["rounds"]):
            order = labels[r % len(labels):] + labels[: r % len(labels)]
            for label in order:
                subprocess.run(["bash", "-c", group["prepare"]], check=True)
                wall, cpu = run(group["commands"][label]["run"])
                times[label].append((wall, cpu))
                print(f"  {group['name']:5} round {r + 1}: {label:26} {wall:6.2f} s wall {cpu:6.2f} s cpu", file=sys.stderr)
        base = statistics.median(w for w, _ in times[group["baseline"]])
        rows = []
        for label in labels:
            walls = [w for w, _ in times[label]]
            med = statistics.median(walls)
            size = group["commands"][label]["size"]
            rows.append({
                "command": label,
                "median_s": round(med, 3),
                "min_s": round(min(walls), 3),
                "max_s": round(max(walls), 3),
                "cpu_median_s": round(statistics.median(c for _, c in times[label]), 3),
                "mb_per_s": round(mb / med, 1),
                "vs_baseline": round(base / med, 2),
                "compressed_bytes": size,
                "compression_ratio": round(spec["bytes"] / size, 2),
            })
        results["groups"].append({"name": group["name"], "baseline": group["baseline"], "rows": rows})
    results["loadavg_after"] = os.getloadavg()
    json.dump(results, open(sys.argv[2], "w"), indent=2)
    for g in results["groups"]:
        print(f"\n{g['name']} ({mb:.0f} MB of content, median of {spec['rounds']} interleaved rounds after a warm-up; "
              f"speed relative to {g['baseline']})")
        print(f"  {'command':28} {'median s':>9} {'min s':>7} {'cpu s':>7} {'MB/s':>7} {'vs peer':>8} {'compressed':>13} {'ratio':>6}")
        for row in g["rows"]:
            print(f"  {row['command']:28} {row['median_s']:9.2f} {row['min_s']:7.2f} {row['cpu_median_s']:7.2f} "
                  f"{row['mb_per_s']:7.1f} {row['vs_baseline']:7.2f}x {row['compressed_bytes']:13,} {row['compression_ratio']:5.2f}x")
    print(f"\nload average before {results['loadavg_before'][0]:.2f}, after {results['loadavg_after'][0]:.2f} "
          f"({os.cpu_count()} cores, shared)")


if __name__ == "__main__":
    main()
