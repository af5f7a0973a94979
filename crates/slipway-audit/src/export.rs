//! The export format: JSON Lines. Line 1 is a header; every further line is one entry, in seq
//! order.
//!
//! ```text
//! {"type":"slipway-audit-export","version":1,"exported_at":"…","first_seq":1,"prev":"000…",
//!  "keys":[{"key_id":"…","algorithm":"ecdsa-p256","pem":"-----BEGIN PUBLIC KEY-----…"}],
//!  "checkpoints":[{"count":1000,"head":"…","at":"…","key_id":"…","signature":"…"}]}
//! {"seq":1,"at":"…","actor":"…","action":"run.created","subject":"…","details":{…},"prev":"000…","hash":"…"}
//! ```
//!
//! The checkpoints travel in the header, before the entries they vouch for, so a verifier
//! reads the file once, front to back, holding only the checkpoints. A partial export
//! (`--since`) starts at `first_seq`, and `prev` is the hash of the entry before it; the
//! header then carries the checkpoints from that entry on, so a checkpoint at `first_seq - 1`
//! vouches for the anchor and any later one for every entry up to its count.

use crate::checkpoint::SignedCheckpoint;
use crate::entry::Entry;
use crate::error::{AuditError, Result};
use crate::verify::{Anchor, ChainVerifier, VerifyReport};
use serde::{Deserialize, Serialize};
use slipway_sign::PublicKey;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The header's `type`.
pub const EXPORT_TYPE: &str = "slipway-audit-export";
/// The header's `version`.
pub const EXPORT_VERSION: u32 = 1;

/// The first line of an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportHeader {
    /// Always [`EXPORT_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Always [`EXPORT_VERSION`].
    pub version: u32,
    /// When the export was written (RFC 3339, UTC).
    pub exported_at: String,
    /// The seq of the first entry line.
    pub first_seq: i64,
    /// The hash of entry `first_seq - 1` (64 zeros when `first_seq` is 1).
    pub prev: String,
    /// The public keys that signed the checkpoints.
    pub keys: Vec<ExportKey>,
    /// The signed checkpoints from entry `first_seq - 1` on, oldest first.
    pub checkpoints: Vec<SignedCheckpoint>,
}

/// A public key in an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportKey {
    /// Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo.
    pub key_id: String,
    /// `ecdsa-p256` or `ed25519`.
    pub algorithm: String,
    /// PKIX PEM (`-----BEGIN PUBLIC KEY-----`).
    pub pem: String,
}

impl ExportKey {
    /// The export form of a public key.
    pub fn from_public_key(key: &PublicKey) -> ExportKey {
        ExportKey {
            key_id: key.key_id(),
            algorithm: key.algorithm().name().to_owned(),
            pem: key.to_pem(),
        }
    }
}

impl ExportHeader {
    /// A header for entries from `anchor`, with the keys and checkpoints to check them.
    pub fn new(
        anchor: &Anchor,
        exported_at: String,
        keys: &[PublicKey],
        checkpoints: Vec<SignedCheckpoint>,
    ) -> ExportHeader {
        ExportHeader {
            kind: EXPORT_TYPE.to_owned(),
            version: EXPORT_VERSION,
            exported_at,
            first_seq: anchor.first_seq,
            prev: anchor.prev.clone(),
            keys: keys.iter().map(ExportKey::from_public_key).collect(),
            checkpoints,
        }
    }

    /// Where the entries start.
    pub fn anchor(&self) -> Anchor {
        Anchor {
            first_seq: self.first_seq,
            prev: self.prev.clone(),
        }
    }

    /// The header's keys, read.
    pub fn public_keys(&self) -> Result<Vec<PublicKey>> {
        self.keys
            .iter()
            .map(|key| {
                PublicKey::from_pem(&key.pem).map_err(|e| AuditError::Details {
                    path: format!("/keys/{}", key.key_id),
                    problem: e.to_string(),
                })
            })
            .collect()
    }
}

/// Writes an export line by line.
pub struct ExportWriter<W: Write> {
    out: W,
    line: String,
}

impl<W: Write> ExportWriter<W> {
    /// Writes the header line.
    pub fn new(mut out: W, header: &ExportHeader) -> std::io::Result<ExportWriter<W>> {
        serde_json::to_writer(&mut out, header)?;
        out.write_all(b"\n")?;
        Ok(ExportWriter {
            out,
            line: String::new(),
        })
    }

    /// Writes one entry line.
    pub fn entry(&mut self, entry: &Entry) -> std::io::Result<()> {
        self.line.clear();
        // Writing into a String only fails for values serde cannot write; an entry with an
        // impossible timestamp is one.
        let line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        self.line.push_str(&line);
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// An export written to a temporary file beside its destination and renamed into place by
/// [`ExportFile::commit`], so a reader never sees half an export.
pub struct ExportFile {
    writer: ExportWriter<BufWriter<tempfile::NamedTempFile>>,
    path: PathBuf,
}

impl ExportFile {
    /// Starts an export to `path` with its header.
    pub fn create(path: &Path, header: &ExportHeader) -> Result<ExportFile> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let temp = tempfile::NamedTempFile::new_in(dir)
            .map_err(AuditError::io("create a file in", dir))?;
        let writer = ExportWriter::new(BufWriter::with_capacity(1 << 20, temp), header)
            .map_err(AuditError::io("write", path))?;
        Ok(ExportFile {
            writer,
            path: path.to_owned(),
        })
    }

    /// Writes one entry line.
    pub fn entry(&mut self, entry: &Entry) -> Result<()> {
        self.writer
            .entry(entry)
            .map_err(AuditError::io("write", &self.path))
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        let temp = self
            .writer
            .finish()
            .map_err(AuditError::io("write", &path))?
            .into_inner()
            .map_err(|e| AuditError::Io {
                action: "write",
                path: path.clone(),
                source: e.into_error(),
            })?;
        temp.as_file()
            .sync_all()
            .map_err(AuditError::io("sync", &path))?;
        temp.persist(&path).map_err(|e| AuditError::Io {
            action: "rename into",
            path,
            source: e.error,
        })?;
        Ok(())
    }
}

/// Reads an export: the header at once, then the entries as an iterator.
pub struct ExportReader<R: BufRead> {
    input: R,
    path: PathBuf,
    header: ExportHeader,
    line_number: u64,
    line: String,
}

impl<R: BufRead> ExportReader<R> {
    /// Reads and checks the header; `path` names the input in errors.
    pub fn new(mut input: R, path: &Path) -> Result<ExportReader<R>> {
        let mut line = String::new();
        input
            .read_line(&mut line)
            .map_err(AuditError::io("read", path))?;
        let problem = |problem: String| AuditError::Export {
            path: path.to_owned(),
            line: 1,
            problem,
        };
        if line.trim().is_empty() {
            return Err(problem(
                "the file is empty; expected the export header".into(),
            ));
        }
        let header: ExportHeader = serde_json::from_str(&line).map_err(|e| {
            problem(format!(
                "not a Slipway audit export header ({e}); write one with `slipway audit export`"
            ))
        })?;
        if header.kind != EXPORT_TYPE || header.version != EXPORT_VERSION {
            return Err(problem(format!(
                "header names `{}` version {}; this reads `{EXPORT_TYPE}` version {EXPORT_VERSION}",
                header.kind, header.version
            )));
        }
        Ok(ExportReader {
            input,
            path: path.to_owned(),
            header,
            line_number: 1,
            line,
        })
    }

    /// The header.
    pub fn header(&self) -> &ExportHeader {
        &self.header
    }

    /// The next entry: `None` at the end; `Some(Err)` for a line that is not an entry (its
    /// error names the line) or a read error.
    pub fn next_entry(&mut self) -> Option<Result<Entry>> {
        loop {
            self.line.clear();
            match self.input.read_line(&mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => {
                    return Some(Err(AuditError::Io {
                        action: "read",
                        path: self.path.clone(),
                        source,
                    }));
                }
            }
            self.line_number += 1;
            // A trailing blank line is not an entry; a blank line between entries is found
            // as a gap in seq by the verifier all the same.
            if self.line.trim().is_empty() {
                continue;
            }
            return Some(
                serde_json::from_str(&self.line).map_err(|e| AuditError::Export {
                    path: self.path.clone(),
                    line: self.line_number,
                    problem: format!("not an audit entry: {e}"),
                }),
            );
        }
    }
}

impl<R: BufRead> Iterator for ExportReader<R> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry()
    }
}

/// Verifies an export in one pass. The checkpoints must be signed by one of `trusted`, or,
/// when `trusted` is `None`, by one of the keys the export carries (the auditor then compares
/// [`ExportHeader::keys`] with the key ids they expect).
pub fn verify_export<R: BufRead>(
    mut reader: ExportReader<R>,
    trusted: Option<&[PublicKey]>,
) -> Result<VerifyReport> {
    let header = reader.header().clone();
    let embedded;
    let trusted = match trusted {
        Some(keys) => keys,
        None => {
            embedded = header.public_keys()?;
            &embedded
        }
    };
    let mut verifier = ChainVerifier::new(header.anchor(), header.checkpoints, trusted);
    while !verifier.failed() {
        match reader.next_entry() {
            None => break,
            Some(Ok(entry)) => {
                verifier.push(&entry);
            }
            Some(Err(error @ AuditError::Io { .. })) => return Err(error),
            Some(Err(problem)) => verifier.unreadable(problem.to_string()),
        }
    }
    Ok(verifier.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::entry::{Event, ZERO_HASH};
    use serde_json::json;
    use slipway_sign::{Algorithm, SigningKey};

    fn export(count: i64, key: &SigningKey) -> String {
        let mut entries = Vec::new();
        let mut prev = ZERO_HASH.to_owned();
        for seq in 1..=count {
            let event = Event::new("ci", "gates.evaluated", "sha256:ab", json!({"seq": seq}));
            let entry = Entry::chain(seq, seq, &event, &prev).unwrap();
            prev.clone_from(&entry.hash);
            entries.push(entry);
        }
        let checkpoint = Checkpoint {
            count,
            head: prev,
            at_ms: 9,
        }
        .sign(key)
        .unwrap();
        let header = ExportHeader::new(
            &Anchor::genesis(),
            "2026-01-01T00:00:00.000Z".into(),
            &[key.public_key()],
            vec![checkpoint],
        );
        let mut writer = ExportWriter::new(Vec::new(), &header).unwrap();
        for entry in &entries {
            writer.entry(entry).unwrap();
        }
        String::from_utf8(writer.finish().unwrap()).unwrap()
    }

    fn verify(text: &str, trusted: Option<&[PublicKey]>) -> VerifyReport {
        let reader = ExportReader::new(text.as_bytes(), Path::new("export.jsonl")).unwrap();
        verify_export(reader, trusted).unwrap()
    }

    #[test]
    fn an_export_verifies_with_its_own_keys_or_given_ones() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let text = export(5, &key);
        assert_eq!(text.lines().count(), 6);
        let report = verify(&text, None);
        assert!(report.ok, "{report:?}");
        assert_eq!((report.entries, report.checkpoints_verified), (5, 1));
        let other = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        assert!(!verify(&text, Some(&[other.public_key()])).ok);
    }

    #[test]
    fn a_damaged_line_is_the_first_bad_entry() {
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let text = export(5, &key);
        let damaged: String = text
            .lines()
            .enumerate()
            .map(|(index, line)| {
                if index == 3 {
                    "{\"seq\": 3, \"at\": 1}\n".to_owned()
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        let report = verify(&damaged, None);
        assert_eq!(report.first_bad, Some(3));
        assert!(report.reason.unwrap().contains("export.jsonl:4"));
        let cut: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
        assert_eq!(verify(&cut, None).first_bad, Some(4));
    }

    #[test]
    fn headers_are_checked() {
        for (text, expected) in [
            ("", "empty"),
            ("{}\n", "not a Slipway audit export header"),
            (
                "{\"type\":\"other\",\"version\":1,\"exported_at\":\"\",\"first_seq\":1,\"prev\":\"\",\"keys\":[],\"checkpoints\":[]}\n",
                "names `other`",
            ),
        ] {
            let error = ExportReader::new(text.as_bytes(), Path::new("x.jsonl"))
                .err()
                .unwrap()
                .to_string();
            assert!(
                error.contains(expected) && error.contains("x.jsonl:1"),
                "{error}"
            );
        }
    }
}
