//! `slipway artifact ls|inspect|export` and `slipway evidence ls`.

use crate::Outcome;
use crate::cli::{ArtifactExportArgs, ArtifactLsArgs, ArtifactRefArgs};
use crate::commands::history::{runtime, state};
use serde_json::json;
use slipway_artifact::Artifacts;
use slipway_store::ArtifactRecord;

fn created(ms: i64) -> String {
    slipway_artifact::rfc3339(ms / 1000)
}

fn human_size(bytes: i64) -> String {
    let bytes = bytes as f64;
    match bytes {
        b if b >= 1024.0 * 1024.0 => format!("{:.1} MiB", b / 1024.0 / 1024.0),
        b if b >= 1024.0 => format!("{:.1} KiB", b / 1024.0),
        b => format!("{b} B"),
    }
}

fn summary(record: &ArtifactRecord) -> serde_json::Value {
    json!({
        "digest": record.digest,
        "name": record.name,
        "tags": record.tags,
        "created": created(record.created_at),
        "run": record.run_id,
    })
}

pub fn ls(args: &ArtifactLsArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let records = runtime()?.block_on(async {
        let artifacts = Artifacts::open_in(&dir).await?;
        artifacts
            .index()
            .artifacts(args.limit)
            .await
            .map_err(slipway_artifact::Error::from)
    })?;
    if args.json {
        let listed: Vec<_> = records.iter().map(summary).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "artifacts": listed }))?
        );
        return Ok(Outcome::Success);
    }
    if records.is_empty() {
        println!("no artifacts yet in {}", dir.display());
    }
    for record in records {
        println!(
            "{}  {:<20} {:>10}  {}  {}",
            &record.digest[..record.digest.len().min(19)],
            record.name,
            human_size(record.size),
            created(record.created_at),
            record.tags.join(", ")
        );
    }
    Ok(Outcome::Success)
}

pub fn inspect(args: &ArtifactRefArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let inspection = runtime()?.block_on(async {
        let artifacts = Artifacts::open_in(&dir).await?;
        artifacts.inspect(&args.artifact).await
    })?;
    let record = &inspection.record;
    if args.json {
        let mut value = summary(record);
        value["size"] = json!(record.size);
        value["repository"] = json!(record.repository);
        value["commit"] = json!(record.commit_sha);
        value["ref"] = json!(record.git_ref);
        value["event"] = json!(record.event);
        value["manifest"] = serde_json::to_value(&inspection.manifest)?;
        value["config"] = serde_json::to_value(&inspection.config)?;
        value["evidence"] = serde_json::to_value(&inspection.evidence)?;
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(Outcome::Success);
    }
    println!("artifact   {}", record.name);
    println!("digest     {}", record.digest);
    println!("tags       {}", record.tags.join(", "));
    println!("created    {}", created(record.created_at));
    println!(
        "source     {} @ {} ({})",
        record.repository, record.commit_sha, record.git_ref
    );
    if let Some(run) = &record.run_id {
        println!("run        {run}");
    }
    println!("size       {}", human_size(record.size));
    let config = &inspection.config;
    println!("platform   {}/{}", config.os, config.architecture);
    println!("entrypoint {}", config.config.entrypoint.join(" "));
    if !config.config.exposed_ports.is_empty() {
        let ports: Vec<&str> = config
            .config
            .exposed_ports
            .keys()
            .map(String::as_str)
            .collect();
        println!("ports      {}", ports.join(", "));
    }
    println!("layers");
    for layer in &inspection.manifest.layers {
        println!(
            "  {}  {:>10}  {}",
            layer.digest,
            human_size(layer.size as i64),
            layer.media_type
        );
    }
    print_evidence(&inspection.evidence);
    Ok(Outcome::Success)
}

fn print_evidence(evidence: &[slipway_store::EvidenceRecord]) {
    if evidence.is_empty() {
        println!("evidence   none");
        return;
    }
    println!("evidence");
    for item in evidence {
        println!(
            "  {:<16} {}  {}",
            item.kind, item.digest, item.predicate_type
        );
    }
}

pub fn evidence_ls(args: &ArtifactRefArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let (record, evidence) = runtime()?.block_on(async {
        let artifacts = Artifacts::open_in(&dir).await?;
        let record = artifacts.resolve(&args.artifact).await?;
        let evidence = artifacts.evidence(&record.digest).await?;
        Ok::<_, slipway_artifact::Error>((record, evidence))
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "digest": record.digest, "evidence": evidence })
            )?
        );
        return Ok(Outcome::Success);
    }
    println!("{} ({})", record.digest, record.name);
    print_evidence(&evidence);
    Ok(Outcome::Success)
}

pub fn export(args: &ArtifactExportArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let exported = runtime()?.block_on(async {
        let artifacts = Artifacts::open_in(&dir).await?;
        slipway_artifact::layout::export(&artifacts, &args.artifact, &args.dir, !args.no_evidence)
            .await
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "digest": exported.digest,
                "dir": args.dir,
                "blobs": exported.blobs,
                "referrers": exported.referrers,
                "bytes": exported.bytes,
            }))?
        );
    } else {
        println!(
            "exported {} to {} ({} blobs, {} evidence referrers, {})",
            exported.digest,
            args.dir.display(),
            exported.blobs,
            exported.referrers,
            human_size(exported.bytes as i64)
        );
    }
    Ok(Outcome::Success)
}
