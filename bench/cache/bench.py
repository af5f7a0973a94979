#!/usr/bin/env python3
"""Times commands in interleaved rounds and reports medians: bench/cache's timing driver.

    bench.py SPEC.json OUT.json

SPEC: {"bytes": N, "rounds": R, "groups": [{"name": "save", "baseline": "tar | zstd -T1",
       "prepare": "shell", "commands": {"label": "shell", ...}}]}

Each round runs every command of a group once, in a rotating order, after the group's `prepare`
(`sync`, so one run's writeback is not charged to the next). `{n}` in a prepare or command is
replaced by a number unique to the run: restores go to fresh directories instead of deleting the
previous ones, because on ext4 creating files right after deleting thousands costs several
times more (the inode allocator skips recently deleted inodes one by one), which would drown
the difference between the tools. Wall time is measured around the shell; CPU time is the
children's user+system time from getrusage.
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
    runs = 0
    results = {"bytes": spec["bytes"], "rounds": spec["rounds"], "loadavg_before": os.getloadavg(), "groups": []}
    for group in spec["groups"]:
        labels = list(group["commands"])
        times = {label: [] for label in labels}
        for r in range(spec["rounds"]):
            order = labels[r % len(labels):] + labels[: r % len(labels)]
            for label in order:
                runs += 1
                subprocess.run(["bash", "-c", group["prepare"].replace("{n}", str(runs))], check=True)
                wall, cpu = run(group["commands"][label].replace("{n}", str(runs)))
                times[label].append((wall, cpu))
                print(f"  {group['name']:8} round {r + 1}: {label:28} {wall:6.2f} s wall {cpu:6.2f} s cpu", file=sys.stderr)
        base = statistics.median(w for w, _ in times[group["baseline"]])
        rows = []
        for label in labels:
            walls = [w for w, _ in times[label]]
            med = statistics.median(walls)
            rows.append({
                "command": label,
                "median_s": round(med, 3),
                "min_s": round(min(walls), 3),
                "max_s": round(max(walls), 3),
                "cpu_median_s": round(statistics.median(c for _, c in times[label]), 3),
                "mb_per_s": round(mb / med, 1),
                "speedup_vs_baseline": round(base / med, 2),
            })
        results["groups"].append({"name": group["name"], "baseline": group["baseline"], "rows": rows})
    results["loadavg_after"] = os.getloadavg()
    json.dump(results, open(sys.argv[2], "w"), indent=2)
    for g in results["groups"]:
        print(f"\n{g['name']} ({mb:.0f} MB of content, median of {spec['rounds']} interleaved runs; speed-up vs {g['baseline']})")
        print(f"  {'command':30} {'median s':>9} {'min s':>7} {'cpu s':>7} {'MB/s':>7} {'speed-up':>9}")
        for row in g["rows"]:
            print(f"  {row['command']:30} {row['median_s']:9.2f} {row['min_s']:7.2f} {row['cpu_median_s']:7.2f} {row['mb_per_s']:7.1f} {row['speedup_vs_baseline']:8.2f}x")
    print(f"\nload average before {results['loadavg_before'][0]:.2f}, after {results['loadavg_after'][0]:.2f} (2 cores, shared)")


if __name__ == "__main__":
    main()
