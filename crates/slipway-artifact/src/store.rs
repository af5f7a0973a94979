//! The artifact store: blobs in the content-addressed object store, the index (artifacts, tags,
//! evidence) in the run store. Packaging, inspection, evidence, unpacking and deletion.

use crate::error::{Error, Result};
use crate::layer::{self, Compression};
use crate::oci::{ImageConfig, Manifest};
use crate::package::{self, ArtifactSpec, Packaged};
use slipway_cas::{BlobStore, Digest};
use slipway_store::{ArtifactRecord, EvidenceRecord, NewArtifact, Store, now_ms};
use std::path::Path;
use std::sync::Arc;

/// The object store's directory inside a state directory (shared with caches and outputs).
pub const OBJECTS_DIR: &str = "objects";

/// Where an artifact came from: the run that built it.
#[derive(Clone, Debug)]
pub struct Origin {
    pub run_id: Option<String>,
    pub repository: String,
    pub commit_sha: String,
    pub git_ref: String,
    pub event: String,
}

/// Evidence to attach: a signed envelope (or other document) about a subject digest.
#[derive(Clone, Debug)]
pub struct NewEvidence {
    pub kind: String,
    pub predicate_type: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// An artifact with its manifest and configuration read back from the store.
#[derive(Clone, Debug)]
pub struct Inspection {
    pub record: ArtifactRecord,
    pub manifest: Manifest,
    pub config: ImageConfig,
    pub evidence: Vec<EvidenceRecord>,
}

/// The artifact store. Cheap to clone.
#[derive(Clone)]
pub struct Artifacts {
    blobs: BlobStore,
    index: Arc<Store>,
}

impl Artifacts {
    pub fn new(blobs: BlobStore, index: Arc<Store>) -> Self {
        Self { blobs, index }
    }

    /// The embedded default: blobs under `<state>/objects`, the index in the state's store.
    pub async fn open_in(state_dir: &Path) -> Result<Self> {
        let index = Store::open_in(state_dir).await?;
        let blobs = BlobStore::local(&state_dir.join(OBJECTS_DIR))?;
        Ok(Self::new(blobs, Arc::new(index)))
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    pub fn index(&self) -> &Store {
        &self.index
    }

    /// Packages `spec`, records the artifact and tags it. The same content gives the same
    /// digest; a tag that already names another digest is refused.
    pub async fn create(
        &self,
        spec: &ArtifactSpec,
        origin: &Origin,
        tag: &str,
    ) -> Result<(Packaged, ArtifactRecord)> {
        let packaged = package::package(&self.blobs, spec).await?;
        let record = self
            .index
            .record_artifact(
                &NewArtifact {
                    digest: packaged.digest.to_string(),
                    name: spec.name.clone(),
                    run_id: origin.run_id.clone(),
                    repository: origin.repository.clone(),
                    commit_sha: origin.commit_sha.clone(),
                    git_ref: origin.git_ref.clone(),
                    event: origin.event.clone(),
                    size: i64::try_from(packaged.size).unwrap_or(i64::MAX),
                    blobs: packaged.blobs.iter().map(Digest::to_string).collect(),
                },
                tag,
            )
            .await?;
        Ok((packaged, record))
    }

    /// Finds an artifact by digest, digest prefix or tag.
    pub async fn resolve(&self, reference: &str) -> Result<ArtifactRecord> {
        Ok(self.index.resolve_artifact(reference).await?)
    }

    /// The artifact's manifest as stored: its exact bytes (verified against the digest) and
    /// their parsed form.
    pub async fn manifest(&self, digest: &str) -> Result<(Manifest, bytes::Bytes)> {
        let bytes = self.blobs.get_bytes(&parse_digest(digest)?).await?;
        let manifest = serde_json::from_slice(&bytes).map_err(|e| Error::BadManifest {
            digest: digest.to_owned(),
            reason: e.to_string(),
        })?;
        Ok((manifest, bytes))
    }

    /// The image configuration a manifest names (verified against its digest).
    pub async fn config(&self, manifest: &Manifest) -> Result<ImageConfig> {
        let bytes = self
            .blobs
            .get_bytes(&parse_digest(&manifest.config.digest)?)
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::BadManifest {
            digest: manifest.config.digest.clone(),
            reason: format!("its config is not an OCI image config: {e}"),
        })
    }

    /// An artifact with its manifest, config and evidence.
    pub async fn inspect(&self, reference: &str) -> Result<Inspection> {
        let record = self.resolve(reference).await?;
        let (manifest, _) = self.manifest(&record.digest).await?;
        let config = self.config(&manifest).await?;
        let evidence = self.index.evidence_for(&record.digest).await?;
        Ok(Inspection {
            record,
            manifest,
            config,
            evidence,
        })
    }

    /// Stores a piece of evidence about `subject` under its own digest and indexes it.
    pub async fn attach_evidence(
        &self,
        subject: &str,
        evidence: NewEvidence,
    ) -> Result<EvidenceRecord> {
        let size = i64::try_from(evidence.bytes.len()).unwrap_or(i64::MAX);
        let digest = self.blobs.put_bytes(evidence.bytes).await?;
        let record = EvidenceRecord {
            digest: digest.to_string(),
            subject: subject.to_owned(),
            kind: evidence.kind,
            predicate_type: evidence.predicate_type,
            media_type: evidence.media_type,
            size,
            created_at: now_ms(),
        };
        self.index.record_evidence(&record).await?;
        Ok(record)
    }

    /// The evidence attached to a digest.
    pub async fn evidence(&self, subject: &str) -> Result<Vec<EvidenceRecord>> {
        Ok(self.index.evidence_for(subject).await?)
    }

    /// The bytes of a piece of evidence (verified against its digest).
    pub async fn evidence_bytes(&self, digest: &str) -> Result<bytes::Bytes> {
        Ok(self.blobs.get_bytes(&parse_digest(digest)?).await?)
    }

    /// Extracts the image's filesystem into a fresh directory in the store's staging area
    /// (same file system as the blobs), removed when the returned value is dropped.
    pub async fn unpack_to_scratch(
        &self,
        manifest: &Manifest,
        config: &ImageConfig,
        prefix: &str,
    ) -> Result<tempfile::TempDir> {
        let staging = self.blobs.staging_dir();
        let scratch = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(staging)
            .map_err(Error::io("create a directory in", staging))?;
        self.unpack(manifest, config, scratch.path()).await?;
        Ok(scratch)
    }

    /// Extracts the image's filesystem into `dest`, layer by layer, verifying every layer's
    /// compressed digest and uncompressed `diff_id`. Returns the number of files.
    pub async fn unpack(
        &self,
        manifest: &Manifest,
        config: &ImageConfig,
        dest: &Path,
    ) -> Result<u64> {
        std::fs::create_dir_all(dest).map_err(Error::io("create", dest))?;
        let mut files = 0;
        for (index, layer) in manifest.layers.iter().enumerate() {
            let compression =
                Compression::of_media_type(&layer.media_type).ok_or_else(|| Error::BadLayer {
                    digest: layer.digest.clone(),
                    reason: format!("unsupported media type {}", layer.media_type),
                })?;
            let staged = tempfile::NamedTempFile::new_in(self.blobs.staging_dir())
                .map_err(Error::io("create a file in", self.blobs.staging_dir()))?;
            self.blobs
                .get_to_file(&parse_digest(&layer.digest)?, staged.path())
                .await?;
            let diff_id = config.rootfs.diff_ids.get(index).cloned();
            let (target, layer_digest) = (dest.to_owned(), layer.digest.clone());
            files += tokio::task::spawn_blocking(move || {
                let file =
                    std::fs::File::open(staged.path()).map_err(Error::io("open", staged.path()))?;
                layer::extract(
                    file,
                    compression,
                    diff_id.as_deref(),
                    &target,
                    &layer_digest,
                )
            })
            .await
            .map_err(|e| Error::Io {
                action: "unpack",
                path: dest.to_owned(),
                source: std::io::Error::other(e),
            })??;
        }
        Ok(files)
    }

    /// Removes an artifact, its tags and its evidence, and deletes the blobs nothing else
    /// refers to. Returns the bytes freed.
    pub async fn delete(&self, digest: &str) -> Result<u64> {
        let unreferenced = self.index.delete_artifact(digest).await?;
        let mut freed = 0;
        for blob in unreferenced {
            let digest = parse_digest(&blob)?;
            freed += self.blobs.size(&digest).await?.unwrap_or(0);
            self.blobs.delete(&digest).await?;
        }
        Ok(freed)
    }
}

/// Parses `sha256:<hex>`.
pub fn parse_digest(digest: &str) -> Result<Digest> {
    Ok(digest.parse::<Digest>()?)
}
