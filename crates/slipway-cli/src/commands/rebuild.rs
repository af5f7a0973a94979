//! `slipway verify --rebuild`: build the artifact again from what its provenance records —
//! the same commit, the same pipeline file (by digest), the same job and event — in a fresh
//! clone with a fresh state directory, and compare the digests. When they differ, name the
//! first file that differs.

use anyhow::{Context, bail};
use serde_json::Value;
use slipway_artifact::Artifacts;
use slipway_evidence::verify::Check;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHECK: &str = "rebuild";

/// The parameters a rebuild needs, read from the verified provenance.
struct Recipe {
    repository: String,
    commit: String,
    pipeline_path: String,
    pipeline_sha256: String,
    event: String,
    job: String,
}

pub fn rebuild(
    state_dir: &Path,
    digest: &str,
    policy: &slipway_sign::TrustPolicy,
) -> anyhow::Result<Check> {
    let recipe = match read_recipe(state_dir, digest, policy) {
        Ok(recipe) => recipe,
        Err(error) => return Ok(fail(format!("{error:#}"))),
    };
    let scratch = tempfile::Builder::new()
        .prefix("slipway-rebuild-")
        .tempdir()?;
    let source = scratch.path().join("source");
    if let Err(error) = checkout(&recipe, &source) {
        return Ok(fail(format!("{error:#}")));
    }
    let pipeline = std::fs::read(source.join(&recipe.pipeline_path))
        .with_context(|| format!("the commit has no pipeline file {}", recipe.pipeline_path))?;
    let actual = slipway_pipeline::digest::sha256_hex(&pipeline);
    if actual != recipe.pipeline_sha256 {
        return Ok(fail(format!(
            "{} at {} has sha256 {actual}, but the provenance records {}",
            recipe.pipeline_path, recipe.commit, recipe.pipeline_sha256
        )));
    }
    let rebuild_state = scratch.path().join("state");
    let rebuilt = match run_build(&recipe, &source, &rebuild_state) {
        Ok(digest) => digest,
        Err(error) => return Ok(fail(format!("{error:#}"))),
    };
    if rebuilt == digest {
        return Ok(Check {
            name: CHECK.into(),
            ok: true,
            detail: format!(
                "job `{}` of {} rebuilt in a clean workspace gives the same digest",
                recipe.job, recipe.commit
            ),
        });
    }
    let difference = first_differing_file(state_dir, digest, &rebuild_state, &rebuilt)
        .unwrap_or_else(|error| format!("(the files could not be compared: {error:#})"));
    Ok(fail(format!(
        "the rebuild gives {rebuilt}, not {digest}; {difference}"
    )))
}

fn fail(detail: String) -> Check {
    Check {
        name: CHECK.into(),
        ok: false,
        detail,
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    crate::commands::history::runtime()
}

fn read_recipe(
    state_dir: &Path,
    digest: &str,
    policy: &slipway_sign::TrustPolicy,
) -> anyhow::Result<Recipe> {
    let statement = runtime()?.block_on(async {
        let artifacts = Artifacts::open_in(state_dir).await?;
        let provenance = artifacts
            .evidence(digest)
            .await?
            .into_iter()
            .find(|e| e.kind == slipway_evidence::attest::KIND_PROVENANCE)
            .context("no provenance is attached to rebuild from")?;
        let bytes = artifacts.evidence_bytes(&provenance.digest).await?;
        let envelope = slipway_sign::Envelope::from_json(&bytes)?;
        let keys: Vec<_> = policy
            .builders()
            .iter()
            .flat_map(|b| b.keys.iter().cloned())
            .collect();
        let verified = envelope.verify(&keys, 1).context(
            "the provenance is not signed by a trusted key, so it cannot be rebuilt from",
        )?;
        anyhow::Ok(slipway_sign::intoto::parse_statement(&verified.payload)?)
    })?;
    let external = statement
        .predicate
        .pointer("/buildDefinition/externalParameters")
        .context("the provenance has no externalParameters")?;
    let text = |pointer: &str| {
        external
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("the provenance's externalParameters lack {pointer}"))
    };
    Ok(Recipe {
        repository: text("/repository")?,
        commit: text("/commit")?,
        pipeline_path: text("/pipeline/path")?,
        pipeline_sha256: text("/pipeline/digest/sha256")?,
        event: text("/event")?,
        job: text("/job")?,
    })
}

/// A fresh clone at the commit: from the repository the current directory is in when it has
/// the commit, else from the repository the provenance names.
fn checkout(recipe: &Recipe, dest: &Path) -> anyhow::Result<()> {
    let timeout = slipway_vcs::LOCAL_TIMEOUT * 12;
    let here = std::env::current_dir()
        .ok()
        .and_then(|cwd| slipway_vcs::toplevel(&cwd).ok())
        .filter(|root| {
            slipway_vcs::git(
                root,
                &["cat-file", "-e", &format!("{}^{{commit}}", recipe.commit)],
                slipway_vcs::LOCAL_TIMEOUT,
            )
            .is_ok()
        });
    let origin = match &here {
        Some(root) => root.display().to_string(),
        None => recipe.repository.clone(),
    };
    let parent = dest.parent().unwrap_or(dest);
    let name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("source");
    slipway_vcs::git(
        parent,
        &["clone", "--quiet", "--no-checkout", &origin, name],
        timeout,
    )
    .with_context(|| format!("cannot clone {origin}"))?;
    slipway_vcs::git(
        dest,
        &["checkout", "--quiet", "--detach", &recipe.commit],
        timeout,
    )
    .with_context(|| format!("{origin} does not have the commit {}", recipe.commit))?;
    Ok(())
}

/// Runs the job (and what it needs) with this same binary and a fresh state directory;
/// returns the digest it packaged.
fn run_build(recipe: &Recipe, source: &Path, state: &Path) -> anyhow::Result<String> {
    let output = Command::new(std::env::current_exe()?)
        .args([
            "run",
            "--job",
            &recipe.job,
            "--event",
            &recipe.event.replace('_', "-"),
            "--json",
            "--file",
            &recipe.pipeline_path,
        ])
        .arg("--state-dir")
        .arg(state)
        .current_dir(source)
        .env_remove("SLIPWAY_STATE_DIR")
        .env(super::run::REPOSITORY_ENV, &recipe.repository)
        // The rebuild is a check, not a release: it signs with a throwaway development key.
        .env_remove(slipway_evidence::keys::SIGNING_KEY_ENV)
        .output()
        .context("cannot start the rebuild")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let packaged = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["event"] == "artifact_packaged");
    match packaged.and_then(|event| event["digest"].as_str().map(str::to_owned)) {
        Some(digest) => Ok(digest),
        None => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let failed: Vec<String> = stdout
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|e| {
                    e["event"] == "job_finished"
                        && e["status"] != "success"
                        && e["status"] != "skipped"
                })
                .map(|e| {
                    format!(
                        "{} {}",
                        e["job"].as_str().unwrap_or("?"),
                        e["status"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            bail!(
                "the rebuild packaged no artifact ({}){}",
                if failed.is_empty() {
                    "no job failed".to_owned()
                } else {
                    failed.join(", ")
                },
                if stderr.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", stderr.trim())
                }
            )
        }
    }
}

/// Unpacks both images and names the first file (in path order) whose presence or content
/// differs.
fn first_differing_file(
    state: &Path,
    digest: &str,
    rebuild_state: &Path,
    rebuilt: &str,
) -> anyhow::Result<String> {
    let scratch = tempfile::Builder::new()
        .prefix("slipway-compare-")
        .tempdir()?;
    let (original_dir, rebuilt_dir) = (
        scratch.path().join("original"),
        scratch.path().join("rebuilt"),
    );
    runtime()?.block_on(async {
        for (state, digest, dir) in [
            (state, digest, &original_dir),
            (rebuild_state, rebuilt, &rebuilt_dir),
        ] {
            let artifacts = Artifacts::open_in(state).await?;
            let inspection = artifacts.inspect(digest).await?;
            artifacts
                .unpack(&inspection.manifest, &inspection.config, dir)
                .await?;
        }
        anyhow::Ok(())
    })?;
    let (left, right) = (files(&original_dir)?, files(&rebuilt_dir)?);
    let mut all: Vec<&PathBuf> = left.iter().chain(right.iter()).collect();
    all.sort();
    all.dedup();
    for path in all {
        let (a, b) = (
            std::fs::read(original_dir.join(path)).ok(),
            std::fs::read(rebuilt_dir.join(path)).ok(),
        );
        match (a, b) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) => {
                let offset = a
                    .iter()
                    .zip(&b)
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.len().min(b.len()));
                return Ok(format!(
                    "the first differing file is /{} ({} vs {} bytes, first difference at byte {offset})",
                    path.display(),
                    a.len(),
                    b.len()
                ));
            }
            (Some(_), None) => {
                return Ok(format!("/{} is missing from the rebuild", path.display()));
            }
            (None, _) => return Ok(format!("/{} appears only in the rebuild", path.display())),
        }
    }
    Ok("every file is the same, so the difference is in metadata (modes, times or the image config)".into())
}

fn files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path().strip_prefix(root)?.to_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}
