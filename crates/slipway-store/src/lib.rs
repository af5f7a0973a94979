//! Run history: runs, jobs, attempts and steps, in SQLite (the embedded default, under the
//! state directory) or PostgreSQL, through one set of migrations and queries.
//!
//! Writes are few and batched: one transaction when a run's jobs are planned, one per finished
//! job, so recording costs little next to running the job.

mod advisories;
mod artifacts;
mod audit;
mod delivery;

pub use advisories::{AdvisoryRow, EcosystemStatus, ImportCounts};
pub use artifacts::{ArtifactRecord, EvidenceRecord, NewArtifact, ReleaseRecord};
pub use audit::{AuditEntry, AuditEvent, AuditFilter, StoredCheckpoint};
pub use delivery::{
    Approval, EnvironmentState, KnownBad, MeasurementRecord, NewRelease, NewRolloutEvent, Release,
    RolloutEvent, Transition,
};
use serde::Serialize;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AnyPool, AssertSqlSafe, Row, SqlSafeStr, SqlitePool};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot open the store at {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("cannot migrate the store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("no run {0}")]
    NoRun(String),
    #[error(
        "no artifact {0}: give a digest (`sha256:…` or a unique prefix) or a tag; `slipway artifact ls` lists them"
    )]
    NoArtifact(String),
    #[error("no release {0}: `slipway env status ENV` lists an environment's releases")]
    NoRelease(String),
    #[error("{0} matches more than one release id; give more characters")]
    AmbiguousRelease(String),
    #[error("{0} matches more than one artifact digest; give more digits")]
    AmbiguousDigest(String),
    #[error(
        "tag {tag} already names {existing}; refusing to move it to {attempted} (tags are immutable)"
    )]
    TagMoved {
        tag: String,
        existing: String,
        attempted: String,
    },
    #[error(
        "evidence {digest} is already attached to {existing}; the same envelope cannot be attached to {attempted} too (evidence is about one artifact)"
    )]
    EvidenceElsewhere {
        digest: String,
        existing: String,
        attempted: String,
    },
    #[error("{0}")]
    Audit(#[from] slipway_audit::AuditError),
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Milliseconds since the Unix epoch: the one time representation in the store.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "runs", include_str!("../migrations/0001_runs.sql")),
    (
        2,
        "artifacts",
        include_str!("../migrations/0002_artifacts.sql"),
    ),
    (
        3,
        "advisories",
        include_str!("../migrations/0003_advisories.sql"),
    ),
    (
        4,
        "delivery",
        include_str!("../migrations/0004_delivery.sql"),
    ),
    (5, "audit", include_str!("../migrations/0005_audit.sql")),
    (
        6,
        "rollout event order",
        include_str!("../migrations/0006_rollout_event_order.sql"),
    ),
];

fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                AssertSqlSafe(*sql).into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// A run as recorded.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunRecord {
    pub id: String,
    pub repository: String,
    pub number: i64,
    pub attempt: i64,
    pub commit_sha: String,
    pub git_ref: String,
    pub event: String,
    pub actor: String,
    pub pipeline_path: String,
    pub pipeline_sha256: String,
    pub status: String,
    pub dirty: bool,
    pub sandbox: bool,
    pub runner_version: String,
    pub toolchains: serde_json::Value,
    pub concurrency_group: Option<String>,
    pub note: Option<String>,
    /// `pid:start-time` of the process running it.
    pub owner: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl RunRecord {
    /// The process id of the process that runs (or ran) this run.
    pub fn owner_pid(&self) -> Option<u32> {
        self.owner
            .split_once(':')
            .and_then(|(pid, _)| pid.parse().ok())
    }
}

/// What a new run starts from.
#[derive(Clone, Debug)]
pub struct NewRun {
    pub repository: String,
    pub commit_sha: String,
    pub git_ref: String,
    pub event: String,
    pub actor: String,
    pub pipeline_path: String,
    pub pipeline_sha256: String,
    pub dirty: bool,
    pub sandbox: bool,
    pub runner_version: String,
    pub toolchains: serde_json::Value,
    pub concurrency_group: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct JobRecord {
    pub job_id: String,
    pub job_key: String,
    pub matrix: serde_json::Value,
    pub stage: String,
    pub status: String,
    pub reason: Option<String>,
    pub exit_code: Option<i64>,
    pub attempts: i64,
    pub cache: Option<String>,
    pub outputs_digest: Option<String>,
    /// Taken from an earlier attempt of the run instead of run again (`rerun`).
    pub reused: bool,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub attempt_log: Vec<AttemptRecord>,
    pub steps: Vec<StepRecord>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub status: String,
    pub exit_code: Option<i64>,
    /// Why it failed: `infra`, `timeout`, `exit`; `None` when it passed.
    pub failure_class: Option<String>,
    pub started_at: i64,
    pub finished_at: i64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepRecord {
    pub attempt: i64,
    pub index: i64,
    pub name: String,
    pub status: String,
    pub exit_code: Option<i64>,
    pub started_at: i64,
    pub finished_at: i64,
}

pub struct Store {
    pool: AnyPool,
    /// On SQLite, a read-only connection through the SQLite driver itself for reading the whole
    /// audit log (verify, export) a page at a time: beside the one writing connection under
    /// WAL, so a long read neither waits for nor holds up writes between its pages.
    reader: Option<SqlitePool>,
    sqlite: bool,
}

impl Store {
    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`, waiting out `busy_timeout`): a deferred transaction that reads
    /// first and writes later fails outright (`database is locked`) when another process
    /// (a run beside `slipway up`) committed in between.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(if self.sqlite {
            self.pool.begin_with("BEGIN IMMEDIATE").await?
        } else {
            self.pool.begin().await?
        })
    }

    /// Opens (creating and migrating) a store: `sqlite://PATH?mode=rwc` or `postgres://...`.
    /// Runs left `running` by a process that is gone are marked `interrupted` here.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let is_sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            // SQLite allows one writer; one connection also keeps writes ordered.
            .max_connections(if is_sqlite { 1 } else { 4 })
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(|source| StoreError::Open {
                url: redact_url(url),
                source,
            })?;
        if is_sqlite {
            for pragma in [
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL",
                "PRAGMA busy_timeout = 10000",
            ] {
                sqlx::query(pragma).execute(&pool).await?;
            }
        }
        migrator().run(&pool).await?;
        let reader = if is_sqlite {
            sqlite_reader(url).map_err(|source| StoreError::Open {
                url: redact_url(url),
                source,
            })?
        } else {
            None
        };
        let store = Store {
            pool,
            reader,
            sqlite: is_sqlite,
        };
        store.mark_interrupted().await?;
        Ok(store)
    }

    /// The embedded default: `slipway.db` in the state directory.
    pub async fn open_in(state_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(state_dir).map_err(|source| StoreError::StateDir {
            path: state_dir.display().to_string(),
            source,
        })?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            state_dir.join("slipway.db").display()
        );
        Store::open(&url).await
    }

    /// Records a new run (status `running`, attempt 1) owned by this process.
    pub async fn create_run(&self, new: &NewRun) -> Result<RunRecord> {
        let mut tx = self.begin_write().await?;
        // The next number is read, then written: without the head's lock first, two runs
        // created at once would read the same number (PostgreSQL) or fail to upgrade a read
        // to a write (SQLite).
        audit::lock_head(&mut tx).await?;
        let number: i64 =
            sqlx::query("SELECT COALESCE(MAX(number), 0) + 1 FROM runs WHERE repository = $1")
                .bind(&new.repository)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        let now = now_ms();
        let id = format!("{}-{number}", short_id());
        sqlx::query(
            "INSERT INTO runs (id, repository, number, attempt, commit_sha, git_ref, event, actor, pipeline_path, \
             pipeline_sha256, status, dirty, sandbox, runner_version, toolchains, concurrency_group, owner, note, \
             created_at, started_at, finished_at) \
             VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, 'running', $10, $11, $12, $13, $14, $15, NULL, $16, $16, NULL)",
        )
        .bind(&id)
        .bind(&new.repository)
        .bind(number)
        .bind(&new.commit_sha)
        .bind(&new.git_ref)
        .bind(&new.event)
        .bind(&new.actor)
        .bind(&new.pipeline_path)
        .bind(&new.pipeline_sha256)
        .bind(i64::from(new.dirty))
        .bind(i64::from(new.sandbox))
        .bind(&new.runner_version)
        .bind(new.toolchains.to_string())
        .bind(&new.concurrency_group)
        .bind(owner())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let created = audit::run_created(&id, number, new);
        audit::append_in(&mut tx, &created, now).await?;
        tx.commit().await?;
        self.run(&id).await
    }

    /// Starts a new attempt of an earlier run (a re-run): returns the attempt number.
    pub async fn start_attempt(&self, run_id: &str) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE runs SET attempt = attempt + 1, status = 'running', owner = $1, started_at = $2, finished_at = NULL WHERE id = $3")
            .bind(owner())
            .bind(now_ms())
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        let attempt: i64 = sqlx::query("SELECT attempt FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NoRun(run_id.into()))?
            .try_get(0)?;
        tx.commit().await?;
        Ok(attempt)
    }

    /// Records the planned jobs of a run attempt in one transaction.
    pub async fn insert_jobs(
        &self,
        run_id: &str,
        run_attempt: i64,
        jobs: &[JobRecord],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for job in jobs {
            write_job(&mut tx, run_id, run_attempt, job).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a job's outcome with its attempts and steps, in one transaction.
    pub async fn finish_job(&self, run_id: &str, run_attempt: i64, job: &JobRecord) -> Result<()> {
        let mut tx = self.begin_write().await?;
        write_job(&mut tx, run_id, run_attempt, job).await?;
        for attempt in &job.attempt_log {
            sqlx::query(
                "INSERT INTO attempts (run_id, run_attempt, job_id, attempt, status, exit_code, failure_class, started_at, finished_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(run_id)
            .bind(run_attempt)
            .bind(&job.job_id)
            .bind(attempt.attempt)
            .bind(&attempt.status)
            .bind(attempt.exit_code)
            .bind(&attempt.failure_class)
            .bind(attempt.started_at)
            .bind(attempt.finished_at)
            .execute(&mut *tx)
            .await?;
        }
        for step in &job.steps {
            sqlx::query(
                "INSERT INTO steps (run_id, run_attempt, job_id, attempt, step_index, name, status, exit_code, started_at, finished_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(run_id)
            .bind(run_attempt)
            .bind(&job.job_id)
            .bind(step.attempt)
            .bind(step.index)
            .bind(&step.name)
            .bind(&step.status)
            .bind(step.exit_code)
            .bind(step.started_at)
            .bind(step.finished_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_run_status(
        &self,
        run_id: &str,
        status: &str,
        note: Option<&str>,
    ) -> Result<()> {
        let finished =
            matches!(status, "success" | "failure" | "cancelled" | "interrupted").then(now_ms);
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE runs SET status = $1, note = COALESCE($2, note), finished_at = $3 WHERE id = $4")
            .bind(status)
            .bind(note)
            .bind(finished)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        if let Some(at) = finished {
            audit::append_run_finished(&mut tx, run_id, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A run by id, or by number (`12`) within any repository (newest first).
    pub async fn run(&self, id_or_number: &str) -> Result<RunRecord> {
        let row = match id_or_number.parse::<i64>() {
            Ok(number) => sqlx::query(AssertSqlSafe(format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE number = $1 ORDER BY created_at DESC LIMIT 1"
            )))
            .bind(number)
            .fetch_optional(&self.pool)
            .await?,
            Err(_) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"
                )))
                .bind(id_or_number)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        row.map(|r| run_from_row(&r))
            .transpose()?
            .ok_or_else(|| StoreError::NoRun(id_or_number.into()))
    }

    /// The newest runs first.
    pub async fn runs(&self, limit: i64) -> Result<Vec<RunRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at DESC, number DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// The jobs of one attempt of a run, with their attempts and steps.
    pub async fn jobs(&self, run_id: &str, run_attempt: i64) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(
            "SELECT job_id, job_key, matrix, stage, status, reason, exit_code, attempts, cache, outputs_digest, reused, started_at, finished_at \
             FROM jobs WHERE run_id = $1 AND run_attempt = $2",
        )
        .bind(run_id)
        .bind(run_attempt)
        .fetch_all(&self.pool)
        .await?;
        // Two queries for all attempts and steps of the run attempt, grouped by job, rather
        // than two per job.
        let mut attempts: HashMap<String, Vec<AttemptRecord>> = HashMap::new();
        for r in sqlx::query(
            "SELECT job_id, attempt, status, exit_code, failure_class, started_at, finished_at FROM attempts \
             WHERE run_id = $1 AND run_attempt = $2 ORDER BY job_id, attempt",
        )
        .bind(run_id)
        .bind(run_attempt)
        .fetch_all(&self.pool)
        .await?
        {
            attempts.entry(r.try_get("job_id")?).or_default().push(AttemptRecord {
                attempt: r.try_get("attempt")?,
                status: r.try_get("status")?,
                exit_code: r.try_get("exit_code")?,
                failure_class: r.try_get("failure_class")?,
                started_at: r.try_get("started_at")?,
                finished_at: r.try_get("finished_at")?,
            });
        }
        let mut steps: HashMap<String, Vec<StepRecord>> = HashMap::new();
        for r in sqlx::query(
            "SELECT job_id, attempt, step_index, name, status, exit_code, started_at, finished_at FROM steps \
             WHERE run_id = $1 AND run_attempt = $2 ORDER BY job_id, attempt, step_index",
        )
        .bind(run_id)
        .bind(run_attempt)
        .fetch_all(&self.pool)
        .await?
        {
            steps.entry(r.try_get("job_id")?).or_default().push(StepRecord {
                attempt: r.try_get("attempt")?,
                index: r.try_get("step_index")?,
                name: r.try_get("name")?,
                status: r.try_get("status")?,
                exit_code: r.try_get("exit_code")?,
                started_at: r.try_get("started_at")?,
                finished_at: r.try_get("finished_at")?,
            });
        }
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut job = JobRecord {
                job_id: row.try_get("job_id")?,
                job_key: row.try_get("job_key")?,
                matrix: serde_json::from_str(&row.try_get::<String, _>("matrix")?)
                    .unwrap_or_default(),
                stage: row.try_get("stage")?,
                status: row.try_get("status")?,
                reason: row.try_get("reason")?,
                exit_code: row.try_get("exit_code")?,
                attempts: row.try_get("attempts")?,
                cache: row.try_get("cache")?,
                outputs_digest: row.try_get("outputs_digest")?,
                reused: row.try_get::<i64, _>("reused")? != 0,
                started_at: row.try_get("started_at")?,
                finished_at: row.try_get("finished_at")?,
                ..JobRecord::default()
            };
            job.attempt_log = attempts.remove(&job.job_id).unwrap_or_default();
            job.steps = steps.remove(&job.job_id).unwrap_or_default();
            jobs.push(job);
        }
        Ok(jobs)
    }

    /// Active runs of a repository in a concurrency group, oldest first.
    pub async fn active_in_group(&self, repository: &str, group: &str) -> Result<Vec<RunRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE repository = $1 AND concurrency_group = $2 AND status IN ('queued', 'running') ORDER BY created_at"
        )))
        .bind(repository)
        .bind(group)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Marks runs whose owning process is gone as `interrupted`, so nothing stays `running`
    /// forever after a crash or SIGKILL. Returns how many.
    pub async fn mark_interrupted(&self) -> Result<usize> {
        let rows = sqlx::query(
            "SELECT id, attempt, owner FROM runs WHERE status IN ('queued', 'running')",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut marked = 0;
        for row in rows {
            let owner: String = row.try_get("owner")?;
            if owner_alive(&owner) {
                continue;
            }
            let id: String = row.try_get("id")?;
            let attempt: i64 = row.try_get("attempt")?;
            let mut tx = self.begin_write().await?;
            sqlx::query("UPDATE runs SET status = 'interrupted', finished_at = $1, note = 'the process running it ended without finishing it' WHERE id = $2")
                .bind(now_ms())
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE jobs SET status = 'interrupted' WHERE run_id = $1 AND run_attempt = $2 AND status IN ('queued', 'running')")
                .bind(&id)
                .bind(attempt)
                .execute(&mut *tx)
                .await?;
            audit::append_run_finished(&mut tx, &id, now_ms()).await?;
            tx.commit().await?;
            marked += 1;
        }
        Ok(marked)
    }
}

/// A lazily opened read-only pool of one connection on the same SQLite file; `None` for an
/// in-memory database, which a second connection would not see.
fn sqlite_reader(url: &str) -> std::result::Result<Option<SqlitePool>, sqlx::Error> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_str(url)?;
    Ok(Some(
        SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(
                options
                    .read_only(true)
                    .busy_timeout(Duration::from_secs(10)),
            ),
    ))
}

async fn write_job(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    run_id: &str,
    run_attempt: i64,
    job: &JobRecord,
) -> Result<()> {
    sqlx::query("DELETE FROM jobs WHERE run_id = $1 AND run_attempt = $2 AND job_id = $3")
        .bind(run_id)
        .bind(run_attempt)
        .bind(&job.job_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO jobs (run_id, run_attempt, job_id, job_key, matrix, stage, status, reason, exit_code, attempts, cache, \
         outputs_digest, reused, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(run_id)
    .bind(run_attempt)
    .bind(&job.job_id)
    .bind(&job.job_key)
    .bind(job.matrix.to_string())
    .bind(&job.stage)
    .bind(&job.status)
    .bind(&job.reason)
    .bind(job.exit_code)
    .bind(job.attempts)
    .bind(&job.cache)
    .bind(&job.outputs_digest)
    .bind(i64::from(job.reused))
    .bind(job.started_at)
    .bind(job.finished_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const RUN_COLUMNS: &str = "id, repository, number, attempt, commit_sha, git_ref, event, actor, pipeline_path, pipeline_sha256, \
    status, dirty, sandbox, runner_version, toolchains, concurrency_group, note, owner, created_at, started_at, finished_at";

fn run_from_row(row: &AnyRow) -> Result<RunRecord> {
    Ok(RunRecord {
        id: row.try_get("id")?,
        repository: row.try_get("repository")?,
        number: row.try_get("number")?,
        attempt: row.try_get("attempt")?,
        commit_sha: row.try_get("commit_sha")?,
        git_ref: row.try_get("git_ref")?,
        event: row.try_get("event")?,
        actor: row.try_get("actor")?,
        pipeline_path: row.try_get("pipeline_path")?,
        pipeline_sha256: row.try_get("pipeline_sha256")?,
        status: row.try_get("status")?,
        dirty: row.try_get::<i64, _>("dirty")? != 0,
        sandbox: row.try_get::<i64, _>("sandbox")? != 0,
        runner_version: row.try_get("runner_version")?,
        toolchains: serde_json::from_str(&row.try_get::<String, _>("toolchains")?)
            .unwrap_or_default(),
        concurrency_group: row.try_get("concurrency_group")?,
        note: row.try_get("note")?,
        owner: row.try_get("owner")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// Identifies this process across PID reuse: `pid:start-time` (from /proc).
pub fn owner() -> String {
    let pid = std::process::id();
    format!("{pid}:{}", process_start_time(pid).unwrap_or(0))
}

fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after its closing ')' are plain.
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn owner_alive(owner: &str) -> bool {
    let Some((pid, start)) = owner.split_once(':') else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    process_start_time(pid) == Some(start)
}

fn short_id() -> String {
    let mut bytes = [0u8; 6];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_err()
    {
        bytes.copy_from_slice(&now_ms().to_le_bytes()[..6]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_of_this_process_is_alive() {
        assert!(owner_alive(&owner()));
        assert!(!owner_alive("1:0"));
        assert!(!owner_alive("garbage"));
        assert_eq!(
            redact_url("postgres://u:pw@127.0.0.1:5432/db"),
            "postgres://***@127.0.0.1:5432/db"
        );
    }
}
