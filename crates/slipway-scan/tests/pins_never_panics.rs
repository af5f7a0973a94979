//! The pinning checks read files the repository's authors wrote; whatever they hold, a check
//! reports, skips the file or finds nothing, and never panics.

use proptest::prelude::*;
use slipway_scan::pins::check;

const FILES: [&str; 8] = [
    "Dockerfile",
    ".github/workflows/ci.yml",
    "slipway.yml",
    "Cargo.toml",
    "package.json",
    "pyproject.toml",
    "go.mod",
    "composer.json",
];

/// Text made of the characters these formats care about, so that cases get past the first
/// token often.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("FROM ".to_string()),
            Just("ARG A=".to_string()),
            Just("${A:-x}".to_string()),
            Just("\\\n".to_string()),
            Just("`\n".to_string()),
            Just("# escape=`\n".to_string()),
            Just("@sha256:".to_string()),
            Just("uses: ".to_string()),
            Just("jobs:\n  a:\n    steps:\n      - ".to_string()),
            Just("include:\n  - template: git+h://x//y@".to_string()),
            Just("[package]\n".to_string()),
            Just("[workspace]\nmembers = [\"*\"]\n".to_string()),
            Just("[dependencies]\nx = ".to_string()),
            Just("{\"dependencies\": {\"a\": ".to_string()),
            Just("require ".to_string()),
            "[ -~çé\\n\\t]{0,12}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_manifest_text(file in 0..FILES.len(), text in text(), lock in text()) {
        let work = tempfile::tempdir().unwrap();
        let path = work.path().join(FILES[file]);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        // A lockfile beside it, in the format the sync checks read.
        std::fs::write(work.path().join("Cargo.lock"), &lock).unwrap();
        std::fs::write(work.path().join("package-lock.json"), &lock).unwrap();
        let report = check(work.path()).unwrap();
        for finding in &report.findings {
            prop_assert!(finding.line >= 1 && finding.column >= 1);
        }
    }
}
