//! Delivery commands: `promote`, `approve`, `rollback`, `rollout status|resume|abort`,
//! `env status`, `up` and `down`. They read and write the desired state; only the
//! controller inside `slipway up` acts on processes and traffic.

use crate::Outcome;
use crate::commands::history::runtime;
use crate::commands::run::state_dir;
use crate::repo::PipelineFile;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use slipway_delivery::promote::{PromoteStatus, ReleaseKind};
use slipway_delivery::{PromoteOutcome, PromoteRequest};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args)]
pub struct Common {
    /// The pipeline file (default: slipway.yml at the repository root).
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The state directory (default: .slipway at the repository root).
    #[arg(long, env = "SLIPWAY_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The trust policy `verify` checks against (default: this machine's keys).
    #[arg(long, value_name = "FILE", env = "SLIPWAY_TRUST_POLICY")]
    pub policy: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub common: Common,
    /// The artifact: `sha256:<hex>`, a unique digest prefix, or a tag.
    pub artifact: String,
    /// The environment to release it to.
    #[arg(long = "to", value_name = "ENV")]
    pub environment: String,
    /// Skip approvals and freeze windows (never verification); needs --reason. Recorded.
    #[arg(long, requires = "reason")]
    pub break_glass: bool,
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Deploy a digest marked bad for the environment anyway.
    #[arg(long)]
    pub force_known_bad: bool,
}

#[derive(Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub common: Common,
    /// The release id (`slipway env status ENV` lists them), or a unique prefix.
    pub release: String,
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

#[derive(Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub common: Common,
    pub environment: String,
    /// An earlier release's digest that succeeded here (default: the last known good).
    #[arg(long = "to", value_name = "DIGEST")]
    pub digest: Option<String>,
}

#[derive(Subcommand)]
pub enum RolloutCommand {
    /// Where the environment's rollout stands: phase, weight, step and every measurement.
    Status(EnvArgs),
    /// Continue a paused rollout.
    Resume(EnvArgs),
    /// Stop the rollout: canary weight to 0, its processes stopped, its digest marked bad.
    Abort(EnvArgs),
}

#[derive(Subcommand)]
pub enum EnvCommand {
    /// What an environment serves: digest, address, last known good, known-bad digests.
    Status(EnvArgs),
}

#[derive(Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub common: Common,
    pub environment: String,
}

#[derive(Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub common: Common,
    /// Environments to run (default: every environment in the file).
    pub environments: Vec<String>,
}

/// Who is acting (`SLIPWAY_ACTOR`, else the repository's git user email, else the OS user)
/// and where the name came from. Not a security boundary: anyone can set these.
fn actor(repo: &Path) -> (String, String) {
    let actor = slipway_audit::Actor::resolve(Some(repo));
    (actor.name, actor.source.as_str().to_owned())
}

use crate::commands::policy::load_set as policies;

struct Repo {
    file: PipelineFile,
    pipeline: slipway_pipeline::Pipeline,
    state_dir: PathBuf,
}

fn context(common: &Common) -> anyhow::Result<Repo> {
    let file = PipelineFile::locate(common.file.as_deref())?;
    let loaded = file.load();
    if loaded.has_errors() {
        eprint!(
            "{}",
            crate::render::human(&loaded.diagnostics, &loaded.sources)
        );
        bail!(
            "{}: {}; fix them first (see `slipway lint`)",
            file.display,
            crate::render::counts(&loaded.diagnostics)
        );
    }
    let state_dir = state_dir(&common.state_dir, &file.root);
    Ok(Repo {
        pipeline: loaded.pipeline,
        state_dir,
        file,
    })
}

fn trust(common: &Common, state_dir: &Path) -> anyhow::Result<slipway_sign::TrustPolicy> {
    Ok(match &common.policy {
        Some(path) => slipway_sign::TrustPolicy::load(path)?,
        None => slipway_evidence::keys::local_trust(state_dir)?,
    })
}

/// The trust policy of a run's own decisions: `SLIPWAY_TRUST_POLICY`, else this machine's keys.
pub fn trust_of_state(state_dir: &Path) -> anyhow::Result<slipway_sign::TrustPolicy> {
    Ok(match std::env::var_os("SLIPWAY_TRUST_POLICY") {
        Some(path) => slipway_sign::TrustPolicy::load(Path::new(&path))?,
        None => slipway_evidence::keys::local_trust(state_dir)?,
    })
}

fn print_outcome(outcome: &PromoteOutcome, json: bool) -> anyhow::Result<Outcome> {
    if json {
        println!("{}", serde_json::to_string_pretty(outcome)?);
    } else {
        println!(
            "{} {} → {}",
            match outcome.status {
                PromoteStatus::Started => "releasing",
                PromoteStatus::AwaitingApproval => "awaiting approval:",
                PromoteStatus::Refused => "REFUSED:",
            },
            outcome.digest,
            outcome.environment
        );
        for check in &outcome.checks {
            println!(
                "  {} {}: {}",
                if check.ok { "✓" } else { "✗" },
                check.name,
                check.detail
            );
        }
        if let Some(release) = &outcome.release {
            println!("release {} ({})", release.id, release.status);
        }
        if outcome.status == PromoteStatus::Started {
            println!(
                "the controller of {} (`slipway up {}`) rolls it out; follow with `slipway rollout status {}`",
                outcome.environment, outcome.environment, outcome.environment
            );
        }
    }
    Ok(match outcome.status {
        PromoteStatus::Started => Outcome::Success,
        _ => Outcome::Failed,
    })
}

/// The decision a promotion of `artifact` to `environment` would get now, and its input;
/// nothing is recorded (`slipway policy eval --artifact --env`).
pub fn explain(
    common: &Common,
    artifact: &str,
    environment: &str,
) -> anyhow::Result<(slipway_policy::Input, slipway_policy::Decision)> {
    let ctx = context(common)?;
    let trust = trust(common, &ctx.state_dir)?;
    let (actor, actor_source) = actor(&ctx.file.root);
    let policy = policies(&ctx.file.root)?;
    runtime()?.block_on(async {
        let artifacts = slipway_artifact::Artifacts::open_in(&ctx.state_dir).await?;
        Ok(slipway_delivery::promote::explain(
            &artifacts,
            &trust,
            &ctx.pipeline,
            &PromoteRequest {
                environment: environment.to_owned(),
                reference: artifact.to_owned(),
                actor,
                kind: ReleaseKind::Promote,
                break_glass: None,
                force_known_bad: false,
                repo_dir: &ctx.file.root,
                now: now(),
                policy: &policy,
                key: None,
                actor_source,
            },
        )
        .await?)
    })
}

pub fn promote(args: &PromoteArgs) -> anyhow::Result<Outcome> {
    let ctx = context(&args.common)?;
    let trust = trust(&args.common, &ctx.state_dir)?;
    let (actor, actor_source) = actor(&ctx.file.root);
    let policy = policies(&ctx.file.root)?;
    let key = slipway_evidence::BuilderKey::load(&ctx.state_dir)?;
    let break_glass = args
        .break_glass
        .then(|| args.reason.clone().unwrap_or_default());
    if let Some(reason) = &break_glass {
        if reason.trim().is_empty() {
            bail!(
                "--break-glass needs a --reason \"...\" that says why; it is recorded for review"
            );
        }
        eprintln!(
            "WARNING: BREAK-GLASS by {actor}: approvals and freeze windows are skipped (verification is not). Reason: {reason}. This is recorded for review."
        );
    }
    let outcome = runtime()?.block_on(async {
        let artifacts = slipway_artifact::Artifacts::open_in(&ctx.state_dir).await?;
        slipway_delivery::promote(
            &artifacts,
            &trust,
            &ctx.pipeline,
            &PromoteRequest {
                environment: args.environment.clone(),
                reference: args.artifact.clone(),
                actor: actor.clone(),
                kind: ReleaseKind::Promote,
                break_glass,
                force_known_bad: args.force_known_bad,
                repo_dir: &ctx.file.root,
                now: now(),
                policy: &policy,
                key: Some(&key),
                actor_source,
            },
        )
        .await
    })?;
    print_outcome(&outcome, args.common.json)
}

/// The clock, overridable with `SLIPWAY_NOW` (RFC 3339) for freeze windows and tests.
fn now() -> chrono::DateTime<chrono::Utc> {
    std::env::var("SLIPWAY_NOW")
        .ok()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc))
}

pub fn approve(args: &ApproveArgs) -> anyhow::Result<Outcome> {
    let ctx = context(&args.common)?;
    let (actor, _) = actor(&ctx.file.root);
    let (release, approvals, required) = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&ctx.state_dir).await?;
        anyhow::Ok(
            slipway_delivery::approve(
                &store,
                &ctx.pipeline,
                &args.release,
                &actor,
                args.comment.as_deref(),
            )
            .await?,
        )
    })?;
    if args.common.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "release": release.id,
                "environment": release.environment,
                "digest": release.digest,
                "approvals": approvals,
                "required": required,
                "satisfied": approvals.len() >= required as usize,
            }))?
        );
    } else {
        println!(
            "{actor} approved release {} ({} → {}): {} of {required}",
            release.id,
            release.digest,
            release.environment,
            approvals.len()
        );
        if approvals.len() >= required as usize {
            println!(
                "approvals complete: `slipway promote {} --to {}` starts it",
                release.digest, release.environment
            );
        }
    }
    Ok(Outcome::Success)
}

pub fn rollback(args: &RollbackArgs) -> anyhow::Result<Outcome> {
    let ctx = context(&args.common)?;
    let trust = trust(&args.common, &ctx.state_dir)?;
    let (actor, actor_source) = actor(&ctx.file.root);
    let policy = policies(&ctx.file.root)?;
    let key = slipway_evidence::BuilderKey::load(&ctx.state_dir)?;
    let outcome = runtime()?.block_on(async {
        let artifacts = slipway_artifact::Artifacts::open_in(&ctx.state_dir).await?;
        let target = match &args.digest {
            Some(digest) => digest.clone(),
            None => slipway_delivery::rollback_target(artifacts.index(), &args.environment).await?,
        };
        anyhow::Ok(
            slipway_delivery::promote(
                &artifacts,
                &trust,
                &ctx.pipeline,
                &PromoteRequest {
                    environment: args.environment.clone(),
                    reference: target,
                    actor: actor.clone(),
                    kind: ReleaseKind::Rollback,
                    break_glass: None,
                    force_known_bad: false,
                    repo_dir: &ctx.file.root,
                    now: now(),
                    policy: &policy,
                    key: Some(&key),
                    actor_source,
                },
            )
            .await?,
        )
    })?;
    print_outcome(&outcome, args.common.json)
}

pub fn rollout(command: &RolloutCommand) -> anyhow::Result<Outcome> {
    match command {
        RolloutCommand::Status(args) => rollout_status(args),
        RolloutCommand::Resume(args) => rollout_request(args, "resume"),
        RolloutCommand::Abort(args) => rollout_request(args, "abort"),
    }
}

fn rollout_status(args: &EnvArgs) -> anyhow::Result<Outcome> {
    let ctx = context(&args.common)?;
    slipway_delivery::config::resolve(&ctx.pipeline, &args.environment)?;
    let status = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&ctx.state_dir).await?;
        anyhow::Ok(slipway_delivery::status::rollout(&store, &args.environment).await?)
    })?;
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", slipway_delivery::status::describe_rollout(&status));
    }
    Ok(Outcome::Success)
}

fn rollout_request(args: &EnvArgs, request: &str) -> anyhow::Result<Outcome> {
    let ctx = context(&args.common)?;
    slipway_delivery::config::resolve(&ctx.pipeline, &args.environment)?;
    let (actor, _) = actor(&ctx.file.root);
    let accepted = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&ctx.state_dir).await?;
        let state = store.environment_state(&args.environment).await?;
        let Some(state) = state.filter(slipway_delivery::promote::rollout_active) else {
            return anyhow::Ok(false);
        };
        if request == "resume" && state.phase != "paused" {
            return anyhow::Ok(false);
        }
        anyhow::Ok(
            store
                .request_rollout(&args.environment, request, &actor)
                .await?,
        )
    })?;
    if !accepted {
        bail!(
            "no rollout to {request} in {}: `slipway rollout status {}` shows where it stands",
            args.environment,
            args.environment
        );
    }
    if args.common.json {
        println!(
            "{}",
            serde_json::json!({ "environment": args.environment, "request": request, "actor": actor })
        );
    } else {
        println!(
            "{request} requested for {} by {actor}; the environment's controller acts on it",
            args.environment
        );
    }
    Ok(Outcome::Success)
}

pub fn env(command: &EnvCommand) -> anyhow::Result<Outcome> {
    match command {
        EnvCommand::Status(args) => {
            let ctx = context(&args.common)?;
            slipway_delivery::config::resolve(&ctx.pipeline, &args.environment)?;
            let status = runtime()?.block_on(async {
                let store = slipway_store::Store::open_in(&ctx.state_dir).await?;
                anyhow::Ok(slipway_delivery::status::environment(&store, &args.environment).await?)
            })?;
            if args.common.json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!(
                    "{}",
                    slipway_delivery::status::describe_environment(&status)
                );
            }
            Ok(Outcome::Success)
        }
    }
}

pub fn up(args: &UpArgs) -> anyhow::Result<Outcome> {
    let ctx = context(&args.common)?;
    let names = if args.environments.is_empty() {
        slipway_delivery::config::environment_names(&ctx.pipeline)
    } else {
        args.environments.clone()
    };
    if names.is_empty() {
        bail!(
            "{} defines no `environments:`; add one, e.g. `environments: {{ dev: {{ target: local }} }}`",
            ctx.file.display
        );
    }
    for name in &names {
        slipway_delivery::config::resolve(&ctx.pipeline, name)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let json = args.common.json;
    runtime.block_on(async {
        let store = Arc::new(slipway_store::Store::open_in(&ctx.state_dir).await?);
        let artifacts = Arc::new(slipway_artifact::Artifacts::open_in(&ctx.state_dir).await?);
        let pipeline = Arc::new(ctx.pipeline.clone());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for name in &names {
            let controller = slipway_delivery::controller::Controller::start(
                name,
                pipeline.clone(),
                store.clone(),
                artifacts.clone(),
                &ctx.state_dir,
                slipway_delivery::AnalysisSettings {
                    // Templates without their own `address:` query this Prometheus.
                    prometheus_url: std::env::var("SLIPWAY_PROMETHEUS_URL").ok(),
                    ..slipway_delivery::AnalysisSettings::default()
                },
            )
            .await?;
            let address = controller.address();
            let metrics = controller.metrics_address();
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "event": "up", "environment": name, "address": format!("http://{address}"), "metrics": metrics.map(|m| format!("http://{m}/metrics")) })
                );
            } else {
                println!(
                    "{name}: http://{address}{}",
                    metrics
                        .map(|m| format!("  (metrics: http://{m}/metrics)"))
                        .unwrap_or_default()
                );
            }
            let rx = stop_rx.clone();
            tasks.push(tokio::spawn(controller.run(rx, true)));
        }
        if !json {
            println!("serving; Ctrl-C stops the controllers and their processes");
        }
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        let _ = stop_tx.send(true);
        for task in tasks {
            task.await??;
        }
        anyhow::Ok(())
    })?;
    Ok(Outcome::Interrupted)
}

pub fn down(args: &EnvArgs) -> anyhow::Result<Outcome> {
    let ctx = context(&args.common)?;
    slipway_delivery::config::resolve(&ctx.pipeline, &args.environment)?;
    let stopped = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&ctx.state_dir).await?;
        anyhow::Ok(slipway_delivery::status::down(&store, &ctx.state_dir, &args.environment).await?)
    })?;
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&stopped)?);
    } else {
        println!("{}: {}", args.environment, stopped.describe());
    }
    Ok(Outcome::Success)
}

/// The jobs of a run that deploy (`deploy: { environment: E }`): after the run succeeded and
/// its gates passed, each one that succeeded promotes the run's artifact, with every check a
/// `slipway promote` makes.
pub struct DeployJobs {
    targets: Vec<(String, String)>,
    pipeline: Option<slipway_pipeline::Pipeline>,
    root: PathBuf,
    actor: String,
}

/// The actor of a run's deploys is the run's: its source is the event.
const RUN_ACTOR_SOURCE: &str = "run";

impl DeployJobs {
    pub fn of(pipeline: &slipway_pipeline::Pipeline, root: &Path, actor: &str) -> DeployJobs {
        let targets: Vec<(String, String)> = pipeline
            .jobs
            .iter()
            .flatten()
            .filter_map(|(id, job)| {
                let environment = job.deploy.as_ref()?.environment.as_ref()?;
                Some((id.name.clone(), environment.value.clone()))
            })
            .collect();
        DeployJobs {
            pipeline: (!targets.is_empty()).then(|| pipeline.clone()),
            targets,
            root: root.to_owned(),
            actor: actor.to_owned(),
        }
    }

    pub async fn run(
        &self,
        state_dir: &Path,
        jobs: &[slipway_runner::JobOutcome],
        digest: &str,
    ) -> anyhow::Result<Vec<PromoteOutcome>> {
        let Some(pipeline) = &self.pipeline else {
            return Ok(Vec::new());
        };
        let trust = trust_of_state(state_dir)?;
        let artifacts = slipway_artifact::Artifacts::open_in(state_dir).await?;
        let policy = policies(&self.root)?;
        let key = slipway_evidence::BuilderKey::load(state_dir)?;
        let mut outcomes = Vec::new();
        for (job, environment) in &self.targets {
            let succeeded = jobs.iter().any(|j| {
                (j.id == *job || j.id.starts_with(&format!("{job} (")))
                    && j.status == slipway_runner::JobStatus::Success
            });
            if !succeeded {
                continue;
            }
            outcomes.push(
                slipway_delivery::promote(
                    &artifacts,
                    &trust,
                    pipeline,
                    &PromoteRequest {
                        environment: environment.clone(),
                        reference: digest.to_owned(),
                        actor: self.actor.clone(),
                        kind: ReleaseKind::Deploy,
                        break_glass: None,
                        force_known_bad: false,
                        repo_dir: &self.root,
                        now: now(),
                        policy: &policy,
                        key: Some(&key),
                        actor_source: RUN_ACTOR_SOURCE.to_owned(),
                    },
                )
                .await?,
            );
        }
        Ok(outcomes)
    }
}

/// One deploy of a run: a `deploy` event under `--json`, lines of the summary otherwise.
pub fn report_deploy(outcome: &PromoteOutcome, json: bool) -> anyhow::Result<()> {
    if json {
        let mut line = serde_json::to_value(outcome)?;
        if let Some(object) = line.as_object_mut() {
            object.insert("event".into(), "deploy".into());
        }
        println!("{line}");
    } else {
        print_outcome(outcome, false)?;
    }
    Ok(())
}
