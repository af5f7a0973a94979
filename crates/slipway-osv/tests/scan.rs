//! The hand-written records of `tests/data/advisories` against the fixture lockfiles and root
//! file systems of `tests/data`: every range and event kind, `versions` lists, withdrawn
//! records, severities, distribution releases, and the dependency path.

use slipway_osv::cvss::Severity;
use slipway_osv::{
    Error, Index, Record, SeveritySource, VulnFinding, matches, osv_package, osv_version,
    read_source,
};
use std::path::{Path, PathBuf};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn records() -> Vec<Record> {
    let batch = read_source(&data("advisories")).unwrap();
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    batch.records
}

fn record(id: &str) -> Record {
    records().into_iter().find(|r| r.id == id).unwrap()
}

fn finding<'a>(findings: &'a [VulnFinding], advisory: &str) -> &'a VulnFinding {
    findings
        .iter()
        .find(|f| f.advisory == advisory)
        .unwrap_or_else(|| panic!("no finding for {advisory} in {findings:#?}"))
}

fn ids(findings: &[VulnFinding]) -> Vec<(&str, &str)> {
    findings
        .iter()
        .map(|f| (f.purl.as_str(), f.advisory.as_str()))
        .collect()
}

#[test]
fn the_directory_import_reads_every_record_and_skips_the_readme() {
    let batch = read_source(&data("advisories")).unwrap();
    assert_eq!(batch.files, 13);
    assert_eq!(batch.records.len(), 13);
    let rustsec = batch
        .records
        .iter()
        .find(|r| r.id == "RUSTSEC-2099-0001")
        .unwrap();
    assert_eq!(rustsec.aliases, ["CVE-2099-0005", "GHSA-dddd-eeee-ffff"]);
    assert_eq!(rustsec.related, ["RUSTSEC-2098-0001"]);
    assert_eq!(
        rustsec.summary.as_deref(),
        Some("Out-of-bounds read in `demo_crate::parse`")
    );
    let events = serde_json::to_value(&rustsec.affected[0].ranges[0].events).unwrap();
    assert_eq!(
        events,
        serde_json::json!([
            {"introduced": "0.5.0"}, {"fixed": "0.9.5"},
            {"introduced": "0.10.0"}, {"fixed": "1.2.3"}
        ])
    );
}

#[test]
fn every_event_kind_is_evaluated_in_order() {
    let npm = record("TEST-NPM-1");
    for (version, expected) in [
        ("0.9.0", true),
        ("1.0.1", false),
        ("1.5.0", false),
        ("2.0.0-beta.1", false),
        ("2.0.0", true),
        ("2.2.9", true),
        ("2.3.0", false),
        ("3.0.0", true),
        ("3.1.0", true),
        ("3.1.1", false),
    ] {
        assert_eq!(
            matches(&npm, "npm", "left-pad-x", version).unwrap(),
            expected,
            "left-pad-x {version}"
        );
    }
    assert!(!matches(&npm, "npm", "other", "0.9.0").unwrap());
    assert!(!matches(&npm, "PyPI", "left-pad-x", "0.9.0").unwrap());
}

#[test]
fn withdrawn_records_never_match() {
    let withdrawn = record("TEST-NPM-WITHDRAWN");
    assert!(!matches(&withdrawn, "npm", "left-pad-x", "0.1.0").unwrap());
}

#[test]
fn pep440_order_versions_lists_and_normalised_names() {
    let py = record("TEST-PY-1");
    for (version, expected) in [
        ("0.9", true),
        ("0.9.0", true),
        ("1.0b1", false),
        ("1.0rc1", true),
        ("1.0", true),
        ("1.2", true),
        ("1.2.post0", true),
        ("1.2.post1", false),
        ("1.3", false),
    ] {
        assert_eq!(
            matches(&py, "PyPI", "demo.pkg", version).unwrap(),
            expected,
            "Demo_Pkg {version}"
        );
    }
    let yaml = record("PYSEC-TEST-2");
    assert!(
        matches(&yaml, "PyPI", "Other_Pkg", "2.2").unwrap(),
        "2.2 < 2.10"
    );
    assert!(!matches(&yaml, "PyPI", "other-pkg", "2.10").unwrap());
}

#[test]
fn an_unparseable_event_skips_its_range_with_a_reason() {
    let bad = record("TEST-PY-BADRANGE");
    assert!(matches(&bad, "PyPI", "demo-pkg", "5.0").unwrap());
    match matches(&bad, "PyPI", "demo-pkg", "1.0") {
        Err(Error::Undecided { reasons, .. }) => {
            assert_eq!(reasons.len(), 1, "{reasons:?}");
            assert!(reasons[0].contains("not a version!"), "{reasons:?}");
        }
        other => panic!("expected an undecided answer, got {other:?}"),
    }
}

#[test]
fn rustsec_requirements_become_ranges() {
    let rustsec = record("RUSTSEC-2099-0001");
    for (version, expected) in [
        ("0.4.9", false),
        ("0.5.0", true),
        ("0.9.4", true),
        ("0.9.5", false),
        ("0.9.9", false),
        ("0.10.0", true),
        ("1.2.2", true),
        ("1.2.3", false),
        ("2.0.0", false),
    ] {
        assert_eq!(
            matches(&rustsec, "crates.io", "demo-crate", version).unwrap(),
            expected,
            "demo-crate {version}"
        );
    }
}

#[test]
fn go_versions_match_with_or_without_v_and_pseudo_versions_sort_first() {
    let go = record("GO-TEST-1");
    for (version, expected) in [
        ("v0.0.0-20220101000000-abcdefabcdef", true),
        ("v0.0.0-20230101000000-abcdefabcdef", false),
        ("v0.1.5", true),
        ("0.1.5", true),
        ("v0.2.1", false),
    ] {
        assert_eq!(
            matches(&go, "Go", "example.com/mod/net", version).unwrap(),
            expected,
            "{version}"
        );
    }
}

#[test]
fn distribution_records_follow_release_and_native_ordering() {
    let debian = record("DSA-TEST-12");
    assert!(matches(&debian, "Debian:12", "glibc", "2.36-9+deb12u7").unwrap());
    assert!(!matches(&debian, "Debian:12", "glibc", "2.36-9+deb12u8").unwrap());
    assert!(!matches(&debian, "Debian:12", "glibc", "2.36-9+deb12u10").unwrap());
    assert!(!matches(&debian, "Debian:11", "glibc", "2.36-9+deb12u7").unwrap());
    assert!(matches(&debian, "Debian:11", "glibc", "2.31-13+deb11u10").unwrap());
    let alpine = record("ALPINE-TEST-1");
    assert!(matches(&alpine, "Alpine:v3.20", "openssl", "3.3.1-r3").unwrap());
    assert!(matches(&alpine, "Alpine:v3.20", "openssl", "3.3.2_rc1-r0").unwrap());
    assert!(!matches(&alpine, "Alpine:v3.20", "openssl", "3.3.2-r0").unwrap());
    assert!(!matches(&alpine, "Alpine:v3.19", "openssl", "3.3.1-r3").unwrap());
}

#[test]
fn vulnerable_lockfiles_report_findings_with_fixes_severities_and_paths() {
    let index = Index::new(records());
    assert_eq!(index.len(), 12, "the withdrawn record is not indexed");
    let inventory = slipway_sbom::scan_source(&data("projects/vulnerable")).unwrap();
    let report = index.scan_report(&inventory);
    let findings = &report.findings;
    assert_eq!(
        ids(findings),
        [
            ("pkg:cargo/demo-crate@1.2.0", "RUSTSEC-2099-0001"),
            ("pkg:cargo/old-crate@0.1.0", "RUSTSEC-2099-0002"),
            ("pkg:cargo/tiny-http-x@0.3.0", "TEST-CRATE-V4"),
            ("pkg:golang/example.com/mod/net@v0.2.0", "GO-TEST-1"),
            ("pkg:npm/%40acme/widget@4.0.0", "TEST-NPM-SCOPED"),
            ("pkg:npm/left-pad-x@2.1.0", "TEST-NPM-1"),
            ("pkg:pypi/demo-pkg@1.1", "TEST-PY-1"),
            ("pkg:pypi/other-pkg@2.9", "PYSEC-TEST-2"),
        ]
    );

    let demo = finding(findings, "RUSTSEC-2099-0001");
    assert_eq!(demo.fixed, ["1.2.3"]);
    assert_eq!(demo.severity_source, SeveritySource::CvssV3);
    assert_eq!(demo.score, Some(7.5));
    assert_eq!(demo.severity, Severity::High);
    assert_eq!(
        demo.path,
        [
            "pkg:cargo/app@0.1.0",
            "pkg:cargo/mid-crate@1.0.0",
            "pkg:cargo/demo-crate@1.2.0"
        ]
    );
    assert_eq!(demo.sources, ["Cargo.lock"]);

    let old = finding(findings, "RUSTSEC-2099-0002");
    assert_eq!(old.informational.as_deref(), Some("unmaintained"));
    assert!(old.fixed.is_empty());
    assert_eq!(
        old.path,
        ["pkg:cargo/app@0.1.0", "pkg:cargo/old-crate@0.1.0"]
    );

    let v4 = finding(findings, "TEST-CRATE-V4");
    assert_eq!(v4.severity_source, SeveritySource::CvssV4);
    assert!(v4.vector.as_deref().unwrap().starts_with("CVSS:4.0/"));
    assert_eq!(v4.severity, Severity::Critical);

    let pad = finding(findings, "TEST-NPM-1");
    assert_eq!(
        pad.fixed,
        ["2.3.0"],
        "only the fix above the installed version"
    );
    assert_eq!(pad.path, ["pkg:npm/mid@1.0.0", "pkg:npm/left-pad-x@2.1.0"]);
    assert_eq!(pad.aliases, ["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"]);

    let scoped = finding(findings, "TEST-NPM-SCOPED");
    assert_eq!(
        (scoped.severity, scoped.severity_source, scoped.score),
        (Severity::None, SeveritySource::Unknown, None)
    );
    assert_eq!(scoped.package, "@acme/widget");

    let py = finding(findings, "TEST-PY-1");
    assert_eq!(
        (py.severity, py.severity_source),
        (Severity::Medium, SeveritySource::Database)
    );
    assert_eq!(py.fixed, ["1.2.post1"]);
    assert!(py.path.is_empty(), "requirements.txt has no graph");

    let go = finding(findings, "GO-TEST-1");
    assert_eq!(go.fixed, ["0.2.1"]);
    assert_eq!(go.version, "v0.2.0");
    assert!(findings.iter().all(|f| !f.withdrawn));

    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert_eq!(report.notes[0].advisory, "TEST-PY-BADRANGE");

    insta::assert_json_snapshot!("vulnerable_project", findings);
}

#[test]
fn fixed_lockfiles_report_nothing() {
    let index = Index::new(records());
    let inventory = slipway_sbom::scan_source(&data("projects/fixed")).unwrap();
    let findings = index.scan(&inventory);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn os_packages_match_by_source_package_release_and_native_order() {
    let index = Index::new(records());
    let debian = slipway_sbom::scan_filesystem(&data("rootfs/debian-vulnerable")).unwrap();
    let libc = debian
        .components
        .iter()
        .find(|c| c.name == "libc6")
        .unwrap();
    assert_eq!(
        osv_package(libc),
        Some(("Debian:12".to_string(), "glibc".to_string()))
    );
    let findings = index.scan(&debian);
    assert_eq!(
        ids(&findings),
        [(libc.purl.as_str(), "DSA-TEST-12")],
        "curl's Debian 11 record does not apply to Debian 12"
    );
    assert_eq!(findings[0].fixed, ["2.36-9+deb12u8"]);
    assert_eq!(findings[0].ecosystem, "Debian:12");
    assert_eq!(
        (findings[0].severity, findings[0].severity_source),
        (Severity::High, SeveritySource::Database)
    );
    assert_eq!(
        findings[0].path,
        [
            "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u7?arch=amd64&distro=debian-12",
            libc.purl.as_str()
        ]
    );
    let fixed = slipway_sbom::scan_filesystem(&data("rootfs/debian-fixed")).unwrap();
    assert!(index.scan(&fixed).is_empty());

    let alpine = slipway_sbom::scan_filesystem(&data("rootfs/alpine-vulnerable")).unwrap();
    let findings = index.scan(&alpine);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].advisory, "ALPINE-TEST-1");
    assert_eq!(findings[0].ecosystem, "Alpine:v3.20");
    assert_eq!(findings[0].package, "openssl");
    assert_eq!(findings[0].version, "3.3.1-r3");
    let fixed = slipway_sbom::scan_filesystem(&data("rootfs/alpine-fixed")).unwrap();
    assert!(index.scan(&fixed).is_empty());
}

#[test]
fn a_binary_rebuild_matches_by_its_source_version() {
    let text = "Package: libc-bin\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc (2.36-9+deb12u7)\nVersion: 2.36-9+deb12u7+b1\n";
    let parsed =
        slipway_sbom::system::parse_dpkg_status("var/lib/dpkg/status", text.as_bytes()).unwrap();
    let component = &parsed.components[0];
    assert_eq!(osv_version(component), "2.36-9+deb12u7");
    assert_eq!(
        osv_package(component),
        Some(("Debian".to_string(), "glibc".to_string())),
        "no os-release: the family without a release"
    );
}
