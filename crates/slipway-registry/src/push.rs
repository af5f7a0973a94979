//! Push: blobs, then the image manifest, then its referrers, then (when the registry does not
//! index referrers itself) the referrers tag.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::client::{
    Access, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, Session, parse_index_descriptors,
};
use crate::digest;
use crate::error::Error;
use crate::layout::{self, LocalManifest, PushSource};
use crate::options::RegistryOptions;
use crate::reference::Reference;
use crate::report::{PushReport, Referrer, ReferrersPath};

/// Read-merge-write rounds of the referrers tag before giving up on a registry where other
/// pushes keep replacing it.
const TAG_MERGE_ROUNDS: u32 = 3;

/// Pushes the image manifest `image_digest` of the OCI layout at `layout_dir`, its blobs and
/// every referrer manifest of the layout whose `subject` is that image, to `target`.
///
/// Every local blob is verified against its digest before anything is sent. The image is
/// tagged with `target`'s tag when it has one and is always pushed by digest. Referrers are
/// indexed by the registry when it answers `OCI-Subject` (OCI 1.1); otherwise the image index
/// under the tag `sha256-<hex>` is read, merged (keeping every entry already there) and
/// written back.
pub async fn push_layout(
    layout_dir: &Path,
    image_digest: &str,
    target: &Reference,
    opts: &RegistryOptions,
) -> Result<PushReport, Error> {
    digest::check_sha256(image_digest).map_err(|reason| Error::InvalidDigest { reason })?;
    if let Some(named) = target.digest()
        && named != image_digest
    {
        return Err(Error::InvalidDigest {
            reason: format!(
                "the target {target} names the digest {named}, but the image to push is \
                 {image_digest}; drop the digest from the target or push that image"
            ),
        });
    }
    let source = read_source(layout_dir.to_owned(), image_digest.to_owned()).await?;
    let session = Session::new(target, opts, Access::Push)?;

    let mut blobs_uploaded = 0;
    let mut blobs_already_present = 0;
    for blob in &source.blobs {
        let present = session
            .retrying(&format!("check blob {}", blob.digest), || {
                session.blob_exists(&blob.digest)
            })
            .await?;
        if present {
            blobs_already_present += 1;
            continue;
        }
        session
            .retrying(&format!("upload blob {}", blob.digest), || {
                session.upload_blob(&blob.digest, blob.size, &blob.path)
            })
            .await?;
        blobs_uploaded += 1;
    }

    let image = &source.image;
    if let Some(tag) = target.tag() {
        put_manifest(&session, tag, image).await?;
    }
    put_manifest(&session, &image.digest, image).await?;

    let mut all_indexed = true;
    for referrer in &source.referrers {
        all_indexed &= put_manifest(&session, &referrer.digest, referrer).await?;
    }
    let referrers_path = match (source.referrers.is_empty(), all_indexed) {
        (true, _) => None,
        (false, true) => Some(ReferrersPath::Api),
        (false, false) => {
            update_referrers_tag(&session, &image.digest, &source.referrers).await?;
            Some(ReferrersPath::TagSchema)
        }
    };

    Ok(PushReport {
        image_digest: image.digest.clone(),
        blobs_uploaded,
        blobs_already_present,
        referrers: source
            .referrers
            .iter()
            .map(|referrer| Referrer {
                digest: referrer.digest.clone(),
                artifact_type: referrer.artifact_type(),
            })
            .collect(),
        referrers_path,
        attempts: session.take_attempts(),
    })
}

/// Reads and hashes the layout off the async threads: it reads every blob in full.
async fn read_source(layout_dir: PathBuf, image_digest: String) -> Result<PushSource, Error> {
    let path = layout_dir.clone();
    tokio::task::spawn_blocking(move || layout::read_push_source(&layout_dir, &image_digest))
        .await
        .map_err(|error| Error::Io {
            action: "cannot read the layout",
            path,
            source: std::io::Error::other(error.to_string()),
        })?
}

/// Pushes a manifest's exact bytes under `reference`; whether the registry indexed it as a
/// referrer.
async fn put_manifest(
    session: &Session,
    reference: &str,
    manifest: &LocalManifest,
) -> Result<bool, Error> {
    session
        .retrying(&format!("push manifest {reference}"), || {
            session.put_manifest(
                reference,
                MANIFEST_MEDIA_TYPE,
                &manifest.bytes,
                &manifest.digest,
            )
        })
        .await
}

/// Adds the referrers to the index under the subject's referrers tag, keeping what is there.
/// The registry offers no conditional write, so after each write the index is read back: an
/// entry lost to a concurrent writer is merged in again.
async fn update_referrers_tag(
    session: &Session,
    subject: &str,
    referrers: &[LocalManifest],
) -> Result<(), Error> {
    let tag = digest::referrers_tag(subject);
    let what = format!("referrers tag {tag}");
    for round in 0..=TAG_MERGE_ROUNDS {
        let current = session
            .retrying(&format!("read {what}"), || {
                session.get_manifest(&tag, INDEX_MEDIA_TYPE)
            })
            .await?;
        let mut index = match &current {
            Some(fetched) => existing_index(session, &what, &fetched.bytes)?,
            None => serde_json::json!({
                "schemaVersion": 2,
                "mediaType": INDEX_MEDIA_TYPE,
                "manifests": [],
            }),
        };
        let missing = missing_referrers(&index, referrers);
        if missing.is_empty() {
            return Ok(());
        }
        if round == TAG_MERGE_ROUNDS {
            break;
        }
        if let Some(manifests) = index
            .get_mut("manifests")
            .and_then(serde_json::Value::as_array_mut)
        {
            for referrer in missing {
                let descriptor = serde_json::to_value(referrer.descriptor()).map_err(|error| {
                    Error::Protocol {
                        what: what.clone(),
                        registry: session.registry().to_owned(),
                        reason: format!("cannot encode a descriptor: {error}"),
                    }
                })?;
                manifests.push(descriptor);
            }
        }
        let body = Bytes::from(index.to_string());
        let body_digest = digest::sha256_of(&body);
        session
            .retrying(&format!("write {what}"), || {
                session.put_manifest(&tag, INDEX_MEDIA_TYPE, &body, &body_digest)
            })
            .await?;
    }
    Err(Error::Protocol {
        what,
        registry: session.registry().to_owned(),
        reason: format!(
            "other pushes replaced the index {TAG_MERGE_ROUNDS} times in a row; push again"
        ),
    })
}

/// The index under the referrers tag, checked to be one; unknown fields and entries are kept
/// as they are.
fn existing_index(session: &Session, what: &str, bytes: &[u8]) -> Result<serde_json::Value, Error> {
    let protocol = |reason: String| Error::Protocol {
        what: what.to_owned(),
        registry: session.registry().to_owned(),
        reason,
    };
    parse_index_descriptors(bytes)
        .map_err(|reason| protocol(format!("the tag holds no image index: {reason}")))?;
    serde_json::from_slice(bytes).map_err(|error| protocol(error.to_string()))
}

fn missing_referrers<'a>(
    index: &serde_json::Value,
    referrers: &'a [LocalManifest],
) -> Vec<&'a LocalManifest> {
    let listed: Vec<&str> = index
        .get("manifests")
        .and_then(serde_json::Value::as_array)
        .map(|manifests| {
            manifests
                .iter()
                .filter_map(|descriptor| descriptor.get("digest")?.as_str())
                .collect()
        })
        .unwrap_or_default();
    referrers
        .iter()
        .filter(|referrer| !listed.contains(&referrer.digest.as_str()))
        .collect()
}
