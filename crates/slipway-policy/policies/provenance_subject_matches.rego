# SLW-P002: the provenance is about this exact digest.
package slipway.builtin.provenance_subject_matches

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P002",
	"name": "provenance-subject-matches",
	"title": "The provenance names the artifact's digest as its subject",
	"points": ["release", "promote", "rollback"],
	"remediation": "The provenance belongs to another build: promote the digest the provenance names, or rebuild so that provenance is made for this artifact (`slipway evidence <digest>` lists what is attached).",
}

present if input.provenance.present == true

names_digest if {
	some subject in input.provenance.subjects
	subject == lib.digest
}

deny contains msg if {
	not present
	not lib.attached_untrusted({"provenance"})
	msg := sprintf("no provenance is attached to %s", [lib.digest])
}

deny contains msg if {
	not present
	lib.attached_untrusted({"provenance"})
	msg := sprintf("a provenance is attached to %s, but no trusted key signed it", [lib.digest])
}

deny contains msg if {
	present
	not names_digest
	count(input.provenance.subjects) == 0
	msg := sprintf("the provenance attached to %s names no subject", [lib.digest])
}

deny contains msg if {
	present
	not names_digest
	count(input.provenance.subjects) > 0
	msg := sprintf("the provenance names %s, not %s", [concat(", ", input.provenance.subjects), lib.digest])
}
