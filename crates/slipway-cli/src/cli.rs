//! Command-line arguments.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "slipway",
    version,
    about = "Self-hosted CI/CD: pipelines as code, one artifact, evidence bound to its digest."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Check a pipeline file and report every problem with its position.
    Lint(LintArgs),
    /// Show which jobs a change runs, in which order, and why the others are skipped.
    Plan(PlanArgs),
    /// Print the JSON Schema (2020-12) of the pipeline file.
    Schema,
    /// Write a starter slipway.yml for the repository in the current directory.
    Init(InitArgs),
    /// Run the pipeline of the current commit: jobs in clean workspaces, as their needs finish.
    Run(RunArgs),
    /// Run the failed (or named) jobs of an earlier run again, reusing the jobs that passed.
    Rerun(RerunArgs),
    /// List recent runs.
    Runs(RunsArgs),
    /// Show one run and its jobs.
    Show(ShowArgs),
    /// Print the output of a run, a job or a step.
    Logs(LogsArgs),
    /// Convert another system's pipeline into a Slipway pipeline.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Write an SBOM (CycloneDX or SPDX) of a source tree's lockfiles or an artifact's contents.
    Sbom(SbomArgs),
    /// List, inspect and export the artifacts runs produced.
    #[command(subcommand)]
    Artifact(ArtifactCommand),
    /// The evidence attached to an artifact.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Check an artifact: digests, signatures, provenance, trusted builder, SBOM against contents.
    Verify(VerifyArgs),
    /// Delete the artifacts the pipeline's `retention:` does not keep, and the blobs only they used.
    Gc(GcArgs),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign a file with a private key (a cosign-compatible blob signature or Sigstore bundle).
    SignBlob(SignBlobArgs),
    /// Check a file's signature or Sigstore bundle with a public key.
    VerifyBlob(VerifyBlobArgs),
    /// Security scans: secrets, vulnerable dependencies and OS packages, SARIF, pinning; each
    /// judged by the pipeline's `gates:` and the repository's waivers (exit 1 when a gate fails).
    #[command(subcommand)]
    Scan(ScanCommand),
    /// The offline vulnerability database (OSV records).
    #[command(subcommand)]
    Db(DbCommand),
    /// Release an artifact to an environment: verify it, check the previous environment, gates,
    /// freezes and approvals, and hand it to the environment's controller (exit 1 when refused).
    Promote(crate::commands::deliver::PromoteArgs),
    /// Approve a release waiting for approvals.
    Approve(crate::commands::deliver::ApproveArgs),
    /// Return an environment to its last known good release (or `--to` an earlier good digest).
    Rollback(crate::commands::deliver::RollbackArgs),
    /// Follow, resume or abort an environment's rollout.
    #[command(subcommand)]
    Rollout(crate::commands::deliver::RolloutCommand),
    /// What environments serve.
    #[command(subcommand)]
    Env(crate::commands::deliver::EnvCommand),
    /// Run environments' controllers, proxies and processes in the foreground until Ctrl-C.
    Up(crate::commands::deliver::UpArgs),
    /// Stop an environment: its controller and every process it runs.
    Down(crate::commands::deliver::EnvArgs),
    /// The audit log: verify its hash chain and signed checkpoints, export it, query it.
    #[command(subcommand)]
    Audit(crate::commands::audit::AuditCommand),
    /// Rego policies over the evidence of a decision: explain a decision, run the policy tests.
    #[command(subcommand)]
    Policy(crate::commands::policy::PolicyCommand),
}

#[derive(Subcommand)]
pub enum ScanCommand {
    /// Find credentials in a tree, the added lines of a git range, an artifact or run logs.
    Secrets(ScanSecretsArgs),
    /// Match the packages of a tree's lockfiles (or an artifact's contents) against the
    /// advisory database.
    Deps(ScanTargetArgs),
    /// Match the OS packages (dpkg, apk) of an artifact or root filesystem against the
    /// advisory database.
    Image(ScanTargetArgs),
    /// Read SARIF 2.1.0 files from any scanner and judge their results.
    Sarif(ScanSarifArgs),
    /// Unpinned base images, templates and actions; manifests without (or out of sync with)
    /// their lockfile.
    Pins(ScanPathArgs),
    /// PostgreSQL migrations that break the previous release during a rollback or a rolling
    /// deploy: drops, renames, type changes, NOT NULL without a default, blocking constraints
    /// and indexes, expand and contract in one release.
    Migrations(ScanMigrationsArgs),
    /// Every scan of a tree (and, with --artifact, of an artifact), in one report.
    All(ScanAllArgs),
}

/// How scan results are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// Findings, one per line, and each gate's verdict.
    Text,
    /// One JSON object.
    Json,
    /// SARIF 2.1.0, for code-scanning viewers.
    Sarif,
}

#[derive(Args)]
pub struct ScanOutputArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: ScanFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The pipeline file whose `gates:` judge the findings (default: slipway.yml of the
    /// repository, else the built-in defaults).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Args)]
pub struct ScanSecretsArgs {
    /// The directory to scan (default: the current one).
    pub path: Option<PathBuf>,
    /// Scan only the lines added by the commits of this range (`A..B`, or one commit) of the
    /// repository at PATH, reporting each commit and author.
    #[arg(long, value_name = "RANGE", conflicts_with_all = ["artifact", "logs"])]
    pub git: Option<String>,
    /// Scan an artifact's files: `sha256:<hex>`, a unique digest prefix, or a tag.
    #[arg(long, value_name = "DIGEST", conflicts_with = "logs")]
    pub artifact: Option<String>,
    /// Scan the stored logs of a run (its number or id).
    #[arg(long, value_name = "RUN")]
    pub logs: Option<String>,
    /// Also scan vendored directories (vendor/, node_modules/, third_party/).
    #[arg(long)]
    pub include_vendored: bool,
    /// Also scan files that look binary.
    #[arg(long)]
    pub include_binary: bool,
    /// Also scan files .gitignore leaves out (build output, local state).
    #[arg(long)]
    pub no_ignore: bool,
    #[command(flatten)]
    pub state: StateArg,
    #[command(flatten)]
    pub output: ScanOutputArgs,
}

#[derive(Args)]
pub struct ScanTargetArgs {
    /// A directory, or an artifact of the store: `sha256:<hex>`, a unique digest prefix, or a tag.
    #[arg(default_value = ".")]
    pub target: String,
    #[command(flatten)]
    pub state: StateArg,
    #[command(flatten)]
    pub output: ScanOutputArgs,
}

#[derive(Args)]
pub struct ScanSarifArgs {
    /// SARIF 2.1.0 files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Make absolute file URIs in the results relative to this directory.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub output: ScanOutputArgs,
}

#[derive(Args)]
pub struct ScanPathArgs {
    /// The directory to check (default: the current one).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub output: ScanOutputArgs,
}

#[derive(Args)]
pub struct ScanMigrationsArgs {
    /// The migrations directory (default: the current one).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The previous release's git reference (tag, branch or commit): the migrations added
    /// since it are the release. Without it, the last migration alone is the release.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// Same as `--format json`.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub output: ScanOutputArgs,
}

#[derive(Args)]
pub struct ScanAllArgs {
    /// The source tree (default: the current directory).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Also scan this artifact: secrets in its files, vulnerable packages in its contents.
    #[arg(long, value_name = "DIGEST")]
    pub artifact: Option<String>,
    /// SARIF files to judge with the rest.
    #[arg(long, value_name = "FILE")]
    pub sarif: Vec<PathBuf>,
    #[command(flatten)]
    pub state: StateArg,
    #[command(flatten)]
    pub output: ScanOutputArgs,
}

#[derive(Subcommand)]
pub enum DbCommand {
    /// Load OSV records (JSON or YAML files, RustSec advisories, or an osv.dev `all.zip`) from a
    /// directory or zip file.
    Import(DbImportArgs),
    /// Records per ecosystem and the newest record's date.
    Status(DbStatusArgs),
}

#[derive(Args)]
pub struct DbImportArgs {
    /// A directory (searched recursively) or a .zip file.
    pub source: PathBuf,
    #[command(flatten)]
    pub state: StateArg,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct DbStatusArgs {
    #[command(flatten)]
    pub state: StateArg,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum ArtifactCommand {
    /// List artifacts, newest first.
    Ls(ArtifactLsArgs),
    /// Show an artifact: manifest, config, layers, tags and evidence.
    Inspect(ArtifactRefArgs),
    /// Write an artifact (and its evidence, as OCI referrers) as an OCI image layout directory.
    Export(ArtifactExportArgs),
    /// Push an artifact and its evidence (as OCI 1.1 referrers) to an OCI registry.
    Push(ArtifactPushArgs),
    /// Pull an image and its referrers from an OCI registry into the local store.
    Pull(ArtifactPullArgs),
}

#[derive(Args)]
pub struct ArtifactPushArgs {
    #[command(flatten)]
    pub state: StateArg,
    /// The artifact: `sha256:<hex>`, a unique digest prefix, or a tag.
    pub artifact: String,
    /// Where to: `REGISTRY/REPOSITORY[:TAG]` (default tag: the artifact's first tag).
    pub target: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ArtifactPullArgs {
    #[command(flatten)]
    pub state: StateArg,
    /// What to pull: `REGISTRY/REPOSITORY:TAG` or `REGISTRY/REPOSITORY@sha256:<hex>`.
    pub source: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct RegistryArgs {
    /// Speak plain HTTP to the registry (default: only for loopback addresses).
    #[arg(long)]
    pub plain_http: bool,
    /// The longest one request may take, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub request_timeout: u64,
    /// How often a failure that may pass (connection error, 5xx, 429) is retried.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
}

#[derive(Args)]
pub struct ArtifactLsArgs {
    #[command(flatten)]
    pub state: StateArg,
    /// How many artifacts, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ArtifactRefArgs {
    #[command(flatten)]
    pub state: StateArg,
    /// The artifact: `sha256:<hex>`, a unique digest prefix, or a tag.
    pub artifact: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ArtifactExportArgs {
    #[command(flatten)]
    pub state: StateArg,
    /// The artifact: `sha256:<hex>`, a unique digest prefix, or a tag.
    pub artifact: String,
    /// A new (or empty) directory for the OCI image layout.
    pub dir: PathBuf,
    /// Leave the evidence out.
    #[arg(long)]
    pub no_evidence: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[command(flatten)]
    pub state: StateArg,
    /// Say what would be deleted and freed; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub state: StateArg,
    /// The artifact: `sha256:<hex>`, a unique digest prefix, or a tag.
    pub artifact: String,
    /// The trust policy (trusted builder ids and their public keys). Default: this machine's
    /// development key and the key configured by SLIPWAY_SIGNING_KEY.
    #[arg(long, value_name = "FILE", env = "SLIPWAY_TRUST_POLICY")]
    pub policy: Option<PathBuf>,
    /// Also rebuild the artifact from its provenance (same commit, same pipeline) in a clean
    /// workspace and compare the digests.
    #[arg(long)]
    pub rebuild: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum EvidenceCommand {
    /// List the evidence attached to an artifact.
    Ls(ArtifactRefArgs),
}

#[derive(Args)]
pub struct FileArg {
    /// The pipeline file (default: slipway.yml at the repository root).
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// Print one JSON object instead of rendered diagnostics.
    #[arg(long)]
    pub json: bool,
    /// One line per diagnostic: `file:line:col: severity[code]: message`.
    #[arg(long, conflicts_with = "json")]
    pub short: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum EventArg {
    Push,
    PullRequest,
    Schedule,
    Manual,
}

impl From<EventArg> for slipway_pipeline::plan::EventKind {
    fn from(event: EventArg) -> Self {
        use slipway_pipeline::plan::EventKind;
        match event {
            EventArg::Push => EventKind::Push,
            EventArg::PullRequest => EventKind::PullRequest,
            EventArg::Schedule => EventKind::Schedule,
            EventArg::Manual => EventKind::Manual,
        }
    }
}

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// The event to plan for.
    #[arg(long, value_enum, default_value = "push")]
    pub event: EventArg,
    /// The branch the event is on (default: the current branch).
    #[arg(long)]
    pub branch: Option<String>,
    /// A tag being pushed, instead of a branch.
    #[arg(long, conflicts_with = "branch")]
    pub tag: Option<String>,
    /// The changed files, comma-separated (default: from git).
    #[arg(long, value_delimiter = ',', conflicts_with = "base")]
    pub changed_files: Option<Vec<String>>,
    /// Compute changed files against the merge base with this ref (default: HEAD's first parent).
    #[arg(long)]
    pub base: Option<String>,
    /// Print JSON.
    #[arg(long, conflicts_with = "dot")]
    pub json: bool,
    /// Print the DAG in Graphviz DOT.
    #[arg(long)]
    pub dot: bool,
}

#[derive(Args)]
pub struct InitArgs {
    /// Overwrite an existing slipway.yml.
    #[arg(long)]
    pub force: bool,
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Convert a GitHub Actions workflow.
    GithubActions(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The workflow file (.github/workflows/*.yml).
    pub workflow: PathBuf,
    /// Where to write the pipeline (default: print it).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Write the output even when parts could not be translated.
    #[arg(long)]
    pub force: bool,
    /// Print the conversion report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct StateArg {
    /// The state directory: run history, logs, caches (default: .slipway at the repository root).
    #[arg(long, env = "SLIPWAY_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[command(flatten)]
    pub state: StateArg,
    /// Run only these jobs (and the jobs they need).
    #[arg(long = "job", value_name = "JOB")]
    pub jobs: Vec<String>,
    /// The event to run for; `manual` ignores path filters.
    #[arg(long, value_enum, default_value = "push")]
    pub event: EventArg,
    /// Jobs at once (default: the number of cores).
    #[arg(long = "jobs", short = 'j', value_name = "N")]
    pub parallelism: Option<usize>,
    /// Include uncommitted changes of the working tree.
    #[arg(long)]
    pub dirty: bool,
    /// Keep each job's workspace after it ends.
    #[arg(long)]
    pub keep_workspaces: bool,
    /// Run every job without network on a read-only system (bubblewrap).
    #[arg(long)]
    pub sandbox: bool,
    /// Keep a failed job's workspace and print a command that opens a shell in it.
    #[arg(long)]
    pub debug_on_failure: bool,
    /// Stream the run's events as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct RunsArgs {
    #[command(flatten)]
    pub state: StateArg,
    /// How many runs, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub state: StateArg,
    /// The run: its number or its id.
    pub run: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub state: StateArg,
    /// The run: its number or its id.
    pub run: String,
    /// Only this job's output.
    #[arg(long)]
    pub job: Option<String>,
    /// Only this step's output (with --job).
    #[arg(long, requires = "job")]
    pub step: Option<String>,
    /// Keep printing as the run writes, until it finishes.
    #[arg(long)]
    pub follow: bool,
}

#[derive(Args)]
pub struct RerunArgs {
    #[command(flatten)]
    pub state: StateArg,
    /// The run: its number or its id.
    pub run: String,
    /// Run the jobs that did not succeed, and those after them (the default).
    #[arg(long, conflicts_with = "jobs")]
    pub failed: bool,
    /// Run these jobs, and those after them, again.
    #[arg(long = "job", value_name = "JOB")]
    pub jobs: Vec<String>,
    /// Jobs at once (default: the number of cores).
    #[arg(long = "jobs", short = 'j', value_name = "N")]
    pub parallelism: Option<usize>,
    #[arg(long)]
    pub keep_workspaces: bool,
    #[arg(long)]
    pub debug_on_failure: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Write a new key pair: PREFIX.key (encrypted, like cosign's) and PREFIX.pub. The
    /// passphrase comes from SLIPWAY_KEY_PASSPHRASE, or is asked for on a terminal.
    Generate(KeysGenerateArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AlgorithmArg {
    /// ECDSA P-256 with SHA-256: cosign's default, verifiable by every Sigstore client.
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    /// Ed25519.
    Ed25519,
}

impl From<AlgorithmArg> for slipway_sign::Algorithm {
    fn from(algorithm: AlgorithmArg) -> Self {
        match algorithm {
            AlgorithmArg::EcdsaP256 => slipway_sign::Algorithm::EcdsaP256Sha256,
            AlgorithmArg::Ed25519 => slipway_sign::Algorithm::Ed25519,
        }
    }
}

#[derive(Args)]
pub struct KeysGenerateArgs {
    /// The signature algorithm.
    #[arg(long, value_enum, default_value = "ecdsa-p256")]
    pub algorithm: AlgorithmArg,
    /// Write PREFIX.key and PREFIX.pub.
    #[arg(long, short = 'o', value_name = "PREFIX", default_value = "slipway")]
    pub output: PathBuf,
    /// Replace existing key files.
    #[arg(long)]
    pub force: bool,
    /// Print the paths, key id and algorithm as JSON.
    #[arg(long)]
    pub json: bool,
    /// Where the generation is recorded in the audit log (when given, or when the
    /// repository's state directory exists).
    #[command(flatten)]
    pub state: StateArg,
}

#[derive(Args)]
pub struct SignBlobArgs {
    /// The encrypted private key (PREFIX.key). Its passphrase comes from SLIPWAY_KEY_PASSPHRASE,
    /// or is asked for on a terminal.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The file to sign.
    pub file: PathBuf,
    /// Write the base64 signature to this file instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub output_signature: Option<PathBuf>,
    /// Write a Sigstore bundle (v0.3, key-based) to this file.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("evidence").required(true).args(["signature", "bundle"])))]
pub struct VerifyBlobArgs {
    /// The public key (PREFIX.pub, or cosign.pub).
    #[arg(long, value_name = "PUB")]
    pub key: PathBuf,
    /// A base64 signature file, as `sign-blob` and `cosign sign-blob` write it.
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// A Sigstore bundle: a message signature, or a signed in-toto attestation naming the file.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// The signed file.
    pub file: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SbomFormatArg {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

#[derive(Args)]
pub struct SbomArgs {
    /// The directory to inventory (a source tree, or with --contents an unpacked artifact),
    /// or an artifact of the store: `sha256:<hex>`, a unique digest prefix, or a tag.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub state: StateArg,
    /// The document format.
    #[arg(long, value_enum, default_value = "cyclonedx")]
    pub format: SbomFormatArg,
    /// Write the SBOM to this file (default: print it).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// PATH is an unpacked artifact: read OS package databases and binaries, and list every
    /// file with its digest.
    #[arg(long)]
    pub contents: bool,
}
