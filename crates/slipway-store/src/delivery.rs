//! Delivery state: releases, environments' desired and observed state, approvals, rollout
//! events, analysis measurements and the digests known to be bad for an environment.
//!
//! Every change here is one transaction, so a crash leaves either the whole step or none of it:
//! the controller that restarts reads a consistent state and continues from it.

use crate::{Result, Store, StoreError, now_ms, short_id};
use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// A release: one digest asked to run in one environment, and how that ended.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Release {
    pub id: String,
    pub environment: String,
    pub digest: String,
    /// `promote`, `rollback` or `deploy` (from a pipeline job).
    pub kind: String,
    /// `awaiting-approval`, `progressing`, `paused`, `succeeded`, `aborted`, `superseded`,
    /// `refused`.
    pub status: String,
    pub actor: String,
    /// What the environment served when the release was created.
    pub previous_digest: Option<String>,
    pub break_glass_reason: Option<String>,
    /// Emails of the authors of the commits the release brings.
    pub commit_authors: Vec<String>,
    /// The environment's resolved configuration when the release was created.
    pub config: Value,
    pub note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

impl Release {
    /// Whether the release is over (nothing more will happen to it).
    pub fn is_final(&self) -> bool {
        matches!(
            self.status.as_str(),
            "succeeded" | "aborted" | "superseded" | "refused"
        )
    }
}

/// What a new release is created with.
#[derive(Clone, Debug)]
pub struct NewRelease {
    pub environment: String,
    pub digest: String,
    pub kind: String,
    pub status: String,
    pub actor: String,
    pub previous_digest: Option<String>,
    pub break_glass_reason: Option<String>,
    pub commit_authors: Vec<String>,
    pub config: Value,
}

/// An environment's state: the releases serving it, the rollout's position, and the pointers
/// that survive every rollout (last known good).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct EnvironmentState {
    pub environment: String,
    /// The release that takes all traffic outside a rollout.
    pub stable_release: Option<String>,
    /// The release being rolled out, if any.
    pub canary_release: Option<String>,
    /// `idle`, `progressing`, `paused`, `succeeded`, `aborted`.
    pub phase: String,
    pub step: i64,
    /// Percent of traffic the canary gets.
    pub weight: i64,
    pub step_started_at: Option<i64>,
    pub paused_reason: Option<String>,
    /// A request waiting for the controller: `resume` or `abort`.
    pub request: Option<String>,
    pub request_actor: Option<String>,
    /// Digest of the last release that was fully promoted and passed its checks.
    pub last_known_good: Option<String>,
    /// Where the environment's proxy listens.
    pub address: Option<String>,
    pub controller_pid: Option<i64>,
    pub controller_seen_at: Option<i64>,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Approval {
    pub release_id: String,
    pub actor: String,
    pub comment: Option<String>,
    pub created_at: i64,
}

/// Something the controller or a person did to a rollout.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RolloutEvent {
    pub id: String,
    pub release_id: String,
    pub environment: String,
    /// `promoted`, `step`, `weight`, `paused`, `resumed`, `analysis`, `aborted`, `succeeded`,
    /// `instance`, `verify`, `rollback`, `break-glass`.
    pub kind: String,
    pub step: i64,
    pub weight: i64,
    pub actor: String,
    pub detail: Value,
    pub created_at: i64,
}

/// One analysis measurement, as the analysis produced it (`body`), indexed by its verdict.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MeasurementRecord {
    pub release_id: String,
    pub analysis: String,
    pub value: Option<f64>,
    pub samples: i64,
    pub verdict: String,
    pub body: Value,
    pub created_at: i64,
}

/// A digest that failed in an environment: never deployed there again unless forced.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KnownBad {
    pub environment: String,
    pub digest: String,
    pub release_id: String,
    pub reason: String,
    pub created_at: i64,
}

/// One step of the controller (or of a command), written in one transaction: the environment's
/// new state, the release's new status, the event that explains it, and the digest to mark bad.
#[derive(Clone, Debug, Default)]
pub struct Transition {
    pub state: Option<EnvironmentState>,
    /// (release id, new status, note)
    pub release_status: Option<(String, String, Option<String>)>,
    pub event: Option<NewRolloutEvent>,
    pub known_bad: Option<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct NewRolloutEvent {
    pub release_id: String,
    pub kind: String,
    pub actor: String,
    pub detail: Value,
}

// Column lists as macros, so queries stay `&'static str` (no SQL built at run time).
macro_rules! release_columns {
    () => {
        "id, environment, digest, kind, status, actor, previous_digest, break_glass_reason, \
         commit_authors, config, note, created_at, updated_at, finished_at"
    };
}

macro_rules! state_columns {
    () => {
        "environment, stable_release, canary_release, phase, step, weight, step_started_at, \
         paused_reason, request, request_actor, last_known_good, address, controller_pid, \
         controller_seen_at, updated_at"
    };
}

fn release_from(row: &AnyRow) -> Result<Release> {
    let authors: String = row.try_get("commit_authors")?;
    let config: String = row.try_get("config")?;
    Ok(Release {
        id: row.try_get("id")?,
        environment: row.try_get("environment")?,
        digest: row.try_get("digest")?,
        kind: row.try_get("kind")?,
        status: row.try_get("status")?,
        actor: row.try_get("actor")?,
        previous_digest: row.try_get("previous_digest")?,
        break_glass_reason: row.try_get("break_glass_reason")?,
        commit_authors: serde_json::from_str(&authors).unwrap_or_default(),
        config: serde_json::from_str(&config).unwrap_or(Value::Null),
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

fn state_from(row: &AnyRow) -> Result<EnvironmentState> {
    Ok(EnvironmentState {
        environment: row.try_get("environment")?,
        stable_release: row.try_get("stable_release")?,
        canary_release: row.try_get("canary_release")?,
        phase: row.try_get("phase")?,
        step: row.try_get("step")?,
        weight: row.try_get("weight")?,
        step_started_at: row.try_get("step_started_at")?,
        paused_reason: row.try_get("paused_reason")?,
        request: row.try_get("request")?,
        request_actor: row.try_get("request_actor")?,
        last_known_good: row.try_get("last_known_good")?,
        address: row.try_get("address")?,
        controller_pid: row.try_get("controller_pid")?,
        controller_seen_at: row.try_get("controller_seen_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn final_status(status: &str) -> bool {
    matches!(status, "succeeded" | "aborted" | "superseded" | "refused")
}

async fn write_state(tx: &mut Transaction<'static, Any>, state: &EnvironmentState) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO environment_state (environment, stable_release, canary_release, phase, step, \
         weight, step_started_at, paused_reason, request, request_actor, last_known_good, address, \
         controller_pid, controller_seen_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (environment) DO UPDATE SET stable_release = $2, canary_release = $3, \
         phase = $4, step = $5, weight = $6, step_started_at = $7, paused_reason = $8, \
         request = $9, request_actor = $10, last_known_good = $11, address = $12, \
         controller_pid = $13, controller_seen_at = $14, updated_at = $15",
    )
    .bind(&state.environment)
    .bind(&state.stable_release)
    .bind(&state.canary_release)
    .bind(&state.phase)
    .bind(state.step)
    .bind(state.weight)
    .bind(state.step_started_at)
    .bind(&state.paused_reason)
    .bind(&state.request)
    .bind(&state.request_actor)
    .bind(&state.last_known_good)
    .bind(&state.address)
    .bind(state.controller_pid)
    .bind(state.controller_seen_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_release_status(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    status: &str,
    note: Option<&str>,
) -> Result<()> {
    let now = now_ms();
    let finished = final_status(status).then_some(now);
    let updated = sqlx::query(
        "UPDATE releases SET status = $1, note = COALESCE($2, note), updated_at = $3, \
         finished_at = COALESCE(finished_at, $4) WHERE id = $5",
    )
    .bind(status)
    .bind(note)
    .bind(now)
    .bind(finished)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NoRelease(id.to_owned()));
    }
    Ok(())
}

/// A rollout event as it will be written: its id and time are fixed before its audit entry is
/// appended, and the entry's seq orders it among events of the same millisecond.
fn new_event(environment: &str, step: i64, weight: i64, event: &NewRolloutEvent) -> RolloutEvent {
    RolloutEvent {
        id: short_id(),
        release_id: event.release_id.clone(),
        environment: environment.to_owned(),
        kind: event.kind.clone(),
        step,
        weight,
        actor: event.actor.clone(),
        detail: event.detail.clone(),
        created_at: now_ms(),
    }
}

async fn write_event(
    tx: &mut Transaction<'static, Any>,
    record: &RolloutEvent,
    audit_seq: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO rollout_events (id, release_id, environment, kind, step, weight, actor, \
         detail, created_at, audit_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&record.id)
    .bind(&record.release_id)
    .bind(&record.environment)
    .bind(&record.kind)
    .bind(record.step)
    .bind(record.weight)
    .bind(&record.actor)
    .bind(record.detail.to_string())
    .bind(record.created_at)
    .bind(audit_seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Creates a release. Releases of the same environment still awaiting approval are
    /// superseded: approvals belong to one release and expire with it.
    pub async fn create_release(&self, new: &NewRelease) -> Result<Release> {
        let now = now_ms();
        let release = Release {
            id: format!("{}-{}", new.environment, short_id()),
            environment: new.environment.clone(),
            digest: new.digest.clone(),
            kind: new.kind.clone(),
            status: new.status.clone(),
            actor: new.actor.clone(),
            previous_digest: new.previous_digest.clone(),
            break_glass_reason: new.break_glass_reason.clone(),
            commit_authors: new.commit_authors.clone(),
            config: new.config.clone(),
            note: None,
            created_at: now,
            updated_at: now,
            finished_at: final_status(&new.status).then_some(now),
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE releases SET status = 'superseded', note = 'a newer release was created', \
             updated_at = $1, finished_at = $1 WHERE environment = $2 AND status = 'awaiting-approval'",
        )
        .bind(now)
        .bind(&release.environment)
        .execute(&mut *tx)
        .await?;
        sqlx::query(concat!(
            "INSERT INTO releases (",
            release_columns!(),
            ") \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(&release.id)
        .bind(&release.environment)
        .bind(&release.digest)
        .bind(&release.kind)
        .bind(&release.status)
        .bind(&release.actor)
        .bind(&release.previous_digest)
        .bind(&release.break_glass_reason)
        .bind(serde_json::to_string(&release.commit_authors).unwrap_or_default())
        .bind(release.config.to_string())
        .bind(&release.note)
        .bind(release.created_at)
        .bind(release.updated_at)
        .bind(release.finished_at)
        .execute(&mut *tx)
        .await?;
        let event = crate::AuditEvent::new(
            release.actor.clone(),
            "release.created",
            release.id.clone(),
            serde_json::json!({
                "environment": release.environment,
                "digest": release.digest,
                "kind": release.kind,
                "status": release.status,
                "previous_digest": release.previous_digest,
                "break_glass_reason": release.break_glass_reason,
            }),
        );
        crate::audit::append_in(&mut tx, &event, now).await?;
        tx.commit().await?;
        Ok(release)
    }

    /// A release by id, or by a unique prefix of its id.
    pub async fn release(&self, id: &str) -> Result<Release> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            release_columns!(),
            " FROM releases WHERE id = $1 OR id LIKE $2 ORDER BY id LIMIT 2"
        ))
        .bind(id)
        .bind(format!("{}%", id.replace(['%', '_'], "")))
        .fetch_all(&self.pool)
        .await?;
        if let Some(exact) = rows
            .iter()
            .find(|row| row.try_get::<String, _>("id").is_ok_and(|v| v == id))
        {
            return release_from(exact);
        }
        match rows.as_slice() {
            [one] => release_from(one),
            [] => Err(StoreError::NoRelease(id.to_owned())),
            _ => Err(StoreError::AmbiguousRelease(id.to_owned())),
        }
    }

    /// An environment's releases, newest first.
    pub async fn environment_releases(
        &self,
        environment: &str,
        limit: i64,
    ) -> Result<Vec<Release>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            release_columns!(),
            " FROM releases WHERE environment = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(environment)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(release_from).collect()
    }

    /// The releases of a digest in every environment, newest first.
    pub async fn digest_releases(&self, digest: &str) -> Result<Vec<Release>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            release_columns!(),
            " FROM releases WHERE digest = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(digest)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(release_from).collect()
    }

    /// Records an approval of a release (once per actor: approving twice is a no-op).
    pub async fn add_approval(
        &self,
        release_id: &str,
        actor: &str,
        comment: Option<&str>,
    ) -> Result<Approval> {
        let approval = Approval {
            release_id: release_id.to_owned(),
            actor: actor.to_owned(),
            comment: comment.map(str::to_owned),
            created_at: now_ms(),
        };
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO approvals (release_id, actor, comment, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (release_id, actor) DO NOTHING",
        )
        .bind(&approval.release_id)
        .bind(&approval.actor)
        .bind(&approval.comment)
        .bind(approval.created_at)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() > 0 {
            let event = crate::AuditEvent::new(
                approval.actor.clone(),
                "release.approved",
                approval.release_id.clone(),
                serde_json::json!({ "comment": approval.comment }),
            );
            crate::audit::append_in(&mut tx, &event, approval.created_at).await?;
        }
        tx.commit().await?;
        Ok(approval)
    }

    pub async fn approvals(&self, release_id: &str) -> Result<Vec<Approval>> {
        let rows = sqlx::query(
            "SELECT release_id, actor, comment, created_at FROM approvals WHERE release_id = $1 \
             ORDER BY created_at, actor",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Approval {
                    release_id: row.try_get("release_id")?,
                    actor: row.try_get("actor")?,
                    comment: row.try_get("comment")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn environment_state(&self, environment: &str) -> Result<Option<EnvironmentState>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            state_columns!(),
            " FROM environment_state WHERE environment = $1"
        ))
        .bind(environment)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(state_from).transpose()
    }

    pub async fn environment_states(&self) -> Result<Vec<EnvironmentState>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            state_columns!(),
            " FROM environment_state ORDER BY environment"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(state_from).collect()
    }

    /// Applies one step of a rollout in one transaction. Returns the event written, if any.
    pub async fn apply_transition(
        &self,
        environment: &str,
        transition: &Transition,
    ) -> Result<Option<RolloutEvent>> {
        let mut tx = self.begin_write().await?;
        if let Some(state) = &transition.state {
            write_state(&mut tx, state).await?;
        }
        if let Some((id, status, note)) = &transition.release_status {
            write_release_status(&mut tx, id, status, note.as_deref()).await?;
        }
        if let Some((digest, reason)) = &transition.known_bad {
            let release_id = transition
                .release_status
                .as_ref()
                .map(|(id, _, _)| id.clone())
                .or_else(|| transition.event.as_ref().map(|e| e.release_id.clone()))
                .unwrap_or_default();
            sqlx::query(
                "INSERT INTO known_bad (environment, digest, release_id, reason, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (environment, digest) \
                 DO UPDATE SET release_id = $3, reason = $4, created_at = $5",
            )
            .bind(environment)
            .bind(digest)
            .bind(&release_id)
            .bind(reason)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        let event = match &transition.event {
            Some(event) => {
                let (step, weight) = transition
                    .state
                    .as_ref()
                    .map_or((0, 0), |s| (s.step, s.weight));
                let written = new_event(environment, step, weight, event);
                let audit = crate::AuditEvent::new(
                    written.actor.clone(),
                    format!("rollout.{}", written.kind),
                    written.release_id.clone(),
                    serde_json::json!({
                        "environment": environment,
                        "step": step,
                        "weight": weight,
                        "release_status": transition.release_status.as_ref().map(|(_, status, _)| status),
                        "known_bad": transition.known_bad.as_ref().map(|(digest, _)| digest),
                        "detail": written.detail,
                    }),
                );
                let entry = crate::audit::append_in(&mut tx, &audit, written.created_at).await?;
                write_event(&mut tx, &written, entry.seq).await?;
                Some(written)
            }
            None => None,
        };
        tx.commit().await?;
        Ok(event)
    }

    /// Records that the controller is alive (pid and time) without touching the rollout.
    pub async fn controller_heartbeat(
        &self,
        environment: &str,
        pid: Option<i64>,
        address: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE environment_state SET controller_pid = $1, controller_seen_at = $2, \
             address = COALESCE($3, address) WHERE environment = $4",
        )
        .bind(pid)
        .bind(pid.map(|_| now_ms()))
        .bind(address)
        .bind(environment)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Leaves a request (`resume`, `abort`) for the environment's controller.
    pub async fn request_rollout(
        &self,
        environment: &str,
        request: &str,
        actor: &str,
    ) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE environment_state SET request = $1, request_actor = $2, updated_at = $3 \
             WHERE environment = $4",
        )
        .bind(request)
        .bind(actor)
        .bind(now)
        .bind(environment)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        let event = crate::AuditEvent::new(
            actor,
            format!("rollout.{request}-requested"),
            environment,
            serde_json::json!({}),
        );
        crate::audit::append_in(&mut tx, &event, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn rollout_events(&self, release_id: &str) -> Result<Vec<RolloutEvent>> {
        let rows = sqlx::query(
            "SELECT id, release_id, environment, kind, step, weight, actor, detail, created_at \
             FROM rollout_events WHERE release_id = $1 ORDER BY created_at, audit_seq, id",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let detail: String = row.try_get("detail")?;
                Ok(RolloutEvent {
                    id: row.try_get("id")?,
                    release_id: row.try_get("release_id")?,
                    environment: row.try_get("environment")?,
                    kind: row.try_get("kind")?,
                    step: row.try_get("step")?,
                    weight: row.try_get("weight")?,
                    actor: row.try_get("actor")?,
                    detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn record_measurement(&self, measurement: &MeasurementRecord) -> Result<()> {
        // A missing value is a literal NULL, never a bound one: sqlx's `Any` driver binds a
        // NULL `f64` as a PostgreSQL `float4`, and the statement it prepares that way on a
        // connection then refuses every real `f64` bound to it ("incorrect binary data
        // format"). Two statements keep the parameter a `float8` on every connection.
        let query = match measurement.value {
            Some(value) => sqlx::query(
                "INSERT INTO measurements (id, release_id, analysis, value, samples, verdict, \
                 body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(short_id())
            .bind(&measurement.release_id)
            .bind(&measurement.analysis)
            .bind(value),
            None => sqlx::query(
                "INSERT INTO measurements (id, release_id, analysis, value, samples, verdict, \
                 body, created_at) VALUES ($1, $2, $3, NULL, $4, $5, $6, $7)",
            )
            .bind(short_id())
            .bind(&measurement.release_id)
            .bind(&measurement.analysis),
        };
        query
            .bind(measurement.samples)
            .bind(&measurement.verdict)
            .bind(measurement.body.to_string())
            .bind(measurement.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn measurements(&self, release_id: &str) -> Result<Vec<MeasurementRecord>> {
        let rows = sqlx::query(
            "SELECT release_id, analysis, value, samples, verdict, body, created_at \
             FROM measurements WHERE release_id = $1 ORDER BY created_at, id",
        )
        .bind(release_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let body: String = row.try_get("body")?;
                Ok(MeasurementRecord {
                    release_id: row.try_get("release_id")?,
                    analysis: row.try_get("analysis")?,
                    value: row.try_get("value")?,
                    samples: row.try_get("samples")?,
                    verdict: row.try_get("verdict")?,
                    body: serde_json::from_str(&body).unwrap_or(Value::Null),
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// The digests known to be bad for an environment, newest first.
    pub async fn known_bad(&self, environment: &str) -> Result<Vec<KnownBad>> {
        let rows = sqlx::query(
            "SELECT environment, digest, release_id, reason, created_at FROM known_bad \
             WHERE environment = $1 ORDER BY created_at DESC",
        )
        .bind(environment)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KnownBad {
                    environment: row.try_get("environment")?,
                    digest: row.try_get("digest")?,
                    release_id: row.try_get("release_id")?,
                    reason: row.try_get("reason")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}
