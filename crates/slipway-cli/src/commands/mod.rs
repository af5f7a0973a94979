//! One module per command; each returns an [`Outcome`] or an error for exit code 2.

mod history;
mod import;
mod init;
mod lint;
mod plan;
mod rerun;
pub mod run;

use crate::Outcome;
use crate::cli::{Cli, Command, ImportCommand};

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
    }
}
