# SLW-P004: a secrets scan of this exact digest is attached and its gate passed.
package slipway.builtin.secrets_scan_passed

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P004",
	"name": "secrets-scan-passed",
	"title": "A secrets scan of the artifact's digest is attached and passed",
	"points": ["release", "promote"],
	"remediation": "Run the pipeline so that `slipway scan` attaches a security-gates report for this digest with the `secrets` gate on; remove or rotate the secrets it found, or waive a false positive in .slipway/waivers.yml.",
}

deny contains msg if {
	some msg in lib.scan_reasons("secrets", "secrets scan")
}
