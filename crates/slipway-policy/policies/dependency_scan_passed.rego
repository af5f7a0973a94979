# SLW-P005: a dependency (vulnerability) scan of this exact digest is attached and its gate passed.
package slipway.builtin.dependency_scan_passed

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P005",
	"name": "dependency-scan-passed",
	"title": "A dependency vulnerability scan of the artifact's digest is attached and passed",
	"points": ["release", "promote"],
	"remediation": "Run the pipeline so that `slipway scan` attaches a security-gates report for this digest with the `vulnerabilities` gate on; upgrade the vulnerable packages it lists, or waive an advisory that does not apply in .slipway/waivers.yml.",
}

deny contains msg if {
	some msg in lib.scan_reasons("vulnerabilities", "dependency scan")
}
