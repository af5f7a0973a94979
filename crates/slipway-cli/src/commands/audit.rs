//! `slipway audit verify|export|log`, and what other commands use to record what they did:
//! [`record`], [`load_builder_key`] and [`seal`] (the checkpoint at the end of a command that
//! appended).

use crate::Outcome;
use crate::cli::StateArg;
use crate::commands::history::{runtime, state};
use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use slipway_audit::{
    Actor, Anchor, CHECKPOINT_EVERY, ChainVerifier, ExportFile, ExportHeader, ExportReader,
    ExportWriter, VerifyReport, ZERO_HASH, format_millis,
};
use slipway_sign::PublicKey;
use slipway_store::{AuditEvent, AuditFilter, Store, now_ms};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Entries read from the store at a time by `verify` and `export`.
const PAGE: i64 = 10_000;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain and check the signed checkpoints; exit 1 naming the first
    /// entry that does not match (edited, missing, out of order, or cut off).
    Verify(AuditVerifyArgs),
    /// Write the log as JSON Lines (a header with the checkpoints and public keys, then one
    /// entry per line), to check it anywhere with nothing else (docs/audit.md).
    Export(AuditExportArgs),
    /// Show entries, newest last.
    Log(AuditLogArgs),
}

#[derive(Args)]
pub struct AuditVerifyArgs {
    /// Verify an export (`slipway audit export`) instead of the store; its checkpoints are
    /// checked with the keys it carries unless --key is given.
    #[arg(long, value_name = "EXPORT")]
    pub file: Option<PathBuf>,
    /// A public key (PEM) trusted to sign checkpoints, besides this machine's builder keys
    /// (with --file: instead of the keys the export carries). Repeatable.
    #[arg(long = "key", value_name = "PUB")]
    pub keys: Vec<PathBuf>,
    /// Print `{"ok", "entries", "first_bad", "reason", ...}`.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub state: StateArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// JSON Lines: a header line, then one entry per line.
    Jsonl,
}

#[derive(Args)]
pub struct AuditExportArgs {
    /// Start at this entry: a seq number, an RFC 3339 time or a YYYY-MM-DD date (UTC). The
    /// header's `prev` then anchors the first entry to the one before it.
    #[arg(long, value_name = "SEQ|TIME")]
    pub since: Option<String>,
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ExportFormat,
    /// Write to this file (written beside it, then renamed into place) instead of standard
    /// output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also include this public key (PEM) in the export. Repeatable.
    #[arg(long = "key", value_name = "PUB")]
    pub keys: Vec<PathBuf>,
    #[command(flatten)]
    pub state: StateArg,
}

#[derive(Args)]
pub struct AuditLogArgs {
    /// Entries about this subject (a digest, a release id, a run id).
    #[arg(long)]
    pub subject: Option<String>,
    /// Entries by this actor.
    #[arg(long)]
    pub actor: Option<String>,
    /// Entries of this action; `release.*` matches every `release.` action.
    #[arg(long)]
    pub action: Option<String>,
    /// Entries from this seq number, RFC 3339 time or YYYY-MM-DD date on.
    #[arg(long, value_name = "SEQ|TIME")]
    pub since: Option<String>,
    /// At most this many (the newest).
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Print `{"entries": [...]}`.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub state: StateArg,
}

pub fn run(command: &AuditCommand) -> anyhow::Result<Outcome> {
    match command {
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Export(args) => export(args),
        AuditCommand::Log(args) => log(args),
    }
}

fn verify(args: &AuditVerifyArgs) -> anyhow::Result<Outcome> {
    let (report, source, keys) = match &args.file {
        Some(path) => verify_file(path, &args.keys)?,
        None => {
            let dir = state(&args.state.state_dir)?;
            let trusted = trusted_keys(&dir, &args.keys)?;
            let report = runtime()?.block_on(async {
                let store = Store::open_in(&dir).await?;
                verify_store(&store, &trusted).await
            })?;
            (report, dir.join("slipway.db"), trusted)
        }
    };
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("source".into(), json!(source));
            let key_ids: Vec<String> = keys.iter().map(PublicKey::key_id).collect();
            object.insert("keys".into(), json!(key_ids));
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else if report.ok {
        println!(
            "verified: {} entries of {} ({} signed checkpoints{})",
            report.entries,
            source.display(),
            report.checkpoints_verified,
            report
                .head
                .as_deref()
                .map(|head| format!(", head {head}"))
                .unwrap_or_default()
        );
    } else {
        let at = report
            .first_bad
            .map(|seq| format!(" at entry {seq}"))
            .unwrap_or_default();
        println!(
            "NOT verified{at}: {}",
            report.reason.as_deref().unwrap_or("unknown problem")
        );
    }
    Ok(if report.ok {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// Verifies the store's whole log, checking one page while the store reads the next.
pub(crate) async fn verify_store(
    store: &Store,
    trusted: &[PublicKey],
) -> anyhow::Result<VerifyReport> {
    let checkpoints = store
        .checkpoints(0)
        .await?
        .into_iter()
        .map(|stored| stored.signed)
        .collect();
    let mut verifier = ChainVerifier::new(Anchor::genesis(), checkpoints, trusted);
    verifier.expect_count(store.audit_head_record().await?, "the store's head record");
    if verifier.failed() {
        return Ok(verifier.finish());
    }
    let verifier = store
        .scan_audit(0, PAGE, verifier, |verifier, entry| verifier.push(entry))
        .await?;
    Ok(verifier.finish())
}

fn verify_file(
    path: &Path,
    key_files: &[PathBuf],
) -> anyhow::Result<(VerifyReport, PathBuf, Vec<PublicKey>)> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = ExportReader::new(std::io::BufReader::with_capacity(1 << 20, file), path)?;
    let keys = if key_files.is_empty() {
        reader.header().public_keys()?
    } else {
        read_keys(key_files)?
    };
    let report = slipway_audit::verify_export(reader, Some(&keys))?;
    Ok((report, path.to_owned(), keys))
}

fn read_keys(files: &[PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
    files
        .iter()
        .map(|path| Ok(slipway_sign::keyfile::read_public_key(path)?))
        .collect()
}

/// This machine's builder keys (the development key, the configured key's `.pub`) and the
/// given ones.
fn trusted_keys(state_dir: &Path, key_files: &[PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
    let policy = slipway_evidence::keys::local_trust(state_dir)?;
    let mut keys: Vec<PublicKey> = policy
        .builders()
        .iter()
        .flat_map(|builder| builder.keys.iter().cloned())
        .collect();
    keys.extend(read_keys(key_files)?);
    Ok(keys)
}

fn export(args: &AuditExportArgs) -> anyhow::Result<Outcome> {
    let ExportFormat::Jsonl = args.format;
    let dir = state(&args.state.state_dir)?;
    let extra_keys = read_keys(&args.keys)?;
    let (entries, first_seq, checkpoints) = runtime()?.block_on(async {
        let store = Store::open_in(&dir).await?;
        let head = store.audit_head().await?.map_or(0, |(seq, _)| seq);
        let first_seq = match &args.since {
            None => 1,
            Some(since) => match since_seq(&store, since).await? {
                Some(seq) => seq.max(1),
                None => head + 1,
            },
        };
        let prev = if first_seq <= 1 {
            ZERO_HASH.to_owned()
        } else {
            match store.audit_entry(first_seq - 1).await? {
                Some(entry) => entry.hash,
                None if first_seq > head + 1 => {
                    bail!("the log has {head} entries; --since {first_seq} is past its end")
                }
                None => bail!(
                    "entry {} is missing from the log, so the export cannot be anchored; run `slipway audit verify`",
                    first_seq - 1
                ),
            }
        };
        let stored = store.checkpoints(first_seq - 1).await?;
        let mut keys: Vec<PublicKey> = Vec::new();
        for checkpoint in &stored {
            // The stored PEM is a copy for the auditor; a copy that does not match the key id
            // it signed under is left out, and the checkpoint then fails to verify.
            if let Ok(key) = PublicKey::from_pem(&checkpoint.public_key_pem)
                && key.key_id() == checkpoint.signed.key_id
                && !keys.iter().any(|k| k.key_id() == key.key_id())
            {
                keys.push(key);
            }
        }
        for key in extra_keys {
            if !keys.iter().any(|k| k.key_id() == key.key_id()) {
                keys.push(key);
            }
        }
        let anchor = Anchor { first_seq, prev };
        let checkpoints: Vec<_> = stored.into_iter().map(|s| s.signed).collect();
        let count = checkpoints.len();
        let header = ExportHeader::new(&anchor, format_millis(now_ms())?, &keys, checkpoints);
        let entries = match &args.output {
            Some(path) => {
                let mut file = ExportFile::create(path, &header)?;
                let written = page_through(&store, first_seq, |entry| Ok(file.entry(entry)?)).await?;
                file.commit()?;
                written
            }
            None => {
                let stdout = std::io::stdout().lock();
                let mut writer = ExportWriter::new(std::io::BufWriter::new(stdout), &header)?;
                let written = page_through(&store, first_seq, |entry| Ok(writer.entry(entry)?)).await?;
                writer.finish()?.flush()?;
                written
            }
        };
        anyhow::Ok((entries, first_seq, count))
    })?;
    let to = args
        .output
        .as_ref()
        .map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
    eprintln!(
        "exported {entries} entries from entry {first_seq} on and {checkpoints} signed checkpoints to {to}"
    );
    Ok(Outcome::Success)
}

/// Calls `write` for every entry from `first_seq` on, a page at a time.
async fn page_through(
    store: &Store,
    first_seq: i64,
    mut write: impl FnMut(&slipway_store::AuditEntry) -> anyhow::Result<()>,
) -> anyhow::Result<i64> {
    let mut after = first_seq - 1;
    let mut written = 0;
    loop {
        let page = store.audit_page(after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(written);
        };
        after = last.seq;
        for entry in &page {
            write(entry)?;
            written += 1;
        }
    }
}

/// The first seq `--since` names: a number is a seq; a time or date the first entry at or
/// after it (`None` when there is none).
async fn since_seq(store: &Store, since: &str) -> anyhow::Result<Option<i64>> {
    let since = since.trim();
    if let Ok(seq) = since.parse::<i64>() {
        return Ok(Some(seq));
    }
    let at = if let Ok(time) = chrono::DateTime::parse_from_rfc3339(since) {
        time.timestamp_millis()
    } else if let Ok(day) = chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d") {
        day.and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis()
    } else {
        bail!(
            "--since {since}: give a seq number, an RFC 3339 time (2026-11-22T08:00:00Z) or a date (2026-11-22)"
        );
    };
    Ok(store.audit_first_seq_since(at).await?)
}

fn log(args: &AuditLogArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let mut entries = runtime()?.block_on(async {
        let store = Store::open_in(&dir).await?;
        let mut filter = AuditFilter {
            subject: args.subject.clone(),
            actor: args.actor.clone(),
            action: args.action.clone(),
            limit: Some(args.limit),
            newest_first: true,
            ..AuditFilter::default()
        };
        if let Some(since) = &args.since {
            let seq = since_seq(&store, since).await?;
            filter.after_seq = Some(seq.map_or(i64::MAX, |seq| seq - 1));
        }
        anyhow::Ok(store.audit_entries(&filter).await?)
    })?;
    entries.reverse();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "entries": entries }))?
        );
        return Ok(Outcome::Success);
    }
    if entries.is_empty() {
        println!("no audit entries match");
    }
    for entry in entries {
        println!(
            "#{:<6} {}  {:<20} {:<20} {}  {}",
            entry.seq,
            entry.at().unwrap_or_else(|_| entry.at_ms.to_string()),
            entry.actor,
            entry.action,
            entry.subject,
            entry.details
        );
    }
    Ok(Outcome::Success)
}

/// Appends events for a command, naming the actor of the repository at `root` (or of the
/// current directory).
pub(crate) async fn record(
    store: &Store,
    actor: &Actor,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    store
        .append_audit(&AuditEvent::new(&actor.name, action, subject, details))
        .await
        .with_context(|| format!("cannot record `{action}` in the audit log"))?;
    Ok(())
}

/// The builder key, and the `key.generated` event when loading it created the development
/// key (which the caller records once the store is open).
pub(crate) fn load_builder_key(
    state_dir: &Path,
    actor: &Actor,
) -> anyhow::Result<(slipway_evidence::BuilderKey, Option<AuditEvent>)> {
    let existed = slipway_sign::keyfile::KeyPairFiles::for_prefix(
        &state_dir.join(slipway_evidence::keys::DEVELOPMENT_KEY),
    )
    .private_key
    .is_file();
    let key = slipway_evidence::BuilderKey::load(state_dir)?;
    let event = (key.development && !existed)
        .then(|| key_generated(actor, &key.key, &key.path, "development"));
    Ok((key, event))
}

/// The `key.generated` event for a new key pair.
pub(crate) fn key_generated(
    actor: &Actor,
    key: &slipway_sign::SigningKey,
    path: &Path,
    kind: &str,
) -> AuditEvent {
    let public = key.public_key();
    AuditEvent::new(
        &actor.name,
        "key.generated",
        format!("key:{}", public.key_id()),
        json!({
            "kind": kind,
            "algorithm": public.algorithm().name(),
            "path": path,
        }),
    )
}

/// Signs and stores the checkpoints due (every [`CHECKPOINT_EVERY`] entries and the head).
/// Called at the end of every command that appended; a failure (a configured key whose
/// passphrase is not at hand) is reported as a warning, and the next command catches up.
pub(crate) async fn seal(store: &Store, state_dir: &Path, actor: &Actor) {
    if let Err(error) = try_seal(store, state_dir, actor).await {
        eprintln!(
            "warning: the audit log's checkpoint was not signed ({error:#}); the next command that records something signs it"
        );
    }
}

async fn try_seal(store: &Store, state_dir: &Path, actor: &Actor) -> anyhow::Result<usize> {
    if store
        .pending_checkpoints(CHECKPOINT_EVERY)
        .await?
        .is_empty()
    {
        return Ok(0);
    }
    let (key, generated) = load_builder_key(state_dir, actor)?;
    if let Some(event) = generated {
        store.append_audit(&event).await?;
    }
    let pem = key.public_key().to_pem();
    let mut signed = 0;
    for checkpoint in store.pending_checkpoints(CHECKPOINT_EVERY).await? {
        if store
            .record_checkpoint(&checkpoint.sign(&key.key)?, &pem)
            .await?
        {
            signed += 1;
        }
    }
    Ok(signed)
}

/// `gates.evaluated` for a run's gate report (verdict and counts per gate), and one
/// `waiver.applied` for each waiver that suppressed a finding. The subject is the run's
/// artifact digest when it has one, else the run id.
pub(crate) async fn record_gates(
    store: &Store,
    actor: &Actor,
    run_id: &str,
    artifact: Option<&str>,
    report: &slipway_scan::GateReport,
) -> anyhow::Result<()> {
    use slipway_scan::Disposition;
    let subject = artifact.unwrap_or(run_id);
    let gates: Vec<serde_json::Value> = report
        .gates
        .iter()
        .map(|gate| {
            json!({
                "gate": gate.gate.as_str(),
                "verdict": gate.verdict.as_str(),
                "blocking": gate.count(Disposition::Block),
                "warnings": gate.count(Disposition::Warn),
                "waived": gate.count(Disposition::Waived),
            })
        })
        .collect();
    let details = json!({
        "run": run_id,
        "verdict": report.verdict.as_str(),
        "gates": gates,
        "waivers_applied": report.waivers_applied.len(),
    });
    record(store, actor, "gates.evaluated", subject, details).await?;
    for waiver in &report.waivers_applied {
        let details = json!({
            "run": run_id,
            "waiver": waiver.id,
            "scope": waiver.scope,
            "owner": waiver.owner,
            "reason": waiver.reason,
            "expires": waiver.expires.to_string(),
            "written_at": waiver.at,
        });
        record(store, actor, "waiver.applied", subject, details).await?;
    }
    Ok(())
}

/// Records `key.generated` for `slipway keys generate` and signs the checkpoint, in the state
/// directory given (`--state-dir`, `SLIPWAY_STATE_DIR`) or the repository's existing one; a
/// key made outside any Slipway repository has no log to go into.
pub(crate) fn record_key_generation(
    state_arg: &StateArg,
    key: &slipway_sign::SigningKey,
    path: &Path,
) -> anyhow::Result<()> {
    let dir = state(&state_arg.state_dir)?;
    if state_arg.state_dir.is_none() && !dir.is_dir() {
        return Ok(());
    }
    let cwd = std::env::current_dir()?;
    let actor = Actor::resolve(Some(&cwd));
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    runtime()?.block_on(async {
        let store = Store::open_in(&dir).await?;
        store
            .append_audit(&key_generated(&actor, key, &path, "generated"))
            .await?;
        seal(&store, &dir, &actor).await;
        anyhow::Ok(())
    })
}

/// A piece of configuration whose changes the audit log records: what it is and the digest
/// of its content now.
pub(crate) struct ConfigItem {
    pub name: String,
    pub digest: String,
}

/// The configuration a run or a promotion acts under: the pipeline file, the policy bundle
/// (built-in pack, `.slipway/policies`, `.slipway/policy.yml`) and the waivers file.
pub(crate) fn config_items(
    root: &Path,
    pipeline_path: &str,
    pipeline_sha256: &str,
    policy: Option<&slipway_policy::PolicySet>,
) -> Vec<ConfigItem> {
    let mut items = vec![ConfigItem {
        name: pipeline_path.to_owned(),
        digest: format!("sha256:{pipeline_sha256}"),
    }];
    if let Some(set) = policy {
        items.push(ConfigItem {
            name: slipway_policy::POLICY_DIR.to_owned(),
            digest: set.digest(),
        });
    }
    let waivers = std::fs::read(root.join(slipway_scan::WAIVERS_FILE))
        .map(|bytes| format!("sha256:{}", slipway_pipeline::digest::sha256_hex(&bytes)))
        .unwrap_or_else(|_| "absent".to_owned());
    items.push(ConfigItem {
        name: slipway_scan::WAIVERS_FILE.to_owned(),
        digest: waivers,
    });
    items
}

/// `config.changed` for each item whose digest differs from the one the log last recorded
/// for it (the first use of a configuration counts as a change). Configuration lives in the
/// repository, so the log records when a new one first took effect, and under which commit.
pub(crate) async fn record_config_changes(
    store: &Store,
    actor: &Actor,
    items: &[ConfigItem],
    commit: Option<&str>,
) -> anyhow::Result<()> {
    for item in items {
        let subject = format!("config:{}", item.name);
        let last = store
            .audit_entries(&AuditFilter {
                subject: Some(subject.clone()),
                action: Some(CONFIG_CHANGED.to_owned()),
                limit: Some(1),
                newest_first: true,
                ..Default::default()
            })
            .await?;
        let previous = last
            .first()
            .and_then(|e| e.details.get("digest"))
            .and_then(|d| d.as_str())
            .map(str::to_owned);
        if previous.as_deref() == Some(item.digest.as_str()) {
            continue;
        }
        let details = json!({
            "digest": item.digest,
            "previous": previous,
            "commit": commit,
        });
        record(store, actor, CONFIG_CHANGED, &subject, details).await?;
    }
    Ok(())
}

/// The action of a configuration change.
const CONFIG_CHANGED: &str = "config.changed";
