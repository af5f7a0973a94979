//! `unpinned-template`: a Slipway pipeline includes git templates at a full commit.
//!
//! The pipeline's own lint accepts a release tag `vX.Y.Z` as a pin; a tag can still be moved
//! on the template's repository, so this check asks for the commit. Pipelines are read with
//! `slipway-pipeline`'s loader; local templates they include are followed (inside the
//! scanned tree) so that their own git includes are checked too.

use super::{Position, Scan, UNPINNED_TEMPLATE, file_name, is_commit, join, parent};
use slipway_pipeline::load::{NoTemplates, TemplateRef};
use std::collections::BTreeSet;

/// The pipeline file's name (`slipway-cli` looks for the same).
const PIPELINE_FILE: &str = "slipway.yml";

pub(super) fn check(scan: &mut Scan) {
    let mut queue: Vec<String> = scan
        .files
        .iter()
        .filter(|file| file_name(file) == PIPELINE_FILE)
        .cloned()
        .collect();
    let mut visited = BTreeSet::new();
    while let Some(file) = queue.pop() {
        if !visited.insert(file.clone()) {
            continue;
        }
        let Some(text) = scan.read(&file) else {
            continue;
        };
        let loaded = slipway_pipeline::load(&file, &text, &NoTemplates);
        let includes = loaded.pipeline.include.iter().flatten();
        for template in includes.filter_map(|include| include.template.as_ref()) {
            let source = loaded.sources.get(template.span.source);
            let written = source.slice(template.span);
            let value = template.value.as_str();
            if !value.starts_with("git+") {
                if let Some(local) = local_template(&file, value)
                    && scan.exists(&local)
                {
                    queue.push(local);
                }
                continue;
            }
            let Some(message) = problem(value) else {
                continue;
            };
            // Point at the ref: the text after the last `@` of the value as written.
            let offset = written.rfind('@').map_or(0, |at| at + 1);
            let (line, column) = source.line_col(template.span.start as usize + offset);
            let position = Position {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            };
            scan.find(UNPINNED_TEMPLATE, &file, position, message);
        }
    }
}

/// Why a `git+` template reference is not pinned to a commit, or `None` when it is (or when
/// it is malformed in a way lint reports).
fn problem(value: &str) -> Option<String> {
    match TemplateRef::parse(value) {
        Ok(TemplateRef::Git { reference, .. }) if is_commit(&reference) => None,
        Ok(TemplateRef::Git { url, reference, .. }) => Some(format!(
            "template `{value}` is included at `{reference}`, which can be moved on {url}; only a full commit cannot"
        )),
        Ok(TemplateRef::Local(_)) => None,
        Err(_) if !value.contains('@') => Some(format!(
            "template `{value}` names no ref, so whatever the repository's default branch holds is included"
        )),
        Err(_) => None,
    }
}

/// A local template's path relative to the scanned root, when it stays inside it. Paths are
/// relative to the repository of the pipeline file, the directory it sits in.
fn local_template(pipeline: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = parent(pipeline)
        .split('/')
        .filter(|part| !part.is_empty())
        .collect();
    for part in path.trim_start_matches('/').split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    let name = parts.pop()?;
    Some(join(&parts.join("/"), name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_commits_pin() {
        let commit = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            problem(&format!("git+https://h/ci.git//rust.yml@{commit}")),
            None
        );
        assert!(
            problem("git+https://h/ci.git//rust.yml@v1.2.3")
                .unwrap()
                .contains("`v1.2.3`")
        );
        assert!(problem("git+https://h/ci.git//rust.yml@main").is_some());
        assert!(
            problem("git+https://h/ci.git//rust.yml")
                .unwrap()
                .contains("no ref")
        );
        assert_eq!(problem("templates/rust.yml"), None);
    }

    #[test]
    fn local_paths_stay_inside() {
        assert_eq!(
            local_template("slipway.yml", "ci/rust.yml").as_deref(),
            Some("ci/rust.yml")
        );
        assert_eq!(
            local_template("examples/app/slipway.yml", "./ci/../t.yml").as_deref(),
            Some("examples/app/t.yml")
        );
        assert_eq!(local_template("slipway.yml", "../outside.yml"), None);
    }
}
