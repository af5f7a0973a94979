use crate::Outcome;
use crate::cli::PlanArgs;
use crate::render;
use crate::repo::PipelineFile;
use serde::Serialize;
use slipway_pipeline::plan::{self, Event, EventKind, Plan, PlanInput};

#[derive(Serialize)]
struct JsonJob<'a> {
    id: &'a str,
    stage: &'a str,
    needs: &'a [String],
    level: usize,
    runs: bool,
    skip_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    jobs: Vec<JsonJob<'a>>,
    critical_path: &'a [String],
}

pub fn run(args: &PlanArgs) -> anyhow::Result<Outcome> {
    let file = PipelineFile::locate(args.file.file.as_deref())?;
    let loaded = file.load();
    if loaded.has_errors() {
        eprint!("{}", render::human(&loaded.diagnostics, &loaded.sources));
        eprintln!(
            "{}: {}; fix them to plan (see `slipway lint`)",
            file.display,
            render::counts(&loaded.diagnostics)
        );
        return Ok(Outcome::Failed);
    }
    let event = event(args, &file);
    let changed: Option<Vec<String>> = match &args.changed_files {
        Some(files) => Some(
            files
                .iter()
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .collect(),
        ),
        None if file.in_git => match slipway_vcs::changed_files(&file.root, args.base.as_deref()) {
            Ok(files) => Some(files),
            Err(error) => {
                if args.base.is_some() {
                    anyhow::bail!("cannot compute the changed files: {error}");
                }
                eprintln!(
                    "note: changed files unknown ({error}); path filters are treated as matching"
                );
                None
            }
        },
        None => {
            eprintln!("note: not a git repository; path filters are treated as matching");
            None
        }
    };
    let plan = plan::plan(
        &loaded.pipeline,
        &PlanInput {
            event: &event,
            changed_files: changed.as_deref(),
        },
    );
    if args.json {
        let json = JsonPlan {
            jobs: plan
                .jobs
                .iter()
                .map(|j| JsonJob {
                    id: &j.id,
                    stage: &j.stage,
                    needs: &j.needs,
                    level: j.level,
                    runs: j.runs,
                    skip_reason: j.skip_reason.as_deref(),
                })
                .collect(),
            critical_path: &plan.critical_path,
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else if args.dot {
        print!("{}", plan::to_dot(&plan));
    } else {
        print!("{}", human(&plan, &event, changed.as_deref()));
    }
    Ok(Outcome::Success)
}

fn event(args: &PlanArgs, file: &PipelineFile) -> Event {
    let head = file
        .in_git
        .then(|| slipway_vcs::head(&file.root).ok())
        .flatten();
    let git_ref = match (&args.tag, &args.branch) {
        (Some(tag), _) => format!("refs/tags/{tag}"),
        (None, Some(branch)) => format!("refs/heads/{branch}"),
        (None, None) => head
            .as_ref()
            .map(|h| h.git_ref.clone())
            .filter(|r| r.starts_with("refs/"))
            .unwrap_or_else(|| "refs/heads/main".into()),
    };
    let kind = EventKind::from(args.event);
    let base = (kind == EventKind::PullRequest).then(|| {
        let base = args.base.as_deref().unwrap_or("main");
        base.trim_start_matches("refs/heads/")
            .trim_start_matches("origin/")
            .to_string()
    });
    Event {
        kind,
        git_ref,
        sha: head
            .as_ref()
            .map_or_else(|| "0".repeat(40), |h| h.sha.clone()),
        actor: std::env::var("SLIPWAY_ACTOR")
            .ok()
            .or_else(|| head.as_ref().map(|h| h.actor.clone()))
            .unwrap_or_else(|| "unknown".into()),
        base,
    }
}

fn human(plan: &Plan, event: &Event, changed: Option<&[String]>) -> String {
    let mut out = String::new();
    let short_sha: String = event.sha.chars().take(7).collect();
    let change = match changed {
        Some(files) => format!(
            "{} changed file{}",
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        ),
        None => "changed files unknown".into(),
    };
    let on = event.branch().or(event.tag()).unwrap_or(&event.git_ref);
    out.push_str(&format!(
        "plan for {} on {on} ({short_sha}), {change}\n",
        event.kind.as_str()
    ));
    let width = plan
        .jobs
        .iter()
        .map(|j| j.id.chars().count())
        .max()
        .unwrap_or(0);
    let mut level = usize::MAX;
    for job in &plan.jobs {
        if job.level != level {
            level = job.level;
            out.push_str(&format!("\nlevel {level}\n"));
        }
        let mark = if job.runs { "run " } else { "skip" };
        let detail = match (&job.skip_reason, job.needs.is_empty()) {
            (Some(reason), _) => reason.clone(),
            (None, false) => format!("needs {}", job.needs.join(", ")),
            (None, true) => String::new(),
        };
        let line = format!("  {mark}  {:<width$}  {:<11}  {detail}", job.id, job.stage);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let running = plan.jobs.iter().filter(|j| j.runs).count();
    out.push('\n');
    if !plan.critical_path.is_empty() {
        out.push_str(&format!(
            "critical path: {} ({} job{})\n",
            plan.critical_path.join(" → "),
            plan.critical_path.len(),
            if plan.critical_path.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    out.push_str(&format!(
        "{} jobs: {running} run, {} skipped\n",
        plan.jobs.len(),
        plan.jobs.len() - running
    ));
    out
}
