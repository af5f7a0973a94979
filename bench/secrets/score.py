#!/usr/bin/env python3
"""Scores secret scanners' JSON reports against the labelled corpus, and counts findings.

  score.py corpus --labels LABELS --tree TREE --result NAME:FORMAT:REPORT... [--json OUT]
  score.py count FORMAT REPORT [--tree TREE]

FORMAT is `slipway` (`slipway scan secrets --format json`), `gitleaks` (`-f json`) or
`detect-secrets` (`scan` output). The rule is the one of
crates/slipway-secretscan/tests/precision_recall.rs: a finding on a secret's line, or anywhere
in a multi-line secret's span, finds that secret (once, however many findings it draws); a
finding on any other line is a false positive. Only file:line and rule ids are printed, never a
matched value.
"""

import argparse
import collections
import json
import os
import sys


def normalise(path, tree):
    """The report's path relative to the scanned tree, with `/` separators."""
    path = os.path.normpath(path)
    for base in {os.path.normpath(tree), os.path.abspath(tree)}:
        if path.startswith(base + os.sep):
            path = path[len(base) + 1 :]
            break
    return path.replace(os.sep, "/")


def findings(fmt, report_path, tree):
    """(file, line, rule) of every finding in a report."""
    with open(report_path, encoding="utf-8") as f:
        report = json.load(f)
    out = []
    if fmt == "slipway":
        for item in report.get("findings", []):
            out.append((normalise(item["file"], tree), int(item["line"]), item["rule"]))
    elif fmt == "gitleaks":
        for item in report or []:
            out.append((normalise(item["File"], tree), int(item["StartLine"]), item["RuleID"]))
    elif fmt == "detect-secrets":
        for file, items in report.get("results", {}).items():
            for item in items:
                out.append((normalise(file, tree), int(item["line_number"]), item["type"]))
    else:
        raise SystemExit(f"score.py: unknown format {fmt!r} (slipway, gitleaks, detect-secrets)")
    return out


def score(labels, found):
    secrets_by_file = collections.defaultdict(list)
    near_misses = {}
    for index, label in enumerate(labels):
        if label["label"] == "secret":
            first, last = label.get("span", [label["line"], label["line"]])
            secrets_by_file[label["file"]].append((index, first, last))
        else:
            near_misses[(label["file"], label["line"])] = label
    hits, false_positives = set(), []
    for file, line, rule in found:
        hit = next((i for i, first, last in secrets_by_file.get(file, []) if first <= line <= last), None)
        if hit is None:
            near = near_misses.get((file, line))
            false_positives.append(
                {"file": file, "line": line, "rule": rule, "near_miss": near["provider"] if near else None}
            )
        else:
            hits.add(hit)
    secrets = sum(1 for label in labels if label["label"] == "secret")
    tp, fp = len(hits), len(false_positives)
    return {
        "findings": len(found),
        "secrets": secrets,
        "found": tp,
        "false_positives": fp,
        "recall": tp / secrets if secrets else 1.0,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "hits": hits,
        "false_positive_list": false_positives,
    }


def corpus_command(args):
    with open(args.labels, encoding="utf-8") as f:
        labels = json.load(f)
    tools = []
    for spec in args.result:
        name, fmt, path = spec.split(":", 2)
        tools.append((name, score(labels, findings(fmt, path, args.tree))))

    print("| tool | findings | secrets found | recall | false positives | precision |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, s in tools:
        print(
            f"| {name} | {s['findings']} | {s['found']}/{s['secrets']} | {s['recall']:.3f} | "
            f"{s['false_positives']} | {s['precision']:.3f} |"
        )

    providers = collections.defaultdict(list)
    for index, label in enumerate(labels):
        if label["label"] == "secret":
            providers[label["provider"]].append(index)
    print("\n| provider | secrets | " + " | ".join(name for name, _ in tools) + " |")
    print("|---|---:|" + "---:|" * len(tools))
    for provider in sorted(providers):
        indices = providers[provider]
        cells = [str(sum(1 for i in indices if i in s["hits"])) for _, s in tools]
        print(f"| {provider} | {len(indices)} | " + " | ".join(cells) + " |")

    categories = collections.Counter(l["provider"] for l in labels if l["label"] != "secret")
    print("\n| false positives on | near-misses | " + " | ".join(name for name, _ in tools) + " |")
    print("|---|---:|" + "---:|" * len(tools))
    for category in sorted(categories) + [None]:
        cells = [str(sum(1 for fp in s["false_positive_list"] if fp["near_miss"] == category)) for _, s in tools]
        label = category or "(unlabelled lines)"
        total = categories[category] if category else "-"
        print(f"| {label} | {total} | " + " | ".join(cells) + " |")

    for name, s in tools:
        misses = [labels[i] for i in sorted(providers_flat(providers)) if i not in s["hits"]]
        print(f"\n{name}: {len(misses)} misses, {s['false_positives']} false positives", file=sys.stderr)
        for label in misses:
            print(f"  miss {label['file']}:{label['line']}  {label['provider']} in {label['kind']}", file=sys.stderr)
        for fp in s["false_positive_list"]:
            print(
                f"  false positive {fp['file']}:{fp['line']}  rule {fp['rule']}  ({fp['near_miss'] or 'unlabelled line'})",
                file=sys.stderr,
            )

    if args.json:
        out = {}
        for name, s in tools:
            per_provider = {p: sum(1 for i in idx if i in s["hits"]) for p, idx in providers.items()}
            misses = [
                {"file": labels[i]["file"], "line": labels[i]["line"], "provider": labels[i]["provider"],
                 "kind": labels[i]["kind"]}
                for i in sorted(providers_flat(providers)) if i not in s["hits"]
            ]
            out[name] = {
                k: v for k, v in s.items() if k not in ("hits", "false_positive_list")
            } | {"found_per_provider": per_provider, "misses": misses,
                 "false_positive_list": s["false_positive_list"]}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2, sort_keys=True)


def providers_flat(providers):
    return [i for indices in providers.values() for i in indices]


def count_command(args):
    print(len(findings(args.format, args.report, args.tree or ".")))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    corpus = sub.add_parser("corpus", help="recall and precision on the labelled corpus")
    corpus.add_argument("--labels", required=True)
    corpus.add_argument("--tree", required=True)
    corpus.add_argument("--result", action="append", required=True, metavar="NAME:FORMAT:REPORT")
    corpus.add_argument("--json")
    corpus.set_defaults(run=corpus_command)
    count = sub.add_parser("count", help="number of findings in a report")
    count.add_argument("format")
    count.add_argument("report")
    count.add_argument("--tree")
    count.set_defaults(run=count_command)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
