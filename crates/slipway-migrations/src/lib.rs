//! Migration safety: PostgreSQL migrations parsed and checked for changes that break the
//! previous release.
//!
//! During a rolling deploy, and after a rollback, the previous release's code runs against the
//! schema the new release's migrations left. A migration is safe when that code keeps working:
//! it must not lose a column or table it uses, see a name or type change under it, be refused
//! an insert it always made, or stall behind a lock held for a whole table rewrite. Changes
//! that need any of these follow expand → migrate → contract across releases, and this crate
//! checks that they do.
//!
//! The flow: [`discover`] lists a directory's migrations in version order ([`version`]);
//! a [`Release`] says which of them are new in this release; [`lint`] splits every file into
//! statements ([`split`]), parses each with `sqlparser`'s PostgreSQL dialect, builds a model
//! of the schema from the earlier migrations and checks the release's statements against it
//! ([`Rule`]). [`scan_dir`] does all of it for one directory; [`lint_sql`] checks one file's
//! text on its own. The rules, the markers and the comparison with squawk are documented in
//! docs/migrations.md.

pub mod discover;
mod lint;
pub mod release;
pub mod rule;
pub mod split;
pub mod version;

pub use discover::{Discovery, MigrationFile, Skipped, discover, find_dirs};
pub use lint::{Finding, Migration, Report, Unchecked, lint, lint_sql};
pub use release::Release;
pub use rule::Rule;
pub use version::Version;

use std::path::{Path, PathBuf};

/// Why migrations could not be checked at all (a problem in a migration is a [`Finding`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Two migrations of one directory share a version, so their order is undefined.
    #[error(
        "{}: two migrations have version {version}: {first} and {second}; give one of them the next free version",
        dir.display()
    )]
    DuplicateVersion {
        /// The migrations directory.
        dir: PathBuf,
        /// The shared version, as the second file writes it.
        version: String,
        /// Both files, relative to `dir`.
        first: String,
        /// The other file.
        second: String,
    },
    /// The `--base` reference could not be read from git.
    #[error(
        "cannot list the migrations at `{reference}`: {source}; pass --base a commit, tag or branch of this repository"
    )]
    Git {
        /// The reference as given.
        reference: String,
        /// What git said.
        source: slipway_vcs::GitError,
    },
}

/// Reads and checks the migrations of `dir`: the ones `release` selects against the schema
/// the others build. File paths in findings are relative to `dir`.
pub fn scan_dir(dir: &Path, release: &Release) -> Result<Report, Error> {
    let discovery = discover(dir)?;
    let mut migrations = Vec::with_capacity(discovery.migrations.len());
    for file in discovery.migrations {
        let path = dir.join(&file.path);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        migrations.push(Migration {
            file,
            sql: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    let mut report = lint(&migrations, release);
    report.skipped = discovery.skipped;
    Ok(report)
}
