//! Scans a directory with the builtin rules and prints the throughput.
//!
//! `cargo run --release -p slipway-secretscan --example secretscan_throughput -- <dir> [threads]`

use slipway_secretscan::{ScanOptions, Scanner};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(root) = args.next().map(PathBuf::from) else {
        eprintln!("usage: secretscan_throughput <dir> [threads]");
        std::process::exit(2);
    };
    let threads = args.next().and_then(|t| t.parse().ok());
    let options = ScanOptions {
        threads,
        ..ScanOptions::default()
    };
    let scanner = Scanner::builtin();
    let started = Instant::now();
    let report = match scanner.scan_dir(&root, &options) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let megabytes = report.scanned_bytes as f64 / 1e6;
    let workers =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    println!(
        "{} files, {:.1} MB in {:.2} s: {:.1} MB/s ({:.1} MB/s per thread, {workers} threads); {} findings, {} allowed; skipped {} binary, {} vendored, {} too large",
        report.scanned_files,
        megabytes,
        seconds,
        megabytes / seconds,
        megabytes / seconds / workers as f64,
        report.findings.len(),
        report.allowed.len(),
        report.skipped.binary,
        report.skipped.vendored,
        report.skipped.too_large,
    );
}
