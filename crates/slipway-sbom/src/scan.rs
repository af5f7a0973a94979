//! Walking a directory: which files are read, in which order, and how their findings
//! become one [`Inventory`].

use crate::lockfile::{self, LockfileKind, Parsed};
use crate::system::{self, Distro};
use crate::{Component, Error, FileEntry, Inventory, Skipped};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use walkdir::{DirEntry, WalkDir};

/// Directories that hold installed or generated copies of dependencies, not their
/// declarations: lockfiles inside them describe someone else's build.
const SKIPPED_DIRECTORIES: [&str; 5] = [".git", "target", "node_modules", ".venv", "vendor"];

/// Binaries larger than this are hashed but not searched for `cargo auditable` data
/// (`auditable-info` refuses inputs over 1 GiB itself).
const MAX_AUDITABLE_BINARY: u64 = 512 * 1024 * 1024;

/// Inventories a source tree from its lockfiles.
///
/// Skips `.git`, `target`, `node_modules`, `.venv`, `vendor` and hidden directories, and
/// visits entries in name order, so the result does not depend on the file system. A
/// lockfile that cannot be parsed fails the scan: an SBOM that silently omits a lockfile
/// would claim less than the tree contains.
pub fn scan_source(dir: &Path) -> Result<Inventory, Error> {
    let mut found = Found::default();
    for entry in walk(dir, true) {
        let entry = entry?;
        if entry.file_type().is_file() {
            found.lockfile(dir, &entry)?;
        }
    }
    Ok(found.into_inventory(Vec::new()))
}

/// Like [`scan_source`], but a lockfile that cannot be parsed is listed in the inventory's
/// `skipped` entries, with the error, instead of failing the scan: for a vulnerability scan,
/// the packages of the other lockfiles still need checking. I/O errors still fail it.
pub fn scan_source_lenient(dir: &Path) -> Result<Inventory, Error> {
    let mut found = Found::default();
    for entry in walk(dir, true) {
        let entry = entry?;
        if entry.file_type().is_file() {
            match found.lockfile(dir, &entry) {
                Ok(()) => {}
                Err(Error::Io { path, source }) => return Err(Error::Io { path, source }),
                Err(error) => found.skipped.push(Skipped {
                    path: relative_path(dir, entry.path()),
                    line: None,
                    reason: error.to_string(),
                }),
            }
        }
    }
    Ok(found.into_inventory(Vec::new()))
}

/// Inventories an unpacked artifact (a root file system or an archive's contents).
///
/// Reads the dpkg status database (`var/lib/dpkg/status`, `var/lib/dpkg/status.d/*`), the apk
/// installed database (`lib/apk/db/installed`), `cargo auditable` data in executables, and
/// lockfiles (with the same directory rules as [`scan_source`]). Every regular file, in every
/// directory, is listed with its size, SHA-256 and SHA-1, so that regenerating the SBOM from
/// the same bytes gives the same document and any changed byte changes it.
pub fn scan_filesystem(dir: &Path) -> Result<Inventory, Error> {
    let distro = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|candidate| std::fs::read_to_string(dir.join(candidate)).ok())
        .map(|text| Distro::from_os_release(&text))
        .unwrap_or_default();
    let mut found = Found::default();
    let mut files = Vec::new();
    for entry in walk(dir, false) {
        let entry = entry?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = relative_path(dir, entry.path());
        let (file, contents) = read_and_hash(entry.path(), &relative)?;
        files.push(file);
        if let Some(contents) = contents
            && let Some(parsed) = system::auditable::parse(&relative, &contents)
        {
            found.add(&relative, parsed);
        }
        if is_dpkg_status(&relative) {
            let text = read_text(entry.path(), &relative)?;
            found.add(&relative, system::dpkg::parse(&relative, &text, &distro));
        } else if relative == "lib/apk/db/installed" {
            let text = read_text(entry.path(), &relative)?;
            found.add(&relative, system::apk::parse(&relative, &text, &distro));
        } else if !inside_skipped_directory(&relative) {
            found.lockfile(dir, &entry)?;
        }
    }
    Ok(found.into_inventory(files))
}

/// What the files read so far yielded.
#[derive(Default)]
struct Found {
    components: Vec<Component>,
    skipped: Vec<Skipped>,
    sources: Vec<String>,
}

impl Found {
    fn add(&mut self, source: &str, parsed: Parsed) {
        if !parsed.components.is_empty() {
            self.sources.push(source.to_string());
        }
        self.components.extend(parsed.components);
        self.skipped.extend(parsed.skipped);
    }

    /// Parses `entry` when its name is a lockfile's.
    fn lockfile(&mut self, root: &Path, entry: &DirEntry) -> Result<(), Error> {
        let Some(kind) = entry
            .file_name()
            .to_str()
            .and_then(LockfileKind::from_file_name)
        else {
            return Ok(());
        };
        let relative = relative_path(root, entry.path());
        let bytes = read(entry.path())?;
        let parsed = if kind == LockfileKind::GoMod {
            let sum_path = entry.path().with_file_name("go.sum");
            let sum = match std::fs::read(&sum_path) {
                Ok(bytes) => Some(bytes),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => {
                    return Err(Error::Io {
                        path: sum_path,
                        source,
                    });
                }
            };
            let sum_relative = relative_path(root, &sum_path);
            lockfile::parse_go_module(
                &relative,
                &bytes,
                sum.as_deref().map(|bytes| (sum_relative.as_str(), bytes)),
            )?
        } else {
            lockfile::parse(kind, &relative, &bytes)?
        };
        self.add(&relative, parsed);
        Ok(())
    }

    fn into_inventory(self, files: Vec<FileEntry>) -> Inventory {
        Inventory::from_parts(self.components, files, self.skipped, self.sources)
    }
}

/// Entries under `dir` in name order, without following symbolic links; with
/// `skip_directories`, the directories a source scan ignores are not entered.
fn walk(
    dir: &Path,
    skip_directories: bool,
) -> impl Iterator<Item = Result<DirEntry, Error>> + use<> {
    let root = dir.to_path_buf();
    WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(move |entry| {
            !(skip_directories
                && entry.depth() > 0
                && entry.file_type().is_dir()
                && is_skipped_directory(&entry.file_name().to_string_lossy()))
        })
        .map(move |entry| {
            entry.map_err(|error| {
                let path = error.path().map_or_else(|| root.clone(), Path::to_path_buf);
                let source = error
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("a symbolic link loop"));
                Error::Io { path, source }
            })
        })
}

fn is_skipped_directory(name: &str) -> bool {
    name.starts_with('.') || SKIPPED_DIRECTORIES.contains(&name)
}

fn inside_skipped_directory(relative: &str) -> bool {
    let mut parts: Vec<&str> = relative.split('/').collect();
    parts.pop();
    parts.iter().any(|part| is_skipped_directory(part))
}

fn is_dpkg_status(relative: &str) -> bool {
    relative == "var/lib/dpkg/status"
        || relative
            .strip_prefix("var/lib/dpkg/status.d/")
            .is_some_and(|name| !name.contains('/') && !name.ends_with(".md5sums"))
}

/// `path` relative to `root`, with `/` separators (lossy for names that are not UTF-8).
fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_text(path: &Path, relative: &str) -> Result<String, Error> {
    let bytes = read(path)?;
    Ok(crate::text::utf8(relative, &bytes)?.to_string())
}

/// Hashes a file in one pass. An executable small enough to search for `cargo auditable`
/// data is returned whole as well, so it is read only once.
fn read_and_hash(path: &Path, relative: &str) -> Result<(FileEntry, Option<Vec<u8>>), Error> {
    let io_error = |source| Error::Io {
        path: PathBuf::from(path),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len();
    let mut sha256 = Sha256::new();
    let mut sha1 = Sha1::new();
    let mut prefix = [0u8; 4];
    let mut prefix_len = 0;
    while prefix_len < prefix.len() {
        let read = file.read(&mut prefix[prefix_len..]).map_err(io_error)?;
        if read == 0 {
            break;
        }
        prefix_len += read;
    }
    let prefix = &prefix[..prefix_len];
    let keep = size <= MAX_AUDITABLE_BINARY && system::auditable::looks_like_binary(prefix);
    let mut whole = keep.then(|| {
        let mut buffer = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        buffer.extend_from_slice(prefix);
        buffer
    });
    sha256.update(prefix);
    sha1.update(prefix);
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = file.read(&mut buffer).map_err(io_error)?;
        let Some(chunk) = buffer.get(..read).filter(|chunk| !chunk.is_empty()) else {
            break;
        };
        sha256.update(chunk);
        sha1.update(chunk);
        if let Some(whole) = &mut whole {
            whole.extend_from_slice(chunk);
        }
    }
    let entry = FileEntry {
        path: relative.to_string(),
        size,
        sha256: hex::encode(sha256.finalize()),
        sha1: hex::encode(sha1.finalize()),
    };
    Ok((entry, whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_directories() {
        assert!(inside_skipped_directory(
            "app/node_modules/x/package-lock.json"
        ));
        assert!(inside_skipped_directory(".cache/Cargo.lock"));
        assert!(!inside_skipped_directory("app/Cargo.lock"));
        assert!(
            !inside_skipped_directory(".hidden-file"),
            "a hidden file is not a directory"
        );
    }

    #[test]
    fn dpkg_status_paths() {
        assert!(is_dpkg_status("var/lib/dpkg/status"));
        assert!(is_dpkg_status("var/lib/dpkg/status.d/base"));
        assert!(!is_dpkg_status("var/lib/dpkg/status.d/base.md5sums"));
        assert!(!is_dpkg_status("var/lib/dpkg/status-old"));
    }
}
