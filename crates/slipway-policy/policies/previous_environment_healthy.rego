# SLW-P009: an environment that comes after another receives only what was released to that one
# and is healthy there.
package slipway.builtin.previous_environment_healthy

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P009",
	"name": "previous-environment-healthy",
	"title": "The digest was released to the previous environment and is healthy there",
	"points": ["promote"],
	"remediation": "Promote the digest to the previous environment first and wait until it is healthy there.",
}

expects_previous if count(input.environment.after) > 0

previous := input.history.previous_environment if is_object(input.history.previous_environment)

deny contains msg if {
	expects_previous
	not previous
	msg := sprintf("%s comes after %s, but %s was never released there", [input.environment.name, concat(", ", input.environment.after), lib.digest])
}

deny contains msg if {
	expects_previous
	previous.released_at == null
	msg := sprintf("%s has not been released to %s", [lib.digest, previous.name])
}

deny contains msg if {
	expects_previous
	previous.released_at != null
	previous.healthy != true
	msg := sprintf("%s is not healthy in %s", [lib.digest, previous.name])
}
