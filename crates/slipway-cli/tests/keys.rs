//! `slipway keys generate`, `sign-blob` and `verify-blob`, driven through the real binary.

use serde_json::{Value, json};
use slipway_sign::intoto::{self, ResourceDescriptor};
use slipway_sign::keyfile::{self, KeyPairFiles};
use slipway_sign::{Algorithm, Bundle, Passphrase, SigningKey, Statement, blob, dsse};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt as _;

const PASSPHRASE: &str = "a passphrase nobody prints";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `slipway` in `dir` with no terminal; `passphrase` sets SLIPWAY_KEY_PASSPHRASE.
fn slipway(dir: &Path, args: &[&str], passphrase: Option<&str>) -> Run {
    let output = tempfile::tempdir().unwrap();
    let stdout_path = output.path().join("stdout");
    let stderr_path = output.path().join("stderr");
    let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove(keyfile::PASSPHRASE_ENV)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    if let Some(passphrase) = passphrase {
        command.env(keyfile::PASSPHRASE_ENV, passphrase);
    }
    let mut child = command.spawn().unwrap();
    let status = match child.wait_timeout(Duration::from_secs(120)).unwrap() {
        Some(status) => status,
        None => {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("slipway {args:?} did not finish within 120 s");
        }
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&stdout_path).unwrap(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap(),
    };
    assert!(
        !run.stdout.contains(PASSPHRASE) && !run.stderr.contains(PASSPHRASE),
        "the passphrase leaked into the output of {args:?}"
    );
    run
}

fn generate(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["keys", "generate"];
    args.extend_from_slice(extra);
    slipway(dir, &args, Some(PASSPHRASE))
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn generate_writes_an_encrypted_key_and_its_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let run = generate(dir.path(), &["--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let files = KeyPairFiles::for_prefix(Path::new("slipway"));
    assert_eq!(report["private_key"], json!(files.private_key));
    assert_eq!(report["public_key"], json!(files.public_key));
    assert_eq!(report["algorithm"], "ecdsa-p256");

    let private_text = std::fs::read_to_string(dir.path().join("slipway.key")).unwrap();
    assert!(private_text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    assert!(!private_text.contains(PASSPHRASE));
    let public = keyfile::read_public_key(&dir.path().join("slipway.pub")).unwrap();
    assert_eq!(report["key_id"], public.key_id());
    let key = keyfile::read_signing_key(
        &dir.path().join("slipway.key"),
        &Passphrase::new(PASSPHRASE.into()),
    )
    .unwrap();
    assert_eq!(key.public_key(), public);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("slipway.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn generate_takes_an_algorithm_and_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    let run = generate(
        dir.path(),
        &["--algorithm", "ed25519", "--output", "keys/ci", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["algorithm"], "ed25519");
    assert_eq!(report["private_key"], "keys/ci.key");
    let public = keyfile::read_public_key(&dir.path().join("keys/ci.pub")).unwrap();
    assert_eq!(public.algorithm(), Algorithm::Ed25519);

    let human = generate(dir.path(), &["--output", "keys/other"]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human.stdout.starts_with(
            "wrote keys/other.key (private key, encrypted) and keys/other.pub (ecdsa-p256, key id "
        ),
        "{}",
        human.stdout
    );
}

#[test]
fn generate_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(generate(dir.path(), &[]).code, 0);
    let before = std::fs::read(dir.path().join("slipway.pub")).unwrap();

    let again = generate(dir.path(), &[]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("slipway.key already exists"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("slipway.pub")).unwrap(),
        before
    );

    let forced = generate(dir.path(), &["--force"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_ne!(
        std::fs::read(dir.path().join("slipway.pub")).unwrap(),
        before
    );
}

#[test]
fn generate_without_a_passphrase_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let run = slipway(dir.path(), &["keys", "generate"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("set the environment variable SLIPWAY_KEY_PASSPHRASE"),
        "{}",
        run.stderr
    );
    let empty = slipway(dir.path(), &["keys", "generate"], Some(""));
    assert_eq!(empty.code, 2);
    assert!(
        empty.stderr.contains("empty passphrase"),
        "{}",
        empty.stderr
    );
    assert!(!dir.path().join("slipway.key").exists());
}

#[test]
fn sign_blob_prints_a_signature_that_verify_blob_accepts() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(generate(dir.path(), &[]).code, 0);
    write(dir.path(), "app.tar.gz", b"release bytes");

    let signed = slipway(
        dir.path(),
        &["sign-blob", "--key", "slipway.key", "app.tar.gz"],
        Some(PASSPHRASE),
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let signature = blob::decode_signature(&signed.stdout).unwrap();
    let public = keyfile::read_public_key(&dir.path().join("slipway.pub")).unwrap();
    blob::verify_blob(&public, &signature, b"release bytes").unwrap();
    write(dir.path(), "app.tar.gz.sig", signed.stdout.trim());

    let verify = [
        "verify-blob",
        "--key",
        "slipway.pub",
        "--signature",
        "app.tar.gz.sig",
        "app.tar.gz",
    ];
    let verified = slipway(dir.path(), &verify, None);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(
        verified.stdout.starts_with("verified: app.tar.gz (sha256 "),
        "{}",
        verified.stdout
    );

    write(dir.path(), "app.tar.gz", b"release bytez");
    let tampered = slipway(dir.path(), &verify, None);
    assert_eq!(tampered.code, 1);
    assert!(
        tampered
            .stderr
            .starts_with("not verified: app.tar.gz: signature verification failed"),
        "{}",
        tampered.stderr
    );
}

#[test]
fn sign_blob_writes_a_signature_file_and_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(generate(dir.path(), &[]).code, 0);
    write(dir.path(), "app.tar.gz", b"release bytes");
    let signed = slipway(
        dir.path(),
        &[
            "sign-blob",
            "--key",
            "slipway.key",
            "app.tar.gz",
            "--output-signature",
            "app.sig",
            "--bundle",
            "app.sigstore.json",
        ],
        Some(PASSPHRASE),
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    assert_eq!(
        signed.stdout, "",
        "nothing on stdout when files are written"
    );

    let bundle_text = std::fs::read(dir.path().join("app.sigstore.json")).unwrap();
    let bundle = Bundle::from_json(&bundle_text).unwrap();
    let signature_text = std::fs::read_to_string(dir.path().join("app.sig")).unwrap();
    let signature = blob::decode_signature(&signature_text).unwrap();
    let slipway_sign::bundle::Content::MessageSignature {
        signature: in_bundle,
        ..
    } = &bundle.content
    else {
        panic!("a messageSignature bundle");
    };
    assert_eq!(in_bundle, &signature, "one signature, written twice");

    for evidence in [
        ["--signature", "app.sig"],
        ["--bundle", "app.sigstore.json"],
    ] {
        let mut args = vec!["verify-blob", "--key", "slipway.pub"];
        args.extend_from_slice(&evidence);
        args.push("app.tar.gz");
        let verified = slipway(dir.path(), &args, None);
        assert_eq!(verified.code, 0, "{evidence:?}: {}", verified.stderr);
    }
}

/// The JSON report of `verify-blob`, with the key id (new for every key) replaced.
fn stable_report(stdout: &str) -> Value {
    let mut report: Value = serde_json::from_str(stdout).unwrap();
    assert_eq!(report["key_id"].as_str().unwrap().len(), 64);
    report["key_id"] = json!("[key id]");
    report
}

#[test]
fn verify_blob_json_reports() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(generate(dir.path(), &[]).code, 0);
    write(dir.path(), "app.tar.gz", b"release bytes");
    let signed = slipway(
        dir.path(),
        &[
            "sign-blob",
            "--key",
            "slipway.key",
            "app.tar.gz",
            "--bundle",
            "app.sigstore.json",
        ],
        Some(PASSPHRASE),
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let verify = [
        "verify-blob",
        "--key",
        "slipway.pub",
        "--bundle",
        "app.sigstore.json",
        "app.tar.gz",
        "--json",
    ];

    let good = slipway(dir.path(), &verify, None);
    assert_eq!(good.code, 0, "{}", good.stderr);
    insta::assert_json_snapshot!("verify_blob_verified", stable_report(&good.stdout));

    write(dir.path(), "app.tar.gz", b"other bytes");
    let bad = slipway(dir.path(), &verify, None);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    insta::assert_json_snapshot!("verify_blob_digest_mismatch", stable_report(&bad.stdout));
}

#[test]
fn verify_blob_checks_an_attestation_bundle_against_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    write(dir.path(), "key.pub", key.public_key().to_pem());
    write(dir.path(), "app.tar.gz", b"release bytes");
    write(dir.path(), "other.tar.gz", b"other bytes");
    let statement = Statement::new(
        vec![ResourceDescriptor::sha256(
            "app.tar.gz",
            blob::sha256_hex(b"release bytes"),
        )],
        "https://slsa.dev/provenance/v1",
        json!({"buildDefinition": {"buildType": "https://slipway.dev/buildtypes/pipeline/v1"}}),
    );
    let envelope = dsse::sign(intoto::MEDIA_TYPE, &statement.to_json(), &key);
    let bundle = Bundle::from_envelope(envelope, key.public_key().key_id()).unwrap();
    write(dir.path(), "att.sigstore.json", bundle.to_json());

    let run = |file: &str| {
        slipway(
            dir.path(),
            &[
                "verify-blob",
                "--key",
                "key.pub",
                "--bundle",
                "att.sigstore.json",
                file,
            ],
            None,
        )
    };
    let verified = run("app.tar.gz");
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(
        verified.stdout.contains("(dsseEnvelope)"),
        "{}",
        verified.stdout
    );
    let other = run("other.tar.gz");
    assert_eq!(other.code, 1);
    assert!(
        other.stderr.contains("subjects do not include"),
        "{}",
        other.stderr
    );
}

#[test]
fn unreadable_evidence_fails_and_bad_usage_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(generate(dir.path(), &[]).code, 0);
    write(dir.path(), "app.tar.gz", b"release bytes");
    write(dir.path(), "garbled.sig", "*** not base64 ***");
    write(
        dir.path(),
        "keyless.json",
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"certificate": {"rawBytes": "MIIB"}, "tlogEntries": []},
            "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": "AA=="}, "signature": "AA=="}
        })
        .to_string(),
    );

    let garbled = slipway(
        dir.path(),
        &[
            "verify-blob",
            "--key",
            "slipway.pub",
            "--signature",
            "garbled.sig",
            "app.tar.gz",
        ],
        None,
    );
    assert_eq!(garbled.code, 1, "{}", garbled.stderr);
    assert!(garbled.stderr.contains("not base64"), "{}", garbled.stderr);

    let usage: [(&[&str], &str); 5] = [
        (
            &["verify-blob", "--key", "slipway.pub", "app.tar.gz"],
            "--signature",
        ),
        (
            &[
                "verify-blob",
                "--key",
                "slipway.pub",
                "--signature",
                "garbled.sig",
                "--bundle",
                "keyless.json",
                "app.tar.gz",
            ],
            "cannot be used with",
        ),
        (
            &[
                "verify-blob",
                "--key",
                "missing.pub",
                "--signature",
                "garbled.sig",
                "app.tar.gz",
            ],
            "cannot read missing.pub",
        ),
        (
            &[
                "verify-blob",
                "--key",
                "slipway.key",
                "--signature",
                "garbled.sig",
                "app.tar.gz",
            ],
            "this is a private key",
        ),
        (
            &[
                "verify-blob",
                "--key",
                "slipway.pub",
                "--bundle",
                "keyless.json",
                "app.tar.gz",
            ],
            "keyless bundles need a trust root; not supported",
        ),
    ];
    for (args, expected) in usage {
        let run = slipway(dir.path(), args, None);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn sign_blob_with_a_wrong_passphrase_says_so() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(generate(dir.path(), &[]).code, 0);
    write(dir.path(), "app.tar.gz", b"release bytes");
    let run = slipway(
        dir.path(),
        &["sign-blob", "--key", "slipway.key", "app.tar.gz"],
        Some("not the passphrase"),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("slipway.key: wrong passphrase or corrupt key file"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not the passphrase"), "{}", run.stderr);
    assert_eq!(run.stdout, "");

    let no_passphrase = slipway(
        dir.path(),
        &["sign-blob", "--key", "slipway.key", "app.tar.gz"],
        None,
    );
    assert_eq!(no_passphrase.code, 2);
    assert!(
        no_passphrase.stderr.contains("SLIPWAY_KEY_PASSPHRASE"),
        "{}",
        no_passphrase.stderr
    );
}

#[test]
fn keys_made_by_the_library_and_the_binary_interoperate() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
    keyfile::write_key_pair(
        &key,
        &Passphrase::new(PASSPHRASE.into()),
        &dir.path().join("lib"),
        false,
    )
    .unwrap();
    write(dir.path(), "file", b"bytes");
    let signed = slipway(
        dir.path(),
        &[
            "sign-blob",
            "--key",
            "lib.key",
            "file",
            "--bundle",
            "file.sigstore.json",
        ],
        Some(PASSPHRASE),
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let bundle =
        Bundle::from_json(&std::fs::read(dir.path().join("file.sigstore.json")).unwrap()).unwrap();
    bundle.verify(&key.public_key(), b"bytes").unwrap();
    assert_eq!(bundle.key_hint, Some(key.public_key().key_id()));
}
