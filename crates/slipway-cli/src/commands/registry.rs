//! `slipway artifact push|pull`: an artifact and its evidence to and from OCI registries.

use crate::Outcome;
use crate::cli::{ArtifactPullArgs, ArtifactPushArgs, RegistryArgs};
use crate::commands::history::{runtime, state};
use anyhow::Context;
use serde_json::json;
use slipway_artifact::{Artifacts, Origin};
use slipway_registry::{Credentials, PlainHttp, Reference, RegistryOptions, RetryPolicy};
use std::time::Duration;

/// Registry account name, read from the environment only.
const USERNAME_ENV: &str = "SLIPWAY_REGISTRY_USERNAME";
/// Registry password or token, read from the environment only (never a flag: flags show in
/// process listings and shell history).
const PASSWORD_ENV: &str = "SLIPWAY_REGISTRY_PASSWORD";

fn options(args: &RegistryArgs) -> anyhow::Result<RegistryOptions> {
    let credentials = match (std::env::var(USERNAME_ENV), std::env::var(PASSWORD_ENV)) {
        (Ok(user), Ok(password)) if !user.is_empty() => Some(Credentials::new(user, password)),
        (Ok(user), Err(_)) if !user.is_empty() => {
            anyhow::bail!(
                "{USERNAME_ENV} is set but {PASSWORD_ENV} is not; set both, or neither for anonymous access"
            )
        }
        _ => None,
    };
    Ok(RegistryOptions {
        plain_http: if args.plain_http {
            PlainHttp::Always
        } else {
            PlainHttp::Auto
        },
        credentials,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        retries: RetryPolicy {
            max_retries: args.retries,
            ..RetryPolicy::default()
        },
        ..RegistryOptions::default()
    })
}

fn attempts_json(attempts: &[slipway_registry::Attempt]) -> Vec<serde_json::Value> {
    attempts
        .iter()
        .map(|a| {
            json!({"what": a.what, "attempt": a.attempt, "error": a.error, "delay_ms": a.delay.as_millis() as u64})
        })
        .collect()
}

pub fn push(args: &ArtifactPushArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let options = options(&args.registry)?;
    let (digest, target, report) = runtime()?.block_on(async {
        let artifacts = Artifacts::open_in(&dir).await?;
        let record = artifacts.resolve(&args.artifact).await?;
        let mut target: Reference = args.target.parse()?;
        if target.tag().is_none() && target.digest().is_none() {
            let tag = record
                .tags
                .first()
                .context("the artifact has no tag; name one in the target (REGISTRY/REPO:TAG)")?;
            target = format!("{}:{tag}", args.target).parse()?;
        }
        let scratch = tempfile::Builder::new()
            .prefix(".slipway-push-")
            .tempdir_in(artifacts.blobs().staging_dir())?;
        let layout = scratch.path().join("layout");
        slipway_artifact::layout::export(&artifacts, &record.digest, &layout, true).await?;
        let report =
            slipway_registry::push_layout(&layout, &record.digest, &target, &options).await?;
        anyhow::Ok((record.digest, target, report))
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "digest": digest,
                "target": target.to_string(),
                "blobs_uploaded": report.blobs_uploaded,
                "blobs_already_present": report.blobs_already_present,
                "referrers": report.referrers.iter().map(|r| json!({"digest": r.digest, "artifact_type": r.artifact_type})).collect::<Vec<_>>(),
                "referrers_path": report.referrers_path.map(|p| p.to_string()),
                "retries": attempts_json(&report.attempts),
            }))?
        );
        return Ok(Outcome::Success);
    }
    for attempt in &report.attempts {
        eprintln!("retried: {attempt}");
    }
    println!(
        "pushed {digest} to {target}: {} blobs sent, {} already there, {} evidence referrers{}",
        report.blobs_uploaded,
        report.blobs_already_present,
        report.referrers.len(),
        report
            .referrers_path
            .map_or_else(String::new, |path| format!(" (through the {path})"))
    );
    Ok(Outcome::Success)
}

pub fn pull(args: &ArtifactPullArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let options = options(&args.registry)?;
    let source: Reference = args.source.parse()?;
    let (report, imported) = runtime()?.block_on(async {
        let artifacts = Artifacts::open_in(&dir).await?;
        let scratch = tempfile::Builder::new()
            .prefix(".slipway-pull-")
            .tempdir_in(artifacts.blobs().staging_dir())?;
        let layout = scratch.path().join("layout");
        let report = slipway_registry::pull_to_layout(&source, &layout, &options).await?;
        let origin = Origin {
            run_id: None,
            repository: source.to_string(),
            commit_sha: String::new(),
            git_ref: String::new(),
            event: "pull".into(),
        };
        let imported = slipway_artifact::layout::import(&artifacts, &layout, &origin).await?;
        anyhow::Ok((report, imported))
    })?;
    let evidence: usize = imported.iter().map(|i| i.evidence).sum();
    let tags: Vec<&str> = imported
        .iter()
        .flat_map(|i| i.tags.iter().map(String::as_str))
        .collect();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "digest": report.image_digest,
                "source": source.to_string(),
                "tags": tags,
                "blobs_downloaded": report.blobs_downloaded,
                "evidence": evidence,
                "referrers_path": report.referrers_path.to_string(),
                "retries": attempts_json(&report.attempts),
            }))?
        );
        return Ok(Outcome::Success);
    }
    for attempt in &report.attempts {
        eprintln!("retried: {attempt}");
    }
    println!(
        "pulled {} from {source}: {} blobs verified, {evidence} pieces of evidence (through the {}){}",
        report.image_digest,
        report.blobs_downloaded,
        report.referrers_path,
        if tags.is_empty() {
            String::new()
        } else {
            format!("; tagged {}", tags.join(", "))
        }
    );
    Ok(Outcome::Success)
}
