# SLW-P011: the run's tests passed, and their results are attached.
package slipway.builtin.tests_passed

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P011",
	"name": "tests-passed",
	"title": "The run's test results are attached and none failed",
	"points": ["release", "promote"],
	"remediation": "Fix the failing tests and build again. To attach results, declare the job's JUnit reports (`reports: junit:`) in the pipeline.",
}

deny contains msg if {
	input.tests.present == true
	input.tests.failed > 0
	msg := sprintf("%d of %d tests failed in the run that built %s", [input.tests.failed, input.tests.total, lib.digest])
}

warn contains msg if {
	input.tests.present != true
	msg := sprintf("no test results are attached to %s", [lib.digest])
}
