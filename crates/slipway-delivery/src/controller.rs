//! The environment's controller: it reads the desired state from the store and converges the
//! local target toward it — processes through the supervisor, traffic through the proxy — one
//! recorded step at a time. Analyses run beside it and report back; a failed one aborts the
//! rollout at once (proxy first, record second: traffic safety cannot wait for a disk).
//!
//! Restarting the controller loses nothing: it adopts the processes the store says should run,
//! restores the recorded weight and resumes the step it was on (an analysis step starts its
//! measurements over).

use crate::config::{
    self, CanaryStep, EnvironmentConfig, ProbeConfig, StrategyConfig, VerifyCheck,
};
use crate::{DeliveryError, Result};
use slipway_analysis::{Measurement, Outcome, Tally, Template, TrafficSource, TrafficWindow};
use slipway_artifact::Artifacts;
use slipway_pipeline::Pipeline;
use slipway_pipeline::model::SecretProvider;
use slipway_proxy::{Backend, ProxyConfig, ProxyHandle, Routes};
use slipway_store::{
    EnvironmentState, MeasurementRecord, NewRolloutEvent, Release, Store, Transition, now_ms,
};
use slipway_supervisor::{InstanceSpec, InstanceStatus, RestartPolicy, Supervisor};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::{Notify, watch};

/// How often the controller looks at the store when nothing wakes it.
const TICK: Duration = Duration::from_millis(100);
/// How long in-flight requests may take to finish on a version that lost its traffic.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// The actor the controller records its own actions as.
pub const CONTROLLER_ACTOR: &str = "slipway-controller";

/// Where the post-deploy verification task leaves its result.
type VerificationSlot = Arc<Mutex<Option<std::result::Result<(), String>>>>;

/// A release whose processes run.
struct Running {
    digest: String,
    launch: Launch,
    instances: Vec<(String, u16)>,
}

struct Launch {
    program: PathBuf,
    args: Vec<String>,
    working_dir: PathBuf,
    env: BTreeMap<String, String>,
    logs: PathBuf,
}

/// An analysis run for one release and step, reporting into `outcomes`.
struct AnalysisTask {
    handle: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ProxyTraffic(ProxyHandle);

impl TrafficSource for ProxyTraffic {
    fn window(&self, version: &str, since: SystemTime) -> TrafficWindow {
        let window = self.0.window(version, since);
        TrafficWindow {
            requests: window.requests,
            errors_5xx: window.errors_5xx,
            latencies_ms: window.latencies_ms,
        }
    }
}

pub struct Controller {
    env: EnvironmentConfig,
    pipeline: Arc<Pipeline>,
    store: Arc<Store>,
    artifacts: Arc<Artifacts>,
    supervisor: Supervisor,
    proxy: ProxyHandle,
    work_dir: PathBuf,
    running: HashMap<String, Running>,
    analyses: HashMap<String, AnalysisTask>,
    /// Each finished analysis's outcome and when it was decided (ms since the epoch).
    outcomes: Arc<Mutex<HashMap<String, (Outcome, i64)>>>,
    /// When the verdict that is about to abort the rollout was decided.
    verdict_at: Option<i64>,
    wake: Arc<Notify>,
    settings: slipway_analysis::Settings,
    /// When post-deploy verification of the current release started, and its result.
    verification: Option<VerificationSlot>,
}

impl Controller {
    /// Starts the environment's proxy and supervisor; processes come with the first reconcile.
    pub async fn start(
        env_name: &str,
        pipeline: Arc<Pipeline>,
        store: Arc<Store>,
        artifacts: Arc<Artifacts>,
        state_dir: &std::path::Path,
        analysis: slipway_analysis::Settings,
    ) -> Result<Controller> {
        let env = config::resolve(&pipeline, env_name)?;
        let work_dir = state_dir.join("delivery").join(&env.name);
        let supervisor = Supervisor::new(&work_dir.join("instances"))
            .map_err(|e| DeliveryError::Invalid(e.to_string()))?;
        let state = store.environment_state(&env.name).await?;
        if let Some(pid) = state.as_ref().and_then(crate::status::live_controller) {
            return Err(DeliveryError::Invalid(format!(
                "environment `{}` already has a controller (`slipway up`, pid {pid}); stop it first (`slipway down {}`)",
                env.name, env.name
            )));
        }
        let listen: SocketAddr = match env
            .listen
            .clone()
            .or_else(|| state.as_ref().and_then(|s| s.address.clone()))
        {
            Some(text) => text.parse().map_err(|_| {
                DeliveryError::Invalid(format!(
                    "environment `{}`: listen address `{text}` is not HOST:PORT (e.g. 127.0.0.1:8080)",
                    env.name
                ))
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let admin_listen = match &env.metrics_listen {
            Some(text) => Some(text.parse().map_err(|_| {
                DeliveryError::Invalid(format!(
                    "environment `{}`: metrics-listen address `{text}` is not HOST:PORT",
                    env.name
                ))
            })?),
            None => None,
        };
        let proxy = slipway_proxy::start(
            ProxyConfig {
                environment: env.name.clone(),
                listen,
                admin_listen,
                stickiness: env.stickiness.as_ref().map(|s| match s {
                    config::Stickiness::Header(h) => slipway_proxy::Stickiness::Header(h.clone()),
                    config::Stickiness::Cookie(c) => slipway_proxy::Stickiness::Cookie(c.clone()),
                }),
                upstream_timeout: Duration::from_secs(30),
            },
            Routes { backends: vec![] },
        )
        .await
        .map_err(|e| DeliveryError::Invalid(format!("environment `{}`: {e}", env.name)))?;
        let address = proxy.address().to_string();
        store
            .controller_heartbeat(
                &env.name,
                Some(i64::from(std::process::id())),
                Some(&address),
            )
            .await?;
        Ok(Controller {
            env,
            pipeline,
            store,
            artifacts,
            supervisor,
            proxy,
            work_dir,
            running: HashMap::new(),
            analyses: HashMap::new(),
            outcomes: Arc::new(Mutex::new(HashMap::new())),
            verdict_at: None,
            wake: Arc::new(Notify::new()),
            settings: analysis,
            verification: None,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.proxy.address()
    }

    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.proxy.admin_address()
    }

    pub fn proxy(&self) -> &ProxyHandle {
        &self.proxy
    }

    /// Reconciles until `shutdown` turns true. Processes keep running when the controller
    /// stops (the next one adopts them) unless `stop_processes` is set.
    pub async fn run(
        mut self,
        mut shutdown: watch::Receiver<bool>,
        stop_processes: bool,
    ) -> Result<()> {
        loop {
            self.reconcile().await?;
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        for (_, task) in self.analyses.drain() {
            task.handle.abort();
        }
        self.store
            .controller_heartbeat(&self.env.name, None, None)
            .await?;
        if stop_processes {
            for (_, running) in self.running.drain() {
                for (id, _) in running.instances {
                    let _ = self.supervisor.stop(&id, Duration::from_secs(5)).await;
                }
            }
        } else {
            self.supervisor.shutdown(Duration::from_secs(5)).await;
        }
        self.proxy.clone().shutdown().await;
        Ok(())
    }

    fn state_default(&self) -> EnvironmentState {
        EnvironmentState {
            environment: self.env.name.clone(),
            phase: "idle".into(),
            ..EnvironmentState::default()
        }
    }

    /// One pass: bring processes and weights in line with the store, then advance the rollout.
    pub async fn reconcile(&mut self) -> Result<()> {
        let mut state = self
            .store
            .environment_state(&self.env.name)
            .await?
            .unwrap_or_else(|| self.state_default());
        self.store
            .controller_heartbeat(
                &self.env.name,
                Some(i64::from(std::process::id())),
                Some(&self.proxy.address().to_string()),
            )
            .await?;
        let stable = match &state.stable_release {
            Some(id) => Some(self.store.release(id).await?),
            None => None,
        };
        let canary = match &state.canary_release {
            Some(id) => Some(self.store.release(id).await?),
            None => None,
        };
        let canary = canary.filter(|c| !c.is_final());
        let (stable_wanted, canary_wanted) = self.wanted_instances(&state, canary.as_ref());
        if let Some(stable) = &stable {
            self.ensure_running(stable, stable_wanted).await?;
        }
        let Some(canary) = canary else {
            self.stop_unreferenced(&state).await;
            self.apply_routes(&state, stable.as_ref(), None)?;
            return Ok(());
        };
        // A release that cannot even be prepared (a secret that does not resolve, an artifact
        // without an entrypoint) ends here, with its reason, instead of stopping the controller.
        if let Err(error) = self.prepare(&canary).await {
            return self
                .abort(
                    state,
                    stable.as_ref(),
                    &canary,
                    &format!("cannot start: {error}"),
                    false,
                    CONTROLLER_ACTOR,
                )
                .await;
        }
        self.ensure_running(&canary, canary_wanted).await?;

        if let Some(request) = state.request.take() {
            let actor = state
                .request_actor
                .take()
                .unwrap_or_else(|| "unknown".into());
            match request.as_str() {
                "abort" => {
                    return self
                        .abort(
                            state,
                            stable.as_ref(),
                            &canary,
                            &format!("aborted by {actor}"),
                            false,
                            &actor,
                        )
                        .await;
                }
                "resume" if state.phase == "paused" => {
                    state.phase = "progressing".into();
                    state.paused_reason = None;
                    state.step += 1;
                    state.step_started_at = Some(now_ms());
                    self.record(
                        &state,
                        None,
                        &canary,
                        "resumed",
                        &actor,
                        serde_json::json!({}),
                    )
                    .await?;
                    self.wake.notify_one();
                    return Ok(());
                }
                _ => {
                    self.record(
                        &state,
                        None,
                        &canary,
                        "request-ignored",
                        &actor,
                        serde_json::json!({ "request": request, "phase": state.phase }),
                    )
                    .await?;
                    return Ok(());
                }
            }
        }
        if state.phase != "progressing" && state.phase != "verifying" {
            self.apply_routes(&state, stable.as_ref(), Some(&canary))?;
            return Ok(());
        }

        // Readiness gates everything: a release that is not ready by its deadline is aborted.
        if !self.ready(&canary.id) {
            let started = state.step_started_at.unwrap_or(canary.created_at);
            let waited = Duration::from_millis((now_ms() - started).max(0) as u64);
            if waited > self.env.progress_deadline {
                let reason = format!(
                    "not ready after the progress deadline of {}: {}",
                    slipway_pipeline::read::format_duration(self.env.progress_deadline),
                    self.readiness_problem(&canary.id)
                );
                return self
                    .abort(
                        state,
                        stable.as_ref(),
                        &canary,
                        &reason,
                        true,
                        CONTROLLER_ACTOR,
                    )
                    .await;
            }
            self.apply_routes(&state, stable.as_ref(), Some(&canary))?;
            return Ok(());
        }

        // Background analyses judge every step of a canary.
        if let StrategyConfig::Canary {
            background_analysis,
            ..
        } = self.env.strategy.clone()
            && !background_analysis.is_empty()
            && stable.is_some()
            && state.phase == "progressing"
        {
            let key = format!("{}#background", canary.id);
            match self.analysis_outcome(
                &key,
                &canary,
                stable.as_ref(),
                &background_analysis,
                state.step_started_at,
            )? {
                Some(Outcome::Failed { reason }) => {
                    return self
                        .abort(
                            state,
                            stable.as_ref(),
                            &canary,
                            &format!("background analysis failed: {reason}"),
                            true,
                            CONTROLLER_ACTOR,
                        )
                        .await;
                }
                Some(Outcome::Inconclusive { reason }) => {
                    return self
                        .pause(
                            state,
                            &canary,
                            &format!("background analysis inconclusive: {reason}"),
                        )
                        .await;
                }
                _ => {}
            }
        }

        if state.phase == "verifying" {
            return self.verify_step(state, stable.as_ref(), &canary).await;
        }
        let first_release = stable.is_none() || canary.kind == "rollback";
        if first_release {
            return self.full_promotion(state, stable.as_ref(), &canary).await;
        }
        match self.env.strategy.clone() {
            StrategyConfig::Canary { steps, .. } => {
                self.canary_step(state, stable.as_ref(), &canary, &steps)
                    .await
            }
            StrategyConfig::BlueGreen {
                pre_promotion_analysis,
                ..
            } => {
                if state.step == 0 && !pre_promotion_analysis.is_empty() {
                    let key = format!("{}#pre-promotion", canary.id);
                    match self.analysis_outcome(
                        &key,
                        &canary,
                        stable.as_ref(),
                        &pre_promotion_analysis,
                        state.step_started_at,
                    )? {
                        Some(Outcome::Succeeded) => {}
                        Some(Outcome::Failed { reason }) => {
                            return self
                                .abort(
                                    state,
                                    stable.as_ref(),
                                    &canary,
                                    &format!("pre-promotion analysis failed: {reason}"),
                                    true,
                                    CONTROLLER_ACTOR,
                                )
                                .await;
                        }
                        Some(Outcome::Inconclusive { reason }) => {
                            return self
                                .pause(
                                    state,
                                    &canary,
                                    &format!("pre-promotion analysis inconclusive: {reason}"),
                                )
                                .await;
                        }
                        Some(Outcome::Running) | None => return Ok(()),
                    }
                }
                self.full_promotion(state, stable.as_ref(), &canary).await
            }
            StrategyConfig::Rolling { max_unavailable } => match stable.as_ref() {
                Some(stable) => {
                    self.rolling_step(state, stable, &canary, max_unavailable)
                        .await
                }
                None => self.full_promotion(state, None, &canary).await,
            },
        }
    }

    async fn canary_step(
        &mut self,
        mut state: EnvironmentState,
        stable: Option<&Release>,
        canary: &Release,
        steps: &[CanaryStep],
    ) -> Result<()> {
        let index = usize::try_from(state.step).unwrap_or(usize::MAX);
        let Some(step) = steps.get(index) else {
            return self.full_promotion(state, stable, canary).await;
        };
        let started = state.step_started_at.unwrap_or_else(now_ms);
        match step {
            CanaryStep::Weight(weight) => {
                state.weight = i64::from(*weight);
                self.apply_routes(&state, stable, Some(canary))?;
                let detail = serde_json::json!({ "weight": weight });
                state.step += 1;
                state.step_started_at = Some(now_ms());
                self.record(&state, None, canary, "weight", CONTROLLER_ACTOR, detail)
                    .await?;
                self.wake.notify_one();
            }
            CanaryStep::Pause(Some(duration)) => {
                self.apply_routes(&state, stable, Some(canary))?;
                if now_ms() - started >= duration.as_millis() as i64 {
                    state.step += 1;
                    state.step_started_at = Some(now_ms());
                    self.record(&state, None, canary, "step", CONTROLLER_ACTOR, serde_json::json!({ "paused_for": slipway_pipeline::read::format_duration(*duration) })).await?;
                    self.wake.notify_one();
                }
            }
            CanaryStep::Pause(None) => {
                self.apply_routes(&state, stable, Some(canary))?;
                return self
                    .pause(state, canary, "paused until `slipway rollout resume`")
                    .await;
            }
            CanaryStep::Analysis(names) => {
                self.apply_routes(&state, stable, Some(canary))?;
                let key = format!("{}#step{}", canary.id, state.step);
                match self.analysis_outcome(&key, canary, stable, names, Some(started))? {
                    Some(Outcome::Succeeded) => {
                        state.step += 1;
                        state.step_started_at = Some(now_ms());
                        self.record(
                            &state,
                            None,
                            canary,
                            "analysis",
                            CONTROLLER_ACTOR,
                            serde_json::json!({ "analyses": names, "outcome": "succeeded" }),
                        )
                        .await?;
                        self.wake.notify_one();
                    }
                    Some(Outcome::Failed { reason }) => {
                        return self
                            .abort(
                                state,
                                stable,
                                canary,
                                &format!("analysis failed: {reason}"),
                                true,
                                CONTROLLER_ACTOR,
                            )
                            .await;
                    }
                    Some(Outcome::Inconclusive { reason }) => {
                        return self
                            .pause(state, canary, &format!("analysis inconclusive: {reason}"))
                            .await;
                    }
                    Some(Outcome::Running) | None => {}
                }
            }
        }
        Ok(())
    }

    /// All traffic to the new release; the old one keeps running until verification passes,
    /// so a failed verification switches back at once.
    async fn full_promotion(
        &mut self,
        mut state: EnvironmentState,
        stable: Option<&Release>,
        canary: &Release,
    ) -> Result<()> {
        state.weight = 100;
        self.apply_routes(&state, stable, Some(canary))?;
        state.phase = "verifying".into();
        state.step_started_at = Some(now_ms());
        self.record(
            &state,
            None,
            canary,
            "weight",
            CONTROLLER_ACTOR,
            serde_json::json!({ "weight": 100 }),
        )
        .await?;
        self.wake.notify_one();
        Ok(())
    }

    async fn verify_step(
        &mut self,
        mut state: EnvironmentState,
        stable: Option<&Release>,
        canary: &Release,
    ) -> Result<()> {
        self.apply_routes(&state, stable, Some(canary))?;
        let post = match &self.env.strategy {
            StrategyConfig::BlueGreen {
                post_promotion_analysis,
                ..
            } if stable.is_some() => post_promotion_analysis.clone(),
            _ => Vec::new(),
        };
        if !post.is_empty() {
            let key = format!("{}#post-promotion", canary.id);
            match self.analysis_outcome(&key, canary, stable, &post, state.step_started_at)? {
                Some(Outcome::Succeeded) => {}
                Some(Outcome::Failed { reason }) => {
                    return self
                        .abort(
                            state,
                            stable,
                            canary,
                            &format!("post-promotion analysis failed: {reason}"),
                            true,
                            CONTROLLER_ACTOR,
                        )
                        .await;
                }
                Some(Outcome::Inconclusive { reason }) => {
                    return self
                        .pause(
                            state,
                            canary,
                            &format!("post-promotion analysis inconclusive: {reason}"),
                        )
                        .await;
                }
                Some(Outcome::Running) | None => return Ok(()),
            }
        }
        if !self.env.verify.is_empty() {
            let slot = match &self.verification {
                Some(slot) => slot.clone(),
                None => {
                    let slot = Arc::new(Mutex::new(None));
                    self.verification = Some(slot.clone());
                    let steps = self.env.verify.clone();
                    let url = format!("http://{}", self.proxy.address());
                    let wake = self.wake.clone();
                    let store = self.store.clone();
                    let release_id = canary.id.clone();
                    let environment = self.env.name.clone();
                    let slot_for_task = slot.clone();
                    tokio::spawn(async move {
                        let result =
                            run_verification(&steps, &url, &store, &release_id, &environment).await;
                        if let Ok(mut guard) = slot_for_task.lock() {
                            *guard = Some(result);
                        }
                        wake.notify_one();
                    });
                    slot
                }
            };
            let result = slot.lock().ok().and_then(|g| g.clone());
            match result {
                None => return Ok(()),
                Some(Err(reason)) => {
                    self.verification = None;
                    return self
                        .abort(
                            state,
                            stable,
                            canary,
                            &format!("post-deploy verification failed: {reason}"),
                            true,
                            CONTROLLER_ACTOR,
                        )
                        .await;
                }
                Some(Ok(())) => self.verification = None,
            }
        }
        // Blue-green keeps blue for `scale-down-delay` so switching back stays instant.
        if let (
            StrategyConfig::BlueGreen {
                scale_down_delay, ..
            },
            Some(_),
        ) = (&self.env.strategy, stable)
        {
            let started = state.step_started_at.unwrap_or_else(now_ms);
            if now_ms() - started < scale_down_delay.as_millis() as i64 {
                return Ok(());
            }
        }
        let previous = state.stable_release.replace(canary.id.clone());
        state.canary_release = None;
        state.phase = "succeeded".into();
        state.weight = 0;
        state.step_started_at = Some(now_ms());
        state.last_known_good = Some(canary.digest.clone());
        self.apply_routes(&state, Some(canary), None)?;
        self.record(
            &state,
            Some((canary.id.clone(), "succeeded".into(), None)),
            canary,
            "succeeded",
            CONTROLLER_ACTOR,
            serde_json::json!({ "digest": canary.digest, "replaced": previous }),
        )
        .await?;
        if let Some(previous) = previous.filter(|p| *p != canary.id) {
            self.drain_and_stop(&previous).await;
        }
        Ok(())
    }

    async fn pause(
        &mut self,
        mut state: EnvironmentState,
        canary: &Release,
        reason: &str,
    ) -> Result<()> {
        state.phase = "paused".into();
        state.paused_reason = Some(reason.to_owned());
        self.record(
            &state,
            Some((canary.id.clone(), "paused".into(), Some(reason.to_owned()))),
            canary,
            "paused",
            CONTROLLER_ACTOR,
            serde_json::json!({ "reason": reason }),
        )
        .await
    }

    /// Canary weight to 0 now, then the record, then the canary's processes drained and
    /// stopped. `bad` marks the digest bad for this environment.
    async fn abort(
        &mut self,
        mut state: EnvironmentState,
        stable: Option<&Release>,
        canary: &Release,
        reason: &str,
        bad: bool,
        actor: &str,
    ) -> Result<()> {
        state.weight = 0;
        state.phase = "aborted".into();
        state.canary_release = None;
        state.paused_reason = None;
        state.step_started_at = Some(now_ms());
        self.apply_routes(&state, stable, None)?;
        let switched_at = now_ms();
        let verdict_at = self.verdict_at.take();
        for key in self
            .analyses
            .keys()
            .filter(|k| k.starts_with(&canary.id))
            .cloned()
            .collect::<Vec<_>>()
        {
            if let Some(task) = self.analyses.remove(&key) {
                task.handle.abort();
            }
        }
        self.verification = None;
        let transition = Transition {
            state: Some(state),
            release_status: Some((canary.id.clone(), "aborted".into(), Some(reason.to_owned()))),
            event: Some(NewRolloutEvent {
                release_id: canary.id.clone(),
                kind: "aborted".into(),
                actor: actor.to_owned(),
                detail: serde_json::json!({
                    "reason": reason,
                    "known_bad": bad,
                    "weight_zero_at_ms": switched_at,
                    "verdict_at_ms": verdict_at,
                    "abort_ms": verdict_at.map(|at| switched_at - at),
                }),
            }),
            known_bad: bad.then(|| (canary.digest.clone(), reason.to_owned())),
        };
        self.store
            .apply_transition(&self.env.name, &transition)
            .await?;
        self.drain_and_stop(&canary.id).await;
        Ok(())
    }

    async fn record(
        &self,
        state: &EnvironmentState,
        release_status: Option<(String, String, Option<String>)>,
        release: &Release,
        kind: &str,
        actor: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        self.store
            .apply_transition(
                &self.env.name,
                &Transition {
                    state: Some(state.clone()),
                    release_status,
                    event: Some(NewRolloutEvent {
                        release_id: release.id.clone(),
                        kind: kind.into(),
                        actor: actor.into(),
                        detail,
                    }),
                    known_bad: None,
                },
            )
            .await?;
        Ok(())
    }

    /// The outcome of the analyses `names` for `key`, starting them on first call.
    fn analysis_outcome(
        &mut self,
        key: &str,
        canary: &Release,
        stable: Option<&Release>,
        names: &[String],
        since_ms: Option<i64>,
    ) -> Result<Option<Outcome>> {
        if let Some((outcome, decided_at)) =
            self.outcomes.lock().ok().and_then(|o| o.get(key).cloned())
        {
            if matches!(outcome, Outcome::Failed { .. }) {
                self.verdict_at = Some(decided_at);
            }
            return Ok(Some(outcome));
        }
        if self.analyses.contains_key(key) {
            return Ok(Some(Outcome::Running));
        }
        let templates = names
            .iter()
            .map(|name| self.template(name))
            .collect::<Result<Vec<_>>>()?;
        let since = SystemTime::UNIX_EPOCH
            + Duration::from_millis(since_ms.unwrap_or_else(now_ms).max(0) as u64);
        let target = slipway_analysis::Target {
            environment: Some(self.env.name.clone()),
            canary: canary.id.clone(),
            stable: stable.map(|s| s.id.clone()),
            since,
            canary_address: self
                .running
                .get(&canary.id)
                .and_then(|r| r.instances.first())
                .map(|(_, port)| format!("http://127.0.0.1:{port}")),
        };
        let outcomes = self.outcomes.clone();
        let wake = self.wake.clone();
        let store = self.store.clone();
        let traffic = ProxyTraffic(self.proxy.clone());
        let settings = self.settings.clone();
        let key_owned = key.to_owned();
        let release_id = canary.id.clone();
        let handle = tokio::spawn(async move {
            let outcome = run_analyses(
                &templates,
                &target,
                &traffic,
                &settings,
                &store,
                &release_id,
                &wake,
            )
            .await;
            if let Ok(mut map) = outcomes.lock() {
                map.insert(key_owned, (outcome, now_ms()));
            }
            wake.notify_one();
        });
        self.analyses
            .insert(key.to_owned(), AnalysisTask { handle });
        Ok(Some(Outcome::Running))
    }

    fn template(&self, name: &str) -> Result<Template> {
        let template = self
            .pipeline
            .analysis
            .as_ref()
            .and_then(|all| all.iter().find(|(k, _)| k.name == name).map(|(_, t)| t))
            .ok_or_else(|| {
                DeliveryError::Invalid(format!(
                    "environment `{}` uses analysis `{name}`, which is not defined under `analysis:`",
                    self.env.name
                ))
            })?;
        Template::from_pipeline(name, template)
            .map_err(|e| DeliveryError::Invalid(format!("analysis `{name}`: {e}")))
    }

    fn ready(&self, release_id: &str) -> bool {
        self.running.get(release_id).is_some_and(|r| {
            !r.instances.is_empty()
                && r.instances.iter().all(|(id, _)| {
                    matches!(self.supervisor.status(id), Some(InstanceStatus::Ready))
                })
        })
    }

    /// The addresses of a release's instances that pass readiness: only they get traffic.
    fn ready_addresses(&self, release_id: &str) -> Vec<SocketAddr> {
        self.running
            .get(release_id)
            .map(|r| {
                r.instances
                    .iter()
                    .filter(|(id, _)| {
                        matches!(self.supervisor.status(id), Some(InstanceStatus::Ready))
                    })
                    .map(|(_, port)| SocketAddr::from(([127, 0, 0, 1], *port)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn readiness_problem(&self, release_id: &str) -> String {
        self.running
            .get(release_id)
            .map(|r| {
                r.instances
                    .iter()
                    .filter_map(|(id, _)| match self.supervisor.status(id) {
                        Some(InstanceStatus::Ready) => None,
                        Some(status) => Some(format!("{id}: {status}")),
                        None => Some(format!("{id}: not running")),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_else(|| "no instances".into())
    }

    /// Sets the proxy's routes from the state: the stable release gets what the canary does
    /// not. Takes effect for the very next request.
    fn apply_routes(
        &self,
        state: &EnvironmentState,
        stable: Option<&Release>,
        canary: Option<&Release>,
    ) -> Result<()> {
        let mut backends = Vec::new();
        let canary_weight = match (stable, canary) {
            (None, Some(_)) => 100,
            (_, Some(_)) => state.weight.clamp(0, 100) as u32,
            (_, None) => 0,
        };
        for (release, weight) in [(canary, canary_weight), (stable, 100 - canary_weight)] {
            let Some(release) = release else { continue };
            let ready = self.ready_addresses(&release.id);
            if !ready.is_empty() {
                backends.push(Backend {
                    version: release.id.clone(),
                    weight_bp: weight * 100,
                    instances: ready,
                });
            }
        }
        if backends.is_empty() {
            // Nothing is ready: the routes stay as they are until something is.
            return Ok(());
        }
        let total: u32 = backends.iter().map(|b| b.weight_bp).sum();
        if total != 10_000 {
            // Only one side has ready instances: it takes everything.
            if let Some(first) = backends.first_mut() {
                first.weight_bp = 10_000;
            }
            backends.truncate(1);
        }
        let current = self.proxy.routes();
        if !same_routes(&current, &backends) {
            self.proxy
                .set_routes(Routes { backends })
                .map_err(|e| DeliveryError::Invalid(e.to_string()))?;
        }
        Ok(())
    }

    /// How the release's processes start: read once from the artifact (unpacked on first use).
    async fn launch(&self, release: &Release) -> Result<Launch> {
        let root = self.work_dir.join("releases").join(&release.id);
        let rootfs = root.join("rootfs");
        let (manifest, _) = self.artifacts.manifest(&release.digest).await?;
        let image = self.artifacts.config(&manifest).await?;
        if !rootfs.join(".unpacked").exists() {
            let _ = std::fs::remove_dir_all(&rootfs);
            self.artifacts.unpack(&manifest, &image, &rootfs).await?;
            std::fs::write(rootfs.join(".unpacked"), release.digest.as_bytes()).map_err(|e| {
                DeliveryError::Invalid(format!("cannot write {}: {e}", rootfs.display()))
            })?;
        }
        let entrypoint = &image.config.entrypoint;
        let Some(program) = entrypoint.first() else {
            return Err(DeliveryError::Invalid(format!(
                "artifact {} has no entrypoint: set `artifact.entrypoint` in the job that builds it",
                release.digest
            )));
        };
        let mut env: BTreeMap<String, String> = image
            .config
            .env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| *k != "PATH")
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        env.insert("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into());
        env.extend(self.env.env.clone());
        for (name, secret) in self.resolve_secrets().await? {
            env.insert(name, secret.expose().to_owned());
        }
        env.insert("SLIPWAY_ENVIRONMENT".into(), self.env.name.clone());
        env.insert("SLIPWAY_RELEASE".into(), release.id.clone());
        env.insert("SLIPWAY_DIGEST".into(), release.digest.clone());
        Ok(Launch {
            program: rootfs.join(program.trim_start_matches('/')),
            args: entrypoint.iter().skip(1).cloned().collect(),
            working_dir: rootfs.join(image.config.working_dir.trim_start_matches('/')),
            env,
            logs: root.join("logs"),
        })
    }

    /// The environment's `secrets`, read from their providers each time a release's processes
    /// are prepared. The values go only into the processes' environments: never into the
    /// store, events, logs or records (a record holds the spec's digest, not the spec).
    async fn resolve_secrets(&self) -> Result<Vec<(String, slipway_secrets::Secret)>> {
        if self.env.secrets.is_empty() {
            return Ok(Vec::new());
        }
        let declared = self.pipeline.secrets.as_ref();
        let mut requests = Vec::with_capacity(self.env.secrets.len());
        for name in &self.env.secrets {
            let source = declared.and_then(|all| all.get(name.as_str())).ok_or_else(|| {
                DeliveryError::Invalid(format!(
                    "environment `{}` uses secret `{name}`, which is not declared under `secrets:`",
                    self.env.name
                ))
            })?;
            let text = |field: &Option<slipway_pipeline::spanned::Spanned<String>>| {
                field.as_ref().map(|f| f.value.clone()).unwrap_or_default()
            };
            let provider = match source.from.as_ref().map(|f| f.value) {
                Some(SecretProvider::Env) => slipway_secrets::Provider::Env {
                    name: text(&source.name),
                },
                Some(SecretProvider::File) => slipway_secrets::Provider::File {
                    path: PathBuf::from(text(&source.path)),
                },
                Some(SecretProvider::Vault) => slipway_secrets::Provider::Vault {
                    path: text(&source.path),
                    field: text(&source.field),
                },
                None => {
                    return Err(DeliveryError::Invalid(format!(
                        "secret `{name}` does not say where it comes from: add `from: env`, `file` or `vault`"
                    )));
                }
            };
            requests.push((name.clone(), provider));
        }
        let context = slipway_secrets::ResolveContext::from_process_env();
        slipway_secrets::resolve_all(&requests, &context)
            .await
            .result
            .map_err(|error| {
                DeliveryError::Invalid(format!("environment `{}`: {error}", self.env.name))
            })
    }

    /// Reads how the release's processes start, once per release and controller.
    async fn prepare(&mut self, release: &Release) -> Result<()> {
        if !self.running.contains_key(&release.id) {
            let launch = self.launch(release).await?;
            self.running.insert(
                release.id.clone(),
                Running {
                    digest: release.digest.clone(),
                    launch,
                    instances: Vec::new(),
                },
            );
        }
        Ok(())
    }

    /// Makes instances `0..wanted` of the release run (adopting survivors of an earlier
    /// controller); never stops any: scaling down goes through [`Self::scale_down`].
    async fn ensure_running(&mut self, release: &Release, wanted: u32) -> Result<()> {
        self.prepare(release).await?;
        let recorded: HashMap<String, u16> = self
            .supervisor
            .recorded()
            .map_err(|e| DeliveryError::Invalid(e.to_string()))?
            .into_iter()
            .map(|r| (r.id.clone(), r.port))
            .collect();
        for index in 0..wanted {
            let id = format!("{}/{}/{index}", self.env.name, release.id);
            let Some(running) = self.running.get(&release.id) else {
                break;
            };
            if running
                .instances
                .iter()
                .any(|(existing, _)| *existing == id)
            {
                continue;
            }
            let port = match recorded.get(&id) {
                Some(port) => *port,
                None => slipway_supervisor::free_port()
                    .map_err(|e| DeliveryError::Invalid(e.to_string()))?,
            };
            let spec = InstanceSpec {
                id: id.clone(),
                program: running.launch.program.clone(),
                args: running.launch.args.clone(),
                working_dir: running.launch.working_dir.clone(),
                env: running.launch.env.clone(),
                port,
                log_path: running.launch.logs.join(format!("{index}.log")),
                readiness: Some(probe(&self.env.readiness)),
                liveness: self.env.liveness.as_ref().map(probe),
                restart: RestartPolicy::default(),
            };
            self.supervisor
                .adopt_or_start(spec)
                .await
                .map_err(|e| DeliveryError::Invalid(e.to_string()))?;
            if let Some(running) = self.running.get_mut(&release.id) {
                running.instances.push((id, port));
            }
        }
        Ok(())
    }

    /// Takes instances `wanted..` of the release out of the running set and returns their ids:
    /// the caller updates the routes, then stops them.
    fn scale_down(&mut self, release_id: &str, wanted: u32) -> Vec<(String, u16)> {
        let Some(running) = self.running.get_mut(release_id) else {
            return Vec::new();
        };
        let keep: Vec<String> = (0..wanted)
            .map(|index| format!("{}/{release_id}/{index}", self.env.name))
            .collect();
        let (kept, removed): (Vec<_>, Vec<_>) = running
            .instances
            .drain(..)
            .partition(|(id, _)| keep.contains(id));
        running.instances = kept;
        removed
    }

    /// How many instances of each release run now: a rolling update trades them one step at
    /// a time; everything else runs every release whole.
    fn wanted_instances(&self, state: &EnvironmentState, canary: Option<&Release>) -> (u32, u32) {
        let all = self.env.instances;
        match (&self.env.strategy, canary) {
            (StrategyConfig::Rolling { max_unavailable }, Some(canary))
                if canary.kind != "rollback" && state.phase != "verifying" =>
            {
                let replaced = u32::try_from(state.step.max(0)).unwrap_or(0).min(all);
                (all - replaced, (replaced + max_unavailable).min(all))
            }
            _ => (all, all),
        }
    }

    /// One rolling step: the new instances started for it are ready, so they take their share
    /// of the traffic and as many old instances leave.
    async fn rolling_step(
        &mut self,
        mut state: EnvironmentState,
        stable: &Release,
        canary: &Release,
        max_unavailable: u32,
    ) -> Result<()> {
        let all = self.env.instances;
        let replaced = u32::try_from(state.step.max(0)).unwrap_or(0);
        if replaced >= all {
            return self.full_promotion(state, Some(stable), canary).await;
        }
        let replaced = (replaced + max_unavailable).min(all);
        state.step = i64::from(replaced);
        state.weight = i64::from(replaced * 100 / all);
        state.step_started_at = Some(now_ms());
        let leaving = self.scale_down(&stable.id, all - replaced);
        self.apply_routes(&state, Some(stable), Some(canary))?;
        let stopped: Vec<&str> = leaving.iter().map(|(id, _)| id.as_str()).collect();
        self.record(
            &state,
            None,
            canary,
            "instance",
            CONTROLLER_ACTOR,
            serde_json::json!({ "replaced": replaced, "of": all, "stopped": stopped }),
        )
        .await?;
        self.drain_instances(canary, &stable.id, leaving).await;
        self.wake.notify_one();
        Ok(())
    }

    /// Stops instances that already left the routes, once the requests they are still
    /// answering have finished (each instance's own in-flight count at the proxy: the
    /// version's other instances keep serving meanwhile), at most [`DRAIN_TIMEOUT`] in all;
    /// the event records which way it ended.
    async fn drain_instances(
        &mut self,
        release: &Release,
        version: &str,
        leaving: Vec<(String, u16)>,
    ) {
        if leaving.is_empty() {
            return;
        }
        let waiting = tokio::time::Instant::now();
        let deadline = waiting + DRAIN_TIMEOUT;
        let mut drained = true;
        let mut in_flight_left = 0;
        for (_, port) in &leaving {
            let addr = SocketAddr::from(([127, 0, 0, 1], *port));
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if !self.proxy.instance_drained(addr, left).await {
                drained = false;
                in_flight_left += self.proxy.instance_in_flight(addr);
            }
        }
        let waited = waiting.elapsed();
        let ids: Vec<String> = leaving.into_iter().map(|(id, _)| id).collect();
        for id in &ids {
            let _ = self.supervisor.stop(id, Duration::from_secs(10)).await;
        }
        let _ = self
            .store
            .apply_transition(
                &self.env.name,
                &Transition {
                    event: Some(NewRolloutEvent {
                        release_id: release.id.clone(),
                        kind: "drained".into(),
                        actor: CONTROLLER_ACTOR.into(),
                        detail: serde_json::json!({
                            "version": version,
                            "stopped": ids,
                            "drained": drained,
                            "waited_ms": u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                            "in_flight_left": in_flight_left,
                        }),
                    }),
                    ..Transition::default()
                },
            )
            .await;
    }

    async fn drain_and_stop(&mut self, release_id: &str) {
        self.proxy.drained(release_id, DRAIN_TIMEOUT).await;
        self.stop_release(release_id).await;
    }

    async fn stop_release(&mut self, release_id: &str) {
        if let Some(running) = self.running.remove(release_id) {
            for (id, _) in running.instances {
                let _ = self.supervisor.stop(&id, Duration::from_secs(10)).await;
            }
        }
    }

    /// Stops processes of releases the state no longer names (after a restart, or a release
    /// that ended while no controller ran).
    async fn stop_unreferenced(&mut self, state: &EnvironmentState) {
        let keep: Vec<&String> = [&state.stable_release, &state.canary_release]
            .into_iter()
            .flatten()
            .collect();
        let stale: Vec<String> = self
            .running
            .keys()
            .filter(|id| !keep.contains(id))
            .cloned()
            .collect();
        for id in stale {
            self.drain_and_stop(&id).await;
        }
        if let Ok(records) = self.supervisor.recorded() {
            for record in records {
                let owned = keep
                    .iter()
                    .any(|k| record.id.starts_with(&format!("{}/{k}/", self.env.name)));
                if !owned {
                    let _ = self
                        .supervisor
                        .stop(&record.id, Duration::from_secs(10))
                        .await;
                }
            }
        }
    }

    /// The digest each running release serves (for status output).
    pub fn running_digests(&self) -> Vec<(String, String)> {
        self.running
            .iter()
            .map(|(id, r)| (id.clone(), r.digest.clone()))
            .collect()
    }
}

fn same_routes(current: &Routes, wanted: &[Backend]) -> bool {
    current.backends.len() == wanted.len()
        && current.backends.iter().zip(wanted).all(|(a, b)| {
            a.version == b.version && a.weight_bp == b.weight_bp && a.instances == b.instances
        })
}

fn probe(config: &ProbeConfig) -> slipway_supervisor::Probe {
    slipway_supervisor::Probe {
        path: config.path.clone(),
        interval: config.interval,
        timeout: config.timeout,
        initial_delay: config.initial_delay,
        success_threshold: config.success_threshold,
        failure_threshold: config.failure_threshold,
    }
}

/// Runs every template to its end; the first failure or inconclusive result decides.
async fn run_analyses(
    templates: &[Template],
    target: &slipway_analysis::Target,
    traffic: &ProxyTraffic,
    settings: &slipway_analysis::Settings,
    store: &Store,
    release_id: &str,
    wake: &Notify,
) -> Outcome {
    let mut tallies: Vec<Tally> = templates.iter().map(Tally::new).collect();
    let mut next: Vec<tokio::time::Instant> = templates
        .iter()
        .map(|t| tokio::time::Instant::now() + t.interval)
        .collect();
    while let Some((index, due)) = (0..templates.len())
        .filter(|i| matches!(tallies[*i].outcome(), Outcome::Running))
        .map(|i| (i, next[i]))
        .min_by_key(|(_, due)| *due)
    {
        tokio::time::sleep_until(due).await;
        let template = &templates[index];
        let measurement: Measurement =
            slipway_analysis::measure(template, target, traffic, settings).await;
        let _ = store
            .record_measurement(&MeasurementRecord {
                release_id: release_id.to_owned(),
                analysis: measurement.analysis.clone(),
                value: measurement.value,
                samples: measurement.samples as i64,
                verdict: serde_json::to_value(measurement.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                body: serde_json::to_value(&measurement).unwrap_or_default(),
                created_at: now_ms(),
            })
            .await;
        let outcome = tallies[index].record(&measurement);
        next[index] = tokio::time::Instant::now() + template.interval;
        match outcome {
            Outcome::Failed { .. } | Outcome::Inconclusive { .. } => return outcome,
            _ => wake.notify_one(),
        }
    }
    Outcome::Succeeded
}

/// Post-deploy checks against the environment's address; the first failure is the result.
async fn run_verification(
    steps: &[config::VerifyStep],
    url: &str,
    store: &Store,
    release_id: &str,
    environment: &str,
) -> std::result::Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    for step in steps {
        let result = match &step.check {
            VerifyCheck::Run(command) => {
                let child = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(command)
                    .env("SLIPWAY_URL", url)
                    .env("SLIPWAY_ENVIRONMENT", environment)
                    .kill_on_drop(true)
                    .output();
                match tokio::time::timeout(step.timeout, child).await {
                    Err(_) => Err(format!(
                        "`{}` timed out after {}",
                        step.name,
                        slipway_pipeline::read::format_duration(step.timeout)
                    )),
                    Ok(Err(e)) => Err(format!("`{}` could not start: {e}", step.name)),
                    Ok(Ok(out)) if out.status.success() => Ok(()),
                    Ok(Ok(out)) => Err(format!(
                        "`{}` exited with {}: {}",
                        step.name,
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                            .lines()
                            .last()
                            .unwrap_or_default()
                    )),
                }
            }
            VerifyCheck::Probe {
                path,
                interval,
                duration,
            } => {
                let until = tokio::time::Instant::now() + *duration;
                let mut result = Ok(());
                let mut probes = 0;
                while tokio::time::Instant::now() < until {
                    probes += 1;
                    match client.get(format!("{url}{path}")).send().await {
                        Ok(response) if response.status().is_success() => {}
                        Ok(response) => {
                            result = Err(format!(
                                "`{}`: GET {path} answered {} (probe {probes})",
                                step.name,
                                response.status()
                            ));
                            break;
                        }
                        Err(e) => {
                            result = Err(format!("`{}`: GET {path} failed: {e}", step.name));
                            break;
                        }
                    }
                    tokio::time::sleep(*interval).await;
                }
                result
            }
        };
        let _ = store
            .apply_transition(
                environment,
                &Transition {
                    event: Some(NewRolloutEvent {
                        release_id: release_id.to_owned(),
                        kind: "verify".into(),
                        actor: CONTROLLER_ACTOR.into(),
                        detail: serde_json::json!({ "step": step.name, "ok": result.is_ok(), "error": result.as_ref().err() }),
                    }),
                    ..Transition::default()
                },
            )
            .await;
        result?;
    }
    Ok(())
}
