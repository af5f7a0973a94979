//! Directory scans: walk once, decide what to skip from the path and size alone, then read
//! and scan the rest on a pool of scoped threads.

use crate::error::Error;
use crate::report::Report;
use crate::scanner::{ScanOptions, Scanner};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How much of a file's head is checked for a NUL byte.
const BINARY_SNIFF_BYTES: usize = 8 << 10;

/// Directories holding other people's code: skipped unless vendored files are included.
const VENDORED_DIRS: &[&str] = &[
    "vendor",
    "node_modules",
    "third_party",
    "third-party",
    "bower_components",
    ".yarn",
];

/// Extensions of formats that are binary (or compressed) by construction.
const BINARY_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "tif", "tiff", "psd", "pdf", "zip", "gz",
    "tgz", "bz2", "xz", "zst", "7z", "rar", "jar", "war", "ear", "class", "so", "dylib", "dll",
    "exe", "o", "a", "lib", "obj", "bin", "wasm", "woff", "woff2", "ttf", "otf", "eot", "mp3",
    "mp4", "mov", "avi", "mkv", "webm", "ogg", "wav", "flac", "pyc", "pyo", "db", "sqlite",
    "sqlite3", "rlib", "rmeta", "crate", "whl", "deb", "rpm", "apk", "iso", "dmg",
];

/// Why a file is not scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Skip {
    Binary,
    Vendored,
    TooLarge,
}

/// Decides from the path, the size and (when given) the content whether to skip a file.
pub(crate) fn classify(
    file: &str,
    content: Option<&[u8]>,
    size: u64,
    options: &ScanOptions,
) -> Option<Skip> {
    if !options.include_vendored && is_vendored(file) {
        return Some(Skip::Vendored);
    }
    if !options.include_binary && has_binary_extension(file) {
        return Some(Skip::Binary);
    }
    if size > options.size_cap() {
        return Some(Skip::TooLarge);
    }
    if !options.include_binary
        && let Some(content) = content
        && looks_binary(content)
    {
        return Some(Skip::Binary);
    }
    None
}

fn is_vendored(file: &str) -> bool {
    let mut components = file.split('/').peekable();
    while let Some(component) = components.next() {
        let is_last = components.peek().is_none();
        if is_last {
            return component.ends_with(".min.js") || component.ends_with(".min.css");
        }
        if VENDORED_DIRS.contains(&component) {
            return true;
        }
    }
    false
}

fn has_binary_extension(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    name.rsplit_once('.').is_some_and(|(stem, extension)| {
        !stem.is_empty()
            && BINARY_EXTENSIONS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(extension))
    })
}

/// A NUL byte in the first 8 KiB, the test git and grep use.
pub(crate) fn looks_binary(content: &[u8]) -> bool {
    let head = content.get(..BINARY_SNIFF_BYTES).unwrap_or(content);
    memchr::memchr(0, head).is_some()
}

/// `root`-relative, `/`-separated.
fn relative_name(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let joined = relative
        .components()
        .map(|component| component.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        joined
    }
}

pub(crate) fn scan_dir(
    scanner: &Scanner,
    root: &Path,
    options: &ScanOptions,
) -> Result<Report, Error> {
    let mut report = Report::default();
    let mut queue: Vec<(PathBuf, String)> = Vec::new();
    let io_error = |path: Option<&Path>, source: std::io::Error| Error::Io {
        path: path.unwrap_or(root).to_path_buf(),
        source,
    };
    let mut consider = |path: PathBuf, size: u64| {
        let name = relative_name(root, &path);
        match classify(&name, None, size, options) {
            Some(Skip::Binary) => report.skipped.binary += 1,
            Some(Skip::Vendored) => report.skipped.vendored += 1,
            Some(Skip::TooLarge) => report.skipped.too_large += 1,
            None => queue.push((path, name)),
        }
    };
    if options.include_ignored {
        let walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            // The repository's object store is history, not the tree; `scan_git` covers it.
            .filter_entry(|entry| entry.depth() == 0 || entry.file_name() != ".git");
        for entry in walker {
            let entry = entry.map_err(|error| {
                let path = error.path().map(Path::to_path_buf);
                io_error(
                    path.as_deref(),
                    error
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
                )
            })?;
            if entry.file_type().is_file() {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                consider(entry.into_path(), size);
            }
        }
    } else {
        // Like git itself: what .gitignore (and .git/info/exclude) leaves out is build output
        // and local state, not the tree. Hidden files (.env) are scanned.
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .ignore(false)
            .git_global(false)
            .require_git(false)
            .follow_links(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .filter_entry(|entry| entry.depth() == 0 || entry.file_name() != ".git")
            .build();
        for entry in walker {
            let entry = entry.map_err(|error| {
                let source = match error.into_io_error() {
                    Some(source) => source,
                    None => std::io::Error::other("unreadable ignore file or filesystem loop"),
                };
                io_error(None, source)
            })?;
            if entry.file_type().is_some_and(|t| t.is_file()) {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                consider(entry.into_path(), size);
            }
        }
    }
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let workers = options.worker_count().min(queue.len().max(1));
    let partial: Vec<Report> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut local = Report::default();
                    // One buffer per worker, reused: a fresh allocation per file costs a page
                    // fault per 4 KiB read.
                    let mut bytes = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, name)) = queue.get(index) else {
                            break;
                        };
                        bytes.clear();
                        let read = std::fs::File::open(path)
                            .and_then(|mut file| std::io::Read::read_to_end(&mut file, &mut bytes));
                        match read {
                            Ok(_) => {}
                            // Deleted between the walk and the read: nothing to scan.
                            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                            Err(source) => {
                                if let Ok(mut slot) = first_error.lock() {
                                    slot.get_or_insert(Error::Io {
                                        path: path.clone(),
                                        source,
                                    });
                                }
                                next.store(usize::MAX / 2, Ordering::Relaxed);
                                break;
                            }
                        }
                        let blob = scanner.scan_blob(name, &bytes, options);
                        local.findings.extend(blob.findings);
                        local.allowed.extend(blob.allowed);
                        local.scanned_files += blob.scanned_files;
                        local.scanned_bytes += blob.scanned_bytes;
                        local.skipped.binary += blob.skipped.binary;
                        local.skipped.vendored += blob.skipped.vendored;
                        local.skipped.too_large += blob.skipped.too_large;
                    }
                    local
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_default())
            .collect()
    });
    if let Some(error) = first_error.into_inner().ok().flatten() {
        return Err(error);
    }
    for part in partial {
        report.findings.extend(part.findings);
        report.allowed.extend(part.allowed);
        report.scanned_files += part.scanned_files;
        report.scanned_bytes += part.scanned_bytes;
        report.skipped.binary += part.skipped.binary;
        report.skipped.vendored += part.skipped.vendored;
        report.skipped.too_large += part.skipped.too_large;
    }
    report.sort();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_paths() {
        assert!(is_vendored("vendor/x.go"));
        assert!(is_vendored("web/node_modules/a/b.js"));
        assert!(is_vendored("third_party/lib.c"));
        assert!(is_vendored("static/app.min.js"));
        assert!(!is_vendored("src/vendor.rs"));
        assert!(!is_vendored("node_modules"));
        assert!(!is_vendored("src/app.js"));
    }

    #[test]
    fn binary_by_extension_and_content() {
        assert!(has_binary_extension("img/logo.PNG"));
        assert!(!has_binary_extension(".png"));
        assert!(!has_binary_extension("src/main.rs"));
        assert!(looks_binary(b"abc\0def"));
        assert!(!looks_binary(b"plain text"));
        let mut late_nul = vec![b'a'; BINARY_SNIFF_BYTES];
        late_nul.push(0);
        assert!(!looks_binary(&late_nul));
    }

    #[test]
    fn skip_reasons_in_order() {
        let options = ScanOptions {
            max_file_size: Some(10),
            ..ScanOptions::default()
        };
        assert_eq!(
            classify("vendor/a.png", None, 100, &options),
            Some(Skip::Vendored)
        );
        assert_eq!(classify("a.png", None, 100, &options), Some(Skip::Binary));
        assert_eq!(classify("a.txt", None, 100, &options), Some(Skip::TooLarge));
        assert_eq!(
            classify("a.txt", Some(b"a\0"), 2, &options),
            Some(Skip::Binary)
        );
        assert_eq!(classify("a.txt", Some(b"ab"), 2, &options), None);
        let everything = ScanOptions {
            include_vendored: true,
            include_binary: true,
            ..ScanOptions::default()
        };
        assert_eq!(classify("vendor/a.png", Some(b"\0"), 1, &everything), None);
    }
}
