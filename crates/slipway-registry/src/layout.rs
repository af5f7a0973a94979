//! The OCI image layout on disk: reading what to push (every blob verified before anything
//! leaves the machine) and writing what was pulled (in a staging directory renamed into place
//! only when complete).

use std::collections::HashSet;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};

use crate::client::MAX_MANIFEST_BYTES;
use crate::digest::{self, Hasher};
use crate::error::Error;

/// The `oci-layout` file's only version.
const LAYOUT_VERSION: &str = "1.0.0";
/// The annotation that names an image's tag in `index.json`.
pub(crate) const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// A blob file of the layout, verified against its descriptor.
#[derive(Debug, Clone)]
pub(crate) struct LocalBlob {
    pub(crate) digest: String,
    pub(crate) size: u64,
    pub(crate) path: PathBuf,
}

/// An image manifest of the layout, as its exact bytes and parsed.
#[derive(Debug, Clone)]
pub(crate) struct LocalManifest {
    pub(crate) digest: String,
    descriptor_digest: oci_spec::image::Digest,
    pub(crate) bytes: Bytes,
    pub(crate) manifest: ImageManifest,
}

impl LocalManifest {
    /// The artifact type by the image specification's rule: `artifactType`, else the config's
    /// media type unless that is the empty descriptor's.
    pub(crate) fn artifact_type(&self) -> Option<String> {
        artifact_type_of(&self.manifest)
    }

    /// The descriptor that lists this manifest in an index.
    pub(crate) fn descriptor(&self) -> Descriptor {
        let mut descriptor = Descriptor::new(
            MediaType::ImageManifest,
            self.bytes.len() as u64,
            self.descriptor_digest.clone(),
        );
        descriptor.set_artifact_type(
            self.artifact_type()
                .map(|kind| MediaType::from(kind.as_str())),
        );
        descriptor.set_annotations(self.manifest.annotations().clone());
        descriptor
    }
}

/// The artifact type of a manifest by the image specification's rule.
pub(crate) fn artifact_type_of(manifest: &ImageManifest) -> Option<String> {
    manifest
        .artifact_type()
        .as_ref()
        .map(ToString::to_string)
        .or_else(|| match manifest.config().media_type() {
            MediaType::EmptyJSON => None,
            other => Some(other.to_string()),
        })
}

/// Everything a push sends, read from a layout and verified.
#[derive(Debug)]
pub(crate) struct PushSource {
    pub(crate) image: LocalManifest,
    /// The manifests whose `subject` is the image, in `index.json` order.
    pub(crate) referrers: Vec<LocalManifest>,
    /// Config and layer blobs of the image and of the referrers, each once.
    pub(crate) blobs: Vec<LocalBlob>,
}

fn layout_error(location: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Layout {
        location: location.into(),
        reason: reason.into(),
    }
}

fn json_error(path: &Path, error: &serde_json::Error, what: &str) -> Error {
    layout_error(
        format!("{}:{}:{}", path.display(), error.line(), error.column()),
        format!("{what} is not valid: {error}"),
    )
}

/// Reads the layout at `dir` for pushing the image manifest `image_digest` and its referrers.
pub(crate) fn read_push_source(dir: &Path, image_digest: &str) -> Result<PushSource, Error> {
    let layout_file = dir.join("oci-layout");
    let layout_bytes = read_small(&layout_file, "the `oci-layout` file")?;
    let layout: serde_json::Value = serde_json::from_slice(&layout_bytes)
        .map_err(|error| json_error(&layout_file, &error, "the `oci-layout` file"))?;
    match layout.get("imageLayoutVersion").and_then(|v| v.as_str()) {
        Some(LAYOUT_VERSION) => {}
        other => {
            return Err(layout_error(
                layout_file.display().to_string(),
                format!(
                    "imageLayoutVersion is {}, not \"{LAYOUT_VERSION}\"; export the artifact \
                     again with this Slipway",
                    other.map_or_else(|| "missing".to_owned(), |v| format!("\"{v}\""))
                ),
            ));
        }
    }

    let index_file = dir.join("index.json");
    let index_bytes = read_small(&index_file, "`index.json`")?;
    let index: ImageIndex = serde_json::from_slice(&index_bytes)
        .map_err(|error| json_error(&index_file, &error, "`index.json`"))?;

    let Some(image_descriptor) = index
        .manifests()
        .iter()
        .find(|descriptor| descriptor.digest().as_ref() == image_digest)
    else {
        let listed: Vec<String> = index
            .manifests()
            .iter()
            .map(|descriptor| {
                let name = descriptor
                    .annotations()
                    .as_ref()
                    .and_then(|annotations| annotations.get(REF_NAME_ANNOTATION));
                match name {
                    Some(name) => format!("{} ({name})", descriptor.digest()),
                    None => descriptor.digest().to_string(),
                }
            })
            .collect();
        return Err(layout_error(
            index_file.display().to_string(),
            format!(
                "it lists no manifest {image_digest}; it lists: {}",
                if listed.is_empty() {
                    "nothing".to_owned()
                } else {
                    listed.join(", ")
                }
            ),
        ));
    };
    if *image_descriptor.media_type() != MediaType::ImageManifest {
        return Err(Error::Unsupported(format!(
            "{image_digest} in {} is a {}, not an OCI image manifest; push an image manifest",
            index_file.display(),
            image_descriptor.media_type()
        )));
    }
    let image = read_manifest(dir, image_descriptor)?;

    let mut referrers = Vec::new();
    for descriptor in index.manifests() {
        if descriptor.digest().as_ref() == image_digest
            || *descriptor.media_type() != MediaType::ImageManifest
        {
            continue;
        }
        let manifest = read_manifest(dir, descriptor)?;
        let refers_to_image = manifest
            .manifest
            .subject()
            .as_ref()
            .is_some_and(|subject| subject.digest().as_ref() == image_digest);
        if refers_to_image {
            referrers.push(manifest);
        }
    }

    let mut seen = HashSet::new();
    let mut blobs = Vec::new();
    for manifest in std::iter::once(&image).chain(&referrers) {
        let parts = std::iter::once(manifest.manifest.config()).chain(manifest.manifest.layers());
        for descriptor in parts {
            let blob = verified_blob(dir, descriptor)?;
            if seen.insert(blob.digest.clone()) {
                blobs.push(blob);
            }
        }
    }
    Ok(PushSource {
        image,
        referrers,
        blobs,
    })
}

/// A small file read whole (`oci-layout`, `index.json`).
fn read_small(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    let file = fs::File::open(path).map_err(|error| {
        layout_error(
            path.display().to_string(),
            format!("cannot open {what} ({error}); is this an OCI image layout directory?"),
        )
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io {
            action: "cannot read",
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(layout_error(
            path.display().to_string(),
            format!("{what} is larger than {MAX_MANIFEST_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// `blobs/sha256/<hex>` of a descriptor whose digest has been checked.
fn blob_path(dir: &Path, descriptor: &Descriptor) -> Result<PathBuf, Error> {
    let digest = descriptor.digest().as_ref();
    digest::check_sha256(digest)
        .map_err(|reason| layout_error(dir.join("index.json").display().to_string(), reason))?;
    Ok(dir
        .join("blobs")
        .join("sha256")
        .join(digest::hex_part(digest)))
}

fn read_manifest(dir: &Path, descriptor: &Descriptor) -> Result<LocalManifest, Error> {
    let path = blob_path(dir, descriptor)?;
    if descriptor.size() > MAX_MANIFEST_BYTES as u64 {
        return Err(layout_error(
            path.display().to_string(),
            format!(
                "the manifest is {} bytes, more than the {MAX_MANIFEST_BYTES} registries accept",
                descriptor.size()
            ),
        ));
    }
    let bytes = read_small(&path, "the manifest blob")?;
    check_content(
        &path,
        descriptor,
        bytes.len() as u64,
        &digest::sha256_of(&bytes),
    )?;
    let manifest: ImageManifest = serde_json::from_slice(&bytes)
        .map_err(|error| json_error(&path, &error, "the image manifest"))?;
    Ok(LocalManifest {
        digest: descriptor.digest().to_string(),
        descriptor_digest: descriptor.digest().clone(),
        bytes: Bytes::from(bytes),
        manifest,
    })
}

/// A blob's file, hashed to prove it is what its descriptor says.
fn verified_blob(dir: &Path, descriptor: &Descriptor) -> Result<LocalBlob, Error> {
    let path = blob_path(dir, descriptor)?;
    let mut file = fs::File::open(&path).map_err(|error| {
        layout_error(
            path.display().to_string(),
            format!("the blob {} is missing ({error})", descriptor.digest()),
        )
    })?;
    let mut hasher = Hasher::default();
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer).map_err(|source| Error::Io {
            action: "cannot read",
            path: path.clone(),
            source,
        })?;
        let Some(bytes) = buffer.get(..read).filter(|bytes| !bytes.is_empty()) else {
            break;
        };
        hasher.update(bytes);
    }
    let size = hasher.len();
    check_content(&path, descriptor, size, &hasher.finish())?;
    Ok(LocalBlob {
        digest: descriptor.digest().to_string(),
        size,
        path,
    })
}

fn check_content(
    path: &Path,
    descriptor: &Descriptor,
    size: u64,
    actual_digest: &str,
) -> Result<(), Error> {
    if size != descriptor.size() {
        return Err(Error::SizeMismatch {
            what: format!("layout blob {}", path.display()),
            expected: descriptor.size(),
            actual: size,
        });
    }
    if actual_digest != descriptor.digest().as_ref() {
        return Err(Error::DigestMismatch {
            what: format!("layout blob {}", path.display()),
            expected: descriptor.digest().to_string(),
            actual: actual_digest.to_owned(),
        });
    }
    Ok(())
}

/// A layout being written next to its destination, renamed into place by
/// [`Staging::commit`] and removed if dropped before that.
pub(crate) struct Staging {
    dir: PathBuf,
    destination: PathBuf,
    committed: bool,
}

impl Staging {
    /// Checks that `destination` is absent or an empty directory, then creates the staging
    /// directory beside it (the same file system, so the final rename is atomic).
    pub(crate) fn create(destination: &Path) -> Result<Self, Error> {
        check_destination(destination)?;
        let name = destination
            .file_name()
            .ok_or_else(|| Error::DestinationNotEmpty {
                path: destination.to_owned(),
            })?
            .to_string_lossy()
            .into_owned();
        let parent = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|source| Error::Io {
            action: "cannot create",
            path: parent.clone(),
            source,
        })?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let dir = parent.join(format!(".{name}.partial-{}-{nanos}", std::process::id()));
        let blobs = dir.join("blobs").join("sha256");
        fs::create_dir_all(&blobs).map_err(|source| Error::Io {
            action: "cannot create",
            path: blobs,
            source,
        })?;
        Ok(Self {
            dir,
            destination: destination.to_owned(),
            committed: false,
        })
    }

    /// Where the blob `digest` (already checked) goes.
    pub(crate) fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir
            .join("blobs")
            .join("sha256")
            .join(digest::hex_part(digest))
    }

    /// Writes a blob held in memory (a manifest).
    pub(crate) fn write_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), Error> {
        write_synced(&self.blob_path(digest), bytes)
    }

    /// Writes `oci-layout` and `index.json`, then renames the directory into place.
    pub(crate) fn commit(mut self, index: &serde_json::Value) -> Result<(), Error> {
        let layout = serde_json::json!({ "imageLayoutVersion": LAYOUT_VERSION });
        write_synced(&self.dir.join("oci-layout"), layout.to_string().as_bytes())?;
        let index_text = serde_json::to_vec_pretty(index).map_err(|error| Error::Io {
            action: "cannot serialize",
            path: self.dir.join("index.json"),
            source: std::io::Error::other(error),
        })?;
        write_synced(&self.dir.join("index.json"), &index_text)?;
        // Checked empty at the start; removed only now so that a failed pull leaves it as it was.
        check_destination(&self.destination)?;
        if self.destination.exists() {
            fs::remove_dir(&self.destination).map_err(|source| Error::Io {
                action: "cannot replace the empty directory",
                path: self.destination.clone(),
                source,
            })?;
        }
        fs::rename(&self.dir, &self.destination).map_err(|source| Error::Io {
            action: "cannot move the pulled layout into",
            path: self.destination.clone(),
            source,
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a leftover staging directory is hidden and named as partial.
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn check_destination(destination: &Path) -> Result<(), Error> {
    match fs::read_dir(destination) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::DestinationNotEmpty {
                    path: destination.to_owned(),
                });
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Io {
            action: "cannot use as the pull destination",
            path: destination.to_owned(),
            source,
        }),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io_error = |source| Error::Io {
        action: "cannot write",
        path: path.to_owned(),
        source,
    };
    let mut file = fs::File::create(path).map_err(io_error)?;
    std::io::Write::write_all(&mut file, bytes).map_err(io_error)?;
    file.sync_all().map_err(io_error)
}
