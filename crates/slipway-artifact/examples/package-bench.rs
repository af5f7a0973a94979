//! Drives the library's own packaging code path for bench/package:
//!
//!     package-bench STORE_DIR SOURCE_DIR [--compression gzip|zstd]
//!
//! Packages SOURCE_DIR as an image into the blob store at STORE_DIR with
//! `slipway_artifact::package::package`, exactly as a job's `artifact:` is packaged, and prints
//! one JSON line: the manifest digest, the layer digest, the total size of the image's blobs, the
//! files and content bytes packaged, and the library's own timing.

use slipway_artifact::Compression;
use slipway_artifact::package::{ArtifactSpec, package};
use slipway_cas::BlobStore;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: package-bench STORE_DIR SOURCE_DIR [--compression gzip|zstd]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (store, source, compression) = match args.iter().map(String::as_str).collect::<Vec<_>>()[..]
    {
        [store, source] => (store, source, Compression::Gzip),
        [store, source, "--compression", "gzip"] => (store, source, Compression::Gzip),
        [store, source, "--compression", "zstd"] => (store, source, Compression::Zstd),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let source = match std::path::absolute(source) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("package-bench: cannot resolve {source}: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("package-bench: cannot start a runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(Path::new(store), source, compression)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("package-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    store: &Path,
    source: PathBuf,
    compression: Compression,
) -> slipway_artifact::Result<String> {
    let blobs = BlobStore::local(store)?;
    let spec = ArtifactSpec {
        name: "bench".to_owned(),
        source,
        entrypoint: Vec::new(),
        env: Vec::new(),
        ports: Vec::new(),
        source_date_epoch: 0,
        revision: "0".repeat(40),
        repository: "bench".to_owned(),
        compression,
    };
    let packaged = package(&blobs, &spec).await?;
    let layer_digest = packaged
        .manifest
        .layers
        .first()
        .map(|layer| layer.digest.clone())
        .unwrap_or_default();
    Ok(format!(
        r#"{{"digest":"{}","layer_digest":"{}","size":{},"files":{},"content_bytes":{},"seconds":{:.3}}}"#,
        packaged.digest,
        layer_digest,
        packaged.size,
        packaged.files,
        packaged.content_bytes,
        packaged.elapsed.as_secs_f64()
    ))
}
