# SLW-P010: a production release has soaked in the previous environment for the minimum time.
package slipway.builtin.production_soak

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P010",
	"name": "production-soak",
	"title": "A production release soaked in the previous environment for the minimum time",
	"points": ["promote"],
	"remediation": "Wait until the digest has run in the previous environment for the required time, then promote again; the minimum is the longer of the environment's `soak` and `params.min-soak` in .slipway/policy.yml (0 in both disables the rule).",
}

declared := input.environment.soak.required_seconds

minimum := data.slipway.params.min_soak_seconds

# The longer of the two. (Compared directly: rego-cpp 1.5.2's `max` orders numbers as text.)
required := declared if declared >= minimum

required := minimum if declared < minimum

applies if {
	input.environment.production == true
	required > 0
}

previous := input.history.previous_environment

# Seconds since the release to the previous environment, when it was released there at all.
soaked := previous.seconds_since if is_number(previous.seconds_since)

deny contains msg if {
	applies
	count(input.environment.after) > 0
	not soaked
	msg := sprintf("%s must soak for %s before %s, but it has not run in %s", [lib.digest, lib.duration(required), input.environment.name, concat(", ", input.environment.after)])
}

deny contains msg if {
	applies
	soaked < required
	msg := sprintf("%s has run in %s for %s; %s needs %s (%s to go)", [lib.digest, previous.name, lib.duration(soaked), input.environment.name, lib.duration(required), lib.duration(required - soaked)])
}

warn contains msg if {
	applies
	count(input.environment.after) == 0
	msg := sprintf("%s is a production environment without a previous environment, so %s cannot soak anywhere first", [input.environment.name, lib.digest])
}
