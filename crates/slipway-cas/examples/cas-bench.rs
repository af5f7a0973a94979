//! Drives the library's own pack and unpack code paths for bench/cache:
//!
//!     cas-bench pack STORE DIR [THREADS]  archive all of DIR (as a workspace) into the store,
//!                                         with THREADS zstd workers (default: one per core)
//!     cas-bench unpack STORE DIGEST DEST  restore that archive into DEST
//!
//! Prints one JSON line with the digest, sizes and the library's own timing.

use slipway_cas::{BlobStore, Digest, PackOptions, PathSpec, Roots, pack, unpack};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cas-bench: cannot start a runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["pack", store, dir] => runtime.block_on(run_pack(store, dir, None)),
        ["pack", store, dir, threads] => match threads.parse() {
            Ok(threads) => runtime.block_on(run_pack(store, dir, Some(threads))),
            Err(_) => {
                eprintln!("cas-bench: THREADS must be a number, not `{threads}`");
                return ExitCode::from(2);
            }
        },
        ["unpack", store, digest, dest] => runtime.block_on(run_unpack(store, digest, dest)),
        _ => {
            eprintln!(
                "usage: cas-bench pack STORE DIR [THREADS] | cas-bench unpack STORE DIGEST DEST"
            );
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cas-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_pack(store: &str, dir: &str, threads: Option<u32>) -> slipway_cas::Result<String> {
    let store = BlobStore::open(store)?;
    let mut options = PackOptions::default();
    options.threads = threads.unwrap_or(options.threads);
    let packed = pack(
        &store,
        &Roots::workspace(dir),
        &[PathSpec::parse(".")?],
        &options,
    )
    .await?;
    Ok(format!(
        r#"{{"digest":"{}","bytes_in":{},"bytes_out":{},"files":{},"seconds":{:.3}}}"#,
        packed.digest,
        packed.bytes_in,
        packed.bytes_out,
        packed.files,
        packed.elapsed.as_secs_f64()
    ))
}

async fn run_unpack(store: &str, digest: &str, dest: &str) -> slipway_cas::Result<String> {
    let store = BlobStore::open(store)?;
    let digest: Digest = digest.parse()?;
    let restored = unpack(&store, &digest, &Roots::workspace(Path::new(dest))).await?;
    Ok(format!(
        r#"{{"digest":"{}","bytes_in":{},"bytes_out":{},"files":{},"seconds":{:.3}}}"#,
        restored.digest,
        restored.bytes_in,
        restored.bytes_out,
        restored.files,
        restored.elapsed.as_secs_f64()
    ))
}
