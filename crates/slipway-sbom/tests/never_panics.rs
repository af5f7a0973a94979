//! Property tests: no parser panics, whatever the bytes. Arbitrary bytes exercise the
//! syntax layers; mutations of the real fixtures get past them into the format logic.

mod common;

use proptest::prelude::*;
use slipway_sbom::lockfile::{LockfileKind, parse, parse_go_module};
use slipway_sbom::system::{parse_apk_installed, parse_auditable_binary, parse_dpkg_status};

/// One real file per parser, to mutate.
fn seeds() -> Vec<(LockfileKind, Vec<u8>)> {
    let read = |path: &str| std::fs::read(common::fixture(path)).unwrap();
    vec![
        (LockfileKind::CargoLock, read("rust/Cargo.lock")),
        (LockfileKind::PackageLock, read("npm/package-lock.json")),
        (LockfileKind::YarnLock, read("monorepo/legacy-ui/yarn.lock")),
        (LockfileKind::PnpmLock, read("monorepo/web/pnpm-lock.yaml")),
        (
            LockfileKind::PnpmLock,
            read("monorepo/admin/pnpm-lock.yaml"),
        ),
        (LockfileKind::PoetryLock, read("python/poetry.lock")),
        (LockfileKind::UvLock, read("python/uv.lock")),
        (LockfileKind::PipfileLock, read("python/Pipfile.lock")),
        (LockfileKind::Requirements, read("python/requirements.txt")),
        (LockfileKind::GoMod, read("go/go.mod")),
        (
            LockfileKind::GemfileLock,
            read("monorepo/ruby/Gemfile.lock"),
        ),
        (LockfileKind::PomXml, read("monorepo/java/pom.xml")),
        (
            LockfileKind::ComposerLock,
            read("monorepo/php/composer.lock"),
        ),
    ]
}

/// Applies `edits` (position, byte, kind) to `bytes`: overwrite, insert or delete.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(position, byte, kind) in edits {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let at = position % bytes.len();
        match kind % 3 {
            0 => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ => {
                bytes.remove(at);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for kind in LockfileKind::ALL {
            let _ = parse(kind, "lockfile", &bytes);
        }
        let _ = parse_go_module("go.mod", &bytes, Some(("go.sum", &bytes)));
        let _ = parse_dpkg_status("status", &bytes);
        let _ = parse_apk_installed("installed", &bytes);
        let _ = parse_auditable_binary("binary", &bytes);
        let _ = slipway_sbom::read_cyclonedx(&bytes);
    }

    #[test]
    fn arbitrary_text(text in "\\PC{0,512}") {
        for kind in LockfileKind::ALL {
            let _ = parse(kind, "lockfile", text.as_bytes());
        }
        let _ = parse_dpkg_status("status", text.as_bytes());
        let _ = parse_apk_installed("installed", text.as_bytes());
    }

    #[test]
    fn mutated_real_lockfiles(
        seed in 0usize..13,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8),
    ) {
        let seeds = seeds();
        let (kind, bytes) = &seeds[seed % seeds.len()];
        let mutated = mutate(bytes.clone(), &edits);
        let _ = parse(*kind, "lockfile", &mutated);
    }
}

/// A structured lockfile cut in half is a syntax error that names the file and a line
/// inside it. (Line formats such as requirements.txt and Gemfile.lock read a cut file as a
/// shorter one, which is not an error.)
#[test]
fn truncated_lockfiles_are_located_syntax_errors() {
    let line_formats = [
        LockfileKind::Requirements,
        LockfileKind::GemfileLock,
        LockfileKind::YarnLock,
    ];
    for (kind, bytes) in seeds() {
        if line_formats.contains(&kind) {
            continue;
        }
        let cut = [&bytes[..bytes.len() / 2], b"\"".as_slice()].concat();
        let lines = cut.split(|&b| b == b'\n').count();
        match parse(kind, "f", &cut) {
            Err(slipway_sbom::Error::Syntax { path, line, .. }) => {
                assert_eq!(path, "f");
                assert!(
                    line >= 1 && line <= lines,
                    "{kind:?}: line {line} of {lines}"
                );
            }
            other => panic!("{kind:?}: {other:?}"),
        }
    }
}
