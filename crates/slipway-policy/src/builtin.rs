//! The built-in pack, compiled into the binary: one package per rule under
//! `slipway.builtin.*`, a package of shared functions, and their tests with JSON fixtures.

use crate::set::Module;

/// The pack's modules: label and text.
const MODULES: [(&str, &str); 13] = [
    ("lib.rego", include_str!("../policies/lib.rego")),
    (
        "signed_by_trusted_builder.rego",
        include_str!("../policies/signed_by_trusted_builder.rego"),
    ),
    (
        "provenance_subject_matches.rego",
        include_str!("../policies/provenance_subject_matches.rego"),
    ),
    (
        "sbom_attached.rego",
        include_str!("../policies/sbom_attached.rego"),
    ),
    (
        "secrets_scan_passed.rego",
        include_str!("../policies/secrets_scan_passed.rego"),
    ),
    (
        "dependency_scan_passed.rego",
        include_str!("../policies/dependency_scan_passed.rego"),
    ),
    (
        "base_images_pinned.rego",
        include_str!("../policies/base_images_pinned.rego"),
    ),
    (
        "required_approvals.rego",
        include_str!("../policies/required_approvals.rego"),
    ),
    (
        "not_known_bad.rego",
        include_str!("../policies/not_known_bad.rego"),
    ),
    (
        "previous_environment_healthy.rego",
        include_str!("../policies/previous_environment_healthy.rego"),
    ),
    (
        "production_soak.rego",
        include_str!("../policies/production_soak.rego"),
    ),
    (
        "tests_passed.rego",
        include_str!("../policies/tests_passed.rego"),
    ),
    (
        "no_development_key_in_production.rego",
        include_str!("../policies/no_development_key_in_production.rego"),
    ),
];

/// The pack's tests (`policies/tests/*.rego`) and fixtures (`policies/tests/*.json`).
const TESTS: [(&str, &str); 3] = [
    (
        "tests/pack_test.rego",
        include_str!("../policies/tests/pack_test.rego"),
    ),
    (
        "tests/good.json",
        include_str!("../policies/tests/good.json"),
    ),
    ("tests/bad.json", include_str!("../policies/tests/bad.json")),
];

/// The label of a built-in module: `builtin/<file>`.
fn label(file: &str) -> String {
    format!("builtin/{file}")
}

/// The pack's policy modules.
pub(crate) fn modules() -> Vec<Module> {
    MODULES
        .iter()
        .map(|(file, text)| Module {
            path: label(file),
            text: (*text).to_owned(),
            builtin: true,
        })
        .collect()
}

/// The pack's test files (Rego tests and JSON fixtures), labelled like its modules.
pub(crate) fn test_files() -> Vec<(String, String)> {
    TESTS
        .iter()
        .map(|(file, text)| (label(file), (*text).to_owned()))
        .collect()
}
