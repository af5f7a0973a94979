//! Content-addressed blobs on top of `object_store`: `blobs/sha256/<hex>`, written once,
//! verified on every read.

use crate::digest::{COPY_BUF, copy_hashing};
use crate::error::{Result, blocking};
use crate::{Digest, Error};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as StorePath;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt, PutMode, PutPayload};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tempfile::{NamedTempFile, TempDir, TempPath};
use tokio::runtime::Handle;

const BLOB_PREFIX: &str = "blobs/sha256";
const STAGING_PREFIX: &str = "staging";
/// Staged files older than this are leftovers of a crashed writer and are removed on open.
const STALE_STAGING: Duration = Duration::from_secs(24 * 3600);
/// Part size for uploads to stores that cannot take a staged file by rename (S3's minimum is 5 MiB).
const UPLOAD_PART: usize = 8 << 20;

/// A content-addressed blob store shared by caches, job outputs and (later) OCI artifacts.
///
/// Cheap to clone. Writes go through a local staging file that is hashed while it is written and
/// then published under its digest atomically, so a half-written blob is never visible and a blob
/// that already exists is never rewritten.
#[derive(Clone, Debug)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ObjectStore>,
    /// Where archives and copies are staged before they are published.
    staging: PathBuf,
    /// Whether `staging` is the store's own `staging/` prefix, so publishing is a rename.
    staging_in_store: bool,
    /// Keeps a private staging directory alive for stores with no local directory.
    _staging_dir: Option<TempDir>,
}

impl BlobStore {
    /// Opens a store from a location: a directory path or `file:///abs/path` (the local
    /// filesystem; created if missing), or `memory://` (in-process, for tests). Other schemes
    /// (`s3://`) are refused until their backend is built in.
    pub fn open(location: &str) -> Result<Self> {
        if location == "memory://" {
            let staging_dir = tempfile::Builder::new()
                .prefix("slipway-cas-staging-")
                .tempdir()
                .map_err(Error::io(
                    "create a staging directory in",
                    std::env::temp_dir(),
                ))?;
            return Ok(Self {
                inner: Arc::new(Inner {
                    store: Arc::new(InMemory::new()),
                    staging: staging_dir.path().to_owned(),
                    staging_in_store: false,
                    _staging_dir: Some(staging_dir),
                }),
            });
        }
        let dir = match location.split_once("://") {
            None => PathBuf::from(location),
            Some(("file", path)) if path.starts_with('/') => PathBuf::from(path),
            Some(_) => return Err(Error::UnsupportedLocation(location.to_owned())),
        };
        Self::local(&dir)
    }

    /// Opens (creating if needed) a store in a local directory.
    pub fn local(dir: &Path) -> Result<Self> {
        let staging = dir.join(STAGING_PREFIX);
        std::fs::create_dir_all(&staging).map_err(Error::io("create", &staging))?;
        remove_stale_staging(&staging);
        let store =
            LocalFileSystem::new_with_prefix(dir).map_err(Error::store("open", dir.display()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                store: Arc::new(store),
                staging,
                staging_in_store: true,
                _staging_dir: None,
            }),
        })
    }

    /// The local directory where blobs are staged before they are published.
    pub fn staging_dir(&self) -> &Path {
        &self.inner.staging
    }

    pub(crate) fn object_store(&self) -> &dyn ObjectStore {
        self.inner.store.as_ref()
    }

    /// Copies a file into the store, hashing it in the same pass. Returns its digest; a blob that
    /// is already present is left as it is.
    pub async fn put_file(&self, path: &Path) -> Result<Digest> {
        let staged = self.stage()?;
        let source = path.to_owned();
        let (digest, staged) = blocking(move || {
            let mut input = File::open(&source).map_err(Error::io("open", &source))?;
            let (file, staged) = staged.into_parts();
            let mut out = BufWriter::with_capacity(COPY_BUF, file);
            let (digest, _) = copy_hashing(&mut input, &mut out).map_err(|e| {
                // Either side may have failed; the source path is the useful one to name.
                Error::Io {
                    action: "copy into the store",
                    path: source.clone(),
                    source: e,
                }
            })?;
            out.flush().map_err(Error::io("write", &staged))?;
            Ok((digest, staged))
        })
        .await?;
        self.publish(staged, &digest).await?;
        Ok(digest)
    }

    /// Stores `bytes` as a blob and returns its digest.
    pub async fn put_bytes(&self, bytes: impl Into<Bytes>) -> Result<Digest> {
        let bytes = bytes.into();
        let digest = Digest::of(&bytes);
        let key = blob_key(&digest);
        // `Create` makes the write atomic and never replaces an existing blob.
        match self
            .object_store()
            .put_opts(&key, PutPayload::from(bytes), PutMode::Create.into())
            .await
        {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(digest),
            Err(e) => Err(Error::store("write", &key)(e)),
        }
    }

    /// Copies a blob to `dest` (replacing it), verifying its digest on the way: a corrupted blob
    /// is an error and leaves `dest` untouched. Returns the size in bytes.
    pub async fn get_to_file(&self, digest: &Digest, dest: &Path) -> Result<u64> {
        let reader = self.open_blob(digest).await?;
        let digest = *digest;
        let dest = dest.to_owned();
        blocking(move || {
            let parent = match dest.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            };
            std::fs::create_dir_all(&parent).map_err(Error::io("create", &parent))?;
            let temp =
                NamedTempFile::new_in(&parent).map_err(Error::io("create a file in", &parent))?;
            let (file, temp) = temp.into_parts();
            let mut out = BufWriter::with_capacity(COPY_BUF, file);
            let mut reader = reader;
            let (actual, len) = copy_hashing(&mut reader, &mut out)
                .map_err(Error::io("copy the blob to", &dest))?;
            out.flush().map_err(Error::io("write", &dest))?;
            if actual != digest {
                return Err(Error::Corrupt { digest, actual });
            }
            temp.persist(&dest).map_err(|e| Error::Io {
                action: "write",
                path: dest,
                source: e.error,
            })?;
            Ok(len)
        })
        .await
    }

    /// Reads a whole blob into memory, verifying its digest. For small blobs (manifests, indexes).
    pub async fn get_bytes(&self, digest: &Digest) -> Result<Bytes> {
        let key = blob_key(digest);
        let bytes = match self.object_store().get(&key).await {
            Ok(got) => got.bytes().await.map_err(Error::store("read", &key))?,
            Err(object_store::Error::NotFound { .. }) => return Err(Error::BlobNotFound(*digest)),
            Err(e) => return Err(Error::store("read", &key)(e)),
        };
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(Error::Corrupt {
                digest: *digest,
                actual,
            });
        }
        Ok(bytes)
    }

    /// Whether the blob is present.
    pub async fn exists(&self, digest: &Digest) -> Result<bool> {
        let key = blob_key(digest);
        match self.object_store().head(&key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(Error::store("look up", &key)(e)),
        }
    }

    /// The size of a blob in bytes, or `None` when it is not there.
    pub async fn size(&self, digest: &Digest) -> Result<Option<u64>> {
        let key = blob_key(digest);
        match self.object_store().head(&key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::store("look up", &key)(e)),
        }
    }

    /// Removes a blob. Removing a blob that is not there is not an error.
    pub async fn delete(&self, digest: &Digest) -> Result<()> {
        let key = blob_key(digest);
        match self.object_store().delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::store("delete", &key)(e)),
        }
    }

    /// Every blob in the store, sorted. Objects under the blob prefix whose names are not
    /// digests are ignored.
    pub async fn list(&self) -> Result<Vec<Digest>> {
        let prefix = StorePath::from(BLOB_PREFIX);
        let mut listing = self.object_store().list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(Error::store("list", &prefix))?;
            if let Some(digest) = meta
                .location
                .filename()
                .and_then(|name| Digest::from_hex(name).ok())
            {
                out.push(digest);
            }
        }
        out.sort();
        Ok(out)
    }

    /// A new, empty staging file; removed again if it is dropped before being published with
    /// [`BlobStore::publish`].
    pub fn stage(&self) -> Result<NamedTempFile> {
        // Plain ASCII names, so the file is also a valid object_store path under `staging/`.
        tempfile::Builder::new()
            .prefix("stage-")
            .suffix(".part")
            .tempfile_in(&self.inner.staging)
            .map_err(Error::io("create a staging file in", &self.inner.staging))
    }

    /// Publishes a fully written staging file as the blob `digest`, which the caller hashed while
    /// writing it: the store does not hash it again (every read verifies it). A blob that already
    /// exists is kept and the staged copy discarded.
    pub async fn publish(&self, staged: TempPath, digest: &Digest) -> Result<()> {
        let key = blob_key(digest);
        if self.inner.staging_in_store {
            let name = staged
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let from = StorePath::from(format!("{STAGING_PREFIX}/{name}"));
            // A hard link into place: atomic, and it fails rather than replace an existing blob.
            return match self.object_store().rename_if_not_exists(&from, &key).await {
                Ok(()) => {
                    // The store moved the file away; nothing is left for the guard to remove.
                    staged.keep().map_err(|e| Error::Io {
                        action: "publish",
                        path: e.path.to_path_buf(),
                        source: e.error,
                    })?;
                    Ok(())
                }
                Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
                Err(e) => Err(Error::store("publish", &key)(e)),
            };
        }
        if self.exists(digest).await? {
            return Ok(());
        }
        self.upload(staged, &key).await
    }

    /// Uploads a staged file to a store that has no local directory: in one put when small, else
    /// in parts, read on a blocking thread. The object becomes visible only when complete.
    async fn upload(&self, staged: TempPath, key: &StorePath) -> Result<()> {
        let size = std::fs::metadata(&staged)
            .map_err(Error::io("read", staged.to_path_buf()))?
            .len();
        if size <= UPLOAD_PART as u64 {
            let path = staged.to_path_buf();
            let bytes =
                blocking(move || std::fs::read(&path).map_err(Error::io("read", &path))).await?;
            self.object_store()
                .put(key, PutPayload::from(bytes))
                .await
                .map_err(Error::store("write", key))?;
            return Ok(());
        }
        let mut upload = self
            .object_store()
            .put_multipart(key)
            .await
            .map_err(Error::store("start an upload of", key))?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>>>(2);
        let path = staged.to_path_buf();
        let reader = tokio::task::spawn_blocking(move || {
            let send = |part| tx.blocking_send(part).is_ok();
            let mut file = match File::open(&path) {
                Ok(f) => f,
                Err(e) => return send(Err(Error::io("read", &path)(e))),
            };
            loop {
                let mut part = Vec::with_capacity(UPLOAD_PART);
                match (&mut file).take(UPLOAD_PART as u64).read_to_end(&mut part) {
                    Ok(0) => return true,
                    Ok(_) if send(Ok(part)) => {}
                    Ok(_) => return false,
                    Err(e) => return send(Err(Error::io("read", &path)(e))),
                }
            }
        });
        let mut failure = None;
        while let Some(part) = rx.recv().await {
            let result = match part {
                Ok(part) => upload
                    .put_part(PutPayload::from(part))
                    .await
                    .map_err(Error::store("upload", key)),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                failure = Some(e);
                break;
            }
        }
        drop(rx);
        reader.await.map_err(|e| Error::Task(e.to_string()))?;
        match failure {
            None => upload
                .complete()
                .await
                .map(drop)
                .map_err(Error::store("complete an upload of", key)),
            Some(e) => {
                // Best effort: the failure is what matters to the caller.
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }

    /// A blocking reader over a blob, for archive extraction on a blocking thread.
    pub(crate) async fn open_blob(&self, digest: &Digest) -> Result<BlobReader> {
        let key = blob_key(digest);
        let got = match self.object_store().get(&key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Err(Error::BlobNotFound(*digest)),
            Err(e) => return Err(Error::store("read", &key)(e)),
        };
        Ok(match got.payload {
            // The local store hands out the open file: read it directly, no copies through async.
            GetResultPayload::File(file, _) => BlobReader::File(file),
            GetResultPayload::Stream(stream) => BlobReader::Stream {
                handle: Handle::current(),
                stream,
                chunk: Bytes::new(),
            },
        })
    }
}

/// A blob's content as a blocking reader. Not verified by itself: callers hash what they read.
pub(crate) enum BlobReader {
    File(File),
    /// A remote stream, pulled from a blocking thread with the runtime's handle.
    Stream {
        handle: Handle,
        stream: BoxStream<'static, object_store::Result<Bytes>>,
        chunk: Bytes,
    },
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BlobReader::File(file) => file.read(buf),
            BlobReader::Stream {
                handle,
                stream,
                chunk,
            } => {
                while chunk.is_empty() {
                    match handle.block_on(stream.next()) {
                        Some(Ok(next)) => *chunk = next,
                        Some(Err(e)) => return Err(io::Error::other(e)),
                        None => return Ok(0),
                    }
                }
                let n = buf.len().min(chunk.len());
                buf[..n].copy_from_slice(&chunk.split_to(n));
                Ok(n)
            }
        }
    }
}

fn blob_key(digest: &Digest) -> StorePath {
    StorePath::from(format!("{BLOB_PREFIX}/{}", digest.hex()))
}

/// Best-effort removal of staging files left by writers that crashed; a failure here only leaves
/// garbage behind, so it is not reported.
fn remove_stale_staging(staging: &Path) {
    let Ok(entries) = std::fs::read_dir(staging) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| {
                now.duration_since(modified)
                    .is_ok_and(|age| age > STALE_STAGING)
            });
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
