use crate::Outcome;
use crate::cli::RunArgs;
use crate::render;
use crate::repo::PipelineFile;
use anyhow::{Context, bail};
use slipway_pipeline::plan::{self, Event, EventKind, PlanInput};
use slipway_runner::{JobStatus, RunOptions, RunStatus};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The exit code of a run stopped by Ctrl-C, as shells report SIGINT.
pub const INTERRUPTED_EXIT: u8 = 130;

pub fn run(args: &RunArgs) -> anyhow::Result<Outcome> {
    let file = PipelineFile::locate(args.file.file.as_deref())?;
    let loaded = file.load();
    if loaded.has_errors() {
        eprint!("{}", render::human(&loaded.diagnostics, &loaded.sources));
        bail!(
            "{}: {}; fix them first (see `slipway lint`)",
            file.display,
            render::counts(&loaded.diagnostics)
        );
    }
    if !file.in_git {
        bail!(
            "{} is not in a git repository; `slipway run` runs a commit's tree\n  hint: `git init && git add -A && git commit -m init`",
            file.display
        );
    }
    let head =
        slipway_vcs::head(&file.root).context("cannot read HEAD (is there a commit yet?)")?;
    let kind = EventKind::from(args.event);
    let event = Event {
        kind,
        git_ref: if head.git_ref.starts_with("refs/") {
            head.git_ref.clone()
        } else {
            "refs/heads/main".into()
        },
        sha: head.sha.clone(),
        actor: std::env::var("SLIPWAY_ACTOR").unwrap_or_else(|_| head.actor.clone()),
        base: (kind == EventKind::PullRequest).then(|| "main".to_string()),
    };
    // Manual runs are asked for by a person: path filters do not second-guess them.
    let changed = match kind {
        EventKind::Manual => None,
        _ if !loaded.pipeline.uses_path_filters() => None,
        _ => slipway_vcs::changed_files(&file.root, None).ok(),
    };
    let mut plan = plan::plan(
        &loaded.pipeline,
        &PlanInput {
            event: &event,
            changed_files: changed.as_deref(),
        },
    );
    if !args.jobs.is_empty() {
        plan = restrict(plan, &args.jobs)?;
    }
    if plan.jobs.iter().all(|j| !j.runs) && !args.json {
        eprintln!("nothing to run: every job is skipped (see `slipway plan`)");
    }
    let state_dir = state_dir(&args.state.state_dir, &file.root);
    let dirty_files = slipway_vcs::git(
        &file.root,
        &["status", "--porcelain"],
        slipway_vcs::LOCAL_TIMEOUT,
    )
    .unwrap_or_default();
    if args.dirty && !args.json {
        eprintln!(
            "warning: --dirty: uncommitted changes are part of this run, so it does not reproduce commit {}",
            &head.sha[..12]
        );
    } else if !dirty_files.trim().is_empty() && !args.json {
        eprintln!(
            "note: uncommitted changes are not part of this run (it runs commit {}); pass --dirty to include them",
            &head.sha[..12]
        );
    }
    let pipeline_path = relative(&file.root, &std::env::current_dir()?.join(&file.display));
    let concurrency = concurrency_group(&loaded.pipeline, &event)?;
    execute(Execution {
        root: file.root.clone(),
        state_dir,
        pipeline_path,
        pipeline_sha256: slipway_pipeline::digest::sha256_hex(file.text.as_bytes()),
        pipeline: loaded.pipeline,
        templates: loaded.templates,
        plan,
        event,
        parallelism: args.parallelism,
        dirty: args.dirty,
        keep_workspaces: args.keep_workspaces,
        sandbox: args.sandbox,
        debug_on_failure: args.debug_on_failure,
        json: args.json,
        concurrency,
        rerun: None,
    })
}

/// The concurrency group of a run, rendered from the pipeline's `concurrency.group`.
fn concurrency_group(
    pipeline: &slipway_pipeline::Pipeline,
    event: &Event,
) -> anyhow::Result<Option<(String, bool)>> {
    let Some(concurrency) = &pipeline.concurrency else {
        return Ok(None);
    };
    let Some(group) = &concurrency.group else {
        return Ok(None);
    };
    let mut scope = slipway_pipeline::expr::Scope::default();
    scope.contexts.insert("event".into(), event.context());
    let env = pipeline.env.iter().flatten().map(|(k, v)| {
        (
            k.name.clone(),
            slipway_pipeline::expr::Value::String(v.text.value.clone()),
        )
    });
    scope.contexts.insert(
        "env".into(),
        slipway_pipeline::expr::Value::Object(env.collect()),
    );
    let rendered = scope
        .render(&group.segments)
        .map_err(|e| anyhow::anyhow!("concurrency.group: {e}"))?;
    let cancel = concurrency
        .cancel_in_progress
        .as_ref()
        .is_some_and(|c| c.value);
    Ok(Some((rendered, cancel)))
}

/// What `run` and `rerun` hand to the runner.
pub struct Execution {
    pub root: PathBuf,
    pub state_dir: PathBuf,
    pub pipeline_path: String,
    pub pipeline_sha256: String,
    pub pipeline: slipway_pipeline::Pipeline,
    /// Included templates, recorded in the provenance.
    pub templates: Vec<slipway_pipeline::load::TemplateRecord>,
    pub plan: plan::Plan,
    pub event: Event,
    pub parallelism: Option<usize>,
    pub dirty: bool,
    pub keep_workspaces: bool,
    pub sandbox: bool,
    pub debug_on_failure: bool,
    pub json: bool,
    pub concurrency: Option<(String, bool)>,
    pub rerun: Option<slipway_runner::Rerun>,
}

pub fn execute(execution: Execution) -> anyhow::Result<Outcome> {
    let parallelism = execution
        .parallelism
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(parallelism.clamp(1, 4))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let json = execution.json;
    // The builder key is opened before any step runs, so a missing passphrase fails the run
    // before it starts; steps never see it (their environment is an allowlist, and sandboxes
    // mask its file).
    let builds_artifact = execution.plan.jobs.iter().any(|planned| {
        planned.runs
            && execution
                .pipeline
                .jobs
                .iter()
                .flatten()
                .any(|(id, job)| id.name == planned.job && job.artifact.is_some())
    });
    let actor = slipway_audit::Actor::resolve(Some(&execution.root));
    let audit_state_dir = execution.state_dir.clone();
    let mut key_generated = None;
    let builder_key = if builds_artifact {
        let (key, generated) = super::audit::load_builder_key(&execution.state_dir, &actor)?;
        key_generated = generated;
        if key.development && !json {
            eprintln!(
                "note: signing with this machine's development key ({}); set {} (and {}) to sign as a configured builder",
                key.path.display(),
                slipway_evidence::keys::SIGNING_KEY_ENV,
                slipway_sign::keyfile::PASSPHRASE_ENV
            );
        }
        Some(key)
    } else {
        None
    };
    let templates = execution.templates;
    runtime.block_on(async {
        let store = Arc::new(slipway_store::Store::open_in(&execution.state_dir).await?);
        if let Some(event) = &key_generated {
            store.append_audit(event).await?;
        }
        let (interrupt_tx, interrupt_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
            }
            let _ = interrupt_tx.send(true);
        });
        if !json {
            eprintln!(
                "slipway run: commit {} on {}, {parallelism} at once",
                &execution.event.sha[..12.min(execution.event.sha.len())],
                execution.event.git_ref
            );
        }
        let source_date_epoch = slipway_vcs::commit_time(&execution.root, &execution.event.sha)?;
        let masked_paths = builder_key
            .iter()
            .filter(|key| !key.development)
            .map(|key| key.path.clone())
            .collect();
        // CI systems that know the canonical URL of the repository name it here; a rebuild
        // names the repository its provenance recorded.
        let repository_uri = std::env::var(REPOSITORY_ENV)
            .ok()
            .filter(|uri| !uri.trim().is_empty())
            .unwrap_or_else(|| slipway_vcs::repository_uri(&execution.root));
        let options = RunOptions {
            repo_root: execution.root,
            toolchains: crate::toolchains::versions(&execution.state_dir),
            state_dir: execution.state_dir,
            pipeline_path: execution.pipeline_path,
            pipeline_sha256: execution.pipeline_sha256,
            pipeline: execution.pipeline,
            plan: execution.plan,
            event: execution.event,
            parallelism,
            dirty: execution.dirty,
            keep_workspaces: execution.keep_workspaces,
            sandbox: execution.sandbox,
            debug_on_failure: execution.debug_on_failure,
            json,
            grace: Duration::from_secs(5),
            secrets: slipway_secrets::ResolveContext::from_process_env(),
            runner_version: env!("CARGO_PKG_VERSION").to_string(),
            interrupt: interrupt_rx,
            concurrency: execution.concurrency,
            rerun: execution.rerun,
            source_date_epoch,
            repository_uri: repository_uri.clone(),
            masked_paths,
        };
        let facts_state_dir = options.state_dir.clone();
        let facts_state_dir_for_deploys = options.state_dir.clone();
        let facts_base = (
            options.event.clone(),
            options.pipeline_path.clone(),
            options.pipeline_sha256.clone(),
            options.runner_version.clone(),
            options.toolchains.clone(),
            options.dirty,
            options.sandbox,
            options.state_dir.clone(),
        );
        let gate_policy = slipway_scan::GatePolicy::from_pipeline(options.pipeline.gates.as_ref());
        let deploys = super::deliver::DeployJobs::of(&options.pipeline, &options.repo_root, &options.event.actor);
        // Loaded before the run, so a broken policy fails fast instead of after the build.
        let release_policy = super::policy::load_set(&options.repo_root)?;
        let config = super::audit::config_items(
            &options.repo_root,
            &options.pipeline_path,
            &options.pipeline_sha256,
            Some(&release_policy),
        );
        super::audit::record_config_changes(&store, &actor, &config, Some(&options.event.sha)).await?;
        let gate_source = (options.repo_root.clone(), options.event.clone(), options.dirty);
        let outcome = slipway_runner::run(options, store.clone()).await?;
        let mut evidence = match (&outcome.artifact, &builder_key) {
            (Some(artifact), Some(key)) if outcome.status == RunStatus::Success => {
                let (event, pipeline_path, pipeline_sha256, runner_version, toolchains, dirty, sandbox, state_dir) =
                    facts_base;
                let record = store.run(&outcome.run_id).await?;
                let facts = slipway_evidence::RunFacts {
                    run_id: outcome.run_id.clone(),
                    run_number: outcome.number,
                    repository: repository_uri,
                    git_ref: event.git_ref.clone(),
                    commit: event.sha.clone(),
                    pipeline_path,
                    pipeline_sha256,
                    event: event.kind.as_str().to_owned(),
                    job: artifact.job.clone(),
                    runner_version,
                    sandbox,
                    dirty,
                    toolchains,
                    templates: templates
                        .iter()
                        .map(|t| slipway_evidence::TemplateFact {
                            uri: t.reference.clone(),
                            sha256: t.sha256.clone(),
                            git_commit: t.revision.clone(),
                        })
                        .collect(),
                    started_on_ms: record.started_at.unwrap_or(record.created_at),
                    finished_on_ms: record.finished_at.unwrap_or_else(slipway_store::now_ms),
                    logs: log_digests(&outcome.events_path),
                    tests: outcome
                        .jobs
                        .iter()
                        .flat_map(|job| {
                            job.reports.iter().map(|r| slipway_evidence::TestReport {
                                job: job.id.clone(),
                                path: r.path.clone(),
                                sha256: r.sha256.clone(),
                                tests: r.tests,
                                failures: r.failures,
                                errors: r.errors,
                                skipped: r.skipped,
                            })
                        })
                        .collect(),
                };
                let artifacts = slipway_artifact::Artifacts::open_in(&state_dir).await?;
                slipway_evidence::attest(&artifacts, &artifact.digest, &facts, key).await?
            }
            _ => Vec::new(),
        };
        let gates = if outcome.status == RunStatus::Cancelled {
            None
        } else {
            let (repository, event, dirty) = gate_source;
            let state_dir = facts_state_dir;
            let report = run_gates(
                &state_dir,
                &store,
                &outcome,
                GateInputs {
                    repository,
                    commit: event.sha.clone(),
                    base: event.base.clone(),
                    dirty,
                    policy: gate_policy,
                },
            )
            .await?;
            let digest = outcome.artifact.as_ref().map(|a| a.digest.as_str());
            super::audit::record_gates(&store, &actor, &outcome.run_id, digest, &report).await?;
            if let (Some(artifact), Some(key)) = (&outcome.artifact, &builder_key)
                && outcome.status == RunStatus::Success
            {
                let artifacts = slipway_artifact::Artifacts::open_in(&state_dir).await?;
                evidence.push(
                    slipway_scan::scans::attach_report(&artifacts, &artifact.digest, key, &report)
                        .await?,
                );
            }
            if report.verdict == slipway_scan::Verdict::Fail && outcome.status == RunStatus::Success {
                store
                    .set_run_status(&outcome.run_id, "failure", Some("security gates failed"))
                    .await?;
            }
            Some(report)
        };
        let gates_failed = gates
            .as_ref()
            .is_some_and(|g| g.verdict == slipway_scan::Verdict::Fail);
        // The release decision: may this artifact be released at all?
        let release_decision = match (&outcome.artifact, &builder_key) {
            (Some(artifact), Some(key)) if outcome.status == RunStatus::Success && !gates_failed => {
                let artifacts = slipway_artifact::Artifacts::open_in(&facts_state_dir_for_deploys).await?;
                let trust = super::deliver::trust_of_state(&facts_state_dir_for_deploys)?;
                let decision = slipway_policy::decide_release(
                    &artifacts,
                    &artifact.digest,
                    &trust,
                    &release_policy,
                    slipway_policy::input::Actor {
                        name: actor.name.clone(),
                        source: actor.source.as_str().to_owned(),
                    },
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    Some(key),
                )
                .await?;
                store
                    .append_audit(&slipway_delivery::decide::decision_event(&actor.name, &artifact.digest, None, &decision))
                    .await?;
                if !decision.allow {
                    store
                        .set_run_status(&outcome.run_id, "failure", Some("the release policy denied the artifact"))
                        .await?;
                }
                Some(decision)
            }
            _ => None,
        };
        let release_denied = release_decision.as_ref().is_some_and(|d| !d.allow);
        super::audit::seal(&store, &audit_state_dir, &actor).await;
        let mut deploy_refused = false;
        if let Some(artifact) = outcome
            .artifact
            .as_ref()
            .filter(|_| outcome.status == RunStatus::Success && !gates_failed && !release_denied)
        {
            for deployed in deploys.run(&facts_state_dir_for_deploys, &outcome.jobs, &artifact.digest).await? {
                deploy_refused |= deployed.status != slipway_delivery::promote::PromoteStatus::Started;
                super::deliver::report_deploy(&deployed, json)?;
            }
            if deploy_refused {
                store
                    .set_run_status(&outcome.run_id, "failure", Some("a deploy was refused"))
                    .await?;
            }
        }
        if json {
            if let Some(report) = &gates {
                let mut line = serde_json::to_value(report)?;
                if let Some(object) = line.as_object_mut() {
                    object.insert("event".into(), "gates".into());
                    object.insert("run_id".into(), outcome.run_id.clone().into());
                }
                println!("{line}");
            }
            if let Some(decision) = &release_decision {
                let mut line = serde_json::to_value(decision)?;
                if let Some(object) = line.as_object_mut() {
                    object.insert("event".into(), "release_decision".into());
                    object.insert("run_id".into(), outcome.run_id.clone().into());
                }
                println!("{line}");
            }
            if let Some(artifact) = &outcome.artifact {
                println!(
                    "{}",
                    serde_json::json!({
                        "event": "run_artifact",
                        "run_id": outcome.run_id,
                        "digest": artifact.digest,
                        "name": artifact.name,
                        "tag": artifact.tag,
                        "evidence": evidence,
                    })
                );
            }
        } else {
            print_summary(&outcome, &evidence, gates.as_ref(), release_decision.as_ref());
        }
        Ok(match outcome.status {
            RunStatus::Success if gates_failed || release_denied || deploy_refused => Outcome::Failed,
            RunStatus::Success => Outcome::Success,
            RunStatus::Failure => Outcome::Failed,
            RunStatus::Cancelled => Outcome::Interrupted,
        })
    })
}

/// Keeps the named jobs (matrix instances of a named job too) and everything they need.
pub fn restrict(mut plan: plan::Plan, wanted: &[String]) -> anyhow::Result<plan::Plan> {
    let mut keep: Vec<String> = Vec::new();
    for name in wanted {
        let matching: Vec<String> = plan
            .jobs
            .iter()
            .filter(|j| j.id == *name || j.job == *name)
            .map(|j| j.id.clone())
            .collect();
        if matching.is_empty() {
            let ids: Vec<&str> = plan.jobs.iter().map(|j| j.job.as_str()).collect();
            bail!("no job `{name}`; jobs are: {}", ids.join(", "));
        }
        keep.extend(matching);
    }
    let mut index = 0;
    while index < keep.len() {
        let needs = plan
            .jobs
            .iter()
            .find(|j| j.id == keep[index])
            .map(|j| j.needs.clone())
            .unwrap_or_default();
        for need in needs {
            if !keep.contains(&need) {
                keep.push(need);
            }
        }
        index += 1;
    }
    plan.jobs.retain(|j| keep.contains(&j.id));
    plan.critical_path.retain(|id| keep.contains(id));
    Ok(plan)
}

pub fn state_dir(arg: &Option<PathBuf>, root: &Path) -> PathBuf {
    arg.clone().unwrap_or_else(|| root.join(".slipway"))
}

fn relative(root: &Path, path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    canonical
        .strip_prefix(&root)
        .map_or_else(|_| path.display().to_string(), |p| p.display().to_string())
}

/// Overrides how the repository is named in artifacts and provenance.
pub const REPOSITORY_ENV: &str = "SLIPWAY_REPOSITORY";

/// The run's logs as provenance byproducts: each event log file with its sha256.
fn log_digests(events_path: &Path) -> Vec<(String, String)> {
    match std::fs::read(events_path) {
        Ok(bytes) => vec![(
            events_path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            slipway_pipeline::digest::sha256_hex(&bytes),
        )],
        Err(_) => Vec::new(),
    }
}

/// What the gates of a run need besides its outcome.
struct GateInputs {
    repository: PathBuf,
    commit: String,
    /// The branch a pull request targets: its new commits are `base..commit`.
    base: Option<String>,
    dirty: bool,
    policy: slipway_scan::GatePolicy,
}

/// Scans what the run built from and produced, and judges it by the pipeline's gates.
async fn run_gates(
    state_dir: &Path,
    store: &slipway_store::Store,
    outcome: &slipway_runner::RunOutcome,
    inputs: GateInputs,
) -> anyhow::Result<slipway_scan::GateReport> {
    let artifacts = slipway_artifact::Artifacts::open_in(state_dir).await?;
    let source = tempfile::Builder::new()
        .prefix("slipway-gates-")
        .tempdir_in(artifacts.blobs().staging_dir())
        .context("cannot create a directory for the gates' copy of the tree")?;
    let tree = source.path().join("tree");
    slipway_runner::workspace::export(&inputs.repository, &inputs.commit, &tree)?;
    if inputs.dirty {
        slipway_runner::workspace::overlay_dirty(&inputs.repository, &tree)?;
    }
    let mut sarif = Vec::new();
    for job in &outcome.jobs {
        for report in &job.sarif {
            let digest = slipway_cas::Digest::from_hex(&report.sha256)?;
            let bytes = artifacts.blobs().get_bytes(&digest).await?;
            sarif.push((format!("{}:{}", job.id, report.path), bytes.to_vec()));
        }
    }
    let range = inputs
        .base
        .as_ref()
        .map(|base| format!("{base}..{}", inputs.commit))
        .filter(|range| {
            slipway_vcs::git(
                &inputs.repository,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    range.split("..").next().unwrap_or_default(),
                ],
                slipway_vcs::LOCAL_TIMEOUT,
            )
            .is_ok()
        });
    let report = slipway_scan::scans::scan_run(
        store,
        &artifacts,
        slipway_scan::scans::RunScan {
            source: tree,
            exported: true,
            repository: inputs.repository,
            range,
            artifact: outcome.artifact.as_ref().map(|a| a.digest.clone()),
            logs: vec![outcome.events_path.clone()],
            sarif,
            policy: inputs.policy,
            now: crate::commands::scan::now()?,
        },
    )
    .await?;
    Ok(report)
}

fn print_summary(
    outcome: &slipway_runner::RunOutcome,
    evidence: &[slipway_store::EvidenceRecord],
    gates: Option<&slipway_scan::GateReport>,
    release_decision: Option<&slipway_policy::Decision>,
) {
    let width = outcome
        .jobs
        .iter()
        .map(|j| j.id.chars().count())
        .max()
        .unwrap_or(3)
        .max(3);
    eprintln!();
    eprintln!(
        "  {:<width$}  {:<11}  {:<17}  {:>8}  {:>10}  cache",
        "job", "stage", "status", "duration", "attempts"
    );
    for job in &outcome.jobs {
        let status = match (job.status, job.continue_on_error) {
            (JobStatus::Failure | JobStatus::TimedOut, true) => {
                format!("{} (allowed)", job.status.as_str())
            }
            (JobStatus::Skipped, _) if job.satisfied => "not affected".to_string(),
            (JobStatus::Success, _) if job.reused => "reused".to_string(),
            (status, _) => status.as_str().to_string(),
        };
        let duration = if job.attempts == 0 {
            "-".to_string()
        } else {
            format!("{:.1}s", job.duration_ms as f64 / 1000.0)
        };
        let attempts = match job.attempts {
            0 => "-".to_string(),
            n if n > 1 && job.status == JobStatus::Success => format!("{n} (flaky)"),
            n => n.to_string(),
        };
        eprintln!(
            "  {:<width$}  {:<11}  {:<17}  {:>8}  {:>10}  {}",
            job.id,
            job.stage,
            status,
            duration,
            attempts,
            job.cache.as_deref().unwrap_or("-")
        );
    }
    if let Some(artifact) = &outcome.artifact {
        eprintln!();
        eprintln!(
            "artifact {} {} (tag {}, {} files, {} bytes, packaged in {:.2}s)",
            artifact.name,
            artifact.digest,
            artifact.tag,
            artifact.files,
            artifact.size,
            artifact.packaging_ms as f64 / 1000.0
        );
        for item in evidence {
            eprintln!("  evidence {:<15} {}", item.kind, item.digest);
        }
    }
    if let Some(report) = gates {
        eprintln!();
        eprint!("{}", crate::commands::scan::render_report(report));
    }
    if let Some(decision) = release_decision {
        eprintln!();
        eprint!("{}", crate::commands::policy::summary(decision));
    }
    let gates_failed = gates.is_some_and(|report| report.verdict == slipway_scan::Verdict::Fail);
    let release_denied = release_decision.is_some_and(|d| !d.allow);
    let status = match outcome.status {
        RunStatus::Success if gates_failed => "failure (security gates)",
        RunStatus::Success if release_denied => "failure (release policy)",
        status => status.as_str(),
    };
    eprintln!();
    eprintln!(
        "run #{} {} in {:.1}s (id {}; logs: slipway logs {})",
        outcome.number,
        status,
        outcome.duration_ms as f64 / 1000.0,
        outcome.run_id,
        outcome.number
    );
}
