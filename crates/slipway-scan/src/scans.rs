//! Running the scanners over what a run (or `slipway scan all`) has: the commit's tree, the
//! commits it adds, the artifact's files, the run's logs and the jobs' SARIF reports.

use crate::convert;
use crate::finding::Gate;
use crate::gate::{GatePolicy, GateReport, ScanInput, ScanResults, evaluate};
use crate::waivers::Waivers;
use chrono::{DateTime, Utc};
use slipway_artifact::{Artifacts, Inspection};
use slipway_pipeline::model::GateMode;
use slipway_store::Store;
use std::path::{Path, PathBuf};

/// Evidence kind and predicate type of a gate evaluation attached to an artifact.
pub const KIND_SECURITY_GATES: &str = "security-gates";
pub const SECURITY_GATES_PREDICATE: &str = "https://slipway.invalid/attestation/security-gates/v1";

/// An advisory database older than this is reported as stale.
pub const STALE_AFTER_DAYS: i64 = 7;

/// Errors of a scan that could not run at all (a finding is never an error).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Secrets(#[from] slipway_secretscan::Error),
    #[error(transparent)]
    Inventory(#[from] slipway_sbom::Error),
    #[error(transparent)]
    Advisories(#[from] slipway_osv::Error),
    #[error(transparent)]
    Pins(#[from] crate::pins::Error),
    #[error(transparent)]
    Sarif(#[from] slipway_sarif::Error),
    #[error(transparent)]
    Store(#[from] slipway_store::StoreError),
    #[error(transparent)]
    Artifact(#[from] slipway_artifact::Error),
    #[error(transparent)]
    Evidence(#[from] slipway_evidence::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("a scan stopped unexpectedly: {0}")]
    Task(String),
}

/// Runs blocking scanner work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ScanError> + Send + 'static,
) -> Result<T, ScanError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ScanError::Task(e.to_string()))?
}

/// An artifact's files, unpacked into a scratch directory that goes away with this value.
pub struct UnpackedArtifact {
    pub inspection: Inspection,
    dir: tempfile::TempDir,
}

impl UnpackedArtifact {
    pub async fn open(artifacts: &Artifacts, reference: &str) -> Result<Self, ScanError> {
        let inspection = artifacts.inspect(reference).await?;
        let dir = artifacts
            .unpack_to_scratch(&inspection.manifest, &inspection.config, "slipway-scan-")
            .await?;
        Ok(UnpackedArtifact { inspection, dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn digest(&self) -> &str {
        &self.inspection.record.digest
    }
}

/// The secrets scanner with the repository's allowlist, when it has one.
pub fn secret_scanner(root: &Path) -> Result<slipway_secretscan::Scanner, ScanError> {
    let allowlist = slipway_secretscan::Allowlist::load(root)?;
    Ok(slipway_secretscan::Scanner::builtin().with_allowlist(allowlist))
}

/// What the advisory database holds, for notes on reports.
pub async fn database_note(store: &Store, now: DateTime<Utc>) -> Result<Option<String>, ScanError> {
    let status = store.advisory_status().await?;
    let records: i64 = status.iter().map(|s| s.records).sum();
    if records == 0 {
        return Ok(Some(
            "the advisory database is empty: load OSV records with `slipway db import DIR|ZIP`"
                .into(),
        ));
    }
    let stale: Vec<String> = status
        .iter()
        .filter_map(|s| {
            let newest = s
                .newest_modified
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok())?
                .with_timezone(&Utc);
            let age = (now - newest).num_days();
            (age > STALE_AFTER_DAYS).then(|| {
                format!(
                    "{} ({} days old, newest record {})",
                    s.ecosystem,
                    age,
                    newest.date_naive()
                )
            })
        })
        .collect();
    Ok((!stale.is_empty()).then(|| {
        format!(
            "advisories older than {STALE_AFTER_DAYS} days: {}; refresh them with `slipway db import`",
            stale.join(", ")
        )
    }))
}

/// Matches an inventory against the advisories the store holds for its packages.
pub async fn match_inventory(
    store: &Store,
    inventory: &slipway_sbom::Inventory,
) -> Result<Vec<slipway_osv::VulnFinding>, ScanError> {
    let rows = store
        .advisories_for(&slipway_osv::inventory_keys(inventory))
        .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        records.push(slipway_osv::parse_record("store", row.as_bytes())?);
    }
    Ok(slipway_osv::Index::new(records).scan(inventory))
}

/// OSV records as the store keeps them: JSON text indexed by the packages they name.
pub fn advisory_rows(records: &[slipway_osv::Record]) -> Vec<slipway_store::AdvisoryRow> {
    records
        .iter()
        .map(|record| slipway_store::AdvisoryRow {
            id: record.id.clone(),
            modified: record.modified.clone(),
            published: record.published.clone(),
            withdrawn: record.withdrawn.clone(),
            record: serde_json::to_string(record).unwrap_or_default(),
            packages: slipway_osv::record_keys(record),
        })
        .collect()
}

/// A note naming the lockfiles an inventory could not read: their packages went unchecked.
pub fn unread_lockfiles(inventory: &slipway_sbom::Inventory) -> Option<String> {
    let unread: Vec<String> = inventory
        .skipped
        .iter()
        .filter(|s| s.line.is_none())
        .map(|s| {
            format!(
                "{} ({})",
                s.path,
                s.reason.lines().next().unwrap_or_default()
            )
        })
        .collect();
    (!unread.is_empty()).then(|| {
        format!(
            "{} lockfile(s) could not be read, so their packages were not checked: {}",
            unread.len(),
            unread.join("; ")
        )
    })
}

/// A note naming the files the pinning checks could not parse.
pub fn unread_pin_files(report: &crate::pins::PinReport) -> Option<String> {
    (!report.skipped.is_empty()).then(|| {
        let files: Vec<String> = report
            .skipped
            .iter()
            .map(|s| format!("{} ({})", s.file, s.reason))
            .collect();
        format!(
            "{} file(s) could not be parsed, so their pins were not checked: {}",
            files.len(),
            files.join("; ")
        )
    })
}

/// What a run's gates look at.
pub struct RunScan {
    /// The tree to scan: the commit's, exported, or a working directory.
    pub source: PathBuf,
    /// `source` is an export of exactly the commit's files: scan a file committed despite a
    /// `.gitignore` rule too. A working directory's ignored files (build output, local
    /// state) are left out.
    pub exported: bool,
    /// The repository, for the commits the run adds.
    pub repository: PathBuf,
    /// `base..head` of the commits the event adds, when the event says.
    pub range: Option<String>,
    /// The run's artifact.
    pub artifact: Option<String>,
    /// The run's logs.
    pub logs: Vec<PathBuf>,
    /// SARIF reports of the jobs: name and bytes.
    pub sarif: Vec<(String, Vec<u8>)>,
    pub policy: GatePolicy,
    pub now: DateTime<Utc>,
}

/// Scans everything a run has and judges it; the report names every input.
pub async fn scan_run(
    store: &Store,
    artifacts: &Artifacts,
    scan: RunScan,
) -> Result<GateReport, ScanError> {
    let mut results = ScanResults::default();
    let policy = scan.policy.clone();
    let waivers = match Waivers::load(&scan.source, scan.now) {
        Ok(waivers) => waivers,
        Err(error) => Waivers {
            problems: vec![crate::waivers::unreadable(&error)],
            ..Waivers::default()
        },
    };
    let unpacked = match &scan.artifact {
        Some(reference) => Some(UnpackedArtifact::open(artifacts, reference).await?),
        None => None,
    };

    if policy.secrets != GateMode::Off {
        let source = scan.source.clone();
        let repository = scan.repository.clone();
        let range = scan.range.clone();
        let logs = scan.logs.clone();
        let include_ignored = scan.exported;
        let artifact_dir = unpacked.as_ref().map(|u| u.path().to_owned());
        let artifact_digest = unpacked.as_ref().map(|u| u.digest().to_owned());
        let (input, findings) = blocking(move || {
            let scanner = secret_scanner(&source)?;
            let options = slipway_secretscan::ScanOptions {
                include_ignored,
                ..slipway_secretscan::ScanOptions::default()
            };
            let mut input = ScanInput::default();
            let tree = scanner.scan_dir(&source, &options)?;
            input.scanned.push(format!(
                "source tree ({} files, {} bytes)",
                tree.scanned_files, tree.scanned_bytes
            ));
            let mut findings = convert::secrets(&tree, "");
            if let Some(range) = &range {
                let commits = scanner.scan_git(&repository, range, &options)?;
                input.scanned.push(format!("commits {range}"));
                for finding in convert::secrets(&commits, "") {
                    if !findings.iter().any(|f| f.id == finding.id) {
                        findings.push(finding);
                    }
                }
            }
            if let (Some(dir), Some(digest)) = (&artifact_dir, &artifact_digest) {
                let files = scanner.scan_dir(dir, &options)?;
                input.scanned.push(format!("artifact {digest}"));
                findings.extend(convert::secrets(&files, "artifact:/"));
            }
            for log in &logs {
                let bytes = std::fs::read(log).map_err(|source| ScanError::Io {
                    context: format!("cannot read {}", log.display()),
                    source,
                })?;
                let name = log
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                let report = slipway_secretscan::Report {
                    findings: scanner.scan_bytes(&name, &bytes),
                    scanned_files: 1,
                    scanned_bytes: bytes.len() as u64,
                    ..slipway_secretscan::Report::default()
                };
                input.scanned.push(format!("log {name}"));
                findings.extend(convert::secrets(&report, "log:"));
            }
            Ok((input, findings))
        })
        .await?;
        results.add(Gate::Secrets, input, findings);
    }

    if policy.vulnerabilities != GateMode::Off {
        let mut input = ScanInput {
            note: database_note(store, scan.now).await?,
            ..ScanInput::default()
        };
        let source = scan.source.clone();
        let tree = blocking(move || Ok(slipway_sbom::scan_source_lenient(&source)?)).await?;
        input.scanned.push(format!(
            "source lockfiles ({} packages)",
            tree.components.len()
        ));
        input.add_note(unread_lockfiles(&tree));
        let mut found = match_inventory(store, &tree).await?;
        if let Some(unpacked) = &unpacked {
            let dir = unpacked.path().to_owned();
            let contents = blocking(move || Ok(slipway_sbom::scan_filesystem(&dir)?)).await?;
            input.scanned.push(format!(
                "artifact {} ({} packages)",
                unpacked.digest(),
                contents.components.len()
            ));
            for finding in match_inventory(store, &contents).await? {
                if !found
                    .iter()
                    .any(|f| f.advisory == finding.advisory && f.purl == finding.purl)
                {
                    found.push(finding);
                }
            }
        }
        results.add(
            Gate::Vulnerabilities,
            input,
            convert::vulnerabilities(&found),
        );
    }

    if policy.pins != GateMode::Off {
        let source = scan.source.clone();
        let report = blocking(move || Ok(crate::pins::check(&source)?)).await?;
        results.add(
            Gate::Pins,
            ScanInput {
                scanned: vec![format!("source tree ({} files)", report.checked_files)],
                note: unread_pin_files(&report),
            },
            convert::pins(&report),
        );
    }

    if policy.sarif != GateMode::Off && !scan.sarif.is_empty() {
        let mut input = ScanInput::default();
        let mut ingested = Vec::new();
        for (name, bytes) in &scan.sarif {
            let log = slipway_sarif::read(name, bytes)?;
            let results = slipway_sarif::ingest_with_root(&log, &scan.source);
            input
                .scanned
                .push(format!("{name} ({} results)", results.len()));
            ingested.extend(results);
        }
        results.add(Gate::Sarif, input, convert::sarif(&ingested));
    }

    if policy.migrations != GateMode::Off {
        let source = scan.source.clone();
        let repository = scan.repository.clone();
        let range = scan.range.clone();
        let dir = policy.migrations_dir.clone();
        let (input, findings) = blocking(move || {
            Ok(scan_migrations(
                &source,
                &repository,
                range.as_deref(),
                dir.as_deref(),
            ))
        })
        .await?;
        results.add(Gate::Migrations, input, findings);
    }

    Ok(evaluate(
        &policy,
        results,
        &waivers,
        scan.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ))
}

/// The migrations gate over a tree: the directory the policy names, or every directory named
/// `migrations` that holds migrations. A directory's release is the migrations added since
/// the base of `range` (`base..head`) when the event gives one, else its last migration.
pub fn scan_migrations(
    source: &Path,
    repository: &Path,
    range: Option<&str>,
    dir: Option<&str>,
) -> (ScanInput, Vec<crate::Finding>) {
    let dirs = match dir {
        Some(dir) => vec![PathBuf::from(dir)],
        None => slipway_migrations::find_dirs(source),
    };
    let base = range
        .and_then(|range| range.split_once(".."))
        .map(|(base, _)| base)
        .filter(|base| !base.is_empty());
    // An exported tree is the repository's root; a working directory may be a part of it.
    let source_in_repository = source
        .canonicalize()
        .ok()
        .zip(repository.canonicalize().ok())
        .and_then(|(source, repository)| {
            source.strip_prefix(&repository).ok().map(Path::to_path_buf)
        })
        .unwrap_or_default();
    let mut input = ScanInput::default();
    let mut findings = Vec::new();
    if dirs.is_empty() {
        input
            .scanned
            .push("no migrations directory in the source tree".into());
    }
    for dir in dirs {
        let label = dir.to_string_lossy().replace('\\', "/");
        let release = match base {
            Some(base) => match slipway_migrations::Release::since_git_ref(
                repository,
                &source_in_repository.join(&dir),
                base,
            ) {
                Ok(release) => release,
                Err(error) => {
                    input.add_note(Some(format!(
                        "{label}: {error}; the last migration was checked as the release"
                    )));
                    slipway_migrations::Release::Last
                }
            },
            None => slipway_migrations::Release::Last,
        };
        match slipway_migrations::scan_dir(&source.join(&dir), &release) {
            Ok(report) => {
                input.scanned.push(format!(
                    "{label} ({} migrations; release: {}: {})",
                    report.migrations,
                    report.release_rule,
                    if report.release.is_empty() {
                        "none".to_string()
                    } else {
                        report.release.join(", ")
                    }
                ));
                input.add_note(report.note().map(|note| format!("{label}: {note}")));
                findings.extend(convert::migrations(&report, &format!("{label}/")));
            }
            Err(error) => findings.push(convert::unreadable_migrations(&label, &error)),
        }
    }
    (input, findings)
}

/// Signs the gate report and attaches it to the artifact as evidence.
pub async fn attach_report(
    artifacts: &Artifacts,
    reference: &str,
    key: &slipway_evidence::BuilderKey,
    report: &GateReport,
) -> Result<slipway_store::EvidenceRecord, ScanError> {
    let inspection = artifacts.inspect(reference).await?;
    let predicate = serde_json::to_value(report).map_err(|e| ScanError::Task(e.to_string()))?;
    Ok(slipway_evidence::attest::attach(
        artifacts,
        &inspection,
        key,
        KIND_SECURITY_GATES,
        SECURITY_GATES_PREDICATE,
        predicate,
    )
    .await?)
}
