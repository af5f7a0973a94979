//! Security gates: the findings of every scanner in one shape, the gate policy of the pipeline
//! file, waivers that expire, and the report that becomes evidence on the artifact.
//!
//! The scanners live in their own crates (`slipway-secretscan`, `slipway-osv`,
//! `slipway-sarif`) and in [`pins`]; [`convert`] turns their results into [`Finding`]s,
//! [`gate::evaluate`] applies the [`GatePolicy`] and the [`Waivers`].

pub mod convert;
pub mod finding;
pub mod gate;
pub mod pins;
pub mod sarif_out;
pub mod scans;
pub mod waivers;

pub use finding::{Finding, Gate, Grade, Location};
pub use gate::{
    Decided, Disposition, GateOutcome, GatePolicy, GateReport, ScanInput, ScanResults, Verdict,
    evaluate,
};
pub use waivers::{WAIVERS_FILE, Waiver, WaiverFileError, Waivers};
