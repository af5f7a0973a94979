//! The scheduler and the life of one job.

use crate::events::{Event as Ev, Sink};
use crate::process::{self, Exit, Spec, Stream};
use crate::workspace;
use indexmap::IndexMap;
use slipway_pipeline::expr::{self, NeedsStatus, Scope, Value};
use slipway_pipeline::model::{Job, Pipeline, RetryOn, Step};
use slipway_pipeline::plan::{Event, Plan, PlannedJob, SkipKind};
use slipway_secrets::{LineMasker, Masker, Provider, ResolveContext, Secret};
use slipway_store::{AttemptRecord, JobRecord, NewRun, StepRecord, Store, now_ms};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// Everything a run needs; the CLI fills it in.
pub struct RunOptions {
    pub repo_root: PathBuf,
    pub state_dir: PathBuf,
    /// The pipeline file, relative to the repository root.
    pub pipeline_path: String,
    pub pipeline_sha256: String,
    pub pipeline: Pipeline,
    pub plan: Plan,
    pub event: Event,
    /// Jobs at once.
    pub parallelism: usize,
    /// Add uncommitted changes to the exported tree.
    pub dirty: bool,
    pub keep_workspaces: bool,
    /// Run every job in the sandbox, whatever its `sandbox` says.
    pub sandbox: bool,
    pub debug_on_failure: bool,
    /// Stream events to stdout instead of the human display.
    pub json: bool,
    /// Between SIGTERM and SIGKILL when a process tree is stopped.
    pub grace: Duration,
    pub secrets: ResolveContext,
    pub toolchains: serde_json::Value,
    pub runner_version: String,
    /// Turns true when the user asks to stop (Ctrl-C).
    pub interrupt: watch::Receiver<bool>,
    /// The concurrency group this run belongs to, and whether it cancels the active run of
    /// the group (otherwise it waits for it).
    pub concurrency: Option<(String, bool)>,
    /// A re-run: the earlier run to add an attempt to, and the jobs whose earlier success is
    /// reused instead of running them again.
    pub rerun: Option<Rerun>,
    /// The commit time (seconds since the epoch): `SOURCE_DATE_EPOCH` for the steps and every
    /// timestamp inside the artifact, so a rebuild of the commit is bit-for-bit the same.
    pub source_date_epoch: i64,
    /// The repository as it is named in the artifact and its provenance (a URL when the
    /// repository has an `origin` remote, else its path).
    pub repository_uri: String,
    /// Paths hidden from sandboxed steps (the signing key's file), besides the state directory.
    pub masked_paths: Vec<PathBuf>,
}

/// The artifact a job packaged.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ArtifactSummary {
    pub job: String,
    pub name: String,
    pub digest: String,
    pub tag: String,
    pub size: u64,
    pub files: u64,
    pub packaging_ms: u64,
}

pub struct Rerun {
    pub run_id: String,
    /// Jobs that passed in the earlier attempt, with the digest of their stored outputs.
    pub reuse: Vec<(String, Option<String>)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Success,
    Failure,
    TimedOut,
    Cancelled,
    Skipped,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Success => "success",
            JobStatus::Failure => "failure",
            JobStatus::TimedOut => "timed_out",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Skipped => "skipped",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Success,
    Failure,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Success => "success",
            RunStatus::Failure => "failure",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct JobOutcome {
    pub id: String,
    pub stage: String,
    pub status: JobStatus,
    /// A skip that counts as satisfied (the job was not affected by the change).
    pub satisfied: bool,
    pub continue_on_error: bool,
    pub attempts: u32,
    pub duration_ms: u64,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub cache: Option<String>,
    /// The workspace kept for debugging, with the command that opens a shell in it.
    pub debug_shell: Option<String>,
    /// Taken from an earlier attempt of the run (`rerun`), not run again.
    pub reused: bool,
    /// Digest (hex) of the archive of the job's declared outputs.
    pub outputs: Option<String>,
    /// The run's artifact, when this job declares it and passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Box<ArtifactSummary>>,
    /// The JUnit reports the job left (`reports.junit`), stored by digest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<crate::reports::ReportSummary>,
    /// The SARIF reports the job left (`reports.sarif`), stored by digest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sarif: Vec<crate::reports::StoredReport>,
    #[serde(skip)]
    pub failed_output: Vec<String>,
}

impl JobOutcome {
    /// Whether the job lets the jobs that need it proceed as after a success.
    fn counts_as_success(&self) -> bool {
        self.status == JobStatus::Success
            || self.satisfied
            || (self.continue_on_error && self.status != JobStatus::Cancelled)
    }

    /// Whether this outcome fails the run.
    fn fails_run(&self) -> bool {
        matches!(self.status, JobStatus::Failure | JobStatus::TimedOut) && !self.continue_on_error
    }
}

#[derive(Debug, serde::Serialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub number: i64,
    pub status: RunStatus,
    pub duration_ms: u64,
    pub jobs: Vec<JobOutcome>,
    pub events_path: PathBuf,
    /// The artifact the run produced, if its pipeline declares one and the job passed.
    pub artifact: Option<ArtifactSummary>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] slipway_store::StoreError),
    #[error(transparent)]
    Workspace(#[from] workspace::WorkspaceError),
    #[error("cannot write the event log {path}: {source}")]
    Events {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Secrets(String),
    #[error("{0}")]
    Group(String),
    #[error("cannot open the object store: {0}")]
    Objects(String),
}

/// What every job of a run shares.
/// Messages to the task that writes job records, so store writes stay off the jobs' path.
enum ToRecorder {
    Job(Box<JobRecord>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Writes job records in the order they come, in the background.
fn start_recorder(
    store: Arc<Store>,
    run_id: String,
    run_attempt: i64,
) -> mpsc::UnboundedSender<ToRecorder> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            match message {
                ToRecorder::Job(record) => {
                    if let Err(error) = store.finish_job(&run_id, run_attempt, &record).await {
                        eprintln!("warning: cannot record job {}: {error}", record.job_id);
                    }
                }
                ToRecorder::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    });
    tx
}

impl Shared {
    fn record(&self, record: JobRecord) {
        let _ = self.recorder.send(ToRecorder::Job(Box::new(record)));
    }

    /// Waits until every record sent so far is written.
    async fn flush_records(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.recorder.send(ToRecorder::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Removes a finished job's workspace in the background: deleting a tree is not on
    /// any job's critical path.
    fn remove_later(&self, path: PathBuf) {
        let handle = tokio::task::spawn_blocking(move || workspace::remove(&path));
        if let Ok(mut removals) = self.removals.lock() {
            removals.push(handle);
        }
    }

    async fn finish_removals(&self) {
        let handles: Vec<_> = self
            .removals
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        for handle in handles {
            if let Ok(Some(warning)) = handle.await {
                eprintln!("warning: {warning}");
            }
        }
    }
}

struct Shared {
    options: RunOptions,
    sink: Sink,
    recorder: mpsc::UnboundedSender<ToRecorder>,
    console: crate::console::Console,
    blobs: slipway_cas::BlobStore,
    caches: slipway_cas::CacheStore,
    artifacts: slipway_artifact::Artifacts,
    run_attempt: i64,
    removals: std::sync::Mutex<Vec<tokio::task::JoinHandle<Option<String>>>>,
    run_id: String,
    run_number: i64,
    source: PathBuf,
    work: PathBuf,
    masker: Masker,
    secrets: HashMap<String, Secret>,
}

pub async fn run(options: RunOptions, store: Arc<Store>) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    let group_note = match &options.concurrency {
        Some((group, cancel)) => Some(acquire_group(&store, &options, group, *cancel).await?),
        None => None,
    };
    let blobs =
        slipway_cas::BlobStore::local(&options.state_dir.join(slipway_artifact::OBJECTS_DIR))
            .map_err(|e| RunError::Objects(e.to_string()))?;
    let record = match &options.rerun {
        Some(rerun) => {
            store.start_attempt(&rerun.run_id).await?;
            store.run(&rerun.run_id).await?
        }
        None => {
            store
                .create_run(&NewRun {
                    repository: options.repo_root.display().to_string(),
                    commit_sha: options.event.sha.clone(),
                    git_ref: options.event.git_ref.clone(),
                    event: options.event.kind.as_str().into(),
                    actor: options.event.actor.clone(),
                    pipeline_path: options.pipeline_path.clone(),
                    pipeline_sha256: options.pipeline_sha256.clone(),
                    dirty: options.dirty,
                    sandbox: options.sandbox,
                    runner_version: options.runner_version.clone(),
                    toolchains: options.toolchains.clone(),
                    concurrency_group: options.concurrency.as_ref().map(|(g, _)| g.clone()),
                })
                .await?
        }
    };
    if let Some(note) = group_note.flatten() {
        store
            .set_run_status(&record.id, "running", Some(&note))
            .await?;
    }
    let run_dir = options.state_dir.join("runs").join(&record.id);
    let events_path = run_dir.join(events_file_name(record.attempt));
    let correlation = format!("{}-{}", options.event.sha, record.number);
    let sink = Sink::create(&events_path, record.id.clone(), correlation, options.json).map_err(
        |source| RunError::Events {
            path: events_path.display().to_string(),
            source,
        },
    )?;

    let source = run_dir.join("source");
    let prepared = prepare_source(&options, &source);
    let (secrets, masker) = match resolve_secrets(&options, &sink).await {
        Ok(resolved) => resolved,
        Err(error) => {
            store
                .set_run_status(&record.id, "failure", Some(&error))
                .await?;
            return Err(RunError::Secrets(error));
        }
    };
    if let Err(error) = prepared {
        store
            .set_run_status(&record.id, "failure", Some(&error.to_string()))
            .await?;
        return Err(error.into());
    }

    let shared = Arc::new(Shared {
        work: options.state_dir.join("work").join(&record.id),
        sink,
        caches: slipway_cas::CacheStore::new(blobs.clone()),
        artifacts: slipway_artifact::Artifacts::new(blobs.clone(), store.clone()),
        run_attempt: record.attempt,
        blobs,
        console: crate::console::Console::new(!options.json),
        recorder: start_recorder(store.clone(), record.id.clone(), record.attempt),
        removals: std::sync::Mutex::new(Vec::new()),
        run_id: record.id.clone(),
        run_number: record.number,
        source,
        masker,
        secrets,
        options,
    });
    shared.sink.event(Ev::RunStarted {
        number: record.number,
        commit: &shared.options.event.sha,
        git_ref: &shared.options.event.git_ref,
        trigger: shared.options.event.kind.as_str(),
        dirty: shared.options.dirty,
        jobs: shared.options.plan.jobs.len(),
        parallelism: shared.options.parallelism,
    });
    let planned: Vec<JobRecord> = shared
        .options
        .plan
        .jobs
        .iter()
        .map(|job| JobRecord {
            job_id: job.id.clone(),
            job_key: job.job.clone(),
            matrix: serde_json::to_value(&job.matrix).unwrap_or_default(),
            stage: job.stage.clone(),
            status: "queued".into(),
            ..JobRecord::default()
        })
        .collect();
    store
        .insert_jobs(&record.id, record.attempt, &planned)
        .await?;

    let ticker = shared.console.is_live().then(|| {
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(crate::console::TICK).await;
                shared.console.tick();
            }
        })
    });
    let (outcomes, interrupted) = schedule(shared.clone()).await;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    shared.console.clear();
    shared.flush_records().await;
    shared.finish_removals().await;
    let status = if interrupted {
        RunStatus::Cancelled
    } else if outcomes.iter().any(JobOutcome::fails_run) {
        RunStatus::Failure
    } else {
        RunStatus::Success
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    shared.sink.event(Ev::RunFinished {
        status: status.as_str(),
        duration_ms,
    });
    shared.sink.flush();
    store
        .set_run_status(&record.id, status.as_str(), None)
        .await?;
    if !shared.options.keep_workspaces && !outcomes.iter().any(|o| o.debug_shell.is_some()) {
        let _ = std::fs::remove_dir_all(&shared.work);
    }
    let _ = std::fs::remove_dir_all(&shared.source);
    let artifact = outcomes.iter().find_map(|o| o.artifact.as_deref().cloned());
    Ok(RunOutcome {
        run_id: record.id,
        number: record.number,
        status,
        duration_ms,
        jobs: outcomes,
        events_path,
        artifact,
    })
}

const INTERRUPTED: &str = "the run was interrupted";

/// The event log of one attempt of a run: `events.jsonl`, then `events.2.jsonl`, ...
pub fn events_file_name(attempt: i64) -> String {
    if attempt <= 1 {
        "events.jsonl".to_string()
    } else {
        format!("events.{attempt}.jsonl")
    }
}

/// How often a waiting run looks at its concurrency group again.
const GROUP_POLL: Duration = Duration::from_millis(100);
/// How long a cancelled run of the group gets to wind down before this one gives up.
const GROUP_CANCEL_WAIT: Duration = Duration::from_secs(60);

/// Takes the run's concurrency group: cancels the active runs of the group (SIGTERM to the
/// process running them, which stops them cleanly) or waits for them to end. Returns a note
/// for the run's record.
async fn acquire_group(
    store: &Store,
    options: &RunOptions,
    group: &str,
    cancel: bool,
) -> Result<Option<String>, RunError> {
    let repository = options.repo_root.display().to_string();
    let active = store.active_in_group(&repository, group).await?;
    if active.is_empty() {
        return Ok(None);
    }
    let numbers: Vec<String> = active.iter().map(|r| format!("#{}", r.number)).collect();
    let waited = Instant::now();
    if cancel {
        for run in &active {
            if let Some(pid) = run.owner_pid() {
                // SAFETY: kill(2) on a pid read from the store; signalling a gone process fails harmlessly.
                unsafe {
                    libc::kill(pid as i32, libc::SIGTERM);
                }
            }
        }
        if !options.json {
            eprintln!(
                "concurrency group `{group}`: cancelling run {}",
                numbers.join(", ")
            );
        }
    } else if !options.json {
        eprintln!(
            "concurrency group `{group}`: waiting for run {} to finish",
            numbers.join(", ")
        );
    }
    let mut interrupt = options.interrupt.clone();
    loop {
        store.mark_interrupted().await?;
        if store.active_in_group(&repository, group).await?.is_empty() {
            break;
        }
        if *interrupt.borrow_and_update() || (cancel && waited.elapsed() > GROUP_CANCEL_WAIT) {
            return Err(RunError::Group(format!(
                "run {} of concurrency group `{group}` did not end",
                numbers.join(", ")
            )));
        }
        tokio::time::sleep(GROUP_POLL).await;
    }
    for run in &active {
        if cancel {
            let note = format!("cancelled by a newer run of concurrency group `{group}`");
            store
                .set_run_status(&run.id, "cancelled", Some(&note))
                .await?;
        }
    }
    let verb = if cancel { "cancelled" } else { "waited for" };
    Ok(Some(format!(
        "{verb} run {} of concurrency group `{group}` ({:.1}s)",
        numbers.join(", "),
        waited.elapsed().as_secs_f64()
    )))
}

fn prepare_source(options: &RunOptions, source: &Path) -> Result<(), workspace::WorkspaceError> {
    workspace::export(&options.repo_root, &options.event.sha, source)?;
    if options.dirty {
        workspace::overlay_dirty(&options.repo_root, source)?;
    }
    Ok(())
}

/// Loads every secret some job declares, once per run, and builds the masker from them.
async fn resolve_secrets(
    options: &RunOptions,
    sink: &Sink,
) -> Result<(HashMap<String, Secret>, Masker), String> {
    let declared = options.pipeline.secrets.clone().unwrap_or_default();
    let mut wanted: Vec<String> = Vec::new();
    for planned in options.plan.jobs.iter().filter(|j| j.runs) {
        let job = &options
            .pipeline
            .jobs
            .as_ref()
            .expect("a planned pipeline has jobs")[planned.job.as_str()];
        for name in job.secrets.iter().flatten() {
            if !wanted.contains(&name.value) {
                wanted.push(name.value.clone());
            }
        }
    }
    let mut requests = Vec::new();
    for name in wanted {
        let Some(source) = declared.get(name.as_str()) else {
            return Err(format!("secret `{name}` is not declared under `secrets`"));
        };
        let provider = match source.from.as_ref().map(|f| f.value) {
            Some(slipway_pipeline::model::SecretProvider::Env) => Provider::Env {
                name: source
                    .name
                    .as_ref()
                    .map(|n| n.value.clone())
                    .unwrap_or_default(),
            },
            Some(slipway_pipeline::model::SecretProvider::File) => Provider::File {
                path: source
                    .path
                    .as_ref()
                    .map(|p| PathBuf::from(&p.value))
                    .unwrap_or_default(),
            },
            Some(slipway_pipeline::model::SecretProvider::Vault) => Provider::Vault {
                path: source
                    .path
                    .as_ref()
                    .map(|p| p.value.clone())
                    .unwrap_or_default(),
                field: source
                    .field
                    .as_ref()
                    .map(|f| f.value.clone())
                    .unwrap_or_default(),
            },
            None => return Err(format!("secret `{name}` does not say where it comes from")),
        };
        requests.push((name, provider));
    }
    if requests.is_empty() {
        return Ok((HashMap::new(), Masker::new(&[]).map_err(|e| e.to_string())?));
    }
    let resolution = slipway_secrets::resolve_all(&requests, &options.secrets).await;
    // Every Vault request is recorded, retried or not (names and paths only, never values).
    for attempt in &resolution.attempts {
        let outcome = format!("{:?}", attempt.outcome).to_lowercase();
        sink.event(Ev::SecretFetch {
            secret: &attempt.secret,
            path: &attempt.path,
            attempt: attempt.attempt,
            outcome: &outcome,
            delay_ms: attempt.delay_ms,
        });
    }
    let secrets = resolution.result.map_err(|e| e.to_string())?;
    let values: Vec<Secret> = secrets.iter().map(|(_, s)| s.clone()).collect();
    let masker = Masker::new(&values).map_err(|e| e.to_string())?;
    Ok((secrets.into_iter().collect(), masker))
}

/// Starts jobs as their needs finish, up to the parallelism; applies fail-fast.
/// Returns the outcomes in plan order, and whether the user interrupted the run.
async fn schedule(shared: Arc<Shared>) -> (Vec<JobOutcome>, bool) {
    let plan = &shared.options.plan;
    let jobs = shared.options.pipeline.jobs.clone().unwrap_or_default();
    let mut pending: Vec<&PlannedJob> = plan.jobs.iter().collect();
    let mut done: IndexMap<String, JobOutcome> = IndexMap::new();
    let mut running: JoinSet<JobOutcome> = JoinSet::new();
    let mut cancels: HashMap<String, (watch::Sender<bool>, bool)> = HashMap::new();
    let mut failed_at: Option<String> = None;
    let mut interrupt = shared.options.interrupt.clone();
    let mut interrupted = false;

    loop {
        // Start or settle every job whose needs are all done.
        let mut index = 0;
        while index < pending.len() {
            let planned = pending[index];
            if !planned.needs.iter().all(|n| done.contains_key(n)) {
                index += 1;
                continue;
            }
            let job = &jobs[planned.job.as_str()];
            let reused = shared
                .options
                .rerun
                .as_ref()
                .and_then(|r| r.reuse.iter().find(|(id, _)| *id == planned.id));
            if let Some((_, outputs)) = reused {
                let mut outcome = skipped(
                    planned,
                    "passed in an earlier attempt: reused, not run again",
                    false,
                );
                outcome.status = JobStatus::Success;
                outcome.reused = true;
                outcome.outputs.clone_from(outputs);
                record_settled(&shared, &outcome).await;
                done.insert(planned.id.clone(), outcome);
                pending.remove(index);
                index = 0;
                continue;
            }
            match decide(
                planned,
                job,
                &done,
                failed_at.as_deref(),
                interrupted,
                &shared.options.event,
                &shared.options.pipeline,
            ) {
                Decision::Settle(outcome) => {
                    record_settled(&shared, &outcome).await;
                    done.insert(planned.id.clone(), *outcome);
                    pending.remove(index);
                    index = 0;
                }
                Decision::Start if running.len() < shared.options.parallelism.max(1) => {
                    let (cancel_tx, cancel_rx) = watch::channel(false);
                    cancels.insert(planned.id.clone(), (cancel_tx, uses_status_function(job)));
                    let planned = planned.clone();
                    let job = job.clone();
                    let needs_results = need_results(&planned, &done);
                    let shared = shared.clone();
                    running.spawn(async move {
                        run_job(shared, planned, job, needs_results, cancel_rx).await
                    });
                    pending.remove(index);
                }
                Decision::Start => index += 1,
            }
        }
        if running.is_empty() {
            // Nothing runs and nothing can start: every remaining job waits on an unknown id.
            for planned in pending.drain(..) {
                let outcome = skipped(planned, "its needs never finished", false);
                record_settled(&shared, &outcome).await;
                done.insert(planned.id.clone(), outcome);
            }
            break;
        }
        tokio::select! {
            Some(joined) = running.join_next() => {
                let outcome = match joined {
                    Ok(outcome) => outcome,
                    Err(error) => panic!("a job task failed: {error}"),
                };
                cancels.remove(&outcome.id);
                let fail_fast = jobs
                    .get(plan.jobs.iter().find(|j| j.id == outcome.id).map_or("", |j| j.job.as_str()))
                    .and_then(|j| j.fail_fast.as_ref())
                    .is_none_or(|f| f.value);
                if outcome.fails_run() && failed_at.is_none() {
                    failed_at = Some(outcome.id.clone());
                    if fail_fast {
                        // Running jobs can no longer change the outcome, unless they exist to
                        // react to failure (`always()`, `failure()`).
                        for (cancel, reacts_to_status) in cancels.values() {
                            if !reacts_to_status {
                                let _ = cancel.send(true);
                            }
                        }
                    } else {
                        failed_at = Some(format!("!{}", outcome.id));
                    }
                }
                done.insert(outcome.id.clone(), outcome);
            }
            _ = wait_true(&mut interrupt), if !interrupted => {
                interrupted = true;
                for (_, (cancel, _)) in cancels.iter() {
                    let _ = cancel.send(true);
                }
            }
        }
    }
    // Keep the plan's order for reports.
    let outcomes = plan
        .jobs
        .iter()
        .filter_map(|j| done.shift_remove(&j.id))
        .collect();
    (outcomes, interrupted)
}

async fn wait_true(receiver: &mut watch::Receiver<bool>) {
    while !*receiver.borrow() {
        if receiver.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

enum Decision {
    Start,
    Settle(Box<JobOutcome>),
}

fn uses_status_function(job: &Job) -> bool {
    let Some(condition) = &job.condition else {
        return false;
    };
    let mut found = false;
    expr::walk(&condition.expr, &mut |e| {
        if let expr::ExprKind::Call(name, _) = &e.kind {
            found |= matches!(name.as_str(), "always" | "failure" | "cancelled");
        }
    });
    found
}

fn skipped(planned: &PlannedJob, reason: &str, satisfied: bool) -> JobOutcome {
    JobOutcome {
        id: planned.id.clone(),
        stage: planned.stage.clone(),
        status: JobStatus::Skipped,
        satisfied,
        continue_on_error: false,
        attempts: 0,
        duration_ms: 0,
        exit_code: None,
        reason: Some(reason.to_string()),
        cache: None,
        debug_shell: None,
        reused: false,
        outputs: None,
        artifact: None,
        reports: Vec::new(),
        sarif: Vec::new(),
        failed_output: Vec::new(),
    }
}

/// `failed_at` holds the job whose failure failed the run; a leading `!` marks a failure of
/// a job with `fail-fast: false`, which fails the run without cancelling others.
/// The `matrix` context of a job instance.
fn matrix_context(planned: &PlannedJob) -> Value {
    Value::Object(
        planned
            .matrix
            .iter()
            .map(|(k, v)| (k.clone(), v.to_value()))
            .collect(),
    )
}

/// The `env` context of a job: the pipeline's variables under the job's, unrendered.
fn pipeline_env(pipeline: &Pipeline, job: &Job) -> Value {
    let mut env = IndexMap::new();
    for (name, value) in pipeline
        .env
        .iter()
        .flatten()
        .chain(job.env.iter().flatten())
    {
        env.insert(name.name.clone(), Value::String(value.text.value.clone()));
    }
    Value::Object(env)
}

#[allow(clippy::too_many_arguments)]
fn decide(
    planned: &PlannedJob,
    job: &Job,
    done: &IndexMap<String, JobOutcome>,
    failed_at: Option<&str>,
    interrupted: bool,
    event: &Event,
    pipeline: &Pipeline,
) -> Decision {
    if !planned.runs {
        let satisfied = planned.skip_kind == Some(SkipKind::NotAffected);
        return Decision::Settle(Box::new(skipped(
            planned,
            planned.skip_reason.as_deref().unwrap_or("skipped"),
            satisfied,
        )));
    }
    if interrupted {
        let mut outcome = skipped(planned, INTERRUPTED, false);
        outcome.status = JobStatus::Cancelled;
        return Decision::Settle(Box::new(outcome));
    }
    let mut status = NeedsStatus::default();
    let mut blocking_need = None;
    for need in &planned.needs {
        let Some(outcome) = done.get(need) else {
            continue;
        };
        if outcome.counts_as_success() {
            continue;
        }
        match outcome.status {
            JobStatus::Failure | JobStatus::TimedOut => status.any_failed = true,
            JobStatus::Cancelled => status.any_cancelled = true,
            _ => status.any_skipped = true,
        }
        blocking_need.get_or_insert_with(|| (need.clone(), outcome.status));
    }
    let proceed = match &job.condition {
        None => !status.any_failed && !status.any_cancelled && !status.any_skipped,
        Some(condition) => {
            let scope = condition_scope(planned, status, done, event, pipeline_env(pipeline, job));
            match scope.eval(&condition.expr) {
                Ok(value) => value.truthy(),
                Err(error) => {
                    let mut outcome = skipped(planned, &format!("if: {error}"), false);
                    outcome.status = JobStatus::Failure;
                    return Decision::Settle(Box::new(outcome));
                }
            }
        }
    };
    if proceed {
        // Fail-fast: nothing new starts once the run has failed, except jobs that exist to
        // react to failure (`always()`, `failure()`, `cancelled()`).
        if let Some(failed) = failed_at.filter(|f| !f.starts_with('!'))
            && !uses_status_function(job)
        {
            let mut outcome = skipped(
                planned,
                &format!("cancelled by fail-fast: `{failed}` failed"),
                false,
            );
            outcome.status = JobStatus::Cancelled;
            return Decision::Settle(Box::new(outcome));
        }
        return Decision::Start;
    }
    let reason = match (&job.condition, blocking_need) {
        (None, Some((need, need_status))) => {
            let what = match need_status {
                JobStatus::Failure => "failed",
                JobStatus::TimedOut => "timed out",
                JobStatus::Cancelled => "was cancelled",
                JobStatus::Success | JobStatus::Skipped => "was skipped",
            };
            format!("need `{need}` {what}")
        }
        (Some(condition), _) => format!("if: `{}` is false", condition.text.value.trim()),
        (None, None) => "skipped".into(),
    };
    Decision::Settle(Box::new(skipped(planned, &reason, false)))
}

fn condition_scope<'a>(
    planned: &PlannedJob,
    status: NeedsStatus,
    done: &IndexMap<String, JobOutcome>,
    event: &Event,
    env: Value,
) -> Scope<'a> {
    let mut scope = Scope {
        status: Some(status),
        ..Scope::default()
    };
    scope.contexts.insert("event".into(), event.context());
    scope.contexts.insert("env".into(), env);
    let mut results = IndexMap::new();
    for need in &planned.needs {
        if let Some(outcome) = done.get(need) {
            let key = need.split(" (").next().unwrap_or(need).to_string();
            let result = if outcome.counts_as_success() {
                "success"
            } else {
                outcome.status.as_str()
            };
            let mut fields = IndexMap::new();
            fields.insert(
                "result".to_string(),
                Value::String(result.replace("timed_out", "failure")),
            );
            // A matrix job's result is its worst instance's.
            let worse = results
                .get(&key)
                .is_some_and(|existing: &Value| matches!(existing, Value::Object(f) if f.get("result") != Some(&Value::String("success".into()))));
            if !worse {
                results.insert(key, Value::Object(fields));
            }
        }
    }
    scope.contexts.insert("jobs".into(), Value::Object(results));
    scope
        .contexts
        .insert("matrix".into(), matrix_context(planned));
    scope
}

fn need_results(
    planned: &PlannedJob,
    done: &IndexMap<String, JobOutcome>,
) -> IndexMap<String, JobOutcome> {
    planned
        .needs
        .iter()
        .filter_map(|n| done.get(n).map(|o| (n.clone(), o.clone())))
        .collect()
}

async fn record_settled(shared: &Shared, outcome: &JobOutcome) {
    let reason = outcome.reason.as_deref().unwrap_or("");
    match outcome.status {
        JobStatus::Cancelled => shared.sink.event(Ev::JobCancelled {
            job: &outcome.id,
            reason,
        }),
        JobStatus::Success => shared.sink.event(Ev::JobReused { job: &outcome.id }),
        _ => shared.sink.event(Ev::JobSkipped {
            job: &outcome.id,
            reason,
        }),
    }
    if !shared.options.json {
        let mark = match outcome.status {
            JobStatus::Cancelled => "⊘",
            JobStatus::Success => "↺",
            _ => "–",
        };
        shared.console.print(&[format!(
            "  {mark} {}  {}",
            outcome.id,
            shared.masker.mask(reason)
        )]);
    }
    let record = job_record(shared, outcome, Vec::new(), Vec::new(), None, None);
    shared.record(record);
}

fn job_record(
    shared: &Shared,
    outcome: &JobOutcome,
    attempt_log: Vec<AttemptRecord>,
    steps: Vec<StepRecord>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
) -> JobRecord {
    let planned = shared.options.plan.jobs.iter().find(|j| j.id == outcome.id);
    JobRecord {
        job_id: outcome.id.clone(),
        job_key: planned.map(|p| p.job.clone()).unwrap_or_default(),
        matrix: planned
            .map(|p| serde_json::to_value(&p.matrix).unwrap_or_default())
            .unwrap_or_default(),
        stage: outcome.stage.clone(),
        status: outcome.status.as_str().into(),
        reason: outcome
            .reason
            .as_ref()
            .map(|r| shared.masker.mask(r).into_owned()),
        exit_code: outcome.exit_code.map(i64::from),
        attempts: i64::from(outcome.attempts),
        cache: outcome.cache.clone(),
        outputs_digest: outcome.outputs.clone(),
        reused: outcome.reused,
        started_at,
        finished_at,
        attempt_log,
        steps,
    }
}

/// The result of one attempt of a job.
enum AttemptEnd {
    Passed,
    Failed {
        class: FailureClass,
        exit_code: Option<i32>,
        message: String,
    },
    Cancelled,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FailureClass {
    Infra,
    Timeout,
    Exit(i32),
    /// A mistake in the pipeline (a template that does not render): never retried.
    Config,
}

impl FailureClass {
    fn as_str(self) -> &'static str {
        match self {
            FailureClass::Infra => "infra",
            FailureClass::Timeout => "timeout",
            FailureClass::Exit(_) => "exit",
            FailureClass::Config => "config",
        }
    }
}

fn retryable(class: FailureClass, on: &[RetryOn]) -> bool {
    on.iter().any(|r| match (r, class) {
        (RetryOn::Infra, FailureClass::Infra) | (RetryOn::Timeout, FailureClass::Timeout) => true,
        (RetryOn::ExitCode(code), FailureClass::Exit(exit)) => i32::from(*code) == exit,
        _ => false,
    })
}

const DEFAULT_JOB_TIMEOUT: Duration = Duration::from_secs(30 * 60);

async fn run_job(
    shared: Arc<Shared>,
    planned: PlannedJob,
    job: Job,
    needs: IndexMap<String, JobOutcome>,
    mut cancel: watch::Receiver<bool>,
) -> JobOutcome {
    let started = Instant::now();
    let started_at = now_ms();
    let pipeline = &shared.options.pipeline;
    let job_timeout = job
        .timeout
        .as_ref()
        .map(|t| t.value.0)
        .or_else(|| {
            pipeline
                .defaults
                .as_ref()
                .and_then(|d| d.timeout.as_ref())
                .map(|t| t.value.0)
        })
        .unwrap_or(DEFAULT_JOB_TIMEOUT);
    let retry = job.retry.clone().unwrap_or_default();
    let max_retries = retry.max.as_ref().map_or(0, |m| m.value.max(0) as u32);
    let retry_on: Vec<RetryOn> = retry.on.iter().flatten().map(|o| o.value).collect();
    let workspace = shared.work.join(workspace::slug(&planned.id));
    let mut attempt_log = Vec::new();
    let mut step_log = Vec::new();
    let mut attempt = 0u32;
    let mut failed_output = Vec::new();
    let mut cache_status: Option<String> = None;
    let mut outputs: Option<String> = None;
    let mut artifact: Option<Box<ArtifactSummary>> = None;
    let mut reports = Vec::new();
    let mut sarif = Vec::new();
    let end = loop {
        attempt += 1;
        shared.sink.event(Ev::JobStarted {
            job: &planned.id,
            attempt,
        });
        if !shared.options.json {
            let note = if attempt > 1 {
                format!(" (attempt {attempt})")
            } else {
                String::new()
            };
            shared.console.started(&planned.id);
            shared.console.print(&[format!("  ▶ {}{note}", planned.id)]);
        }
        let attempt_started = now_ms();
        let deadline = Instant::now() + job_timeout;
        let copy = {
            let (source, target) = (shared.source.clone(), workspace.clone());
            tokio::task::spawn_blocking(move || workspace::fresh_copy(&source, &target)).await
        };
        let end = match copy.unwrap_or_else(|e| {
            Err(workspace::WorkspaceError::Io {
                path: workspace.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })
        }) {
            Err(error) => AttemptEnd::Failed {
                class: FailureClass::Infra,
                exit_code: None,
                message: error.to_string(),
            },
            Ok(()) => match prepare_inputs(&shared, &planned, &job, &needs, &workspace).await {
                Err(message) => AttemptEnd::Failed {
                    class: FailureClass::Infra,
                    exit_code: None,
                    message,
                },
                Ok(cache) => {
                    cache_status = cache.as_ref().map(|c| c.status.clone());
                    let end = run_steps(
                        &shared,
                        &planned,
                        &job,
                        &workspace,
                        attempt,
                        deadline,
                        &mut cancel,
                        &mut step_log,
                        &mut failed_output,
                    )
                    .await;
                    match end {
                        AttemptEnd::Passed => {
                            match save_results(&shared, &planned, &job, &workspace, cache.as_ref())
                                .await
                            {
                                Ok(saved) => {
                                    outputs = saved.outputs;
                                    artifact = saved.artifact;
                                    reports = saved.reports;
                                    sarif = saved.sarif;
                                    AttemptEnd::Passed
                                }
                                Err(message) => AttemptEnd::Failed {
                                    class: FailureClass::Config,
                                    exit_code: None,
                                    message,
                                },
                            }
                        }
                        other => other,
                    }
                }
            },
        };
        let (status, exit_code, class) = match &end {
            AttemptEnd::Passed => ("success", Some(0), None),
            AttemptEnd::Failed {
                class, exit_code, ..
            } => (
                if *class == FailureClass::Timeout {
                    "timed_out"
                } else {
                    "failure"
                },
                *exit_code,
                Some(*class),
            ),
            AttemptEnd::Cancelled => ("cancelled", None, None),
        };
        attempt_log.push(AttemptRecord {
            attempt: i64::from(attempt),
            status: status.into(),
            exit_code: exit_code.map(i64::from),
            failure_class: class.map(|c| c.as_str().to_string()),
            started_at: attempt_started,
            finished_at: now_ms(),
        });
        let AttemptEnd::Failed { class, .. } = &end else {
            break end;
        };
        if attempt > max_retries || !retryable(*class, &retry_on) || *cancel.borrow() {
            break end;
        }
        let delay = backoff_delay(&retry, attempt);
        shared.sink.event(Ev::JobRetrying {
            job: &planned.id,
            attempt,
            failure_class: class.as_str(),
            delay_ms: delay.as_millis() as u64,
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = wait_true(&mut cancel) => break AttemptEnd::Cancelled,
        }
    };
    let (status, exit_code, reason) = match &end {
        AttemptEnd::Passed => (
            JobStatus::Success,
            Some(0),
            (attempt > 1).then(|| format!("passed after {attempt} attempts")),
        ),
        AttemptEnd::Failed {
            class,
            exit_code,
            message,
        } => (
            if *class == FailureClass::Timeout {
                JobStatus::TimedOut
            } else {
                JobStatus::Failure
            },
            *exit_code,
            Some(message.clone()),
        ),
        AttemptEnd::Cancelled => (JobStatus::Cancelled, None, Some("cancelled".to_string())),
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    let failed = matches!(status, JobStatus::Failure | JobStatus::TimedOut);
    let debug_shell = (failed && shared.options.debug_on_failure)
        .then(|| debug_command(&shared, &planned, &job, &workspace));
    if debug_shell.is_none() && !shared.options.keep_workspaces {
        shared.remove_later(workspace);
    }
    let outcome = JobOutcome {
        id: planned.id.clone(),
        stage: planned.stage.clone(),
        status,
        satisfied: false,
        continue_on_error: job.continue_on_error.as_ref().is_some_and(|c| c.value),
        attempts: attempt,
        duration_ms,
        exit_code,
        reason: reason.map(|r| shared.masker.mask(&r).into_owned()),
        cache: cache_status,
        debug_shell,
        reused: false,
        outputs,
        artifact,
        reports,
        sarif,
        failed_output: if failed { failed_output } else { Vec::new() },
    };
    shared.sink.event(Ev::JobFinished {
        job: &outcome.id,
        status: status.as_str(),
        exit_code,
        duration_ms,
        attempts: attempt,
        reason: outcome.reason.as_deref(),
    });
    shared.console.ended(&outcome.id);
    shared.console.print(&finished_lines(&outcome));
    let record = job_record(
        &shared,
        &outcome,
        attempt_log,
        step_log,
        Some(started_at),
        Some(now_ms()),
    );
    shared.record(record);
    outcome
}

fn finished_lines(outcome: &JobOutcome) -> Vec<String> {
    let seconds = outcome.duration_ms as f64 / 1000.0;
    let retries = if outcome.attempts > 1 {
        format!(", {} attempts", outcome.attempts)
    } else {
        String::new()
    };
    match outcome.status {
        JobStatus::Success => vec![format!("  ✓ {}  {seconds:.1}s{retries}", outcome.id)],
        JobStatus::Cancelled => vec![format!("  ⊘ {}  cancelled after {seconds:.1}s", outcome.id)],
        _ => {
            let reason = outcome.reason.as_deref().unwrap_or("failed");
            let allowed = if outcome.continue_on_error {
                " (continue-on-error)"
            } else {
                ""
            };
            let mut lines = vec![format!(
                "  ✗ {}  {reason}{allowed} after {seconds:.1}s{retries}",
                outcome.id
            )];
            lines.extend(
                outcome
                    .failed_output
                    .iter()
                    .map(|line| format!("    │ {line}")),
            );
            if let Some(shell) = &outcome.debug_shell {
                lines.push(format!("    debug: {shell}"));
            }
            lines
        }
    }
}

fn backoff_delay(retry: &slipway_pipeline::model::Retry, attempt: u32) -> Duration {
    let backoff = retry.backoff.as_ref();
    let initial = backoff
        .and_then(|b| b.initial.as_ref())
        .map_or(Duration::from_secs(1), |d| d.value.0);
    let factor = backoff
        .and_then(|b| b.factor.as_ref())
        .map_or(2.0, |f| f.value);
    let cap = backoff
        .and_then(|b| b.max.as_ref())
        .map_or(Duration::from_secs(30), |d| d.value.0);
    let base = initial.as_secs_f64() * factor.powi(attempt.saturating_sub(1) as i32);
    // ±20% jitter so retries of many jobs do not stampede together.
    let jitter = 0.8 + 0.4 * (now_ms().rem_euclid(1000) as f64 / 1000.0);
    Duration::from_secs_f64((base * jitter).min(cap.as_secs_f64()))
}

#[allow(clippy::too_many_arguments)]
async fn run_steps(
    shared: &Shared,
    planned: &PlannedJob,
    job: &Job,
    workspace: &Path,
    attempt: u32,
    deadline: Instant,
    cancel: &mut watch::Receiver<bool>,
    step_log: &mut Vec<StepRecord>,
    failed_output: &mut Vec<String>,
) -> AttemptEnd {
    let steps: &[Step] = job.steps.as_deref().unwrap_or_default();
    let mut any_failed = false;
    let mut first_failure: Option<AttemptEnd> = None;
    let hasher = |patterns: &[String]| workspace::hash_files(workspace, patterns);
    for (index, step) in steps.iter().enumerate() {
        let name = step_name(step, index);
        let scope = step_scope(shared, planned, job, &hasher, any_failed);
        if let Some(condition) = &step.condition {
            match scope.eval(&condition.expr) {
                Ok(value) if value.truthy() => {}
                Ok(_) => continue,
                Err(error) => {
                    return AttemptEnd::Failed {
                        class: FailureClass::Config,
                        exit_code: None,
                        message: format!("step `{name}`: if: {error}"),
                    };
                }
            }
        } else if any_failed {
            continue;
        }
        let script = match step.run.as_ref().map(|r| scope.render(&r.segments)) {
            Some(Ok(script)) => script,
            Some(Err(error)) => {
                return AttemptEnd::Failed {
                    class: FailureClass::Config,
                    exit_code: None,
                    message: format!("step `{name}`: {error}"),
                };
            }
            None => continue,
        };
        let env = match step_env(shared, planned, job, step, &scope, workspace) {
            Ok(env) => env,
            Err(message) => {
                return AttemptEnd::Failed {
                    class: FailureClass::Config,
                    exit_code: None,
                    message,
                };
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let timeout = step
            .timeout
            .as_ref()
            .map_or(remaining, |t| t.value.0.min(remaining));
        let directory = step
            .working_directory
            .as_ref()
            .or(shared
                .options
                .pipeline
                .defaults
                .as_ref()
                .and_then(|d| d.working_directory.as_ref()))
            .map_or_else(|| workspace.to_path_buf(), |d| workspace.join(&d.value));
        let shell = step
            .shell
            .as_ref()
            .or(shared
                .options
                .pipeline
                .defaults
                .as_ref()
                .and_then(|d| d.shell.as_ref()))
            .map_or("bash", |s| s.value.as_str());
        let sandboxed = shared.options.sandbox || job.sandbox.as_ref().is_some_and(|s| s.value);
        let (program, args) = match command_line(
            shell,
            &script,
            sandboxed,
            workspace,
            &shared.options.state_dir,
            &shared.options.masked_paths,
        ) {
            Ok(command) => command,
            Err(message) => {
                return AttemptEnd::Failed {
                    class: FailureClass::Config,
                    exit_code: None,
                    message,
                };
            }
        };
        shared.sink.event(Ev::StepStarted {
            job: &planned.id,
            step: &name,
            attempt,
        });
        let step_started = now_ms();
        let clock = Instant::now();
        let spec = || Spec {
            program: &program,
            args: args.clone(),
            dir: &directory,
            env: env.clone(),
            timeout,
            grace: shared.options.grace,
        };
        let (mut exit, mut output) =
            run_process(shared, &planned.id, &name, attempt, spec(), cancel).await;
        // A step's own `retry` repeats just the step, in the same workspace.
        if let Some(retry) = &step.retry {
            let max = retry.max.as_ref().map_or(0, |m| m.value.max(0) as u32);
            let on: Vec<RetryOn> = retry.on.iter().flatten().map(|o| o.value).collect();
            let mut tries = 1;
            while tries <= max
                && exit_class(&exit).is_some_and(|class| retryable(class, &on))
                && !*cancel.borrow()
            {
                let delay = backoff_delay(retry, tries);
                shared.sink.event(Ev::StepRetrying {
                    job: &planned.id,
                    step: &name,
                    attempt: tries,
                    delay_ms: delay.as_millis() as u64,
                });
                tokio::time::sleep(delay).await;
                tries += 1;
                (exit, output) =
                    run_process(shared, &planned.id, &name, attempt, spec(), cancel).await;
            }
        }
        let (status, exit_code, failure) = match exit {
            Exit::Code(0) => ("success", Some(0), None),
            Exit::Code(code) => (
                "failure",
                Some(code),
                Some((
                    FailureClass::Exit(code),
                    format!("step `{name}` exited with {code}"),
                )),
            ),
            Exit::Signal(signal) => (
                "failure",
                None,
                Some((
                    FailureClass::Infra,
                    format!("step `{name}` was killed by signal {signal}"),
                )),
            ),
            Exit::TimedOut => (
                "timed_out",
                None,
                Some((
                    FailureClass::Timeout,
                    format!(
                        "step `{name}` timed out after {}",
                        slipway_pipeline::read::format_duration(timeout)
                    ),
                )),
            ),
            Exit::Cancelled => ("cancelled", None, None),
            Exit::SpawnFailed(ref message) => (
                "failure",
                None,
                Some((FailureClass::Infra, format!("step `{name}`: {message}"))),
            ),
        };
        shared.sink.event(Ev::StepFinished {
            job: &planned.id,
            step: &name,
            attempt,
            status,
            exit_code,
            duration_ms: clock.elapsed().as_millis() as u64,
        });
        step_log.push(StepRecord {
            attempt: i64::from(attempt),
            index: index as i64,
            name: name.clone(),
            status: status.into(),
            exit_code: exit_code.map(i64::from),
            started_at: step_started,
            finished_at: now_ms(),
        });
        if exit == Exit::Cancelled {
            return AttemptEnd::Cancelled;
        }
        if let Some((class, message)) = failure {
            if step.continue_on_error.as_ref().is_some_and(|c| c.value) || first_failure.is_some() {
                continue;
            }
            *failed_output = output;
            let message = shared.masker.mask(&message).into_owned();
            // Later steps run only when their `if` asks for it (`failure()`, `always()`).
            first_failure = Some(AttemptEnd::Failed {
                class,
                exit_code,
                message,
            });
            any_failed = true;
        }
    }
    first_failure.unwrap_or(AttemptEnd::Passed)
}

/// The failure class of a process's end, when it failed.
fn exit_class(exit: &Exit) -> Option<FailureClass> {
    match exit {
        Exit::Code(0) | Exit::Cancelled => None,
        Exit::Code(code) => Some(FailureClass::Exit(*code)),
        Exit::Signal(_) | Exit::SpawnFailed(_) => Some(FailureClass::Infra),
        Exit::TimedOut => Some(FailureClass::Timeout),
    }
}

/// Runs one process of a step, streaming its masked lines into the event log; returns how it
/// ended and the tail of its output.
async fn run_process(
    shared: &Shared,
    job: &str,
    step: &str,
    attempt: u32,
    spec: Spec<'_>,
    cancel: &mut watch::Receiver<bool>,
) -> (Exit, Vec<String>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let process = process::run(spec, tx, cancel.clone());
    tokio::pin!(process);
    let mut maskers = [
        LineMasker::new(&shared.masker),
        LineMasker::new(&shared.masker),
    ];
    let mut output = Vec::new();
    let emit = |stream: Stream, lines: Vec<String>, output: &mut Vec<String>| {
        for line in lines {
            shared.sink.line(job, step, attempt, stream, &line);
            keep_tail(output, line);
        }
    };
    let exit = loop {
        tokio::select! {
            Some((stream, chunk)) = rx.recv() => {
                let lines = maskers[stream as usize].push(&chunk);
                emit(stream, lines, &mut output);
            }
            exit = &mut process => break exit,
        }
    };
    while let Ok((stream, chunk)) = rx.try_recv() {
        let lines = maskers[stream as usize].push(&chunk);
        emit(stream, lines, &mut output);
    }
    for (stream, masker) in [Stream::Stdout, Stream::Stderr]
        .into_iter()
        .zip(maskers.iter_mut())
    {
        let rest: Vec<String> = masker.finish().into_iter().collect();
        emit(stream, rest, &mut output);
    }
    (exit, output)
}

/// The failing step's output is shown in full up to this many lines (the log has all of it).
const FAILED_OUTPUT_LINES: usize = 200;

fn keep_tail(output: &mut Vec<String>, line: String) {
    if output.len() == FAILED_OUTPUT_LINES {
        output.remove(0);
    }
    output.push(line);
}

fn step_name(step: &Step, index: usize) -> String {
    match (&step.name, &step.run) {
        (Some(name), _) => name.value.clone(),
        (None, Some(run)) => {
            let first = run.text.value.lines().next().unwrap_or("").trim();
            let short: String = first.chars().take(60).collect();
            if short.is_empty() {
                format!("step {}", index + 1)
            } else {
                short
            }
        }
        (None, None) => format!("step {}", index + 1),
    }
}

fn step_scope<'a>(
    shared: &Shared,
    planned: &PlannedJob,
    job: &Job,
    hasher: &'a expr::HashFiles<'a>,
    any_failed: bool,
) -> Scope<'a> {
    let mut scope = Scope {
        status: Some(NeedsStatus {
            any_failed,
            ..NeedsStatus::default()
        }),
        ..Scope::default()
    };
    scope
        .contexts
        .insert("event".into(), shared.options.event.context());
    scope
        .contexts
        .insert("matrix".into(), matrix_context(planned));
    scope
        .contexts
        .insert("env".into(), pipeline_env(&shared.options.pipeline, job));
    scope.hash_files = Some(hasher);
    scope
}

/// Variables every step sees. The invoking environment is not inherited wholesale (it holds
/// other credentials): only what tools need to work.
const INHERITED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TERM",
    "TMPDIR",
    "CARGO_HOME",
    "CARGO_TARGET_DIR",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "GOPATH",
    "GOCACHE",
    "NPM_CONFIG_CACHE",
    "PIP_CACHE_DIR",
    "JAVA_HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
];

fn step_env(
    shared: &Shared,
    planned: &PlannedJob,
    job: &Job,
    step: &Step,
    scope: &Scope,
    workspace: &Path,
) -> Result<Vec<(String, String)>, String> {
    let mut env: IndexMap<String, String> = IndexMap::new();
    for name in INHERITED {
        if let Some(value) = std::env::var_os(name) {
            env.insert((*name).to_string(), value.to_string_lossy().into_owned());
        }
    }
    let event = &shared.options.event;
    for (name, value) in [
        ("CI", "true".to_string()),
        ("SLIPWAY", "true".to_string()),
        ("SLIPWAY_RUN_ID", shared.run_id.clone()),
        ("SLIPWAY_RUN_NUMBER", shared.run_number.to_string()),
        ("SLIPWAY_JOB", planned.id.clone()),
        ("SLIPWAY_WORKSPACE", workspace.display().to_string()),
        ("SLIPWAY_COMMIT", event.sha.clone()),
        ("SLIPWAY_REF", event.git_ref.clone()),
        ("SLIPWAY_EVENT", event.kind.as_str().to_string()),
        (
            "SOURCE_DATE_EPOCH",
            shared.options.source_date_epoch.to_string(),
        ),
    ] {
        env.insert(name.to_string(), value);
    }
    let sources = shared
        .options
        .pipeline
        .env
        .iter()
        .flatten()
        .chain(job.env.iter().flatten())
        .chain(step.env.iter().flatten());
    for (name, template) in sources {
        let value = scope
            .render(&template.segments)
            .map_err(|e| format!("env `{name}`: {e}"))?;
        env.insert(name.name.clone(), value);
    }
    for name in job.secrets.iter().flatten() {
        if let Some(secret) = shared.secrets.get(name.value.as_str()) {
            env.insert(name.value.clone(), secret.expose().to_string());
        }
    }
    Ok(env.into_iter().collect())
}

/// The program and arguments for a step: the shell, optionally inside bubblewrap.
fn command_line(
    shell: &str,
    script: &str,
    sandboxed: bool,
    workspace: &Path,
    state_dir: &Path,
    masked: &[PathBuf],
) -> Result<(String, Vec<String>), String> {
    let mut args: Vec<String> = match shell {
        "bash" => vec![
            "bash".into(),
            "--noprofile".into(),
            "--norc".into(),
            "-eo".into(),
            "pipefail".into(),
            "-c".into(),
        ],
        "sh" => vec!["sh".into(), "-e".into(), "-c".into()],
        other => vec![other.to_string(), "-c".into()],
    };
    args.push(script.to_string());
    if !sandboxed {
        let shell = args.remove(0);
        // An absolute path lets the process be started with posix_spawn (vfork) instead of
        // fork: with a cleared environment, a bare name would make std search PATH itself.
        let program = find_program(&shell)
            .ok_or_else(|| format!("the shell `{shell}` is not installed or not on PATH"))?;
        return Ok((program, args));
    }
    let bwrap = find_program("bwrap").ok_or_else(|| {
        "the job asks for a sandbox, but bubblewrap is not installed: install the Debian package `bubblewrap` (apt-get install bubblewrap)".to_string()
    })?;
    let workspace = workspace.display().to_string();
    let mut sandbox: Vec<String> = [
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // The state directory (run history, keys, other jobs' workspaces) is hidden from steps.
    if state_dir.exists() {
        sandbox.extend(["--tmpfs".into(), state_dir.display().to_string()]);
    }
    // Files steps must not read (the signing key) show as empty; directories as empty tmpfs.
    for path in masked.iter().filter(|p| p.exists()) {
        if path.is_dir() {
            sandbox.extend(["--tmpfs".into(), path.display().to_string()]);
        } else {
            sandbox.extend([
                "--ro-bind".into(),
                "/dev/null".into(),
                path.display().to_string(),
            ]);
        }
    }
    sandbox.extend([
        "--bind".into(),
        workspace.clone(),
        workspace.clone(),
        "--unshare-net".into(),
        "--unshare-pid".into(),
        "--unshare-ipc".into(),
        "--unshare-uts".into(),
        "--die-with-parent".into(),
        "--chdir".into(),
        workspace,
        "--".into(),
    ]);
    sandbox.extend(args);
    Ok((bwrap, sandbox))
}

fn find_program(name: &str) -> Option<String> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
            .map(|p| p.display().to_string())
    })
}

/// One command that opens a shell in a failed job's workspace with its environment,
/// secrets left out.
fn debug_command(shared: &Shared, planned: &PlannedJob, job: &Job, workspace: &Path) -> String {
    let hasher = |patterns: &[String]| workspace::hash_files(workspace, patterns);
    let scope = step_scope(shared, planned, job, &hasher, true);
    let step = Step::default();
    let env = step_env(shared, planned, job, &step, &scope, workspace).unwrap_or_default();
    let secret_names: Vec<&str> = job
        .secrets
        .iter()
        .flatten()
        .map(|s| s.value.as_str())
        .collect();
    let assignments: Vec<String> = env
        .iter()
        .filter(|(name, _)| !secret_names.contains(&name.as_str()))
        .map(|(name, value)| format!("{name}={}", shell_quote(value)))
        .collect();
    format!(
        "cd {} && env -i {} bash --noprofile --norc",
        shell_quote(&workspace.display().to_string()),
        assignments.join(" ")
    )
}

fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// A job's cache as restored before its steps: the rendered key and what the lookup found.
struct CacheState {
    key: String,
    status: String,
    paths: Vec<slipway_cas::PathSpec>,
    roots: slipway_cas::Roots,
}

fn roots(workspace: &Path) -> slipway_cas::Roots {
    let roots = slipway_cas::Roots::workspace(workspace);
    match std::env::var_os("HOME") {
        Some(home) => roots.with_home(home),
        None => roots,
    }
}

/// Before the first step: the outputs of the needs, then the cache.
async fn prepare_inputs(
    shared: &Shared,
    planned: &PlannedJob,
    job: &Job,
    needs: &IndexMap<String, JobOutcome>,
    workspace: &Path,
) -> Result<Option<CacheState>, String> {
    for (need, outcome) in needs {
        let Some(hex) = &outcome.outputs else {
            continue;
        };
        let digest =
            slipway_cas::Digest::from_hex(hex).map_err(|e| format!("outputs of `{need}`: {e}"))?;
        slipway_cas::outputs::materialise(&shared.blobs, &digest, workspace)
            .await
            .map_err(|e| format!("cannot materialise the outputs of `{need}`: {e}"))?;
    }
    let Some(cache) = &job.cache else {
        return Ok(None);
    };
    let hasher = |patterns: &[String]| workspace::hash_files(workspace, patterns);
    let scope = step_scope(shared, planned, job, &hasher, false);
    let key = match &cache.key {
        Some(key) => scope
            .render(&key.segments)
            .map_err(|e| format!("cache key: {e}"))?,
        None => return Ok(None),
    };
    let restore_keys = cache
        .restore_keys
        .iter()
        .flatten()
        .map(|k| scope.render(&k.segments))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cache restore-keys: {e}"))?;
    let paths = cache
        .paths
        .iter()
        .flatten()
        .map(|p| slipway_cas::PathSpec::parse(&p.value))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cache paths: {e}"))?;
    let roots = roots(workspace);
    // A cache that cannot be read is a miss, never a failure: caches only save time.
    let lookup = shared
        .caches
        .lookup(&key, &restore_keys)
        .await
        .unwrap_or(slipway_cas::Lookup::Miss);
    let status = match shared.caches.restore(&lookup, &roots).await {
        Ok(_) => lookup.status().to_string(),
        Err(error) => {
            eprintln!(
                "warning: cache of `{}` could not be restored: {error}",
                planned.id
            );
            "miss".to_string()
        }
    };
    shared.sink.event(Ev::Cache {
        job: &planned.id,
        result: &status,
        key: &key,
    });
    Ok(Some(CacheState {
        key,
        status,
        paths,
        roots,
    }))
}

/// After a successful attempt: store the declared outputs, and save the cache on a miss.
/// Returns the outputs' digest; a missing output fails the job.
/// What a passing job left behind.
struct Saved {
    outputs: Option<String>,
    artifact: Option<Box<ArtifactSummary>>,
    reports: Vec<crate::reports::ReportSummary>,
    sarif: Vec<crate::reports::StoredReport>,
}

async fn save_results(
    shared: &Shared,
    planned: &PlannedJob,
    job: &Job,
    workspace: &Path,
    cache: Option<&CacheState>,
) -> Result<Saved, String> {
    let outputs = match job.outputs.as_deref() {
        Some(paths) if !paths.is_empty() => {
            let paths: Vec<String> = paths.iter().map(|p| p.value.clone()).collect();
            let packed = slipway_cas::outputs::save_outputs(&shared.blobs, workspace, &paths)
                .await
                .map_err(|e| e.to_string())?;
            Some(packed.digest.hex())
        }
        _ => None,
    };
    if let Some(cache) = cache.filter(|c| c.status != "hit") {
        let masker = shared.masker.clone();
        let deny: Option<slipway_cas::Deny> = (!masker.is_empty()).then(|| {
            std::sync::Arc::new(move |bytes: &[u8]| masker.contains_secret(bytes))
                as slipway_cas::Deny
        });
        let options = slipway_cas::PackOptions {
            deny,
            ..slipway_cas::PackOptions::default()
        };
        if let Err(error) = shared
            .caches
            .save_paths(&cache.key, &cache.roots, &cache.paths, &options)
            .await
        {
            // Never fail a passing job over its cache; say why it was not saved.
            eprintln!(
                "warning: cache of `{}` not saved: {}",
                planned.id,
                shared.masker.mask(&error.to_string())
            );
        }
    }
    let junit: Vec<String> = job
        .reports
        .as_ref()
        .and_then(|r| r.junit.as_ref())
        .map(|paths| paths.iter().map(|p| p.value.clone()).collect())
        .unwrap_or_default();
    let reports = crate::reports::collect(&shared.blobs, workspace, &junit).await?;
    let sarif_paths: Vec<String> = job
        .reports
        .as_ref()
        .and_then(|r| r.sarif.as_ref())
        .map(|paths| paths.iter().map(|p| p.value.clone()).collect())
        .unwrap_or_default();
    let sarif = crate::reports::collect_sarif(&shared.blobs, workspace, &sarif_paths).await?;
    let artifact = match &job.artifact {
        Some(declared) => Some(Box::new(
            package_artifact(shared, planned, declared, workspace).await?,
        )),
        None => None,
    };
    Ok(Saved {
        outputs,
        artifact,
        reports,
        sarif,
    })
}

/// Packages the job's declared artifact from its workspace and records it under the run's tag:
/// `<commit>-<run number>`, with `.<attempt>` for later attempts of the run.
async fn package_artifact(
    shared: &Shared,
    planned: &PlannedJob,
    declared: &slipway_pipeline::model::Artifact,
    workspace: &Path,
) -> Result<ArtifactSummary, String> {
    let options = &shared.options;
    let from = declared.from.as_ref().map_or(".", |f| f.value.as_str());
    let source = workspace.join(from);
    if !source.starts_with(workspace) || from.split('/').any(|part| part == "..") {
        return Err(format!(
            "artifact `from: {from}` must stay inside the workspace"
        ));
    }
    let name = declared
        .name
        .as_ref()
        .map_or_else(|| planned.job.clone(), |n| n.value.clone());
    let mut scope = Scope::default();
    scope
        .contexts
        .insert("event".into(), options.event.context());
    scope
        .contexts
        .insert("matrix".into(), matrix_context(planned));
    scope.contexts.insert(
        "env".into(),
        pipeline_env(&options.pipeline, &Job::default()),
    );
    let mut env = Vec::new();
    for (key, template) in declared.env.iter().flatten() {
        let value = scope
            .render(&template.segments)
            .map_err(|e| format!("artifact env `{}`: {e}", key.name))?;
        env.push((key.name.clone(), value));
    }
    let ports = declared
        .ports
        .iter()
        .flatten()
        .map(|p| {
            u16::try_from(p.value)
                .map_err(|_| format!("artifact port {} is not a TCP port", p.value))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let spec = slipway_artifact::ArtifactSpec {
        name: name.clone(),
        source,
        entrypoint: declared
            .entrypoint
            .iter()
            .flatten()
            .map(|e| e.value.clone())
            .collect(),
        env,
        ports,
        source_date_epoch: options.source_date_epoch,
        revision: options.event.sha.clone(),
        repository: options.repository_uri.clone(),
        compression: slipway_artifact::Compression::Gzip,
    };
    let tag = if shared.run_attempt <= 1 {
        format!("{}-{}", options.event.sha, shared.run_number)
    } else {
        format!(
            "{}-{}.{}",
            options.event.sha, shared.run_number, shared.run_attempt
        )
    };
    let origin = slipway_artifact::Origin {
        run_id: Some(shared.run_id.clone()),
        repository: options.repository_uri.clone(),
        commit_sha: options.event.sha.clone(),
        git_ref: options.event.git_ref.clone(),
        event: options.event.kind.as_str().to_owned(),
    };
    let (packaged, _) = shared
        .artifacts
        .create(&spec, &origin, &tag)
        .await
        .map_err(|e| format!("cannot package the artifact `{name}`: {e}"))?;
    let digest = packaged.digest.to_string();
    shared.sink.event(Ev::ArtifactPackaged {
        job: &planned.id,
        name: &name,
        digest: &digest,
        tag: &tag,
        size: packaged.size,
        files: packaged.files,
    });
    Ok(ArtifactSummary {
        job: planned.id.clone(),
        name,
        digest,
        tag,
        size: packaged.size,
        files: packaged.files,
        packaging_ms: packaged.elapsed.as_millis() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_classes() {
        let on = [RetryOn::Infra, RetryOn::ExitCode(75)];
        assert!(retryable(FailureClass::Infra, &on));
        assert!(retryable(FailureClass::Exit(75), &on));
        assert!(!retryable(FailureClass::Exit(1), &on));
        assert!(!retryable(FailureClass::Timeout, &on));
        assert!(!retryable(
            FailureClass::Config,
            &[RetryOn::Infra, RetryOn::Timeout]
        ));
    }

    #[test]
    fn quoting_for_the_debug_shell() {
        assert_eq!(shell_quote("plain/path-1"), "plain/path-1");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
