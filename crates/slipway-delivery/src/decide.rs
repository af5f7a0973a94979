//! The policy input of a promotion or rollback: the artifact's evidence (gathered and verified
//! by `slipway-policy`) plus what delivery knows — the environment, the release, its
//! approvals and the digest's history here and in the environment before.

use crate::Result;
use crate::config::EnvironmentConfig;
use crate::promote::PromoteRequest;
use slipway_policy::input::{
    Actor, Approval, ApprovalRequirement, Environment, History, Input, PreviousEnvironment,
    ReleaseFacts, Soak,
};
use slipway_policy::{Decision, DecisionPoint, EvidenceFacts};
use slipway_store::Store;

/// The built-in rule that asks for the environment's approvals: break-glass skips it.
pub const APPROVALS_RULE: &str = "SLW-P007";
/// The built-in rule that refuses a digest known bad here: `--force-known-bad` skips it.
pub const KNOWN_BAD_RULE: &str = "SLW-P008";

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The environment as policies see it.
pub fn environment(env: &EnvironmentConfig) -> Environment {
    let config = match serde_json::to_value(env) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    Environment {
        name: env.name.clone(),
        production: env.production,
        after: env.after.clone(),
        approval: ApprovalRequirement {
            required: u64::from(env.approvals_required),
            exclude_author: env.exclude_author,
        },
        config,
        soak: Soak {
            required_seconds: env.soak.as_secs(),
        },
    }
}

/// Whether the digest is known bad here, and how it fared in the environment before this one.
pub async fn history(
    store: &Store,
    env: &EnvironmentConfig,
    digest: &str,
    known_bad: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<History> {
    let previous_environment = match env.after.first() {
        Some(previous) => {
            let releases = store.digest_releases(digest).await?;
            let succeeded = releases
                .iter()
                .filter(|r| &r.environment == previous && r.status == "succeeded")
                .min_by_key(|r| r.finished_at.unwrap_or(r.updated_at));
            let released_at = succeeded.map(|r| r.finished_at.unwrap_or(r.updated_at));
            Some(PreviousEnvironment {
                name: previous.clone(),
                released_at: released_at.map(rfc3339),
                healthy: succeeded.is_some(),
                seconds_since: released_at
                    .map(|at| u64::try_from((now.timestamp_millis() - at) / 1000).unwrap_or(0)),
            })
        }
        None => None,
    };
    Ok(History {
        known_bad,
        previous_environment,
    })
}

/// Whether `actor` authored a commit of the release (`authors` are lowercase emails).
pub fn is_author(authors: &[String], actor: &str) -> bool {
    let actor = actor.trim().to_lowercase();
    authors.contains(&actor)
}

/// The whole input of one decision.
pub fn input(
    facts: EvidenceFacts,
    point: DecisionPoint,
    request: &PromoteRequest<'_>,
    env: &EnvironmentConfig,
    release: ReleaseFacts,
    approvals: &[slipway_store::Approval],
    history: History,
) -> Input {
    let approvals = approvals
        .iter()
        .map(|a| Approval {
            is_commit_author: is_author(&release.commit_authors, &a.actor),
            actor: a.actor.clone(),
            at: rfc3339(a.created_at),
            comment: a.comment.clone(),
        })
        .collect();
    let mut input = facts.into_input(
        point,
        request
            .now
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        Actor {
            name: request.actor.clone(),
            source: request.actor_source.clone(),
        },
    );
    input.environment = Some(environment(env));
    input.release = Some(release);
    input.approvals = approvals;
    input.history = history;
    input
}

/// The audit entry of a policy decision about `digest` (in `environment`, for a promotion or
/// rollback; none for the release decision after a run).
pub fn decision_event(
    actor: &str,
    digest: &str,
    environment: Option<&str>,
    decision: &Decision,
) -> slipway_store::AuditEvent {
    slipway_store::AuditEvent::new(
        actor.to_owned(),
        "policy.decided",
        digest.to_owned(),
        serde_json::json!({
            "point": decision.point,
            "environment": environment,
            "allow": decision.allow,
            "deny": decision.deny.iter().map(|r| &r.rule).collect::<Vec<_>>(),
            "warn": decision.warn.iter().map(|r| &r.rule).collect::<Vec<_>>(),
            "bundle_digest": decision.bundle_digest,
            "input_digest": decision.input_digest,
        }),
    )
}

/// One line for the promotion's `policy` check.
pub fn describe(decision: &Decision) -> String {
    let reasons = |list: &[slipway_policy::Reason]| {
        list.iter()
            .map(|r| format!("{} {}", r.rule, r.message))
            .collect::<Vec<_>>()
            .join("; ")
    };
    match (decision.allow, decision.warn.is_empty()) {
        (true, true) => format!("allowed (policy bundle {})", short(&decision.bundle_digest)),
        (true, false) => format!(
            "allowed with warnings: {} (policy bundle {})",
            reasons(&decision.warn),
            short(&decision.bundle_digest)
        ),
        (false, _) => format!(
            "denied: {} (`slipway policy rules` lists the rules and their remediations)",
            reasons(&decision.deny)
        ),
    }
}

fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}
