//! An environment's configuration, resolved from the pipeline file into plain values with the
//! defaults applied, so the rest of delivery never deals with spans or absent keys.

use crate::DeliveryError;
use serde::Serialize;
use slipway_pipeline::Pipeline;
use slipway_pipeline::model::{self, OneOrMany, Pause, Strategy};
use slipway_pipeline::spanned::Spanned;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a release may take to become ready when the file does not say.
pub const DEFAULT_PROGRESS_DEADLINE: Duration = Duration::from_secs(120);

#[derive(Clone, Debug, Serialize)]
pub struct EnvironmentConfig {
    pub name: String,
    pub target: String,
    pub strategy: StrategyConfig,
    /// Environments a release must have succeeded in first.
    pub after: Vec<String>,
    pub approvals_required: u32,
    pub exclude_author: bool,
    /// Plain environment variables for the release's processes.
    pub env: BTreeMap<String, String>,
    /// Names of secrets (under `secrets:`) given to the processes.
    pub secrets: Vec<String>,
    pub freeze: Vec<FreezeWindow>,
    pub listen: Option<String>,
    pub metrics_listen: Option<String>,
    pub instances: u32,
    pub readiness: ProbeConfig,
    pub liveness: Option<ProbeConfig>,
    #[serde(with = "duration_text")]
    pub progress_deadline: Duration,
    pub stickiness: Option<Stickiness>,
    pub verify: Vec<VerifyStep>,
    #[serde(with = "duration_text")]
    pub soak: Duration,
    pub production: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum StrategyConfig {
    Rolling {
        max_unavailable: u32,
    },
    BlueGreen {
        #[serde(with = "duration_text")]
        scale_down_delay: Duration,
        pre_promotion_analysis: Vec<String>,
        post_promotion_analysis: Vec<String>,
    },
    Canary {
        steps: Vec<CanaryStep>,
        /// Analyses that run through every step.
        background_analysis: Vec<String>,
    },
}

impl StrategyConfig {
    pub fn name(&self) -> &'static str {
        match self {
            StrategyConfig::Rolling { .. } => "rolling",
            StrategyConfig::BlueGreen { .. } => "blue-green",
            StrategyConfig::Canary { .. } => "canary",
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum CanaryStep {
    /// Percent of traffic to the canary.
    Weight(u32),
    /// Wait this long, or (None) until `slipway rollout resume`.
    Pause(#[serde(with = "optional_duration_text")] Option<Duration>),
    /// Run these analyses to the end; the step passes when all succeed.
    Analysis(Vec<String>),
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FreezeWindow {
    pub cron: String,
    #[serde(with = "duration_text")]
    pub duration: Duration,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ProbeConfig {
    pub path: String,
    #[serde(with = "duration_text")]
    pub interval: Duration,
    #[serde(with = "duration_text")]
    pub timeout: Duration,
    #[serde(with = "duration_text")]
    pub initial_delay: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum Stickiness {
    Header(String),
    Cookie(String),
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct VerifyStep {
    pub name: String,
    pub check: VerifyCheck,
    #[serde(with = "duration_text")]
    pub timeout: Duration,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyCheck {
    /// A command run with `SLIPWAY_URL` set; exit 0 passes.
    Run(String),
    /// GET `path` every `interval` for `duration`; any non-2xx fails.
    Probe {
        path: String,
        #[serde(with = "duration_text")]
        interval: Duration,
        #[serde(with = "duration_text")]
        duration: Duration,
    },
}

mod duration_text {
    pub fn serialize<S: serde::Serializer>(
        value: &std::time::Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&slipway_pipeline::read::format_duration(*value))
    }
}

mod optional_duration_text {
    pub fn serialize<S: serde::Serializer>(
        value: &Option<std::time::Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => {
                serializer.serialize_str(&slipway_pipeline::read::format_duration(*value))
            }
            None => serializer.serialize_str("until resumed"),
        }
    }
}

fn names(list: &Option<OneOrMany<Spanned<String>>>) -> Vec<String> {
    list.iter()
        .flat_map(|l| l.iter())
        .map(|s| s.value.clone())
        .collect()
}

fn duration(value: &Option<Spanned<model::Duration>>, default: Duration) -> Duration {
    value.as_ref().map_or(default, |d| d.value.0)
}

fn count(value: &Option<Spanned<i64>>, default: u32) -> u32 {
    value.as_ref().map_or(default, |v| {
        u32::try_from(v.value.max(0)).unwrap_or(u32::MAX)
    })
}

fn probe(probe: &model::Probe, default_path: &str) -> ProbeConfig {
    ProbeConfig {
        path: probe
            .path
            .as_ref()
            .map_or_else(|| default_path.to_owned(), |p| p.value.clone()),
        interval: duration(&probe.interval, Duration::from_millis(500)),
        timeout: duration(&probe.timeout, Duration::from_secs(2)),
        initial_delay: duration(&probe.initial_delay, Duration::ZERO),
        success_threshold: count(&probe.success_threshold, 1).max(1),
        failure_threshold: count(&probe.failure_threshold, 3).max(1),
    }
}

/// The names of the environments in the file, in file order.
pub fn environment_names(pipeline: &Pipeline) -> Vec<String> {
    pipeline
        .environments
        .iter()
        .flat_map(|envs| envs.keys())
        .map(|k| k.name.clone())
        .collect()
}

/// Resolves one environment of the pipeline file.
pub fn resolve(pipeline: &Pipeline, name: &str) -> Result<EnvironmentConfig, DeliveryError> {
    let environments = pipeline.environments.as_ref();
    let Some(env) = environments.and_then(|envs| {
        envs.iter()
            .find(|(key, _)| key.name == name)
            .map(|(_, env)| env)
    }) else {
        return Err(DeliveryError::UnknownEnvironment {
            name: name.to_owned(),
            known: environment_names(pipeline),
        });
    };
    let strategy = match &env.strategy {
        None | Some(Strategy::Rolling(_)) => {
            let max_unavailable = match &env.strategy {
                Some(Strategy::Rolling(options)) => count(&options.max_unavailable, 1).max(1),
                _ => 1,
            };
            StrategyConfig::Rolling { max_unavailable }
        }
        Some(Strategy::BlueGreen(options)) => StrategyConfig::BlueGreen {
            scale_down_delay: duration(&options.scale_down_delay, Duration::from_secs(30)),
            pre_promotion_analysis: names(&options.pre_promotion_analysis),
            post_promotion_analysis: names(&options.post_promotion_analysis),
        },
        Some(Strategy::Canary(options)) => StrategyConfig::Canary {
            steps: options
                .steps
                .iter()
                .flatten()
                .filter_map(|step| {
                    if let Some(weight) = &step.weight {
                        Some(CanaryStep::Weight(weight.value.clamp(0, 100) as u32))
                    } else if let Some(pause) = &step.pause {
                        Some(CanaryStep::Pause(match pause {
                            Pause::For(d) => Some(d.value.0),
                            Pause::UntilResumed => None,
                        }))
                    } else {
                        step.analysis
                            .as_ref()
                            .map(|analysis| CanaryStep::Analysis(names(&analysis.templates)))
                    }
                })
                .collect(),
            background_analysis: names(&options.analysis),
        },
    };
    let env_vars = env
        .env
        .iter()
        .flatten()
        .map(|(key, value)| (key.name.clone(), value.text.value.clone()))
        .collect();
    let verify = env
        .verify
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, step)| {
            let check = if let Some(run) = &step.run {
                VerifyCheck::Run(run.value.clone())
            } else {
                let probe = step.probe.as_ref()?;
                VerifyCheck::Probe {
                    path: probe
                        .path
                        .as_ref()
                        .map_or_else(|| "/".to_owned(), |p| p.value.clone()),
                    interval: duration(&probe.interval, Duration::from_secs(1)),
                    duration: duration(&probe.duration, Duration::from_secs(10)),
                }
            };
            Some(VerifyStep {
                name: step
                    .name
                    .as_ref()
                    .map_or_else(|| format!("verify #{}", index + 1), |n| n.value.clone()),
                check,
                timeout: duration(&step.timeout, Duration::from_secs(60)),
            })
        })
        .collect();
    Ok(EnvironmentConfig {
        name: name.to_owned(),
        target: env
            .target
            .as_ref()
            .map_or_else(|| "local".to_owned(), |t| t.value.clone()),
        strategy,
        after: names(&env.after),
        approvals_required: env.approval.as_ref().map_or(0, |a| count(&a.required, 0)),
        exclude_author: env
            .approval
            .as_ref()
            .and_then(|a| a.exclude_author.as_ref())
            .is_some_and(|v| v.value),
        env: env_vars,
        secrets: env
            .secrets
            .iter()
            .flatten()
            .map(|s| s.value.clone())
            .collect(),
        freeze: env
            .freeze
            .iter()
            .flatten()
            .filter_map(|window| {
                Some(FreezeWindow {
                    cron: window.cron.as_ref()?.value.0.clone(),
                    duration: duration(&window.duration, Duration::from_secs(3600)),
                })
            })
            .collect(),
        listen: env.listen.as_ref().map(|l| l.value.clone()),
        metrics_listen: env.metrics_listen.as_ref().map(|l| l.value.clone()),
        instances: count(&env.instances, 1).max(1),
        readiness: env
            .readiness
            .as_ref()
            .map_or_else(|| probe(&model::Probe::default(), "/"), |p| probe(p, "/")),
        liveness: env.liveness.as_ref().map(|p| probe(p, "/")),
        progress_deadline: duration(&env.progress_deadline, DEFAULT_PROGRESS_DEADLINE),
        stickiness: env.stickiness.as_ref().and_then(|s| {
            s.header
                .as_ref()
                .map(|h| Stickiness::Header(h.value.clone()))
                .or_else(|| {
                    s.cookie
                        .as_ref()
                        .map(|c| Stickiness::Cookie(c.value.clone()))
                })
        }),
        verify,
        soak: duration(&env.soak, Duration::ZERO),
        production: env
            .production
            .as_ref()
            .map_or(matches!(name, "production" | "prod"), |p| p.value),
    })
}

/// The freeze window `now` falls in, if any: the window opened at the cron's latest firing
/// at or before `now` and lasts `duration`.
pub fn active_freeze(
    windows: &[FreezeWindow],
    now: chrono::DateTime<chrono::Utc>,
) -> Option<(FreezeWindow, chrono::DateTime<chrono::Utc>)> {
    windows.iter().find_map(|window| {
        let cron = slipway_pipeline::schedule::parse_cron(&window.cron).ok()?;
        let opened = cron.find_previous_occurrence(&now, true).ok()?;
        let closes = opened + chrono::Duration::from_std(window.duration).ok()?;
        (now < closes).then(|| (window.clone(), closes))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn window(cron: &str, minutes: u64) -> FreezeWindow {
        FreezeWindow {
            cron: cron.into(),
            duration: Duration::from_secs(minutes * 60),
        }
    }

    #[test]
    fn freeze_window_covers_from_firing_to_duration() {
        // Fridays 16:00 for 64 hours: the weekend freeze.
        let windows = [window("0 16 * * FRI", 64 * 60)];
        let friday_evening = chrono::Utc
            .with_ymd_and_hms(2026, 11, 20, 18, 0, 0)
            .unwrap();
        let (_, closes) = active_freeze(&windows, friday_evening).unwrap();
        assert_eq!(
            closes,
            chrono::Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
        );
        let monday_noon = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .unwrap();
        assert!(active_freeze(&windows, monday_noon).is_none());
        let friday_morning = chrono::Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        assert!(active_freeze(&windows, friday_morning).is_none());
    }
}
