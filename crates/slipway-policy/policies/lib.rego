# Functions and rules shared by the built-in rules: the artifact's digest, the security-gate
# reports of this digest and why a gate of theirs did not pass, and durations as people read
# them.
package slipway.builtin.lib

import rego.v1

digest := input.artifact.digest

# The security-gates reports attached to this exact digest, and the digests other reports name.
gate_reports := [scan | some scan in input.scans; scan.kind == "security-gates"]

own_reports := [scan | some scan in gate_reports; scan.subject == digest]

foreign_subjects := sort({scan.subject | some scan in gate_reports; scan.subject != digest})

# Evidence of one of `kinds` is attached, but no trusted key signed it: its statement was never
# read, so it counts as absent — and the reason says it is there.
attached_untrusted(kinds) if {
	some signature in input.signatures
	signature.kind in kinds
	signature.trusted != true
}

gate_passed(gate) if {
	some scan in own_reports
	scan.gates[gate] in {"pass", "warn"}
}

# Why the `gate` gate of this digest is not passed, one reason per report (empty when passed).
scan_reasons(gate, label) := {sprintf("no security-gates report is attached to %s, so its %s was never recorded", [digest, label])} if {
	count(own_reports) == 0
	count(foreign_subjects) == 0
	not attached_untrusted({"security-gates"})
}

scan_reasons(gate, label) := {sprintf("a security-gates report is attached to %s, but no trusted key signed it, so its %s was never recorded", [digest, label])} if {
	count(own_reports) == 0
	count(foreign_subjects) == 0
	attached_untrusted({"security-gates"})
}

scan_reasons(gate, label) := {sprintf("the attached security-gates reports are for %s, not for %s: its %s was never recorded", [concat(", ", foreign_subjects), digest, label])} if {
	count(own_reports) == 0
	count(foreign_subjects) > 0
}

scan_reasons(gate, label) := {reason | some scan in own_reports; reason := gate_problem(scan, gate, label)} if {
	count(own_reports) > 0
	not gate_passed(gate)
}

scan_reasons(gate, _) := set() if gate_passed(gate)

# The report counts blocking findings over all its gates, not per gate.
gate_problem(scan, gate, label) := sprintf("the %s of %s failed (the report has %d blocking finding(s) across all its gates)", [label, digest, scan.counts.block]) if {
	scan.gates[gate] == "fail"
}

gate_problem(scan, gate, label) := sprintf("the %s of %s did not run: the `%s` gate was off", [label, digest, gate]) if {
	scan.gates[gate] == "off"
}

gate_problem(scan, gate, label) := sprintf("the security-gates report of %s has no `%s` gate, so its %s was never recorded", [digest, gate, label]) if {
	not scan.gates[gate]
}

gate_problem(scan, gate, label) := sprintf("the %s of %s has the unknown status %v", [label, digest, scan.gates[gate]]) if {
	not scan.gates[gate] in {"pass", "warn", "fail", "off"}
}

# A duration in seconds, as people read it: 90 -> "1m30s", 3600 -> "1h0m0s", 45 -> "45s".
duration(seconds) := sprintf("%dh%dm%ds", [hours, minutes, rest]) if {
	hours := floor(seconds / 3600)
	hours > 0
	minutes := floor((seconds - (hours * 3600)) / 60)
	rest := seconds - ((hours * 3600) + (minutes * 60))
}

duration(seconds) := sprintf("%dm%ds", [minutes, rest]) if {
	seconds < 3600
	minutes := floor(seconds / 60)
	minutes > 0
	rest := seconds - (minutes * 60)
}

duration(seconds) := sprintf("%ds", [seconds]) if seconds < 60
