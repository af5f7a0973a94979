//! Instance records: one JSON file per instance in the runtime directory, saying which process
//! runs it, so the next supervisor can adopt it. Written to a temporary name and renamed, so a
//! reader sees the old record or the new one, never half of one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::error::SupervisorError;

/// The record format; a reader refuses records of another format instead of guessing.
pub const RECORD_FORMAT: u32 = 1;

/// Everything but ASCII letters, digits, `-` and `_` is escaped, so ids such as
/// `production/r12/0` or `..` make plain, distinct file names.
const FILE_NAME_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// What a record file says about one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceRecord {
    /// Always [`RECORD_FORMAT`].
    pub format: u32,
    /// The instance id.
    pub id: String,
    /// The process (and process group: it leads its own session) running the instance.
    pub pid: u32,
    /// The process's start time in clock ticks after boot (`/proc/PID/stat` field 22); 0 when
    /// it exited before it could be read.
    pub start_time: u64,
    /// [`InstanceSpec::digest`](crate::InstanceSpec::digest) of the spec it was started from.
    pub spec_digest: String,
    /// The port it was given.
    pub port: u16,
    /// Where its output goes.
    pub log_path: PathBuf,
    /// When it was started, in milliseconds since the Unix epoch.
    pub started_at_ms: u64,
}

impl InstanceRecord {
    /// Parses a record file's bytes.
    pub fn from_json(bytes: &[u8]) -> Result<InstanceRecord, String> {
        let record: InstanceRecord =
            serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
        if record.format != RECORD_FORMAT {
            return Err(format!(
                "record format {} is not the supported format {RECORD_FORMAT}",
                record.format
            ));
        }
        Ok(record)
    }

    /// The record file's bytes: pretty JSON with a final newline. Fails only for a log path
    /// that is not UTF-8 (specs with one are refused before they start).
    pub fn to_json(&self) -> Result<Vec<u8>, String> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|error| error.to_string())?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Whether the recorded process still runs (same pid and start time, not a zombie).
    pub fn is_alive(&self) -> bool {
        self.start_time != 0 && crate::proc::is_alive(self.pid, self.start_time)
    }
}

/// The record file name of an instance id.
pub(crate) fn record_file_name(id: &str) -> String {
    format!("{}.json", utf8_percent_encode(id, FILE_NAME_ESCAPES))
}

/// The runtime directory and the records in it.
#[derive(Debug, Clone)]
pub(crate) struct Records {
    dir: PathBuf,
}

impl Records {
    /// Creates the directory (owner-only: records reveal what runs where) when missing.
    pub(crate) fn open(dir: &Path) -> Result<Records, SupervisorError> {
        let error = |source| SupervisorError::RuntimeDir {
            path: dir.to_path_buf(),
            source,
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(error)?;
        if !dir.is_dir() {
            return Err(error(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            )));
        }
        Ok(Records {
            dir: dir.to_path_buf(),
        })
    }

    pub(crate) fn path(&self, id: &str) -> PathBuf {
        self.dir.join(record_file_name(id))
    }

    /// The record of `id`, `None` when there is none.
    pub(crate) fn read(&self, id: &str) -> Result<Option<InstanceRecord>, SupervisorError> {
        let path = self.path(id);
        match fs::read(&path) {
            Ok(bytes) => parse_at(&path, &bytes).map(Some),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(SupervisorError::RecordRead {
                path,
                problem: error.to_string(),
            }),
        }
    }

    /// Writes the record through a temporary file and a rename.
    pub(crate) fn write(&self, record: &InstanceRecord) -> Result<(), SupervisorError> {
        let path = self.path(&record.id);
        let temporary = self
            .dir
            .join(format!(".{}.tmp", record_file_name(&record.id)));
        let error = |source| SupervisorError::RecordWrite {
            path: path.clone(),
            source,
        };
        let bytes = record.to_json().map_err(|problem| {
            error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                problem,
            ))
        })?;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(error)?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(error)?;
        fs::rename(&temporary, &path).map_err(error)
    }

    /// Removes the record of `id`; a missing record is fine.
    pub(crate) fn remove(&self, id: &str) -> Result<(), SupervisorError> {
        let path = self.path(id);
        match fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(SupervisorError::RecordWrite {
                    path,
                    source: error,
                })
            }
            _ => Ok(()),
        }
    }

    /// Every record, sorted by id.
    pub(crate) fn all(&self) -> Result<Vec<InstanceRecord>, SupervisorError> {
        let entries = fs::read_dir(&self.dir).map_err(|source| SupervisorError::RuntimeDir {
            path: self.dir.clone(),
            source,
        })?;
        let mut records = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| SupervisorError::RuntimeDir {
                path: self.dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            // Temporary files start with a dot; other files are not ours.
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let path = entry.path();
            let bytes = fs::read(&path).map_err(|error| SupervisorError::RecordRead {
                path: path.clone(),
                problem: error.to_string(),
            })?;
            records.push(parse_at(&path, &bytes)?);
        }
        records.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(records)
    }
}

/// Parses a record and checks that it belongs in the file it was read from.
fn parse_at(path: &Path, bytes: &[u8]) -> Result<InstanceRecord, SupervisorError> {
    let record =
        InstanceRecord::from_json(bytes).map_err(|problem| SupervisorError::RecordRead {
            path: path.to_path_buf(),
            problem,
        })?;
    let expected = record_file_name(&record.id);
    if path.file_name().and_then(|name| name.to_str()) != Some(expected.as_str()) {
        return Err(SupervisorError::RecordRead {
            path: path.to_path_buf(),
            problem: format!(
                "it names instance {:?}, whose record file is {expected}",
                record.id
            ),
        });
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> InstanceRecord {
        InstanceRecord {
            format: RECORD_FORMAT,
            id: "production/r12/0".into(),
            pid: 4242,
            start_time: 987_654,
            spec_digest: "sha256:00ff".into(),
            port: 8080,
            log_path: "/var/lib/slipway/logs/production/r12/0.log".into(),
            started_at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn file_names_are_escaped_and_distinct() {
        assert_eq!(
            record_file_name("production/r12/0"),
            "production%2Fr12%2F0.json"
        );
        assert_eq!(record_file_name(".."), "%2E%2E.json");
        assert_eq!(record_file_name("a_b-c"), "a_b-c.json");
        assert_ne!(record_file_name("a/b"), record_file_name("a%2Fb"));
    }

    #[test]
    fn the_record_format_is_stable() {
        let json = serde_json::to_string_pretty(&sample()).unwrap();
        insta::assert_snapshot!(json);
    }

    #[test]
    fn write_then_read_round_trips_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::open(&dir.path().join("run")).unwrap();
        assert_eq!(records.read("production/r12/0").unwrap(), None);
        records.write(&sample()).unwrap();
        assert_eq!(records.read("production/r12/0").unwrap(), Some(sample()));
        assert_eq!(records.all().unwrap(), vec![sample()]);
        records.remove("production/r12/0").unwrap();
        records.remove("production/r12/0").unwrap();
        assert!(records.all().unwrap().is_empty());
    }

    #[test]
    fn malformed_and_misplaced_records_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::open(dir.path()).unwrap();
        fs::write(dir.path().join("broken.json"), "{").unwrap();
        let error = records.all().unwrap_err().to_string();
        assert!(
            error.contains("broken.json") && error.contains("delete the file"),
            "{error}"
        );

        fs::remove_file(dir.path().join("broken.json")).unwrap();
        let moved = serde_json::to_vec(&sample()).unwrap();
        fs::write(dir.path().join("other.json"), moved).unwrap();
        let error = records.all().unwrap_err().to_string();
        assert!(error.contains("production%2Fr12%2F0.json"), "{error}");

        let future = serde_json::to_string(&sample())
            .unwrap()
            .replace("\"format\":1", "\"format\":2");
        assert!(
            InstanceRecord::from_json(future.as_bytes())
                .unwrap_err()
                .contains("format 2")
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = InstanceRecord::from_json(&bytes);
        }

        #[test]
        fn file_names_are_single_safe_components(id in "\\PC{1,30}") {
            let name = record_file_name(&id);
            prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_%.".contains(&b)));
            prop_assert!(!name.starts_with('.'));
            let decoded = percent_encoding::percent_decode_str(name.trim_end_matches(".json")).decode_utf8().unwrap();
            prop_assert_eq!(decoded, id);
        }
    }
}
