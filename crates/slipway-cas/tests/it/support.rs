//! Trees to pack, snapshots to compare them, and hand-made archives.

use slipway_cas::BlobStore;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

pub fn local_store() -> (TempDir, BlobStore) {
    let dir = TempDir::new().unwrap();
    let store = BlobStore::local(&dir.path().join("store")).unwrap();
    (dir, store)
}

pub fn write(path: &Path, content: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A tree with everything an archive must carry: nested dirs, an empty dir, an executable, a
/// 0-byte file, unicode and long names, relative, absolute and dangling symlinks.
pub fn rich_tree(root: &Path) {
    write(&root.join("src/main.rs"), b"fn main() {}\n");
    write(
        &root.join("src/deeply/nested/dir/lib.rs"),
        b"pub fn f() {}\n",
    );
    write(&root.join("bin/run.sh"), b"#!/bin/sh\necho hi\n");
    chmod(&root.join("bin/run.sh"), 0o755);
    write(&root.join("private.key"), b"not really a key");
    chmod(&root.join("private.key"), 0o600);
    write(&root.join("empty.txt"), b"");
    fs::create_dir_all(root.join("empty/dir")).unwrap();
    write(
        &root.join("ünïcödé/日本語 ファイル.txt"),
        "héllo wörld".as_bytes(),
    );
    let long = "a-rather-long-directory-name-that-goes-on/".repeat(4) + &"f".repeat(120);
    write(&root.join(&long), b"long name");
    write(
        &root.join("big.bin"),
        &(0..300_000u32)
            .flat_map(|i| i.to_le_bytes())
            .collect::<Vec<_>>(),
    );
    symlink("src/main.rs", root.join("link-to-main")).unwrap();
    symlink("/etc/hostname", root.join("absolute-link")).unwrap();
    symlink("does/not/exist", root.join("dangling")).unwrap();
    symlink("x/".repeat(80), root.join("long-target")).unwrap();
    symlink("src", root.join("dir-link")).unwrap();
}

#[derive(Debug, PartialEq, Eq)]
pub enum Node {
    File { content: Vec<u8>, mode: u32 },
    Dir { mode: u32 },
    Symlink(PathBuf),
}

/// Everything under `root` (not following symlinks), keyed by relative path.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let mode = meta.permissions().mode() & 0o777;
            let node = if meta.file_type().is_symlink() {
                Node::Symlink(fs::read_link(&path).unwrap())
            } else if meta.is_dir() {
                stack.push(path.clone());
                Node::Dir { mode }
            } else {
                Node::File {
                    content: fs::read(&path).unwrap(),
                    mode,
                }
            };
            out.insert(rel, node);
        }
    }
    out
}

pub enum Crafted<'a> {
    File(&'a [u8], &'a [u8]),
    Dir(&'a [u8]),
    Symlink(&'a [u8], &'a [u8]),
    HardLink(&'a [u8], &'a [u8]),
}

/// A zstd-compressed tar built byte by byte, so names can be anything (the tar crate's builder
/// refuses `..`).
pub fn craft(entries: &[Crafted<'_>]) -> Vec<u8> {
    let mut tar = Vec::new();
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (name, kind, data, link): (&[u8], _, &[u8], &[u8]) = match entry {
            Crafted::File(name, data) => (name, tar::EntryType::Regular, data, b""),
            Crafted::Dir(name) => (name, tar::EntryType::Directory, b"", b""),
            Crafted::Symlink(name, target) => (name, tar::EntryType::Symlink, b"", target),
            Crafted::HardLink(name, target) => (name, tar::EntryType::Link, b"", target),
        };
        let gnu = header.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name);
        gnu.linkname[..link.len()].copy_from_slice(link);
        header.set_entry_type(kind);
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        header.set_cksum();
        tar.extend_from_slice(header.as_bytes());
        tar.extend_from_slice(data);
        tar.resize(tar.len().next_multiple_of(512), 0);
    }
    tar.resize(tar.len() + 1024, 0);
    zstd::encode_all(&tar[..], 3).unwrap()
}
