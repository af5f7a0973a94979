use crate::Outcome;
use crate::cli::RerunArgs;
use crate::commands::run::{Execution, execute, state_dir};
use anyhow::{Context, bail};
use slipway_pipeline::plan::{self, Event, EventKind, PlanInput};

pub fn run(args: &RerunArgs) -> anyhow::Result<Outcome> {
    let cwd = std::env::current_dir()?;
    let root = slipway_vcs::toplevel(&cwd)
        .context("`slipway rerun` runs inside the repository of the run")?;
    let state = state_dir(&args.state.state_dir, &root);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (record, jobs) = runtime.block_on(async {
        let store = slipway_store::Store::open_in(&state).await?;
        let record = store.run(&args.run).await?;
        let jobs = store.jobs(&record.id, record.attempt).await?;
        Ok::<_, anyhow::Error>((record, jobs))
    })?;
    drop(runtime);
    if record.status == "running" {
        bail!("run #{} is still running", record.number);
    }
    // The pipeline as it was at the run's commit: a re-run repeats that run, not today's file.
    let text = slipway_vcs::show_file(&root, &record.commit_sha, &record.pipeline_path)
        .with_context(|| {
            format!(
                "cannot read {} at commit {}",
                record.pipeline_path, record.commit_sha
            )
        })?;
    let loaded =
        slipway_pipeline::load(&record.pipeline_path, &text, &slipway_pipeline::NoTemplates);
    if loaded.has_errors() {
        bail!(
            "the pipeline of run #{} no longer loads: {:?}",
            record.number,
            loaded.diagnostics.first().map(|d| &d.message)
        );
    }
    let kind = match record.event.as_str() {
        "pull_request" => EventKind::PullRequest,
        "schedule" => EventKind::Schedule,
        "manual" => EventKind::Manual,
        _ => EventKind::Push,
    };
    let event = Event {
        kind,
        git_ref: record.git_ref.clone(),
        sha: record.commit_sha.clone(),
        actor: std::env::var("SLIPWAY_ACTOR").unwrap_or_else(|_| record.actor.clone()),
        base: (kind == EventKind::PullRequest).then(|| "main".to_string()),
    };
    let changed = match kind {
        EventKind::Manual => None,
        _ => slipway_vcs::changed_files_at(&root, &record.commit_sha).ok(),
    };
    let plan = plan::plan(
        &loaded.pipeline,
        &PlanInput {
            event: &event,
            changed_files: changed.as_deref(),
        },
    );
    let again: Vec<String> = if args.jobs.is_empty() {
        jobs.iter()
            .filter(|j| j.status != "success")
            .map(|j| j.job_id.clone())
            .collect()
    } else {
        let mut named = Vec::new();
        for name in &args.jobs {
            let matching: Vec<String> = jobs
                .iter()
                .filter(|j| j.job_id == *name || j.job_key == *name)
                .map(|j| j.job_id.clone())
                .collect();
            if matching.is_empty() {
                bail!("run #{} has no job `{name}`", record.number);
            }
            named.extend(matching);
        }
        named
    };
    // Jobs after a re-run job run again too: their inputs may change.
    let mut rerun_ids = again.clone();
    let mut grew = true;
    while grew {
        grew = false;
        for job in &plan.jobs {
            if !rerun_ids.contains(&job.id) && job.needs.iter().any(|n| rerun_ids.contains(n)) {
                rerun_ids.push(job.id.clone());
                grew = true;
            }
        }
    }
    let reuse: Vec<(String, Option<String>)> = jobs
        .iter()
        .filter(|j| j.status == "success" && !rerun_ids.contains(&j.job_id))
        .map(|j| (j.job_id.clone(), j.outputs_digest.clone()))
        .collect();
    if rerun_ids.is_empty() {
        eprintln!(
            "run #{} has nothing to re-run: every job succeeded (name one with --job)",
            record.number
        );
        return Ok(Outcome::Success);
    }
    if !args.json {
        eprintln!(
            "re-running {} of run #{}; reusing {}",
            rerun_ids.join(", "),
            record.number,
            if reuse.is_empty() {
                "nothing".into()
            } else {
                reuse
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    execute(Execution {
        root: root.clone(),
        state_dir: state,
        pipeline_path: record.pipeline_path.clone(),
        pipeline_sha256: slipway_pipeline::digest::sha256_hex(text.as_bytes()),
        pipeline: loaded.pipeline,
        templates: loaded.templates,
        plan,
        event,
        parallelism: args.parallelism,
        dirty: false,
        keep_workspaces: args.keep_workspaces,
        sandbox: record.sandbox,
        debug_on_failure: args.debug_on_failure,
        json: args.json,
        concurrency: None,
        rerun: Some(slipway_runner::Rerun {
            run_id: record.id,
            reuse,
        }),
    })
}
