//! Reports a job leaves: JUnit test results (`reports.junit`), stored in the object store by
//! digest and summarised, so the run's evidence can name the exact files and their counts;
//! and SARIF files (`reports.sarif`), stored by digest for the SARIF gate to judge.

use slipway_cas::BlobStore;
use std::path::Path;

/// One JUnit report, stored.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct ReportSummary {
    /// The path in the job's workspace.
    pub path: String,
    /// sha256 (hex) of the file as stored.
    pub sha256: String,
    pub tests: u64,
    pub failures: u64,
    pub errors: u64,
    pub skipped: u64,
}

/// One SARIF report, stored as the job left it.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct StoredReport {
    /// The path in the job's workspace.
    pub path: String,
    /// sha256 (hex) of the file as stored.
    pub sha256: String,
}

/// Counts of a JUnit XML document, by test case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub tests: u64,
    pub failures: u64,
    pub errors: u64,
    pub skipped: u64,
}

/// Reads JUnit XML (a `<testsuites>` or a single `<testsuite>` root) and counts its cases.
pub fn count_junit(xml: &[u8]) -> Result<Counts, String> {
    let suites = junit_parser::from_reader(std::io::Cursor::new(xml))
        .map_err(|e| format!("not JUnit XML: {e}"))?;
    let mut counts = Counts::default();
    for suite in &suites.suites {
        for case in &suite.cases {
            counts.tests += 1;
            if case.status.is_failure() {
                counts.failures += 1;
            } else if case.status.is_error() {
                counts.errors += 1;
            } else if case.status.is_skipped() {
                counts.skipped += 1;
            }
        }
    }
    Ok(counts)
}

/// Reads a report the job promised, refusing paths that leave the workspace.
async fn read_report(workspace: &Path, path: &str) -> Result<Vec<u8>, String> {
    if path.split('/').any(|part| part == "..") || Path::new(path).is_absolute() {
        return Err(format!(
            "report `{path}` must be a path inside the workspace"
        ));
    }
    tokio::fs::read(workspace.join(path))
        .await
        .map_err(|e| format!("report `{path}` was not written by the job: {e}"))
}

/// Stores the job's SARIF reports. A missing file, or one that is not JSON, is an error naming
/// it; the SARIF gate reads the stored bytes in detail.
pub async fn collect_sarif(
    blobs: &BlobStore,
    workspace: &Path,
    paths: &[String],
) -> Result<Vec<StoredReport>, String> {
    let mut stored = Vec::new();
    for path in paths {
        let bytes = read_report(workspace, path).await?;
        serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
            .map_err(|e| format!("report `{path}` is not SARIF (not JSON: {e})"))?;
        let digest = blobs
            .put_bytes(bytes)
            .await
            .map_err(|e| format!("report `{path}`: {e}"))?;
        stored.push(StoredReport {
            path: path.clone(),
            sha256: digest.hex(),
        });
    }
    Ok(stored)
}

/// Stores and summarises the job's JUnit reports. A missing or malformed report is an error
/// naming the file: a job that promises a report and leaves none did not do its work.
pub async fn collect(
    blobs: &BlobStore,
    workspace: &Path,
    paths: &[String],
) -> Result<Vec<ReportSummary>, String> {
    let mut summaries = Vec::new();
    for path in paths {
        let bytes = read_report(workspace, path).await?;
        let counts = count_junit(&bytes).map_err(|e| format!("report `{path}`: {e}"))?;
        let digest = blobs
            .put_bytes(bytes)
            .await
            .map_err(|e| format!("report `{path}`: {e}"))?;
        summaries.push(ReportSummary {
            path: path.clone(),
            sha256: digest.hex(),
            tests: counts.tests,
            failures: counts.failures,
            errors: counts.errors,
            skipped: counts.skipped,
        });
    }
    Ok(summaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cases_of_suites_and_single_suites() {
        let xml = br#"<testsuites>
  <testsuite name="a" tests="3">
    <testcase name="ok"/>
    <testcase name="bad"><failure message="boom"/></testcase>
    <testcase name="later"><skipped/></testcase>
  </testsuite>
  <testsuite name="b"><testcase name="crash"><error message="panic"/></testcase></testsuite>
</testsuites>"#;
        assert_eq!(
            count_junit(xml).unwrap(),
            Counts {
                tests: 4,
                failures: 1,
                errors: 1,
                skipped: 1
            }
        );
        let single = br#"<testsuite tests="1"><testcase name="ok"/></testsuite>"#;
        assert_eq!(count_junit(single).unwrap().tests, 1);
        assert!(count_junit(b"<testsuite><testcase").is_err());
        assert!(count_junit(b"\xff\xfe not xml").is_err());
    }
}
