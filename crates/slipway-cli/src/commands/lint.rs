use crate::Outcome;
use crate::cli::LintArgs;
use crate::render;
use crate::repo::PipelineFile;
use serde::Serialize;
use slipway_pipeline::LocatedDiagnostic;

#[derive(Serialize)]
struct LintReport {
    ok: bool,
    diagnostics: Vec<LocatedDiagnostic>,
}

pub fn run(args: &LintArgs) -> anyhow::Result<Outcome> {
    let file = PipelineFile::locate(args.file.file.as_deref())?;
    let loaded = file.load();
    let ok = !loaded.has_errors();
    if args.json {
        let report = LintReport {
            ok,
            diagnostics: loaded
                .diagnostics
                .iter()
                .map(|d| d.located(&loaded.sources))
                .collect(),
        };
        println!("{}", serde_json::to_string(&report)?);
    } else if args.short {
        for diagnostic in &loaded.diagnostics {
            println!(
                "{}",
                render::short_line(&diagnostic.located(&loaded.sources))
            );
        }
    } else {
        print!("{}", render::human(&loaded.diagnostics, &loaded.sources));
        if loaded.diagnostics.is_empty() {
            println!("{}: ok", file.display);
        } else {
            println!("{}: {}", file.display, render::counts(&loaded.diagnostics));
        }
    }
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
