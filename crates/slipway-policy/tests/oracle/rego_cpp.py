"""Evaluates policy packages with rego-cpp (regopy) for the oracle test of slipway-policy.

Reads {"modules": [[path, text]], "data": {...}, "packages": {rule_id: package_ref},
"inputs": [document, ...]} on standard input; writes, for each input, {rule_id: {"deny": n,
"warn": n}} (how many reasons each rule gives) as one JSON list on standard output.

Counts, not messages: rego-cpp 1.5.2 renders a string that a built-in computed (`concat`,
`sprintf`, `upper`) with quotes when it is formatted again by `sprintf("%s")`, and then writes
invalid JSON. The messages themselves are pinned by the pack's own tests.
"""

import json
import sys

import regopy


def counts_query(packages):
    """One query for every rule: a rule without `deny` or `warn` gives an empty list there."""
    fields = []
    for rule, package in sorted(packages.items()):
        fields.append(
            '%s: [[n | n := count(%s.deny)], [n | n := count(%s.warn)]]'
            % (json.dumps(rule), package, package)
        )
    return "x := {" + ", ".join(fields) + "}"


def main():
    request = json.load(sys.stdin)
    interpreter = regopy.Interpreter()
    for path, text in request["modules"]:
        interpreter.add_module(path, text)
    interpreter.add_data_json(json.dumps(request["data"]))
    query = counts_query(request["packages"])
    results = []
    for document in request["inputs"]:
        interpreter.set_input_term(json.dumps(document))
        output = interpreter.query(query)
        if not output.ok() or str(output) == "undefined":
            raise SystemExit("rego-cpp failed: %s" % output)
        counts = json.loads(str(output.binding("x")))
        results.append({
            rule: {"deny": sum(deny), "warn": sum(warn)}
            for rule, (deny, warn) in counts.items()
        })
    json.dump(results, sys.stdout)


main()
