//! Caches: immutable keys naming archive blobs. A lookup tries the exact key, then each
//! restore-key as a prefix, newest entry first (the semantics of GitHub's `actions/cache`).
//!
//! Each key has one index object, `caches/index/<sha256(key)>.json`, created with a
//! create-if-absent put so that a key, once saved, never changes. Prefix lookups list the index;
//! that is one small read per cache entry, fine for a local store.

use crate::archive::{self, PackOptions, PackResult, PathSpec, Roots, UnpackResult};
use crate::blob::BlobStore;
use crate::error::Result;
use crate::{Digest, Error};
use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutMode, PutPayload};
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

const INDEX_PREFIX: &str = "caches/index";
/// The longest key accepted, as in GitHub Actions.
const MAX_KEY_LEN: usize = 512;

/// One saved cache: the index object of a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    pub key: String,
    /// The archive blob.
    pub digest: Digest,
    /// When the entry was saved, in milliseconds since the Unix epoch.
    pub created: u64,
    /// Size of the archive blob in bytes.
    pub size: u64,
}

/// The outcome of [`CacheStore::lookup`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The exact key was found.
    Hit {
        key: String,
        digest: Digest,
    },
    /// A restore-key matched the start of an existing key.
    Partial {
        matched_key: String,
        digest: Digest,
    },
    Miss,
}

impl Lookup {
    /// The archive to restore, if any.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            Lookup::Hit { digest, .. } | Lookup::Partial { digest, .. } => Some(digest),
            Lookup::Miss => None,
        }
    }

    /// `hit`, `partial` or `miss`, as shown in the run summary.
    pub fn status(&self) -> &'static str {
        match self {
            Lookup::Hit { .. } => "hit",
            Lookup::Partial { .. } => "partial",
            Lookup::Miss => "miss",
        }
    }
}

/// The outcome of [`CacheStore::save`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved,
    /// The key was already saved (keys are immutable); nothing changed.
    AlreadyExists,
}

/// The outcome of [`CacheStore::save_paths`].
#[derive(Clone, Debug)]
pub enum SavedPaths {
    /// The paths were archived and saved under the key.
    Saved(PackResult),
    /// The key was already saved, so nothing was archived.
    AlreadyExists,
    /// None of the paths exist, so no cache was saved.
    NothingToSave,
}

/// Caches over a [`BlobStore`]; the archives are ordinary blobs, shared with everything else.
#[derive(Clone, Debug)]
pub struct CacheStore {
    blobs: BlobStore,
}

impl CacheStore {
    pub fn new(blobs: BlobStore) -> Self {
        Self { blobs }
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Finds the cache to restore: `key` exactly, else the newest entry whose key starts with the
    /// first restore-key that matches anything, and so on. Entries whose blob is gone are passed
    /// over.
    pub async fn lookup(&self, key: &str, restore_keys: &[String]) -> Result<Lookup> {
        check_key(key)?;
        for prefix in restore_keys {
            if prefix.is_empty() {
                return Err(Error::InvalidKey {
                    key: prefix.clone(),
                    reason: "restore keys must not be empty",
                });
            }
        }
        if let Some(entry) = self.entry(key).await?
            && self.blobs.exists(&entry.digest).await?
        {
            return Ok(Lookup::Hit {
                key: entry.key,
                digest: entry.digest,
            });
        }
        if restore_keys.is_empty() {
            return Ok(Lookup::Miss);
        }
        let mut entries = self.entries().await?;
        // Newest first; the key breaks ties so the choice never depends on listing order.
        entries.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.key.cmp(&a.key)));
        for prefix in restore_keys {
            for entry in entries
                .iter()
                .filter(|e| e.key.starts_with(prefix.as_str()))
            {
                if self.blobs.exists(&entry.digest).await? {
                    return Ok(Lookup::Partial {
                        matched_key: entry.key.clone(),
                        digest: entry.digest,
                    });
                }
            }
        }
        Ok(Lookup::Miss)
    }

    /// Records `digest` (an archive of `size` bytes, already in the store) under `key`, unless the
    /// key exists.
    pub async fn save(&self, key: &str, digest: &Digest, size: u64) -> Result<SaveOutcome> {
        check_key(key)?;
        if !self.blobs.exists(digest).await? {
            return Err(Error::BlobNotFound(*digest));
        }
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let entry = CacheEntry {
            key: key.to_owned(),
            digest: *digest,
            created,
            size,
        };
        let location = index_key(key);
        let json = serde_json::to_vec(&entry).map_err(|source| Error::Index {
            location: location.to_string(),
            source,
        })?;
        match self
            .blobs
            .object_store()
            .put_opts(&location, PutPayload::from(json), PutMode::Create.into())
            .await
        {
            Ok(_) => Ok(SaveOutcome::Saved),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(SaveOutcome::AlreadyExists),
            Err(e) => Err(Error::store("write", location)(e)),
        }
    }

    /// Archives `paths` and saves them under `key`: the whole of a cache save after a job.
    /// Nothing is archived when the key exists already or none of the paths exist.
    pub async fn save_paths(
        &self,
        key: &str,
        roots: &Roots,
        paths: &[PathSpec],
        options: &PackOptions,
    ) -> Result<SavedPaths> {
        check_key(key)?;
        if self.entry(key).await?.is_some() {
            return Ok(SavedPaths::AlreadyExists);
        }
        let mut any = false;
        for spec in paths {
            if let Some(root) = match spec.root() {
                archive::Root::Workspace => Some(&roots.workspace),
                archive::Root::Home => roots.home.as_ref(),
            } {
                any |= std::fs::symlink_metadata(root.join(spec.path())).is_ok();
            }
        }
        if !any {
            return Ok(SavedPaths::NothingToSave);
        }
        let packed = archive::pack(&self.blobs, roots, paths, options).await?;
        Ok(
            match self.save(key, &packed.digest, packed.bytes_out).await? {
                SaveOutcome::Saved => SavedPaths::Saved(packed),
                SaveOutcome::AlreadyExists => SavedPaths::AlreadyExists,
            },
        )
    }

    /// Restores what a lookup found; `None` for a miss.
    pub async fn restore(&self, lookup: &Lookup, roots: &Roots) -> Result<Option<UnpackResult>> {
        match lookup.digest() {
            Some(digest) => archive::unpack(&self.blobs, digest, roots).await.map(Some),
            None => Ok(None),
        }
    }

    /// The index entry of exactly `key`.
    pub async fn entry(&self, key: &str) -> Result<Option<CacheEntry>> {
        let location = index_key(key);
        let bytes = match self.blobs.object_store().get(&location).await {
            Ok(got) => got.bytes().await.map_err(Error::store("read", &location))?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(Error::store("read", location)(e)),
        };
        let entry = parse_entry(&location, &bytes)?;
        Ok((entry.key == key).then_some(entry))
    }

    /// Every saved cache, in no particular order.
    pub async fn entries(&self) -> Result<Vec<CacheEntry>> {
        let prefix = StorePath::from(INDEX_PREFIX);
        let mut listing = self.blobs.object_store().list(Some(&prefix));
        let mut entries = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(Error::store("list", &prefix))?;
            let bytes = match self.blobs.object_store().get(&meta.location).await {
                Ok(got) => got
                    .bytes()
                    .await
                    .map_err(Error::store("read", &meta.location))?,
                // Listed, then deleted: skip it.
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(Error::store("read", &meta.location)(e)),
            };
            entries.push(parse_entry(&meta.location, &bytes)?);
        }
        Ok(entries)
    }
}

fn check_key(key: &str) -> Result<()> {
    let invalid = |reason| {
        Err(Error::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return invalid("it is empty");
    }
    if key.len() > MAX_KEY_LEN {
        return invalid("it is longer than 512 bytes");
    }
    Ok(())
}

fn index_key(key: &str) -> StorePath {
    StorePath::from(format!(
        "{INDEX_PREFIX}/{}.json",
        Digest::of(key.as_bytes()).hex()
    ))
}

fn parse_entry(location: &StorePath, bytes: &[u8]) -> Result<CacheEntry> {
    serde_json::from_slice(bytes).map_err(|source| Error::Index {
        location: location.to_string(),
        source,
    })
}
