# SLW-P008: a digest marked bad for the target environment is not promoted there again.
package slipway.builtin.not_known_bad

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P008",
	"name": "not-known-bad",
	"title": "The digest is not marked bad for the target environment",
	"points": ["promote"],
	"remediation": "This digest failed or was rolled back in this environment before: promote a build with the fix instead.",
}

cleared if input.history.known_bad == false

deny contains msg if {
	not cleared
	msg := sprintf("%s is marked bad for %s", [lib.digest, input.environment.name])
}
