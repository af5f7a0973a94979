//! `slipway gc`: applies the pipeline's `retention:` to the artifact store.

use crate::Outcome;
use crate::cli::GcArgs;
use crate::commands::history::runtime;
use crate::commands::run::state_dir;
use crate::repo::PipelineFile;
use slipway_artifact::retention::{self, Policy};

pub fn run(args: &GcArgs) -> anyhow::Result<Outcome> {
    let file = PipelineFile::locate(args.file.file.as_deref())?;
    let loaded = file.load();
    if loaded.has_errors() {
        eprint!(
            "{}",
            crate::render::human(&loaded.diagnostics, &loaded.sources)
        );
        anyhow::bail!("the pipeline file has errors; `retention:` cannot be read from it");
    }
    let mut policy = Policy::default();
    if let Some(rules) = &loaded.pipeline.retention {
        if let Some(keep) = &rules.keep_last {
            policy.keep_last = usize::try_from(keep.value).unwrap_or(1).max(1);
        }
        if let Some(ttl) = &rules.pull_requests {
            policy.pull_requests = ttl.value.0;
        }
        if let Some(production) = &rules.production {
            policy.production = production.value.clone();
        }
        if let Some(releases) = &rules.production_releases {
            policy.production_releases = usize::try_from(releases.value).unwrap_or(0);
        }
    }
    let dir = state_dir(&args.state.state_dir, &file.root);
    let report = runtime()?.block_on(async {
        let artifacts = slipway_artifact::Artifacts::open_in(&dir).await?;
        retention::collect(&artifacts, &policy, slipway_store::now_ms(), args.dry_run).await
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(Outcome::Success);
    }
    let verb = if report.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for decision in &report.decisions {
        println!(
            "{}  {}  {:<20} {}",
            if decision.delete { "delete" } else { "keep  " },
            &decision.digest[..decision.digest.len().min(19)],
            decision.name,
            decision.reason
        );
    }
    println!(
        "{verb} {} artifacts ({} blobs, {:.1} MiB freed); kept {}",
        report.deleted,
        report.blobs,
        report.freed_bytes as f64 / 1024.0 / 1024.0,
        report.kept
    );
    Ok(Outcome::Success)
}
