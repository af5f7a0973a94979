use crate::Outcome;
use crate::cli::{LogsArgs, RunsArgs, ShowArgs};
use crate::commands::run::state_dir;
use anyhow::Context;
use serde_json::Value;
use std::io::BufRead;
use std::path::PathBuf;

pub(crate) fn state(arg: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    let root = slipway_vcs::toplevel(&cwd).unwrap_or(cwd);
    Ok(state_dir(arg, &root))
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn runs(args: &RunsArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let runs = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&dir).await?;
        store.runs(args.limit).await
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "runs": runs }))?
        );
        return Ok(Outcome::Success);
    }
    if runs.is_empty() {
        println!("no runs yet in {}", dir.display());
    }
    for run in runs {
        let duration = match (run.started_at, run.finished_at) {
            (Some(start), Some(end)) => format!("{:.1}s", (end - start) as f64 / 1000.0),
            _ => "-".into(),
        };
        println!(
            "#{:<5} {:<12} {:<10} {:>8}  {}  {}",
            run.number,
            run.status,
            run.event,
            duration,
            &run.commit_sha[..run.commit_sha.len().min(12)],
            run.git_ref
        );
    }
    Ok(Outcome::Success)
}

pub fn show(args: &ShowArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let (run, jobs) = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&dir).await?;
        let run = store.run(&args.run).await?;
        let jobs = store.jobs(&run.id, run.attempt).await?;
        Ok::<_, anyhow::Error>((run, jobs))
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "run": run, "jobs": jobs }))?
        );
        return Ok(Outcome::Success);
    }
    println!("run #{} ({}): {}", run.number, run.id, run.status);
    println!("  commit   {} on {}", run.commit_sha, run.git_ref);
    println!("  event    {} by {}", run.event, run.actor);
    println!(
        "  pipeline {} (sha256 {})",
        run.pipeline_path,
        &run.pipeline_sha256[..16.min(run.pipeline_sha256.len())]
    );
    println!(
        "  dirty    {}   sandbox {}   runner {}   attempt {}",
        run.dirty, run.sandbox, run.runner_version, run.attempt
    );
    if let Some(note) = &run.note {
        println!("  note     {note}");
    }
    for job in jobs {
        let reason = job.reason.map(|r| format!("  ({r})")).unwrap_or_default();
        println!(
            "  {:<28} {:<10} attempts {}{reason}",
            job.job_id, job.status, job.attempts
        );
    }
    Ok(Outcome::Success)
}

pub fn logs(args: &LogsArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let run = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&dir).await?;
        store.run(&args.run).await
    })?;
    let path = dir
        .join("runs")
        .join(&run.id)
        .join(slipway_runner::events_file_name(run.attempt));
    let file = std::fs::File::open(&path)
        .with_context(|| format!("no log for run #{} at {}", run.number, path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut line = String::new();
    loop {
        line.clear();
        let read = reader.read_line(&mut line)?;
        if read == 0 || !line.ends_with('\n') {
            if !args.follow {
                break;
            }
            // A partial line is finished by the writer later: read it again whole.
            let back = line.len() as i64;
            reader.seek_relative(-back)?;
            std::thread::sleep(std::time::Duration::from_millis(200));
            continue;
        }
        let Ok(record) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if record.get("event").and_then(Value::as_str) == Some("run_finished") && args.follow {
            break;
        }
        let Some(text) = record.get("line").and_then(Value::as_str) else {
            continue;
        };
        let job = record.get("job").and_then(Value::as_str).unwrap_or("");
        let step = record.get("step").and_then(Value::as_str).unwrap_or("");
        if args.job.as_deref().is_some_and(|j| j != job)
            || args.step.as_deref().is_some_and(|s| s != step)
        {
            continue;
        }
        if args.job.is_some() {
            println!("{text}");
        } else {
            println!("[{job}] {text}");
        }
    }
    Ok(Outcome::Success)
}
