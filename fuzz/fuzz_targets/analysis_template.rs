//! Any bytes, read as a pipeline file: every analysis template it defines is read with
//! `Template::from_pipeline` (conditions, placeholders, JSON paths, limits); errors are located
//! and conditions evaluated. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_analysis::Template;
use slipway_pipeline::{NoTemplates, load};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let loaded = load("slipway.yml", &text, &NoTemplates);
    let Some(analyses) = &loaded.pipeline.analysis else {
        return;
    };
    for (name, template) in analyses {
        match Template::from_pipeline(name, template) {
            Ok(template) => {
                for condition in [&template.success, &template.failure].into_iter().flatten() {
                    let _ = condition.holds(0.5, 10);
                    let _ = condition.holds(-1e300, 0);
                }
            }
            Err(error) => {
                error.to_diagnostic().located(&loaded.sources);
            }
        }
    }
});
