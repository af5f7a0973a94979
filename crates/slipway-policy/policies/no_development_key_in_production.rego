# SLW-P012: production receives no artifact whose provenance is signed with a development key.
package slipway.builtin.no_development_key_in_production

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P012",
	"name": "no-development-key-in-production",
	"title": "Production receives no artifact signed with a development key",
	"points": ["promote"],
	"remediation": "Configure a real builder key (`slipway keys`) so that builds for production are not signed by the development key made on first use; set this rule to `deny` in .slipway/policy.yml to enforce it.",
}

warn contains msg if {
	input.environment.production == true
	input.provenance.development_key == true
	msg := sprintf("the provenance of %s is signed with a development key", [lib.digest])
}
