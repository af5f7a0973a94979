use crate::Outcome;
use crate::cli::ImportArgs;
use crate::commands::init::write_atomically;
use anyhow::Context;
use serde::Serialize;
use slipway_import::{Note, NoteKind};

#[derive(Serialize)]
struct ImportReport<'a> {
    complete: bool,
    written: Option<String>,
    notes: &'a [Note],
}

pub fn github_actions(args: &ImportArgs) -> anyhow::Result<Outcome> {
    let text = std::fs::read_to_string(&args.workflow)
        .with_context(|| format!("cannot read {}", args.workflow.display()))?;
    let name = args.workflow.display().to_string();
    let conversion = slipway_import::github_actions::convert(&text, &name)
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let complete = conversion.is_complete();
    let write = complete || args.force;
    let mut written = None;
    if write {
        match &args.output {
            Some(path) => {
                write_atomically(path, &conversion.pipeline_yaml)?;
                written = Some(path.display().to_string());
            }
            None if !args.json => print!("{}", conversion.pipeline_yaml),
            None => {}
        }
    }
    if args.json {
        let report = ImportReport {
            complete,
            written,
            notes: &conversion.notes,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for note in &conversion.notes {
            let kind = match note.kind {
                NoteKind::Translated => "note",
                NoteKind::Untranslated => "not translated",
            };
            let suggestion = note
                .suggestion
                .as_ref()
                .map(|s| format!("\n  hint: {s}"))
                .unwrap_or_default();
            eprintln!(
                "{name}:{}:{}: {kind}: {}{suggestion}",
                note.line, note.column, note.message
            );
        }
        let untranslated = conversion
            .notes
            .iter()
            .filter(|n| matches!(n.kind, NoteKind::Untranslated))
            .count();
        if let Some(path) = &written {
            eprintln!("wrote {path}");
        }
        if untranslated > 0 {
            let what = if write {
                "written anyway (--force)"
            } else {
                "not written; pass --force to write it anyway"
            };
            eprintln!(
                "{untranslated} part{} could not be translated; the pipeline was {what}",
                if untranslated == 1 { "" } else { "s" }
            );
        }
    }
    Ok(if complete {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
