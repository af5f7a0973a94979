//! Any bytes, read as an advisory file by slipway-osv: the first byte picks the file name
//! (and so the format: JSON, YAML, RustSec Markdown, or sniffed), the rest is the file.
//! Reading must return a record or an error, never panic; a record that reads is then
//! indexed and matched against a few versions of every package it names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_osv::{Index, matches, parse_record};

const NAMES: [&str; 4] = [
    "record.json",
    "record.yaml",
    "RUSTSEC-0000-0000.md",
    "record",
];
const VERSIONS: [&str; 6] = [
    "0",
    "1.0.0",
    "v0.0.0-20220906165146-f3363e06e74c",
    "2.36-9+deb12u7",
    "1.0rc1",
    "3.3.1-r3",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(selector) % NAMES.len()];
    let Ok(record) = parse_record(name, file) else {
        return;
    };
    for affected in &record.affected {
        if let Some(package) = &affected.package {
            for version in VERSIONS
                .iter()
                .copied()
                .chain(affected.versions.iter().map(String::as_str))
            {
                let _ = matches(&record, &package.ecosystem, &package.name, version);
            }
        }
    }
    let _ = Index::new([record]);
});
