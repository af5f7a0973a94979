//! Reading whole sources: a zip built here the way osv.dev's `all.zip` is laid out, broken
//! files reported with file, line and column while the rest is still read, and single files.

use slipway_osv::{Error, Index, parse_record, read_source};
use std::io::Write;
use std::path::Path;
use zip::write::SimpleFileOptions;

fn data(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

#[test]
fn a_zip_of_records_imports_with_broken_entries_listed() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, path) in [
        ("TEST-NPM-1.json", "advisories/npm/TEST-NPM-1.json"),
        ("PYSEC-TEST-2.yaml", "advisories/pypi/PYSEC-TEST-2.yaml"),
        (
            "RUSTSEC-2099-0001.md",
            "advisories/crates/RUSTSEC-2099-0001.md",
        ),
    ] {
        zip.start_file(name, deflated).unwrap();
        zip.write_all(&std::fs::read(data(path)).unwrap()).unwrap();
    }
    zip.start_file("BROKEN-1.json", deflated).unwrap();
    zip.write_all(b"{\n  \"id\": \"BROKEN-1\",\n  \"modified\": \n}\n")
        .unwrap();
    zip.start_file("notes.txt", deflated).unwrap();
    zip.write_all(b"not a record").unwrap();
    zip.finish().unwrap();

    let batch = read_source(&archive).unwrap();
    assert_eq!(batch.files, 4, "notes.txt is not an advisory file");
    let mut ids: Vec<&str> = batch.records.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["PYSEC-TEST-2", "RUSTSEC-2099-0001", "TEST-NPM-1"]);
    assert_eq!(batch.rejected.len(), 1);
    let rejected = &batch.rejected[0];
    assert!(
        rejected.file.ends_with("all.zip!BROKEN-1.json"),
        "{rejected:?}"
    );
    assert!(
        rejected.reason.contains("BROKEN-1.json:4:1:"),
        "{}",
        rejected.reason
    );
    assert_eq!(Index::new(batch.records).len(), 3);
}

#[test]
fn a_broken_file_in_a_directory_is_rejected_and_the_rest_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("nested/.git")).unwrap();
    std::fs::copy(
        data("advisories/go/GO-TEST-1.json"),
        dir.path().join("nested/GO-TEST-1.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("nested/.git/ignored.json"),
        "hidden directories are not read",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "id: BAD-1\nmodified: 2024-01-01T00:00:00Z\naffected: [\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("RUSTSEC-BAD.md"),
        "```toml\n[advisory]\nid = \"RUSTSEC-BAD\"\npackage = \"p\"\ndate = \"2024-01-01\"\n\n[versions]\npatched = [\">= 1.0\", \"1..0\"]\n```\n",
    )
    .unwrap();
    let batch = read_source(dir.path()).unwrap();
    assert_eq!(batch.files, 3);
    assert_eq!(batch.records.len(), 1);
    let reasons: Vec<&str> = batch.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert!(
        reasons[0].contains("RUSTSEC-BAD.md:8:23:") && reasons[0].contains("`1..0`"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("bad.yaml:3:11: not a valid OSV record (YAML): unclosed bracket"),
        "{reasons:?}"
    );
}

#[test]
fn a_single_file_is_a_source_and_a_missing_path_an_error() {
    let batch = read_source(&data("advisories/distro/DSA-TEST-12.json")).unwrap();
    assert_eq!(batch.records.len(), 1);
    match read_source(&data("no-such-directory")) {
        Err(Error::Io { path, .. }) => assert!(path.ends_with("no-such-directory")),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    let error = read_source(&data("advisories/README.md"));
    assert!(
        error.is_ok_and(|batch| batch.files == 0),
        "a README is not an advisory"
    );
}

#[test]
fn a_record_round_trips_through_json() {
    let text = std::fs::read(data("advisories/crates/RUSTSEC-2099-0001.md")).unwrap();
    let converted = parse_record("RUSTSEC-2099-0001.md", &text).unwrap();
    let json = serde_json::to_vec(&converted).unwrap();
    assert_eq!(parse_record("stored.json", &json).unwrap(), converted);
}
