//! Which migrations are "the release": the ones new in this release, checked against the
//! schema the earlier ones built.
//!
//! Two definitions, both predictable:
//!
//! - [`Release::Last`]: the last migration in version order alone. The default when no base
//!   is named, with or without git.
//! - [`Release::NewSince`]: every migration whose file did not exist at a git reference (the
//!   previous release's tag or commit, `--base REF`). A file present at the reference is part
//!   of the previous release even if it changed since.

use crate::Error;
use crate::discover::MigrationFile;
use std::collections::BTreeSet;
use std::path::Path;

/// The set of migrations this release adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// The last migration in version order.
    Last,
    /// The migrations whose paths (relative to the migrations directory) were not in the
    /// tree of `reference`.
    NewSince {
        /// The git reference the previous release was built from.
        reference: String,
        /// Migration file paths that existed at `reference`.
        existing: BTreeSet<String>,
    },
}

impl Release {
    /// The files under `dir_in_repo` (relative to the repository at `repository`) at
    /// `reference`, as a [`Release::NewSince`]. A directory that did not exist at the
    /// reference makes every migration new.
    pub fn since_git_ref(
        repository: &Path,
        dir_in_repo: &Path,
        reference: &str,
    ) -> Result<Release, Error> {
        let commit = format!("{reference}^{{commit}}");
        slipway_vcs::git(
            repository,
            &["rev-parse", "--verify", "--quiet", &commit],
            slipway_vcs::LOCAL_TIMEOUT,
        )
        .map_err(|source| Error::Git {
            reference: reference.to_string(),
            source,
        })?;
        let prefix = dir_in_repo
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .filter(|c| c != ".")
            .collect::<Vec<_>>()
            .join("/");
        let pathspec = if prefix.is_empty() {
            ".".to_string()
        } else {
            format!("{prefix}/")
        };
        let listing = slipway_vcs::git(
            repository,
            &[
                "ls-tree",
                "-r",
                "--name-only",
                "--full-tree",
                "-z",
                reference,
                "--",
                &pathspec,
            ],
            slipway_vcs::LOCAL_TIMEOUT,
        )
        .map_err(|source| Error::Git {
            reference: reference.to_string(),
            source,
        })?;
        let existing = listing
            .split('\0')
            .filter(|path| !path.is_empty())
            .filter_map(|path| {
                if prefix.is_empty() {
                    Some(path.to_string())
                } else {
                    path.strip_prefix(&prefix)
                        .and_then(|rest| rest.strip_prefix('/'))
                        .map(str::to_string)
                }
            })
            .collect();
        Ok(Release::NewSince {
            reference: reference.to_string(),
            existing,
        })
    }

    /// Which of `migrations` (in version order) the release holds.
    pub fn select(&self, migrations: &[MigrationFile]) -> Vec<bool> {
        match self {
            Release::Last => {
                let last = migrations.len().checked_sub(1);
                (0..migrations.len()).map(|i| Some(i) == last).collect()
            }
            Release::NewSince { existing, .. } => migrations
                .iter()
                .map(|m| !existing.contains(&m.path))
                .collect(),
        }
    }

    /// How the release was chosen, for reports.
    pub fn describe(&self) -> String {
        match self {
            Release::Last => "the last migration".into(),
            Release::NewSince { reference, .. } => format!("migrations added since {reference}"),
        }
    }
}
