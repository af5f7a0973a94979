//! Reading a whole advisory database: a directory tree (a clone of an advisory repository,
//! an unpacked export) or a zip archive (osv.dev's per-ecosystem `all.zip`).

use crate::error::Error;
use crate::parse::parse_record;
use crate::record::Record;
use std::io::Read;
use std::path::Path;

/// A file that could not be read as an advisory, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The file (for a zip, `archive.zip!entry`).
    pub file: String,
    /// Why, naming the line and column where the parser stopped.
    pub reason: String,
}

/// What one source yielded.
#[derive(Clone, Debug, Default)]
pub struct ImportBatch {
    /// The records read, in path order.
    pub records: Vec<Record>,
    /// How many advisory files were looked at (read or rejected).
    pub files: u64,
    /// The files that were not valid advisories; the rest of the source is still read.
    pub rejected: Vec<Rejected>,
}

/// The largest advisory file read; real records are a few kilobytes, the largest osv.dev
/// records a few hundred.
const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// Reads every advisory under `path`: a directory (recursively; hidden directories such as
/// `.git` are skipped), a `.zip` archive, or a single record file.
///
/// Files ending in `.json`, `.yaml` or `.yml` are records; a `.md` file is a record when it
/// opens with a ```` ```toml ```` block (a RustSec advisory), so READMEs are passed over.
/// A file that does not parse is listed in [`ImportBatch::rejected`] and the rest is still
/// read; only an unreadable source is an error.
pub fn read_source(path: &Path) -> Result<ImportBatch, Error> {
    let io_error = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(io_error)?;
    if metadata.is_dir() {
        return read_directory(path);
    }
    let is_zip = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("zip"));
    if is_zip {
        return read_zip(path);
    }
    let mut batch = ImportBatch::default();
    let bytes = read_limited(std::fs::File::open(path).map_err(io_error)?, path)?;
    batch.add(&path.display().to_string(), &bytes);
    Ok(batch)
}

impl ImportBatch {
    fn add(&mut self, name: &str, bytes: &[u8]) {
        if !is_candidate(name, bytes) {
            return;
        }
        self.files += 1;
        match parse_record(name, bytes) {
            Ok(record) => self.records.push(record),
            Err(error) => self.rejected.push(Rejected {
                file: name.to_string(),
                reason: error.to_string(),
            }),
        }
    }
}

/// Whether a file is meant to be an advisory: by extension, and for Markdown by its opening
/// fence.
fn is_candidate(name: &str, bytes: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") || lower.ends_with(".yaml") || lower.ends_with(".yml") {
        return true;
    }
    lower.ends_with(".md") && bytes.trim_ascii_start().starts_with(b"```toml")
}

fn read_directory(root: &Path) -> Result<ImportBatch, Error> {
    let mut batch = ImportBatch::default();
    let walker = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.')
        });
    for entry in walker {
        let entry = entry.map_err(|error| Error::Io {
            path: error.path().unwrap_or(root).display().to_string(),
            source: error
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("a directory loop")),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let name = path.display().to_string();
        let lower = name.to_ascii_lowercase();
        if ![".json", ".yaml", ".yml", ".md"]
            .iter()
            .any(|extension| lower.ends_with(extension))
        {
            continue;
        }
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: name.clone(),
            source,
        })?;
        match read_limited(file, path) {
            Ok(bytes) => batch.add(&name, &bytes),
            Err(error) => {
                batch.files += 1;
                batch.rejected.push(Rejected {
                    file: name,
                    reason: error.to_string(),
                });
            }
        }
    }
    Ok(batch)
}

fn read_zip(path: &Path) -> Result<ImportBatch, Error> {
    let display = path.display().to_string();
    let zip_error = |message: String| Error::Zip {
        path: display.clone(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: display.clone(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|error| zip_error(error.to_string()))?;
    let mut batch = ImportBatch::default();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|error| zip_error(format!("entry {index}: {error}")))?;
        if !entry.is_file() {
            continue;
        }
        let name = format!("{display}!{}", String::from_utf8_lossy(entry.name_raw()));
        if entry.size() > MAX_RECORD_BYTES {
            batch.files += 1;
            batch.rejected.push(Rejected {
                file: name,
                reason: format!(
                    "{} bytes uncompressed; advisory files are at most {MAX_RECORD_BYTES}",
                    entry.size()
                ),
            });
            continue;
        }
        let mut bytes = Vec::new();
        // The declared size can lie; the limit holds whatever the header says.
        match (&mut entry)
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut bytes)
        {
            Ok(_) if bytes.len() as u64 > MAX_RECORD_BYTES => {
                batch.files += 1;
                batch.rejected.push(Rejected {
                    file: name,
                    reason: format!("larger than {MAX_RECORD_BYTES} bytes uncompressed"),
                });
            }
            Ok(_) => batch.add(&name, &bytes),
            Err(error) => {
                batch.files += 1;
                batch.rejected.push(Rejected {
                    file: name,
                    reason: format!("cannot decompress: {error}"),
                });
            }
        }
    }
    Ok(batch)
}

fn read_limited(file: std::fs::File, path: &Path) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    file.take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(Error::Invalid {
            file: path.display().to_string(),
            message: format!("larger than {MAX_RECORD_BYTES} bytes; not an advisory file"),
        });
    }
    Ok(bytes)
}
