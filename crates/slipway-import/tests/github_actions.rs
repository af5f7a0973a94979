//! Converts workflows shaped like real ones and checks, for each: the output lints without
//! errors, every `uses:` of the input is accounted for by exactly one note at its position,
//! completeness is as expected, and the output and notes match their reviewed snapshots.

use slipway_import::github_actions::convert;
use slipway_import::{Conversion, ImportError, NoteKind};
use slipway_pipeline::{NoTemplates, load};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}.yml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Asserts the converted pipeline loads with zero error diagnostics.
fn assert_lints(conversion: &Conversion, context: &str) {
    let loaded = load("slipway.yml", &conversion.pipeline_yaml, &NoTemplates);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let (line, column) = loaded
                .sources
                .get(d.span.source)
                .line_col(d.span.start as usize);
            format!("{line}:{column}: {}", d.message)
        })
        .collect();
    assert!(
        errors.is_empty(),
        "{context}: the converted pipeline has lint errors {errors:#?}\n{}",
        conversion.pipeline_yaml
    );
}

/// `(line, column, reference)` of every `uses:` key in a workflow's text.
fn uses_positions(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ");
        if let Some(reference) = trimmed.strip_prefix("uses:") {
            let column = line.len() - trimmed.len() + 1;
            out.push((i + 1, column, reference.trim().to_string()));
        }
    }
    out
}

fn check(name: &str, complete: bool) {
    let text = fixture(name);
    let conversion = convert(&text, &format!(".github/workflows/{name}.yml"))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_lints(&conversion, name);
    let uses = uses_positions(&text);
    assert!(
        !uses.is_empty() || name == "nightly",
        "{name}: the fixture has no `uses:`"
    );
    for (line, column, reference) in &uses {
        let at: Vec<_> = conversion
            .notes
            .iter()
            .filter(|n| n.line == *line && n.column == *column)
            .collect();
        assert_eq!(
            at.len(),
            1,
            "{name}: `uses: {reference}` on line {line}:{column} has notes {at:#?}"
        );
        assert!(
            at[0].message.contains(reference.as_str()),
            "{name}: the note for `{reference}` does not name it: {}",
            at[0].message
        );
    }
    for note in &conversion.notes {
        assert!(
            !note.message.is_empty(),
            "{name}: empty note at {}:{}",
            note.line,
            note.column
        );
        if note.kind == NoteKind::Untranslated {
            assert!(
                conversion.pipeline_yaml.contains(&format!(
                    "TODO(slipway import): {}",
                    note.message.lines().next().unwrap_or_default()
                )),
                "{name}: no TODO comment for {note:#?}"
            );
        }
    }
    assert_eq!(
        conversion.is_complete(),
        complete,
        "{name}: notes {:#?}",
        conversion.notes
    );
    insta::assert_snapshot!(format!("{name}_yaml"), conversion.pipeline_yaml);
    insta::assert_json_snapshot!(format!("{name}_notes"), conversion.notes);
}

#[test]
fn rust_fmt_clippy_and_toolchain_matrix() {
    check("rust", false);
}

#[test]
fn node_matrix_over_versions_and_platforms() {
    check("node", false);
}

#[test]
fn python_matrix_with_push_only_steps() {
    check("python", false);
}

#[test]
fn go_with_a_lint_action() {
    check("go", false);
}

#[test]
fn release_on_tags_with_a_needs_chain() {
    check("release", false);
}

#[test]
fn monorepo_with_path_filters_and_concurrency() {
    check("monorepo", true);
}

#[test]
fn services_container_permissions_and_environment() {
    check("services", false);
}

#[test]
fn nightly_schedule_with_matrix_include_and_exclude() {
    check("nightly", false);
}

#[test]
fn pull_request_title_is_untranslatable() {
    check("pr-title", false);
}

#[test]
fn reusable_workflows_and_unsupported_events() {
    check("reusable", false);
}

fn error(text: &str) -> ImportError {
    match convert(text, "bad.yml") {
        Ok(conversion) => panic!("{text:?} converted:\n{}", conversion.pipeline_yaml),
        Err(error) => error,
    }
}

#[test]
fn unreadable_workflows_are_errors_with_positions() {
    let syntax = error("on: push\njobs:\n  build: [unclosed\n");
    assert_eq!(syntax.line, 4, "{syntax}");
    assert!(syntax.message.contains("YAML"), "{syntax}");
    let list = error("- run: make\n");
    assert_eq!((list.line, list.column), (1, 1));
    assert!(list.message.contains("mapping"), "{list}");
    let no_jobs = error("name: x\non: push\n");
    assert!(no_jobs.message.contains("no `jobs`"), "{no_jobs}");
    let empty_jobs = error("on: push\njobs: {}\n");
    assert_eq!((empty_jobs.line, empty_jobs.column), (2, 7));
    let duplicate = error("on: push\njobs:\n  a:\n    steps: []\n  a:\n    steps: []\n");
    assert_eq!((duplicate.line, duplicate.column), (5, 3));
    assert!(
        duplicate.to_string().starts_with("5:3: duplicate key `a`"),
        "{duplicate}"
    );
    assert!(error("").message.contains("mapping"));
    assert!(
        error(&format!(
            "jobs:\n  a: {}1{}\n",
            "[".repeat(100),
            "]".repeat(100)
        ))
        .message
        .contains("nests")
    );
}

#[test]
fn a_minimal_workflow_is_complete() {
    let conversion = convert("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    timeout-minutes: 10\n    steps:\n      - run: make test\n", "ci.yml").unwrap();
    assert!(conversion.is_complete(), "{:#?}", conversion.notes);
    assert_eq!(
        conversion.pipeline_yaml,
        "# Converted from ci.yml by slipway import github-actions\nversion: 1\n\non:\n  push: {}\n\njobs:\n  test:\n    stage: test\n    timeout: 10m\n    steps:\n      - run: make test\n"
    );
}

#[test]
fn notes_serialise_for_the_cli() {
    let conversion = convert(
        "on: release\njobs:\n  x:\n    steps:\n      - run: make\n",
        "ci.yml",
    )
    .unwrap();
    let json = serde_json::to_value(&conversion.notes).unwrap();
    let release = json
        .as_array()
        .and_then(|notes| {
            notes.iter().find(|n| {
                n["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("`release`"))
            })
        })
        .expect("a note about the release event");
    assert_eq!(release["kind"], "untranslated");
    assert_eq!(
        (&release["line"], &release["column"]),
        (&1.into(), &5.into())
    );
    assert!(
        release["suggestion"]
            .as_str()
            .is_some_and(|s| s.contains("tags"))
    );
    assert!(!conversion.is_complete());
}

/// Every prefix of every fixture, cut at each line: conversion never panics, and whatever
/// converts still lints.
#[test]
fn truncated_workflows_never_panic_and_still_lint() {
    for name in [
        "rust", "node", "python", "go", "release", "monorepo", "services", "nightly", "pr-title",
        "reusable",
    ] {
        let text = fixture(name);
        let cuts = text
            .match_indices('\n')
            .map(|(i, _)| i)
            .chain(text.char_indices().map(|(i, _)| i).step_by(37));
        for cut in cuts {
            if let Ok(conversion) = convert(&text[..cut], "cut.yml") {
                assert_lints(&conversion, &format!("{name} cut at byte {cut}"));
            }
        }
    }
}

/// Fixtures with bytes replaced by characters that matter to YAML and expressions, and with
/// Windows line endings: conversion never panics, and whatever converts still lints.
#[test]
fn mutated_workflows_never_panic_and_still_lint() {
    const INSERTS: &[&str] = &[
        ":", "- ", "{", "}", "[", "]", "'", "\"", "#", "${{ ", " }}", "\n", "  ", "&a ", "*a", "!",
        "|", ">", "\t", "é",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in [
        "rust", "node", "python", "go", "release", "monorepo", "services", "nightly", "pr-title",
        "reusable",
    ] {
        let text = fixture(name);
        let crlf = text.replace('\n', "\r\n");
        if let Ok(conversion) = convert(&crlf, "crlf.yml") {
            assert_lints(&conversion, &format!("{name} with CRLF line endings"));
        }
        for _ in 0..150 {
            let mut mutated = text.clone();
            for _ in 0..(next() % 3 + 1) {
                let mut at = (next() % mutated.len() as u64) as usize;
                while !mutated.is_char_boundary(at) {
                    at -= 1;
                }
                let insert = INSERTS[(next() % INSERTS.len() as u64) as usize];
                mutated.insert_str(at, insert);
            }
            if let Ok(conversion) = convert(&mutated, "mutated.yml") {
                assert_lints(&conversion, &format!("{name} mutated:\n{mutated}"));
            }
        }
    }
}

/// Small workflows for the forms a key can take, each with fragments its output must hold.
#[test]
fn forms_of_triggers_concurrency_needs_and_secrets() {
    let job = "jobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n";
    let cases: &[(&str, &[&str], bool)] = &[
        ("on: push\n", &["on:\n  push: {}\n"], true),
        (
            "on: [push, workflow_dispatch]\n",
            &["on:\n  push: {}\n  manual: {}\n"],
            true,
        ),
        (
            "on:\n  pull_request:\n    types: [opened, synchronize]\n",
            &["  pull_request: {}\n"],
            true,
        ),
        (
            "on: push\nconcurrency: ci-${{ github.ref }}\n",
            &["concurrency:\n  group: ci-${{ event.ref }}\n"],
            true,
        ),
        (
            "on: push\nconcurrency:\n  group: ${{ github.workflow }}\n  cancel-in-progress: ${{ github.ref != 'refs/heads/main' }}\n",
            &[
                "group: on-push.yml\n",
                "TODO(slipway import): `cancel-in-progress: ${{ github.ref != 'refs/heads/main' }}` is computed",
            ],
            false,
        ),
        (
            "on: push\nconcurrency:\n  group: ${{ github.workflow }}-${{ github.event.pull_request.number || github.run_id }}\n",
            &[
                "# concurrency: { group: ${{ github.workflow }}-",
                "\njobs:\n",
            ],
            false,
        ),
        (
            "on: push\ndefaults:\n  run:\n    shell: bash\n    working-directory: app\n",
            &["defaults:\n  shell: bash\n  working-directory: app\n"],
            true,
        ),
        (
            "on: push\nenv:\n  TOKEN: ${{ secrets.TOKEN }}\n  GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n",
            &[
                "    secrets: [TOKEN]\n",
                "secrets:\n  TOKEN:\n    from: env\n    name: TOKEN\n",
                "# GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
            ],
            false,
        ),
        (
            "on:\n  push:\n    tags-ignore: ['v*']\n",
            &["TODO(slipway import): `push.tags-ignore`"],
            false,
        ),
    ];
    for (head, fragments, complete) in cases {
        let text = format!("{head}{job}");
        let conversion = convert(&text, "on-push.yml").unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_lints(&conversion, &text);
        for fragment in *fragments {
            assert!(
                conversion.pipeline_yaml.contains(fragment),
                "{text}\nconverted to\n{}\nlacks {fragment:?}",
                conversion.pipeline_yaml
            );
        }
        assert_eq!(
            conversion.is_complete(),
            *complete,
            "{text}: {:#?}",
            conversion.notes
        );
    }
}

#[test]
fn job_keys_in_all_their_forms() {
    let text = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps: [{ run: make }]\n  test:\n    needs: build\n    if: needs.build.result == 'success' || github.event_name == 'workflow_dispatch'\n    timeout-minutes: 90\n    continue-on-error: true\n    runs-on: ubuntu-latest\n    defaults:\n      run:\n        shell: sh\n    steps:\n      - run: make test\n        timeout-minutes: 0.5\n        continue-on-error: true\n        if: ${{ hashFiles('go.sum') != '' }}\n";
    let conversion = convert(text, "ci.yml").unwrap();
    assert_lints(&conversion, text);
    assert!(conversion.is_complete(), "{:#?}", conversion.notes);
    let expected = "  test:\n    stage: test\n    needs: [build]\n    if: success() && (jobs.build.result == 'success' || event.name == 'manual')\n    timeout: 1h30m\n    continue-on-error: true\n    steps:\n      - if: success() && hashFiles('go.sum') != ''\n        run: make test\n        shell: sh\n        timeout: 30s\n        continue-on-error: true\n";
    assert!(
        conversion.pipeline_yaml.ends_with(expected),
        "{}",
        conversion.pipeline_yaml
    );
}
