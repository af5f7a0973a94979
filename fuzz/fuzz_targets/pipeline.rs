//! Any bytes, read as a pipeline file: loading, locating every diagnostic and planning must not
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_pipeline::plan::{Event, EventKind, PlanInput, plan};
use slipway_pipeline::{NoTemplates, load};

fuzz_target!(|data: &[u8]| {
    // Lossy, not `from_utf8`: invalid sequences still reach the parser as U+FFFD.
    let text = String::from_utf8_lossy(data);
    let loaded = load("slipway.yml", &text, &NoTemplates);
    for diagnostic in &loaded.diagnostics {
        diagnostic.located(&loaded.sources);
    }
    // `plan` is only promised to work on pipelines that loaded without errors.
    if loaded.has_errors() {
        return;
    }
    let event = Event {
        kind: EventKind::Push,
        git_ref: "refs/heads/main".into(),
        sha: "0123456789abcdef0123456789abcdef01234567".into(),
        actor: "fuzz".into(),
        base: None,
    };
    let changed = ["src/main.rs".to_string(), "docs/index.md".to_string()];
    plan(
        &loaded.pipeline,
        &PlanInput {
            event: &event,
            changed_files: Some(&changed),
        },
    );
});
