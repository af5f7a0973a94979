//! OCI image layouts (image-spec `image-layout.md`): the interchange form of an artifact. An
//! export holds the image and, as referrer manifests whose `subject` is the image, every piece
//! of evidence — the shape registries serve through the OCI 1.1 referrers API.

use crate::error::{Error, Result};
use crate::oci::{
    ANNOTATION_CREATED, ANNOTATION_REF_NAME, ANNOTATION_REVISION, ANNOTATION_SOURCE,
    ANNOTATION_TITLE, Descriptor, EMPTY_JSON, Index, MEDIA_TYPE_EMPTY, MEDIA_TYPE_INDEX,
    MEDIA_TYPE_MANIFEST, Manifest,
};
use crate::package::{rfc3339, to_json};
use crate::store::{Artifacts, NewEvidence, Origin, parse_digest};
use slipway_cas::Digest;
use slipway_store::NewArtifact;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Annotation naming what kind of evidence a referrer carries (`provenance`, `sbom-cyclonedx`…).
pub const ANNOTATION_EVIDENCE_KIND: &str = "dev.slipway.evidence.kind";
/// Annotation carrying the in-toto predicate type of a referrer's statement.
pub const ANNOTATION_PREDICATE_TYPE: &str = "dev.slipway.evidence.predicate-type";

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct Exported {
    pub digest: String,
    pub blobs: usize,
    pub referrers: usize,
    pub bytes: u64,
}

/// What an import recorded.
#[derive(Clone, Debug)]
pub struct Imported {
    pub digest: String,
    pub tags: Vec<String>,
    pub evidence: usize,
}

/// Writes the artifact `reference` (with its evidence as referrers when `with_evidence`) as an
/// OCI image layout in `dest`, which must not exist or be empty. The layout is assembled in a
/// sibling directory and renamed into place, so `dest` is complete or absent.
pub async fn export(
    artifacts: &Artifacts,
    reference: &str,
    dest: &Path,
    with_evidence: bool,
) -> Result<Exported> {
    if let Ok(mut entries) = fs::read_dir(dest)
        && entries.next().is_some()
    {
        return Err(Error::ExportTargetNotEmpty(dest.to_owned()));
    }
    let record = artifacts.resolve(reference).await?;
    let (manifest, manifest_bytes) = artifacts.manifest(&record.digest).await?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(Error::io("create", &parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".slipway-export-")
        .tempdir_in(&parent)
        .map_err(Error::io("create a directory in", &parent))?;
    let root = staging.path();
    fs::create_dir_all(root.join("blobs/sha256")).map_err(Error::io("create", root))?;
    fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .map_err(Error::io("write", root.join("oci-layout")))?;

    let mut bytes = 0;
    let mut blobs = 0;
    for descriptor in std::iter::once(&manifest.config).chain(&manifest.layers) {
        bytes += copy_blob(artifacts, &descriptor.digest, root).await?;
        blobs += 1;
    }
    write_blob(root, &manifest_bytes)?;
    blobs += 1;
    bytes += manifest_bytes.len() as u64;

    let image = Descriptor::new(
        MEDIA_TYPE_MANIFEST,
        record.digest.clone(),
        manifest_bytes.len() as u64,
    );
    let mut index = Vec::new();
    if record.tags.is_empty() {
        index.push(image.clone());
    }
    for tag in &record.tags {
        let mut named = image.clone();
        named
            .annotations
            .insert(ANNOTATION_REF_NAME.to_owned(), tag.clone());
        index.push(named);
    }

    let mut referrers = 0;
    if with_evidence {
        write_blob(root, EMPTY_JSON)?;
        for evidence in artifacts.evidence(&record.digest).await? {
            bytes += copy_blob(artifacts, &evidence.digest, root).await?;
            let annotations = BTreeMap::from([
                (
                    ANNOTATION_CREATED.to_owned(),
                    rfc3339(evidence.created_at / 1000),
                ),
                (ANNOTATION_EVIDENCE_KIND.to_owned(), evidence.kind.clone()),
                (
                    ANNOTATION_PREDICATE_TYPE.to_owned(),
                    evidence.predicate_type.clone(),
                ),
            ]);
            let referrer = Manifest {
                schema_version: 2,
                media_type: MEDIA_TYPE_MANIFEST.to_owned(),
                artifact_type: Some(evidence.media_type.clone()),
                config: Descriptor::new(
                    MEDIA_TYPE_EMPTY,
                    Digest::of(EMPTY_JSON).to_string(),
                    EMPTY_JSON.len() as u64,
                ),
                layers: vec![Descriptor::new(
                    &evidence.media_type,
                    evidence.digest.clone(),
                    u64::try_from(evidence.size).unwrap_or(0),
                )],
                subject: Some(image.clone()),
                annotations: annotations.clone(),
            };
            let referrer_bytes = to_json(&referrer);
            let referrer_digest = write_blob(root, &referrer_bytes)?;
            let mut descriptor = Descriptor::new(
                MEDIA_TYPE_MANIFEST,
                referrer_digest.to_string(),
                referrer_bytes.len() as u64,
            );
            descriptor.artifact_type = Some(evidence.media_type.clone());
            descriptor.annotations = annotations;
            index.push(descriptor);
            referrers += 1;
            blobs += 2;
        }
    }
    let index = Index {
        schema_version: 2,
        media_type: MEDIA_TYPE_INDEX.to_owned(),
        manifests: index,
    };
    fs::write(root.join("index.json"), to_json(&index))
        .map_err(Error::io("write", root.join("index.json")))?;
    if dest.exists() {
        fs::remove_dir(dest).map_err(Error::io("replace", dest))?;
    }
    let kept = staging.keep();
    fs::rename(&kept, dest).map_err(|e| {
        let _ = fs::remove_dir_all(&kept);
        Error::io("move the layout to", dest)(e)
    })?;
    Ok(Exported {
        digest: record.digest,
        blobs,
        referrers,
        bytes,
    })
}

/// Records every image of an OCI layout (and its referrers as evidence) in the store. Every
/// blob is checked against its digest on the way in; tags come from `ref.name` annotations and
/// are refused if they already name another digest.
pub async fn import(
    artifacts: &Artifacts,
    layout: &Path,
    origin: &Origin,
) -> Result<Vec<Imported>> {
    let bad = |reason: String| Error::BadLayout {
        path: layout.to_owned(),
        reason,
    };
    let index_path = layout.join("index.json");
    let index: Index =
        serde_json::from_slice(&fs::read(&index_path).map_err(Error::io("read", &index_path))?)
            .map_err(|e| bad(format!("index.json: {e}")))?;
    let mut images: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut referrers = Vec::new();
    for descriptor in &index.manifests {
        if descriptor.media_type != MEDIA_TYPE_MANIFEST {
            return Err(bad(format!(
                "{} has media type {}; only image manifests are imported",
                descriptor.digest, descriptor.media_type
            )));
        }
        let bytes = read_blob(layout, &descriptor.digest)?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("manifest {}: {e}", descriptor.digest)))?;
        match &manifest.subject {
            Some(_) => referrers.push(manifest),
            None => {
                let tags = images.entry(descriptor.digest.clone()).or_default();
                if let Some(tag) = descriptor.annotations.get(ANNOTATION_REF_NAME) {
                    tags.push(tag.clone());
                }
            }
        }
    }
    let mut imported = Vec::new();
    for (digest, tags) in images {
        let manifest_bytes = read_blob(layout, &digest)?;
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| bad(format!("manifest {digest}: {e}")))?;
        let mut blobs = vec![digest.clone()];
        let mut size = manifest_bytes.len() as u64;
        for descriptor in std::iter::once(&manifest.config).chain(&manifest.layers) {
            let path = blob_path(layout, &descriptor.digest)?;
            let stored = artifacts.blobs().put_file(&path).await?;
            if stored.to_string() != descriptor.digest {
                return Err(bad(format!(
                    "blob {} has digest {stored}",
                    descriptor.digest
                )));
            }
            blobs.push(descriptor.digest.clone());
            size += descriptor.size;
        }
        artifacts.blobs().put_bytes(manifest_bytes.to_vec()).await?;
        let name = manifest
            .annotations
            .get(ANNOTATION_TITLE)
            .cloned()
            .unwrap_or_else(|| "imported".to_owned());
        let new = NewArtifact {
            digest: digest.clone(),
            name,
            run_id: origin.run_id.clone(),
            repository: manifest
                .annotations
                .get(ANNOTATION_SOURCE)
                .cloned()
                .unwrap_or_else(|| origin.repository.clone()),
            commit_sha: manifest
                .annotations
                .get(ANNOTATION_REVISION)
                .cloned()
                .unwrap_or_else(|| origin.commit_sha.clone()),
            git_ref: origin.git_ref.clone(),
            event: origin.event.clone(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            blobs,
        };
        let primary_tag = tags.first().cloned().unwrap_or_else(|| digest.clone());
        artifacts
            .index()
            .record_artifact(&new, &primary_tag)
            .await?;
        for tag in tags.iter().skip(1) {
            artifacts.index().tag_artifact(tag, &digest).await?;
        }
        let mut evidence = 0;
        for referrer in referrers
            .iter()
            .filter(|r| r.subject.as_ref().is_some_and(|s| s.digest == digest))
        {
            for layer in &referrer.layers {
                let bytes = read_blob(layout, &layer.digest)?;
                let annotation = |key: &str| referrer.annotations.get(key).cloned();
                artifacts
                    .attach_evidence(
                        &digest,
                        NewEvidence {
                            kind: annotation(ANNOTATION_EVIDENCE_KIND)
                                .unwrap_or_else(|| "attachment".to_owned()),
                            predicate_type: annotation(ANNOTATION_PREDICATE_TYPE)
                                .unwrap_or_default(),
                            media_type: layer.media_type.clone(),
                            bytes,
                        },
                    )
                    .await?;
                evidence += 1;
            }
        }
        imported.push(Imported {
            digest,
            tags,
            evidence,
        });
    }
    Ok(imported)
}

async fn copy_blob(artifacts: &Artifacts, digest: &str, root: &Path) -> Result<u64> {
    let parsed = parse_digest(digest)?;
    let path = root.join("blobs/sha256").join(parsed.hex());
    Ok(artifacts.blobs().get_to_file(&parsed, &path).await?)
}

fn write_blob(root: &Path, bytes: &[u8]) -> Result<Digest> {
    let digest = Digest::of(bytes);
    let path = root.join("blobs/sha256").join(digest.hex());
    fs::write(&path, bytes).map_err(Error::io("write", &path))?;
    Ok(digest)
}

fn blob_path(layout: &Path, digest: &str) -> Result<PathBuf> {
    let parsed = parse_digest(digest)?;
    Ok(layout.join("blobs/sha256").join(parsed.hex()))
}

/// Reads a small blob (a manifest, an evidence document) of a layout, checking its digest.
fn read_blob(layout: &Path, digest: &str) -> Result<Vec<u8>> {
    let path = blob_path(layout, digest)?;
    let bytes = fs::read(&path).map_err(Error::io("read", &path))?;
    let actual = Digest::of(&bytes).to_string();
    if actual != digest {
        return Err(Error::BadLayout {
            path: layout.to_owned(),
            reason: format!("blob {digest} has digest {actual}"),
        });
    }
    Ok(bytes)
}
