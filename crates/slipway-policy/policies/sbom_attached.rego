# SLW-P003: an SBOM of this exact digest is attached.
package slipway.builtin.sbom_attached

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P003",
	"name": "sbom-attached",
	"title": "An SBOM of the artifact's digest is attached",
	"points": ["release", "promote"],
	"remediation": "Attach the SBOM made from this artifact: `slipway evidence` makes and signs CycloneDX and SPDX documents after a successful run; a run that packaged no artifact has none.",
}

present if input.sbom.present == true

names_digest if {
	some subject in input.sbom.subjects
	subject == lib.digest
}

deny contains msg if {
	not present
	not lib.attached_untrusted({"sbom-cyclonedx", "sbom-spdx"})
	msg := sprintf("no SBOM is attached to %s", [lib.digest])
}

deny contains msg if {
	not present
	lib.attached_untrusted({"sbom-cyclonedx", "sbom-spdx"})
	msg := sprintf("an SBOM is attached to %s, but no trusted key signed it", [lib.digest])
}

deny contains msg if {
	present
	not names_digest
	msg := sprintf("the attached SBOM describes %s, not %s", [concat(", ", input.sbom.subjects), lib.digest])
}

warn contains msg if {
	present
	names_digest
	input.sbom.components == 0
	msg := sprintf("the SBOM of %s lists no components", [lib.digest])
}
