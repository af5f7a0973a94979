use crate::support::{Crafted, chmod, craft, local_store, rich_tree, snapshot, write};
use slipway_cas::{Error, Missing, PackOptions, PathSpec, Roots, pack, unpack};
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tempfile::TempDir;

fn specs(paths: &[&str]) -> Vec<PathSpec> {
    paths.iter().map(|p| PathSpec::parse(p).unwrap()).collect()
}

#[tokio::test]
async fn round_trip_keeps_files_dirs_symlinks_and_modes_in_both_roots() {
    let (_s, store) = local_store();
    let src = TempDir::new().unwrap();
    let (ws, home) = (src.path().join("ws"), src.path().join("home"));
    rich_tree(&ws);
    write(&home.join(".cargo/registry/index/config.json"), b"{}");
    write(&home.join(".cargo/bin/tool"), b"\x7fELF");
    chmod(&home.join(".cargo/bin/tool"), 0o755);
    write(&home.join(".cargo/credentials.toml"), b"not cached");
    let roots = Roots::workspace(&ws).with_home(&home);

    let packed = pack(
        &store,
        &roots,
        &specs(&[".", "~/.cargo/registry", "~/.cargo/bin"]),
        &PackOptions::default(),
    )
    .await
    .unwrap();
    assert!(packed.missing.is_empty() && packed.skipped.is_empty());
    assert_eq!(packed.files, 10);
    assert_eq!(packed.symlinks, 5);
    assert!(packed.bytes_out < packed.bytes_in);

    let dst = TempDir::new().unwrap();
    let (ws2, home2) = (dst.path().join("ws"), dst.path().join("home"));
    let restored = unpack(
        &store,
        &packed.digest,
        &Roots::workspace(&ws2).with_home(&home2),
    )
    .await
    .unwrap();
    assert_eq!(
        (restored.files, restored.symlinks, restored.dirs),
        (packed.files, packed.symlinks, packed.dirs)
    );
    assert_eq!(restored.bytes_out, packed.bytes_in);
    assert_eq!(restored.bytes_in, packed.bytes_out);
    assert_eq!(snapshot(&ws2), snapshot(&ws));
    let home_snapshot = snapshot(&home2);
    assert!(home_snapshot.contains_key(Path::new(".cargo/registry/index/config.json")));
    assert!(!home_snapshot.contains_key(Path::new(".cargo/credentials.toml")));
    assert_eq!(
        home_snapshot[Path::new(".cargo/bin/tool")],
        crate::support::Node::File {
            content: b"\x7fELF".to_vec(),
            mode: 0o755
        }
    );
}

#[tokio::test]
async fn read_only_directories_round_trip() {
    let (_s, store) = local_store();
    let src = TempDir::new().unwrap();
    write(&src.path().join("mod/pkg@v1/go.mod"), b"module pkg\n");
    chmod(&src.path().join("mod/pkg@v1/go.mod"), 0o444);
    chmod(&src.path().join("mod/pkg@v1"), 0o555);
    let packed = pack(
        &store,
        &Roots::workspace(src.path()),
        &specs(&["mod"]),
        &PackOptions::default(),
    )
    .await
    .unwrap();
    let dst = TempDir::new().unwrap();
    unpack(&store, &packed.digest, &Roots::workspace(dst.path()))
        .await
        .unwrap();
    assert_eq!(snapshot(dst.path()), snapshot(src.path()));
    // Let the temp dirs be removed.
    chmod(&src.path().join("mod/pkg@v1"), 0o755);
    chmod(&dst.path().join("mod/pkg@v1"), 0o755);
}

#[tokio::test]
async fn same_tree_same_digest_whatever_the_mtimes_and_threads() {
    let (_s, store) = local_store();
    let src = TempDir::new().unwrap();
    rich_tree(src.path());
    let roots = Roots::workspace(src.path());
    let all = specs(&["."]);
    let first = pack(&store, &roots, &all, &PackOptions::default())
        .await
        .unwrap();

    let later = SystemTime::now() + Duration::from_secs(3600);
    for (path, node) in snapshot(src.path()) {
        if !matches!(node, crate::support::Node::Symlink(_)) {
            fs::File::open(src.path().join(path))
                .unwrap()
                .set_modified(later)
                .unwrap();
        }
    }
    for threads in [1, 2, 3] {
        let again = pack(
            &store,
            &roots,
            &all,
            &PackOptions {
                threads,
                ..PackOptions::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(again.digest, first.digest, "threads = {threads}");
    }
    // Overlapping specs collapse into the same entries.
    let options = PackOptions::default();
    let overlapping = pack(
        &store,
        &roots,
        &specs(&["src", "src/deeply", "./src/main.rs"]),
        &options,
    )
    .await
    .unwrap();
    let only_src = pack(&store, &roots, &specs(&["src"]), &options)
        .await
        .unwrap();
    assert_eq!(overlapping.digest, only_src.digest);
    assert_eq!(store.list().await.unwrap().len(), 2);
    assert_eq!(
        fs::read_dir(store.staging_dir()).unwrap().count(),
        0,
        "no staging leftovers"
    );
}

#[tokio::test]
async fn missing_paths_are_skipped_or_fail_by_option() {
    let (_s, store) = local_store();
    let src = TempDir::new().unwrap();
    write(&src.path().join("present/a.txt"), b"a");
    let roots = Roots::workspace(src.path());
    let wanted = specs(&["present", "absent/dir"]);
    let packed = pack(&store, &roots, &wanted, &PackOptions::default())
        .await
        .unwrap();
    assert_eq!(packed.missing, specs(&["absent/dir"]));
    assert_eq!(packed.files, 1);

    let strict = PackOptions {
        missing: Missing::Error,
        ..PackOptions::default()
    };
    let err = pack(&store, &roots, &wanted, &strict).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "declared output `absent/dir` does not exist"
    );

    let err = pack(&store, &roots, &specs(&["~/.npm"]), &PackOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoHomeRoot(_)), "{err}");
}

#[tokio::test]
async fn deny_hook_aborts_naming_the_file_and_sees_secrets_across_window_edges() {
    let (_s, store) = local_store();
    let src = TempDir::new().unwrap();
    const SECRET: &[u8] = b"hunter2-s3cr3t-value";
    let secret = SECRET;
    write(&src.path().join("clean.txt"), b"nothing to see");
    // The secret straddles the 1 MiB boundary between two windows.
    let mut big = vec![b'.'; 2 << 20];
    big[(1 << 20) - 7..(1 << 20) - 7 + secret.len()].copy_from_slice(secret);
    write(&src.path().join("logs/big.log"), &big);
    let deny: slipway_cas::Deny =
        Arc::new(|window: &[u8]| window.windows(SECRET.len()).any(|w| w == SECRET));
    let options = PackOptions {
        deny: Some(deny),
        ..PackOptions::default()
    };

    let err = pack(
        &store,
        &Roots::workspace(src.path()),
        &specs(&["."]),
        &options,
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, Error::Denied(ref p) if p.ends_with("logs/big.log")),
        "{message}"
    );
    assert!(
        message.contains("logs/big.log") && !message.contains("hunter2"),
        "{message}"
    );
    assert!(store.list().await.unwrap().is_empty());
    assert_eq!(
        fs::read_dir(store.staging_dir()).unwrap().count(),
        0,
        "the staged archive is removed"
    );

    // Without the secret, the same hook lets the tree through.
    fs::remove_file(src.path().join("logs/big.log")).unwrap();
    pack(
        &store,
        &Roots::workspace(src.path()),
        &specs(&["."]),
        &options,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn malicious_archives_are_refused() {
    let (_s, store) = local_store();
    let reasons = [
        "`..`",
        "`..`",
        "absolute",
        "outside `workspace/`",
        "no home directory",
        "symlink",
        "symlink",
        "hard links",
    ];
    for (case, reason) in reasons.into_iter().enumerate() {
        let root = TempDir::new().unwrap();
        let outside = root.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let ws = root.path().join("a/b/ws");
        let out = outside.as_os_str().as_encoded_bytes();
        let crafted = match case {
            0 => vec![Crafted::File(b"../evil", b"x")],
            1 => vec![Crafted::File(b"workspace/../../evil", b"x")],
            2 => vec![Crafted::File(b"/tmp/evil", b"x")],
            3 => vec![Crafted::File(b"elsewhere/evil", b"x")],
            4 => vec![Crafted::File(b"home/.bashrc", b"x")],
            5 => vec![
                Crafted::Symlink(b"workspace/link", out),
                Crafted::File(b"workspace/link/evil", b"x"),
            ],
            6 => vec![
                Crafted::Symlink(b"workspace/link", out),
                Crafted::Dir(b"workspace/link"),
            ],
            _ => vec![Crafted::HardLink(b"workspace/passwd", b"/etc/passwd")],
        };
        let digest = store.put_bytes(craft(&crafted)).await.unwrap();
        let err = unpack(&store, &digest, &Roots::workspace(&ws))
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::UnsafeEntry { .. }), "{message}");
        assert!(
            message.contains(reason) && message.contains(&digest.to_string()),
            "{reason}: {message}"
        );
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "{message}");
        assert!(
            !root.path().join("a/evil").exists() && !root.path().join("a/b/evil").exists(),
            "{message}"
        );
    }
}

#[tokio::test]
async fn restore_never_writes_through_symlinks_already_in_the_destination() {
    let (_s, store) = local_store();
    let src = TempDir::new().unwrap();
    write(&src.path().join("target/out.txt"), b"built");
    write(&src.path().join("config"), b"new config");
    let packed = pack(
        &store,
        &Roots::workspace(src.path()),
        &specs(&["."]),
        &PackOptions::default(),
    )
    .await
    .unwrap();

    let dst = TempDir::new().unwrap();
    let outside = TempDir::new().unwrap();
    let ws = dst.path().join("ws");
    fs::create_dir(&ws).unwrap();
    std::os::unix::fs::symlink(outside.path(), ws.join("target")).unwrap();
    let err = unpack(&store, &packed.digest, &Roots::workspace(&ws))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);

    // A symlink where a file goes is replaced, not followed. (`config` sorts before `target`, so
    // the failed restore above may have written it already.)
    fs::remove_file(ws.join("target")).unwrap();
    let _ = fs::remove_file(ws.join("config"));
    write(&outside.path().join("victim"), b"untouched");
    std::os::unix::fs::symlink(outside.path().join("victim"), ws.join("config")).unwrap();
    unpack(&store, &packed.digest, &Roots::workspace(&ws))
        .await
        .unwrap();
    assert_eq!(fs::read(ws.join("config")).unwrap(), b"new config");
    assert!(
        !fs::symlink_metadata(ws.join("config"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read(outside.path().join("victim")).unwrap(),
        b"untouched"
    );
}

#[tokio::test]
async fn restore_over_an_existing_tree_replaces_files_and_keeps_others() {
    let (_s, store) = local_store();
    let src = TempDir::new().unwrap();
    write(&src.path().join("node_modules/a/index.js"), b"v2");
    let packed = pack(
        &store,
        &Roots::workspace(src.path()),
        &specs(&["node_modules"]),
        &PackOptions::default(),
    )
    .await
    .unwrap();
    let ws = TempDir::new().unwrap();
    write(
        &ws.path().join("node_modules/a/index.js"),
        b"v1 with more bytes",
    );
    write(&ws.path().join("node_modules/b/index.js"), b"other");
    unpack(&store, &packed.digest, &Roots::workspace(ws.path()))
        .await
        .unwrap();
    assert_eq!(
        fs::read(ws.path().join("node_modules/a/index.js")).unwrap(),
        b"v2"
    );
    assert_eq!(
        fs::read(ws.path().join("node_modules/b/index.js")).unwrap(),
        b"other"
    );
}

#[tokio::test]
async fn corrupted_and_foreign_blobs_are_errors_naming_the_digest() {
    let (dir, store) = local_store();
    let src = TempDir::new().unwrap();
    rich_tree(src.path());
    let packed = pack(
        &store,
        &Roots::workspace(src.path()),
        &specs(&["."]),
        &PackOptions::default(),
    )
    .await
    .unwrap();
    let blob = dir
        .path()
        .join("store/blobs/sha256")
        .join(packed.digest.hex());
    let mut bytes = fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    fs::write(&blob, &bytes).unwrap();

    let dst = TempDir::new().unwrap();
    let err = unpack(&store, &packed.digest, &Roots::workspace(dst.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Corrupt { digest, .. } if digest == packed.digest),
        "{err}"
    );
    assert!(err.to_string().contains(&packed.digest.to_string()));

    let text = store
        .put_bytes(&b"just some text, not an archive"[..])
        .await
        .unwrap();
    let err = unpack(&store, &text, &Roots::workspace(dst.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BadArchive { digest, .. } if digest == text),
        "{err}"
    );

    let absent = slipway_cas::Digest::of(b"absent");
    let err = unpack(&store, &absent, &Roots::workspace(dst.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BlobNotFound(d) if d == absent),
        "{err}"
    );
}

#[test]
fn path_specs_parse_and_refuse_escapes() {
    let parse = |s: &str| PathSpec::parse(s).map(|p| p.to_string());
    assert_eq!(parse("target/release/").unwrap(), "target/release");
    assert_eq!(parse("./a//b/./c").unwrap(), "a/b/c");
    assert_eq!(parse(".").unwrap(), ".");
    assert_eq!(parse("~/.cargo/registry").unwrap(), "~/.cargo/registry");
    assert_eq!(parse("~").unwrap(), "~");
    assert_eq!(
        PathSpec::parse("~/x").unwrap().root(),
        slipway_cas::Root::Home
    );
    for bad in ["", "/etc", "../up", "a/../../b", "~root/x", "~/../x"] {
        assert!(
            matches!(PathSpec::parse(bad), Err(Error::InvalidPath { .. })),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_directory_where_a_file_goes_is_an_error_naming_the_entry() {
    let (_s, store) = local_store();
    let src = TempDir::new().unwrap();
    write(&src.path().join("out/report"), b"a file");
    let packed = pack(
        &store,
        &Roots::workspace(src.path()),
        &specs(&["out"]),
        &PackOptions::default(),
    )
    .await
    .unwrap();
    let ws = TempDir::new().unwrap();
    write(&ws.path().join("out/report/kept.txt"), b"mine");
    let err = unpack(&store, &packed.digest, &Roots::workspace(ws.path()))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, Error::UnsafeEntry { ref entry, .. } if entry == "workspace/out/report"),
        "{message}"
    );
    assert!(message.contains("is a directory in the way"), "{message}");
    assert_eq!(
        fs::read(ws.path().join("out/report/kept.txt")).unwrap(),
        b"mine"
    );
}

#[tokio::test]
async fn damaged_archives_fail_cleanly() {
    let (dir, store) = local_store();
    let src = TempDir::new().unwrap();
    rich_tree(src.path());
    let packed = pack(
        &store,
        &Roots::workspace(src.path()),
        &specs(&["."]),
        &PackOptions::default(),
    )
    .await
    .unwrap();
    let compressed = fs::read(
        dir.path()
            .join("store/blobs/sha256")
            .join(packed.digest.hex()),
    )
    .unwrap();
    let tar = zstd::decode_all(&compressed[..]).unwrap();
    // Truncated archives (stored under their own digest, so only the format is wrong).
    for cut in [1, 100, compressed.len() / 3, compressed.len() - 1] {
        let digest = store.put_bytes(compressed[..cut].to_vec()).await.unwrap();
        let out = TempDir::new().unwrap();
        let err = unpack(&store, &digest, &Roots::workspace(out.path()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::BadArchive { .. }),
            "cut at {cut}: {err}"
        );
    }
    // Damaged tar headers inside valid zstd: whatever happens, no panic and nothing outside.
    // Mostly the first blocks, where the headers of the small entries are.
    for (i, offset) in (0..tar.len()).step_by(509).take(16).enumerate() {
        let mut damaged = tar.clone();
        damaged[offset] ^= 0xa5 ^ (i as u8);
        let digest = store
            .put_bytes(zstd::encode_all(&damaged[..], 1).unwrap())
            .await
            .unwrap();
        let out = TempDir::new().unwrap();
        let ws = out.path().join("ws");
        let _ = unpack(&store, &digest, &Roots::workspace(&ws)).await;
        let outside: Vec<_> = fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(outside, vec![std::ffi::OsString::from("ws")]);
    }
}
