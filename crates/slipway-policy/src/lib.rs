//! Policy as code: Rego policies over the evidence bundle of a decision, the built-in pack and
//! policy tests.
//!
//! A [`PolicySet`] is the built-in pack (`policies/*.rego`, on by default) plus a repository's
//! `.slipway/policies/*.rego`, adjusted by `.slipway/policy.yml` ([`Overrides`]). [`evaluate`]
//! runs every package's `deny` and `warn` rules that apply at a [`DecisionPoint`] over an
//! [`Input`] (the evidence bundle and the delivery facts) and returns a [`Decision`] whose
//! [`decision_statement`] can be signed and attached to the artifact. [`run_tests`] runs the
//! `test_*` rules, OPA style. Policies are evaluated in-process by regorus.

mod builtin;
mod calls;
pub mod collect;
mod decision;
mod error;
pub mod input;
pub mod overrides;
mod set;
mod statement;
mod testing;

pub use collect::{EvidenceFacts, collect_evidence};
pub use decision::{Decision, DecisionPoint, LOCKED_AT_ROLLBACK, Reason, canonical_json, evaluate};
pub use error::PolicyError;
pub use input::Input;
pub use overrides::{Level, Overrides};
pub use set::{EVALUATION_TIME_LIMIT, Module, POLICY_DIR, PolicySet, RuleInfo};
pub use statement::{
    KIND_POLICY_DECISION, POLICY_DECISION_PREDICATE, attach_decision, decide_release,
    decision_statement,
};
pub use testing::{TestOutcome, TestReport, TestResult, run_tests};

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
