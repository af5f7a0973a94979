//! Job outputs: the declared paths of a job, stored as one archive after it succeeds and
//! materialised at the same relative paths in the workspace of every job that `needs` it.

use crate::archive::{self, Missing, PackOptions, PackResult, PathSpec, Root, Roots, UnpackResult};
use crate::blob::BlobStore;
use crate::error::Result;
use crate::{Digest, Error};
use std::path::Path;

/// Archives the declared output `paths` (relative to `workspace`) into one blob. A declared
/// output that does not exist fails with "declared output `...` does not exist"; outputs under
/// `~/` are refused, since they could not be materialised in another job's workspace.
pub async fn save_outputs(
    store: &BlobStore,
    workspace: &Path,
    paths: &[String],
) -> Result<PackResult> {
    let mut specs = Vec::with_capacity(paths.len());
    for path in paths {
        let spec = PathSpec::parse(path)?;
        if spec.root() != Root::Workspace {
            return Err(Error::InvalidPath {
                path: path.clone(),
                reason: "outputs must be relative to the workspace",
            });
        }
        specs.push(spec);
    }
    let options = PackOptions {
        missing: Missing::Error,
        ..PackOptions::default()
    };
    archive::pack(store, &Roots::workspace(workspace), &specs, &options).await
}

/// Restores an outputs archive into `workspace`, at the paths it was saved from.
pub async fn materialise(
    store: &BlobStore,
    digest: &Digest,
    workspace: &Path,
) -> Result<UnpackResult> {
    archive::unpack(store, digest, &Roots::workspace(workspace)).await
}
