//! Retention: which artifacts `gc` deletes. Never one an environment runs now, nor one of the
//! production environment's last releases; of the rest, each environment keeps the artifacts it
//! ran last, each branch its newest artifacts, and pull-request artifacts expire. Deleting an
//! artifact deletes its evidence and the blobs no other artifact shares.

use crate::error::Result;
use crate::store::{Artifacts, parse_digest};
use serde::Serialize;
use slipway_store::ArtifactRecord;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// The rules, from the pipeline's `retention:` (with its defaults).
#[derive(Clone, Debug)]
pub struct Policy {
    pub keep_last: usize,
    pub pull_requests: Duration,
    pub production: String,
    pub production_releases: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            keep_last: 10,
            pull_requests: Duration::from_secs(14 * 86_400),
            production: "production".to_owned(),
            production_releases: 5,
        }
    }
}

/// What happens to one artifact, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    pub digest: String,
    pub name: String,
    pub tags: Vec<String>,
    pub delete: bool,
    pub reason: String,
}

/// What a collection did (or, dry, would do).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub decisions: Vec<Decision>,
    pub deleted: usize,
    pub kept: usize,
    /// Blobs deleted (or that would be): layers, configs, manifests and evidence no kept
    /// artifact shares.
    pub blobs: usize,
    pub freed_bytes: u64,
}

/// Decides per artifact; `now_ms` is the clock (milliseconds since the epoch).
pub fn decide(
    artifacts: &[ArtifactRecord],
    releases: &[slipway_store::ReleaseRecord],
    policy: &Policy,
    now_ms: i64,
) -> Vec<Decision> {
    // releases come newest first.
    let mut protected: HashMap<&str, String> = HashMap::new();
    let mut per_environment: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for release in releases {
        let seen = per_environment
            .entry(release.environment.as_str())
            .or_default();
        if seen.contains(&release.digest.as_str()) {
            continue;
        }
        let rank = seen.len();
        seen.push(&release.digest);
        let reason = if rank == 0 {
            Some(format!("running in {}", release.environment))
        } else if release.environment == policy.production && rank < policy.production_releases {
            Some(format!(
                "one of {}'s last {} releases",
                release.environment, policy.production_releases
            ))
        } else if rank < policy.keep_last {
            Some(format!(
                "one of the last {} artifacts of {}",
                policy.keep_last, release.environment
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            protected.entry(&release.digest).or_insert(reason);
        }
    }
    let deployed: BTreeSet<&str> = releases.iter().map(|r| r.digest.as_str()).collect();
    let ttl_ms = i64::try_from(policy.pull_requests.as_millis()).unwrap_or(i64::MAX);
    // artifacts come newest first; count per branch among those never deployed.
    let mut per_branch: HashMap<&str, usize> = HashMap::new();
    artifacts
        .iter()
        .map(|artifact| {
            let (delete, reason) = if let Some(reason) = protected.get(artifact.digest.as_str()) {
                (false, reason.clone())
            } else if artifact.event == "pull_request" {
                let age_ms = now_ms - artifact.created_at;
                if age_ms > ttl_ms {
                    (
                        true,
                        format!(
                            "pull-request artifact older than {}",
                            days(policy.pull_requests)
                        ),
                    )
                } else {
                    (
                        false,
                        format!(
                            "pull-request artifact younger than {}",
                            days(policy.pull_requests)
                        ),
                    )
                }
            } else if deployed.contains(artifact.digest.as_str()) {
                (
                    true,
                    "released before, and no longer among its environments' kept releases"
                        .to_owned(),
                )
            } else {
                let count = per_branch.entry(artifact.git_ref.as_str()).or_default();
                *count += 1;
                if *count <= policy.keep_last {
                    (
                        false,
                        format!(
                            "one of the newest {} artifacts of {}",
                            policy.keep_last, artifact.git_ref
                        ),
                    )
                } else {
                    (
                        true,
                        format!(
                            "older than the newest {} artifacts of {}",
                            policy.keep_last, artifact.git_ref
                        ),
                    )
                }
            };
            Decision {
                digest: artifact.digest.clone(),
                name: artifact.name.clone(),
                tags: artifact.tags.clone(),
                delete,
                reason,
            }
        })
        .collect()
}

fn days(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else {
        format!("{}h", secs / 3_600)
    }
}

/// Applies `policy` to every artifact of the store. With `dry_run`, nothing is deleted and the
/// report says what would be.
pub async fn collect(
    artifacts: &Artifacts,
    policy: &Policy,
    now_ms: i64,
    dry_run: bool,
) -> Result<Report> {
    let index = artifacts.index();
    let records = index.artifacts(i64::MAX).await?;
    let releases = index.releases().await?;
    let decisions = decide(&records, &releases, policy, now_ms);
    let doomed: BTreeSet<&str> = decisions
        .iter()
        .filter(|d| d.delete)
        .map(|d| d.digest.as_str())
        .collect();
    // A blob is freed when every artifact (or subject) that names it is deleted.
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (owner, blob) in index.blob_references().await? {
        owners.entry(blob).or_default().push(owner);
    }
    let freed: Vec<&String> = owners
        .iter()
        .filter(|(_, named_by)| named_by.iter().all(|owner| doomed.contains(owner.as_str())))
        .map(|(blob, _)| blob)
        .collect();
    let mut freed_bytes = 0;
    for blob in &freed {
        freed_bytes += artifacts
            .blobs()
            .size(&parse_digest(blob)?)
            .await?
            .unwrap_or(0);
    }
    if !dry_run {
        for digest in &doomed {
            artifacts.delete(digest).await?;
        }
    }
    Ok(Report {
        dry_run,
        deleted: doomed.len(),
        kept: decisions.len() - doomed.len(),
        blobs: freed.len(),
        freed_bytes,
        decisions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_store::ReleaseRecord;

    const DAY: i64 = 86_400_000;

    fn artifact(n: u8, git_ref: &str, event: &str, created_at: i64) -> ArtifactRecord {
        ArtifactRecord {
            digest: format!("sha256:{}", format!("{n:02x}").repeat(32)),
            name: "app".into(),
            run_id: None,
            repository: "r".into(),
            commit_sha: "c".into(),
            git_ref: git_ref.into(),
            event: event.into(),
            size: 1,
            created_at,
            tags: vec![format!("t-{n}")],
        }
    }

    fn release(environment: &str, n: u8, created_at: i64) -> ReleaseRecord {
        ReleaseRecord {
            id: format!("{environment}-{created_at}"),
            environment: environment.into(),
            digest: format!("sha256:{}", format!("{n:02x}").repeat(32)),
            created_at,
        }
    }

    #[test]
    fn running_releases_and_production_history_are_never_deleted() {
        let now = 100 * DAY;
        // Newest first, as the store lists them: 6..1 on main.
        let artifacts: Vec<_> = (1..=6)
            .rev()
            .map(|n| artifact(n, "refs/heads/main", "push", i64::from(n) * DAY))
            .collect();
        let releases = vec![
            release("staging", 6, 6 * DAY),
            release("production", 5, 5 * DAY),
            release("production", 3, 4 * DAY),
            release("production", 1, 2 * DAY),
        ];
        let policy = Policy {
            keep_last: 1,
            production_releases: 2,
            ..Policy::default()
        };
        let decisions = decide(&artifacts, &releases, &policy, now);
        let by_tag: BTreeMap<&str, (bool, &str)> = decisions
            .iter()
            .map(|d| (d.tags[0].as_str(), (d.delete, d.reason.as_str())))
            .collect();
        assert_eq!(by_tag["t-6"], (false, "running in staging"));
        assert_eq!(by_tag["t-5"], (false, "running in production"));
        assert_eq!(
            by_tag["t-3"],
            (false, "one of production's last 2 releases")
        );
        assert!(
            by_tag["t-1"].0,
            "the third production release back goes: {:?}",
            by_tag["t-1"]
        );
        // Never deployed: the newest one of main is kept, the older one goes.
        assert!(!by_tag["t-4"].0);
        assert!(by_tag["t-2"].0);
    }

    #[test]
    fn pull_request_artifacts_expire() {
        let now = 30 * DAY;
        let artifacts = vec![
            artifact(2, "refs/pull/7/head", "pull_request", 20 * DAY),
            artifact(1, "refs/pull/7/head", "pull_request", 10 * DAY),
        ];
        let policy = Policy {
            pull_requests: Duration::from_secs(14 * 86_400),
            ..Policy::default()
        };
        let decisions = decide(&artifacts, &[], &policy, now);
        assert!(!decisions[0].delete);
        assert!(decisions[1].delete);
        assert_eq!(decisions[1].reason, "pull-request artifact older than 14d");
    }
}
