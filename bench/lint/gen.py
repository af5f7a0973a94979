#!/usr/bin/env python3
"""Generate the lint-benchmark fixtures (python3 stdlib only).

    gen.py OUTDIR [--jobs N] [--seed S]

writes
    OUTDIR/slipway.yml                  a Slipway pipeline (PIPELINE-SPEC, version 1) with N jobs
    OUTDIR/.github/workflows/ci.yml     the equivalent GitHub Actions workflow

Jobs are named job-001 ... and spread in order over the stages validate, build, test, integration
and scan. Each job's features (needs, timeout, env, if, matrix, cache, retry, steps) come from a
pseudo-random generator seeded with (seed, job index), so the output is byte-for-byte stable and
job k looks the same in every file whose stage split puts it in the same stage.

The workflow is written to be clean for zizmor (regular persona) and actionlint: actions pinned by
40-hex SHA with a version comment, `persist-credentials: false`, top-level
`permissions: contents: read`, and no `${{ }}` inside `run:` (matrix values go through `env:`).
So the benchmark times linting, not reporting.
"""

import argparse
import json
import os
import random
import sys

STAGES = [  # (stage, share of the jobs)
    ("validate", 0.10),
    ("build", 0.20),
    ("test", 0.40),
    ("integration", 0.20),
    ("scan", 0.10),
]

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2"
CACHE = "actions/cache@5a3ec84eff668545956fd18022155c47e93e2684 # v4.2.3"

TIMEOUTS = {
    "validate": ["5m", "10m", "15m"],
    "build": ["15m", "20m", "30m"],
    "test": ["15m", "20m", "30m", "45m"],
    "integration": ["30m", "45m", "1h", "1h30m"],
    "scan": ["10m", "15m", "30m"],
}
CRATES = ["core", "api", "store", "runner", "sched", "web", "cli", "proto", "cache", "deploy"]


def q(s):
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(s)


def minutes(d):
    """'1h30m' / '45m' / '90s' -> whole minutes (at least 1)."""
    total, num = 0, ""
    for ch in d:
        if ch.isdigit():
            num += ch
            continue
        total += int(num) * {"h": 3600, "m": 60, "s": 1}[ch]
        num = ""
    return max(1, (total + 59) // 60)


def stage_of(i, n):
    """Stage of job i (1-based) among n, by cumulative share."""
    acc = 0.0
    for name, share in STAGES:
        acc += share
        if i <= round(acc * n):
            return name
    return STAGES[-1][0]


JOB_ID_WIDTH = 3


def job_id(i):
    return "job-%0*d" % (JOB_ID_WIDTH, i)


def steps_for(stage, i, rng, matrix):
    """2-4 steps: list of (name, run-text). Multi-line runs contain '\n'."""
    crate = CRATES[i % len(CRATES)]
    tool = '+"$RUST" ' if matrix else ""
    prof = ' --profile "$PROFILE"' if matrix else ""
    pool = {
        "validate": [
            ("fmt", "cargo fmt --all --check"),
            ("clippy", "cargo clippy --locked -p slipway-%s -- -D warnings" % crate),
            ("deny", "cargo deny check licenses bans"),
            ("spelling", "typos --format brief crates/%s" % crate),
        ],
        "build": [
            ("build", "cargo %sbuild --locked -p slipway-%s%s" % (tool, crate, prof)),
            ("docs", "cargo doc --no-deps -p slipway-%s" % crate),
            ("size", "set -euo pipefail\nls -l target/*/slipway-%s* || true\ndu -sh target" % crate),
            ("check", "cargo %scheck --locked --all-targets -p slipway-%s" % (tool, crate)),
        ],
        "test": [
            ("unit", "cargo %stest --locked -p slipway-%s%s --lib" % (tool, crate, prof)),
            ("doctest", "cargo test --locked -p slipway-%s --doc" % crate),
            ("nextest", "set -euo pipefail\ncargo nextest run --locked -p slipway-%s \\\n  --partition count:%d/4\n"
             "echo \"shard %d done\"" % (crate, i % 4 + 1, i % 4 + 1)),
            ("props", "PROPTEST_CASES=64 cargo %stest --locked -p slipway-%s%s props" % (tool, crate, prof)),
        ],
        "integration": [
            ("up", "set -euo pipefail\n./scripts/services.sh up %s\n./scripts/wait-ready.sh --timeout 60" % crate),
            ("it", "cargo %stest --locked -p slipway-%s%s --test integration" % (tool, crate, prof)),
            ("e2e", "set -euo pipefail\nfor t in tests/e2e/%s/*.sh; do\n  bash \"$t\"\ndone" % crate),
            ("down", "./scripts/services.sh down %s" % crate),
        ],
        "scan": [
            ("audit", "cargo audit --deny warnings"),
            ("sbom", "cargo cyclonedx --format json --target all -p slipway-%s" % crate),
            ("secrets", "set -euo pipefail\ngitleaks dir . --no-banner --redact\necho \"no leaks in job %d\"" % i),
            ("licenses", "cargo about generate about.hbs > licenses-%s.html" % crate),
        ],
    }[stage]
    k = rng.randint(2, 4)
    return rng.sample(pool, k)


def make_job(i, n, rng_seed):
    rng = random.Random("%s-%d" % (rng_seed, i))
    stage = stage_of(i, n)
    j = {"id": job_id(i), "stage": stage}
    if i > 1:
        # 1-3 earlier jobs, mostly recent ones (a realistic, layered DAG)
        window = list(range(max(1, i - 40), i))
        k = min(rng.randint(1, 3), len(window))
        j["needs"] = [job_id(x) for x in sorted(rng.sample(window, k))]
    else:
        j["needs"] = []
    j["timeout"] = rng.choice(TIMEOUTS[stage])
    j["env"] = {"JOB_INDEX": str(i), "CRATE": "slipway-%s" % CRATES[i % len(CRATES)]}
    if rng.random() < 0.3:
        j["env"]["RUSTFLAGS"] = "-D warnings"
    j["if_main"] = rng.random() < (0.5 if stage in ("integration", "scan") else 0.1)
    j["matrix"] = stage in ("build", "test", "integration") and rng.random() < 0.3
    j["cache"] = stage in ("build", "test", "integration") and rng.random() < 0.5
    j["retry"] = stage in ("test", "integration") and rng.random() < 0.4
    j["steps"] = steps_for(stage, i, rng, j["matrix"])
    return j


def cache_key(j):
    if j["matrix"]:
        return "cargo-${{ matrix.rust }}-${{ matrix.profile }}-${{ hashFiles('Cargo.lock') }}", \
               "cargo-${{ matrix.rust }}-${{ matrix.profile }}-"
    return "cargo-%s-${{ hashFiles('Cargo.lock') }}" % j["stage"], "cargo-%s-" % j["stage"]


def emit_run(out, indent, text):
    pad = " " * indent
    if "\n" in text:
        out.append("%srun: |" % pad)
        for line in text.split("\n"):
            out.append("%s  %s" % (pad, line))
    else:
        out.append("%srun: %s" % (pad, q(text) if needs_quote(text) else text))


def needs_quote(s):
    return (any(c in s for c in ":#{}[]&*!|>'\"%@`,") or s.strip() != s or s == "")


def slipway_yaml(jobs, n):
    o = [
        "# Generated by bench/lint/gen.py (--jobs %d). Do not edit." % n,
        "version: 1",
        "name: bench-lint-%d" % n,
        "",
        "on:",
        "  push:",
        "    branches: [main]",
        "    paths-ignore: [\"docs/**\", \"**/*.md\"]",
        "  pull_request:",
        "    branches: [main]",
        "",
        "defaults:",
        "  timeout: 30m",
        "",
        "env:",
        "  RUST_BACKTRACE: \"1\"",
        "  CARGO_TERM_COLOR: always",
        "  CARGO_INCREMENTAL: \"0\"",
        "",
        "jobs:",
    ]
    for j in jobs:
        o.append("  %s:" % j["id"])
        o.append("    stage: %s" % j["stage"])
        if j["needs"]:
            o.append("    needs: [%s]" % ", ".join(j["needs"]))
        o.append("    timeout: %s" % j["timeout"])
        if j["if_main"]:
            o.append("    if: \"${{ event.branch == 'main' && success() }}\"")
        o.append("    env:")
        for k, v in j["env"].items():
            o.append("      %s: %s" % (k, q(v)))
        if j["matrix"]:
            o.append("    matrix:")
            o.append("      rust: [stable, beta]")
            o.append("      profile: [dev, release]")
        if j["cache"]:
            key, restore = cache_key(j)
            o.append("    cache:")
            o.append("      key: %s" % q(key))
            o.append("      restore-keys: [%s]" % q(restore))
            o.append("      paths: [target, ~/.cargo/registry]")
        if j["retry"]:
            o.append("    retry: { max: 2, on: [infra, timeout] }")
        o.append("    steps:")
        for name, run in j["steps"]:
            o.append("      - name: %s" % name)
            if j["matrix"] and "$RUST" in run:
                o.append("        env: { RUST: \"${{ matrix.rust }}\", PROFILE: \"${{ matrix.profile }}\" }")
            emit_run(o, 8, run)
        o.append("")
    return "\n".join(o)


def gha_yaml(jobs, n):
    o = [
        "# Generated by bench/lint/gen.py (--jobs %d). Do not edit." % n,
        "name: bench-lint-%d" % n,
        "",
        "on:",
        "  push:",
        "    branches: [main]",
        "    paths-ignore: [\"docs/**\", \"**/*.md\"]",
        "  pull_request:",
        "    branches: [main]",
        "",
        "permissions:",
        "  contents: read",
        "",
        "env:",
        "  RUST_BACKTRACE: \"1\"",
        "  CARGO_TERM_COLOR: always",
        "  CARGO_INCREMENTAL: \"0\"",
        "",
        "jobs:",
    ]
    for j in jobs:
        o.append("  %s:" % j["id"])
        o.append("    name: %s (%s)" % (j["id"], j["stage"]))
        o.append("    runs-on: ubuntu-latest")
        if j["needs"]:
            o.append("    needs: [%s]" % ", ".join(j["needs"]))
        o.append("    timeout-minutes: %d" % minutes(j["timeout"]))
        if j["if_main"]:
            o.append("    if: github.ref == 'refs/heads/main' && success()")
        o.append("    env:")
        for k, v in j["env"].items():
            o.append("      %s: %s" % (k, q(v)))
        if j["matrix"]:
            o.append("    strategy:")
            o.append("      matrix:")
            o.append("        rust: [stable, beta]")
            o.append("        profile: [dev, release]")
        o.append("    steps:")
        o.append("      - name: Checkout")
        o.append("        uses: %s" % CHECKOUT)
        o.append("        with:")
        o.append("          persist-credentials: false")
        if j["cache"]:
            key, restore = cache_key(j)
            o.append("      - name: Cache")
            o.append("        uses: %s" % CACHE)
            o.append("        with:")
            o.append("          key: %s" % q(key))
            o.append("          restore-keys: %s" % q(restore))
            o.append("          path: |")
            o.append("            target")
            o.append("            ~/.cargo/registry")
        for name, run in j["steps"]:
            o.append("      - name: %s" % name)
            if j["matrix"] and "$RUST" in run:
                o.append("        env:")
                o.append("          RUST: ${{ matrix.rust }}")
                o.append("          PROFILE: ${{ matrix.profile }}")
            emit_run(o, 8, run)
        if j.get("canary"):
            o.append("      - name: canary")
            o.append("        run: echo \"${{ github.event.pull_request.title }}\"")
        o.append("")
    return "\n".join(o)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--jobs", type=int, default=500, help="number of jobs (default 500)")
    ap.add_argument("--seed", default="slipway-bench-lint", help="generator seed (default fixed)")
    ap.add_argument("--canary", action="store_true",
                    help="plant known errors in the LAST job (a `needs` on a job that does not exist; in the "
                         "workflow also an untrusted `${{ github.event.pull_request.title }}` in `run:`), so a "
                         "linter that reports them is known to have read the whole file")
    a = ap.parse_args(argv)
    if a.jobs < 1:
        ap.error("--jobs must be at least 1")
    global JOB_ID_WIDTH
    JOB_ID_WIDTH = max(3, len(str(a.jobs)))
    jobs = [make_job(i, a.jobs, a.seed) for i in range(1, a.jobs + 1)]
    if a.canary:
        jobs[-1]["needs"] = jobs[-1]["needs"] + ["no-such-job"]
        jobs[-1]["canary"] = True
    wf_dir = os.path.join(a.outdir, ".github", "workflows")
    os.makedirs(wf_dir, exist_ok=True)
    with open(os.path.join(a.outdir, "slipway.yml"), "w", encoding="utf-8") as f:
        f.write(slipway_yaml(jobs, a.jobs))
    with open(os.path.join(wf_dir, "ci.yml"), "w", encoding="utf-8") as f:
        f.write(gha_yaml(jobs, a.jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
