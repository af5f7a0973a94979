//! The fixtures end to end: what each inventory holds, the exact documents (insta snapshots),
//! determinism and sealing, directory rules, errors, and `cargo auditable` binaries.

mod common;

use common::{fixture, info, require, run};
use slipway_sbom::{
    Ecosystem, Error, Format, HashAlgorithm, Inventory, Scope, read_cyclonedx, render,
    scan_filesystem, scan_source,
};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn component<'a>(inventory: &'a Inventory, purl: &str) -> &'a slipway_sbom::Component {
    inventory
        .components
        .iter()
        .find(|c| c.purl == purl)
        .unwrap_or_else(|| panic!("{purl} not found"))
}

fn count(inventory: &Inventory, ecosystem: Ecosystem) -> usize {
    inventory
        .components
        .iter()
        .filter(|c| c.ecosystem == ecosystem)
        .count()
}

#[test]
fn rust_fixture_has_registry_git_and_path_crates() {
    let inventory = scan_source(&fixture("rust")).unwrap();
    assert_eq!(inventory.components.len(), 34);
    assert_eq!(inventory.sources, ["Cargo.lock"]);
    let serde = component(&inventory, "pkg:cargo/serde@1.0.210");
    assert_eq!(serde.hashes[0].algorithm, HashAlgorithm::Sha256);
    let git = inventory
        .components
        .iter()
        .find(|c| c.name == "forked-util")
        .unwrap();
    assert!(
        git.purl
            .contains("?vcs_url=git%2Bhttps:%2F%2Fgithub.com%2Facme%2Fforked-util%408ea9eea"),
        "{}",
        git.purl
    );
    let path = component(&inventory, "pkg:cargo/fixture-util@0.1.0");
    assert_eq!(path.properties[0].value, "path");
    assert_eq!(
        path.dependencies.as_deref(),
        Some(&["pkg:cargo/memchr@2.8.3".to_string()][..])
    );
}

#[test]
fn npm_fixture_has_scopes_nesting_dev_and_sha512() {
    let inventory = scan_source(&fixture("npm")).unwrap();
    assert_eq!(inventory.components.len(), 85);
    let types = component(&inventory, "pkg:npm/%40types/express@4.17.21");
    assert_eq!(types.scope, Scope::Development);
    assert_eq!(types.namespace.as_deref(), Some("@types"));
    assert_eq!(types.hashes[0].algorithm, HashAlgorithm::Sha512);
    // express 4.21.1 pins debug 2.6.9 under its own node_modules; the root has debug 4.
    let express = component(&inventory, "pkg:npm/express@4.21.1");
    let deps = express.dependencies.as_ref().unwrap();
    assert!(deps.contains(&"pkg:npm/debug@2.6.9".to_string()));
    assert!(!deps.contains(&"pkg:npm/debug@4.3.7".to_string()));
}

#[test]
fn python_fixture_reads_four_formats() {
    let inventory = scan_source(&fixture("python")).unwrap();
    assert_eq!(
        inventory.sources,
        [
            "Pipfile.lock",
            "poetry.lock",
            "requirements-dev.txt",
            "requirements.txt",
            "uv.lock"
        ]
    );
    assert_eq!(count(&inventory, Ecosystem::Pypi), 34);
    let django = component(&inventory, "pkg:pypi/django@5.1.2");
    assert_eq!(django.hashes.len(), 2);
    assert_eq!(
        django.dependencies, None,
        "requirements.txt records no edges"
    );
    let ruamel = component(&inventory, "pkg:pypi/ruamel-yaml@0.18.6");
    assert!(ruamel.dependencies.is_some(), "poetry.lock records edges");
    assert_eq!(
        component(&inventory, "pkg:pypi/pytest@8.3.3").scope,
        Scope::Development
    );
    // requirements-dev.txt: an unpinned line, an editable install and an include.
    let skipped: Vec<(&str, Option<usize>)> = inventory
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.line))
        .collect();
    assert_eq!(
        skipped,
        [
            ("requirements-dev.txt", Some(2)),
            ("requirements-dev.txt", Some(4)),
            ("requirements-dev.txt", Some(5)),
        ]
    );
    assert!(
        inventory
            .components
            .iter()
            .any(|c| c.purl == "pkg:pypi/ruff@0.6.9")
    );
}

#[test]
fn go_fixture_records_h1_as_a_property_not_a_hash() {
    let inventory = scan_source(&fixture("go")).unwrap();
    assert_eq!(inventory.components.len(), 29);
    for component in &inventory.components {
        assert!(component.hashes.is_empty(), "{}", component.purl);
        let h1 = component
            .properties
            .iter()
            .find(|p| p.name == "slipway:golang:h1");
        assert!(
            h1.is_some_and(|p| p.value.starts_with("h1:")),
            "{}",
            component.purl
        );
    }
}

#[test]
fn monorepo_fixture_reads_every_ecosystem() {
    let inventory = scan_source(&fixture("monorepo")).unwrap();
    assert_eq!(
        inventory.sources,
        [
            "admin/pnpm-lock.yaml",
            "java/pom.xml",
            "legacy-ui/yarn.lock",
            "php/composer.lock",
            "ruby/Gemfile.lock",
            "services/api/Cargo.lock",
            "web/pnpm-lock.yaml",
        ]
    );
    assert_eq!(count(&inventory, Ecosystem::Gem), 52);
    assert_eq!(count(&inventory, Ecosystem::Maven), 4);
    assert_eq!(count(&inventory, Ecosystem::Composer), 3);
    assert_eq!(count(&inventory, Ecosystem::Cargo), 3);
    // pnpm 9 (web) and 6 (admin): peers resolved, dev-ness from reachability or flags.
    let query = component(&inventory, "pkg:npm/%40tanstack/react-query@5.59.0");
    assert!(
        query
            .dependencies
            .as_ref()
            .unwrap()
            .contains(&"pkg:npm/react@18.3.1".to_string())
    );
    assert_eq!(
        component(&inventory, "pkg:npm/typescript@5.6.3").scope,
        Scope::Development
    );
    assert_eq!(
        component(&inventory, "pkg:npm/%40types/node@20.16.11").scope,
        Scope::Development
    );
    assert_eq!(
        component(&inventory, "pkg:npm/preact@10.24.2").scope,
        Scope::Required
    );
    assert_eq!(
        component(
            &inventory,
            "pkg:maven/org.junit.jupiter/junit-jupiter@5.10.3"
        )
        .scope,
        Scope::Development
    );
    let rails = component(&inventory, "pkg:gem/rails@5.2.0");
    assert_eq!(
        rails.dependencies.as_ref().unwrap().len(),
        11,
        "bundler is not a locked gem"
    );
    assert!(
        inventory
            .skipped
            .iter()
            .any(|s| s.path == "java/pom.xml" && s.reason.contains("netty-handler"))
    );
}

#[test]
fn rootfs_fixture_reads_package_databases_and_every_file() {
    let inventory = scan_filesystem(&fixture("rootfs")).unwrap();
    assert_eq!(count(&inventory, Ecosystem::Deb), 8);
    assert_eq!(count(&inventory, Ecosystem::Apk), 5);
    assert_eq!(count(&inventory, Ecosystem::Cargo), 3);
    let libc = inventory
        .components
        .iter()
        .find(|c| c.name == "libc6")
        .unwrap();
    assert!(
        libc.purl.starts_with("pkg:deb/debian/libc6@")
            && libc.purl.ends_with("?arch=amd64&distro=debian-12"),
        "{}",
        libc.purl
    );
    let paths: Vec<&str> = inventory.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "app/Cargo.lock",
            "etc/os-release",
            "lib/apk/db/installed",
            "usr/share/doc/zlib1g/README",
            "var/lib/dpkg/status",
            "var/lib/dpkg/status.d/ca-certificates",
            "var/lib/dpkg/status.d/ca-certificates.md5sums",
        ]
    );
    let readme = &inventory.files[3];
    let expected = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(
            std::fs::read(fixture("rootfs").join(&readme.path)).unwrap(),
        ))
    };
    assert_eq!(readme.sha256, expected);
}

#[test]
fn cyclonedx_and_spdx_documents_are_stable() {
    let inventory = scan_source(&fixture("go")).unwrap();
    let cyclonedx = String::from_utf8(render(&inventory, &info("gin"), Format::CycloneDx)).unwrap();
    insta::assert_snapshot!("go.cdx.json", cyclonedx);
    let spdx = String::from_utf8(render(&inventory, &info("gin"), Format::Spdx)).unwrap();
    insta::assert_snapshot!("go.spdx.json", spdx);
    let rootfs = scan_filesystem(&fixture("rootfs")).unwrap();
    let cyclonedx = String::from_utf8(render(&rootfs, &info("rootfs"), Format::CycloneDx)).unwrap();
    insta::assert_snapshot!("rootfs.cdx.json", cyclonedx);
    let spdx = String::from_utf8(render(&rootfs, &info("rootfs"), Format::Spdx)).unwrap();
    insta::assert_snapshot!("rootfs.spdx.json", spdx);
}

#[test]
fn rendering_is_deterministic_for_every_fixture() {
    for name in common::SOURCE_FIXTURES {
        let first = scan_source(&fixture(name)).unwrap();
        let second = scan_source(&fixture(name)).unwrap();
        assert_eq!(first, second, "{name}: scans differ");
        for format in [Format::CycloneDx, Format::Spdx] {
            assert_eq!(
                render(&first, &info(name), format),
                render(&second, &info(name), format),
                "{name}: {format:?} differs"
            );
        }
    }
}

/// The same bytes elsewhere give the same document; one changed byte changes it.
#[test]
fn the_document_seals_the_artifact_contents() {
    let original = fixture("rootfs");
    let copy = tempfile::tempdir().unwrap();
    common::copy_tree(&original, copy.path());
    let render_dir =
        |dir: &Path, format| render(&scan_filesystem(dir).unwrap(), &info("rootfs"), format);
    for format in [Format::CycloneDx, Format::Spdx] {
        assert_eq!(
            render_dir(&original, format),
            render_dir(copy.path(), format)
        );
    }
    let readme = copy.path().join("usr/share/doc/zlib1g/README");
    let mut bytes = std::fs::read(&readme).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&readme, bytes).unwrap();
    for format in [Format::CycloneDx, Format::Spdx] {
        let before = render_dir(&original, format);
        let after = render_dir(copy.path(), format);
        assert_ne!(before, after, "{format:?}: a changed byte went unnoticed");
        let (before, after) = (
            String::from_utf8(before).unwrap(),
            String::from_utf8(after).unwrap(),
        );
        let identifier = |text: &str| -> String {
            text.lines()
                .find(|l| l.contains("serialNumber") || l.contains("documentNamespace"))
                .unwrap()
                .to_string()
        };
        assert_ne!(
            identifier(&before),
            identifier(&after),
            "{format:?}: same identifier"
        );
    }
}

#[test]
fn cyclonedx_reads_back_what_was_written() {
    let inventory = scan_filesystem(&fixture("rootfs")).unwrap();
    let document = render(&inventory, &info("rootfs"), Format::CycloneDx);
    let summary = read_cyclonedx(&document).unwrap();
    let written: std::collections::BTreeSet<&str> = inventory
        .components
        .iter()
        .map(|c| c.purl.as_str())
        .collect();
    assert_eq!(summary.purls(), written);
    assert_eq!(summary.files.len(), inventory.files.len());
    assert_eq!(
        summary.files[0].sha256.as_deref(),
        Some(inventory.files[0].sha256.as_str())
    );
    assert_eq!(summary.subject.unwrap().name, "rootfs");
    assert!(summary.serial_number.unwrap().starts_with("urn:uuid:"));
    let error = read_cyclonedx(b"{\"bomFormat\": \"SPDX\", \"specVersion\": \"1.6\"}").unwrap_err();
    assert!(error.to_string().contains("not \"CycloneDX\""), "{error}");
}

#[test]
fn installed_and_hidden_directories_are_not_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let lock = std::fs::read(fixture("monorepo/services/api/Cargo.lock")).unwrap();
    for path in [
        "app/Cargo.lock",
        "app/target/Cargo.lock",
        "app/node_modules/x/Cargo.lock",
        "app/vendor/Cargo.lock",
        "app/.venv/Cargo.lock",
        ".git/Cargo.lock",
        ".cache/Cargo.lock",
    ] {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &lock).unwrap();
    }
    let inventory = scan_source(dir.path()).unwrap();
    assert_eq!(inventory.sources, ["app/Cargo.lock"]);
    // An artifact's files are all listed, wherever they are.
    let contents = scan_filesystem(dir.path()).unwrap();
    assert_eq!(contents.files.len(), 7);
    assert_eq!(contents.sources, ["app/Cargo.lock"]);
}

#[test]
fn a_malformed_lockfile_fails_the_scan_with_its_path_and_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("web")).unwrap();
    std::fs::write(
        dir.path().join("web/package-lock.json"),
        "{\n  \"lockfileVersion\": 3,\n  \"packages\": {,}\n}\n",
    )
    .unwrap();
    let error = scan_source(dir.path()).unwrap_err();
    assert!(matches!(error, Error::Syntax { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with("web/package-lock.json:3:16: "),
        "{message}"
    );
    assert!(
        message.contains("npm install --package-lock-only"),
        "{message}"
    );
}

/// A real ELF executable with a `.dep-v0` section, as `cargo auditable` writes it: the
/// zlib-compressed JSON dependency list, added with binutils' objcopy.
#[test]
fn cargo_auditable_binaries_are_inventoried() {
    let objcopy = require(
        "objcopy (Debian binutils)",
        run(
            Command::new("objcopy").arg("--version"),
            Duration::from_secs(30),
        )
        .success
        .then_some("objcopy"),
    );
    let Some(objcopy) = objcopy else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let json = br#"{"packages":[
        {"name":"server","version":"0.3.0","source":"local","dependencies":[1,2],"root":true},
        {"name":"serde","version":"1.0.210","source":"crates.io"},
        {"name":"cc","version":"1.1.30","source":"crates.io","kind":"build"}
    ]}"#;
    let section = dir.path().join("dep-v0");
    std::fs::write(
        &section,
        miniz_oxide::deflate::compress_to_vec_zlib(json, 6),
    )
    .unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    let binary = root.join("usr/bin/server");
    // Any ELF executable will do: a small system one when there is one, else this test.
    let host = if Path::new("/bin/true").exists() {
        Path::new("/bin/true").to_path_buf()
    } else {
        std::env::current_exe().unwrap()
    };
    std::fs::copy(host, dir.path().join("host")).unwrap();
    let ran = run(
        Command::new(objcopy)
            .arg(format!("--add-section=.dep-v0={}", section.display()))
            .arg(dir.path().join("host"))
            .arg(&binary),
        Duration::from_secs(120),
    );
    assert!(ran.success, "objcopy: {}", ran.stderr);
    let inventory = scan_filesystem(&root).unwrap();
    assert_eq!(inventory.sources, ["usr/bin/server"]);
    let purls: Vec<&str> = inventory
        .components
        .iter()
        .map(|c| c.purl.as_str())
        .collect();
    assert_eq!(
        purls,
        [
            "pkg:cargo/cc@1.1.30",
            "pkg:cargo/serde@1.0.210",
            "pkg:cargo/server@0.3.0"
        ]
    );
    let server = &inventory.components[2];
    assert_eq!(server.dependencies.as_ref().unwrap().len(), 2);
    assert_eq!(inventory.components[0].properties[0].value, "build");
    assert_eq!(inventory.files.len(), 1);
}
