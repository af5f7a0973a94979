//! One module per command; each returns an [`Outcome`] or an error for exit code 2.

mod artifact;
pub mod audit;
pub mod deliver;
mod gc;
mod history;
mod import;
mod init;
mod keys;
mod lint;
mod plan;
pub mod policy;
mod rebuild;
mod registry;
mod rerun;
pub mod run;
mod sbom;
pub mod scan;
mod verify;

use crate::Outcome;
use crate::cli::{
    ArtifactCommand, Cli, Command, DbCommand, EvidenceCommand, ImportCommand, KeysCommand,
    ScanCommand,
};

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Lint(args) => lint::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Schema => {
            let schema = slipway_pipeline::schema::pipeline_schema();
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(Outcome::Success)
        }
        Command::Init(args) => init::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Rerun(args) => rerun::run(&args),
        Command::Runs(args) => history::runs(&args),
        Command::Show(args) => history::show(&args),
        Command::Logs(args) => history::logs(&args),
        Command::Import(ImportCommand::GithubActions(args)) => import::github_actions(&args),
        Command::Sbom(args) => sbom::run(&args),
        Command::Artifact(ArtifactCommand::Ls(args)) => artifact::ls(&args),
        Command::Artifact(ArtifactCommand::Inspect(args)) => artifact::inspect(&args),
        Command::Artifact(ArtifactCommand::Export(args)) => artifact::export(&args),
        Command::Artifact(ArtifactCommand::Push(args)) => registry::push(&args),
        Command::Artifact(ArtifactCommand::Pull(args)) => registry::pull(&args),
        Command::Evidence(EvidenceCommand::Ls(args)) => artifact::evidence_ls(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Gc(args) => gc::run(&args),
        Command::Keys(KeysCommand::Generate(args)) => keys::generate(&args),
        Command::SignBlob(args) => keys::sign_blob(&args),
        Command::VerifyBlob(args) => keys::verify_blob(&args),
        Command::Scan(ScanCommand::Secrets(args)) => scan::secrets(&args),
        Command::Scan(ScanCommand::Deps(args)) => scan::deps(&args, false),
        Command::Scan(ScanCommand::Image(args)) => scan::deps(&args, true),
        Command::Scan(ScanCommand::Sarif(args)) => scan::sarif(&args),
        Command::Scan(ScanCommand::Pins(args)) => scan::pins(&args),
        Command::Scan(ScanCommand::Migrations(args)) => scan::migrations(&args),
        Command::Scan(ScanCommand::All(args)) => scan::all(&args),
        Command::Db(DbCommand::Import(args)) => scan::db_import(&args),
        Command::Db(DbCommand::Status(args)) => scan::db_status(&args),
        Command::Promote(args) => deliver::promote(&args),
        Command::Approve(args) => deliver::approve(&args),
        Command::Rollback(args) => deliver::rollback(&args),
        Command::Rollout(command) => deliver::rollout(&command),
        Command::Env(command) => deliver::env(&command),
        Command::Up(args) => deliver::up(&args),
        Command::Down(args) => deliver::down(&args),
        Command::Audit(command) => audit::run(&command),
        Command::Policy(command) => policy::run(&command),
    }
}
