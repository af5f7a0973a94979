//! Packaging: a workspace file or directory becomes an OCI image (config, one layer, manifest)
//! whose blobs go into the content-addressed store. The manifest digest is the artifact.

use crate::error::{Error, Result};
use crate::layer::{self, Compression};
use crate::oci::{
    self, ANNOTATION_CREATED, ANNOTATION_REVISION, ANNOTATION_SOURCE, ANNOTATION_TITLE, Descriptor,
    History, ImageConfig, Manifest, RootFs, RuntimeConfig,
};
use slipway_cas::{BlobStore, Digest};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where files land inside the image, and the image's working directory.
pub const APP_DIR: &str = "app";
const DEFAULT_PATH: &str = "PATH=/app:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What to package.
#[derive(Clone, Debug)]
pub struct ArtifactSpec {
    pub name: String,
    /// The file or directory to package (absolute).
    pub source: PathBuf,
    pub entrypoint: Vec<String>,
    /// Environment of the image, in the given order.
    pub env: Vec<(String, String)>,
    pub ports: Vec<u16>,
    /// Seconds since the epoch that every timestamp in the image is set to: the commit time
    /// (`SOURCE_DATE_EPOCH`), so a rebuild of the same commit gives the same digest.
    pub source_date_epoch: i64,
    pub revision: String,
    pub repository: String,
    pub compression: Compression,
}

/// An image as packaged and stored.
#[derive(Clone, Debug)]
pub struct Packaged {
    pub digest: Digest,
    pub manifest: Manifest,
    pub config: ImageConfig,
    /// Manifest, config and layers.
    pub blobs: Vec<Digest>,
    /// Bytes of manifest, config and layers together.
    pub size: u64,
    pub files: u64,
    pub content_bytes: u64,
    pub elapsed: Duration,
}

/// RFC 3339 (UTC, seconds) of a Unix time.
pub fn rfc3339(epoch_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(epoch_seconds, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Packages `spec` into `blobs`. Nothing is recorded in the index: see
/// [`crate::Artifacts::create`].
pub async fn package(blobs: &BlobStore, spec: &ArtifactSpec) -> Result<Packaged> {
    let start = Instant::now();
    let mtime = u64::try_from(spec.source_date_epoch).unwrap_or(0);
    let source = spec.source.clone();
    let compression = spec.compression;
    let staged = blobs.stage()?;
    let (written, staged, entries) = tokio::task::spawn_blocking(move || {
        let entries = layer::collect(&source, APP_DIR)?;
        let (file, staged) = staged.into_parts();
        let written = layer::write(&entries, mtime, compression, file)?;
        Ok::<_, Error>((written, staged, entries))
    })
    .await
    .map_err(|e| Error::Io {
        action: "package",
        path: spec.source.clone(),
        source: std::io::Error::other(e),
    })??;
    blobs.publish(staged, &written.digest).await?;

    let created = rfc3339(spec.source_date_epoch);
    let packaged_names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let config = ImageConfig {
        created: created.clone(),
        architecture: oci::host_architecture().to_owned(),
        os: "linux".to_owned(),
        config: RuntimeConfig {
            env: std::iter::once(DEFAULT_PATH.to_owned())
                .chain(spec.env.iter().map(|(k, v)| format!("{k}={v}")))
                .collect(),
            entrypoint: resolve_entrypoint(&spec.entrypoint, &packaged_names),
            exposed_ports: spec
                .ports
                .iter()
                .map(|port| (format!("{port}/tcp"), serde_json::Map::new()))
                .collect(),
            working_dir: format!("/{APP_DIR}"),
            labels: BTreeMap::from([
                (ANNOTATION_REVISION.to_owned(), spec.revision.clone()),
                (ANNOTATION_TITLE.to_owned(), spec.name.clone()),
            ]),
        },
        rootfs: RootFs {
            kind: "layers".to_owned(),
            diff_ids: vec![written.diff_id.to_string()],
        },
        history: vec![History {
            created: created.clone(),
            created_by: format!("slipway: package {}", spec.name),
        }],
    };
    let config_bytes = to_json(&config);
    let config_digest = blobs.put_bytes(config_bytes.clone()).await?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: oci::MEDIA_TYPE_MANIFEST.to_owned(),
        artifact_type: None,
        config: Descriptor::new(
            oci::MEDIA_TYPE_CONFIG,
            config_digest.to_string(),
            config_bytes.len() as u64,
        ),
        layers: vec![Descriptor::new(
            compression.media_type(),
            written.digest.to_string(),
            written.size,
        )],
        subject: None,
        annotations: BTreeMap::from([
            (ANNOTATION_CREATED.to_owned(), created),
            (ANNOTATION_REVISION.to_owned(), spec.revision.clone()),
            (ANNOTATION_SOURCE.to_owned(), spec.repository.clone()),
            (ANNOTATION_TITLE.to_owned(), spec.name.clone()),
        ]),
    };
    let manifest_bytes = to_json(&manifest);
    let digest = blobs.put_bytes(manifest_bytes.clone()).await?;
    Ok(Packaged {
        digest,
        size: manifest_bytes.len() as u64 + config_bytes.len() as u64 + written.size,
        blobs: vec![digest, config_digest, written.digest],
        manifest,
        config,
        files: written.files,
        content_bytes: written.content_bytes,
        elapsed: start.elapsed(),
    })
}

/// An entrypoint naming a packaged file by its bare name runs it by absolute path, so the image
/// does not depend on PATH lookup.
fn resolve_entrypoint(entrypoint: &[String], packaged: &[&str]) -> Vec<String> {
    let mut resolved = entrypoint.to_vec();
    if let Some(first) = resolved.first_mut()
        && !first.contains('/')
        && packaged.contains(&format!("{APP_DIR}/{first}").as_str())
    {
        *first = format!("/{APP_DIR}/{first}");
    }
    resolved
}

/// The canonical bytes of an OCI document: compact JSON in struct field order.
pub fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}
