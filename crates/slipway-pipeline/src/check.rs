//! Semantic checks over a merged pipeline: references between jobs, environments, secrets and
//! analyses; the DAG; matrices; and every expression against the contexts of its place.

use crate::diagnostic::{Code, Diagnostic, suggest};
use crate::expr::{self, Expr, ExprKind, Segment};
use crate::matrix;
use crate::model::*;
use crate::source::Span;
use crate::spanned::Spanned;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The most jobs one matrix may expand to.
pub const MAX_MATRIX_JOBS: usize = 256;
/// A job without `timeout` falling back to more than this gets a warning.
const LONG_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60 * 60);
/// The job timeout when neither the job nor `defaults` sets one.
pub const DEFAULT_JOB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The properties of the `event` context.
pub const EVENT_FIELDS: &[&str] = &["name", "ref", "branch", "sha", "actor", "base"];

pub fn check(pipeline: &Pipeline, diagnostics: &mut Vec<Diagnostic>) {
    let mut checker = Checker {
        pipeline,
        diagnostics,
    };
    checker.jobs();
    checker.cycles();
    checker.pipeline_level();
    checker.secrets();
    checker.environments();
    checker.analyses();
}

struct Checker<'a> {
    pipeline: &'a Pipeline,
    diagnostics: &'a mut Vec<Diagnostic>,
}

/// What an expression at one place may read.
#[derive(Clone, Copy)]
struct ExprScope<'s> {
    /// Axes of the job's matrix, when the expression is inside a matrix job.
    matrix: Option<&'s BTreeSet<String>>,
    /// `Some`: `jobs.*` readable, restricted to these ids (the job's transitive needs).
    jobs: Option<&'s HashSet<String>>,
    status_functions: bool,
    hash_files: bool,
    /// Extra root contexts (e.g. `value` in analysis conditions).
    extra: &'s [&'s str],
    in_job: bool,
}

impl ExprScope<'_> {
    fn pipeline_level() -> Self {
        ExprScope {
            matrix: None,
            jobs: None,
            status_functions: false,
            hash_files: false,
            extra: &[],
            in_job: false,
        }
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl<'a> Checker<'a> {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn job_ids(&self) -> Vec<&'a str> {
        let pipeline: &'a Pipeline = self.pipeline;
        pipeline
            .jobs
            .iter()
            .flat_map(|jobs| jobs.keys().map(|k| k.name.as_str()))
            .collect()
    }

    fn jobs(&mut self) {
        let pipeline: &'a Pipeline = self.pipeline;
        let Some(jobs) = &pipeline.jobs else {
            return;
        };
        let ids = self.job_ids();
        let default_timeout = self
            .pipeline
            .defaults
            .as_ref()
            .and_then(|d| d.timeout.as_ref())
            .map(|t| t.value.0);
        let mut artifact_jobs: Vec<(&str, Span)> = Vec::new();
        if jobs.is_empty() {
            let span = Span::new(crate::source::SourceId(0), 0, 0);
            self.push(
                Diagnostic::new(Code::MissingKey, span, "`jobs` is empty")
                    .with_help("define at least one job"),
            );
        }
        for (id, job) in jobs {
            if !valid_id(id) {
                self.push(
                    Diagnostic::new(
                        Code::InvalidName,
                        id.span,
                        format!("job id `{id}` may hold only letters, digits, `_` and `-`"),
                    )
                    .with_help("rename the job, e.g. `build-release`"),
                );
            }
            for need in job.needs.iter().flat_map(|n| n.iter()) {
                if !jobs.contains_key(need.as_str()) {
                    let help = match suggest(need, ids.iter().copied()) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("jobs are: {}", ids.join(", ")),
                    };
                    self.push(
                        Diagnostic::new(
                            Code::UnknownJob,
                            need.span,
                            format!("job `{id}` needs `{}`, which is not a job", need.value),
                        )
                        .with_help(help),
                    );
                }
            }
            let steps = job.steps.as_deref().unwrap_or_default();
            if steps.is_empty() && job.deploy.is_none() {
                self.push(
                    Diagnostic::new(
                        Code::EmptyJob,
                        id.span,
                        format!("job `{id}` has no steps and no deploy"),
                    )
                    .with_help("add `steps: [{ run: ... }]`, or `deploy: { environment: ... }`"),
                );
            }
            for step in steps {
                if step.run.is_none() {
                    let what = step
                        .name
                        .as_ref()
                        .map_or("a step".to_string(), |n| format!("step `{}`", n.value));
                    self.push(
                        Diagnostic::new(
                            Code::StepWithoutRun,
                            step.span,
                            format!("{what} of job `{id}` has no `run`"),
                        )
                        .with_help("give the step a command: `run: make test`"),
                    );
                }
            }
            if job.timeout.is_none()
                && let Some(fallback) = default_timeout.filter(|t| *t > LONG_TIMEOUT)
            {
                self.push(
                    Diagnostic::new(
                        Code::LongDefaultTimeout,
                        id.span,
                        format!("job `{id}` has no `timeout` and falls back to `defaults.timeout` of {}", crate::read::format_duration(fallback)),
                    )
                    .with_help("set a `timeout` on the job close to how long it really takes, so a hung job fails fast"),
                );
            }
            if let Some(artifact) = &job.artifact {
                let span = artifact.name.as_ref().map_or(id.span, |n| n.span);
                artifact_jobs.push((id, span));
                if artifact.name.is_none() || artifact.from.is_none() {
                    self.push(
                        Diagnostic::new(Code::MissingKey, span, format!("the artifact of job `{id}` needs `name` and `from`"))
                            .with_help("e.g. `artifact: { name: app, from: target/release/app, entrypoint: [app] }`"),
                    );
                }
                if job.matrix.is_some() {
                    self.push(
                        Diagnostic::new(
                            Code::DuplicateArtifact,
                            span,
                            format!("matrix job `{id}` would produce one artifact per combination"),
                        )
                        .with_help(
                            "a run produces one artifact: declare it on a job without a matrix",
                        ),
                    );
                }
                for port in artifact.ports.iter().flatten() {
                    if !(1..=65535).contains(&port.value) {
                        self.push(Diagnostic::new(
                            Code::InvalidValue,
                            port.span,
                            format!("port {} is outside 1-65535", port.value),
                        ));
                    }
                }
            }
            for path in job
                .outputs
                .iter()
                .flatten()
                .chain(job.artifact.iter().filter_map(|a| a.from.as_ref()))
            {
                if path.starts_with('/') || path.split('/').any(|part| part == "..") {
                    self.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            path.span,
                            format!("`{}` leaves the workspace", path.value),
                        )
                        .with_help("use a path relative to the workspace, without `..`"),
                    );
                }
            }
            for secret in job.secrets.iter().flatten() {
                self.declared_secret(secret, &format!("job `{id}`"));
            }
            if let Some(deploy) = &job.deploy {
                match &deploy.environment {
                    Some(env) => self.known_environment(env, &format!("job `{id}` deploys to")),
                    None => self.push(
                        Diagnostic::new(
                            Code::MissingKey,
                            id.span,
                            format!("the deploy of job `{id}` names no environment"),
                        )
                        .with_help("write `deploy: { environment: staging }`"),
                    ),
                }
            }
            for retry in std::iter::once(&job.retry)
                .chain(steps.iter().map(|s| &s.retry))
                .flatten()
            {
                self.retry(retry);
            }
            if let Some(max) = job.matrix.as_ref().and_then(|m| m.max_parallel.as_ref())
                && max.value < 1
            {
                self.push(Diagnostic::new(
                    Code::InvalidValue,
                    max.span,
                    "`max-parallel` must be at least 1",
                ));
            }
            if let Some(Condition {
                expr:
                    Expr {
                        kind: expr::ExprKind::Literal(value),
                        ..
                    },
                text,
                ..
            }) = &job.condition
                && !value.truthy()
            {
                self.push(
                    Diagnostic::new(
                        Code::AlwaysFalseCondition,
                        text.span,
                        format!("job `{id}` never runs: its `if` is always false"),
                    )
                    .with_help("remove the job, or give it a real condition"),
                );
            }
            let axes = self.matrix(id, job);
            // Only expressions reading `jobs.<id>` need the ancestors; most jobs have none.
            let needs = if reads_jobs_context(job) {
                transitive_needs(jobs, id)
            } else {
                HashSet::new()
            };
            let job_scope = ExprScope {
                matrix: axes.as_ref(),
                jobs: Some(&needs),
                status_functions: false,
                hash_files: true,
                extra: &[],
                in_job: true,
            };
            if let Some(condition) = &job.condition {
                self.condition(
                    condition,
                    ExprScope {
                        status_functions: true,
                        hash_files: false,
                        ..job_scope
                    },
                );
            }
            for template in job_templates(job) {
                self.template(template, job_scope);
            }
            for step in steps {
                if let Some(condition) = &step.condition {
                    self.condition(
                        condition,
                        ExprScope {
                            status_functions: true,
                            ..job_scope
                        },
                    );
                }
            }
        }
        if artifact_jobs.len() > 1 {
            for (id, span) in &artifact_jobs[1..] {
                self.push(
                    Diagnostic::new(Code::DuplicateArtifact, *span, format!("job `{id}` declares a second artifact; `{}` already declares the run's artifact", artifact_jobs[0].0))
                        .with_help("a run produces one immutable artifact; keep one `artifact:` block"),
                );
            }
        }
    }

    /// Checks a job's matrix and returns its axes (including keys added by `include`).
    fn matrix(&mut self, id: &str, job: &Job) -> Option<BTreeSet<String>> {
        let matrix = job.matrix.as_ref()?;
        let axes: Vec<&str> = matrix.axes.keys().map(|k| k.name.as_str()).collect();
        let mut known: BTreeSet<String> = axes.iter().map(|a| a.to_string()).collect();
        for entry in matrix.exclude.iter().flatten() {
            for key in entry.keys() {
                if !matrix.axes.contains_key(key.name.as_str()) {
                    let help = match suggest(key, axes.iter().copied()) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("the axes of `{id}` are: {}", axes.join(", ")),
                    };
                    self.push(
                        Diagnostic::new(
                            Code::MatrixUnknownAxis,
                            key.span,
                            format!(
                                "matrix `exclude` of job `{id}` names `{key}`, which is not an axis"
                            ),
                        )
                        .with_help(help),
                    );
                }
            }
        }
        for entry in matrix.include.iter().flatten() {
            for key in entry.keys() {
                if matrix.axes.contains_key(key.name.as_str()) {
                    continue;
                }
                // `include` may add keys (like `experimental: true`), but one that is a near
                // miss of an axis is almost always a typo that would silently add a combination.
                if let Some(close) = suggest(key, axes.iter().copied()) {
                    self.push(
                        Diagnostic::new(
                            Code::MatrixUnknownAxis,
                            key.span,
                            format!(
                                "matrix `include` of job `{id}` names `{key}`, which is not an axis"
                            ),
                        )
                        .with_help(format!("did you mean `{close}`?")),
                    );
                } else {
                    known.insert(key.name.clone());
                }
            }
        }
        let count = matrix::combination_count(matrix);
        if count > MAX_MATRIX_JOBS {
            let span = matrix.axes.keys().next().map_or(job.id_span, |k| k.span);
            self.push(
                Diagnostic::new(Code::MatrixTooLarge, span, format!("the matrix of job `{id}` expands to {count} jobs, more than {MAX_MATRIX_JOBS}"))
                    .with_help("drop axis values, add `exclude` entries, or split the job"),
            );
        } else if count == 0 && !matrix.axes.is_empty() {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    job.id_span,
                    format!("the matrix of job `{id}` excludes every combination"),
                )
                .with_help("the job would never run; loosen `exclude`"),
            );
        }
        Some(known)
    }

    fn retry(&mut self, retry: &Retry) {
        if let Some(max) = &retry.max
            && !(0..=10).contains(&max.value)
        {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    max.span,
                    format!("`retry.max` is {}, outside 0-10", max.value),
                )
                .with_help("retries hide real failures; keep them few"),
            );
        }
        if let Some(factor) = retry.backoff.as_ref().and_then(|b| b.factor.as_ref())
            && !(1.0..=10.0).contains(&factor.value)
        {
            self.push(Diagnostic::new(
                Code::InvalidValue,
                factor.span,
                "`backoff.factor` must be between 1 and 10",
            ));
        }
        if let Some(backoff) = &retry.backoff
            && let (Some(initial), Some(max)) = (&backoff.initial, &backoff.max)
            && initial.value > max.value
        {
            self.push(Diagnostic::new(
                Code::InvalidValue,
                initial.span,
                "`backoff.initial` is longer than `backoff.max`",
            ));
        }
    }

    fn cycles(&mut self) {
        let pipeline: &'a Pipeline = self.pipeline;
        let Some(jobs) = &pipeline.jobs else {
            return;
        };
        for cycle in crate::graph::cycles(jobs) {
            let first = &cycle[0];
            let job = &jobs[first.as_str()];
            let next = &cycle[1 % cycle.len()];
            let span = job
                .needs
                .iter()
                .flat_map(|n| n.iter())
                .find(|n| n.value == *next)
                .map_or(job.id_span, |n| n.span);
            let mut path = cycle.clone();
            path.push(first.clone());
            self.push(
                Diagnostic::new(
                    Code::DependencyCycle,
                    span,
                    format!("dependency cycle: {}", path.join(" → ")),
                )
                .with_help("remove one of these `needs` so the jobs can start"),
            );
        }
    }

    fn pipeline_level(&mut self) {
        let pipeline: &'a Pipeline = self.pipeline;
        let scope = ExprScope::pipeline_level();
        if let Some(dir) = pipeline
            .gates
            .as_ref()
            .and_then(|gates| gates.migrations.as_ref())
            .and_then(|migrations| migrations.dir.as_ref())
            && (dir.is_empty() || dir.starts_with('/') || dir.split('/').any(|part| part == ".."))
        {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    dir.span,
                    format!("`{}` is not a directory inside the repository", dir.value),
                )
                .with_help("name the migrations directory relative to the repository root, without `..`: `dir: db/migrations`"),
            );
        }
        if let Some(retention) = &pipeline.retention {
            if let Some(keep) = &retention.keep_last
                && keep.value < 1
            {
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        keep.span,
                        "`keep-last` must be at least 1",
                    )
                    .with_help("keep at least the newest artifact of each branch and environment"),
                );
            }
            if let Some(releases) = &retention.production_releases
                && releases.value < 0
            {
                self.push(Diagnostic::new(
                    Code::InvalidValue,
                    releases.span,
                    "`production-releases` cannot be negative",
                ));
            }
            if let Some(production) = &retention.production
                && pipeline.environments.is_some()
            {
                self.known_environment(production, "`retention.production` names");
            }
        }
        if let Some(concurrency) = &pipeline.concurrency {
            if let Some(group) = &concurrency.group {
                self.template(group, scope);
            }
            if let Some(cancel) = &concurrency.cancel_in_progress
                && concurrency.group.is_none()
            {
                self.push(
                    Diagnostic::new(
                        Code::CancelWithoutGroup,
                        cancel.span,
                        "`cancel-in-progress` without a `group`",
                    )
                    .with_help(
                        "add `group: \"${{ event.ref }}\"` so runs of one ref cancel each other",
                    ),
                );
            }
        }
        for value in pipeline.env.iter().flat_map(|e| e.values()) {
            self.template(value, scope);
        }
    }

    fn declared_secret(&mut self, secret: &Spanned<String>, user: &str) {
        let pipeline: &'a Pipeline = self.pipeline;
        let declared = pipeline.secrets.as_ref();
        if declared.is_some_and(|s| s.contains_key(secret.as_str())) {
            return;
        }
        let names: Vec<&str> = declared
            .iter()
            .flat_map(|s| s.keys().map(|k| k.name.as_str()))
            .collect();
        let help = match suggest(secret, names.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "declare it: `secrets: {{ {}: {{ from: env, name: CI_{} }} }}`",
                secret.value, secret.value
            ),
        };
        self.push(
            Diagnostic::new(
                Code::UndeclaredSecret,
                secret.span,
                format!(
                    "{user} uses secret `{}`, which is not declared under `secrets`",
                    secret.value
                ),
            )
            .with_help(help),
        );
    }

    fn secrets(&mut self) {
        let pipeline: &'a Pipeline = self.pipeline;
        let Some(secrets) = &pipeline.secrets else {
            return;
        };
        let used: HashSet<&str> = self
            .pipeline
            .jobs
            .iter()
            .flat_map(|jobs| jobs.values())
            .flat_map(|job| job.secrets.iter().flatten())
            .chain(
                pipeline
                    .environments
                    .iter()
                    .flat_map(|e| e.values())
                    .flat_map(|e| e.secrets.iter().flatten()),
            )
            .map(|s| s.value.as_str())
            .collect();
        for (name, source) in secrets {
            if !valid_env_name(name) {
                self.push(
                    Diagnostic::new(Code::InvalidName, name.span, format!("secret `{name}` is not a valid environment variable name"))
                        .with_help("secrets reach steps as environment variables: use `A-Z`, `0-9` and `_`, not starting with a digit"),
                );
            }
            let Some(from) = &source.from else {
                self.push(
                    Diagnostic::new(
                        Code::MissingKey,
                        name.span,
                        format!("secret `{name}` does not say where it comes from"),
                    )
                    .with_help("add `from: env`, `from: file` or `from: vault`"),
                );
                continue;
            };
            let required: &[(&str, bool)] = match from.value {
                SecretProvider::Env => &[("name", source.name.is_some())],
                SecretProvider::File => &[("path", source.path.is_some())],
                SecretProvider::Vault => &[
                    ("path", source.path.is_some()),
                    ("field", source.field.is_some()),
                ],
            };
            for (key, present) in required {
                if !present {
                    self.push(
                        Diagnostic::new(
                            Code::MissingKey,
                            from.span,
                            format!(
                                "secret `{name}` from `{}` needs `{key}`",
                                provider_name(from.value)
                            ),
                        )
                        .with_help(provider_help(from.value)),
                    );
                }
            }
            if !used.contains(name.name.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::UnusedSecret,
                        name.span,
                        format!("secret `{name}` is declared but no job or environment uses it"),
                    )
                    .with_help("list it under a job's `secrets`, or remove the declaration"),
                );
            }
        }
    }

    fn known_environment(&mut self, env: &Spanned<String>, user: &str) {
        let pipeline: &'a Pipeline = self.pipeline;
        let environments = pipeline.environments.as_ref();
        if environments.is_some_and(|e| e.contains_key(env.as_str())) {
            return;
        }
        let names: Vec<&str> = environments
            .iter()
            .flat_map(|e| e.keys().map(|k| k.name.as_str()))
            .collect();
        let help = match suggest(env, names.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None if names.is_empty() => format!(
                "define it under `environments: {{ {}: {{ target: local }} }}`",
                env.value
            ),
            None => format!("environments are: {}", names.join(", ")),
        };
        self.push(
            Diagnostic::new(
                Code::UnknownEnvironment,
                env.span,
                format!("{user} `{}`, which is not an environment", env.value),
            )
            .with_help(help),
        );
    }

    fn known_analysis(&mut self, name: &Spanned<String>) {
        let pipeline: &'a Pipeline = self.pipeline;
        let analysis = pipeline.analysis.as_ref();
        if analysis.is_some_and(|a| a.contains_key(name.as_str())) {
            return;
        }
        let names: Vec<&str> = analysis
            .iter()
            .flat_map(|a| a.keys().map(|k| k.name.as_str()))
            .collect();
        let help = match suggest(name, names.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "define it under `analysis: {{ {}: {{ provider: proxy, metric: error_rate, success: \"value < 0.01\" }} }}`",
                name.value
            ),
        };
        self.push(
            Diagnostic::new(
                Code::UnknownAnalysis,
                name.span,
                format!(
                    "analysis `{}` is used but not defined under `analysis`",
                    name.value
                ),
            )
            .with_help(help),
        );
    }

    fn environments(&mut self) {
        let pipeline: &'a Pipeline = self.pipeline;
        let Some(environments) = &pipeline.environments else {
            return;
        };
        for (name, env) in environments {
            if !valid_id(name) {
                self.push(Diagnostic::new(
                    Code::InvalidName,
                    name.span,
                    format!("environment `{name}` may hold only letters, digits, `_` and `-`"),
                ));
            }
            for after in env.after.iter().flat_map(|a| a.iter()) {
                self.known_environment(after, &format!("environment `{name}` comes after"));
            }
            if let Some(target) = &env.target
                && !["local", "kubernetes", "command"].contains(&target.as_str())
            {
                let help = match suggest(target, ["local", "kubernetes", "command"]) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "targets are: local, kubernetes, command".into(),
                };
                self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        target.span,
                        format!("unknown target `{}`", target.value),
                    )
                    .with_help(help),
                );
            }
            for secret in env.secrets.iter().flatten() {
                self.declared_secret(secret, &format!("environment `{name}`"));
            }
            if let Some(required) = env.approval.as_ref().and_then(|a| a.required.as_ref())
                && required.value < 0
            {
                self.push(Diagnostic::new(
                    Code::InvalidValue,
                    required.span,
                    "`approval.required` cannot be negative",
                ));
            }
            for window in env.freeze.iter().flatten() {
                if window.cron.is_none() || window.duration.is_none() {
                    self.push(
                        Diagnostic::new(Code::MissingKey, name.span, format!("a freeze window of environment `{name}` needs `cron` and `duration`"))
                            .with_help("e.g. `freeze: [{ cron: \"0 17 * * FRI\", duration: 63h }]`"),
                    );
                }
            }
            for value in env.env.iter().flat_map(|e| e.values()) {
                self.template(value, ExprScope::pipeline_level());
            }
            match &env.strategy {
                Some(Strategy::Canary(canary)) => {
                    let steps = canary.steps.as_deref().unwrap_or_default();
                    if steps.is_empty() {
                        self.push(
                            Diagnostic::new(
                                Code::MissingKey,
                                name.span,
                                format!("the canary of environment `{name}` has no steps"),
                            )
                            .with_help(
                                "e.g. `steps: [{ weight: 10 }, { pause: 60s }, { weight: 100 }]`",
                            ),
                        );
                    }
                    let mut last_weight = -1;
                    for step in steps {
                        if let Some(weight) = &step.weight {
                            if !(0..=100).contains(&weight.value) {
                                self.push(Diagnostic::new(
                                    Code::InvalidValue,
                                    weight.span,
                                    format!("canary weight {} is outside 0-100", weight.value),
                                ));
                            } else if weight.value < last_weight {
                                self.push(
                                    Diagnostic::new(Code::InvalidValue, weight.span, format!("canary weight {} is lower than the step before ({last_weight})", weight.value))
                                        .with_help("weights only grow during a rollout; an abort sets the weight to 0"),
                                );
                            } else {
                                last_weight = weight.value;
                            }
                        }
                        let keys = [
                            step.weight.is_some(),
                            step.pause.is_some(),
                            step.analysis.is_some(),
                        ];
                        if keys.iter().filter(|k| **k).count() != 1 {
                            self.push(
                                Diagnostic::new(Code::InvalidValue, step.span, format!("each canary step of environment `{name}` has exactly one of `weight`, `pause`, `analysis`"))
                                    .with_help("split the step in two"),
                            );
                        }
                        for used in step
                            .analysis
                            .iter()
                            .flat_map(|a| a.templates.iter())
                            .flat_map(|t| t.iter())
                        {
                            self.known_analysis(used);
                        }
                    }
                    for used in canary.analysis.iter().flat_map(|a| a.iter()) {
                        self.known_analysis(used);
                    }
                }
                Some(Strategy::BlueGreen(options)) => {
                    for used in options
                        .pre_promotion_analysis
                        .iter()
                        .chain(options.post_promotion_analysis.iter())
                        .flat_map(|a| a.iter())
                    {
                        self.known_analysis(used);
                    }
                }
                Some(Strategy::Rolling(_)) | None => {}
            }
        }
        for cycle in crate::graph::environment_cycles(environments) {
            let first = &environments[cycle[0].as_str()];
            let span = first
                .after
                .iter()
                .flat_map(|a| a.iter())
                .find(|a| a.value == cycle[1 % cycle.len()])
                .map_or(Span::default(), |a| a.span);
            let mut path = cycle.clone();
            path.push(cycle[0].clone());
            self.push(
                Diagnostic::new(
                    Code::EnvironmentCycle,
                    span,
                    format!(
                        "environments come after each other in a cycle: {}",
                        path.join(" → ")
                    ),
                )
                .with_help("promotion needs a first environment; remove one `after`"),
            );
        }
    }

    fn analyses(&mut self) {
        let pipeline: &'a Pipeline = self.pipeline;
        let Some(analyses) = &pipeline.analysis else {
            return;
        };
        for (name, template) in analyses {
            let needed = match template.provider.as_ref().map(|p| p.value) {
                None => {
                    self.push(
                        Diagnostic::new(
                            Code::MissingKey,
                            name.span,
                            format!("analysis `{name}` has no `provider`"),
                        )
                        .with_help(
                            "add `provider: proxy` (built-in metrics), `prometheus` or `web`",
                        ),
                    );
                    None
                }
                Some(AnalysisProvider::Proxy) => Some(("metric", template.metric.is_some())),
                Some(AnalysisProvider::Prometheus) => Some(("query", template.query.is_some())),
                Some(AnalysisProvider::Web) => Some(("url", template.url.is_some())),
            };
            if let Some((key, false)) = needed {
                self.push(Diagnostic::new(
                    Code::MissingKey,
                    name.span,
                    format!("analysis `{name}` needs `{key}` for its provider"),
                ));
            }
            if template.success.is_none() && template.failure.is_none() {
                self.push(
                    Diagnostic::new(
                        Code::MissingKey,
                        name.span,
                        format!("analysis `{name}` has neither `success` nor `failure`"),
                    )
                    .with_help(
                        "add a condition over the measured value, e.g. `success: \"value < 0.01\"`",
                    ),
                );
            }
            for condition in [&template.success, &template.failure].into_iter().flatten() {
                match expr::parse_condition(condition) {
                    Ok((parsed, offset)) => {
                        let scope = ExprScope {
                            extra: &["value", "samples"],
                            ..ExprScope::pipeline_level()
                        };
                        self.expression(&parsed, scope, &|s, e| {
                            Span::new(
                                condition.span.source,
                                condition.span.start as usize + s + offset,
                                condition.span.start as usize + e + offset,
                            )
                            .clamp_to(condition.span)
                        });
                    }
                    Err(error) => self.push(
                        Diagnostic::new(
                            Code::ExpressionSyntax,
                            condition.span,
                            format!("invalid condition in analysis `{name}`: {}", error.message),
                        )
                        .with_help_opt(error.help),
                    ),
                }
            }
        }
    }

    fn template(&mut self, template: &Template, scope: ExprScope) {
        for segment in &template.segments {
            if let Segment::Expr(expr, offset) = segment {
                let (content, fallback) = (template.content, template.text.span);
                self.expression(expr, scope, &|s, e| {
                    inner(content, fallback, offset + s, offset + e)
                });
            }
        }
    }

    fn condition(&mut self, condition: &Condition, scope: ExprScope) {
        let (content, fallback, offset) =
            (condition.content, condition.text.span, condition.offset);
        self.expression(&condition.expr, scope, &|s, e| {
            inner(content, fallback, offset + s, offset + e)
        });
    }

    /// Checks functions and contexts of one expression; `span` maps expression offsets to the file.
    fn expression(&mut self, root: &Expr, scope: ExprScope, span: &dyn Fn(usize, usize) -> Span) {
        let mut found = Vec::new();
        expr::walk(root, &mut |node| found.push(node));
        // Property chains are checked from their root once; inner nodes of a chain are skipped.
        let mut inside_chain: HashSet<*const Expr> = HashSet::new();
        for node in found {
            match &node.kind {
                ExprKind::Call(name, args) => self.call(name, args.len(), node, scope, span),
                ExprKind::Context(_) | ExprKind::Property(..) | ExprKind::Index(..) => {
                    if inside_chain.contains(&(node as *const Expr)) {
                        continue;
                    }
                    let mut inner_node = node;
                    while let ExprKind::Property(base, _) | ExprKind::Index(base, _) =
                        &inner_node.kind
                    {
                        inner_node = base;
                        inside_chain.insert(inner_node as *const Expr);
                    }
                    if let Some((root_name, path)) = expr::access_path(node) {
                        let root_end = node.start + root_name.len();
                        self.context(root_name, &path, (node.start, root_end), scope, span);
                    }
                }
                _ => {}
            }
        }
    }

    fn call(
        &mut self,
        name: &str,
        argc: usize,
        node: &Expr,
        scope: ExprScope,
        span: &dyn Fn(usize, usize) -> Span,
    ) {
        let at = span(node.start, node.start + name.len());
        let Some((_, arity)) = expr::FUNCTIONS.iter().find(|(f, _)| *f == name) else {
            let names: Vec<&str> = expr::FUNCTIONS.iter().map(|(f, _)| *f).collect();
            let help = match suggest(name, names.iter().copied()) {
                Some(close) => format!("did you mean `{close}()`?"),
                None => format!("functions are: {}", names.join(", ")),
            };
            self.push(
                Diagnostic::new(
                    Code::UnknownFunction,
                    at,
                    format!("unknown function `{name}`"),
                )
                .with_help(help),
            );
            return;
        };
        match arity {
            Some(n) if *n != argc => self.push(Diagnostic::new(
                Code::UnknownFunction,
                at,
                format!(
                    "`{name}()` takes {n} argument{}, found {argc}",
                    if *n == 1 { "" } else { "s" }
                ),
            )),
            None if argc == 0 => self.push(
                Diagnostic::new(
                    Code::UnknownFunction,
                    at,
                    format!("`{name}()` takes at least one pattern"),
                )
                .with_help("e.g. `hashFiles('Cargo.lock')`"),
            ),
            _ => {}
        }
        if expr::STATUS_FUNCTIONS.contains(&name) && !scope.status_functions {
            self.push(
                Diagnostic::new(
                    Code::UnknownFunction,
                    at,
                    format!("`{name}()` can only be used in an `if` of a job or step"),
                )
                .with_help("status functions ask how the job's needs ended"),
            );
        }
        if name == "hashFiles" && !scope.hash_files {
            self.push(
                Diagnostic::new(
                    Code::UnknownFunction,
                    at,
                    "`hashFiles()` can only be used inside a job's steps, env or cache",
                )
                .with_help(
                    "it hashes files of the job's workspace, which exists only while the job runs",
                ),
            );
        }
    }

    fn context(
        &mut self,
        root: &str,
        path: &[(&str, usize, usize)],
        root_range: (usize, usize),
        scope: ExprScope,
        span: &dyn Fn(usize, usize) -> Span,
    ) {
        let at = span(root_range.0, root_range.1);
        let mut available: Vec<&str> = vec!["event", "env"];
        if scope.matrix.is_some() {
            available.push("matrix");
        }
        if scope.jobs.is_some() {
            available.push("jobs");
        }
        available.extend(scope.extra);
        match root {
            "event" => {
                if let Some((field, start, end)) = path.first()
                    && !EVENT_FIELDS.contains(field)
                {
                    let help = match suggest(field, EVENT_FIELDS.iter().copied()) {
                        Some(close) => format!("did you mean `event.{close}`?"),
                        None => format!("`event` has: {}", EVENT_FIELDS.join(", ")),
                    };
                    self.push(
                        Diagnostic::new(
                            Code::UnknownContext,
                            span(*start, *end),
                            format!("`event` has no property `{field}`"),
                        )
                        .with_help(help),
                    );
                }
                return;
            }
            "env" => return,
            "matrix" if scope.in_job => {
                let Some(axes) = scope.matrix else {
                    self.push(
                        Diagnostic::new(
                            Code::MatrixUnknownAxis,
                            at,
                            "`matrix` is read in a job that has no matrix",
                        )
                        .with_help("add a `matrix:` to the job, or remove the reference"),
                    );
                    return;
                };
                if let Some((axis, start, end)) = path.first()
                    && !axes.contains(*axis)
                {
                    let help = match suggest(axis, axes.iter().map(String::as_str)) {
                        Some(close) => format!("did you mean `matrix.{close}`?"),
                        None => format!(
                            "the matrix has: {}",
                            axes.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    };
                    self.push(
                        Diagnostic::new(
                            Code::MatrixUnknownAxis,
                            span(*start, *end),
                            format!("the matrix has no axis `{axis}`"),
                        )
                        .with_help(help),
                    );
                }
                return;
            }
            "jobs" if scope.jobs.is_some() => {
                let needs = scope.jobs.unwrap_or_else(|| unreachable!());
                let Some((job, start, end)) = path.first() else {
                    return;
                };
                let all = self.job_ids();
                if !all.contains(job) {
                    let help = match suggest(job, all.iter().copied()) {
                        Some(close) => format!("did you mean `jobs.{close}`?"),
                        None => format!("jobs are: {}", all.join(", ")),
                    };
                    self.push(
                        Diagnostic::new(
                            Code::UnknownJob,
                            span(*start, *end),
                            format!("`jobs.{job}` names a job that does not exist"),
                        )
                        .with_help(help),
                    );
                } else if !needs.contains(*job) {
                    self.push(
                        Diagnostic::new(Code::UnknownJob, span(*start, *end), format!("`jobs.{job}` is read, but `{job}` is not among this job's needs"))
                            .with_help(format!("add `{job}` to `needs`; otherwise its result is not known yet when this job starts")),
                    );
                } else if let Some((property, start, end)) = path.get(1)
                    && *property != "result"
                {
                    self.push(
                        Diagnostic::new(
                            Code::UnknownContext,
                            span(*start, *end),
                            format!("`jobs.{job}` has no property `{property}`"),
                        )
                        .with_help(
                            "a job exposes `result`: success, failure, cancelled or skipped",
                        ),
                    );
                }
                return;
            }
            _ if scope.extra.contains(&root) => return,
            _ => {}
        }
        let help = match root {
            "github" => "Slipway's event context is `event`: event.ref, event.branch, event.sha, event.actor, event.name, event.base".to_string(),
            "needs" => "read a needed job's result as `jobs.<id>.result`".to_string(),
            "secrets" => "secrets reach steps as environment variables: declare the secret in the job's `secrets` and read `$NAME`".to_string(),
            "matrix" | "jobs" => format!("`{root}` is not available here; available: {}", available.join(", ")),
            _ => match suggest(root, available.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("available here: {}", available.join(", ")),
            },
        };
        self.push(
            Diagnostic::new(
                Code::UnknownContext,
                at,
                format!("unknown context `{root}`"),
            )
            .with_help(help),
        );
    }
}

trait ClampSpan {
    fn clamp_to(self, outer: Span) -> Span;
}

impl ClampSpan for Span {
    fn clamp_to(self, outer: Span) -> Span {
        if self.start >= outer.start && self.end <= outer.end {
            self
        } else {
            outer
        }
    }
}

fn inner(content: Option<Span>, fallback: Span, start: usize, end: usize) -> Span {
    match content {
        Some(content) => content.sub(start, end.saturating_sub(start).max(1)),
        None => fallback,
    }
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn provider_name(provider: SecretProvider) -> &'static str {
    match provider {
        SecretProvider::Env => "env",
        SecretProvider::File => "file",
        SecretProvider::Vault => "vault",
    }
}

fn provider_help(provider: SecretProvider) -> &'static str {
    match provider {
        SecretProvider::Env => "e.g. `{ from: env, name: CI_REGISTRY_TOKEN }`",
        SecretProvider::File => "e.g. `{ from: file, path: /run/secrets/db }`",
        SecretProvider::Vault => "e.g. `{ from: vault, path: kv/data/ci/api, field: key }`",
    }
}

/// Every template string of a job (env, steps, cache) for expression checks.
fn job_templates(job: &Job) -> Vec<&Template> {
    let mut out: Vec<&Template> = Vec::new();
    out.extend(job.env.iter().flat_map(|e| e.values()));
    out.extend(
        job.artifact
            .iter()
            .flat_map(|a| a.env.iter())
            .flat_map(|e| e.values()),
    );
    if let Some(cache) = &job.cache {
        out.extend(cache.key.iter());
        out.extend(cache.restore_keys.iter().flatten());
    }
    for step in job.steps.iter().flatten() {
        out.extend(step.run.iter());
        out.extend(step.env.iter().flat_map(|e| e.values()));
    }
    out
}

fn reads_jobs_context(job: &Job) -> bool {
    let mut found = false;
    let mut visit =
        |e: &Expr| found |= matches!(&e.kind, ExprKind::Context(name) if name == "jobs");
    let conditions = job.condition.iter().chain(
        job.steps
            .iter()
            .flatten()
            .filter_map(|s| s.condition.as_ref()),
    );
    for condition in conditions {
        expr::walk(&condition.expr, &mut visit);
    }
    for template in job_templates(job) {
        for segment in &template.segments {
            if let Segment::Expr(e, _) = segment {
                expr::walk(e, &mut visit);
            }
        }
    }
    found
}

/// Every job `id` depends on, directly or through others.
pub fn transitive_needs(jobs: &Map<Job>, id: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut stack = vec![id.to_string()];
    while let Some(current) = stack.pop() {
        for need in jobs
            .get(current.as_str())
            .iter()
            .flat_map(|j| j.needs.iter())
            .flat_map(|n| n.iter())
        {
            if jobs.contains_key(need.as_str()) && seen.insert(need.value.clone()) {
                stack.push(need.value.clone());
            }
        }
    }
    seen
}

/// Counts diagnostics by code, for summaries.
pub fn count_by_code(diagnostics: &[Diagnostic]) -> HashMap<Code, usize> {
    let mut counts = HashMap::new();
    for diagnostic in diagnostics {
        *counts.entry(diagnostic.code).or_insert(0) += 1;
    }
    counts
}
