# SLW-P007: an environment that declares required approvals gets them, none by a commit author
# when the environment excludes authors.
package slipway.builtin.required_approvals

import data.slipway.builtin.lib
import rego.v1

meta := {
	"id": "SLW-P007",
	"name": "required-approvals",
	"title": "The environment's required approvals are given, none by a commit author when it excludes them",
	"points": ["promote"],
	"remediation": "Ask reviewers who did not author the release's commits to approve the promotion; the environment's `approval.required` says how many distinct approvers it needs.",
}

requirement := input.environment.approval

by_author(approval) if approval.is_commit_author == true

by_author(approval) if approval.actor in input.release.commit_authors

excluded(approval) if {
	requirement.exclude_author == true
	by_author(approval)
}

counted := {approval.actor | some approval in input.approvals; not excluded(approval)}

not_counted := sort({approval.actor | some approval in input.approvals; excluded(approval)})

note := "" if count(not_counted) == 0

note := sprintf("; not counted (commit authors): %s", [concat(", ", not_counted)]) if count(not_counted) > 0

deny contains msg if {
	requirement.required > count(counted)
	msg := sprintf("%s needs %d approval(s) of %s, it has %d%s", [input.environment.name, requirement.required, lib.digest, count(counted), note])
}
