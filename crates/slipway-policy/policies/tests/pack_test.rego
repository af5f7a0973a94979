# Tests of the built-in pack: the known-good bundle passes every rule, the known-bad one fails
# every rule, and each rule's own bad cases (the good bundle with one fact changed) fail it
# with the message users will read.
package slipway.builtin.pack_test

import data.slipway.builtin
import data.slipway.builtin.lib
import rego.v1

good := data.fixtures.good

bad := data.fixtures.bad

digest := good.artifact.digest

other := "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

rules := {name | some name, pkg in builtin; pkg.meta}

denied_by(doc) := {name | some name in rules; count(builtin[name].deny) > 0 with input as doc}

warned_by(doc) := {name | some name in rules; count(builtin[name].warn) > 0 with input as doc}

test_the_pack_has_twelve_rules if count(rules) == 12

test_the_good_bundle_passes_every_rule if {
	count(denied_by(good)) == 0
	count(warned_by(good)) == 0
}

test_the_bad_bundle_fails_every_denying_rule if {
	denied_by(bad) == rules - {"no_development_key_in_production"}
	warned_by(bad) == {"no_development_key_in_production"}
}

# SLW-P001 signed-by-trusted-builder

test_failed_verification_names_the_failing_checks if {
	doc := object.union(good, {"verification": {"ok": false, "checks": [
		{"name": "manifest digest", "ok": true, "reason": null},
		{"name": "sbom-spdx matches contents", "ok": false, "reason": "the attached SBOM differs"},
	]}})
	builtin.signed_by_trusted_builder.deny == {sprintf("verification of %s failed: sbom-spdx matches contents: the attached SBOM differs", [digest])} with input as doc
}

test_verification_not_ok_without_a_failed_check_still_denies if {
	doc := object.union(good, {"verification": {"ok": false, "checks": []}})
	builtin.signed_by_trusted_builder.deny == {sprintf("verification of %s failed", [digest])} with input as doc
}

test_provenance_signed_by_an_untrusted_key_is_denied if {
	doc := object.union(good, {"signatures": [{"kind": "provenance", "key_id": "laptop", "trusted": false, "subject": digest}]})
	builtin.signed_by_trusted_builder.deny == {sprintf("no trusted builder key signed the provenance of %s; it is signed by laptop (for %s)", [digest, digest])} with input as doc
}

test_an_unread_statement_names_only_its_key if {
	doc := object.union(good, {"signatures": [{"kind": "provenance", "key_id": "laptop", "trusted": false, "subject": ""}]})
	builtin.signed_by_trusted_builder.deny == {sprintf("no trusted builder key signed the provenance of %s; it is signed by laptop", [digest])} with input as doc
}

test_a_trusted_signature_over_another_digest_does_not_count if {
	doc := object.union(good, {"signatures": [{"kind": "provenance", "key_id": "slipway-builder", "trusted": true, "subject": other}]})
	count(builtin.signed_by_trusted_builder.deny) == 1 with input as doc
}

test_missing_provenance_signature_is_denied if {
	doc := object.union(good, {"signatures": []})
	builtin.signed_by_trusted_builder.deny == {sprintf("no signed provenance is attached to %s", [digest])} with input as doc
}

# SLW-P002 provenance-subject-matches

test_provenance_about_another_digest_is_denied if {
	doc := object.union(good, {"provenance": {"subjects": [other]}})
	builtin.provenance_subject_matches.deny == {sprintf("the provenance names %s, not %s", [other, digest])} with input as doc
}

test_missing_provenance_is_denied if {
	doc := object.union(good, {"provenance": {"present": false, "subjects": []}})
	builtin.provenance_subject_matches.deny == {sprintf("no provenance is attached to %s", [digest])} with input as doc
}

test_a_provenance_no_trusted_key_signed_is_not_called_missing if {
	doc := object.union(good, {"provenance": {"present": false, "subjects": []}, "signatures": [{"kind": "provenance", "key_id": "laptop", "trusted": false, "subject": ""}]})
	builtin.provenance_subject_matches.deny == {sprintf("a provenance is attached to %s, but no trusted key signed it", [digest])} with input as doc
}

# SLW-P003 sbom-attached

test_missing_sbom_is_denied if {
	doc := object.union(good, {"sbom": {"present": false, "subjects": [], "components": 0}})
	builtin.sbom_attached.deny == {sprintf("no SBOM is attached to %s", [digest])} with input as doc
}

test_an_sbom_no_trusted_key_signed_is_not_called_missing if {
	doc := object.union(good, {"sbom": {"present": false, "subjects": [], "components": 0}, "signatures": [{"kind": "sbom-spdx", "key_id": "laptop", "trusted": false, "subject": ""}]})
	builtin.sbom_attached.deny == {sprintf("an SBOM is attached to %s, but no trusted key signed it", [digest])} with input as doc
}

test_sbom_of_another_digest_is_denied if {
	doc := object.union(good, {"sbom": {"subjects": [other]}})
	builtin.sbom_attached.deny == {sprintf("the attached SBOM describes %s, not %s", [other, digest])} with input as doc
}

test_an_empty_sbom_warns if {
	doc := object.union(good, {"sbom": {"components": 0}})
	count(builtin.sbom_attached.deny) == 0 with input as doc
	builtin.sbom_attached.warn == {sprintf("the SBOM of %s lists no components", [digest])} with input as doc
}

# SLW-P004 secrets-scan-passed and SLW-P005 dependency-scan-passed

scan(subject, gates) := {"kind": "security-gates", "subject": subject, "verdict": "fail", "gates": gates, "counts": {"block": 3, "warn": 0, "waived": 0}}

test_no_scan_report_is_denied if {
	doc := object.union(good, {"scans": []})
	builtin.secrets_scan_passed.deny == {sprintf("no security-gates report is attached to %s, so its secrets scan was never recorded", [digest])} with input as doc
	builtin.dependency_scan_passed.deny == {sprintf("no security-gates report is attached to %s, so its dependency scan was never recorded", [digest])} with input as doc
}

test_a_report_no_trusted_key_signed_is_not_called_missing if {
	doc := object.union(good, {"scans": [], "signatures": [{"kind": "security-gates", "key_id": "laptop", "trusted": false, "subject": ""}]})
	builtin.secrets_scan_passed.deny == {sprintf("a security-gates report is attached to %s, but no trusted key signed it, so its secrets scan was never recorded", [digest])} with input as doc
}

test_a_report_for_another_digest_says_so if {
	doc := object.union(good, {"scans": [scan(other, {"secrets": "pass", "vulnerabilities": "pass"})]})
	builtin.secrets_scan_passed.deny == {sprintf("the attached security-gates reports are for %s, not for %s: its secrets scan was never recorded", [other, digest])} with input as doc
}

test_a_failed_secrets_gate_is_denied if {
	doc := object.union(good, {"scans": [scan(digest, {"secrets": "fail", "vulnerabilities": "pass"})]})
	builtin.secrets_scan_passed.deny == {sprintf("the secrets scan of %s failed (the report has 3 blocking finding(s) across all its gates)", [digest])} with input as doc
	count(builtin.dependency_scan_passed.deny) == 0 with input as doc
}

test_a_gate_turned_off_is_denied if {
	doc := object.union(good, {"scans": [scan(digest, {"secrets": "pass", "vulnerabilities": "off"})]})
	builtin.dependency_scan_passed.deny == {sprintf("the dependency scan of %s did not run: the `vulnerabilities` gate was off", [digest])} with input as doc
}

test_a_report_without_the_gate_is_denied if {
	doc := object.union(good, {"scans": [scan(digest, {"secrets": "pass"})]})
	builtin.dependency_scan_passed.deny == {sprintf("the security-gates report of %s has no `vulnerabilities` gate, so its dependency scan was never recorded", [digest])} with input as doc
}

test_a_later_passing_report_supersedes_a_failed_one if {
	doc := object.union(good, {"scans": [scan(digest, {"secrets": "fail", "vulnerabilities": "fail"}), scan(digest, {"secrets": "pass", "vulnerabilities": "warn"})]})
	count(builtin.secrets_scan_passed.deny) == 0 with input as doc
	count(builtin.dependency_scan_passed.deny) == 0 with input as doc
}

# SLW-P006 base-images-pinned

test_an_unpinned_base_image_is_denied_with_its_place if {
	doc := object.union(good, {"base_images": [
		{"reference": "debian:12", "pinned": false, "file": "deploy/Dockerfile", "line": 3},
		{"reference": "alpine@sha256:0000", "pinned": true, "file": "Dockerfile", "line": 1},
	]})
	builtin.base_images_pinned.deny == {"deploy/Dockerfile:3: the base image debian:12 is not pinned by digest"} with input as doc
}

# SLW-P007 required-approvals

test_approvals_by_commit_authors_do_not_count if {
	doc := object.union(good, {"approvals": [
		{"actor": "bob@example.com", "at": "2026-11-22T07:40:00Z", "comment": null, "is_commit_author": false},
		{"actor": "bob@example.com", "at": "2026-11-22T07:41:00Z", "comment": "again", "is_commit_author": false},
		{"actor": "alice@example.com", "at": "2026-11-22T07:46:00Z", "comment": null, "is_commit_author": true},
	]})
	builtin.required_approvals.deny == {sprintf("production needs 2 approval(s) of %s, it has 1; not counted (commit authors): alice@example.com", [digest])} with input as doc
}

test_a_commit_author_is_recognised_from_the_release_too if {
	doc := object.union(good, {"approvals": [
		{"actor": "bob@example.com", "at": "2026-11-22T07:40:00Z", "comment": null, "is_commit_author": false},
		{"actor": "alice@example.com", "at": "2026-11-22T07:46:00Z", "comment": null, "is_commit_author": false},
	]})
	count(builtin.required_approvals.deny) == 1 with input as doc
}

test_authors_count_when_the_environment_allows_it if {
	doc := object.union(good, {
		"environment": {"approval": {"exclude_author": false}},
		"approvals": [
			{"actor": "bob@example.com", "at": "2026-11-22T07:40:00Z", "comment": null, "is_commit_author": false},
			{"actor": "alice@example.com", "at": "2026-11-22T07:46:00Z", "comment": null, "is_commit_author": true},
		],
	})
	count(builtin.required_approvals.deny) == 0 with input as doc
}

test_no_approvals_needed_when_none_are_required if {
	doc := object.union(good, {"environment": {"approval": {"required": 0}}, "approvals": []})
	count(builtin.required_approvals.deny) == 0 with input as doc
}

# SLW-P008 not-known-bad

test_a_digest_marked_bad_is_denied if {
	doc := object.union(good, {"history": {"known_bad": true}})
	builtin.not_known_bad.deny == {sprintf("%s is marked bad for production", [digest])} with input as doc
}

# SLW-P009 previous-environment-healthy

test_never_released_to_the_previous_environment_is_denied if {
	doc := json.patch(good, [{"op": "replace", "path": "/history/previous_environment", "value": null}])
	builtin.previous_environment_healthy.deny == {sprintf("production comes after staging, but %s was never released there", [digest])} with input as doc
}

test_not_yet_released_to_the_previous_environment_is_denied if {
	doc := object.union(good, {"history": {"previous_environment": {"released_at": null, "seconds_since": null}}})
	builtin.previous_environment_healthy.deny == {sprintf("%s has not been released to staging", [digest])} with input as doc
}

test_unhealthy_in_the_previous_environment_is_denied if {
	doc := object.union(good, {"history": {"previous_environment": {"healthy": false}}})
	builtin.previous_environment_healthy.deny == {sprintf("%s is not healthy in staging", [digest])} with input as doc
}

test_the_first_environment_needs_no_previous_one if {
	doc := json.patch(good, [
		{"op": "replace", "path": "/environment/after", "value": []},
		{"op": "replace", "path": "/history/previous_environment", "value": null},
	])
	count(builtin.previous_environment_healthy.deny) == 0 with input as doc
}

# SLW-P010 production-soak

test_too_short_a_soak_is_denied if {
	doc := object.union(good, {"history": {"previous_environment": {"seconds_since": 300}}})
	builtin.production_soak.deny == {sprintf("%s has run in staging for 5m0s; production needs 15m0s (10m0s to go)", [digest])} with input as doc
}

test_the_policy_minimum_applies_when_it_is_longer if {
	doc := object.union(good, {"environment": {"soak": {"required_seconds": 0}}, "history": {"previous_environment": {"seconds_since": 300}}})
	builtin.production_soak.deny == {sprintf("%s has run in staging for 5m0s; production needs 10m0s (5m0s to go)", [digest])} with input as doc
}

test_a_zero_minimum_everywhere_disables_the_soak if {
	doc := object.union(good, {"environment": {"soak": {"required_seconds": 0}}, "history": {"previous_environment": {"seconds_since": 5}}})
	count(builtin.production_soak.deny) == 0 with input as doc with data.slipway.params.min_soak_seconds as 0
}

test_a_soak_never_started_is_denied if {
	doc := object.union(good, {"history": {"previous_environment": {"released_at": null, "seconds_since": null}}})
	builtin.production_soak.deny == {sprintf("%s must soak for 15m0s before production, but it has not run in staging", [digest])} with input as doc
}

test_soak_applies_to_production_only if {
	doc := object.union(good, {"environment": {"production": false}, "history": {"previous_environment": {"seconds_since": 5}}})
	count(builtin.production_soak.deny) == 0 with input as doc
}

test_production_without_a_previous_environment_warns if {
	doc := json.patch(good, [
		{"op": "replace", "path": "/environment/after", "value": []},
		{"op": "replace", "path": "/history/previous_environment", "value": null},
	])
	count(builtin.production_soak.deny) == 0 with input as doc
	builtin.production_soak.warn == {sprintf("production is a production environment without a previous environment, so %s cannot soak anywhere first", [digest])} with input as doc
}

# SLW-P011 tests-passed

test_failed_tests_are_denied if {
	doc := object.union(good, {"tests": {"failed": 2}})
	builtin.tests_passed.deny == {sprintf("2 of 120 tests failed in the run that built %s", [digest])} with input as doc
}

test_missing_test_results_warn if {
	doc := object.union(good, {"tests": {"present": false, "total": 0, "failed": 0}})
	count(builtin.tests_passed.deny) == 0 with input as doc
	builtin.tests_passed.warn == {sprintf("no test results are attached to %s", [digest])} with input as doc
}

# SLW-P012 no-development-key-in-production

test_a_development_key_in_production_warns if {
	doc := object.union(good, {"provenance": {"development_key": true}})
	builtin.no_development_key_in_production.warn == {sprintf("the provenance of %s is signed with a development key", [digest])} with input as doc
}

test_a_development_key_elsewhere_is_fine if {
	doc := object.union(good, {"provenance": {"development_key": true}, "environment": {"production": false}})
	count(builtin.no_development_key_in_production.warn) == 0 with input as doc
}

# Shared functions

test_durations_read_naturally if {
	lib.duration(0) == "0s"
	lib.duration(59) == "59s"
	lib.duration(90) == "1m30s"
	lib.duration(3600) == "1h0m0s"
	lib.duration(5400) == "1h30m0s"
}
