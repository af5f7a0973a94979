//! Delivery: the same digest moves through environments. `promote` checks a release against
//! everything that must hold (verification, the previous environment, the gates, freezes,
//! approvals, known-bad digests) and records it as the environment's desired state; the
//! environment's controller (`controller`) converges processes and proxy weights toward that
//! state, step by step, judging each step by analysis, and rolls back by itself.
//!
//! Architecture invariant: no command holds traffic state. Commands write the desired state to
//! the store; only the controller acts on it, and it records every action before the next,
//! so a restarted controller continues from the store.

pub mod config;
pub mod controller;
pub mod decide;
pub mod promote;
pub mod status;

pub use config::{EnvironmentConfig, StrategyConfig, resolve};
pub use promote::{Check, PromoteOutcome, PromoteRequest, ReleaseKind, approve, promote};
pub use slipway_analysis::Settings as AnalysisSettings;
pub use status::rollback_target;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error("no environment `{name}` in the pipeline file{}", known_list(known))]
    UnknownEnvironment { name: String, known: Vec<String> },
    #[error(transparent)]
    Store(#[from] slipway_store::StoreError),
    #[error(transparent)]
    Artifact(#[from] slipway_artifact::Error),
    #[error(transparent)]
    Evidence(#[from] slipway_evidence::Error),
    #[error(transparent)]
    Policy(#[from] slipway_policy::PolicyError),
    #[error("release {id} cannot be approved: it is {status}{}", note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    NotAwaitingApproval {
        id: String,
        status: String,
        note: Option<String>,
    },
    #[error(
        "{actor} may not approve release {id}: they authored a commit in it and environment `{environment}` sets `approval.exclude-author: true`"
    )]
    AuthorMayNotApprove {
        actor: String,
        id: String,
        environment: String,
    },
    #[error("environment `{0}` has no release to roll back to: no earlier release succeeded there")]
    NothingToRollBackTo(String),
    #[error("{0}")]
    Invalid(String),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "; it defines no `environments:`".to_owned()
    } else {
        format!("; environments are: {}", known.join(", "))
    }
}

pub type Result<T> = std::result::Result<T, DeliveryError>;
