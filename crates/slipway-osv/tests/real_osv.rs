//! Conformance on real advisory data: the PyPI, Go and RustSec snapshots under
//! `$SLIPWAY_OSV_DATA`. Every record must parse;
//! lockfiles pinning the known-vulnerable versions listed in that directory's README must
//! find exactly the listed advisories (with their aliases and fixes), the fixed versions
//! nothing; and the whole set must import into the SQLite store and scan the same from there.
//!
//! The data is optional (users need not have it, and the hand-written records of
//! `tests/scan.rs` cover the logic), so without it these tests print a notice and pass, also
//! under `CI=true`.

mod common;

use common::osv_data_dir;
use slipway_osv::{Index, Record, VulnFinding, inventory_keys, read_source, record_keys};
use slipway_store::{AdvisoryRow, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The whole data set, read once per test binary, with the time it took.
fn real_records() -> Option<&'static (Vec<Record>, Duration)> {
    static RECORDS: OnceLock<Option<(Vec<Record>, Duration)>> = OnceLock::new();
    RECORDS
        .get_or_init(|| {
            let dir = osv_data_dir()?;
            let started = Instant::now();
            let batch = read_source(&dir).unwrap();
            let elapsed = started.elapsed();
            assert!(
                batch.rejected.is_empty(),
                "{} files rejected, first: {:?}",
                batch.rejected.len(),
                batch.rejected.first()
            );
            assert_eq!(batch.files, batch.records.len() as u64);
            Some((batch.records, elapsed))
        })
        .as_ref()
}

#[test]
fn every_real_record_parses() {
    let Some((records, elapsed)) = real_records() else {
        return;
    };
    let mut per_prefix: BTreeMap<String, usize> = BTreeMap::new();
    let mut ranges: BTreeMap<String, usize> = BTreeMap::new();
    let mut events: BTreeMap<&str, usize> = BTreeMap::new();
    let mut withdrawn = 0;
    let mut with_versions = 0;
    for record in records {
        let prefix = record.id.split('-').next().unwrap_or_default().to_string();
        *per_prefix.entry(prefix).or_default() += 1;
        withdrawn += usize::from(record.is_withdrawn());
        for affected in &record.affected {
            with_versions += usize::from(!affected.versions.is_empty());
            for range in &affected.ranges {
                *ranges.entry(range.kind.clone()).or_default() += 1;
                for event in &range.events {
                    let kind = if event.introduced.is_some() {
                        "introduced"
                    } else if event.fixed.is_some() {
                        "fixed"
                    } else if event.last_affected.is_some() {
                        "last_affected"
                    } else {
                        "limit"
                    };
                    *events.entry(kind).or_default() += 1;
                }
            }
        }
    }
    eprintln!(
        "read {} records in {elapsed:?}: {per_prefix:?}; ranges {ranges:?}; events {events:?}; \
         {with_versions} affected entries with a versions list; {withdrawn} withdrawn",
        records.len()
    );
    assert_eq!(
        per_prefix,
        BTreeMap::from([
            ("GO".to_string(), 4291),
            ("PYSEC".to_string(), 2661),
            ("RUSTSEC".to_string(), 1205),
        ])
    );
    assert_eq!(withdrawn, 10 + 17 + 13, "as the data's README counts them");
    assert_eq!(ranges.get("ECOSYSTEM"), Some(&2659));
    assert_eq!(ranges.get("GIT"), Some(&1391));
    assert_eq!(
        ranges.get("SEMVER"),
        Some(&(6125 + 1205)),
        "Go's ranges and one per converted RustSec advisory"
    );
    assert!(events.get("last_affected").is_some_and(|n| *n >= 1));
}

/// One README row: the package, its vulnerable and fixed versions, the advisory with its
/// aliases, and every advisory expected at the vulnerable version (`None`: only a lower bound
/// on their number is known).
struct Example {
    purl_prefix: &'static str,
    vulnerable: &'static str,
    fixed: &'static str,
    advisory: &'static str,
    aliases: &'static [&'static str],
    /// Every advisory at the vulnerable version, or how many there are when the README elides
    /// some ids.
    expected: Expected,
    /// Whether the fixed version matches nothing at all ("none" rows).
    fixed_is_clean: bool,
}

enum Expected {
    Exactly(&'static [&'static str]),
    Count(usize),
}

const PYPI: &[Example] = &[
    Example {
        purl_prefix: "pkg:pypi/jinja2@",
        vulnerable: "2.11.2",
        fixed: "2.11.3",
        advisory: "PYSEC-2021-66",
        aliases: &[
            "CVE-2020-28493",
            "SNYK-PYTHON-JINJA2-1012994",
            "GHSA-g3rq-g295-4j3m",
        ],
        expected: Expected::Exactly(&["PYSEC-2021-66"]),
        fixed_is_clean: true,
    },
    Example {
        purl_prefix: "pkg:pypi/pyyaml@",
        vulnerable: "5.3.1",
        fixed: "5.4",
        advisory: "PYSEC-2021-142",
        aliases: &["CVE-2020-14343", "GHSA-8q59-q68h-6hv4"],
        expected: Expected::Exactly(&["PYSEC-2021-142"]),
        fixed_is_clean: true,
    },
    Example {
        purl_prefix: "pkg:pypi/urllib3@",
        vulnerable: "1.24.1",
        fixed: "1.24.2",
        advisory: "PYSEC-2019-133",
        aliases: &["CVE-2019-11324", "GHSA-mh33-7rrq-662w"],
        expected: Expected::Exactly(&[
            "PYSEC-2019-133",
            "PYSEC-2019-132",
            "PYSEC-2020-148",
            "PYSEC-2021-108",
            "PYSEC-2023-192",
            "PYSEC-2023-207",
            "PYSEC-2023-212",
        ]),
        fixed_is_clean: false,
    },
    Example {
        purl_prefix: "pkg:pypi/requests@",
        vulnerable: "2.2.1",
        fixed: "2.3.0",
        advisory: "PYSEC-2014-13",
        aliases: &["CVE-2014-1829", "GHSA-cfj3-7x9c-4p3h"],
        expected: Expected::Exactly(&[
            "PYSEC-2014-13",
            "PYSEC-2014-14",
            "PYSEC-2015-17",
            "PYSEC-2018-28",
        ]),
        fixed_is_clean: false,
    },
    Example {
        purl_prefix: "pkg:pypi/flask@",
        vulnerable: "0.12.2",
        fixed: "0.12.3",
        advisory: "PYSEC-2018-66",
        aliases: &["CVE-2018-1000656", "GHSA-562c-5r94-xh97"],
        expected: Expected::Exactly(&["PYSEC-2018-66", "PYSEC-2019-179", "PYSEC-2023-62"]),
        fixed_is_clean: false,
    },
];

const GO: &[Example] = &[
    Example {
        purl_prefix: "pkg:golang/golang.org/x/net@",
        vulnerable: "v0.32.0",
        fixed: "v0.33.0",
        advisory: "GO-2024-3333",
        aliases: &["CVE-2024-45338", "GHSA-w32m-9786-jp63"],
        expected: Expected::Exactly(&[
            "GO-2024-3333",
            "GO-2025-3503",
            "GO-2025-3595",
            "GO-2026-4440",
            "GO-2026-4441",
            "GO-2026-4918",
            "GO-2026-5025",
            "GO-2026-5026",
            "GO-2026-5027",
            "GO-2026-5028",
            "GO-2026-5029",
            "GO-2026-5030",
            "GO-2026-5942",
        ]),
        fixed_is_clean: false,
    },
    Example {
        purl_prefix: "pkg:golang/golang.org/x/crypto@",
        vulnerable: "v0.16.0",
        fixed: "v0.17.0",
        advisory: "GO-2023-2402",
        aliases: &["CVE-2023-48795", "GHSA-45x7-px36-x8w8"],
        expected: Expected::Count(1 + 19),
        fixed_is_clean: false,
    },
    Example {
        purl_prefix: "pkg:golang/golang.org/x/text@",
        vulnerable: "v0.3.7",
        fixed: "v0.3.8",
        advisory: "GO-2022-1059",
        aliases: &["CVE-2022-32149", "GHSA-69ch-w2m2-3vjp"],
        expected: Expected::Exactly(&["GO-2022-1059", "GO-2026-5970"]),
        fixed_is_clean: false,
    },
    Example {
        purl_prefix: "pkg:golang/github.com/gorilla/websocket@",
        vulnerable: "v1.4.0",
        fixed: "v1.4.1",
        advisory: "GO-2020-0019",
        aliases: &[
            "CVE-2020-27813",
            "GHSA-3xh2-74w9-5vxm",
            "GHSA-jf24-p9p9-4rjh",
        ],
        expected: Expected::Exactly(&["GO-2020-0019"]),
        fixed_is_clean: true,
    },
    Example {
        purl_prefix: "pkg:golang/google.golang.org/protobuf@",
        vulnerable: "v1.32.0",
        fixed: "v1.33.0",
        advisory: "GO-2024-2611",
        aliases: &["CVE-2024-24786", "GHSA-8r3f-844c-mc37"],
        expected: Expected::Exactly(&["GO-2024-2611"]),
        fixed_is_clean: true,
    },
];

const CRATES: &[Example] = &[
    Example {
        purl_prefix: "pkg:cargo/regex@",
        vulnerable: "1.5.4",
        fixed: "1.5.5",
        advisory: "RUSTSEC-2022-0013",
        aliases: &["CVE-2022-24713", "GHSA-m5pq-gvj9-9vr8"],
        expected: Expected::Exactly(&["RUSTSEC-2022-0013"]),
        fixed_is_clean: true,
    },
    Example {
        purl_prefix: "pkg:cargo/chrono@",
        vulnerable: "0.4.19",
        fixed: "0.4.20",
        advisory: "RUSTSEC-2020-0159",
        aliases: &[],
        expected: Expected::Exactly(&["RUSTSEC-2020-0159"]),
        fixed_is_clean: true,
    },
    Example {
        purl_prefix: "pkg:cargo/idna@",
        vulnerable: "0.5.0",
        fixed: "1.0.0",
        advisory: "RUSTSEC-2024-0421",
        aliases: &["CVE-2024-12224", "GHSA-h97m-ww89-6jmq"],
        expected: Expected::Exactly(&["RUSTSEC-2024-0421"]),
        fixed_is_clean: true,
    },
    Example {
        purl_prefix: "pkg:cargo/tungstenite@",
        vulnerable: "0.20.0",
        fixed: "0.20.1",
        advisory: "RUSTSEC-2023-0065",
        aliases: &["CVE-2023-43669", "GHSA-9mcr-873m-xcxp"],
        expected: Expected::Exactly(&["RUSTSEC-2023-0065"]),
        fixed_is_clean: true,
    },
    Example {
        purl_prefix: "pkg:cargo/curve25519-dalek@",
        vulnerable: "4.1.2",
        fixed: "4.1.3",
        advisory: "RUSTSEC-2024-0344",
        aliases: &["CVE-2024-58262", "GHSA-x4gp-pqpj-f43q"],
        expected: Expected::Exactly(&["RUSTSEC-2024-0344"]),
        fixed_is_clean: true,
    },
];

/// A project with a requirements.txt, a go.mod and a Cargo.lock pinning each example at
/// `version(example)`.
fn project(version: fn(&Example) -> &'static str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let name = |example: &Example| {
        let rest = example.purl_prefix.split_once('/').unwrap().1;
        rest.trim_end_matches('@').to_string()
    };
    let requirements: String = PYPI
        .iter()
        .map(|e| format!("{}=={}\n", name(e), version(e)))
        .collect();
    std::fs::write(dir.path().join("requirements.txt"), requirements).unwrap();
    let requires: String = GO
        .iter()
        .map(|e| format!("\t{} {}\n", name(e), version(e)))
        .collect();
    std::fs::write(
        dir.path().join("go.mod"),
        format!("module example.com/app\n\ngo 1.22\n\nrequire (\n{requires})\n"),
    )
    .unwrap();
    let mut lock = String::from(
        "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n",
    );
    for example in CRATES {
        lock.push_str(&format!(" \"{}\",\n", name(example)));
    }
    lock.push_str("]\n");
    for example in CRATES {
        lock.push_str(&format!(
            "\n[[package]]\nname = \"{}\"\nversion = \"{}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
            name(example),
            version(example)
        ));
    }
    std::fs::write(dir.path().join("Cargo.lock"), lock).unwrap();
    dir
}

fn by_component<'a>(findings: &'a [VulnFinding], purl_prefix: &str) -> Vec<&'a VulnFinding> {
    findings
        .iter()
        .filter(|f| f.purl.starts_with(purl_prefix))
        .collect()
}

/// Checks the findings of the vulnerable and the fixed project against every README row.
fn check_examples(vulnerable: &[VulnFinding], fixed: &[VulnFinding]) {
    for example in PYPI.iter().chain(GO).chain(CRATES) {
        let found = by_component(vulnerable, example.purl_prefix);
        let listed = found
            .iter()
            .find(|f| f.advisory == example.advisory)
            .unwrap_or_else(|| {
                panic!(
                    "{}{}: {} not found among {:?}",
                    example.purl_prefix,
                    example.vulnerable,
                    example.advisory,
                    found.iter().map(|f| &f.advisory).collect::<Vec<_>>()
                )
            });
        let aliases: BTreeSet<&str> = listed.aliases.iter().map(String::as_str).collect();
        assert_eq!(
            aliases,
            example.aliases.iter().copied().collect(),
            "{}",
            example.advisory
        );
        let fixed_version = example.fixed.trim_start_matches('v');
        assert!(
            listed.fixed.iter().any(|f| f == fixed_version),
            "{}: fixed {:?}, expected {fixed_version}",
            example.advisory,
            listed.fixed
        );
        let ids: BTreeSet<&str> = found.iter().map(|f| f.advisory.as_str()).collect();
        match example.expected {
            Expected::Exactly(expected) => {
                assert_eq!(
                    ids,
                    expected.iter().copied().collect(),
                    "{}",
                    example.purl_prefix
                );
            }
            Expected::Count(count) => assert_eq!(ids.len(), count, "{ids:?}"),
        }
        let after_fix = by_component(fixed, example.purl_prefix);
        assert!(
            after_fix.iter().all(|f| f.advisory != example.advisory),
            "{} still reported at {}",
            example.advisory,
            example.fixed
        );
        if example.fixed_is_clean {
            assert!(after_fix.is_empty(), "{after_fix:#?}");
        }
    }
}

#[test]
fn known_vulnerable_versions_find_their_advisories_and_fixed_versions_do_not() {
    let Some((records, _)) = real_records() else {
        return;
    };
    let started = Instant::now();
    let index = Index::new(records.iter().cloned());
    eprintln!("indexed {} records in {:?}", index.len(), started.elapsed());
    let vulnerable_dir = project(|e| e.vulnerable);
    let fixed_dir = project(|e| e.fixed);
    let vulnerable = index.scan(&slipway_sbom::scan_source(vulnerable_dir.path()).unwrap());
    let fixed = index.scan(&slipway_sbom::scan_source(fixed_dir.path()).unwrap());
    check_examples(&vulnerable, &fixed);
    // The Cargo.lock has a graph: the path runs from the root crate.
    let regex = by_component(&vulnerable, "pkg:cargo/regex@");
    assert_eq!(
        regex[0].path,
        ["pkg:cargo/app@0.1.0", "pkg:cargo/regex@1.5.4"]
    );
    let chrono = by_component(&vulnerable, "pkg:cargo/chrono@");
    assert!(chrono[0].aliases.is_empty());
}

#[tokio::test]
async fn the_real_data_imports_into_sqlite_and_scans_the_same() {
    let Some((records, _)) = real_records() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in(dir.path()).await.unwrap();
    let started = Instant::now();
    let rows: Vec<AdvisoryRow> = records
        .iter()
        .map(|record| AdvisoryRow {
            id: record.id.clone(),
            modified: record.modified.clone(),
            published: record.published.clone(),
            withdrawn: record.withdrawn.clone(),
            record: serde_json::to_string(record).unwrap(),
            packages: record_keys(record),
        })
        .collect();
    let counts = store.import_advisories(&rows).await.unwrap();
    let import_time = started.elapsed();
    assert_eq!(counts.inserted, records.len() as u64);
    let started = Instant::now();
    let again = store.import_advisories(&rows).await.unwrap();
    let reimport_time = started.elapsed();
    assert_eq!(
        (again.inserted, again.updated, again.unchanged),
        (0, 0, records.len() as u64)
    );
    eprintln!(
        "SQLite import of {} records: {import_time:?} (re-import, all unchanged: {reimport_time:?})",
        records.len()
    );
    assert!(
        import_time < Duration::from_secs(30),
        "import took {import_time:?}"
    );

    let status = store.advisory_status().await.unwrap();
    eprintln!("{status:#?}");
    let family = |name: &str| status.iter().find(|s| s.ecosystem == name).unwrap();
    assert_eq!(
        family("PyPI").newest_modified.as_deref(),
        Some("2024-10-10T17:22:00.587279Z")
    );
    assert_eq!(
        family("PyPI").newest_published.as_deref(),
        Some("2024-10-08T16:15:00Z")
    );
    assert_eq!(
        family("crates.io").newest_modified.as_deref(),
        Some("2026-08-20T12:00:00Z")
    );
    // Every Go `modified` in the repository copy is the 0001-01-01 placeholder, and only 252
    // `published` values are real: the placeholders must not count as dates.
    assert_eq!(family("Go").newest_modified, None);
    assert_eq!(
        family("Go").newest_published.as_deref(),
        Some("2022-12-14T18:06:02Z")
    );
    assert!(status.iter().all(|s| s.last_imported.is_some()));
    assert_eq!(family("PyPI").withdrawn, 10);

    let vulnerable_dir = project(|e| e.vulnerable);
    let fixed_dir = project(|e| e.fixed);
    let mut scans = Vec::new();
    for dir in [&vulnerable_dir, &fixed_dir] {
        let inventory = slipway_sbom::scan_source(dir.path()).unwrap();
        let started = Instant::now();
        let stored = store
            .advisories_for(&inventory_keys(&inventory))
            .await
            .unwrap();
        let index = Index::new(
            stored
                .iter()
                .map(|json| slipway_osv::parse_record("store.json", json.as_bytes()).unwrap()),
        );
        let findings = index.scan(&inventory);
        eprintln!(
            "store lookup of {} records and scan: {:?}",
            stored.len(),
            started.elapsed()
        );
        scans.push(findings);
    }
    check_examples(&scans[0], &scans[1]);
}
