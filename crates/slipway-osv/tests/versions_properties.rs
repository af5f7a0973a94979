//! Property tests of the version orderings: for each scheme, versions generated in the
//! scheme's grammar obey the total-order laws (antisymmetry, transitivity, equality agreeing
//! with `Ord` and `Hash`), and, where the ecosystem's own implementation can run here, agree
//! with it on a batch of generated pairs: dpkg's `dpkg --compare-versions`, Python
//! `packaging` (PEP 440), Ruby's `Gem::Version` and Maven's `ComparableVersion`. Each oracle
//! runs once per batch, reading one pair per line on stdin.
//!
//! The oracles come from `scripts/deps/osv.sh`. When one is missing the test fails if `CI` is
//! `true`, and otherwise prints a `skipped:` notice and returns.

use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config, TestRunner};
use slipway_osv::version::{Scheme, Version, compare};
use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash as _, Hasher as _};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt as _;

const ORACLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Generated pairs per oracle batch.
const BATCH: usize = 600;

// ---------------------------------------------------------------------------------------------
// Generators: versions in each scheme's grammar, from small alphabets so that equal and
// near-equal versions are common.

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(options).prop_map(str::to_owned)
}

fn small_number() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u32..4).prop_map(|n| n.to_string()),
        1 => pick(&["10", "11", "100", "20240101"]),
    ]
}

fn semver_version() -> impl Strategy<Value = String> {
    let identifier = pick(&["alpha", "beta", "rc", "0", "1", "2", "10", "x-y", "a1", "Z"]);
    (
        small_number(),
        small_number(),
        small_number(),
        proptest::option::of(proptest::collection::vec(identifier, 1..4)),
        proptest::option::of(pick(&["build", "001", "sha.5114f85"])),
    )
        .prop_map(|(major, minor, patch, pre, build)| {
            let mut text = format!("{major}.{minor}.{patch}");
            if let Some(pre) = pre {
                text.push('-');
                text.push_str(&pre.join("."));
            }
            if let Some(build) = build {
                text.push('+');
                text.push_str(&build);
            }
            text
        })
}

fn go_version() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (any::<bool>(), semver_version()).prop_map(|(v, text)| {
            if v { format!("v{text}") } else { text }
        }),
        1 => (small_number(), proptest::option::of(small_number())).prop_map(|(major, minor)| {
            match minor {
                Some(minor) => format!("v{major}.{minor}"),
                None => format!("v{major}"),
            }
        }),
        1 => (small_number(), pick(&["20220906165146", "20210101000000", "20220906165146"]),
              pick(&["f3363e06e74c", "abcdefabcdef"]), pick(&["", "0.", "pre.0."]))
            .prop_map(|(major, time, hash, base)| format!("v{major}.0.0-{base}{time}-{hash}")),
        1 => (small_number(), small_number()).prop_map(|(a, b)| format!("v{a}.{b}.0+incompatible")),
    ]
}

fn pep440_version() -> impl Strategy<Value = String> {
    (
        proptest::option::of((0u32..3).prop_map(|e| format!("{e}!"))),
        proptest::collection::vec(small_number(), 1..5),
        proptest::option::of((
            pick(&[
                "a", "b", "rc", "alpha", "beta", "c", "pre", "preview", ".a", "-rc",
            ]),
            proptest::option::of(small_number()),
        )),
        proptest::option::of(prop_oneof![
            small_number().prop_map(|n| format!(".post{n}")),
            small_number().prop_map(|n| format!("-{n}")),
            Just(".post".to_owned()),
            small_number().prop_map(|n| format!("post{n}")),
        ]),
        proptest::option::of(prop_oneof![
            small_number().prop_map(|n| format!(".dev{n}")),
            Just(".dev".to_owned()),
        ]),
        proptest::option::of(pick(&[
            "+abc",
            "+1",
            "+abc.1",
            "+1.abc",
            "+ubuntu-1",
            "+a.b",
        ])),
    )
        .prop_map(|(epoch, release, pre, post, dev, local)| {
            let mut text = epoch.unwrap_or_default();
            text.push_str(&release.join("."));
            if let Some((label, number)) = pre {
                text.push_str(&label);
                text.push_str(&number.unwrap_or_default());
            }
            text.push_str(&post.unwrap_or_default());
            text.push_str(&dev.unwrap_or_default());
            text.push_str(&local.unwrap_or_default());
            text
        })
}

/// Pre-PEP 440 versions PyPI still holds (`0.3m1`, `2.0.0-final`, dates), read as legacy
/// versions.
fn pypi_legacy_version() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(small_number(), 1..4),
        pick(&[
            "m",
            "p",
            "d",
            "-final",
            "-",
            ".fix",
            ".svn.r",
            "-bulbasaur",
            "T",
            "-p",
            "_",
            "beta",
        ]),
        proptest::option::of(small_number()),
        proptest::option::of(pick(&[".dev", "-git", "+0100", ":09"])),
    )
        .prop_map(|(release, word, number, tail)| {
            format!(
                "{}{word}{}{}",
                release.join("."),
                number.unwrap_or_default(),
                tail.unwrap_or_default()
            )
        })
}

fn pypi_version() -> impl Strategy<Value = String> {
    prop_oneof![4 => pep440_version(), 1 => pypi_legacy_version()]
}

fn maven_version() -> impl Strategy<Value = String> {
    let token = pick(&[
        "1",
        "0",
        "2",
        "10",
        "00",
        "alpha",
        "a",
        "beta",
        "b",
        "m",
        "milestone",
        "rc",
        "cr",
        "snapshot",
        "SNAPSHOT",
        "ga",
        "final",
        "release",
        "sp",
        "foo",
        "x",
        "RC",
    ]);
    let separator = pick(&[".", "-", "", "."]);
    prop_oneof![
        4 => (small_number(), proptest::collection::vec((separator, token), 0..5)).prop_map(
            |(first, rest)| {
                let mut text = first;
                for (separator, token) in rest {
                    text.push_str(&separator);
                    text.push_str(&token);
                }
                text
            }
        ),
        1 => "[0-9a-c.-]{1,10}",
    ]
}

fn rubygems_version() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        3 => small_number(),
        1 => pick(&["a", "b", "pre", "rc", "alpha", "beta", "rc1", "a2", "0a", "Z"]),
    ];
    (
        small_number(),
        proptest::collection::vec(segment, 0..5),
        proptest::option::of(pick(&["1", "pre", "rc.1", "a-b"])),
    )
        .prop_map(|(first, rest, pre)| {
            let mut text = first;
            for segment in rest {
                text.push('.');
                text.push_str(&segment);
            }
            if let Some(pre) = pre {
                text.push('-');
                text.push_str(&pre);
            }
            text
        })
}

fn dpkg_version() -> impl Strategy<Value = String> {
    let upstream_piece = prop_oneof![
        3 => small_number(),
        1 => pick(&[".", "~", "~rc", "~~", "+", "+dfsg", "a", "b", "Z", ".0"]),
    ];
    let revision_piece = prop_oneof![
        3 => small_number(),
        1 => pick(&[".", "~", "+b", "ubuntu", "deb12u", "+"]),
    ];
    (
        proptest::option::of(pick(&["0", "1", "2"])),
        small_number(),
        proptest::collection::vec(upstream_piece, 0..5),
        proptest::option::of(proptest::collection::vec(revision_piece, 1..4)),
    )
        .prop_map(|(epoch, first, upstream, revision)| {
            let mut text = epoch.map(|e| format!("{e}:")).unwrap_or_default();
            text.push_str(&first);
            text.push_str(&upstream.concat());
            if let Some(revision) = revision {
                text.push('-');
                text.push_str(&revision.concat());
            }
            text
        })
}

fn apk_version() -> impl Strategy<Value = String> {
    (
        small_number(),
        proptest::collection::vec(pick(&["0", "1", "01", "2", "10", "00"]), 0..3),
        proptest::option::of(pick(&["a", "b", "z"])),
        proptest::collection::vec(
            (
                pick(&["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"]),
                proptest::option::of(small_number()),
            ),
            0..3,
        ),
        proptest::option::of(pick(&["abc123", "0f"])),
        proptest::option::of(small_number()),
    )
        .prop_map(|(first, digits, letter, suffixes, hash, revision)| {
            let mut text = first;
            for digit in digits {
                text.push('.');
                text.push_str(&digit);
            }
            text.push_str(&letter.unwrap_or_default());
            for (suffix, number) in suffixes {
                text.push('_');
                text.push_str(&suffix);
                text.push_str(&number.unwrap_or_default());
            }
            if let Some(hash) = hash {
                text.push('~');
                text.push_str(&hash);
            }
            if let Some(revision) = revision {
                text.push_str("-r");
                text.push_str(&revision);
            }
            text
        })
}

fn packagist_version() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        // Composer reads a major version of more than five digits as a date, which the
        // generator leaves to the table tests.
        proptest::collection::vec(pick(&["0", "1", "2", "3", "10", "100", "01"]), 1..5),
        proptest::option::of((
            pick(&["-", ".", "_", ""]),
            pick(&[
                "alpha", "beta", "RC", "rc", "a", "b", "p", "pl", "patch", "stable",
            ]),
            proptest::option::of(small_number()),
        )),
        any::<bool>(),
    )
        .prop_map(|(v, numbers, stability, dev)| {
            let mut text = if v { "v".to_owned() } else { String::new() };
            text.push_str(&numbers.join("."));
            if let Some((separator, word, number)) = stability {
                text.push_str(&separator);
                text.push_str(&word);
                text.push_str(&number.unwrap_or_default());
            }
            if dev {
                text.push_str("-dev");
            }
            text
        })
}

fn nuget_version() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(small_number(), 1..5),
        proptest::option::of(proptest::collection::vec(
            pick(&["alpha", "Alpha", "beta", "rc", "1", "2", "10", "x-y"]),
            1..3,
        )),
        proptest::option::of(pick(&["meta", "git.abc"])),
    )
        .prop_map(|(numbers, labels, metadata)| {
            let mut text = numbers.join(".");
            if let Some(labels) = labels {
                text.push('-');
                text.push_str(&labels.join("."));
            }
            if let Some(metadata) = metadata {
                text.push('+');
                text.push_str(&metadata);
            }
            text
        })
}

fn version_strategy(scheme: Scheme) -> BoxedStrategy<String> {
    match scheme {
        Scheme::Semver => semver_version().boxed(),
        Scheme::Pep440 => pypi_version().boxed(),
        Scheme::Go => go_version().boxed(),
        Scheme::Maven => maven_version().boxed(),
        Scheme::RubyGems => rubygems_version().boxed(),
        Scheme::Dpkg => dpkg_version().boxed(),
        Scheme::Apk => apk_version().boxed(),
        Scheme::Packagist => packagist_version().boxed(),
        Scheme::NuGet => nuget_version().boxed(),
    }
}

// ---------------------------------------------------------------------------------------------
// Total-order laws.

fn hash_of(version: &Version) -> u64 {
    let mut hasher = DefaultHasher::new();
    version.hash(&mut hasher);
    hasher.finish()
}

fn parse(scheme: Scheme, text: &str) -> Version {
    Version::parse(scheme, text)
        .unwrap_or_else(|error| panic!("generated {scheme} version {text:?} must parse: {error}"))
}

fn check_laws(scheme: Scheme, a: &str, b: &str, c: &str) -> Result<(), TestCaseError> {
    let (a, b, c) = (parse(scheme, a), parse(scheme, b), parse(scheme, c));
    for (x, y) in [(&a, &b), (&b, &c), (&a, &c)] {
        prop_assert_eq!(x.cmp(y), y.cmp(x).reverse(), "antisymmetry: {} vs {}", x, y);
        prop_assert_eq!(
            x == y,
            x.cmp(y) == Ordering::Equal,
            "Eq agrees with Ord: {} vs {}",
            x,
            y
        );
        if x == y {
            prop_assert_eq!(
                hash_of(x),
                hash_of(y),
                "equal versions hash alike: {} vs {}",
                x,
                y
            );
        }
    }
    let mut sorted = [&a, &b, &c];
    sorted.sort();
    prop_assert!(
        sorted[0] <= sorted[2],
        "transitivity: {} <= {} <= {}",
        sorted[0],
        sorted[1],
        sorted[2]
    );
    for (x, y, z) in [
        (&a, &b, &c),
        (&a, &c, &b),
        (&b, &a, &c),
        (&b, &c, &a),
        (&c, &a, &b),
        (&c, &b, &a),
    ] {
        if x <= y && y <= z {
            prop_assert!(x <= z, "transitivity: {} <= {} <= {}", x, y, z);
        }
    }
    Ok(())
}

macro_rules! law_tests {
    ($($name:ident => $scheme:expr),* $(,)?) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]
            $(
                #[test]
                fn $name(
                    (a, b, c) in (version_strategy($scheme), version_strategy($scheme), version_strategy($scheme))
                ) {
                    check_laws($scheme, &a, &b, &c)?;
                }
            )*
        }
    };
}

law_tests! {
    semver_is_a_total_order => Scheme::Semver,
    pep440_is_a_total_order => Scheme::Pep440,
    go_is_a_total_order => Scheme::Go,
    maven_is_a_total_order => Scheme::Maven,
    rubygems_is_a_total_order => Scheme::RubyGems,
    dpkg_is_a_total_order => Scheme::Dpkg,
    apk_is_a_total_order => Scheme::Apk,
    packagist_is_a_total_order => Scheme::Packagist,
    nuget_is_a_total_order => Scheme::NuGet,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Untrusted text never panics, under any scheme, and a comparison of two parsed texts
    /// is antisymmetric.
    #[test]
    fn arbitrary_text_never_panics(a in ".{0,24}", b in "[0-9a-zA-Z.+~_:-]{0,16}") {
        for scheme in Scheme::ALL {
            let parsed_a = Version::parse(scheme, &a);
            let parsed_b = Version::parse(scheme, &b);
            if let (Ok(x), Ok(y)) = (parsed_a, parsed_b) {
                prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
            }
        }
    }
}

#[test]
fn versions_of_different_schemes_order_by_scheme() {
    let semver = parse(Scheme::Semver, "2.0.0");
    let pep440 = parse(Scheme::Pep440, "1.0");
    assert_ne!(semver, pep440);
    assert_eq!(semver.cmp(&pep440), Ordering::Less);
    assert_eq!(pep440.cmp(&semver), Ordering::Greater);
}

// ---------------------------------------------------------------------------------------------
// Oracles.

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tools_dir() -> PathBuf {
    std::env::var_os("SLIPWAY_TEST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|dir| PathBuf::from(dir).join("test-tools"))
        })
        .unwrap_or_else(|| workspace().join("target/test-tools"))
}

/// `Some(value)` when the tool is there; otherwise fails under CI, or skips with a notice.
fn require<T>(tool: &str, found: Option<T>) -> Option<T> {
    if found.is_some() {
        return found;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{tool} not installed (run scripts/deps/install.sh)");
    }
    eprintln!("skipped: {tool} not installed (run scripts/deps/install.sh)");
    None
}

fn runs(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs an oracle under [`ORACLE_TIMEOUT`] with `input` on stdin and returns its stdout.
fn run_oracle(program: &Path, args: &[&str], input: String) -> String {
    let output_dir = tempfile::tempdir().unwrap();
    let stdout_path = output_dir.path().join("stdout");
    let stderr_path = output_dir.path().join("stderr");
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {program:?}: {error}"));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let status = match child.wait_timeout(ORACLE_TIMEOUT).unwrap() {
        Some(status) => status,
        None => {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{program:?} did not finish within {ORACLE_TIMEOUT:?}");
        }
    };
    writer.join().unwrap().unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(status.success(), "{program:?} {args:?} failed: {stderr}");
    std::fs::read_to_string(&stdout_path).unwrap()
}

/// A batch of generated pairs, from a fixed seed so a failure reproduces.
fn generated_pairs(scheme: Scheme) -> Vec<(String, String)> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let strategy = (version_strategy(scheme), version_strategy(scheme));
    (0..BATCH)
        .map(|index| {
            let (a, b) = strategy.new_tree(&mut runner).unwrap().current();
            // Every tenth pair compares a version with itself written the same way.
            if index % 10 == 0 {
                (a.clone(), a)
            } else {
                (a, b)
            }
        })
        .collect()
}

/// Reads an oracle's answers, one `<`, `=` or `>` per line.
fn read_answers(oracle: &str, count: usize, answers: &str) -> Vec<Ordering> {
    let answers: Vec<Ordering> = answers
        .lines()
        .map(|answer| match answer {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            other => panic!("{oracle} answered {other:?}"),
        })
        .collect();
    assert_eq!(
        answers.len(),
        count,
        "{oracle} answered {} of {count} pairs",
        answers.len()
    );
    answers
}

/// The pairs on which our comparison differs from the oracle's answers, with the oracle's
/// answer.
fn disagreements(
    scheme: Scheme,
    oracle: &str,
    pairs: &[(String, String)],
    answers: &str,
) -> Vec<(String, String, Ordering)> {
    let answers = read_answers(oracle, pairs.len(), answers);
    let distinct = answers.iter().filter(|answer| answer.is_ne()).count();
    assert!(
        distinct > pairs.len() / 3,
        "the batch must mostly compare different versions"
    );
    pairs
        .iter()
        .zip(answers)
        .filter(|((a, b), expected)| compare(scheme, a, b).unwrap() != *expected)
        .map(|((a, b), expected)| (a.clone(), b.clone(), expected))
        .collect()
}

fn describe(oracle: &str, disagreements: &[(String, String, Ordering)]) -> String {
    disagreements
        .iter()
        .map(|(a, b, expected)| format!("{a:?} vs {b:?}: {oracle} {expected:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks our comparison of every pair against the oracle's answers.
fn check_against(scheme: Scheme, oracle: &str, pairs: &[(String, String)], answers: &str) {
    let found = disagreements(scheme, oracle, pairs, answers);
    assert!(
        found.is_empty(),
        "{} of {} pairs disagree with {oracle}:\n{}",
        found.len(),
        pairs.len(),
        describe(oracle, &found)
    );
}

fn tab_separated(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect()
}

#[test]
fn dpkg_agrees_with_dpkg_compare_versions() {
    let Some(shell) = require(
        "dpkg",
        runs(Path::new("dpkg"), &["--version"]).then(|| PathBuf::from("sh")),
    ) else {
        return;
    };
    let pairs = generated_pairs(Scheme::Dpkg);
    // One shell for the batch; dpkg itself has no batch mode.
    let script = r#"
while IFS="$(printf '\t')" read -r a b; do
  if dpkg --compare-versions "$a" lt "$b"; then echo '<'
  elif dpkg --compare-versions "$a" eq "$b"; then echo '='
  else echo '>'; fi
done"#;
    let answers = run_oracle(&shell, &["-c", script], tab_separated(&pairs));
    check_against(Scheme::Dpkg, "dpkg", &pairs, &answers);
}

/// PEP 440 versions against `packaging.version.Version`; with the legacy ones mixed in,
/// against `packaging_legacy.version.parse`, as OSV.dev reads PyPI versions.
#[test]
fn pep440_agrees_with_python_packaging() {
    let python = tools_dir().join("venv/bin/python");
    let found = python.exists()
        && runs(
            &python,
            &["-c", "import packaging.version, packaging_legacy.version"],
        );
    let Some(python) = require(
        "python packages packaging, packaging-legacy",
        found.then_some(python),
    ) else {
        return;
    };
    let pairs = generated_pairs(Scheme::Pep440);
    let script = r#"
import sys
from packaging.version import InvalidVersion, Version
from packaging_legacy.version import parse
for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    try:
        x, y = Version(a), Version(b)
    except InvalidVersion:
        x, y = parse(a), parse(b)
    print("<" if x < y else "=" if x == y else ">")
"#;
    let answers = run_oracle(&python, &["-c", script], tab_separated(&pairs));
    check_against(Scheme::Pep440, "packaging", &pairs, &answers);
}

#[test]
fn rubygems_agrees_with_gem_version() {
    let Some(ruby) = require(
        "ruby",
        runs(Path::new("ruby"), &["--version"]).then(|| PathBuf::from("ruby")),
    ) else {
        return;
    };
    let pairs = generated_pairs(Scheme::RubyGems);
    let script = r#"
require "rubygems"
STDIN.each_line do |line|
  a, b = line.chomp.split("\t")
  c = Gem::Version.new(a) <=> Gem::Version.new(b)
  puts(c < 0 ? "<" : c == 0 ? "=" : ">")
end"#;
    let answers = run_oracle(&ruby, &["-e", script], tab_separated(&pairs));
    check_against(Scheme::RubyGems, "Gem::Version", &pairs, &answers);
}

/// Maven's own `ComparableVersion`, from Debian's libmaven3-core-java.
const MAVEN_ARTIFACT_JAR: &str = "/usr/share/java/maven-artifact-3.x.jar";

#[test]
fn maven_agrees_with_comparable_version() {
    let found = Path::new(MAVEN_ARTIFACT_JAR).exists() && runs(Path::new("java"), &["-version"]);
    let Some(java) = require(
        "java and maven-artifact",
        found.then(|| PathBuf::from("java")),
    ) else {
        return;
    };
    let pairs = generated_pairs(Scheme::Maven);
    let source_dir = tempfile::tempdir().unwrap();
    let source = source_dir.path().join("Compare.java");
    std::fs::write(
        &source,
        r#"
import java.io.BufferedReader;
import java.io.InputStreamReader;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class Compare {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            String[] pair = line.split("\t", -1);
            int c = new ComparableVersion(pair[0]).compareTo(new ComparableVersion(pair[1]));
            out.append(c < 0 ? "<" : c == 0 ? "=" : ">").append('\n');
        }
        System.out.print(out);
    }
}
"#,
    )
    .unwrap();
    let source = source.to_str().unwrap();
    let oracle = |pairs: &[(String, String)]| {
        run_oracle(
            &java,
            &["-cp", MAVEN_ARTIFACT_JAR, source],
            tab_separated(pairs),
        )
    };
    let found = disagreements(Scheme::Maven, "ComparableVersion", &pairs, &oracle(&pairs));

    // Where a qualifier meets a sub-list, ComparableVersion's answers form cycles, which a
    // total order cannot follow. Every disagreement must be such a case: some version `w`
    // (a prefix of either text, or "0") with a < b, b < w and w < a by Maven's own answers.
    let mut questions = Vec::new();
    let mut witnesses_of = Vec::new();
    for (a, b, _) in &found {
        let mut witnesses: Vec<String> = vec!["0".to_owned()];
        for text in [a, b] {
            for (index, c) in text.char_indices() {
                if c == '.' || c == '-' || index + 1 == text.len() {
                    witnesses.push(text[..=index].trim_end_matches(['.', '-']).to_owned());
                }
            }
        }
        witnesses.retain(|w| !w.is_empty());
        for w in &witnesses {
            questions.push((a.clone(), w.clone()));
            questions.push((b.clone(), w.clone()));
        }
        witnesses_of.push(witnesses.len());
    }
    let mut answers =
        read_answers("ComparableVersion", questions.len(), &oracle(&questions)).into_iter();
    let mut unexplained = Vec::new();
    for ((a, b, a_to_b), count) in found.iter().zip(witnesses_of) {
        let cyclic = (0..count)
            .map(|_| (answers.next().unwrap(), answers.next().unwrap()))
            .filter(|(a_to_w, b_to_w)| {
                // a OP b, b OP w and w OP a for one strict OP.
                a_to_b.is_ne() && *b_to_w == *a_to_b && a_to_w.reverse() == *a_to_b
            })
            .count();
        if cyclic == 0 {
            unexplained.push((a.clone(), b.clone(), *a_to_b));
        }
    }
    eprintln!(
        "Maven: {} of {} pairs fall in ComparableVersion's cycles and are ordered totally instead",
        found.len(),
        pairs.len()
    );
    assert!(
        unexplained.is_empty(),
        "{} of {} pairs disagree with ComparableVersion outside its cycles:\n{}",
        unexplained.len(),
        pairs.len(),
        describe("ComparableVersion", &unexplained)
    );
}
