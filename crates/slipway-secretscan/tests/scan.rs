//! Tree scans, allowlists, skip counts, report shape and robustness.

mod common;

use common::{Rng, fill};
use proptest::prelude::*;
use slipway_secretscan::{AllowedBy, Allowlist, Error, Report, ScanOptions, Scanner};
use std::path::Path;

fn write(root: &Path, name: &str, content: impl AsRef<[u8]>) {
    let path = root.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, content).unwrap_or_else(|e| panic!("{e}"));
}

fn token(seed: &str) -> String {
    fill("ghp_{gh}", &mut Rng::seeded(seed))
}

#[test]
fn tree_scans_respect_gitignore_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    let secret = token("ignored");
    write(root, ".gitignore", "/target\n*.local\n");
    write(
        root,
        "target/debug/build.env",
        format!("GITHUB_TOKEN={secret}\n"),
    );
    write(root, "settings.local", format!("GITHUB_TOKEN={secret}\n"));
    write(root, ".env", format!("GITHUB_TOKEN={secret}\n"));
    let scan = |options: &ScanOptions| {
        let report = Scanner::builtin()
            .scan_dir(root, options)
            .unwrap_or_else(|e| panic!("{e}"));
        report
            .findings
            .iter()
            .map(|f| f.file.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        scan(&ScanOptions::default()),
        [".env"],
        "hidden files are scanned"
    );
    let all = ScanOptions {
        include_ignored: true,
        ..ScanOptions::default()
    };
    assert_eq!(
        scan(&all),
        [".env", "settings.local", "target/debug/build.env"]
    );
}

#[test]
fn tree_scan_reports_relative_sorted_findings_and_counts_skips() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    let secret = token("tree");
    write(root, "src/b.env", format!("X=1\nGITHUB_TOKEN={secret}\n"));
    write(root, "src/a.env", format!("GITHUB_TOKEN={secret}\n"));
    write(
        root,
        "vendor/dep/config.env",
        format!("GITHUB_TOKEN={secret}\n"),
    );
    write(
        root,
        "web/node_modules/pkg/index.js",
        format!("t='{secret}'"),
    );
    write(root, "static/app.min.js", format!("t='{secret}'"));
    write(root, "img/logo.png", format!("GITHUB_TOKEN={secret}\n"));
    write(root, "data.bin.txt", format!("\0\0GITHUB_TOKEN={secret}\n"));
    write(
        root,
        "big.env",
        format!("GITHUB_TOKEN={secret}\n{}", "x".repeat(200)),
    );
    write(root, ".git/config", format!("GITHUB_TOKEN={secret}\n"));
    let options = ScanOptions {
        max_file_size: Some(100),
        threads: Some(3),
        ..ScanOptions::default()
    };
    let report = Scanner::builtin()
        .scan_dir(root, &options)
        .unwrap_or_else(|e| panic!("{e}"));
    let places: Vec<(&str, u32, u32)> = report
        .findings
        .iter()
        .map(|f| (f.file.as_str(), f.line, f.column))
        .collect();
    assert_eq!(places, vec![("src/a.env", 1, 14), ("src/b.env", 2, 14)]);
    assert_eq!(report.scanned_files, 2);
    assert_eq!(report.skipped.vendored, 3);
    assert_eq!(report.skipped.binary, 2);
    assert_eq!(report.skipped.too_large, 1);

    let everything = ScanOptions {
        include_vendored: true,
        include_binary: true,
        include_ignored: true,
        max_file_size: Some(1 << 20),
        threads: Some(1),
    };
    let report = Scanner::builtin()
        .scan_dir(root, &everything)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.findings.len(), 8, "{:#?}", report.findings);
    assert_eq!(report.skipped, slipway_secretscan::Skipped::default());
}

#[test]
fn an_unreadable_root_is_an_error_with_its_path() {
    let error = Scanner::builtin()
        .scan_dir(
            Path::new("/nonexistent/slipway-secretscan"),
            &ScanOptions::default(),
        )
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    assert!(matches!(error, Error::Io { .. }));
    assert!(
        error
            .to_string()
            .contains("/nonexistent/slipway-secretscan"),
        "{error}"
    );
}

#[test]
fn allowlist_by_fingerprint_path_rule_and_inline_comment() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    let kept = token("kept");
    let by_fingerprint = token("fingerprinted");
    let by_path = token("path");
    let inline = token("inline");
    let aws = fill("AKIA{AN:16}", &mut Rng::seeded("aws"));
    write(
        root,
        "app/a.env",
        format!("A={kept}\nB={by_fingerprint}\nC={inline} # slipway:allow-secret\n"),
    );
    write(root, "tests/fixtures/f.env", format!("T={by_path}\n"));
    write(root, "app/aws.env", format!("AWS_ACCESS_KEY_ID={aws}\n"));
    let fingerprint = Scanner::builtin()
        .scan_bytes("app/a.env", format!("B={by_fingerprint}\n").as_bytes())
        .first()
        .map(|f| f.fingerprint.clone())
        .unwrap_or_default();
    write(
        root,
        ".slipway/secrets-allow.yml",
        format!(
            "fingerprints:\n  - fingerprint: {fingerprint}\n    reason: revoked\npaths:\n  - tests/fixtures/**\nrules:\n  - aws-access-key-id\n"
        ),
    );
    let allowlist = Allowlist::load(root).unwrap_or_else(|e| panic!("{e}"));
    let scanner = Scanner::builtin().with_allowlist(allowlist);
    let report = scanner
        .scan_dir(root, &ScanOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let reported: Vec<(&str, u32)> = report
        .findings
        .iter()
        .map(|f| (f.file.as_str(), f.line))
        .collect();
    assert_eq!(reported, vec![("app/a.env", 1)]);
    let allowed: Vec<(&str, u32, &AllowedBy)> = report
        .allowed
        .iter()
        .map(|a| (a.finding.file.as_str(), a.finding.line, &a.allowed_by))
        .collect();
    assert_eq!(
        allowed,
        vec![
            (
                "app/a.env",
                2,
                &AllowedBy::Fingerprint {
                    reason: Some("revoked".into())
                }
            ),
            ("app/a.env", 3, &AllowedBy::InlineComment),
            ("app/aws.env", 1, &AllowedBy::Rule),
            (
                "tests/fixtures/f.env",
                1,
                &AllowedBy::Path {
                    glob: "tests/fixtures/**".into()
                }
            ),
        ]
    );
    assert!(
        scanner
            .allowlist()
            .unknown_rules(scanner.rules())
            .is_empty()
    );
}

#[test]
fn a_missing_allowlist_is_empty_and_a_malformed_one_is_located() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let allowlist = Allowlist::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(allowlist.is_empty());
    write(
        dir.path(),
        ".slipway/secrets-allow.yml",
        "paths:\n  - ok/**\nfingerprints:\n  - 12345\n",
    );
    let error = Allowlist::load(dir.path())
        .err()
        .unwrap_or_else(|| panic!("must fail"));
    let message = error.to_string();
    assert!(
        matches!(
            error,
            Error::Allowlist {
                line: 4,
                column: 5,
                ..
            }
        ),
        "{message}"
    );
    assert!(
        message.contains(".slipway/secrets-allow.yml:4:5:"),
        "{message}"
    );
    assert!(message.contains("32 hex characters"), "{message}");
}

#[test]
fn report_json_shape() {
    let secret = token("json");
    let scanner = Scanner::builtin();
    let mut report = scanner.scan_blob(
        "deploy/app.env",
        format!("# deploy settings\nGITHUB_TOKEN={secret}\n").as_bytes(),
        &ScanOptions::default(),
    );
    report.merge(scanner.scan_blob("logo.png", b"\x89PNG", &ScanOptions::default()));
    let json = serde_json::to_value(&report).unwrap_or_else(|e| panic!("{e}"));
    assert!(!json.to_string().contains(&secret));
    insta::assert_json_snapshot!(json);
}

#[test]
fn debug_output_holds_no_secret() {
    let secret = token("debug");
    let findings = Scanner::builtin().scan_bytes("a.env", format!("T={secret}\n").as_bytes());
    assert_eq!(findings.len(), 1);
    let debug = format!("{findings:?}");
    assert!(!debug.contains(&secret), "{debug}");
    assert!(!debug.contains(&secret[..12]), "{debug}");
}

#[test]
fn excerpts_are_capped_and_redact_every_secret_on_the_line() {
    let first = token("first");
    let second = fill("npm_{gh}", &mut Rng::seeded("second"));
    let line = format!(
        "{}A={first} B={second} {}\n",
        "p".repeat(300),
        "s".repeat(300)
    );
    let findings = Scanner::builtin().scan_bytes("long.env", line.as_bytes());
    assert_eq!(findings.len(), 2);
    for finding in &findings {
        assert!(
            finding.excerpt.chars().count() <= 160,
            "{}",
            finding.excerpt
        );
        assert!(!finding.excerpt.contains(&first[..10]));
        assert!(!finding.excerpt.contains(&second[..10]));
    }
    assert_eq!(findings[0].column, 303);
    assert_eq!(findings[0].end_column, 343);
}

#[test]
fn excerpts_stay_short_around_invalid_utf8() {
    // Lone continuation bytes are no characters but print as U+FFFD each.
    let mut bytes = vec![0x89u8; 300];
    bytes.extend_from_slice(format!(" T={} ", token("invalid")).as_bytes());
    bytes.extend_from_slice(&[0x8a; 300]);
    let findings = Scanner::builtin().scan_bytes("bin.txt", &bytes);
    assert_eq!(findings.len(), 1);
    assert!(
        findings[0].excerpt.chars().count() <= 160,
        "{}",
        findings[0].excerpt
    );
}

#[test]
fn multi_line_private_keys_report_their_span() {
    let key = fill(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{pem}-----END OPENSSH PRIVATE KEY-----\n",
        &mut Rng::seeded("pem"),
    );
    let text = format!("first line\n{key}last line\n");
    let findings = Scanner::builtin().scan_bytes("id_ed25519", text.as_bytes());
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].rule, "private-key");
    assert_eq!((findings[0].line, findings[0].end_line), (2, 23));
    // 36 (header line) + 20 × 65 (body lines) + 33 (footer) characters.
    assert_eq!(findings[0].excerpt, "----…(1369 chars)");
}

#[test]
fn non_utf8_content_scans_and_columns_count_characters() {
    let secret = token("bytes");
    let mut bytes = "é€ ".as_bytes().to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, b' ']);
    bytes.extend_from_slice(format!("T={secret}\n").as_bytes());
    let findings = Scanner::builtin().scan_bytes("mixed.txt", &bytes);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].column, 9);
}

#[test]
fn merge_adds_counts_and_keeps_order() {
    let scanner = Scanner::builtin();
    let mut merged = Report::default();
    merged.merge(scanner.scan_blob(
        "z.env",
        format!("T={}\n", token("z")).as_bytes(),
        &ScanOptions::default(),
    ));
    merged.merge(scanner.scan_blob(
        "a.env",
        format!("T={}\n", token("a")).as_bytes(),
        &ScanOptions::default(),
    ));
    merged.merge(scanner.scan_blob("vendor/x.env", b"T=1\n", &ScanOptions::default()));
    assert_eq!(merged.scanned_files, 2);
    assert_eq!(merged.skipped.vendored, 1);
    let files: Vec<&str> = merged.findings.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, vec!["a.env", "z.env"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn scan_bytes_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let findings = Scanner::builtin().scan_bytes("fuzz.bin", &bytes);
        for finding in findings {
            prop_assert!(finding.line >= 1 && finding.column >= 1);
        }
    }

    #[test]
    fn scan_bytes_never_panics_near_keywords(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("ghp_".to_string()), Just("AKIA".to_string()), Just("password = \"".to_string()),
                Just("-----BEGIN RSA PRIVATE KEY-----\n".to_string()), Just("-----END RSA PRIVATE KEY-----".to_string()),
                Just("eyJ".to_string()), Just("postgres://u:".to_string()), Just("@h/db".to_string()),
                Just("\n".to_string()), Just("é".to_string()), Just("\"".to_string()),
                "[A-Za-z0-9+/=_.-]{0,60}",
            ],
            0..40,
        )
    ) {
        let text = parts.concat();
        let findings = Scanner::builtin().scan_bytes("f.txt", text.as_bytes());
        for finding in findings {
            prop_assert!(finding.end_line >= finding.line);
            prop_assert!(finding.excerpt.chars().count() <= 200);
        }
    }

    #[test]
    fn allowlist_parse_never_panics(text in "\\PC{0,300}") {
        let _ = Allowlist::parse(Path::new("a.yml"), &text);
    }
}
