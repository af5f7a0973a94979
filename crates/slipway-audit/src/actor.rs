//! Who an entry says acted.
//!
//! This names a person for the record; it is not a security boundary. `SLIPWAY_ACTOR`, a
//! repository's `user.email` and the OS user are all set by whoever runs `slipway`. What
//! makes the log trustworthy is the hash chain and the signed checkpoints, which show that
//! recorded entries were not changed afterwards, not who typed the command.

use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// Names the actor explicitly (CI jobs, servers, scripts).
pub const ACTOR_ENV: &str = "SLIPWAY_ACTOR";

/// Asking git for the user's email is a local read: it gets a short timeout.
const GIT_CONFIG_TIMEOUT: Duration = Duration::from_secs(10);

/// Who acted, and where that name came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The name written into entries.
    pub name: String,
    /// Where it came from.
    pub source: ActorSource,
}

/// Where an actor's name came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActorSource {
    /// The `SLIPWAY_ACTOR` environment variable.
    Environment,
    /// `git config user.email` of the repository.
    GitConfig,
    /// The operating-system user (`USER`, `LOGNAME`, else the numeric uid).
    OsUser,
}

impl ActorSource {
    /// The name in JSON and in policy inputs: `environment`, `git-config`, `os-user`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorSource::Environment => "environment",
            ActorSource::GitConfig => "git-config",
            ActorSource::OsUser => "os-user",
        }
    }
}

impl Actor {
    /// `SLIPWAY_ACTOR` if set, else `git config user.email` of the repository at `repo_dir`
    /// (through `slipway-vcs`, under a timeout), else the OS user.
    pub fn resolve(repo_dir: Option<&Path>) -> Actor {
        if let Some(name) = non_empty(std::env::var(ACTOR_ENV).ok()) {
            return Actor {
                name,
                source: ActorSource::Environment,
            };
        }
        if let Some(dir) = repo_dir {
            let email = slipway_vcs::git(dir, &["config", "user.email"], GIT_CONFIG_TIMEOUT).ok();
            if let Some(name) = non_empty(email) {
                return Actor {
                    name,
                    source: ActorSource::GitConfig,
                };
            }
        }
        Actor {
            name: os_user(),
            source: ActorSource::OsUser,
        }
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn os_user() -> String {
    non_empty(std::env::var("USER").ok())
        .or_else(|| non_empty(std::env::var("LOGNAME").ok()))
        .or_else(|| {
            let status = std::fs::read_to_string("/proc/self/status").ok()?;
            let uid = status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))?
                .split_whitespace()
                .next()?
                .to_owned();
            Some(format!("uid:{uid}"))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
