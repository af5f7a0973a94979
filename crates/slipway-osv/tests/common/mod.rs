//! Shared by the real-data tests: where the optional advisory snapshots are.

use std::path::PathBuf;

/// The directory `$SLIPWAY_OSV_DATA` names (holding `PyPI/`, `Go/` and `crates.io/`), or
/// `None` with a notice: the data is not part of the repository, so its tests skip without it,
/// under `CI=true` too (the hand-written records cover the logic).
pub fn osv_data_dir() -> Option<PathBuf> {
    let found = std::env::var_os("SLIPWAY_OSV_DATA")
        .map(PathBuf::from)
        .filter(|dir| dir.is_dir());
    if found.is_none() {
        eprintln!(
            "skipped: OSV test data not found (set SLIPWAY_OSV_DATA to a directory with PyPI/, Go/ and crates.io/)"
        );
    }
    found
}
