//! `slipway`: the command line. Parses arguments, calls the library crates, renders results.
//!
//! Exit codes are a contract: 0 success; 1 the checked thing failed (lint errors, an import
//! that could not translate everything, a failed run); 2 usage or configuration errors;
//! 130 a run stopped by Ctrl-C.

mod cli;
mod commands;
mod render;
mod repo;
mod toolchains;

use clap::Parser;
use std::process::ExitCode;

/// Outcome of a command that ran to the end.
pub enum Outcome {
    Success,
    /// The command worked, and what it checked did not pass.
    Failed,
    /// Stopped by Ctrl-C (or SIGTERM) and cleaned up.
    Interrupted,
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    if !matches!(
        cli.command,
        cli::Command::Run(_) | cli::Command::Rerun(_) | cli::Command::Up(_)
    ) {
        // A command that only reports ends quietly when its reader goes away
        // (`slipway audit log | head`), as Unix tools do, instead of failing to print. The
        // commands that run jobs and serve traffic keep ignoring SIGPIPE: a closed pipe or
        // socket there is an error to handle, not a reason to die.
        // SAFETY: called first thing, before any thread exists; SIG_DFL is a valid handler.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match commands::run(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Interrupted) => ExitCode::from(commands::run::INTERRUPTED_EXIT),
        Err(error) => {
            eprintln!("error: {}", render_chain(&error));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, like `{:#}`, but a cause whose text its parent
/// already ends with is not repeated (library errors often quote their source).
fn render_chain(error: &anyhow::Error) -> String {
    let mut rendered = String::new();
    let mut previous = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if previous.ends_with(&text) {
            continue;
        }
        if !rendered.is_empty() {
            rendered.push_str(": ");
        }
        rendered.push_str(&text);
        previous = text;
    }
    rendered
}
