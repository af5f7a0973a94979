//! What an environment and its rollout look like, read from the store, in the shapes
//! `slipway env status --json` and `slipway rollout status --json` print.

use crate::{DeliveryError, Result};
use serde::Serialize;
use slipway_store::{KnownBad, Release, Store};
use std::fmt::Write;
use std::path::Path;

#[derive(Clone, Debug, Serialize)]
pub struct MeasurementView {
    pub analysis: String,
    pub value: Option<f64>,
    pub samples: i64,
    pub verdict: String,
    pub at: String,
    pub condition: Option<String>,
    pub explanation: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RolloutStatus {
    pub environment: String,
    /// `idle`, `progressing`, `verifying`, `paused`, `succeeded` or `aborted`.
    pub phase: String,
    /// Digest of the stable release.
    pub stable: Option<String>,
    /// Digest of the release rolling out.
    pub canary: Option<String>,
    pub weight: i64,
    pub step: i64,
    pub release: Option<String>,
    pub paused_reason: Option<String>,
    pub note: Option<String>,
    pub measurements: Vec<MeasurementView>,
    pub events: Vec<slipway_store::RolloutEvent>,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnvironmentStatus {
    pub environment: String,
    /// The digest taking traffic outside a rollout.
    pub serving: Option<String>,
    pub release: Option<String>,
    pub address: Option<String>,
    pub controller: Option<i64>,
    pub last_known_good: Option<String>,
    pub known_bad: Vec<KnownBad>,
    pub releases: Vec<Release>,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

async fn digest_of(store: &Store, release: Option<&str>) -> Result<Option<String>> {
    Ok(match release {
        Some(id) => Some(store.release(id).await?.digest),
        None => None,
    })
}

pub async fn rollout(store: &Store, environment: &str) -> Result<RolloutStatus> {
    let state = store.environment_state(environment).await?;
    let latest = store
        .environment_releases(environment, 1)
        .await?
        .into_iter()
        .next();
    let Some(state) = state else {
        return Ok(RolloutStatus {
            environment: environment.to_owned(),
            phase: "idle".into(),
            stable: None,
            canary: None,
            weight: 0,
            step: 0,
            release: latest.as_ref().map(|r| r.id.clone()),
            paused_reason: None,
            note: latest.and_then(|r| r.note),
            measurements: Vec::new(),
            events: Vec::new(),
        });
    };
    // The rollout shown: the canary under way, else the latest release that rolled out.
    let shown = match &state.canary_release {
        Some(id) => Some(store.release(id).await?),
        None => latest.filter(|r| r.status != "awaiting-approval"),
    };
    let measurements = match &shown {
        Some(release) => store
            .measurements(&release.id)
            .await?
            .into_iter()
            .map(|m| MeasurementView {
                condition: m
                    .body
                    .get("condition")
                    .and_then(|c| c.as_str())
                    .map(str::to_owned),
                explanation: m
                    .body
                    .get("explanation")
                    .and_then(|c| c.as_str())
                    .map(str::to_owned),
                analysis: m.analysis,
                value: m.value,
                samples: m.samples,
                verdict: m.verdict,
                at: rfc3339(m.created_at),
            })
            .collect(),
        None => Vec::new(),
    };
    let events = match &shown {
        Some(release) => store.rollout_events(&release.id).await?,
        None => Vec::new(),
    };
    Ok(RolloutStatus {
        environment: environment.to_owned(),
        phase: state.phase.clone(),
        stable: digest_of(store, state.stable_release.as_deref()).await?,
        canary: digest_of(store, state.canary_release.as_deref()).await?,
        weight: state.weight,
        step: state.step,
        release: shown.as_ref().map(|r| r.id.clone()),
        paused_reason: state.paused_reason.clone(),
        note: shown.and_then(|r| r.note),
        measurements,
        events,
    })
}

pub fn describe_rollout(status: &RolloutStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", status.environment, status.phase);
    let _ = writeln!(
        out,
        "  stable: {}",
        status.stable.as_deref().unwrap_or("(none)")
    );
    if let Some(canary) = &status.canary {
        let _ = writeln!(
            out,
            "  canary: {canary} at {}% (step {})",
            status.weight, status.step
        );
    }
    if let Some(reason) = &status.paused_reason {
        let _ = writeln!(out, "  paused: {reason}");
    }
    if let Some(note) = status
        .note
        .as_ref()
        .filter(|n| status.paused_reason.as_ref() != Some(n))
    {
        let _ = writeln!(out, "  note: {note}");
    }
    for m in &status.measurements {
        let _ = writeln!(
            out,
            "  {} {} {}: {}",
            m.at,
            m.analysis,
            m.verdict,
            m.explanation.as_deref().unwrap_or("")
        );
    }
    out
}

pub async fn environment(store: &Store, environment: &str) -> Result<EnvironmentStatus> {
    let state = store.environment_state(environment).await?;
    let releases = store.environment_releases(environment, 20).await?;
    let known_bad = store.known_bad(environment).await?;
    let stable = state.as_ref().and_then(|s| s.stable_release.clone());
    Ok(EnvironmentStatus {
        environment: environment.to_owned(),
        serving: digest_of(store, stable.as_deref()).await?,
        release: stable,
        address: state
            .as_ref()
            .and_then(|s| s.address.as_ref().map(|a| format!("http://{a}"))),
        controller: state.as_ref().and_then(live_controller),
        last_known_good: state.and_then(|s| s.last_known_good),
        known_bad,
        releases,
    })
}

pub fn describe_environment(status: &EnvironmentStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", status.environment);
    let _ = writeln!(
        out,
        "  serving: {}",
        status.serving.as_deref().unwrap_or("(nothing)")
    );
    let _ = writeln!(
        out,
        "  address: {}{}",
        status.address.as_deref().unwrap_or("(no controller yet)"),
        match status.controller {
            Some(pid) => format!(" (controller pid {pid})"),
            None => " (no controller running: `slipway up`)".into(),
        }
    );
    let _ = writeln!(
        out,
        "  last known good: {}",
        status.last_known_good.as_deref().unwrap_or("(none)")
    );
    for bad in &status.known_bad {
        let _ = writeln!(out, "  known bad: {} ({})", bad.digest, bad.reason);
    }
    for release in &status.releases {
        let _ = writeln!(
            out,
            "  {} {} {} {} by {}{}",
            rfc3339(release.created_at),
            release.id,
            release.kind,
            release.status,
            release.actor,
            release
                .note
                .as_ref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        );
    }
    out
}

/// The digest `slipway rollback ENV` returns to: the last known good, or when that is what
/// serves, the newest earlier release that succeeded with another digest.
pub async fn rollback_target(store: &Store, environment: &str) -> Result<String> {
    let state = store.environment_state(environment).await?;
    let serving = digest_of(
        store,
        state.as_ref().and_then(|s| s.stable_release.as_deref()),
    )
    .await?;
    if let Some(good) = state.as_ref().and_then(|s| s.last_known_good.clone())
        && Some(&good) != serving.as_ref()
    {
        return Ok(good);
    }
    store
        .environment_releases(environment, 100)
        .await?
        .into_iter()
        .find(|r| r.status == "succeeded" && Some(&r.digest) != serving.as_ref())
        .map(|r| r.digest)
        .ok_or_else(|| DeliveryError::NothingToRollBackTo(environment.to_owned()))
}

#[derive(Clone, Debug, Serialize)]
pub struct Down {
    pub controller_signalled: Option<i64>,
    pub instances_stopped: usize,
}

impl Down {
    pub fn describe(&self) -> String {
        format!(
            "{}{} instance(s) stopped",
            match self.controller_signalled {
                Some(pid) => format!("controller {pid} asked to stop; "),
                None => String::new(),
            },
            self.instances_stopped
        )
    }
}

/// The pid of the environment's controller, when one is running: it reported within the last
/// few seconds and the pid is still a `slipway up` (a pid from the store may have been reused
/// by another process since).
pub(crate) fn live_controller(state: &slipway_store::EnvironmentState) -> Option<i64> {
    let pid = state.controller_pid.filter(|pid| *pid > 0)?;
    let seen = state.controller_seen_at?;
    if slipway_store::now_ms() - seen > CONTROLLER_SILENCE_MS
        || pid == i64::from(std::process::id())
    {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let is_slipway = args
        .first()
        .is_some_and(|program| program.ends_with(b"slipway"));
    (is_slipway && args.iter().any(|a| *a == b"up")).then_some(pid)
}

/// A controller reports every tick (100 ms); this long without a report means it is gone.
const CONTROLLER_SILENCE_MS: i64 = 5_000;

/// Stops an environment: its controller (SIGTERM to the recorded pid, when alive) and every
/// instance the supervisor recorded.
pub async fn down(store: &Store, state_dir: &Path, environment: &str) -> Result<Down> {
    let state = store.environment_state(environment).await?;
    let mut signalled = None;
    if let Some(pid) = state.as_ref().and_then(live_controller) {
        // SAFETY: kill(2) with a pid read from the store; SIGTERM asks the controller to stop.
        let sent = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) } == 0;
        if sent {
            signalled = Some(pid);
            for _ in 0..100 {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
    let supervisor = slipway_supervisor::Supervisor::new(
        &state_dir
            .join("delivery")
            .join(environment)
            .join("instances"),
    )
    .map_err(|e| DeliveryError::Invalid(e.to_string()))?;
    let records = supervisor
        .recorded()
        .map_err(|e| DeliveryError::Invalid(e.to_string()))?;
    let mut stopped = 0;
    for record in records {
        if supervisor
            .stop(&record.id, std::time::Duration::from_secs(10))
            .await
            .is_ok()
        {
            stopped += 1;
        }
    }
    store.controller_heartbeat(environment, None, None).await?;
    Ok(Down {
        controller_signalled: signalled,
        instances_stopped: stopped,
    })
}
