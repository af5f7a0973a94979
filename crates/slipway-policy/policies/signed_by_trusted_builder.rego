# SLW-P001: the artifact passed `verify` and its provenance is signed by a trusted builder key.
package slipway.builtin.signed_by_trusted_builder

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P001",
	"name": "signed-by-trusted-builder",
	"title": "The artifact passed verification and its provenance is signed by a trusted builder",
	"points": ["release", "promote", "rollback"],
	"remediation": "Run `slipway verify <digest>` to see the failing check. Rebuild the artifact with a builder key the trust policy lists, or add the builder's public key to the trust policy (`slipway keys`).",
}

verified if input.verification.ok == true

trusted_provenance if {
	some signature in input.signatures
	signature.kind == "provenance"
	signature.trusted == true
	signature.subject == lib.digest
}

failed_checks := [describe(check) | some check in input.verification.checks; check.ok != true]

describe(check) := sprintf("%s: %s", [check.name, check.reason]) if is_string(check.reason)

describe(check) := check.name if not is_string(check.reason)

deny contains msg if {
	not verified
	count(failed_checks) == 0
	msg := sprintf("verification of %s failed", [lib.digest])
}

deny contains msg if {
	count(failed_checks) > 0
	msg := sprintf("verification of %s failed: %s", [lib.digest, concat("; ", failed_checks)])
}

provenance_keys := sort({signer(signature) |
	some signature in input.signatures
	signature.kind == "provenance"
})

# The key, and the digest its statement names when it was read (an untrusted statement is not).
signer(signature) := sprintf("%s (for %s)", [signature.key_id, signature.subject]) if signature.subject != ""

signer(signature) := signature.key_id if signature.subject == ""

deny contains msg if {
	not trusted_provenance
	count(provenance_keys) == 0
	msg := sprintf("no signed provenance is attached to %s", [lib.digest])
}

deny contains msg if {
	not trusted_provenance
	count(provenance_keys) > 0
	msg := sprintf("no trusted builder key signed the provenance of %s; it is signed by %s", [lib.digest, concat(", ", provenance_keys)])
}
