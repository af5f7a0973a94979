//! `unpinned-action`: a GitHub Actions workflow (`.github/workflows/*.yml`) uses actions and
//! reusable workflows at a full commit sha, the only reference that cannot be moved.

use super::{Position, Scan, UNPINNED_ACTION, is_commit};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Workflow {
    #[serde(default)]
    jobs: BTreeMap<String, Job>,
}

#[derive(Deserialize)]
struct Job {
    /// A reusable workflow.
    uses: Option<Spanned<String>>,
    #[serde(default)]
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    uses: Option<Spanned<String>>,
}

pub(super) fn check(scan: &mut Scan) {
    let files: Vec<String> = scan
        .files
        .iter()
        .filter(|file| is_workflow(file))
        .cloned()
        .collect();
    for file in files {
        let Some(text) = scan.read(&file) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let workflow: Workflow = match serde_saphyr::from_str(&text) {
            Ok(workflow) => workflow,
            Err(error) => {
                scan.skip(&file, format!("not a GitHub Actions workflow: {error}"));
                continue;
            }
        };
        let mut uses: Vec<&Spanned<String>> = Vec::new();
        for job in workflow.jobs.values() {
            uses.extend(&job.uses);
            uses.extend(job.steps.iter().filter_map(|step| step.uses.as_ref()));
        }
        for used in uses {
            if let Some(message) = problem(&used.value) {
                let position = reference_position(&text, used);
                scan.find(UNPINNED_ACTION, &file, position, message);
            }
        }
    }
}

fn is_workflow(file: &str) -> bool {
    file.strip_prefix(".github/workflows/").is_some_and(|name| {
        !name.contains('/') && (name.ends_with(".yml") || name.ends_with(".yaml"))
    })
}

/// Why a `uses:` value is not pinned, or `None` when it is.
fn problem(uses: &str) -> Option<String> {
    let uses = uses.trim();
    if uses.starts_with("./") || uses.starts_with(".\\") {
        return None;
    }
    if let Some(image) = uses.strip_prefix("docker://") {
        let pinned = image.split_once("@sha256:").is_some_and(|(_, hex)| {
            hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        return (!pinned).then(|| {
            format!("container action `{uses}` is not pinned by digest: its tag can be moved")
        });
    }
    let what = if uses.contains("/.github/workflows/") {
        "reusable workflow"
    } else {
        "action"
    };
    match uses.rsplit_once('@') {
        Some((_, reference)) if is_commit(reference) => None,
        Some((target, reference)) => Some(format!(
            "{what} `{target}` is used at `{reference}`, which can be moved to other code; only a full commit sha cannot"
        )),
        None => Some(format!(
            "{what} `{uses}` names no ref at all, so whatever its default branch holds runs"
        )),
    }
}

/// Where the ref after `@` starts, when the value sits on its line as written; else where
/// the value starts.
fn reference_position(text: &str, used: &Spanned<String>) -> Position {
    let line = u32::try_from(used.referenced.line())
        .unwrap_or(u32::MAX)
        .max(1);
    let column = u32::try_from(used.referenced.column())
        .unwrap_or(u32::MAX)
        .max(1);
    let start = Position { line, column };
    let Some(line_text) = text.lines().nth(line as usize - 1) else {
        return start;
    };
    let from_value: String = line_text.chars().skip(column as usize - 1).collect();
    let quote = usize::from(from_value.starts_with(['"', '\'']));
    let written: String = from_value.chars().skip(quote).collect();
    let value = used.value.as_str();
    match (written.starts_with(value), value.rfind('@')) {
        (true, Some(at)) => {
            let before = value.get(..at).map_or(0, |head| head.chars().count());
            let offset = u32::try_from(quote + before + 1).unwrap_or(0);
            Position {
                line,
                column: column.saturating_add(offset),
            }
        }
        _ => start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_counts_as_pinned() {
        let sha = "b4ffde65f46336ab88eb53be808477a3936bae11";
        assert_eq!(problem(&format!("actions/checkout@{sha}")), None);
        assert_eq!(problem("./.github/actions/setup"), None);
        assert_eq!(
            problem(&format!("docker://alpine@sha256:{}", "a".repeat(64))),
            None
        );
        assert!(problem("actions/checkout@v4").is_some());
        assert!(problem("docker://alpine:3.19").is_some());
        assert!(problem("actions/checkout").unwrap().contains("no ref"));
        assert!(
            problem("org/repo/.github/workflows/ci.yml@main")
                .unwrap()
                .starts_with("reusable")
        );
        assert!(problem(&format!("actions/checkout@{}", &sha[..39])).is_some());
    }

    #[test]
    fn workflow_paths() {
        assert!(is_workflow(".github/workflows/ci.yml"));
        assert!(is_workflow(".github/workflows/release.yaml"));
        assert!(!is_workflow(".github/workflows/nested/ci.yml"));
        assert!(!is_workflow("ci/.github/workflows/ci.yml"));
    }
}
