//! Pull: the image manifest, its blobs, then its referrers and theirs, every byte verified,
//! into a layout that appears only when complete.

use std::collections::HashSet;
use std::path::Path;

use oci_spec::image::ImageManifest;
use serde_json::{Value, json};

use crate::client::{
    Access, FetchedManifest, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, Session,
    parse_index_descriptors,
};
use crate::digest;
use crate::error::Error;
use crate::layout::{REF_NAME_ANNOTATION, Staging, artifact_type_of};
use crate::options::RegistryOptions;
use crate::reference::Reference;
use crate::report::{PullReport, Referrer, ReferrersPath, SkippedReferrer};

/// Pulls the image manifest `source` names (by digest when it has one, else by tag), its
/// config and layers, and every referrer of it with their blobs, into a new OCI layout at
/// `layout_dir`.
///
/// Every manifest and blob is checked against its digest and size; a mismatch fails the pull
/// with both digests. Referrers come from the OCI 1.1 referrers API, or from the
/// `sha256-<hex>` tag when the registry answers that API with 404. The layout is written in a
/// directory beside `layout_dir` and renamed into place at the end, so `layout_dir` (which
/// must be absent or an empty directory) never holds a partial layout.
pub async fn pull_to_layout(
    source: &Reference,
    layout_dir: &Path,
    opts: &RegistryOptions,
) -> Result<PullReport, Error> {
    let Some(reference) = source.digest().or(source.tag()) else {
        let input = source.to_string();
        return Err(Error::InvalidReference {
            column: input.chars().count() + 1,
            input,
            reason: "it names neither a tag nor a digest; add :<tag> or @sha256:<hex>".to_owned(),
        });
    };
    let staging = Staging::create(layout_dir)?;
    let session = Session::new(source, opts, Access::Pull)?;

    let image = fetch_manifest(&session, reference).await?;
    let image_manifest = parse_image_manifest(&session, &image, &format!("manifest {source}"))?;
    staging.write_blob(&image.digest, &image.bytes)?;
    let mut downloaded = HashSet::new();
    download_parts(&session, &staging, &image_manifest, &mut downloaded).await?;

    let (referrers_path, listed) = list_referrers(&session, &image.digest).await?;
    let mut referrers = Vec::new();
    let mut skipped_referrers = Vec::new();
    let mut seen = HashSet::new();
    let mut index_entries = vec![image_entry(&image, source.tag())];
    for descriptor in listed {
        let what = format!("referrer of {}", image.digest);
        let (digest, media_type) = descriptor_identity(&session, &what, &descriptor)?;
        if !seen.insert(digest.clone()) {
            continue;
        }
        if media_type != MANIFEST_MEDIA_TYPE {
            skipped_referrers.push(SkippedReferrer { digest, media_type });
            continue;
        }
        let fetched = fetch_manifest(&session, &digest).await?;
        if let Some(size) = descriptor.get("size").and_then(Value::as_u64)
            && size != fetched.bytes.len() as u64
        {
            return Err(Error::SizeMismatch {
                what: format!("{what} {digest}"),
                expected: size,
                actual: fetched.bytes.len() as u64,
            });
        }
        let manifest = parse_image_manifest(&session, &fetched, &format!("{what} {digest}"))?;
        let subject = manifest
            .subject()
            .as_ref()
            .map(|subject| subject.digest().to_string());
        if subject.as_deref() != Some(image.digest.as_str()) {
            return Err(Error::Protocol {
                what: format!("{what} {digest}"),
                registry: session.registry().to_owned(),
                reason: format!(
                    "it is listed as a referrer of {} but its subject is {}",
                    image.digest,
                    subject.as_deref().unwrap_or("missing")
                ),
            });
        }
        staging.write_blob(&fetched.digest, &fetched.bytes)?;
        download_parts(&session, &staging, &manifest, &mut downloaded).await?;
        let artifact_type = artifact_type_of(&manifest);
        index_entries.push(referrer_entry(
            &fetched,
            artifact_type.as_deref(),
            &descriptor,
        ));
        referrers.push(Referrer {
            digest,
            artifact_type,
        });
    }

    staging.commit(&json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": index_entries,
    }))?;
    Ok(PullReport {
        image_digest: image.digest,
        blobs_downloaded: downloaded.len(),
        referrers,
        skipped_referrers,
        referrers_path,
        attempts: session.take_attempts(),
    })
}

async fn fetch_manifest(session: &Session, reference: &str) -> Result<FetchedManifest, Error> {
    let what = format!("fetch manifest {reference}");
    session
        .retrying(&what, || {
            session.get_manifest(reference, MANIFEST_MEDIA_TYPE)
        })
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!("manifest {reference}"),
            registry: session.registry().to_owned(),
            detail: String::new(),
        })
}

/// The manifest as an OCI image manifest, refusing indexes and Docker manifests.
fn parse_image_manifest(
    session: &Session,
    fetched: &FetchedManifest,
    what: &str,
) -> Result<ImageManifest, Error> {
    let declared: Option<String> = serde_json::from_slice::<Value>(&fetched.bytes)
        .ok()
        .and_then(|value| value.get("mediaType")?.as_str().map(str::to_owned))
        .or_else(|| fetched.media_type.clone());
    if let Some(media_type) = declared
        && media_type != MANIFEST_MEDIA_TYPE
    {
        return Err(Error::Unsupported(format!(
            "{what} ({}) is a {media_type}, not an OCI image manifest; Slipway pulls the OCI \
             image manifests it pushes",
            fetched.digest
        )));
    }
    serde_json::from_slice(&fetched.bytes).map_err(|error| Error::Protocol {
        what: format!("{what} ({})", fetched.digest),
        registry: session.registry().to_owned(),
        reason: format!("it is not a valid OCI image manifest: {error}"),
    })
}

/// Downloads a manifest's config and layers that are not downloaded yet.
async fn download_parts(
    session: &Session,
    staging: &Staging,
    manifest: &ImageManifest,
    downloaded: &mut HashSet<String>,
) -> Result<(), Error> {
    for descriptor in std::iter::once(manifest.config()).chain(manifest.layers()) {
        let digest = descriptor.digest().to_string();
        digest::check_sha256(&digest).map_err(|reason| {
            Error::Unsupported(format!("a manifest names the blob {digest}: {reason}"))
        })?;
        if downloaded.contains(&digest) {
            continue;
        }
        let destination = staging.blob_path(&digest);
        session
            .retrying(&format!("download blob {digest}"), || {
                session.download_blob(&digest, descriptor.size(), &destination)
            })
            .await?;
        downloaded.insert(digest);
    }
    Ok(())
}

/// The referrers' descriptors, from the API or, when the registry lacks it, the tag schema.
async fn list_referrers(
    session: &Session,
    subject: &str,
) -> Result<(ReferrersPath, Vec<Value>), Error> {
    let from_api = session
        .retrying(&format!("list referrers of {subject}"), || {
            session.list_referrers(subject)
        })
        .await?;
    if let Some(descriptors) = from_api {
        return Ok((ReferrersPath::Api, descriptors));
    }
    let tag = digest::referrers_tag(subject);
    let what = format!("read referrers tag {tag}");
    let index = session
        .retrying(&what, || session.get_manifest(&tag, INDEX_MEDIA_TYPE))
        .await?;
    let descriptors = match index {
        Some(fetched) => {
            parse_index_descriptors(&fetched.bytes).map_err(|reason| Error::Protocol {
                what,
                registry: session.registry().to_owned(),
                reason: format!("the tag holds no image index: {reason}"),
            })?
        }
        None => Vec::new(),
    };
    Ok((ReferrersPath::TagSchema, descriptors))
}

/// A listed descriptor's digest (checked) and media type.
fn descriptor_identity(
    session: &Session,
    what: &str,
    descriptor: &Value,
) -> Result<(String, String), Error> {
    let text = |field: &str| {
        descriptor
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let protocol = |reason: String| Error::Protocol {
        what: what.to_owned(),
        registry: session.registry().to_owned(),
        reason,
    };
    let digest =
        text("digest").ok_or_else(|| protocol("a listed referrer has no digest".to_owned()))?;
    digest::check_sha256(&digest)
        .map_err(|reason| protocol(format!("a listed referrer: {reason}")))?;
    let media_type = text("mediaType").unwrap_or_default();
    Ok((digest, media_type))
}

fn image_entry(image: &FetchedManifest, tag: Option<&str>) -> Value {
    let mut entry = serde_json::Map::new();
    entry.insert("mediaType".to_owned(), json!(MANIFEST_MEDIA_TYPE));
    entry.insert("digest".to_owned(), json!(image.digest));
    entry.insert("size".to_owned(), json!(image.bytes.len()));
    if let Some(tag) = tag {
        entry.insert(
            "annotations".to_owned(),
            json!({ REF_NAME_ANNOTATION: tag }),
        );
    }
    Value::Object(entry)
}

/// A referrer's `index.json` entry: no ref.name, its artifact type, and the annotations the
/// listing carried.
fn referrer_entry(fetched: &FetchedManifest, artifact_type: Option<&str>, listed: &Value) -> Value {
    let mut entry = serde_json::Map::new();
    entry.insert("mediaType".to_owned(), json!(MANIFEST_MEDIA_TYPE));
    entry.insert("digest".to_owned(), json!(fetched.digest));
    entry.insert("size".to_owned(), json!(fetched.bytes.len()));
    if let Some(artifact_type) = artifact_type {
        entry.insert("artifactType".to_owned(), json!(artifact_type));
    }
    if let Some(annotations) = listed.get("annotations").and_then(Value::as_object) {
        let kept: serde_json::Map<String, Value> = annotations
            .iter()
            .filter(|(key, _)| key.as_str() != REF_NAME_ANNOTATION)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        if !kept.is_empty() {
            entry.insert("annotations".to_owned(), Value::Object(kept));
        }
    }
    Value::Object(entry)
}
