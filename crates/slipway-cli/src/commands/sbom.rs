//! `slipway sbom`: inventory a source tree (lockfiles) or an unpacked artifact (OS package
//! databases, binaries, every file) and write CycloneDX or SPDX.

use crate::Outcome;
use crate::cli::{SbomArgs, SbomFormatArg};
use crate::commands::init::write_atomically;
use anyhow::Context;
use slipway_sbom::{DocumentInfo, Format, Inventory, Timestamp};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How many skipped entries are listed one by one before the rest is only counted.
const SKIPPED_SHOWN: usize = 20;

/// What an SBOM is made from.
pub enum SbomSource {
    /// A source tree: its lockfiles.
    Tree(PathBuf),
    /// An unpacked artifact: package databases, binaries, lockfiles and every file.
    Contents(PathBuf),
}

impl SbomSource {
    fn dir(&self) -> &Path {
        match self {
            SbomSource::Tree(dir) | SbomSource::Contents(dir) => dir,
        }
    }

    /// Scans the directory. Errors name files relative to it, so it is named too.
    pub fn scan(&self) -> anyhow::Result<Inventory> {
        let scanned = match self {
            SbomSource::Tree(dir) => slipway_sbom::scan_source(dir),
            SbomSource::Contents(dir) => slipway_sbom::scan_filesystem(dir),
        };
        scanned.with_context(|| format!("in {}", self.dir().display()))
    }
}

pub fn run(args: &SbomArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    if !args.path.exists()
        && let Some(reference) = args.path.to_str()
    {
        return artifact_sbom(args, reference);
    }
    if !args.path.is_dir() {
        anyhow::bail!(
            "{} is not a directory (give a source tree, or an unpacked artifact with --contents)",
            args.path.display()
        );
    }
    let source = if args.contents {
        SbomSource::Contents(args.path.clone())
    } else {
        SbomSource::Tree(args.path.clone())
    };
    let inventory = source.scan()?;
    let info = document_info(source.dir())?;
    let format = match args.format {
        SbomFormatArg::Cyclonedx => Format::CycloneDx,
        SbomFormatArg::Spdx => Format::Spdx,
    };
    let document = slipway_sbom::render(&inventory, &info, format);
    let text = String::from_utf8(document).context("the SBOM is not UTF-8")?;
    match &args.output {
        Some(path) => write_atomically(path, &text)?,
        None => print!("{text}"),
    }
    report(&inventory, &source, started);
    Ok(Outcome::Success)
}

/// The subject, version and time of the document. The time is `SOURCE_DATE_EPOCH` when set,
/// else the commit time of HEAD, so that regenerating the SBOM of a commit gives the same
/// bytes; only outside a repository does it fall back to the current time.
pub fn document_info(dir: &Path) -> anyhow::Result<DocumentInfo> {
    let absolute =
        std::fs::canonicalize(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let subject_name = absolute
        .file_name()
        .map_or_else(|| "root".to_string(), |n| n.to_string_lossy().into_owned());
    let head = slipway_vcs::git(
        &absolute,
        &["log", "-1", "--format=%H %cI"],
        slipway_vcs::LOCAL_TIMEOUT,
    )
    .ok();
    let (commit, commit_time) = match head
        .as_deref()
        .map(str::trim)
        .and_then(|l| l.split_once(' '))
    {
        Some((sha, time)) => (Some(sha.to_string()), Some(time.to_string())),
        None => (None, None),
    };
    let timestamp = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) => {
            let seconds: i64 = value
                .trim()
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH={value} is not a number of seconds"))?;
            Timestamp::from_unix_seconds(seconds)
                .with_context(|| format!("SOURCE_DATE_EPOCH={value} is out of range"))?
        }
        Err(_) => match &commit_time {
            Some(time) => Timestamp::parse_rfc3339(time)?,
            None => {
                eprintln!(
                    "sbom: {} is not in a git repository and SOURCE_DATE_EPOCH is unset; using the current time (the document will differ on every run)",
                    dir.display()
                );
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                Timestamp::from_unix_seconds(i64::try_from(now).unwrap_or(0))
                    .context("the system clock is out of range")?
            }
        },
    };
    Ok(DocumentInfo {
        subject_name,
        subject_version: commit,
        subject_sha256: None,
        timestamp,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

fn report(inventory: &Inventory, source: &SbomSource, started: Instant) {
    for skipped in inventory.skipped.iter().take(SKIPPED_SHOWN) {
        match skipped.line {
            Some(line) => eprintln!("sbom: skipped {}:{line}: {}", skipped.path, skipped.reason),
            None => eprintln!("sbom: skipped {}: {}", skipped.path, skipped.reason),
        }
    }
    if inventory.skipped.len() > SKIPPED_SHOWN {
        eprintln!(
            "sbom: ... and {} more skipped entries",
            inventory.skipped.len() - SKIPPED_SHOWN
        );
    }
    let millis = started.elapsed().as_millis();
    let components = inventory.components.len();
    let sources = inventory.sources.len();
    match source {
        SbomSource::Tree(_) => {
            eprintln!("sbom: {components} components from {sources} lockfiles in {millis} ms")
        }
        SbomSource::Contents(_) => eprintln!(
            "sbom: {components} components from {sources} package sources and {} files in {millis} ms",
            inventory.files.len()
        ),
    }
}

/// The SBOM of an artifact of the store: the same document `run` attaches as evidence, made
/// again from the artifact's layers.
fn artifact_sbom(args: &SbomArgs, reference: &str) -> anyhow::Result<Outcome> {
    let dir = crate::commands::history::state(&args.state.state_dir)?;
    let format = match args.format {
        SbomFormatArg::Cyclonedx => Format::CycloneDx,
        SbomFormatArg::Spdx => Format::Spdx,
    };
    let document = crate::commands::history::runtime()?.block_on(async {
        let artifacts = slipway_artifact::Artifacts::open_in(&dir).await?;
        let inspection = artifacts.inspect(reference).await.with_context(|| {
            format!(
                "{reference} is neither a directory nor an artifact of {}",
                dir.display()
            )
        })?;
        let mut documents =
            slipway_evidence::attest::artifact_sbom(&artifacts, &inspection, &[format]).await?;
        anyhow::Ok(documents.pop().unwrap_or_default())
    })?;
    let text = String::from_utf8(document).context("the SBOM is not UTF-8")?;
    match &args.output {
        Some(path) => write_atomically(path, &text)?,
        None => print!("{text}"),
    }
    Ok(Outcome::Success)
}
