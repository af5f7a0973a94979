//! Slipway's pipeline model: reading `slipway.yml` with exact positions, the `${{ }}`
//! expression language, lint diagnostics, matrix expansion, the job DAG and plans.
//!
//! Architecture invariant: nothing here runs processes, touches the network or git. The
//! caller supplies template files through [`load::TemplateResolver`] and changed files
//! through [`plan::PlanInput`]; loading never fails, it returns the model and diagnostics.

pub mod check;
pub mod diagnostic;
pub mod digest;
pub mod expr;
pub mod graph;
pub mod load;
pub mod matrix;
pub mod model;
pub mod paths;
pub mod plan;
pub mod read;
pub mod schedule;
pub mod schema;
pub mod source;
pub mod spanned;
pub mod yaml;

pub use diagnostic::{Code, Diagnostic, LocatedDiagnostic, Severity};
pub use load::{Loaded, NoTemplates, ResolvedTemplate, TemplateRef, TemplateResolver, load};
pub use model::Pipeline;
