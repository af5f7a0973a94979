//! `slipway scan ...` and `slipway db ...`: the security scans, judged by the pipeline's gates
//! and the repository's waivers, and the offline advisory database they match against.

use crate::Outcome;
use crate::cli::{
    DbImportArgs, DbStatusArgs, ScanAllArgs, ScanFormat, ScanMigrationsArgs, ScanOutputArgs,
    ScanPathArgs, ScanSarifArgs, ScanSecretsArgs, ScanTargetArgs,
};
use crate::commands::history::{runtime, state};
use crate::commands::init::write_atomically;
use crate::repo::PipelineFile;
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use slipway_scan::gate::{Decided, Disposition, GateReport, Verdict};
use slipway_scan::scans::{self, RunScan, UnpackedArtifact};
use slipway_scan::{Gate, GatePolicy, ScanInput, ScanResults, Waivers, convert};
use std::path::{Path, PathBuf};

/// Sets the clock waivers and the database's age are judged by (RFC 3339 or YYYY-MM-DD), so
/// an expiry can be tested without waiting for it.
pub const NOW_ENV: &str = "SLIPWAY_NOW";

/// The current time, or the one `SLIPWAY_NOW` sets.
pub fn now() -> anyhow::Result<DateTime<Utc>> {
    match std::env::var(NOW_ENV) {
        Ok(text) if !text.trim().is_empty() => {
            let text = text.trim();
            if let Ok(time) = DateTime::parse_from_rfc3339(text) {
                return Ok(time.with_timezone(&Utc));
            }
            let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").with_context(|| {
                format!("{NOW_ENV}={text} is neither an RFC 3339 time nor a YYYY-MM-DD date")
            })?;
            Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
        }
        _ => Ok(Utc::now()),
    }
}

/// The gate policy: the `gates:` of `--file`, of the repository's pipeline file, or the
/// defaults when there is none.
fn policy(output: &ScanOutputArgs, root: &Path) -> anyhow::Result<GatePolicy> {
    let path = match &output.file {
        Some(path) => Some(path.clone()),
        None => Some(root.join(crate::repo::DEFAULT_FILE)).filter(|p| p.exists()),
    };
    let Some(path) = path else {
        return Ok(GatePolicy::default());
    };
    let file = PipelineFile::locate(Some(&path))?;
    let loaded = file.load();
    if loaded.has_errors() {
        eprint!(
            "{}",
            crate::render::human(&loaded.diagnostics, &loaded.sources)
        );
        bail!(
            "{}: {}; the gates cannot be read (see `slipway lint`)",
            file.display,
            crate::render::counts(&loaded.diagnostics)
        );
    }
    Ok(GatePolicy::from_pipeline(loaded.pipeline.gates.as_ref()))
}

/// The repository root a path belongs to (for waivers and the pipeline file).
fn repository_root(path: &Path) -> PathBuf {
    slipway_vcs::toplevel(path).unwrap_or_else(|_| path.to_path_buf())
}

fn judge(
    output: &ScanOutputArgs,
    root: &Path,
    results: ScanResults,
    now: DateTime<Utc>,
) -> anyhow::Result<GateReport> {
    let policy = policy(output, root)?;
    let waivers = match Waivers::load(root, now) {
        Ok(waivers) => waivers,
        Err(error) => Waivers {
            problems: vec![slipway_scan::waivers::unreadable(&error)],
            ..Waivers::default()
        },
    };
    Ok(slipway_scan::evaluate(
        &policy,
        results,
        &waivers,
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ))
}

/// Writes to `--output` (atomically) or standard output.
fn emit(output: &ScanOutputArgs, text: &str) -> anyhow::Result<()> {
    match &output.output {
        Some(path) => write_atomically(path, text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn outcome(report: &GateReport) -> Outcome {
    if report.verdict == Verdict::Fail {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}

/// Prints a report in the text or SARIF format; JSON is each command's own shape.
fn emit_report(
    output: &ScanOutputArgs,
    report: &GateReport,
    catalog: &slipway_scan::sarif_out::RuleCatalog,
) -> anyhow::Result<()> {
    match output.format {
        ScanFormat::Sarif => {
            let log = slipway_scan::sarif_out::sarif_log(report, catalog);
            emit(output, &String::from_utf8_lossy(&log.to_json()))
        }
        ScanFormat::Json => emit(output, &(serde_json::to_string_pretty(report)? + "\n")),
        ScanFormat::Text => {
            let text = render_report(report);
            match &output.output {
                Some(path) => write_atomically(path, &text),
                None => {
                    eprint!("{text}");
                    Ok(())
                }
            }
        }
    }
}

/// The results of one scan, for one gate.
fn one_gate(
    gate: Gate,
    scanned: String,
    note: Option<String>,
    findings: Vec<slipway_scan::Finding>,
) -> ScanResults {
    let mut results = ScanResults::default();
    results.add(
        gate,
        ScanInput {
            scanned: vec![scanned],
            note,
        },
        findings,
    );
    results
}

/// Prints a scan: `json` (the command's own shape) for `--format json`, the gate report as
/// text or SARIF otherwise; the exit follows the gates.
fn finish(
    output: &ScanOutputArgs,
    gates: &GateReport,
    json: serde_json::Value,
    catalog: &slipway_scan::sarif_out::RuleCatalog,
) -> anyhow::Result<Outcome> {
    match output.format {
        ScanFormat::Json => emit(output, &(serde_json::to_string_pretty(&json)? + "\n"))?,
        _ => emit_report(output, gates, catalog)?,
    }
    Ok(outcome(gates))
}

/// Reads SARIF files given on the command line: name and bytes.
fn read_files(files: &[PathBuf]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    files
        .iter()
        .map(|file| {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            Ok((file.display().to_string(), bytes))
        })
        .collect()
}

/// The gates as people read them: each gate's verdict and its findings, blocking first.
pub fn render_report(report: &GateReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for gate in &report.gates {
        let _ = writeln!(
            out,
            "gate {:<15} {:<4}  {} blocking, {} warning, {} waived{}",
            gate.gate.as_str(),
            gate.verdict.as_str(),
            gate.count(Disposition::Block),
            gate.count(Disposition::Warn),
            gate.count(Disposition::Waived),
            if gate.input.scanned.is_empty() {
                String::new()
            } else {
                format!("  [{}]", gate.input.scanned.join("; "))
            }
        );
        if let Some(note) = &gate.input.note {
            let _ = writeln!(out, "  note: {note}");
        }
        for decided in &gate.findings {
            let _ = writeln!(out, "{}", render_finding(decided));
        }
    }
    let _ = writeln!(out, "gates: {}", report.verdict.as_str());
    out
}

fn render_finding(decided: &Decided) -> String {
    let mark = match decided.disposition {
        Disposition::Block => "BLOCK ",
        Disposition::Warn => "warn  ",
        Disposition::Waived => "waived",
    };
    let location = decided.finding.location.to_string();
    let mut line = format!(
        "  {mark} {} {}",
        if location.is_empty() { "-" } else { &location },
        decided.finding.title
    );
    line.push_str(&format!("\n         {}", decided.reason));
    if decided.disposition != Disposition::Waived && decided.finding.gate != Gate::Waivers {
        line.push_str(&format!("\n         waive with id: {}", decided.finding.id));
    }
    if decided.disposition != Disposition::Waived
        && let Some(help) = &decided.finding.help
    {
        line.push_str(&format!("\n         help: {help}"));
    }
    line
}

pub fn secrets(args: &ScanSecretsArgs) -> anyhow::Result<Outcome> {
    let path = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !path.is_dir() {
        bail!("{} is not a directory", path.display());
    }
    let root = repository_root(&path);
    let now = now()?;
    let scanner = scans::secret_scanner(&path)?;
    let options = slipway_secretscan::ScanOptions {
        include_vendored: args.include_vendored,
        include_binary: args.include_binary,
        include_ignored: args.no_ignore,
        ..slipway_secretscan::ScanOptions::default()
    };
    let (report, prefix, scanned) = if let Some(range) = &args.git {
        (
            scanner.scan_git(&path, range, &options)?,
            "",
            format!("commits {range}"),
        )
    } else if let Some(reference) = &args.artifact {
        let dir = state(&args.state.state_dir)?;
        runtime()?.block_on(async {
            let artifacts = slipway_artifact::Artifacts::open_in(&dir).await?;
            let unpacked = UnpackedArtifact::open(&artifacts, reference).await?;
            let report = scanner.scan_dir(unpacked.path(), &options)?;
            anyhow::Ok((report, "", format!("artifact {}", unpacked.digest())))
        })?
    } else if let Some(run) = &args.logs {
        let (name, bytes) = run_log(&args.state.state_dir, run)?;
        let report = slipway_secretscan::Report {
            findings: scanner.scan_bytes(&name, &bytes),
            scanned_files: 1,
            scanned_bytes: bytes.len() as u64,
            ..slipway_secretscan::Report::default()
        };
        (report, "", format!("log {name}"))
    } else {
        let report = scanner.scan_dir(&path, &options)?;
        (report, "", format!("{}", path.display()))
    };
    let results = one_gate(
        Gate::Secrets,
        scanned,
        None,
        convert::secrets(&report, prefix),
    );
    let gates = judge(&args.output, &root, results, now)?;
    let json = serde_json::json!({
        "findings": report.findings,
        "allowed": report.allowed,
        "scanned_files": report.scanned_files,
        "scanned_bytes": report.scanned_bytes,
        "skipped": report.skipped,
        "verdict": gates.verdict,
    });
    let outcome = finish(
        &args.output,
        &gates,
        json,
        &slipway_scan::sarif_out::RuleCatalog::builtin(&scanner),
    )?;
    if args.output.format == ScanFormat::Text {
        eprintln!(
            "secrets: {} findings ({} allowed) in {} files, {} bytes; skipped {} binary, {} vendored, {} too large",
            report.findings.len(),
            report.allowed.len(),
            report.scanned_files,
            report.scanned_bytes,
            report.skipped.binary,
            report.skipped.vendored,
            report.skipped.too_large
        );
    }
    Ok(outcome)
}

/// The event log of a run (its latest attempt): name and bytes.
fn run_log(state_arg: &Option<PathBuf>, run: &str) -> anyhow::Result<(String, Vec<u8>)> {
    let dir = state(state_arg)?;
    let record = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&dir).await?;
        store.run(run).await
    })?;
    let name = slipway_runner::events_file_name(record.attempt);
    let path = dir.join("runs").join(&record.id).join(&name);
    let bytes = std::fs::read(&path)
        .with_context(|| format!("no log for run #{} at {}", record.number, path.display()))?;
    Ok((format!("run-{}/{name}", record.number), bytes))
}

/// Reads a directory or an artifact into an inventory: lockfiles of a tree, or the contents
/// (OS packages, binaries, shipped lockfiles) of an artifact or root filesystem.
fn vulnerability_scan(
    args: &ScanTargetArgs,
    os_only: bool,
) -> anyhow::Result<(GateReport, Vec<slipway_osv::VulnFinding>, usize)> {
    let now = now()?;
    let dir = state(&args.state.state_dir)?;
    let target = PathBuf::from(&args.target);
    let root = if target.is_dir() {
        repository_root(&target)
    } else {
        std::env::current_dir()?
    };
    let (found, packages, scanned, note) = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&dir).await?;
        let note = scans::database_note(&store, now).await?;
        let (inventory, scanned) = if target.is_dir() {
            let inventory = if os_only {
                slipway_sbom::scan_filesystem(&target)?
            } else {
                slipway_sbom::scan_source_lenient(&target)?
            };
            (inventory, target.display().to_string())
        } else {
            let artifacts = slipway_artifact::Artifacts::open_in(&dir).await?;
            let unpacked = UnpackedArtifact::open(&artifacts, &args.target)
                .await
                .with_context(|| {
                    format!(
                        "{} is neither a directory nor an artifact of {}",
                        args.target,
                        dir.display()
                    )
                })?;
            let inventory = slipway_sbom::scan_filesystem(unpacked.path())?;
            (inventory, format!("artifact {}", unpacked.digest()))
        };
        let mut inventory = inventory;
        if os_only {
            inventory.components.retain(|c| {
                matches!(
                    c.ecosystem,
                    slipway_sbom::Ecosystem::Deb | slipway_sbom::Ecosystem::Apk
                )
            });
        }
        let found = scans::match_inventory(&store, &inventory).await?;
        let mut input = ScanInput {
            scanned: Vec::new(),
            note,
        };
        input.add_note(scans::unread_lockfiles(&inventory));
        anyhow::Ok((found, inventory.components.len(), scanned, input.note))
    })?;
    let results = one_gate(
        Gate::Vulnerabilities,
        format!("{scanned} ({packages} packages)"),
        note,
        convert::vulnerabilities(&found),
    );
    let gates = judge(&args.output, &root, results, now)?;
    Ok((gates, found, packages))
}

pub fn deps(args: &ScanTargetArgs, os_only: bool) -> anyhow::Result<Outcome> {
    let (gates, found, packages) = vulnerability_scan(args, os_only)?;
    let json = serde_json::json!({
        "findings": found,
        "packages": packages,
        "note": gates.gates.first().and_then(|g| g.input.note.clone()),
        "verdict": gates.verdict,
        "gates": gates.gates,
    });
    finish(
        &args.output,
        &gates,
        json,
        &slipway_scan::sarif_out::RuleCatalog::default(),
    )
}

pub fn sarif(args: &ScanSarifArgs) -> anyhow::Result<Outcome> {
    let now = now()?;
    let cwd = std::env::current_dir()?;
    let root = args.root.clone().unwrap_or_else(|| repository_root(&cwd));
    if args.output.format == ScanFormat::Sarif {
        bail!("`scan sarif` reads SARIF; print its judgement with --format text or json");
    }
    let mut ingested = Vec::new();
    let mut scanned = Vec::new();
    for (name, bytes) in read_files(&args.files)? {
        let log = slipway_sarif::read(&name, &bytes)?;
        let results = slipway_sarif::ingest_with_root(&log, &root);
        scanned.push(format!("{name} ({} results)", results.len()));
        ingested.extend(results);
    }
    let mut results = ScanResults::default();
    results.add(
        Gate::Sarif,
        ScanInput {
            scanned,
            note: None,
        },
        convert::sarif(&ingested),
    );
    let gates = judge(&args.output, &root, results, now)?;
    let json = serde_json::json!({
        "findings": ingested,
        "verdict": gates.verdict,
        "gates": gates.gates,
    });
    finish(
        &args.output,
        &gates,
        json,
        &slipway_scan::sarif_out::RuleCatalog::default(),
    )
}

pub fn pins(args: &ScanPathArgs) -> anyhow::Result<Outcome> {
    if !args.path.is_dir() {
        bail!("{} is not a directory", args.path.display());
    }
    let now = now()?;
    let root = repository_root(&args.path);
    let report = slipway_scan::pins::check(&args.path)?;
    let results = one_gate(
        Gate::Pins,
        format!("{} ({} files)", args.path.display(), report.checked_files),
        scans::unread_pin_files(&report),
        convert::pins(&report),
    );
    let gates = judge(&args.output, &root, results, now)?;
    let json = serde_json::json!({
        "findings": report.findings,
        "checked_files": report.checked_files,
        "skipped": report.skipped,
        "verdict": gates.verdict,
    });
    finish(
        &args.output,
        &gates,
        json,
        &slipway_scan::sarif_out::RuleCatalog::default(),
    )
}

/// The release of a migrations directory: the migrations added since `--base`, else the last.
fn migration_release(
    dir: &Path,
    base: Option<&str>,
) -> anyhow::Result<slipway_migrations::Release> {
    let Some(base) = base else {
        return Ok(slipway_migrations::Release::Last);
    };
    let toplevel = slipway_vcs::toplevel(dir).with_context(|| {
        format!(
            "--base {base} compares with a git reference, but {} is not in a git repository",
            dir.display()
        )
    })?;
    let absolute = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    let toplevel = toplevel.canonicalize().unwrap_or(toplevel);
    let inside = absolute.strip_prefix(&toplevel).with_context(|| {
        format!(
            "{} is outside the repository at {}",
            dir.display(),
            toplevel.display()
        )
    })?;
    Ok(slipway_migrations::Release::since_git_ref(
        &toplevel, inside, base,
    )?)
}

/// `slipway scan migrations`: checks a directory's migrations, judged by `gates.migrations`
/// and the waivers; findings print as `file:line:col: rule: message` or `{"findings": [...]}`.
pub fn migrations(args: &ScanMigrationsArgs) -> anyhow::Result<Outcome> {
    if !args.dir.is_dir() {
        bail!("{} is not a directory", args.dir.display());
    }
    let format = if args.json {
        if args.output.format == ScanFormat::Sarif {
            bail!("--json and --format sarif contradict each other; pass one of them");
        }
        ScanFormat::Json
    } else {
        args.output.format
    };
    let now = now()?;
    let root = repository_root(&args.dir);
    let release = migration_release(&args.dir, args.base.as_deref())?;
    let report = slipway_migrations::scan_dir(&args.dir, &release)?;
    // Waiver ids name files from the repository root, as the run's gate does.
    let prefix = args
        .dir
        .canonicalize()
        .ok()
        .zip(root.canonicalize().ok())
        .and_then(|(dir, root)| {
            dir.strip_prefix(root)
                .ok()
                .map(|inside| inside.to_string_lossy().replace('\\', "/"))
        })
        .filter(|inside| !inside.is_empty())
        .map(|inside| format!("{inside}/"))
        .unwrap_or_default();
    let results = one_gate(
        Gate::Migrations,
        format!(
            "{} ({} migrations; release: {}: {})",
            args.dir.display(),
            report.migrations,
            report.release_rule,
            if report.release.is_empty() {
                "none".to_string()
            } else {
                report.release.join(", ")
            }
        ),
        report.note(),
        convert::migrations(&report, &prefix),
    );
    let gates = judge(&args.output, &root, results, now)?;
    let decided: Vec<&Decided> = gates.gates.iter().flat_map(|g| &g.findings).collect();
    let disposition = |finding: &slipway_migrations::Finding| {
        let id = format!("{}:{prefix}{}:{}", finding.rule, finding.file, finding.line);
        decided
            .iter()
            .find(|d| d.finding.id == id)
            .map(|d| (d.disposition, d.reason.clone()))
    };
    match format {
        ScanFormat::Json => {
            let findings: Vec<serde_json::Value> = report
                .findings
                .iter()
                .map(|finding| {
                    let mut value = serde_json::to_value(finding)?;
                    if let (Some(object), Some((disposition, reason))) =
                        (value.as_object_mut(), disposition(finding))
                    {
                        object.insert("disposition".into(), serde_json::to_value(disposition)?);
                        object.insert("reason".into(), reason.into());
                    }
                    Ok(value)
                })
                .collect::<Result<_, serde_json::Error>>()?;
            emit(
                &args.output,
                &(serde_json::to_string_pretty(&serde_json::json!({ "findings": findings }))?
                    + "\n"),
            )?;
        }
        ScanFormat::Sarif => emit_report(
            &args.output,
            &gates,
            &slipway_scan::sarif_out::RuleCatalog::default(),
        )?,
        ScanFormat::Text => {
            use std::fmt::Write as _;
            let mut text = String::new();
            for finding in &report.findings {
                let waived = match disposition(finding) {
                    Some((Disposition::Waived, reason)) => format!(" ({reason})"),
                    Some((Disposition::Warn, _)) => " (warning)".into(),
                    _ => String::new(),
                };
                let _ = writeln!(
                    text,
                    "{}:{}:{}: {}: {}{waived}\n  help: {}",
                    finding.file,
                    finding.line,
                    finding.column,
                    finding.rule,
                    finding.message,
                    finding.help
                );
            }
            emit(&args.output, &text)?;
            for skipped in &report.skipped {
                eprintln!("migrations: skipped {}: {}", skipped.path, skipped.reason);
            }
            for unchecked in &report.unchecked {
                eprintln!(
                    "migrations: not checked {}:{}:{}: {}",
                    unchecked.file, unchecked.line, unchecked.column, unchecked.reason
                );
            }
            let gate = gates.gates.first();
            eprintln!(
                "migrations: {} findings ({} blocking) in {} migrations; release: {} ({}); gate migrations: {}",
                report.findings.len(),
                gate.map_or(0, |g| g.count(Disposition::Block)),
                report.migrations,
                report.release_rule,
                if report.release.is_empty() {
                    "none".to_string()
                } else {
                    report.release.join(", ")
                },
                gates.verdict.as_str()
            );
        }
    }
    Ok(outcome(&gates))
}

pub fn all(args: &ScanAllArgs) -> anyhow::Result<Outcome> {
    if !args.path.is_dir() {
        bail!("{} is not a directory", args.path.display());
    }
    let now = now()?;
    let root = repository_root(&args.path);
    let policy = policy(&args.output, &root)?;
    let sarif = read_files(&args.sarif)?;
    let dir = state(&args.state.state_dir)?;
    let report = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&dir).await?;
        let artifacts = slipway_artifact::Artifacts::open_in(&dir).await?;
        anyhow::Ok(
            scans::scan_run(
                &store,
                &artifacts,
                RunScan {
                    source: args.path.clone(),
                    exported: false,
                    repository: root.clone(),
                    range: None,
                    artifact: args.artifact.clone(),
                    logs: Vec::new(),
                    sarif,
                    policy,
                    now,
                },
            )
            .await?,
        )
    })?;
    emit_report(
        &args.output,
        &report,
        &slipway_scan::sarif_out::RuleCatalog::builtin(&slipway_secretscan::Scanner::builtin()),
    )?;
    Ok(outcome(&report))
}

pub fn db_import(args: &DbImportArgs) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let source = args.source.clone();
    let batch = slipway_osv::read_source(&source)
        .with_context(|| format!("cannot read advisories from {}", source.display()))?;
    let read_ms = started.elapsed().as_millis();
    let dir = state(&args.state.state_dir)?;
    let rows = scans::advisory_rows(&batch.records);
    let counts = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&dir).await?;
        store.import_advisories(&rows).await
    })?;
    let total_ms = started.elapsed().as_millis();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "files": batch.files,
                "records": batch.records.len(),
                "inserted": counts.inserted,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
                "rejected": batch.rejected.iter().map(|r| serde_json::json!({
                    "file": r.file,
                    "reason": r.reason,
                })).collect::<Vec<_>>(),
                "read_ms": read_ms,
                "total_ms": total_ms,
            })
        );
    } else {
        for rejected in batch.rejected.iter().take(20) {
            eprintln!("db: skipped {}: {}", rejected.file, rejected.reason);
        }
        if batch.rejected.len() > 20 {
            eprintln!(
                "db: ... and {} more skipped files",
                batch.rejected.len() - 20
            );
        }
        eprintln!(
            "db: {} records from {} files: {} new, {} updated, {} unchanged, {} skipped, in {:.1}s",
            batch.records.len(),
            batch.files,
            counts.inserted,
            counts.updated,
            counts.unchanged,
            batch.rejected.len(),
            total_ms as f64 / 1000.0
        );
    }
    Ok(Outcome::Success)
}

pub fn db_status(args: &DbStatusArgs) -> anyhow::Result<Outcome> {
    let now = now()?;
    let dir = state(&args.state.state_dir)?;
    let (status, note) = runtime()?.block_on(async {
        let store = slipway_store::Store::open_in(&dir).await?;
        let status = store.advisory_status().await?;
        let note = scans::database_note(&store, now).await?;
        anyhow::Ok((status, note))
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "ecosystems": status.iter().map(|s| serde_json::json!({
                    "ecosystem": s.ecosystem,
                    "records": s.records,
                    "newest_modified": s.newest_modified,
                    "newest_published": s.newest_published,
                })).collect::<Vec<_>>(),
                "records": status.iter().map(|s| s.records).sum::<i64>(),
                "warning": note,
            })
        );
    } else {
        println!("{:<24} {:>8}  newest record", "ecosystem", "records");
        for s in &status {
            println!(
                "{:<24} {:>8}  {}",
                s.ecosystem,
                s.records,
                match (&s.newest_modified, &s.newest_published) {
                    (Some(modified), _) => modified.clone(),
                    (None, Some(published)) =>
                        format!("{published} (published; no modification dates)"),
                    (None, None) => "- (no record carries a date)".into(),
                }
            );
        }
        if let Some(note) = note {
            eprintln!("warning: {note}");
        }
    }
    Ok(Outcome::Success)
}
