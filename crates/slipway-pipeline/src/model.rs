//! The typed pipeline model: one struct per section of `slipway.yml`.
//!
//! The JSON Schema (`slipway schema`) is generated from these types, so doc comments here are
//! what editors show on hover. Field names follow the file's kebab-case keys.

use crate::expr::{Expr, Segment, Value};
use crate::spanned::{Key, Spanned};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Serialize;
use std::borrow::Cow;

pub type Map<T> = IndexMap<Key, T>;

/// A Slipway pipeline file (`slipway.yml`), format version 1.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(title = "Slipway pipeline", extend("additionalProperties" = false))]
pub struct Pipeline {
    /// Format version of this file. Only `1` exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: Option<Spanned<i64>>,
    /// A name for the pipeline, shown in run summaries.
    pub name: Option<Spanned<String>>,
    /// Which events start a run.
    pub on: Option<Triggers>,
    /// Runs sharing a group wait for, or cancel, each other.
    pub concurrency: Option<Concurrency>,
    /// Fallbacks for every job and step.
    pub defaults: Option<Defaults>,
    /// Environment variables for every job.
    pub env: Option<Map<Template>>,
    /// Shared templates merged into this file; the including file wins on conflict.
    pub include: Option<Vec<Include>>,
    /// The jobs, keyed by id. `needs` between jobs forms the DAG.
    pub jobs: Option<Map<Job>>,
    /// Where secret values come from; never the values themselves.
    pub secrets: Option<Map<SecretSource>>,
    /// Deployment environments, in promotion order.
    pub environments: Option<Map<Environment>>,
    /// Analysis templates used by rollout steps.
    pub analysis: Option<Map<AnalysisTemplate>>,
    /// Which artifacts `slipway gc` keeps.
    pub retention: Option<Retention>,
    /// How security findings turn into pass, warn or fail for every run.
    pub gates: Option<Gates>,
}

/// The security gates of every run. Without this section: secrets block, critical and high
/// vulnerabilities block, everything else warns.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Gates {
    /// Secrets in the commit's tree, its new commits and the artifact (default `block`).
    pub secrets: Option<Spanned<GateMode>>,
    /// Known vulnerabilities of dependencies and OS packages.
    #[serde(default)]
    #[schemars(schema_with = "gate_schema::<VulnerabilityGate>")]
    pub vulnerabilities: Option<VulnerabilityGate>,
    /// Unpinned base images, templates, actions and unlocked dependencies (default `warn`).
    pub pins: Option<Spanned<GateMode>>,
    /// Results of the SARIF reports jobs declare.
    #[serde(default)]
    #[schemars(schema_with = "gate_schema::<SarifGate>")]
    pub sarif: Option<SarifGate>,
    /// PostgreSQL migrations that break the previous release during a rollback or a rolling
    /// deploy (default `block`).
    #[serde(default)]
    #[schemars(schema_with = "gate_schema::<MigrationGate>")]
    pub migrations: Option<MigrationGate>,
}

/// A gate is a plain mode or a mapping of its options.
fn gate_schema<T: JsonSchema>(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let options = generator.subschema_for::<T>();
    let mode = generator.subschema_for::<GateMode>();
    schemars::json_schema!({ "oneOf": [mode, options] })
}

/// What a gate does with its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GateMode {
    /// Findings fail the run.
    Block,
    /// Findings are reported; the run passes.
    Warn,
    /// The scan does not run.
    Off,
}

/// The vulnerability gate: a mode, or which severities block.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct VulnerabilityGate {
    /// Written as a plain `block`, `warn` or `off` instead of a mapping.
    #[serde(skip)]
    #[schemars(skip)]
    pub mode: Option<Spanned<GateMode>>,
    /// Severities that fail the run (default: critical, high); the rest warn.
    pub block: Option<Vec<Spanned<VulnerabilitySeverity>>>,
    /// Block only findings with a fixed version available (default false).
    pub fixable_only: Option<Spanned<bool>>,
}

/// A vulnerability's severity, from its CVSS score or the advisory database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VulnerabilitySeverity {
    Critical,
    High,
    Medium,
    Low,
    /// No CVSS vector and no severity in the database.
    Unknown,
}

/// The SARIF gate: a mode, or which result levels block.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct SarifGate {
    /// Written as a plain `block`, `warn` or `off` instead of a mapping.
    #[serde(skip)]
    #[schemars(skip)]
    pub mode: Option<Spanned<GateMode>>,
    /// Result levels that fail the run (default: error); the rest warn.
    pub block: Option<Vec<Spanned<SarifLevel>>>,
}

/// The migrations gate: a mode, or a mapping with the mode and the migrations directory.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct MigrationGate {
    /// What the gate does with its findings (default `block`).
    pub mode: Option<Spanned<GateMode>>,
    /// The migrations directory, relative to the repository (default: every directory named
    /// `migrations` that holds `.sql` files).
    pub dir: Option<Spanned<String>>,
}

/// A SARIF result level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SarifLevel {
    Error,
    Warning,
    Note,
}

/// Which artifacts garbage collection keeps. An artifact an environment runs now, or one of
/// production's recent releases, is never deleted.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Retention {
    /// Artifacts kept per environment (those it ran last) and, for artifacts never
    /// deployed, per branch (default 10).
    #[schemars(range(min = 1))]
    pub keep_last: Option<Spanned<i64>>,
    /// How long artifacts of pull-request runs live (default 14d).
    pub pull_requests: Option<Spanned<Duration>>,
    /// The environment whose release history is protected (default `production`).
    pub production: Option<Spanned<String>>,
    /// Artifacts of that environment's last releases that are never deleted (default 5).
    #[schemars(range(min = 0))]
    pub production_releases: Option<Spanned<i64>>,
}

impl Pipeline {
    /// Whether any trigger or job filters by changed paths; without, a plan needs no diff.
    pub fn uses_path_filters(&self) -> bool {
        let triggers = self
            .on
            .iter()
            .flat_map(|on| [&on.push, &on.pull_request])
            .flatten();
        let trigger_filters = triggers
            .clone()
            .any(|f| f.paths.is_some() || f.paths_ignore.is_some());
        let job_filters = self
            .jobs
            .iter()
            .flat_map(|jobs| jobs.values())
            .any(|j| j.paths.is_some() || j.paths_ignore.is_some());
        trigger_filters || job_filters
    }
}

/// Events that start a run. Without `on`, every event does.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Triggers {
    pub push: Option<RefFilter>,
    #[serde(rename = "pull_request")]
    pub pull_request: Option<RefFilter>,
    /// Cron expressions (5 fields, UTC).
    pub schedule: Option<Vec<Spanned<Cron>>>,
    /// Runs started by hand (`slipway run`).
    pub manual: Option<Manual>,
}

/// Filters of a push or pull-request trigger. Glob patterns; a run starts when any matches.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct RefFilter {
    /// Branch name globs (for pull requests: the target branch).
    pub branches: Option<Vec<Spanned<Glob>>>,
    /// Tag name globs (push only).
    pub tags: Option<Vec<Spanned<Glob>>>,
    /// Run only when a changed file matches one of these.
    pub paths: Option<Vec<Spanned<Glob>>>,
    /// Do not run when every changed file matches one of these.
    pub paths_ignore: Option<Vec<Spanned<Glob>>>,
}

/// Manual runs. No options yet.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[schemars(extend("additionalProperties" = false))]
pub struct Manual {}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Concurrency {
    /// Runs whose group evaluates equal share one slot.
    pub group: Option<Template>,
    /// A new run cancels the active one in its group instead of waiting.
    pub cancel_in_progress: Option<Spanned<bool>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Defaults {
    /// Timeout of every job that sets none (30m when absent).
    pub timeout: Option<Spanned<Duration>>,
    /// Shell for `run` steps (`bash` when absent).
    pub shell: Option<Spanned<String>>,
    /// Working directory of steps, relative to the workspace.
    pub working_directory: Option<Spanned<String>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Include {
    /// A path in the repository, or `git+URL//path@ref` pinned to a tag `vX.Y.Z` or a commit.
    pub template: Option<Spanned<String>>,
}

/// One job: steps run in order in a clean workspace.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Job {
    /// Cost class; orders feedback from cheap to expensive.
    pub stage: Option<Spanned<Stage>>,
    /// Jobs that must finish first.
    pub needs: Option<OneOrMany<Spanned<String>>>,
    /// Run only when this condition holds (default: `success()`).
    #[serde(rename = "if")]
    pub condition: Option<Condition>,
    pub matrix: Option<Matrix>,
    pub timeout: Option<Spanned<Duration>>,
    pub retry: Option<Retry>,
    /// A failure of this job does not fail the run.
    pub continue_on_error: Option<Spanned<bool>>,
    /// Cancel the rest when this job fails (default true).
    pub fail_fast: Option<Spanned<bool>>,
    /// Run only when a changed file matches one of these globs.
    pub paths: Option<Vec<Spanned<Glob>>>,
    /// Skip when every changed file matches one of these globs.
    pub paths_ignore: Option<Vec<Spanned<Glob>>>,
    pub env: Option<Map<Template>>,
    /// Secret names this job may read; declared under the top-level `secrets`.
    pub secrets: Option<Vec<Spanned<String>>>,
    pub cache: Option<Cache>,
    /// Workspace paths handed to the jobs that need this one.
    pub outputs: Option<Vec<Spanned<String>>>,
    /// The one immutable artifact of the run.
    pub artifact: Option<Artifact>,
    pub reports: Option<Reports>,
    pub deploy: Option<Deploy>,
    /// Run the job's steps in a sandbox: no network, read-only system.
    pub sandbox: Option<Spanned<bool>>,
    pub steps: Option<Vec<Step>>,
    /// Span of the job's id in the file.
    #[serde(skip)]
    #[schemars(skip)]
    pub id_span: crate::source::Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Validate,
    Build,
    Test,
    Integration,
    Scan,
    Deploy,
    Verify,
}

impl Stage {
    pub const ALL: &'static [(&'static str, Stage)] = &[
        ("validate", Stage::Validate),
        ("build", Stage::Build),
        ("test", Stage::Test),
        ("integration", Stage::Integration),
        ("scan", Stage::Scan),
        ("deploy", Stage::Deploy),
        ("verify", Stage::Verify),
    ];

    pub fn as_str(self) -> &'static str {
        Stage::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("", |(n, _)| n)
    }
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Matrix {
    /// Axes: each name maps to the list of its values.
    #[serde(flatten)]
    pub axes: Map<Vec<Spanned<MatrixValue>>>,
    /// Extra combinations, or extra keys for combinations they match.
    pub include: Option<Vec<Map<Spanned<MatrixValue>>>>,
    /// Combinations to leave out; an entry matches every combination it agrees with.
    pub exclude: Option<Vec<Map<Spanned<MatrixValue>>>>,
    /// At most this many of the matrix's jobs run at once.
    #[schemars(range(min = 1))]
    pub max_parallel: Option<Spanned<i64>>,
}

/// A matrix value: a string, number or boolean.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MatrixValue {
    String(String),
    Number(f64),
    Bool(bool),
}

impl MatrixValue {
    pub fn to_value(&self) -> Value {
        match self {
            MatrixValue::String(s) => Value::String(s.clone()),
            MatrixValue::Number(n) => Value::Number(*n),
            MatrixValue::Bool(b) => Value::Bool(*b),
        }
    }
}

impl std::fmt::Display for MatrixValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_value().to_interpolated())
    }
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Retry {
    /// Attempts after the first.
    #[schemars(range(min = 0, max = 10))]
    pub max: Option<Spanned<i64>>,
    pub backoff: Option<Backoff>,
    /// Failure classes worth retrying: `infra`, `timeout`, or exit codes.
    pub on: Option<Vec<Spanned<RetryOn>>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Backoff {
    pub initial: Option<Spanned<Duration>>,
    #[schemars(range(min = 1.0))]
    pub factor: Option<Spanned<f64>>,
    pub max: Option<Spanned<Duration>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RetryOn {
    /// The step could not start, or was killed by a signal the run did not send.
    Infra,
    Timeout,
    ExitCode(u8),
}

impl JsonSchema for RetryOn {
    fn schema_name() -> Cow<'static, str> {
        "RetryOn".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`infra`, `timeout`, or an exit code from 1 to 255.",
            "anyOf": [
                { "enum": ["infra", "timeout"] },
                { "type": "integer", "minimum": 1, "maximum": 255 }
            ]
        })
    }
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Cache {
    /// The exact key; usually includes `hashFiles()` of a lockfile.
    pub key: Option<Template>,
    /// Prefixes tried, newest first, when the key misses.
    pub restore_keys: Option<Vec<Template>>,
    /// Paths relative to the workspace, or `~/...`.
    pub paths: Option<Vec<Spanned<String>>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Artifact {
    pub name: Option<Spanned<String>>,
    /// A file or directory of the workspace.
    pub from: Option<Spanned<String>>,
    pub entrypoint: Option<Vec<Spanned<String>>>,
    pub env: Option<Map<Template>>,
    pub ports: Option<Vec<Spanned<i64>>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Reports {
    /// JUnit XML files.
    pub junit: Option<OneOrMany<Spanned<String>>>,
    /// SARIF 2.1.0 files.
    pub sarif: Option<OneOrMany<Spanned<String>>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Deploy {
    /// An environment defined under `environments`.
    pub environment: Option<Spanned<String>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Step {
    pub name: Option<Spanned<String>>,
    /// The command, run by the shell.
    pub run: Option<Template>,
    pub shell: Option<Spanned<String>>,
    pub working_directory: Option<Spanned<String>>,
    pub env: Option<Map<Template>>,
    pub timeout: Option<Spanned<Duration>>,
    #[serde(rename = "if")]
    pub condition: Option<Condition>,
    pub continue_on_error: Option<Spanned<bool>>,
    pub retry: Option<Retry>,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: crate::source::Span,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct SecretSource {
    pub from: Option<Spanned<SecretProvider>>,
    /// `env`: the variable of the invoking environment.
    pub name: Option<Spanned<String>>,
    /// `file`: the file's path; `vault`: the KV v2 path.
    pub path: Option<Spanned<String>>,
    /// `vault`: the field of the secret.
    pub field: Option<Spanned<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecretProvider {
    Env,
    File,
    Vault,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Environment {
    /// Where releases run. `local`: processes behind the built-in proxy.
    pub target: Option<Spanned<String>>,
    pub strategy: Option<Strategy>,
    /// Environments a release must pass first.
    pub after: Option<OneOrMany<Spanned<String>>>,
    pub approval: Option<Approval>,
    pub env: Option<Map<Template>>,
    pub secrets: Option<Vec<Spanned<String>>>,
    /// Windows in which deploys are refused unless break-glass.
    pub freeze: Option<Vec<FreezeWindow>>,
    /// `local`: where the environment's proxy listens (`127.0.0.1:8080`); a free port when absent.
    pub listen: Option<Spanned<String>>,
    /// `local`: where the proxy serves `/metrics` for Prometheus; none when absent.
    pub metrics_listen: Option<Spanned<String>>,
    /// How many instances of a release run.
    #[schemars(range(min = 1))]
    pub instances: Option<Spanned<i64>>,
    /// The HTTP check that decides whether an instance takes traffic.
    pub readiness: Option<Probe>,
    /// The HTTP check whose failures restart an instance.
    pub liveness: Option<Probe>,
    /// How long a release may take to become ready before it is aborted.
    pub progress_deadline: Option<Spanned<Duration>>,
    /// Keep a client on one version: `{ header: X-User }` or `{ cookie: session }`.
    pub stickiness: Option<Stickiness>,
    /// Checks after a release takes all traffic; a failure rolls it back.
    pub verify: Option<Vec<VerifyStep>>,
    /// How long a release must have run here before the next environment takes it.
    pub soak: Option<Spanned<Duration>>,
    /// Marks the environment as production for policies (default: named `production` or `prod`).
    pub production: Option<Spanned<bool>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Probe {
    /// The path requested on the instance, e.g. `/readyz`.
    pub path: Option<Spanned<String>>,
    pub interval: Option<Spanned<Duration>>,
    pub timeout: Option<Spanned<Duration>>,
    pub initial_delay: Option<Spanned<Duration>>,
    #[schemars(range(min = 1))]
    pub success_threshold: Option<Spanned<i64>>,
    #[schemars(range(min = 1))]
    pub failure_threshold: Option<Spanned<i64>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Stickiness {
    pub header: Option<Spanned<String>>,
    pub cookie: Option<Spanned<String>>,
}

/// One post-deploy check: a smoke command, or a synthetic probe repeated for a while.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct VerifyStep {
    pub name: Option<Spanned<String>>,
    /// A command run with `SLIPWAY_URL` set to the new version's address; non-zero fails.
    pub run: Option<Spanned<String>>,
    pub probe: Option<SyntheticProbe>,
    pub timeout: Option<Spanned<Duration>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct SyntheticProbe {
    /// The path requested through the environment's address, e.g. `/api/hello`.
    pub path: Option<Spanned<String>>,
    pub interval: Option<Spanned<Duration>>,
    pub duration: Option<Spanned<Duration>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct Approval {
    #[schemars(range(min = 0))]
    pub required: Option<Spanned<i64>>,
    /// Refuse approval by the author of any commit in the release.
    pub exclude_author: Option<Spanned<bool>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct FreezeWindow {
    /// When the window opens (5-field cron, UTC).
    pub cron: Option<Spanned<Cron>>,
    pub duration: Option<Spanned<Duration>>,
}

/// `rolling`, `blue-green`, or a mapping with one of `rolling`, `blue-green`, `canary`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    Rolling(RollingOptions),
    BlueGreen(BlueGreenOptions),
    Canary(CanaryOptions),
}

impl JsonSchema for Strategy {
    fn schema_name() -> Cow<'static, str> {
        "Strategy".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let rolling = generator.subschema_for::<RollingOptions>();
        let blue_green = generator.subschema_for::<BlueGreenOptions>();
        let canary = generator.subschema_for::<CanaryOptions>();
        schemars::json_schema!({
            "description": "How a release replaces the previous one.",
            "oneOf": [
                { "enum": ["rolling", "blue-green"] },
                { "type": "object", "properties": { "rolling": rolling }, "required": ["rolling"], "additionalProperties": false },
                { "type": "object", "properties": { "blue-green": blue_green }, "required": ["blue-green"], "additionalProperties": false },
                { "type": "object", "properties": { "canary": canary }, "required": ["canary"], "additionalProperties": false }
            ]
        })
    }
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct RollingOptions {
    /// Instances replaced at once.
    #[schemars(range(min = 1))]
    pub max_unavailable: Option<Spanned<i64>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct BlueGreenOptions {
    /// How long blue keeps running after the switch, so switching back is instant.
    pub scale_down_delay: Option<Spanned<Duration>>,
    pub pre_promotion_analysis: Option<OneOrMany<Spanned<String>>>,
    pub post_promotion_analysis: Option<OneOrMany<Spanned<String>>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct CanaryOptions {
    pub steps: Option<Vec<CanaryStep>>,
    /// Analyses that run across all steps.
    pub analysis: Option<OneOrMany<Spanned<String>>>,
}

/// One canary step: exactly one of `weight`, `pause`, `analysis`.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false, "minProperties" = 1, "maxProperties" = 1))]
pub struct CanaryStep {
    /// Percent of traffic sent to the canary.
    #[schemars(range(min = 0, max = 100))]
    pub weight: Option<Spanned<i64>>,
    /// A duration, or `{}` to wait for `slipway rollout resume`.
    pub pause: Option<Pause>,
    pub analysis: Option<AnalysisRef>,
    #[serde(skip)]
    #[schemars(skip)]
    pub span: crate::source::Span,
}

#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Pause {
    For(Spanned<Duration>),
    UntilResumed,
}

impl JsonSchema for Pause {
    fn schema_name() -> Cow<'static, str> {
        "Pause".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "anyOf": [
                { "type": "string", "pattern": DURATION_PATTERN },
                { "type": "object", "additionalProperties": false }
            ]
        })
    }
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct AnalysisRef {
    /// One or more templates defined under `analysis`.
    #[serde(rename = "use")]
    pub templates: Option<OneOrMany<Spanned<String>>>,
}

#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(extend("additionalProperties" = false))]
pub struct AnalysisTemplate {
    pub provider: Option<Spanned<AnalysisProvider>>,
    /// `proxy`: a built-in metric such as `error_rate`, `latency_p95`.
    pub metric: Option<Spanned<String>>,
    /// `prometheus`: a PromQL instant query.
    pub query: Option<Spanned<String>>,
    /// `web`: the URL to call.
    pub url: Option<Spanned<String>>,
    /// `prometheus`: the server's base URL (default: `SLIPWAY_PROMETHEUS_URL`).
    pub address: Option<Spanned<String>>,
    /// `web`: the field of the JSON response that is the value (`data.ok` or `$.data.ok`);
    /// without it the value is 1 for a 2xx status and 0 otherwise.
    pub json_path: Option<Spanned<String>>,
    /// Condition over `value` that passes the measurement.
    pub success: Option<Spanned<String>>,
    /// Condition over `value` that fails the measurement.
    pub failure: Option<Spanned<String>>,
    pub interval: Option<Spanned<Duration>>,
    #[schemars(range(min = 1))]
    pub count: Option<Spanned<i64>>,
    #[schemars(range(min = 0))]
    pub failure_limit: Option<Spanned<i64>>,
    #[schemars(range(min = 0))]
    pub inconclusive_limit: Option<Spanned<i64>>,
    #[schemars(range(min = 0))]
    pub consecutive_error_limit: Option<Spanned<i64>>,
    /// Below this many samples a measurement is inconclusive for lack of data.
    #[schemars(range(min = 0))]
    pub min_samples: Option<Spanned<i64>>,
    /// `baseline`: judge the canary against the stable version over the same window.
    pub compare: Option<Spanned<String>>,
    /// With `compare: baseline`: how sure a regression must be before it fails (default 0.95).
    #[schemars(range(min = 0.5, max = 0.999))]
    pub confidence: Option<Spanned<f64>>,
    /// Values for `{{ args.NAME }}` in the query.
    pub args: Option<Map<Spanned<String>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnalysisProvider {
    Proxy,
    Prometheus,
    Web,
}

/// A list, or a single item standing for a list of one.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> std::ops::Deref for OneOrMany<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = generator.subschema_for::<T>();
        schemars::json_schema!({ "anyOf": [ item, { "type": "array", "items": item } ] })
    }
}

/// A duration such as `90s`, `15m`, `1h30m` or `500ms`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub std::time::Duration);

pub const DURATION_PATTERN: &str = "^([0-9]+(ms|s|m|h|d))+$";

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::read::format_duration(self.0))
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: a number and a unit (ms, s, m, h, d), repeated, e.g. `90s`, `15m`, `1h30m`.",
            "type": "string",
            "pattern": DURATION_PATTERN
        })
    }
}

/// A glob pattern (`src/**`, `*.md`, `release/*`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Glob(pub String);

impl JsonSchema for Glob {
    fn schema_name() -> Cow<'static, str> {
        "Glob".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "A glob pattern: `*` within a path segment, `**` across segments." })
    }
}

/// A 5-field cron expression, UTC.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Cron(pub String);

impl JsonSchema for Cron {
    fn schema_name() -> Cow<'static, str> {
        "Cron".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "Cron: minute hour day-of-month month day-of-week, in UTC." })
    }
}

/// A string that may hold `${{ expression }}` interpolations, parsed when read.
#[derive(Clone, Debug)]
pub struct Template {
    pub text: Spanned<String>,
    pub segments: Vec<Segment>,
    /// Span of the string's content in the file, when offsets inside it map to the file.
    pub content: Option<crate::source::Span>,
}

impl Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text.value)
    }
}

impl JsonSchema for Template {
    fn schema_name() -> Cow<'static, str> {
        "Template".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Text that may contain `${{ expression }}` interpolations.",
            "type": ["string", "number", "boolean"]
        })
    }
}

/// An `if:` condition: an expression, bare or wrapped in `${{ }}`, or a boolean.
#[derive(Clone, Debug)]
pub struct Condition {
    pub text: Spanned<String>,
    pub expr: Expr,
    /// Span of the condition's text in the file, when offsets inside it map to the file;
    /// expression offsets are relative to `text`.
    pub content: Option<crate::source::Span>,
    /// Offset of the expression inside `text` (past a `${{`).
    pub offset: usize,
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text.value)
    }
}

impl JsonSchema for Condition {
    fn schema_name() -> Cow<'static, str> {
        "Condition".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A condition such as `${{ event.branch == 'main' && success() }}`.",
            "type": ["string", "boolean"]
        })
    }
}
