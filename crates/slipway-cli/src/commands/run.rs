use crate::Outcome;
use crate::cli::{EventArg, RunArgs};
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
    let kind = match args.event {
        EventArg::Push => EventKind::Push,
        EventArg::PullRequest => EventKind::PullRequest,
        EventArg::Schedule => EventKind::Schedule,
        EventArg::Manual => EventKind::Manual,
    };
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
    let parallelism = args
        .parallelism
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(parallelism.clamp(1, 4))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = Arc::new(slipway_store::Store::open_in(&state_dir).await?);
        let (interrupt_tx, interrupt_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
            }
            let _ = interrupt_tx.send(true);
        });
        let options = RunOptions {
            repo_root: file.root.clone(),
            toolchains: crate::toolchains::versions(&state_dir),
            state_dir,
            pipeline_path,
            pipeline_sha256: slipway_pipeline::digest::sha256_hex(file.text.as_bytes()),
            pipeline: loaded.pipeline.clone(),
            plan,
            event,
            parallelism,
            dirty: args.dirty,
            keep_workspaces: args.keep_workspaces,
            sandbox: args.sandbox,
            debug_on_failure: args.debug_on_failure,
            json: args.json,
            grace: Duration::from_secs(5),
            secrets: slipway_secrets::ResolveContext::from_process_env(),
            runner_version: env!("CARGO_PKG_VERSION").to_string(),
            interrupt: interrupt_rx,
        };
        if !args.json {
            eprintln!("slipway run: commit {} on {}, {parallelism} at once", &head.sha[..12], head.git_ref);
        }
        let outcome = slipway_runner::run(options, store).await?;
        if !args.json {
            print_summary(&outcome);
        }
        Ok(match outcome.status {
            RunStatus::Success => Outcome::Success,
            RunStatus::Failure => Outcome::Failed,
            RunStatus::Cancelled => Outcome::Interrupted,
        })
    })
}

/// Keeps the named jobs (matrix instances of a named job too) and everything they need.
fn restrict(mut plan: plan::Plan, wanted: &[String]) -> anyhow::Result<plan::Plan> {
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

fn print_summary(outcome: &slipway_runner::RunOutcome) {
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
    eprintln!();
    eprintln!(
        "run #{} {} in {:.1}s (id {}; logs: slipway logs {})",
        outcome.number,
        outcome.status.as_str(),
        outcome.duration_ms as f64 / 1000.0,
        outcome.run_id,
        outcome.number
    );
}
