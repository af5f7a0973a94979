//! The orderings each ecosystem publishes, as tables: the SemVer 2.0.0 §11 example, PEP 440's
//! examples, Go's `golang.org/x/mod/semver` test list, Maven's `ComparableVersionTest`
//! sequences, apk-tools' `test/version.data`, dpkg's documented rules, RubyGems' `Gem::Version`
//! documentation, Composer's and NuGet's documented orders. Each ordered table is checked
//! pairwise (every earlier entry below every later one), and each group of spellings is checked
//! equal, hashing alike.

use slipway_osv::version::{Scheme, Version, VersionError, compare};
use std::cmp::Ordering;
use std::collections::HashSet;

fn parse(scheme: Scheme, text: &str) -> Version {
    Version::parse(scheme, text).unwrap_or_else(|error| panic!("{text:?}: {error}"))
}

/// Every group is a set of equal spellings; the groups are in increasing order.
fn assert_ascending(scheme: Scheme, groups: &[&[&str]]) {
    let parsed: Vec<Vec<Version>> = groups
        .iter()
        .map(|group| group.iter().map(|text| parse(scheme, text)).collect())
        .collect();
    for (i, left_group) in parsed.iter().enumerate() {
        for (j, right_group) in parsed.iter().enumerate() {
            for left in left_group {
                for right in right_group {
                    assert_eq!(
                        left.cmp(right),
                        i.cmp(&j),
                        "{scheme}: {left} vs {right} should be {:?}",
                        i.cmp(&j)
                    );
                }
            }
        }
        let distinct: HashSet<&Version> = left_group.iter().collect();
        assert_eq!(
            distinct.len(),
            1,
            "{scheme}: {left_group:?} hash and compare alike"
        );
    }
}

fn assert_invalid(scheme: Scheme, texts: &[&str]) {
    for text in texts {
        assert!(
            Version::parse(scheme, text).is_err(),
            "{scheme}: {text:?} should be rejected"
        );
    }
}

/// `a OP b` lines, OP one of `<`, `=`, `>`.
fn assert_pairs(scheme: Scheme, table: &str) {
    for line in table.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = parts[..] else {
            panic!("bad table line {line:?}");
        };
        let expected = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("bad operator in {line:?}"),
        };
        assert_eq!(compare(scheme, a, b).unwrap(), expected, "{scheme}: {line}");
    }
}

#[test]
fn semver_follows_the_specification_example() {
    // SemVer 2.0.0 §11.4.
    assert_ascending(
        Scheme::Semver,
        &[
            &["1.0.0-alpha"],
            &["1.0.0-alpha.1"],
            &["1.0.0-alpha.beta"],
            &["1.0.0-beta"],
            &["1.0.0-beta.2"],
            &["1.0.0-beta.11"],
            &["1.0.0-rc.1"],
            &["1.0.0", "1.0.0+20130313144700", "v1.0.0", "1.0", "1"],
            &["1.0.1"],
            &["1.1.0"],
            &["2.0.0"],
            &["10.0.0"],
        ],
    );
    assert_invalid(
        Scheme::Semver,
        &[
            "1.0.0-", "1.0.0-01", "01.0.0", "1.0.0.0", "1.0-rc.1", "a.b.c", "1.0.0+",
        ],
    );
}

#[test]
fn pep440_follows_the_specification_examples() {
    // PEP 440, "Summary of permitted suffixes and relative ordering" and normalisation.
    assert_ascending(
        Scheme::Pep440,
        &[
            &["1.dev0", "1.0.dev0", "1.0-dev0", "1.0dev"],
            &["1.0a1", "1.0alpha1", "1.0.a1", "1.0-a.1"],
            &["1.0a2.dev456"],
            &["1.0a12.dev456"],
            &["1.0a12"],
            &["1.0b1.dev456"],
            &["1.0b2", "1.0beta2"],
            &["1.0b2.post345.dev456"],
            &["1.0b2.post345"],
            &["1.0rc1.dev456"],
            &["1.0rc1", "1.0c1", "1.0pre1", "1.0preview1"],
            &["1.0", "1.0.0", "1", "v1.0", "1.0.0.0"],
            &["1.0+abc.5"],
            &["1.0+abc.7"],
            &["1.0+5"],
            &["1.0.post456.dev34"],
            &["1.0.post456", "1.0-456", "1.0post456", "1.0.r456"],
            &["1.0.15"],
            &["1.1.dev1"],
            &["1!0.1"],
        ],
    );
    // Pre-PEP 440 versions PyPI still holds are read as legacy versions, below every PEP 440
    // version (as `packaging_legacy` orders them); only whitespace and control characters
    // are rejected.
    assert_ascending(
        Scheme::Pep440,
        &[
            &["-class.-jw.util.version.Version-"],
            &["trunk"],
            &["0.3m1"],
            &["0.3m2"],
            &["1.0.x"],
            &["2.0.0-final", "2-final"],
            &["2013-01-21T20:33:09+0100"],
            &["0.0.dev0"],
        ],
    );
    assert_invalid(Scheme::Pep440, &["1.0 beta", "1.0\u{0}", "one two"]);
}

#[test]
fn go_follows_x_mod_semver() {
    // golang.org/x/mod/semver's test list, in order; `v` is optional here.
    assert_ascending(
        Scheme::Go,
        &[
            &["v0.0.0-20210101000000-abcdefabcdef"],
            &[
                "0.0.0-20220906165146-f3363e06e74c",
                "v0.0.0-20220906165146-f3363e06e74c",
            ],
            &["v0.1.0"],
            &["v1.0.0-alpha"],
            &["v1.0.0-alpha.1"],
            &["v1.0.0-alpha.beta"],
            &["v1.0.0-beta"],
            &["v1.0.0-beta.2"],
            &["v1.0.0-beta.11"],
            &["v1.0.0-rc.1"],
            &["v1", "v1.0", "v1.0.0", "1.0.0"],
            &["v1.2.0-20220101000000-abcdefabcdef"],
            &["v1.2", "v1.2.0"],
            &["v1.2.1-0.20220906165146-f3363e06e74c"],
            &["v1.2.3-456"],
            &["v1.2.3-456.789"],
            &["v1.2.3-456-789"],
            &["v1.2.3-456a"],
            &["v1.2.3-pre", "v1.2.3-pre+meta"],
            &["v1.2.3-pre.1"],
            &["v1.2.3-zzz"],
            &[
                "v1.2.3",
                "v1.2.3+meta",
                "v1.2.3+meta-pre",
                "v1.2.3+meta-pre.sha.256a",
            ],
            &["v2.0.0+incompatible", "2.0.0"],
            &["v2.1.0+incompatible"],
            &["v100000000000000000000000000000.0.0"],
        ],
    );
    assert_invalid(
        Scheme::Go,
        &[
            "bad",
            "v1-alpha.beta.gamma",
            "v1-pre",
            "v1+meta",
            "v1-pre+meta",
            "v1.2-pre",
            "v1.2+meta",
            "v1.2-pre+meta",
            "v1.2.3.4",
            "v1.2.3-0123",
            "v1.2.3-0123.0123",
            "v1.2.3-+meta",
            "v01.2.3",
            "v1.02.3",
            "v",
        ],
    );
}

#[test]
fn maven_follows_comparable_version_test() {
    // maven-artifact's ComparableVersionTest: VERSIONS_QUALIFIER and VERSIONS_NUMBER are
    // strictly increasing; testVersionsEqual's groups are equal. Since Maven 3.8 a qualifier
    // after a '.' opens a sub-list as after a '-', so "2.0.a" sorts before "2-1" and equals
    // "2.0.0.a" (the order Maven 3.8.7's own ComparableVersion gives).
    let qualifiers: &[&str] = &[
        "1-alpha2snapshot",
        "1-alpha2",
        "1-alpha-123",
        "1-beta-2",
        "1-beta123",
        "1-m2",
        "1-m11",
        "1-rc",
        "1-cr2",
        "1-rc123",
        "1-SNAPSHOT",
        "1",
        "1-sp",
        "1-sp2",
        "1-sp123",
        "1-abc",
        "1-def",
        "1-pom-1",
        "1-1-snapshot",
        "1-1",
        "1-2",
        "1-123",
    ];
    let numbers: &[&str] = &[
        "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
        "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11",
        "11.a", "11b", "11c", "11m",
    ];
    for sequence in [qualifiers, numbers] {
        let groups: Vec<&[&str]> = sequence.iter().map(std::slice::from_ref).collect();
        assert_ascending(Scheme::Maven, &groups);
    }
    assert_ascending(
        Scheme::Maven,
        &[
            &["1a1", "1-a1", "1.a1", "1-alpha-1", "1alpha1"],
            &["1b2", "1-b2", "1.b2", "1-beta-2", "1beta2"],
            &["1m3", "1-m3", "1.m3", "1-milestone-3", "1milestone3"],
            &["1rc", "1cr", "1-rc", "1-cr", "1.rc", "1.cr"],
            &["1-SNAPSHOT", "1-snapshot", "1.snapshot"],
            &[
                "1",
                "1.0",
                "1.0.0",
                "1-0",
                "1ga",
                "1.ga",
                "1-ga",
                "1-final",
                "1final",
                "1-RELEASE",
            ],
            &["1x", "1-x", "1.0.0-x", "1.0-x", "1.x"],
            &["2.0.a", "2.0.0.a", "2-a"],
        ],
    );
}

#[test]
fn apk_follows_apk_tools_version_data() {
    // A selection of apk-tools' test/version.data.
    assert_pairs(
        Scheme::Apk,
        "
        2.34 > 0.1.0_alpha
        0.1.0_alpha = 0.1.0_alpha
        0.1.0_alpha < 0.1.3_alpha
        0.1.0_alpha2 > 0.1.0_alpha
        0.1.0_alpha < 2.2.39-r1
        1.0.4-r3 < 1.0.4-r4
        1.1 > 1.1_alpha1
        1.2.1 > 1.2
        1.3_alpha < 1.3_alpha2
        0.7.0 < 0.8_beta1
        0.12.3 > 0.12
        2.3.0b-r1 < 2.3.0b-r2
        1.2.12.1 < 1.2.13
        3.1_p16 < 3.1_p17
        1.06-r6 < 006
        006 > 1.0.0
        1.2.2-r1 > 1.2.2
        20050718-r1 < 20050718-r2
        3.9.8-r5 > 2.01.01_alpha10
        0.99.3.20040818 > 0.7
        2.5.1-r8 < 2.5.1a-r1
        1.3.5-r10 > 1.3.5-r8
        2.0.0_rc3-r1 > 1.5
        3.0.0-r2 < 021109-r3
        3.9_pre20060124 > 0.01
        0.10.0-r1 > 0.10.0
        0.10.0 < 0.10.1_rc1
        1.1a < 1.3a
        0.15.1b < 1.0.1
        2.1_pre20 < 2.1_pre26
        02.08.01b < 4.77
        1.07-r1 < 1.07.5
        0.1_pre20060810 < 0.1_pre20060817
        0.59s-r11 < 0.65
        0.20070118 < 0.20070207_rc1
        4.5_p1-r1 > 4.5_p1
        0.9.8c-r1 < 0.9.8d
        013 < 014-r1
        1.7 < 1.7b
        1.8.5 < 1.8.5_p2
        2.9.11_pre20051101-r3 > 2.9.11_pre20051101
        1.6.8_p12-r1 > 1.6.8_p9-r2
        0.9.28-r2 < 0.9.28.1
        104-r11 > 104-r9
        2.12r-r4 < 2.12r-r5
        7.0.17 < 7.0.174
        1.0_p10-r0 > 1.0_p9-r0
        0.1.0_alpha_pre2 < 0.1.0_alpha
        1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0
        1.3-r0 < 1.3.1-r0
        1.0~abc > 1.0-r0
        1.0~abc < 1.0.1
        1.0~abc < 1.0~abd
        1.0_rc1~abc > 1.0_rc1
        ",
    );
    // Lines apk-tools itself marks invalid, and other malformed versions.
    assert_invalid(
        Scheme::Apk,
        &[
            "1.0bc", "23_foo", "1.0-1", "a1.0", "1.0_", "1.0~", "1.0~ABC", "1..0", "1.0-r", "1.0a1",
        ],
    );
}

#[test]
fn dpkg_follows_deb_version() {
    assert_pairs(
        Scheme::Dpkg,
        "
        1.0~rc1 < 1.0
        1.0~~ < 1.0~
        1.0~~ < 1.0~~a
        1.0~~a < 1.0~
        1.0~ < 1.0
        1.0 < 1.0a
        1.0a < 1.0+
        1.0a < 1.0.
        1.0 < 1.0-1
        1.0-0 = 1.0
        0:1.0 = 1.0
        1:0.1 > 2.0
        2.0-1 < 2.0-1ubuntu1
        2.0-1ubuntu1 < 2.0-2
        7.88.1-10+deb12u5 < 7.88.1-10+deb12u6
        7.88.1-10+deb12u10 > 7.88.1-10+deb12u6
        1.2.3-1~bpo12+1 < 1.2.3-1
        1.00 = 1.0
        1.01 = 1.1
        2:1.0 > 1:9.9
        1.0-1.1 > 1.0-1
        ",
    );
    assert_invalid(
        Scheme::Dpkg,
        &["1.0-", "a:1.0", "1.0 1", "1.0_1", "1.0-a:b", ":1.0"],
    );
}

#[test]
fn rubygems_follows_gem_version() {
    // Gem::Version's documentation: "1.0.a < 1.0.b < 1.0 < 1.0.1 < 1.1", prerelease segments.
    assert_ascending(
        Scheme::RubyGems,
        &[
            &["1.0.a", "1.0.a.0", "1.a"],
            &["1.0.a.1"],
            &["1.0.a10"],
            &["1.0.b"],
            &["1.0.b1"],
            &["1.0-rc1", "1.0.pre.rc1"],
            &["1.0.pre.1", "1.0-1"],
            &["1.0.rc1"],
            &["1", "1.0", "1.0.0"],
            &["1.0.1"],
            &["1.1"],
            &["1.10"],
            &["2"],
        ],
    );
    assert_invalid(
        Scheme::RubyGems,
        &["a", "1..0", "1.0-", "1.0_1", "-1", "1.0.+"],
    );
}

#[test]
fn packagist_follows_composer() {
    assert_ascending(
        Scheme::Packagist,
        &[
            &["1.0.0-dev", "1.0.0.0-dev", "v1.0-dev"],
            &["1.0.0-alpha", "1.0.0a", "1.0.0-ALPHA"],
            &["1.0.0-alpha1", "1.0.0-a1", "1.0.0alpha.1"],
            &["1.0.0-alpha2"],
            &["1.0.0-beta", "1.0.0-b"],
            &["1.0.0-beta2-dev"],
            &["1.0.0-beta2", "1.0.0.beta2", "1.0.0_beta2", "1.0.0-b2"],
            &["1.0.0-beta10"],
            &["1.0.0-RC1", "1.0.0-rc1", "1.0.0RC1"],
            &[
                "1.0.0",
                "1",
                "1.0",
                "v1.0.0",
                "1.0.0.0",
                "1.0.0-stable",
                "1.0.0+build5",
            ],
            &["1.0.0-p1", "1.0.0-pl1", "1.0.0-patch1"],
            &["1.0.1"],
            &["1.10.0"],
            &["2010.01.02", "2010.1.2.0"],
            &["99999.0"],
            &["20100102"],
            &["20100102.1"],
        ],
    );
    assert_invalid(
        Scheme::Packagist,
        &["dev-main", "dev-master", "1.0.0-foo", "abc", "1.0.0.0.0"],
    );
}

#[test]
fn nuget_follows_nuget_versioning() {
    assert_ascending(
        Scheme::NuGet,
        &[
            &["1.0.0-alpha", "1.0.0-ALPHA", "1.0.0-Alpha+meta"],
            &["1.0.0-alpha.1"],
            &["1.0.0-alpha.beta"],
            &["1.0.0-beta.2"],
            &["1.0.0-beta.11"],
            &["1.0.0-rc.1"],
            &["1.0.0", "1.0", "1", "1.0.0.0", "1.00.0", "1.0.0+build"],
            &["1.0.0.1"],
            &["1.0.1-beta"],
            &["1.0.1"],
            &["1.10.0"],
        ],
    );
    assert_invalid(
        Scheme::NuGet,
        &["1.0.0.0.0", "1.a", "1.0.0-", "1.0.0-a..b", "1.0.0+"],
    );
}

#[test]
fn ecosystems_map_to_their_schemes() {
    let cases = [
        ("crates.io", Some(Scheme::Semver)),
        ("npm", Some(Scheme::Semver)),
        ("PyPI", Some(Scheme::Pep440)),
        ("Go", Some(Scheme::Go)),
        ("Maven", Some(Scheme::Maven)),
        ("RubyGems", Some(Scheme::RubyGems)),
        ("Debian", Some(Scheme::Dpkg)),
        ("Debian:12", Some(Scheme::Dpkg)),
        ("Ubuntu:22.04:LTS", Some(Scheme::Dpkg)),
        ("Alpine", Some(Scheme::Apk)),
        ("Alpine:v3.20", Some(Scheme::Apk)),
        ("Packagist", Some(Scheme::Packagist)),
        ("NuGet", Some(Scheme::NuGet)),
        ("Hex", Some(Scheme::Semver)),
        ("pypi", None),
        ("PyPI:extra", None),
        ("GIT", None),
        ("", None),
    ];
    for (ecosystem, expected) in cases {
        assert_eq!(Scheme::for_ecosystem(ecosystem), expected, "{ecosystem:?}");
    }
}

#[test]
fn errors_name_the_scheme_the_text_and_the_fault() {
    let error = Version::parse(Scheme::Apk, "1.0_foo").unwrap_err();
    assert!(
        matches!(&error, VersionError::Invalid { scheme: Scheme::Apk, text, .. } if text == "1.0_foo")
    );
    let message = error.to_string();
    assert!(
        message.contains("apk") && message.contains("1.0_foo") && message.contains("_foo"),
        "{message}"
    );
    assert!(message.contains("expected a version such as"), "{message}");

    let empty = Version::parse(Scheme::Pep440, "  ").unwrap_err();
    assert_eq!(
        empty,
        VersionError::Empty {
            scheme: Scheme::Pep440
        }
    );
    assert!(empty.to_string().contains("PEP 440"), "{empty}");

    let compared = compare(Scheme::Go, "v1.0.0", "v1.x").unwrap_err();
    assert!(compared.to_string().contains("v1.x"), "{compared}");
}

#[test]
fn version_keeps_its_text_and_scheme() {
    let version = parse(Scheme::Pep440, "1.0-1");
    assert_eq!(version.as_str(), "1.0-1");
    assert_eq!(version.to_string(), "1.0-1");
    assert_eq!(version.scheme(), Scheme::Pep440);
    assert_eq!(version, parse(Scheme::Pep440, "1.0.post1"));
}
