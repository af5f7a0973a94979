#![allow(dead_code)]

use serde_json::Value;
use slipway_policy::Input;
use std::path::{Path, PathBuf};

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture of the built-in pack's tests as JSON.
pub fn fixture(name: &str) -> Value {
    let path = crate_dir().join(format!("policies/tests/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The good fixture with each `(JSON pointer, value)` replaced.
pub fn patched(changes: &[(&str, Value)]) -> Input {
    let mut document = fixture("good");
    for (pointer, value) in changes {
        *document
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer} is not in the fixture")) = value.clone();
    }
    serde_json::from_value(document).unwrap()
}

pub fn input(document: Value) -> Input {
    serde_json::from_value(document).unwrap()
}

/// A repository directory with the given files.
pub fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

pub fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}
