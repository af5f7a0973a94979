//! Finding migrations: the files of one directory in version order, and the migration
//! directories of a source tree.

use crate::Error;
use crate::version::{NameKind, Version, classify_dir, classify_file};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Files in a migration directory that hold its forward SQL (diesel and golang-style dirs use
/// `up.sql`, Prisma `migration.sql`).
const DIR_MIGRATION_FILES: [&str; 2] = ["up.sql", "migration.sql"];

/// Directories never searched for migrations: dependencies, build output, version control.
const SKIPPED_DIRS: [&str; 5] = ["node_modules", "target", "vendor", "third_party", "dist"];

/// How deep [`find_dirs`] looks below the root.
const SEARCH_DEPTH: usize = 6;

/// One migration file, located.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrationFile {
    /// The version read from the name, which orders the migrations.
    pub version: Version,
    /// The descriptive part of the name (`create_users`).
    pub name: String,
    /// Relative to the migrations directory, with `/` (`0001_x.sql`, `20240101_x/up.sql`).
    pub path: String,
}

/// A `.sql` file left out of the history, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Relative to the migrations directory, with `/`.
    pub path: String,
    /// Why it is not part of the forward history.
    pub reason: String,
}

/// The migrations of a directory, in version order, and the SQL files that are not part of
/// the forward history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// The migrations, in version order.
    pub migrations: Vec<MigrationFile>,
    /// `.sql` files that are not migrations to apply, by path.
    pub skipped: Vec<Skipped>,
}

/// Reads the migrations of `dir`: versioned `.sql` files and directories holding one
/// migration each. Sorted by version; two migrations with one version are an error.
pub fn discover(dir: &Path) -> Result<Discovery, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut discovery = Discovery::default();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            read_migration_dir(&path, &file_name, &mut discovery);
        } else if file_name.to_ascii_lowercase().ends_with(".sql") {
            match classify_file(&file_name) {
                NameKind::Up { version, name } => discovery.migrations.push(MigrationFile {
                    version,
                    name,
                    path: file_name,
                }),
                other => discovery.skipped.push(Skipped {
                    path: file_name,
                    reason: reason(&other).into(),
                }),
            }
        }
    }
    discovery
        .migrations
        .sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.path.cmp(&b.path)));
    discovery.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    for pair in discovery.migrations.windows(2) {
        if let [first, second] = pair
            && first.version == second.version
        {
            return Err(Error::DuplicateVersion {
                dir: dir.to_path_buf(),
                version: second.version.to_string(),
                first: first.path.clone(),
                second: second.path.clone(),
            });
        }
    }
    Ok(discovery)
}

fn reason(kind: &NameKind) -> &'static str {
    match kind {
        NameKind::Down => "a down (revert) migration: not part of the forward history",
        NameKind::Repeatable => {
            "a repeatable migration (R__): it has no version, so no release to compare with"
        }
        NameKind::Unversioned | NameKind::Up { .. } => {
            "no version in the name (expected `0001_name.sql`, `V1__name.sql`, `1_name.up.sql` or `<version>_name/up.sql`)"
        }
    }
}

/// A directory holding one migration: `<version>_name/up.sql` (or `migration.sql`).
fn read_migration_dir(path: &Path, dir_name: &str, discovery: &mut Discovery) {
    let Some(file) = DIR_MIGRATION_FILES
        .iter()
        .find(|file| path.join(file).is_file())
    else {
        return;
    };
    let relative = format!("{dir_name}/{file}");
    match classify_dir(dir_name) {
        NameKind::Up { version, name } => discovery.migrations.push(MigrationFile {
            version,
            name,
            path: relative,
        }),
        other => discovery.skipped.push(Skipped {
            path: relative,
            reason: reason(&other).into(),
        }),
    }
}

/// Whether `dir` holds at least one migration (a `.sql` file or a migration directory).
pub fn holds_migrations(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            DIR_MIGRATION_FILES
                .iter()
                .any(|file| path.join(file).is_file())
        } else {
            entry
                .file_name()
                .to_string_lossy()
                .to_ascii_lowercase()
                .ends_with(".sql")
        }
    })
}

/// The migration directories of a source tree: every directory named `migrations` (so
/// `migrations/`, `db/migrations/`, `services/api/migrations/`) that holds migrations,
/// relative to `root`, sorted. Hidden directories and dependency or build directories
/// (`node_modules`, `target`, `vendor`, `third_party`, `dist`) are not searched.
pub fn find_dirs(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if !kind.is_dir() || name.starts_with('.') || SKIPPED_DIRS.contains(&name.as_str()) {
                continue;
            }
            let path = entry.path();
            if name == "migrations" && holds_migrations(&path) {
                if let Ok(relative) = path.strip_prefix(root) {
                    found.push(relative.to_path_buf());
                }
            } else if depth < SEARCH_DEPTH {
                pending.push((path, depth + 1));
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, path: &str) {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "SELECT 1;").unwrap();
    }

    #[test]
    fn sorts_by_number_and_sets_aside_what_is_not_history() {
        let dir = tempfile::tempdir().unwrap();
        for path in [
            "10_ten.sql",
            "9_nine.sql",
            "0002_two.up.sql",
            "0002_two.down.sql",
            "R__views.sql",
            "seed.sql",
            "notes.md",
            "11_eleven/up.sql",
            "11_eleven/down.sql",
            "12_empty/README",
        ] {
            touch(dir.path(), path);
        }
        let found = discover(dir.path()).unwrap();
        let paths: Vec<&str> = found.migrations.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "0002_two.up.sql",
                "9_nine.sql",
                "10_ten.sql",
                "11_eleven/up.sql"
            ]
        );
        let skipped: Vec<&str> = found.skipped.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(skipped, ["0002_two.down.sql", "R__views.sql", "seed.sql"]);
    }

    #[test]
    fn duplicate_versions_are_an_error_naming_both_files() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "0001_a.sql");
        touch(dir.path(), "1_b.sql");
        let error = discover(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("0001_a.sql") && error.contains("1_b.sql"),
            "{error}"
        );
    }

    #[test]
    fn finds_migration_directories_but_not_in_dependencies() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "migrations/0001_a.sql");
        touch(dir.path(), "db/migrations/20240101_x/up.sql");
        touch(dir.path(), "node_modules/pkg/migrations/1_a.sql");
        touch(dir.path(), "docs/migrations/README.md");
        let found = find_dirs(dir.path());
        assert_eq!(
            found,
            [PathBuf::from("db/migrations"), PathBuf::from("migrations")]
        );
    }
}
