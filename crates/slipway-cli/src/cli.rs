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
