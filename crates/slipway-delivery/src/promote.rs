//! Promotion: every check a release must pass before an environment takes it, and the record
//! of the desired state the controller then converges to. The digest moves; nothing is rebuilt.

use crate::config::{self, EnvironmentConfig};
use crate::{DeliveryError, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use slipway_artifact::Artifacts;
use slipway_pipeline::Pipeline;
use slipway_policy::{DecisionPoint, PolicySet};
use slipway_sign::TrustPolicy;
use slipway_store::{EnvironmentState, NewRelease, NewRolloutEvent, Release, Store, Transition};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseKind {
    /// `slipway promote`.
    Promote,
    /// `slipway rollback`: back to a release that succeeded here before.
    Rollback,
    /// A pipeline job with `deploy: { environment: E }`.
    Deploy,
}

impl ReleaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseKind::Promote => "promote",
            ReleaseKind::Rollback => "rollback",
            ReleaseKind::Deploy => "deploy",
        }
    }
}

pub struct PromoteRequest<'a> {
    pub environment: String,
    /// A digest, a unique digest prefix, or a tag.
    pub reference: String,
    pub actor: String,
    pub kind: ReleaseKind,
    /// `--break-glass --reason`: skips approvals and freezes, never verification.
    pub break_glass: Option<String>,
    pub force_known_bad: bool,
    /// The repository the artifacts were built from: the commits' authors come from it.
    pub repo_dir: &'a Path,
    pub now: DateTime<Utc>,
    /// The policies every promotion is decided by.
    pub policy: &'a PolicySet,
    /// Signs the policy decision attached to the artifact; none records no evidence.
    pub key: Option<&'a slipway_evidence::BuilderKey>,
    /// Where the actor's name comes from (`SLIPWAY_ACTOR`, `git`, `os-user`).
    pub actor_source: String,
}

/// One check of a promotion, with its reason.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromoteStatus {
    /// A check failed: nothing changed.
    Refused,
    /// The release waits for approvals (`slipway approve RELEASE`).
    AwaitingApproval,
    /// The environment's desired state now names the release; its controller rolls it out.
    Started,
}

#[derive(Clone, Debug, Serialize)]
pub struct PromoteOutcome {
    pub environment: String,
    pub digest: String,
    pub status: PromoteStatus,
    pub checks: Vec<Check>,
    pub release: Option<Release>,
    pub approvals: usize,
    pub approvals_required: u32,
    pub break_glass: Option<String>,
    /// The policy decision, once the checks before it passed.
    pub policy: Option<slipway_policy::Decision>,
}

impl PromoteOutcome {
    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

struct Checks(Vec<Check>);

impl Checks {
    fn record(&mut self, name: &str, ok: bool, detail: impl Into<String>) {
        self.0.push(Check {
            name: name.to_owned(),
            ok,
            detail: detail.into(),
        });
    }
}

/// Whether a rollout is under way in the environment (a canary not yet finished).
pub fn rollout_active(state: &EnvironmentState) -> bool {
    state.canary_release.is_some() && matches!(state.phase.as_str(), "progressing" | "paused")
}

/// Checks a release of `request.reference` to `request.environment` and, when every check
/// passes, records it as the environment's desired state.
pub async fn promote(
    artifacts: &Artifacts,
    trust: &TrustPolicy,
    pipeline: &Pipeline,
    request: &PromoteRequest<'_>,
) -> Result<PromoteOutcome> {
    let store = artifacts.index();
    let env = config::resolve(pipeline, &request.environment)?;
    let record = artifacts.resolve(&request.reference).await?;
    let digest = record.digest.clone();
    let mut checks = Checks(Vec::new());
    let rollback = request.kind == ReleaseKind::Rollback;

    // Verification is never skipped: not by break-glass, not for a rollback. The same pass
    // gathers the evidence the policies judge.
    let facts = slipway_policy::collect_evidence(artifacts, &digest, trust).await?;
    let failed: Vec<&str> = facts
        .verification
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    checks.record(
        "verify",
        facts.verification.ok,
        if facts.verification.ok {
            format!("{} checks passed", facts.verification.checks.len())
        } else {
            format!(
                "`slipway verify {digest}` fails: {} (nothing unverified is deployed, break-glass included)",
                failed.join(", ")
            )
        },
    );

    let known_bad = store.known_bad(&env.name).await?;
    let known_bad_here: Vec<&slipway_store::KnownBad> =
        known_bad.iter().filter(|k| k.digest == digest).collect();
    match known_bad_here.first() {
        Some(bad) if !request.force_known_bad => checks.record(
            "known-bad",
            false,
            format!(
                "{digest} is known bad in {}: {} (release {}); pass --force-known-bad to deploy it anyway",
                env.name, bad.reason, bad.release_id
            ),
        ),
        Some(bad) => checks.record(
            "known-bad",
            true,
            format!("known bad ({}), deployed with --force-known-bad", bad.reason),
        ),
        None => checks.record("known-bad", true, format!("not known bad in {}", env.name)),
    }

    let releases = store.digest_releases(&digest).await?;
    if rollback {
        let good_here = releases
            .iter()
            .any(|r| r.environment == env.name && r.status == "succeeded");
        checks.record(
            "previously-good",
            good_here,
            if good_here {
                format!("succeeded in {} before", env.name)
            } else {
                format!(
                    "{digest} never succeeded in {}; a rollback returns to a release that did",
                    env.name
                )
            },
        );
    } else {
        for previous in &env.after {
            let succeeded = releases
                .iter()
                .find(|r| &r.environment == previous && r.status == "succeeded");
            checks.record(
                "previous-environment",
                succeeded.is_some(),
                match succeeded {
                    Some(release) => format!("released to {previous} ({})", release.id),
                    None => format!(
                        "{digest} has not been released successfully to {previous}; promote it there first: slipway promote {} --to {previous}",
                        short(&digest)
                    ),
                },
            );
        }
        gates_check(&facts.scans, &digest, &mut checks);
    }

    match config::active_freeze(&env.freeze, request.now) {
        Some((window, closes)) if rollback => checks.record(
            "freeze",
            true,
            format!(
                "frozen ({} for {}) until {closes}, but a rollback is always allowed",
                window.cron,
                slipway_pipeline::read::format_duration(window.duration)
            ),
        ),
        Some((window, closes)) => match &request.break_glass {
            Some(reason) => checks.record(
                "freeze",
                true,
                format!("frozen until {closes}; skipped by break-glass: {reason}"),
            ),
            None => checks.record(
                "freeze",
                false,
                format!(
                    "{} is frozen (`{}` for {}) until {closes}; wait, or use --break-glass --reason \"...\"",
                    env.name,
                    window.cron,
                    slipway_pipeline::read::format_duration(window.duration)
                ),
            ),
        },
        None => checks.record("freeze", true, "no freeze window is open"),
    }

    let state = store.environment_state(&env.name).await?;
    if let Some(state) = state.as_ref().filter(|s| rollout_active(s))
        && !rollback
    {
        checks.record(
            "rollout",
            false,
            format!(
                "release {} is still rolling out in {} ({}); wait, or `slipway rollout abort {}`",
                state.canary_release.as_deref().unwrap_or_default(),
                env.name,
                state.phase,
                env.name
            ),
        );
    }

    let refused_by_checks = checks.0.iter().any(|c| !c.ok);
    let mut outcome = PromoteOutcome {
        environment: env.name.clone(),
        digest: digest.clone(),
        status: PromoteStatus::Refused,
        checks: Vec::new(),
        release: None,
        approvals: 0,
        approvals_required: env.approvals_required,
        break_glass: request.break_glass.clone(),
        policy: None,
    };

    let context = release_context(store, artifacts, &env, &digest, &record, state, request).await?;
    let ReleaseContext {
        state,
        stable_digest,
        waiting,
        authors,
        approvals,
    } = context;
    let new_release = |status: &str| NewRelease {
        environment: env.name.clone(),
        digest: digest.clone(),
        kind: request.kind.as_str().to_owned(),
        status: status.to_owned(),
        actor: request.actor.clone(),
        previous_digest: stable_digest.clone(),
        break_glass_reason: request.break_glass.clone(),
        commit_authors: authors.clone(),
        config: serde_json::to_value(&env).unwrap_or_default(),
    };
    // With `exclude-author`, an approval by a commit author does not count (it may have been
    // given before the environment asked for that): the same rule as SLW-P007.
    let counted: Vec<&slipway_store::Approval> = approvals
        .iter()
        .filter(|a| !(env.exclude_author && crate::decide::is_author(&authors, &a.actor)))
        .collect();
    let ignored = approvals.len() - counted.len();
    let ignored_note = if ignored > 0 {
        format!(" ({ignored} by a commit author, not counted: exclude-author)")
    } else {
        String::new()
    };
    outcome.approvals = counted.len();
    let needs_approval = env.approvals_required > 0 && !rollback;
    let approvals_missing = needs_approval
        && request.break_glass.is_none()
        && counted.len() < env.approvals_required as usize;
    if needs_approval && !approvals_missing {
        checks.record(
            "approvals",
            true,
            match &request.break_glass {
                Some(reason) => format!(
                    "{} of {} approvals{ignored_note}; skipped by break-glass: {reason}",
                    counted.len(),
                    env.approvals_required
                ),
                None => format!(
                    "{} of {} approvals: {}{ignored_note}",
                    counted.len(),
                    env.approvals_required,
                    counted
                        .iter()
                        .map(|a| a.actor.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        );
    }

    // The policies decide every promotion, over everything gathered: evidence, environment,
    // release, approvals and history — also one the checks above refuse, so the refusal
    // carries each rule's reason and the decision is on record.
    let (point, input) = policy_input(
        store,
        request,
        &env,
        facts,
        &digest,
        !known_bad_here.is_empty(),
        waiting.as_ref(),
        &authors,
        &approvals,
    )
    .await?;
    let decision = decide(request, point, &input)?;
    if let Some(key) = request.key {
        slipway_policy::attach_decision(artifacts, &digest, key, &decision).await?;
    }
    store
        .append_audit(&crate::decide::decision_event(
            &request.actor,
            &digest,
            Some(&env.name),
            &decision,
        ))
        .await?;
    // Missing approvals are something to wait for, not a refusal — unless anything else
    // refuses the release, in which case nobody is asked to approve it.
    let only_approvals_denied = decision
        .deny
        .iter()
        .all(|r| r.rule == crate::decide::APPROVALS_RULE);
    let awaiting = approvals_missing && !refused_by_checks && only_approvals_denied;
    if approvals_missing && !awaiting {
        checks.record(
            "approvals",
            false,
            format!(
                "{} of {} approvals{ignored_note}",
                counted.len(),
                env.approvals_required
            ),
        );
    }
    if awaiting {
        let release = match waiting {
            Some(release) => release,
            None => {
                store
                    .create_release(&new_release("awaiting-approval"))
                    .await?
            }
        };
        checks.record(
            "approvals",
            false,
            format!(
                "{} of {} approvals{ignored_note}; approve with `slipway approve {}`",
                counted.len(),
                env.approvals_required,
                release.id
            ),
        );
        checks.record("policy", decision.allow, crate::decide::describe(&decision));
        outcome.policy = Some(decision);
        outcome.status = PromoteStatus::AwaitingApproval;
        outcome.checks = checks.0;
        outcome.release = Some(release);
        return Ok(outcome);
    }
    checks.record("policy", decision.allow, crate::decide::describe(&decision));
    let allowed = decision.allow && !refused_by_checks;
    outcome.policy = Some(decision);
    if !allowed {
        record_refusal(store, request, &env.name, &digest, &checks.0).await?;
        outcome.checks = checks.0;
        return Ok(outcome);
    }
    let release = match waiting {
        Some(release) => release,
        None => store.create_release(&new_release("progressing")).await?,
    };

    let release = start(store, &env, state, release, request).await?;
    outcome.status = PromoteStatus::Started;
    outcome.checks = checks.0;
    outcome.release = Some(release);
    Ok(outcome)
}

/// What delivery knows about a release of the digest here, read without changing anything.
struct ReleaseContext {
    state: Option<EnvironmentState>,
    stable_digest: Option<String>,
    /// A release of this digest here that waits for approvals.
    waiting: Option<Release>,
    authors: Vec<String>,
    approvals: Vec<slipway_store::Approval>,
}

async fn release_context(
    store: &Store,
    artifacts: &Artifacts,
    env: &EnvironmentConfig,
    digest: &str,
    record: &slipway_store::ArtifactRecord,
    state: Option<EnvironmentState>,
    request: &PromoteRequest<'_>,
) -> Result<ReleaseContext> {
    let stable_digest = match state.as_ref().and_then(|s| s.stable_release.as_deref()) {
        Some(id) => Some(store.release(id).await?.digest),
        None => None,
    };
    let waiting = store
        .environment_releases(&env.name, 20)
        .await?
        .into_iter()
        .find(|r| r.digest == digest && r.status == "awaiting-approval");
    let authors = match &waiting {
        Some(release) => release.commit_authors.clone(),
        None => {
            commit_authors(
                request.repo_dir,
                stable_digest.as_deref(),
                artifacts,
                &record.commit_sha,
            )
            .await
        }
    };
    let approvals = match &waiting {
        Some(release) => store.approvals(&release.id).await?,
        None => Vec::new(),
    };
    Ok(ReleaseContext {
        state,
        stable_digest,
        waiting,
        authors,
        approvals,
    })
}

/// The policy input of this promotion (or rollback) and its decision point.
#[allow(clippy::too_many_arguments)]
async fn policy_input(
    store: &Store,
    request: &PromoteRequest<'_>,
    env: &EnvironmentConfig,
    facts: slipway_policy::EvidenceFacts,
    digest: &str,
    known_bad: bool,
    waiting: Option<&Release>,
    authors: &[String],
    approvals: &[slipway_store::Approval],
) -> Result<(DecisionPoint, slipway_policy::Input)> {
    let point = if request.kind == ReleaseKind::Rollback {
        DecisionPoint::Rollback
    } else {
        DecisionPoint::Promote
    };
    let history = crate::decide::history(store, env, digest, known_bad, request.now).await?;
    let input = crate::decide::input(
        facts,
        point,
        request,
        env,
        slipway_policy::input::ReleaseFacts {
            id: waiting.map_or_else(|| "new".to_owned(), |r| r.id.clone()),
            commit_authors: authors.to_vec(),
        },
        approvals,
        history,
    );
    Ok((point, input))
}

/// Evaluates the policies; break-glass skips the approvals rule and `--force-known-bad` the
/// known-bad rule, in the policies as in the checks, and the decision keeps their reasons as
/// warnings.
fn decide(
    request: &PromoteRequest<'_>,
    point: DecisionPoint,
    input: &slipway_policy::Input,
) -> Result<slipway_policy::Decision> {
    let mut decision = slipway_policy::evaluate(request.policy, point, input)?;
    let skipped: Vec<&str> = [
        (request.break_glass.is_some(), crate::decide::APPROVALS_RULE),
        (request.force_known_bad, crate::decide::KNOWN_BAD_RULE),
    ]
    .into_iter()
    .filter_map(|(skip, rule)| skip.then_some(rule))
    .collect();
    let (waived, kept): (Vec<_>, Vec<_>) = decision
        .deny
        .drain(..)
        .partition(|r| skipped.contains(&r.rule.as_str()));
    decision.deny = kept;
    decision.warn.extend(waived);
    decision.allow = decision.deny.is_empty();
    Ok(decision)
}

/// The decision a promotion of `request.reference` to `request.environment` would get now,
/// and its input, without recording anything: `slipway policy eval --artifact --env`.
pub async fn explain(
    artifacts: &Artifacts,
    trust: &TrustPolicy,
    pipeline: &Pipeline,
    request: &PromoteRequest<'_>,
) -> Result<(slipway_policy::Input, slipway_policy::Decision)> {
    let store = artifacts.index();
    let env = config::resolve(pipeline, &request.environment)?;
    let record = artifacts.resolve(&request.reference).await?;
    let digest = record.digest.clone();
    let facts = slipway_policy::collect_evidence(artifacts, &digest, trust).await?;
    let known_bad = store
        .known_bad(&env.name)
        .await?
        .iter()
        .any(|k| k.digest == digest);
    let state = store.environment_state(&env.name).await?;
    let context = release_context(store, artifacts, &env, &digest, &record, state, request).await?;
    let (point, input) = policy_input(
        store,
        request,
        &env,
        facts,
        &digest,
        known_bad,
        context.waiting.as_ref(),
        &context.authors,
        &context.approvals,
    )
    .await?;
    let decision = decide(request, point, &input)?;
    Ok((input, decision))
}

/// A refused promotion changes nothing, but who asked and why it was refused is recorded.
async fn record_refusal(
    store: &Store,
    request: &PromoteRequest<'_>,
    environment: &str,
    digest: &str,
    checks: &[Check],
) -> Result<()> {
    store
        .append_audit(&slipway_store::AuditEvent::new(
            request.actor.clone(),
            "promotion.refused",
            digest,
            serde_json::json!({
                "environment": environment,
                "kind": request.kind.as_str(),
                "failed": checks
                    .iter()
                    .filter(|c| !c.ok)
                    .map(|c| serde_json::json!({ "check": c.name, "detail": c.detail }))
                    .collect::<Vec<_>>(),
            }),
        ))
        .await?;
    Ok(())
}

/// Makes `release` the environment's desired state, in one transaction with its event.
async fn start(
    store: &Store,
    env: &EnvironmentConfig,
    state: Option<EnvironmentState>,
    release: Release,
    request: &PromoteRequest<'_>,
) -> Result<Release> {
    let mut state = state.unwrap_or_else(|| EnvironmentState {
        environment: env.name.clone(),
        phase: "idle".into(),
        ..EnvironmentState::default()
    });
    if let Some(active) = state
        .canary_release
        .clone()
        .filter(|_| rollout_active(&state))
    {
        // Only a rollback gets here with a rollout under way: it ends that rollout first.
        store
            .apply_transition(
                &env.name,
                &Transition {
                    release_status: Some((
                        active.clone(),
                        "aborted".into(),
                        Some(format!("replaced by rollback {}", release.id)),
                    )),
                    event: Some(NewRolloutEvent {
                        release_id: active,
                        kind: "aborted".into(),
                        actor: request.actor.clone(),
                        detail: serde_json::json!({ "reason": "rollback", "by": release.id }),
                    }),
                    ..Transition::default()
                },
            )
            .await?;
    }
    state.canary_release = Some(release.id.clone());
    state.phase = "progressing".into();
    state.step = 0;
    state.weight = 0;
    state.step_started_at = Some(slipway_store::now_ms());
    state.paused_reason = None;
    state.request = None;
    state.request_actor = None;
    let kind = if request.break_glass.is_some() {
        "break-glass"
    } else {
        "promoted"
    };
    store
        .apply_transition(
            &env.name,
            &Transition {
                state: Some(state),
                release_status: Some((release.id.clone(), "progressing".into(), None)),
                event: Some(NewRolloutEvent {
                    release_id: release.id.clone(),
                    kind: kind.into(),
                    actor: request.actor.clone(),
                    detail: serde_json::json!({
                        "digest": release.digest,
                        "kind": request.kind.as_str(),
                        "strategy": env.strategy.name(),
                        "break_glass_reason": request.break_glass,
                        "forced_known_bad": request.force_known_bad,
                    }),
                }),
                known_bad: None,
            },
        )
        .await?;
    Ok(store.release(&release.id).await?)
}

/// A gate report about this very digest must be attached, and none may have failed.
fn gates_check(scans: &[slipway_policy::input::Scan], digest: &str, checks: &mut Checks) {
    use slipway_policy::input::Verdict;
    let own: Vec<&slipway_policy::input::Scan> = scans
        .iter()
        .filter(|s| s.kind == slipway_scan::scans::KIND_SECURITY_GATES && s.subject == digest)
        .collect();
    if own.is_empty() {
        checks.record(
            "gates",
            false,
            format!(
                "no security-gates report about {digest} is attached; run the pipeline (or `slipway scan all --artifact {}`)",
                short(digest)
            ),
        );
    } else if own.iter().any(|s| s.verdict == Verdict::Fail) {
        checks.record(
            "gates",
            false,
            format!(
                "the security gates of {digest} failed; see `slipway evidence ls {}`",
                short(digest)
            ),
        );
    } else {
        let warned = own.iter().any(|s| s.verdict == Verdict::Warn);
        checks.record(
            "gates",
            true,
            format!("security gates: {}", if warned { "warn" } else { "pass" }),
        );
    }
}

fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// Emails of the authors of the commits between the digest serving now and the new one (the
/// new commit alone when nothing serves or the history is not in `repo`).
async fn commit_authors(
    repo: &Path,
    previous_digest: Option<&str>,
    artifacts: &Artifacts,
    commit: &str,
) -> Vec<String> {
    let previous_commit = match previous_digest {
        Some(digest) => artifacts
            .index()
            .artifact(digest)
            .await
            .ok()
            .flatten()
            .map(|a| a.commit_sha),
        None => None,
    };
    let range = previous_commit
        .filter(|p| p != commit)
        .map(|p| format!("{p}..{commit}"));
    let mut args = vec!["log", "--format=%ae"];
    match &range {
        Some(range) => args.push(range),
        None => args.extend(["-1", commit]),
    }
    let out = slipway_vcs::git(repo, &args, slipway_vcs::LOCAL_TIMEOUT)
        .or_else(|_| {
            slipway_vcs::git(
                repo,
                &["log", "--format=%ae", "-1", commit],
                slipway_vcs::LOCAL_TIMEOUT,
            )
        })
        .unwrap_or_default();
    let mut authors: Vec<String> = out
        .lines()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    authors.sort();
    authors.dedup();
    authors
}

/// Records `actor`'s approval of a release waiting for approvals. Returns the approvals so far
/// and how many the environment requires.
pub async fn approve(
    store: &Store,
    pipeline: &Pipeline,
    release_id: &str,
    actor: &str,
    comment: Option<&str>,
) -> Result<(Release, Vec<slipway_store::Approval>, u32)> {
    let release = store.release(release_id).await?;
    if release.status != "awaiting-approval" {
        return Err(DeliveryError::NotAwaitingApproval {
            id: release.id,
            status: release.status,
            note: release.note,
        });
    }
    let env = config::resolve(pipeline, &release.environment)?;
    if env.exclude_author && crate::decide::is_author(&release.commit_authors, actor) {
        return Err(DeliveryError::AuthorMayNotApprove {
            actor: actor.to_owned(),
            id: release.id,
            environment: env.name,
        });
    }
    store.add_approval(&release.id, actor, comment).await?;
    let approvals = store.approvals(&release.id).await?;
    Ok((release, approvals, env.approvals_required))
}
